
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * A group's configuration from its spec, and the changes of the groups'
 * records: the reconcile's (hangar.yaml with the state file's "groups"
 * document over it) and the API's, each reserved first and linked at
 * once.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_group_store.h"


static ngx_int_t ngx_http_hangar_group_int(ngx_http_hangar_value_t *obj,
    const char *key, ngx_int_t def, ngx_int_t min);
static void ngx_http_hangar_group_canary(ngx_pool_t *pool,
    ngx_http_hangar_value_t *spec, ngx_http_hangar_group_conf_t *gc);
static ngx_int_t ngx_http_hangar_group_index(ngx_http_hangar_group_conf_t *gc,
    ngx_http_hangar_value_t *v);
static void ngx_http_hangar_group_apply(ngx_http_hangar_group_t *g,
    ngx_http_hangar_group_conf_t *gc);
static void ngx_http_hangar_group_insert(ngx_http_hangar_group_sh_t *root,
    ngx_http_hangar_group_t *g, ngx_str_t *id);
static void ngx_http_hangar_group_free(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_group_sh_t *root, ngx_http_hangar_group_t *g);


ngx_int_t
ngx_http_hangar_group_strategy(ngx_str_t *name)
{
    ngx_int_t  i;

    for (i = 0; ngx_http_hangar_group_strategies[i]; i++) {
        if (ngx_strlen(ngx_http_hangar_group_strategies[i]) == name->len
            && ngx_strncmp(ngx_http_hangar_group_strategies[i], name->data,
                           name->len) == 0)
        {
            return i;
        }
    }

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_hangar_group_int(ngx_http_hangar_value_t *obj, const char *key,
    ngx_int_t def, ngx_int_t min)
{
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_get(obj, key);

    if (v == NULL || v->type != NGX_HTTP_HANGAR_INT) {
        return def;
    }

    return v->u.i < min ? min : (ngx_int_t) v->u.i;
}


/* the canonical spec (ngx_http_hangar_spec_server()) of a group, read */

ngx_int_t
ngx_http_hangar_group_conf(ngx_pool_t *pool, ngx_str_t *id,
    ngx_http_hangar_value_t *spec, ngx_http_hangar_group_conf_t *gc)
{
    double                           reset;
    ngx_int_t                        s;
    ngx_str_t                        mid;
    ngx_uint_t                       i, k;
    ngx_http_hangar_value_t         *v, *h, **items;
    ngx_http_hangar_gmember_conf_t  *mc;

    ngx_memzero(gc, sizeof(ngx_http_hangar_group_conf_t));

    gc->id = *id;
    gc->canary = -1;

    v = ngx_http_hangar_get(spec, "strategy");
    s = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
        ? ngx_http_hangar_group_strategy(&v->u.s) : NGX_ERROR;
    gc->strategy = (s == NGX_ERROR) ? NGX_HTTP_HANGAR_RR : (ngx_uint_t) s;

    gc->min_healthy = ngx_http_hangar_group_int(spec, "min_healthy", 1, 1);

    v = ngx_http_hangar_get(spec, "auto_start");
    gc->auto_start = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_BOOL)
                     ? (ngx_uint_t) v->u.b : 1;

    v = ngx_http_hangar_get(spec, "description");
    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        gc->desc = v->u.s;
    }

    h = ngx_http_hangar_get(spec, "health");
    gc->unhealthy = ngx_http_hangar_group_int(h, "unhealthy_threshold", 2, 1);
    gc->healthy = ngx_http_hangar_group_int(h, "healthy_threshold", 1, 1);

    h = ngx_http_hangar_get(spec, "circuit_breaker");
    gc->failures = ngx_http_hangar_group_int(h, "failure_threshold", 10, 1);

    reset = 60.0;
    v = ngx_http_hangar_get(h, "reset_timeout_s");

    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT)) {
        reset = (double) v->u.i;

    } else if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_NUM)) {
        reset = v->u.n;
    }

    gc->reset = (ngx_msec_t) ((reset < 1.0 ? 1.0 : reset) * 1000);

    v = ngx_http_hangar_get(spec, "members");

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_ARR)) {
        return NGX_OK;
    }

    items = v->u.arr.elts;

    for (i = 0; i < v->u.arr.nelts; i++) {
        h = items[i]->type == NGX_HTTP_HANGAR_STR
            ? items[i] : ngx_http_hangar_get(items[i], "id");

        if (!ngx_http_hangar_is(h, NGX_HTTP_HANGAR_STR)
            || h->u.s.len == 0 || h->u.s.len > NGX_HTTP_HANGAR_ID_MAX)
        {
            continue;
        }

        mid = h->u.s;

        for (k = 0; k < gc->nmembers; k++) {
            if (ngx_memn2cmp(gc->members[k].id, mid.data,
                             gc->members[k].id_len, mid.len) == 0)
            {
                break;
            }
        }

        if (k < gc->nmembers) {
            continue;
        }

        if (gc->nmembers == NGX_HTTP_HANGAR_GROUP_MEMBERS) {
            return NGX_DECLINED;
        }

        mc = &gc->members[gc->nmembers++];
        ngx_memcpy(mc->id, mid.data, mid.len);
        mc->id_len = mid.len;
        mc->weight = ngx_http_hangar_group_int(items[i], "weight", 1, 1);
        mc->priority = ngx_http_hangar_group_int(items[i], "priority", 1, 1);
    }

    ngx_http_hangar_group_canary(pool, spec, gc);

    return NGX_OK;
}


