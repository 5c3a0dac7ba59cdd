
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The audit log: one JSON line per tool call and per change made through
 * the API, written the way nginx writes an access log (a file opened with
 * ngx_conf_open_file, so "nginx -s reopen" reopens it; a buffer flushed
 * when full, by a timer, at reopen and at exit).
 */


#ifndef _NGX_HTTP_HANGAR_AUDIT_H_INCLUDED_
#define _NGX_HTTP_HANGAR_AUDIT_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


/* hangar_audit_log <path> [buffer=size] [flush=time] [arguments] | off */
char *ngx_http_hangar_audit_log(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_hangar_audit_init(ngx_conf_t *cf);

/*
 * A tool call ended: msg is the server's answer (NULL: the call failed,
 * error says why); params are the call's, logged only with "arguments".
 */
void ngx_http_hangar_audit_call(ngx_http_request_t *r, ngx_str_t *server,
    ngx_str_t *tool, ngx_str_t *params, ngx_http_hangar_value_t *msg,
    size_t response_size);

/* a request through the pass-through to one server ended */
void ngx_http_hangar_audit_pass(ngx_http_request_t *r, ngx_str_t *server);

/* an API request that changes something was answered with status */
void ngx_http_hangar_audit_api(ngx_http_hangar_req_t *hr, ngx_uint_t status);


#endif /* _NGX_HTTP_HANGAR_AUDIT_H_INCLUDED_ */
