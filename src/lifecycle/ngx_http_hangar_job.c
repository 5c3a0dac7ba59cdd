
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Jobs: the start (handshake and catalog), health checks, catalog
 * refreshes, list_changed listeners and clients' calls, each a chain of
 * JSON-RPC calls over the asynchronous client, ending in job_done() which
 * moves the shared state.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include "ngx_http_hangar_job.h"


static void ngx_http_hangar_job_timeout(ngx_event_t *ev);
static ngx_int_t ngx_http_hangar_job_target(ngx_http_hangar_job_t *job);
static void ngx_http_hangar_rpc_done(ngx_http_hangar_call_t *call);
static void ngx_http_hangar_notify_done(ngx_http_hangar_call_t *call);
static void ngx_http_hangar_rpc_event(ngx_http_hangar_call_t *call,
    ngx_http_hangar_value_t *msg);
static void ngx_http_hangar_step_tools(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg);
static void ngx_http_hangar_step_ping(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg);
static void ngx_http_hangar_step_call(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg);
static void ngx_http_hangar_stream_open(ngx_http_hangar_job_t *job);
static void ngx_http_hangar_stream_notice(ngx_http_hangar_call_t *call);
static void ngx_http_hangar_stream_end(ngx_http_hangar_call_t *call);


#define NGX_HTTP_HANGAR_MAX_STREAMS  256

/* this worker's list_changed listeners */
static ngx_http_hangar_job_t    *ngx_http_hangar_streams[
                                     NGX_HTTP_HANGAR_MAX_STREAMS];
static ngx_uint_t                ngx_http_hangar_nstreams;


/* called with the slab mutex held */

ngx_http_hangar_job_t *
ngx_http_hangar_job_begin(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_log_t *log, ngx_uint_t kind)
{
    ngx_str_t               err, text;
    ngx_pool_t             *pool;
    ngx_http_hangar_job_t  *job;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NULL;
    }

    job = ngx_pcalloc(pool, sizeof(ngx_http_hangar_job_t));
    if (job == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    job->pool = pool;
    job->log = ngx_cycle->log;
    job->reg = reg;
    job->seq = n->start_seq;
    job->bridge_seq = kind ? n->bridge_seq : n->start_seq;
    job->mode = n->mode;
    job->check = (kind == NGX_HTTP_HANGAR_JOB_CHECK);
    job->refresh = (kind == NGX_HTTP_HANGAR_JOB_REFRESH);
    job->stream = (kind == NGX_HTTP_HANGAR_JOB_STREAM);
    job->calling = (kind == NGX_HTTP_HANGAR_JOB_CALL);
    job->begun = ngx_http_hangar_now_ms();
    job->timeout = NGX_HTTP_HANGAR_START_MS;
    job->connect_timeout = 10000;     /* hangar-core §2.1 http defaults */
    job->bridge_pid = n->bridge_pid;

    job->id.len = n->id_len;
    job->id.data = ngx_pnalloc(pool, n->id_len + 1);
    text.len = n->spec->len;
    text.data = ngx_pnalloc(pool, text.len);

    if (job->id.data == NULL || text.data == NULL) {
        goto failed;
    }

    *ngx_cpymem(job->id.data, n->id, n->id_len) = '\0';
    ngx_memcpy(text.data, n->spec->data, text.len);

    if (n->session) {
        job->session.len = n->session->len;
        job->session.data = ngx_pnalloc(pool, job->session.len);
        if (job->session.data == NULL) {
            goto failed;
        }
        ngx_memcpy(job->session.data, n->session->data, job->session.len);
    }

    job->spec = ngx_http_hangar_json_parse(pool, text.data, text.len, &err);
    if (job->spec == NULL) {
        goto failed;
    }

    job->timer.handler = ngx_http_hangar_job_timeout;
    job->timer.data = job;
    job->timer.log = job->log;
    /* health checks, refreshes and listeners may be cut at exit */
    job->timer.cancelable = (kind == NGX_HTTP_HANGAR_JOB_CHECK
                             || kind == NGX_HTTP_HANGAR_JOB_REFRESH
                             || kind == NGX_HTTP_HANGAR_JOB_STREAM);

    /* the job finishes after the caller released the mutex */
    ngx_post_event(&job->timer, &ngx_posted_events);

    return job;

failed:

    ngx_destroy_pool(pool);

    return NULL;
}


/* first run of the job timer: set out; later runs: the start timed out */

