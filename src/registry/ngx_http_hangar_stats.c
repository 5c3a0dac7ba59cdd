
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The counters of /metrics, in the zone (see ngx_http_hangar_stats.h).
 *
 * A server's record is found without a lock: an open-addressing table of
 * pointers, each set once (after the record is filled in) and never
 * cleared, so a reader sees a complete record or none.  Records and tool
 * entries are made with the slab mutex; a caller that already holds it
 * (many sites count from inside their own locked section) is detected by
 * the mutex's owner pid, so the increments can be called from anywhere.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hangar_stats.h"


static ngx_uint_t ngx_http_hangar_stats_lock(ngx_http_hangar_registry_t *reg);
static ngx_http_hangar_stats_server_t *ngx_http_hangar_stats_server(
    ngx_http_hangar_registry_t *reg, ngx_str_t *id, const char *mode);
static ngx_http_hangar_stats_tool_t *ngx_http_hangar_stats_tool(
    ngx_http_hangar_registry_t *reg, ngx_http_hangar_stats_server_t *s,
    ngx_str_t *tool);
static void ngx_http_hangar_stats_label(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_stats_label_t *labels, ngx_uint_t n, ngx_atomic_t *other,
    u_char *name, size_t len);
static void ngx_http_hangar_hist_add(ngx_http_hangar_hist_t *h,
    ngx_http_hangar_hist_e set, uint64_t value);


const char  *ngx_http_hangar_stop_reasons[] = {
    "idle", "shutdown", "user_request", "config_changed", "removed",
    "blocked", "crashed", "other", NULL
};

const char  *ngx_http_hangar_check_results[] = {
    "healthy", "unhealthy", "cold", NULL
};

const char  *ngx_http_hangar_rpc_methods[] = {
    "initialize", "tools/list", "tools/call", "ping", "other", NULL
};

const char  *ngx_http_hangar_recv_types[] = {
    "response", "notification", "error", NULL
};


/* micro-units (seconds * 1e6, or bytes and counts * 1e6); 0 ends a set */
static const uint64_t  ngx_http_hangar_bounds[][NGX_HTTP_HANGAR_STATS_BUCKETS]
    = {
    /* LATENCY */
    { 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
      1000000, 2500000, 5000000, 10000000, 30000000, 0 },
    /* COLD_START */
    { 100000, 250000, 500000, 1000000, 2000000, 3000000, 5000000, 10000000,
      15000000, 30000000, 60000000, 0 },
    /* HEALTH */
    { 1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 0 },
    /* GC */
    { 1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 0 },
    /* BATCH_DURATION */
    { 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
      30000000, 60000000, 120000000, 300000000, 0 },
    /* BATCH_SIZE */
    { 1000000, 2000000, 5000000, 10000000, 20000000, 50000000, 100000000,
      0 },
    /* SIZE */
    { 100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
      1000000000000ULL, 10000000000000ULL, 0 }
};


const uint64_t *
ngx_http_hangar_stats_bounds(ngx_http_hangar_hist_e set)
{
    return ngx_http_hangar_bounds[set];
}


/* 1: taken here (release it); 0: the caller holds it already */

static ngx_uint_t
ngx_http_hangar_stats_lock(ngx_http_hangar_registry_t *reg)
{
    if (*reg->shpool->mutex.lock == (ngx_atomic_uint_t) ngx_pid) {
        return 0;
    }

    ngx_shmtx_lock(&reg->shpool->mutex);

    return 1;
}


ngx_http_hangar_stats_sh_t *
ngx_http_hangar_stats(ngx_http_hangar_registry_t *reg)
{
    size_t                       zone;
    ngx_uint_t                   locked, n;
    ngx_http_hangar_stats_sh_t  *st;

    st = reg->sh->stats_sh;

    if (st) {
        return st;
    }

    /* a small zone keeps its room for servers: a table to its size */
    zone = reg->shpool->end - (u_char *) reg->shpool;
    n = zone / 4096;
    n = ngx_max(n, NGX_HTTP_HANGAR_STATS_SLOTS_MIN);
    n = ngx_min(n, NGX_HTTP_HANGAR_STATS_SLOTS_MAX);

    locked = ngx_http_hangar_stats_lock(reg);

    st = reg->sh->stats_sh;

    if (st == NULL) {
        st = ngx_slab_calloc_locked(reg->shpool,
                                    offsetof(ngx_http_hangar_stats_sh_t,
                                             servers)
                                    + n * sizeof(ngx_atomic_t));
        if (st) {
            st->nslots = n;
            ngx_memory_barrier();
            reg->sh->stats_sh = st;
        }
    }

    if (locked) {
        ngx_shmtx_unlock(&reg->shpool->mutex);
    }

    return st;
}


