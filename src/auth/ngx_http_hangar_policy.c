
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The tool access policy engine.  Every worker keeps the layers parsed:
 * those of hangar.yaml come with the servers' and groups' specs in the
 * zone, those of the API with the state file's policies document.  The
 * copy is rebuilt when the registry's generation or the document's
 * changes, never per call.  A decision is the layered AND of
 * hangar-security.md §3.7: every layer must allow a name, a match in any
 * approval list holds the call.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hangar_policy.h"
#include "ngx_http_hangar_state_doc.h"
#include "ngx_http_hangar_state.h"


#define NGX_HTTP_HANGAR_POLICY_KEY  512


typedef struct {
    ngx_str_t                    key;       /* kind, scope, ':', target */
    ngx_http_hangar_policy_t    *yaml;
    ngx_http_hangar_policy_t    *api;
    ngx_http_hangar_policy_t    *eff;
} ngx_http_hangar_policy_slot_t;


/* this worker's copy */
typedef struct {
    ngx_pool_t                  *pool;
    ngx_array_t                 *slots;     /* ngx_http_hangar_policy_slot_t */
    ngx_uint_t                  *index;     /* slot + 1 */
    ngx_uint_t                   mask;
    ngx_atomic_uint_t            reg_gen;
    ngx_atomic_uint_t            doc_gen;
    ngx_http_hangar_registry_t  *reg;
} ngx_http_hangar_policy_cache_t;


/* a spec copied out of the zone */
typedef struct {
    ngx_str_t                    id;
    ngx_str_t                    spec;
    ngx_uint_t                   group;
} ngx_http_hangar_policy_copy_t;


static ngx_http_hangar_policy_cache_t *ngx_http_hangar_policy_cache(
    ngx_http_hangar_registry_t *reg);
static ngx_int_t ngx_http_hangar_policy_build(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_policy_cache_t *c);
static ngx_int_t ngx_http_hangar_policy_copy(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_array_t *copies);
static ngx_int_t ngx_http_hangar_policy_yaml(ngx_pool_t *pool,
    ngx_array_t *slots, ngx_http_hangar_policy_copy_t *cp);
static ngx_int_t ngx_http_hangar_policy_api(ngx_pool_t *pool,
    ngx_array_t *slots, ngx_str_t *doc);
static ngx_int_t ngx_http_hangar_policy_add(ngx_pool_t *pool,
    ngx_array_t *slots, ngx_uint_t kind, ngx_uint_t scope, ngx_str_t *target,
    ngx_str_t *target2, ngx_http_hangar_value_t *v, ngx_uint_t api);
static ngx_int_t ngx_http_hangar_policy_index(
    ngx_http_hangar_policy_cache_t *c);
static int ngx_libc_cdecl ngx_http_hangar_policy_cmp(const void *one,
    const void *two);
static ngx_http_hangar_policy_slot_t *ngx_http_hangar_policy_find(
    ngx_http_hangar_policy_cache_t *c, ngx_str_t *key);
static ngx_uint_t ngx_http_hangar_policy_key(u_char *buf, ngx_uint_t kind,
    ngx_uint_t scope, ngx_str_t *target, ngx_str_t *target2, ngx_str_t *key);
static ngx_http_hangar_policy_t *ngx_http_hangar_policy_get(
    ngx_http_hangar_policy_cache_t *c, ngx_uint_t kind, ngx_uint_t scope,
    ngx_str_t *target, ngx_str_t *target2);
static void ngx_http_hangar_policy_eval(ngx_http_hangar_policy_t **layer,
    ngx_uint_t n, ngx_str_t *name, ngx_http_hangar_policy_verdict_t *v);
static ngx_uint_t ngx_http_hangar_policy_any(ngx_array_t *globs,
    ngx_str_t *name);
static ngx_int_t ngx_http_hangar_policy_class(u_char *p, u_char *end,
    u_char c, u_char **next);
static ngx_int_t ngx_http_hangar_policy_list(ngx_pool_t *pool,
    ngx_http_hangar_value_t *v, ngx_array_t **list);
static void ngx_http_hangar_policy_list_out(ngx_http_hangar_out_t *out,
    ngx_array_t *list);


static ngx_http_hangar_policy_cache_t  ngx_http_hangar_policy_worker;

static const char  *ngx_http_hangar_policy_kinds[] = {
    "tool", "prompt", "resource", NULL
};


/* ---- the decision -------------------------------------------------------- */

