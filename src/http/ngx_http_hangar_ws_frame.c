
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hangar_ws_frame.h"


ngx_int_t
ngx_http_hangar_ws_parse(u_char *p, size_t n, size_t max,
    ngx_http_hangar_ws_frame_t *f, ngx_uint_t *code)
{
    size_t      need, i;
    uint64_t    len;
    ngx_uint_t  opcode;

    *code = NGX_HTTP_HANGAR_WS_PROTOCOL;

    if (n < 2) {
        return NGX_AGAIN;
    }

    f->fin = (p[0] & 0x80) ? 1 : 0;
    opcode = p[0] & 0x0f;
    f->opcode = opcode;

    /* no extension was negotiated: the RSV bits must be clear */
    if (p[0] & 0x70) {
        return NGX_ERROR;
    }

    switch (opcode) {

    case NGX_HTTP_HANGAR_WS_CONT:
    case NGX_HTTP_HANGAR_WS_TEXT:
    case NGX_HTTP_HANGAR_WS_BINARY:
        break;

    case NGX_HTTP_HANGAR_WS_CLOSE:
    case NGX_HTTP_HANGAR_WS_PING:
    case NGX_HTTP_HANGAR_WS_PONG:
        /* control frames: never fragmented, at most 125 bytes */
        if (!f->fin || (p[1] & 0x7f) > 125) {
            return NGX_ERROR;
        }

        break;

    default:
        return NGX_ERROR;
    }

    /* a client masks every frame (RFC 6455 §5.1) */
    if (!(p[1] & 0x80)) {
        return NGX_ERROR;
    }

    len = p[1] & 0x7f;
    need = 2;

    if (len == 126) {
        need = 4;

    } else if (len == 127) {
        need = 10;
    }

    if (n < need + 4) {
        return NGX_AGAIN;
    }

    if (len == 126) {
        len = ((uint64_t) p[2] << 8) | p[3];

    } else if (len == 127) {
        /* the most significant bit must be 0 */
        if (p[2] & 0x80) {
            return NGX_ERROR;
        }

        len = 0;

        for (i = 2; i < 10; i++) {
            len = (len << 8) | p[i];
        }
    }

    if (len > max) {
        *code = NGX_HTTP_HANGAR_WS_TOO_BIG;
        return NGX_ERROR;
    }

    ngx_memcpy(f->mask, p + need, 4);

    f->len = len;
    f->header = need + 4;

    return NGX_OK;
}


/* offset: where p is in the payload, so a payload can come in pieces */

void
ngx_http_hangar_ws_unmask(u_char *p, size_t n, u_char *mask, uint64_t offset)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        p[i] ^= mask[(offset + i) & 3];
    }
}


/* 1: valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF) */

ngx_uint_t
ngx_http_hangar_ws_utf8(u_char *p, size_t n)
{
    size_t    i, k, more;
    uint32_t  cp, min;

    for (i = 0; i < n; /* void */) {

        if (p[i] < 0x80) {
            i++;
            continue;
        }

        if ((p[i] & 0xe0) == 0xc0) {
            more = 1;
            cp = p[i] & 0x1f;
            min = 0x80;

        } else if ((p[i] & 0xf0) == 0xe0) {
            more = 2;
            cp = p[i] & 0x0f;
            min = 0x800;

        } else if ((p[i] & 0xf8) == 0xf0) {
            more = 3;
            cp = p[i] & 0x07;
            min = 0x10000;

        } else {
            return 0;
        }

        if (n - i <= more) {
            return 0;
        }

        for (k = 1; k <= more; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return 0;
            }

            cp = (cp << 6) | (p[i + k] & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }

        i += more + 1;
    }

    return 1;
}


ngx_uint_t
ngx_http_hangar_ws_close_check(u_char *p, size_t n)
{
    ngx_uint_t  code;

    if (n == 0) {
        return 0;
    }

    if (n == 1) {
        return NGX_HTTP_HANGAR_WS_PROTOCOL;
    }

    code = (p[0] << 8) | p[1];

    /* RFC 6455 §7.4: the codes a peer may send */
    if (code < 1000 || (code >= 1004 && code <= 1006)
        || (code >= 1015 && code < 3000) || code >= 5000)
    {
        return NGX_HTTP_HANGAR_WS_PROTOCOL;
    }

    if (!ngx_http_hangar_ws_utf8(p + 2, n - 2)) {
        return NGX_HTTP_HANGAR_WS_BAD_DATA;
    }

    return 0;
}


u_char *
ngx_http_hangar_ws_header(u_char *p, ngx_uint_t opcode, size_t len)
{
    *p++ = (u_char) (0x80 | opcode);

    if (len < 126) {
        *p++ = (u_char) len;

    } else if (len < 65536) {
        *p++ = 126;
        *p++ = (u_char) (len >> 8);
        *p++ = (u_char) len;

    } else {
        *p++ = 127;
        *p++ = 0;
        *p++ = 0;
        *p++ = 0;
        *p++ = 0;
        *p++ = (u_char) (len >> 24);
        *p++ = (u_char) (len >> 16);
        *p++ = (u_char) (len >> 8);
        *p++ = (u_char) len;
    }

    return p;
}
