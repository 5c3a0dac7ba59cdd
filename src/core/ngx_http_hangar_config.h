
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * hangar.yaml into the main configuration's declarations
 * (ngx_http_hangar_config.c).
 */


#ifndef _NGX_HTTP_HANGAR_CONFIG_H_INCLUDED_
#define _NGX_HTTP_HANGAR_CONFIG_H_INCLUDED_


#include "ngx_http_hangar.h"


ngx_int_t ngx_http_hangar_config_load(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf);
ngx_int_t ngx_http_hangar_config_fleet(ngx_pool_t *pool,
    ngx_http_hangar_main_conf_t *hmcf);


#endif /* _NGX_HTTP_HANGAR_CONFIG_H_INCLUDED_ */
