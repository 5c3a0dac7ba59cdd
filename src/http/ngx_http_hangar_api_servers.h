
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/mcp_servers and /api/mcp_servers/{id}: list, create, read, update,
 * delete; and what the other server routes share with them (the route's
 * server, its health object, a durable change run for a request).
 */


#ifndef _NGX_HTTP_HANGAR_API_SERVERS_H_INCLUDED_
#define _NGX_HTTP_HANGAR_API_SERVERS_H_INCLUDED_


#include "ngx_http_hangar_reply.h"
#include "ngx_http_hangar_state.h"


/* a change hangar makes itself: rc NGX_OK, NGX_DECLINED or NGX_ERROR */
typedef void (*ngx_http_hangar_server_done_pt)(void *data, ngx_int_t rc);

ngx_int_t ngx_http_hangar_servers_list(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_create(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_get(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_update(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_delete(ngx_http_hangar_req_t *hr);

ngx_http_hangar_node_t *ngx_http_hangar_route_node(ngx_http_hangar_req_t *hr);
void ngx_http_hangar_render_servers(ngx_http_hangar_out_t *out,
    ngx_http_hangar_registry_t *reg, ngx_str_t *filter);
void ngx_http_hangar_render_details(ngx_http_hangar_out_t *out,
    ngx_http_hangar_node_t *n, ngx_uint_t tools);
void ngx_http_hangar_render_health(ngx_http_hangar_out_t *out,
    ngx_http_hangar_node_t *n, ngx_msec_t now);
ngx_int_t ngx_http_hangar_api_change(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_state_op_t *op);
ngx_int_t ngx_http_hangar_api_change_error(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
ngx_int_t ngx_http_hangar_server_change(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_log_t *log, ngx_str_t *id,
    ngx_http_hangar_value_t *spec, ngx_uint_t replace,
    ngx_http_hangar_server_done_pt done, void *data);
ngx_int_t ngx_http_hangar_server_check(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_log_t *log, ngx_str_t *id,
    ngx_http_hangar_value_t *in, ngx_http_hangar_value_t **spec,
    ngx_str_t *message);
/* what the process runs is the same in both specs (no restart needed) */
ngx_uint_t ngx_http_hangar_runs_same(ngx_pool_t *pool,
    ngx_http_hangar_value_t *a, ngx_http_hangar_value_t *b);


#endif /* _NGX_HTTP_HANGAR_API_SERVERS_H_INCLUDED_ */
