
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * RBAC and the key store (hangar-security.md §1.3, §3).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/sha.h>
#include <openssl/crypto.h>
#include "ngx_http_hangar_rbac.h"
#include "ngx_http_hangar_state_doc.h"
#include "ngx_http_hangar_state.h"


/* a custom role, parsed */
typedef struct {
    ngx_str_t                    name;
    ngx_str_t                    description;
    ngx_array_t                  perms;     /* ngx_str_t[3] */
} ngx_http_hangar_role_t;


/* the worker's parsed copy of the "auth" document */
typedef struct {
    ngx_pool_t                  *pool;
    ngx_atomic_uint_t            gen;
    ngx_http_hangar_rbac_conf_t *conf;      /* the declarations it merged */
    ngx_array_t                  keys;      /* sorted by hash */
    ngx_array_t                  roles;     /* ngx_http_hangar_role_t */
    ngx_array_t                  assigns;   /* stored */
    unsigned                     loaded:1;
} ngx_http_hangar_rbac_cache_t;


/* when each key was last used, in the zone */
#define NGX_HTTP_HANGAR_USED_MAX  20000

typedef struct {
    ngx_rbtree_t                 rbtree;
    ngx_rbtree_node_t            sentinel;
    ngx_uint_t                   count;
} ngx_http_hangar_used_sh_t;

typedef struct {
    ngx_rbtree_node_t            node;      /* key: crc32 of the key id */
    ngx_msec_t                   used;
    size_t                       len;
    u_char                       id[32];
} ngx_http_hangar_used_t;


static ngx_http_hangar_rbac_conf_t *ngx_http_hangar_rbac_conf(void);
static ngx_http_hangar_rbac_cache_t *ngx_http_hangar_rbac_cache(void);
static ngx_int_t ngx_http_hangar_rbac_load(ngx_http_hangar_rbac_cache_t *c,
    ngx_str_t *text);
