
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The calls held for approval (hangar-security.md §4.2).  A held call
 * polls its record in the zone on a timer, so a decision made on any
 * worker is seen within a poll; the worker serves other requests
 * meanwhile.  The poll timer is not cancelable: an old worker of a reload
 * finishes its held calls before it exits.  The sweep, on the timer of
 * the worker holding the lease, expires pending records past their time.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/rand.h>
#include "ngx_http_hangar_approval_hold.h"
#include "ngx_http_hangar_approval_args.h"


#define NGX_HTTP_HANGAR_APPROVAL_POLL      200
#define NGX_HTTP_HANGAR_APPROVAL_PROGRESS  2000
#define NGX_HTTP_HANGAR_APPROVAL_SWEEP     1000
#define NGX_HTTP_HANGAR_APPROVAL_TIMEOUT   300


/* one held call */
typedef struct {
    ngx_http_hangar_approval_create_t  create;    /* first: its op */
    ngx_http_hangar_approval_op_t      expire;

    ngx_http_request_t          *r;
    ngx_http_hangar_registry_t  *reg;
    ngx_http_hangar_approval_pt  handler;
    void                        *data;
    ngx_http_hangar_value_t     *args;
    ngx_http_hangar_value_t     *token;     /* _meta.progressToken */
    ngx_str_t                    server;
    ngx_str_t                    tool;
    ngx_str_t                    tenant;    /* the caller's; len 0: none */
    ngx_event_t                  timer;
    ngx_msec_t                   next_progress;
    ngx_uint_t                   progress;
    unsigned                     expiring:1;
    unsigned                     over:1;
} ngx_http_hangar_held_t;


