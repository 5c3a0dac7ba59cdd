
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * hangar_call (hangar-core.md §7.3).  The calls are validated all or
 * nothing, then run max_concurrency at a time, each through the front
 * door's gates in order: tool:invoke, the tool access policy and the
 * withdrawals (ngx_http_hangar_catalog_check()), the approval hold, the
 * lazy start, then tools/call.  A failure whose class or message says it
 * is transient is tried again, up to max_attempts, after 1 s, 2 s, ...
 * (30 s at most) +-25 %.  The batch's budget bounds everything: what is
 * not done when it ends is a "Timeout".
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <time.h>
#include "ngx_http_hangar_mcp_batch.h"
#include "ngx_http_hangar_catalog.h"
#include "ngx_http_hangar_job.h"
#include "ngx_http_hangar_approval_hold.h"
#include "ngx_http_hangar_api_server_ops.h"


#define NGX_HTTP_HANGAR_BATCH_MAX     100
#define NGX_HTTP_HANGAR_RESULT_MAX    (10 * 1024 * 1024)


typedef struct ngx_http_hangar_batch_s  ngx_http_hangar_batch_t;


typedef struct {
    ngx_http_hangar_batch_t     *batch;
    ngx_uint_t                   index;
    ngx_str_t                    server;
    ngx_str_t                    tool;
    ngx_http_hangar_value_t     *params;    /* {"name","arguments"} */
    ngx_str_t                    text;      /* params, as JSON */
    ngx_msec_t                   timeout;   /* its own; 0: the budget */
    ngx_http_hangar_waiter_t     waiter;
    ngx_event_t                  timer;     /* an attempt's, a retry's */
    void                        *handle;    /* the tools/call in flight */
    ngx_http_hangar_policy_verdict_t  verdict;
    double                       begun;     /* ms */
    double                       elapsed;
    ngx_uint_t                   attempts;
    ngx_array_t                  retries;   /* of const char *, types */
    u_char                       call_id[40];
    ngx_str_t                    result;    /* JSON; empty: null */
    size_t                       size;      /* of a result left out */
    ngx_str_t                    error;
    const char                  *error_type;
    unsigned                     started:1;
    unsigned                     done:1;
    unsigned                     checked:1;
    unsigned                     ready:1;
    unsigned                     delayed:1; /* the timer is a retry's */
    unsigned                     success:1;
} ngx_http_hangar_bcall_t;


struct ngx_http_hangar_batch_s {
    ngx_http_hangar_req_t       *hr;
    ngx_http_hangar_value_t     *id;
    ngx_http_hangar_bcall_t     *calls;
    ngx_uint_t                   n;
    ngx_uint_t                   next;
    ngx_uint_t                   running;
    ngx_uint_t                   finished;
    ngx_uint_t                   concurrency;
    ngx_uint_t                   attempts;
    ngx_msec_t                   budget;
    double                       begun;
    ngx_event_t                  timer;
    ngx_int_t                    rc;        /* of an answer sent at once */
    u_char                       batch_id[40];
    unsigned                     fail_fast:1;
    unsigned                     cancelled:1;
    unsigned                     async:1;
    unsigned                     answered:1;
    unsigned                     dispatching:1;
    unsigned                     over:1;
};


static ngx_int_t ngx_http_hangar_batch_options(ngx_http_hangar_batch_t *b,
    ngx_http_hangar_value_t *args);
static ngx_int_t ngx_http_hangar_batch_validate(ngx_http_hangar_batch_t *b,
    ngx_http_hangar_value_t *calls, ngx_http_hangar_out_t *errors);
static ngx_int_t ngx_http_hangar_batch_check(ngx_http_hangar_batch_t *b,
    ngx_http_hangar_bcall_t *c, ngx_http_hangar_value_t *call,
    ngx_http_hangar_out_t *errors);
static void ngx_http_hangar_batch_invalid(ngx_http_hangar_out_t *errors,
    ngx_int_t index, const char *field, const char *fmt, ...);
static void ngx_http_hangar_batch_dispatch(ngx_http_hangar_batch_t *b);
static void ngx_http_hangar_batch_run(ngx_http_hangar_bcall_t *c);
static void ngx_http_hangar_batch_step(ngx_http_hangar_bcall_t *c);
static ngx_int_t ngx_http_hangar_batch_gate(ngx_http_hangar_bcall_t *c);
static ngx_int_t ngx_http_hangar_batch_start(ngx_http_hangar_bcall_t *c);
static void ngx_http_hangar_batch_ready(ngx_http_hangar_waiter_t *w,
    ngx_int_t rc);
static void ngx_http_hangar_batch_approved(void *data, ngx_int_t rc,
    ngx_str_t *text);
static void ngx_http_hangar_batch_invoke(ngx_http_hangar_bcall_t *c);
static void ngx_http_hangar_batch_result(void *data,
    ngx_http_hangar_value_t *msg, ngx_str_t *error);
static void ngx_http_hangar_batch_timer(ngx_event_t *ev);
static void ngx_http_hangar_batch_failed(ngx_http_hangar_bcall_t *c,
    const char *type, ngx_str_t *msg);