static ngx_int_t ngx_http_hangar_rbac_load_key(
    ngx_http_hangar_rbac_cache_t *c, ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_rbac_load_role(
    ngx_http_hangar_rbac_cache_t *c, ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_rbac_load_assign(
    ngx_http_hangar_rbac_cache_t *c, ngx_http_hangar_value_t *v);
static int ngx_libc_cdecl ngx_http_hangar_key_cmp(const void *a,
    const void *b);
static ngx_http_hangar_key_t *ngx_http_hangar_key_find(ngx_array_t *keys,
    u_char *hash);
static void ngx_http_hangar_key_used(ngx_str_t *key_id);
static ngx_http_hangar_used_t *ngx_http_hangar_used_find(
    ngx_http_hangar_used_sh_t *sh, uint32_t hash, ngx_str_t *key_id);
static ngx_uint_t ngx_http_hangar_role_grants(ngx_http_hangar_rbac_cache_t *c,
    ngx_str_t *role, ngx_str_t *rt, ngx_str_t *action, ngx_str_t *id);
static ngx_uint_t ngx_http_hangar_assign_applies(ngx_http_hangar_assign_t *a,
    ngx_http_hangar_principal_t *p);
static ngx_uint_t ngx_http_hangar_perm_match(ngx_str_t *grant, ngx_str_t *rt,
    ngx_str_t *action, ngx_str_t *id);
static ngx_str_t *ngx_http_hangar_str_of(ngx_http_hangar_value_t *obj,
    const char *key);


static ngx_http_hangar_rbac_cache_t  ngx_http_hangar_rbac_worker;


/* hangar-security.md §3.2 */

static const char  *ngx_http_hangar_perms_admin[] = {
    "*:*", "mcp_servers:read", "mcp_servers:write", "mcp_servers:lifecycle",
    "policy:read", "policy:write", "config:reload", NULL
};

static const char  *ngx_http_hangar_perms_provider_admin[] = {
    "mcp_servers:read", "policy:read", "policy:write", "provider:create",
    "provider:read", "provider:update", "provider:delete", "provider:list",
    "provider:start", "provider:stop", "provider:load",
    "provider:load:verified", "provider:load:any", "provider:unload",
    "tool:invoke", "tool:list", "metrics:read", "group:create", "group:read",
    "group:update", "group:delete", "group:list", "discovery:read",
    "discovery:trigger", "discovery:approve", "approval:read",
    "approval:resolve", NULL
};

static const char  *ngx_http_hangar_perms_developer[] = {
    "mcp_servers:read", "mcp_servers:write", "mcp_servers:lifecycle",
    "provider:read", "provider:list", "provider:start", "provider:load",
    "provider:load:verified", "provider:unload", "tool:invoke", "tool:list",
    "group:read", "group:list", "discovery:read", NULL
};

static const char  *ngx_http_hangar_perms_viewer[] = {
    "mcp_servers:read", "provider:read", "provider:list", "tool:list",
    "metrics:read", "group:read", "group:list", "discovery:read", NULL
};

static const char  *ngx_http_hangar_perms_auditor[] = {
    "audit:read", "metrics:read", "provider:list", "group:list",
    "discovery:read", "approval:read", NULL
};

static const char  *ngx_http_hangar_perms_service[] = {
    "provider:read", "provider:list", "tool:invoke", "tool:list", NULL
};


ngx_http_hangar_role_def_t  ngx_http_hangar_builtin_roles[] = {
    { "admin", "Full administrative access to all resources",
      ngx_http_hangar_perms_admin },
    { "provider-admin",
      "Manage providers, deliver egress policy, and invoke tools",
      ngx_http_hangar_perms_provider_admin },
    { "developer", "Invoke tools and view providers",
      ngx_http_hangar_perms_developer },
    { "viewer", "Read-only access to providers and tools",
      ngx_http_hangar_perms_viewer },
    { "auditor", "Read-only access to audit logs and metrics",
      ngx_http_hangar_perms_auditor },
    { "service-account",
      "Default role for service accounts - tool invocation only",
      ngx_http_hangar_perms_service },
    { NULL, NULL, NULL }
};


static ngx_http_hangar_rbac_conf_t *
ngx_http_hangar_rbac_conf(void)
{
    ngx_http_hangar_main_conf_t  *hmcf;

    hmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_hangar_module);

    return hmcf ? hmcf->rbac : NULL;
}


/* the worker's copy, rebuilt when the document or the cycle changed */

static ngx_http_hangar_rbac_cache_t *
ngx_http_hangar_rbac_cache(void)
{
    ngx_str_t                      text;
    ngx_pool_t                    *pool;
    ngx_atomic_uint_t              gen;
    ngx_http_hangar_registry_t    *reg;
    ngx_http_hangar_rbac_conf_t   *rc;
    ngx_http_hangar_rbac_cache_t  *c, fresh;

    c = &ngx_http_hangar_rbac_worker;
    reg = ngx_http_hangar_registry();
    rc = ngx_http_hangar_rbac_conf();

    if (reg == NULL || rc == NULL) {
        return NULL;
    }

    gen = ngx_http_hangar_state_doc_gen(reg, NGX_HTTP_HANGAR_DOC_AUTH);

    if (c->loaded && c->gen == gen && c->conf == rc) {
        return c;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return c->loaded ? c : NULL;
    }

    ngx_memzero(&fresh, sizeof(ngx_http_hangar_rbac_cache_t));
    fresh.pool = pool;
    fresh.conf = rc;

    if (ngx_http_hangar_state_doc(reg, NGX_HTTP_HANGAR_DOC_AUTH, pool, &text,
                                  &gen)
        != NGX_OK
        || ngx_http_hangar_rbac_load(&fresh, &text) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "hangar: the \"auth\" document of the state file "
                      "could not be loaded, the previous one stays");
        ngx_destroy_pool(pool);
        return c->loaded ? c : NULL;
    }

    fresh.gen = gen;
    fresh.loaded = 1;

    if (c->pool) {
        ngx_destroy_pool(c->pool);
    }

    *c = fresh;

    return c;
}


