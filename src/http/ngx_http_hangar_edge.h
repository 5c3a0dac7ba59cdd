
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The edge of /api/ (hangar-security.md §1.7): the Host a request names
 * must be a trusted one (DNS rebinding), and a write that carries a body
 * must say it is JSON (a web page cannot post one without a preflight).
 * The edge of MCP traffic (/mcp and the pass-through): Host and Origin.
 */


#ifndef _NGX_HTTP_HANGAR_EDGE_H_INCLUDED_
#define _NGX_HTTP_HANGAR_EDGE_H_INCLUDED_


#include "ngx_http_hangar_reply.h"
#include "ngx_http_hangar_guard.h"


/* NGX_DECLINED: the request goes on; else it was answered (the rc) */
ngx_int_t ngx_http_hangar_edge(ngx_http_hangar_req_t *hr);
/* the same for MCP traffic: a refusal is a 403 JSON-RPC error */
ngx_int_t ngx_http_hangar_edge_mcp(ngx_http_hangar_req_t *hr);

#endif /* _NGX_HTTP_HANGAR_EDGE_H_INCLUDED_ */
