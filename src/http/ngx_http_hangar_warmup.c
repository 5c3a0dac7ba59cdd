
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Warm-ups for the front door: a server never started has no catalog, so
 * it is started once for it (and stops again when idle), a few at a time;
 * the first tools/list waits for them, on a timer, for a bound, so that
 * it is complete and its names do not change a moment later.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_warmup.h"
#include "ngx_http_hangar_job.h"


static ngx_uint_t ngx_http_hangar_warm_gate(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_node_t *node, ngx_uint_t *inflight);
static ngx_uint_t ngx_http_hangar_warmup_awaited(ngx_http_hangar_req_t *hr);
static void ngx_http_hangar_warmup_waited(ngx_event_t *ev);
static void ngx_http_hangar_warmup_wait_done(void *data);
static void ngx_http_hangar_warmup_left_out(ngx_http_hangar_req_t *hr);


/*
 * Servers never started are warmed (started once for their catalog) at
 * most this many at a time: one front-door call must not spawn the whole
 * fleet at once.  The others follow as these finish.
 */
#define NGX_HTTP_HANGAR_WARM_MAX  4

/* this worker saw servers waiting for a warm-up slot */
static ngx_uint_t  ngx_http_hangar_warm_pending;


/*
 * This worker found no server to wait for at this registry generation
 * (+ 1): a server new to the fleet changes the generation, so lists do
 * not look at the fleet again until it does.
 */
static ngx_atomic_uint_t  ngx_http_hangar_warmup_complete;


/* how often a waiting tools/list looks at the fleet again */
#define NGX_HTTP_HANGAR_WAIT_TICK  50


/* a tools/list waiting for servers whose catalog is not known yet */
typedef struct {
    ngx_http_hangar_req_t       *hr;
    ngx_http_hangar_warmup_pt    done;
    ngx_event_t                  ev;
    ngx_msec_t                   deadline;
} ngx_http_hangar_warmup_wait_t;


ngx_uint_t
ngx_http_hangar_warmup_begin(ngx_http_hangar_req_t *hr)
{
    ngx_http_hangar_warm_pending = 0;

    return ngx_http_hangar_warm_gate(hr, NULL, NULL);
}


void
ngx_http_hangar_warmup_node(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_node_t *node, ngx_uint_t *inflight)
{
    (void) ngx_http_hangar_warm_gate(hr, node, inflight);
}


/* the warm-ups still waiting for a slot, once some have finished */

void
ngx_http_hangar_warmup_more(ngx_http_hangar_req_t *hr)
{
    ngx_uint_t               inflight;
    ngx_queue_t             *q;
    ngx_http_hangar_node_t  *node;

    if (!ngx_http_hangar_warm_pending) {
        return;
    }

    ngx_http_hangar_lock(hr->reg);

    inflight = ngx_http_hangar_warmup_begin(hr);

    for (q = ngx_queue_head(&hr->reg->sh->servers.queue);
         q != ngx_queue_sentinel(&hr->reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        if (node->tools == NULL) {
            (void) ngx_http_hangar_warm_gate(hr, node, &inflight);
        }
    }

    ngx_http_hangar_unlock(hr->reg);
}


/*
 * With the slab mutex held.  Without a node: the number of warm-ups in
 * flight in the fleet (started for their catalog, not there yet).  With
 * one: it is warmed if a slot is free, else noted as pending.
 */

static ngx_uint_t
ngx_http_hangar_warm_gate(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_node_t *node, ngx_uint_t *inflight)
{
    ngx_uint_t    n, was;
    ngx_queue_t  *q;

    if (node == NULL) {
        n = 0;

        for (q = ngx_queue_head(&hr->reg->sh->servers.queue);
             q != ngx_queue_sentinel(&hr->reg->sh->servers.queue);
             q = ngx_queue_next(q))
        {
            node = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

            n += (node->warmed && node->tools == NULL
                  && node->state == NGX_HTTP_HANGAR_INITIALIZING);
        }

        return n;
    }

    if (node->warmed || node->state != NGX_HTTP_HANGAR_COLD) {
        return 0;
    }

    if (*inflight >= NGX_HTTP_HANGAR_WARM_MAX) {
        ngx_http_hangar_warm_pending = 1;
        return 0;
    }

    was = node->warmed;

    ngx_http_hangar_warm(hr->reg, node, hr->r->connection->log);

    if (!was && node->warmed) {
        (*inflight)++;
    }

    return 0;
}


ngx_int_t
ngx_http_hangar_warmup_wait(ngx_http_hangar_req_t *hr, ngx_msec_t bound,
    ngx_http_hangar_warmup_pt done)
{
    ngx_atomic_uint_t                gen;
    ngx_pool_cleanup_t              *cln;
    ngx_http_hangar_warmup_wait_t   *w;

    gen = hr->reg->sh->generation;

    if (bound == 0 || ngx_http_hangar_warmup_complete == gen + 1) {
        return NGX_OK;
    }

    if (ngx_http_hangar_warmup_awaited(hr) == 0) {
        ngx_http_hangar_warmup_complete = gen + 1;
        return NGX_OK;
    }

    w = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_warmup_wait_t));
    cln = ngx_pool_cleanup_add(hr->r->pool, 0);
    if (w == NULL || cln == NULL) {
        return NGX_OK;
    }

    w->hr = hr;
    w->done = done;
    w->deadline = ngx_current_msec + bound;
    w->ev.handler = ngx_http_hangar_warmup_waited;
    w->ev.data = w;
    w->ev.log = hr->r->connection->log;

    cln->handler = ngx_http_hangar_warmup_wait_done;
    cln->data = w;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, hr->r->connection->log, 0,
                   "hangar: tools/list waits up to %M ms for servers to "
                   "warm", bound);

    ngx_add_timer(&w->ev, ngx_min(bound, NGX_HTTP_HANGAR_WAIT_TICK));

    return NGX_AGAIN;
}


