
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


/* a front-door call in flight on this worker */
typedef struct {
    ngx_queue_t                  queue;
    ngx_str_t                    sid;       /* its session, canonical */
    ngx_uint_t                   caps;      /* what its client can do */
    int64_t                      upstream;  /* the id it went out with */
    ngx_str_t                   *server;
    void                       (*cancel)(void *data);  /* the client's */
    void                        *data;
    unsigned                     queued:1;
} ngx_http_hangar_sreq_call_t;


ngx_uint_t ngx_http_hangar_sreq_caps(ngx_http_request_t *r, ngx_str_t *sid);
void ngx_http_hangar_sreq_track(ngx_http_hangar_sreq_call_t *sc,
    ngx_http_hangar_value_t *id, void *handle, ngx_pool_t *pool);
void ngx_http_hangar_sreq_untrack(ngx_http_hangar_sreq_call_t *sc);
void ngx_http_hangar_sreq_gone(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_sreq_call_t *sc, void *handle);
ngx_int_t ngx_http_hangar_sreq_relay(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_sreq_call_t *sc, ngx_http_hangar_value_t *msg,
    ngx_http_hangar_out_t *out);
ngx_int_t ngx_http_hangar_sreq_idle(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_http_hangar_value_t *msg);
ngx_int_t ngx_http_hangar_sreq_message(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *body, ngx_http_hangar_value_t *method,
    ngx_http_hangar_value_t *params);


#endif /* _NGX_HTTP_HANGAR_MCP_SREQ_H_INCLUDED_ */
