
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


#endif /* _NGX_HTTP_HANGAR_API_SERVER_OPS_H_INCLUDED_ */