ngx_int_t
ngx_http_hangar_policy_decide(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_str_t *group, ngx_str_t *tenant, ngx_uint_t kind,
    ngx_str_t *name, ngx_http_hangar_policy_verdict_t *v)
{
    ngx_uint_t                       n;
    ngx_http_hangar_policy_t        *layer[5];
    ngx_http_hangar_policy_cache_t  *c;

    v->allowed = 1;
    v->approval = 0;
    v->timeout = 0;
    ngx_str_null(&v->channel);

    if (tenant && tenant->len == 0) {
        tenant = NULL;
    }

    /* front_door: a caller without a tenant sees nothing (§3.7 step 2) */
    if (reg->hmcf->tool_access == NGX_HTTP_HANGAR_ACCESS_FRONT_DOOR
        && tenant == NULL)
    {
        v->allowed = 0;
        return NGX_OK;
    }

    c = ngx_http_hangar_policy_cache(reg);
    if (c == NULL) {
        /* fail closed */
        v->allowed = 0;
        return NGX_ERROR;
    }

    if (c->slots->nelts == 0) {
        return NGX_OK;
    }

    n = 0;
    layer[n++] = ngx_http_hangar_policy_get(c, kind,
                                   NGX_HTTP_HANGAR_SCOPE_PROVIDER,
                                   &(ngx_str_t) ngx_string(
                                       NGX_HTTP_HANGAR_POLICY_GLOBAL),
                                   NULL);
    layer[n++] = ngx_http_hangar_policy_get(c, kind,
                                            NGX_HTTP_HANGAR_SCOPE_PROVIDER,
                                            server, NULL);

    if (group && group->len) {
        layer[n++] = ngx_http_hangar_policy_get(c, kind,
                                                NGX_HTTP_HANGAR_SCOPE_GROUP,
                                                group, NULL);
        if (tenant) {
            layer[n++] = ngx_http_hangar_policy_get(c, kind,
                                                NGX_HTTP_HANGAR_SCOPE_MEMBER,
                                                group, tenant);
        }

    } else if (tenant) {
        layer[n++] = ngx_http_hangar_policy_get(c, kind,
                                                NGX_HTTP_HANGAR_SCOPE_TENANT,
                                                server, tenant);
    }

    ngx_http_hangar_policy_eval(layer, n, name, v);

    return NGX_OK;
}


/* whether any policy is in force (a caller can be refused by one) */

ngx_uint_t
ngx_http_hangar_policy_active(ngx_http_hangar_registry_t *reg)
{
    ngx_http_hangar_policy_cache_t  *c;

    if (reg->hmcf->tool_access == NGX_HTTP_HANGAR_ACCESS_FRONT_DOOR) {
        return 1;
    }

    c = ngx_http_hangar_policy_cache(reg);

    /* fail closed: without the policies, calls are checked (and refused) */
    return c == NULL || c->slots->nelts != 0;
}


/*
 * The layers of hangar.yaml and the API that hold for every caller of the
 * server (_global and the server's): 0 when they deny the name.  The
 * front door's catalog leaves such a name out of its naming.
 */

ngx_uint_t
ngx_http_hangar_policy_base(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_uint_t kind, ngx_str_t *name)
{
    ngx_http_hangar_policy_t          *layer[2];
    ngx_http_hangar_policy_cache_t    *c;
    ngx_http_hangar_policy_verdict_t   v;

    c = ngx_http_hangar_policy_cache(reg);
    if (c == NULL) {
        return 0;
    }

    if (c->slots->nelts == 0) {
        return 1;
    }

    layer[0] = ngx_http_hangar_policy_get(c, kind,
                                   NGX_HTTP_HANGAR_SCOPE_PROVIDER,
                                   &(ngx_str_t) ngx_string(
                                       NGX_HTTP_HANGAR_POLICY_GLOBAL),
                                   NULL);
    layer[1] = ngx_http_hangar_policy_get(c, kind,
                                          NGX_HTTP_HANGAR_SCOPE_PROVIDER,
                                          server, NULL);

    ngx_http_hangar_policy_eval(layer, 2, name, &v);

    return v.allowed;
}


/* allowed = AND(layer allows), approval = allowed && OR(approval match) */

static void
ngx_http_hangar_policy_eval(ngx_http_hangar_policy_t **layer, ngx_uint_t n,
    ngx_str_t *name, ngx_http_hangar_policy_verdict_t *v)
{
    ngx_uint_t                 i, held, timeout, t;
    ngx_http_hangar_policy_t  *l;

    v->allowed = 1;
    v->approval = 0;
    v->timeout = 0;
    ngx_str_null(&v->channel);

    held = 0;
    timeout = 0;

    for (i = 0; i < n; i++) {
        l = layer[i];

        if (l == NULL) {
            continue;
        }

        if (ngx_http_hangar_policy_any(l->deny, name)) {
            v->allowed = 0;
            return;
        }

        if (ngx_http_hangar_policy_any(l->approval, name)) {
            held = 1;

        } else if (l->allow && !ngx_http_hangar_policy_any(l->allow, name)) {
            v->allowed = 0;
            return;
        }

        /* timeout: the least of the layers with an approval list; channel:
         * the narrowest of them */
        if (l->approval) {
            t = l->timeout ? l->timeout : NGX_HTTP_HANGAR_POLICY_TIMEOUT;

            if (timeout == 0 || t < timeout) {
                timeout = t;
            }

            v->channel = l->channel;
        }
    }

    if (held) {
        v->approval = 1;
        v->timeout = timeout;

    } else {
        ngx_str_null(&v->channel);
    }
}


