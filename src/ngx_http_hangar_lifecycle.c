
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The state of a server lives in shm; whichever worker wins the change
 * cold -> initializing (under the slab mutex) runs the start job, every
 * other caller waits on the shared state.  A stdio server runs behind a
 * hangar-bridge process (src/hangar_bridge.c): the worker spawns it
 * detached, reads one status line from a pipe, then does the MCP
 * handshake over the bridge's unix socket like with any remote server.
 * Every worker watches every bridge with a pidfd, so an exit is seen at
 * once; one worker at a time (a lease in shm) runs health checks and idle
 * shutdown.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <sys/syscall.h>
#include <dlfcn.h>
#include "ngx_http_hangar_lifecycle.h"
#include "ngx_http_hangar_client.h"


#define NGX_HTTP_HANGAR_TICK        250
#define NGX_HTTP_HANGAR_LEASE       2000
#define NGX_HTTP_HANGAR_START_MS    30000
#define NGX_HTTP_HANGAR_PROTOCOL    "2025-11-25"


typedef struct ngx_http_hangar_job_s  ngx_http_hangar_job_t;

typedef void (*ngx_http_hangar_step_pt)(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg);

/* a start, or a health check: a chain of JSON-RPC calls to one server */
struct ngx_http_hangar_job_s {
    ngx_pool_t                  *pool;
    ngx_log_t                   *log;
    ngx_http_hangar_registry_t  *reg;
    ngx_str_t                    id;
    ngx_atomic_uint_t            seq;
    ngx_uint_t                   bridge_seq;   /* of the socket to talk to */
    ngx_http_hangar_value_t     *spec;
    ngx_uint_t                   mode;
    ngx_msec_t                   begun;
    ngx_msec_t                   timeout;

    ngx_connection_t            *ready;     /* the bridge's status pipe */
    ngx_buf_t                   *status;
    ngx_event_t                  timer;
    ngx_pid_t                    bridge_pid;
    ngx_pid_t                    server_pid;

    ngx_http_hangar_call_t      *call;
    ngx_str_t                    target;
    ngx_str_t                    host;
    ngx_str_t                    uri;
    ngx_str_t                    headers;
    ngx_str_t                    session;
    ngx_str_t                    protocol;
    ngx_str_t                    ca_file;
    ngx_msec_t                   connect_timeout;
    unsigned                     tls:1;
    unsigned                     verify:1;
    int64_t                      rpc_id;
    ngx_http_hangar_step_pt      step;

    ngx_http_hangar_value_t     *init_result;
    ngx_http_hangar_value_t     *tools;
    unsigned                     check:1;    /* a health check, not a start */
    unsigned                     refresh:1;  /* tools/list again */
    unsigned                     stream:1;   /* listens for list_changed */
    unsigned                     calling:1;  /* a call for a client */

    const char                  *method;
    u_char                      *params;
    ngx_http_hangar_result_pt    result;
    ngx_http_hangar_result_pt    progress;   /* messages before the result */
    ngx_str_t                    tool;       /* for the history */
    void                        *data;
    unsigned                     pinged:1;
};


/* what a job does */
#define NGX_HTTP_HANGAR_JOB_START    0
#define NGX_HTTP_HANGAR_JOB_CHECK    1
#define NGX_HTTP_HANGAR_JOB_REFRESH  2
#define NGX_HTTP_HANGAR_JOB_STREAM   3
#define NGX_HTTP_HANGAR_JOB_CALL     4

#define NGX_HTTP_HANGAR_MAX_STREAMS  256


static ngx_http_hangar_job_t *ngx_http_hangar_job_begin(
    ngx_http_hangar_registry_t *reg, ngx_http_hangar_node_t *n, ngx_log_t *log,
    ngx_uint_t kind);
