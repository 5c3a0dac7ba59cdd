
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Discovery's shared state (ngx_http_hangar_discovery_state.c): the
 * sources, the discovered items, the view published in the zone, and
 * what the sources share to make items.
 */


#ifndef _NGX_HTTP_HANGAR_DISCOVERY_STATE_H_INCLUDED_
#define _NGX_HTTP_HANGAR_DISCOVERY_STATE_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


/* source types, by priority: a lower number wins a name (static is 0) */
#define NGX_HTTP_HANGAR_DISC_KUBERNETES  1
#define NGX_HTTP_HANGAR_DISC_DOCKER      2
#define NGX_HTTP_HANGAR_DISC_FILESYSTEM  3

#define NGX_HTTP_HANGAR_DISC_FP          16    /* hex digits */


/* in the zone: who runs a cycle, and the view it published */
typedef struct {
    ngx_atomic_t                 runner;    /* the pid running a cycle */
    ngx_atomic_t                 runner_until;
    ngx_atomic_t                 requested; /* a cycle is asked for */
    ngx_atomic_t                 cycles;    /* cycles completed */
    ngx_atomic_t                 next_at;   /* the next periodic one */
    ngx_http_hangar_blob_t      *view;
    /* counters by source type, for /metrics */
    ngx_atomic_t                 registered[4];
    ngx_atomic_t                 deregistered[4];
    ngx_atomic_t                 quarantined[4];
    ngx_atomic_t                 rejected_cycles;   /* cycles that failed */
} ngx_http_hangar_disc_sh_t;


/* one server a source reports */
typedef struct {
    ngx_str_t                    name;
    ngx_uint_t                   type;
    ngx_str_t                    mode;      /* as the source says it */
    ngx_http_hangar_value_t     *conn;      /* connection_info */
    ngx_http_hangar_value_t     *meta;      /* metadata */
    ngx_http_hangar_value_t     *spec;      /* to register; NULL: cannot */
    ngx_str_t                    invalid;   /* why not, then quarantined */
    ngx_int_t                    ttl;       /* seconds */
    ngx_str_t                    health;    /* a URL to check, or empty */
    u_char                       fp[NGX_HTTP_HANGAR_DISC_FP + 1];
    uint32_t                     spec_crc;  /* of its record's spec */
} ngx_http_hangar_disc_item_t;


/* a source, from hangar.yaml or the API, with the API's overrides */
typedef struct {
    ngx_str_t                    id;        /* a UUID */
    ngx_uint_t                   type;
    ngx_uint_t                   authoritative;
    ngx_uint_t                   enabled;
    ngx_uint_t                   api;       /* registered through the API */
    ngx_http_hangar_value_t     *conf;      /* its keys */
} ngx_http_hangar_disc_source_t;


ngx_uint_t ngx_http_hangar_discovery_on(ngx_http_hangar_registry_t *reg);
const char *ngx_http_hangar_disc_type_name(ngx_uint_t type);
ngx_uint_t ngx_http_hangar_disc_type(ngx_str_t *name);

/* the effective sources (of ngx_http_hangar_disc_source_t) */
ngx_int_t ngx_http_hangar_disc_sources(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_value_t *doc, ngx_array_t **sources);

/* the state file's "discovery" document and the published view, parsed
   (never NULL on NGX_OK: an empty object when there is none) */
ngx_int_t ngx_http_hangar_disc_doc(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_value_t **doc);
ngx_int_t ngx_http_hangar_disc_view(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_value_t **view);
/* a name dropped from the view's pending and quarantined sets */
void ngx_http_hangar_disc_forget(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_str_t *name);

/* a cycle soon, on whichever worker runs them; the count of cycles run */
void ngx_http_hangar_disc_request(ngx_http_hangar_registry_t *reg);
ngx_atomic_uint_t ngx_http_hangar_disc_cycles(
    ngx_http_hangar_registry_t *reg);

/* the call a cycle has in flight (one at a time): cut when the worker
   exits, since nginx counts the sockets left open */
extern void  *ngx_http_hangar_disc_inflight;


ngx_http_hangar_disc_sh_t *ngx_http_hangar_disc_sh(
    ngx_http_hangar_registry_t *reg);

/* values for the view: NULL v is null; a string; an ISO time */
ngx_int_t ngx_http_hangar_disc_put(ngx_pool_t *pool,
    ngx_http_hangar_value_t *obj, const char *key, ngx_http_hangar_value_t *v);
ngx_http_hangar_value_t *ngx_http_hangar_disc_str(ngx_pool_t *pool,
    const char *s);
ngx_http_hangar_value_t *ngx_http_hangar_disc_iso(ngx_pool_t *pool,
    ngx_msec_t ms);

/* a server's TTL when it names none: the source's ttl_s, else
   lifecycle.default_ttl_s, else 90 s */
ngx_int_t ngx_http_hangar_disc_ttl(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_disc_source_t *src);

/* the mcp_hangar_discovery_* families of /metrics (nothing when off) */
ngx_int_t ngx_http_hangar_disc_metrics(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_out_t *out);

/* the item's fingerprint (hangar-security.md §5.3) */
ngx_int_t ngx_http_hangar_disc_fingerprint(ngx_pool_t *pool,
    ngx_http_hangar_disc_item_t *item);
/* the discovered-server object of §5.3 */
void ngx_http_hangar_disc_item_out(ngx_http_hangar_out_t *out,
    ngx_http_hangar_value_t *entry);

/* a source over HTTP: NGX_AGAIN, then done(data, rc, error) once; rc is
   NGX_OK, NGX_DECLINED (the source failed: error) or NGX_ERROR */
typedef void (*ngx_http_hangar_disc_done_pt)(void *data, ngx_int_t rc,
    ngx_str_t *error);

/* the item's spec from its mode and connection_info, and its checks */
ngx_int_t ngx_http_hangar_disc_network(ngx_pool_t *pool,
    ngx_http_hangar_disc_item_t *item, ngx_str_t *host, ngx_int_t port,
    ngx_str_t *health_path, ngx_str_t *endpoint);
ngx_int_t ngx_http_hangar_disc_described(ngx_pool_t *pool,
    ngx_http_hangar_disc_item_t *item);



#endif /* _NGX_HTTP_HANGAR_DISCOVERY_STATE_H_INCLUDED_ */