static ngx_uint_t ngx_http_hangar_batch_transient(const char *type,
    ngx_str_t *msg);
static void ngx_http_hangar_batch_fail(ngx_http_hangar_bcall_t *c,
    const char *type, const char *fmt, ...);
static void ngx_http_hangar_batch_finish(ngx_http_hangar_bcall_t *c);
static void ngx_http_hangar_batch_release(ngx_http_hangar_bcall_t *c);
static void ngx_http_hangar_batch_cancel(ngx_http_hangar_batch_t *b,
    const char *error, const char *type);
static void ngx_http_hangar_batch_expired(ngx_event_t *ev);
static void ngx_http_hangar_batch_answer_all(ngx_http_hangar_batch_t *b);
static void ngx_http_hangar_batch_render(ngx_http_hangar_batch_t *b,
    ngx_http_hangar_out_t *out);
static void ngx_http_hangar_batch_cleanup(void *data);
static double ngx_http_hangar_batch_ms(void);


/* the names of the errors retried (hangar-core.md §7.3) */
static const char  *ngx_http_hangar_batch_retry_words[] = {
    "timeout", "timed out", "connection", "json", "malformed", "temporary",
    "transient", "retry", "network", NULL
};

static const char  *ngx_http_hangar_batch_retry_on[] = {
    "MalformedJSON", "JSONDecodeError", "Timeout", "TimeoutError",
    "ConnectionError", "McpServerNotResponding", "TransientError",
    "McpServerProtocolError", "NetworkError", NULL
};


void
ngx_http_hangar_batch_answer(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_str_t *json, ngx_uint_t is_error)
{
    ngx_http_hangar_out_t  *out;

    out = &hr->out;

    ngx_http_hangar_out_init(out, hr->r->pool, 2 * json->len + 256);
    ngx_http_hangar_mcp_open(out, id);
    ngx_http_hangar_out_lit(out, "\"result\":{\"content\":[{\"type\":"
                                 "\"text\",\"text\":");
    ngx_http_hangar_out_str(out, json->data, json->len);

    if (is_error) {
        ngx_http_hangar_out_lit(out, "}],\"isError\":true}}");
        return;
    }

    ngx_http_hangar_out_lit(out, "}],\"structuredContent\":");
    ngx_http_hangar_out_raw(out, json->data, json->len);
    ngx_http_hangar_out_lit(out, "}}");
}