static void ngx_http_hangar_step_call(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg);
static void ngx_http_hangar_stream_open(ngx_http_hangar_job_t *job);
static void ngx_http_hangar_stream_notice(ngx_http_hangar_call_t *call);
static void ngx_http_hangar_stream_end(ngx_http_hangar_call_t *call);
static ngx_uint_t ngx_http_hangar_streaming(ngx_http_hangar_node_t *n);
static ngx_int_t ngx_http_hangar_job_target(ngx_http_hangar_job_t *job);
static ngx_int_t ngx_http_hangar_spawn(ngx_http_hangar_job_t *job);
static void ngx_http_hangar_ready_handler(ngx_event_t *rev);
static void ngx_http_hangar_job_timeout(ngx_event_t *ev);
static ngx_int_t ngx_http_hangar_rpc(ngx_http_hangar_job_t *job,
    const char *method, const char *params, ngx_http_hangar_step_pt step);
static void ngx_http_hangar_rpc_done(ngx_http_hangar_call_t *call);
static void ngx_http_hangar_notify_done(ngx_http_hangar_call_t *call);
static void ngx_http_hangar_rpc_event(ngx_http_hangar_call_t *call,
    ngx_http_hangar_value_t *msg);
static void ngx_http_hangar_step_initialize(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg);
static void ngx_http_hangar_step_tools(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg);
static void ngx_http_hangar_step_ping(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg);
static void ngx_http_hangar_job_done(ngx_http_hangar_job_t *job,
    ngx_uint_t ok, const char *fmt, ...);
static void ngx_http_hangar_job_free(ngx_http_hangar_job_t *job);
static void ngx_http_hangar_waiter_handler(ngx_event_t *ev);
static void ngx_http_hangar_tick(ngx_event_t *ev);
static void ngx_http_hangar_duties(ngx_http_hangar_registry_t *reg,
    ngx_log_t *log);


static ngx_event_t               ngx_http_hangar_tick_ev;
static ngx_connection_t          ngx_http_hangar_tick_conn;
static ngx_str_t                 ngx_http_hangar_bridge_path;

/* this worker's list_changed listeners */
static ngx_http_hangar_job_t    *ngx_http_hangar_streams[
                                     NGX_HTTP_HANGAR_MAX_STREAMS];
static ngx_uint_t                ngx_http_hangar_nstreams;


/* a tiny marker so dladdr() finds the .so, beside which the bridge lives */
static const char  ngx_http_hangar_self[] = "hangar";


