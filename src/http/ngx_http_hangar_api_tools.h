
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * GET /api/tools.
 */


#ifndef _NGX_HTTP_HANGAR_API_TOOLS_H_INCLUDED_
#define _NGX_HTTP_HANGAR_API_TOOLS_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


ngx_int_t ngx_http_hangar_tools_all(ngx_http_hangar_req_t *hr);


#endif /* _NGX_HTTP_HANGAR_API_TOOLS_H_INCLUDED_ */