/* canary: {member, split_pct, pinned_tenants: {tenant: member}} (§3.7) */

static void
ngx_http_hangar_group_canary(ngx_pool_t *pool, ngx_http_hangar_value_t *spec,
    ngx_http_hangar_group_conf_t *gc)
{
    ngx_int_t                 k;
    ngx_uint_t                i;
    ngx_http_hangar_pair_t   *pair;
    ngx_http_hangar_value_t  *c, *v, *pins;
    ngx_http_hangar_gpin_t   *pin;

    c = ngx_http_hangar_get(spec, "canary");

    if (!ngx_http_hangar_is(c, NGX_HTTP_HANGAR_OBJ)) {
        return;
    }

    gc->canary = ngx_http_hangar_group_index(gc,
                                             ngx_http_hangar_get(c, "member"));

    v = ngx_http_hangar_get(c, "split_pct");

    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT)
        && v->u.i >= 0 && v->u.i <= 100)
    {
        gc->split = (ngx_uint_t) v->u.i;

    } else if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_NUM)
               && v->u.n >= 0 && v->u.n <= 100)
    {
        gc->split = (ngx_uint_t) v->u.n;
    }

    pins = ngx_http_hangar_get(c, "pinned_tenants");

    if (!ngx_http_hangar_is(pins, NGX_HTTP_HANGAR_OBJ)) {
        return;
    }

    pair = pins->u.obj.elts;

    for (i = 0; i < pins->u.obj.nelts; i++) {
        k = ngx_http_hangar_group_index(gc, pair[i].value);

        if (k == -1 || pair[i].key.len == 0
            || pair[i].key.len > NGX_HTTP_HANGAR_ID_MAX
            || gc->npins == NGX_HTTP_HANGAR_GROUP_PINS)
        {
            continue;
        }

        pin = &gc->pins[gc->npins++];
        ngx_memcpy(pin->tenant, pair[i].key.data, pair[i].key.len);
        pin->tenant_len = pair[i].key.len;
        pin->member = (ngx_uint_t) k;
    }
}


static ngx_int_t
ngx_http_hangar_group_index(ngx_http_hangar_group_conf_t *gc,
    ngx_http_hangar_value_t *v)
{
    ngx_uint_t  k;

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        return -1;
    }

    for (k = 0; k < gc->nmembers; k++) {
        if (ngx_memn2cmp(gc->members[k].id, v->u.s.data,
                         gc->members[k].id_len, v->u.s.len) == 0)
        {
            return k;
        }
    }

    return -1;
}


