
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The listeners: a GET stream to each ready server (tools/list_changed
 * lists its tools again), opened by the lease holder's tick.
 */


#ifndef _NGX_HTTP_HANGAR_STREAM_H_INCLUDED_
#define _NGX_HTTP_HANGAR_STREAM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hangar_job_end.h"


/* a listener for this server's run is open (or no slot is left) */
ngx_uint_t ngx_http_hangar_streaming(ngx_http_hangar_node_t *n);
/* a listener for the server's run seq: a job that sets out with its GET */
void ngx_http_hangar_stream_begin(ngx_http_hangar_registry_t *reg,
    ngx_str_t *id, ngx_atomic_uint_t seq, ngx_log_t *log);
void ngx_http_hangar_streams_prune(ngx_http_hangar_registry_t *reg);
void ngx_http_hangar_streams_exit(void);

/*
 * A ready server's notifications other than tools/list_changed, as its
 * listener (one worker's) receives them; msg lives until the handler
 * returns.  Set by the module glue, so that this layer never names the
 * one above it.
 */
typedef void (*ngx_http_hangar_notify_pt)(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_http_hangar_value_t *msg);

void ngx_http_hangar_job_notify(ngx_http_hangar_notify_pt handler);

/*
 * A ready server's request outside any call, as its listener receives
 * it: NGX_OK when the handler sent it to a client, else the server is
 * answered with an error at once.
 */
typedef ngx_int_t (*ngx_http_hangar_request_pt)(
    ngx_http_hangar_registry_t *reg, ngx_str_t *server,
    ngx_http_hangar_value_t *msg);

void ngx_http_hangar_job_request(ngx_http_hangar_request_pt handler);


#endif /* _NGX_HTTP_HANGAR_STREAM_H_INCLUDED_ */
