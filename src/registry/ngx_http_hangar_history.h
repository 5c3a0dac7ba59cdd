
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The tool-call history of each server (ngx_http_hangar_history.c).
 */


#ifndef _NGX_HTTP_HANGAR_HISTORY_H_INCLUDED_
#define _NGX_HTTP_HANGAR_HISTORY_H_INCLUDED_


#include "ngx_http_hangar_registry.h"


ngx_int_t ngx_http_hangar_history_init(ngx_http_hangar_registry_t *reg,
    size_t size);
void ngx_http_hangar_history_add(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_str_t *tool, ngx_msec_t begun,
    ngx_msec_t now, size_t size, const char *error_type, ngx_str_t *error);


#endif /* _NGX_HTTP_HANGAR_HISTORY_H_INCLUDED_ */