static void
ngx_http_hangar_group_insert(ngx_http_hangar_group_sh_t *root,
    ngx_http_hangar_group_t *g, ngx_str_t *id)
{
    ngx_memcpy(g->id, id->data, id->len);
    g->sn.str.data = g->id;
    g->sn.str.len = id->len;
    g->sn.node.key = ngx_crc32_short(id->data, id->len);

    ngx_rbtree_insert(&root->rbtree, &g->sn.node);
    ngx_queue_insert_tail(&root->queue, &g->queue);
    root->count++;
}


static void
ngx_http_hangar_group_free(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_group_sh_t *root, ngx_http_hangar_group_t *g)
{
    ngx_rbtree_delete(&root->rbtree, &g->sn.node);
    ngx_queue_remove(&g->queue);
    root->count--;

    ngx_http_hangar_blob_free(reg, g->desc);
    ngx_slab_free_locked(reg->shpool, g);
}


/*
 * With the slab mutex held: a configuration over a record.  Members that
 * stay keep their rotation and counters; a new one is in rotation (its
 * server starts on its first call).  Another strategy starts afresh.
 */

static void
ngx_http_hangar_group_apply(ngx_http_hangar_group_t *g,
    ngx_http_hangar_group_conf_t *gc)
{
    ngx_str_t                   id;
    ngx_uint_t                  i;
    ngx_http_hangar_gmember_t  *old, *m;
    ngx_http_hangar_gmember_t   members[NGX_HTTP_HANGAR_GROUP_MEMBERS];

    for (i = 0; i < gc->nmembers; i++) {
        m = &members[i];
        id.data = gc->members[i].id;
        id.len = gc->members[i].id_len;

        old = ngx_http_hangar_group_member(g, &id);

        if (old) {
            *m = *old;

        } else {
            ngx_memzero(m, sizeof(ngx_http_hangar_gmember_t));
            ngx_memcpy(m->id, id.data, id.len);
            m->id_len = id.len;
            m->in_rotation = 1;
        }

        m->weight = gc->members[i].weight;
        m->priority = gc->members[i].priority;
    }

    if (g->strategy != gc->strategy) {
        g->rr = 0;

        for (i = 0; i < gc->nmembers; i++) {
            members[i].current = 0;
        }
    }

    ngx_memcpy(g->members, members,
               gc->nmembers * sizeof(ngx_http_hangar_gmember_t));
    g->nmembers = gc->nmembers;

    g->strategy = gc->strategy;
    g->min_healthy = gc->min_healthy;
    g->auto_start = gc->auto_start;
    g->unhealthy = gc->unhealthy;
    g->healthy = gc->healthy;
    g->failures = gc->failures;
    g->reset = gc->reset;
    g->canary = gc->canary;
    g->split = gc->split;
    g->npins = gc->npins;
    ngx_memcpy(g->pins, gc->pins, sizeof(g->pins));
}


/*
 * The state file's "groups" document, {"<id>": <spec> | null}, over the
 * groups of hangar.yaml: a spec replaces or adds a group, null removes a
 * declared one.  An entry that does not validate is left out, loudly.
 */