static void
ngx_http_hangar_job_timeout(ngx_event_t *ev)
{
    ngx_http_hangar_job_t  *job;

    job = ev->data;

    if (job->step == NULL && job->ready == NULL && job->call == NULL) {

        if (ngx_http_hangar_job_target(job) != NGX_OK) {
            return;
        }

        if (job->stream) {
            ngx_http_hangar_stream_open(job);
            return;
        }

        if (job->check) {
            /* hangar-core §2.7: a health probe gives up after 5 s */
            job->timeout = ngx_min(job->timeout, 5000);
        }

        ngx_add_timer(&job->timer, job->timeout);

        if (job->check) {
            (void) ngx_http_hangar_rpc(job, "ping", "{}",
                                       ngx_http_hangar_step_ping);
            return;
        }

        if (job->calling) {
            (void) ngx_http_hangar_rpc(job, job->method, (char *) job->params,
                                       ngx_http_hangar_step_call);
            return;
        }

        if (job->refresh) {
            job->tools = ngx_http_hangar_value_new(job->pool,
                                                   NGX_HTTP_HANGAR_ARR);
            if (job->tools == NULL) {
                ngx_http_hangar_job_done(job, 0, "out of memory");
                return;
            }

            (void) ngx_http_hangar_rpc(job, "tools/list", "{}",
                                       ngx_http_hangar_step_tools);
            return;
        }

        if (job->mode == NGX_HTTP_HANGAR_MODE_REMOTE) {
            (void) ngx_http_hangar_rpc(job, "initialize",
                "{\"protocolVersion\":\"" NGX_HTTP_HANGAR_PROTOCOL "\","
                "\"capabilities\":{},\"clientInfo\":{\"name\":\"mcp-hangar\","
                "\"version\":\"" NGX_HTTP_HANGAR_VERSION "\"}}",
                ngx_http_hangar_step_initialize);
            return;
        }

        (void) ngx_http_hangar_spawn(job);
        return;
    }

    if (job->calling) {
        ngx_log_error(NGX_LOG_ERR, job->log, 0, "hangar: MCP server \"%V\": "
                      "the call timed out after %M ms", &job->id,
                      job->timeout);
    }

    ngx_http_hangar_job_done(job, 0, "%s timed out after %M ms",
                             job->check ? "health check"
                             : job->calling ? "the call" : "start",
                             job->timeout);
}


/* where to talk to the server, and with which headers */

