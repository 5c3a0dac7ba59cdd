
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The Docker discovery source (ngx_http_hangar_discovery_docker.c).
 */


#ifndef _NGX_HTTP_HANGAR_DISCOVERY_DOCKER_H_INCLUDED_
#define _NGX_HTTP_HANGAR_DISCOVERY_DOCKER_H_INCLUDED_


#include "ngx_http_hangar_discovery_state.h"


/* the containers labelled for hangar: NGX_AGAIN, then done() */
ngx_int_t ngx_http_hangar_disc_docker_scan(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_disc_source_t *src, ngx_array_t *items,
    ngx_http_hangar_disc_done_pt done, void *data);


#endif /* _NGX_HTTP_HANGAR_DISCOVERY_DOCKER_H_INCLUDED_ */