ngx_int_t
ngx_http_hangar_batch_call(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_http_hangar_value_t *args)
{
    ngx_str_t                 json;
    ngx_pool_cleanup_t       *cln;
    ngx_http_hangar_out_t     errors, body;
    ngx_http_hangar_batch_t  *b;
    ngx_http_hangar_value_t  *calls;

    b = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_batch_t));
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->hr = hr;
    b->id = id;
    b->begun = ngx_http_hangar_batch_ms();
    ngx_http_hangar_approval_uuid(b->batch_id);

    calls = ngx_http_hangar_get(args, "calls");

    ngx_http_hangar_out_init(&errors, hr->r->pool, 512);

    if (ngx_http_hangar_batch_options(b, args) != NGX_OK
        || ngx_http_hangar_batch_validate(b, calls, &errors) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (errors.size) {
        ngx_http_hangar_out_init(&body, hr->r->pool, errors.size + 128);
        ngx_http_hangar_out_printf(&body, "{\"batch_id\":\"%s\",\"success\":"
                                   "false,\"error\":\"Validation failed\","
                                   "\"validation_errors\":[", b->batch_id);

        if (ngx_http_hangar_out_flatten(&errors, &json) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* the errors start with a comma */
        ngx_http_hangar_out_raw(&body, json.data + 1, json.len - 1);
        ngx_http_hangar_out_lit(&body, "]}");

        if (ngx_http_hangar_out_flatten(&body, &json) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_hangar_batch_answer(hr, id, &json, 0);
        return ngx_http_hangar_send(hr, NGX_HTTP_OK);
    }

    cln = ngx_pool_cleanup_add(hr->r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_hangar_batch_cleanup;
    cln->data = b;

    if (b->n) {
        b->timer.handler = ngx_http_hangar_batch_expired;
        b->timer.data = b;
        b->timer.log = hr->r->connection->log;
        ngx_add_timer(&b->timer, b->budget);
    }

    ngx_http_hangar_batch_dispatch(b);

    if (b->answered) {
        return b->rc;
    }

    b->async = 1;
    hr->r->main->count++;

    return NGX_DONE;
}


/* max_concurrency 1..50 (10), timeout 1..300 s (60), max_attempts 1..10 */

static ngx_int_t
ngx_http_hangar_batch_options(ngx_http_hangar_batch_t *b,
    ngx_http_hangar_value_t *args)
{
    double                    v;
    ngx_http_hangar_value_t  *opt;

    opt = ngx_http_hangar_get(args, "max_concurrency");
    v = ngx_http_hangar_is(opt, NGX_HTTP_HANGAR_INT) ? (double) opt->u.i
        : ngx_http_hangar_is(opt, NGX_HTTP_HANGAR_NUM) ? opt->u.n : 10;
    b->concurrency = v < 1 ? 1 : v > 50 ? 50 : (ngx_uint_t) v;

    opt = ngx_http_hangar_get(args, "max_attempts");
    v = ngx_http_hangar_is(opt, NGX_HTTP_HANGAR_INT) ? (double) opt->u.i
        : ngx_http_hangar_is(opt, NGX_HTTP_HANGAR_NUM) ? opt->u.n : 1;
    b->attempts = v < 1 ? 1 : v > 10 ? 10 : (ngx_uint_t) v;

    opt = ngx_http_hangar_get(args, "timeout");
    v = ngx_http_hangar_is(opt, NGX_HTTP_HANGAR_INT) ? (double) opt->u.i
        : ngx_http_hangar_is(opt, NGX_HTTP_HANGAR_NUM) ? opt->u.n : 60;
    b->budget = (ngx_msec_t) ((v < 1 ? 1 : v > 300 ? 300 : v) * 1000);

    opt = ngx_http_hangar_get(args, "fail_fast");
    b->fail_fast = ngx_http_hangar_is(opt, NGX_HTTP_HANGAR_BOOL) && opt->u.b;

    return NGX_OK;
}


/* all or nothing: every problem of every call goes to errors */

static ngx_int_t
ngx_http_hangar_batch_validate(ngx_http_hangar_batch_t *b,
    ngx_http_hangar_value_t *calls, ngx_http_hangar_out_t *errors)
{
    ngx_uint_t                 i;
    ngx_http_hangar_value_t  **items;

    if (calls == NULL) {
        ngx_http_hangar_batch_invalid(errors, -1, "calls",
                                      "calls is required");
        return NGX_OK;
    }

    if (calls->type != NGX_HTTP_HANGAR_ARR) {
        ngx_http_hangar_batch_invalid(errors, -1, "calls",
                                      "calls must be an array");
        return NGX_OK;
    }

    if (calls->u.arr.nelts > NGX_HTTP_HANGAR_BATCH_MAX) {
        ngx_http_hangar_batch_invalid(errors, -1, "calls",
                                      "Batch size %ui exceeds maximum %d",
                                      calls->u.arr.nelts,
                                      NGX_HTTP_HANGAR_BATCH_MAX);
        return NGX_OK;
    }

    b->n = calls->u.arr.nelts;
    b->calls = ngx_pcalloc(b->hr->r->pool,
                           (b->n + 1) * sizeof(ngx_http_hangar_bcall_t));
    if (b->calls == NULL) {
        return NGX_ERROR;
    }

    items = calls->u.arr.elts;

    for (i = 0; i < b->n; i++) {
        b->calls[i].batch = b;
        b->calls[i].index = i;

        if (ngx_http_hangar_batch_check(b, &b->calls[i], items[i], errors)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_batch_check(ngx_http_hangar_batch_t *b,
    ngx_http_hangar_bcall_t *c, ngx_http_hangar_value_t *call,
    ngx_http_hangar_out_t *errors)
{
    ngx_int_t                 i;
    ngx_str_t                 tools, err;
    ngx_uint_t                k, found;
    ngx_pool_t               *pool;
    ngx_http_hangar_value_t  *server, *tool, *args, *timeout, *list, **t, *name;

    pool = b->hr->r->pool;
    i = c->index;

    if (!ngx_http_hangar_is(call, NGX_HTTP_HANGAR_OBJ)) {
        ngx_http_hangar_batch_invalid(errors, i, "", "call must be an object");
        return NGX_OK;
    }

    server = ngx_http_hangar_get(call, "mcp_server");
    tool = ngx_http_hangar_get(call, "tool");
    args = ngx_http_hangar_get(call, "arguments");
    timeout = ngx_http_hangar_get(call, "timeout");

    if (!ngx_http_hangar_is(server, NGX_HTTP_HANGAR_STR)
        || server->u.s.len == 0)
    {
        ngx_http_hangar_batch_invalid(errors, i, "mcp_server",
                                      "mcp_server must be a non-empty "
                                      "string");
        server = NULL;
    }

    if (!ngx_http_hangar_is(tool, NGX_HTTP_HANGAR_STR) || tool->u.s.len == 0) {
        ngx_http_hangar_batch_invalid(errors, i, "tool",
                                      "tool must be a non-empty string");
        tool = NULL;
    }

    if (!ngx_http_hangar_is(args, NGX_HTTP_HANGAR_OBJ)) {
        ngx_http_hangar_batch_invalid(errors, i, "arguments",
                                      "arguments must be an object");
    }

    if (timeout
        && !((timeout->type == NGX_HTTP_HANGAR_INT && timeout->u.i > 0)
             || (timeout->type == NGX_HTTP_HANGAR_NUM && timeout->u.n > 0)))
    {
        ngx_http_hangar_batch_invalid(errors, i, "timeout",
                                      "timeout must be a positive number");

    } else if (timeout) {
        c->timeout = (ngx_msec_t) (1000 * (timeout->type == NGX_HTTP_HANGAR_INT
                                           ? (double) timeout->u.i
                                           : timeout->u.n));
        c->timeout = ngx_max(c->timeout, 1);
    }

    if (server == NULL) {
        return NGX_OK;
    }

    /* the server must exist; the tool too, when its catalog is known */
    if (ngx_http_hangar_start_outcome(b->hr->reg, pool, &server->u.s, NGX_OK,
                                      &tools)
        != NGX_OK)
    {
        ngx_http_hangar_batch_invalid(errors, i, "mcp_server",
                                      "McpServer '%V' not found",
                                      &server->u.s);
        return NGX_OK;
    }

    list = tools.len ? ngx_http_hangar_json_parse(pool, tools.data, tools.len,
                                                  &err)
                     : NULL;

    if (tool && ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)
        && list->u.arr.nelts)
    {
        t = list->u.arr.elts;
        found = 0;

        for (k = 0; k < list->u.arr.nelts; k++) {
            name = ngx_http_hangar_get(t[k], "name");
            found |= name && ngx_http_hangar_value_equal(name, tool);
        }

        if (!found) {
            ngx_http_hangar_batch_invalid(errors, i, "tool",
                                          "Tool '%V' not found on mcp_server "
                                          "'%V'", &tool->u.s, &server->u.s);
        }
    }

    if (tool == NULL || !ngx_http_hangar_is(args, NGX_HTTP_HANGAR_OBJ)) {
        return NGX_OK;
    }

    c->server = server->u.s;
    c->tool = tool->u.s;

    c->params = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);

    if (c->params == NULL
        || ngx_http_hangar_set(pool, c->params, (u_char *) "name", 4, tool)
           != NGX_OK
        || ngx_http_hangar_set(pool, c->params, (u_char *) "arguments", 9,
                               args)
           != NGX_OK
        || ngx_http_hangar_json_text(pool, c->params, &c->text) != NGX_OK
        || ngx_array_init(&c->retries, pool, 2, sizeof(const char *))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* ,{"index":i,"field":"f","message":"..."} */

static void
ngx_http_hangar_batch_invalid(ngx_http_hangar_out_t *errors, ngx_int_t index,
    const char *field, const char *fmt, ...)
{
    u_char   *p, msg[512];
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(msg, msg + sizeof(msg), fmt, args);
    va_end(args);

    ngx_http_hangar_out_printf(errors, ",{\"index\":%i,\"field\":\"%s\","
                               "\"message\":", index, field);
    ngx_http_hangar_out_str(errors, msg, p - msg);
    ngx_http_hangar_out_lit(errors, "}");
}


/* ---- running ----------------------------------------------------------- */

static void
ngx_http_hangar_batch_dispatch(ngx_http_hangar_batch_t *b)
{
    ngx_http_hangar_bcall_t  *c;

    if (b->dispatching || b->answered || b->over) {
        return;
    }

    b->dispatching = 1;

    while (b->running < b->concurrency && b->next < b->n) {
        c = &b->calls[b->next++];

        if (c->done) {
            continue;
        }

        b->running++;
        c->started = 1;
        ngx_http_hangar_batch_run(c);
    }

    b->dispatching = 0;

    if (b->finished == b->n) {
        ngx_http_hangar_batch_answer_all(b);
    }
}


/* a call begins: tool:invoke for the tool's own name, per call */

static void
ngx_http_hangar_batch_run(ngx_http_hangar_bcall_t *c)
{
    ngx_http_request_t           *r;
    ngx_http_hangar_principal_t  *p;

    r = c->batch->hr->r;

    ngx_http_hangar_approval_uuid(c->call_id);
    c->begun = ngx_http_hangar_batch_ms();

    c->timer.handler = ngx_http_hangar_batch_timer;
    c->timer.data = c;
    c->timer.log = r->connection->log;

    p = ngx_http_hangar_auth_principal(r);

    if (ngx_http_hangar_auth_enabled() && (p == NULL || p->anonymous)) {
        ngx_http_hangar_batch_fail(c, "AuthorizationDenied",
                                   "Authentication required to invoke tool "
                                   "'%V'", &c->tool);
        return;
    }

    if (!ngx_http_hangar_auth_allowed(r, "tool", "invoke", &c->tool)) {
        ngx_http_hangar_batch_fail(c, "AuthorizationDenied",
                                   "Not authorized to invoke tool '%V': "
                                   "tool:invoke permission required",
                                   &c->tool);
        return;
    }

    ngx_http_hangar_batch_step(c);
}


/*
 * The gates, then the call.  A server whose catalog is not known yet is
 * started first, so that its tool can be found and checked.
 */

static void
ngx_http_hangar_batch_step(ngx_http_hangar_bcall_t *c)
{
    ngx_int_t  rc;

    for ( ;; ) {
        if (!c->checked) {
            rc = ngx_http_hangar_batch_gate(c);

            if (rc == NGX_DECLINED && !c->ready) {
                rc = ngx_http_hangar_batch_start(c);
                if (rc != NGX_OK) {
                    return;
                }

                continue;
            }

            if (rc == NGX_DECLINED) {
                ngx_http_hangar_batch_fail(c, "ToolNotFoundError",
                                           "Tool '%V' not found on "
                                           "mcp_server '%V'", &c->tool,
                                           &c->server);
                return;
            }

            if (rc != NGX_OK) {
                return;
            }
        }

        if (!c->ready && ngx_http_hangar_batch_start(c) != NGX_OK) {
            return;
        }

        ngx_http_hangar_batch_invoke(c);
        return;
    }
}


/*
 * The policy, the withdrawals, the approval hold.  NGX_OK: go on;
 * NGX_DECLINED: the catalog has no such tool (yet); NGX_AGAIN: held for
 * approval; NGX_ERROR: the call failed.
 */

static ngx_int_t
ngx_http_hangar_batch_gate(ngx_http_hangar_bcall_t *c)
{
    ngx_int_t                 rc;
    ngx_str_t                 msg;
    ngx_uint_t                i;
    ngx_array_t              *entries;
    ngx_http_hangar_req_t    *hr;
    ngx_http_hangar_entry_t  *e, entry;

    hr = c->batch->hr;

    if (ngx_http_hangar_catalog(hr, &entries) != NGX_OK) {
        ngx_http_hangar_batch_fail(c, "InternalError", "out of memory");
        return NGX_ERROR;
    }

    e = entries->elts;

    for (i = 0; i < entries->nelts; i++) {
        if (e[i].server.len == c->server.len && e[i].tool.len == c->tool.len
            && ngx_strncmp(e[i].server.data, c->server.data, c->server.len)
               == 0
            && ngx_strncmp(e[i].tool.data, c->tool.data, c->tool.len) == 0)
        {
            break;
        }
    }

    if (i == entries->nelts) {
        return NGX_DECLINED;
    }

    /* checked under the name the caller gave, as tool:invoke was */
    entry = e[i];
    entry.name = c->tool;

    rc = ngx_http_hangar_catalog_check(hr, &entry, &c->verdict, &msg);

    if (rc != NGX_HTTP_HANGAR_ACCESS_OK) {
        ngx_http_hangar_batch_fail(c,
            rc == NGX_HTTP_HANGAR_ACCESS_POLICY ? "ToolAccessDeniedError"
            : rc == NGX_HTTP_HANGAR_ACCESS_WITHDRAWN ? "ToolWithdrawnError"
            : rc == NGX_HTTP_HANGAR_ACCESS_RBAC ? "AuthorizationDenied"
            : "InternalError", "%V", &msg);
        return NGX_ERROR;
    }

    c->checked = 1;

    rc = ngx_http_hangar_approval_hold(hr->r, &c->server, &c->tool,
                                       c->params, &c->verdict,
                                       ngx_http_hangar_batch_approved, c,
                                       &msg);

    if (rc == NGX_DECLINED) {
        return NGX_OK;
    }

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    if (msg.len == 0) {
        ngx_str_set(&msg, "the approval could not be requested");
    }

    ngx_http_hangar_batch_fail(c, "ApprovalError", "%V", &msg);

    return NGX_ERROR;
}


static void
ngx_http_hangar_batch_approved(void *data, ngx_int_t rc, ngx_str_t *text)
{
    ngx_http_hangar_bcall_t  *c = data;

    if (c->done || c->batch->over || rc == NGX_AGAIN) {
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_hangar_batch_fail(c, "ApprovalDenied", "%V", text);
        return;
    }

    ngx_http_hangar_batch_step(c);
}


/* the lazy start, single flight: NGX_OK ready, else it waits or failed */

static ngx_int_t
ngx_http_hangar_batch_start(ngx_http_hangar_bcall_t *c)
{
    ngx_int_t                rc;
    ngx_msec_t               retry;
    ngx_http_hangar_req_t   *hr;

    hr = c->batch->hr;

    c->waiter.handler = ngx_http_hangar_batch_ready;
    c->waiter.data = c;
    c->waiter.hold = 1;     /* in flight until the call ends */

    rc = ngx_http_hangar_ensure_ready(hr->reg, &c->server, 0, &c->waiter,
                                      hr->r->connection->log, &retry);

    switch (rc) {

    case NGX_OK:
        c->ready = 1;
        return NGX_OK;

    case NGX_AGAIN:
        return NGX_AGAIN;

    case NGX_HTTP_HANGAR_BLOCKED:
        ngx_http_hangar_batch_fail(c, "McpServerStartError",
                                   "Failed to start mcp_server: the MCP "
                                   "server is blocked");
        break;

    case NGX_HTTP_HANGAR_BACKOFF:
        ngx_http_hangar_batch_fail(c, "CannotStartMcpServerError",
                                   "Cannot start mcp_server: backoff not "
                                   "elapsed, retry in %.1fs",
                                   (double) retry / 1000);
        break;

    case NGX_HTTP_HANGAR_UNKNOWN:
        ngx_http_hangar_batch_fail(c, "McpServerNotFoundError",
                                   "McpServer not found: %V", &c->server);
        break;

    default:
        ngx_http_hangar_batch_ready(&c->waiter, NGX_ERROR);
    }

    return NGX_ERROR;
}


static void
ngx_http_hangar_batch_ready(ngx_http_hangar_waiter_t *w, ngx_int_t rc)
{
    ngx_str_t                 text, msg;
    ngx_http_hangar_bcall_t  *c = w->data;

    if (rc == NGX_OK) {
        c->ready = 1;
        ngx_http_hangar_batch_step(c);
        return;
    }

    if (ngx_http_hangar_start_outcome(c->batch->hr->reg,
                                      c->batch->hr->r->pool, &c->server, rc,
                                      &text)
        != NGX_OK)
    {
        ngx_str_null(&text);
    }

    if (ngx_http_hangar_start_failure(c->batch->hr->r->pool, &text, &msg)
        != NGX_OK)
    {
        ngx_str_set(&msg, "Failed to start mcp_server");
    }

    ngx_http_hangar_batch_fail(c, "McpServerStartError", "%V", &msg);
}


/* one attempt: bounded by the call's timeout and what is left of the
 * batch's budget (the batch's own timer) */

static void
ngx_http_hangar_batch_invoke(ngx_http_hangar_bcall_t *c)
{
    ngx_str_t               msg;
    ngx_http_hangar_req_t  *hr;

    hr = c->batch->hr;
    c->attempts++;

    if (c->timeout) {
        c->delayed = 0;
        ngx_add_timer(&c->timer, c->timeout);
    }

    c->handle = ngx_http_hangar_server_call(hr->reg, &c->server, "tools/call",
                                            &c->text, &c->tool,
                                            hr->r->connection->log,
                                            ngx_http_hangar_batch_result,
                                            NULL, c);
    if (c->handle == NULL) {
        ngx_str_set(&msg, "the MCP server is not ready");
        ngx_http_hangar_batch_failed(c, "McpServerNotReadyError", &msg);
    }
}


static void
ngx_http_hangar_batch_result(void *data, ngx_http_hangar_value_t *msg,
    ngx_str_t *error)
{
    ngx_http_hangar_bcall_t  *c = data;

    u_char                   *p;
    ngx_str_t                 text;
    ngx_uint_t                i;
    ngx_http_hangar_value_t  *v, *m, *res, *content, **items, *t;

    c->handle = NULL;

    if (c->done || c->batch->over) {
        return;
    }

    v = ngx_http_hangar_get(msg, "error");
    m = ngx_http_hangar_get(v, "message");
    res = ngx_http_hangar_get(msg, "result");

    if (msg == NULL || (v && !ngx_http_hangar_is(m, NGX_HTTP_HANGAR_STR))) {
        if (error == NULL) {
            ngx_str_set(&text, "the MCP server gave no answer");
            error = &text;
        }

        ngx_http_hangar_batch_failed(c, "ToolInvocationError", error);
        return;
    }

    /* the bridge's word that the server died mid-call */
    if (v && m->u.s.len > 10 && ngx_strncmp(m->u.s.data, "MCP server", 10)
                                == 0)
    {
        ngx_http_hangar_batch_failed(c, "ToolInvocationError", &m->u.s);
        return;
    }

    t = ngx_http_hangar_get(res, "isError");

    if (v || (ngx_http_hangar_is(t, NGX_HTTP_HANGAR_BOOL) && t->u.b)) {
        /* "tool_error: <message>", or the text blocks of the result */
        text.len = sizeof("tool_error: ") - 1 + (v ? m->u.s.len : 0);
        content = ngx_http_hangar_get(res, "content");
        items = ngx_http_hangar_is(content, NGX_HTTP_HANGAR_ARR)
                ? content->u.arr.elts : NULL;

        for (i = 0; items && i < content->u.arr.nelts; i++) {
            t = ngx_http_hangar_get(items[i], "text");
            text.len += ngx_http_hangar_is(t, NGX_HTTP_HANGAR_STR)
                        ? t->u.s.len + 1 : 0;
        }

        p = ngx_pnalloc(c->batch->hr->r->pool, text.len);
        if (p == NULL) {
            ngx_http_hangar_batch_failed(c, "ToolInvocationError", error);
            return;
        }

        text.data = p;
        p = ngx_cpymem(p, "tool_error: ", sizeof("tool_error: ") - 1);
        p = v ? ngx_cpymem(p, m->u.s.data, m->u.s.len) : p;

        for (i = 0; items && i < content->u.arr.nelts; i++) {
            t = ngx_http_hangar_get(items[i], "text");
            if (ngx_http_hangar_is(t, NGX_HTTP_HANGAR_STR)) {
                p = ngx_cpymem(p, t->u.s.data, t->u.s.len);
                *p++ = '\n';
            }
        }

        text.len = p - text.data - (!v && p[-1] == '\n');
        ngx_http_hangar_batch_failed(c, "ToolInvocationError", &text);
        return;
    }

    /* the result verbatim, unless it is over 10 MiB */
    if (res == NULL
        || ngx_http_hangar_json_text(c->batch->hr->r->pool, res, &c->result)
           != NGX_OK)
    {
        ngx_str_set(&c->result, "{}");
    }

    if (c->result.len > NGX_HTTP_HANGAR_RESULT_MAX) {
        c->size = c->result.len;
        ngx_str_null(&c->result);
    }

    c->success = 1;
    ngx_http_hangar_batch_finish(c);
}


/* an attempt's timeout, or the end of a retry's delay */

static void
ngx_http_hangar_batch_timer(ngx_event_t *ev)
{
    ngx_str_t                 msg;
    ngx_http_hangar_bcall_t  *c = ev->data;

    if (c->delayed) {
        c->delayed = 0;
        ngx_http_hangar_batch_step(c);
        return;
    }

    if (c->handle) {
        ngx_http_hangar_server_call_abandon(c->handle);
        c->handle = NULL;
    }

    msg.data = ngx_pnalloc(c->batch->hr->r->pool, 64);
    if (msg.data == NULL) {
        ngx_str_set(&msg, "Tool call timed out");

    } else {
        msg.len = ngx_sprintf(msg.data, "Tool call timed out after %.1fs",
                              (double) c->timeout / 1000)
                  - msg.data;
    }

    ngx_http_hangar_batch_failed(c, "TimeoutError", &msg);
}


/* an attempt failed: tried again when it may be transient */

static void
ngx_http_hangar_batch_failed(ngx_http_hangar_bcall_t *c, const char *type,
    ngx_str_t *msg)
{
    ngx_msec_t                delay;
    const char              **t;
    ngx_http_hangar_batch_t  *b;

    b = c->batch;

    if (c->timer.timer_set) {
        ngx_del_timer(&c->timer);
    }

    ngx_http_hangar_waiter_cancel(&c->waiter);
    c->ready = 0;

    t = ngx_array_push(&c->retries);
    if (t) {
        *t = type;
    }

    if (c->attempts < b->attempts && !b->cancelled
        && ngx_http_hangar_batch_transient(type, msg))
    {
        /* 1 s, 2 s, 4 s ... at most 30 s, +-25 % */
        delay = ngx_min(1000 << ngx_min(c->attempts - 1, 5), 30000);
        delay = delay * 3 / 4 + (ngx_random() % (delay / 2 + 1));

        c->delayed = 1;
        ngx_add_timer(&c->timer, delay);
        return;
    }

    ngx_http_hangar_batch_fail(c, type, "%V", msg);
}


static ngx_uint_t
ngx_http_hangar_batch_transient(const char *type, ngx_str_t *msg)
{
    u_char        *low;
    size_t         len;
    const char   **w;

    for (w = ngx_http_hangar_batch_retry_on; *w; w++) {
        if (ngx_strcmp(*w, type) == 0) {
            return 1;
        }
    }

    len = ngx_strlen(type) + 1 + msg->len;
    low = ngx_alloc(len + 1, ngx_cycle->log);
    if (low == NULL) {
        return 0;
    }

    ngx_strlow(low, (u_char *) type, ngx_strlen(type));
    low[ngx_strlen(type)] = ' ';
    ngx_strlow(low + ngx_strlen(type) + 1, msg->data, msg->len);

    for (w = ngx_http_hangar_batch_retry_words; *w; w++) {
        if (ngx_strlcasestrn(low, low + len, (u_char *) *w,
                             ngx_strlen(*w) - 1)
            != NULL)
        {
            ngx_free(low);
            return 1;
        }
    }

    ngx_free(low);

    return 0;
}


static void
ngx_http_hangar_batch_fail(ngx_http_hangar_bcall_t *c, const char *type,
    const char *fmt, ...)
{
    u_char    *p, msg[1024];
    va_list    args;

    va_start(args, fmt);
    p = ngx_vslprintf(msg, msg + sizeof(msg), fmt, args);
    va_end(args);

    c->error.data = ngx_pnalloc(c->batch->hr->r->pool, p - msg);
    if (c->error.data) {
        c->error.len = p - msg;
        ngx_memcpy(c->error.data, msg, p - msg);
    }

    c->error_type = type;
    c->success = 0;

    ngx_http_hangar_batch_finish(c);
}


static void
ngx_http_hangar_batch_finish(ngx_http_hangar_bcall_t *c)
{
    ngx_http_hangar_batch_t  *b;

    b = c->batch;

    if (c->done) {
        return;
    }

    c->done = 1;
    c->elapsed = c->started ? ngx_http_hangar_batch_ms() - c->begun : 0;

    ngx_http_hangar_batch_release(c);

    if (c->started) {
        b->running--;
    }

    b->finished++;

    if (!c->success && b->fail_fast && !b->cancelled) {
        ngx_http_hangar_batch_cancel(b, "Cancelled", "CancellationError");
    }

    ngx_http_hangar_batch_dispatch(b);
}


static void
ngx_http_hangar_batch_release(ngx_http_hangar_bcall_t *c)
{
    if (c->timer.timer_set) {
        ngx_del_timer(&c->timer);
    }

    ngx_http_hangar_waiter_cancel(&c->waiter);

    if (c->handle) {
        ngx_http_hangar_server_call_abandon(c->handle);
        c->handle = NULL;
    }
}


/* every call not done ends with error (fail_fast, the budget spent) */

static void
ngx_http_hangar_batch_cancel(ngx_http_hangar_batch_t *b, const char *error,
    const char *type)
{
    ngx_uint_t  i, dispatching;

    b->cancelled = 1;
    dispatching = b->dispatching;
    b->dispatching = 1;

    for (i = 0; i < b->n; i++) {
        if (!b->calls[i].done) {
            ngx_http_hangar_batch_fail(&b->calls[i], type, "%s", error);
        }
    }

    b->next = b->n;
    b->dispatching = dispatching;

    ngx_http_hangar_batch_dispatch(b);
}


static void
ngx_http_hangar_batch_expired(ngx_event_t *ev)
{
    ngx_http_hangar_batch_t  *b = ev->data;

    ngx_http_hangar_batch_cancel(b, "Timeout", "TimeoutError");
}


static void
ngx_http_hangar_batch_answer_all(ngx_http_hangar_batch_t *b)
{
    ngx_str_t               json;
    ngx_http_hangar_out_t   body;
    ngx_http_hangar_req_t  *hr;

    hr = b->hr;
    b->answered = 1;

    if (b->timer.timer_set) {
        ngx_del_timer(&b->timer);
    }

    ngx_http_hangar_out_init(&body, hr->r->pool, 1024);
    ngx_http_hangar_batch_render(b, &body);

    if (ngx_http_hangar_out_flatten(&body, &json) != NGX_OK) {
        b->rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else {
        ngx_http_hangar_batch_answer(hr, b->id, &json, 0);
        b->rc = ngx_http_hangar_send(hr, NGX_HTTP_OK);
    }

    if (b->async) {
        ngx_http_finalize_request(hr->r, b->rc);
    }
}


static void
ngx_http_hangar_batch_render(ngx_http_hangar_batch_t *b,
    ngx_http_hangar_out_t *out)
{
    ngx_uint_t                 i, k, ok;
    const char               **t;
    ngx_http_hangar_bcall_t   *c;

    for (ok = 0, i = 0; i < b->n; i++) {
        ok += b->calls[i].success;
    }

    ngx_http_hangar_out_printf(out, "{\"batch_id\":\"%s\",\"success\":%s,"
                               "\"total\":%ui,\"succeeded\":%ui,\"failed\":"
                               "%ui,\"elapsed_ms\":", b->batch_id,
                               ok == b->n ? "true" : "false", b->n, ok,
                               b->n - ok);
    ngx_http_hangar_out_num(out, ngx_http_hangar_batch_ms() - b->begun);
    ngx_http_hangar_out_lit(out, ",\"results\":[");

    for (i = 0; i < b->n; i++) {
        c = &b->calls[i];

        ngx_http_hangar_out_printf(out, "%s{\"index\":%ui,\"call_id\":",
                                   i ? "," : "", i);

        if (c->call_id[0]) {
            ngx_http_hangar_out_printf(out, "\"%s\"", c->call_id);

        } else {
            ngx_http_hangar_out_lit(out, "null");
        }

        ngx_http_hangar_out_printf(out, ",\"success\":%s,\"result\":",
                                   c->success ? "true" : "false");

        if (c->result.len) {
            ngx_http_hangar_out_raw(out, c->result.data, c->result.len);

        } else {
            ngx_http_hangar_out_lit(out, "null");
        }

        ngx_http_hangar_out_lit(out, ",\"error\":");

        if (c->success) {
            ngx_http_hangar_out_lit(out, "null,\"error_type\":null");

        } else {
            ngx_http_hangar_out_str(out, c->error.data, c->error.len);
            ngx_http_hangar_out_printf(out, ",\"error_type\":\"%s\"",
                                       c->error_type);
        }

        ngx_http_hangar_out_lit(out, ",\"elapsed_ms\":");
        ngx_http_hangar_out_num(out, c->elapsed);

        if (c->size) {
            ngx_http_hangar_out_printf(out, ",\"truncated\":true,"
                                       "\"truncated_reason\":"
                                       "\"response_size_exceeded\","
                                       "\"original_size_bytes\":%uz",
                                       c->size);
        }

        if (b->attempts > 1 && c->started) {
            ngx_http_hangar_out_printf(out, ",\"retry_metadata\":"
                                       "{\"attempts\":%ui,\"retries\":[",
                                       c->attempts);
            t = c->retries.elts;

            /* the last failure is the call's error, not a retry */
            for (k = 0; k + !c->success < c->retries.nelts; k++) {
                ngx_http_hangar_out_printf(out, "%s\"%s\"", k ? "," : "",
                                           t[k]);
            }

            ngx_http_hangar_out_lit(out, "],\"total_time_ms\":");
            ngx_http_hangar_out_num(out, c->elapsed);
            ngx_http_hangar_out_lit(out, "}");
        }

        ngx_http_hangar_out_lit(out, "}");
    }

    ngx_http_hangar_out_lit(out, "]}");
}


/* the request ends, answered or not: nothing of the calls stays */

static void
ngx_http_hangar_batch_cleanup(void *data)
{
    ngx_http_hangar_batch_t  *b = data;

    ngx_uint_t  i;

    b->over = 1;

    if (b->timer.timer_set) {
        ngx_del_timer(&b->timer);
    }

    for (i = 0; i < b->n; i++) {
        ngx_http_hangar_batch_release(&b->calls[i]);
    }
}


static double
ngx_http_hangar_batch_ms(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (double) ts.tv_sec * 1000 + (double) ts.tv_nsec / 1000000;
}