static ngx_uint_t
ngx_http_hangar_policy_any(ngx_array_t *globs, ngx_str_t *name)
{
    ngx_str_t   *g;
    ngx_uint_t   i;

    if (globs == NULL) {
        return 0;
    }

    g = globs->elts;

    for (i = 0; i < globs->nelts; i++) {
        if (ngx_http_hangar_policy_match(&g[i], name)) {
            return 1;
        }
    }

    return 0;
}


/*
 * fnmatch as Python's fnmatch.fnmatchcase: "*", "?", "[seq]", "[!seq]"
 * with ranges, a "[" without its "]" is literal, no escapes.  Every token
 * but "*" takes one byte, so on a mismatch only the last "*" needs to take
 * one more: O(len(pattern) * len(name)), never exponential.
 */

ngx_uint_t
ngx_http_hangar_policy_match(ngx_str_t *pattern, ngx_str_t *name)
{
    u_char     *p, *pend, *s, *send, *star_p, *star_s, *next;
    ngx_int_t   rc;

    p = pattern->data;
    pend = p + pattern->len;
    s = name->data;
    send = s + name->len;
    star_p = NULL;
    star_s = NULL;

    while (s < send) {

        if (p < pend) {

            if (*p == '*') {
                star_p = ++p;
                star_s = s;
                continue;
            }

            if (*p == '?') {
                p++;
                s++;
                continue;
            }

            if (*p == '[') {
                rc = ngx_http_hangar_policy_class(p + 1, pend, *s, &next);

                if (rc == 1) {
                    p = next;
                    s++;
                    continue;
                }

                if (rc == 0) {
                    goto backtrack;
                }

                /* no "]": a literal "[" */
            }

            if (*p == *s) {
                p++;
                s++;
                continue;
            }
        }

    backtrack:

        if (star_p == NULL) {
            return 0;
        }

        p = star_p;
        s = ++star_s;
    }

    while (p < pend && *p == '*') {
        p++;
    }

    return p == pend;
}


/* 1 c is in the class, 0 it is not, NGX_DECLINED the class is not closed */

static ngx_int_t
ngx_http_hangar_policy_class(u_char *p, u_char *end, u_char c, u_char **next)
{
    u_char      *first;
    ngx_uint_t   negate, in;

    negate = 0;

    if (p < end && *p == '!') {
        negate = 1;
        p++;
    }

    first = p;
    in = 0;

    for ( /* void */ ; p < end; p++) {

        /* a "]" first in the class is one of its bytes */
        if (*p == ']' && p != first) {
            *next = p + 1;
            return in ^ negate;
        }

        if (p + 2 < end && p[1] == '-' && p[2] != ']') {
            if (c >= p[0] && c <= p[2]) {
                in = 1;
            }

            p += 2;
            continue;
        }

        if (*p == c) {
            in = 1;
        }
    }

    return NGX_DECLINED;
}


/* ---- the worker's copy --------------------------------------------------- */

static ngx_http_hangar_policy_cache_t *
ngx_http_hangar_policy_cache(ngx_http_hangar_registry_t *reg)
{
    ngx_atomic_uint_t                reg_gen, doc_gen;
    ngx_http_hangar_policy_cache_t  *c;

    c = &ngx_http_hangar_policy_worker;

    reg_gen = reg->sh->generation;
    doc_gen = ngx_http_hangar_state_doc_gen(reg, NGX_HTTP_HANGAR_DOC_POLICIES);

    if (c->pool && c->reg == reg && c->reg_gen == reg_gen
        && c->doc_gen == doc_gen)
    {
        return c;
    }

    if (c->pool) {
        ngx_destroy_pool(c->pool);
        c->pool = NULL;
    }

    c->pool = ngx_create_pool(16384, ngx_cycle->log);
    if (c->pool == NULL) {
        return NULL;
    }

    if (ngx_http_hangar_policy_build(reg, c) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "hangar: the tool access policies could not be "
                      "loaded; every tool is refused until they are");
        ngx_destroy_pool(c->pool);
        c->pool = NULL;
        return NULL;
    }

    /* the document's generation is the one of the copy it was built from */
    c->reg = reg;
    c->reg_gen = reg_gen;

    return c;
}


