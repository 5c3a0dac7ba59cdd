
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/groups (hangar-core.md §1.4): the groups' routes, their status
 * object (also what hangar_group_list shows) and their metrics.
 */


#ifndef _NGX_HTTP_HANGAR_API_GROUPS_H_INCLUDED_
#define _NGX_HTTP_HANGAR_API_GROUPS_H_INCLUDED_


#include "ngx_http_hangar_reply.h"
#include "ngx_http_hangar_group.h"


ngx_int_t ngx_http_hangar_groups_list(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_groups_create(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_groups_get(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_groups_update(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_groups_delete(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_groups_rebalance(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_groups_add(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_groups_remove(ngx_http_hangar_req_t *hr);

/* the status object of a group (to_status_dict), and all of them */
void ngx_http_hangar_group_status_out(ngx_http_hangar_out_t *out,
    ngx_http_hangar_group_info_t *info);
ngx_int_t ngx_http_hangar_groups_out(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_out_t *out);
/* the per-group gauges of /metrics */
ngx_int_t ngx_http_hangar_groups_metrics(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_out_t *out);


#endif /* _NGX_HTTP_HANGAR_API_GROUPS_H_INCLUDED_ */
