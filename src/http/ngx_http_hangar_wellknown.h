
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * GET /.well-known/oauth-protected-resource (RFC 9728,
 * hangar_protected_resource): where MCP clients that speak OAuth find the
 * authorization servers.  Served without authentication.
 */


#ifndef _NGX_HTTP_HANGAR_WELLKNOWN_H_INCLUDED_
#define _NGX_HTTP_HANGAR_WELLKNOWN_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


/* what a location serves (hlcf->handler), beside those of reply.h */
#define NGX_HTTP_HANGAR_PROTECTED_RESOURCE  16


ngx_int_t ngx_http_hangar_wellknown_handler(ngx_http_hangar_req_t *hr);


#endif /* _NGX_HTTP_HANGAR_WELLKNOWN_H_INCLUDED_ */
