
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The event stream (hangar-core.md §5.3) on a WebSocket served by the
 * module: the handshake answers 101 through nginx's header filter, then
 * the request's read and write handlers drive the connection.
 *
 * Every worker's timer walks its subscribers; each reads the shm ring from
 * its own next sequence, so events of every worker reach every subscriber
 * in order.  A subscriber's queue is its distance behind the ring: a slow
 * one (the socket is full) falls behind, and past QUEUE events the oldest
 * are dropped, counted and reported in a warning frame.  Memory per
 * connection is fixed when it is accepted and never grows.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/sha.h>
#include "ngx_http_hangar_ws.h"
#include "ngx_http_hangar_ws_frame.h"
#include "ngx_http_hangar_header.h"


#define NGX_HTTP_HANGAR_WS_MSG       16384   /* a client message */
#define NGX_HTTP_HANGAR_WS_IN        (NGX_HTTP_HANGAR_WS_MSG                 \
                                      + NGX_HTTP_HANGAR_WS_HEADER)
#define NGX_HTTP_HANGAR_WS_OUT       16384
#define NGX_HTTP_HANGAR_WS_RENDER    8192
#define NGX_HTTP_HANGAR_WS_QUEUE     1024    /* events behind, at most */
#define NGX_HTTP_HANGAR_WS_BATCH     8
#define NGX_HTTP_HANGAR_WS_TICK      100     /* ms */
#define NGX_HTTP_HANGAR_WS_FIRST     5000    /* ms for the first message */
#define NGX_HTTP_HANGAR_WS_PONG_MS   10000   /* ms for a pong */
#define NGX_HTTP_HANGAR_WS_FILTERS   32
#define NGX_HTTP_HANGAR_WS_GUID      "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


typedef struct {
    ngx_http_request_t          *r;
    ngx_http_hangar_registry_t  *reg;
    ngx_queue_t                  queue;     /* the worker's subscribers */

    ngx_atomic_uint_t            next;      /* the next event to send */
    ngx_uint_t                   dropped;   /* not yet reported */
    ngx_uint_t                   dropped_total;

    ngx_msec_t                   accepted;
    ngx_msec_t                   last_sent;
    ngx_msec_t                   ping_sent;

    unsigned                     started:1;   /* events flow */
    unsigned                     messages:1;  /* the client said something */
    unsigned                     closing:1;   /* a close frame is queued */
    unsigned                     done:1;
    unsigned                     queued:1;
    unsigned                     pong_pending:1;
    unsigned                     awaiting_pong:1;

    /* the client's frames and the message they make */
    size_t                       in_len;
    size_t                       msg_len;
    ngx_uint_t                   msg_op;     /* 0: no message under way */
    u_char                       in[NGX_HTTP_HANGAR_WS_IN];
    u_char                       msg[NGX_HTTP_HANGAR_WS_MSG];

    /* frames on their way out */
    size_t                       out_pos;
    size_t                       out_len;
    u_char                       out[NGX_HTTP_HANGAR_WS_OUT];
    u_char                       render[NGX_HTTP_HANGAR_WS_RENDER];
    size_t                       pong_len;
    u_char                       pong[125];

    /* the filters of §5.3 (AND); none: that dimension is not filtered */
    ngx_uint_t                   ntypes;
    ngx_uint_t                   nids;
    ngx_uint_t                   filter_types;
    ngx_uint_t                   filter_ids;
    u_char                       types[NGX_HTTP_HANGAR_WS_FILTERS][48];
    u_char                       ids[NGX_HTTP_HANGAR_WS_FILTERS]
                                    [NGX_HTTP_HANGAR_ID_MAX + 1];

    ngx_http_hangar_event_t      ev[NGX_HTTP_HANGAR_WS_BATCH];
} ngx_http_hangar_ws_t;


static ngx_int_t ngx_http_hangar_ws_handshake(ngx_http_hangar_req_t *hr,
    u_char *accept);
static ngx_int_t ngx_http_hangar_ws_accept(ngx_http_hangar_req_t *hr,
    u_char *accept, ngx_int_t since);
static void ngx_http_hangar_ws_resume(ngx_http_hangar_ws_t *ws,
    ngx_int_t since);
static void ngx_http_hangar_ws_register(ngx_http_hangar_ws_t *ws);
static void ngx_http_hangar_ws_cleanup(void *data);
static void ngx_http_hangar_ws_read_handler(ngx_http_request_t *r);
static void ngx_http_hangar_ws_write_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_hangar_ws_read(ngx_http_hangar_ws_t *ws);
static ngx_int_t ngx_http_hangar_ws_frames(ngx_http_hangar_ws_t *ws);
static ngx_int_t ngx_http_hangar_ws_frame(ngx_http_hangar_ws_t *ws,
    ngx_http_hangar_ws_frame_t *f, u_char *p);
static ngx_int_t ngx_http_hangar_ws_message(ngx_http_hangar_ws_t *ws);
static ngx_int_t ngx_http_hangar_ws_filter_set(ngx_http_hangar_ws_t *ws,
    ngx_http_hangar_value_t *list, ngx_uint_t ids);
static void ngx_http_hangar_ws_subscribed(ngx_http_hangar_ws_t *ws);
static ngx_int_t ngx_http_hangar_ws_pump(ngx_http_hangar_ws_t *ws);
static void ngx_http_hangar_ws_compose(ngx_http_hangar_ws_t *ws);
static void ngx_http_hangar_ws_events_out(ngx_http_hangar_ws_t *ws);
static ngx_uint_t ngx_http_hangar_ws_match(ngx_http_hangar_ws_t *ws,
    ngx_http_hangar_event_t *e);
