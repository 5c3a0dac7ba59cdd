
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * What a front-door caller may see of the servers' prompts and resources.
 */


#ifndef _NGX_HTTP_HANGAR_MCP_VIEW_H_INCLUDED_
#define _NGX_HTTP_HANGAR_MCP_VIEW_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


/* one request's: made on first use, in its pool */
typedef struct {
    ngx_http_hangar_req_t       *hr;
    ngx_array_t                 *open;      /* servers the caller may use */
    ngx_array_t                 *tooled;    /* servers that export tools */
} ngx_http_hangar_view_t;


/*
 * Whether the caller may see a server's prompt or resource (kind: of the
 * policy; name: the prompt's name, the server's uri), or with name NULL
 * the server at all: the policy of the kind, and a server none of whose
 * tools the caller may call is closed to it.
 */
ngx_uint_t ngx_http_hangar_view_allowed(ngx_http_hangar_view_t *view,
    ngx_str_t *server, ngx_uint_t kind, ngx_str_t *name);


#endif /* _NGX_HTTP_HANGAR_MCP_VIEW_H_INCLUDED_ */
