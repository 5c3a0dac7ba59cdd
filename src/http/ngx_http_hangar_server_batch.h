
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Server changes that hangar makes itself, many at once
 * (ngx_http_hangar_server_batch.c): one state lock section and one state
 * file write for the lot.
 */


#ifndef _NGX_HTTP_HANGAR_SERVER_BATCH_H_INCLUDED_
#define _NGX_HTTP_HANGAR_SERVER_BATCH_H_INCLUDED_


#include "ngx_http_hangar_api_servers.h"


#define NGX_HTTP_HANGAR_BATCH_MAX  100


/* one change: spec (checked by ngx_http_hangar_server_check) creates the
   server or, with replace, replaces its spec; a NULL spec deletes it */
typedef struct {
    ngx_str_t                    id;
    ngx_http_hangar_value_t     *spec;
    ngx_uint_t                   replace;
    /* out: NGX_OK, NGX_DECLINED (exists, missing), NGX_BUSY (needs the
       single path: a declared server's name), NGX_ERROR */
    ngx_int_t                    rc;
    void                        *data;      /* the caller's */

    ngx_http_hangar_record_t     rec;
    ngx_http_hangar_prep_t       prep;
    ngx_uint_t                   restart;
    ngx_uint_t                   skip;
} ngx_http_hangar_batch_entry_t;


typedef void (*ngx_http_hangar_batch_done_pt)(void *data, ngx_array_t *entries);

/*
 * The entries (at most NGX_HTTP_HANGAR_BATCH_MAX, distinct ids) written in
 * one state file write: all of them or none (a failed write changes
 * nothing).  done() is called once, at once or after the write, with
 * every entry's rc set.
 */
void ngx_http_hangar_server_batch(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_log_t *log, ngx_array_t *entries,
    ngx_http_hangar_batch_done_pt done, void *data);


#endif /* _NGX_HTTP_HANGAR_SERVER_BATCH_H_INCLUDED_ */