static size_t ngx_http_hangar_ws_render(ngx_http_hangar_ws_t *ws,
    ngx_http_hangar_event_t *e);
static u_char *ngx_http_hangar_ws_json_str(u_char *p, u_char *last,
    const char *before, u_char *s);
static ngx_uint_t ngx_http_hangar_ws_text(ngx_http_hangar_ws_t *ws,
    u_char *p, size_t len);
static void ngx_http_hangar_ws_fail(ngx_http_hangar_ws_t *ws,
    ngx_uint_t code, const char *reason);
static void ngx_http_hangar_ws_finish(ngx_http_hangar_ws_t *ws);
static void ngx_http_hangar_ws_tick(ngx_event_t *ev);


static ngx_msec_t   ngx_http_hangar_ws_ping = 55000;
static ngx_queue_t  ngx_http_hangar_ws_conns;
static ngx_uint_t   ngx_http_hangar_ws_ready;
static ngx_event_t  ngx_http_hangar_ws_timer;


char *
ngx_http_hangar_ws_ping_set(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t   *value;
    ngx_msec_t   ms;

    value = cf->args->elts;

    ms = ngx_parse_time(&value[1], 0);
    if (ms == (ngx_msec_t) NGX_ERROR || ms < 100) {
        return "is invalid: a time of at least 100ms";
    }

    ngx_http_hangar_ws_ping = ms;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_hangar_ws_events(ngx_http_hangar_req_t *hr)
{
    ngx_int_t              rc, since;
    ngx_http_hangar_arg_t  arg = { "since", -1, 0, NGX_MAX_INT_T_VALUE };
    u_char                 accept[32];

    /* NGX_DECLINED: a good handshake; else what the refusal returned */
    rc = ngx_http_hangar_ws_handshake(hr, accept);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (ngx_http_hangar_int_arg(hr->r, &arg, &since) != NGX_OK) {
        return ngx_http_hangar_arg_error(hr, &arg);
    }

    return ngx_http_hangar_ws_accept(hr, accept, since);
}


/*
 * hangar-security.md §1.2 and row 36: a browser cannot set headers on a
 * WebSocket, so the credential may come as "?token=<t>".  It becomes
 * "Authorization: Bearer <t>" ("Bearer " in the value is kept), where an
 * "mcp_" token is an API key and anything else a JWT.  The value is
 * blanked where nginx keeps the request line ($request, $args and the
 * "request:" of error lines point there), whether it is used or not.
 */

ngx_int_t
ngx_http_hangar_ws_token(ngx_http_request_t *r)
{
    u_char           *p, *src, *dst;
    size_t            len;
    ngx_str_t         value;
    ngx_table_elt_t  *h;

    static ngx_str_t  path = ngx_string("/ws/events");

    len = r->uri.len;

    if (len && r->uri.data[len - 1] == '/') {
        len--;
    }

    if (r->args.len == 0 || len < path.len
        || ngx_strncmp(r->uri.data + len - path.len, path.data, path.len)
           != 0
        || ngx_http_arg(r, (u_char *) "token", 5, &value) != NGX_OK)
    {
        return NGX_OK;
    }

    h = NULL;

    if (value.len && r->headers_in.authorization == NULL
        && ngx_http_hangar_header(r, "X-API-Key") == NULL)
    {
        h = ngx_list_push(&r->headers_in.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        p = ngx_pnalloc(r->pool, sizeof("Bearer ") - 1 + value.len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        /* "+" is a space in a query, as in "Bearer+<t>" */
        for (src = value.data; src < value.data + value.len; src++) {
            if (*src == '+') {
                *src = ' ';
            }
        }

        src = value.data;
        dst = p + sizeof("Bearer ") - 1;
        ngx_unescape_uri(&dst, &src, value.len, 0);

        len = dst - (p + sizeof("Bearer ") - 1);

        if (len >= 7 && ngx_strncmp(p + 7, "Bearer ", 7) == 0) {
            ngx_memmove(p, p + 7, len);

        } else {
            ngx_memcpy(p, "Bearer ", 7);
            len += 7;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Authorization");
        h->lowcase_key = (u_char *) "authorization";
        h->value.data = p;
        h->value.len = len;
#if (nginx_version >= 1023000)
        h->next = NULL;
#endif
    }

    ngx_memset(value.data, '*', value.len);

    if (h) {
        r->headers_in.authorization = h;
    }

    return NGX_OK;
}


/* RFC 6455 §4.2.1: what a client's opening handshake must have */

static ngx_int_t
ngx_http_hangar_ws_handshake(ngx_http_hangar_req_t *hr, u_char *accept)
{
    u_char              *p, key[64], md[SHA_DIGEST_LENGTH];
    ngx_str_t           *v, src, dst;
    ngx_http_request_t  *r;

    r = hr->r;

    /*
     * hangar-core.md §5.3: a page of another origin is refused (a browser
     * sends Origin on every WebSocket); the CORS list of the API decides,
     * and ngx_http_hangar_cors() has answered an allowed one already.
     */
    if (ngx_http_hangar_header(r, "Origin")
        && ngx_http_hangar_header_find(&r->headers_out.headers,
                                       (u_char *) "Access-Control-Allow-Origin",
                                       sizeof("Access-Control-Allow-Origin")
                                       - 1)
           == NULL)
    {
        return ngx_http_hangar_error(hr, NGX_HTTP_FORBIDDEN,
                                     "OriginNotAllowedError",
                                     "the Origin is not one the API allows "
                                     "(cors origins)");
    }

    v = ngx_http_hangar_header(r, "Upgrade");

    if (v == NULL || v->len != 9
        || ngx_strncasecmp(v->data, (u_char *) "websocket", 9) != 0)
    {
        if (ngx_http_hangar_header_out(r, "Upgrade", (u_char *) "websocket",
                                       9)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_hangar_error(hr, 426, "UpgradeRequired",
                                     "a WebSocket handshake is required "
                                     "(Upgrade: websocket)");
    }

    v = ngx_http_hangar_header(r, "Sec-WebSocket-Version");

    if (v == NULL || v->len != 2 || ngx_strncmp(v->data, "13", 2) != 0) {
        if (ngx_http_hangar_header_out(r, "Sec-WebSocket-Version",
                                       (u_char *) "13", 2)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_hangar_error(hr, 426, "UpgradeRequired",
                                     "Sec-WebSocket-Version must be 13");
    }

    if (r->http_version != NGX_HTTP_VERSION_11) {
        return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST,
                                     "ValidationError",
                                     "a WebSocket handshake needs HTTP/1.1");
    }

    v = ngx_http_hangar_header(r, "Connection");

    if (v == NULL
        || ngx_strlcasestrn(v->data, v->data + v->len,
                            (u_char *) "upgrade", 7 - 1) == NULL)
    {
        return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST,
                                     "ValidationError",
                                     "a WebSocket handshake needs "
                                     "Connection: Upgrade");
    }

    if (r->headers_in.content_length_n > 0 || r->headers_in.chunked) {
        return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST,
                                     "ValidationError",
                                     "a WebSocket handshake has no body");
    }

    /* the key: 16 bytes in base64 */
    v = ngx_http_hangar_header(r, "Sec-WebSocket-Key");

    dst.data = key;

    if (v == NULL || v->len != 24
        || ngx_decode_base64(&dst, v) != NGX_OK || dst.len != 16)
    {
        return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST,
                                     "ValidationError",
                                     "Sec-WebSocket-Key must be 16 bytes "
                                     "in base64");
    }

    p = ngx_cpymem(key, v->data, v->len);
    p = ngx_cpymem(p, NGX_HTTP_HANGAR_WS_GUID,
                   sizeof(NGX_HTTP_HANGAR_WS_GUID) - 1);

    SHA1(key, p - key, md);

    src.data = md;
    src.len = SHA_DIGEST_LENGTH;
    dst.data = accept;
    ngx_encode_base64(&dst, &src);
    accept[dst.len] = '\0';

    return NGX_DECLINED;
}


/*
 * The 101 goes out through the header filter (which says "Connection:
 * upgrade" for it); from then on the request's event handlers are ours.
 * The extra count keeps the request until ngx_http_hangar_ws_finish().
 */

static ngx_int_t
ngx_http_hangar_ws_accept(ngx_http_hangar_req_t *hr, u_char *accept,
    ngx_int_t since)
{
    size_t                 n;
    ngx_int_t              rc;
    ngx_connection_t      *c;
    ngx_pool_cleanup_t    *cln;
    ngx_http_request_t    *r;
    ngx_http_hangar_ws_t  *ws;

    r = hr->r;
    c = r->connection;

    ws = ngx_pcalloc(r->pool, sizeof(ngx_http_hangar_ws_t));
    if (ws == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ws->r = r;
    ws->reg = hr->reg;
    ws->accepted = ngx_current_msec;
    ws->last_sent = ngx_current_msec;

    ngx_http_hangar_ws_resume(ws, since);

    ngx_http_hangar_ws_register(ws);
    cln->handler = ngx_http_hangar_ws_cleanup;
    cln->data = ws;
    hr->call = ws;

    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    ngx_str_set(&r->headers_out.status_line, "101 Switching Protocols");
    r->headers_out.content_length_n = -1;
    r->header_only = 1;
    r->keepalive = 0;

    if (ngx_http_hangar_header_out(r, "Upgrade", (u_char *) "websocket", 9)
        != NGX_OK
        || ngx_http_hangar_header_out(r, "Sec-WebSocket-Accept", accept,
                                      ngx_strlen(accept))
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_send_special(r, NGX_HTTP_FLUSH) == NGX_ERROR) {
        return NGX_ERROR;
    }

    c->log->action = "streaming events";

    if (c->tcp_nodelay == NGX_TCP_NODELAY_UNSET) {
        (void) ngx_tcp_nodelay(c);
    }

    /* frames the client sent right behind its handshake */
    n = r->header_in->last - r->header_in->pos;

    if (n > NGX_HTTP_HANGAR_WS_IN) {
        ngx_http_hangar_ws_fail(ws, NGX_HTTP_HANGAR_WS_TOO_BIG,
                                "frame too large");
        n = 0;
    }

    ngx_memcpy(ws->in, r->header_in->pos, n);
    ws->in_len = n;
    r->header_in->pos = r->header_in->last;

    r->read_event_handler = ngx_http_hangar_ws_read_handler;
    r->write_event_handler = ngx_http_hangar_ws_write_handler;
    r->main->count++;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "hangar ws: accepted, next event %uA", ws->next);

    if (ws->in_len && ngx_http_hangar_ws_frames(ws) == NGX_DONE) {
        return NGX_DONE;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_hangar_ws_finish(ws);
        return NGX_DONE;
    }

    if (c->read->ready) {
        ngx_post_event(c->read, &ngx_posted_events);
    }

    (void) ngx_http_hangar_ws_pump(ws);

    return NGX_DONE;
}


/* live from now, or resumed after the sequence the client saw */

static void
ngx_http_hangar_ws_resume(ngx_http_hangar_ws_t *ws, ngx_int_t since)
{
    size_t             n;
    ngx_atomic_uint_t  oldest, last;

    last = ws->reg->sh->event_seq;
    ws->next = last + 1;

    if (since >= 0 && (ngx_atomic_uint_t) since < last) {
        ws->next = since + 1;

        (void) ngx_http_hangar_events_read(ws->reg, ws->next, ws->ev, 0,
                                           &oldest);

        if (ws->next < oldest) {
            /* the ring moved past it: say so first, go on from the oldest */
            n = ngx_sprintf(ws->render, "{\"type\":\"warning\","
                            "\"reason\":\"ring_passed\","
                            "\"requested_since\":%i,\"oldest_seq\":%uA,"
                            "\"lost\":%uA}", since, oldest,
                            oldest - ws->next)
                - ws->render;
            (void) ngx_http_hangar_ws_text(ws, ws->render, n);
            ws->dropped_total = oldest - ws->next;
            ws->next = oldest;
        }
    }
}


/* the worker's list of subscribers, walked by its timer */

static void
ngx_http_hangar_ws_register(ngx_http_hangar_ws_t *ws)
{
    if (!ngx_http_hangar_ws_ready) {
        ngx_queue_init(&ngx_http_hangar_ws_conns);
        ngx_http_hangar_ws_timer.handler = ngx_http_hangar_ws_tick;
        ngx_http_hangar_ws_timer.log = ngx_cycle->log;
        ngx_http_hangar_ws_timer.data = &ngx_http_hangar_ws_conns;
        ngx_http_hangar_ws_ready = 1;
    }

    ngx_queue_insert_tail(&ngx_http_hangar_ws_conns, &ws->queue);
    ws->queued = 1;

    if (!ngx_http_hangar_ws_timer.timer_set) {
        ngx_add_timer(&ngx_http_hangar_ws_timer, NGX_HTTP_HANGAR_WS_TICK);
    }
}


static void
ngx_http_hangar_ws_cleanup(void *data)
{
    ngx_http_hangar_ws_t  *ws = data;

    if (!ws->queued) {
        return;
    }

    ws->queued = 0;
    ngx_queue_remove(&ws->queue);

    if (ngx_queue_empty(&ngx_http_hangar_ws_conns)
        && ngx_http_hangar_ws_timer.timer_set)
    {
        ngx_del_timer(&ngx_http_hangar_ws_timer);
    }
}


static void
ngx_http_hangar_ws_read_handler(ngx_http_request_t *r)
{
    ngx_http_hangar_req_t  *hr;

    hr = ngx_http_get_module_ctx(r, ngx_http_hangar_module);

    if (ngx_http_hangar_ws_read(hr->call) == NGX_DONE) {
        return;
    }

    (void) ngx_http_hangar_ws_pump(hr->call);
}


static void
ngx_http_hangar_ws_write_handler(ngx_http_request_t *r)
{
    ngx_http_hangar_req_t  *hr;

    hr = ngx_http_get_module_ctx(r, ngx_http_hangar_module);

    (void) ngx_http_hangar_ws_pump(hr->call);
}


/* NGX_DONE: the connection is gone */

static ngx_int_t
ngx_http_hangar_ws_read(ngx_http_hangar_ws_t *ws)
{
    ssize_t            n;
    ngx_connection_t  *c;

    c = ws->r->connection;

    while (!ws->closing) {

        if (ws->in_len == NGX_HTTP_HANGAR_WS_IN) {
            ngx_http_hangar_ws_fail(ws, NGX_HTTP_HANGAR_WS_TOO_BIG,
                                    "frame too large");
            break;
        }

        n = c->recv(c, ws->in + ws->in_len,
                    NGX_HTTP_HANGAR_WS_IN - ws->in_len);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, 0,
                           "hangar ws: the client is gone");
            ngx_http_hangar_ws_finish(ws);
            return NGX_DONE;
        }

        ws->in_len += n;

        if (ngx_http_hangar_ws_frames(ws) == NGX_DONE) {
            return NGX_DONE;
        }
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_hangar_ws_finish(ws);
        return NGX_DONE;
    }

    return NGX_OK;
}