static ngx_int_t
ngx_http_hangar_job_target(ngx_http_hangar_job_t *job)
{
    u_char                   *p, *host, *last;
    ngx_str_t                 sock, user, b64;
    ngx_uint_t                i;
    ngx_pool_t               *pool;
    ngx_http_hangar_out_t     h;
    ngx_http_hangar_pair_t   *pair;
    ngx_http_hangar_value_t  *ep, *auth, *type, *v, *http, *hdrs, *t, *tls;

    pool = job->pool;
    ngx_http_hangar_out_init(&h, pool, 256);

    if (job->mode != NGX_HTTP_HANGAR_MODE_REMOTE) {
        if (ngx_http_hangar_run_path(pool, &job->reg->hmcf->state_dir,
                                     job->id.data, job->id.len,
                                     job->bridge_seq, "sock", &sock)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        job->target.len = sock.len + 5;
        job->target.data = ngx_pnalloc(pool, job->target.len);
        if (job->target.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(job->target.data, "unix:%V", &sock);
        ngx_str_set(&job->uri, "/mcp");
        ngx_str_set(&job->host, "localhost");

        return NGX_OK;
    }

    ep = ngx_http_hangar_get(job->spec, "endpoint");
    p = ep->u.s.data;
    last = p + ep->u.s.len;

    if (ngx_strncasecmp(p, (u_char *) "http://", 7) == 0) {
        host = p + 7;

    } else if (ngx_strncasecmp(p, (u_char *) "https://", 8) == 0) {
        host = p + 8;
        job->tls = 1;

        /* tls: {verify_ssl: true, ca_cert_path: ...} (hangar-core §2.1) */
        tls = ngx_http_hangar_get(job->spec, "tls");
        v = ngx_http_hangar_get(tls, "verify_ssl");
        job->verify = !(v && v->type == NGX_HTTP_HANGAR_BOOL && !v->u.b);

        v = ngx_http_hangar_get(tls, "ca_cert_path");
        if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
            job->ca_file = v->u.s;
        }

    } else {
        ngx_http_hangar_job_done(job, 0, "ws:// and wss:// endpoints are "
                                 "for pass-through only; the control "
                                 "channel needs http or https (%V)",
                                 &ep->u.s);
        return NGX_ERROR;
    }

    for (p = host; p < last && *p != '/' && *p != '?'; p++) { /* void */ }

    job->target.data = host;
    job->target.len = p - host;
    job->host = job->target;
    job->uri.data = p;
    job->uri.len = last - p;

    if (job->uri.len == 0) {
        ngx_str_set(&job->uri, "/");
    }

    /* auth: bearer, api_key or basic (hangar-core §2.1) */
    auth = ngx_http_hangar_get(job->spec, "auth");
    type = ngx_http_hangar_get(auth, "type");

    if (type && ngx_http_hangar_str_is(&type->u.s, "bearer")
        && (v = ngx_http_hangar_get(auth, "bearer_token")))
    {
        ngx_http_hangar_out_printf(&h, "Authorization: Bearer %V\r\n",
                                   &v->u.s);

    } else if (type && ngx_http_hangar_str_is(&type->u.s, "api_key")
               && (v = ngx_http_hangar_get(auth, "api_key")))
    {
        t = ngx_http_hangar_get(auth, "api_key_header");
        ngx_http_hangar_out_printf(&h, "%s%V: %V\r\n", t ? "" : "X-API-Key",
                                   t ? &t->u.s : &(ngx_str_t) ngx_null_string,
                                   &v->u.s);

    } else if (type && ngx_http_hangar_str_is(&type->u.s, "basic")) {
        v = ngx_http_hangar_get(auth, "username");
        t = ngx_http_hangar_get(auth, "password");

        user.len = (v ? v->u.s.len : 0) + 1 + (t ? t->u.s.len : 0);
        user.data = ngx_pnalloc(pool, user.len);
        b64.data = ngx_pnalloc(pool, ngx_base64_encoded_length(user.len));
        if (user.data == NULL || b64.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(user.data, "%V:%V", v ? &v->u.s : &(ngx_str_t) ngx_null_string,
                    t ? &t->u.s : &(ngx_str_t) ngx_null_string);
        ngx_encode_base64(&b64, &user);
        ngx_http_hangar_out_printf(&h, "Authorization: Basic %V\r\n", &b64);
    }

    http = ngx_http_hangar_get(job->spec, "http");
    hdrs = ngx_http_hangar_get(http, "headers");

    if (ngx_http_hangar_is(hdrs, NGX_HTTP_HANGAR_OBJ)) {
        pair = hdrs->u.obj.elts;
        for (i = 0; i < hdrs->u.obj.nelts; i++) {
            ngx_http_hangar_out_printf(&h, "%V: %V\r\n", &pair[i].key,
                                       &pair[i].value->u.s);
        }
    }

    v = ngx_http_hangar_get(http, "read_timeout");
    if (v && v->type == NGX_HTTP_HANGAR_NUM && v->u.n > 0) {
        job->timeout = (ngx_msec_t) (v->u.n * 1000);
    }

    v = ngx_http_hangar_get(http, "connect_timeout");
    if (v && v->type == NGX_HTTP_HANGAR_NUM && v->u.n > 0) {
        job->connect_timeout = (ngx_msec_t) (v->u.n * 1000);
    }

    return ngx_http_hangar_out_flatten(&h, &job->headers);
}


ngx_int_t
ngx_http_hangar_rpc(ngx_http_hangar_job_t *job, const char *method,
    const char *params, ngx_http_hangar_step_pt step)
{
    u_char                  *p;
    ngx_http_hangar_call_t  *call;

    call = ngx_http_hangar_call_create(job->log);
    if (call == NULL) {
        ngx_http_hangar_job_done(job, 0, "out of memory");
        return NGX_ERROR;
    }

    if (step) {
        job->call = call;
        job->step = step;
        job->rpc_id++;
        call->handler = ngx_http_hangar_rpc_done;
        call->data = job;

        if (job->progress) {
            call->on_event = ngx_http_hangar_rpc_event;
        }

    } else {
        call->handler = ngx_http_hangar_notify_done;
    }

    call->target = job->target;
    call->name = job->id;
    call->host = job->host;
    call->uri = job->uri;
    call->background = job->timer.cancelable;
    call->read_timeout = job->timeout;
    call->connect_timeout = job->connect_timeout;
    call->tls = job->tls;
    call->verify = job->verify;
    call->ca_file = job->ca_file;

    call->body.data = ngx_pnalloc(call->pool, ngx_strlen(method)
                                              + ngx_strlen(params) + 96);
    call->headers.data = ngx_pnalloc(call->pool, job->headers.len
                                                 + job->session.len
                                                 + job->protocol.len + 64);
    if (call->body.data == NULL || call->headers.data == NULL) {
        ngx_http_hangar_job_done(job, 0, "out of memory");
        return NGX_ERROR;
    }

    if (step) {
        p = ngx_sprintf(call->body.data, "{\"jsonrpc\":\"2.0\",\"id\":%L,",
                        job->rpc_id);
    } else {
        p = ngx_sprintf(call->body.data, "{\"jsonrpc\":\"2.0\",");
    }

    call->body.len = ngx_sprintf(p, "\"method\":\"%s\",\"params\":%s}",
                                 method, params)
                     - call->body.data;

    p = ngx_cpymem(call->headers.data, job->headers.data, job->headers.len);

    if (job->session.len) {
        p = ngx_sprintf(p, "Mcp-Session-Id: %V\r\n", &job->session);
    }

    if (job->protocol.len) {
        p = ngx_sprintf(p, "MCP-Protocol-Version: %V\r\n", &job->protocol);
    }

    call->headers.len = p - call->headers.data;

    return ngx_http_hangar_call_start(call);
}


static void
ngx_http_hangar_rpc_event(ngx_http_hangar_call_t *call,
    ngx_http_hangar_value_t *msg)
{
    ngx_http_hangar_job_t  *job = call->data;

    if (job->progress && job->result) {
        job->progress(job->data, msg, NULL);
    }
}


static void
ngx_http_hangar_notify_done(ngx_http_hangar_call_t *call)
{
    ngx_destroy_pool(call->pool);
}


static void
ngx_http_hangar_rpc_done(ngx_http_hangar_call_t *call)
{
    ngx_http_hangar_job_t    *job;
    ngx_http_hangar_value_t  *msg, *err, *text;

    job = call->data;
    job->call = NULL;

    if (call->rc != NGX_OK) {
        ngx_http_hangar_job_done(job, 0, "%s: %V",
                                 call->timedout ? "timed out" : "unreachable",
                                 &call->error);
        goto done;
    }

    if (call->session_id.len && job->session.len == 0) {
        job->session.data = ngx_pnalloc(job->pool, call->session_id.len);
        if (job->session.data) {
            job->session.len = call->session_id.len;
            ngx_memcpy(job->session.data, call->session_id.data,
                       call->session_id.len);
        }
    }

    if (call->status != 200
        || ngx_http_hangar_call_message(call, job->rpc_id, &msg) != NGX_OK)
    {
        ngx_http_hangar_job_done(job, 0, "answered HTTP %ui with no "
                                 "JSON-RPC response", call->status);
        goto done;
    }

    err = ngx_http_hangar_get(msg, "error");

    if (err && !job->calling && !(job->check && !job->pinged)) {
        text = ngx_http_hangar_get(err, "message");
        ngx_http_hangar_job_done(job, 0, "JSON-RPC error: %V",
                                 ngx_http_hangar_is(text, NGX_HTTP_HANGAR_STR)
                                 ? &text->u.s
                                 : &(ngx_str_t) ngx_string("(no message)"));
        goto done;
    }

    /* the step may start the next call, which reuses job->call */
    job->step(job, msg);

done:

    ngx_destroy_pool(call->pool);
}


void
ngx_http_hangar_step_initialize(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg)
{
    ngx_http_hangar_value_t  *v;

    job->init_result = ngx_http_hangar_value_copy(job->pool,
                                          ngx_http_hangar_get(msg, "result"));
    v = ngx_http_hangar_get(job->init_result, "protocolVersion");

    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        job->protocol = v->u.s;
    }

    job->tools = ngx_http_hangar_value_new(job->pool, NGX_HTTP_HANGAR_ARR);
    if (job->init_result == NULL || job->tools == NULL) {
        ngx_http_hangar_job_done(job, 0, "out of memory");
        return;
    }

    /* a notification: sent on its own, nobody waits for its 202 */
    (void) ngx_http_hangar_rpc(job, "notifications/initialized", "{}", NULL);

    (void) ngx_http_hangar_rpc(job, "tools/list", "{}",
                               ngx_http_hangar_step_tools);
}


/* tools/list, page after page (nextCursor) */

static void
ngx_http_hangar_step_tools(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg)
{
    u_char                    *params;
    ngx_str_t                  cursor;
    ngx_uint_t                 i;
    ngx_http_hangar_value_t   *result, *tools, **items, *next;

    result = ngx_http_hangar_get(msg, "result");
    tools = ngx_http_hangar_get(result, "tools");

    if (!ngx_http_hangar_is(tools, NGX_HTTP_HANGAR_ARR)) {
        ngx_http_hangar_job_done(job, 0, "tools/list answered no tools "
                                 "array");
        return;
    }

    items = tools->u.arr.elts;

    for (i = 0; i < tools->u.arr.nelts; i++) {
        if (job->tools->u.arr.nelts >= 10000
            || ngx_http_hangar_push(job->tools,
                   ngx_http_hangar_value_copy(job->pool, items[i])) != NGX_OK)
        {
            ngx_http_hangar_job_done(job, 0, "too many tools");
            return;
        }
    }

    next = ngx_http_hangar_get(result, "nextCursor");

    if (!ngx_http_hangar_is(next, NGX_HTTP_HANGAR_STR) || next->u.s.len == 0)
    {
        ngx_http_hangar_job_done(job, 1, NULL);
        return;
    }

    if (ngx_http_hangar_json_text(job->pool, next, &cursor) != NGX_OK) {
        return;
    }

    params = ngx_pnalloc(job->pool, cursor.len + 16);
    if (params == NULL) {
        return;
    }

    ngx_sprintf(params, "{\"cursor\":%V}%Z", &cursor);

    (void) ngx_http_hangar_rpc(job, "tools/list", (char *) params,
                               ngx_http_hangar_step_tools);
}


/* health check: ping; a server without ping gets tools/list instead */

static void
ngx_http_hangar_step_ping(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg)
{
    if (!job->pinged && ngx_http_hangar_get(msg, "error")) {
        job->pinged = 1;
        (void) ngx_http_hangar_rpc(job, "tools/list", "{}",
                                   ngx_http_hangar_step_ping);
        return;
    }

    ngx_http_hangar_job_done(job, 1, NULL);
}


void
ngx_http_hangar_record_failure(ngx_http_hangar_node_t *n, ngx_msec_t now)
{
    n->consecutive_failures++;
    n->total_failures++;
    n->total_invocations++;
    n->last_failure = now;
}


ngx_int_t
ngx_http_hangar_set_blob(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_blob_t **slot, ngx_str_t *text)
{
    ngx_http_hangar_blob_t  *b;

    b = NULL;

    if (text) {
        b = ngx_http_hangar_blob(reg, text->data, text->len);
        if (b == NULL) {
            return NGX_ERROR;
        }
    }

    ngx_http_hangar_blob_free(reg, *slot);
    *slot = b;

    return NGX_OK;
}


/*
 * The end of a job.  A failed start stores an error object for the
 * waiters: {"message","exit_code","stderr","suggestion"}; fmt "\x01%V"
 * passes the bridge's status JSON instead.
 */

void
ngx_http_hangar_job_done(ngx_http_hangar_job_t *job, ngx_uint_t ok,
    const char *fmt, ...)
{
    u_char                   *p, buf[8192];
    va_list                   args;
    ngx_msec_t                now, interval;
    ngx_str_t                 text, tools, meta, errtext;
    ngx_uint_t                max, prev, keep;
    ngx_http_hangar_out_t     o;
    ngx_http_hangar_node_t   *n;
    ngx_http_hangar_value_t  *st, *v, *code, *tail;
    ngx_http_hangar_registry_t *reg;

    reg = job->reg;
    now = ngx_http_hangar_now_ms();
    keep = 0;

    if (job->timer.timer_set) {
        ngx_del_timer(&job->timer);
    }

    if (job->call) {
        ngx_http_hangar_call_cancel(job->call);
        ngx_destroy_pool(job->call->pool);
        job->call = NULL;
    }

    if (job->ready) {
        ngx_close_connection(job->ready);
        job->ready = NULL;
    }

    ngx_str_null(&errtext);

    if (job->calling) {
        /* a transport failure or timeout of a client's call */
        va_start(args, fmt);
        p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
        va_end(args);

        text.data = buf;
        text.len = p - buf;

        ngx_http_hangar_lock(reg);
        n = ngx_http_hangar_find(&reg->sh->servers, job->id.data,
                                 job->id.len);
        if (n) {
            ngx_http_hangar_record_failure(n, now);
            ngx_http_hangar_history_add(reg, n, &job->tool, job->begun, now,
                                        0, job->timer.timedout
                                           ? "ToolTimeoutError"
                                           : "ToolInvocationError",
                                        &text);
        }
        ngx_http_hangar_unlock(reg);

        if (job->result) {
            job->result(job->data, NULL, &text);
        }

        ngx_http_hangar_job_free(job);
        return;
    }

    if (!ok) {
        va_start(args, fmt);
        p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
        va_end(args);

        ngx_http_hangar_out_init(&o, job->pool, 1024);

        if (buf[0] == '\x01') {
            /* the bridge's own account: exit code and stderr tail */
            st = ngx_http_hangar_json_parse(job->pool, buf + 1, p - buf - 1,
                                            &text);
            v = ngx_http_hangar_get(st, "error");
            code = ngx_http_hangar_get(st, "exit_code");
            tail = ngx_http_hangar_get(st, "stderr_tail");

            ngx_http_hangar_out_lit(&o, "{\"message\":");
            if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
                ngx_http_hangar_out_str(&o, v->u.s.data, v->u.s.len);

            } else {
                ngx_http_hangar_out_lit(&o, "\"the server failed to start\"");
            }

            ngx_http_hangar_out_lit(&o, ",\"exit_code\":");
            ngx_http_hangar_json_out(&o, code ? code
                : ngx_http_hangar_value_new(job->pool, NGX_HTTP_HANGAR_NULL));
            ngx_http_hangar_out_lit(&o, ",\"stderr\":");
            ngx_http_hangar_json_out(&o, tail ? tail
                : ngx_http_hangar_value_str(job->pool, (u_char *) "", 0));
            ngx_http_hangar_out_printf(&o, ",\"suggestion\":\"%s\"}",
                code && code->type == NGX_HTTP_HANGAR_INT && code->u.i == 127
                ? "check that the command exists and is executable"
                : "check the server's stderr above and its command line");

        } else {
            ngx_http_hangar_out_lit(&o, "{\"message\":");
            ngx_http_hangar_out_str(&o, buf, p - buf);
            ngx_http_hangar_out_lit(&o, ",\"exit_code\":null,\"stderr\":\"\","
                                    "\"suggestion\":\"check the server's "
                                    "configuration and that it speaks MCP\"}");
        }

        if (ngx_http_hangar_out_flatten(&o, &errtext) != NGX_OK) {
            ngx_str_null(&errtext);
        }
    }

    if (job->refresh) {
        ngx_http_hangar_lock(reg);

        n = ngx_http_hangar_find(&reg->sh->servers, job->id.data,
                                 job->id.len);

        if (ok && n && n->start_seq == job->seq
            && n->state == NGX_HTTP_HANGAR_READY
            && ngx_http_hangar_json_text(job->pool, job->tools, &tools)
               == NGX_OK
            && ngx_http_hangar_set_blob(reg, &n->tools, &tools) == NGX_OK)
        {
            n->tools_count = job->tools->u.arr.nelts;
            n->tools_predefined = 0;
            (void) ngx_atomic_fetch_add(&reg->sh->generation, 1);
            ngx_http_hangar_event(reg, "ToolsListChanged", n->id, n->id_len,
                                  "{\"tools_count\":%ui}",
                                  job->tools->u.arr.nelts);
            ngx_log_error(NGX_LOG_INFO, job->log, 0,
                          "hangar: \"%V\" tools refreshed (%ui tools)",
                          &job->id, job->tools->u.arr.nelts);
        }

        ngx_http_hangar_unlock(reg);
        ngx_http_hangar_job_free(job);
        return;
    }

    if (ok && !job->check) {
        if (ngx_http_hangar_json_text(job->pool, job->tools, &tools) != NGX_OK)
        {
            ok = 0;
        }

        ngx_http_hangar_out_init(&o, job->pool, 1024);
        ngx_http_hangar_out_lit(&o, "{\"init_result\":");
        ngx_http_hangar_json_out(&o, job->init_result);
        ngx_http_hangar_out_printf(&o, ",\"tools_count\":%ui,\"started_at\":",
                                   job->tools->u.arr.nelts);
        ngx_http_hangar_out_num(&o, (double) now / 1000);
        ngx_http_hangar_out_printf(&o, ",\"bridge_pid\":%P,\"server_pid\":%P}",
                                   job->bridge_pid, job->server_pid);

        if (ngx_http_hangar_out_flatten(&o, &meta) != NGX_OK) {
            ok = 0;
        }
    }

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, job->id.data, job->id.len);

    /* stopped, deleted or restarted meanwhile: this job is stale */
    if (n == NULL || n->start_seq != job->seq
        || (!job->check && n->state != NGX_HTTP_HANGAR_INITIALIZING)
        || (job->check && n->state != NGX_HTTP_HANGAR_READY
            && n->state != NGX_HTTP_HANGAR_DEGRADED))
    {
        ngx_http_hangar_unlock(reg);

        if (!job->check && job->bridge_pid) {
            ngx_http_hangar_terminate(job->bridge_pid, 0);
        }

        ngx_http_hangar_job_free(job);
        return;
    }

    v = ngx_http_hangar_get(job->spec, "health_check_interval_s");
    interval = (v ? v->u.i : 60) * 1000;
    v = ngx_http_hangar_get(job->spec, "max_consecutive_failures");
    max = v ? v->u.i : 3;

    if (job->check) {
        if (ok) {
            n->consecutive_failures = 0;
            n->last_success = now;
            n->total_invocations++;

            /* a degraded server that answers again is back in service */
            if (n->state == NGX_HTTP_HANGAR_DEGRADED) {
                n->state = NGX_HTTP_HANGAR_READY;
                ngx_http_hangar_event(reg, "McpServerStateChanged", n->id,
                                      n->id_len, "{\"old_state\":\"degraded\","
                                      "\"new_state\":\"ready\","
                                      "\"reason\":\"health_check_passed\"}");
                ngx_log_error(NGX_LOG_NOTICE, job->log, 0,
                              "hangar: \"%V\" recovered", &job->id);
            }

        } else {
            ngx_http_hangar_record_failure(n, now);

            if (n->consecutive_failures >= max
                && n->state == NGX_HTTP_HANGAR_READY)
            {
                n->state = NGX_HTTP_HANGAR_DEGRADED;
                ngx_http_hangar_event(reg, "McpServerDegraded", n->id,
                    n->id_len, "{\"consecutive_failures\":%uA,"
                    "\"reason\":\"health_check_failures\"}",
                    n->consecutive_failures);
            }

            ngx_http_hangar_event(reg, "HealthCheckFailed", n->id, n->id_len,
                                  "{\"consecutive_failures\":%uA}",
                                  n->consecutive_failures);
        }

        n->next_check = now + interval;
        ngx_http_hangar_unlock(reg);
        ngx_http_hangar_job_free(job);
        return;
    }

    n->start_owner = 0;

    if (ok
        && ngx_http_hangar_set_blob(reg, &n->meta, &meta) == NGX_OK
        && (job->session.len == 0
            || ngx_http_hangar_set_blob(reg, &n->session, &job->session)
               == NGX_OK))
    {
        if (!n->tools_predefined || job->tools->u.arr.nelts) {
            (void) ngx_http_hangar_set_blob(reg, &n->tools, &tools);
            n->tools_count = job->tools->u.arr.nelts;
            n->tools_predefined = 0;
            keep = 1;

            /* the front door's catalog changed */
            (void) ngx_atomic_fetch_add(&reg->sh->generation, 1);
        }

        prev = n->bridge_seq;
        n->bridge_pid = job->bridge_pid;
        n->server_pid = job->server_pid;
        n->bridge_seq = job->bridge_seq;
        n->state = NGX_HTTP_HANGAR_READY;
        n->changed = 0;
        n->consecutive_failures = 0;
        n->last_success = now;
        n->last_used = now;
        n->started = now;
        n->next_check = now + interval;

        ngx_http_hangar_event(reg, "McpServerStarted", n->id, n->id_len,
                              "{\"mode\":\"%s\",\"tools_count\":%ui,"
                              "\"startup_duration_ms\":%M}", n->mode_name,
                              job->tools->u.arr.nelts, now - job->begun);
        ngx_http_hangar_unlock(reg);

        ngx_log_error(NGX_LOG_INFO, job->log, 0,
                      "hangar: \"%V\" is ready (%ui tools, %M ms)", &job->id,
                      job->tools->u.arr.nelts, now - job->begun);

        /* the catalog outlives a restart of nginx */
        if (keep) {
            p = ngx_pnalloc(job->pool, job->id.len + sizeof("catalog/.json"));

            if (p) {
                ngx_sprintf(p, "catalog/%V.json%Z", &job->id);
                (void) ngx_http_hangar_file_write(job->pool,
                                                  &reg->hmcf->state_dir,
                                                  (char *) p, &tools,
                                                  job->log, &text);
            }
        }

        /* the previous run's status file is of no more use */
        if (prev != job->bridge_seq
            && ngx_http_hangar_run_path(job->pool,
                                        &reg->hmcf->state_dir, job->id.data,
                                        job->id.len, prev, "json", &text)
               == NGX_OK)
        {
            (void) ngx_delete_file(text.data);
        }

        ngx_http_hangar_job_free(job);
        return;
    }

    if (errtext.len == 0) {
        ngx_str_set(&errtext, "{\"message\":\"the registry is full\","
                              "\"exit_code\":null,\"stderr\":\"\","
                              "\"suggestion\":\"increase hangar_zone\"}");
    }

    (void) ngx_http_hangar_set_blob(reg, &n->error, &errtext);
    ngx_http_hangar_record_failure(n, now);
    n->bridge_pid = 0;
    n->server_pid = 0;
    n->bridge_seq = job->bridge_seq;    /* GET /logs shows this attempt */
    n->state = (n->consecutive_failures >= max) ? NGX_HTTP_HANGAR_DEGRADED
                                                : NGX_HTTP_HANGAR_DEAD;

    ngx_http_hangar_event(reg, "McpServerStateChanged", n->id, n->id_len,
                          "{\"old_state\":\"initializing\",\"new_state\":\"%s\"}",
                          ngx_http_hangar_state_name(n->state));
    ngx_http_hangar_unlock(reg);

    ngx_log_error(NGX_LOG_ERR, job->log, 0, "hangar: \"%V\" failed to start: "
                  "%V", &job->id, &errtext);

    if (job->bridge_pid) {
        ngx_http_hangar_terminate(job->bridge_pid, job->server_pid);
    }

    ngx_http_hangar_job_free(job);
}


