
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <yajl/yajl_parse.h>
#include "ngx_http_hangar_value.h"
#include "ngx_http_hangar_out.h"


#define NGX_HTTP_HANGAR_JSON_DEPTH  64


typedef struct {
    ngx_pool_t                  *pool;
    ngx_http_hangar_value_t     *root;
    ngx_http_hangar_value_t     *stack[NGX_HTTP_HANGAR_JSON_DEPTH];
    ngx_uint_t                   depth;
    ngx_str_t                    key;
    ngx_uint_t                   have_key;
    const char                  *error;
} ngx_http_hangar_json_ctx_t;


static int ngx_http_hangar_json_add(ngx_http_hangar_json_ctx_t *ctx,
    ngx_http_hangar_value_t *v);
static int ngx_http_hangar_json_null(void *data);
static int ngx_http_hangar_json_boolean(void *data, int b);
static int ngx_http_hangar_json_number(void *data, const char *s,
    size_t len);
static int ngx_http_hangar_json_string(void *data, const unsigned char *s,
    size_t len);
static int ngx_http_hangar_json_start_map(void *data);
static int ngx_http_hangar_json_map_key(void *data, const unsigned char *s,
    size_t len);
static int ngx_http_hangar_json_end(void *data);
static int ngx_http_hangar_json_start_array(void *data);
static ngx_uint_t ngx_http_hangar_json_lone_surrogate(u_char *p, size_t len);
static void ngx_http_hangar_json_write(ngx_http_hangar_out_t *out,
    ngx_http_hangar_value_t *v);


static yajl_callbacks  ngx_http_hangar_json_callbacks = {
    ngx_http_hangar_json_null,
    ngx_http_hangar_json_boolean,
    NULL,
    NULL,
    ngx_http_hangar_json_number,
    ngx_http_hangar_json_string,
    ngx_http_hangar_json_start_map,
    ngx_http_hangar_json_map_key,
    ngx_http_hangar_json_end,
    ngx_http_hangar_json_start_array,
    ngx_http_hangar_json_end
};


static const char *ngx_http_hangar_type_names[] = {
    "null", "boolean", "integer", "number", "string", "array", "object"
};


ngx_http_hangar_value_t *
ngx_http_hangar_value_new(ngx_pool_t *pool, ngx_http_hangar_type_e type)
{
    ngx_http_hangar_value_t  *v;

    v = ngx_pcalloc(pool, sizeof(ngx_http_hangar_value_t));
    if (v == NULL) {
        return NULL;
    }

    v->type = type;

    if (type == NGX_HTTP_HANGAR_ARR) {
        if (ngx_array_init(&v->u.arr, pool, 4,
                           sizeof(ngx_http_hangar_value_t *))
            != NGX_OK)
        {
            return NULL;
        }

    } else if (type == NGX_HTTP_HANGAR_OBJ) {
        if (ngx_array_init(&v->u.obj, pool, 4,
                           sizeof(ngx_http_hangar_pair_t))
            != NGX_OK)
        {
            return NULL;
        }
    }

    return v;
}


ngx_http_hangar_value_t *
ngx_http_hangar_value_str(ngx_pool_t *pool, u_char *data, size_t len)
{
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_STR);
    if (v == NULL) {
        return NULL;
    }

    v->u.s.data = ngx_pnalloc(pool, len + 1);
    if (v->u.s.data == NULL) {
        return NULL;
    }

    ngx_memcpy(v->u.s.data, data, len);
    v->u.s.data[len] = '\0';
    v->u.s.len = len;

    return v;
}


ngx_http_hangar_value_t *
ngx_http_hangar_value_int(ngx_pool_t *pool, int64_t i)
{
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_INT);
    if (v != NULL) {
        v->u.i = i;
    }

    return v;
}


/* the last of duplicate keys wins, as with most JSON parsers */

ngx_http_hangar_value_t *
ngx_http_hangar_get_n(ngx_http_hangar_value_t *obj, u_char *key, size_t len)
{
    ngx_uint_t               i;
    ngx_http_hangar_pair_t  *pair;

    if (!ngx_http_hangar_is(obj, NGX_HTTP_HANGAR_OBJ)) {
        return NULL;
    }

    pair = obj->u.obj.elts;

    for (i = obj->u.obj.nelts; i > 0; i--) {
        if (pair[i - 1].key.len == len
            && ngx_memcmp(pair[i - 1].key.data, key, len) == 0)
        {
            return pair[i - 1].value;
        }
    }

    return NULL;
}


