
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Jobs: the start (handshake and catalog), health checks, catalog
 * refreshes, list_changed listeners and clients' calls, each a chain of
 * JSON-RPC calls over the asynchronous client, ending in job_done()
 * (ngx_http_hangar_job_end.c), whose completion of the job's kind moves
 * the shared state.  A stdio server's start spawns its bridge
 * (ngx_http_hangar_spawn.c), which calls back with the outcome.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include "ngx_http_hangar_job.h"
#include "ngx_http_hangar_job_end.h"
#include "ngx_http_hangar_guard.h"
#include "ngx_http_hangar_history.h"
#include "ngx_http_hangar_machine.h"
#include "ngx_http_hangar_proc.h"
#include "ngx_http_hangar_spawn.h"
#include "ngx_http_hangar_stats.h"


static u_char *ngx_http_hangar_job_log(ngx_log_t *log, u_char *buf,
    size_t len);
static void ngx_http_hangar_job_policy(ngx_http_hangar_job_t *job);
static void ngx_http_hangar_start_abort(ngx_http_hangar_registry_t *reg,
    ngx_str_t *id, ngx_atomic_uint_t seq);
static void ngx_http_hangar_warm_handler(ngx_event_t *ev);
static void ngx_http_hangar_job_timeout(ngx_event_t *ev);
static ngx_int_t ngx_http_hangar_job_target(ngx_http_hangar_job_t *job);
static ngx_uint_t ngx_http_hangar_job_declared(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *ep);
static void ngx_http_hangar_rpc_done(ngx_http_hangar_call_t *call);
static void ngx_http_hangar_notify_done(ngx_http_hangar_call_t *call);
static void ngx_http_hangar_send_done(ngx_http_hangar_call_t *call);
static void ngx_http_hangar_rpc_event(ngx_http_hangar_call_t *call,
    ngx_http_hangar_value_t *msg);
static void ngx_http_hangar_start_spawn(ngx_http_hangar_job_t *job);
static void ngx_http_hangar_start_spawned(ngx_http_hangar_spawn_t *sp,
    ngx_int_t rc, ngx_str_t *text);
static void ngx_http_hangar_start_handshake(ngx_http_hangar_job_t *job);
static void ngx_http_hangar_step_initialize(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg);
static void ngx_http_hangar_step_tools(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg);
static void ngx_http_hangar_step_level(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg);
static void ngx_http_hangar_step_ping(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg);
static void ngx_http_hangar_step_call(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg);


#define NGX_HTTP_HANGAR_MAX_WARMS    64


/* a never-started server begun under the mutex, its job to begin after */
typedef struct {
    u_char                       id[NGX_HTTP_HANGAR_ID_MAX];
    size_t                       id_len;
    ngx_atomic_uint_t            seq;
} ngx_http_hangar_warm_t;


/* the action of each kind of job, for its log lines */
static char  *ngx_http_hangar_job_actions[] = {
    "starting the MCP server",
    "checking the MCP server's health",
    "listing the MCP server's tools again",
    "listening to the MCP server",
    "calling the MCP server"
};

static ngx_http_hangar_warm_t   ngx_http_hangar_warms[
                                     NGX_HTTP_HANGAR_MAX_WARMS];
static ngx_uint_t               ngx_http_hangar_nwarms;
static ngx_event_t              ngx_http_hangar_warm_ev;


/*
 * A job of a kind, for the server's current run (seq: of that run, or 0
 * for whatever runs now).  Called without the slab mutex: the pool and
 * the parsed spec are made outside it.  A start that cannot begin fails
 * through the state machine, so that its waiters learn it.
 */

