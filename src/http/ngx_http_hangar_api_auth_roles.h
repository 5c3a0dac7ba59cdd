
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/auth/roles: built-in and custom roles, and their assignments.
 */


#ifndef _NGX_HTTP_HANGAR_API_AUTH_ROLES_H_INCLUDED_
#define _NGX_HTTP_HANGAR_API_AUTH_ROLES_H_INCLUDED_


#include "ngx_http_hangar_api_auth_doc.h"


ngx_int_t ngx_http_hangar_roles_list(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_roles_all(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_roles_get(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_roles_create(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_roles_delete(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_roles_update(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_roles_assign(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_roles_revoke(ngx_http_hangar_req_t *hr);


#endif /* _NGX_HTTP_HANGAR_API_AUTH_ROLES_H_INCLUDED_ */
