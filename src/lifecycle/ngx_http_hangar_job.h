
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


#endif /* _NGX_HTTP_HANGAR_JOB_H_INCLUDED_ */