static ngx_http_hangar_stats_server_t *
ngx_http_hangar_stats_server(ngx_http_hangar_registry_t *reg, ngx_str_t *id,
    const char *mode)
{
    size_t                           len;
    ngx_uint_t                       i, k, locked;
    ngx_http_hangar_stats_sh_t      *st;
    ngx_http_hangar_stats_server_t  *s;

    st = ngx_http_hangar_stats(reg);

    if (st == NULL || id->len == 0 || id->len > NGX_HTTP_HANGAR_ID_MAX) {
        return NULL;
    }

    k = ngx_crc32_short(id->data, id->len) % st->nslots;
    locked = 2;

    for ( ;; ) {

        for (i = 0; i < st->nslots; i++) {
            s = (ngx_http_hangar_stats_server_t *)
                st->servers[(k + i) % st->nslots];

            if (s == NULL) {
                break;
            }

            if (s->len == id->len
                && ngx_memcmp(s->id, id->data, id->len) == 0)
            {
                goto found;
            }
        }

        if (i == st->nslots) {
            s = NULL;
            goto found;
        }

        if (locked != 2) {
            break;
        }

        /* not there: look again with the mutex, then make it */
        locked = ngx_http_hangar_stats_lock(reg);
    }

    s = ngx_slab_calloc_locked(reg->shpool,
                               sizeof(ngx_http_hangar_stats_server_t));
    if (s) {
        s->len = id->len;
        ngx_memcpy(s->id, id->data, id->len);

        len = mode ? ngx_min(ngx_strlen(mode), sizeof(s->mode) - 1) : 0;
        ngx_memcpy(s->mode, mode ? mode : "", len);

        s->other.len = sizeof("other") - 1;
        ngx_memcpy(s->other.name, "other", sizeof("other") - 1);

        ngx_memory_barrier();
        st->servers[(k + i) % st->nslots] = (uintptr_t) s;
        (void) ngx_atomic_fetch_add(&st->nservers, 1);
    }

found:

    if (locked == 1) {
        ngx_shmtx_unlock(&reg->shpool->mutex);
    }

    /* a record made before its mode was known (a stop) learns it */
    if (s && mode && s->mode[0] == '\0') {
        len = ngx_min(ngx_strlen(mode), sizeof(s->mode) - 1);
        ngx_memcpy(s->mode, mode, len);
    }

    return s;
}


/* a tool's entry, or "other" past the cap of distinct tools */

static ngx_http_hangar_stats_tool_t *
ngx_http_hangar_stats_tool(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_stats_server_t *s, ngx_str_t *tool)
{
    ngx_uint_t                     i, n, max, locked;
    ngx_http_hangar_stats_tool_t  *t;

    max = NGX_HTTP_HANGAR_STATS_TOOLS;

    if (reg->hmcf && reg->hmcf->metrics_tools > 0
        && (ngx_uint_t) reg->hmcf->metrics_tools < max)
    {
        max = reg->hmcf->metrics_tools;
    }

    if (tool->len == 0 || tool->len > NGX_HTTP_HANGAR_STATS_NAME) {
        return &s->other;
    }

    locked = 2;

    for ( ;; ) {
        n = s->ntools;

        for (i = 0; i < n; i++) {
            t = (ngx_http_hangar_stats_tool_t *) s->tools[i];

            if (t->len == tool->len
                && ngx_memcmp(t->name, tool->data, tool->len) == 0)
            {
                goto done;
            }
        }

        if (n >= max) {
            t = &s->other;
            goto done;
        }

        if (locked != 2) {
            break;
        }

        locked = ngx_http_hangar_stats_lock(reg);
    }

    t = ngx_slab_calloc_locked(reg->shpool,
                               sizeof(ngx_http_hangar_stats_tool_t));
    if (t == NULL) {
        t = &s->other;
        goto done;
    }

    t->len = tool->len;
    ngx_memcpy(t->name, tool->data, tool->len);

    s->tools[n] = (uintptr_t) t;
    ngx_memory_barrier();
    s->ntools = n + 1;

done:

    if (locked == 1) {
        ngx_shmtx_unlock(&reg->shpool->mutex);
    }

    return t;
}