ngx_int_t
ngx_http_hangar_run_path(ngx_pool_t *pool, ngx_str_t *state_dir, u_char *id,
    size_t len, ngx_uint_t seq, const char *ext, ngx_str_t *path)
{
    u_char  *p;

    /* each run has its own names: an old bridge never removes a new socket */
    path->data = ngx_pnalloc(pool, state_dir->len + len + NGX_INT_T_LEN
                                   + ngx_strlen(ext) + sizeof("/run/..."));
    if (path->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(path->data, "%V/run/%*s.%ui.%s", state_dir, len, id, seq,
                    ext);
    path->len = p - path->data;
    *p = '\0';

    return NGX_OK;
}


void
ngx_http_hangar_event(ngx_http_hangar_registry_t *reg, const char *type,
    u_char *id, size_t id_len, const char *fmt, ...)
{
    u_char                   *p;
    va_list                   args;
    ngx_atomic_uint_t         seq;
    ngx_http_hangar_event_t  *e;

    seq = ngx_atomic_fetch_add(&reg->sh->event_seq, 1) + 1;
    e = &reg->sh->events[seq % NGX_HTTP_HANGAR_EVENTS];

    e->seq = 0;
    e->time = ngx_http_hangar_now_ms();
    ngx_cpystrn(e->type, (u_char *) type, sizeof(e->type));
    *ngx_cpymem(e->id, id, ngx_min(id_len, NGX_HTTP_HANGAR_ID_MAX)) = '\0';

    va_start(args, fmt);
    p = ngx_vslprintf(e->data, e->data + sizeof(e->data) - 1, fmt, args);
    va_end(args);
    *p = '\0';

    ngx_memory_barrier();
    e->seq = seq;
}


/* ---- starting ---------------------------------------------------------- */

ngx_int_t
ngx_http_hangar_ensure_ready(ngx_http_hangar_registry_t *reg, ngx_str_t *id,
    ngx_uint_t explicit, ngx_http_hangar_waiter_t *w, ngx_log_t *log,
    ngx_msec_t *retry_ms)
{
    ngx_pid_t                old_bridge, old_server;
    ngx_msec_t               now, backoff;
    ngx_uint_t               cf, start;
    ngx_http_hangar_node_t  *n;

    now = ngx_http_hangar_now_ms();
    start = 0;
    old_bridge = 0;
    old_server = 0;

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, id->data, id->len);
    if (n == NULL) {
        ngx_http_hangar_unlock(reg);
        return NGX_HTTP_HANGAR_UNKNOWN;
    }

    switch (n->state) {

    case NGX_HTTP_HANGAR_READY:
        n->last_used = now;
        ngx_http_hangar_unlock(reg);
        return NGX_OK;

    case NGX_HTTP_HANGAR_INITIALIZING:
        break;

    default:
        if (n->blocked && !explicit) {
            ngx_http_hangar_unlock(reg);
            return NGX_HTTP_HANGAR_BLOCKED;
        }

        /* hangar-core §2.4: a degraded server waits min(60, 2^n) s */
        cf = n->consecutive_failures;
        backoff = cf ? 1000 * (cf >= 6 ? 60 : ngx_min(60, 1 << cf)) : 0;

        if (n->state == NGX_HTTP_HANGAR_DEGRADED
            && now - n->last_failure < backoff)
        {
            *retry_ms = backoff - (now - n->last_failure);
            ngx_http_hangar_unlock(reg);
            return NGX_HTTP_HANGAR_BACKOFF;
        }

        /* a degraded server may still run: that run ends here */
        old_bridge = n->bridge_pid;
        old_server = n->server_pid;
        n->bridge_pid = 0;
        n->server_pid = 0;

        n->blocked = 0;
        n->state = NGX_HTTP_HANGAR_INITIALIZING;
        n->start_owner = ngx_pid;
        n->start_deadline = now + NGX_HTTP_HANGAR_START_MS;
        n->start_seq++;
        start = 1;
    }

    w->seq = n->start_seq;
    w->deadline = n->start_deadline + 1000;

    if (start
        && ngx_http_hangar_job_begin(reg, n, log, NGX_HTTP_HANGAR_JOB_START)
           == NULL)
    {
        /* the job recorded the failure and left the state */
        ngx_http_hangar_unlock(reg);
        return NGX_ERROR;
    }

    ngx_http_hangar_unlock(reg);

    if (old_bridge) {
        ngx_http_hangar_terminate(old_bridge, old_server);
    }

    w->timer.handler = ngx_http_hangar_waiter_handler;
    w->timer.data = w;
    w->timer.log = log;
    ngx_add_timer(&w->timer, 2);

    return NGX_AGAIN;
}


void
ngx_http_hangar_waiter_cancel(ngx_http_hangar_waiter_t *w)
{
    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }
}


/* waiters look at the shared state: the start may run in another worker */

static void
ngx_http_hangar_waiter_handler(ngx_event_t *ev)
{
    ngx_int_t                    rc;
    ngx_uint_t                   state;
    ngx_atomic_uint_t            seq;
    ngx_http_hangar_node_t      *n;
    ngx_http_hangar_waiter_t    *w;
    ngx_http_hangar_registry_t  *reg;

    w = ev->data;
    reg = ngx_http_hangar_registry();

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, w->id.data, w->id.len);
    state = n ? n->state : NGX_HTTP_HANGAR_COLD;
    seq = n ? n->start_seq : 0;

    if (n && state == NGX_HTTP_HANGAR_READY) {
        n->last_used = ngx_http_hangar_now_ms();
    }

    ngx_http_hangar_unlock(reg);

    if (n == NULL) {
        rc = NGX_ABORT;

    } else if (state == NGX_HTTP_HANGAR_READY) {
        rc = NGX_OK;

    } else if (state != NGX_HTTP_HANGAR_INITIALIZING || seq != w->seq) {
        rc = NGX_ERROR;

    } else if (ngx_http_hangar_now_ms() > w->deadline) {
        rc = NGX_ERROR;

    } else {
        ngx_add_timer(ev, 2);
        return;
    }

    w->handler(w, rc);
}


/* called with the slab mutex held */

static ngx_http_hangar_job_t *
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


/*
 * The bridge: "hangar-bridge" beside the module's .so (or hangar_bridge),
 * started through an intermediate process so that it is not our child
 * (nginx reaps a worker's children itself); it reports on fd 3.
 */

