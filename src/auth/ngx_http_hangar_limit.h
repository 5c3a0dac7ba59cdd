
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Failed-authentication lockout (hangar-security.md §1.6) and rate limits.
 */


#ifndef _NGX_HTTP_HANGAR_LIMIT_H_INCLUDED_
#define _NGX_HTTP_HANGAR_LIMIT_H_INCLUDED_


#include "ngx_http_hangar_registry.h"


typedef struct {
    ngx_flag_t                   enabled;
    ngx_uint_t                   max_attempts;
    time_t                       window;
    time_t                       lockout;
} ngx_http_hangar_lockout_conf_t;


ngx_int_t ngx_http_hangar_lockout_conf(ngx_conf_t *cf,
    ngx_http_hangar_value_t *v, ngx_str_t *file,
    ngx_http_hangar_lockout_conf_t *lc);
ngx_int_t ngx_http_hangar_lockout_check(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_lockout_conf_t *lc, ngx_connection_t *c,
    time_t *retry_after);
void ngx_http_hangar_lockout_failed(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_lockout_conf_t *lc, ngx_connection_t *c);
void ngx_http_hangar_lockout_passed(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_lockout_conf_t *lc, ngx_connection_t *c);


#endif /* _NGX_HTTP_HANGAR_LIMIT_H_INCLUDED_ */
