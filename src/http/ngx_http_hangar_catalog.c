
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The front door's catalog: every server's tools (cold ones included),
 * named by the naming mode, with what the _global and server policies and
 * the withdrawals say of each.  Built once per worker and location, and
 * reused while the registry's and the policies' generations stay; what a
 * caller may see of it (RBAC, its tenant's layers and withdrawals) is
 * decided per entry while it is paged over, never by a rebuild.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_catalog.h"
#include "ngx_http_hangar_state_doc.h"
#include "ngx_http_hangar_state.h"
#include "ngx_http_hangar_auth.h"
#include "ngx_http_hangar_names.h"
#include "ngx_http_hangar_warmup.h"
#include "ngx_http_hangar_group.h"


static ngx_int_t ngx_http_hangar_mcp_build(ngx_http_hangar_req_t *hr,
    ngx_pool_t *pool, ngx_uint_t naming, ngx_array_t **entries);
static ngx_int_t ngx_http_hangar_mcp_dups(ngx_pool_t *pool,
    ngx_array_t *all);
static int ngx_libc_cdecl ngx_http_hangar_mcp_tool_cmp(const void *one,
    const void *two);
static ngx_array_t *ngx_http_hangar_catalog_withdrawals(
    ngx_http_hangar_req_t *hr, ngx_pool_t *pool);
static void ngx_http_hangar_catalog_withdrawn(ngx_array_t *keys,
    ngx_http_hangar_entry_t *e);
static int ngx_libc_cdecl ngx_http_hangar_str_cmp(const void *one,
    const void *two);
static void ngx_http_hangar_catalog_event(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_entry_t *e, const char *type, const char *reason,
    ngx_str_t *who);
static ngx_int_t ngx_http_hangar_mcp_export(ngx_pool_t *pool,
    ngx_str_t *server, ngx_str_t *tool, ngx_uint_t prefix, ngx_str_t *name);


/* this worker's catalogs, per front-door location */
#define NGX_HTTP_HANGAR_MCP_CACHE  8

typedef struct {
    ngx_http_hangar_loc_conf_t  *hlcf;
    ngx_atomic_uint_t            generation;
    ngx_atomic_uint_t            policy_gen;
    ngx_pool_t                  *pool;
    ngx_array_t                 *entries;
    ngx_uint_t                  *index;     /* by exported name: entry + 1 */
    ngx_uint_t                   mask;
} ngx_http_hangar_mcp_cache_t;

static ngx_http_hangar_mcp_cache_t
    ngx_http_hangar_mcp_cache[NGX_HTTP_HANGAR_MCP_CACHE];


/*
 * This worker's parsed catalogs, one per server, kept while the server's
 * catalog text stays the same: a rebuild parses only the servers whose
 * tools changed.  A slot's catalog points into these trees, so a slot
 * holds a reference on each it used (released when its pool goes); an
 * entry superseded by new text, or of a server gone, is destroyed once
 * no slot refers to it.
 */
#define NGX_HTTP_HANGAR_PARSED_BUCKETS  1024

typedef struct ngx_http_hangar_parsed_s  ngx_http_hangar_parsed_t;

struct ngx_http_hangar_parsed_s {
    ngx_http_hangar_parsed_t    *next;
    ngx_pool_t                  *pool;
    ngx_str_t                    id;
    ngx_str_t                    text;
    ngx_http_hangar_value_t     *tools;     /* NULL: not a valid catalog */
    ngx_uint_t                   refs;      /* slots using it */
    ngx_uint_t                   seen;      /* the last build using it */
    ngx_uint_t                   current;   /* in its bucket */
};

static ngx_http_hangar_parsed_t
    *ngx_http_hangar_parsed[NGX_HTTP_HANGAR_PARSED_BUCKETS];
static ngx_uint_t  ngx_http_hangar_parsed_build;


static ngx_http_hangar_parsed_t *ngx_http_hangar_parsed_get(
    ngx_array_t *used, ngx_http_hangar_copy_t *cp);
static void ngx_http_hangar_parsed_sweep(void);
static void ngx_http_hangar_parsed_drop(ngx_http_hangar_parsed_t *p);
static void ngx_http_hangar_parsed_release(void *data);
static ngx_http_hangar_mcp_cache_t *ngx_http_hangar_catalog_get(
    ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_catalog_index(
    ngx_http_hangar_mcp_cache_t *c);
static void ngx_http_hangar_catalog_publish(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_mcp_cache_t *c);
static ngx_int_t ngx_http_hangar_catalog_retired(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_mcp_cache_t *c, ngx_str_t *name,
    ngx_http_hangar_entry_t **entry);


/*
 * Every server's tools (cold ones from their cached or predefined
 * catalog), named by the naming mode: "prefixed" <server>__<tool>, "flat"
 * (a name two servers offer is dropped), "auto" (flat while unambiguous).
 */

ngx_int_t
ngx_http_hangar_catalog(ngx_http_hangar_req_t *hr, ngx_array_t **entries)
{
    ngx_http_hangar_mcp_cache_t  *c;

    c = ngx_http_hangar_catalog_get(hr);
    if (c == NULL) {
        return NGX_ERROR;
    }

    *entries = c->entries;

    return NGX_OK;
}


/*
 * The entry a tools/call names, through the cache's index of exported
 * names (NULL when none): a call does not scan the catalog.
 */

ngx_int_t
ngx_http_hangar_catalog_find(ngx_http_hangar_req_t *hr, ngx_str_t *name,
    ngx_http_hangar_entry_t **entry)
{
    ngx_uint_t                    k;
    ngx_http_hangar_entry_t      *e;
    ngx_http_hangar_mcp_cache_t  *c;

    *entry = NULL;

    c = ngx_http_hangar_catalog_get(hr);
    if (c == NULL) {
        return NGX_ERROR;
    }

    e = c->entries->elts;

    for (k = ngx_hash_key(name->data, name->len) & c->mask;
         c->index[k];
         k = (k + 1) & c->mask)
    {
        if (e[c->index[k] - 1].name.len == name->len
            && ngx_strncmp(e[c->index[k] - 1].name.data, name->data,
                           name->len)
               == 0)
        {
            *entry = &e[c->index[k] - 1];
            return NGX_OK;
        }
    }

    /* a name the fleet took back since the session was given it */
    return ngx_http_hangar_catalog_retired(hr, c, name, entry);
}


static ngx_int_t
ngx_http_hangar_catalog_retired(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_mcp_cache_t *c, ngx_str_t *name,
    ngx_http_hangar_entry_t **entry)
{
    ngx_str_t                  server, tool;
    ngx_uint_t                 i;
    ngx_http_hangar_entry_t   *e, *copy;

    if (c->hlcf->naming == NGX_HTTP_HANGAR_NAMING_PREFIXED
        || ngx_http_hangar_names_retired(hr, c->hlcf->naming,
                                         c->hlcf->session_ttl, name,
                                         &server, &tool)
           != NGX_OK)
    {
        return NGX_OK;
    }

    e = c->entries->elts;

    /* while the tool exists, under another name or none */
    for (i = 0; i < c->entries->nelts; i++) {
        if (e[i].server.len != server.len || e[i].tool.len != tool.len
            || ngx_memcmp(e[i].server.data, server.data, server.len) != 0
            || ngx_memcmp(e[i].tool.data, tool.data, tool.len) != 0)
        {
            continue;
        }

        copy = ngx_palloc(hr->r->pool, sizeof(ngx_http_hangar_entry_t));
        if (copy == NULL) {
            return NGX_ERROR;
        }

        *copy = e[i];
        copy->name = *name;
        *entry = copy;

        ngx_log_error(NGX_LOG_INFO, hr->r->connection->log, 0,
                      "hangar: retired tool name \"%V\" still calls \"%V\" "
                      "of \"%V\" for this session", name, &tool, &server);
        break;
    }

    return NGX_OK;
}


static ngx_http_hangar_mcp_cache_t *
ngx_http_hangar_catalog_get(ngx_http_hangar_req_t *hr)
{
    ngx_uint_t                    i, free;
    ngx_array_t                  *entries;
    ngx_atomic_uint_t             gen, pgen;
    ngx_http_hangar_loc_conf_t   *hlcf;
    ngx_http_hangar_mcp_cache_t  *c;

    /*
     * Built once per worker and location, reused while the registry's
     * and the policies' generations stay: tools/call does not parse the
     * fleet each time.
     */
    hlcf = ngx_http_get_module_loc_conf(hr->r, ngx_http_hangar_module);
    gen = hr->reg->sh->generation;
    pgen = ngx_http_hangar_state_doc_gen(hr->reg,
                                         NGX_HTTP_HANGAR_DOC_POLICIES);
    free = NGX_HTTP_HANGAR_MCP_CACHE;

    for (i = 0; i < NGX_HTTP_HANGAR_MCP_CACHE; i++) {
        if (ngx_http_hangar_mcp_cache[i].hlcf == hlcf) {
            if (ngx_http_hangar_mcp_cache[i].generation == gen
                && ngx_http_hangar_mcp_cache[i].policy_gen == pgen)
            {
                ngx_http_hangar_warmup_more(hr);

                return &ngx_http_hangar_mcp_cache[i];
            }

            free = i;
            break;
        }

        if (ngx_http_hangar_mcp_cache[i].hlcf == NULL
            && free == NGX_HTTP_HANGAR_MCP_CACHE)
        {
            free = i;
        }
    }

    if (free == NGX_HTTP_HANGAR_MCP_CACHE) {
        free = 0;
    }

    if (ngx_http_hangar_mcp_cache[free].pool) {
        ngx_destroy_pool(ngx_http_hangar_mcp_cache[free].pool);
        ngx_http_hangar_mcp_cache[free].pool = NULL;
        ngx_http_hangar_mcp_cache[free].hlcf = NULL;
    }

    ngx_http_hangar_mcp_cache[free].pool = ngx_create_pool(16384,
                                                           ngx_cycle->log);
    if (ngx_http_hangar_mcp_cache[free].pool == NULL) {
        return NULL;
    }

    c = &ngx_http_hangar_mcp_cache[free];

    if (ngx_http_hangar_mcp_build(hr, c->pool, hlcf->naming, &entries)
        != NGX_OK)
    {
        goto failed;
    }

    c->entries = entries;

    if (ngx_http_hangar_catalog_index(c) != NGX_OK) {
        goto failed;
    }

    c->hlcf = hlcf;
    c->generation = gen;
    c->policy_gen = pgen;

    ngx_http_hangar_catalog_publish(hr, c);

    return c;

failed:

    ngx_destroy_pool(c->pool);
    c->pool = NULL;

    return NULL;
}


/*
 * The names this build gives, to the zone's map: names that an earlier
 * build gave and this one takes back are retired there ("echo" that
 * became "a__echo", or the other way round).  In "prefixed" naming a
 * name never changes while its tool exists.
 */

static void
ngx_http_hangar_catalog_publish(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_mcp_cache_t *c)
{
    ngx_uint_t                i;
    ngx_array_t              *names;
    ngx_http_hangar_name_t   *nm;
    ngx_http_hangar_entry_t  *e;

    if (c->hlcf->naming == NGX_HTTP_HANGAR_NAMING_PREFIXED) {
        return;
    }

    names = ngx_array_create(hr->r->pool, c->entries->nelts + 1,
                             sizeof(ngx_http_hangar_name_t));
    if (names == NULL) {
        return;
    }

    e = c->entries->elts;

    for (i = 0; i < c->entries->nelts; i++) {
        nm = ngx_array_push(names);

        nm->server = e[i].server;
        nm->tool = e[i].tool;

        nm->name = e[i].name;
    }

    ngx_http_hangar_names_publish(hr, c->hlcf->naming,
                                  c->generation + c->policy_gen, names);
}


/* an open-addressing table of the exported names, twice as large */

static ngx_int_t
ngx_http_hangar_catalog_index(ngx_http_hangar_mcp_cache_t *c)
{
    ngx_uint_t                i, k, n, size;
    ngx_http_hangar_entry_t  *e;

    size = 2;
    while (size < 2 * c->entries->nelts) {
        size <<= 1;
    }

    c->index = ngx_pcalloc(c->pool, size * sizeof(ngx_uint_t));
    if (c->index == NULL) {
        return NGX_ERROR;
    }

    c->mask = size - 1;
    e = c->entries->elts;

    /* a name the policies hide never takes the place of one they show */
    for (n = 0; n < 2 * c->entries->nelts; n++) {
        i = n % c->entries->nelts;

        if (e[i].name.len == 0 || e[i].hidden != (n >= c->entries->nelts)) {
            continue;
        }

        for (k = ngx_hash_key(e[i].name.data, e[i].name.len) & c->mask;
             c->index[k];
             k = (k + 1) & c->mask)
        {
            if (e[c->index[k] - 1].name.len == e[i].name.len
                && ngx_strncmp(e[c->index[k] - 1].name.data, e[i].name.data,
                               e[i].name.len)
                   == 0)
            {
                /* the first of a name is the one called, as before */
                break;
            }
        }

        if (c->index[k] == 0) {
            c->index[k] = i + 1;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_mcp_build(ngx_http_hangar_req_t *hr, ngx_pool_t *pool,
    ngx_uint_t naming, ngx_array_t **entries)
{
    ngx_str_t                    server;
    ngx_uint_t                   i, j, k, dup;
    ngx_array_t                 *all, *copies, *withdrawals, *used;
    ngx_pool_cleanup_t          *cln;
    ngx_http_hangar_copy_t      *cp;
    ngx_http_hangar_entry_t     *e, *es;
    ngx_http_hangar_parsed_t    *parsed;
    ngx_http_hangar_value_t     *tools, **items, *name;

    copies = ngx_http_hangar_catalog_copy(hr, pool, 1);
    if (copies == NULL) {
        return NGX_ERROR;
    }

    /* the parsed catalogs this slot uses, released with its pool */
    used = ngx_array_create(pool, copies->nelts + 1,
                            sizeof(ngx_http_hangar_parsed_t *));
    cln = ngx_pool_cleanup_add(pool, 0);

    if (used == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_hangar_parsed_release;
    cln->data = used;

    ngx_http_hangar_parsed_build++;

    cp = copies->elts;

    all = ngx_array_create(pool, 64, sizeof(ngx_http_hangar_entry_t));
    withdrawals = ngx_http_hangar_catalog_withdrawals(hr, pool);

    if (all == NULL || withdrawals == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < copies->nelts; i++) {
        parsed = ngx_http_hangar_parsed_get(used, &cp[i]);
        if (parsed == NULL) {
            return NGX_ERROR;
        }

        tools = parsed->tools;

        if (!ngx_http_hangar_is(tools, NGX_HTTP_HANGAR_ARR)) {
            continue;
        }

        items = tools->u.arr.elts;

        /* a group's members are one logical server: the group */
        server = cp[i].id;

        if (ngx_http_hangar_group_of(hr->reg, &cp[i].id, pool, &server)
            == NGX_ERROR)
        {
            return NGX_ERROR;
        }

        for (j = 0; j < tools->u.arr.nelts; j++) {
            name = ngx_http_hangar_get(items[j], "name");

            if (!ngx_http_hangar_is(name, NGX_HTTP_HANGAR_STR)) {
                continue;
            }

            es = all->elts;

            for (k = 0; server.data != cp[i].id.data && k < all->nelts; k++) {
                if (ngx_memn2cmp(es[k].server.data, server.data,
                                 es[k].server.len, server.len) == 0
                    && ngx_memn2cmp(es[k].tool.data, name->u.s.data,
                                    es[k].tool.len, name->u.s.len) == 0)
                {
                    break;
                }
            }

            if (server.data != cp[i].id.data && k < all->nelts) {
                continue;   /* another member has it */
            }

            e = ngx_array_push(all);
            if (e == NULL) {
                return NGX_ERROR;
            }

            e->server = server;
            e->tool = name->u.s;
            e->schema = items[j];
            e->hidden = !ngx_http_hangar_policy_base(hr->reg, &cp[i].id,
                                                 NGX_HTTP_HANGAR_POLICY_TOOL,
                                                 &name->u.s);
            e->dup = 0;
            ngx_str_null(&e->name);
            ngx_http_hangar_catalog_withdrawn(withdrawals, e);
        }
    }

    /* the servers gone (or without a catalog now) */
    ngx_http_hangar_parsed_sweep();

    if (ngx_http_hangar_mcp_dups(pool, all) != NGX_OK) {
        return NGX_ERROR;
    }

    es = all->elts;

    for (i = 0; i < all->nelts; i++) {
        dup = es[i].dup;

        if (dup && naming == NGX_HTTP_HANGAR_NAMING_FLAT && !es[i].hidden) {
            /* as the original: an ambiguous name is not offered */
            ngx_log_error(NGX_LOG_WARN, hr->r->connection->log, 0,
                          "hangar: tool \"%V\" of \"%V\" is offered by more "
                          "than one server and is hidden (flat naming)",
                          &es[i].tool, &es[i].server);
            continue;
        }

        if (ngx_http_hangar_mcp_export(pool, &es[i].server, &es[i].tool,
                                       naming == NGX_HTTP_HANGAR_NAMING_PREFIXED
                                       || dup,
                                       &es[i].name)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    *entries = all;

    return NGX_OK;
}


/*
 * The server's parsed catalog for its text: the cached one when the text
 * is the same, else parsed anew (the one it supersedes dropped).  The
 * slot's reference is recorded in used.
 */

static ngx_http_hangar_parsed_t *
ngx_http_hangar_parsed_get(ngx_array_t *used, ngx_http_hangar_copy_t *cp)
{
    ngx_str_t                   err;
    ngx_uint_t                  b;
    ngx_pool_t                 *pool;
    ngx_http_hangar_parsed_t   *p, **pp, **u;

    b = ngx_hash_key(cp->id.data, cp->id.len)
        % NGX_HTTP_HANGAR_PARSED_BUCKETS;

    for (pp = &ngx_http_hangar_parsed[b]; *pp; pp = &(*pp)->next) {
        p = *pp;

        if (p->id.len != cp->id.len
            || ngx_memcmp(p->id.data, cp->id.data, cp->id.len) != 0)
        {
            continue;
        }

        if (p->text.len == cp->tools.len
            && ngx_memcmp(p->text.data, cp->tools.data, cp->tools.len) == 0)
        {
            goto found;
        }

        /* superseded: out of its bucket, destroyed once unused */
        *pp = p->next;
        ngx_http_hangar_parsed_drop(p);
        break;
    }

    u = ngx_array_push(used);
    if (u == NULL) {
        return NULL;
    }

    *u = NULL;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NULL;
    }

    p = ngx_pcalloc(pool, sizeof(ngx_http_hangar_parsed_t));
    if (p == NULL) {
        goto failed;
    }

    p->pool = pool;
    p->id.len = cp->id.len;
    p->id.data = ngx_pnalloc(pool, cp->id.len);
    p->text.len = cp->tools.len;
    p->text.data = ngx_pnalloc(pool, cp->tools.len);

    if (p->id.data == NULL || p->text.data == NULL) {
        goto failed;
    }

    ngx_memcpy(p->id.data, cp->id.data, cp->id.len);
    ngx_memcpy(p->text.data, cp->tools.data, cp->tools.len);

    p->tools = ngx_http_hangar_json_parse(pool, p->text.data, p->text.len,
                                          &err);

    p->current = 1;
    p->next = ngx_http_hangar_parsed[b];
    ngx_http_hangar_parsed[b] = p;

    p->refs = 1;
    p->seen = ngx_http_hangar_parsed_build;
    *u = p;

    return p;

found:

    if (p->seen != ngx_http_hangar_parsed_build) {
        u = ngx_array_push(used);
        if (u == NULL) {
            return NULL;
        }

        p->refs++;
        p->seen = ngx_http_hangar_parsed_build;
        *u = p;
    }

    return p;

failed:

    ngx_destroy_pool(pool);

    return NULL;
}


/* the current entries this build did not see: their servers are gone */

static void
ngx_http_hangar_parsed_sweep(void)
{
    ngx_uint_t                  b;
    ngx_http_hangar_parsed_t   *p, **pp;

    for (b = 0; b < NGX_HTTP_HANGAR_PARSED_BUCKETS; b++) {
        pp = &ngx_http_hangar_parsed[b];

        while (*pp) {
            p = *pp;

            if (p->seen == ngx_http_hangar_parsed_build) {
                pp = &p->next;
                continue;
            }

            *pp = p->next;
            ngx_http_hangar_parsed_drop(p);
        }
    }
}


/* out of the cache (already unlinked): destroyed now or by its last slot */

static void
ngx_http_hangar_parsed_drop(ngx_http_hangar_parsed_t *p)
{
    p->current = 0;
    p->next = NULL;

    if (p->refs == 0) {
        ngx_destroy_pool(p->pool);
    }
}


/* a slot's pool goes: its references go with it */

static void
ngx_http_hangar_parsed_release(void *data)
{
    ngx_array_t  *used = data;

    ngx_uint_t                  i;
    ngx_http_hangar_parsed_t  **u;

    u = used->elts;

    for (i = 0; i < used->nelts; i++) {
        if (u[i] == NULL) {
            continue;
        }

        if (--u[i]->refs == 0 && !u[i]->current) {
            ngx_destroy_pool(u[i]->pool);
        }
    }
}


/*
 * Marks the entries whose tool name another server offers too: sorted by
 * name, equal names are neighbours, so the fleet's catalog is named in
 * O(n log n) (10,000 tools and more).
 */

static ngx_int_t
ngx_http_hangar_mcp_dups(ngx_pool_t *pool, ngx_array_t *all)
{
    ngx_uint_t                 i, j, n;
    ngx_http_hangar_entry_t   *es, **sorted;

    if (all->nelts < 2) {
        return NGX_OK;
    }

    sorted = ngx_palloc(pool, all->nelts * sizeof(ngx_http_hangar_entry_t *));
    if (sorted == NULL) {
        return NGX_ERROR;
    }

    es = all->elts;

    /* a tool the policies hide for everyone does not make a name ambiguous */
    for (i = 0, n = 0; i < all->nelts; i++) {
        if (!es[i].hidden) {
            sorted[n++] = &es[i];
        }
    }

    ngx_qsort(sorted, n, sizeof(ngx_http_hangar_entry_t *),
              ngx_http_hangar_mcp_tool_cmp);

    for (i = 0; i < n; i = j) {

        for (j = i + 1;
             j < n
             && ngx_http_hangar_mcp_tool_cmp(&sorted[i], &sorted[j]) == 0;
             j++)
        {
            sorted[i]->dup = 1;
            sorted[j]->dup = 1;
        }
    }

    return NGX_OK;
}


static int ngx_libc_cdecl
ngx_http_hangar_mcp_tool_cmp(const void *one, const void *two)
{
    ngx_http_hangar_entry_t  *a, *b;

    a = *(ngx_http_hangar_entry_t **) one;
    b = *(ngx_http_hangar_entry_t **) two;

    return (int) ngx_memn2cmp(a->tool.data, b->tool.data, a->tool.len,
                              b->tool.len);
}


/*
 * The withdrawals ("server\0tool\0tenant"), copied under the slab mutex
 * once per build and sorted: an entry finds its own without a lock.
 */

static ngx_array_t *
ngx_http_hangar_catalog_withdrawals(ngx_http_hangar_req_t *hr,
    ngx_pool_t *pool)
{
    ngx_str_t               *k;
    ngx_queue_t             *q;
    ngx_array_t             *keys;
    ngx_http_hangar_set_t   *set;
    ngx_http_hangar_item_t  *item;

    set = &hr->reg->sh->withdrawn;

    ngx_http_hangar_lock(hr->reg);

    keys = ngx_array_create(pool, set->count + 1, sizeof(ngx_str_t));
    if (keys == NULL) {
        goto failed;
    }

    for (q = ngx_queue_head(&set->queue);
         q != ngx_queue_sentinel(&set->queue);
         q = ngx_queue_next(q))
    {
        item = ngx_queue_data(q, ngx_http_hangar_item_t, queue);

        k = ngx_array_push(keys);
        if (k == NULL) {
            goto failed;
        }

        k->len = item->sn.str.len;
        k->data = ngx_pnalloc(pool, k->len);
        if (k->data == NULL) {
            goto failed;
        }

        ngx_memcpy(k->data, item->data, k->len);
    }

    ngx_http_hangar_unlock(hr->reg);

    ngx_qsort(keys->elts, keys->nelts, sizeof(ngx_str_t),
              ngx_http_hangar_str_cmp);

    return keys;

failed:

    ngx_http_hangar_unlock(hr->reg);

    return NULL;
}


/*
 * "server\0tool\0" itself: withdrawn for every tenant; a key that goes
 * on from it: for some tenant.  Sorted, both follow the place where the
 * prefix would be.
 */

static void
ngx_http_hangar_catalog_withdrawn(ngx_array_t *keys,
    ngx_http_hangar_entry_t *e)
{
    u_char      buf[NGX_HTTP_HANGAR_ID_MAX + NGX_HTTP_HANGAR_NAME_MAX + 2];
    ngx_str_t   prefix, *k;
    ngx_uint_t  lo, hi, mid;

    e->withdrawn = 0;
    e->tenants = 0;

    if (keys->nelts == 0 || e->server.len > NGX_HTTP_HANGAR_ID_MAX
        || e->tool.len > NGX_HTTP_HANGAR_NAME_MAX)
    {
        return;
    }

    prefix.data = buf;
    prefix.len = ngx_sprintf(buf, "%V%Z%V%Z", &e->server, &e->tool) - buf;

    k = keys->elts;
    lo = 0;
    hi = keys->nelts;

    while (lo < hi) {
        mid = (lo + hi) / 2;

        if (ngx_http_hangar_str_cmp(&k[mid], &prefix) < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    for ( /* void */ ; lo < keys->nelts; lo++) {
        if (k[lo].len < prefix.len
            || ngx_memcmp(k[lo].data, prefix.data, prefix.len) != 0)
        {
            break;
        }

        if (k[lo].len == prefix.len) {
            e->withdrawn = 1;

        } else {
            e->tenants = 1;
        }
    }
}


static int ngx_libc_cdecl
ngx_http_hangar_str_cmp(const void *one, const void *two)
{
    ngx_str_t  *a, *b;

    a = (ngx_str_t *) one;
    b = (ngx_str_t *) two;

    return (int) ngx_memn2cmp(a->data, b->data, a->len, b->len);
}


ngx_uint_t
ngx_http_hangar_catalog_access(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_entry_t *e, ngx_http_hangar_policy_verdict_t *v)
{
    ngx_str_t                     key, *tenant;
    ngx_http_hangar_principal_t  *p;

    v->allowed = 0;
    v->approval = 0;

    if (!ngx_http_hangar_auth_allowed(hr->r, "tool", "invoke", &e->name)) {
        return NGX_HTTP_HANGAR_ACCESS_RBAC;
    }

    p = ngx_http_hangar_auth_principal(hr->r);
    tenant = (p && p->tenant.len) ? &p->tenant : NULL;

    if (e->hidden
        || ngx_http_hangar_policy_decide(hr->reg, &e->server, NULL, tenant,
                                         NGX_HTTP_HANGAR_POLICY_TOOL,
                                         &e->tool, v)
           != NGX_OK
        || !v->allowed)
    {
        v->allowed = 0;
        return NGX_HTTP_HANGAR_ACCESS_POLICY;
    }

    if (e->withdrawn) {
        return NGX_HTTP_HANGAR_ACCESS_WITHDRAWN;
    }

    /* withdrawn for the caller's tenant: looked up only when one exists */
    if (e->tenants && tenant) {
        if (ngx_http_hangar_withdrawal_key(hr->r->pool, &e->server, &e->tool,
                                           tenant, &key)
            != NGX_OK
            || ngx_http_hangar_state_has(hr->reg, &hr->reg->sh->withdrawn,
                                         &key, 0))
        {
            return NGX_HTTP_HANGAR_ACCESS_WITHDRAWN;
        }
    }

    return NGX_HTTP_HANGAR_ACCESS_OK;
}


ngx_int_t
ngx_http_hangar_catalog_check(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_entry_t *e, ngx_http_hangar_policy_verdict_t *v,
    ngx_str_t *msg)
{
    ngx_str_t                     who;
    ngx_uint_t                    why;
    const char                   *error, *reason;
    ngx_http_hangar_principal_t  *p;

    why = ngx_http_hangar_catalog_access(hr, e, v);

    p = ngx_http_hangar_auth_principal(hr->r);

    if (p) {
        who = p->id;

    } else {
        ngx_str_set(&who, "-");
    }

    switch (why) {

    case NGX_HTTP_HANGAR_ACCESS_OK:
        ngx_log_error(NGX_LOG_INFO, hr->r->connection->log, 0,
                      "hangar: tool \"%V\" of \"%V\" allowed for principal "
                      "\"%V\"%s", &e->name, &e->server, &who,
                      v->approval ? " (approval required)" : "");
        /* logged, not put in the event ring: calls would flood it */
        return NGX_HTTP_HANGAR_ACCESS_OK;

    case NGX_HTTP_HANGAR_ACCESS_RBAC:
        error = "AccessDeniedError";
        reason = "rbac";
        msg->data = ngx_pnalloc(hr->r->pool, e->name.len + 128);
        if (msg->data == NULL) {
            return NGX_ERROR;
        }

        msg->len = ngx_sprintf(msg->data, "AccessDeniedError: Not "
                               "authorized to invoke tool '%V': tool:invoke "
                               "permission required", &e->name)
                   - msg->data;
        break;

    case NGX_HTTP_HANGAR_ACCESS_POLICY:
        error = "ToolAccessDeniedError";
        reason = "policy";
        ngx_str_set(msg, "ToolAccessDeniedError: Tool not available for "
                         "this mcp_server");
        break;

    default: /* NGX_HTTP_HANGAR_ACCESS_WITHDRAWN */
        error = "ToolWithdrawnError";
        reason = "withdrawn";
        msg->data = ngx_pnalloc(hr->r->pool, e->name.len + 64);
        if (msg->data == NULL) {
            return NGX_ERROR;
        }

        msg->len = ngx_sprintf(msg->data, "ToolWithdrawnError: Tool '%V' "
                               "is withdrawn for this tenant", &e->name)
                   - msg->data;
    }

    ngx_log_error(NGX_LOG_INFO, hr->r->connection->log, 0,
                  "hangar: tool \"%V\" of \"%V\" refused for principal "
                  "\"%V\": %s", &e->name, &e->server, &who, error);

    ngx_http_hangar_catalog_event(hr, e, "ToolAccessDenied", reason, &who);

    return why;
}


/* {"tool","principal_id","reason"}, bounded to the event's size */

static void
ngx_http_hangar_catalog_event(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_entry_t *e, const char *type, const char *reason,
    ngx_str_t *who)
{
    ngx_str_t              data;
    ngx_http_hangar_out_t  out;

    ngx_http_hangar_out_init(&out, hr->r->pool, 256);
    ngx_http_hangar_out_lit(&out, "{\"tool\":");
    ngx_http_hangar_out_str(&out, e->name.data, ngx_min(e->name.len, 64));
    ngx_http_hangar_out_lit(&out, ",\"principal_id\":");
    ngx_http_hangar_out_str(&out, who->data, ngx_min(who->len, 64));
    ngx_http_hangar_out_printf(&out, ",\"reason\":\"%s\"}", reason);

    if (ngx_http_hangar_out_flatten(&out, &data) != NGX_OK) {
        return;
    }

    ngx_http_hangar_event(hr->reg, type, e->server.data, e->server.len, "%V",
                          &data);
}


/*
 * An exported name matches ^[A-Za-z0-9_-]{1,64}$: other bytes become "_",
 * and a longer name keeps 55 bytes and a hash of the whole, so it is
 * still unique and stable.
 */

static ngx_int_t
ngx_http_hangar_mcp_export(ngx_pool_t *pool, ngx_str_t *server,
    ngx_str_t *tool, ngx_uint_t prefix, ngx_str_t *name)
{
    u_char      *p, *full;
    size_t       len, i;
    uint32_t     crc;

    len = (prefix ? server->len + 2 : 0) + tool->len;

    full = ngx_pnalloc(pool, ngx_max(len, 64) + 1);
    if (full == NULL) {
        return NGX_ERROR;
    }

    p = full;

    if (prefix) {
        p = ngx_cpymem(p, server->data, server->len);
        *p++ = '_';
        *p++ = '_';
    }

    p = ngx_cpymem(p, tool->data, tool->len);

    crc = ngx_crc32_short(full, len);

    for (i = 0; i < len; i++) {
        if (!(isalnum(full[i]) || full[i] == '_' || full[i] == '-')) {
            full[i] = '_';
        }
    }

    if (len > 64) {
        ngx_sprintf(full + 55, "_%08xD", crc);
        len = 64;
    }

    name->data = full;
    name->len = len;

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_catalog_name(ngx_pool_t *pool, ngx_str_t *server,
    ngx_str_t *name, ngx_uint_t prefix, ngx_str_t *exported)
{
    return ngx_http_hangar_mcp_export(pool, server, name, prefix, exported);
}


/*
 * Copies of the id, spec and catalog of every server that has a catalog,
 * taken under the lock (parsed outside it).  With warm, a server that
 * has none is started once in the background (the front door).
 */

ngx_array_t *
ngx_http_hangar_catalog_copy(ngx_http_hangar_req_t *hr, ngx_pool_t *pool,
    ngx_uint_t warm)
{
    ngx_uint_t               inflight;
    ngx_queue_t             *q;
    ngx_array_t             *copies;
    ngx_http_hangar_copy_t  *cp;
    ngx_http_hangar_node_t  *node;

    ngx_http_hangar_lock(hr->reg);

    inflight = warm ? ngx_http_hangar_warmup_begin(hr) : 0;

    copies = ngx_array_create(pool, hr->reg->sh->servers.count + 1,
                              sizeof(ngx_http_hangar_copy_t));
    if (copies == NULL) {
        goto failed;
    }

    for (q = ngx_queue_head(&hr->reg->sh->servers.queue);
         q != ngx_queue_sentinel(&hr->reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        if (node->tools == NULL) {
            if (warm) {
                ngx_http_hangar_warmup_node(hr, node, &inflight);
            }

            continue;
        }

        cp = ngx_array_push(copies);
        if (cp == NULL) {
            goto failed;
        }

        cp->id.len = node->id_len;
        cp->id.data = ngx_pnalloc(pool, node->id_len);
        cp->spec.len = node->spec->len;
        cp->spec.data = ngx_pnalloc(pool, node->spec->len);
        cp->tools.len = node->tools->len;
        cp->tools.data = ngx_pnalloc(pool, node->tools->len);

        if (cp->id.data == NULL || cp->spec.data == NULL
            || cp->tools.data == NULL)
        {
            goto failed;
        }

        ngx_memcpy(cp->id.data, node->id, node->id_len);
        ngx_memcpy(cp->spec.data, node->spec->data, node->spec->len);
        ngx_memcpy(cp->tools.data, node->tools->data, node->tools->len);
    }

    ngx_http_hangar_unlock(hr->reg);

    return copies;

failed:

    ngx_http_hangar_unlock(hr->reg);

    return NULL;
}
