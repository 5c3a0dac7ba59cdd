
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Tool invocation history (hangar-core §1.1, §2.13): a ring in shm of
 * the calls that completed or failed (read by GET
 * /api/mcp_servers/{id}/tools/history, ngx_http_hangar_api_server_ops.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/rand.h>
#include "ngx_http_hangar_history.h"
#include "ngx_http_hangar_registry.h"


static void ngx_http_hangar_uuid(u_char *out);


/* the ring takes about a sixteenth of the zone, 16 records at least */

ngx_int_t
ngx_http_hangar_history_init(ngx_http_hangar_registry_t *reg, size_t size)
{
    ngx_uint_t  n;

    n = ngx_max(16, size / 16 / sizeof(ngx_http_hangar_record_call_t));

    reg->sh->history = ngx_slab_calloc(reg->shpool,
                           n * sizeof(ngx_http_hangar_record_call_t));
    if (reg->sh->history == NULL) {
        return NGX_ERROR;
    }

    reg->sh->history_size = n;

    return NGX_OK;
}


static void
ngx_http_hangar_uuid(u_char *out)
{
    u_char  r[16];

    if (RAND_bytes(r, sizeof(r)) != 1) {
        ngx_memzero(r, sizeof(r));
    }

    r[6] = (r[6] & 0x0f) | 0x40;
    r[8] = (r[8] & 0x3f) | 0x80;

    ngx_sprintf(out, "%*xs-%*xs-%*xs-%*xs-%*xs%Z", 4, r, 2, r + 4, 2, r + 6,
                2, r + 8, 6, r + 10);
}


uint64_t
ngx_http_hangar_history_clock(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


/*
 * hangar-core §2.5: a JSON-RPC error is "error_type" its code, its
 * message the error's message, except the bridge's word that the server
 * exited during the call (a crash); a result with isError is
 * "tool_error", its message the result's text blocks joined by newlines.
 */

static const char *
ngx_http_hangar_history_failure(ngx_pool_t *pool,
    ngx_http_hangar_value_t *msg, u_char *type, ngx_str_t *text)
{
    size_t                    len;
    u_char                   *p;
    ngx_uint_t                i;
    ngx_http_hangar_value_t  *err, *code, *v, *content, **items, *t;

    err = ngx_http_hangar_get(msg, "error");

    if (err) {
        v = ngx_http_hangar_get(err, "message");
        if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
            *text = v->u.s;
        }

        code = ngx_http_hangar_get(err, "code");

        if (ngx_http_hangar_is(code, NGX_HTTP_HANGAR_INT)) {
            if (code->u.i == -32000 && text->len >= 17
                && ngx_strncmp(text->data, "MCP server exited", 17) == 0)
            {
                return NGX_HTTP_HANGAR_HISTORY_CRASH;
            }

            ngx_sprintf(type, "%L%Z", code->u.i);
            return (const char *) type;
        }

        return "JsonRpcError";
    }

    content = ngx_http_hangar_get(ngx_http_hangar_get(msg, "result"),
                                  "content");
    if (!ngx_http_hangar_is(content, NGX_HTTP_HANGAR_ARR)) {
        return NGX_HTTP_HANGAR_HISTORY_TOOL;
    }

    items = content->u.arr.elts;
    len = 0;

    for (i = 0; i < content->u.arr.nelts; i++) {
        t = ngx_http_hangar_get(items[i], "text");
        if (ngx_http_hangar_is(t, NGX_HTTP_HANGAR_STR)) {
            len += t->u.s.len + 1;
        }
    }

    p = len ? ngx_pnalloc(pool, len) : NULL;
    if (p == NULL) {
        return NGX_HTTP_HANGAR_HISTORY_TOOL;
    }

    text->data = p;

    for (i = 0; i < content->u.arr.nelts; i++) {
        t = ngx_http_hangar_get(items[i], "text");
        if (ngx_http_hangar_is(t, NGX_HTTP_HANGAR_STR)) {
            if (p != text->data) {
                *p++ = '\n';
            }

            p = ngx_cpymem(p, t->u.s.data, t->u.s.len);
        }
    }

    text->len = p - text->data;

    return NGX_HTTP_HANGAR_HISTORY_TOOL;
}


ngx_uint_t
ngx_http_hangar_history_record(ngx_http_hangar_record_call_t *h,
    ngx_pool_t *pool, ngx_str_t *tool, uint64_t begun_us,
    ngx_http_hangar_value_t *msg, const char *error_type, ngx_str_t *error)
{
    u_char                   *p;
    uint64_t                  now;
    ngx_str_t                 text;
    ngx_http_hangar_value_t  *res, *iserr;

    ngx_memzero(h, sizeof(ngx_http_hangar_record_call_t));

    now = ngx_http_hangar_history_clock();
    h->duration_us = now > begun_us ? now - begun_us : 0;

    ngx_str_null(&text);

    if (msg) {
        res = ngx_http_hangar_get(msg, "result");
        iserr = ngx_http_hangar_get(res, "isError");

        if (ngx_http_hangar_get(msg, "error")
            || (ngx_http_hangar_is(iserr, NGX_HTTP_HANGAR_BOOL) && iserr->u.b))
        {
            error_type = ngx_http_hangar_history_failure(pool, msg,
                                                         h->error_type,
                                                         &text);

        } else if (res && ngx_http_hangar_json_text(pool, res, &text)
                          == NGX_OK)
        {
            /* hangar-core §2.13: the length of the stringified result */
            h->size = text.len;
        }

    } else if (error) {
        text = *error;
    }

    /* the uuids here, not under the mutex */
    ngx_http_hangar_uuid(h->event_id);
    ngx_http_hangar_uuid(h->correlation_id);

    *ngx_cpymem(h->tool, tool->data, ngx_min(tool->len, sizeof(h->tool) - 1))
        = '\0';

    if (error_type == NULL) {
        return 0;
    }

    h->failed = 1;

    if ((u_char *) error_type != h->error_type) {
        ngx_cpystrn(h->error_type, (u_char *) error_type,
                    sizeof(h->error_type));
    }

    /* cut at a character, never inside one */
    p = text.data + ngx_min(text.len, sizeof(h->error) - 1);

    if (p < text.data + text.len) {
        while (p > text.data && (*p & 0xc0) == 0x80) {
            p--;
        }
    }

    *ngx_cpymem(h->error, text.data, p - text.data) = '\0';

    return 1;
}


/* the call's event for the stream: a fixed record, copied */

static void
ngx_http_hangar_history_event(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_record_call_t *h)
{
    ngx_http_hangar_efield_t  f[4];

    f[0].key = "tool_name";
    f[0].str = (char *) h->tool;
    f[1].key = "correlation_id";
    f[1].str = (char *) h->correlation_id;
    f[2].key = "duration_ms";
    f[2].str = NULL;
    f[2].num = h->duration_us / 1000;
    f[3].key = h->failed ? "error_type" : "result_size_bytes";
    f[3].str = h->failed ? (char *) h->error_type : NULL;
    f[3].num = h->size;

    ngx_http_hangar_event_fields(reg, h->failed ? "ToolInvocationFailed"
                                                : "ToolInvocationCompleted",
                                 h->server, ngx_strlen(h->server), f, 4);
}


/* with the slab mutex held: n is the server's node */

void
ngx_http_hangar_history_add(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_http_hangar_record_call_t *rec)
{
    ngx_atomic_uint_t               seq;
    ngx_http_hangar_record_call_t  *h;

    if (reg->sh->history_size == 0) {
        return;
    }

    seq = ++reg->sh->history_seq;
    h = &reg->sh->history[seq % reg->sh->history_size];

    *h = *rec;

    h->seq = seq;
    h->position = n->history_pos++;
    h->time = ngx_http_hangar_now_ms();

    *ngx_cpymem(h->server, n->id, n->id_len) = '\0';

    ngx_http_hangar_history_event(reg, h);
}