ngx_http_hangar_job_t *
ngx_http_hangar_job_begin(ngx_http_hangar_registry_t *reg, ngx_str_t *id,
    ngx_uint_t kind, ngx_atomic_uint_t seq, ngx_log_t *log)
{
    ngx_str_t                err, text;
    ngx_uint_t               ok;
    ngx_pool_t              *pool;
    ngx_http_hangar_job_t   *job;
    ngx_http_hangar_node_t  *n;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        goto failed;
    }

    job = ngx_pcalloc(pool, sizeof(ngx_http_hangar_job_t));
    if (job == NULL) {
        goto failed;
    }

    /* the job's own log: its lines say what it was doing, for which server */
    job->log = ngx_palloc(pool, sizeof(ngx_log_t));
    if (job->log == NULL) {
        goto failed;
    }

    *job->log = *ngx_cycle->log;
    job->log->handler = ngx_http_hangar_job_log;
    job->log->data = job;
    job->log->action = ngx_http_hangar_job_actions[kind];

    job->pool = pool;
    job->reg = reg;
    job->kind = kind;
    job->check = (kind == NGX_HTTP_HANGAR_JOB_CHECK);
    job->refresh = (kind == NGX_HTTP_HANGAR_JOB_REFRESH);
    job->calling = (kind == NGX_HTTP_HANGAR_JOB_CALL);
    job->done = ngx_http_hangar_job_end(kind);
    job->begun = ngx_http_hangar_now_ms();
    job->timeout = NGX_HTTP_HANGAR_START_MS;
    job->connect_timeout = 10000;     /* hangar-core §2.1 http defaults */

    job->id.len = id->len;
    job->id.data = ngx_pnalloc(pool, id->len + 1);
    if (job->id.data == NULL) {
        goto failed;
    }

    *ngx_cpymem(job->id.data, id->data, id->len) = '\0';

    ngx_str_null(&text);

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, id->data, id->len);

    switch (kind) {

    case NGX_HTTP_HANGAR_JOB_START:
        ok = n && n->state == NGX_HTTP_HANGAR_INITIALIZING;
        break;

    case NGX_HTTP_HANGAR_JOB_CHECK:
        ok = n && (n->state == NGX_HTTP_HANGAR_READY
                   || n->state == NGX_HTTP_HANGAR_DEGRADED);
        break;

    default:
        ok = n && n->state == NGX_HTTP_HANGAR_READY;
    }

    if (ok && (seq == 0 || n->start_seq == seq)) {
        job->seq = n->start_seq;
        job->bridge_seq = kind ? n->bridge_seq : n->start_seq;
        job->mode = n->mode;
        job->bridge_pid = kind ? n->bridge_pid : 0;

        text.len = n->spec->len;
        text.data = ngx_pnalloc(pool, text.len);
        if (text.data) {
            ngx_memcpy(text.data, n->spec->data, text.len);
        }

        if (n->session) {
            job->session.data = ngx_pnalloc(pool, n->session->len);
            if (job->session.data) {
                job->session.len = n->session->len;
                ngx_memcpy(job->session.data, n->session->data,
                           n->session->len);
            }
        }
    }

    ngx_http_hangar_unlock(reg);

    if (text.len == 0) {
        /* stopped, deleted or restarted meanwhile: nothing to do */
        ngx_destroy_pool(pool);
        return NULL;
    }

    if (text.data == NULL) {
        goto failed;
    }

    job->spec = ngx_http_hangar_json_parse(pool, text.data, text.len, &err);
    if (job->spec == NULL) {
        goto failed;
    }

    job->remote_allow = ngx_http_hangar_runtime_allow(pool,
                            reg->hmcf->remote_allow, job->spec);

    ngx_http_hangar_job_policy(job);

    job->timer.handler = ngx_http_hangar_job_timeout;
    job->timer.data = job;
    job->timer.log = job->log;
    /* health checks, refreshes and listeners may be cut at exit */
    job->timer.cancelable = (kind == NGX_HTTP_HANGAR_JOB_CHECK
                             || kind == NGX_HTTP_HANGAR_JOB_REFRESH
                             || kind == NGX_HTTP_HANGAR_JOB_STREAM);

    /* the job sets out from the event loop */
    ngx_post_event(&job->timer, &ngx_posted_events);

    return job;

failed:

    if (pool) {
        ngx_destroy_pool(pool);
    }

    if (kind == NGX_HTTP_HANGAR_JOB_START) {
        ngx_http_hangar_start_abort(reg, id, seq);
    }

    return NULL;
}


static u_char *
ngx_http_hangar_job_log(ngx_log_t *log, u_char *buf, size_t len)
{
    u_char                 *p;
    ngx_http_hangar_job_t  *job;

    job = log->data;
    p = buf;

    if (log->action) {
        p = ngx_snprintf(p, len, " while %s", log->action);
        len -= p - buf;
    }

    return ngx_snprintf(p, len, ", server: \"%V\"", &job->id);
}


/* what the state machine keeps of the spec, for decisions under the lock */

