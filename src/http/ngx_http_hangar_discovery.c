
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Discovery cycles (hangar-security.md §5.4).  One worker at a time runs
 * a cycle (the lease holder for the periodic ones, any worker for a scan
 * asked through the API): it reads every enabled source, resolves
 * conflicts (static wins, then the source's priority), checks each new
 * or changed server (the API's field table and edge rules, the rate and
 * count limits, a health check for network servers), registers it
 * through the API's durable path or holds it pending or quarantined, and
 * removes what an authoritative source no longer reports once its TTL is
 * over.  The outcome is published in the zone as one JSON document, the
 * "view", which every worker's API reads; the next cycle starts from it,
 * so the cycles move between workers without losing anything.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_discovery.h"
#include "ngx_http_hangar_discovery_fs.h"
#include "ngx_http_hangar_discovery_docker.h"
#include "ngx_http_hangar_discovery_k8s.h"
#include "ngx_http_hangar_discovery_decide.h"
#include "ngx_http_hangar_discovery_apply.h"


#define NGX_HTTP_HANGAR_DISC_RUN_MAX    (10 * 60 * 1000)  /* a stuck cycle */
#define NGX_HTTP_HANGAR_DISC_DEBOUNCE   100


static void ngx_http_hangar_disc_run(ngx_http_hangar_registry_t *reg);
static ngx_int_t ngx_http_hangar_disc_read(ngx_http_hangar_disc_cycle_t *cy);
static void ngx_http_hangar_disc_scan_next(ngx_event_t *ev);
static void ngx_http_hangar_disc_scanned(void *data, ngx_int_t rc,
    ngx_str_t *error);
static ngx_int_t ngx_http_hangar_disc_source(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_source_t *src, ngx_int_t rc, ngx_str_t *error);
static void ngx_http_hangar_disc_finish(ngx_http_hangar_disc_cycle_t *cy);
static void ngx_http_hangar_disc_publish(ngx_http_hangar_disc_cycle_t *cy);
static void ngx_http_hangar_disc_end(ngx_http_hangar_disc_cycle_t *cy);
static void ngx_http_hangar_disc_watched(ngx_event_t *ev);


/* this worker's cycle in flight, if any */
static ngx_http_hangar_disc_cycle_t  *ngx_http_hangar_disc_current;
static ngx_uint_t                     ngx_http_hangar_disc_exiting;


/* ---- when a cycle runs ---------------------------------------------------- */

void
ngx_http_hangar_discovery_tick(ngx_http_hangar_registry_t *reg)
{
    ngx_msec_t                      now;
    ngx_uint_t                      i;
    ngx_pool_t                     *pool;
    ngx_array_t                    *sources;
    ngx_http_hangar_value_t        *doc, *v;
    ngx_http_hangar_disc_sh_t      *d;
    ngx_http_hangar_disc_source_t  *s;

    if (reg->hmcf->discovery == NULL || ngx_http_hangar_disc_exiting
        || ngx_http_hangar_disc_current)
    {
        return;
    }

    d = ngx_http_hangar_disc_sh(reg);
    if (d == NULL) {
        return;
    }

    now = ngx_http_hangar_mono_ms();

    /* a scan asked through the API runs on any worker; the periodic
       cycles on the lease holder, which also watches the directory */
    if (!d->requested) {
        if (reg->sh->lease_pid != (ngx_atomic_uint_t) ngx_pid) {
            ngx_http_hangar_disc_fs_unwatch();
            return;
        }

        if (d->next_at && ngx_http_hangar_since(now, d->next_at) < 0) {
            return;
        }
    }

    if (reg->sh->lease_pid == (ngx_atomic_uint_t) ngx_pid) {
        pool = ngx_create_pool(4096, ngx_cycle->log);

        if (pool
            && ngx_http_hangar_disc_doc(reg, pool, &doc) == NGX_OK
            && ngx_http_hangar_disc_sources(reg, pool, doc, &sources)
               == NGX_OK)
        {
            s = sources->elts;

            for (i = 0; i < sources->nelts; i++) {
                if (s[i].type == NGX_HTTP_HANGAR_DISC_FILESYSTEM
                    && s[i].enabled)
                {
                    (void) ngx_http_hangar_disc_fs_watch(reg, &s[i],
                                            ngx_http_hangar_disc_watched);
                    break;
                }
            }
        }

        if (pool) {
            ngx_destroy_pool(pool);
        }
    }

    v = ngx_http_hangar_get(reg->hmcf->discovery, "refresh_interval_s");
    d->next_at = now + 1000 * (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT)
                               ? v->u.i : 30);

    ngx_http_hangar_disc_run(reg);
}


