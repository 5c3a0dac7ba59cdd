
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The control-plane tools of the front door (hangar-core.md §7.2, §7.5),
 * behind hangar_mcp_control_tools: hangar_list, hangar_status,
 * hangar_start, hangar_stop, hangar_tools, hangar_details, hangar_warm,
 * hangar_health, hangar_metrics, hangar_group_list, hangar_group_rebalance
 * and hangar_call.
 */


#ifndef _NGX_HTTP_HANGAR_MCP_CP_H_INCLUDED_
#define _NGX_HTTP_HANGAR_MCP_CP_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


/*
 * tools/list: the tools the caller may call appended to out (after the
 * fleet's; first: none was written yet), when the location has them on.
 */
void ngx_http_hangar_cp_list(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_out_t *out, ngx_uint_t first);

/*
 * tools/call of name: NGX_DECLINED when it is not a control-plane tool
 * here, else what the handler returns.
 */
ngx_int_t ngx_http_hangar_cp_call(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_str_t *name,
    ngx_http_hangar_value_t *params);


#endif /* _NGX_HTTP_HANGAR_MCP_CP_H_INCLUDED_ */
