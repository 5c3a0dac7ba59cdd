
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
#include "ngx_http_hangar_lifecycle.h"
#include "ngx_http_hangar_job.h"
#include "ngx_http_hangar_stream.h"
#include "ngx_http_hangar_watch.h"
#include "ngx_http_hangar_stats.h"


#define NGX_HTTP_HANGAR_TICK        250
#define NGX_HTTP_HANGAR_LEASE       2000


static void ngx_http_hangar_waiter_handler(ngx_event_t *ev);
static void ngx_http_hangar_tick(ngx_event_t *ev);
static void ngx_http_hangar_duties(ngx_http_hangar_registry_t *reg,
    ngx_log_t *log);


/* what the lease holder found to do, done after the mutex */
typedef struct {
    u_char                       id[NGX_HTTP_HANGAR_ID_MAX];
    size_t                       id_len;
    ngx_uint_t                   kind;
    ngx_atomic_uint_t            seq;
    ngx_http_hangar_run_t        run;
    unsigned                     idle:1;
} ngx_http_hangar_duty_t;

#define NGX_HTTP_HANGAR_DUTIES      64


static ngx_event_t               ngx_http_hangar_tick_ev;
static ngx_connection_t          ngx_http_hangar_tick_conn;
static ngx_http_hangar_tick_pt   ngx_http_hangar_tick_hook;
static ngx_http_hangar_exit_pt   ngx_http_hangar_exit_hook;


/* ---- starting, waiting ----------------------------------------------- */

/*
 * What a caller can do now: NGX_OK the server is ready (a call is held
 * when w->hold); NGX_AGAIN wait (a start, or a draining stop, runs);
 * NGX_ERROR the start waited for failed; or the refusals.  The first
 * caller finding the server stopped starts it; a waiter whose start was
 * superseded (a stop, a restart) starts it again, a few times at most.
 */

static ngx_int_t
ngx_http_hangar_want(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_waiter_t *w, ngx_log_t *log, ngx_msec_t *retry_ms,
    ngx_uint_t poll)
{
    ngx_int_t                rc;
    ngx_msec_t               now;
    ngx_atomic_uint_t        seq;
    ngx_http_hangar_run_t    old;
    ngx_http_hangar_node_t  *n;

    now = ngx_http_hangar_mono_ms();
    seq = 0;
    ngx_memzero(&old, sizeof(ngx_http_hangar_run_t));

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, w->id.data, w->id.len);
    if (n == NULL) {
        ngx_http_hangar_unlock(reg);
        return poll ? NGX_ABORT : NGX_HTTP_HANGAR_UNKNOWN;
    }

    switch (n->state) {

    case NGX_HTTP_HANGAR_READY:
        if (n->drain_until) {
            /* stopping: the caller waits, then starts it again */
            w->deadline = n->drain_until + NGX_HTTP_HANGAR_START_MS;
            rc = NGX_AGAIN;
            break;
        }

        if (w->hold) {
            w->held = ngx_http_hangar_machine_enter(n);

        } else {
            n->idle_since = now;
        }

        n->last_used = ngx_http_hangar_now_ms();
        rc = NGX_OK;
        break;

    case NGX_HTTP_HANGAR_INITIALIZING:
        if (w->seq != n->start_seq) {
            w->seq = n->start_seq;
            w->deadline = n->start_deadline + 1000;
        }

        rc = NGX_AGAIN;
        break;

    default:
        if (poll && w->seq == n->start_seq) {
            /* the start waited for failed */
            rc = NGX_ERROR;
            break;
        }

        if (n->blocked && !w->explicit) {
            rc = NGX_HTTP_HANGAR_BLOCKED;
            break;
        }

        if (ngx_http_hangar_machine_backoff(n, now, retry_ms) != NGX_OK) {
            rc = NGX_HTTP_HANGAR_BACKOFF;
            break;
        }

        if (w->starts++ == 3) {
            rc = NGX_ERROR;
            break;
        }

        seq = ngx_http_hangar_machine_begin(reg, n, &old);
        w->seq = seq;
        w->deadline = n->start_deadline + 1000;
        rc = NGX_AGAIN;
    }

    ngx_http_hangar_unlock(reg);

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, log, 0,
                   "hangar: \"%V\" wanted: rc %i, run %uA, held %ui", &w->id,
                   rc, w->seq, (ngx_uint_t) w->held);

    if (old.bridge) {
        ngx_http_hangar_terminate(old.bridge, old.server);
    }

    if (seq) {
        ngx_log_error(NGX_LOG_INFO, log, 0, "hangar: \"%V\" starting",
                      &w->id);

        /* a job that cannot begin fails the start: the waiter sees it */
        (void) ngx_http_hangar_job_begin(reg, &w->id, NGX_HTTP_HANGAR_JOB_START,
                                         seq, log);
    }

    return rc;
}


