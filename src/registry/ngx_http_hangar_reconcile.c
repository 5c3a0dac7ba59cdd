
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The reconcile: at start and at every reload, the registry is made to
 * hold exactly the declared fleet (hangar.yaml with the state file over
 * it), all or nothing.  It sits above the registry and the durable state,
 * calling both.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_reconcile.h"
#include "ngx_http_hangar_state.h"
#include "ngx_http_hangar_group_store.h"


/* one reconcile: everything is allocated first, then linked in at once */
typedef struct {
    ngx_http_hangar_registry_t  *reg;
    ngx_http_hangar_main_conf_t *hmcf;
    ngx_http_hangar_decl_t      *decls;
    ngx_uint_t                   ndecls;
    ngx_http_hangar_record_t    *recs;
    ngx_http_hangar_prep_t      *preps;
    ngx_http_hangar_node_t     **nodes;     /* found at prepare, or NULL */
    ngx_uint_t                  *update;    /* the record is (re)linked */
    ngx_http_hangar_blob_t     **catalogs;
    ngx_http_hangar_adopt_t      lists;     /* of the state file */
    ngx_array_t                 *stale;     /* ngx_http_hangar_stale_t */
    ngx_http_hangar_group_plan_t  groups;   /* the groups' own records */
} ngx_http_hangar_reconcile_t;


static ngx_uint_t ngx_http_hangar_listed(ngx_http_hangar_value_t *list,
    ngx_str_t *id);
static ngx_uint_t ngx_http_hangar_declared(ngx_http_hangar_main_conf_t *hmcf,
    ngx_http_hangar_node_t *node, ngx_uint_t group);
static ngx_int_t ngx_http_hangar_reconcile_prepare(
    ngx_http_hangar_reconcile_t *ctx);
static void ngx_http_hangar_reconcile_discard(ngx_http_hangar_reconcile_t *ctx);
static void ngx_http_hangar_reconcile_remove(ngx_http_hangar_reconcile_t *ctx);
static void ngx_http_hangar_reconcile_commit(ngx_http_hangar_reconcile_t *ctx);
static void ngx_http_hangar_reconcile_stale(ngx_http_hangar_reconcile_t *ctx,
    ngx_http_hangar_node_t *node, ngx_uint_t removed);


