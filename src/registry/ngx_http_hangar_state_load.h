
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Durable state read back (ngx_http_hangar_state_load.c): the state and
 * catalog files merged into the configuration at startup and reload.
 */


#ifndef _NGX_HTTP_HANGAR_STATE_LOAD_H_INCLUDED_
#define _NGX_HTTP_HANGAR_STATE_LOAD_H_INCLUDED_


#include "ngx_http_hangar_registry.h"


ngx_int_t ngx_http_hangar_state_read(ngx_pool_t *pool, ngx_str_t *dir,
    ngx_log_t *log, ngx_http_hangar_value_t **doc);
ngx_uint_t ngx_http_hangar_state_text_valid(ngx_str_t *s, size_t max);
ngx_int_t ngx_http_hangar_file_read(ngx_pool_t *pool, ngx_str_t *dir,
    const char *name, ngx_log_t *log, ngx_http_hangar_value_t **doc);
ngx_int_t ngx_http_hangar_catalog_load(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf);
ngx_int_t ngx_http_hangar_state_merge(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf);


#endif /* _NGX_HTTP_HANGAR_STATE_LOAD_H_INCLUDED_ */
