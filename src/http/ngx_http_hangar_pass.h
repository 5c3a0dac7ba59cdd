
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The pass-through (hangar_pass): the directive, the access-phase handler
 * that checks a server and starts it on demand, and $hangar_pass_url,
 * $hangar_pass_connection.
 */


#ifndef _NGX_HTTP_HANGAR_PASS_H_INCLUDED_
#define _NGX_HTTP_HANGAR_PASS_H_INCLUDED_


#include "ngx_http_hangar_reply.h"
#include "ngx_http_hangar_pass_remote.h"


char *ngx_http_hangar_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_hangar_pass_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_hangar_pass_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


#endif /* _NGX_HTTP_HANGAR_PASS_H_INCLUDED_ */
