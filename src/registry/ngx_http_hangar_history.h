
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The tool-call history of each server (ngx_http_hangar_history.c).
 */


#ifndef _NGX_HTTP_HANGAR_HISTORY_H_INCLUDED_
#define _NGX_HTTP_HANGAR_HISTORY_H_INCLUDED_


#include "ngx_http_hangar_registry.h"


/* error_type of a failed call (hangar-core §2.5, §2.13; README) */
#define NGX_HTTP_HANGAR_HISTORY_TOOL     "tool_error"
#define NGX_HTTP_HANGAR_HISTORY_TIMEOUT  "ToolTimeoutError"
#define NGX_HTTP_HANGAR_HISTORY_CRASH    "McpServerCrashedError"
#define NGX_HTTP_HANGAR_HISTORY_FAILED   "ToolInvocationError"


ngx_int_t ngx_http_hangar_history_init(ngx_http_hangar_registry_t *reg,
    size_t size);

/* a monotonic clock in microseconds, for duration_ms */
uint64_t ngx_http_hangar_history_clock(void);

/*
 * Without the mutex: the record of a call that ended, from its JSON-RPC
 * response (msg) or, when msg is NULL, a transport failure (error_type
 * and error given).  Returns whether the call failed.
 */
ngx_uint_t ngx_http_hangar_history_record(ngx_http_hangar_record_call_t *h,
    ngx_pool_t *pool, ngx_str_t *tool, uint64_t begun_us,
    ngx_http_hangar_value_t *msg, const char *error_type, ngx_str_t *error);

/* with the slab mutex held: the record joins the ring of server n */
void ngx_http_hangar_history_add(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_http_hangar_record_call_t *rec);


#endif /* _NGX_HTTP_HANGAR_HISTORY_H_INCLUDED_ */
