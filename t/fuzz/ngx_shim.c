
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * What the fuzz targets need of nginx beyond the nginx core files
 * (build/fuzz/nginx/, from t/fuzz/nginx-src.sh: pools, strings, arrays):
 * the error log (formatted, then dropped; FUZZ_LOG=1 prints it), buffers,
 * strerror.  Debian's nginx-dev ships headers only, hence these.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_fuzz.h"


volatile ngx_cycle_t  *ngx_cycle;

static ngx_int_t  ngx_fuzz_log = -1;


void
ngx_log_error_core(ngx_uint_t level, ngx_log_t *log, ngx_err_t err,
    const char *fmt, ...)
{
    u_char   *p, buf[NGX_MAX_ERROR_STR];
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    if (err) {
        p = ngx_slprintf(p, buf + sizeof(buf), " (%d)", err);
    }

    if (ngx_fuzz_log == -1) {
        ngx_fuzz_log = (getenv("FUZZ_LOG") != NULL);
    }

    if (ngx_fuzz_log) {
        fprintf(stderr, "[%d] %.*s\n", (int) level, (int) (p - buf), buf);
    }
}


u_char *
ngx_strerror(ngx_err_t err, u_char *errstr, size_t size)
{
    return ngx_cpystrn(errstr, (u_char *) strerror(err), size);
}


ngx_buf_t *
ngx_create_temp_buf(ngx_pool_t *pool, size_t size)
{
    ngx_buf_t  *b;

    b = ngx_calloc_buf(pool);
    if (b == NULL) {
        return NULL;
    }

    b->start = ngx_palloc(pool, size);
    if (b->start == NULL) {
        return NULL;
    }

    b->pos = b->start;
    b->last = b->start;
    b->end = b->last + size;
    b->temporary = 1;

    return b;
}


ngx_chain_t *
ngx_alloc_chain_link(ngx_pool_t *pool)
{
    ngx_chain_t  *cl;

    cl = pool->chain;

    if (cl) {
        pool->chain = cl->next;
        return cl;
    }

    cl = ngx_palloc(pool, sizeof(ngx_chain_t));
    if (cl == NULL) {
        return NULL;
    }

    return cl;
}


ngx_log_t *
ngx_fuzz_log_new(void)
{
    static ngx_log_t  log;

    log.log_level = NGX_LOG_DEBUG;

    if (ngx_pagesize == 0) {
        ngx_pagesize = getpagesize();
        ngx_cacheline_size = NGX_CPU_CACHE_LINE;
    }

    return &log;
}
