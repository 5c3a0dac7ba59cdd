
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Bearer JWT / OIDC (hangar-security.md §1.4).
 */


#ifndef _NGX_HTTP_HANGAR_JWT_H_INCLUDED_
#define _NGX_HTTP_HANGAR_JWT_H_INCLUDED_


#include "ngx_http_hangar_principal.h"


typedef struct ngx_http_hangar_jwt_conf_s  ngx_http_hangar_jwt_conf_t;
typedef void (*ngx_http_hangar_jwt_wake_pt)(void *data);


ngx_int_t ngx_http_hangar_jwt_conf(ngx_conf_t *cf,
    ngx_http_hangar_value_t *oidc, ngx_str_t *file,
    ngx_http_hangar_jwt_conf_t **jcp);
ngx_int_t ngx_http_hangar_jwt_verify(ngx_http_hangar_jwt_conf_t *jc,
    ngx_str_t *token, ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_hangar_principal_t *p, ngx_str_t *err, ngx_str_t *details,
    ngx_http_hangar_jwt_wake_pt wake, void *data);
ngx_int_t ngx_http_hangar_jwt_challenge(ngx_http_hangar_jwt_conf_t *jc,
    ngx_http_request_t *r, ngx_str_t *value);


#endif /* _NGX_HTTP_HANGAR_JWT_H_INCLUDED_ */
