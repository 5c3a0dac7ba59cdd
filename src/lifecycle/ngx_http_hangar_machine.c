
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The server state machine.  Every change of a server's state happens
 * here, under the slab mutex: a start begins (cold, dead or degraded ->
 * initializing), succeeds (-> ready) or fails, a run crashes, a health
 * check fails or passes, a stop ends a run.  One failure policy decides
 * dead or degraded for every kind of failure: the spec's
 * max_consecutive_failures (3 when unset) consecutive failures degrade a
 * server, and a degraded one starts again only after the backoff.
 *
 * Calls in flight are counted per server and per worker ("holds"), so a
 * worker that dies holding some cannot leak them: the lease holder gives
 * back what a dead worker held, and fails a start whose worker died.  A
 * stop of a server with calls in flight drains: the run ends when the
 * last call leaves, or after NGX_HTTP_HANGAR_DRAIN_MS.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include "ngx_http_hangar_machine.h"
#include "ngx_http_hangar_proc.h"
#include "ngx_http_hangar_run.h"
#include "ngx_http_hangar_stats.h"


#define NGX_HTTP_HANGAR_SWEEP     32
#define NGX_HTTP_HANGAR_ORPHANS   16
#define NGX_HTTP_HANGAR_DRAINS    64


/* a start whose worker died: its bridge is stopped once it is known */
typedef struct {
    u_char                       id[NGX_HTTP_HANGAR_ID_MAX];
    size_t                       id_len;
    ngx_atomic_uint_t            seq;
    ngx_msec_t                   until;
} ngx_http_hangar_orphan_t;


/*
 * A drain this worker began: if the record goes (DELETE) before the last
 * call leaves, nobody else knows the run; this worker stops it.
 */
typedef struct {
    u_char                       id[NGX_HTTP_HANGAR_ID_MAX];
    size_t                       id_len;
    ngx_atomic_uint_t            seq;
    ngx_http_hangar_node_t      *node;
    ngx_http_hangar_run_t        run;
    ngx_msec_t                   until;
} ngx_http_hangar_drain_t;


typedef struct {
    u_char                       id[NGX_HTTP_HANGAR_ID_MAX];
    size_t                       id_len;
    ngx_atomic_uint_t            seq;
    ngx_pid_t                    pid;
    ngx_http_hangar_run_t        run;
    unsigned                     dead:1;
    unsigned                     expired:1;
} ngx_http_hangar_sweep_t;


static void ngx_http_hangar_machine_changed(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_uint_t state, const char *reason);
static void ngx_http_hangar_machine_degraded(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, const char *reason);
static void ngx_http_hangar_machine_end(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_http_hangar_run_t *run);
static ngx_uint_t ngx_http_hangar_release(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_pid_t pid, ngx_http_hangar_run_t *run);
static ngx_uint_t ngx_http_hangar_worker_alive(ngx_pid_t pid);
static void ngx_http_hangar_orphan_add(ngx_http_hangar_sweep_t *s,
    ngx_msec_t now);
static void ngx_http_hangar_orphans(ngx_http_hangar_registry_t *reg,
    ngx_log_t *log);


static ngx_http_hangar_orphan_t  ngx_http_hangar_orphan[
                                     NGX_HTTP_HANGAR_ORPHANS];
static ngx_uint_t                ngx_http_hangar_norphans;
static ngx_http_hangar_drain_t   ngx_http_hangar_drains[
                                     NGX_HTTP_HANGAR_DRAINS];
static ngx_uint_t                ngx_http_hangar_ndrains;


