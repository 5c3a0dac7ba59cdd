
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/enterprise/approvals and /api/approvals (hangar-security.md §4.3):
 * list, get, resolve.
 */


#ifndef _NGX_HTTP_HANGAR_API_APPROVALS_H_INCLUDED_
#define _NGX_HTTP_HANGAR_API_APPROVALS_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


ngx_int_t ngx_http_hangar_approvals_list(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_approvals_get(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_approvals_resolve(ngx_http_hangar_req_t *hr);


#endif /* _NGX_HTTP_HANGAR_API_APPROVALS_H_INCLUDED_ */