ngx_int_t
ngx_http_hangar_ensure_ready(ngx_http_hangar_registry_t *reg, ngx_str_t *id,
    ngx_uint_t explicit, ngx_http_hangar_waiter_t *w, ngx_log_t *log,
    ngx_msec_t *retry_ms)
{
    ngx_int_t  rc;

    w->id = *id;
    w->seq = 0;
    w->starts = 0;
    w->held = 0;
    w->explicit = explicit ? 1 : 0;

    rc = ngx_http_hangar_want(reg, w, log, retry_ms, 0);

    if (rc == NGX_AGAIN) {
        w->timer.handler = ngx_http_hangar_waiter_handler;
        w->timer.data = w;
        w->timer.log = log;
        ngx_add_timer(&w->timer, 2);
    }

    return rc;
}


void
ngx_http_hangar_waiter_cancel(ngx_http_hangar_waiter_t *w)
{
    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }

    if (w->held) {
        w->held = 0;
        ngx_http_hangar_machine_leave(ngx_http_hangar_registry(), &w->id);
    }
}


/* waiters look at the shared state: the start may run in another worker */

static void
ngx_http_hangar_waiter_handler(ngx_event_t *ev)
{
    ngx_int_t                  rc;
    ngx_msec_t                 retry;
    ngx_http_hangar_waiter_t  *w;

    w = ev->data;

    rc = ngx_http_hangar_want(ngx_http_hangar_registry(), w, ev->log, &retry,
                              1);

    if (rc == NGX_AGAIN) {
        if (ngx_http_hangar_since(ngx_http_hangar_mono_ms(), w->deadline)
            <= 0)
        {
            ngx_add_timer(ev, 2);
            return;
        }

        rc = NGX_ERROR;
    }

    if (rc != NGX_OK && rc != NGX_ABORT) {
        rc = NGX_ERROR;
    }

    w->handler(w, rc);
}


/* ---- stopping ---------------------------------------------------------- */

/* a stop with calls in flight lets them finish (hangar-core §2.3) */