/* a count under a label value of a small claimed set, or "other" */

static void
ngx_http_hangar_stats_label(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_stats_label_t *labels, ngx_uint_t n, ngx_atomic_t *other,
    u_char *name, size_t len)
{
    ngx_uint_t  i, locked;

    if (len >= sizeof(labels[0].name)) {
        len = sizeof(labels[0].name) - 1;
    }

    for (i = 0; i < n && labels[i].ready; i++) {
        if (labels[i].len == len && ngx_memcmp(labels[i].name, name, len) == 0)
        {
            (void) ngx_atomic_fetch_add(&labels[i].count, 1);
            return;
        }
    }

    if (i == n) {
        (void) ngx_atomic_fetch_add(other, 1);
        return;
    }

    locked = ngx_http_hangar_stats_lock(reg);

    for (i = 0; i < n && labels[i].ready; i++) {
        if (labels[i].len == len && ngx_memcmp(labels[i].name, name, len) == 0)
        {
            break;
        }
    }

    if (i < n && !labels[i].ready) {
        labels[i].len = len;
        ngx_memcpy(labels[i].name, name, len);
        ngx_memory_barrier();
        labels[i].ready = 1;
    }

    if (locked) {
        ngx_shmtx_unlock(&reg->shpool->mutex);
    }

    (void) ngx_atomic_fetch_add(i < n ? &labels[i].count : other, 1);
}


static void
ngx_http_hangar_hist_add(ngx_http_hangar_hist_t *h, ngx_http_hangar_hist_e set,
    uint64_t value)
{
    ngx_uint_t       i;
    const uint64_t  *b;

    b = ngx_http_hangar_bounds[set];

    for (i = 0; b[i] && value > b[i]; i++) { /* void */ }

    (void) ngx_atomic_fetch_add(&h->bucket[i], 1);
    (void) ngx_atomic_fetch_add(&h->sum, (ngx_atomic_int_t) value);
    (void) ngx_atomic_fetch_add(&h->count, 1);
}


void
ngx_http_hangar_stats_call(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_str_t *tool, const char *error_type,
    ngx_msec_t ms)
{
    ngx_http_hangar_stats_tool_t    *t;
    ngx_http_hangar_stats_server_t  *s;

    s = ngx_http_hangar_stats_server(reg, server, NULL);
    if (s == NULL) {
        return;
    }

    t = ngx_http_hangar_stats_tool(reg, s, tool);

    if (error_type == NULL) {
        (void) ngx_atomic_fetch_add(&t->ok, 1);
        ngx_http_hangar_hist_add(&t->latency, NGX_HTTP_HANGAR_HIST_LATENCY,
                                 (uint64_t) ms * 1000);
        return;
    }

    (void) ngx_atomic_fetch_add(&t->failed, 1);
    ngx_http_hangar_stats_label(reg, t->errors, NGX_HTTP_HANGAR_STATS_ERRTYPES,
                                &t->errors_other, (u_char *) error_type,
                                ngx_strlen(error_type));
}


void
ngx_http_hangar_stats_start(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, const char *mode, ngx_int_t ok, ngx_msec_t ms)
{
    ngx_http_hangar_stats_server_t  *s;

    s = ngx_http_hangar_stats_server(reg, server, mode);
    if (s == NULL) {
        return;
    }

    if (!ok) {
        (void) ngx_atomic_fetch_add(&s->starts_failed, 1);
        return;
    }

    (void) ngx_atomic_fetch_add(&s->starts_ok, 1);
    ngx_http_hangar_hist_add(&s->cold_start, NGX_HTTP_HANGAR_HIST_COLD_START,
                             (uint64_t) ms * 1000);
}


