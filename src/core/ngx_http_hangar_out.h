
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * An append-only writer into a chain of pool buffers: responses are
 * rendered once, without sizing passes and without copying the registry.
 * Allocation failures are sticky (out->failed) and checked once at the
 * end, which keeps renderers free of error plumbing.
 */


#ifndef _NGX_HTTP_HANGAR_OUT_H_INCLUDED_
#define _NGX_HTTP_HANGAR_OUT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


typedef struct {
    ngx_pool_t      *pool;
    ngx_chain_t     *first;
    ngx_chain_t     *last;
    ngx_buf_t       *b;
    size_t           size;
    size_t           chunk;
    ngx_uint_t       failed;
} ngx_http_hangar_out_t;


void ngx_http_hangar_out_init(ngx_http_hangar_out_t *out, ngx_pool_t *pool,
    size_t chunk);
void ngx_http_hangar_out_raw(ngx_http_hangar_out_t *out, const void *data,
    size_t len);
void ngx_http_hangar_out_str(ngx_http_hangar_out_t *out, const u_char *data,
    size_t len);
void ngx_http_hangar_out_int(ngx_http_hangar_out_t *out, int64_t i);
void ngx_http_hangar_out_num(ngx_http_hangar_out_t *out, double n);
void ngx_http_hangar_out_bool(ngx_http_hangar_out_t *out, ngx_uint_t b);
void ngx_http_hangar_out_printf(ngx_http_hangar_out_t *out,
    const char *fmt, ...);
/* the whole output as one contiguous string */
ngx_int_t ngx_http_hangar_out_flatten(ngx_http_hangar_out_t *out,
    ngx_str_t *s);


/* s must be a string literal ("" s does not compile otherwise) */
#define ngx_http_hangar_out_lit(out, s)                                      \
    ngx_http_hangar_out_raw(out, "" s, sizeof(s) - 1)

#define ngx_http_hangar_out_ngx_str(out, s)                                  \
    ngx_http_hangar_out_str(out, (s)->data, (s)->len)

/* "key": -- the key is a literal known not to need escaping */
#define ngx_http_hangar_out_key(out, k)                                      \
    ngx_http_hangar_out_raw(out, "\"" k "\":", sizeof(k) + 2)


#endif /* _NGX_HTTP_HANGAR_OUT_H_INCLUDED_ */
