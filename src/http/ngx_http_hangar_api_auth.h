
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/auth/principals, /api/auth/principals/roles, /api/auth/permissions
 * and /api/auth/check-permission.
 */


#ifndef _NGX_HTTP_HANGAR_API_AUTH_H_INCLUDED_
#define _NGX_HTTP_HANGAR_API_AUTH_H_INCLUDED_


#include "ngx_http_hangar_api_auth_doc.h"


ngx_int_t ngx_http_hangar_principals_list(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_principals_roles(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_permissions_list(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_permissions_check(ngx_http_hangar_req_t *hr);


#endif /* _NGX_HTTP_HANGAR_API_AUTH_H_INCLUDED_ */