ngx_http_hangar_value_t *
ngx_http_hangar_get(ngx_http_hangar_value_t *obj, const char *key)
{
    return ngx_http_hangar_get_n(obj, (u_char *) key, ngx_strlen(key));
}


ngx_int_t
ngx_http_hangar_set(ngx_pool_t *pool, ngx_http_hangar_value_t *obj,
    u_char *key, size_t len, ngx_http_hangar_value_t *value)
{
    ngx_uint_t               i;
    ngx_http_hangar_pair_t  *pair;

    pair = obj->u.obj.elts;

    for (i = 0; i < obj->u.obj.nelts; i++) {
        if (pair[i].key.len == len
            && ngx_memcmp(pair[i].key.data, key, len) == 0)
        {
            pair[i].value = value;
            return NGX_OK;
        }
    }

    pair = ngx_array_push(&obj->u.obj);
    if (pair == NULL) {
        return NGX_ERROR;
    }

    pair->key.data = key;
    pair->key.len = len;
    pair->value = value;

    return NGX_OK;
}


void
ngx_http_hangar_del(ngx_http_hangar_value_t *obj, const char *key)
{
    size_t                   len;
    ngx_uint_t               i;
    ngx_http_hangar_pair_t  *pair;

    if (!ngx_http_hangar_is(obj, NGX_HTTP_HANGAR_OBJ)) {
        return;
    }

    len = ngx_strlen(key);
    pair = obj->u.obj.elts;

    for (i = 0; i < obj->u.obj.nelts; /* void */) {
        if (pair[i].key.len == len
            && ngx_memcmp(pair[i].key.data, key, len) == 0)
        {
            ngx_memmove(&pair[i], &pair[i + 1],
                        (obj->u.obj.nelts - i - 1) * sizeof(*pair));
            obj->u.obj.nelts--;
            continue;
        }

        i++;
    }
}


ngx_int_t
ngx_http_hangar_push(ngx_http_hangar_value_t *arr,
    ngx_http_hangar_value_t *item)
{
    ngx_http_hangar_value_t  **slot;

    slot = ngx_array_push(&arr->u.arr);
    if (slot == NULL) {
        return NGX_ERROR;
    }

    *slot = item;

    return NGX_OK;
}


ngx_uint_t
ngx_http_hangar_value_equal(ngx_http_hangar_value_t *a,
    ngx_http_hangar_value_t *b)
{
    ngx_uint_t                 i;
    ngx_http_hangar_pair_t    *pa;
    ngx_http_hangar_value_t  **ia, **ib;

    if (a == NULL || b == NULL) {
        return a == b;
    }

    if (a->type != b->type) {
        return 0;
    }

    switch (a->type) {

    case NGX_HTTP_HANGAR_NULL:
        return 1;

    case NGX_HTTP_HANGAR_BOOL:
        return a->u.b == b->u.b;

    case NGX_HTTP_HANGAR_INT:
        return a->u.i == b->u.i;

    case NGX_HTTP_HANGAR_NUM:
        return a->u.n == b->u.n;

    case NGX_HTTP_HANGAR_STR:
        return a->u.s.len == b->u.s.len
               && ngx_memcmp(a->u.s.data, b->u.s.data, a->u.s.len) == 0;

    case NGX_HTTP_HANGAR_ARR:
        if (a->u.arr.nelts != b->u.arr.nelts) {
            return 0;
        }

        ia = a->u.arr.elts;
        ib = b->u.arr.elts;

        for (i = 0; i < a->u.arr.nelts; i++) {
            if (!ngx_http_hangar_value_equal(ia[i], ib[i])) {
                return 0;
            }
        }

        return 1;

    case NGX_HTTP_HANGAR_OBJ:

        /*
         * A duplicate key counts by its last value, as lookups do: the
         * same keys on both sides, each with an equal last value.
         */
        pa = a->u.obj.elts;

        for (i = 0; i < a->u.obj.nelts; i++) {
            if (!ngx_http_hangar_value_equal(
                    ngx_http_hangar_get_n(a, pa[i].key.data, pa[i].key.len),
                    ngx_http_hangar_get_n(b, pa[i].key.data, pa[i].key.len)))
            {
                return 0;
            }
        }

        pa = b->u.obj.elts;

        for (i = 0; i < b->u.obj.nelts; i++) {
            if (ngx_http_hangar_get_n(a, pa[i].key.data, pa[i].key.len)
                == NULL)
            {
                return 0;
            }
        }

        return 1;
    }

    return 0;
}