static ngx_int_t ngx_http_hangar_approval_create_done(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_approval_created(ngx_http_hangar_held_t *h,
    ngx_int_t rc, ngx_str_t *msg);
static ngx_int_t ngx_http_hangar_approval_record(ngx_http_hangar_held_t *h,
    ngx_http_hangar_policy_verdict_t *v);
static void ngx_http_hangar_approval_poll(ngx_event_t *ev);
static void ngx_http_hangar_approval_expire(ngx_http_hangar_held_t *h);
static ngx_int_t ngx_http_hangar_approval_expire_done(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static void ngx_http_hangar_approval_approved(ngx_http_hangar_held_t *h,
    u_char *hash, ngx_msec_t expires);
static void ngx_http_hangar_approval_progress(ngx_http_hangar_held_t *h);
static void ngx_http_hangar_approval_finish(ngx_http_hangar_held_t *h,
    ngx_int_t rc, const char *error_type, ngx_str_t *error);
static void ngx_http_hangar_approval_cleanup(void *data);
static void ngx_http_hangar_approval_sweep(ngx_event_t *ev);
static ngx_int_t ngx_http_hangar_approval_sweep_done(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);


static ngx_event_t       ngx_http_hangar_approval_sweep_ev;
static ngx_connection_t  ngx_http_hangar_approval_sweep_conn;
static ngx_uint_t        ngx_http_hangar_approval_sweeping;


/* ---- the hold ---------------------------------------------------------- */

ngx_int_t
ngx_http_hangar_approval_hold(ngx_http_request_t *r, ngx_str_t *server,
    ngx_str_t *tool, ngx_http_hangar_value_t *params,
    ngx_http_hangar_policy_verdict_t *v, ngx_http_hangar_approval_pt handler,
    void *data, ngx_str_t *msg)
{
    ngx_int_t                     rc;
    ngx_pool_cleanup_t           *cln;
    ngx_http_hangar_held_t       *h;
    ngx_http_hangar_registry_t   *reg;

    ngx_str_null(msg);

    reg = ngx_http_hangar_registry();

    if (reg == NULL || !v->allowed || !v->approval) {
        return NGX_DECLINED;
    }

    h = ngx_pcalloc(r->pool, sizeof(ngx_http_hangar_held_t));
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->r = r;
    h->reg = reg;
    h->handler = handler;
    h->data = data;
    h->server = *server;
    h->tool = *tool;
    h->args = ngx_http_hangar_get(params, "arguments");
    h->token = ngx_http_hangar_get(ngx_http_hangar_get(params, "_meta"),
                                   "progressToken");

    if (ngx_http_hangar_approval_record(h, v) != NGX_OK) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_hangar_approval_cleanup;
    cln->data = h;

    h->create.op.reg = reg;
    h->create.op.pool = r->pool;
    h->create.op.log = r->connection->log;
    h->create.op.r = r;
    h->create.op.data = h;
    h->create.op.done = ngx_http_hangar_approval_create_done;
    ngx_http_hangar_approval_create_init(&h->create);

    rc = ngx_http_hangar_state_run(&h->create.op);

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    return ngx_http_hangar_approval_created(h, rc, msg);
}


/* the record of the call, made in the request's pool */

static ngx_int_t
ngx_http_hangar_approval_record(ngx_http_hangar_held_t *h,
    ngx_http_hangar_policy_verdict_t *v)
{
    ngx_pool_t                   *pool;
    ngx_http_hangar_principal_t  *p;
    ngx_http_hangar_approval_t   *a;

    pool = h->r->pool;
    a = &h->create.rec;

    a->id.data = ngx_pnalloc(pool, 37 + 37 + 64);
    if (a->id.data == NULL) {
        return NGX_ERROR;
    }

    ngx_http_hangar_approval_uuid(a->id.data);
    a->id.len = 36;
    a->correlation.data = a->id.data + 37;
    ngx_http_hangar_approval_uuid(a->correlation.data);
    a->correlation.len = 36;
    a->hash.data = a->correlation.data + 37;
    a->hash.len = 64;

    if (ngx_http_hangar_args_hash(pool, h->args, a->hash.data) != NGX_OK
        || ngx_http_hangar_args_redact(pool, h->args, &a->arguments)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    a->provider.len = ngx_min(h->server.len, NGX_HTTP_HANGAR_ID_MAX);
    a->provider.data = h->server.data;
    a->tool.len = ngx_min(h->tool.len, NGX_HTTP_HANGAR_NAME_MAX);
    a->tool.data = h->tool.data;
    a->state = NGX_HTTP_HANGAR_APPROVAL_PENDING;
    a->requested_at = ngx_http_hangar_now_ms();
    a->expires_at = a->requested_at
                    + (v->timeout ? v->timeout
                                  : NGX_HTTP_HANGAR_APPROVAL_TIMEOUT) * 1000;

    if (v->channel.len && v->channel.len <= NGX_HTTP_HANGAR_NAME_MAX) {
        a->channel = v->channel;

    } else {
        ngx_str_set(&a->channel, "event_stream");
    }

    /* who asks (NULL with auth off) */
    p = ngx_http_hangar_auth_principal(h->r);

    if (p) {
        a->requested_by.len = ngx_min(p->id.len, 256);
        a->requested_by.data = p->id.data;
        a->tenant.len = ngx_min(p->tenant.len, 256);
        a->tenant.data = p->tenant.data;
        h->tenant = p->tenant;
    }

    return NGX_OK;
}


/* every POLL ms: the record, as any worker may have changed it */

static void
ngx_http_hangar_approval_poll(ngx_event_t *ev)
{
    u_char                   hash[64];
    ngx_str_t                reason;
    ngx_uint_t               state;
    ngx_msec_t               now, expires;
    ngx_http_hangar_held_t  *h;
    u_char                   buf[NGX_HTTP_HANGAR_APPROVAL_REASON_MAX];

    h = (ngx_http_hangar_held_t *) ((u_char *) ev
                                    - offsetof(ngx_http_hangar_held_t, timer));

    if (h->over || h->expiring) {
        return;
    }

    reason.data = buf;
    expires = 0;

    state = ngx_http_hangar_approval_peek(h->reg, &h->create.rec.id, &expires,
                                          hash, &reason, sizeof(buf));

    now = ngx_http_hangar_now_ms();

    switch (state) {

    case NGX_HTTP_HANGAR_APPROVAL_PENDING:
        if (now >= expires) {
            ngx_http_hangar_approval_expire(h);
            return;
        }

        ngx_add_timer(ev, NGX_HTTP_HANGAR_APPROVAL_POLL);

        if (h->token && ngx_current_msec >= h->next_progress) {
            h->next_progress = ngx_current_msec
                               + NGX_HTTP_HANGAR_APPROVAL_PROGRESS;
            /* may end the request: nothing of h is touched after it */
            ngx_http_hangar_approval_progress(h);
        }

        return;

    case NGX_HTTP_HANGAR_APPROVAL_APPROVED:
        ngx_http_hangar_approval_approved(h, hash, expires);
        return;

    case NGX_HTTP_HANGAR_APPROVAL_DENIED:
        if (reason.len == 0) {
            ngx_str_set(&reason, "Tool execution denied by approval gate");
        }

        ngx_http_hangar_approval_finish(h, NGX_DECLINED, "approval_denied",
                                        &reason);
        return;

    case NGX_HTTP_HANGAR_APPROVAL_EXPIRED:
        ngx_str_set(&reason, "No response within timeout");
        ngx_http_hangar_approval_finish(h, NGX_DECLINED, "approval_timeout",
                                        &reason);
        return;

    default:
        ngx_str_set(&reason, "the approval record is gone");
        ngx_http_hangar_approval_finish(h, NGX_DECLINED, "ApprovalGateError",
                                        &reason);
    }
}


/* the time is up: the record is expired, unless a decision came first */

static void
ngx_http_hangar_approval_expire(ngx_http_hangar_held_t *h)
{
    ngx_int_t                       rc;
    ngx_http_hangar_approval_op_t  *ao;

    h->expiring = 1;

    ao = &h->expire;
    ao->op.reg = h->reg;
    ao->op.pool = h->r->pool;
    ao->op.log = h->r->connection->log;
    ao->op.r = h->r;
    ao->op.data = h;
    ao->op.done = ngx_http_hangar_approval_expire_done;
    ao->id = h->create.rec.id;
    ao->decision = NGX_HTTP_HANGAR_APPROVAL_EXPIRED;
    ngx_str_set(&ao->decided_by, "system");
    ngx_http_hangar_approval_resolve_init(ao);

    rc = ngx_http_hangar_state_run(&ao->op);

    if (rc != NGX_AGAIN) {
        (void) ngx_http_hangar_approval_expire_done(&ao->op, rc);
    }
}


static ngx_int_t
ngx_http_hangar_approval_expire_done(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc)
{
    ngx_str_t                       reason;
    ngx_http_hangar_held_t         *h;
    ngx_http_hangar_approval_op_t  *ao;

    ao = (ngx_http_hangar_approval_op_t *) op;
    h = op->data;
    h->expiring = 0;

    /* a decision that came first is read from the record */
    if ((rc == NGX_OK || rc == NGX_DONE)
        && ao->outcome == NGX_HTTP_HANGAR_APPROVAL_RESOLVED)
    {
        ngx_http_hangar_approval_poll(&h->timer);
        return NGX_OK;
    }

    /* expired, or not saved: the call is refused all the same */
    ngx_str_set(&reason, "No response within timeout");
    ngx_http_hangar_approval_finish(h, NGX_DECLINED, "approval_timeout",
                                    &reason);

    return NGX_OK;
}


/* approved: checked again before the dispatch (§4.2 step 4) */

static void
ngx_http_hangar_approval_approved(ngx_http_hangar_held_t *h, u_char *hash,
    ngx_msec_t expires)
{
    u_char                             now_hash[64];
    ngx_str_t                          why;
    ngx_http_hangar_policy_verdict_t   v;

    if (ngx_http_hangar_now_ms() >= expires) {
        ngx_str_set(&why, "Approval no longer valid at dispatch: expired");
        goto invalid;
    }

    if (ngx_http_hangar_args_hash(h->r->pool, h->args, now_hash) != NGX_OK
        || ngx_memcmp(now_hash, hash, 64) != 0
        || ngx_memcmp(now_hash, h->create.rec.hash.data, 64) != 0)
    {
        ngx_str_set(&why, "Approval no longer valid at dispatch: "
                          "the arguments changed");
        goto invalid;
    }

    if (ngx_http_hangar_policy_decide(h->reg, &h->server, NULL,
                                      h->tenant.len ? &h->tenant : NULL,
                                      NGX_HTTP_HANGAR_POLICY_TOOL, &h->tool,
                                      &v)
        != NGX_OK
        || !v.allowed)
    {
        ngx_str_set(&why, "Approval no longer valid at dispatch: "
                          "the tool is no longer allowed");
        ngx_http_hangar_approval_finish(h, NGX_DECLINED, "ToolAccessDenied",
                                        &why);
        return;
    }

    ngx_http_hangar_approval_finish(h, NGX_OK, NULL, NULL);
    return;

invalid:

    ngx_http_hangar_approval_finish(h, NGX_DECLINED, "ApprovalNoLongerValid",
                                    &why);
}


static void
ngx_http_hangar_approval_progress(ngx_http_hangar_held_t *h)
{
    ngx_str_t              text;
    ngx_msec_t             now;
    ngx_http_hangar_out_t  out;

    now = ngx_http_hangar_now_ms();
    h->progress++;

    ngx_http_hangar_out_init(&out, h->r->pool, 512);
    ngx_http_hangar_out_lit(&out, "{\"jsonrpc\":\"2.0\",\"method\":"
                            "\"notifications/progress\",\"params\":"
                            "{\"progressToken\":");
    ngx_http_hangar_json_out(&out, h->token);
    ngx_http_hangar_out_printf(&out, ",\"progress\":%ui,\"message\":"
                               "\"waiting for approval %V (expires in "
                               "%Ms)\"}}", h->progress, &h->create.rec.id,
                               h->create.rec.expires_at > now
                               ? (h->create.rec.expires_at - now) / 1000 : 0);

    if (ngx_http_hangar_out_flatten(&out, &text) != NGX_OK) {
        return;
    }

    h->handler(h->data, NGX_AGAIN, &text);
}


/* the outcome, once: the tool error is the original's result object */

static void
ngx_http_hangar_approval_finish(ngx_http_hangar_held_t *h, ngx_int_t rc,
    const char *error_type, ngx_str_t *error)
{
    ngx_str_t              text;
    ngx_connection_t      *c;
    ngx_http_hangar_out_t  out;

    if (h->over) {
        return;
    }

    h->over = 1;
    c = h->r->connection;

    if (h->timer.timer_set) {
        ngx_del_timer(&h->timer);
    }

    h->r->read_event_handler = ngx_http_block_reading;

    ngx_str_null(&text);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "hangar: call of \"%V\" on \"%V\" refused: %s "
                      "(approval %V)", &h->create.rec.tool,
                      &h->create.rec.provider, error_type, &h->create.rec.id);

        ngx_http_hangar_out_init(&out, h->r->pool, 256);
        ngx_http_hangar_out_lit(&out, "{\"success\":false,\"error\":");
        ngx_http_hangar_out_str(&out, error->data, error->len);
        ngx_http_hangar_out_printf(&out, ",\"error_type\":\"%s\","
                                   "\"approval_id\":\"%V\"}", error_type,
                                   &h->create.rec.id);

        if (ngx_http_hangar_out_flatten(&out, &text) != NGX_OK) {
            ngx_str_set(&text, "approval refused");
        }
    }

    h->handler(h->data, rc, &text);
    ngx_http_run_posted_requests(c);
}


/* the request ends (or the client went): nothing of the hold stays */

static void
ngx_http_hangar_approval_cleanup(void *data)
{
    ngx_http_hangar_held_t  *h = data;

    h->over = 1;

    if (h->timer.timer_set) {
        ngx_del_timer(&h->timer);
    }
}


void
ngx_http_hangar_approval_uuid(u_char *out)
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



static ngx_int_t
ngx_http_hangar_approval_create_done(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc)
{
    ngx_str_t                msg;
    ngx_connection_t        *c;
    ngx_http_hangar_held_t  *h;

    h = op->data;

    if (ngx_http_hangar_approval_created(h, rc, &msg) == NGX_AGAIN) {
        return NGX_OK;
    }

    c = h->r->connection;
    h->over = 1;
    h->handler(h->data, NGX_DECLINED, &msg);
    ngx_http_run_posted_requests(c);

    return NGX_OK;
}


/* the record is kept (the call waits: NGX_AGAIN) or not (*msg says why) */

static ngx_int_t
ngx_http_hangar_approval_created(ngx_http_hangar_held_t *h, ngx_int_t rc,
    ngx_str_t *msg)
{
    ngx_log_t  *log;

    log = h->r->connection->log;

    switch (rc) {

    case NGX_OK:
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "hangar: call of \"%V\" on \"%V\" held for approval "
                      "%V", &h->create.rec.tool, &h->create.rec.provider,
                      &h->create.rec.id);

        h->timer.handler = ngx_http_hangar_approval_poll;
        h->timer.data = h->r->connection;
        h->timer.log = log;
        /* not cancelable: an old worker finishes the call at a reload */
        ngx_add_timer(&h->timer, NGX_HTTP_HANGAR_APPROVAL_POLL);
        h->next_progress = ngx_current_msec;

        /*
         * A client that goes away ends the request, and the hold with it;
         * one that went while the record was written is looked at once
         * this handler is over.
         */
        h->r->read_event_handler = ngx_http_test_reading;

        if (h->r->connection->read->ready) {
            ngx_post_event(h->r->connection->read, &ngx_posted_events);
        }

        return NGX_AGAIN;

    case NGX_HTTP_HANGAR_STATE_MANY:
        ngx_str_set(msg, "{\"success\":false,\"error\":\"approval refused: "
                         "1000 approvals are pending; resolve some first\","
                         "\"error_type\":\"ApprovalGateError\"}");
        break;

    case NGX_HTTP_HANGAR_STATE_FULL:
        ngx_str_set(msg, "{\"success\":false,\"error\":\"approval refused: "
                         "the hangar zone is full\","
                         "\"error_type\":\"ApprovalGateError\"}");
        break;

    default:
        ngx_str_set(msg, "{\"success\":false,\"error\":\"approval refused: "
                         "the approval could not be saved\","
                         "\"error_type\":\"ApprovalGateError\"}");
    }

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "hangar: call of \"%V\" on \"%V\" refused: %V",
                  &h->create.rec.tool, &h->create.rec.provider, msg);

    return NGX_ERROR;
}


