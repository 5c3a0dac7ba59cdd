
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The front door's side of requests that servers send to clients
 * (sampling, elicitation, roots): relayed to the client of the call with
 * an id any worker can route back, answered by hangar itself when the
 * client cannot; the client's answers and cancellations sent on to the
 * server.
 */


#ifndef _NGX_HTTP_HANGAR_MCP_SREQ_H_INCLUDED_
#define _NGX_HTTP_HANGAR_MCP_SREQ_H_INCLUDED_


#include "ngx_http_hangar_session.h"


ngx_uint_t ngx_http_hangar_sreq_caps(ngx_http_request_t *r, ngx_str_t *sid);
int64_t ngx_http_hangar_sreq_upstream_id(ngx_str_t *sid,
    ngx_http_hangar_value_t *id, ngx_pool_t *pool);
ngx_int_t ngx_http_hangar_sreq_relay(ngx_http_hangar_req_t *hr,
    ngx_str_t *sid, ngx_uint_t caps, ngx_str_t *server,
    ngx_http_hangar_value_t *msg, ngx_http_hangar_out_t *out);
ngx_int_t ngx_http_hangar_sreq_answer(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_sid_t *sid, ngx_http_hangar_value_t *body);
ngx_int_t ngx_http_hangar_sreq_cancel(ngx_http_hangar_req_t *hr,
    ngx_str_t *server, int64_t upstream, ngx_http_hangar_value_t *reason);


#endif /* _NGX_HTTP_HANGAR_MCP_SREQ_H_INCLUDED_ */