ngx_int_t
ngx_http_hangar_group_overlay(ngx_pool_t *pool,
    ngx_http_hangar_main_conf_t *hmcf, ngx_log_t *log)
{
    ngx_str_t                    err, *text;
    ngx_uint_t                   i, j, declared;
    ngx_http_hangar_pair_t      *pair;
    ngx_http_hangar_decl_t      *d;
    ngx_http_hangar_value_t     *doc, *spec;
    ngx_http_hangar_spec_ctx_t   ctx;

    text = &hmcf->docs[NGX_HTTP_HANGAR_DOC_GROUPS];

    if (text->len == 0) {
        return NGX_OK;
    }

    doc = ngx_http_hangar_json_parse(pool, text->data, text->len, &err);

    if (!ngx_http_hangar_is(doc, NGX_HTTP_HANGAR_OBJ)) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "hangar: the state file's groups are invalid, "
                      "ignored");
        return NGX_OK;
    }

    pair = doc->u.obj.elts;

    for (i = 0; i < doc->u.obj.nelts; i++) {
        d = hmcf->decls.elts;

        /* a declared group keeps its place in the order */
        for (j = 0; j < hmcf->decls.nelts; j++) {
            if (d[j].group
                && ngx_memn2cmp(d[j].id.data, pair[i].key.data, d[j].id.len,
                                pair[i].key.len) == 0)
            {
                break;
            }
        }

        declared = (j < hmcf->decls.nelts) ? d[j].declared : 0;

        if (pair[i].value->type == NGX_HTTP_HANGAR_NULL) {
            if (j < hmcf->decls.nelts) {
                ngx_memmove(&d[j], &d[j + 1], (hmcf->decls.nelts - j - 1)
                                              * sizeof(ngx_http_hangar_decl_t));
                hmcf->decls.nelts--;
            }

            continue;
        }

        ngx_memzero(&ctx, sizeof(ngx_http_hangar_spec_ctx_t));
        ctx.pool = pool;
        ctx.log = log;
        ctx.source = NGX_HTTP_HANGAR_SPEC_API;

        if (!ngx_http_hangar_spec_id_valid(&pair[i].key,
                                           NGX_HTTP_HANGAR_SPEC_API)
            || ngx_http_hangar_spec_server(&ctx, &pair[i].key,
                                           pair[i].value, &spec)
               != NGX_OK
            || ngx_http_hangar_spec_mode(spec) != NGX_HTTP_HANGAR_MODE_GROUP)
        {
            ngx_log_error(NGX_LOG_ALERT, log, 0,
                          "hangar: the state file's group \"%V\" is "
                          "invalid, left out: %V", &pair[i].key,
                          &ctx.message);
            continue;
        }

        if (j < hmcf->decls.nelts) {
            d = &d[j];

        } else {
            d = ngx_array_push(&hmcf->decls);
            if (d == NULL) {
                return NGX_ERROR;
            }
        }

        ngx_memzero(d, sizeof(ngx_http_hangar_decl_t));
        d->id = pair[i].key;
        d->spec = spec;
        d->group = 1;
        d->api = 1;
        d->declared = declared;
    }

    return NGX_OK;
}


/* the reconcile's groups: their configurations, before the mutex */

