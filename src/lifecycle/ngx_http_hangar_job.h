
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Jobs (inside the lifecycle): a start, a health check, a catalog
 * refresh, a list_changed listener or a client's call -- a chain of
 * JSON-RPC calls to one server, with its own pool (the job's record is
 * in ngx_http_hangar_job_end.h, below).
 */


#ifndef _NGX_HTTP_HANGAR_JOB_H_INCLUDED_
#define _NGX_HTTP_HANGAR_JOB_H_INCLUDED_


#include "ngx_http_hangar_job_end.h"


#define NGX_HTTP_HANGAR_PROTOCOL    "2025-11-25"


ngx_http_hangar_job_t *ngx_http_hangar_job_begin(
    ngx_http_hangar_registry_t *reg, ngx_str_t *id, ngx_uint_t kind,
    ngx_atomic_uint_t seq, ngx_log_t *log);
ngx_int_t ngx_http_hangar_rpc(ngx_http_hangar_job_t *job, const char *method,
    const char *params, ngx_http_hangar_step_pt step);
ngx_uint_t ngx_http_hangar_streaming(ngx_http_hangar_node_t *n);
void ngx_http_hangar_streams_prune(ngx_http_hangar_registry_t *reg);
void ngx_http_hangar_jobs_exit(void);
void ngx_http_hangar_warm(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_log_t *log);

/*
 * A JSON-RPC call to a ready server, for a client; NULL when the server is
 * not ready.  The handle can be abandoned when the client goes away.
 */
void *ngx_http_hangar_server_call(ngx_http_hangar_registry_t *reg,
    ngx_str_t *id, const char *method, ngx_str_t *params, ngx_str_t *tool,
    ngx_log_t *log, ngx_http_hangar_result_pt result,
    ngx_http_hangar_result_pt progress, void *data);
void ngx_http_hangar_server_call_abandon(void *handle);
void ngx_http_hangar_server_call_end(void *handle);
void ngx_http_hangar_server_call_id(void *handle, int64_t id);
ngx_int_t ngx_http_hangar_server_send(ngx_http_hangar_registry_t *reg,
    ngx_str_t *id, ngx_str_t *msg, ngx_log_t *log);

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


#endif /* _NGX_HTTP_HANGAR_JOB_H_INCLUDED_ */
