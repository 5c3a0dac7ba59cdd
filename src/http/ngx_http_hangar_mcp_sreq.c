
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Server-to-client requests through the front door.  A request a server
 * sends during a call goes to the call's client with its id rewritten to
 *
 *     "hangar1." <base64url server> "." <base64url id JSON> "." <HMAC>
 *
 * where the HMAC (hex, of the session id and what precedes) binds it to
 * the session: whichever worker receives the client's answer checks it,
 * restores the server's id and sends the answer to that server in the
 * module's session with it.  A client that did not declare the needed
 * capability at initialize (kept in its session id) never sees the
 * request: hangar answers the server with an error at once.
 *
 * A request outside any call (on the module's GET stream with the server)
 * goes, the same way, to the GET stream of the session whose call went to
 * that server last, if it holds one in any worker and can answer; else
 * the server gets an error at once.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_md5.h>
#include "ngx_http_hangar_mcp_sreq.h"
#include "ngx_http_hangar_job.h"
#include "ngx_http_hangar_mailbox.h"


/* ready servers a cancellation of an unknown call goes to, at most */
#define NGX_HTTP_HANGAR_SREQ_FANOUT  64


/* this worker's calls in flight, for notifications/cancelled */
static ngx_queue_t  ngx_http_hangar_sreq_calls;


static int64_t ngx_http_hangar_sreq_upstream_id(ngx_str_t *sid,
    ngx_http_hangar_value_t *id, ngx_pool_t *pool);
static ngx_int_t ngx_http_hangar_sreq_answer(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_sid_t *sid, ngx_http_hangar_value_t *body);
static ngx_int_t ngx_http_hangar_sreq_cancelled(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_sid_t *sid, ngx_http_hangar_value_t *params);
static ngx_int_t ngx_http_hangar_sreq_cancel(ngx_http_hangar_req_t *hr,
    ngx_str_t *server, int64_t upstream, ngx_http_hangar_value_t *reason);
static ngx_uint_t ngx_http_hangar_sreq_need(ngx_http_hangar_value_t *msg,
    ngx_str_t *method, const char **what);
static ngx_int_t ngx_http_hangar_sreq_refuse(ngx_http_hangar_req_t *hr,
    ngx_str_t *server, ngx_http_hangar_value_t *id, const char *what);
static ngx_int_t ngx_http_hangar_sreq_id(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_log_t *log, ngx_str_t *sid, ngx_str_t *server,
    ngx_http_hangar_value_t *id, ngx_str_t *out);
static void ngx_http_hangar_sreq_copy(ngx_http_hangar_out_t *out,
    ngx_http_hangar_value_t *msg, ngx_http_hangar_value_t *id,
    ngx_str_t *text);
static ngx_int_t ngx_http_hangar_sreq_decode(ngx_http_hangar_req_t *hr,
    ngx_str_t *sid, ngx_str_t *text, ngx_str_t *server, ngx_str_t *id);
static ngx_int_t ngx_http_hangar_sreq_send(ngx_http_hangar_req_t *hr,
    ngx_str_t *server, ngx_http_hangar_out_t *out);


/*
 * The capabilities of the session a request names (checked before), and
 * its canonical id: "hs3-" <24 hex> <2 hex caps> "-" <mac>.
 */

ngx_uint_t
ngx_http_hangar_sreq_caps(ngx_http_request_t *r, ngx_str_t *sid)
{
    u_char      *p;
    ngx_str_t   *h;
    ngx_int_t    caps;

    ngx_str_null(sid);

    h = ngx_http_hangar_header(r, "Mcp-Session-Id");
    if (h == NULL || h->len != NGX_HTTP_HANGAR_SID_LEN) {
        return 0;
    }

    p = ngx_pnalloc(r->pool, h->len);
    if (p == NULL) {
        return 0;
    }

    ngx_strlow(p, h->data, h->len);
    sid->data = p;
    sid->len = h->len;

    caps = ngx_hextoi(p + NGX_HTTP_HANGAR_SID_BODY - NGX_HTTP_HANGAR_SID_CAPS,
                      NGX_HTTP_HANGAR_SID_CAPS);

    return caps == NGX_ERROR ? 0 : (ngx_uint_t) caps;
}


/*
 * The id a client's call goes upstream with: the same on every worker
 * for the same session and client id, so that a cancellation received
 * anywhere names it; 53 bits, exact in every JSON implementation.
 */

static int64_t
ngx_http_hangar_sreq_upstream_id(ngx_str_t *sid, ngx_http_hangar_value_t *id,
    ngx_pool_t *pool)
{
    u_char     md[16];
    int64_t    v;
    ngx_str_t  text;
    ngx_md5_t  md5;

    if (ngx_http_hangar_json_text(pool, id, &text) != NGX_OK) {
        ngx_str_null(&text);
    }

    ngx_md5_init(&md5);
    ngx_md5_update(&md5, sid->data, sid->len);
    ngx_md5_update(&md5, ".", 1);
    ngx_md5_update(&md5, text.data, text.len);
    ngx_md5_final(md, &md5);

    ngx_memcpy(&v, md, sizeof(v));

    /* 2 and up: 1 is what a server's own handshake may use */
    return (v & 0x1fffffffffffffLL) | 2;
}


/*
 * A call of this worker, once it went out: its upstream id is derived
 * from the session and the client's id, so that a cancellation received
 * by any worker names it.
 */

void
ngx_http_hangar_sreq_track(ngx_http_hangar_sreq_call_t *sc,
    ngx_http_hangar_value_t *id, void *handle, ngx_pool_t *pool)
{
    ngx_http_hangar_registry_t  *reg;

    if (handle == NULL) {
        return;
    }

    /* who may be asked what the server asks outside calls */
    reg = ngx_http_hangar_registry();

    if (reg) {
        ngx_http_hangar_mailbox_caller(reg, sc->server, &sc->sid);
    }

    if (sc->sid.len == 0) {
        return;
    }

    /* a call tracked again (failed over to another member): moved */
    ngx_http_hangar_sreq_untrack(sc);

    sc->upstream = ngx_http_hangar_sreq_upstream_id(&sc->sid, id, pool);
    ngx_http_hangar_server_call_id(handle, sc->upstream);

    if (ngx_http_hangar_sreq_calls.next == NULL) {
        ngx_queue_init(&ngx_http_hangar_sreq_calls);
    }

    ngx_queue_insert_tail(&ngx_http_hangar_sreq_calls, &sc->queue);
    sc->queued = 1;
}


void
ngx_http_hangar_sreq_untrack(ngx_http_hangar_sreq_call_t *sc)
{
    if (sc->queued) {
        ngx_queue_remove(&sc->queue);
        sc->queued = 0;
    }
}


/*
 * A call whose client is gone (its request ends before the answer): the
 * server is told, as by notifications/cancelled, and the call ends.  No
 * request pool here: it is being freed.
 */

void
ngx_http_hangar_sreq_gone(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_sreq_call_t *sc, void *handle)
{
    u_char     buf[192];
    ngx_str_t  text;

    ngx_http_hangar_sreq_untrack(sc);

    if (sc->upstream) {
        text.data = buf;
        text.len = ngx_snprintf(buf, sizeof(buf), "{\"jsonrpc\":\"2.0\","
                                "\"method\":\"notifications/cancelled\","
                                "\"params\":{\"requestId\":%L,\"reason\":"
                                "\"the client went away\"}}", sc->upstream)
                   - buf;

        (void) ngx_http_hangar_server_send(reg, sc->server, &text,
                                           ngx_cycle->log);
    }

    ngx_http_hangar_server_call_end(handle);
}


/*
 * A message the client POSTs that is no request: a response (to a
 * server's request relayed to this session), notifications/cancelled, or
 * another notification (taken and dropped).  202, or why not.
 */

ngx_int_t
ngx_http_hangar_sreq_message(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *body, ngx_http_hangar_value_t *method,
    ngx_http_hangar_value_t *params)
{
    ngx_int_t              rc;
    ngx_uint_t             cancel;
    ngx_http_hangar_sid_t  sid;

    cancel = ngx_http_hangar_is(method, NGX_HTTP_HANGAR_STR)
             && ngx_http_hangar_str_is(&method->u.s,
                                       "notifications/cancelled");

    if (!cancel && (method || ngx_http_hangar_get(body, "id") == NULL)) {
        return ngx_http_hangar_send(hr, NGX_HTTP_ACCEPTED);
    }

    rc = ngx_http_hangar_session_find(hr, &sid);
    if (rc != NGX_OK) {
        return ngx_http_hangar_session_refuse(hr, rc);
    }

    if (cancel) {
        return ngx_http_hangar_sreq_cancelled(hr, &sid, params);
    }

    return ngx_http_hangar_sreq_answer(hr, &sid, body);
}


/*
 * notifications/cancelled: a call of this worker ends at once and its
 * server is told; one of another worker ends when its server answers the
 * cancellation (which goes to every ready server then).
 */

static ngx_int_t
ngx_http_hangar_sreq_cancelled(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_sid_t *sid, ngx_http_hangar_value_t *params)
{
    int64_t                       upstream;
    ngx_queue_t                  *q;
    ngx_http_hangar_value_t      *rid;
    ngx_http_hangar_sreq_call_t  *sc;

    rid = ngx_http_hangar_get(params, "requestId");

    if (rid == NULL
        || (rid->type != NGX_HTTP_HANGAR_INT
            && rid->type != NGX_HTTP_HANGAR_STR))
    {
        return ngx_http_hangar_send(hr, NGX_HTTP_ACCEPTED);
    }

    upstream = ngx_http_hangar_sreq_upstream_id(&sid->text, rid,
                                                hr->r->pool);
    sc = NULL;

    for (q = ngx_http_hangar_sreq_calls.next
             ? ngx_queue_head(&ngx_http_hangar_sreq_calls) : NULL;
         q && q != ngx_queue_sentinel(&ngx_http_hangar_sreq_calls) && !sc;
         q = ngx_queue_next(q))
    {
        sc = ngx_queue_data(q, ngx_http_hangar_sreq_call_t, queue);

        if (sc->upstream != upstream || sc->sid.len != sid->text.len
            || ngx_strncmp(sc->sid.data, sid->text.data, sc->sid.len) != 0)
        {
            sc = NULL;
        }
    }

    if (ngx_http_hangar_sreq_cancel(hr, sc ? sc->server : NULL, upstream,
                                    ngx_http_hangar_get(params, "reason"))
        == NGX_ERROR)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (sc) {
        sc->cancel(sc->data);
    }

    return ngx_http_hangar_send(hr, NGX_HTTP_ACCEPTED);
}


/* what a server request needs of the client, and its name for messages */

static ngx_uint_t
ngx_http_hangar_sreq_need(ngx_http_hangar_value_t *msg, ngx_str_t *method,
    const char **what)
{
    ngx_http_hangar_value_t  *mode;

    if (ngx_http_hangar_str_is(method, "sampling/createMessage")) {
        *what = "sampling";
        return NGX_HTTP_HANGAR_CAP_SAMPLING;
    }

    if (ngx_http_hangar_str_is(method, "roots/list")) {
        *what = "roots";
        return NGX_HTTP_HANGAR_CAP_ROOTS;
    }

    if (ngx_http_hangar_str_is(method, "elicitation/create")) {
        mode = ngx_http_hangar_get(ngx_http_hangar_get(msg, "params"),
                                   "mode");

        if (ngx_http_hangar_is(mode, NGX_HTTP_HANGAR_STR)
            && ngx_http_hangar_str_is(&mode->u.s, "url"))
        {
            *what = "elicitation (url mode)";
            return NGX_HTTP_HANGAR_CAP_URL;
        }

        *what = "elicitation";
        return NGX_HTTP_HANGAR_CAP_FORM;
    }

    *what = NULL;
    return 0;
}


/*
 * A message of a call that is a server's request: NGX_OK with the message
 * for the client in "out"; NGX_DECLINED when hangar answered the server
 * itself (the client lacks the capability); NGX_ERROR.
 */

ngx_int_t
ngx_http_hangar_sreq_relay(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_sreq_call_t *sc, ngx_http_hangar_value_t *msg,
    ngx_http_hangar_out_t *out)
{
    ngx_str_t                 text;
    ngx_uint_t                need;
    const char               *what;
    ngx_http_hangar_value_t  *id, *method;

    id = ngx_http_hangar_get(msg, "id");
    method = ngx_http_hangar_get(msg, "method");

    if (!ngx_http_hangar_is(method, NGX_HTTP_HANGAR_STR)) {
        return NGX_DECLINED;
    }

    need = ngx_http_hangar_sreq_need(msg, &method->u.s, &what);

    if (sc->sid.len == 0 || (sc->caps & need) != need) {
        return ngx_http_hangar_sreq_refuse(hr, sc->server, id, what);
    }

    if (ngx_http_hangar_sreq_id(hr->reg, hr->r->pool, hr->r->connection->log,
                                &sc->sid, sc->server, id, &text)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_hangar_out_init(out, hr->r->pool, 512);
    ngx_http_hangar_sreq_copy(out, msg, id, &text);

    return NGX_OK;
}


/* the message as it came, with the id the client answers */

static void
ngx_http_hangar_sreq_copy(ngx_http_hangar_out_t *out,
    ngx_http_hangar_value_t *msg, ngx_http_hangar_value_t *id,
    ngx_str_t *text)
{
    ngx_uint_t               i;
    ngx_http_hangar_pair_t  *pair;

    ngx_http_hangar_out_lit(out, "{");

    pair = msg->u.obj.elts;

    for (i = 0; i < msg->u.obj.nelts; i++) {
        if (i) {
            ngx_http_hangar_out_lit(out, ",");
        }

        ngx_http_hangar_out_str(out, pair[i].key.data, pair[i].key.len);
        ngx_http_hangar_out_lit(out, ":");

        if (pair[i].value == id) {
            ngx_http_hangar_out_str(out, text->data, text->len);

        } else {
            ngx_http_hangar_json_out(out, pair[i].value);
        }
    }

    ngx_http_hangar_out_lit(out, "}");
}


/*
 * A server's request outside any call (the lifecycle's listener hands it
 * over): to the GET stream of the session of the last call to that
 * server, through the mailbox (any worker may hold the stream).  NGX_OK:
 * it went; NGX_DECLINED: no such session can take it (no call yet, a
 * call of no session, no GET stream, not the capability): the caller
 * answers the server with an error.
 */

ngx_int_t
ngx_http_hangar_sreq_idle(ngx_http_hangar_registry_t *reg, ngx_str_t *server,
    ngx_http_hangar_value_t *msg)
{
    u_char                    key[NGX_HTTP_HANGAR_MAILBOX_KEY];
    ngx_int_t                 caps, rc;
    ngx_str_t                 sid, text, json;
    ngx_uint_t                need;
    ngx_pool_t               *pool;
    const char               *what;
    ngx_http_hangar_out_t     out;
    ngx_http_hangar_value_t  *id, *method;

    id = ngx_http_hangar_get(msg, "id");
    method = ngx_http_hangar_get(msg, "method");

    if (id == NULL || !ngx_http_hangar_is(method, NGX_HTTP_HANGAR_STR)) {
        return NGX_DECLINED;
    }

    sid.data = key;

    if (ngx_http_hangar_mailbox_last_caller(reg, server, &sid) != NGX_OK
        || sid.len != NGX_HTTP_HANGAR_SID_LEN)
    {
        return NGX_DECLINED;
    }

    need = ngx_http_hangar_sreq_need(msg, &method->u.s, &what);
    caps = ngx_hextoi(sid.data + NGX_HTTP_HANGAR_SID_BODY
                      - NGX_HTTP_HANGAR_SID_CAPS, NGX_HTTP_HANGAR_SID_CAPS);

    if (caps == NGX_ERROR || ((ngx_uint_t) caps & need) != need
        || ngx_http_hangar_streams_held(reg, &sid) == 0)
    {
        return NGX_DECLINED;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;

    if (ngx_http_hangar_sreq_id(reg, pool, ngx_cycle->log, &sid, server, id,
                                &text)
        == NGX_OK)
    {
        ngx_http_hangar_out_init(&out, pool, 512);
        ngx_http_hangar_sreq_copy(&out, msg, id, &text);

        if (ngx_http_hangar_out_flatten(&out, &json) == NGX_OK
            && ngx_http_hangar_mailbox_post(reg, &sid, &json) == NGX_OK)
        {
            rc = NGX_OK;
        }
    }

    ngx_destroy_pool(pool);

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "hangar: \"%V\" asked for %s outside any call: %s", server,
                  what ? what : "a request",
                  rc == NGX_OK ? "sent to the GET stream of its last caller"
                               : "it could not be queued");

    return rc;
}


/* the client cannot answer it: the server is answered at once */

static ngx_int_t
ngx_http_hangar_sreq_refuse(ngx_http_hangar_req_t *hr, ngx_str_t *server,
    ngx_http_hangar_value_t *id, const char *what)
{
    ngx_http_hangar_out_t  out;

    ngx_http_hangar_out_init(&out, hr->r->pool, 256);
    ngx_http_hangar_out_lit(&out, "{\"jsonrpc\":\"2.0\",\"id\":");
    ngx_http_hangar_json_out(&out, id);
    ngx_http_hangar_out_printf(&out, ",\"error\":{\"code\":-32601,"
                               "\"message\":\"the client does not support "
                               "%s\"}}", what ? what : "server requests");

    ngx_log_error(NGX_LOG_INFO, hr->r->connection->log, 0,
                  "hangar: \"%V\" asked the client for %s, which it did not "
                  "declare: answered with an error", server,
                  what ? what : "a request");

    if (ngx_http_hangar_sreq_send(hr, server, &out) == NGX_ERROR) {
        return NGX_ERROR;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_hangar_sreq_send(ngx_http_hangar_req_t *hr, ngx_str_t *server,
    ngx_http_hangar_out_t *out)
{
    ngx_str_t  text;

    if (ngx_http_hangar_out_flatten(out, &text) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_hangar_server_send(hr->reg, server, &text,
                                       hr->r->connection->log);
}


/* "hangar1." <b64u server> "." <b64u id> "." <hex HMAC> */

static ngx_int_t
ngx_http_hangar_sreq_id(ngx_http_hangar_registry_t *reg, ngx_pool_t *pool,
    ngx_log_t *log, ngx_str_t *sid, ngx_str_t *server,
    ngx_http_hangar_value_t *id, ngx_str_t *out)
{
    u_char     *key;
    ngx_str_t   raw;

    key = ngx_http_hangar_session_key_in(reg, pool, log);

    if (key == NULL || ngx_http_hangar_json_text(pool, id, &raw) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_hangar_wire_sreq_encode(pool, key, sid, server, &raw, out);
}


/* an id of ours, checked: the server and its id (JSON); else NGX_DECLINED */

static ngx_int_t
ngx_http_hangar_sreq_decode(ngx_http_hangar_req_t *hr, ngx_str_t *sid,
    ngx_str_t *text, ngx_str_t *server, ngx_str_t *id)
{
    u_char  *key;

    key = ngx_http_hangar_session_key_get(hr);
    if (key == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_hangar_wire_sreq_decode(hr->r->pool, key, sid, text,
                                            server, id);
}


/*
 * A JSON-RPC response the client POSTed: to a server's request relayed to
 * this session, whichever worker relayed it.  202 once it is sent on.
 */

static ngx_int_t
ngx_http_hangar_sreq_answer(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_sid_t *sid, ngx_http_hangar_value_t *body)
{
    ngx_int_t                 rc;
    ngx_str_t                 server, raw, msg, err;
    ngx_uint_t                i;
    ngx_http_hangar_out_t     out;
    ngx_http_hangar_pair_t   *pair;
    ngx_http_hangar_value_t  *id, *sid_id;

    id = ngx_http_hangar_get(body, "id");

    rc = NGX_DECLINED;

    if (ngx_http_hangar_is(id, NGX_HTTP_HANGAR_STR)
        && (ngx_http_hangar_get(body, "result")
            || ngx_http_hangar_get(body, "error")))
    {
        rc = ngx_http_hangar_sreq_decode(hr, &sid->text, &id->u.s, &server,
                                         &raw);
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sid_id = NULL;

    if (rc == NGX_OK) {
        sid_id = ngx_http_hangar_json_parse(hr->r->pool, raw.data, raw.len,
                                            &err);
    }

    if (sid_id == NULL) {
        ngx_str_set(&msg, "Invalid Request: no server request with this id");
        return ngx_http_hangar_mcp_error(hr, NGX_HTTP_BAD_REQUEST, NULL,
                                         -32600, &msg);
    }

    /* the answer as it came, with the server's own id */
    ngx_http_hangar_out_init(&out, hr->r->pool, 512);
    ngx_http_hangar_out_lit(&out, "{");

    pair = body->u.obj.elts;

    for (i = 0; i < body->u.obj.nelts; i++) {
        if (i) {
            ngx_http_hangar_out_lit(&out, ",");
        }

        ngx_http_hangar_out_str(&out, pair[i].key.data, pair[i].key.len);
        ngx_http_hangar_out_lit(&out, ":");
        ngx_http_hangar_json_out(&out, pair[i].value == id ? sid_id
                                                           : pair[i].value);
    }

    ngx_http_hangar_out_lit(&out, "}");

    rc = ngx_http_hangar_sreq_send(hr, &server, &out);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_str_set(&msg, "the MCP server that asked is not running");
        return ngx_http_hangar_mcp_error(hr, NGX_HTTP_BAD_REQUEST, NULL,
                                         -32600, &msg);
    }

    return ngx_http_hangar_send(hr, NGX_HTTP_ACCEPTED);
}


/*
 * notifications/cancelled for the upstream id of a client's call: to the
 * server of the call, or, when no worker here knows it, to every ready
 * server (one that has no such request ignores it).
 */

static ngx_int_t
ngx_http_hangar_sreq_cancel(ngx_http_hangar_req_t *hr, ngx_str_t *server,
    int64_t upstream, ngx_http_hangar_value_t *reason)
{
    u_char                      *ids;
    size_t                       len[NGX_HTTP_HANGAR_SREQ_FANOUT];
    ngx_str_t                    text, id;
    ngx_uint_t                   i, n;
    ngx_queue_t                 *q;
    ngx_http_hangar_out_t        out;
    ngx_http_hangar_node_t      *node;
    ngx_http_hangar_registry_t  *reg;

    ngx_http_hangar_out_init(&out, hr->r->pool, 256);
    ngx_http_hangar_out_printf(&out, "{\"jsonrpc\":\"2.0\",\"method\":"
                               "\"notifications/cancelled\",\"params\":"
                               "{\"requestId\":%L", upstream);

    if (ngx_http_hangar_is(reason, NGX_HTTP_HANGAR_STR)) {
        ngx_http_hangar_out_lit(&out, ",\"reason\":");
        ngx_http_hangar_json_out(&out, reason);
    }

    ngx_http_hangar_out_lit(&out, "}}");

    if (ngx_http_hangar_out_flatten(&out, &text) != NGX_OK) {
        return NGX_ERROR;
    }

    if (server) {
        return ngx_http_hangar_server_send(hr->reg, server, &text,
                                           hr->r->connection->log)
               == NGX_ERROR ? NGX_ERROR : NGX_OK;
    }

    /* copied out under the lock into memory taken before it */
    ids = ngx_pnalloc(hr->r->pool,
                      NGX_HTTP_HANGAR_SREQ_FANOUT * NGX_HTTP_HANGAR_ID_MAX);
    if (ids == NULL) {
        return NGX_ERROR;
    }

    reg = hr->reg;
    n = 0;

    ngx_http_hangar_lock(reg);

    for (q = ngx_queue_head(&reg->sh->servers.queue);
         q != ngx_queue_sentinel(&reg->sh->servers.queue)
         && n < NGX_HTTP_HANGAR_SREQ_FANOUT;
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        if (node->state == NGX_HTTP_HANGAR_READY) {
            len[n] = ngx_min(node->id_len, NGX_HTTP_HANGAR_ID_MAX);
            ngx_memcpy(ids + n * NGX_HTTP_HANGAR_ID_MAX, node->id, len[n]);
            n++;
        }
    }

    ngx_http_hangar_unlock(reg);

    for (i = 0; i < n; i++) {
        id.data = ids + i * NGX_HTTP_HANGAR_ID_MAX;
        id.len = len[i];

        if (ngx_http_hangar_server_send(reg, &id, &text,
                                        hr->r->connection->log)
            == NGX_ERROR)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