/* inotify saw a change: a cycle at the next tick, a little later */

static void
ngx_http_hangar_disc_watched(ngx_event_t *ev)
{
    ngx_http_hangar_registry_t  *reg;
    ngx_http_hangar_disc_sh_t   *d;

    reg = ngx_http_hangar_registry();

    if (reg == NULL || (d = ngx_http_hangar_disc_sh(reg)) == NULL) {
        return;
    }

    d->next_at = ngx_http_hangar_mono_ms() + NGX_HTTP_HANGAR_DISC_DEBOUNCE;
}


void
ngx_http_hangar_discovery_exit(void)
{
    ngx_http_hangar_disc_exiting = 1;
    ngx_http_hangar_disc_fs_unwatch();

    if (ngx_http_hangar_disc_inflight) {
        ngx_http_hangar_call_destroy(ngx_http_hangar_disc_inflight);
        ngx_http_hangar_disc_inflight = NULL;
    }

    if (ngx_http_hangar_disc_current) {
        ngx_http_hangar_disc_current->check = NULL;
        ngx_http_hangar_disc_current->exiting = 1;

        if (ngx_http_hangar_disc_current->resume.timer_set) {
            ngx_del_timer(&ngx_http_hangar_disc_current->resume);
        }

        if (ngx_http_hangar_disc_current->resume.posted) {
            ngx_delete_posted_event(&ngx_http_hangar_disc_current->resume);
        }

        if (ngx_http_hangar_disc_current->scan.posted) {
            ngx_delete_posted_event(&ngx_http_hangar_disc_current->scan);
        }
    }
}


/* ---- a cycle ------------------------------------------------------------ */

static void
ngx_http_hangar_disc_run(ngx_http_hangar_registry_t *reg)
{
    ngx_msec_t                     now;
    ngx_uint_t                     ok;
    ngx_pool_t                    *pool;
    ngx_array_t                   *items;
    ngx_http_hangar_disc_sh_t     *d;
    ngx_http_hangar_disc_cycle_t  *cy;

    d = ngx_http_hangar_disc_sh(reg);
    now = ngx_http_hangar_mono_ms();

    ngx_http_hangar_lock(reg);

    ok = (d->runner == 0
          || ngx_http_hangar_since(now, d->runner_until) > 0);

    if (ok) {
        d->runner = ngx_pid;
        d->runner_until = now + NGX_HTTP_HANGAR_DISC_RUN_MAX;
        d->requested = 0;
    }

    ngx_http_hangar_unlock(reg);

    if (!ok) {
        return;
    }

    pool = ngx_create_pool(16384, ngx_cycle->log);
    if (pool == NULL) {
        d->runner = 0;
        return;
    }

    cy = ngx_pcalloc(pool, sizeof(ngx_http_hangar_disc_cycle_t));
    items = ngx_array_create(pool, 16, sizeof(ngx_http_hangar_disc_item_t));

    if (cy == NULL || items == NULL
        || ngx_array_init(&cy->acts, pool, 8,
                          sizeof(ngx_http_hangar_disc_act_t))
           != NGX_OK)
    {
        ngx_destroy_pool(pool);
        d->runner = 0;
        return;
    }

    cy->pool = pool;
    cy->log = ngx_cycle->log;
    cy->reg = reg;
    cy->conf = reg->hmcf->discovery;
    cy->now = ngx_http_hangar_now_ms();
    cy->resume.handler = ngx_http_hangar_disc_apply;
    cy->finish = ngx_http_hangar_disc_finish;
    cy->resume.data = cy;
    cy->resume.log = ngx_cycle->log;

    ngx_http_hangar_disc_current = cy;

    if (ngx_http_hangar_disc_read(cy) != NGX_OK) {
        goto failed;
    }

    cy->items = items;
    cy->scan.handler = ngx_http_hangar_disc_scan_next;
    cy->scan.data = cy;
    cy->scan.log = ngx_cycle->log;

    ngx_http_hangar_disc_scan_next(&cy->scan);
    return;

failed:

    ngx_log_error(NGX_LOG_ERR, cy->log, 0,
                  "hangar: discovery: the cycle failed (out of memory?)");
    ngx_http_hangar_disc_end(cy);
}