static void
ngx_http_hangar_warmup_waited(ngx_event_t *ev)
{
    ngx_http_hangar_warmup_wait_t   *w = ev->data;

    ngx_msec_int_t  left;

    left = (ngx_msec_int_t) (w->deadline - ngx_current_msec);

    if (left > 0 && ngx_http_hangar_warmup_awaited(w->hr)) {
        ngx_add_timer(ev, ngx_min(left, NGX_HTTP_HANGAR_WAIT_TICK));
        return;
    }

    ngx_http_hangar_warmup_left_out(w->hr);

    w->done(w->hr);
}


static void
ngx_http_hangar_warmup_wait_done(void *data)
{
    ngx_http_hangar_warmup_wait_t   *w = data;

    if (w->ev.timer_set) {
        ngx_del_timer(&w->ev);
    }
}


/*
 * The servers the list waits for (warmed now if a slot is free): those
 * whose catalog is not known and whose first start is still to come or
 * under way.  One that failed to start, is blocked, or was warmed and
 * went cold again is not waited for.
 */

static ngx_uint_t
ngx_http_hangar_warmup_awaited(ngx_http_hangar_req_t *hr)
{
    ngx_uint_t               n, inflight;
    ngx_queue_t             *q;
    ngx_http_hangar_node_t  *node;

    n = 0;

    ngx_http_hangar_lock(hr->reg);

    inflight = ngx_http_hangar_warmup_begin(hr);

    for (q = ngx_queue_head(&hr->reg->sh->servers.queue);
         q != ngx_queue_sentinel(&hr->reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        if (node->tools || node->mode == NGX_HTTP_HANGAR_MODE_GROUP
            || node->blocked || node->consecutive_failures)
        {
            continue;
        }

        if (node->state == NGX_HTTP_HANGAR_COLD) {
            if (node->warmed) {
                continue;
            }

            (void) ngx_http_hangar_warm_gate(hr, node, &inflight);

        } else if (node->state != NGX_HTTP_HANGAR_INITIALIZING) {
            continue;
        }

        n++;
    }

    ngx_http_hangar_unlock(hr->reg);

    return n;
}


/* after a wait: the servers the list is answered without, logged */

static void
ngx_http_hangar_warmup_left_out(ngx_http_hangar_req_t *hr)
{
    ngx_str_t               *id;
    ngx_uint_t               i;
    ngx_queue_t             *q;
    ngx_array_t             *ids;
    ngx_http_hangar_node_t  *node;

    ids = ngx_array_create(hr->r->pool, 4, sizeof(ngx_str_t));
    if (ids == NULL) {
        return;
    }

    ngx_http_hangar_lock(hr->reg);

    for (q = ngx_queue_head(&hr->reg->sh->servers.queue);
         q != ngx_queue_sentinel(&hr->reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        if (node->tools || node->mode == NGX_HTTP_HANGAR_MODE_GROUP) {
            continue;
        }

        id = ngx_array_push(ids);
        if (id == NULL) {
            break;
        }

        id->len = node->id_len;
        id->data = ngx_pnalloc(hr->r->pool, node->id_len);
        if (id->data == NULL) {
            ids->nelts--;
            break;
        }

        ngx_memcpy(id->data, node->id, node->id_len);
    }

    ngx_http_hangar_unlock(hr->reg);

    id = ids->elts;

    for (i = 0; i < ids->nelts; i++) {
        ngx_log_error(NGX_LOG_WARN, hr->r->connection->log, 0,
                      "hangar: tools/list leaves out \"%V\": it has not "
                      "started (yet); its tools come with "
                      "notifications/tools/list_changed", &id[i]);
    }
}