/* every whole frame in the input; a frame always fits it */

static ngx_int_t
ngx_http_hangar_ws_frames(ngx_http_hangar_ws_t *ws)
{
    size_t                      used;
    ngx_int_t                   rc;
    ngx_uint_t                  code;
    ngx_http_hangar_ws_frame_t  f;

    while (!ws->closing) {

        rc = ngx_http_hangar_ws_parse(ws->in, ws->in_len,
                                      NGX_HTTP_HANGAR_WS_MSG, &f, &code);

        if (rc == NGX_AGAIN) {
            break;
        }

        if (rc == NGX_ERROR) {
            ngx_http_hangar_ws_fail(ws, code, code == NGX_HTTP_HANGAR_WS_TOO_BIG
                                              ? "frame too large"
                                              : "protocol error");
            break;
        }

        used = f.header + f.len;

        if (used > ws->in_len) {
            break;
        }

        ngx_http_hangar_ws_unmask(ws->in + f.header, f.len, f.mask, 0);

        if (ngx_http_hangar_ws_frame(ws, &f, ws->in + f.header) != NGX_OK) {
            break;
        }

        ngx_memmove(ws->in, ws->in + used, ws->in_len - used);
        ws->in_len -= used;
    }

    if (ws->closing) {
        return ngx_http_hangar_ws_pump(ws);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_ws_frame(ngx_http_hangar_ws_t *ws,
    ngx_http_hangar_ws_frame_t *f, u_char *p)
{
    ngx_uint_t  code;

    switch (f->opcode) {

    case NGX_HTTP_HANGAR_WS_TEXT:
    case NGX_HTTP_HANGAR_WS_BINARY:
        if (ws->msg_op) {
            ngx_http_hangar_ws_fail(ws, NGX_HTTP_HANGAR_WS_PROTOCOL,
                                    "a new message inside a fragmented one");
            return NGX_ERROR;
        }

        if (f->opcode == NGX_HTTP_HANGAR_WS_BINARY) {
            ngx_http_hangar_ws_fail(ws, NGX_HTTP_HANGAR_WS_UNSUPPORTED,
                                    "only text messages are accepted");
            return NGX_ERROR;
        }

        ws->msg_op = f->opcode;
        ws->msg_len = 0;

        /* fall through */

    case NGX_HTTP_HANGAR_WS_CONT:
        if (ws->msg_op == 0) {
            ngx_http_hangar_ws_fail(ws, NGX_HTTP_HANGAR_WS_PROTOCOL,
                                    "a continuation without a message");
            return NGX_ERROR;
        }

        if (f->len > NGX_HTTP_HANGAR_WS_MSG - ws->msg_len) {
            ngx_http_hangar_ws_fail(ws, NGX_HTTP_HANGAR_WS_TOO_BIG,
                                    "message too large");
            return NGX_ERROR;
        }

        ws->msg_len = ngx_cpymem(ws->msg + ws->msg_len, p, f->len) - ws->msg;

        if (!f->fin) {
            return NGX_OK;
        }

        ws->msg_op = 0;

        return ngx_http_hangar_ws_message(ws);

    case NGX_HTTP_HANGAR_WS_PING:
        /* only the latest ping is answered: the pong never piles up */
        ngx_memcpy(ws->pong, p, f->len);
        ws->pong_len = f->len;
        ws->pong_pending = 1;
        return NGX_OK;

    case NGX_HTTP_HANGAR_WS_PONG:
        ws->awaiting_pong = 0;
        return NGX_OK;

    default: /* NGX_HTTP_HANGAR_WS_CLOSE */
        code = ngx_http_hangar_ws_close_check(p, f->len);

        if (code) {
            ngx_http_hangar_ws_fail(ws, code, "bad close frame");
            return NGX_ERROR;
        }

        ngx_http_hangar_ws_fail(ws, f->len ? (ngx_uint_t) ((p[0] << 8) | p[1])
                                           : NGX_HTTP_HANGAR_WS_NORMAL, "");
        return NGX_ERROR;
    }
}


/* a whole text message of the client (hangar-core.md §5.3) */

static ngx_int_t
ngx_http_hangar_ws_message(ngx_http_hangar_ws_t *ws)
{
    ngx_str_t                 err;
    ngx_uint_t                first;
    ngx_pool_t               *pool;
    ngx_http_hangar_value_t  *v, *type, *types, *ids;

    if (!ngx_http_hangar_ws_utf8(ws->msg, ws->msg_len)) {
        ngx_http_hangar_ws_fail(ws, NGX_HTTP_HANGAR_WS_BAD_DATA,
                                "text is not UTF-8");
        return NGX_ERROR;
    }

    pool = ngx_create_pool(4096, ws->r->connection->log);
    if (pool == NULL) {
        ngx_http_hangar_ws_fail(ws, NGX_HTTP_HANGAR_WS_GOING_AWAY, "");
        return NGX_ERROR;
    }

    first = !ws->messages;
    ws->messages = 1;
    ws->started = 1;

    v = ngx_http_hangar_json_parse(pool, ws->msg, ws->msg_len, &err);

    if (v == NULL) {
        ngx_destroy_pool(pool);
        ngx_http_hangar_ws_fail(ws, NGX_HTTP_HANGAR_WS_BAD_DATA,
                                "a message must be JSON");
        return NGX_ERROR;
    }

    if (v->type != NGX_HTTP_HANGAR_OBJ) {
        ngx_destroy_pool(pool);
        return NGX_OK;
    }

    type = ngx_http_hangar_get(v, "type");
    types = ngx_http_hangar_get(v, "event_types");
    ids = ngx_http_hangar_get(v, "mcp_server_ids");

    if (ngx_http_hangar_is(type, NGX_HTTP_HANGAR_STR)
        && ngx_http_hangar_str_is(&type->u.s, "pong"))
    {
        ws->awaiting_pong = 0;
        ngx_destroy_pool(pool);
        return NGX_OK;
    }

    /*
     * A subscribe replaces the filters; a message of another type that
     * carries filter keys is ignored (hangar-core.md §8 item 30).
     */
    if ((type == NULL && (types || ids))
        || (ngx_http_hangar_is(type, NGX_HTTP_HANGAR_STR)
            && ngx_http_hangar_str_is(&type->u.s, "subscribe")))
    {
        if (ngx_http_hangar_ws_filter_set(ws, types, 0) != NGX_OK
            || ngx_http_hangar_ws_filter_set(ws, ids, 1) != NGX_OK)
        {
            ngx_destroy_pool(pool);
            ngx_http_hangar_ws_fail(ws, NGX_HTTP_HANGAR_WS_POLICY,
                                    "too many filters");
            return NGX_ERROR;
        }

        if (first && ngx_current_msec - ws->accepted
                     <= NGX_HTTP_HANGAR_WS_FIRST)
        {
            ngx_http_hangar_ws_subscribed(ws);
        }
    }

    ngx_destroy_pool(pool);

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_ws_filter_set(ngx_http_hangar_ws_t *ws,
    ngx_http_hangar_value_t *list, ngx_uint_t ids)
{
    size_t                    size;
    u_char                   *to;
    ngx_uint_t                i, n;
    ngx_http_hangar_value_t **item, *s;

    n = 0;

    /* values other than lists do not filter */
    if (ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)) {
        item = list->u.arr.elts;

        if (list->u.arr.nelts > NGX_HTTP_HANGAR_WS_FILTERS) {
            return NGX_ERROR;
        }

        size = ids ? sizeof(ws->ids[0]) : sizeof(ws->types[0]);

        for (i = 0; i < list->u.arr.nelts; i++) {
            s = item[i];

            if (!ngx_http_hangar_is(s, NGX_HTTP_HANGAR_STR)
                || s->u.s.len >= size)
            {
                continue;
            }

            to = ids ? ws->ids[n] : ws->types[n];
            *ngx_cpymem(to, s->u.s.data, s->u.s.len) = '\0';
            n++;
        }
    }

    if (ids) {
        ws->nids = n;
        ws->filter_ids = ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)
                         && list->u.arr.nelts;

    } else {
        ws->ntypes = n;
        ws->filter_types = ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)
                           && list->u.arr.nelts;
    }

    return NGX_OK;
}


