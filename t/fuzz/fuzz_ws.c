
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The WebSocket frame parser of /api/ws/events
 * (src/http/ngx_http_hangar_ws_frame.c), fed a client's byte stream the
 * way the server reads it: a frame is taken only when whole, never past
 * the input or the 16 KB limit; a header the server writes (with a mask
 * added) parses back to the same frame; unmasking twice is the identity;
 * the UTF-8 and close-payload checks agree with each other.
 */


#include "ngx_fuzz.h"
#include "ngx_http_hangar_ws_frame.h"


#define NGX_FUZZ_WS_MAX  16384


static void
ngx_fuzz_ws_round_trip(ngx_uint_t opcode, size_t len)
{
    u_char                      buf[NGX_HTTP_HANGAR_WS_HEADER + 4], *p;
    ngx_uint_t                  code;
    ngx_http_hangar_ws_frame_t  f;

    p = ngx_http_hangar_ws_header(buf, opcode, len);

    if (p - buf > 10) {
        __builtin_trap();
    }

    /* as a client would send it: the mask bit and a key */
    buf[1] |= 0x80;
    ngx_memcpy(p, "abcd", 4);
    p += 4;

    if (ngx_http_hangar_ws_parse(buf, p - buf, NGX_FUZZ_WS_MAX, &f, &code)
        != NGX_OK)
    {
        if (len <= NGX_FUZZ_WS_MAX && (opcode < 8 || len <= 125)) {
            __builtin_trap();
        }

        return;
    }

    if (f.len != len || f.opcode != opcode || !f.fin
        || f.header != (size_t) (p - buf))
    {
        __builtin_trap();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                      *in, *copy;
    size_t                       n, used;
    ngx_int_t                    rc;
    ngx_uint_t                   code, close;
    ngx_http_hangar_ws_frame_t   f;

    in = malloc(size + 1);
    copy = malloc(size + 1);
    if (in == NULL || copy == NULL) {
        free(in);
        free(copy);
        return 0;
    }

    ngx_memcpy(in, data, size);
    n = size;

    while (n) {
        rc = ngx_http_hangar_ws_parse(in + size - n, n, NGX_FUZZ_WS_MAX,
                                      &f, &code);

        if (rc == NGX_AGAIN) {
            break;
        }

        if (rc == NGX_ERROR) {
            if (code != NGX_HTTP_HANGAR_WS_PROTOCOL
                && code != NGX_HTTP_HANGAR_WS_TOO_BIG)
            {
                __builtin_trap();
            }

            break;
        }

        if (f.header < 6 || f.header > NGX_HTTP_HANGAR_WS_HEADER
            || f.header > n || f.len > NGX_FUZZ_WS_MAX
            || (f.opcode >= 8 && (f.len > 125 || !f.fin)))
        {
            __builtin_trap();
        }

        used = f.header + f.len;

        if (used > n) {
            break;
        }

        /* unmasking twice gives the bytes back */
        ngx_memcpy(copy, in + size - n + f.header, f.len);
        ngx_http_hangar_ws_unmask(copy, f.len, f.mask, 0);

        if (f.len > 1) {
            ngx_http_hangar_ws_unmask(copy + 1, f.len - 1, f.mask, 1);
            ngx_http_hangar_ws_unmask(copy + 1, f.len - 1, f.mask, 1);
        }

        ngx_http_hangar_ws_unmask(copy, f.len, f.mask, 0);

        if (ngx_memcmp(copy, in + size - n + f.header, f.len) != 0) {
            __builtin_trap();
        }

        ngx_http_hangar_ws_unmask(copy, f.len, f.mask, 0);

        if (f.opcode == NGX_HTTP_HANGAR_WS_CLOSE) {
            close = ngx_http_hangar_ws_close_check(copy, f.len);

            if (close == NGX_HTTP_HANGAR_WS_BAD_DATA
                && ngx_http_hangar_ws_utf8(copy + 2, f.len - 2))
            {
                __builtin_trap();
            }

        } else {
            (void) ngx_http_hangar_ws_utf8(copy, f.len);
        }

        ngx_fuzz_ws_round_trip(f.opcode, f.len);

        n -= used;
    }

    ngx_fuzz_ws_round_trip(NGX_HTTP_HANGAR_WS_TEXT, size * 7);
    ngx_fuzz_ws_round_trip(NGX_HTTP_HANGAR_WS_PING, size);

    free(in);
    free(copy);

    return 0;
}
