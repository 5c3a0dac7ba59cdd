
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The MCP front door (hangar_mcp): POST, GET and DELETE of /mcp.
 */


#ifndef _NGX_HTTP_HANGAR_MCP_H_INCLUDED_
#define _NGX_HTTP_HANGAR_MCP_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


ngx_int_t ngx_http_hangar_mcp_handler(ngx_http_hangar_req_t *hr);

/* run by the lifecycle's tick: catalog changes announced on GET streams */
void ngx_http_hangar_mcp_tick(ngx_http_hangar_registry_t *reg);
/* the worker is exiting: open streams end */
void ngx_http_hangar_mcp_exit(void);


#endif /* _NGX_HTTP_HANGAR_MCP_H_INCLUDED_ */