static void
ngx_http_hangar_ws_subscribed(ngx_http_hangar_ws_t *ws)
{
    u_char      *p, *q, *last, *stop;
    ngx_uint_t   i;

    p = ws->render;
    last = ws->render + NGX_HTTP_HANGAR_WS_RENDER;

    p = ngx_slprintf(p, last, "{\"type\":\"subscribed\",\"event_types\":[");

    /* room kept for the end; a list too long to show is cut */
    stop = last - 64;

    for (i = 0; i < ws->ntypes; i++) {
        q = ngx_http_hangar_ws_json_str(p, stop, i ? "," : "", ws->types[i]);

        if (q == p) {
            break;
        }

        p = q;
    }

    p = ngx_slprintf(p, last, "],\"mcp_server_ids\":[");

    for (i = 0; i < ws->nids; i++) {
        q = ngx_http_hangar_ws_json_str(p, stop, i ? "," : "", ws->ids[i]);

        if (q == p) {
            break;
        }

        p = q;
    }

    p = ngx_slprintf(p, last, "]}");

    (void) ngx_http_hangar_ws_text(ws, ws->render, p - ws->render);
}


/* ---- sending ----------------------------------------------------------- */

/* NGX_DONE: the connection is gone */

static ngx_int_t
ngx_http_hangar_ws_pump(ngx_http_hangar_ws_t *ws)
{
    ssize_t              n;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    if (ws->done) {
        return NGX_DONE;
    }

    r = ws->r;
    c = r->connection;

    for ( ;; ) {

        /* the 101 itself, if the socket did not take it at once */
        if (r->out) {
            if (ngx_http_output_filter(r, NULL) == NGX_ERROR) {
                ngx_http_hangar_ws_finish(ws);
                return NGX_DONE;
            }

            if (r->out) {
                break;
            }
        }

        if (ws->out_pos == ws->out_len) {
            ws->out_pos = 0;
            ws->out_len = 0;

            if (ws->closing) {
                ngx_http_hangar_ws_finish(ws);
                return NGX_DONE;
            }

            ngx_http_hangar_ws_compose(ws);

            if (ws->out_len == 0) {
                break;
            }
        }

        if (!c->write->ready) {
            break;
        }

        n = c->send(c, ws->out + ws->out_pos, ws->out_len - ws->out_pos);

        if (n == NGX_ERROR) {
            ngx_http_hangar_ws_finish(ws);
            return NGX_DONE;
        }

        if (n == NGX_AGAIN) {
            break;
        }

        ws->out_pos += n;
        ws->last_sent = ngx_current_msec;
    }

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        ngx_http_hangar_ws_finish(ws);
        return NGX_DONE;
    }

    return NGX_OK;
}


