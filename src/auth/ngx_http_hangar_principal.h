
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Who is asking (hangar-security.md §1.5).  Filled by authentication
 * (API key, bearer JWT, an nginx variable) and read by authorization.
 * Strings point into the request pool.
 */


#ifndef _NGX_HTTP_HANGAR_PRINCIPAL_H_INCLUDED_
#define _NGX_HTTP_HANGAR_PRINCIPAL_H_INCLUDED_


#include "ngx_http_hangar.h"


#define NGX_HTTP_HANGAR_PRINCIPAL_USER      0
#define NGX_HTTP_HANGAR_PRINCIPAL_SERVICE   1   /* service_account */
#define NGX_HTTP_HANGAR_PRINCIPAL_SYSTEM    2

#define NGX_HTTP_HANGAR_PRINCIPAL_ID_MAX    256


typedef struct {
    ngx_str_t                    id;
    ngx_uint_t                   type;
    ngx_str_t                    tenant;      /* len 0: none */
    ngx_array_t                 *groups;      /* ngx_str_t; NULL: none */
    const char                  *method;      /* "api_key", "jwt",
                                                 "variable", "none" */

    /* API key */
    ngx_str_t                    key_id;
    ngx_str_t                    key_name;

    /* JWT */
    ngx_str_t                    email;
    ngx_str_t                    issuer;
    time_t                       issued_at;
    time_t                       expires_at;
    ngx_str_t                    session;     /* the "sid" claim */

    unsigned                     anonymous:1;
} ngx_http_hangar_principal_t;


#endif /* _NGX_HTTP_HANGAR_PRINCIPAL_H_INCLUDED_ */
