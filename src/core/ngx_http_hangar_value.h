
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * A small JSON-shaped value tree allocated in an nginx pool.  Both the
 * JSON bodies of the REST API and the YAML configuration are parsed into
 * it, so that one validator (the field table of ngx_http_hangar_spec.c)
 * serves both.  Values remember where they came from (line and column,
 * 1-based; 0 when unknown) so configuration errors can point at them.
 */


#ifndef _NGX_HTTP_HANGAR_VALUE_H_INCLUDED_
#define _NGX_HTTP_HANGAR_VALUE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hangar_out.h"


typedef enum {
    NGX_HTTP_HANGAR_NULL = 0,
    NGX_HTTP_HANGAR_BOOL,
    NGX_HTTP_HANGAR_INT,
    NGX_HTTP_HANGAR_NUM,
    NGX_HTTP_HANGAR_STR,
    NGX_HTTP_HANGAR_ARR,
    NGX_HTTP_HANGAR_OBJ
} ngx_http_hangar_type_e;


typedef struct ngx_http_hangar_value_s  ngx_http_hangar_value_t;

typedef struct {
    ngx_str_t                    key;
    ngx_http_hangar_value_t     *value;
} ngx_http_hangar_pair_t;


struct ngx_http_hangar_value_s {
    ngx_http_hangar_type_e       type;
    ngx_uint_t                   line;
    ngx_uint_t                   col;

    /* a YAML scalar that was quoted: never typed as number or bool */
    unsigned                     quoted:1;

    union {
        ngx_flag_t               b;
        int64_t                  i;
        double                   n;
        ngx_str_t                s;
        ngx_array_t              arr;   /* of ngx_http_hangar_value_t * */
        ngx_array_t              obj;   /* of ngx_http_hangar_pair_t */
    } u;
};


#define ngx_http_hangar_is(v, t)  ((v) != NULL && (v)->type == (t))

/* an ngx_str_t equals a string literal */
#define ngx_http_hangar_str_is(s, lit)                                       \
    ((s)->len == sizeof(lit) - 1                                             \
     && ngx_strncmp((s)->data, lit, sizeof(lit) - 1) == 0)


ngx_http_hangar_value_t *ngx_http_hangar_value_new(ngx_pool_t *pool,
    ngx_http_hangar_type_e type);
ngx_http_hangar_value_t *ngx_http_hangar_value_str(ngx_pool_t *pool,
    u_char *data, size_t len);
ngx_http_hangar_value_t *ngx_http_hangar_value_int(ngx_pool_t *pool,
    int64_t i);

/* object access; keys are compared byte for byte */
ngx_http_hangar_value_t *ngx_http_hangar_get(ngx_http_hangar_value_t *obj,
    const char *key);
ngx_http_hangar_value_t *ngx_http_hangar_get_n(ngx_http_hangar_value_t *obj,
    u_char *key, size_t len);
/* replaces an existing key in place (keeps order) or appends */
ngx_int_t ngx_http_hangar_set(ngx_pool_t *pool, ngx_http_hangar_value_t *obj,
    u_char *key, size_t len, ngx_http_hangar_value_t *value);
void ngx_http_hangar_del(ngx_http_hangar_value_t *obj, const char *key);
ngx_int_t ngx_http_hangar_push(ngx_http_hangar_value_t *arr,
    ngx_http_hangar_value_t *item);

ngx_uint_t ngx_http_hangar_value_equal(ngx_http_hangar_value_t *a,
    ngx_http_hangar_value_t *b);
ngx_http_hangar_value_t *ngx_http_hangar_value_copy(ngx_pool_t *pool,
    ngx_http_hangar_value_t *v);

const char *ngx_http_hangar_type_name(ngx_http_hangar_type_e type);

/*
 * JSON text -> tree (yajl).  Returns NULL on error with a message in
 * *err ("invalid JSON at byte 12: ...").  Depth is limited to 64.
 */
ngx_http_hangar_value_t *ngx_http_hangar_json_parse(ngx_pool_t *pool,
    u_char *data, size_t len, ngx_str_t *err);

/* tree -> compact JSON, appended to out / in one pool allocation */
void ngx_http_hangar_json_out(ngx_http_hangar_out_t *out,
    ngx_http_hangar_value_t *v);

ngx_int_t ngx_http_hangar_json_text(ngx_pool_t *pool,
    ngx_http_hangar_value_t *v, ngx_str_t *out);


#endif /* _NGX_HTTP_HANGAR_VALUE_H_INCLUDED_ */
