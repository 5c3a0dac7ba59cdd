
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The front door's wire formats, apart from requests and the zone so that
 * a fuzzer can drive them (t/fuzz/fuzz_mcp.c): the classification of a
 * POSTed message, the JSON-RPC envelope around a client's id, session ids
 * and the ids of server requests relayed to a client.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "ngx_http_hangar_mcp_wire.h"


#define NGX_HTTP_HANGAR_SREQ_PREFIX  "hangar1."


static ngx_int_t ngx_http_hangar_wire_mac(u_char *key, u_char *body,
    u_char *mac);
static size_t ngx_http_hangar_utf8_len(u_char *p, u_char *last);


/*
 * One JSON-RPC message per POST.  A request has a method and an id that
 * is an integer or a string; "initialize" must be one; anything else
 * with no method or no id is a notification or a response.
 */

ngx_uint_t
ngx_http_hangar_wire_classify(ngx_http_hangar_value_t *body,
    ngx_http_hangar_mcp_msg_t *m)
{
    ngx_http_hangar_value_t  *method;

    ngx_memzero(m, sizeof(ngx_http_hangar_mcp_msg_t));

    if (!ngx_http_hangar_is(body, NGX_HTTP_HANGAR_OBJ)) {
        return NGX_HTTP_HANGAR_MSG_NOT_ONE;
    }

    m->id = ngx_http_hangar_get(body, "id");
    m->method = ngx_http_hangar_get(body, "method");
    m->params = ngx_http_hangar_get(body, "params");

    method = m->method;

    if (!ngx_http_hangar_is(method, NGX_HTTP_HANGAR_STR) || m->id == NULL) {
        if (ngx_http_hangar_is(method, NGX_HTTP_HANGAR_STR)
            && ngx_http_hangar_str_is(&method->u.s, "initialize"))
        {
            return NGX_HTTP_HANGAR_MSG_INVALID;
        }

        return NGX_HTTP_HANGAR_MSG_OTHER;
    }

    if (m->id->type != NGX_HTTP_HANGAR_INT
        && m->id->type != NGX_HTTP_HANGAR_STR)
    {
        return NGX_HTTP_HANGAR_MSG_INVALID;
    }

    return NGX_HTTP_HANGAR_MSG_REQUEST;
}


/* {"jsonrpc":"2.0","id":<id>, */

void
ngx_http_hangar_mcp_open(ngx_http_hangar_out_t *out,
    ngx_http_hangar_value_t *id)
{
    ngx_http_hangar_out_lit(out, "{\"jsonrpc\":\"2.0\",\"id\":");

    if (id) {
        ngx_http_hangar_json_out(out, id);

    } else {
        ngx_http_hangar_out_lit(out, "null");
    }

    ngx_http_hangar_out_lit(out, ",");
}


