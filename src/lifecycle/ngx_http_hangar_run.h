
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * What runs of stdio servers leave behind (ngx_http_hangar_run.c).
 */


#ifndef _NGX_HTTP_HANGAR_RUN_H_INCLUDED_
#define _NGX_HTTP_HANGAR_RUN_H_INCLUDED_


#include "ngx_http_hangar_proc.h"


void ngx_http_hangar_lifecycle_stop_all(ngx_cycle_t *cycle);
void ngx_http_hangar_lifecycle_reap(ngx_http_hangar_registry_t *reg,
    ngx_log_t *log);
ngx_http_hangar_value_t *ngx_http_hangar_run_status(ngx_pool_t *pool,
    ngx_http_hangar_registry_t *reg, u_char *id, size_t len, ngx_uint_t seq);


#endif /* _NGX_HTTP_HANGAR_RUN_H_INCLUDED_ */