ngx_msec_t
ngx_http_hangar_mono_ms(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (ngx_msec_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* cold, dead or degraded -> initializing; the caller runs the start job */

ngx_atomic_uint_t
ngx_http_hangar_machine_begin(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_http_hangar_run_t *old)
{
    /* a degraded server may still run: that run ends here */
    old->bridge = n->bridge_pid;
    old->server = n->server_pid;
    n->bridge_pid = 0;
    n->server_pid = 0;

    n->blocked = 0;
    n->drain_until = 0;
    ngx_http_hangar_machine_changed(reg, n, NGX_HTTP_HANGAR_INITIALIZING,
                                    "starting");
    n->start_owner = ngx_pid;
    n->start_deadline = ngx_http_hangar_mono_ms() + NGX_HTTP_HANGAR_START_MS;

    /* zone-wide: a start of a deleted and re-created id is never taken */
    n->start_seq = ngx_atomic_fetch_add(&reg->sh->run_seq, 1) + 1;

    return n->start_seq;
}


/* hangar-core §2.4: a degraded server waits min(60, 2^n) s */

ngx_int_t
ngx_http_hangar_machine_backoff(ngx_http_hangar_node_t *n, ngx_msec_t now,
    ngx_msec_t *retry_ms)
{
    ngx_uint_t      cf;
    ngx_msec_int_t  backoff, elapsed;

    if (n->state != NGX_HTTP_HANGAR_DEGRADED || n->failed_at == 0) {
        return NGX_OK;
    }

    cf = n->consecutive_failures;
    backoff = 1000 * (cf >= 6 ? 60 : ngx_min(60, 1 << cf));
    elapsed = ngx_max(ngx_http_hangar_since(now, n->failed_at), 0);

    if (elapsed >= backoff) {
        return NGX_OK;
    }

    *retry_ms = backoff - elapsed;

    return NGX_BUSY;
}


/*
 * initializing -> ready: the run is the server's.  The count of
 * consecutive failures stays: only a call or a health check that succeeds
 * clears it, so that a server that crashes after every start backs off.
 */

void
ngx_http_hangar_machine_ready(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_http_hangar_run_t *run)
{
    ngx_msec_t  now;

    now = ngx_http_hangar_now_ms();

    n->bridge_pid = run->bridge;
    n->server_pid = run->server;
    ngx_http_hangar_machine_changed(reg, n, NGX_HTTP_HANGAR_READY, "started");
    n->start_owner = 0;
    n->drain_until = 0;
    n->changed = 0;
    n->last_success = now;
    n->last_used = now;
    n->started = now;
    n->idle_since = ngx_http_hangar_mono_ms();
}


/*
 * The failure policy, the one place that decides dead or degraded:
 * a failed start or a crash makes the server dead, or degraded from the
 * spec's max_consecutive_failures on; a failed health check degrades a
 * ready server at that threshold; a failed call only counts
 * (hangar-core §2.5).  Degraded servers start again after the backoff.
 */

void
ngx_http_hangar_machine_fail(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_http_hangar_fail_e kind)
{
    ngx_uint_t                max, degrade;
    ngx_http_hangar_efield_t  f[1];

    n->consecutive_failures++;
    n->total_failures++;
    n->total_invocations++;
    n->last_failure = ngx_http_hangar_now_ms();
    n->failed_at = ngx_http_hangar_mono_ms();

    max = n->max_failures ? n->max_failures : 3;
    degrade = (n->consecutive_failures >= max);

    switch (kind) {

    case NGX_HTTP_HANGAR_FAIL_START:
    case NGX_HTTP_HANGAR_FAIL_CRASH:
        n->bridge_pid = 0;
        n->server_pid = 0;
        n->start_owner = 0;
        n->drain_until = 0;
        ngx_http_hangar_machine_changed(reg, n, degrade
                                        ? NGX_HTTP_HANGAR_DEGRADED
                                        : NGX_HTTP_HANGAR_DEAD,
                                        kind == NGX_HTTP_HANGAR_FAIL_CRASH
                                        ? "exited" : "start_failed");

        if (degrade) {
            ngx_http_hangar_machine_degraded(reg, n,
                                             kind == NGX_HTTP_HANGAR_FAIL_CRASH
                                             ? "crashes" : "start_failures");
        }

        return;

    case NGX_HTTP_HANGAR_FAIL_CHECK:
        if (degrade && n->state == NGX_HTTP_HANGAR_READY) {
            ngx_http_hangar_machine_changed(reg, n, NGX_HTTP_HANGAR_DEGRADED,
                                            "health_check_failures");
            ngx_http_hangar_machine_degraded(reg, n,
                                             "health_check_failures");
        }

        f[0].key = "consecutive_failures";
        f[0].str = NULL;
        f[0].num = n->consecutive_failures;
        ngx_http_hangar_event_fields(reg, "HealthCheckFailed", n->id,
                                     n->id_len, f, 1);
        return;

    default: /* NGX_HTTP_HANGAR_FAIL_CALL: counted, the state stays */
        return;
    }
}


/* a passed health check (or a good call): a degraded server recovers */

void
ngx_http_hangar_machine_success(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_http_hangar_fail_e kind)
{
    n->consecutive_failures = 0;
    n->last_success = ngx_http_hangar_now_ms();

    if (kind != NGX_HTTP_HANGAR_FAIL_CHECK) {
        return;
    }

    n->total_invocations++;

    ngx_http_hangar_event_fields(reg, "HealthCheckPassed", n->id, n->id_len,
                                 NULL, 0);

    if (n->state == NGX_HTTP_HANGAR_DEGRADED && n->bridge_pid) {
        ngx_http_hangar_machine_changed(reg, n, NGX_HTTP_HANGAR_READY,
                                        "health_check_passed");
    }
}


/*
 * The state changes, and the events that tell of them (hangar-core §5.2):
 * fixed records copied into the ring, nothing formatted under the mutex.
 */

static void
ngx_http_hangar_machine_changed(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_uint_t state, const char *reason)
{
    ngx_uint_t                old;
    ngx_http_hangar_efield_t  f[3];

    old = n->state;
    n->state = state;

    if (old == state) {
        return;
    }

    f[0].key = "old_state";
    f[0].str = ngx_http_hangar_state_name(old);
    f[1].key = "new_state";
    f[1].str = ngx_http_hangar_state_name(state);
    f[2].key = "reason";
    f[2].str = reason;

    ngx_http_hangar_event_fields(reg, "McpServerStateChanged", n->id,
                                 n->id_len, f, 3);
}


static void
ngx_http_hangar_machine_degraded(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, const char *reason)
{
    ngx_http_hangar_efield_t  f[3];

    f[0].key = "consecutive_failures";
    f[0].str = NULL;
    f[0].num = n->consecutive_failures;
    f[1].key = "total_failures";
    f[1].str = NULL;
    f[1].num = n->total_failures;
    f[2].key = "reason";
    f[2].str = reason;

    ngx_http_hangar_event_fields(reg, "McpServerDegraded", n->id, n->id_len,
                                 f, 3);
}


/* a bridge is gone while its run was the server's */

void
ngx_http_hangar_machine_crashed(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n)
{
    ngx_http_hangar_machine_fail(reg, n, NGX_HTTP_HANGAR_FAIL_CRASH);
    ngx_http_hangar_stats_stop(reg, &(ngx_str_t) { n->id_len, n->id },
                               "crashed");
}


/*
 * A stop: the run ends now (1, *run to terminate), or, with calls in
 * flight to a ready server, when the last one leaves (0).
 */

ngx_uint_t
ngx_http_hangar_machine_stop(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_uint_t block, ngx_uint_t force,
    ngx_http_hangar_run_t *run)
{
    ngx_http_hangar_drain_t  *d;

    n->blocked = block;

    if (!force && n->state == NGX_HTTP_HANGAR_READY && n->inflight) {
        if (n->drain_until == 0) {
            n->drain_until = ngx_http_hangar_mono_ms()
                             + NGX_HTTP_HANGAR_DRAIN_MS;
        }

        if (ngx_http_hangar_ndrains < NGX_HTTP_HANGAR_DRAINS) {
            d = &ngx_http_hangar_drains[ngx_http_hangar_ndrains++];
            ngx_memcpy(d->id, n->id, n->id_len);
            d->id_len = n->id_len;
            d->seq = n->start_seq;
            d->node = n;
            d->run.bridge = n->bridge_pid;
            d->run.server = n->server_pid;
            d->until = n->drain_until;
        }

        return 0;
    }

    ngx_http_hangar_machine_end(reg, n, run);

    return 1;
}


static void
ngx_http_hangar_machine_end(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_http_hangar_run_t *run)
{
    run->bridge = n->bridge_pid;
    run->server = n->server_pid;

    n->bridge_pid = 0;
    n->server_pid = 0;
    n->start_owner = 0;
    n->drain_until = 0;
    ngx_http_hangar_machine_changed(reg, n, NGX_HTTP_HANGAR_COLD, "stopped");

    /* a start, health check or listener in flight is now stale */
    n->start_seq = ngx_atomic_fetch_add(&reg->sh->run_seq, 1) + 1;

    /* the catalog stays (GET /tools after stop); meta is of a run */
    ngx_http_hangar_blob_free(reg, n->meta);
    n->meta = NULL;
    ngx_http_hangar_blob_free(reg, n->session);
    n->session = NULL;
}


/*
 * Every tick, in the worker that began a drain: a run whose record is
 * gone or replaced (DELETE) is stopped now; one whose record moved on (the
 * drain ended, by whichever worker) is forgotten.
 */

void
ngx_http_hangar_machine_drains(ngx_http_hangar_registry_t *reg)
{
    ngx_uint_t                i, gone, moved;
    ngx_msec_t                now;
    ngx_http_hangar_node_t   *n;
    ngx_http_hangar_drain_t  *d;

    now = ngx_http_hangar_mono_ms();

    for (i = 0; i < ngx_http_hangar_ndrains; /* void */) {
        d = &ngx_http_hangar_drains[i];

        ngx_http_hangar_lock(reg);

        n = ngx_http_hangar_find(&reg->sh->servers, d->id, d->id_len);
        gone = (n == NULL || n != d->node);
        moved = (!gone && (n->start_seq != d->seq || n->drain_until == 0));

        ngx_http_hangar_unlock(reg);

        if (!gone && !moved
            && ngx_http_hangar_since(now, d->until + 1000) < 0)
        {
            i++;
            continue;
        }

        if (gone && ngx_http_hangar_alive(d->run.bridge)) {
            ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                          "hangar: \"%*s\" was removed during its drain; "
                          "its process goes now", d->id_len, d->id);
            ngx_http_hangar_terminate(d->run.bridge, d->run.server);
        }

        *d = ngx_http_hangar_drains[--ngx_http_hangar_ndrains];
    }
}


/* ---- calls in flight ---------------------------------------------------- */

/* a call begins; 0 when this worker has no hold left (it is not counted) */

ngx_uint_t
ngx_http_hangar_machine_enter(ngx_http_hangar_node_t *n)
{
    ngx_uint_t               i;
    ngx_http_hangar_hold_t  *h, *empty;

    empty = NULL;

    for (i = 0; i < NGX_HTTP_HANGAR_HOLDS; i++) {
        h = &n->holds[i];

        if (h->count && h->pid == (ngx_atomic_uint_t) ngx_pid) {
            break;
        }

        if (h->count == 0 && empty == NULL) {
            empty = h;
        }

        h = NULL;
    }

    if (h == NULL) {
        if (empty == NULL) {
            return 0;
        }

        h = empty;
        h->pid = ngx_pid;
    }

    h->count++;
    n->inflight++;
    n->idle_since = ngx_http_hangar_mono_ms();

    return 1;
}


/* with the mutex: what pid held goes back; 1 when a drained stop ended */

static ngx_uint_t
ngx_http_hangar_release(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_pid_t pid, ngx_http_hangar_run_t *run)
{
    ngx_uint_t               i;
    ngx_http_hangar_hold_t  *h;

    for (i = 0; i < NGX_HTTP_HANGAR_HOLDS; i++) {
        h = &n->holds[i];

        if (h->count == 0 || h->pid != (ngx_atomic_uint_t) pid) {
            continue;
        }

        if (pid == ngx_pid) {
            /* one call of this worker */
            h->count--;
            n->inflight--;

        } else {
            /* all the calls of a worker that is gone */
            n->inflight -= ngx_min(h->count, n->inflight);
            h->count = 0;
        }

        if (h->count == 0) {
            h->pid = 0;
        }

        break;
    }

    /* idle time starts when the last call ends */
    n->idle_since = ngx_http_hangar_mono_ms();

    if (n->inflight == 0 && n->drain_until) {
        ngx_http_hangar_machine_end(reg, n, run);
        return 1;
    }

    return 0;
}


void
ngx_http_hangar_machine_leave(ngx_http_hangar_registry_t *reg, ngx_str_t *id)
{
    ngx_uint_t               ended;
    ngx_http_hangar_run_t    run;
    ngx_http_hangar_node_t  *n;

    ended = 0;
    ngx_memzero(&run, sizeof(ngx_http_hangar_run_t));

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, id->data, id->len);

    if (n) {
        ended = ngx_http_hangar_release(reg, n, ngx_pid, &run);
    }

    ngx_http_hangar_unlock(reg);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "hangar: \"%V\" call left%s", id,
                   ended ? ", the drain is over" : "");

    if (ended) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "hangar: \"%V\" stopped after its last call", id);
    }

    if (run.bridge) {
        ngx_http_hangar_terminate(run.bridge, run.server);
    }
}


