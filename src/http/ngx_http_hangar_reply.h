
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The plumbing of the HTTP surfaces: the request context handlers work on,
 * sending, the error envelopes, JSON bodies, CORS, headers, query
 * arguments.  A function that answers returns what its handler returns.
 */


#ifndef _NGX_HTTP_HANGAR_REPLY_H_INCLUDED_
#define _NGX_HTTP_HANGAR_REPLY_H_INCLUDED_


#include "ngx_http_hangar.h"
#include "ngx_http_hangar_registry.h"
#include "ngx_http_hangar_lifecycle.h"
#include "ngx_http_hangar_auth.h"
#include "ngx_http_hangar_mcp_wire.h"


/* what a location serves (hlcf->handler) */
#define NGX_HTTP_HANGAR_API      1
#define NGX_HTTP_HANGAR_HEALTH   2
#define NGX_HTTP_HANGAR_METRICS  3
#define NGX_HTTP_HANGAR_MCP      4

#define NGX_HTTP_HANGAR_MAX_PARAMS  3

/* route flags */
#define NGX_HTTP_HANGAR_BODY     1    /* takes a JSON body */


typedef struct ngx_http_hangar_req_s  ngx_http_hangar_req_t;

/* a handler returns what it sent, or NGX_DONE while it waits */
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
    ngx_http_hangar_auth_ctx_t   auth;        /* first: the auth layer's */
    ngx_http_request_t          *r;
    ngx_http_hangar_route_t     *route;
    ngx_http_hangar_route_t     *routes;      /* the table it is in */
    ngx_str_t                    params[NGX_HTTP_HANGAR_MAX_PARAMS];
    ngx_http_hangar_value_t     *body;        /* NULL: no or empty body */
    ngx_http_hangar_registry_t  *reg;
    ngx_http_hangar_out_t        out;
    ngx_http_hangar_waiter_t     waiter;
    void                        *call;        /* in flight, for cleanup */
    ngx_uint_t                   seq;         /* of the bridge asked */
    ngx_buf_t                   *raw;         /* the body read so far */
};


/* an integer query argument and its range */
typedef struct {
    const char                  *name;
    ngx_int_t                    def;
    ngx_int_t                    min;
    ngx_int_t                    max;
} ngx_http_hangar_arg_t;


ngx_int_t ngx_http_hangar_send(ngx_http_hangar_req_t *hr, ngx_uint_t status);
ngx_int_t ngx_http_hangar_error(ngx_http_hangar_req_t *hr, ngx_uint_t status,
    const char *error, const char *fmt, ...);
ngx_int_t ngx_http_hangar_error_details(ngx_http_hangar_req_t *hr,
    ngx_uint_t status, const char *error, ngx_str_t *details,
    const char *fmt, ...);
ngx_int_t ngx_http_hangar_validation_error(ngx_http_hangar_req_t *hr,
    ngx_str_t *field, ngx_str_t *message);
ngx_int_t ngx_http_hangar_not_found(ngx_http_hangar_req_t *hr, ngx_str_t *id);
ngx_int_t ngx_http_hangar_mcp_error(ngx_http_hangar_req_t *hr,
    ngx_uint_t status, ngx_http_hangar_value_t *id, ngx_int_t code,
    ngx_str_t *message);

ngx_int_t ngx_http_hangar_read_json(ngx_http_hangar_req_t *hr);
void ngx_http_hangar_discard_body(ngx_http_request_t *r);
ngx_int_t ngx_http_hangar_body_error(ngx_http_hangar_req_t *hr, ngx_int_t rc);

ngx_int_t ngx_http_hangar_cors(ngx_http_hangar_req_t *hr,
    ngx_uint_t *preflight);
ngx_str_t *ngx_http_hangar_header(ngx_http_request_t *r, const char *name);
ngx_int_t ngx_http_hangar_header_out(ngx_http_request_t *r, const char *name,
    u_char *value, size_t len);
ngx_int_t ngx_http_hangar_int_arg(ngx_http_request_t *r,
    ngx_http_hangar_arg_t *arg, ngx_int_t *value);
ngx_int_t ngx_http_hangar_arg_error(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_arg_t *arg);
ngx_int_t ngx_http_hangar_refuse(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_refusal_t *no);


#endif /* _NGX_HTTP_HANGAR_REPLY_H_INCLUDED_ */
