
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * What is done to one server, and what is read of it:
 * /api/mcp_servers/{id}/start, stop, block, tools, tools/history, health
 * and logs.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_api_server_ops.h"
#include "ngx_http_hangar_api_servers.h"
#include "ngx_http_hangar_client.h"
#include "ngx_http_hangar_run.h"
#include "ngx_http_hangar_state.h"


static void ngx_http_hangar_start_done(ngx_http_hangar_waiter_t *w,
    ngx_int_t rc);
static ngx_int_t ngx_http_hangar_start_answer(ngx_http_hangar_req_t *hr,
    ngx_int_t rc);
static void ngx_http_hangar_req_cleanup(void *data);
static ngx_int_t ngx_http_hangar_block_prepare(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc);
static ngx_int_t ngx_http_hangar_block_commit(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc);
static ngx_int_t ngx_http_hangar_block_answer(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc);
static void ngx_http_hangar_logs_done(ngx_http_hangar_call_t *call);
static ngx_int_t ngx_http_hangar_logs_render(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *logs);
static ngx_int_t ngx_http_hangar_logs_from_status(ngx_http_hangar_req_t *hr,
    ngx_int_t lines);


/* ?lines=N of /logs */
static ngx_http_hangar_arg_t  ngx_http_hangar_lines_arg = {
    "lines", 100, 1, 1000
};

/* ?limit=N&from_position=N of /tools/history */
static ngx_http_hangar_arg_t  ngx_http_hangar_limit_arg = {
    "limit", 100, 1, 500
};

static ngx_http_hangar_arg_t  ngx_http_hangar_from_arg = {
    "from_position", 0, 0, NGX_MAX_INT_T_VALUE
};


/* POST /api/mcp_servers/{id}/start: synchronous, like ensure_ready */

