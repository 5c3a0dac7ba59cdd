
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The groups' control-plane tools (hangar-core.md §7.2):
 * hangar_group_list and hangar_group_rebalance.
 */


#ifndef _NGX_HTTP_HANGAR_MCP_CP_GROUPS_H_INCLUDED_
#define _NGX_HTTP_HANGAR_MCP_CP_GROUPS_H_INCLUDED_


#include "ngx_http_hangar_mcp_cp_answer.h"


ngx_int_t ngx_http_hangar_cp_group_list(ngx_http_hangar_cp_t *cp);
ngx_int_t ngx_http_hangar_cp_group_rebalance(ngx_http_hangar_cp_t *cp);


#endif /* _NGX_HTTP_HANGAR_MCP_CP_GROUPS_H_INCLUDED_ */
