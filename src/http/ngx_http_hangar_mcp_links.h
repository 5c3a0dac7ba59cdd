
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Resource URIs projected for the front door: hangar://<server>/<uri>.
 */


#ifndef _NGX_HTTP_HANGAR_MCP_LINKS_H_INCLUDED_
#define _NGX_HTTP_HANGAR_MCP_LINKS_H_INCLUDED_


#include "ngx_http_hangar.h"


#define NGX_HTTP_HANGAR_URI_SCHEME   "hangar://"


/* obj.field, a uri of the server's, becomes its projection (in place) */
ngx_int_t ngx_http_hangar_links_project(ngx_pool_t *pool, ngx_str_t *server,
    ngx_http_hangar_value_t *obj, const char *field);

/*
 * hangar://<server>/<uri>: NGX_OK with server and uri pointing into it,
 * NGX_DECLINED when it is not of that form.
 */
ngx_int_t ngx_http_hangar_links_parse(ngx_str_t *projected, ngx_str_t *server,
    ngx_str_t *uri);

/*
 * The resource_link blocks and embedded resources of a tools/call result,
 * and the contents of a resources/read result, projected; in place.
 */
ngx_int_t ngx_http_hangar_links_rewrite(ngx_pool_t *pool, ngx_str_t *server,
    ngx_http_hangar_value_t *result);


#endif /* _NGX_HTTP_HANGAR_MCP_LINKS_H_INCLUDED_ */