static ngx_int_t
ngx_http_hangar_rbac_load(ngx_http_hangar_rbac_cache_t *c, ngx_str_t *text)
{
    ngx_str_t                 err;
    ngx_uint_t                i;
    ngx_http_hangar_key_t    *k, *dk;
    ngx_http_hangar_value_t  *doc, *list, **items;

    if (ngx_array_init(&c->keys, c->pool, 8, sizeof(ngx_http_hangar_key_t))
        != NGX_OK
        || ngx_array_init(&c->roles, c->pool, 4,
                          sizeof(ngx_http_hangar_role_t))
           != NGX_OK
        || ngx_array_init(&c->assigns, c->pool, 8,
                          sizeof(ngx_http_hangar_assign_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* declared keys first: the same lookup finds both */
    dk = c->conf->keys.elts;

    for (i = 0; i < c->conf->keys.nelts; i++) {
        k = ngx_array_push(&c->keys);
        if (k == NULL) {
            return NGX_ERROR;
        }

        *k = dk[i];
    }

    if (text->len) {
        doc = ngx_http_hangar_json_parse(c->pool, text->data, text->len,
                                         &err);
        if (!ngx_http_hangar_is(doc, NGX_HTTP_HANGAR_OBJ)) {
            return NGX_ERROR;
        }

        list = ngx_http_hangar_get(doc, "keys");

        if (ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)) {
            items = list->u.arr.elts;

            for (i = 0; i < list->u.arr.nelts; i++) {
                if (ngx_http_hangar_rbac_load_key(c, items[i]) != NGX_OK) {
                    return NGX_ERROR;
                }
            }
        }

        list = ngx_http_hangar_get(doc, "roles");

        if (ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)) {
            items = list->u.arr.elts;

            for (i = 0; i < list->u.arr.nelts; i++) {
                if (ngx_http_hangar_rbac_load_role(c, items[i]) != NGX_OK) {
                    return NGX_ERROR;
                }
            }
        }

        list = ngx_http_hangar_get(doc, "assignments");

        if (ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)) {
            items = list->u.arr.elts;

            for (i = 0; i < list->u.arr.nelts; i++) {
                if (ngx_http_hangar_rbac_load_assign(c, items[i]) != NGX_OK)
                {
                    return NGX_ERROR;
                }
            }
        }
    }

    ngx_qsort(c->keys.elts, c->keys.nelts, sizeof(ngx_http_hangar_key_t),
              ngx_http_hangar_key_cmp);

    return NGX_OK;
}


/* a stored key; one that is malformed is left out, with a log line */

