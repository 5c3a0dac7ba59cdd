
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The control-plane tools that show the whole fleet (hangar-core.md
 * §7.2): hangar_list, hangar_status, hangar_health and hangar_metrics.
 */


#ifndef _NGX_HTTP_HANGAR_MCP_CP_FLEET_H_INCLUDED_
#define _NGX_HTTP_HANGAR_MCP_CP_FLEET_H_INCLUDED_


#include "ngx_http_hangar_mcp_cp_answer.h"


ngx_int_t ngx_http_hangar_cp_list_servers(ngx_http_hangar_cp_t *cp);
ngx_int_t ngx_http_hangar_cp_status(ngx_http_hangar_cp_t *cp);
ngx_int_t ngx_http_hangar_cp_health(ngx_http_hangar_cp_t *cp);
ngx_int_t ngx_http_hangar_cp_metrics(ngx_http_hangar_cp_t *cp);


#endif /* _NGX_HTTP_HANGAR_MCP_CP_FLEET_H_INCLUDED_ */
