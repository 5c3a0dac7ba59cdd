
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The router: one content handler for every hangar location; for /api/
 * one route table (method, path pattern, permission, handler).
 */


#ifndef _NGX_HTTP_HANGAR_API_H_INCLUDED_
#define _NGX_HTTP_HANGAR_API_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


ngx_int_t ngx_http_hangar_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_HANGAR_API_H_INCLUDED_ */