/* ---- the sweep --------------------------------------------------------- */

ngx_int_t
ngx_http_hangar_approval_init_process(ngx_cycle_t *cycle)
{
    ngx_event_t  *ev;

    if (ngx_http_hangar_registry() == NULL) {
        return NGX_OK;
    }

    /* the event's data is a connection for the debug log */
    ngx_http_hangar_approval_sweep_conn.fd = (ngx_socket_t) -1;

    ev = &ngx_http_hangar_approval_sweep_ev;
    ev->handler = ngx_http_hangar_approval_sweep;
    ev->log = cycle->log;
    ev->data = &ngx_http_hangar_approval_sweep_conn;
    ev->cancelable = 1;

    ngx_add_timer(ev, NGX_HTTP_HANGAR_APPROVAL_SWEEP);

    return NGX_OK;
}


/*
 * Pending records past their time are expired by the worker holding the
 * lease, with or without a call waiting on them (a waiter that died, a
 * record of an old worker); so is a start's denial written.
 */

static void
ngx_http_hangar_approval_sweep(ngx_event_t *ev)
{
    ngx_pool_t                     *pool;
    ngx_http_hangar_registry_t     *reg;
    ngx_http_hangar_approval_op_t  *ao;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    ngx_add_timer(ev, NGX_HTTP_HANGAR_APPROVAL_SWEEP);

    reg = ngx_http_hangar_registry();

    if (reg == NULL || ngx_http_hangar_approval_sweeping
        || reg->sh->lease_pid != (ngx_atomic_uint_t) ngx_pid
        || !ngx_http_hangar_approval_due(reg, ev->log))
    {
        return;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    ao = ngx_pcalloc(pool, sizeof(ngx_http_hangar_approval_op_t));
    if (ao == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    ao->op.reg = reg;
    ao->op.pool = pool;
    ao->op.log = ngx_cycle->log;
    ao->op.done = ngx_http_hangar_approval_sweep_done;
    ao->decision = NGX_HTTP_HANGAR_APPROVAL_EXPIRED;
    ngx_http_hangar_approval_resolve_init(ao);

    ngx_http_hangar_approval_sweeping = 1;

    if (ngx_http_hangar_state_run(&ao->op) != NGX_AGAIN) {
        ngx_http_hangar_approval_sweeping = 0;
        ngx_destroy_pool(pool);
    }
}


static ngx_int_t
ngx_http_hangar_approval_sweep_done(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc)
{
    ngx_http_hangar_approval_sweeping = 0;
    ngx_destroy_pool(op->pool);

    return NGX_OK;
}