ngx_int_t
ngx_http_hangar_stop(ngx_http_hangar_registry_t *reg, ngx_str_t *id,
    const char *reason, ngx_uint_t block, ngx_log_t *log)
{
    ngx_uint_t                ended, calls;
    ngx_http_hangar_run_t     run;
    ngx_http_hangar_node_t   *n;
    ngx_http_hangar_efield_t  f[1];

    ngx_memzero(&run, sizeof(ngx_http_hangar_run_t));

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, id->data, id->len);
    if (n == NULL) {
        ngx_http_hangar_unlock(reg);
        return NGX_DECLINED;
    }

    calls = n->inflight;
    ended = ngx_http_hangar_machine_stop(reg, n, block, 0, &run);

    f[0].key = "reason";
    f[0].str = reason;
    ngx_http_hangar_event_fields(reg, "McpServerStopped", n->id, n->id_len,
                                 f, 1);

    ngx_http_hangar_unlock(reg);

    ngx_http_hangar_stats_stop(reg, id, reason);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, log, 0,
                   "hangar: \"%V\" stop (%s): %s", id, reason,
                   ended ? "now" : "after its calls");

    if (!ended) {
        ngx_log_error(NGX_LOG_INFO, log, 0, "hangar: \"%V\" stops after "
                      "its %ui call(s) in flight (at most %M ms)", id, calls,
                      (ngx_msec_t) NGX_HTTP_HANGAR_DRAIN_MS);
    }

    if (run.bridge) {
        ngx_http_hangar_terminate(run.bridge, run.server);
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


void
ngx_http_hangar_lifecycle_hooks(ngx_http_hangar_tick_pt tick,
    ngx_http_hangar_exit_pt quit)
{
    ngx_http_hangar_tick_hook = tick;
    ngx_http_hangar_exit_hook = quit;
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
        if (ngx_http_hangar_exit_hook) {
            ngx_http_hangar_exit_hook();
        }

        ngx_http_hangar_streams_exit();
        return;
    }

    now = ngx_http_hangar_mono_ms();

    ngx_http_hangar_watch_scan(reg);
    ngx_http_hangar_machine_drains(reg);
    ngx_http_hangar_streams_prune(reg);

    if (ngx_http_hangar_tick_hook) {
        ngx_http_hangar_tick_hook(reg);
    }

    /* one worker at a time does the periodic duties */
    if (reg->sh->lease_pid == (ngx_atomic_uint_t) ngx_pid
        || ngx_http_hangar_since(now, reg->sh->lease_until) > 0)
    {
        ngx_http_hangar_lock(reg);

        if (reg->sh->lease_pid == (ngx_atomic_uint_t) ngx_pid
            || ngx_http_hangar_since(now, reg->sh->lease_until) > 0)
        {
            reg->sh->lease_pid = ngx_pid;
            reg->sh->lease_until = now + NGX_HTTP_HANGAR_LEASE;
            ngx_http_hangar_unlock(reg);

            ngx_http_hangar_machine_sweep(reg, ev->log);
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
    ngx_str_t                 id;
    ngx_uint_t                i, k, kind;
    ngx_msec_t                now;
    ngx_queue_t              *q;
    ngx_http_hangar_node_t   *n;
    ngx_http_hangar_duty_t   *d, list[NGX_HTTP_HANGAR_DUTIES];
    ngx_http_hangar_efield_t  f[1];

    now = ngx_http_hangar_mono_ms();
    k = 0;

    ngx_http_hangar_lock(reg);

    for (q = ngx_queue_head(&reg->sh->servers.queue);
         q != ngx_queue_sentinel(&reg->sh->servers.queue)
         && k < NGX_HTTP_HANGAR_DUTIES;
         q = ngx_queue_next(q))
    {
        n = ngx_queue_data(q, ngx_http_hangar_node_t, queue);
        kind = NGX_HTTP_HANGAR_JOB_START;   /* nothing to do */
        d = &list[k];
        ngx_memzero(d, sizeof(ngx_http_hangar_duty_t));

        if (ngx_http_hangar_machine_idle(n, now)) {
            /* the check and the stop in one step: no call can slip in */
            (void) ngx_http_hangar_machine_stop(reg, n, 0, 1, &d->run);
            d->idle = 1;
            f[0].key = "last_used_at";
            f[0].str = NULL;
            f[0].num = n->last_used / 1000;
            ngx_http_hangar_event_fields(reg, "McpServerIdleDetected", n->id,
                                         n->id_len, f, 1);
            f[0].key = "reason";
            f[0].str = "idle";
            ngx_http_hangar_event_fields(reg, "McpServerStopped", n->id,
                                         n->id_len, f, 1);

        } else if ((n->state == NGX_HTTP_HANGAR_READY
                    || (n->state == NGX_HTTP_HANGAR_DEGRADED && n->bridge_pid))
                   && n->next_check
                   && ngx_http_hangar_since(now, n->next_check) >= 0)
        {
            /* a degraded server whose process runs is checked for recovery */
            /*
             * the job sets the next; a check gives up after 5 s, so one
             * cut by its worker's exit (a reload) is replaced after 30 s
             */
            n->next_check = now + 30 * 1000;
            kind = NGX_HTTP_HANGAR_JOB_CHECK;

        } else if (n->state == NGX_HTTP_HANGAR_READY
                   && !ngx_http_hangar_streaming(n))
        {
            kind = NGX_HTTP_HANGAR_JOB_STREAM;

        } else {
            continue;
        }

        d->kind = kind;
        d->seq = n->start_seq;
        ngx_memcpy(d->id, n->id, n->id_len);
        d->id_len = n->id_len;
        k++;
    }

    ngx_http_hangar_unlock(reg);

    for (i = 0; i < k; i++) {
        d = &list[i];
        id.data = d->id;
        id.len = d->id_len;

        if (d->idle) {
            ngx_log_error(NGX_LOG_INFO, log, 0,
                          "hangar: \"%V\" idle, stopping", &id);
            ngx_http_hangar_stats_stop(reg, &id, "idle");

            if (d->run.bridge) {
                ngx_http_hangar_terminate(d->run.bridge, d->run.server);
            }

            continue;
        }

        if (d->kind == NGX_HTTP_HANGAR_JOB_STREAM) {
            ngx_http_hangar_stream_begin(reg, &id, d->seq, log);

        } else {
            (void) ngx_http_hangar_job_begin(reg, &id, d->kind, d->seq, log);
        }
    }

    ngx_http_hangar_stats_gc(reg, ngx_http_hangar_mono_ms() - now);
}


/* exit_process: nothing of ours may stay open (nginx checks) */

void
ngx_http_hangar_lifecycle_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_hangar_machine_exit(ngx_http_hangar_registry());
    ngx_http_hangar_streams_exit();
    ngx_http_hangar_watch_exit();
    ngx_http_hangar_client_exit();
}


