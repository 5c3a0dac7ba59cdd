
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#ifndef _NGX_HTTP_HANGAR_CATALOG_H_INCLUDED_
#define _NGX_HTTP_HANGAR_CATALOG_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


/* one exported tool */
typedef struct {
    ngx_str_t                    server;
    ngx_str_t                    tool;
    ngx_str_t                    name;      /* as the client sees it */
    ngx_http_hangar_value_t     *schema;    /* the server's tool object */
    unsigned                     withdrawn:1;
    unsigned                     dup:1;     /* another server offers it */
} ngx_http_hangar_entry_t;


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


#endif /* _NGX_HTTP_HANGAR_CATALOG_H_INCLUDED_ */
