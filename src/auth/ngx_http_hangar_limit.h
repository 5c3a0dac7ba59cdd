
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Failed-authentication lockout (hangar-security.md §1.6) and rate limits
 * (§7): both live in the registry's zone (reg->sh->limit_sh), so every
 * worker counts against the same trackers and token buckets.  This layer
 * decides; the HTTP layer sends the answers.
 */


#ifndef _NGX_HTTP_HANGAR_LIMIT_H_INCLUDED_
#define _NGX_HTTP_HANGAR_LIMIT_H_INCLUDED_


#include "ngx_http_hangar_registry.h"


/* auth.rate_limit */
typedef struct {
    ngx_flag_t                   enabled;        /* default 1 */
    ngx_uint_t                   max_attempts;   /* 10 */
    time_t                       window;         /* 60 s */
    time_t                       lockout;        /* 300 s */
    ngx_uint_t                   max_trackers;   /* 10000 addresses */
} ngx_http_hangar_lockout_conf_t;


/* a token bucket: rate in milli-tokens per second (rps * 1000) */
typedef struct {
    uint64_t                     rate;
    ngx_uint_t                   burst;
} ngx_http_hangar_bucket_conf_t;


/* the top-level rate_limit: of hangar.yaml */
typedef struct {
    ngx_flag_t                   enabled;        /* default 1 */
    ngx_http_hangar_bucket_conf_t  rest;         /* rps, burst: commands */
    ngx_http_hangar_bucket_conf_t  calls;        /* tools/call, all tools */
    ngx_http_hangar_bucket_conf_t  tool;         /* tools/call, one tool */
    ngx_uint_t                   max_buckets;    /* 10000 */
} ngx_http_hangar_limit_conf_t;


/* why a rate limit refused */
typedef struct {
    ngx_uint_t                   limit;          /* the bucket's burst */
    uint64_t                     rate;           /* and its rate */
    time_t                       retry_after;    /* seconds, >= 1 */
    const char                  *scope;          /* "principal", "tool" */
} ngx_http_hangar_limit_refusal_t;


/*
 * auth.rate_limit of hangar.yaml (v may be NULL: defaults); every key is
 * checked, an unknown key or a bad value fails with
 * "<file>:<line>:<col>: auth.rate_limit.<key>: ...".
 */
ngx_int_t ngx_http_hangar_lockout_conf(ngx_conf_t *cf,
    ngx_http_hangar_value_t *v, ngx_str_t *file,
    ngx_http_hangar_lockout_conf_t *lc);

/* before authenticating: NGX_OK, or NGX_BUSY with *retry_after (s) */
ngx_int_t ngx_http_hangar_lockout_check(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_lockout_conf_t *lc, ngx_connection_t *c,
    time_t *retry_after);
/* an authenticator refused a credential the client sent */
void ngx_http_hangar_lockout_failed(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_lockout_conf_t *lc, ngx_connection_t *c);
/* a credential was accepted: the address starts over */
void ngx_http_hangar_lockout_passed(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_lockout_conf_t *lc, ngx_connection_t *c);

/*
 * The top-level rate_limit: of hangar.yaml (v may be NULL), with
 * MCP_RATE_LIMIT_RPS and MCP_RATE_LIMIT_BURST as fallbacks for rps and
 * burst.  Errors as for the lockout.
 */
ngx_int_t ngx_http_hangar_limit_conf(ngx_conf_t *cf,
    ngx_http_hangar_value_t *v, ngx_str_t *file,
    ngx_http_hangar_limit_conf_t *lc);

/*
 * One token for a principal's id (NULL: the client address, when auth is
 * off): a REST command when tool is NULL, else a tools/call of server's
 * tool (the principal's call bucket and its bucket for that tool, both or
 * neither).  NGX_OK: go on; NGX_BUSY: refused as *no says.
 */
ngx_int_t ngx_http_hangar_limit_take(ngx_http_hangar_registry_t *reg,
    ngx_http_request_t *r, ngx_str_t *principal, ngx_str_t *server,
    ngx_str_t *tool, ngx_http_hangar_limit_refusal_t *no);

/* rate limits are on (tools/call bodies must be looked at) */
ngx_uint_t ngx_http_hangar_limit_enabled(ngx_http_hangar_registry_t *reg);
/* how many token buckets the zone holds now */
ngx_uint_t ngx_http_hangar_limit_buckets(ngx_http_hangar_registry_t *reg);


#endif /* _NGX_HTTP_HANGAR_LIMIT_H_INCLUDED_ */
