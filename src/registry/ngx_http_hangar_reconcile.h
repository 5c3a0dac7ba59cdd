
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#ifndef _NGX_HTTP_HANGAR_RECONCILE_H_INCLUDED_
#define _NGX_HTTP_HANGAR_RECONCILE_H_INCLUDED_


#include "ngx_http_hangar_registry.h"


/* with the state lock held; NGX_DECLINED: the zone is full, nothing done */
ngx_int_t ngx_http_hangar_reconcile(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_log_t *log, ngx_array_t *stale);


#endif /* _NGX_HTTP_HANGAR_RECONCILE_H_INCLUDED_ */
