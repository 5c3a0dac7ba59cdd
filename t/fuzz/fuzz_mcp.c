/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The front door's JSON-RPC handling (src/http/ngx_http_hangar_mcp_wire.c,
 * what ngx_http_hangar_mcp.c, _session.c and _mcp_sreq.c do with what a
 * client sends).  The input is
 *
 *     <Mcp-Session-Id> "\n" <server> "\n" <POSTed body>
 *
 * (missing parts are empty).  The session id is decoded and checked
 * against a fixed key: only a canonical id of that key passes, and an id
 * hangar made passes whatever the case of its hex; the body is
 * classified as the front door does, and a JSON-RPC error written around
 * its id (any value: strings with escapes, huge numbers, objects) parses
 * back with the same id and a valid UTF-8 message; tools/call params are
 * copied with the server's tool name as the front door sends them on; a
 * server request's id made for the session and server decodes back to
 * them, and no other id (the body's, or that one changed by a byte)
 * decodes.
 */


#include "ngx_fuzz.h"
#include "ngx_http_hangar_mcp_wire.h"


static u_char  ngx_fuzz_key[NGX_HTTP_HANGAR_SID_SECRET] =
    "hangar-fuzz-session-key-32-bytes";


/* a string is valid UTF-8 when cleaning leaves it alone */

static void
ngx_fuzz_mcp_utf8(ngx_pool_t *pool, ngx_str_t *s)
{
    ngx_str_t  c;

    c = *s;

    if (ngx_http_hangar_utf8_clean(pool, &c) != NGX_OK) {
        return;
    }

    if (c.data != s->data || c.len != s->len) {
        __builtin_trap();
    }
}


/* a value with no double in it comes back from JSON as it went */

static ngx_uint_t
ngx_fuzz_mcp_exact(ngx_http_hangar_value_t *v)
{
    ngx_uint_t                 i;
    ngx_http_hangar_pair_t    *pair;
    ngx_http_hangar_value_t  **item;

    if (v == NULL) {
        return 1;
    }

    switch (v->type) {

    case NGX_HTTP_HANGAR_NUM:
        return 0;

    case NGX_HTTP_HANGAR_ARR:
        item = v->u.arr.elts;

        for (i = 0; i < v->u.arr.nelts; i++) {
            if (!ngx_fuzz_mcp_exact(item[i])) {
                return 0;
            }
        }

        return 1;

    case NGX_HTTP_HANGAR_OBJ:
        pair = v->u.obj.elts;

        for (i = 0; i < v->u.obj.nelts; i++) {
            if (!ngx_fuzz_mcp_exact(pair[i].value)) {
                return 0;
            }
        }

        return 1;

    default:
        return 1;
    }
}


static void
ngx_fuzz_mcp_sid(ngx_str_t *text)
{
    u_char      raw[NGX_HTTP_HANGAR_SID_RAW], raw2[NGX_HTTP_HANGAR_SID_RAW];
    u_char      mac[NGX_HTTP_HANGAR_SID_MAC], mac2[NGX_HTTP_HANGAR_SID_MAC];
    u_char      canon[NGX_HTTP_HANGAR_SID_LEN], made[NGX_HTTP_HANGAR_SID_LEN];
    u_char      mixed[NGX_HTTP_HANGAR_SID_LEN];
    ngx_int_t   rc;
    ngx_str_t   s;
    ngx_uint_t  i;

    /* what the client sent */
    if (ngx_http_hangar_wire_sid_decode(text, raw, mac) == NGX_OK) {
        if (text->len != NGX_HTTP_HANGAR_SID_LEN) {
            __builtin_trap();
        }

        rc = ngx_http_hangar_wire_sid_verify(ngx_fuzz_key, raw, mac, canon);

        if (rc == NGX_OK) {
            /* the canonical form: the same id, lower-case */
            for (i = 0; i < NGX_HTTP_HANGAR_SID_LEN; i++) {
                if (canon[i] != ngx_tolower(text->data[i])
                    || (canon[i] >= 'A' && canon[i] <= 'Z'))
                {
                    __builtin_trap();
                }
            }

        } else if (rc != NGX_DECLINED) {
            __builtin_trap();
        }

    } else {
        ngx_memzero(raw, sizeof(raw));
        ngx_memcpy(raw, text->data, ngx_min(text->len, sizeof(raw)));
    }

    /* an id hangar made of those bytes passes, in any case */
    if (ngx_http_hangar_wire_sid_encode(ngx_fuzz_key, raw, made) != NGX_OK) {
        return;
    }

    for (i = 0; i < NGX_HTTP_HANGAR_SID_LEN; i++) {
        mixed[i] = (i < text->len && (text->data[i] & 1))
                   ? ngx_toupper(made[i]) : made[i];
    }

    s.data = mixed;
    s.len = sizeof(mixed);

    if (ngx_http_hangar_wire_sid_decode(&s, raw2, mac2) != NGX_OK
        || ngx_memcmp(raw, raw2, sizeof(raw)) != 0
        || ngx_http_hangar_wire_sid_verify(ngx_fuzz_key, raw2, mac2, canon)
           != NGX_OK
        || ngx_memcmp(canon, made, sizeof(made)) != 0)
    {
        __builtin_trap();
    }

    /* one digit of the HMAC changed: refused */
    i = NGX_HTTP_HANGAR_SID_LEN - 1;
    mixed[i] = (mixed[i] == '0') ? '1' : '0';

    if (ngx_http_hangar_wire_sid_decode(&s, raw2, mac2) == NGX_OK
        && ngx_http_hangar_wire_sid_verify(ngx_fuzz_key, raw2, mac2, canon)
           == NGX_OK)
    {
        __builtin_trap();
    }

}


/* a JSON-RPC error around any id and message */

static void
ngx_fuzz_mcp_error(ngx_pool_t *pool, ngx_http_hangar_value_t *id,
    ngx_str_t *message)
{
    ngx_str_t                 text, err;
    ngx_http_hangar_out_t     out;
    ngx_http_hangar_value_t  *v, *e, *m, *c;

    if (ngx_http_hangar_wire_error(&out, pool, id, -32600, message) != NGX_OK
        || ngx_http_hangar_out_flatten(&out, &text) != NGX_OK)
    {
        return;
    }

    v = ngx_http_hangar_json_parse(pool, text.data, text.len, &err);

    if (v == NULL) {
        __builtin_trap();
    }

    e = ngx_http_hangar_get(v, "error");
    m = ngx_http_hangar_get(e, "message");
    c = ngx_http_hangar_get(e, "code");

    if (!ngx_http_hangar_is(m, NGX_HTTP_HANGAR_STR)
        || !ngx_http_hangar_is(c, NGX_HTTP_HANGAR_INT) || c->u.i != -32600
        || !ngx_http_hangar_is(ngx_http_hangar_get(v, "jsonrpc"),
                               NGX_HTTP_HANGAR_STR)
        || ngx_http_hangar_get(v, "id") == NULL)
    {
        __builtin_trap();
    }

    ngx_fuzz_mcp_utf8(pool, &m->u.s);

    if (id && ngx_fuzz_mcp_exact(id)
        && !ngx_http_hangar_value_equal(id, ngx_http_hangar_get(v, "id")))
    {
        __builtin_trap();
    }

    if (id == NULL
        && ngx_http_hangar_get(v, "id")->type != NGX_HTTP_HANGAR_NULL)
    {
        __builtin_trap();
    }
}


/* tools/call: the params go on with the server's name for the tool */

static void
ngx_fuzz_mcp_call(ngx_pool_t *pool, ngx_http_hangar_value_t *params,
    ngx_str_t *server)
{
    ngx_str_t                 text, err, t;
    ngx_http_hangar_value_t  *name, *copy, *tool, *back, *meta;

    name = ngx_http_hangar_get(params, "name");

    if (!ngx_http_hangar_is(name, NGX_HTTP_HANGAR_STR)) {
        return;
    }

    meta = ngx_http_hangar_get(params, "_meta");
    (void) ngx_http_hangar_get(meta, "progressToken");

    /* the server's name for the tool came from its JSON: valid UTF-8 */
    t = *server;

    if (ngx_http_hangar_utf8_clean(pool, &t) != NGX_OK) {
        return;
    }

    copy = ngx_http_hangar_value_copy(pool, params);
    tool = ngx_http_hangar_value_str(pool, t.data, t.len);

    if (copy == NULL || tool == NULL
        || ngx_http_hangar_set(pool, copy, (u_char *) "name", 4, tool)
           != NGX_OK
        || ngx_http_hangar_json_text(pool, copy, &text) != NGX_OK)
    {
        return;
    }

    back = ngx_http_hangar_json_parse(pool, text.data, text.len, &err);

    if (back == NULL) {
        __builtin_trap();
    }

    name = ngx_http_hangar_get(back, "name");

    if (!ngx_http_hangar_is(name, NGX_HTTP_HANGAR_STR)
        || name->u.s.len != t.len
        || ngx_memcmp(name->u.s.data, t.data, t.len) != 0
        || (ngx_fuzz_mcp_exact(params)
            && !ngx_http_hangar_value_equal(
                    ngx_http_hangar_get(params, "arguments"),
                    ngx_http_hangar_get(back, "arguments"))))
    {
        __builtin_trap();
    }
}


/* server requests' ids: only one made for this session and server decodes */

static void
ngx_fuzz_mcp_sreq(ngx_pool_t *pool, ngx_str_t *sid, ngx_str_t *server,
    ngx_http_hangar_value_t *body, ngx_http_hangar_value_t *id)
{
    size_t                    i;
    ngx_int_t                 rc;
    ngx_str_t                 raw, made, srv, back, err;
    ngx_http_hangar_value_t  *v;

    /* the client's answer names an id of ours or none */
    if (ngx_http_hangar_is(id, NGX_HTTP_HANGAR_STR)) {
        rc = ngx_http_hangar_wire_sreq_decode(pool, ngx_fuzz_key, sid,
                                              &id->u.s, &srv, &back);

        if (rc == NGX_OK) {
            /* only what the seeds signed gets here: the id parses or not */
            v = ngx_http_hangar_json_parse(pool, back.data, back.len, &err);
            (void) v;
        }
    }

    /* the id of the server's request (any value), made and decoded */
    if (body == NULL
        || ngx_http_hangar_json_text(pool, body, &raw) != NGX_OK
        || ngx_http_hangar_wire_sreq_encode(pool, ngx_fuzz_key, sid, server,
                                            &raw, &made)
           != NGX_OK)
    {
        return;
    }

    rc = ngx_http_hangar_wire_sreq_decode(pool, ngx_fuzz_key, sid, &made,
                                          &srv, &back);

    if (made.len > NGX_HTTP_HANGAR_SREQ_ID_MAX) {
        if (rc != NGX_DECLINED) {
            __builtin_trap();
        }

        return;
    }

    if (rc != NGX_OK
        || srv.len != server->len
        || ngx_memcmp(srv.data, server->data, srv.len) != 0
        || back.len != raw.len
        || ngx_memcmp(back.data, raw.data, raw.len) != 0)
    {
        __builtin_trap();
    }

    /* changed anywhere: refused */
    i = (raw.len * 31 + server->len) % made.len;
    made.data[i] ^= 0x01;

    if (ngx_http_hangar_wire_sreq_decode(pool, ngx_fuzz_key, sid, &made,
                                         &srv, &back)
        == NGX_OK)
    {
        __builtin_trap();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                     *p, *last, *nl;
    ngx_str_t                   sid, server, body, err, msg;
    ngx_uint_t                  kind;
    ngx_pool_t                 *pool;
    ngx_http_hangar_value_t    *v, *id;
    ngx_http_hangar_mcp_msg_t   m;

    pool = ngx_create_pool(4096, ngx_fuzz_log_new());
    if (pool == NULL) {
        return 0;
    }

    /* a copy of its own, so that ASan sees every byte read past it */
    p = ngx_pnalloc(pool, size + 1);
    if (p == NULL) {
        ngx_destroy_pool(pool);
        return 0;
    }

    ngx_memcpy(p, data, size);
    last = p + size;

    nl = ngx_strlchr(p, last, '\n');
    sid.data = p;
    sid.len = (nl ? nl : last) - p;
    p = nl ? nl + 1 : last;

    nl = ngx_strlchr(p, last, '\n');
    server.data = p;
    server.len = (nl ? nl : last) - p;
    p = nl ? nl + 1 : last;

    body.data = p;
    body.len = last - p;

    ngx_fuzz_mcp_sid(&sid);

    v = body.len ? ngx_http_hangar_json_parse(pool, body.data, body.len, &err)
                 : NULL;

    kind = ngx_http_hangar_wire_classify(v, &m);

    switch (kind) {

    case NGX_HTTP_HANGAR_MSG_NOT_ONE:
        if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_OBJ) || m.id || m.method) {
            __builtin_trap();
        }
        break;

    case NGX_HTTP_HANGAR_MSG_REQUEST:
        if (!ngx_http_hangar_is(m.method, NGX_HTTP_HANGAR_STR)
            || (!ngx_http_hangar_is(m.id, NGX_HTTP_HANGAR_INT)
                && !ngx_http_hangar_is(m.id, NGX_HTTP_HANGAR_STR)))
        {
            __builtin_trap();
        }

        if (ngx_http_hangar_str_is(&m.method->u.s, "tools/call")) {
            ngx_fuzz_mcp_call(pool, m.params, &server);
        }

        break;

    case NGX_HTTP_HANGAR_MSG_INVALID:
        if (m.id != NULL
            && ngx_http_hangar_is(m.method, NGX_HTTP_HANGAR_STR)
            && (m.id->type == NGX_HTTP_HANGAR_INT
                || m.id->type == NGX_HTTP_HANGAR_STR))
        {
            __builtin_trap();
        }
        break;

    case NGX_HTTP_HANGAR_MSG_OTHER:
        if (ngx_http_hangar_is(m.method, NGX_HTTP_HANGAR_STR) && m.id) {
            __builtin_trap();
        }
        break;

    default:
        __builtin_trap();
    }

    /* the error the front door answers with, around its id and method */
    id = m.id;

    if (ngx_http_hangar_is(m.method, NGX_HTTP_HANGAR_STR)) {
        msg = m.method->u.s;

    } else {
        msg = body;
    }

    ngx_fuzz_mcp_error(pool, id, &msg);
    ngx_fuzz_mcp_error(pool, NULL, &sid);

    ngx_fuzz_mcp_sreq(pool, &sid, &server, m.id ? m.id : v, m.id);

    ngx_destroy_pool(pool);

    return 0;
}