/* the next frames into the empty output buffer */

static void
ngx_http_hangar_ws_compose(ngx_http_hangar_ws_t *ws)
{
    u_char  *p;

    if (ws->pong_pending) {
        p = ngx_http_hangar_ws_header(ws->out, NGX_HTTP_HANGAR_WS_PONG,
                                      ws->pong_len);
        p = ngx_cpymem(p, ws->pong, ws->pong_len);
        ws->out_len = p - ws->out;
        ws->pong_pending = 0;
    }

    if (!ws->started
        && ngx_current_msec - ws->accepted >= NGX_HTTP_HANGAR_WS_FIRST)
    {
        ws->started = 1;
    }

    if (ws->started) {
        ngx_http_hangar_ws_events_out(ws);
    }

    if (ws->out_len == 0 && !ws->awaiting_pong
        && ngx_current_msec - ws->last_sent >= ngx_http_hangar_ws_ping)
    {
        (void) ngx_http_hangar_ws_text(ws, (u_char *) "{\"type\":\"ping\"}",
                                       sizeof("{\"type\":\"ping\"}") - 1);
        ws->awaiting_pong = 1;
        ws->ping_sent = ngx_current_msec;
    }
}


static void
ngx_http_hangar_ws_events_out(ngx_http_hangar_ws_t *ws)
{
    size_t                   len;
    ngx_uint_t               i, n;
    ngx_atomic_uint_t        last, oldest;
    ngx_http_hangar_event_t *e;

    last = ws->reg->sh->event_seq;

    /* the queue is how far behind the ring the subscriber is */
    if (last >= ws->next + NGX_HTTP_HANGAR_WS_QUEUE) {
        ws->dropped += last - NGX_HTTP_HANGAR_WS_QUEUE + 1 - ws->next;
        ws->next = last - NGX_HTTP_HANGAR_WS_QUEUE + 1;
    }

    while (ws->out_len + NGX_HTTP_HANGAR_WS_RENDER <= NGX_HTTP_HANGAR_WS_OUT
           && ws->next <= last)
    {
        n = ngx_http_hangar_events_read(ws->reg, ws->next, ws->ev,
                                        NGX_HTTP_HANGAR_WS_BATCH, &oldest);

        if (oldest > ws->next) {
            /* the ring lapped the subscriber: those are lost too */
            ws->dropped += oldest - ws->next;
            ws->next = oldest;
        }

        if (ws->dropped) {
            ws->dropped_total += ws->dropped;

            len = ngx_sprintf(ws->render, "{\"type\":\"warning\","
                              "\"reason\":\"slow_subscriber\","
                              "\"dropped\":%ui,\"dropped_total\":%ui,"
                              "\"next_seq\":%uA}", ws->dropped,
                              ws->dropped_total, ws->next)
                  - ws->render;

            ngx_log_error(NGX_LOG_WARN, ws->r->connection->log, 0,
                          "hangar: event subscriber too slow, %ui events "
                          "dropped", ws->dropped);

            ws->dropped = 0;
            (void) ngx_http_hangar_ws_text(ws, ws->render, len);
        }

        if (n == 0) {
            break;
        }

        for (i = 0; i < n; i++) {
            e = &ws->ev[i];

            if (e->seq < ws->next) {
                continue;
            }

            ws->next = e->seq + 1;

            if (!ngx_http_hangar_ws_match(ws, e)) {
                continue;
            }

            len = ngx_http_hangar_ws_render(ws, e);
            (void) ngx_http_hangar_ws_text(ws, ws->render, len);
        }
    }
}


