
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * GET /api/system, /api/system/me; the fleet's totals.
 */


#ifndef _NGX_HTTP_HANGAR_API_SYSTEM_H_INCLUDED_
#define _NGX_HTTP_HANGAR_API_SYSTEM_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


typedef struct {
    ngx_uint_t   servers;
    ngx_uint_t   by_state[NGX_HTTP_HANGAR_NSTATES];
    ngx_uint_t   tools;
    ngx_uint_t   invocations;
    ngx_uint_t   failures;
} ngx_http_hangar_totals_t;


void ngx_http_hangar_totals(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_totals_t *t);
double ngx_http_hangar_uptime(ngx_http_hangar_registry_t *reg);

ngx_int_t ngx_http_hangar_system(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_system_me(ngx_http_hangar_req_t *hr);


#endif /* _NGX_HTTP_HANGAR_API_SYSTEM_H_INCLUDED_ */