ngx_http_hangar_value_t *
ngx_http_hangar_value_copy(ngx_pool_t *pool, ngx_http_hangar_value_t *v)
{
    u_char                    *key;
    ngx_uint_t                 i;
    ngx_http_hangar_pair_t    *pair;
    ngx_http_hangar_value_t   *c, *item, **items;

    if (v->type == NGX_HTTP_HANGAR_STR) {
        c = ngx_http_hangar_value_str(pool, v->u.s.data, v->u.s.len);

    } else {
        c = ngx_http_hangar_value_new(pool, v->type);
    }

    if (c == NULL) {
        return NULL;
    }

    c->line = v->line;
    c->col = v->col;
    c->quoted = v->quoted;

    switch (v->type) {

    case NGX_HTTP_HANGAR_ARR:
        items = v->u.arr.elts;

        for (i = 0; i < v->u.arr.nelts; i++) {
            item = ngx_http_hangar_value_copy(pool, items[i]);
            if (item == NULL || ngx_http_hangar_push(c, item) != NGX_OK) {
                return NULL;
            }
        }

        break;

    case NGX_HTTP_HANGAR_OBJ:
        pair = v->u.obj.elts;

        for (i = 0; i < v->u.obj.nelts; i++) {
            item = ngx_http_hangar_value_copy(pool, pair[i].value);
            key = ngx_pnalloc(pool, pair[i].key.len + 1);

            if (item == NULL || key == NULL) {
                return NULL;
            }

            *ngx_cpymem(key, pair[i].key.data, pair[i].key.len) = '\0';

            if (ngx_http_hangar_set(pool, c, key, pair[i].key.len, item)
                != NGX_OK)
            {
                return NULL;
            }
        }

        break;

    case NGX_HTTP_HANGAR_STR:
        break;

    default:
        c->u = v->u;
    }

    return c;
}


const char *
ngx_http_hangar_type_name(ngx_http_hangar_type_e type)
{
    return ngx_http_hangar_type_names[type];
}


/* JSON parsing: yajl events build the tree on an explicit stack */

static int
ngx_http_hangar_json_add(ngx_http_hangar_json_ctx_t *ctx,
    ngx_http_hangar_value_t *v)
{
    ngx_http_hangar_value_t  *top;
    ngx_http_hangar_pair_t   *pair;

    if (v == NULL) {
        ctx->error = "out of memory";
        return 0;
    }

    if (ctx->depth == 0) {
        ctx->root = v;
        return 1;
    }

    top = ctx->stack[ctx->depth - 1];

    if (top->type == NGX_HTTP_HANGAR_ARR) {
        if (ngx_http_hangar_push(top, v) != NGX_OK) {
            ctx->error = "out of memory";
            return 0;
        }

        return 1;
    }

    /* objects keep every pair; lookups take the last duplicate */
    pair = ngx_array_push(&top->u.obj);
    if (pair == NULL) {
        ctx->error = "out of memory";
        return 0;
    }

    pair->key = ctx->key;
    pair->value = v;

    return 1;
}


static int
ngx_http_hangar_json_null(void *data)
{
    ngx_http_hangar_json_ctx_t  *ctx = data;

    return ngx_http_hangar_json_add(ctx,
               ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_NULL));
}


static int
ngx_http_hangar_json_boolean(void *data, int b)
{
    ngx_http_hangar_json_ctx_t  *ctx = data;
    ngx_http_hangar_value_t     *v;

    v = ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_BOOL);
    if (v != NULL) {
        v->u.b = b ? 1 : 0;
    }

    return ngx_http_hangar_json_add(ctx, v);
}


