
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * What a discovery cycle changes (hangar-security.md §5.4): the conflict
 * rules (static wins, then the source's priority), each winner refreshed,
 * changed, registered, held pending or quarantined, the rate and count
 * limits, and what an authoritative source no longer reports removed
 * once its TTL is over.  A winner whose fingerprint and registered spec
 * are those of the last cycle is refreshed without being checked again.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_discovery_decide.h"
#include "ngx_http_hangar_api_servers.h"


#define NGX_HTTP_HANGAR_DISC_ATTEMPTS   100000


static int ngx_libc_cdecl ngx_http_hangar_disc_cmp(const void *one,
    const void *two);
static ngx_int_t ngx_http_hangar_disc_decide(
    ngx_http_hangar_disc_cycle_t *cy, ngx_http_hangar_disc_item_t *item);
static ngx_int_t ngx_http_hangar_disc_known(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_item_t *item, ngx_str_t *spec_text);
static ngx_int_t ngx_http_hangar_disc_new(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_item_t *item, ngx_http_hangar_value_t *spec);
static ngx_int_t ngx_http_hangar_disc_limits(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_item_t *item, ngx_str_t *why);
static ngx_int_t ngx_http_hangar_disc_expire(ngx_http_hangar_disc_cycle_t *cy);
static ngx_int_t ngx_http_hangar_disc_act(ngx_http_hangar_disc_cycle_t *cy,
    ngx_uint_t kind, ngx_str_t *name, ngx_http_hangar_disc_item_t *item,
    ngx_http_hangar_value_t *spec);
static uint32_t ngx_http_hangar_disc_edge(ngx_http_hangar_disc_cycle_t *cy);
static ngx_uint_t ngx_http_hangar_disc_fp_is(ngx_http_hangar_value_t *v,
    ngx_http_hangar_disc_item_t *item);


ngx_int_t
ngx_http_hangar_disc_decide_all(ngx_http_hangar_disc_cycle_t *cy)
{
    ngx_uint_t                    i;
    ngx_array_t                  *items;
    ngx_http_hangar_disc_item_t  *it;

    items = cy->items;
    cy->found = items->nelts;
    cy->edge = ngx_http_hangar_disc_edge(cy);

    if (ngx_http_hangar_disc_index_init(&cy->act_names, cy->pool, 16)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

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

    return ngx_http_hangar_disc_expire(cy);
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


/* the edge rules a server was checked against (the command allow-list,
   the addresses allowed): a reload that changes them checks every
   server again */

static uint32_t
ngx_http_hangar_disc_edge(ngx_http_hangar_disc_cycle_t *cy)
{
    uint32_t      crc;
    ngx_str_t    *cmd;
    ngx_uint_t    i;
    ngx_cidr_t   *cidr;
    ngx_array_t  *a;

    ngx_crc32_init(crc);

    a = cy->reg->hmcf->allowed_commands;
    cmd = a ? a->elts : NULL;

    for (i = 0; a && i < a->nelts; i++) {
        ngx_crc32_update(&crc, cmd[i].data, cmd[i].len);
        ngx_crc32_update(&crc, (u_char *) "\n", 1);
    }

    /* a cidr's own bytes: an IPv4 one leaves the rest of its union unset */
    a = cy->reg->hmcf->remote_allow;
    cidr = a ? a->elts : NULL;

    for (i = 0; a && i < a->nelts; i++) {
        ngx_crc32_update(&crc, (u_char *) &cidr[i].family,
                         sizeof(cidr[i].family));

        if (cidr[i].family == AF_INET) {
            ngx_crc32_update(&crc, (u_char *) &cidr[i].u.in,
                             sizeof(cidr[i].u.in));
#if (NGX_HAVE_INET6)
        } else if (cidr[i].family == AF_INET6) {
            ngx_crc32_update(&crc, (u_char *) &cidr[i].u.in6,
                             sizeof(cidr[i].u.in6));
#endif
        }
    }

    ngx_crc32_final(crc);

    return crc;
}


static ngx_uint_t
ngx_http_hangar_disc_fp_is(ngx_http_hangar_value_t *v,
    ngx_http_hangar_disc_item_t *item)
{
    return ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
           && v->u.s.len == NGX_HTTP_HANGAR_DISC_FP
           && ngx_strncmp(v->u.s.data, item->fp, NGX_HTTP_HANGAR_DISC_FP)
              == 0;
}


/*
 * One item that won its name: refreshed, changed, new (registered, held
 * pending or quarantined), rejected before, or a static server's name.
 */

static ngx_int_t
ngx_http_hangar_disc_decide(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_item_t *item)
{
    ngx_int_t                 rc;
    ngx_str_t                 why, spec_text;
    ngx_uint_t                ours, exists;
    ngx_http_hangar_node_t   *n;
    ngx_http_hangar_value_t  *v, *spec;
    ngx_http_hangar_record_t  rec;

    /* rejected, and not changed since: nothing to do */
    v = ngx_http_hangar_get_n(ngx_http_hangar_get(cy->doc, "rejected"),
                              item->name.data, item->name.len);

    if (ngx_http_hangar_disc_fp_is(v, item)) {
        return NGX_OK;
    }

    ngx_str_null(&spec_text);
    ours = ngx_http_hangar_disc_index_get(&cy->prev_tracked, item->name.data,
                                          item->name.len)
           != NULL;

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

    if (exists) {
        rc = ngx_http_hangar_disc_known(cy, item, &spec_text);
        if (rc != NGX_DECLINED) {
            return rc;
        }
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

    if (!exists) {
        return ngx_http_hangar_disc_new(cy, item, spec);
    }

    /* ours: the same spec is refreshed, a new one replaces it */
    if (ngx_http_hangar_record(cy->pool, &item->name, spec, &rec)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    item->spec_crc = (ngx_crc32_long(rec.spec.data, rec.spec.len) ^ cy->edge)
                     | 1;

    if (rec.spec.len == spec_text.len
        && ngx_strncmp(rec.spec.data, spec_text.data, spec_text.len) == 0)
    {
        return ngx_http_hangar_disc_track(cy, item);
    }

    return ngx_http_hangar_disc_act(cy, NGX_HTTP_HANGAR_DISC_REPLACE,
                                    &item->name, item, spec);
}


/* the same item as in the last cycle, and the registry still has the spec
   registered from it: refreshed, not checked again (NGX_DECLINED: check) */

static ngx_int_t
ngx_http_hangar_disc_known(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_item_t *item, ngx_str_t *spec_text)
{
    uint32_t                  crc;
    ngx_http_hangar_value_t  *old, *v;

    old = ngx_http_hangar_disc_index_get(&cy->prev_tracked, item->name.data,
                                         item->name.len);

    if (old == NULL || spec_text->data == NULL
        || !ngx_http_hangar_disc_fp_is(ngx_http_hangar_get(old,
                                                           "fingerprint"),
                                       item))
    {
        return NGX_DECLINED;
    }

    v = ngx_http_hangar_get(old, "spec_crc");
    crc = (ngx_crc32_long(spec_text->data, spec_text->len) ^ cy->edge) | 1;

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT)
        || (uint32_t) v->u.i != crc)
    {
        return NGX_DECLINED;
    }

    item->spec_crc = crc;

    return ngx_http_hangar_disc_track(cy, item);
}


/* new: pending unless registered automatically or approved; then the
   limits */

static ngx_int_t
ngx_http_hangar_disc_new(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_item_t *item, ngx_http_hangar_value_t *spec)
{
    ngx_int_t                 rc;
    ngx_str_t                 why;
    ngx_http_hangar_value_t  *v, *auto_reg;

    auto_reg = ngx_http_hangar_get(cy->conf, "auto_register");
    v = ngx_http_hangar_get_n(ngx_http_hangar_get(cy->doc, "approved"),
                              item->name.data, item->name.len);

    if (ngx_http_hangar_is(auto_reg, NGX_HTTP_HANGAR_BOOL) && !auto_reg->u.b
        && !ngx_http_hangar_disc_fp_is(v, item))
    {
        v = ngx_http_hangar_disc_entry(cy, item);
        if (v == NULL) {
            return NGX_ERROR;
        }

        return ngx_http_hangar_disc_set_put(&cy->pending, &item->name, v);
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
    ngx_uint_t                i;
    ngx_http_hangar_value_t  *sec, *v, *list, *fresh, **t;

    sec = ngx_http_hangar_get(cy->conf, "security");

    v = ngx_http_hangar_get(sec, "max_registration_rate");
    max_rate = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) ? v->u.i : 10;

    v = ngx_http_hangar_get(sec, "max_mcp_servers_per_source");
    max_count = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) ? v->u.i : 100;

    type = ngx_http_hangar_disc_type_name(item->type);

    list = ngx_http_hangar_get(cy->attempts, type);

    if (ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)
        && list->u.arr.nelts && list == cy->fresh[item->type & 3])
    {
        /* pruned already in this cycle: appended to */
        fresh = list;

    } else {
        fresh = ngx_http_hangar_value_new(cy->pool, NGX_HTTP_HANGAR_ARR);
        if (fresh == NULL) {
            return NGX_ERROR;
        }

        t = ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR) ? list->u.arr.elts
                                                          : NULL;

        for (i = 0; t && i < list->u.arr.nelts; i++) {
            if (ngx_http_hangar_is(t[i], NGX_HTTP_HANGAR_INT)
                && cy->now - (ngx_msec_t) t[i]->u.i < 60000
                && ngx_http_hangar_push(fresh, t[i]) != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        cy->fresh[item->type & 3] = fresh;
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

    if ((ngx_int_t) cy->per_type[item->type & 3] >= max_count) {
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
ngx_http_hangar_disc_expire(ngx_http_hangar_disc_cycle_t *cy)
{
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

        if (ngx_http_hangar_disc_set_get(&cy->tracked, &name)
            || ngx_http_hangar_disc_set_get(&cy->quarantined, &name)
            || ngx_http_hangar_disc_set_get(&cy->pending, &name)
            || ngx_http_hangar_disc_index_get(&cy->act_names, name.data,
                                              name.len))
        {
            continue;               /* seen */
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

        if (ngx_http_hangar_disc_set_put(&cy->tracked, &name, pair[i].value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

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

    ngx_memzero(a, sizeof(ngx_http_hangar_disc_act_t));
    a->kind = kind;
    a->type = item ? item->type : 0;
    a->name = *name;
    a->item = item;
    a->spec = spec;

    return ngx_http_hangar_disc_index_put(&cy->act_names, name->data,
                                          name->len, a);
}
