
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <math.h>
#include "ngx_http_hangar_out.h"


static u_char *ngx_http_hangar_out_reserve(ngx_http_hangar_out_t *out,
    size_t len);


void
ngx_http_hangar_out_init(ngx_http_hangar_out_t *out, ngx_pool_t *pool,
    size_t chunk)
{
    ngx_memzero(out, sizeof(ngx_http_hangar_out_t));
    out->pool = pool;
    out->chunk = chunk ? chunk : 4096;
}


/* room for len more bytes at out->b->last, starting a new buffer if needed */

static u_char *
ngx_http_hangar_out_reserve(ngx_http_hangar_out_t *out, size_t len)
{
    size_t        size;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (out->failed) {
        return NULL;
    }

    if (out->b && (size_t) (out->b->end - out->b->last) >= len) {
        return out->b->last;
    }

    size = ngx_max(out->chunk, len);

    b = ngx_create_temp_buf(out->pool, size);
    cl = ngx_alloc_chain_link(out->pool);

    if (b == NULL || cl == NULL) {
        out->failed = 1;
        return NULL;
    }

    cl->buf = b;
    cl->next = NULL;

    if (out->last) {
        out->last->next = cl;

    } else {
        out->first = cl;
    }

    out->last = cl;
    out->b = b;

    /* later buffers grow, so a big response needs few links */
    if (out->chunk < 65536) {
        out->chunk *= 2;
    }

    return b->last;
}


void
ngx_http_hangar_out_raw(ngx_http_hangar_out_t *out, const void *data,
    size_t len)
{
    u_char  *p;

    if (len == 0) {
        return;
    }

    p = ngx_http_hangar_out_reserve(out, len);
    if (p == NULL) {
        return;
    }

    out->b->last = ngx_cpymem(p, data, len);
    out->size += len;
}


void
ngx_http_hangar_out_str(ngx_http_hangar_out_t *out, const u_char *data,
    size_t len)
{
    u_char        c, *p, *start;
    size_t        i, n;
    static u_char hex[] = "0123456789abcdef";

    /* worst case every byte becomes \u00XX */
    n = 0;
    for (i = 0; i < len; i++) {
        c = data[i];
        if (c < 0x20) {
            n += 5;

        } else if (c == '"' || c == '\\') {
            n++;
        }
    }

    p = ngx_http_hangar_out_reserve(out, len + n + 2);
    if (p == NULL) {
        return;
    }

    start = p;
    *p++ = '"';

    if (n == 0) {
        p = ngx_cpymem(p, data, len);

    } else {
        for (i = 0; i < len; i++) {
            c = data[i];

            if (c == '"' || c == '\\') {
                *p++ = '\\';
                *p++ = c;
                continue;
            }

            if (c >= 0x20) {
                *p++ = c;
                continue;
            }

            *p++ = '\\';

            switch (c) {
            case '\n': *p++ = 'n'; break;
            case '\r': *p++ = 'r'; break;
            case '\t': *p++ = 't'; break;
            case '\b': *p++ = 'b'; break;
            case '\f': *p++ = 'f'; break;
            default:
                *p++ = 'u'; *p++ = '0'; *p++ = '0';
                *p++ = hex[c >> 4];
                *p++ = hex[c & 0xf];
            }
        }
    }

    *p++ = '"';

    out->size += p - start;
    out->b->last = p;
}


void
ngx_http_hangar_out_int(ngx_http_hangar_out_t *out, int64_t i)
{
    u_char  *p;

    p = ngx_http_hangar_out_reserve(out, NGX_INT64_LEN);
    if (p == NULL) {
        return;
    }

    out->b->last = ngx_sprintf(p, "%L", i);
    out->size += out->b->last - p;
}


/*
 * Floats the way Python's json prints them: integral values keep ".0",
 * others use the shortest of %.15g / %.17g that reads back exactly.
 */

void
ngx_http_hangar_out_num(ngx_http_hangar_out_t *out, double n)
{
    int    len;
    char   buf[32];

    if (isnan(n) || isinf(n)) {
        ngx_http_hangar_out_lit(out, "null");
        return;
    }

    if (n == floor(n) && fabs(n) < 1e15) {
        len = snprintf(buf, sizeof(buf), "%.1f", n);

    } else {
        len = snprintf(buf, sizeof(buf), "%.15g", n);

        if (strtod(buf, NULL) != n) {
            len = snprintf(buf, sizeof(buf), "%.17g", n);
        }
    }

    ngx_http_hangar_out_raw(out, buf, len);
}


void
ngx_http_hangar_out_bool(ngx_http_hangar_out_t *out, ngx_uint_t b)
{
    if (b) {
        ngx_http_hangar_out_lit(out, "true");

    } else {
        ngx_http_hangar_out_lit(out, "false");
    }
}


void
ngx_http_hangar_out_printf(ngx_http_hangar_out_t *out, const char *fmt, ...)
{
    u_char   *p, buf[1024];
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    ngx_http_hangar_out_raw(out, buf, p - buf);
}


ngx_int_t
ngx_http_hangar_out_flatten(ngx_http_hangar_out_t *out, ngx_str_t *s)
{
    u_char       *p;
    ngx_chain_t  *cl;

    if (out->failed) {
        return NGX_ERROR;
    }

    if (out->first && out->first->next == NULL) {
        s->data = out->first->buf->pos;
        s->len = out->size;
        return NGX_OK;
    }

    p = ngx_pnalloc(out->pool, out->size + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    s->data = p;
    s->len = out->size;

    for (cl = out->first; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    *p = '\0';

    return NGX_OK;
}