static int
ngx_http_hangar_json_number(void *data, const char *s, size_t len)
{
    ngx_http_hangar_json_ctx_t  *ctx = data;

    char                     buf[64];
    size_t                   i;
    int64_t                  n, d;
    ngx_uint_t               neg, integral;
    ngx_http_hangar_value_t *v;

    integral = 1;
    for (i = 0; i < len; i++) {
        if (s[i] == '.' || s[i] == 'e' || s[i] == 'E') {
            integral = 0;
            break;
        }
    }

    if (integral) {
        neg = (s[0] == '-');
        n = 0;

        for (i = neg; i < len; i++) {
            d = s[i] - '0';
            if (n > (INT64_MAX - d) / 10) {
                integral = 0;
                break;
            }
            n = n * 10 + d;
        }

        if (integral) {
            v = ngx_http_hangar_value_int(ctx->pool, neg ? -n : n);
            return ngx_http_hangar_json_add(ctx, v);
        }
    }

    if (len >= sizeof(buf)) {
        ctx->error = "number too long";
        return 0;
    }

    ngx_memcpy(buf, s, len);
    buf[len] = '\0';

    v = ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_NUM);
    if (v != NULL) {
        v->u.n = strtod(buf, NULL);
    }

    return ngx_http_hangar_json_add(ctx, v);
}


static int
ngx_http_hangar_json_string(void *data, const unsigned char *s, size_t len)
{
    ngx_http_hangar_json_ctx_t  *ctx = data;

    return ngx_http_hangar_json_add(ctx,
               ngx_http_hangar_value_str(ctx->pool, (u_char *) s, len));
}


static int
ngx_http_hangar_json_open(ngx_http_hangar_json_ctx_t *ctx,
    ngx_http_hangar_type_e type)
{
    ngx_http_hangar_value_t  *v;

    if (ctx->depth == NGX_HTTP_HANGAR_JSON_DEPTH) {
        ctx->error = "nesting too deep";
        return 0;
    }

    v = ngx_http_hangar_value_new(ctx->pool, type);

    if (!ngx_http_hangar_json_add(ctx, v)) {
        return 0;
    }

    ctx->stack[ctx->depth++] = v;

    return 1;
}


static int
ngx_http_hangar_json_start_map(void *data)
{
    return ngx_http_hangar_json_open(data, NGX_HTTP_HANGAR_OBJ);
}


static int
ngx_http_hangar_json_start_array(void *data)
{
    return ngx_http_hangar_json_open(data, NGX_HTTP_HANGAR_ARR);
}


static int
ngx_http_hangar_json_map_key(void *data, const unsigned char *s, size_t len)
{
    ngx_http_hangar_json_ctx_t  *ctx = data;

    ctx->key.data = ngx_pnalloc(ctx->pool, len + 1);
    if (ctx->key.data == NULL) {
        ctx->error = "out of memory";
        return 0;
    }

    ngx_memcpy(ctx->key.data, s, len);
    ctx->key.data[len] = '\0';
    ctx->key.len = len;

    return 1;
}


static int
ngx_http_hangar_json_end(void *data)
{
    ngx_http_hangar_json_ctx_t  *ctx = data;

    ctx->depth--;

    return 1;
}


/*
 * A \uD800-\uDFFF escape that is not half of a pair: yajl would turn it
 * into "?" or into bytes that are not UTF-8, and hangar writes back what
 * it keeps, so such input is refused.
 */

static ngx_uint_t
ngx_http_hangar_json_lone_surrogate(u_char *p, size_t len)
{
    u_char      *last;
    ngx_int_t    u, lo;

    last = p + len;

    for ( /* void */ ; p < last; p++) {

        if (*p != '\\' || p + 1 == last) {
            continue;
        }

        p++;

        if (*p != 'u' || last - p < 5) {
            continue;
        }

        u = ngx_hextoi(p + 1, 4);
        p += 4;

        if (u < 0xd800 || u > 0xdfff) {
            continue;
        }

        if (u >= 0xdc00 || last - p < 7 || p[1] != '\\' || p[2] != 'u') {
            return 1;
        }

        lo = ngx_hextoi(p + 3, 4);

        if (lo < 0xdc00 || lo > 0xdfff) {
            return 1;
        }

        p += 6;
    }

    return 0;
}


