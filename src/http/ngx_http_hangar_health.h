
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * GET /health/live, /health/ready, /health/startup (hangar_health).
 */


#ifndef _NGX_HTTP_HANGAR_HEALTH_H_INCLUDED_
#define _NGX_HTTP_HANGAR_HEALTH_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


ngx_int_t ngx_http_hangar_health_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_HANGAR_HEALTH_H_INCLUDED_ */
