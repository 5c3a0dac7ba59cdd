
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#ifndef _NGX_HTTP_HANGAR_CATALOG_H_INCLUDED_
#define _NGX_HTTP_HANGAR_CATALOG_H_INCLUDED_


#include "ngx_http_hangar_reply.h"
#include "ngx_http_hangar_policy.h"


/* one exported tool */
typedef struct {
    ngx_str_t                    server;
    ngx_str_t                    tool;
    ngx_str_t                    name;      /* as the client sees it */
    ngx_http_hangar_value_t     *schema;    /* the server's tool object */
    unsigned                     withdrawn:1;   /* for every tenant */
    unsigned                     tenants:1;     /* for some tenants */
    unsigned                     hidden:1;  /* _global or its server's
                                               policy denies it */
    unsigned                     dup:1;     /* another server offers it */
} ngx_http_hangar_entry_t;


/* why a caller may not call a tool (ngx_http_hangar_catalog_access()) */
#define NGX_HTTP_HANGAR_ACCESS_OK          0
#define NGX_HTTP_HANGAR_ACCESS_RBAC        1    /* no tool:invoke */
#define NGX_HTTP_HANGAR_ACCESS_POLICY      2    /* the tool access policy */
#define NGX_HTTP_HANGAR_ACCESS_WITHDRAWN   3


/* a server's parts, copied out of shm */
typedef struct {
    ngx_str_t                    id;
    ngx_str_t                    spec;
    ngx_str_t                    tools;
} ngx_http_hangar_copy_t;


ngx_array_t *ngx_http_hangar_catalog_copy(ngx_http_hangar_req_t *hr,
    ngx_pool_t *pool, ngx_uint_t warm);

/* the entries of this location's catalog (owned by the worker's cache) */
ngx_int_t ngx_http_hangar_catalog(ngx_http_hangar_req_t *hr,
    ngx_array_t **entries);
ngx_int_t ngx_http_hangar_catalog_find(ngx_http_hangar_req_t *hr,
    ngx_str_t *name, ngx_http_hangar_entry_t **entry);

/*
 * Whether the request's caller may call the entry, in the order of
 * hangar-security.md §3.7: RBAC tool:invoke on the name it sees, the tool
 * access policy (its verdict in *v), the withdrawals.  tools/list shows
 * what this allows, tools/call refuses what it does not.
 */
ngx_uint_t ngx_http_hangar_catalog_access(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_entry_t *e, ngx_http_hangar_policy_verdict_t *v);

/*
 * The same for a call: the decision logged at info with the principal and
 * recorded as an event, and for a refusal its message in *msg
 * ("ToolAccessDeniedError: Tool not available for this mcp_server", ...).
 * NGX_ERROR: out of memory.
 */
/*
 * The name a client sees for a server's tool or prompt: <server>__<name>
 * with prefix, made to match ^[A-Za-z0-9_-]{1,64}$.
 */
ngx_int_t ngx_http_hangar_catalog_name(ngx_pool_t *pool, ngx_str_t *server,
    ngx_str_t *name, ngx_uint_t prefix, ngx_str_t *exported);

ngx_int_t ngx_http_hangar_catalog_check(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_entry_t *e, ngx_http_hangar_policy_verdict_t *v,
    ngx_str_t *msg);


#endif /* _NGX_HTTP_HANGAR_CATALOG_H_INCLUDED_ */
