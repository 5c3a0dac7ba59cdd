
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The pass-through to a remote server (ngx_http_hangar_pass_remote.c):
 * its URL, auth and headers, its call timeouts, and the verification of
 * https remotes; the request context both pass-through files share.
 */


#ifndef _NGX_HTTP_HANGAR_PASS_REMOTE_H_INCLUDED_
#define _NGX_HTTP_HANGAR_PASS_REMOTE_H_INCLUDED_


#include "ngx_http_hangar_reply.h"
#include "ngx_http_hangar_policy.h"


typedef struct {
    ngx_http_hangar_req_t        hr;
    ngx_str_t                    url;
    ngx_uint_t                   phase;     /* 0 new, 1 waiting, 2 ready,
                                               3 answered, 4 reading */
    ngx_http_hangar_value_t     *list;      /* tools/list: its id */
    ngx_http_hangar_value_t     *held;      /* a tools/call to approve */
    ngx_http_hangar_policy_verdict_t  verdict;     /* of the held call */
    ngx_event_t                  timer;     /* a remote call's timeouts */
    ngx_msec_t                   connect_timeout;
    ngx_msec_t                   read_timeout;
    u_char                      *tls_host;  /* an https remote's, or NULL */
    ngx_str_t                    ca;        /* tls.ca_cert_path */
    ngx_str_t                    group;     /* params[0] is its member */
    ngx_str_t                    sid;       /* the member's session id */
    unsigned                     checked:1; /* the body was looked at */
    unsigned                     verify:1;  /* tls.verify_ssl */
    unsigned                     tls_ip:1;  /* tls_host is an address */
    unsigned                     connected:1;   /* the timer's stage */
} ngx_http_hangar_pass_ctx_t;


/* the proxy's URL of a remote, its headers and a call's timer */
ngx_int_t ngx_http_hangar_pass_remote(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx, ngx_http_hangar_value_t *spec);
/* at the merge of a hangar_pass location: https remotes are verified */
ngx_int_t ngx_http_hangar_pass_merge(ngx_conf_t *cf,
    ngx_http_hangar_loc_conf_t *hlcf);


#endif /* _NGX_HTTP_HANGAR_PASS_REMOTE_H_INCLUDED_ */
