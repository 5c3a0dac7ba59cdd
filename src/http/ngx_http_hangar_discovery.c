
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
#include <openssl/sha.h>
#include "ngx_http_hangar_discovery.h"
#include "ngx_http_hangar_discovery_fs.h"
#include "ngx_http_hangar_discovery_docker.h"
#include "ngx_http_hangar_discovery_k8s.h"
#include "ngx_http_hangar_api_servers.h"
#include "ngx_http_hangar_state_doc.h"
#include "ngx_http_hangar_machine.h"
#include "ngx_http_hangar_client.h"
#include "ngx_http_hangar_rbac.h"
#include "ngx_http_hangar_guard.h"


#define NGX_HTTP_HANGAR_DISC_RUN_MAX    (10 * 60 * 1000)  /* a stuck cycle */
#define NGX_HTTP_HANGAR_DISC_DEBOUNCE   100
#define NGX_HTTP_HANGAR_DISC_ATTEMPTS   100000

#define NGX_HTTP_HANGAR_DISC_CREATE     0
#define NGX_HTTP_HANGAR_DISC_REPLACE    1
#define NGX_HTTP_HANGAR_DISC_DELETE     2


typedef struct {
    ngx_uint_t                   kind;
    ngx_uint_t                   type;      /* the source's, of a delete */
    ngx_str_t                    name;
    ngx_http_hangar_disc_item_t *item;
    ngx_http_hangar_value_t     *spec;
    ngx_http_hangar_value_t     *entry;     /* its discovered object */
} ngx_http_hangar_disc_act_t;


typedef struct {
    ngx_pool_t                  *pool;
    ngx_log_t                   *log;
    ngx_http_hangar_registry_t  *reg;
    ngx_http_hangar_value_t     *conf;      /* hangar.yaml "discovery:" */
    ngx_http_hangar_value_t     *doc;
    ngx_http_hangar_value_t     *prev;      /* the view it starts from */
    ngx_array_t                 *sources;
    /* the new view */
    ngx_http_hangar_value_t     *status;    /* per source */
    ngx_http_hangar_value_t     *tracked;
    ngx_http_hangar_value_t     *pending;
    ngx_http_hangar_value_t     *quarantined;
    ngx_http_hangar_value_t     *attempts;  /* per source type: [ms] */
    ngx_array_t                 *items;     /* found by the sources */
    ngx_uint_t                   src_next;
    ngx_uint_t                   src_before;
    ngx_uint_t                   failed;    /* types whose scan failed */
    ngx_event_t                  scan;      /* the next source */
    ngx_array_t                  acts;
    ngx_uint_t                   next;
    ngx_http_hangar_call_t      *check;
    ngx_event_t                  resume;
    ngx_msec_t                   now;       /* epoch ms */
    ngx_uint_t                   found;
    ngx_uint_t                   registered;
    ngx_uint_t                   updated;
    ngx_uint_t                   removed;
} ngx_http_hangar_disc_cycle_t;


static void ngx_http_hangar_disc_run(ngx_http_hangar_registry_t *reg);
static ngx_int_t ngx_http_hangar_disc_read(ngx_http_hangar_disc_cycle_t *cy);
static void ngx_http_hangar_disc_scan_next(ngx_event_t *ev);
static void ngx_http_hangar_disc_scanned(void *data, ngx_int_t rc,
    ngx_str_t *error);
static ngx_int_t ngx_http_hangar_disc_sort(ngx_http_hangar_disc_cycle_t *cy);
static ngx_int_t ngx_http_hangar_disc_source(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_source_t *src, ngx_int_t rc, ngx_str_t *error);
static int ngx_libc_cdecl ngx_http_hangar_disc_cmp(const void *one,
    const void *two);
static ngx_int_t ngx_http_hangar_disc_decide(
    ngx_http_hangar_disc_cycle_t *cy, ngx_http_hangar_disc_item_t *item);
static ngx_int_t ngx_http_hangar_disc_limits(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_item_t *item, ngx_str_t *why);
static ngx_int_t ngx_http_hangar_disc_expire(ngx_http_hangar_disc_cycle_t *cy,
    ngx_array_t *items);
