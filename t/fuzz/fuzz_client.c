
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The client's response parser (ngx_http_hangar_parse.c), as the read
 * handler drives it, with no connection: the input is what a peer sends,
 * cut into reads of varying sizes.  The first byte picks the reads' sizes
 * and whether progress events (or, on a stream, a notice) are listened
 * to; then the answer is looked
 * for (call_message) as the caller would.  The parser's own invariants
 * are checked after every step.
 */


#include "ngx_fuzz.h"
#include "ngx_http_hangar_client.h"


static ngx_uint_t  ngx_fuzz_events;


static void
ngx_fuzz_on_event(ngx_http_hangar_call_t *call, ngx_http_hangar_value_t *msg)
{
    ngx_fuzz_events++;
}


static void
ngx_fuzz_on_notice(ngx_http_hangar_call_t *call)
{
    ngx_fuzz_events++;
}


static void
ngx_fuzz_check(ngx_http_hangar_call_t *call)
{
    ngx_buf_t  *b = call->in;

    if (b->last > b->end || b->pos > b->last
        || call->decoded > call->raw
        || call->decoded > NGX_HTTP_HANGAR_CALL_MAX
        || (call->head_done
            && b->start + call->body_off + call->raw > b->last))
    {
        __builtin_trap();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                    n, step;
    uint32_t                  seed;
    ngx_int_t                 rc;
    ngx_pool_t               *pool;
    ngx_http_hangar_call_t   *call;
    ngx_http_hangar_value_t  *msg;

    if (size < 1) {
        return 0;
    }

    pool = ngx_create_pool(4096, ngx_fuzz_log_new());
    if (pool == NULL) {
        return 0;
    }

    call = ngx_pcalloc(pool, sizeof(ngx_http_hangar_call_t));
    if (call == NULL) {
        ngx_destroy_pool(pool);
        return 0;
    }

    call->pool = pool;
    call->log = pool->log;
    ngx_str_set(&call->target, "127.0.0.1:1");
    ngx_str_set(&call->name, "fuzz");

    if (data[0] & 1) {
        call->on_event = ngx_fuzz_on_event;
    }

    /* a GET stream that only looks for a notice */
    if ((data[0] & 6) == 6) {
        call->on_notice = ngx_fuzz_on_notice;
        call->notice = "notifications/tools/list_changed";
    }

    seed = data[0] | 1;
    data++;
    size--;

    if (ngx_http_hangar_call_input_init(call) != NGX_OK) {
        ngx_destroy_pool(pool);
        return 0;
    }

    rc = NGX_AGAIN;

    while (size && rc == NGX_AGAIN) {
        if (ngx_http_hangar_call_space(call) != NGX_OK) {
            rc = NGX_ERROR;
            break;
        }

        /* reads of 1 to 4096 bytes, as the peer's packets come */
        seed = seed * 1103515245 + 12345;
        step = 1 + (seed >> 16) % ((seed & 0x100) ? 4096 : 16);
        n = ngx_min(ngx_min(step, size),
                    (size_t) (call->in->end - call->in->last));

        call->in->last = ngx_cpymem(call->in->last, data, n);
        data += n;
        size -= n;

        rc = ngx_http_hangar_call_process(call);
        ngx_fuzz_check(call);
    }

    if (rc == NGX_AGAIN) {
        rc = ngx_http_hangar_call_eof(call);
        ngx_fuzz_check(call);
    }

    if (rc == NGX_OK) {
        if (call->response.data + call->response.len > call->in->last) {
            __builtin_trap();
        }

        (void) ngx_http_hangar_call_message(call, 1, &msg);

    } else if (rc == NGX_ERROR && call->error.len == 0) {
        __builtin_trap();
    }

    ngx_destroy_pool(pool);

    return 0;
}
