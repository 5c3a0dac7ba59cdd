
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Front-door sessions: ids that carry their expiry and an HMAC, so any
 * worker (and the next nginx) checks them without a lookup; the set of
 * ended ones, in shm and in the state directory, until they expire; and
 * the GET streams each session and each client address may hold.
 */


#ifndef _NGX_HTTP_HANGAR_SESSION_H_INCLUDED_
#define _NGX_HTTP_HANGAR_SESSION_H_INCLUDED_


#include "ngx_http_hangar_reply.h"
#include "ngx_http_hangar_mcp_wire.h"


/* what the client declared at initialize, kept in its session id */
#define NGX_HTTP_HANGAR_CAP_SAMPLING  0x01
#define NGX_HTTP_HANGAR_CAP_FORM      0x02  /* elicitation, form mode */
#define NGX_HTTP_HANGAR_CAP_URL       0x04  /* elicitation, url mode */
#define NGX_HTTP_HANGAR_CAP_ROOTS     0x08


typedef struct {
    time_t                       expires;
    ngx_uint_t                   caps;
    ngx_str_t                    text;      /* canonical: lower-case */
    u_char                       data[NGX_HTTP_HANGAR_SID_LEN];
} ngx_http_hangar_sid_t;


/* the shm counters a GET stream holds, released when it ends */
typedef struct {
    ngx_http_hangar_registry_t  *reg;
    ngx_str_node_t              *session;
    ngx_str_node_t              *client;
} ngx_http_hangar_streams_t;


ngx_int_t ngx_http_hangar_session_new(ngx_http_hangar_req_t *hr,
    time_t ttl, ngx_uint_t caps, ngx_str_t *id);
ngx_int_t ngx_http_hangar_session_find(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_sid_t *id);
ngx_int_t ngx_http_hangar_session_refuse(ngx_http_hangar_req_t *hr,
    ngx_int_t rc);
ngx_uint_t ngx_http_hangar_session_caps(ngx_http_hangar_value_t *caps);
u_char *ngx_http_hangar_session_key_get(ngx_http_hangar_req_t *hr);
u_char *ngx_http_hangar_session_key_in(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_log_t *log);
ngx_int_t ngx_http_hangar_session_check(ngx_http_hangar_req_t *hr,
    ngx_str_t *text, ngx_http_hangar_sid_t *sid);
ngx_int_t ngx_http_hangar_session_end(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_sid_t *sid, ngx_str_t *errmsg);

ngx_int_t ngx_http_hangar_streams_enter(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_sid_t *sid, ngx_uint_t per_session,
    ngx_uint_t per_client, ngx_http_hangar_streams_t *st,
    const char **which);
void ngx_http_hangar_streams_leave(ngx_http_hangar_streams_t *st);
ngx_uint_t ngx_http_hangar_streams_held(ngx_http_hangar_registry_t *reg,
    ngx_str_t *sid);


#endif /* _NGX_HTTP_HANGAR_SESSION_H_INCLUDED_ */
