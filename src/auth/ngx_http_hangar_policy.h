
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Tool access policies (hangar-security.md §3.7): allow, deny and
 * approval lists in layers (_global, server, tenant, group, member), from
 * hangar.yaml and from the API, and the decision for one tool, prompt or
 * resource name.
 */


#ifndef _NGX_HTTP_HANGAR_POLICY_H_INCLUDED_
#define _NGX_HTTP_HANGAR_POLICY_H_INCLUDED_


#include "ngx_http_hangar_registry.h"
#include "ngx_http_hangar_policy_spec.h"


#define NGX_HTTP_HANGAR_POLICY_TOOL      0
#define NGX_HTTP_HANGAR_POLICY_PROMPT    1
#define NGX_HTTP_HANGAR_POLICY_RESOURCE  2

/* scopes of the layers */
#define NGX_HTTP_HANGAR_SCOPE_PROVIDER   'p'    /* a server, or _global */
#define NGX_HTTP_HANGAR_SCOPE_GROUP      'g'
#define NGX_HTTP_HANGAR_SCOPE_MEMBER     'm'    /* "<group>:<member>" */
#define NGX_HTTP_HANGAR_SCOPE_TENANT     't'    /* "<server>:<tenant>" */

#define NGX_HTTP_HANGAR_POLICY_GLOBAL    "_global"
#define NGX_HTTP_HANGAR_POLICY_ROWS      10000  /* kept through the API */


typedef struct {
    unsigned                     allowed:1;
    unsigned                     approval:1;
    ngx_uint_t                   timeout;    /* seconds */
    ngx_str_t                    channel;
} ngx_http_hangar_policy_verdict_t;


/* one layer: the lists are of ngx_str_t, NULL when empty */
typedef struct {
    ngx_array_t                 *allow;
    ngx_array_t                 *deny;
    ngx_array_t                 *approval;
    ngx_uint_t                   timeout;   /* 0: not given (300) */
    ngx_str_t                    channel;
} ngx_http_hangar_policy_t;


/* group: NULL when the server is not reached through a group; tenant: NULL
 * or len 0 */
ngx_int_t ngx_http_hangar_policy_decide(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_str_t *group, ngx_str_t *tenant, ngx_uint_t kind,
    ngx_str_t *name, ngx_http_hangar_policy_verdict_t *v);

/* whether any policy is in force (or front_door mode) */
ngx_uint_t ngx_http_hangar_policy_active(ngx_http_hangar_registry_t *reg);

/* only the layers that hold for every caller: _global and the server's */
ngx_uint_t ngx_http_hangar_policy_base(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_uint_t kind, ngx_str_t *name);

/* fnmatch-style: *, ?, [abc], [a-z], [!abc]; whole string, bounded */
ngx_uint_t ngx_http_hangar_policy_match(ngx_str_t *pattern, ngx_str_t *name);

/* a checked policy object (ngx_http_hangar_policy_spec()) */
ngx_int_t ngx_http_hangar_policy_value(ngx_pool_t *pool,
    ngx_http_hangar_value_t *v, ngx_http_hangar_policy_t *p);
void ngx_http_hangar_policy_out(ngx_http_hangar_out_t *out,
    ngx_http_hangar_policy_t *p);

/*
 * The layer kept for (kind, scope, target): from hangar.yaml, from the
 * API, and the one in force (the API's over hangar.yaml's, which gives its
 * approval data to an API policy that has none).  The copies are the
 * worker's and stay valid until the next call into this file.
 */
ngx_int_t ngx_http_hangar_policy_layer(ngx_http_hangar_registry_t *reg,
    ngx_uint_t kind, ngx_uint_t scope, ngx_str_t *target,
    ngx_http_hangar_policy_t **yaml, ngx_http_hangar_policy_t **api,
    ngx_http_hangar_policy_t **eff);

/*
 * The API's document of policies with one row replaced (p NULL: removed);
 * in a state op's prepare().  NGX_DECLINED: too many rows.
 */
ngx_int_t ngx_http_hangar_policy_doc_put(ngx_pool_t *pool, ngx_str_t *doc,
    ngx_uint_t kind, ngx_uint_t scope, ngx_str_t *target,
    ngx_http_hangar_policy_t *p, ngx_str_t *text);

/* the kind and scope named in the API: NGX_ERROR when unknown */
ngx_int_t ngx_http_hangar_policy_kind(ngx_str_t *name, ngx_uint_t *kind);
const char *ngx_http_hangar_policy_kind_name(ngx_uint_t kind);
const char *ngx_http_hangar_policy_scope_name(ngx_uint_t scope);


#endif /* _NGX_HTTP_HANGAR_POLICY_H_INCLUDED_ */