/* hangar-core.md §5.3 item 4: event_types AND mcp_server_ids */

static ngx_uint_t
ngx_http_hangar_ws_match(ngx_http_hangar_ws_t *ws, ngx_http_hangar_event_t *e)
{
    ngx_uint_t  i;

    if (ws->filter_types) {
        for (i = 0; i < ws->ntypes; i++) {
            if (ngx_strcmp(ws->types[i], "*") == 0
                || ngx_strcmp(ws->types[i], e->type) == 0)
            {
                break;
            }
        }

        if (i == ws->ntypes) {
            return 0;
        }
    }

    if (ws->filter_ids) {
        if (e->id[0] == '\0') {
            return 0;
        }

        for (i = 0; i < ws->nids; i++) {
            if (ngx_strcmp(ws->ids[i], e->id) == 0) {
                break;
            }
        }

        if (i == ws->nids) {
            return 0;
        }
    }

    return 1;
}


/*
 * The envelope of hangar-core.md §5.1, flat, plus "seq" (for ?since=).
 * event_id is made of the zone's salt and the sequence: every subscriber
 * sees the same id for an event.
 */

static size_t
ngx_http_hangar_ws_render(ngx_http_hangar_ws_t *ws, ngx_http_hangar_event_t *e)
{
    u_char                         *p, *last, key[40];
    size_t                          len;
    uint32_t                        salt;
    ngx_uint_t                      i;
    ngx_http_hangar_event_field_t  *f;

    p = ws->render;
    last = ws->render + NGX_HTTP_HANGAR_WS_RENDER;
    salt = ws->reg->sh->event_salt;

    p = ngx_slprintf(p, last, "{\"event_type\":\"%s\",\"event_id\":"
                     "\"%08xD-%04xD-4%03xD-%04xD-%012xL\","
                     "\"occurred_at\":%M.%03M,\"produced_by\":\"%s\","
                     "\"seq\":%uA", e->type, salt,
                     (uint32_t) ((e->seq >> 48) & 0xffff),
                     (uint32_t) ((e->seq >> 36) & 0xfff),
                     (uint32_t) (0x8000 | (salt >> 18)),
                     (int64_t) (e->seq & 0xffffffffffffLL),
                     e->time / 1000, e->time % 1000,
                     ws->reg->sh->instance_id, e->seq);

    if (e->id[0]) {
        p = ngx_http_hangar_ws_json_str(p, last, ",\"mcp_server_id\":",
                                        e->id);
    }

    for (i = 0; i < e->nfields && i < NGX_HTTP_HANGAR_EVENT_FIELDS; i++) {
        f = &e->fields[i];
        f->key[sizeof(f->key) - 1] = '\0';
        f->str[sizeof(f->str) - 1] = '\0';

        if (f->is_num) {
            p = ngx_slprintf(p, last, ",\"%s\":%ui", f->key, f->num);
            continue;
        }

        *ngx_snprintf(key, sizeof(key) - 1, ",\"%s\":", f->key) = '\0';
        p = ngx_http_hangar_ws_json_str(p, last - 2, (char *) key, f->str);
    }

    /* the members of a JSON object formatted by the event's producer */
    e->data[sizeof(e->data) - 1] = '\0';
    len = ngx_strlen(e->data);

    if (len > 2 && e->data[0] == '{' && e->data[len - 1] == '}') {
        p = ngx_slprintf(p, last, ",%*s", len - 2, e->data + 1);
    }

    p = ngx_slprintf(p, last, "}");

    return p - ws->render;
}