static ngx_uint_t
ngx_http_hangar_listed(ngx_http_hangar_value_t *list, ngx_str_t *id)
{
    ngx_uint_t                 i;
    ngx_http_hangar_value_t  **items;

    if (!ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)) {
        return 0;
    }

    items = list->u.arr.elts;

    for (i = 0; i < list->u.arr.nelts; i++) {
        if (items[i]->type == NGX_HTTP_HANGAR_STR
            && ngx_memn2cmp(items[i]->u.s.data, id->data, items[i]->u.s.len,
                            id->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static ngx_uint_t
ngx_http_hangar_declared(ngx_http_hangar_main_conf_t *hmcf,
    ngx_http_hangar_node_t *node, ngx_uint_t group)
{
    ngx_uint_t               i;
    ngx_http_hangar_decl_t  *d;

    d = hmcf->decls.elts;

    for (i = 0; i < hmcf->decls.nelts; i++) {
        if (d[i].group == group
            && ngx_memn2cmp(d[i].id.data, node->id, d[i].id.len,
                            node->id_len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * Makes the registry hold exactly the declared fleet (hangar.yaml with the
 * state file over it), all or nothing: every record and blob the change
 * needs is allocated first (prepare), and only when all of it fits is it
 * linked in (commit, which cannot fail).  A full zone leaves the registry
 * as it was.  Unchanged records keep their runtime state; this is what
 * lets servers survive a reload.  Running servers that are removed or
 * changed are listed in stale for the caller to stop: a removed record
 * is gone from the registry, so no one else would.
 *
 * The caller holds the state lock, so no API change runs meanwhile.
 */

ngx_int_t
ngx_http_hangar_reconcile(ngx_http_hangar_registry_t *reg, ngx_pool_t *pool,
    ngx_log_t *log, ngx_array_t *stale)
{
    ngx_uint_t                   i, n;
    ngx_http_hangar_reconcile_t  ctx;

    ngx_memzero(&ctx, sizeof(ngx_http_hangar_reconcile_t));

    for (i = 0; i < 3; i++) {
        ngx_queue_init(&ctx.lists.fresh[i]);
    }

    ctx.reg = reg;
    ctx.hmcf = reg->hmcf;

    /* the groups the API changed, kept in the state file, over the YAML */
    if (ngx_http_hangar_group_overlay(pool, ctx.hmcf, log) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx.decls = ctx.hmcf->decls.elts;
    ctx.ndecls = n = ctx.hmcf->decls.nelts;
    ctx.stale = stale;

    ctx.recs = ngx_pcalloc(pool, n * sizeof(ngx_http_hangar_record_t) + 1);
    ctx.preps = ngx_pcalloc(pool, n * sizeof(ngx_http_hangar_prep_t) + 1);
    ctx.nodes = ngx_pcalloc(pool, n * sizeof(ngx_http_hangar_node_t *) + 1);
    ctx.update = ngx_pcalloc(pool, n * sizeof(ngx_uint_t) + 1);
    ctx.catalogs = ngx_pcalloc(pool, n * sizeof(ngx_http_hangar_blob_t *) + 1);

    /* every stale record is in the servers tree, which no one else changes */
    if (ctx.recs == NULL || ctx.preps == NULL || ctx.nodes == NULL
        || ctx.update == NULL || ctx.catalogs == NULL
        || ngx_array_init(stale, pool, reg->sh->servers.count + 1,
                          sizeof(ngx_http_hangar_stale_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* JSON is rendered and read here, before the slab mutex is taken */

    if (ngx_http_hangar_group_plan(pool, ctx.hmcf, &ctx.groups) != NGX_OK) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_hangar_record(pool, &ctx.decls[i].id, ctx.decls[i].spec,
                                   &ctx.recs[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    ngx_http_hangar_lock(reg);

    if (ngx_http_hangar_reconcile_prepare(&ctx) != NGX_OK) {
        ngx_http_hangar_reconcile_discard(&ctx);
        ngx_http_hangar_unlock(reg);

        ngx_http_hangar_zone_full(reg, log);

        return NGX_DECLINED;
    }

    ngx_http_hangar_reconcile_remove(&ctx);
    ngx_http_hangar_reconcile_commit(&ctx);

    ngx_http_hangar_unlock(reg);

    return NGX_OK;
}


/* with the slab mutex held: everything the change needs, or nothing */

static ngx_int_t
ngx_http_hangar_reconcile_prepare(ngx_http_hangar_reconcile_t *ctx)
{
    ngx_uint_t                    i;
    ngx_http_hangar_tree_t       *tree;
    ngx_http_hangar_node_t       *node;
    ngx_http_hangar_blob_t       *tools;
    ngx_http_hangar_decl_t       *d;
    ngx_http_hangar_record_t     *rec;
    ngx_http_hangar_registry_t   *reg;

    reg = ctx->reg;

    for (i = 0; i < ctx->ndecls; i++) {
        d = &ctx->decls[i];
        rec = &ctx->recs[i];
        tree = d->group ? &reg->sh->groups : &reg->sh->servers;

        node = ngx_http_hangar_find(tree, d->id.data, d->id.len);
        ctx->nodes[i] = node;

        ctx->update[i] = (node == NULL
                         || node->spec->len != rec->spec.len
                         || ngx_memcmp(node->spec->data, rec->spec.data,
                                       rec->spec.len) != 0);

        if (ctx->update[i]
            && ngx_http_hangar_prepare(reg, rec, node == NULL, &ctx->preps[i])
               != NGX_OK)
        {
            return NGX_DECLINED;
        }

        /* the tools the record has once committed (see commit()) */
        tools = node ? node->tools : NULL;

        if (ctx->update[i]
            && (node == NULL || node->tools_predefined || ctx->preps[i].tools))
        {
            tools = ctx->preps[i].tools;
        }

        /* a catalog cached on disk, for a server not started since */
        if (tools == NULL && d->catalog.len) {
            ctx->catalogs[i] = ngx_http_hangar_blob(reg, d->catalog.data,
                                                   d->catalog.len);
            if (ctx->catalogs[i] == NULL) {
                return NGX_DECLINED;
            }
        }
    }

    if (ngx_http_hangar_state_adopt_prepare(reg, &ctx->lists) != NGX_OK
        || ngx_http_hangar_group_plan_prepare(reg, &ctx->groups) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static void
ngx_http_hangar_reconcile_discard(ngx_http_hangar_reconcile_t *ctx)
{
    ngx_uint_t  i;

    for (i = 0; i < ctx->ndecls; i++) {
        ngx_http_hangar_discard(ctx->reg, &ctx->preps[i]);
        ngx_http_hangar_blob_free(ctx->reg, ctx->catalogs[i]);
    }

    ngx_http_hangar_state_adopt_discard(ctx->reg, &ctx->lists);
    ngx_http_hangar_group_plan_discard(ctx->reg, &ctx->groups);
}


/* with the slab mutex held: the records no longer declared go */

static void
ngx_http_hangar_reconcile_remove(ngx_http_hangar_reconcile_t *ctx)
{
    ngx_uint_t               g;
    ngx_queue_t             *q, *next;
    ngx_http_hangar_tree_t  *tree;
    ngx_http_hangar_node_t  *node;

    for (g = 0; g < 2; g++) {
        tree = g ? &ctx->reg->sh->groups : &ctx->reg->sh->servers;

        for (q = ngx_queue_head(&tree->queue);
             q != ngx_queue_sentinel(&tree->queue);
             q = next)
        {
            next = ngx_queue_next(q);
            node = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

            if (ngx_http_hangar_declared(ctx->hmcf, node, g)) {
                continue;
            }

            if (!g) {
                ngx_http_hangar_reconcile_stale(ctx, node, 1);
            }

            ngx_http_hangar_remove(ctx->reg, tree, node);
        }
    }
}


/* with the slab mutex held: links what prepare() made; cannot fail */

static void
ngx_http_hangar_reconcile_commit(ngx_http_hangar_reconcile_t *ctx)
{
    ngx_uint_t                    i, restart;
    ngx_http_hangar_tree_t       *tree;
    ngx_http_hangar_node_t       *node;
    ngx_http_hangar_decl_t       *d;
    ngx_http_hangar_registry_t   *reg;
    ngx_http_hangar_main_conf_t  *hmcf;

    reg = ctx->reg;
    hmcf = ctx->hmcf;

    for (i = 0; i < ctx->ndecls; i++) {
        d = &ctx->decls[i];
        tree = d->group ? &reg->sh->groups : &reg->sh->servers;
        node = ctx->nodes[i];

        /* a running server is restarted with its new spec */
        restart = (ctx->update[i] && node != NULL && !d->group
                   && node->state != NGX_HTTP_HANGAR_COLD);

        if (ctx->update[i]) {
            node = ngx_http_hangar_commit(reg, tree, node, &ctx->recs[i],
                                          &ctx->preps[i]);
        }

        node->api = d->api;
        node->declared = d->declared;

        if (ctx->catalogs[i]) {
            ngx_http_hangar_blob_free(reg, node->tools);
            node->tools = ctx->catalogs[i];
            node->tools_count = d->catalog_count;
        }

        node->blocked = ngx_http_hangar_listed(hmcf->blocked, &d->id);

        if (restart) {
            ngx_http_hangar_reconcile_stale(ctx, node, 0);
        }
    }

    ngx_http_hangar_state_adopt_commit(reg, &ctx->lists);
    ngx_http_hangar_group_plan_commit(reg, &ctx->groups);
}


/* the id is copied into a slot that reconcile() reserved */

static void
ngx_http_hangar_reconcile_stale(ngx_http_hangar_reconcile_t *ctx,
    ngx_http_hangar_node_t *node, ngx_uint_t removed)
{
    ngx_http_hangar_stale_t  *s;

    if (ctx->stale->nelts == ctx->stale->nalloc) {
        return;
    }

    s = ngx_array_push(ctx->stale);

    s->id.len = node->id_len;
    s->id.data = s->idbuf;
    ngx_memcpy(s->idbuf, node->id, node->id_len);
    s->bridge = (ngx_pid_t) node->bridge_pid;
    s->server = (ngx_pid_t) node->server_pid;
    s->removed = removed;
    s->blocked = node->blocked ? 1 : 0;
}