void
ngx_http_hangar_job_free(ngx_http_hangar_job_t *job)
{
    if (job->timer.timer_set) {
        ngx_del_timer(&job->timer);
    }

    if (job->timer.posted) {
        ngx_delete_posted_event(&job->timer);
    }

    ngx_destroy_pool(job->pool);
}


/*
 * notifications/tools/list_changed: the lease holder keeps a GET stream
 * open to every ready server and lists its tools again on the notice.
 */

ngx_uint_t
ngx_http_hangar_streaming(ngx_http_hangar_node_t *n)
{
    ngx_uint_t              i;
    ngx_http_hangar_job_t  *job;

    for (i = 0; i < ngx_http_hangar_nstreams; i++) {
        job = ngx_http_hangar_streams[i];

        if (job->seq == n->start_seq
            && ngx_memn2cmp(job->id.data, n->id, job->id.len, n->id_len) == 0)
        {
            return 1;
        }
    }

    /* no room: as if streaming, so nothing is opened */
    return ngx_http_hangar_nstreams == NGX_HTTP_HANGAR_MAX_STREAMS;
}


static void
ngx_http_hangar_stream_open(ngx_http_hangar_job_t *job)
{
    u_char                  *p;
    ngx_http_hangar_call_t  *call;

    call = ngx_http_hangar_call_create(job->log);
    if (call == NULL) {
        ngx_http_hangar_job_free(job);
        return;
    }

    call->target = job->target;
    call->name = job->id;
    call->host = job->host;
    call->uri = job->uri;
    call->method = "GET";
    call->background = 1;
    call->read_timeout = 24 * 3600 * 1000;
    call->tls = job->tls;
    call->verify = job->verify;
    call->ca_file = job->ca_file;
    call->handler = ngx_http_hangar_stream_end;
    call->on_notice = ngx_http_hangar_stream_notice;
    call->notice = "notifications/tools/list_changed";
    call->data = job;

    call->headers.data = ngx_pnalloc(call->pool, job->headers.len
                                                 + job->session.len + 64);
    if (call->headers.data == NULL) {
        ngx_http_hangar_call_destroy(call);
        ngx_http_hangar_job_free(job);
        return;
    }

    p = ngx_cpymem(call->headers.data, job->headers.data, job->headers.len);

    if (job->session.len) {
        p = ngx_sprintf(p, "Mcp-Session-Id: %V\r\n", &job->session);
    }

    call->headers.len = p - call->headers.data;

    job->call = call;
    ngx_http_hangar_streams[ngx_http_hangar_nstreams++] = job;

    (void) ngx_http_hangar_call_start(call);
}