static ngx_int_t
ngx_http_hangar_rbac_load_key(ngx_http_hangar_rbac_cache_t *c,
    ngx_http_hangar_value_t *v)
{
    ngx_str_t                *s, *id, *hash;
    ngx_uint_t                i;
    ngx_http_hangar_key_t    *k;
    ngx_http_hangar_value_t  *g, **items;

    id = ngx_http_hangar_str_of(v, "key_id");
    hash = ngx_http_hangar_str_of(v, "key_sha256");
    s = ngx_http_hangar_str_of(v, "principal_id");

    if (id == NULL || hash == NULL || hash->len != 64 || s == NULL) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "hangar: a malformed key in the state file is ignored");
        return NGX_OK;
    }

    k = ngx_array_push(&c->keys);
    if (k == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(k, sizeof(ngx_http_hangar_key_t));

    if (ngx_http_hangar_hex_decode(k->hash, hash->data, 64) != NGX_OK) {
        c->keys.nelts--;
        return NGX_OK;
    }

    k->key_id = *id;
    k->principal = *s;

    s = ngx_http_hangar_str_of(v, "name");
    if (s) {
        k->name = *s;
    }

    s = ngx_http_hangar_str_of(v, "tenant_id");
    if (s) {
        k->tenant = *s;
    }

    s = ngx_http_hangar_str_of(v, "expires_at");
    if (s && ngx_http_hangar_iso_parse(s, &k->expires) != NGX_OK) {
        k->expires = 1;     /* unreadable: expired, fail closed */
    }

    g = ngx_http_hangar_get(v, "revoked");
    k->revoked = ngx_http_hangar_is(g, NGX_HTTP_HANGAR_BOOL) && g->u.b;

    g = ngx_http_hangar_get(v, "groups");

    if (ngx_http_hangar_is(g, NGX_HTTP_HANGAR_ARR) && g->u.arr.nelts) {
        k->groups = ngx_array_create(c->pool, g->u.arr.nelts,
                                     sizeof(ngx_str_t));
        if (k->groups == NULL) {
            return NGX_ERROR;
        }

        items = g->u.arr.elts;

        for (i = 0; i < g->u.arr.nelts; i++) {
            if (items[i]->type != NGX_HTTP_HANGAR_STR) {
                continue;
            }

            s = ngx_array_push(k->groups);
            if (s == NULL) {
                return NGX_ERROR;
            }

            *s = items[i]->u.s;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_rbac_load_role(ngx_http_hangar_rbac_cache_t *c,
    ngx_http_hangar_value_t *v)
{
    ngx_str_t                *s, *parts;
    ngx_uint_t                i;
    ngx_http_hangar_role_t   *role;
    ngx_http_hangar_value_t  *perms, **items;

    s = ngx_http_hangar_str_of(v, "name");
    if (s == NULL) {
        return NGX_OK;
    }

    role = ngx_array_push(&c->roles);
    if (role == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(role, sizeof(ngx_http_hangar_role_t));
    role->name = *s;

    s = ngx_http_hangar_str_of(v, "description");
    if (s) {
        role->description = *s;
    }

    if (ngx_array_init(&role->perms, c->pool, 4, 3 * sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    perms = ngx_http_hangar_get(v, "permissions");

    if (!ngx_http_hangar_is(perms, NGX_HTTP_HANGAR_ARR)) {
        return NGX_OK;
    }

    items = perms->u.arr.elts;

    for (i = 0; i < perms->u.arr.nelts; i++) {
        if (items[i]->type != NGX_HTTP_HANGAR_STR) {
            continue;
        }

        parts = ngx_array_push(&role->perms);
        if (parts == NULL) {
            return NGX_ERROR;
        }

        if (ngx_http_hangar_permission_parse(&items[i]->u.s, parts)
            != NGX_OK)
        {
            role->perms.nelts--;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_rbac_load_assign(ngx_http_hangar_rbac_cache_t *c,
    ngx_http_hangar_value_t *v)
{
    ngx_str_t  *p, *role, *scope;

    p = ngx_http_hangar_str_of(v, "principal_id");
    role = ngx_http_hangar_str_of(v, "role");
    scope = ngx_http_hangar_str_of(v, "scope");

    if (p == NULL || role == NULL) {
        return NGX_OK;
    }

    return ngx_http_hangar_assign_push(&c->assigns, p, role, scope);
}


/* an assignment; scope NULL: global */

ngx_int_t
ngx_http_hangar_assign_push(ngx_array_t *assigns, ngx_str_t *principal,
    ngx_str_t *role, ngx_str_t *scope)
{
    ngx_http_hangar_assign_t  *a;

    a = ngx_array_push(assigns);
    if (a == NULL) {
        return NGX_ERROR;
    }

    a->principal = *principal;
    a->role = *role;

    if (scope) {
        a->scope = *scope;

    } else {
        ngx_str_set(&a->scope, "global");
    }

    return NGX_OK;
}


static ngx_str_t *
ngx_http_hangar_str_of(ngx_http_hangar_value_t *obj, const char *key)
{
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_get(obj, key);

    return ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR) ? &v->u.s : NULL;
}


static int ngx_libc_cdecl
ngx_http_hangar_key_cmp(const void *a, const void *b)
{
    const ngx_http_hangar_key_t  *ka = a, *kb = b;

    return ngx_memcmp(ka->hash, kb->hash, 32);
}


static ngx_http_hangar_key_t *
ngx_http_hangar_key_find(ngx_array_t *keys, u_char *hash)
{
    int                     rc;
    ngx_uint_t              lo, hi, mid;
    ngx_http_hangar_key_t  *k;

    k = keys->elts;
    lo = 0;
    hi = keys->nelts;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        rc = ngx_memcmp(hash, k[mid].hash, 32);

        if (rc == 0) {
            return &k[mid];
        }

        if (rc < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return NULL;
}


/*
 * The presented key, checked in the order of hangar-security.md §1.3.  The
 * lookup is by hash (an index, as the original's SQL stores do), then a
 * constant-time comparison, with a dummy one on a miss.
 */

ngx_int_t
ngx_http_hangar_rbac_key(ngx_str_t *raw, ngx_pool_t *pool,
    ngx_http_hangar_principal_t *p, ngx_str_t *err, ngx_str_t *details)
{
    u_char                         hash[32], *d;
    static u_char                  dummy[32];
    ngx_http_hangar_key_t         *k;
    ngx_http_hangar_rbac_cache_t  *c;

    if (raw->len == 0) {
        ngx_str_set(err, "API key header is empty");
        return NGX_DECLINED;
    }

    if (raw->len > NGX_HTTP_HANGAR_KEY_MAX_LEN) {
        ngx_str_set(err, "API key exceeds maximum length");
        return NGX_DECLINED;
    }

    if (raw->len < 4 || ngx_strncmp(raw->data, "mcp_", 4) != 0) {
        ngx_str_set(err, "Invalid API key format: must start with 'mcp_'");
        return NGX_DECLINED;
    }

    c = ngx_http_hangar_rbac_cache();
    if (c == NULL) {
        return NGX_ERROR;
    }

    SHA256(raw->data, raw->len, hash);

    k = ngx_http_hangar_key_find(&c->keys, hash);

    if (k == NULL || CRYPTO_memcmp(k->hash, hash, 32) != 0) {
        (void) CRYPTO_memcmp(dummy, hash, 32);
        ngx_str_set(err, "Invalid API key");
        return NGX_DECLINED;
    }

    if (k->revoked) {
        ngx_str_set(err, "API key has been revoked");
        return NGX_DECLINED;
    }

    if (k->expires && k->expires < ngx_time()) {
        ngx_str_set(err, "API key has expired");

        d = ngx_pnalloc(pool, sizeof("{\"expired_at\":}") + NGX_TIME_T_LEN);
        if (d == NULL) {
            return NGX_ERROR;
        }

        details->data = d;
        details->len = ngx_sprintf(d, "{\"expired_at\":%T}", k->expires) - d;

        return NGX_DECLINED;
    }

    /* the cache can be rebuilt by the next request: copy what we keep */
    p->id.data = ngx_pstrdup(pool, &k->principal);
    p->key_id.data = ngx_pstrdup(pool, &k->key_id);
    p->key_name.data = ngx_pstrdup(pool, &k->name);
    p->tenant.data = k->tenant.len ? ngx_pstrdup(pool, &k->tenant) : NULL;

    if (p->id.data == NULL || p->key_id.data == NULL
        || (k->name.len && p->key_name.data == NULL)
        || (k->tenant.len && p->tenant.data == NULL))
    {
        return NGX_ERROR;
    }

    p->id.len = k->principal.len;
    p->key_id.len = k->key_id.len;
    p->key_name.len = k->name.len;
    p->tenant.len = k->tenant.len;
    p->type = NGX_HTTP_HANGAR_PRINCIPAL_SERVICE;
    p->method = "api_key";

    if (k->groups) {
        p->groups = ngx_array_create(pool, k->groups->nelts,
                                     sizeof(ngx_str_t));
        if (p->groups == NULL) {
            return NGX_ERROR;
        }

        p->groups->nelts = k->groups->nelts;
        ngx_memcpy(p->groups->elts, k->groups->elts,
                   k->groups->nelts * sizeof(ngx_str_t));
    }

    /* the last use, to the second: the zone's mutex once a second at most */
    if (k->noted == 0 || ngx_current_msec - k->noted >= 1000) {
        k->noted = ngx_current_msec ? ngx_current_msec : 1;
        ngx_http_hangar_key_used(&p->key_id);
    }

    return NGX_OK;
}


/* ---- last use --------------------------------------------------------- */

static void
ngx_http_hangar_key_used(ngx_str_t *key_id)
{
    uint32_t                     hash;
    ngx_http_hangar_used_t      *u;
    ngx_http_hangar_used_sh_t   *sh;
    ngx_http_hangar_registry_t  *reg;

    reg = ngx_http_hangar_registry();

    if (reg == NULL || key_id->len > sizeof(u->id)) {
        return;
    }

    hash = ngx_crc32_short(key_id->data, key_id->len);

    ngx_http_hangar_lock(reg);

    sh = reg->sh->auth_sh;

    if (sh == NULL) {
        sh = ngx_slab_calloc_locked(reg->shpool,
                                    sizeof(ngx_http_hangar_used_sh_t));
        if (sh == NULL) {
            ngx_http_hangar_unlock(reg);
            return;
        }

        ngx_rbtree_init(&sh->rbtree, &sh->sentinel,
                        ngx_rbtree_insert_value);
        reg->sh->auth_sh = sh;
    }

    u = ngx_http_hangar_used_find(sh, hash, key_id);

    if (u) {
        u->used = ngx_http_hangar_now_ms();

    } else if (sh->count < NGX_HTTP_HANGAR_USED_MAX) {
        u = ngx_slab_alloc_locked(reg->shpool, sizeof(ngx_http_hangar_used_t));

        if (u) {
            u->node.key = hash;
            u->len = key_id->len;
            ngx_memcpy(u->id, key_id->data, key_id->len);
            u->used = ngx_http_hangar_now_ms();
            ngx_rbtree_insert(&sh->rbtree, &u->node);
            sh->count++;
        }
    }

    ngx_http_hangar_unlock(reg);
}


/* with the slab mutex held */

static ngx_http_hangar_used_t *
ngx_http_hangar_used_find(ngx_http_hangar_used_sh_t *sh, uint32_t hash,
    ngx_str_t *key_id)
{
    ngx_rbtree_node_t       *node, *sentinel;
    ngx_http_hangar_used_t  *u;

    node = sh->rbtree.root;
    sentinel = sh->rbtree.sentinel;

    while (node != sentinel) {
        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        u = (ngx_http_hangar_used_t *) node;

        if (u->len == key_id->len
            && ngx_memcmp(u->id, key_id->data, key_id->len) == 0)
        {
            return u;
        }

        node = node->right;
    }

    return NULL;
}


ngx_msec_t
ngx_http_hangar_auth_last_used(ngx_str_t *key_id)
{
    uint32_t                     hash;
    ngx_msec_t                   used;
    ngx_http_hangar_used_t      *u;
    ngx_http_hangar_used_sh_t   *sh;
    ngx_http_hangar_registry_t  *reg;

    reg = ngx_http_hangar_registry();

    if (reg == NULL) {
        return 0;
    }

    hash = ngx_crc32_short(key_id->data, key_id->len);
    used = 0;

    ngx_http_hangar_lock(reg);

    sh = reg->sh->auth_sh;
    u = sh ? ngx_http_hangar_used_find(sh, hash, key_id) : NULL;

    if (u) {
        used = u->used;
    }

    ngx_http_hangar_unlock(reg);

    return used;
}


/* ---- RBAC ------------------------------------------------------------- */

ngx_int_t
ngx_http_hangar_permission_parse(ngx_str_t *s, ngx_str_t *parts)
{
    u_char      *p, *last, *colon;
    ngx_uint_t   n;

    p = s->data;
    last = p + s->len;

    /* at most three parts: the id takes the rest ("tool:invoke:a:b") */
    for (n = 0; n < 2; n++) {
        colon = ngx_strlchr(p, last, ':');

        if (colon == NULL) {
            if (n == 0) {
                return NGX_DECLINED;
            }

            break;
        }

        parts[n].data = p;
        parts[n].len = colon - p;
        p = colon + 1;
    }

    parts[n].data = p;
    parts[n].len = last - p;

    if (n == 1) {
        ngx_str_set(&parts[2], "*");
    }

    for (n = 0; n < 3; n++) {
        if (parts[n].len == 0) {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_hangar_perm_match(ngx_str_t *grant, ngx_str_t *rt, ngx_str_t *action,
    ngx_str_t *id)
{
    ngx_str_t   *want[3];
    ngx_uint_t   i;

    want[0] = rt;
    want[1] = action;
    want[2] = id;

    for (i = 0; i < 3; i++) {
        if (grant[i].len == 1 && grant[i].data[0] == '*') {
            continue;
        }

        if (grant[i].len != want[i]->len
            || ngx_memcmp(grant[i].data, want[i]->data, grant[i].len) != 0)
        {
            return 0;
        }
    }

    return 1;
}


ngx_uint_t
ngx_http_hangar_role_name_valid(ngx_str_t *name)
{
    size_t      i;
    u_char      c;
    ngx_uint_t  alnum;

    alnum = 0;

    for (i = 0; i < name->len; i++) {
        c = name->data[i];

        if (c == '-' || c == '_') {
            continue;
        }

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')))
        {
            return 0;
        }

        alnum = 1;
    }

    return alnum && name->len <= 128;
}


static ngx_uint_t
ngx_http_hangar_role_grants(ngx_http_hangar_rbac_cache_t *c, ngx_str_t *role,
    ngx_str_t *rt, ngx_str_t *action, ngx_str_t *id)
{
    ngx_str_t                    g[3], s, *parts;
    ngx_uint_t                   i, j;
    ngx_http_hangar_role_t      *r;
    ngx_http_hangar_role_def_t  *b;

    for (b = ngx_http_hangar_builtin_roles; b->name; b++) {
        if (ngx_strlen(b->name) != role->len
            || ngx_strncmp(b->name, role->data, role->len) != 0)
        {
            continue;
        }

        for (j = 0; b->permissions[j]; j++) {
            s.data = (u_char *) b->permissions[j];
            s.len = ngx_strlen(b->permissions[j]);

            if (ngx_http_hangar_permission_parse(&s, g) == NGX_OK
                && ngx_http_hangar_perm_match(g, rt, action, id))
            {
                return 1;
            }
        }

        return 0;
    }

    r = c->roles.elts;

    for (i = 0; i < c->roles.nelts; i++) {
        if (r[i].name.len != role->len
            || ngx_memcmp(r[i].name.data, role->data, role->len) != 0)
        {
            continue;
        }

        parts = r[i].perms.elts;

        for (j = 0; j < r[i].perms.nelts; j++) {
            if (ngx_http_hangar_perm_match(&parts[3 * j], rt, action, id)) {
                return 1;
            }
        }

        return 0;
    }

    return 0;
}


/* hangar-security.md §3.5: which assignments apply to a principal */

static ngx_uint_t
ngx_http_hangar_assign_applies(ngx_http_hangar_assign_t *a,
    ngx_http_hangar_principal_t *p)
{
    ngx_str_t   *g;
    ngx_uint_t   i, global, tenant, match;

    global = ngx_http_hangar_str_is(&a->scope, "global");
    tenant = p->tenant.len
             && a->scope.len == 7 + p->tenant.len
             && ngx_strncmp(a->scope.data, "tenant:", 7) == 0
             && ngx_memcmp(a->scope.data + 7, p->tenant.data, p->tenant.len)
                == 0;

    if (!global && !tenant) {
        return 0;
    }

    match = (a->principal.len == p->id.len
             && ngx_memcmp(a->principal.data, p->id.data, p->id.len) == 0);

    if (match || p->groups == NULL) {
        return match;
    }

    g = p->groups->elts;

    for (i = 0; i < p->groups->nelts; i++) {
        if (a->principal.len == 6 + g[i].len
            && ngx_strncmp(a->principal.data, "group:", 6) == 0
            && ngx_memcmp(a->principal.data + 6, g[i].data, g[i].len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


ngx_uint_t
ngx_http_hangar_rbac_allowed(ngx_http_hangar_principal_t *p,
    ngx_str_t *resource, ngx_str_t *action, ngx_str_t *id,
    ngx_str_t *granted_by)
{
    ngx_uint_t                     i, s;
    ngx_array_t                   *list;
    ngx_http_hangar_assign_t      *a;
    ngx_http_hangar_rbac_cache_t  *c;

    if (granted_by) {
        ngx_str_null(granted_by);
    }

    if (p == NULL || p->type == NGX_HTTP_HANGAR_PRINCIPAL_SYSTEM) {
        return 1;
    }

    if (p->anonymous) {
        return 0;
    }

    c = ngx_http_hangar_rbac_cache();
    if (c == NULL) {
        return 0;
    }

    for (s = 0; s < 2; s++) {
        list = s ? &c->assigns : &c->conf->assigns;
        a = list->elts;

        for (i = 0; i < list->nelts; i++) {
            if (!ngx_http_hangar_assign_applies(&a[i], p)) {
                continue;
            }

            if (ngx_http_hangar_role_grants(c, &a[i].role, resource, action,
                                            id))
            {
                if (granted_by) {
                    *granted_by = a[i].role;
                }

                return 1;
            }
        }
    }

    return 0;
}


ngx_int_t
ngx_http_hangar_role_find(ngx_pool_t *pool, ngx_str_t *name,
    ngx_http_hangar_role_def_t *role, ngx_uint_t *builtin)
{
    u_char                        *d;
    ngx_str_t                     *parts;
    ngx_uint_t                     i, j;
    ngx_http_hangar_role_t        *r;
    ngx_http_hangar_role_def_t    *b;
    ngx_http_hangar_rbac_cache_t  *c;

    for (b = ngx_http_hangar_builtin_roles; b->name; b++) {
        if (ngx_strlen(b->name) == name->len
            && ngx_strncmp(b->name, name->data, name->len) == 0)
        {
            *role = *b;
            *builtin = 1;
            return NGX_OK;
        }
    }

    *builtin = 0;

    c = ngx_http_hangar_rbac_cache();
    if (c == NULL) {
        return NGX_ERROR;
    }

    r = c->roles.elts;

    for (i = 0; i < c->roles.nelts; i++) {
        if (r[i].name.len != name->len
            || ngx_memcmp(r[i].name.data, name->data, name->len) != 0)
        {
            continue;
        }

        role->name = (char *) ngx_pstrdup(pool, &r[i].name);
        role->description = NULL;
        role->permissions = ngx_pcalloc(pool, (r[i].perms.nelts + 1)
                                              * sizeof(char *));

        d = ngx_pnalloc(pool, r[i].name.len + r[i].description.len + 2);

        if (role->permissions == NULL || d == NULL) {
            return NGX_ERROR;
        }

        role->name = (char *) d;
        d = ngx_cpymem(d, r[i].name.data, r[i].name.len);
        *d++ = '\0';
        role->description = (char *) d;
        d = ngx_cpymem(d, r[i].description.data, r[i].description.len);
        *d = '\0';

        parts = r[i].perms.elts;

        for (j = 0; j < r[i].perms.nelts; j++) {
            d = ngx_pnalloc(pool, parts[3 * j].len + parts[3 * j + 1].len
                                  + parts[3 * j + 2].len + 3);
            if (d == NULL) {
                return NGX_ERROR;
            }

            role->permissions[j] = (char *) d;
            ngx_sprintf(d, "%V:%V:%V%Z", &parts[3 * j], &parts[3 * j + 1],
                        &parts[3 * j + 2]);
        }

        return NGX_OK;
    }

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_hangar_rbac_assignments(ngx_array_t **declared, ngx_array_t **stored)
{
    ngx_http_hangar_rbac_cache_t  *c;

    c = ngx_http_hangar_rbac_cache();
    if (c == NULL) {
        return NGX_ERROR;
    }

    *declared = &c->conf->assigns;
    *stored = &c->assigns;

    return NGX_OK;
}


/* 2n hex digits -> n bytes */

ngx_int_t
ngx_http_hangar_hex_decode(u_char *dst, u_char *src, size_t len)
{
    size_t  i;
    u_char  c, v[2];

    if (len % 2) {
        return NGX_ERROR;
    }

    for (i = 0; i < len; i++) {
        c = src[i] | 0x20;

        if (c >= '0' && c <= '9') {
            v[i % 2] = c - '0';

        } else if (c >= 'a' && c <= 'f') {
            v[i % 2] = c - 'a' + 10;

        } else {
            return NGX_ERROR;
        }

        if (i % 2) {
            *dst++ = (u_char) (v[0] << 4 | v[1]);
        }
    }

    return NGX_OK;
}


/* ---- time ------------------------------------------------------------- */

static ngx_int_t
ngx_http_hangar_iso_digits(u_char **p, u_char *last, ngx_uint_t n,
    ngx_int_t *v)
{
    ngx_int_t  x;

    if (last - *p < (ssize_t) n) {
        return NGX_ERROR;
    }

    x = ngx_atoi(*p, n);
    if (x == NGX_ERROR) {
        return NGX_ERROR;
    }

    *p += n;
    *v = x;

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_iso_parse(ngx_str_t *s, time_t *t)
{
    u_char     *p, *last;
    ngx_int_t   y, mo, d, h, mi, sec, oh, om, sign;
    struct tm   tm;

    p = s->data;
    last = p + s->len;
    h = mi = sec = 0;

    if (ngx_http_hangar_iso_digits(&p, last, 4, &y) != NGX_OK
        || p == last || *p++ != '-'
        || ngx_http_hangar_iso_digits(&p, last, 2, &mo) != NGX_OK
        || p == last || *p++ != '-'
        || ngx_http_hangar_iso_digits(&p, last, 2, &d) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (p < last && (*p == 'T' || *p == 't' || *p == ' ')) {
        p++;

        if (ngx_http_hangar_iso_digits(&p, last, 2, &h) != NGX_OK
            || p == last || *p++ != ':'
            || ngx_http_hangar_iso_digits(&p, last, 2, &mi) != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (p < last && *p == ':') {
            p++;

            if (ngx_http_hangar_iso_digits(&p, last, 2, &sec) != NGX_OK) {
                return NGX_ERROR;
            }

            if (p < last && *p == '.') {
                p++;

                if (p == last || *p < '0' || *p > '9') {
                    return NGX_ERROR;
                }

                while (p < last && *p >= '0' && *p <= '9') {
                    p++;
                }
            }
        }
    }

    oh = om = 0;
    sign = 1;

    if (p < last && (*p == 'Z' || *p == 'z')) {
        p++;

    } else if (p < last && (*p == '+' || *p == '-')) {
        sign = (*p++ == '-') ? -1 : 1;

        if (ngx_http_hangar_iso_digits(&p, last, 2, &oh) != NGX_OK) {
            return NGX_ERROR;
        }

        if (p < last && *p == ':') {
            p++;
        }

        if (ngx_http_hangar_iso_digits(&p, last, 2, &om) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (p != last || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1
        || d > 31 || h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59)
    {
        return NGX_ERROR;
    }

    ngx_memzero(&tm, sizeof(struct tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;

    *t = timegm(&tm) - sign * (oh * 3600 + om * 60);

    return NGX_OK;
}


/* Python's isoformat() of an aware UTC time; microseconds when not 0 */

u_char *
ngx_http_hangar_iso_time(u_char *buf, ngx_msec_t ms)
{
    ngx_tm_t  tm;

    ngx_gmtime((time_t) (ms / 1000), &tm);

    buf = ngx_sprintf(buf, "%4d-%02d-%02dT%02d:%02d:%02d",
                      tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                      tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);

    if (ms % 1000) {
        buf = ngx_sprintf(buf, ".%03ui000", (ngx_uint_t) (ms % 1000));
    }

    return ngx_cpymem(buf, "+00:00", 6);
}
