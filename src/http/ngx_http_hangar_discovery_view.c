
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * A discovery cycle's view: the sets it builds (tracked, pending,
 * quarantined), each with an index by name, and the discovered-server
 * entry of hangar-security.md §5.3, built here only.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_discovery_view.h"


static ngx_int_t ngx_http_hangar_disc_index_grow(
    ngx_http_hangar_disc_index_t *idx);
static u_char *ngx_http_hangar_disc_key(ngx_pool_t *pool, ngx_str_t *name);


/* ---- an index of names ---------------------------------------------------- */

ngx_int_t
ngx_http_hangar_disc_index_init(ngx_http_hangar_disc_index_t *idx,
    ngx_pool_t *pool, ngx_uint_t hint)
{
    ngx_uint_t  size;

    for (size = 16; size < 2 * hint; size <<= 1) { /* void */ }

    idx->slots = ngx_pcalloc(pool, size * sizeof(ngx_http_hangar_disc_slot_t));
    if (idx->slots == NULL) {
        return NGX_ERROR;
    }

    idx->size = size;
    idx->used = 0;
    idx->pool = pool;

    return NGX_OK;
}


void *
ngx_http_hangar_disc_index_get(ngx_http_hangar_disc_index_t *idx,
    u_char *key, size_t len)
{
    ngx_uint_t                    i;
    ngx_http_hangar_disc_slot_t  *s;

    if (idx->slots == NULL) {
        return NULL;
    }

    i = ngx_hash_key(key, len) & (idx->size - 1);

    for ( ;; ) {
        s = &idx->slots[i];

        if (s->key.data == NULL) {
            return NULL;
        }

        if (s->key.len == len && ngx_memcmp(s->key.data, key, len) == 0) {
            return s->value;
        }

        i = (i + 1) & (idx->size - 1);
    }
}


/* a new key, or a new value of a key; the key is not copied */