/* before, then s as a JSON string; nothing of it when it may not fit */

static u_char *
ngx_http_hangar_ws_json_str(u_char *p, u_char *last, const char *before,
    u_char *s)
{
    size_t  len, n;

    len = ngx_strlen(s);
    n = ngx_strlen(before);

    /* an escaped byte takes at most 6 */
    if ((size_t) (last - p) < n + len * 6 + 2) {
        return p;
    }

    p = ngx_cpymem(p, before, n);
    *p++ = '"';
    p = (u_char *) ngx_escape_json(p, s, len);
    *p++ = '"';

    return p;
}


/* a text frame into the output buffer; 0: no room */

static ngx_uint_t
ngx_http_hangar_ws_text(ngx_http_hangar_ws_t *ws, u_char *p, size_t len)
{
    u_char  *o;

    if (ws->closing
        || NGX_HTTP_HANGAR_WS_OUT - ws->out_len < len + 10)
    {
        return 0;
    }

    o = ngx_http_hangar_ws_header(ws->out + ws->out_len,
                                  NGX_HTTP_HANGAR_WS_TEXT, len);
    o = ngx_cpymem(o, p, len);
    ws->out_len = o - ws->out;

    return 1;
}


/*
 * The close frame goes out after what is queued, then the connection
 * ends; nothing is read or queued after it.
 */