static ngx_int_t
ngx_http_hangar_spawn(ngx_http_hangar_job_t *job)
{
    int                        fds[2], devnull, sig;
    char                     **argv, **envp;
    u_char                    *p;
    ngx_str_t                  sock, status, home;
    ngx_uint_t                 i, n, k;
    ngx_pid_t                  pid;
    sigset_t                   set;
    Dl_info                    info;
    ngx_connection_t          *c;
    ngx_http_hangar_pair_t    *pair;
    ngx_http_hangar_value_t   *cmd, *env, *img, *args, **items;

    static char  path_env[] =
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    if (ngx_http_hangar_bridge_path.len == 0) {
        if (dladdr(ngx_http_hangar_self, &info) == 0 || info.dli_fname == NULL)
        {
            ngx_http_hangar_job_done(job, 0, "cannot locate hangar-bridge");
            return NGX_ERROR;
        }

        p = (u_char *) strrchr(info.dli_fname, '/');
        n = p ? (size_t) (p - (u_char *) info.dli_fname) : 1;

        ngx_http_hangar_bridge_path.data = ngx_alloc(n + sizeof("/hangar-bridge"),
                                                     ngx_cycle->log);
        if (ngx_http_hangar_bridge_path.data == NULL) {
            return NGX_ERROR;
        }

        ngx_http_hangar_bridge_path.len =
            ngx_sprintf(ngx_http_hangar_bridge_path.data, "%*s/hangar-bridge%Z",
                        n, p ? info.dli_fname : ".")
            - ngx_http_hangar_bridge_path.data - 1;
    }

    if (ngx_http_hangar_run_path(job->pool, &job->reg->hmcf->state_dir,
                                 job->id.data, job->id.len, job->bridge_seq,
                                 "sock", &sock)
        != NGX_OK
        || ngx_http_hangar_run_path(job->pool, &job->reg->hmcf->state_dir,
                                    job->id.data, job->id.len,
                                    job->bridge_seq, "json", &status)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the command line: docker servers run as "docker run -i ..." */
    cmd = ngx_http_hangar_get(job->spec, "command");
    img = ngx_http_hangar_get(job->spec, "image");
    args = ngx_http_hangar_get(job->spec, "args");
    env = ngx_http_hangar_get(job->spec, "env");

    n = 16 + (cmd ? cmd->u.arr.nelts : 0) + (args ? args->u.arr.nelts : 0)
        + 2 * (env ? env->u.obj.nelts : 0) + 16;

    argv = ngx_pcalloc(job->pool, (n + 1) * sizeof(char *));
    envp = ngx_pcalloc(job->pool, (n + 4) * sizeof(char *));
    if (argv == NULL || envp == NULL) {
        return NGX_ERROR;
    }

    k = 0;
    argv[k++] = (char *) ngx_http_hangar_bridge_path.data;
    argv[k++] = "--id";
    argv[k++] = (char *) job->id.data;
    argv[k++] = "--socket";
    argv[k++] = (char *) sock.data;
    argv[k++] = "--status";
    argv[k++] = (char *) status.data;
    argv[k++] = "--ready-fd";
    argv[k++] = "3";
    argv[k++] = "--cwd";
    argv[k++] = (char *) job->reg->hmcf->state_dir.data;
    argv[k++] = "--";

    if (job->mode == NGX_HTTP_HANGAR_MODE_DOCKER) {
        if (access("/usr/bin/docker", X_OK) != 0
            && access("/usr/local/bin/docker", X_OK) != 0)
        {
            ngx_http_hangar_job_done(job, 0, "mode docker needs the docker "
                                     "command, which is not installed");
            return NGX_ERROR;
        }

        argv[k++] = "docker";
        argv[k++] = "run";
        argv[k++] = "-i";
        argv[k++] = "--rm";
        argv[k++] = "--cap-drop";
        argv[k++] = "ALL";
        argv[k++] = "--security-opt";
        argv[k++] = "no-new-privileges";
        argv[k++] = (char *) (img ? img->u.s.data : (u_char *) "");

        cmd = NULL;
    }

    if (cmd) {
        items = cmd->u.arr.elts;
        for (i = 0; i < cmd->u.arr.nelts; i++) {
            argv[k++] = (char *) items[i]->u.s.data;
        }
    }

    if (args) {
        items = args->u.arr.elts;
        for (i = 0; i < args->u.arr.nelts; i++) {
            argv[k++] = (char *) items[i]->u.s.data;
        }
    }

    /* an explicit environment: nothing of nginx's (build-notes §4) */
    home.len = job->reg->hmcf->state_dir.len + sizeof("HOME=/home");
    home.data = ngx_pnalloc(job->pool, home.len);
    if (home.data == NULL) {
        return NGX_ERROR;
    }
    ngx_sprintf(home.data, "HOME=%V/home%Z", &job->reg->hmcf->state_dir);

    k = 0;
    envp[k++] = path_env;
    envp[k++] = (char *) home.data;
    envp[k++] = "MCP_TRANSPORT=stdio";
    envp[k++] = "LANG=C.UTF-8";

    if (ngx_http_hangar_is(env, NGX_HTTP_HANGAR_OBJ)) {
        pair = env->u.obj.elts;

        for (i = 0; i < env->u.obj.nelts; i++) {
            p = ngx_pnalloc(job->pool, pair[i].key.len
                                       + pair[i].value->u.s.len + 2);
            if (p == NULL) {
                return NGX_ERROR;
            }
            ngx_sprintf(p, "%V=%V%Z", &pair[i].key, &pair[i].value->u.s);
            envp[k++] = (char *) p;
        }
    }

    if (pipe2(fds, O_CLOEXEC) == -1) {
        ngx_http_hangar_job_done(job, 0, "pipe() failed: %s",
                                 strerror(errno));
        return NGX_ERROR;
    }

    pid = fork();

    if (pid == 0) {
        /* intermediate: leaves at once, so the bridge is nobody's child */
        if (fork() != 0) {
            _exit(0);
        }

        sigemptyset(&set);
        sigprocmask(SIG_SETMASK, &set, NULL);

        for (sig = 1; sig < NSIG; sig++) {
            (void) signal(sig, SIG_DFL);
        }

        devnull = open("/dev/null", O_RDWR);
        if (devnull != -1) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            dup2(devnull, 2);
        }

        dup2(fds[1], 3);
        (void) syscall(SYS_close_range, 4, ~0U, 0);

        execve(argv[0], argv, envp);
        _exit(127);
    }

    close(fds[1]);

    if (pid == -1) {
        close(fds[0]);
        ngx_http_hangar_job_done(job, 0, "fork() failed: %s",
                                 strerror(errno));
        return NGX_ERROR;
    }

    (void) waitpid(pid, NULL, 0);

    job->status = ngx_create_temp_buf(job->pool, 65536);
    c = ngx_get_connection(fds[0], job->log);

    if (job->status == NULL || c == NULL) {
        close(fds[0]);
        ngx_http_hangar_job_done(job, 0, "out of memory");
        return NGX_ERROR;
    }

    (void) ngx_nonblocking(fds[0]);

    c->data = job;
    c->read->handler = ngx_http_hangar_ready_handler;
    c->read->log = job->log;
    c->write->log = job->log;
    job->ready = c;

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_hangar_job_done(job, 0, "epoll failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* one JSON line from the bridge: its status, "ready" or "failed" */

static void
ngx_http_hangar_ready_handler(ngx_event_t *rev)
{
    ssize_t                   n;
    ngx_str_t                 err, text;
    ngx_buf_t                *b;
    ngx_connection_t         *c;
    ngx_http_hangar_job_t    *job;
    ngx_http_hangar_value_t  *st, *state, *v;

    c = rev->data;
    job = c->data;
    b = job->status;

    for ( ;; ) {
        n = read(c->fd, b->last, b->end - b->last);

        if (n == -1 && ngx_errno == NGX_EAGAIN) {
            (void) ngx_handle_read_event(rev, 0);
            return;
        }

        if (n <= 0 || b->last + n == b->end) {
            break;
        }

        b->last += n;
    }

    ngx_close_connection(c);
    job->ready = NULL;

    st = ngx_http_hangar_json_parse(job->pool, b->pos, b->last - b->pos,
                                    &err);
    state = ngx_http_hangar_get(st, "state");

    if (!ngx_http_hangar_is(state, NGX_HTTP_HANGAR_STR)) {
        ngx_http_hangar_job_done(job, 0, "hangar-bridge could not be run "
                                 "(%V)", &ngx_http_hangar_bridge_path);
        return;
    }

    v = ngx_http_hangar_get(st, "bridge_pid");
    job->bridge_pid = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) ? v->u.i : 0;
    v = ngx_http_hangar_get(st, "server_pid");
    job->server_pid = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) ? v->u.i : 0;

    if (ngx_http_hangar_str_is(&state->u.s, "ready")) {
        (void) ngx_http_hangar_rpc(job, "initialize",
            "{\"protocolVersion\":\"" NGX_HTTP_HANGAR_PROTOCOL "\","
            "\"capabilities\":{},\"clientInfo\":{\"name\":\"mcp-hangar\","
            "\"version\":\"" NGX_HTTP_HANGAR_VERSION "\"}}",
            ngx_http_hangar_step_initialize);
        return;
    }

    /* job_done() reads exit code and stderr tail from the status */
    text.data = b->pos;
    text.len = b->last - b->pos;

    ngx_http_hangar_job_done(job, 0, "\x01%V", &text);
}


