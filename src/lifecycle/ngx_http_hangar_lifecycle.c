
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
#include <ngx_md5.h>
#include "ngx_http_hangar_job.h"


#define NGX_HTTP_HANGAR_TICK        250
#define NGX_HTTP_HANGAR_LEASE       2000


static void ngx_http_hangar_waiter_handler(ngx_event_t *ev);
static void ngx_http_hangar_tick(ngx_event_t *ev);
static void ngx_http_hangar_duties(ngx_http_hangar_registry_t *reg,
    ngx_log_t *log);


static ngx_event_t               ngx_http_hangar_tick_ev;
static ngx_connection_t          ngx_http_hangar_tick_conn;


ngx_int_t
ngx_http_hangar_run_path(ngx_pool_t *pool, ngx_str_t *state_dir, u_char *id,
    size_t len, ngx_uint_t seq, const char *ext, ngx_str_t *path)
{
    u_char     *p, key[NGX_HTTP_HANGAR_ID_MAX + NGX_INT_T_LEN + 1];
    u_char      md5[16];
    ngx_md5_t   ctx;

    /* each run has its own names: an old bridge never removes a new socket */
    path->data = ngx_pnalloc(pool, state_dir->len + len + NGX_INT_T_LEN
                                   + ngx_strlen(ext) + sizeof("/run/..."));
    if (path->data == NULL) {
        return NGX_ERROR;
    }

    if (ngx_strcmp(ext, "sock") == 0) {
        /*
         * a socket's path must fit in sun_path whatever the id:
         * "<state>/run/<16 hex>.sock" (ngx_http_hangar_proc_check())
         */
        p = ngx_snprintf(key, sizeof(key), "%*s.%ui",
                         ngx_min(len, NGX_HTTP_HANGAR_ID_MAX), id, seq);
        ngx_md5_init(&ctx);
        ngx_md5_update(&ctx, key, p - key);
        ngx_md5_final(md5, &ctx);

        p = ngx_sprintf(path->data, "%V/run/", state_dir);
        p = ngx_hex_dump(p, md5, 8);
        p = ngx_cpymem(p, ".sock", 5);

    } else {
        p = ngx_sprintf(path->data, "%V/run/%*s.%ui.%s", state_dir, len, id,
                        seq, ext);
    }

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
        /*
         * open front-door streams end, so the worker can go; so do the
         * list_changed listeners (one to a remote proxied by this very
         * nginx would keep a request, and the worker, alive)
         */
        ngx_http_hangar_mcp_exit();
        ngx_http_hangar_jobs_exit();
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

        /* signed: another worker's cached clock may be a little ahead */
        if (ttl > 0
            && (ngx_msec_int_t) (now - n->last_used)
               > (ngx_msec_int_t) ttl * 1000
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


/* exit_process: nothing of ours may stay open (nginx checks) */

void
ngx_http_hangar_lifecycle_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_hangar_jobs_exit();
    ngx_http_hangar_watch_exit();
    ngx_http_hangar_client_exit();
}