static ngx_int_t
ngx_http_hangar_policy_build(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_policy_cache_t *c)
{
    ngx_str_t                        doc;
    ngx_uint_t                       i;
    ngx_array_t                      copies;
    ngx_atomic_uint_t                gen;
    ngx_http_hangar_policy_t        *y, *a, *e;
    ngx_http_hangar_policy_copy_t   *cp;
    ngx_http_hangar_policy_slot_t   *s;

    c->slots = ngx_array_create(c->pool, 16,
                                sizeof(ngx_http_hangar_policy_slot_t));
    if (c->slots == NULL
        || ngx_array_init(&copies, c->pool, 16,
                          sizeof(ngx_http_hangar_policy_copy_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_hangar_policy_copy(reg, c->pool, &copies) != NGX_OK) {
        return NGX_ERROR;
    }

    cp = copies.elts;

    for (i = 0; i < copies.nelts; i++) {
        if (ngx_http_hangar_policy_yaml(c->pool, c->slots, &cp[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ngx_http_hangar_state_doc(reg, NGX_HTTP_HANGAR_DOC_POLICIES, c->pool,
                                  &doc, &gen)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    c->doc_gen = gen;

    if (ngx_http_hangar_policy_api(c->pool, c->slots, &doc) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_hangar_policy_index(c) != NGX_OK) {
        return NGX_ERROR;
    }

    /* in force: the API's, with hangar.yaml's approval gate if it has none */
    s = c->slots->elts;

    for (i = 0; i < c->slots->nelts; i++) {
        y = s[i].yaml;
        a = s[i].api;

        if (a == NULL) {
            s[i].eff = y;
            continue;
        }

        if (y == NULL || a->approval) {
            s[i].eff = a;
            continue;
        }

        e = ngx_palloc(c->pool, sizeof(ngx_http_hangar_policy_t));
        if (e == NULL) {
            return NGX_ERROR;
        }

        *e = *a;
        e->approval = y->approval;
        e->timeout = y->timeout;
        e->channel = y->channel;
        s[i].eff = e;
    }

    return NGX_OK;
}


/*
 * Copies of the specs that may declare a policy, under the slab mutex;
 * parsed after it is released.
 */

static ngx_int_t
ngx_http_hangar_policy_copy(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_array_t *copies)
{
    ngx_str_t                      *m;
    ngx_uint_t                      t;
    ngx_queue_t                    *q, *queue;
    ngx_http_hangar_node_t         *node;
    ngx_http_hangar_policy_copy_t  *cp;

    static ngx_str_t  marks[] = {
        ngx_string("\"tools\":{"), ngx_string("\"tool_access\":"),
        ngx_string("\"access\":"), ngx_string("\"members\":"),
        ngx_null_string
    };

    ngx_http_hangar_lock(reg);

    for (t = 0; t < 2; t++) {
        queue = t ? &reg->sh->groups.queue : &reg->sh->servers.queue;

        for (q = ngx_queue_head(queue);
             q != ngx_queue_sentinel(queue);
             q = ngx_queue_next(q))
        {
            node = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

            if (node->spec == NULL) {
                continue;
            }

            for (m = marks; m->len; m++) {
                if (ngx_strlcasestrn(node->spec->data,
                                     node->spec->data + node->spec->len,
                                     m->data, m->len - 1)
                    != NULL)
                {
                    break;
                }
            }

            if (m->len == 0) {
                continue;
            }

            cp = ngx_array_push(copies);
            if (cp == NULL) {
                goto failed;
            }

            cp->group = t;
            cp->id.len = node->id_len;
            cp->id.data = ngx_pnalloc(pool, node->id_len);
            cp->spec.len = node->spec->len;
            cp->spec.data = ngx_pnalloc(pool, node->spec->len);

            if (cp->id.data == NULL || cp->spec.data == NULL) {
                goto failed;
            }

            ngx_memcpy(cp->id.data, node->id, node->id_len);
            ngx_memcpy(cp->spec.data, node->spec->data, node->spec->len);
        }
    }

    ngx_http_hangar_unlock(reg);

    return NGX_OK;

failed:

    ngx_http_hangar_unlock(reg);

    return NGX_ERROR;
}


/* the layers one spec declares */

static ngx_int_t
ngx_http_hangar_policy_yaml(ngx_pool_t *pool, ngx_array_t *slots,
    ngx_http_hangar_policy_copy_t *cp)
{
    ngx_str_t                 err;
    ngx_uint_t                i, k, scope;
    ngx_http_hangar_pair_t   *pair;
    ngx_http_hangar_value_t  *spec, *v, *member, **items, *id;

    spec = ngx_http_hangar_json_parse(pool, cp->spec.data, cp->spec.len,
                                      &err);
    if (spec == NULL) {
        return NGX_ERROR;
    }

    scope = cp->group ? NGX_HTTP_HANGAR_SCOPE_GROUP
                      : NGX_HTTP_HANGAR_SCOPE_PROVIDER;

    /* "access: {prompt: ..., resource: ...}"; "tools:" is the tool kind */
    v = ngx_http_hangar_get(spec, "access");

    for (k = 0; ngx_http_hangar_is(v, NGX_HTTP_HANGAR_OBJ)
                && ngx_http_hangar_policy_kinds[k]; k++)
    {
        member = ngx_http_hangar_get(v, ngx_http_hangar_policy_kinds[k]);

        if (ngx_http_hangar_is(member, NGX_HTTP_HANGAR_OBJ)
            && ngx_http_hangar_policy_add(pool, slots, k, scope, &cp->id,
                                          NULL, member, 0)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    v = ngx_http_hangar_get(spec, "tools");

    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_OBJ)
        && ngx_http_hangar_policy_add(pool, slots,
                                      NGX_HTTP_HANGAR_POLICY_TOOL, scope,
                                      &cp->id, NULL, v, 0)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* tool_access.member."<tenant>" of a server */
    v = ngx_http_hangar_get(ngx_http_hangar_get(spec, "tool_access"),
                            "member");

    if (!cp->group && ngx_http_hangar_is(v, NGX_HTTP_HANGAR_OBJ)) {
        pair = v->u.obj.elts;

        for (i = 0; i < v->u.obj.nelts; i++) {
            if (ngx_http_hangar_is(pair[i].value, NGX_HTTP_HANGAR_OBJ)
                && ngx_http_hangar_policy_add(pool, slots,
                                              NGX_HTTP_HANGAR_POLICY_TOOL,
                                              NGX_HTTP_HANGAR_SCOPE_TENANT,
                                              &cp->id, &pair[i].key,
                                              pair[i].value, 0)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    /* members[].tools of a group */
    v = ngx_http_hangar_get(spec, "members");

    if (!cp->group || !ngx_http_hangar_is(v, NGX_HTTP_HANGAR_ARR)) {
        return NGX_OK;
    }

    items = v->u.arr.elts;

    for (i = 0; i < v->u.arr.nelts; i++) {
        id = ngx_http_hangar_get(items[i], "id");
        member = ngx_http_hangar_get(items[i], "tools");

        if (ngx_http_hangar_is(id, NGX_HTTP_HANGAR_STR)
            && ngx_http_hangar_is(member, NGX_HTTP_HANGAR_OBJ)
            && ngx_http_hangar_policy_add(pool, slots,
                                          NGX_HTTP_HANGAR_POLICY_TOOL,
                                          NGX_HTTP_HANGAR_SCOPE_MEMBER,
                                          &cp->id, &id->u.s, member, 0)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * The API's document: {"policies":[{"scope","target_id","kind",
 * "allow_list","deny_list","approval_list","approval_timeout_seconds",
 * "approval_channel"}]}, written by this file only.
 */

static ngx_int_t
ngx_http_hangar_policy_api(ngx_pool_t *pool, ngx_array_t *slots,
    ngx_str_t *doc)
{
    ngx_str_t                 err;
    ngx_uint_t                i, kind, scope;
    ngx_http_hangar_value_t  *root, *rows, **row, *sc, *target, *k;

    if (doc->len == 0) {
        return NGX_OK;
    }

    root = ngx_http_hangar_json_parse(pool, doc->data, doc->len, &err);
    rows = ngx_http_hangar_get(root, "policies");

    if (!ngx_http_hangar_is(rows, NGX_HTTP_HANGAR_ARR)) {
        return NGX_ERROR;
    }

    row = rows->u.arr.elts;

    for (i = 0; i < rows->u.arr.nelts; i++) {
        sc = ngx_http_hangar_get(row[i], "scope");
        target = ngx_http_hangar_get(row[i], "target_id");
        k = ngx_http_hangar_get(row[i], "kind");

        if (!ngx_http_hangar_is(sc, NGX_HTTP_HANGAR_STR) || sc->u.s.len != 1
            || !ngx_http_hangar_is(target, NGX_HTTP_HANGAR_STR)
            || !ngx_http_hangar_is(k, NGX_HTTP_HANGAR_STR)
            || ngx_http_hangar_policy_kind(&k->u.s, &kind) != NGX_OK)
        {
            continue;
        }

        scope = sc->u.s.data[0];

        if (ngx_http_hangar_policy_add(pool, slots, kind, scope,
                                       &target->u.s, NULL, row[i], 1)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_policy_add(ngx_pool_t *pool, ngx_array_t *slots,
    ngx_uint_t kind, ngx_uint_t scope, ngx_str_t *target, ngx_str_t *target2,
    ngx_http_hangar_value_t *v, ngx_uint_t api)
{
    u_char                         buf[NGX_HTTP_HANGAR_POLICY_KEY];
    ngx_str_t                      key;
    ngx_http_hangar_policy_t      *p;
    ngx_http_hangar_policy_slot_t *s;

    if (!ngx_http_hangar_policy_key(buf, kind, scope, target, target2, &key))
    {
        return NGX_OK;
    }

    p = ngx_pcalloc(pool, sizeof(ngx_http_hangar_policy_t));
    if (p == NULL || ngx_http_hangar_policy_value(pool, v, p) != NGX_OK) {
        return NGX_ERROR;
    }

    /* a YAML layer and its API row share a key: merged once sorted */
    s = ngx_array_push(slots);
    if (s == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(s, sizeof(ngx_http_hangar_policy_slot_t));

    s->key.len = key.len;
    s->key.data = ngx_pnalloc(pool, key.len);
    if (s->key.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(s->key.data, key.data, key.len);

    if (api) {
        s->api = p;

    } else {
        s->yaml = p;
    }

    return NGX_OK;
}


/* "<kind><scope>:<target>[:<target2>]"; 0 when too long */

static ngx_uint_t
ngx_http_hangar_policy_key(u_char *buf, ngx_uint_t kind, ngx_uint_t scope,
    ngx_str_t *target, ngx_str_t *target2, ngx_str_t *key)
{
    if (target->len + (target2 ? target2->len : 0) + 8
        > NGX_HTTP_HANGAR_POLICY_KEY)
    {
        return 0;
    }

    key->data = buf;

    if (target2) {
        key->len = ngx_sprintf(buf, "%ui%c:%V:%V", kind, (int) scope, target,
                               target2)
                   - buf;

    } else {
        key->len = ngx_sprintf(buf, "%ui%c:%V", kind, (int) scope, target)
                   - buf;
    }

    return 1;
}


static ngx_int_t
ngx_http_hangar_policy_index(ngx_http_hangar_policy_cache_t *c)
{
    ngx_uint_t                      i, k, n, size;
    ngx_http_hangar_policy_slot_t  *s;

    size = 2;
    while (size < 2 * c->slots->nelts) {
        size <<= 1;
    }

    c->index = ngx_pcalloc(c->pool, size * sizeof(ngx_uint_t));
    if (c->index == NULL) {
        return NGX_ERROR;
    }

    c->mask = size - 1;
    s = c->slots->elts;

    /* sorted, a key's YAML layer and API row are neighbours: one slot */
    ngx_qsort(s, c->slots->nelts, sizeof(ngx_http_hangar_policy_slot_t),
              ngx_http_hangar_policy_cmp);

    for (i = 0, n = 0; i < c->slots->nelts; i++) {
        if (n && ngx_http_hangar_policy_cmp(&s[n - 1], &s[i]) == 0) {
            if (s[i].yaml) {
                s[n - 1].yaml = s[i].yaml;
            }

            if (s[i].api) {
                s[n - 1].api = s[i].api;
            }

            continue;
        }

        s[n++] = s[i];
    }

    c->slots->nelts = n;

    for (i = 0; i < c->slots->nelts; i++) {
        for (k = ngx_hash_key(s[i].key.data, s[i].key.len) & c->mask;
             c->index[k];
             k = (k + 1) & c->mask)
        {
            /* void */
        }

        c->index[k] = i + 1;
    }

    return NGX_OK;
}


static int ngx_libc_cdecl
ngx_http_hangar_policy_cmp(const void *one, const void *two)
{
    ngx_http_hangar_policy_slot_t  *a, *b;

    a = (ngx_http_hangar_policy_slot_t *) one;
    b = (ngx_http_hangar_policy_slot_t *) two;

    return (int) ngx_memn2cmp(a->key.data, b->key.data, a->key.len,
                              b->key.len);
}


static ngx_http_hangar_policy_slot_t *
ngx_http_hangar_policy_find(ngx_http_hangar_policy_cache_t *c, ngx_str_t *key)
{
    ngx_uint_t                      k;
    ngx_http_hangar_policy_slot_t  *s;

    s = c->slots->elts;

    for (k = ngx_hash_key(key->data, key->len) & c->mask;
         c->index[k];
         k = (k + 1) & c->mask)
    {
        if (s[c->index[k] - 1].key.len == key->len
            && ngx_memcmp(s[c->index[k] - 1].key.data, key->data, key->len)
               == 0)
        {
            return &s[c->index[k] - 1];
        }
    }

    return NULL;
}


static ngx_http_hangar_policy_t *
ngx_http_hangar_policy_get(ngx_http_hangar_policy_cache_t *c,
    ngx_uint_t kind, ngx_uint_t scope, ngx_str_t *target, ngx_str_t *target2)
{
    u_char                          buf[NGX_HTTP_HANGAR_POLICY_KEY];
    ngx_str_t                       key;
    ngx_http_hangar_policy_slot_t  *s;

    if (!ngx_http_hangar_policy_key(buf, kind, scope, target, target2, &key))
    {
        return NULL;
    }

    s = ngx_http_hangar_policy_find(c, &key);

    return s ? s->eff : NULL;
}


ngx_int_t
ngx_http_hangar_policy_layer(ngx_http_hangar_registry_t *reg,
    ngx_uint_t kind, ngx_uint_t scope, ngx_str_t *target,
    ngx_http_hangar_policy_t **yaml, ngx_http_hangar_policy_t **api,
    ngx_http_hangar_policy_t **eff)
{
    u_char                           buf[NGX_HTTP_HANGAR_POLICY_KEY];
    ngx_str_t                        key;
    ngx_http_hangar_policy_cache_t  *c;
    ngx_http_hangar_policy_slot_t   *s;

    *yaml = NULL;
    *api = NULL;
    *eff = NULL;

    c = ngx_http_hangar_policy_cache(reg);
    if (c == NULL) {
        return NGX_ERROR;
    }

    if (!ngx_http_hangar_policy_key(buf, kind, scope, target, NULL, &key)) {
        return NGX_OK;
    }

    s = ngx_http_hangar_policy_find(c, &key);

    if (s) {
        *yaml = s->yaml;
        *api = s->api;
        *eff = s->eff;
    }

    return NGX_OK;
}


/* ---- policies as values -------------------------------------------------- */

ngx_int_t
ngx_http_hangar_policy_value(ngx_pool_t *pool, ngx_http_hangar_value_t *v,
    ngx_http_hangar_policy_t *p)
{
    ngx_http_hangar_value_t  *x;

    ngx_memzero(p, sizeof(ngx_http_hangar_policy_t));

    if (ngx_http_hangar_policy_list(pool, ngx_http_hangar_get(v, "allow_list"),
                                    &p->allow)
        != NGX_OK
        || ngx_http_hangar_policy_list(pool,
                                       ngx_http_hangar_get(v, "deny_list"),
                                       &p->deny)
           != NGX_OK
        || ngx_http_hangar_policy_list(pool,
                                       ngx_http_hangar_get(v, "approval_list"),
                                       &p->approval)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    x = ngx_http_hangar_get(v, "approval_timeout_seconds");

    if (ngx_http_hangar_is(x, NGX_HTTP_HANGAR_INT) && x->u.i > 0
        && x->u.i <= NGX_HTTP_HANGAR_POLICY_TIMEOUT_MAX)
    {
        p->timeout = (ngx_uint_t) x->u.i;
    }

    x = ngx_http_hangar_get(v, "approval_channel");

    if (ngx_http_hangar_is(x, NGX_HTTP_HANGAR_STR)) {
        p->channel = x->u.s;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_policy_list(ngx_pool_t *pool, ngx_http_hangar_value_t *v,
    ngx_array_t **list)
{
    ngx_str_t                 *s;
    ngx_uint_t                 i;
    ngx_http_hangar_value_t  **items;

    *list = NULL;

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_ARR) || v->u.arr.nelts == 0) {
        return NGX_OK;
    }

    *list = ngx_array_create(pool, v->u.arr.nelts, sizeof(ngx_str_t));
    if (*list == NULL) {
        return NGX_ERROR;
    }

    items = v->u.arr.elts;

    for (i = 0; i < v->u.arr.nelts; i++) {
        if (items[i]->type != NGX_HTTP_HANGAR_STR || items[i]->u.s.len == 0) {
            continue;
        }

        s = ngx_array_push(*list);
        if (s == NULL) {
            return NGX_ERROR;
        }

        *s = items[i]->u.s;
    }

    if ((*list)->nelts == 0) {
        *list = NULL;
    }

    return NGX_OK;
}


/* the policy's fields of an object, without its braces */

void
ngx_http_hangar_policy_out(ngx_http_hangar_out_t *out,
    ngx_http_hangar_policy_t *p)
{
    ngx_http_hangar_out_lit(out, "\"allow_list\":");
    ngx_http_hangar_policy_list_out(out, p ? p->allow : NULL);
    ngx_http_hangar_out_lit(out, ",\"deny_list\":");
    ngx_http_hangar_policy_list_out(out, p ? p->deny : NULL);
    ngx_http_hangar_out_lit(out, ",\"approval_list\":");
    ngx_http_hangar_policy_list_out(out, p ? p->approval : NULL);
    ngx_http_hangar_out_printf(out, ",\"approval_timeout_seconds\":%ui",
                               (p && p->timeout)
                               ? p->timeout : NGX_HTTP_HANGAR_POLICY_TIMEOUT);
    ngx_http_hangar_out_lit(out, ",\"approval_channel\":");

    if (p) {
        ngx_http_hangar_out_str(out, p->channel.data, p->channel.len);

    } else {
        ngx_http_hangar_out_lit(out, "\"\"");
    }
}


static void
ngx_http_hangar_policy_list_out(ngx_http_hangar_out_t *out,
    ngx_array_t *list)
{
    ngx_str_t   *s;
    ngx_uint_t   i;

    ngx_http_hangar_out_lit(out, "[");

    if (list) {
        s = list->elts;

        for (i = 0; i < list->nelts; i++) {
            if (i) {
                ngx_http_hangar_out_lit(out, ",");
            }

            ngx_http_hangar_out_str(out, s[i].data, s[i].len);
        }
    }

    ngx_http_hangar_out_lit(out, "]");
}


ngx_int_t
ngx_http_hangar_policy_doc_put(ngx_pool_t *pool, ngx_str_t *doc,
    ngx_uint_t kind, ngx_uint_t scope, ngx_str_t *target,
    ngx_http_hangar_policy_t *p, ngx_str_t *text)
{
    ngx_str_t                  err;
    ngx_uint_t                 i, n, kd;
    ngx_http_hangar_out_t      out;
    ngx_http_hangar_value_t   *root, *rows, **row, *sc, *t, *k;

    rows = NULL;

    if (doc->len) {
        root = ngx_http_hangar_json_parse(pool, doc->data, doc->len, &err);
        rows = ngx_http_hangar_get(root, "policies");
    }

    ngx_http_hangar_out_init(&out, pool, 4096);
    ngx_http_hangar_out_lit(&out, "{\"policies\":[");

    n = 0;

    if (ngx_http_hangar_is(rows, NGX_HTTP_HANGAR_ARR)) {
        row = rows->u.arr.elts;

        for (i = 0; i < rows->u.arr.nelts; i++) {
            sc = ngx_http_hangar_get(row[i], "scope");
            t = ngx_http_hangar_get(row[i], "target_id");
            k = ngx_http_hangar_get(row[i], "kind");

            if (!ngx_http_hangar_is(sc, NGX_HTTP_HANGAR_STR)
                || !ngx_http_hangar_is(t, NGX_HTTP_HANGAR_STR)
                || !ngx_http_hangar_is(k, NGX_HTTP_HANGAR_STR))
            {
                continue;
            }

            /* the row replaced */
            if (sc->u.s.len == 1 && sc->u.s.data[0] == scope
                && t->u.s.len == target->len
                && ngx_strncmp(t->u.s.data, target->data, target->len) == 0
                && ngx_http_hangar_policy_kind(&k->u.s, &kd) == NGX_OK
                && kd == kind)
            {
                continue;
            }

            if (n++) {
                ngx_http_hangar_out_lit(&out, ",");
            }

            ngx_http_hangar_json_out(&out, row[i]);
        }
    }

    if (p) {
        if (n >= NGX_HTTP_HANGAR_POLICY_ROWS) {
            return NGX_DECLINED;
        }

        if (n++) {
            ngx_http_hangar_out_lit(&out, ",");
        }

        ngx_http_hangar_out_printf(&out, "{\"scope\":\"%c\",\"target_id\":",
                                   (int) scope);
        ngx_http_hangar_out_str(&out, target->data, target->len);
        ngx_http_hangar_out_printf(&out, ",\"kind\":\"%s\",",
                                   ngx_http_hangar_policy_kind_name(kind));
        ngx_http_hangar_policy_out(&out, p);
        ngx_http_hangar_out_lit(&out, "}");
    }

    ngx_http_hangar_out_lit(&out, "]}");

    if (n == 0) {
        /* nothing kept: the document goes */
        ngx_str_null(text);
        return NGX_OK;
    }

    return ngx_http_hangar_out_flatten(&out, text);
}


ngx_int_t
ngx_http_hangar_policy_kind(ngx_str_t *name, ngx_uint_t *kind)
{
    ngx_uint_t  k;

    for (k = 0; ngx_http_hangar_policy_kinds[k]; k++) {
        if (name->len == ngx_strlen(ngx_http_hangar_policy_kinds[k])
            && ngx_strncmp(name->data, ngx_http_hangar_policy_kinds[k],
                           name->len)
               == 0)
        {
            *kind = k;
            return NGX_OK;
        }
    }

    return NGX_ERROR;
}


const char *
ngx_http_hangar_policy_kind_name(ngx_uint_t kind)
{
    return kind <= NGX_HTTP_HANGAR_POLICY_RESOURCE
           ? ngx_http_hangar_policy_kinds[kind] : "";
}


const char *
ngx_http_hangar_policy_scope_name(ngx_uint_t scope)
{
    switch (scope) {
    case NGX_HTTP_HANGAR_SCOPE_PROVIDER:
        return "provider";
    case NGX_HTTP_HANGAR_SCOPE_GROUP:
        return "group";
    case NGX_HTTP_HANGAR_SCOPE_MEMBER:
        return "member";
    default:
        return "tenant";
    }
}