ngx_int_t
ngx_http_hangar_group_plan(ngx_pool_t *pool,
    ngx_http_hangar_main_conf_t *hmcf, ngx_http_hangar_group_plan_t *plan)
{
    ngx_uint_t               i, n;
    ngx_http_hangar_decl_t  *d;

    d = hmcf->decls.elts;
    n = hmcf->decls.nelts;

    plan->n = 0;
    plan->confs = ngx_palloc(pool,
                             (n + 1) * sizeof(ngx_http_hangar_group_conf_t));
    plan->changes = ngx_pcalloc(pool,
                           (n + 1) * sizeof(ngx_http_hangar_group_change_t));

    if (plan->confs == NULL || plan->changes == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (!d[i].group) {
            continue;
        }

        /* the spec's check bounds the members: this cannot decline */
        if (ngx_http_hangar_group_conf(pool, &d[i].id, d[i].spec,
                                       &plan->confs[plan->n])
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        plan->changes[plan->n].conf = &plan->confs[plan->n];
        plan->changes[plan->n].id = d[i].id;
        plan->n++;
    }

    return NGX_OK;
}


/* with the slab mutex held: every record and description, or nothing */

ngx_int_t
ngx_http_hangar_group_plan_prepare(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_group_plan_t *plan)
{
    ngx_uint_t                       i;
    ngx_http_hangar_group_conf_t    *gc;
    ngx_http_hangar_group_change_t  *ch;

    if (plan->n && ngx_http_hangar_group_root(reg) == NULL) {
        return NGX_DECLINED;
    }

    for (i = 0; i < plan->n; i++) {
        ch = &plan->changes[i];
        gc = ch->conf;

        if (ngx_http_hangar_group_find(reg, gc->id.data, gc->id.len) == NULL)
        {
            ch->group = ngx_slab_calloc_locked(reg->shpool,
                                            sizeof(ngx_http_hangar_group_t));
            if (ch->group == NULL) {
                return NGX_DECLINED;
            }
        }

        if (gc->desc.len) {
            ch->desc = ngx_http_hangar_blob(reg, gc->desc.data, gc->desc.len);
            if (ch->desc == NULL) {
                return NGX_DECLINED;
            }
        }
    }

    return NGX_OK;
}


void
ngx_http_hangar_group_plan_discard(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_group_plan_t *plan)
{
    ngx_uint_t  i;

    for (i = 0; i < plan->n; i++) {
        if (plan->changes[i].group) {
            ngx_slab_free_locked(reg->shpool, plan->changes[i].group);
            plan->changes[i].group = NULL;
        }

        ngx_http_hangar_blob_free(reg, plan->changes[i].desc);
        plan->changes[i].desc = NULL;
    }
}


/* with the slab mutex held; cannot fail: groups no longer declared go */

void
ngx_http_hangar_group_plan_commit(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_group_plan_t *plan)
{
    ngx_uint_t                       i, keep;
    ngx_queue_t                     *q, *next;
    ngx_http_hangar_group_t         *g;
    ngx_http_hangar_group_sh_t      *root;
    ngx_http_hangar_group_change_t  *ch;
    ngx_http_hangar_gnotes_t         notes;

    root = reg->sh->group_sh;

    if (root == NULL) {
        return;
    }

    for (q = ngx_queue_head(&root->queue);
         q != ngx_queue_sentinel(&root->queue);
         q = next)
    {
        next = ngx_queue_next(q);
        g = ngx_queue_data(q, ngx_http_hangar_group_t, queue);

        for (keep = 0, i = 0; i < plan->n; i++) {
            if (ngx_memn2cmp(g->id, plan->changes[i].id.data,
                             g->sn.str.len, plan->changes[i].id.len) == 0)
            {
                keep = 1;
                break;
            }
        }

        if (!keep) {
            ngx_http_hangar_group_free(reg, root, g);
        }
    }

    for (i = 0; i < plan->n; i++) {
        ch = &plan->changes[i];

        g = ch->group;

        if (g) {
            ngx_http_hangar_group_insert(root, g, &ch->id);
            g->strategy = ch->conf->strategy;
            ch->group = NULL;

        } else {
            g = ngx_http_hangar_group_find(reg, ch->id.data, ch->id.len);
        }

        ngx_http_hangar_blob_free(reg, g->desc);
        g->desc = ch->desc;
        ch->desc = NULL;

        ngx_http_hangar_group_apply(g, ch->conf);

        /* no events at a reload: only the state is brought up to date */
        notes.n = 0;
        ngx_http_hangar_group_state(g, &notes);
    }
}


/*
 * One group's change by the API, with the state lock held: the record
 * (the zone's group node, which the tool policies read, and the group's
 * own record) is reserved here and linked once the state file is
 * written.  spec NULL: the group is deleted.
 */

ngx_int_t
ngx_http_hangar_group_reserve(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_value_t *spec,
    ngx_http_hangar_group_change_t *ch)
{
    ngx_int_t                rc;
    ngx_http_hangar_node_t  *node;

    ch->group = NULL;
    ch->desc = NULL;
    ch->conf = NULL;
    ngx_memzero(&ch->prep, sizeof(ngx_http_hangar_prep_t));

    if (spec == NULL) {
        return NGX_OK;
    }

    ch->conf = ngx_palloc(pool, sizeof(ngx_http_hangar_group_conf_t));
    if (ch->conf == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_hangar_group_conf(pool, &ch->id, spec, ch->conf);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_hangar_record(pool, &ch->id, spec, &ch->rec) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_hangar_lock(reg);

    if (ngx_http_hangar_group_root(reg) == NULL) {
        goto full;
    }

    node = ngx_http_hangar_find(&reg->sh->groups, ch->id.data, ch->id.len);

    if (ngx_http_hangar_prepare(reg, &ch->rec, node == NULL, &ch->prep)
        != NGX_OK)
    {
        goto full;
    }

    if (ngx_http_hangar_group_find(reg, ch->id.data, ch->id.len) == NULL) {
        ch->group = ngx_slab_calloc_locked(reg->shpool,
                                           sizeof(ngx_http_hangar_group_t));
        if (ch->group == NULL) {
            goto full;
        }
    }

    if (ch->conf->desc.len) {
        ch->desc = ngx_http_hangar_blob(reg, ch->conf->desc.data,
                                        ch->conf->desc.len);
        if (ch->desc == NULL) {
            goto full;
        }
    }

    ngx_http_hangar_unlock(reg);

    return NGX_OK;

full:

    ngx_http_hangar_discard(reg, &ch->prep);

    if (ch->group) {
        ngx_slab_free_locked(reg->shpool, ch->group);
        ch->group = NULL;
    }

    ngx_http_hangar_unlock(reg);

    ch->conf = NULL;

    return NGX_BUSY;
}


void
ngx_http_hangar_group_release(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_group_change_t *ch)
{
    if (ch->conf == NULL) {
        return;
    }

    ngx_http_hangar_lock(reg);

    ngx_http_hangar_discard(reg, &ch->prep);

    if (ch->group) {
        ngx_slab_free_locked(reg->shpool, ch->group);
    }

    ngx_http_hangar_blob_free(reg, ch->desc);

    ngx_http_hangar_unlock(reg);

    ch->group = NULL;
    ch->desc = NULL;
    ch->conf = NULL;
}


void
ngx_http_hangar_group_link(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_group_change_t *ch)
{
    ngx_http_hangar_node_t      *node;
    ngx_http_hangar_group_t     *g;
    ngx_http_hangar_gnotes_t     notes;

    notes.n = 0;
    ngx_memcpy(notes.gid, ch->id.data, ch->id.len);
    notes.gid_len = ch->id.len;

    ngx_http_hangar_lock(reg);

    node = ngx_http_hangar_find(&reg->sh->groups, ch->id.data, ch->id.len);
    g = ngx_http_hangar_group_find(reg, ch->id.data, ch->id.len);

    if (ch->conf == NULL) {
        if (node) {
            ngx_http_hangar_remove(reg, &reg->sh->groups, node);
        }

        if (g) {
            ngx_http_hangar_group_free(reg, reg->sh->group_sh, g);
        }

        ngx_http_hangar_unlock(reg);
        return;
    }

    node = ngx_http_hangar_commit(reg, &reg->sh->groups, node, &ch->rec,
                                  &ch->prep);
    node->api = 1;

    if (g == NULL) {
        g = ch->group;
        ch->group = NULL;
        ngx_http_hangar_group_insert(reg->sh->group_sh, g, &ch->id);
        g->strategy = ch->conf->strategy;
    }

    ngx_http_hangar_blob_free(reg, g->desc);
    g->desc = ch->desc;
    ch->desc = NULL;

    ngx_http_hangar_group_apply(g, ch->conf);
    ngx_http_hangar_group_refresh(reg, g, &notes);

    ngx_http_hangar_unlock(reg);

    ch->conf = NULL;

    ngx_http_hangar_group_publish(reg, &notes);
}