ngx_uint_t
ngx_http_hangar_machine_idle(ngx_http_hangar_node_t *n, ngx_msec_t now)
{
    return n->state == NGX_HTTP_HANGAR_READY
           && n->inflight == 0
           && n->drain_until == 0
           && n->idle_ttl
           && ngx_http_hangar_since(now, n->idle_since)
              > (ngx_msec_int_t) n->idle_ttl;
}


/* ---- what dead workers left: by the lease holder ----------------------- */

/* a worker of this master (not a zombie, not a reused pid of another) */

static ngx_uint_t
ngx_http_hangar_worker_alive(ngx_pid_t pid)
{
    ngx_http_hangar_pstat_t  st;

    if (ngx_http_hangar_proc_stat(pid, &st) == 0
        || st.state == 'Z' || st.state == 'X')
    {
        return 0;
    }

    return st.ppid == getppid();
}


void
ngx_http_hangar_machine_sweep(ngx_http_hangar_registry_t *reg, ngx_log_t *log)
{
    ngx_uint_t                i, k;
    ngx_msec_t                now;
    ngx_queue_t              *q;
    ngx_http_hangar_node_t   *n;
    ngx_http_hangar_sweep_t  *s, list[NGX_HTTP_HANGAR_SWEEP];
    ngx_str_t                 id, err;

    now = ngx_http_hangar_mono_ms();
    k = 0;

    ngx_http_hangar_lock(reg);

    for (q = ngx_queue_head(&reg->sh->servers.queue);
         q != ngx_queue_sentinel(&reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        n = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        /* a drain that took too long: the run ends all the same */
        if (n->drain_until && ngx_http_hangar_since(now, n->drain_until) >= 0
            && k < NGX_HTTP_HANGAR_SWEEP)
        {
            s = &list[k++];
            ngx_memzero(s, sizeof(ngx_http_hangar_sweep_t));
            ngx_memcpy(s->id, n->id, n->id_len);
            s->id_len = n->id_len;
            s->expired = 1;
            ngx_http_hangar_machine_end(reg, n, &s->run);
        }

        if (n->state == NGX_HTTP_HANGAR_INITIALIZING && n->start_owner
            && n->start_owner != (ngx_atomic_uint_t) ngx_pid
            && k < NGX_HTTP_HANGAR_SWEEP)
        {
            s = &list[k++];
            ngx_memzero(s, sizeof(ngx_http_hangar_sweep_t));
            ngx_memcpy(s->id, n->id, n->id_len);
            s->id_len = n->id_len;
            s->seq = n->start_seq;
            s->pid = n->start_owner;
        }

        for (i = 0; n->inflight && i < NGX_HTTP_HANGAR_HOLDS; i++) {
            if (n->holds[i].count == 0
                || n->holds[i].pid == (ngx_atomic_uint_t) ngx_pid
                || k == NGX_HTTP_HANGAR_SWEEP)
            {
                continue;
            }

            s = &list[k++];
            ngx_memzero(s, sizeof(ngx_http_hangar_sweep_t));
            ngx_memcpy(s->id, n->id, n->id_len);
            s->id_len = n->id_len;
            s->pid = n->holds[i].pid;
        }
    }

    ngx_http_hangar_unlock(reg);

    for (i = 0; i < k; i++) {
        if (list[i].pid) {
            list[i].dead = !ngx_http_hangar_worker_alive(list[i].pid);
        }
    }

    ngx_str_set(&err, "{\"message\":\"the worker that started the server "
                      "exited during the start\",\"exit_code\":null,"
                      "\"stderr\":\"\",\"suggestion\":\"start it again\"}");

    ngx_http_hangar_lock(reg);

    for (i = 0; i < k; i++) {
        s = &list[i];

        if (!s->dead) {
            continue;
        }

        n = ngx_http_hangar_find(&reg->sh->servers, s->id, s->id_len);
        if (n == NULL) {
            continue;
        }

        if (s->seq) {
            if (n->state != NGX_HTTP_HANGAR_INITIALIZING
                || n->start_seq != s->seq
                || n->start_owner != (ngx_atomic_uint_t) s->pid)
            {
                s->dead = 0;
                continue;
            }

            (void) ngx_http_hangar_set_blob(reg, &n->error, &err);
            ngx_http_hangar_machine_fail(reg, n, NGX_HTTP_HANGAR_FAIL_START);
            continue;
        }

        (void) ngx_http_hangar_release(reg, n, s->pid, &s->run);
    }

    ngx_http_hangar_unlock(reg);

    for (i = 0; i < k; i++) {
        s = &list[i];
        id.data = s->id;
        id.len = s->id_len;

        if (s->expired) {
            ngx_log_error(NGX_LOG_WARN, log, 0, "hangar: \"%V\" stopped with "
                          "calls still in flight after %M ms", &id,
                          (ngx_msec_t) NGX_HTTP_HANGAR_DRAIN_MS);
        }

        if (s->run.bridge) {
            ngx_http_hangar_terminate(s->run.bridge, s->run.server);
        }

        if (!s->dead) {
            continue;
        }

        if (s->seq == 0) {
            ngx_log_error(NGX_LOG_WARN, log, 0, "hangar: \"%V\": worker %P "
                          "exited with calls in flight; they no longer count",
                          &id, s->pid);
            continue;
        }

        ngx_log_error(NGX_LOG_WARN, log, 0, "hangar: \"%V\": worker %P "
                      "exited while starting it; the start failed", &id,
                      s->pid);

        ngx_http_hangar_orphan_add(s, now);
    }

    ngx_http_hangar_orphans(reg, log);
}


/* its bridge is stopped once its status file names it */

static void
ngx_http_hangar_orphan_add(ngx_http_hangar_sweep_t *s, ngx_msec_t now)
{
    ngx_uint_t                 i;
    ngx_http_hangar_orphan_t  *o;

    for (i = 0; i < ngx_http_hangar_norphans; i++) {
        if (ngx_http_hangar_orphan[i].seq == s->seq) {
            return;
        }
    }

    if (ngx_http_hangar_norphans == NGX_HTTP_HANGAR_ORPHANS) {
        return;
    }

    o = &ngx_http_hangar_orphan[ngx_http_hangar_norphans++];
    ngx_memcpy(o->id, s->id, s->id_len);
    o->id_len = s->id_len;
    o->seq = s->seq;
    o->until = now + NGX_HTTP_HANGAR_START_MS;
}


static void
ngx_http_hangar_orphans(ngx_http_hangar_registry_t *reg, ngx_log_t *log)
{
    ngx_str_t                  id;
    ngx_uint_t                 i;
    ngx_msec_t                 now;
    ngx_http_hangar_orphan_t  *o;

    now = ngx_http_hangar_mono_ms();

    for (i = 0; i < ngx_http_hangar_norphans; /* void */) {
        o = &ngx_http_hangar_orphan[i];
        id.data = o->id;
        id.len = o->id_len;

        if (ngx_http_hangar_machine_end_run(reg, &id, o->seq, NULL, log)
            == NGX_OK
            || ngx_http_hangar_since(now, o->until) > 0)
        {
            *o = ngx_http_hangar_orphan[--ngx_http_hangar_norphans];
            continue;
        }

        i++;
    }
}


/*
 * The end of a run that is not the server's (a stale start, an orphaned
 * one): its bridge is stopped, found through its status file when the
 * start did not learn its pid.  NGX_DECLINED: no status file yet.
 */

ngx_int_t
ngx_http_hangar_machine_end_run(ngx_http_hangar_registry_t *reg,
    ngx_str_t *id, ngx_atomic_uint_t seq, ngx_http_hangar_run_t *run,
    ngx_log_t *log)
{
    ngx_pid_t                 bridge, server;
    ngx_pool_t               *pool;
    ngx_http_hangar_value_t  *st, *v;

    if (run && run->bridge) {
        ngx_http_hangar_terminate(run->bridge, run->server);
        return NGX_OK;
    }

    pool = ngx_create_pool(4096, log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    st = ngx_http_hangar_run_status(pool, reg, id->data, id->len, seq);

    v = ngx_http_hangar_get(st, "bridge_pid");
    bridge = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) ? v->u.i : 0;
    v = ngx_http_hangar_get(st, "server_pid");
    server = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) ? v->u.i : 0;

    ngx_destroy_pool(pool);

    if (st == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_http_hangar_alive(bridge)) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0, "hangar: \"%V\": stopping the "
                      "bridge %P of an abandoned start", id, bridge);
        ngx_http_hangar_terminate(bridge, server);
    }

    return NGX_OK;
}