static void
ngx_http_hangar_stream_notice(ngx_http_hangar_call_t *call)
{
    ngx_http_hangar_job_t       *job;
    ngx_http_hangar_node_t      *n;
    ngx_http_hangar_registry_t  *reg;

    job = call->data;
    reg = job->reg;

    ngx_log_error(NGX_LOG_INFO, job->log, 0,
                  "hangar: \"%V\" says its tools changed", &job->id);

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, job->id.data, job->id.len);

    if (n && n->start_seq == job->seq && n->state == NGX_HTTP_HANGAR_READY) {
        (void) ngx_http_hangar_job_begin(reg, n, job->log,
                                         NGX_HTTP_HANGAR_JOB_REFRESH);
    }

    ngx_http_hangar_unlock(reg);
}


static void
ngx_http_hangar_stream_end(ngx_http_hangar_call_t *call)
{
    ngx_uint_t              i;
    ngx_http_hangar_job_t  *job;

    job = call->data;

    for (i = 0; i < ngx_http_hangar_nstreams; i++) {
        if (ngx_http_hangar_streams[i] == job) {
            ngx_http_hangar_streams[i] =
                ngx_http_hangar_streams[--ngx_http_hangar_nstreams];
            break;
        }
    }

    job->call = NULL;
    ngx_destroy_pool(call->pool);
    ngx_http_hangar_job_free(job);
}


