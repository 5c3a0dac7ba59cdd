
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * POST /api/admin/tools/{server}/{tool}/withdraw and restore.
 */


#ifndef _NGX_HTTP_HANGAR_API_ADMIN_H_INCLUDED_
#define _NGX_HTTP_HANGAR_API_ADMIN_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


ngx_int_t ngx_http_hangar_tools_withdraw(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_tools_restore(ngx_http_hangar_req_t *hr);


#endif /* _NGX_HTTP_HANGAR_API_ADMIN_H_INCLUDED_ */
