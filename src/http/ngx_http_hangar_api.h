
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The REST API: one route table (method, path pattern, permission,
 * handler) drives /api/; handlers render JSON into an out buffer and
 * answer through ngx_http_hangar_send() or ngx_http_hangar_error().
 */


#ifndef _NGX_HTTP_HANGAR_API_H_INCLUDED_
#define _NGX_HTTP_HANGAR_API_H_INCLUDED_


#include "ngx_http_hangar.h"
#include "ngx_http_hangar_registry.h"
#include "ngx_http_hangar_lifecycle.h"


#define NGX_HTTP_HANGAR_API      1
#define NGX_HTTP_HANGAR_HEALTH   2
#define NGX_HTTP_HANGAR_METRICS  3
#define NGX_HTTP_HANGAR_MCP      4

#define NGX_HTTP_HANGAR_MAX_PARAMS  3

/* route flags */
#define NGX_HTTP_HANGAR_BODY     1    /* takes a JSON body */


typedef struct ngx_http_hangar_req_s  ngx_http_hangar_req_t;

typedef ngx_int_t (*ngx_http_hangar_route_pt)(ngx_http_hangar_req_t *hr);


typedef struct {
    ngx_uint_t                   methods;
    const char                  *pattern;     /* "/mcp_servers/{id}/start" */
    /* "resource:action"; "authenticated" = any authenticated principal */
    const char                  *permission;
    ngx_http_hangar_route_pt     handler;
    ngx_uint_t                   flags;
} ngx_http_hangar_route_t;


struct ngx_http_hangar_req_s {
    ngx_http_request_t          *r;
    ngx_http_hangar_route_t     *route;
    ngx_str_t                    params[NGX_HTTP_HANGAR_MAX_PARAMS];
    ngx_http_hangar_value_t     *body;        /* NULL: no or empty body */
    ngx_http_hangar_registry_t  *reg;
    ngx_http_hangar_out_t        out;
    ngx_int_t                    rc;          /* of an answer already sent */
    ngx_http_hangar_waiter_t     waiter;
    void                        *call;        /* in flight, for cleanup */
    ngx_uint_t                   seq;         /* of the bridge asked */
    ngx_buf_t                   *raw;         /* the body read so far */
};


/* a helper that answered the request: callers return hr->rc */
#define ngx_http_hangar_answered(hr, call)  ((hr)->rc = (call), NGX_DECLINED)


extern ngx_http_hangar_route_t  ngx_http_hangar_routes[];


ngx_int_t ngx_http_hangar_handler(ngx_http_request_t *r);

ngx_int_t ngx_http_hangar_send(ngx_http_hangar_req_t *hr, ngx_uint_t status);
ngx_int_t ngx_http_hangar_read_json(ngx_http_hangar_req_t *hr);
void ngx_http_hangar_discard_body(ngx_http_request_t *r);

/* pass-through (ngx_http_hangar_pass.c) */
char *ngx_http_hangar_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_hangar_pass_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_hangar_pass_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

/* the MCP front door (ngx_http_hangar_mcp.c) */
ngx_int_t ngx_http_hangar_mcp_handler(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_mcp_error(ngx_http_hangar_req_t *hr,
    ngx_uint_t status, ngx_http_hangar_value_t *id, ngx_int_t code,
    ngx_str_t *message);
ngx_int_t ngx_http_hangar_error(ngx_http_hangar_req_t *hr, ngx_uint_t status,
    const char *error, const char *fmt, ...);
ngx_int_t ngx_http_hangar_error_details(ngx_http_hangar_req_t *hr,
    ngx_uint_t status, const char *error, ngx_str_t *details,
    const char *fmt, ...);
ngx_int_t ngx_http_hangar_validation_error(ngx_http_hangar_req_t *hr,
    ngx_str_t *field, ngx_str_t *message);
ngx_int_t ngx_http_hangar_not_found(ngx_http_hangar_req_t *hr, ngx_str_t *id);
ngx_int_t ngx_http_hangar_int_arg(ngx_http_hangar_req_t *hr, const char *name,
    ngx_int_t def, ngx_int_t min, ngx_int_t max, ngx_int_t *value);
ngx_int_t ngx_http_hangar_utf8_clean(ngx_pool_t *pool, ngx_str_t *s);
ngx_http_hangar_node_t *ngx_http_hangar_route_node(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_api_change(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_state_op_t *op);
ngx_int_t ngx_http_hangar_api_change_error(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);

/* route handlers */
ngx_int_t ngx_http_hangar_servers_list(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_create(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_get(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_update(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_delete(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_start(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_stop(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_block(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_tools(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_health(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_logs(ngx_http_hangar_req_t *hr);
void ngx_http_hangar_render_health(ngx_http_hangar_out_t *out,
    ngx_http_hangar_node_t *n, ngx_msec_t now);
ngx_int_t ngx_http_hangar_system(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_tools_all(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_servers_history(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_sessions_suspend(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_sessions_resume(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_tools_withdraw(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_tools_restore(ngx_http_hangar_req_t *hr);
ngx_str_t *ngx_http_hangar_header(ngx_http_request_t *r, const char *name);
ngx_int_t ngx_http_hangar_system_me(ngx_http_hangar_req_t *hr);

ngx_int_t ngx_http_hangar_health_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_hangar_metrics_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_HANGAR_API_H_INCLUDED_ */