ngx_int_t
ngx_http_hangar_wire_error(ngx_http_hangar_out_t *out, ngx_pool_t *pool,
    ngx_http_hangar_value_t *id, ngx_int_t code, ngx_str_t *message)
{
    ngx_str_t  m;

    m = *message;

    if (ngx_http_hangar_utf8_clean(pool, &m) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_hangar_out_init(out, pool, 512);
    ngx_http_hangar_mcp_open(out, id);
    ngx_http_hangar_out_printf(out, "\"error\":{\"code\":%i,\"message\":",
                               code);
    ngx_http_hangar_out_str(out, m.data, m.len);
    ngx_http_hangar_out_lit(out, "}}");

    return NGX_OK;
}


/*
 * Makes s valid UTF-8: every byte that does not start a well-formed
 * sequence (overlong forms, surrogates and values above U+10FFFF are not)
 * becomes U+FFFD.  s is left alone, without a copy, when it is valid.
 */

ngx_int_t
ngx_http_hangar_utf8_clean(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char  *p, *last, *d, *copy;
    size_t   n;

    p = s->data;
    last = p + s->len;

    while (p < last) {
        n = ngx_http_hangar_utf8_len(p, last);
        if (n == 0) {
            break;
        }

        p += n;
    }

    if (p == last) {
        return NGX_OK;
    }

    copy = ngx_pnalloc(pool, 3 * s->len);
    if (copy == NULL) {
        return NGX_ERROR;
    }

    d = ngx_cpymem(copy, s->data, p - s->data);

    while (p < last) {
        n = ngx_http_hangar_utf8_len(p, last);

        if (n == 0) {
            *d++ = 0xef; *d++ = 0xbf; *d++ = 0xbd;
            p++;
            continue;
        }

        d = ngx_cpymem(d, p, n);
        p += n;
    }

    s->data = copy;
    s->len = d - copy;

    return NGX_OK;
}


/* the length of the well-formed UTF-8 sequence at p, 0 for none */

static size_t
ngx_http_hangar_utf8_len(u_char *p, u_char *last)
{
    u_char  c;
    size_t  n, i;

    c = *p;

    if (c < 0x80) {
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;

    } else {
        return 0;
    }

    if ((size_t) (last - p) < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
    }

    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f)
        || (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
    {
        return 0;
    }

    return n;
}


/* ---- session ids ------------------------------------------------------- */

/* the HMAC of the canonical body "hs3-<key><caps>", its first SID_MAC bytes */

static ngx_int_t
ngx_http_hangar_wire_mac(u_char *key, u_char *body, u_char *mac)
{
    u_char        md[EVP_MAX_MD_SIZE];
    unsigned int  mdlen;

    if (HMAC(EVP_sha256(), key, NGX_HTTP_HANGAR_SID_SECRET, body,
             NGX_HTTP_HANGAR_SID_BODY, md, &mdlen)
        == NULL)
    {
        return NGX_ERROR;
    }

    ngx_memcpy(mac, md, NGX_HTTP_HANGAR_SID_MAC);

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_wire_hex(u_char *dst, u_char *src, size_t len)
{
    u_char      c, v;
    ngx_uint_t  i;

    for (i = 0; i < len; i++) {
        c = src[i];

        if (c >= '0' && c <= '9') {
            v = c - '0';

        } else {
            c |= 0x20;

            if (c < 'a' || c > 'f') {
                return NGX_ERROR;
            }

            v = c - 'a' + 10;
        }

        if (i % 2 == 0) {
            dst[i / 2] = (u_char) (v << 4);

        } else {
            dst[i / 2] |= v;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_wire_sid_encode(u_char *key, u_char *raw, u_char *text)
{
    u_char  *p, mac[NGX_HTTP_HANGAR_SID_MAC];

    p = ngx_cpymem(text, "hs3-", 4);
    p = ngx_hex_dump(p, raw, NGX_HTTP_HANGAR_SID_RAW);

    if (ngx_http_hangar_wire_mac(key, text, mac) != NGX_OK) {
        return NGX_ERROR;
    }

    *p++ = '-';
    (void) ngx_hex_dump(p, mac, sizeof(mac));

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_wire_sid_decode(ngx_str_t *text, u_char *raw, u_char *mac)
{
    if (text->len != NGX_HTTP_HANGAR_SID_LEN
        || ngx_strncasecmp(text->data, (u_char *) "hs3-", 4) != 0
        || text->data[NGX_HTTP_HANGAR_SID_BODY] != '-'
        || ngx_http_hangar_wire_hex(raw, text->data + 4,
                                    NGX_HTTP_HANGAR_SID_KEY
                                    + NGX_HTTP_HANGAR_SID_CAPS)
           != NGX_OK
        || ngx_http_hangar_wire_hex(mac,
                                    text->data + NGX_HTTP_HANGAR_SID_BODY + 1,
                                    2 * NGX_HTTP_HANGAR_SID_MAC)
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_wire_sid_verify(u_char *key, u_char *raw, u_char *mac,
    u_char *text)
{
    u_char  *p, want[NGX_HTTP_HANGAR_SID_MAC];

    /* the canonical form: what initialize sent */
    p = ngx_cpymem(text, "hs3-", 4);
    p = ngx_hex_dump(p, raw, NGX_HTTP_HANGAR_SID_RAW);

    if (ngx_http_hangar_wire_mac(key, text, want) != NGX_OK) {
        return NGX_ERROR;
    }

    if (CRYPTO_memcmp(mac, want, sizeof(want)) != 0) {
        return NGX_DECLINED;
    }

    *p++ = '-';
    (void) ngx_hex_dump(p, mac, NGX_HTTP_HANGAR_SID_MAC);

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_wire_sign(ngx_pool_t *pool, u_char *key, ngx_str_t *sid,
    ngx_str_t *data, u_char *mac)
{
    u_char        md[EVP_MAX_MD_SIZE], *msg, *p;
    unsigned int  mdlen;

    msg = ngx_pnalloc(pool, sid->len + 1 + data->len);
    if (msg == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(msg, sid->data, sid->len);
    *p++ = '.';
    p = ngx_cpymem(p, data->data, data->len);

    if (HMAC(EVP_sha256(), key, NGX_HTTP_HANGAR_SID_SECRET, msg, p - msg,
             md, &mdlen)
        == NULL)
    {
        return NGX_ERROR;
    }

    ngx_memcpy(mac, md, NGX_HTTP_HANGAR_SID_MAC);

    return NGX_OK;
}


/* ---- server requests' ids ---------------------------------------------- */

ngx_int_t
ngx_http_hangar_wire_sreq_encode(ngx_pool_t *pool, u_char *key,
    ngx_str_t *sid, ngx_str_t *server, ngx_str_t *id, ngx_str_t *out)
{
    u_char     *p, mac[NGX_HTTP_HANGAR_SID_MAC];
    ngx_str_t   data, b64;

    out->data = ngx_pnalloc(pool, sizeof(NGX_HTTP_HANGAR_SREQ_PREFIX)
                                  + ngx_base64_encoded_length(server->len)
                                  + ngx_base64_encoded_length(id->len) + 2
                                  + 2 * NGX_HTTP_HANGAR_SID_MAC);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(out->data, NGX_HTTP_HANGAR_SREQ_PREFIX,
                   sizeof(NGX_HTTP_HANGAR_SREQ_PREFIX) - 1);
    data.data = p;

    b64.data = p;
    ngx_encode_base64url(&b64, server);
    p += b64.len;
    *p++ = '.';

    b64.data = p;
    ngx_encode_base64url(&b64, id);
    p += b64.len;

    data.len = p - data.data;

    if (ngx_http_hangar_wire_sign(pool, key, sid, &data, mac) != NGX_OK) {
        return NGX_ERROR;
    }

    *p++ = '.';
    p = ngx_hex_dump(p, mac, sizeof(mac));

    out->len = p - out->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_wire_sreq_decode(ngx_pool_t *pool, u_char *key,
    ngx_str_t *sid, ngx_str_t *text, ngx_str_t *server, ngx_str_t *id)
{
    u_char     *dot, *last, mac[NGX_HTTP_HANGAR_SID_MAC];
    u_char      hex[2 * NGX_HTTP_HANGAR_SID_MAC];
    size_t      n;
    ngx_str_t   data, part;

    n = sizeof(NGX_HTTP_HANGAR_SREQ_PREFIX) - 1;
    last = text->data + text->len;

    if (text->len < n + 2 * NGX_HTTP_HANGAR_SID_MAC + 3
        || text->len > NGX_HTTP_HANGAR_SREQ_ID_MAX
        || ngx_strncmp(text->data, NGX_HTTP_HANGAR_SREQ_PREFIX, n) != 0
        || last[-2 * NGX_HTTP_HANGAR_SID_MAC - 1] != '.')
    {
        return NGX_DECLINED;
    }

    data.data = text->data + n;
    data.len = last - 2 * NGX_HTTP_HANGAR_SID_MAC - 1 - data.data;

    if (ngx_http_hangar_wire_sign(pool, key, sid, &data, mac) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_hex_dump(hex, mac, sizeof(mac));

    if (CRYPTO_memcmp(hex, last - sizeof(hex), sizeof(hex)) != 0) {
        return NGX_DECLINED;
    }

    dot = ngx_strlchr(data.data, data.data + data.len, '.');
    if (dot == NULL) {
        return NGX_DECLINED;
    }

    part.data = data.data;
    part.len = dot - data.data;

    server->data = ngx_pnalloc(pool, part.len);
    if (server->data == NULL) {
        return NGX_ERROR;
    }

    if (ngx_decode_base64url(server, &part) != NGX_OK) {
        return NGX_DECLINED;
    }

    part.data = dot + 1;
    part.len = data.data + data.len - part.data;

    id->data = ngx_pnalloc(pool, part.len);
    if (id->data == NULL) {
        return NGX_ERROR;
    }

    if (ngx_decode_base64url(id, &part) != NGX_OK) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}