/*
 * A call for a client (the front door): method and params go to a ready
 * server; result(data, msg, NULL) gets the JSON-RPC response, or
 * result(data, NULL, error) a transport failure.  The health counters
 * follow hangar-core §2.5.
 */

void *
ngx_http_hangar_server_call(ngx_http_hangar_registry_t *reg, ngx_str_t *id,
    const char *method, ngx_str_t *params, ngx_str_t *tool, ngx_log_t *log,
    ngx_http_hangar_result_pt result, ngx_http_hangar_result_pt progress,
    void *data)
{
    ngx_http_hangar_job_t   *job;
    ngx_http_hangar_node_t  *n;

    job = NULL;

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, id->data, id->len);

    if (n && n->state == NGX_HTTP_HANGAR_READY) {
        job = ngx_http_hangar_job_begin(reg, n, log, NGX_HTTP_HANGAR_JOB_CALL);
        n->last_used = ngx_http_hangar_now_ms();
    }

    ngx_http_hangar_unlock(reg);

    if (job == NULL) {
        return NULL;
    }

    job->method = method;
    job->result = result;
    job->progress = progress;
    job->begun = ngx_http_hangar_now_ms();

    if (tool) {
        job->tool.data = ngx_pnalloc(job->pool, tool->len);
        if (job->tool.data) {
            job->tool.len = tool->len;
            ngx_memcpy(job->tool.data, tool->data, tool->len);
        }
    }
    job->data = data;

    job->params = ngx_pnalloc(job->pool, params->len + 1);
    if (job->params == NULL) {
        job->result = NULL;
        return NULL;
    }

    *ngx_cpymem(job->params, params->data, params->len) = '\0';

    return job;
}


