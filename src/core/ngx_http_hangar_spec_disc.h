
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * hangar.yaml "discovery:" and one of its sources, checked by the field
 * table (ngx_http_hangar_spec_disc.c; hangar-security.md §5.1-5.2).
 */


#ifndef _NGX_HTTP_HANGAR_SPEC_DISC_H_INCLUDED_
#define _NGX_HTTP_HANGAR_SPEC_DISC_H_INCLUDED_


#include "ngx_http_hangar_spec.h"


ngx_int_t ngx_http_hangar_spec_discovery(ngx_http_hangar_spec_ctx_t *ctx,
    ngx_http_hangar_value_t *in, ngx_http_hangar_value_t **out);
ngx_int_t ngx_http_hangar_spec_disc_source(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *in,
    ngx_http_hangar_value_t **out);


#endif /* _NGX_HTTP_HANGAR_SPEC_DISC_H_INCLUDED_ */
