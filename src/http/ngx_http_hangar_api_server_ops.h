
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/mcp_servers/{id}/start, stop, block, tools, tools/history, health
 * and logs.
 */


#ifndef _NGX_HTTP_HANGAR_API_SERVER_OPS_H_INCLUDED_
#define _NGX_HTTP_HANGAR_API_SERVER_OPS_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


ngx_int_t ngx_http_hangar_servers_start(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_stop(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_block(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_tools(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_history(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_health(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_logs(ngx_http_hangar_req_t *hr);

/* what a start left, for every surface that starts a server */
ngx_int_t ngx_http_hangar_start_outcome(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_str_t *id, ngx_int_t rc, ngx_str_t *text);
ngx_int_t ngx_http_hangar_start_failure(ngx_pool_t *pool, ngx_str_t *text,
    ngx_str_t *message);
void ngx_http_hangar_render_started(ngx_http_hangar_out_t *out,
    ngx_pool_t *pool, ngx_str_t *id, ngx_str_t *tools);


#endif /* _NGX_HTTP_HANGAR_API_SERVER_OPS_H_INCLUDED_ */