/* a worker that exits gives back what it holds */

void
ngx_http_hangar_machine_exit(ngx_http_hangar_registry_t *reg)
{
    ngx_uint_t               i, k;
    ngx_queue_t             *q;
    ngx_http_hangar_run_t    runs[NGX_HTTP_HANGAR_SWEEP];
    ngx_http_hangar_node_t  *n;

    if (reg == NULL || reg->sh == NULL) {
        return;
    }

    k = 0;

    ngx_http_hangar_lock(reg);

    for (q = ngx_queue_head(&reg->sh->servers.queue);
         q != ngx_queue_sentinel(&reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        n = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        for (i = 0; n->inflight && i < NGX_HTTP_HANGAR_HOLDS; i++) {
            if (n->holds[i].count
                && n->holds[i].pid == (ngx_atomic_uint_t) ngx_pid)
            {
                n->inflight -= ngx_min(n->holds[i].count, n->inflight);
                n->holds[i].count = 0;
                n->holds[i].pid = 0;
            }
        }

        if (n->inflight == 0 && n->drain_until && k < NGX_HTTP_HANGAR_SWEEP)
        {
            ngx_http_hangar_machine_end(reg, n, &runs[k++]);
        }
    }

    ngx_http_hangar_unlock(reg);

    for (i = 0; i < k; i++) {
        if (runs[i].bridge) {
            ngx_http_hangar_terminate(runs[i].bridge, runs[i].server);
        }
    }
}
