
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * GET /metrics: Prometheus text (hangar_metrics).
 */


#ifndef _NGX_HTTP_HANGAR_METRICS_H_INCLUDED_
#define _NGX_HTTP_HANGAR_METRICS_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


ngx_int_t ngx_http_hangar_metrics_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_hangar_metrics_render(ngx_http_hangar_out_t *out,
    ngx_http_hangar_registry_t *reg, ngx_pool_t *pool);


#endif /* _NGX_HTTP_HANGAR_METRICS_H_INCLUDED_ */