static void
ngx_http_hangar_ws_fail(ngx_http_hangar_ws_t *ws, ngx_uint_t code,
    const char *reason)
{
    u_char  *p;
    size_t   len;

    if (ws->closing) {
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ws->r->connection->log, 0,
                   "hangar ws: close %ui \"%s\"", code, reason);

    len = ngx_min(ngx_strlen(reason), 100);

    if (NGX_HTTP_HANGAR_WS_OUT - ws->out_len < len + 4 + 2
        && ws->out_pos == 0)
    {
        /* no room behind frames not yet begun: the close replaces them */
        ws->out_len = 0;
    }

    if (NGX_HTTP_HANGAR_WS_OUT - ws->out_len >= len + 4 + 2) {
        p = ngx_http_hangar_ws_header(ws->out + ws->out_len,
                                      NGX_HTTP_HANGAR_WS_CLOSE, len + 2);
        *p++ = (u_char) (code >> 8);
        *p++ = (u_char) code;
        p = ngx_cpymem(p, reason, len);
        ws->out_len = p - ws->out;
    }

    ws->closing = 1;
    ws->pong_pending = 0;
}


static void
ngx_http_hangar_ws_finish(ngx_http_hangar_ws_t *ws)
{
    if (ws->done) {
        return;
    }

    ws->done = 1;

    /* out of the tick's list now: a lingering close may still follow */
    ngx_http_hangar_ws_cleanup(ws);

    ngx_http_finalize_request(ws->r, NGX_DONE);
}


/* every worker's subscribers, every tick: events, keep-alive, exit */

static void
ngx_http_hangar_ws_tick(ngx_event_t *ev)
{
    ngx_queue_t           *q, *next;
    ngx_connection_t      *c;
    ngx_http_hangar_ws_t  *ws;

    for (q = ngx_queue_head(&ngx_http_hangar_ws_conns);
         q != ngx_queue_sentinel(&ngx_http_hangar_ws_conns);
         q = next)
    {
        next = ngx_queue_next(q);
        ws = ngx_queue_data(q, ngx_http_hangar_ws_t, queue);
        c = ws->r->connection;

        if (ngx_exiting || ngx_terminate) {
            ngx_http_hangar_ws_fail(ws, NGX_HTTP_HANGAR_WS_GOING_AWAY,
                                    "server shutting down");

        } else if (ws->awaiting_pong
                   && ngx_current_msec - ws->ping_sent
                      >= ngx_min(NGX_HTTP_HANGAR_WS_PONG_MS,
                                 ngx_http_hangar_ws_ping))
        {
            ngx_http_hangar_ws_fail(ws, NGX_HTTP_HANGAR_WS_POLICY,
                                    "no pong");
        }

        if (ngx_http_hangar_ws_pump(ws) != NGX_DONE) {
            ngx_http_run_posted_requests(c);
        }
    }

    if (!ngx_queue_empty(&ngx_http_hangar_ws_conns)) {
        ngx_add_timer(ev, NGX_HTTP_HANGAR_WS_TICK);
    }
}
