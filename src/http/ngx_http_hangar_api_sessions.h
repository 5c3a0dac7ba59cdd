
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * POST and DELETE /api/sessions/{id}/suspend.
 */


#ifndef _NGX_HTTP_HANGAR_API_SESSIONS_H_INCLUDED_
#define _NGX_HTTP_HANGAR_API_SESSIONS_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


ngx_int_t ngx_http_hangar_sessions_suspend(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_sessions_resume(ngx_http_hangar_req_t *hr);


#endif /* _NGX_HTTP_HANGAR_API_SESSIONS_H_INCLUDED_ */