/*
 * The sources, one after the other: the filesystem is read at once, the
 * others answer on the event loop (their done() resumes the cycle).
 */

static void
ngx_http_hangar_disc_scan_next(ngx_event_t *ev)
{
    ngx_int_t                       rc;
    ngx_str_t                       error;
    ngx_http_hangar_disc_source_t  *src;
    ngx_http_hangar_disc_cycle_t   *cy;

    cy = ev->data;

    if (ngx_http_hangar_disc_exiting) {
        ngx_http_hangar_disc_end(cy);
        return;
    }

    while (cy->src_next < cy->sources->nelts) {
        src = &((ngx_http_hangar_disc_source_t *) cy->sources->elts)
                  [cy->src_next];
        cy->src_before = cy->items->nelts;
        ngx_str_null(&error);

        if (!src->enabled) {
            rc = NGX_DONE;

        } else if (src->type == NGX_HTTP_HANGAR_DISC_FILESYSTEM) {
            rc = ngx_http_hangar_disc_fs_scan(cy->reg, cy->pool, src,
                                              cy->items,
                                              ngx_http_hangar_disc_scanned,
                                              cy);
            if (rc == NGX_AGAIN) {
                return;
            }

        } else {
            rc = (src->type == NGX_HTTP_HANGAR_DISC_DOCKER)
                 ? ngx_http_hangar_disc_docker_scan(cy->reg, cy->pool, src,
                       cy->items, ngx_http_hangar_disc_scanned, cy)
                 : ngx_http_hangar_disc_k8s_scan(cy->reg, cy->pool, src,
                       cy->items, ngx_http_hangar_disc_scanned, cy);
            if (rc == NGX_AGAIN) {
                return;
            }
        }

        if (ngx_http_hangar_disc_source(cy, src, rc, &error) != NGX_OK) {
            goto failed;
        }

        cy->src_next++;
    }

    if (ngx_http_hangar_disc_decide_all(cy) != NGX_OK) {
        goto failed;
    }

    ngx_http_hangar_disc_apply(&cy->resume);
    return;

failed:

    ngx_log_error(NGX_LOG_ERR, cy->log, 0,
                  "hangar: discovery: the cycle failed (out of memory?)");
    ngx_http_hangar_disc_end(cy);
}


/* a source that answers on the event loop has answered */

static void
ngx_http_hangar_disc_scanned(void *data, ngx_int_t rc, ngx_str_t *error)
{
    ngx_http_hangar_disc_cycle_t   *cy = data;

    ngx_http_hangar_disc_source_t  *src;

    src = &((ngx_http_hangar_disc_source_t *) cy->sources->elts)
              [cy->src_next];

    if (ngx_http_hangar_disc_exiting
        || ngx_http_hangar_disc_source(cy, src, rc, error) != NGX_OK)
    {
        ngx_http_hangar_disc_end(cy);
        return;
    }

    cy->src_next++;
    ngx_post_event(&cy->scan, &ngx_posted_events);
}


/* what the cycle starts from: the document, the last view, the sources */

