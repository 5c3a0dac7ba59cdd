
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * A discovery cycle's changes made: first the health check of each new
 * or changed network server (one at a time, on the event loop; a failed
 * one is quarantined), then the registrations, replacements and removals
 * in batches of NGX_HTTP_HANGAR_BATCH_MAX, each batch one state lock
 * section and one state file write through the API's durable path.  A
 * change the batch cannot make (a declared server's name) goes alone.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_discovery_apply.h"
#include "ngx_http_hangar_server_batch.h"
#include "ngx_http_hangar_guard.h"


static ngx_int_t ngx_http_hangar_disc_check(ngx_http_hangar_disc_cycle_t *cy);
static void ngx_http_hangar_disc_checked(ngx_http_hangar_call_t *call);
static ngx_int_t ngx_http_hangar_disc_batch(ngx_http_hangar_disc_cycle_t *cy);
static void ngx_http_hangar_disc_batched(void *data, ngx_array_t *entries);
static void ngx_http_hangar_disc_changed(void *data, ngx_int_t rc);
static void ngx_http_hangar_disc_result(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_act_t *a, ngx_int_t rc);


void
ngx_http_hangar_disc_apply(ngx_event_t *ev)
{
    ngx_int_t                      rc;
    ngx_http_hangar_disc_act_t    *a;
    ngx_http_hangar_disc_cycle_t  *cy;

    cy = ev->data;

    if (cy->exiting) {
        cy->finish(cy);
        return;
    }

    /* the health checks first */
    while (cy->checking < cy->acts.nelts) {
        rc = ngx_http_hangar_disc_check(cy);

        if (rc == NGX_AGAIN) {
            return;
        }

        cy->checking++;
    }

    a = cy->acts.elts;

    while (cy->next < cy->acts.nelts
           && (a[cy->next].done || a[cy->next].failed))
    {
        cy->next++;
    }

    if (cy->next >= cy->acts.nelts) {
        cy->finish(cy);
        return;
    }

    if (!a[cy->next].single) {
        if (ngx_http_hangar_disc_batch(cy) != NGX_OK) {
            cy->finish(cy);
        }

        return;
    }

    /* alone, through the single path */
    rc = ngx_http_hangar_server_change(cy->reg, cy->pool, cy->log,
                                       &a[cy->next].name, a[cy->next].spec,
                                       a[cy->next].kind
                                       == NGX_HTTP_HANGAR_DISC_REPLACE,
                                       ngx_http_hangar_disc_changed, cy);
    (void) rc;                      /* done() has run or will run */
}


/* the health check of act cy->checking: NGX_AGAIN while it runs */

static ngx_int_t
ngx_http_hangar_disc_check(ngx_http_hangar_disc_cycle_t *cy)
{
    u_char                      *p, *last;
    ngx_str_t                    url;
    ngx_http_hangar_value_t     *v, *sec;
    ngx_http_hangar_call_t      *call;
    ngx_http_hangar_disc_act_t  *a;

    a = &((ngx_http_hangar_disc_act_t *) cy->acts.elts)[cy->checking];

    sec = ngx_http_hangar_get(cy->conf, "security");
    v = ngx_http_hangar_get(sec, "require_health_check");

    if (a->kind == NGX_HTTP_HANGAR_DISC_DELETE || a->item == NULL
        || a->item->health.len == 0 || a->checked || a->failed
        || (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_BOOL) && !v->u.b))
    {
        return NGX_OK;
    }

    /* http://host:port/path */
    url = a->item->health;
    p = url.data + sizeof("http://") - 1;
    last = url.data + url.len;

    call = ngx_http_hangar_call_create(cy->log);
    if (call == NULL) {
        return NGX_OK;
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

    return NGX_AGAIN;
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

    a = &((ngx_http_hangar_disc_act_t *) cy->acts.elts)[cy->checking];
    cy->checking++;

    if (call->rc == NGX_OK && call->status == 200) {
        ngx_http_hangar_call_destroy(call);
        a->checked = 1;
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

    a->failed = 1;
    (void) ngx_http_hangar_disc_quarantine(cy, a->item, "failed_health",
                                           &why);
    ngx_post_event(&cy->resume, &ngx_posted_events);
}


/* the next acts that go in a batch, from cy->next */

static ngx_int_t
ngx_http_hangar_disc_batch(ngx_http_hangar_disc_cycle_t *cy)
{
    ngx_uint_t                      i;
    ngx_array_t                    *entries;
    ngx_http_hangar_disc_act_t     *a;
    ngx_http_hangar_batch_entry_t  *e;

    entries = ngx_array_create(cy->pool, NGX_HTTP_HANGAR_BATCH_MAX,
                               sizeof(ngx_http_hangar_batch_entry_t));
    if (entries == NULL) {
        return NGX_ERROR;
    }

    a = cy->acts.elts;

    for (i = cy->next;
         i < cy->acts.nelts && entries->nelts < NGX_HTTP_HANGAR_BATCH_MAX;
         i++)
    {
        if (a[i].done || a[i].failed || a[i].single) {
            continue;
        }

        e = ngx_array_push(entries);
        if (e == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(e, sizeof(ngx_http_hangar_batch_entry_t));
        e->id = a[i].name;
        e->spec = (a[i].kind == NGX_HTTP_HANGAR_DISC_DELETE) ? NULL
                                                             : a[i].spec;
        e->replace = (a[i].kind == NGX_HTTP_HANGAR_DISC_REPLACE);
        e->data = &a[i];
    }

    cy->writes++;

    ngx_http_hangar_server_batch(cy->reg, cy->pool, cy->log, entries,
                                 ngx_http_hangar_disc_batched, cy);

    return NGX_OK;
}


static void
ngx_http_hangar_disc_batched(void *data, ngx_array_t *entries)
{
    ngx_http_hangar_disc_cycle_t  *cy = data;

    ngx_uint_t                      i;
    ngx_http_hangar_disc_act_t     *a;
    ngx_http_hangar_batch_entry_t  *e;

    e = entries->elts;

    for (i = 0; i < entries->nelts; i++) {
        a = e[i].data;

        if (e[i].rc == NGX_BUSY) {
            a->single = 1;
            continue;
        }

        if (e[i].rc == NGX_OK && e[i].spec && a->item) {
            a->item->spec_crc = (ngx_crc32_long(e[i].rec.spec.data,
                                                e[i].rec.spec.len)
                                 ^ cy->edge) | 1;
        }

        ngx_http_hangar_disc_result(cy, a, e[i].rc);
    }

    ngx_post_event(&cy->resume, &ngx_posted_events);
}


static void
ngx_http_hangar_disc_changed(void *data, ngx_int_t rc)
{
    ngx_http_hangar_disc_cycle_t  *cy = data;

    ngx_http_hangar_disc_result(cy,
        &((ngx_http_hangar_disc_act_t *) cy->acts.elts)[cy->next], rc);

    ngx_post_event(&cy->resume, &ngx_posted_events);
}


/* one change made (rc NGX_OK) or not: counted, logged, its event */

static void
ngx_http_hangar_disc_result(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_act_t *a, ngx_int_t rc)
{
    const char  *type;

    a->done = 1;
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
}
