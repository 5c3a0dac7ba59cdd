
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * hangar_call (hangar-core.md §7.3): a batch of tools/call run in
 * parallel through the front door's path; and the answer every
 * control-plane tool gives (ngx_http_hangar_mcp_cp.c).
 */


#ifndef _NGX_HTTP_HANGAR_MCP_BATCH_H_INCLUDED_
#define _NGX_HTTP_HANGAR_MCP_BATCH_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


/*
 * The JSON-RPC answer of a tool in hr->out: json (an object) as the text
 * of its content and as its structuredContent; or, is_error, json is the
 * text of a tool error.
 */
void ngx_http_hangar_batch_answer(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_str_t *json, ngx_uint_t is_error);

/*
 * hangar_call with its arguments: what the handler returns (the answer
 * sent, or NGX_DONE while the calls run).
 */
ngx_int_t ngx_http_hangar_batch_call(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_http_hangar_value_t *args);


#endif /* _NGX_HTTP_HANGAR_MCP_BATCH_H_INCLUDED_ */