ngx_http_hangar_value_t *
ngx_http_hangar_json_parse(ngx_pool_t *pool, u_char *data, size_t len,
    ngx_str_t *err)
{
    u_char                      *msg;
    size_t                       off;
    yajl_handle                  h;
    yajl_status                  st;
    ngx_http_hangar_json_ctx_t  *ctx;

    ctx = ngx_pcalloc(pool, sizeof(ngx_http_hangar_json_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ctx->pool = pool;

    if (ngx_http_hangar_json_lone_surrogate(data, len)) {
        ngx_str_set(err, "invalid JSON: a \\u escape of half a surrogate "
                         "pair");
        return NULL;
    }

    h = yajl_alloc(&ngx_http_hangar_json_callbacks, NULL, ctx);
    if (h == NULL) {
        ngx_str_set(err, "out of memory");
        return NULL;
    }

    st = yajl_parse(h, data, len);
    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    if (st == yajl_status_ok && ctx->root != NULL) {
        yajl_free(h);
        return ctx->root;
    }

    off = yajl_get_bytes_consumed(h);

    err->data = ngx_pnalloc(pool, 256);
    if (err->data != NULL) {

        if (ctx->error) {
            err->len = ngx_snprintf(err->data, 256, "invalid JSON: %s",
                                    ctx->error)
                       - err->data;

        } else if (st == yajl_status_ok) {
            err->len = ngx_snprintf(err->data, 256, "empty body") - err->data;

        } else {
            msg = yajl_get_error(h, 0, data, len);
            err->len = ngx_snprintf(err->data, 256,
                                    "invalid JSON at byte %uz: %s",
                                    off, msg)
                       - err->data;
            yajl_free_error(h, msg);
        }
    }

    yajl_free(h);

    return NULL;
}


static void
ngx_http_hangar_json_write(ngx_http_hangar_out_t *out,
    ngx_http_hangar_value_t *v)
{
    ngx_uint_t                 i;
    ngx_http_hangar_pair_t    *pair;
    ngx_http_hangar_value_t  **items;

    switch (v->type) {

    case NGX_HTTP_HANGAR_NULL:
        ngx_http_hangar_out_lit(out, "null");
        break;

    case NGX_HTTP_HANGAR_BOOL:
        ngx_http_hangar_out_bool(out, v->u.b);
        break;

    case NGX_HTTP_HANGAR_INT:
        ngx_http_hangar_out_int(out, v->u.i);
        break;

    case NGX_HTTP_HANGAR_NUM:
        ngx_http_hangar_out_num(out, v->u.n);
        break;

    case NGX_HTTP_HANGAR_STR:
        ngx_http_hangar_out_str(out, v->u.s.data, v->u.s.len);
        break;

    case NGX_HTTP_HANGAR_ARR:
        ngx_http_hangar_out_lit(out, "[");
        items = v->u.arr.elts;

        for (i = 0; i < v->u.arr.nelts; i++) {
            if (i) {
                ngx_http_hangar_out_lit(out, ",");
            }
            ngx_http_hangar_json_write(out, items[i]);
        }

        ngx_http_hangar_out_lit(out, "]");
        break;

    case NGX_HTTP_HANGAR_OBJ:
        ngx_http_hangar_out_lit(out, "{");
        pair = v->u.obj.elts;

        for (i = 0; i < v->u.obj.nelts; i++) {
            if (i) {
                ngx_http_hangar_out_lit(out, ",");
            }
            ngx_http_hangar_out_str(out, pair[i].key.data, pair[i].key.len);
            ngx_http_hangar_out_lit(out, ":");
            ngx_http_hangar_json_write(out, pair[i].value);
        }

        ngx_http_hangar_out_lit(out, "}");
        break;
    }
}


void
ngx_http_hangar_json_out(ngx_http_hangar_out_t *out,
    ngx_http_hangar_value_t *v)
{
    ngx_http_hangar_json_write(out, v);
}


ngx_int_t
ngx_http_hangar_json_text(ngx_pool_t *pool, ngx_http_hangar_value_t *v,
    ngx_str_t *text)
{
    ngx_http_hangar_out_t  out;

    ngx_http_hangar_out_init(&out, pool, 1024);
    ngx_http_hangar_json_write(&out, v);

    return ngx_http_hangar_out_flatten(&out, text);
}