static void
ngx_http_hangar_job_policy(ngx_http_hangar_job_t *job)
{
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_get(job->spec, "max_consecutive_failures");
    job->max_failures = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT)
                        && v->u.i > 0 ? (ngx_uint_t) v->u.i : 3;

    v = ngx_http_hangar_get(job->spec, "idle_ttl_s");
    job->idle_ttl = (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) && v->u.i > 0
                     ? (ngx_msec_t) v->u.i : 300) * 1000;

    v = ngx_http_hangar_get(job->spec, "health_check_interval_s");
    job->interval = (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) && v->u.i > 0
                     ? (ngx_msec_t) v->u.i : 60) * 1000;
}


/* a start that could not even begin: a failure like any other */

static void
ngx_http_hangar_start_abort(ngx_http_hangar_registry_t *reg, ngx_str_t *id,
    ngx_atomic_uint_t seq)
{
    ngx_http_hangar_node_t  *n;

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, id->data, id->len);

    if (n && n->state == NGX_HTTP_HANGAR_INITIALIZING && n->start_seq == seq)
    {
        ngx_http_hangar_machine_fail(reg, n, NGX_HTTP_HANGAR_FAIL_START);
    }

    ngx_http_hangar_unlock(reg);

    ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                  "hangar: \"%V\" could not be started: out of memory", id);
}


/* first run of the job timer: set out; later runs: the start timed out */