void
ngx_http_hangar_server_call_abandon(void *handle)
{
    ngx_http_hangar_job_t  *job = handle;

    job->result = NULL;
}


static void
ngx_http_hangar_step_call(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg)
{
    size_t                       size;
    ngx_str_t                    text;
    ngx_msec_t                   now;
    ngx_uint_t                   failed;
    ngx_http_hangar_node_t      *n;
    ngx_http_hangar_value_t     *res, *iserr, *err, *v;
    ngx_http_hangar_registry_t  *reg;

    reg = job->reg;
    now = ngx_http_hangar_now_ms();

    res = ngx_http_hangar_get(msg, "result");
    iserr = ngx_http_hangar_get(res, "isError");
    err = ngx_http_hangar_get(msg, "error");
    failed = err != NULL
             || (ngx_http_hangar_is(iserr, NGX_HTTP_HANGAR_BOOL) && iserr->u.b);

    /* hangar-core §2.13: the size of the result, or why it failed */
    ngx_str_null(&text);
    size = 0;

    if (failed) {
        v = ngx_http_hangar_get(err, "message");
        if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
            text = v->u.s;

        } else if (ngx_http_hangar_json_text(job->pool, res, &text) != NGX_OK) {
            ngx_str_null(&text);
        }

    } else if (res && ngx_http_hangar_json_text(job->pool, res, &text)
                      == NGX_OK)
    {
        size = text.len;
    }

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, job->id.data, job->id.len);

    if (n) {
        n->total_invocations++;
        n->last_used = now;

        if (failed) {
            n->total_failures++;

        } else {
            n->consecutive_failures = 0;
            n->last_success = now;
        }

        ngx_http_hangar_history_add(reg, n, &job->tool, job->begun, now,
                                    size, failed ? (err ? "JsonRpcError"
                                                        : "tool_error")
                                                 : NULL,
                                    &text);
    }

    ngx_http_hangar_unlock(reg);

    if (job->timer.timer_set) {
        ngx_del_timer(&job->timer);
    }

    if (job->result) {
        job->result(job->data, msg, NULL);
    }

    ngx_http_hangar_job_free(job);
}


