
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * JSON parser (ngx_http_hangar_value.c): any bytes parse or fail with a
 * message; a parsed value renders back to JSON that parses again to an
 * equal value (numbers aside: a double may print differently), and a copy
 * is equal to it.
 */


#include "ngx_fuzz.h"
#include "ngx_http_hangar_value.h"


static ngx_uint_t
ngx_fuzz_has_float(ngx_http_hangar_value_t *v)
{
    ngx_uint_t               i;
    ngx_http_hangar_value_t **a;
    ngx_http_hangar_pair_t   *pair;

    if (v == NULL) {
        return 0;
    }

    switch (v->type) {

    case NGX_HTTP_HANGAR_NUM:
        return 1;

    case NGX_HTTP_HANGAR_ARR:
        a = v->u.arr.elts;
        for (i = 0; i < v->u.arr.nelts; i++) {
            if (ngx_fuzz_has_float(a[i])) {
                return 1;
            }
        }
        return 0;

    case NGX_HTTP_HANGAR_OBJ:
        pair = v->u.obj.elts;
        for (i = 0; i < v->u.obj.nelts; i++) {
            if (ngx_fuzz_has_float(pair[i].value)) {
                return 1;
            }
        }
        return 0;

    default:
        return 0;
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_str_t                 err, text;
    ngx_pool_t               *pool;
    ngx_http_hangar_value_t  *v, *again, *copy;

    pool = ngx_create_pool(4096, ngx_fuzz_log_new());
    if (pool == NULL) {
        return 0;
    }

    ngx_str_null(&err);

    v = ngx_http_hangar_json_parse(pool, (u_char *) data, size, &err);

    if (v == NULL) {
        /* a failure always says why */
        if (err.len == 0) {
            __builtin_trap();
        }

        ngx_destroy_pool(pool);
        return 0;
    }

    if (ngx_http_hangar_json_text(pool, v, &text) != NGX_OK) {
        __builtin_trap();
    }

    again = ngx_http_hangar_json_parse(pool, text.data, text.len, &err);
    if (again == NULL) {
        __builtin_trap();
    }

    copy = ngx_http_hangar_value_copy(pool, v);

    if (!ngx_fuzz_has_float(v)
        && (!ngx_http_hangar_value_equal(v, again)
            || !ngx_http_hangar_value_equal(v, copy)))
    {
        __builtin_trap();
    }

    ngx_destroy_pool(pool);

    return 0;
}