static ngx_int_t
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
    call->host = job->host;
    call->uri = job->uri;
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


static void
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

static void
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


static void
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


/* ---- stopping ---------------------------------------------------------- */

ngx_int_t
ngx_http_hangar_stop(ngx_http_hangar_registry_t *reg, ngx_str_t *id,
    const char *reason, ngx_uint_t block, ngx_log_t *log)
{
    ngx_pid_t                bridge, server;
    ngx_http_hangar_node_t  *n;

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, id->data, id->len);
    if (n == NULL) {
        ngx_http_hangar_unlock(reg);
        return NGX_DECLINED;
    }

    bridge = n->bridge_pid;
    server = n->server_pid;

    n->bridge_pid = 0;
    n->server_pid = 0;
    n->start_owner = 0;
    n->start_seq++;          /* a start in flight is now stale */
    n->state = NGX_HTTP_HANGAR_COLD;
    n->blocked = block;

    /* the catalog stays (GET /tools after stop); meta is of a run */
    ngx_http_hangar_blob_free(reg, n->meta);
    n->meta = NULL;
    ngx_http_hangar_blob_free(reg, n->session);
    n->session = NULL;

    ngx_http_hangar_event(reg, "McpServerStopped", n->id, n->id_len,
                          "{\"reason\":\"%s\"}", reason);

    ngx_http_hangar_unlock(reg);

    if (bridge) {
        ngx_http_hangar_terminate(bridge, server);
    }

    return NGX_OK;
}