/*
 * With the slab mutex held: a server that was never started has no
 * catalog for the front door; it is started once, in the background (and
 * stops again when idle).  The new catalog bumps the generation, which
 * the front door announces as tools/list_changed.
 */

void
ngx_http_hangar_warm(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_log_t *log)
{
    if (n->state != NGX_HTTP_HANGAR_COLD || n->tools || n->warmed
        || n->blocked || n->consecutive_failures
        || n->mode == NGX_HTTP_HANGAR_MODE_GROUP)
    {
        return;
    }

    n->warmed = 1;
    n->state = NGX_HTTP_HANGAR_INITIALIZING;
    n->start_owner = ngx_pid;
    n->start_deadline = ngx_http_hangar_now_ms() + NGX_HTTP_HANGAR_START_MS;
    n->start_seq++;

    if (ngx_http_hangar_job_begin(reg, n, log, NGX_HTTP_HANGAR_JOB_START)
        == NULL)
    {
        n->state = NGX_HTTP_HANGAR_COLD;
    }
}



/* exit_process: the listeners close (nginx checks for open sockets) */

void
ngx_http_hangar_jobs_exit(void)
{
    ngx_http_hangar_job_t  *job;

    while (ngx_http_hangar_nstreams) {
        job = ngx_http_hangar_streams[--ngx_http_hangar_nstreams];

        if (job->call) {
            ngx_http_hangar_call_destroy(job->call);
            job->call = NULL;
        }

        ngx_http_hangar_job_free(job);
    }
}
