
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/auth/keys: create, list and revoke API keys.
 */


#ifndef _NGX_HTTP_HANGAR_API_AUTH_KEYS_H_INCLUDED_
#define _NGX_HTTP_HANGAR_API_AUTH_KEYS_H_INCLUDED_


#include "ngx_http_hangar_api_auth_doc.h"


ngx_int_t ngx_http_hangar_keys_create(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_keys_list(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_keys_revoke(ngx_http_hangar_req_t *hr);


#endif /* _NGX_HTTP_HANGAR_API_AUTH_KEYS_H_INCLUDED_ */