void
ngx_http_hangar_stats_stop(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, const char *reason)
{
    ngx_uint_t                       i;
    ngx_http_hangar_stats_sh_t      *st;
    ngx_http_hangar_stats_server_t  *s;

    s = ngx_http_hangar_stats_server(reg, server, NULL);
    if (s == NULL) {
        return;
    }

    /* the last one, "other", takes what is not in the set */
    for (i = 0; i < NGX_HTTP_HANGAR_STOP_REASONS - 1; i++) {
        if (reason && ngx_strcmp(reason, ngx_http_hangar_stop_reasons[i]) == 0)
        {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&s->stops[i], 1);

    if (i == 0) {
        st = ngx_http_hangar_stats(reg);
        (void) ngx_atomic_fetch_add(&st->gc_collected, 1);
    }
}


void
ngx_http_hangar_stats_check(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_uint_t result, ngx_msec_t ms)
{
    ngx_http_hangar_stats_server_t  *s;

    s = ngx_http_hangar_stats_server(reg, server, NULL);
    if (s == NULL || result >= NGX_HTTP_HANGAR_CHECK_RESULTS) {
        return;
    }

    (void) ngx_atomic_fetch_add(&s->checks[result], 1);
    ngx_http_hangar_hist_add(&s->check_time, NGX_HTTP_HANGAR_HIST_HEALTH,
                             (uint64_t) ms * 1000);
}


void
ngx_http_hangar_stats_sent(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, const char *method, size_t size)
{
    ngx_uint_t                       i;
    ngx_http_hangar_stats_server_t  *s;

    s = ngx_http_hangar_stats_server(reg, server, NULL);
    if (s == NULL) {
        return;
    }

    /* a message sent as it is (an answer to a server's request): other */
    for (i = 0; method && i < NGX_HTTP_HANGAR_RPC_METHODS - 1; i++) {
        if (ngx_strcmp(method, ngx_http_hangar_rpc_methods[i]) == 0) {
            break;
        }
    }

    if (method == NULL) {
        i = NGX_HTTP_HANGAR_RPC_METHODS - 1;
    }

    (void) ngx_atomic_fetch_add(&s->sent[i], 1);
    ngx_http_hangar_hist_add(&s->sent_size, NGX_HTTP_HANGAR_HIST_SIZE,
                             (uint64_t) size * 1000000);
}


/* the end of one HTTP exchange with a server: its status, or the error */

void
ngx_http_hangar_stats_http(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_uint_t status, ngx_int_t rc, ngx_uint_t timedout)
{
    ngx_uint_t                       i;
    ngx_http_hangar_stats_server_t  *s;

    s = ngx_http_hangar_stats_server(reg, server, NULL);
    if (s == NULL) {
        return;
    }

    if (rc != NGX_OK) {
        (void) ngx_atomic_fetch_add(&s->http_errors[timedout ? 0 : 1], 1);
        return;
    }

    for (i = 0; i < NGX_HTTP_HANGAR_STATS_CODES; i++) {
        if (s->codes[i].code == status
            || (s->codes[i].code == 0
                && ngx_atomic_cmp_set(&s->codes[i].code, 0, status)))
        {
            break;
        }

        /* another worker claimed the slot for the same code meanwhile */
        if (s->codes[i].code == status) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(i < NGX_HTTP_HANGAR_STATS_CODES
                                ? &s->codes[i].count : &s->codes_other, 1);
}


/* a JSON-RPC message from a server: 0 response, 1 notification, 2 error */

void
ngx_http_hangar_stats_received(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_uint_t type, size_t size)
{
    ngx_http_hangar_stats_server_t  *s;

    s = ngx_http_hangar_stats_server(reg, server, NULL);
    if (s == NULL || type >= NGX_HTTP_HANGAR_RECV_TYPES) {
        return;
    }

    (void) ngx_atomic_fetch_add(&s->received[type], 1);
    ngx_http_hangar_hist_add(&s->received_size, NGX_HTTP_HANGAR_HIST_SIZE,
                             (uint64_t) size * 1000000);
}


void
ngx_http_hangar_stats_limit(ngx_http_hangar_registry_t *reg,
    ngx_uint_t rejected)
{
    ngx_http_hangar_stats_sh_t  *st;

    st = ngx_http_hangar_stats(reg);

    if (st) {
        (void) ngx_atomic_fetch_add(rejected ? &st->limit_rejected
                                             : &st->limit_allowed, 1);
    }
}


/* one sweep of the idle shutdown (the idle stops count themselves) */

void
ngx_http_hangar_stats_gc(ngx_http_hangar_registry_t *reg, ngx_msec_t ms)
{
    ngx_http_hangar_stats_sh_t  *st;

    st = ngx_http_hangar_stats(reg);
    if (st == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(&st->gc_cycles, 1);
    ngx_http_hangar_hist_add(&st->gc_time, NGX_HTTP_HANGAR_HIST_GC,
                             (uint64_t) ms * 1000);
}


/* result: 0 success, 1 partial, 2 failure, 3 validation_error */

void
ngx_http_hangar_stats_batch(ngx_http_hangar_registry_t *reg,
    ngx_uint_t result, ngx_uint_t size, ngx_msec_t ms)
{
    ngx_http_hangar_stats_sh_t  *st;

    st = ngx_http_hangar_stats(reg);
    if (st == NULL || result > 3) {
        return;
    }

    (void) ngx_atomic_fetch_add(&st->batch[result], 1);

    if (result == 3) {
        return;
    }

    ngx_http_hangar_hist_add(&st->batch_size, NGX_HTTP_HANGAR_HIST_BATCH_SIZE,
                             (uint64_t) size * 1000000);
    ngx_http_hangar_hist_add(&st->batch_time,
                             NGX_HTTP_HANGAR_HIST_BATCH_DURATION,
                             (uint64_t) ms * 1000);
}


void
ngx_http_hangar_stats_batch_active(ngx_http_hangar_registry_t *reg,
    ngx_int_t delta)
{
    ngx_http_hangar_stats_sh_t  *st;

    st = ngx_http_hangar_stats(reg);

    if (st) {
        (void) ngx_atomic_fetch_add(&st->batch_active, delta);
    }
}


void
ngx_http_hangar_stats_reload(ngx_http_hangar_registry_t *reg, ngx_uint_t ok)
{
    ngx_http_hangar_stats_sh_t  *st;

    st = ngx_http_hangar_stats(reg);

    if (st) {
        (void) ngx_atomic_fetch_add(&st->reloads[ok ? 0 : 1], 1);
    }
}


/* errors_total{component,error_type}: kept as "component\0type" */

void
ngx_http_hangar_stats_error(ngx_http_hangar_registry_t *reg,
    const char *component, const char *type)
{
    u_char                       buf[32], *p, *last;
    ngx_http_hangar_stats_sh_t  *st;

    st = ngx_http_hangar_stats(reg);
    if (st == NULL) {
        return;
    }

    last = buf + sizeof(buf) - 1;
    p = ngx_cpystrn(buf, (u_char *) component, last - buf);

    if (p < last) {
        p++;
        p = ngx_cpystrn(p, (u_char *) type, last - p + 1);
    }

    ngx_http_hangar_stats_label(reg, st->errors, 8, &st->errors_other, buf,
                                p - buf);
}


void
ngx_http_hangar_stats_totals(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_stats_totals_t *t)
{
    ngx_uint_t                       i, j, k;
    ngx_http_hangar_stats_sh_t      *st;
    ngx_http_hangar_stats_tool_t    *tool;
    ngx_http_hangar_stats_server_t  *s;

    ngx_memzero(t, sizeof(ngx_http_hangar_stats_totals_t));

    st = ngx_http_hangar_stats(reg);
    if (st == NULL) {
        return;
    }

    t->rate_limited = st->limit_rejected;

    for (i = 0; i < st->nslots; i++) {
        s = (ngx_http_hangar_stats_server_t *) st->servers[i];
        if (s == NULL) {
            continue;
        }

        t->starts += s->starts_ok;
        t->start_failures += s->starts_failed;
        t->health_checks += s->checks[0] + s->checks[1] + s->checks[2];
        t->health_failures += s->checks[1];

        for (j = 0; j < NGX_HTTP_HANGAR_STOP_REASONS; j++) {
            t->stops += s->stops[j];
        }

        k = s->ntools;

        for (j = 0; j <= k; j++) {
            tool = (j < k) ? (ngx_http_hangar_stats_tool_t *) s->tools[j]
                           : &s->other;

            t->tool_calls += tool->ok + tool->failed;
            t->tool_errors += tool->failed;
            t->call_seconds += (double) tool->latency.sum / 1000000;
        }
    }
}