/* ---- per worker: watching bridges, health checks, idle shutdown -------- */

ngx_int_t
ngx_http_hangar_lifecycle_init_process(ngx_cycle_t *cycle)
{
    if (ngx_http_hangar_registry() == NULL) {
        return NGX_OK;
    }

    ngx_http_hangar_tick_conn.fd = (ngx_socket_t) -1;
    ngx_http_hangar_tick_ev.handler = ngx_http_hangar_tick;
    ngx_http_hangar_tick_ev.data = &ngx_http_hangar_tick_conn;
    ngx_http_hangar_tick_ev.log = cycle->log;
    ngx_http_hangar_tick_ev.cancelable = 1;

    ngx_add_timer(&ngx_http_hangar_tick_ev, NGX_HTTP_HANGAR_TICK);

    return NGX_OK;
}


static void
ngx_http_hangar_tick(ngx_event_t *ev)
{
    ngx_msec_t                   now;
    ngx_http_hangar_registry_t  *reg;

    reg = ngx_http_hangar_registry();

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        /* open front-door streams end, so the worker can go */
        ngx_http_hangar_mcp_exit();
        return;
    }

    now = ngx_http_hangar_now_ms();

    ngx_http_hangar_watch_scan(reg);
    ngx_http_hangar_mcp_tick(reg);

    /* one worker at a time does the periodic duties */
    if (reg->sh->lease_pid == (ngx_atomic_uint_t) ngx_pid
        || reg->sh->lease_until < now)
    {
        ngx_http_hangar_lock(reg);

        if (reg->sh->lease_pid == (ngx_atomic_uint_t) ngx_pid
            || reg->sh->lease_until < now)
        {
            reg->sh->lease_pid = ngx_pid;
            reg->sh->lease_until = now + NGX_HTTP_HANGAR_LEASE;
            ngx_http_hangar_unlock(reg);

            ngx_http_hangar_duties(reg, ev->log);

        } else {
            ngx_http_hangar_unlock(reg);
        }
    }

    ngx_add_timer(ev, NGX_HTTP_HANGAR_TICK);
}