static ngx_int_t ngx_http_hangar_disc_act(ngx_http_hangar_disc_cycle_t *cy,
    ngx_uint_t kind, ngx_str_t *name, ngx_http_hangar_disc_item_t *item,
    ngx_http_hangar_value_t *spec);
static void ngx_http_hangar_disc_next(ngx_event_t *ev);
static void ngx_http_hangar_disc_checked(ngx_http_hangar_call_t *call);
static void ngx_http_hangar_disc_changed(void *data, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_disc_quarantine(
    ngx_http_hangar_disc_cycle_t *cy, ngx_http_hangar_disc_item_t *item,
    const char *reason, ngx_str_t *detail);
static ngx_http_hangar_value_t *ngx_http_hangar_disc_entry(
    ngx_http_hangar_disc_cycle_t *cy, ngx_http_hangar_disc_item_t *item);
static ngx_int_t ngx_http_hangar_disc_track(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_item_t *item);
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
    cy->resume.handler = ngx_http_hangar_disc_next;
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
                                              cy->items, &error);

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

    if (ngx_http_hangar_disc_sort(cy) != NGX_OK) {
        goto failed;
    }

    ngx_http_hangar_disc_next(&cy->resume);
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


/* every item found, by name: the winner decided, the losers logged */

static ngx_int_t
ngx_http_hangar_disc_sort(ngx_http_hangar_disc_cycle_t *cy)
{
    ngx_uint_t                    i;
    ngx_array_t                  *items;
    ngx_http_hangar_disc_item_t  *it;

    items = cy->items;
    cy->found = items->nelts;

    /* by name, the winning source first (its priority), then the file */
    ngx_qsort(items->elts, items->nelts, sizeof(ngx_http_hangar_disc_item_t),
              ngx_http_hangar_disc_cmp);

    it = items->elts;

    for (i = 0; i < items->nelts; i++) {
        if (i > 0 && it[i].name.len == it[i - 1].name.len
            && ngx_strncmp(it[i].name.data, it[i - 1].name.data,
                           it[i].name.len) == 0)
        {
            ngx_log_error(NGX_LOG_WARN, cy->log, 0,
                          "hangar: discovery: \"%V\" of %s lost to %s "
                          "(same name)", &it[i].name,
                          ngx_http_hangar_disc_type_name(it[i].type),
                          ngx_http_hangar_disc_type_name(it[i - 1].type));
            continue;
        }

        if (ngx_http_hangar_disc_decide(cy, &it[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_http_hangar_disc_expire(cy, items);
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
    cy->tracked = ngx_http_hangar_value_new(cy->pool, NGX_HTTP_HANGAR_OBJ);
    cy->pending = ngx_http_hangar_value_new(cy->pool, NGX_HTTP_HANGAR_OBJ);
    cy->quarantined = ngx_http_hangar_value_new(cy->pool,
                                                NGX_HTTP_HANGAR_OBJ);

    v = ngx_http_hangar_get(cy->prev, "attempts");
    cy->attempts = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_OBJ)
                   ? v : ngx_http_hangar_value_new(cy->pool,
                                                   NGX_HTTP_HANGAR_OBJ);

    if (cy->status == NULL || cy->tracked == NULL || cy->pending == NULL
        || cy->quarantined == NULL || cy->attempts == NULL)
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


static int ngx_libc_cdecl
ngx_http_hangar_disc_cmp(const void *one, const void *two)
{
    ngx_int_t                     rc;
    ngx_http_hangar_value_t      *f1, *f2;
    ngx_http_hangar_disc_item_t  *a, *b;

    a = (ngx_http_hangar_disc_item_t *) one;
    b = (ngx_http_hangar_disc_item_t *) two;

    rc = ngx_memn2cmp(a->name.data, b->name.data, a->name.len, b->name.len);
    if (rc) {
        return rc;
    }

    if (a->type != b->type) {
        return (a->type < b->type) ? -1 : 1;
    }

    f1 = ngx_http_hangar_get(a->meta, "file_name");
    f2 = ngx_http_hangar_get(b->meta, "file_name");

    if (ngx_http_hangar_is(f1, NGX_HTTP_HANGAR_STR)
        && ngx_http_hangar_is(f2, NGX_HTTP_HANGAR_STR))
    {
        return ngx_memn2cmp(f1->u.s.data, f2->u.s.data, f1->u.s.len,
                            f2->u.s.len);
    }

    return 0;
}


/*
 * One item that won its name: refreshed, changed, new (registered, held
 * pending or quarantined), rejected before, or a static server's name.
 */

static ngx_int_t
ngx_http_hangar_disc_decide(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_item_t *item)
{
    u_char                   *key;
    ngx_int_t                 rc;
    ngx_str_t                 why, spec_text;
    ngx_uint_t                ours, exists, same;
    ngx_http_hangar_node_t   *n;
    ngx_http_hangar_value_t  *old, *v, *spec, *auto_reg;
    ngx_http_hangar_record_t  rec;

    /* a key of the view's objects: kept by them, so from the pool */
    key = ngx_pnalloc(cy->pool, item->name.len + 1);
    if (key == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(key, item->name.data, item->name.len + 1);

    old = ngx_http_hangar_get(ngx_http_hangar_get(cy->prev, "tracked"),
                              (char *) key);

    /* rejected, and not changed since: nothing to do */
    v = ngx_http_hangar_get(ngx_http_hangar_get(cy->doc, "rejected"),
                            (char *) key);

    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
        && v->u.s.len == NGX_HTTP_HANGAR_DISC_FP
        && ngx_strncmp(v->u.s.data, item->fp, NGX_HTTP_HANGAR_DISC_FP) == 0)
    {
        return NGX_OK;
    }

    ngx_str_null(&spec_text);
    same = 0;
    ours = (old != NULL);

    ngx_http_hangar_lock(cy->reg);

    n = ngx_http_hangar_find(&cy->reg->sh->servers, item->name.data,
                             item->name.len);
    exists = (n != NULL);

    if (n && n->desc && n->desc->len >= sizeof("Discovered from ") - 1
        && ngx_strncmp(n->desc->data, "Discovered from ",
                       sizeof("Discovered from ") - 1) == 0
        && !n->declared)
    {
        ours = 1;
    }

    if (n && ours && n->spec) {
        spec_text.data = ngx_pnalloc(cy->pool, n->spec->len);
        if (spec_text.data) {
            spec_text.len = n->spec->len;
            ngx_memcpy(spec_text.data, n->spec->data, spec_text.len);
        }
    }

    ngx_http_hangar_unlock(cy->reg);

    if (exists && !ours) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, cy->log, 0,
                       "hangar: discovery: \"%V\" is declared: static wins",
                       &item->name);
        return NGX_OK;
    }

    if (item->spec == NULL) {
        return ngx_http_hangar_disc_quarantine(cy, item, "invalid",
                                               &item->invalid);
    }

    rc = ngx_http_hangar_server_check(cy->reg, cy->pool, cy->log,
                                      &item->name, item->spec, &spec, &why);
    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_hangar_disc_quarantine(cy, item, "failed_validation",
                                               &why);
    }

    if (exists) {
        /* ours: the same spec is refreshed, a new one replaces it */
        if (ngx_http_hangar_record(cy->pool, &item->name, spec, &rec)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        same = (rec.spec.len == spec_text.len
                && ngx_strncmp(rec.spec.data, spec_text.data,
                               spec_text.len) == 0);

        if (same) {
            return ngx_http_hangar_disc_track(cy, item);
        }

        return ngx_http_hangar_disc_act(cy, NGX_HTTP_HANGAR_DISC_REPLACE,
                                        &item->name, item, spec);
    }

    /* new: pending unless registered automatically or approved */
    auto_reg = ngx_http_hangar_get(cy->conf, "auto_register");
    v = ngx_http_hangar_get(ngx_http_hangar_get(cy->doc, "approved"),
                            (char *) key);

    if (ngx_http_hangar_is(auto_reg, NGX_HTTP_HANGAR_BOOL) && !auto_reg->u.b
        && !(ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
             && v->u.s.len == NGX_HTTP_HANGAR_DISC_FP
             && ngx_strncmp(v->u.s.data, item->fp, NGX_HTTP_HANGAR_DISC_FP)
                == 0))
    {
        v = ngx_http_hangar_disc_entry(cy, item);

        return (v && ngx_http_hangar_disc_put(cy->pool, cy->pending,
                                              (char *) key, v) == NGX_OK)
               ? NGX_OK : NGX_ERROR;
    }

    rc = ngx_http_hangar_disc_limits(cy, item, &why);
    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_hangar_disc_quarantine(cy, item, "failed_rate_limit",
                                               &why);
    }

    return ngx_http_hangar_disc_act(cy, NGX_HTTP_HANGAR_DISC_CREATE,
                                    &item->name, item, spec);
}


/* the registration rate (per source type, 60 s) and count limits */

static ngx_int_t
ngx_http_hangar_disc_limits(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_item_t *item, ngx_str_t *why)
{
    const char               *type;
    ngx_int_t                 max_rate, max_count;
    ngx_uint_t                i, count;
    ngx_http_hangar_pair_t   *pair;
    ngx_http_hangar_value_t  *sec, *v, *list, *fresh, **t, *src;

    sec = ngx_http_hangar_get(cy->conf, "security");

    v = ngx_http_hangar_get(sec, "max_registration_rate");
    max_rate = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) ? v->u.i : 10;

    v = ngx_http_hangar_get(sec, "max_mcp_servers_per_source");
    max_count = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) ? v->u.i : 100;

    type = ngx_http_hangar_disc_type_name(item->type);

    /* the servers of this source type already registered */
    count = 0;
    pair = cy->tracked->u.obj.elts;

    for (i = 0; i < cy->tracked->u.obj.nelts; i++) {
        src = ngx_http_hangar_get(pair[i].value, "source");

        if (ngx_http_hangar_is(src, NGX_HTTP_HANGAR_STR)
            && src->u.s.len == ngx_strlen(type)
            && ngx_strncmp(src->u.s.data, type, src->u.s.len) == 0)
        {
            count++;
        }
    }

    list = ngx_http_hangar_get(cy->attempts, type);
    fresh = ngx_http_hangar_value_new(cy->pool, NGX_HTTP_HANGAR_ARR);
    if (fresh == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)) {
        t = list->u.arr.elts;

        for (i = 0; i < list->u.arr.nelts; i++) {
            if (ngx_http_hangar_is(t[i], NGX_HTTP_HANGAR_INT)
                && cy->now - (ngx_msec_t) t[i]->u.i < 60000
                && ngx_http_hangar_push(fresh, t[i]) != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    if ((ngx_int_t) fresh->u.arr.nelts >= max_rate) {
        ngx_str_set(why, "more registrations than max_registration_rate "
                         "in the last 60 s");
        return NGX_DECLINED;
    }

    if (fresh->u.arr.nelts < NGX_HTTP_HANGAR_DISC_ATTEMPTS
        && ngx_http_hangar_push(fresh,
                                ngx_http_hangar_value_int(cy->pool,
                                                  (int64_t) cy->now))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_hangar_disc_put(cy->pool, cy->attempts, type, fresh)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if ((ngx_int_t) count >= max_count) {
        ngx_str_set(why, "the source has max_mcp_servers_per_source "
                         "servers already");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * What was tracked and not seen in this cycle: kept (additive sources
 * never remove), removed once its TTL is over (authoritative), forgotten
 * when the server is gone (deleted through the API).
 */

static ngx_int_t
ngx_http_hangar_disc_expire(ngx_http_hangar_disc_cycle_t *cy,
    ngx_array_t *items)
{
    u_char                         *key;
    ngx_str_t                       name;
    ngx_uint_t                      i, k, auth, exists;
    ngx_msec_t                      seen, ttl;
    ngx_http_hangar_pair_t         *pair;
    ngx_http_hangar_value_t        *prev, *v, *src;
    ngx_http_hangar_disc_source_t  *s;

    prev = ngx_http_hangar_get(cy->prev, "tracked");

    if (!ngx_http_hangar_is(prev, NGX_HTTP_HANGAR_OBJ)) {
        return NGX_OK;
    }

    pair = prev->u.obj.elts;

    for (i = 0; i < prev->u.obj.nelts; i++) {
        name = pair[i].key;

        if (ngx_http_hangar_get_n(cy->tracked, name.data, name.len)
            || ngx_http_hangar_get_n(cy->quarantined, name.data, name.len)
            || ngx_http_hangar_get_n(cy->pending, name.data, name.len))
        {
            continue;               /* seen */
        }

        for (k = 0; k < cy->acts.nelts; k++) {
            if (((ngx_http_hangar_disc_act_t *) cy->acts.elts)[k].name.len
                == name.len
                && ngx_strncmp(
                       ((ngx_http_hangar_disc_act_t *) cy->acts.elts)[k]
                       .name.data, name.data, name.len) == 0)
            {
                break;
            }
        }

        if (k < cy->acts.nelts) {
            continue;
        }

        ngx_http_hangar_lock(cy->reg);
        exists = ngx_http_hangar_find(&cy->reg->sh->servers, name.data,
                                      name.len) != NULL;
        ngx_http_hangar_unlock(cy->reg);

        if (!exists) {
            continue;
        }

        /* is its source authoritative, and did it answer? */
        src = ngx_http_hangar_get(pair[i].value, "source");
        auth = 0;
        s = cy->sources->elts;

        for (k = 0; k < cy->sources->nelts; k++) {
            if (ngx_http_hangar_is(src, NGX_HTTP_HANGAR_STR)
                && ngx_http_hangar_disc_type(&src->u.s) == s[k].type)
            {
                auth = s[k].authoritative && s[k].enabled
                       && !(cy->failed & (1 << s[k].type));
            }
        }

        v = ngx_http_hangar_get(pair[i].value, "last_seen");
        seen = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) ? v->u.i : 0;
        v = ngx_http_hangar_get(pair[i].value, "ttl_seconds");
        ttl = 1000 * (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT)
                      ? v->u.i : 90);

        if (auth && cy->now - seen > ttl) {
            if (ngx_http_hangar_disc_act(cy, NGX_HTTP_HANGAR_DISC_DELETE,
                                         &name, NULL, NULL)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            ((ngx_http_hangar_disc_act_t *) cy->acts.elts)
                [cy->acts.nelts - 1].type = ngx_http_hangar_disc_type(&src->u.s);

            continue;
        }

        key = ngx_pnalloc(cy->pool, name.len + 1);
        if (key == NULL) {
            return NGX_ERROR;
        }

        ngx_cpystrn(key, name.data, name.len + 1);

        if (ngx_http_hangar_disc_put(cy->pool, cy->tracked, (char *) key,
                                     pair[i].value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    (void) items;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_disc_act(ngx_http_hangar_disc_cycle_t *cy, ngx_uint_t kind,
    ngx_str_t *name, ngx_http_hangar_disc_item_t *item,
    ngx_http_hangar_value_t *spec)
{
    ngx_http_hangar_disc_act_t  *a;

    a = ngx_array_push(&cy->acts);
    if (a == NULL) {
        return NGX_ERROR;
    }

    a->kind = kind;
    a->type = item ? item->type : 0;
    a->name = *name;
    a->item = item;
    a->spec = spec;
    a->entry = NULL;

    return NGX_OK;
}


/* the changes, one at a time: a health check first for a network one */

static void
ngx_http_hangar_disc_next(ngx_event_t *ev)
{
    u_char                        *p, *last;
    ngx_int_t                      rc;
    ngx_str_t                      url;
    ngx_http_hangar_value_t       *v, *sec;
    ngx_http_hangar_call_t        *call;
    ngx_http_hangar_disc_act_t    *a;
    ngx_http_hangar_disc_cycle_t  *cy;

    cy = ev->data;

    if (ngx_http_hangar_disc_exiting) {
        ngx_http_hangar_disc_end(cy);
        return;
    }

    if (cy->next >= cy->acts.nelts) {
        ngx_http_hangar_disc_publish(cy);
        ngx_http_hangar_disc_end(cy);
        return;
    }

    a = &((ngx_http_hangar_disc_act_t *) cy->acts.elts)[cy->next];

    sec = ngx_http_hangar_get(cy->conf, "security");
    v = ngx_http_hangar_get(sec, "require_health_check");

    if (a->kind != NGX_HTTP_HANGAR_DISC_DELETE && a->item
        && a->item->health.len && cy->check == NULL && a->entry == NULL
        && !(ngx_http_hangar_is(v, NGX_HTTP_HANGAR_BOOL) && !v->u.b))
    {
        /* http://host:port/path */
        url = a->item->health;
        p = url.data + sizeof("http://") - 1;
        last = url.data + url.len;

        call = ngx_http_hangar_call_create(cy->log);
        if (call == NULL) {
            goto next;
        }

        call->target.data = p;
        while (p < last && *p != '/') {
            p++;
        }
        call->target.len = p - call->target.data;
        call->host = call->target;
        call->uri.data = p;
        call->uri.len = last - p;
        call->method = "GET";

        v = ngx_http_hangar_get(sec, "health_check_timeout_s");
        call->connect_timeout = (ngx_msec_t)
            (1000 * (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) ? v->u.i
                     : ngx_http_hangar_is(v, NGX_HTTP_HANGAR_NUM) ? v->u.n
                     : 5));
        call->read_timeout = call->connect_timeout;
        call->handler = ngx_http_hangar_disc_checked;
        call->data = cy;
        call->guard = 1;
        call->remote_allow = ngx_http_hangar_runtime_allow(cy->pool,
                                 cy->reg->hmcf->remote_allow, a->spec);
        call->background = 1;

        cy->check = call;
        ngx_http_hangar_disc_inflight = call;
        a->entry = ngx_http_hangar_disc_entry(cy, a->item);

        if (ngx_http_hangar_call_start(call) != NGX_OK) {
            /* the handler has run or will run */
        }

        return;
    }

    rc = ngx_http_hangar_server_change(cy->reg, cy->pool, cy->log, &a->name,
                                       a->spec,
                                       a->kind == NGX_HTTP_HANGAR_DISC_REPLACE,
                                       ngx_http_hangar_disc_changed, cy);
    if (rc == NGX_AGAIN) {
        return;
    }

    /* done() has run */
    return;

next:

    cy->next++;
    ngx_post_event(&cy->resume, &ngx_posted_events);
}


static void
ngx_http_hangar_disc_checked(ngx_http_hangar_call_t *call)
{
    u_char                        *p;
    ngx_str_t                      why;
    ngx_http_hangar_disc_act_t    *a;
    ngx_http_hangar_disc_cycle_t  *cy;

    cy = call->data;
    cy->check = NULL;
    ngx_http_hangar_disc_inflight = NULL;

    a = &((ngx_http_hangar_disc_act_t *) cy->acts.elts)[cy->next];

    if (call->rc == NGX_OK && call->status == 200) {
        ngx_http_hangar_call_destroy(call);
        /* a->entry is set: the change goes ahead */
        ngx_post_event(&cy->resume, &ngx_posted_events);
        return;
    }

    p = ngx_pnalloc(cy->pool, 256 + call->error.len);
    if (p) {
        why.data = p;
        why.len = (call->rc == NGX_OK)
                  ? ngx_sprintf(p, "GET %V answered %ui", &a->item->health,
                                call->status) - p
                  : ngx_sprintf(p, "GET %V failed: %V", &a->item->health,
                                &call->error) - p;
    } else {
        ngx_str_set(&why, "the health check failed");
    }

    ngx_http_hangar_call_destroy(call);

    (void) ngx_http_hangar_disc_quarantine(cy, a->item, "failed_health",
                                           &why);
    cy->next++;
    ngx_post_event(&cy->resume, &ngx_posted_events);
}


static void
ngx_http_hangar_disc_changed(void *data, ngx_int_t rc)
{
    ngx_http_hangar_disc_cycle_t  *cy = data;

    const char                  *type;
    ngx_http_hangar_disc_act_t  *a;

    a = &((ngx_http_hangar_disc_act_t *) cy->acts.elts)[cy->next];
    type = a->item ? ngx_http_hangar_disc_type_name(a->item->type) : "";

    switch (a->kind) {

    case NGX_HTTP_HANGAR_DISC_CREATE:
    case NGX_HTTP_HANGAR_DISC_REPLACE:
        if (rc != NGX_OK) {
            ngx_log_error(NGX_LOG_WARN, cy->log, 0,
                          "hangar: discovery: \"%V\" of %s was not %s, "
                          "tried again in the next cycle", &a->name, type,
                          a->kind ? "updated" : "registered");
            break;
        }

        ngx_atomic_fetch_add(
            &ngx_http_hangar_disc_sh(cy->reg)->registered[a->item->type], 1);

        if (a->kind == NGX_HTTP_HANGAR_DISC_CREATE) {
            cy->registered++;
            ngx_log_error(NGX_LOG_NOTICE, cy->log, 0,
                          "hangar: discovery: registered \"%V\" from %s",
                          &a->name, type);
            ngx_http_hangar_event(cy->reg, "McpServerDiscovered",
                                  a->name.data, a->name.len,
                                  "{\"source_type\":\"%s\","
                                  "\"fingerprint\":\"%s\"}",
                                  type, a->item->fp);
        } else {
            cy->updated++;
            ngx_log_error(NGX_LOG_NOTICE, cy->log, 0,
                          "hangar: discovery: \"%V\" changed in %s, "
                          "updated", &a->name, type);
            ngx_http_hangar_event(cy->reg, "McpServerDiscoveryConfigChanged",
                                  a->name.data, a->name.len,
                                  "{\"source_type\":\"%s\","
                                  "\"fingerprint\":\"%s\"}",
                                  type, a->item->fp);
        }

        (void) ngx_http_hangar_disc_track(cy, a->item);
        break;

    default: /* NGX_HTTP_HANGAR_DISC_DELETE */
        if (rc == NGX_OK) {
            cy->removed++;
        }

        ngx_log_error(NGX_LOG_NOTICE, cy->log, 0,
                      "hangar: discovery: \"%V\" is gone from its "
                      "authoritative source for longer than its TTL, %s",
                      &a->name, rc == NGX_OK ? "removed" : "not removed");

        if (rc == NGX_OK) {
            if (a->type) {
                ngx_atomic_fetch_add(
                    &ngx_http_hangar_disc_sh(cy->reg)->deregistered[a->type],
                    1);
            }

            ngx_http_hangar_event(cy->reg, "McpServerDiscoveryLost",
                                  a->name.data, a->name.len,
                                  "{\"reason\":\"ttl_expired\"}");
        }

        break;
    }

    cy->next++;
    ngx_post_event(&cy->resume, &ngx_posted_events);
}


static ngx_int_t
ngx_http_hangar_disc_quarantine(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_item_t *item, const char *reason, ngx_str_t *detail)
{
    u_char                   *key, *p;
    ngx_str_t                 text;
    ngx_http_hangar_value_t  *q, *old, *v, *sec;

    key = ngx_pnalloc(cy->pool, item->name.len + 1);
    if (key == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(key, item->name.data, item->name.len + 1);

    sec = ngx_http_hangar_get(cy->conf, "security");
    v = ngx_http_hangar_get(sec, "quarantine_on_failure");

    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_BOOL) && !v->u.b) {
        ngx_log_error(NGX_LOG_WARN, cy->log, 0,
                      "hangar: discovery: \"%V\" of %s left out (%s): %V",
                      &item->name, ngx_http_hangar_disc_type_name(item->type),
                      reason, detail);
        return NGX_OK;
    }

    old = ngx_http_hangar_get(ngx_http_hangar_get(cy->prev, "quarantined"),
                              (char *) key);

    p = ngx_pnalloc(cy->pool, ngx_strlen(reason) + 2 + detail->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    text.data = p;
    text.len = ngx_sprintf(p, "%s: %V", reason, detail) - p;

    q = ngx_http_hangar_value_new(cy->pool, NGX_HTTP_HANGAR_OBJ);
    v = ngx_http_hangar_disc_entry(cy, item);

    if (q == NULL || v == NULL
        || ngx_http_hangar_disc_put(cy->pool, q, "mcp_server", v) != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, q, "reason",
               ngx_http_hangar_value_str(cy->pool, text.data, text.len))
           != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, q, "quarantine_time",
               old ? ngx_http_hangar_get(old, "quarantine_time")
                   : ngx_http_hangar_disc_iso(cy->pool, cy->now))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (old == NULL) {
        ngx_atomic_fetch_add(
            &ngx_http_hangar_disc_sh(cy->reg)->quarantined[item->type], 1);
        ngx_log_error(NGX_LOG_WARN, cy->log, 0,
                      "hangar: discovery: \"%V\" of %s quarantined: %V",
                      &item->name, ngx_http_hangar_disc_type_name(item->type),
                      &text);
        ngx_http_hangar_event(cy->reg, "McpServerQuarantined",
                              item->name.data, item->name.len,
                              "{\"source_type\":\"%s\",\"reason\":\"%s\"}",
                              ngx_http_hangar_disc_type_name(item->type),
                              reason);
    }

    return ngx_http_hangar_disc_put(cy->pool, cy->quarantined, (char *) key,
                                    q);
}


/* the discovered-server object of §5.3, plus its spec (for approve) */

static ngx_http_hangar_value_t *
ngx_http_hangar_disc_entry(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_item_t *item)
{
    u_char                   *key;
    ngx_http_hangar_value_t  *e, *old, *at, *v;

    key = ngx_pnalloc(cy->pool, item->name.len + 1);
    e = ngx_http_hangar_value_new(cy->pool, NGX_HTTP_HANGAR_OBJ);
    if (key == NULL || e == NULL) {
        return NULL;
    }

    ngx_cpystrn(key, item->name.data, item->name.len + 1);

    /* when it was first seen, by whichever set had it */
    old = ngx_http_hangar_get(ngx_http_hangar_get(cy->prev, "tracked"),
                              (char *) key);
    if (old == NULL) {
        old = ngx_http_hangar_get(ngx_http_hangar_get(cy->prev, "pending"),
                                  (char *) key);
    }
    if (old == NULL) {
        old = ngx_http_hangar_get(
                  ngx_http_hangar_get(ngx_http_hangar_get(cy->prev,
                                                          "quarantined"),
                                      (char *) key),
                  "mcp_server");
    }

    at = ngx_http_hangar_get(old, "discovered_at");
    v = ngx_http_hangar_value_new(cy->pool, NGX_HTTP_HANGAR_BOOL);
    if (v == NULL) {
        return NULL;
    }
    v->u.b = 0;

    if (ngx_http_hangar_disc_put(cy->pool, e, "name",
            ngx_http_hangar_value_str(cy->pool, item->name.data,
                                      item->name.len)) != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, e, "source_type",
               ngx_http_hangar_disc_str(cy->pool,
                   ngx_http_hangar_disc_type_name(item->type))) != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, e, "mode",
               ngx_http_hangar_value_str(cy->pool, item->mode.data,
                                         item->mode.len)) != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, e, "connection_info",
                                    item->conn) != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, e, "metadata", item->meta)
           != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, e, "fingerprint",
               ngx_http_hangar_value_str(cy->pool, item->fp,
                                         NGX_HTTP_HANGAR_DISC_FP)) != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, e, "discovered_at",
               at ? at : ngx_http_hangar_disc_iso(cy->pool, cy->now))
           != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, e, "last_seen_at",
               ngx_http_hangar_disc_iso(cy->pool, cy->now)) != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, e, "ttl_seconds",
               ngx_http_hangar_value_int(cy->pool, item->ttl)) != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, e, "is_expired", v) != NGX_OK
        || (item->spec
            && ngx_http_hangar_disc_put(cy->pool, e, "spec", item->spec)
               != NGX_OK))
    {
        return NULL;
    }

    return e;
}


/* a registered server of this source, seen now */

static ngx_int_t
ngx_http_hangar_disc_track(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_item_t *item)
{
    u_char                   *key;
    ngx_http_hangar_value_t  *e;

    key = ngx_pnalloc(cy->pool, item->name.len + 1);
    e = ngx_http_hangar_disc_entry(cy, item);
    if (key == NULL || e == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(key, item->name.data, item->name.len + 1);

    if (ngx_http_hangar_disc_put(cy->pool, e, "source",
            ngx_http_hangar_disc_str(cy->pool,
                ngx_http_hangar_disc_type_name(item->type))) != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, e, "last_seen",
               ngx_http_hangar_value_int(cy->pool, (int64_t) cy->now))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_hangar_disc_put(cy->pool, cy->tracked, (char *) key, e);
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

    set[0] = cy->pending;
    set[1] = cy->quarantined;

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
        || ngx_http_hangar_disc_put(cy->pool, view, "tracked", cy->tracked)
           != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, view, "pending", cy->pending)
           != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, view, "quarantined",
                                    cy->quarantined) != NGX_OK
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
                          cy->removed, cy->quarantined->u.obj.nelts,
                          cy->pending->u.obj.nelts);
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
