
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The MCP front door (hangar_mcp): POST, GET and DELETE of /mcp.
 */


#ifndef _NGX_HTTP_HANGAR_MCP_H_INCLUDED_
#define _NGX_HTTP_HANGAR_MCP_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


ngx_int_t ngx_http_hangar_mcp_handler(ngx_http_hangar_req_t *hr);


#endif /* _NGX_HTTP_HANGAR_MCP_H_INCLUDED_ */