/* idle shutdown and health checks, by the lease holder */

static void
ngx_http_hangar_duties(ngx_http_hangar_registry_t *reg, ngx_log_t *log)
{
    u_char                   *p;
    ngx_int_t                 ttl;
    ngx_str_t                 idle[16];
    ngx_uint_t                i, k;
    ngx_msec_t                now;
    ngx_queue_t              *q;
    ngx_http_hangar_node_t   *n;
    u_char                    ids[16][NGX_HTTP_HANGAR_ID_MAX];

    now = ngx_http_hangar_now_ms();
    k = 0;

    ngx_http_hangar_lock(reg);

    for (q = ngx_queue_head(&reg->sh->servers.queue);
         q != ngx_queue_sentinel(&reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        n = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        /* a degraded server whose process runs is checked for recovery */
        if (n->state == NGX_HTTP_HANGAR_DEGRADED && n->bridge_pid
            && n->next_check && n->next_check <= now)
        {
            n->next_check = now + 3600 * 1000;
            (void) ngx_http_hangar_job_begin(reg, n, log,
                                             NGX_HTTP_HANGAR_JOB_CHECK);
            continue;
        }

        if (n->state != NGX_HTTP_HANGAR_READY) {
            continue;
        }

        /* "idle_ttl_s": the spec is canonical JSON with the key present */
        p = ngx_strnstr(n->spec->data, "\"idle_ttl_s\":", n->spec->len);
        ttl = p ? ngx_atoi(p + 13, ngx_strlchr(p + 13,
                               n->spec->data + n->spec->len, ',')
                           ? (size_t) (ngx_strlchr(p + 13,
                               n->spec->data + n->spec->len, ',') - p - 13)
                           : 0)
                : 300;

        if (ttl > 0 && now - n->last_used > (ngx_msec_t) ttl * 1000
            && k < 16)
        {
            ngx_memcpy(ids[k], n->id, n->id_len);
            idle[k].data = ids[k];
            idle[k].len = n->id_len;
            k++;
            continue;
        }

        if (n->next_check && n->next_check <= now) {
            n->next_check = now + 3600 * 1000;   /* the job sets the next */
            (void) ngx_http_hangar_job_begin(reg, n, log,
                                             NGX_HTTP_HANGAR_JOB_CHECK);
        }

        if (!ngx_http_hangar_streaming(n)) {
            (void) ngx_http_hangar_job_begin(reg, n, log,
                                             NGX_HTTP_HANGAR_JOB_STREAM);
        }
    }

    ngx_http_hangar_unlock(reg);

    for (i = 0; i < k; i++) {
        ngx_log_error(NGX_LOG_INFO, log, 0, "hangar: \"%V\" idle, stopping",
                      &idle[i]);
        ngx_http_hangar_event(reg, "McpServerIdleDetected", idle[i].data,
                              idle[i].len, "{}");
        (void) ngx_http_hangar_stop(reg, &idle[i], "idle", 0, log);
    }
}


/*
 * notifications/tools/list_changed: the lease holder keeps a GET stream
 * open to every ready server and lists its tools again on the notice.
 */

static ngx_uint_t
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
    call->host = job->host;
    call->uri = job->uri;
    call->method = "GET";
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


/* exit_process: nothing of ours may stay open (nginx checks) */

void
ngx_http_hangar_lifecycle_exit_process(ngx_cycle_t *cycle)
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

    ngx_http_hangar_watch_exit();
    ngx_http_hangar_client_exit();
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