static void
ngx_http_hangar_job_timeout(ngx_event_t *ev)
{
    ngx_http_hangar_job_t  *job;

    job = ev->data;

    if (job->step == NULL && job->spawn.ready == NULL && job->call == NULL) {

        if (ngx_http_hangar_job_target(job) != NGX_OK) {
            return;
        }

        if (job->open) {
            job->open(job);
            return;
        }

        if (job->calling && job->method == NULL) {
            /* ngx_http_hangar_server_send(): the job ends with the call */
            (void) ngx_http_hangar_rpc(job, NULL, (char *) job->params, NULL);
            return;
        }

        if (job->check) {
            /* hangar-core §2.7: a health probe gives up after 5 s */
            job->timeout = ngx_min(job->timeout, 5000);
        }

        ngx_add_timer(&job->timer, job->timeout);

        if (job->calling) {
            (void) ngx_http_hangar_rpc(job, job->method, (char *) job->params,
                                       ngx_http_hangar_step_call);
            return;
        }

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
            ngx_http_hangar_start_handshake(job);
            return;
        }

        ngx_http_hangar_start_spawn(job);
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


/*
 * A remote's endpoint is trusted as hangar.yaml declares it; one created
 * or changed through the API is checked again when the client connects
 * (SSRF: a name may resolve to a loopback or metadata address).
 */

static ngx_uint_t
ngx_http_hangar_job_declared(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *ep)
{
    ngx_uint_t                    i;
    ngx_http_hangar_decl_t       *d;
    ngx_http_hangar_value_t      *v;
    ngx_http_hangar_main_conf_t  *hmcf;

    hmcf = job->reg->hmcf;
    d = hmcf->yaml_decls.elts;

    for (i = 0; i < hmcf->yaml_decls.nelts; i++) {
        if (d[i].group
            || ngx_memn2cmp(d[i].id.data, job->id.data, d[i].id.len,
                            job->id.len) != 0)
        {
            continue;
        }

        v = ngx_http_hangar_get(d[i].spec, "endpoint");

        return ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
               && ngx_memn2cmp(v->u.s.data, ep->u.s.data, v->u.s.len,
                               ep->u.s.len) == 0;
    }

    return 0;
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
        /* a bridge that exited meanwhile: its crash is being handled */
        if (job->bridge_pid && kill(job->bridge_pid, 0) == -1) {
            ngx_http_hangar_job_done(job, 0, "the bridge %P is gone",
                                     job->bridge_pid);
            return NGX_ERROR;
        }

        if (ngx_http_hangar_run_path(pool, &job->reg->hmcf->state_dir,
                                     job->id.data, job->id.len,
                                     job->bridge_seq, "sock", &sock)
            != NGX_OK)
        {
            ngx_http_hangar_job_done(job, 0, "out of memory");
            return NGX_ERROR;
        }

        job->target.len = sock.len + 5;
        job->target.data = ngx_pnalloc(pool, job->target.len);
        if (job->target.data == NULL) {
            ngx_http_hangar_job_done(job, 0, "out of memory");
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

    job->guard = !ngx_http_hangar_job_declared(job, ep);
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
            ngx_http_hangar_job_done(job, 0, "out of memory");
            return NGX_ERROR;
        }

        ngx_sprintf(user.data, "%V:%V",
                    v ? &v->u.s : &(ngx_str_t) ngx_null_string,
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

    if (ngx_http_hangar_out_flatten(&h, &job->headers) != NGX_OK) {
        ngx_http_hangar_job_done(job, 0, "out of memory");
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_rpc(ngx_http_hangar_job_t *job, const char *method,
    const char *params, ngx_http_hangar_step_pt step)
{
    u_char                  *p;
    ngx_http_hangar_call_t  *call;

    /* a notification may outlive the job: it logs to the cycle's log */
    call = ngx_http_hangar_call_create(step ? job->log : ngx_cycle->log);
    if (call == NULL) {
        ngx_http_hangar_job_done(job, 0, "out of memory");
        return NGX_ERROR;
    }

    /* the call's pool may go after the job (rpc_done): not the job's log */
    call->pool->log = ngx_cycle->log;

    if (step) {
        job->call = call;
        job->step = step;
        job->rpc_id++;
        call->handler = ngx_http_hangar_rpc_done;
        call->data = job;

        if (job->progress) {
            call->on_event = ngx_http_hangar_rpc_event;
        }

    } else if (method == NULL) {
        call->handler = ngx_http_hangar_send_done;
        call->data = job;

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
    call->guard = job->guard;
    call->remote_allow = job->remote_allow;

    call->body.data = ngx_pnalloc(call->pool, (method ? ngx_strlen(method) : 0)
                                              + ngx_strlen(params) + 96);
    call->headers.data = ngx_pnalloc(call->pool, job->headers.len
                                                 + job->session.len
                                                 + job->protocol.len + 64);
    if (call->body.data == NULL || call->headers.data == NULL) {
        ngx_http_hangar_job_done(job, 0, "out of memory");
        return NGX_ERROR;
    }

    if (method == NULL) {
        /* a whole message, as it is */
        p = ngx_cpymem(call->body.data, params, ngx_strlen(params));

    } else if (step) {
        p = ngx_sprintf(call->body.data, "{\"jsonrpc\":\"2.0\",\"id\":%L,",
                        job->rpc_id);
        p = ngx_sprintf(p, "\"method\":\"%s\",\"params\":%s}", method,
                        params);

    } else {
        p = ngx_sprintf(call->body.data, "{\"jsonrpc\":\"2.0\","
                        "\"method\":\"%s\",\"params\":%s}", method, params);
    }

    call->body.len = p - call->body.data;

    p = ngx_cpymem(call->headers.data, job->headers.data, job->headers.len);

    if (job->session.len) {
        p = ngx_sprintf(p, "Mcp-Session-Id: %V\r\n", &job->session);
    }

    if (job->protocol.len) {
        p = ngx_sprintf(p, "MCP-Protocol-Version: %V\r\n", &job->protocol);
    }

    call->headers.len = p - call->headers.data;

    ngx_http_hangar_stats_sent(job->reg, &job->id, method, call->body.len);

    return ngx_http_hangar_call_start(call);
}


static void
ngx_http_hangar_rpc_event(ngx_http_hangar_call_t *call,
    ngx_http_hangar_value_t *msg)
{
    ngx_http_hangar_job_t  *job = call->data;

    ngx_http_hangar_stats_received(job->reg, &job->id, 1, 0);

    if (job->progress && job->result) {
        job->progress(job->data, msg, NULL);
    }
}


static void
ngx_http_hangar_notify_done(ngx_http_hangar_call_t *call)
{
    ngx_destroy_pool(call->pool);
}


/* a client's message sent on (an answer to a server request, a cancel) */

static void
ngx_http_hangar_send_done(ngx_http_hangar_call_t *call)
{
    ngx_http_hangar_job_t  *job = call->data;

    if (call->rc != NGX_OK || call->status >= 300) {
        ngx_log_error(NGX_LOG_ERR, job->log, 0,
                      "hangar: a client's message to \"%V\" was not taken: "
                      "%V (HTTP %ui)", &job->id, &call->error, call->status);
    }

    ngx_destroy_pool(call->pool);
    ngx_http_hangar_job_free(job);
}


static void
ngx_http_hangar_rpc_done(ngx_http_hangar_call_t *call)
{
    ngx_http_hangar_job_t    *job;
    ngx_http_hangar_value_t  *msg, *err, *text;

    job = call->data;
    job->call = NULL;

    ngx_http_hangar_stats_http(job->reg, &job->id, call->status, call->rc,
                               call->timedout);

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

    ngx_http_hangar_stats_received(job->reg, &job->id, err ? 2 : 0,
                                   call->response.len);

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


/*
 * A stdio server's start: its bridge is spawned, and calls back when the
 * server runs (or failed to).
 */

static void
ngx_http_hangar_start_spawn(ngx_http_hangar_job_t *job)
{
    ngx_http_hangar_spawn_t  *sp;

    sp = &job->spawn;

    sp->pool = job->pool;
    sp->log = job->log;
    sp->state_dir = &job->reg->hmcf->state_dir;
    sp->id = job->id;
    sp->seq = job->bridge_seq;
    sp->mode = job->mode;
    sp->spec = job->spec;
    sp->handler = ngx_http_hangar_start_spawned;
    sp->data = job;

    (void) ngx_http_hangar_spawn(sp);
}


static void
ngx_http_hangar_start_spawned(ngx_http_hangar_spawn_t *sp, ngx_int_t rc,
    ngx_str_t *text)
{
    ngx_http_hangar_job_t  *job;

    job = sp->data;

    job->bridge_pid = sp->bridge_pid;
    job->server_pid = sp->server_pid;

    if (rc == NGX_OK) {
        ngx_http_hangar_start_handshake(job);
        return;
    }

    /* "\x01": the start's completion reads the bridge's status JSON */
    ngx_http_hangar_job_done(job, 0, rc == NGX_DECLINED ? "\x01%V" : "%V",
                             text);
}


/* the MCP handshake of a start: initialize, then tools/list */

static void
ngx_http_hangar_start_handshake(ngx_http_hangar_job_t *job)
{
    (void) ngx_http_hangar_rpc(job, "initialize",
        "{\"protocolVersion\":\"" NGX_HTTP_HANGAR_PROTOCOL "\","
        "\"capabilities\":{\"sampling\":{},\"elicitation\":{\"form\":{},"
        "\"url\":{}},\"roots\":{\"listChanged\":false}},"
        "\"clientInfo\":{\"name\":\"mcp-hangar\","
        "\"version\":\"" NGX_HTTP_HANGAR_VERSION "\"}}",
        ngx_http_hangar_step_initialize);
}


static void
ngx_http_hangar_step_initialize(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg)
{
    u_char                   *p, *level, params[32];
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

    /* the front door's logging/setLevel holds for servers started later */
    ngx_http_hangar_lock(job->reg);
    level = job->reg->sh->mcp_log_level;
    p = ngx_cpymem(params, "{\"level\":\"", 10);
    p = ngx_cpystrn(p, level, sizeof(job->reg->sh->mcp_log_level));
    ngx_http_hangar_unlock(job->reg);

    v = ngx_http_hangar_get(job->init_result, "capabilities");

    if (p > params + 10 && ngx_http_hangar_get(v, "logging")) {
        ngx_memcpy(p, "\"}", 3);
        (void) ngx_http_hangar_rpc(job, "logging/setLevel", (char *) params,
                                   ngx_http_hangar_step_level);
        return;
    }

    (void) ngx_http_hangar_rpc(job, "tools/list", "{}",
                               ngx_http_hangar_step_tools);
}


/* whatever the server answers to setLevel, the start goes on */

static void
ngx_http_hangar_step_level(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg)
{
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
    ngx_http_hangar_job_t  *job;

    /* the caller holds the call in flight (ngx_http_hangar_ensure_ready) */
    job = ngx_http_hangar_job_begin(reg, id, NGX_HTTP_HANGAR_JOB_CALL, 0, log);
    if (job == NULL) {
        return NULL;
    }

    job->method = method;
    job->result = result;
    job->progress = progress;
    job->begun = ngx_http_hangar_now_ms();
    job->begun_us = ngx_http_hangar_history_clock();

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


/*
 * The client's call ended before the server answered it (cancelled, or
 * the client went away), and the server was told: nothing more is awaited
 * of it, and nothing is counted against the server.  Not from within the
 * call's own handlers.
 */

void
ngx_http_hangar_server_call_end(void *handle)
{
    ngx_http_hangar_job_t  *job = handle;

    if (job->call) {
        ngx_http_hangar_call_cancel(job->call);
        ngx_destroy_pool(job->call->pool);
        job->call = NULL;
    }

    ngx_http_hangar_job_free(job);
}


/* the JSON-RPC id the call goes out with (before it sets out) */

void
ngx_http_hangar_server_call_id(void *handle, int64_t id)
{
    ngx_http_hangar_job_t  *job = handle;

    job->rpc_id = id - 1;      /* ngx_http_hangar_rpc() counts it up */
}


/*
 * A client's message for a ready server, sent as it is in the module's
 * session with it: the answer to a server's request, a cancellation.
 * NGX_DECLINED: the server is not ready.
 */

ngx_int_t
ngx_http_hangar_server_send(ngx_http_hangar_registry_t *reg, ngx_str_t *id,
    ngx_str_t *msg, ngx_log_t *log)
{
    ngx_http_hangar_job_t  *job;

    job = ngx_http_hangar_job_begin(reg, id, NGX_HTTP_HANGAR_JOB_CALL, 0, log);
    if (job == NULL) {
        return NGX_DECLINED;
    }

    /* no method: ngx_http_hangar_job_timeout() sends params as they are */
    job->params = ngx_pnalloc(job->pool, msg->len + 1);
    if (job->params == NULL) {
        ngx_http_hangar_job_free(job);
        return NGX_ERROR;
    }

    *ngx_cpymem(job->params, msg->data, msg->len) = '\0';

    return NGX_OK;
}


static void
ngx_http_hangar_step_call(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg)
{
    ngx_msec_t                      now;
    ngx_uint_t                      failed;
    ngx_http_hangar_node_t         *n;
    ngx_http_hangar_registry_t     *reg;
    ngx_http_hangar_record_call_t   rec;

    reg = job->reg;
    now = ngx_http_hangar_now_ms();

    /* hangar-core §2.13: the size of the result, or why it failed */
    failed = ngx_http_hangar_history_record(&rec, job->pool, &job->tool,
                                            job->begun_us, msg, NULL, NULL);

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, job->id.data, job->id.len);

    if (n) {
        n->total_invocations++;
        n->last_used = now;

        if (failed) {
            /* hangar-core §2.5: a tool's own error counts in the total */
            n->total_failures++;

        } else {
            ngx_http_hangar_machine_success(reg, n, NGX_HTTP_HANGAR_FAIL_CALL);
        }

        /* the tools' history: not the front door's resources, prompts */
        if (job->tool.len) {
            ngx_http_hangar_history_add(reg, n, &rec);
        }
    }

    ngx_http_hangar_unlock(reg);

    /* tools' calls (the front door also relays resources and prompts);
       the metrics' error type: a JSON-RPC error by its class, not code */
    if (job->tool.len) {
        ngx_http_hangar_stats_call(reg, &job->id, &job->tool,
                                   !failed ? NULL
                                   : (rec.error_type[0] == '-'
                                      || (rec.error_type[0] >= '0'
                                          && rec.error_type[0] <= '9'))
                                     ? "JsonRpcError"
                                     : (const char *) rec.error_type,
                                   now - job->begun);
    }

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
    ngx_http_hangar_run_t     old;
    ngx_http_hangar_warm_t   *w;

    if (n->state != NGX_HTTP_HANGAR_COLD || n->tools || n->warmed
        || n->blocked || n->consecutive_failures
        || n->mode == NGX_HTTP_HANGAR_MODE_GROUP
        || ngx_http_hangar_nwarms == NGX_HTTP_HANGAR_MAX_WARMS)
    {
        return;
    }

    n->warmed = 1;

    w = &ngx_http_hangar_warms[ngx_http_hangar_nwarms++];
    ngx_memcpy(w->id, n->id, n->id_len);
    w->id_len = n->id_len;
    w->seq = ngx_http_hangar_machine_begin(reg, n, &old);

    /* the jobs begin once the caller released the mutex */
    if (!ngx_http_hangar_warm_ev.posted) {
        ngx_http_hangar_warm_ev.handler = ngx_http_hangar_warm_handler;
        ngx_http_hangar_warm_ev.log = ngx_cycle->log;
        ngx_post_event(&ngx_http_hangar_warm_ev, &ngx_posted_events);
    }
}


static void
ngx_http_hangar_warm_handler(ngx_event_t *ev)
{
    ngx_str_t                    id;
    ngx_http_hangar_warm_t      *w;
    ngx_http_hangar_registry_t  *reg;

    reg = ngx_http_hangar_registry();

    while (ngx_http_hangar_nwarms) {
        w = &ngx_http_hangar_warms[--ngx_http_hangar_nwarms];
        id.data = w->id;
        id.len = w->id_len;

        ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                      "hangar: \"%V\" starting for its tools", &id);

        (void) ngx_http_hangar_job_begin(reg, &id, NGX_HTTP_HANGAR_JOB_START,
                                         w->seq, ev->log);
    }
}


