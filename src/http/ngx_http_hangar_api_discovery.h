
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The discovery routes of the REST API (ngx_http_hangar_api_discovery.c).
 */


#ifndef _NGX_HTTP_HANGAR_API_DISCOVERY_H_INCLUDED_
#define _NGX_HTTP_HANGAR_API_DISCOVERY_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


ngx_int_t ngx_http_hangar_discovery_sources(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_discovery_add(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_discovery_update(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_discovery_remove(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_discovery_scan(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_discovery_enable(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_discovery_pending(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_discovery_quarantined(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_discovery_approve(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_discovery_reject(ngx_http_hangar_req_t *hr);


#endif /* _NGX_HTTP_HANGAR_API_DISCOVERY_H_INCLUDED_ */