ngx_int_t
ngx_http_hangar_servers_start(ngx_http_hangar_req_t *hr)
{
    ngx_int_t                rc;
    ngx_msec_t               retry;
    ngx_uint_t               blocked;
    ngx_pool_cleanup_t      *cln;
    ngx_http_hangar_node_t  *n;

    ngx_http_hangar_lock(hr->reg);
    n = ngx_http_hangar_find(&hr->reg->sh->servers, hr->params[0].data,
                             hr->params[0].len);
    blocked = n && n->blocked;
    ngx_http_hangar_unlock(hr->reg);

    hr->waiter.id = hr->params[0];
    hr->waiter.handler = ngx_http_hangar_start_done;
    hr->waiter.data = hr;

    rc = ngx_http_hangar_ensure_ready(hr->reg, &hr->params[0], 1, &hr->waiter,
                                      hr->r->connection->log, &retry);

    /* an explicit start lifts a block, for good */
    if (blocked && rc != NGX_HTTP_HANGAR_BACKOFF) {
        ngx_http_hangar_state_flags(hr->reg, hr->r->connection->log);
    }

    if (rc == NGX_HTTP_HANGAR_BACKOFF) {
        ngx_str_t  details;
        u_char     buf[64];

        details.data = buf;
        details.len = ngx_sprintf(buf, "{\"time_until_retry_s\":%.1f}",
                                  (double) retry / 1000) - buf;

        return ngx_http_hangar_error_details(hr, 500,
                   "CannotStartMcpServerError", &details,
                   "Cannot start mcp_server: backoff not elapsed, retry in "
                   "%.1fs", (double) retry / 1000);
    }

    if (rc != NGX_AGAIN) {
        return ngx_http_hangar_start_answer(hr, rc);
    }

    cln = ngx_pool_cleanup_add(hr->r->pool, 0);
    if (cln == NULL) {
        ngx_http_hangar_waiter_cancel(&hr->waiter);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_hangar_req_cleanup;
    cln->data = hr;

    hr->r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_hangar_req_cleanup(void *data)
{
    ngx_http_hangar_req_t  *hr = data;

    ngx_http_hangar_waiter_cancel(&hr->waiter);

    if (hr->call) {
        ngx_http_hangar_call_destroy(hr->call);
        hr->call = NULL;
    }
}


static void
ngx_http_hangar_start_done(ngx_http_hangar_waiter_t *w, ngx_int_t rc)
{
    ngx_http_hangar_req_t  *hr = w->data;

    ngx_http_finalize_request(hr->r, ngx_http_hangar_start_answer(hr, rc));
}


static ngx_int_t
ngx_http_hangar_start_answer(ngx_http_hangar_req_t *hr, ngx_int_t rc)
{
    ngx_str_t  text, msg, *id;

    id = &hr->params[0];

    if (rc == NGX_HTTP_HANGAR_UNKNOWN || rc == NGX_ABORT
        || ngx_http_hangar_start_outcome(hr->reg, hr->r->pool, id, rc, &text)
           != NGX_OK)
    {
        return ngx_http_hangar_not_found(hr, id);
    }

    if (rc != NGX_OK) {
        if (ngx_http_hangar_start_failure(hr->r->pool, &text, &msg)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_hangar_error_details(hr, 500, "McpServerStartError",
                                             &text, "%V", &msg);
    }

    ngx_http_hangar_render_started(&hr->out, hr->r->pool, id, &text);

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/*
 * What a start (rc of ensure_ready) left, copied out: the server's catalog
 * when it is ready, else its start error (JSON); NGX_DECLINED: no server.
 */

ngx_int_t
ngx_http_hangar_start_outcome(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_str_t *id, ngx_int_t rc, ngx_str_t *text)
{
    ngx_http_hangar_blob_t  *blob;
    ngx_http_hangar_node_t  *n;

    ngx_str_null(text);

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, id->data, id->len);
    blob = n ? (rc == NGX_OK ? n->tools : n->error) : NULL;

    if (blob) {
        text->data = ngx_pnalloc(pool, blob->len);
        if (text->data) {
            text->len = blob->len;
            ngx_memcpy(text->data, blob->data, blob->len);
        }
    }

    ngx_http_hangar_unlock(reg);

    return n ? NGX_OK : NGX_DECLINED;
}


/*
 * A start error (text: its JSON, "{}" when there is none) as the message
 * "Failed to start mcp_server: <reason>[. Suggestion: <s>]".
 */

ngx_int_t
ngx_http_hangar_start_failure(ngx_pool_t *pool, ngx_str_t *text,
    ngx_str_t *message)
{
    u_char                   *p;
    ngx_str_t                 err, reason, sugg;
    ngx_http_hangar_value_t  *e, *m, *s;

    e = text->len ? ngx_http_hangar_json_parse(pool, text->data, text->len,
                                               &err)
                  : NULL;
    m = ngx_http_hangar_get(e, "message");
    s = ngx_http_hangar_get(e, "suggestion");

    if (e == NULL) {
        ngx_str_set(text, "{}");
    }

    if (ngx_http_hangar_is(m, NGX_HTTP_HANGAR_STR)) {
        reason = m->u.s;

    } else {
        ngx_str_set(&reason, "start timed out");
    }

    ngx_str_null(&sugg);

    if (ngx_http_hangar_is(s, NGX_HTTP_HANGAR_STR)) {
        sugg = s->u.s;
    }

    p = ngx_pnalloc(pool, reason.len + sugg.len + 64);
    if (p == NULL) {
        return NGX_ERROR;
    }

    message->data = p;
    message->len = ngx_sprintf(p, "Failed to start mcp_server: %V%s%V",
                               &reason, sugg.len ? ". Suggestion: " : "",
                               &sugg)
                   - p;

    return NGX_OK;
}


/* {"mcp_server":"id","state":"ready","tools":["names"]} */

void
ngx_http_hangar_render_started(ngx_http_hangar_out_t *out, ngx_pool_t *pool,
    ngx_str_t *id, ngx_str_t *tools)
{
    ngx_str_t                 err;
    ngx_uint_t                i, first;
    ngx_http_hangar_value_t  *list, **items, *name;

    ngx_http_hangar_out_lit(out, "{\"mcp_server\":");
    ngx_http_hangar_out_str(out, id->data, id->len);
    ngx_http_hangar_out_lit(out, ",\"state\":\"ready\",\"tools\":[");

    list = tools->len ? ngx_http_hangar_json_parse(pool, tools->data,
                                                   tools->len, &err)
                      : NULL;

    if (ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)) {
        items = list->u.arr.elts;
        first = 1;

        for (i = 0; i < list->u.arr.nelts; i++) {
            name = ngx_http_hangar_get(items[i], "name");
            if (!ngx_http_hangar_is(name, NGX_HTTP_HANGAR_STR)) {
                continue;
            }

            if (!first) {
                ngx_http_hangar_out_lit(out, ",");
            }

            first = 0;
            ngx_http_hangar_out_str(out, name->u.s.data, name->u.s.len);
        }
    }

    ngx_http_hangar_out_lit(out, "]}");
}


/* POST /api/mcp_servers/{id}/stop, optional {"reason": "..."} */

ngx_int_t
ngx_http_hangar_servers_stop(ngx_http_hangar_req_t *hr)
{
    u_char                   *reason;
    ngx_int_t                 rc;
    ngx_http_hangar_value_t  *v;

    reason = (u_char *) "user_request";

    v = ngx_http_hangar_get(hr->body, "reason");
    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR) && v->u.s.len
        && v->u.s.len < 128)
    {
        reason = v->u.s.data;    /* NUL-terminated by the parser */
    }

    rc = ngx_http_hangar_stop(hr->reg, &hr->params[0], (char *) reason, 0,
                              hr->r->connection->log);

    if (rc == NGX_DECLINED) {
        return ngx_http_hangar_not_found(hr, &hr->params[0]);
    }

    ngx_http_hangar_out_lit(&hr->out, "{\"stopped\":");
    ngx_http_hangar_out_str(&hr->out, hr->params[0].data, hr->params[0].len);
    ngx_http_hangar_out_lit(&hr->out, ",\"reason\":");
    ngx_http_hangar_out_str(&hr->out, reason, ngx_strlen(reason));
    ngx_http_hangar_out_lit(&hr->out, "}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/*
 * POST /api/mcp_servers/{id}/block: stopped, and no start until asked.
 * The block is written first; a write that fails changes nothing.
 */

ngx_int_t
ngx_http_hangar_servers_block(ngx_http_hangar_req_t *hr)
{
    ngx_http_hangar_state_op_t  *op;

    op = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_state_op_t));
    if (op == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    op->blocked = hr->params[0];
    op->prepare = ngx_http_hangar_block_prepare;
    op->commit = ngx_http_hangar_block_commit;
    op->answer = ngx_http_hangar_block_answer;

    return ngx_http_hangar_api_change(hr, op);
}


static ngx_int_t
ngx_http_hangar_block_prepare(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_http_hangar_node_t  *n;

    ngx_http_hangar_lock(op->reg);
    n = ngx_http_hangar_find(&op->reg->sh->servers, op->blocked.data,
                             op->blocked.len);
    ngx_http_hangar_unlock(op->reg);

    if (n == NULL) {
        return NGX_DECLINED;    /* answered 404 */
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_block_commit(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    if (rc == NGX_OK) {
        (void) ngx_http_hangar_stop(op->reg, &op->blocked,
                                    "detection_enforcement:block", 1,
                                    op->log);
    }

    return rc;
}


static ngx_int_t
ngx_http_hangar_block_answer(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_http_hangar_req_t  *hr = op->data;

    if (rc == NGX_DECLINED) {
        return ngx_http_hangar_not_found(hr, &op->blocked);
    }

    if (rc != NGX_OK) {
        return ngx_http_hangar_api_change_error(hr, op, rc);
    }

    ngx_http_hangar_out_lit(&hr->out, "{\"mcp_server_id\":");
    ngx_http_hangar_out_str(&hr->out, op->blocked.data, op->blocked.len);
    ngx_http_hangar_out_lit(&hr->out, ",\"blocked\":true}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* GET /api/mcp_servers/{id}/tools: the cached catalog, never a start */

ngx_int_t
ngx_http_hangar_servers_tools(ngx_http_hangar_req_t *hr)
{
    ngx_http_hangar_node_t  *n;

    n = ngx_http_hangar_route_node(hr);
    if (n == NULL) {
        return ngx_http_hangar_not_found(hr, &hr->params[0]);
    }

    ngx_http_hangar_out_lit(&hr->out, "{\"tools\":");

    if (n->tools) {
        ngx_http_hangar_out_raw(&hr->out, n->tools->data, n->tools->len);

    } else {
        ngx_http_hangar_out_lit(&hr->out, "[]");
    }

    ngx_http_hangar_unlock(hr->reg);

    ngx_http_hangar_out_lit(&hr->out, "}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/*
 * GET /api/mcp_servers/{id}/tools/history: an unknown server is a 404,
 * limit (1..500, default 100) and from_position (0 or more) out of their
 * ranges a 422 naming them.
 */

ngx_int_t
ngx_http_hangar_servers_history(ngx_http_hangar_req_t *hr)
{
    ngx_int_t                       limit, from;
    ngx_str_t                      *id;
    ngx_uint_t                      i, count, size, known;
    ngx_atomic_uint_t               seq;
    ngx_http_hangar_out_t          *out;
    ngx_http_hangar_registry_t     *reg;
    ngx_http_hangar_record_call_t  *h;

    reg = hr->reg;
    id = &hr->params[0];
    out = &hr->out;

    ngx_http_hangar_lock(reg);
    known = ngx_http_hangar_find(&reg->sh->servers, id->data, id->len)
            != NULL;
    ngx_http_hangar_unlock(reg);

    if (!known) {
        return ngx_http_hangar_not_found(hr, id);
    }

    if (ngx_http_hangar_int_arg(hr->r, &ngx_http_hangar_limit_arg, &limit)
        != NGX_OK)
    {
        return ngx_http_hangar_arg_error(hr, &ngx_http_hangar_limit_arg);
    }

    if (ngx_http_hangar_int_arg(hr->r, &ngx_http_hangar_from_arg, &from)
        != NGX_OK)
    {
        return ngx_http_hangar_arg_error(hr, &ngx_http_hangar_from_arg);
    }

    ngx_http_hangar_out_lit(out, "{\"mcp_server_id\":");
    ngx_http_hangar_out_str(out, id->data, id->len);
    ngx_http_hangar_out_lit(out, ",\"history\":[");

    count = 0;

    ngx_http_hangar_lock(reg);

    size = reg->sh->history_size;
    seq = reg->sh->history_seq;

    /* oldest first: the ring from the slot after the newest */
    for (i = (seq > size) ? seq - size + 1 : 1;
         i <= seq && count < (ngx_uint_t) limit;
         i++)
    {
        h = &reg->sh->history[i % size];

        if (h->seq != i || h->position < (ngx_uint_t) from
            || ngx_strlen(h->server) != id->len
            || ngx_strncmp(h->server, id->data, id->len) != 0)
        {
            continue;
        }

        if (count++) {
            ngx_http_hangar_out_lit(out, ",");
        }

        ngx_http_hangar_out_printf(out,
            "{\"event_type\":\"%s\",\"event_id\":\"%s\",\"occurred_at\":",
            h->failed ? "ToolInvocationFailed" : "ToolInvocationCompleted",
            h->event_id);
        ngx_http_hangar_out_num(out, (double) h->time / 1000);
        ngx_http_hangar_out_printf(out, ",\"produced_by\":\"%s\","
                                   "\"mcp_server_id\":", reg->sh->instance_id);
        ngx_http_hangar_out_str(out, h->server, ngx_strlen(h->server));
        ngx_http_hangar_out_lit(out, ",\"tool_name\":");
        ngx_http_hangar_out_str(out, h->tool, ngx_strlen(h->tool));
        ngx_http_hangar_out_printf(out, ",\"correlation_id\":\"%s\","
                                   "\"duration_ms\":", h->correlation_id);
        ngx_http_hangar_out_num(out, (double) h->duration_us / 1000);

        if (h->failed) {
            ngx_http_hangar_out_lit(out, ",\"error_message\":");
            ngx_http_hangar_out_str(out, h->error, ngx_strlen(h->error));
            ngx_http_hangar_out_lit(out, ",\"error_type\":");
            ngx_http_hangar_out_str(out, h->error_type,
                                    ngx_strlen(h->error_type));

        } else {
            ngx_http_hangar_out_printf(out, ",\"result_size_bytes\":%uz",
                                       h->size);
        }

        ngx_http_hangar_out_printf(out, ",\"position\":%ui,"
                                   "\"identity_context\":null}",
                                   h->position);
    }

    ngx_http_hangar_unlock(reg);

    ngx_http_hangar_out_printf(out, "],\"total\":%ui}", count);

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* GET /api/mcp_servers/{id}/health */

ngx_int_t
ngx_http_hangar_servers_health(ngx_http_hangar_req_t *hr)
{
    ngx_http_hangar_node_t  *n;

    n = ngx_http_hangar_route_node(hr);
    if (n == NULL) {
        return ngx_http_hangar_not_found(hr, &hr->params[0]);
    }

    ngx_http_hangar_render_health(&hr->out, n, ngx_http_hangar_now_ms());

    ngx_http_hangar_unlock(hr->reg);

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/*
 * GET /api/mcp_servers/{id}/logs?lines=N: from the bridge while it runs,
 * else the stderr tail its status file kept.
 */

ngx_int_t
ngx_http_hangar_servers_logs(ngx_http_hangar_req_t *hr)
{
    ngx_int_t                lines;
    ngx_str_t                sock;
    ngx_uint_t               running;
    ngx_pool_cleanup_t      *cln;
    ngx_http_hangar_call_t  *call;
    ngx_http_hangar_node_t  *n;

    ngx_http_hangar_lock(hr->reg);
    n = ngx_http_hangar_find(&hr->reg->sh->servers, hr->params[0].data,
                             hr->params[0].len);
    running = n && n->bridge_pid;
    hr->seq = n ? n->bridge_seq : 0;
    ngx_http_hangar_unlock(hr->reg);

    if (n == NULL) {
        return ngx_http_hangar_not_found(hr, &hr->params[0]);
    }

    if (ngx_http_hangar_int_arg(hr->r, &ngx_http_hangar_lines_arg, &lines)
        != NGX_OK)
    {
        return ngx_http_hangar_arg_error(hr, &ngx_http_hangar_lines_arg);
    }

    if (!running) {
        return ngx_http_hangar_logs_from_status(hr, lines);
    }

    call = ngx_http_hangar_call_create(hr->r->connection->log);
    if (call == NULL
        || ngx_http_hangar_run_path(call->pool, &hr->reg->hmcf->state_dir,
                                    hr->params[0].data, hr->params[0].len,
                                    hr->seq, "sock", &sock)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    call->target.len = sock.len + 5;
    call->target.data = ngx_pnalloc(call->pool, call->target.len);
    call->uri.data = ngx_pnalloc(call->pool, 32);
    if (call->target.data == NULL || call->uri.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_sprintf(call->target.data, "unix:%V", &sock);
    call->uri.len = ngx_sprintf(call->uri.data, "/logs?lines=%i", lines)
                    - call->uri.data;
    call->method = "GET";
    call->read_timeout = 5000;
    call->handler = ngx_http_hangar_logs_done;
    call->data = hr;

    cln = ngx_pool_cleanup_add(hr->r->pool, 0);
    if (cln == NULL) {
        ngx_http_hangar_call_destroy(call);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_hangar_req_cleanup;
    cln->data = hr;
    hr->call = call;

    hr->r->main->count++;

    (void) ngx_http_hangar_call_start(call);

    return NGX_DONE;
}


static void
ngx_http_hangar_logs_done(ngx_http_hangar_call_t *call)
{
    ngx_int_t                 rc, lines;
    ngx_str_t                 err;
    ngx_http_hangar_req_t    *hr;
    ngx_http_hangar_value_t  *doc;

    hr = call->data;

    doc = NULL;
    if (call->rc == NGX_OK && call->status == 200) {
        doc = ngx_http_hangar_json_parse(hr->r->pool, call->response.data,
                                         call->response.len, &err);
    }

    /* the call's pool goes with the request's cleanup */
    if (doc) {
        rc = ngx_http_hangar_logs_render(hr, ngx_http_hangar_get(doc, "logs"));

    } else {
        /* checked when the request came */
        (void) ngx_http_hangar_int_arg(hr->r, &ngx_http_hangar_lines_arg,
                                       &lines);
        rc = ngx_http_hangar_logs_from_status(hr, lines);
    }

    ngx_http_finalize_request(hr->r, rc);
}


/* {"logs":[{mcp_server_id, stream, content, recorded_at}], ...} */

static ngx_int_t
ngx_http_hangar_logs_render(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *logs)
{
    ngx_uint_t                 i, count;
    ngx_http_hangar_out_t     *out;
    ngx_http_hangar_value_t  **items, *stream, *content, *at;

    out = &hr->out;
    count = 0;

    ngx_http_hangar_out_lit(out, "{\"logs\":[");

    if (ngx_http_hangar_is(logs, NGX_HTTP_HANGAR_ARR)) {
        items = logs->u.arr.elts;

        for (i = 0; i < logs->u.arr.nelts; i++) {
            stream = ngx_http_hangar_get(items[i], "stream");
            content = ngx_http_hangar_get(items[i], "content");
            at = ngx_http_hangar_get(items[i], "recorded_at");

            if (!ngx_http_hangar_is(content, NGX_HTTP_HANGAR_STR)) {
                continue;
            }

            if (count) {
                ngx_http_hangar_out_lit(out, ",");
            }

            ngx_http_hangar_out_lit(out, "{\"mcp_server_id\":");
            ngx_http_hangar_out_str(out, hr->params[0].data,
                                    hr->params[0].len);
            ngx_http_hangar_out_lit(out, ",\"stream\":");
            if (ngx_http_hangar_is(stream, NGX_HTTP_HANGAR_STR)) {
                ngx_http_hangar_out_str(out, stream->u.s.data,
                                        stream->u.s.len);
            } else {
                ngx_http_hangar_out_lit(out, "\"stderr\"");
            }

            ngx_http_hangar_out_lit(out, ",\"content\":");
            ngx_http_hangar_out_str(out, content->u.s.data, content->u.s.len);
            ngx_http_hangar_out_lit(out, ",\"recorded_at\":");
            if (at) {
                ngx_http_hangar_json_out(out, at);
            } else {
                ngx_http_hangar_out_lit(out, "null");
            }
            ngx_http_hangar_out_lit(out, "}");
            count++;
        }
    }

    ngx_http_hangar_out_lit(out, "],\"mcp_server_id\":");
    ngx_http_hangar_out_str(out, hr->params[0].data, hr->params[0].len);
    ngx_http_hangar_out_printf(out, ",\"count\":%ui}", count);

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


static ngx_int_t
ngx_http_hangar_logs_from_status(ngx_http_hangar_req_t *hr, ngx_int_t lines)
{
    u_char                   *p, *last, *eol;
    ngx_int_t                 total, skip;
    ngx_pool_t               *pool;
    ngx_http_hangar_value_t  *st, *tail, *logs, *e, *at;

    pool = hr->r->pool;
    logs = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_ARR);
    if (logs == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    st = ngx_http_hangar_run_status(pool, hr->reg, hr->params[0].data,
                                    hr->params[0].len, hr->seq);

    tail = ngx_http_hangar_get(st, "stderr_tail");
    at = ngx_http_hangar_get(st, "ready_at");

    if (ngx_http_hangar_is(tail, NGX_HTTP_HANGAR_STR)) {
        p = tail->u.s.data;
        last = p + tail->u.s.len;

        for (total = 0, eol = p; eol < last; eol++) {
            total += (*eol == '\n');
        }
        total += (last > p && last[-1] != '\n');
        skip = total > lines ? total - lines : 0;

        while (p < last) {
            eol = ngx_strlchr(p, last, '\n');
            if (eol == NULL) {
                eol = last;
            }

            if (skip) {
                skip--;

            } else {
                e = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
                if (e == NULL
                    || ngx_http_hangar_set(pool, e, (u_char *) "content", 7,
                           ngx_http_hangar_value_str(pool, p, eol - p))
                       != NGX_OK
                    || (at && ngx_http_hangar_set(pool, e,
                                  (u_char *) "recorded_at", 11, at) != NGX_OK)
                    || ngx_http_hangar_push(logs, e) != NGX_OK)
                {
                    return NGX_HTTP_INTERNAL_SERVER_ERROR;
                }
            }

            p = eol + 1;
        }
    }

    return ngx_http_hangar_logs_render(hr, logs);
}