ngx_int_t
ngx_http_hangar_disc_index_put(ngx_http_hangar_disc_index_t *idx,
    u_char *key, size_t len, void *value)
{
    ngx_uint_t                    i;
    ngx_http_hangar_disc_slot_t  *s;

    if (2 * (idx->used + 1) > idx->size
        && ngx_http_hangar_disc_index_grow(idx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    i = ngx_hash_key(key, len) & (idx->size - 1);

    for ( ;; ) {
        s = &idx->slots[i];

        if (s->key.data == NULL) {
            s->key.data = key;
            s->key.len = len;
            s->value = value;
            idx->used++;
            return NGX_OK;
        }

        if (s->key.len == len && ngx_memcmp(s->key.data, key, len) == 0) {
            s->value = value;
            return NGX_OK;
        }

        i = (i + 1) & (idx->size - 1);
    }
}


static ngx_int_t
ngx_http_hangar_disc_index_grow(ngx_http_hangar_disc_index_t *idx)
{
    ngx_uint_t                    i;
    ngx_http_hangar_disc_index_t  bigger;

    if (ngx_http_hangar_disc_index_init(&bigger, idx->pool, idx->size)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < idx->size; i++) {
        if (idx->slots[i].key.data
            && ngx_http_hangar_disc_index_put(&bigger,
                                              idx->slots[i].key.data,
                                              idx->slots[i].key.len,
                                              idx->slots[i].value)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    ngx_pfree(idx->pool, idx->slots);
    *idx = bigger;

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_disc_index_obj(ngx_http_hangar_disc_index_t *idx,
    ngx_pool_t *pool, ngx_http_hangar_value_t *obj)
{
    ngx_uint_t               i, n;
    ngx_http_hangar_pair_t  *pair;

    n = ngx_http_hangar_is(obj, NGX_HTTP_HANGAR_OBJ) ? obj->u.obj.nelts : 0;

    if (ngx_http_hangar_disc_index_init(idx, pool, n) != NGX_OK) {
        return NGX_ERROR;
    }

    pair = n ? obj->u.obj.elts : NULL;

    for (i = 0; i < n; i++) {
        if (ngx_http_hangar_disc_index_put(idx, pair[i].key.data,
                                           pair[i].key.len, pair[i].value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* ---- the view's sets ------------------------------------------------------ */

ngx_int_t
ngx_http_hangar_disc_set_init(ngx_http_hangar_disc_set_t *set,
    ngx_pool_t *pool)
{
    set->obj = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
    if (set->obj == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_hangar_disc_index_init(&set->index, pool, 16);
}


/* a member: new ones appended, an existing one replaced in place (the
   index holds its position, since the pairs move when they grow) */

ngx_int_t
ngx_http_hangar_disc_set_put(ngx_http_hangar_disc_set_t *set,
    ngx_str_t *name, ngx_http_hangar_value_t *v)
{
    u_char                  *key;
    uintptr_t                at;
    ngx_http_hangar_pair_t  *pair;

    at = (uintptr_t) ngx_http_hangar_disc_index_get(&set->index, name->data,
                                                    name->len);
    if (at) {
        pair = set->obj->u.obj.elts;
        pair[at - 1].value = v;
        return NGX_OK;
    }

    key = ngx_http_hangar_disc_key(set->index.pool, name);
    if (key == NULL) {
        return NGX_ERROR;
    }

    pair = ngx_array_push(&set->obj->u.obj);
    if (pair == NULL) {
        return NGX_ERROR;
    }

    pair->key.data = key;
    pair->key.len = name->len;
    pair->value = v;

    return ngx_http_hangar_disc_index_put(&set->index, key, name->len,
                                          (void *) (uintptr_t)
                                          set->obj->u.obj.nelts);
}


ngx_http_hangar_value_t *
ngx_http_hangar_disc_set_get(ngx_http_hangar_disc_set_t *set,
    ngx_str_t *name)
{
    uintptr_t                at;
    ngx_http_hangar_pair_t  *pair;

    at = (uintptr_t) ngx_http_hangar_disc_index_get(&set->index, name->data,
                                                    name->len);
    if (at == 0) {
        return NULL;
    }

    pair = set->obj->u.obj.elts;

    return pair[at - 1].value;
}


/* a key of the view's objects: kept by them, so from the pool, with a
   terminating zero for the view's C-string lookups */

static u_char *
ngx_http_hangar_disc_key(ngx_pool_t *pool, ngx_str_t *name)
{
    u_char  *key;

    key = ngx_pnalloc(pool, name->len + 1);
    if (key == NULL) {
        return NULL;
    }

    ngx_cpystrn(key, name->data, name->len + 1);

    return key;
}


/* ---- entries -------------------------------------------------------------- */

ngx_int_t
ngx_http_hangar_disc_quarantine(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_item_t *item, const char *reason, ngx_str_t *detail)
{
    u_char                   *p;
    ngx_str_t                 text;
    ngx_http_hangar_value_t  *q, *old, *v, *sec;

    sec = ngx_http_hangar_get(cy->conf, "security");
    v = ngx_http_hangar_get(sec, "quarantine_on_failure");

    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_BOOL) && !v->u.b) {
        ngx_log_error(NGX_LOG_WARN, cy->log, 0,
                      "hangar: discovery: \"%V\" of %s left out (%s): %V",
                      &item->name, ngx_http_hangar_disc_type_name(item->type),
                      reason, detail);
        return NGX_OK;
    }

    old = ngx_http_hangar_disc_index_get(&cy->prev_quarantined,
                                         item->name.data, item->name.len);

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

    return ngx_http_hangar_disc_set_put(&cy->quarantined, &item->name, q);
}


ngx_http_hangar_value_t *
ngx_http_hangar_disc_entry(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_item_t *item)
{
    ngx_str_t                *name;
    ngx_http_hangar_value_t  *e, *old, *at, *v;

    e = ngx_http_hangar_value_new(cy->pool, NGX_HTTP_HANGAR_OBJ);
    if (e == NULL) {
        return NULL;
    }

    name = &item->name;

    /* when it was first seen, by whichever set had it */
    old = ngx_http_hangar_disc_index_get(&cy->prev_tracked, name->data,
                                         name->len);
    if (old == NULL) {
        old = ngx_http_hangar_disc_index_get(&cy->prev_pending, name->data,
                                             name->len);
    }
    if (old == NULL) {
        old = ngx_http_hangar_get(
                  ngx_http_hangar_disc_index_get(&cy->prev_quarantined,
                                                 name->data, name->len),
                  "mcp_server");
    }

    at = ngx_http_hangar_get(old, "discovered_at");
    v = ngx_http_hangar_value_new(cy->pool, NGX_HTTP_HANGAR_BOOL);
    if (v == NULL) {
        return NULL;
    }
    v->u.b = 0;

    if (ngx_http_hangar_disc_put(cy->pool, e, "name",
            ngx_http_hangar_value_str(cy->pool, name->data, name->len))
           != NGX_OK
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


ngx_int_t
ngx_http_hangar_disc_track(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_item_t *item)
{
    ngx_http_hangar_value_t  *e;

    e = ngx_http_hangar_disc_entry(cy, item);
    if (e == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_hangar_disc_put(cy->pool, e, "source",
            ngx_http_hangar_disc_str(cy->pool,
                ngx_http_hangar_disc_type_name(item->type))) != NGX_OK
        || ngx_http_hangar_disc_put(cy->pool, e, "last_seen",
               ngx_http_hangar_value_int(cy->pool, (int64_t) cy->now))
           != NGX_OK
        || (item->spec_crc
            && ngx_http_hangar_disc_put(cy->pool, e, "spec_crc",
                   ngx_http_hangar_value_int(cy->pool,
                                             (int64_t) item->spec_crc))
               != NGX_OK))
    {
        return NGX_ERROR;
    }

    if (ngx_http_hangar_disc_set_get(&cy->tracked, &item->name) == NULL) {
        cy->per_type[item->type & 3]++;
    }

    return ngx_http_hangar_disc_set_put(&cy->tracked, &item->name, e);
}