static ngx_int_t
ngx_http_hangar_disc_read(ngx_http_hangar_disc_cycle_t *cy)
{
    ngx_http_hangar_value_t  *v;

    if (ngx_http_hangar_disc_doc(cy->reg, cy->pool, &cy->doc) != NGX_OK
        || ngx_http_hangar_disc_view(cy->reg, cy->pool, &cy->prev) != NGX_OK
        || ngx_http_hangar_disc_sources(cy->reg, cy->pool, cy->doc,
                                        &cy->sources)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    cy->status = ngx_http_hangar_value_new(cy->pool, NGX_HTTP_HANGAR_OBJ);
    v = ngx_http_hangar_get(cy->prev, "attempts");
    cy->attempts = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_OBJ)
                   ? v : ngx_http_hangar_value_new(cy->pool,
                                                   NGX_HTTP_HANGAR_OBJ);

    if (cy->status == NULL || cy->attempts == NULL
        || ngx_http_hangar_disc_set_init(&cy->tracked, cy->pool) != NGX_OK
        || ngx_http_hangar_disc_set_init(&cy->pending, cy->pool) != NGX_OK
        || ngx_http_hangar_disc_set_init(&cy->quarantined, cy->pool)
           != NGX_OK
        || ngx_http_hangar_disc_index_obj(&cy->prev_tracked, cy->pool,
               ngx_http_hangar_get(cy->prev, "tracked")) != NGX_OK
        || ngx_http_hangar_disc_index_obj(&cy->prev_pending, cy->pool,
               ngx_http_hangar_get(cy->prev, "pending")) != NGX_OK
        || ngx_http_hangar_disc_index_obj(&cy->prev_quarantined, cy->pool,
               ngx_http_hangar_get(cy->prev, "quarantined")) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a source's status after its scan (NGX_DONE: disabled, kept as it was),
   its health (an event when it changes) */

static ngx_int_t
ngx_http_hangar_disc_source(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_source_t *src, ngx_int_t rc, ngx_str_t *error)
{
    u_char                   *key;
    ngx_uint_t                was, healthy;
    ngx_http_hangar_value_t  *st, *old, *v;

    st = ngx_http_hangar_value_new(cy->pool, NGX_HTTP_HANGAR_OBJ);
    key = ngx_pnalloc(cy->pool, src->id.len + 1);
    if (st == NULL || key == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(key, src->id.data, src->id.len + 1);

    old = ngx_http_hangar_get(ngx_http_hangar_get(cy->prev, "sources"),
                              (char *) key);

    if (rc == NGX_DONE) {
        /* disabled: kept as it was */
        return old ? ngx_http_hangar_disc_put(cy->pool, cy->status,
                                              (char *) key, old)
                   : NGX_OK;
    }

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    healthy = (rc == NGX_OK);

    if (!healthy) {
        /* what it reported before is not "gone": nothing expires */
        cy->failed |= 1 << src->type;
    }

    v = ngx_http_hangar_get(old, "is_healthy");
    was = !ngx_http_hangar_is(v, NGX_HTTP_HANGAR_BOOL) || v->u.b;

    if (was != healthy) {
        ngx_log_error(NGX_LOG_WARN, cy->log, 0,
                      "hangar: discovery: source %s is %s%s%V",
                      ngx_http_hangar_disc_type_name(src->type),
                      healthy ? "healthy again" : "unhealthy",
                      healthy ? "" : ": ", error);
        ngx_http_hangar_event(cy->reg, "DiscoverySourceHealthChanged",
                              (u_char *) "", 0,
                              "{\"source_type\":\"%s\",\"is_healthy\":%s}",
                              ngx_http_hangar_disc_type_name(src->type),
                              healthy ? "true" : "false");
    }

    v = ngx_http_hangar_value_new(cy->pool, NGX_HTTP_HANGAR_BOOL);
    if (v == NULL) {
        return NGX_ERROR;
    }

    v->u.b = healthy;

    if (ngx_http_hangar_disc_put(cy->pool, st, "is_healthy", v) != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, st, "last_discovery",
               healthy ? ngx_http_hangar_disc_iso(cy->pool, cy->now)
                       : ngx_http_hangar_get(old, "last_discovery"))
           != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, st, "mcp_servers_count",
               ngx_http_hangar_value_int(cy->pool, (int64_t)
                                         (cy->items->nelts - cy->src_before)))
           != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, st, "error_message",
               error->len ? ngx_http_hangar_value_str(cy->pool, error->data,
                                                      error->len)
                          : NULL)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_hangar_disc_put(cy->pool, cy->status, (char *) key, st);
}


/* the view, for every worker; approvals and rejections made meanwhile
   are honoured (the document is read again) */

static void
ngx_http_hangar_disc_publish(ngx_http_hangar_disc_cycle_t *cy)
{
    ngx_str_t                   text;
    ngx_uint_t                  i, k;
    ngx_http_hangar_pair_t     *pair;
    ngx_http_hangar_value_t    *view, *doc, *set[2], *fp, *v, *m;
    ngx_http_hangar_disc_sh_t  *d;

    static const char  *lists[] = { "approved", "rejected" };

    d = ngx_http_hangar_disc_sh(cy->reg);

    if (ngx_http_hangar_disc_doc(cy->reg, cy->pool, &doc) != NGX_OK) {
        return;
    }

    set[0] = cy->pending.obj;
    set[1] = cy->quarantined.obj;

    for (k = 0; k < 2; k++) {
        pair = set[k]->u.obj.elts;

        for (i = 0; i < set[k]->u.obj.nelts; /* void */) {
            m = (k == 0) ? pair[i].value
                         : ngx_http_hangar_get(pair[i].value, "mcp_server");
            fp = ngx_http_hangar_get(m, "fingerprint");

            v = ngx_http_hangar_get_n(ngx_http_hangar_get(doc, lists[0]),
                                      pair[i].key.data, pair[i].key.len);
            if (v == NULL) {
                v = ngx_http_hangar_get_n(ngx_http_hangar_get(doc, lists[1]),
                                          pair[i].key.data, pair[i].key.len);
            }

            if (v && fp && ngx_http_hangar_value_equal(v, fp)) {
                /* decided meanwhile: gone from the set */
                ngx_memmove(&pair[i], &pair[i + 1],
                            (set[k]->u.obj.nelts - i - 1)
                            * sizeof(ngx_http_hangar_pair_t));
                set[k]->u.obj.nelts--;
                continue;
            }

            i++;
        }
    }

    view = ngx_http_hangar_value_new(cy->pool, NGX_HTTP_HANGAR_OBJ);

    if (view == NULL
        || ngx_http_hangar_disc_put(cy->pool, view, "cycle",
               ngx_http_hangar_value_int(cy->pool,
                                         (int64_t) d->cycles + 1)) != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, view, "found",
               ngx_http_hangar_value_int(cy->pool, (int64_t) cy->found))
           != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, view, "sources", cy->status)
           != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, view, "tracked",
                                    cy->tracked.obj)
           != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, view, "pending",
                                    cy->pending.obj)
           != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, view, "quarantined",
                                    cy->quarantined.obj) != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, view, "attempts", cy->attempts)
           != NGX_OK
        || ngx_http_hangar_json_text(cy->pool, view, &text) != NGX_OK)
    {
        return;
    }

    ngx_http_hangar_lock(cy->reg);

    if (ngx_http_hangar_set_blob(cy->reg, &d->view, &text) != NGX_OK) {
        ngx_http_hangar_unlock(cy->reg);
        ngx_http_hangar_zone_full(cy->reg, cy->log);
        return;
    }

    ngx_http_hangar_unlock(cy->reg);

    ngx_http_hangar_event(cy->reg, "DiscoveryCycleCompleted", (u_char *) "",
                          0, "{\"found\":%ui,\"registered\":%ui,"
                          "\"updated\":%ui,\"deregistered\":%ui,"
                          "\"quarantined\":%ui,\"pending\":%ui}",
                          cy->found, cy->registered, cy->updated,
                          cy->removed, cy->quarantined.obj->u.obj.nelts,
                          cy->pending.obj->u.obj.nelts);
}


/* the changes are made: the view published (not when the worker exits) */

static void
ngx_http_hangar_disc_finish(ngx_http_hangar_disc_cycle_t *cy)
{
    if (!cy->exiting) {
        ngx_http_hangar_disc_publish(cy);

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, cy->log, 0,
                       "hangar: discovery: cycle of %ui items, %ui changes, "
                       "%ui state writes", cy->found, cy->acts.nelts,
                       cy->writes);
    }

    ngx_http_hangar_disc_end(cy);
}


static void
ngx_http_hangar_disc_end(ngx_http_hangar_disc_cycle_t *cy)
{
    ngx_http_hangar_disc_sh_t  *d;

    d = ngx_http_hangar_disc_sh(cy->reg);

    ngx_atomic_fetch_add(&d->cycles, 1);
    d->runner = 0;

    if (ngx_http_hangar_disc_current == cy) {
        ngx_http_hangar_disc_current = NULL;
    }

    if (cy->check) {
        ngx_http_hangar_call_destroy(cy->check);
    }

    ngx_destroy_pool(cy->pool);
}
