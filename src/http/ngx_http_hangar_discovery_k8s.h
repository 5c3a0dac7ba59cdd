
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The Kubernetes discovery source (ngx_http_hangar_discovery_k8s.c).
 */


#ifndef _NGX_HTTP_HANGAR_DISCOVERY_K8S_H_INCLUDED_
#define _NGX_HTTP_HANGAR_DISCOVERY_K8S_H_INCLUDED_


#include "ngx_http_hangar_discovery_state.h"


/* the pods annotated for hangar: NGX_AGAIN, then done() */
ngx_int_t ngx_http_hangar_disc_k8s_scan(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_disc_source_t *src, ngx_array_t *items,
    ngx_http_hangar_disc_done_pt done, void *data);


#endif /* _NGX_HTTP_HANGAR_DISCOVERY_K8S_H_INCLUDED_ */
