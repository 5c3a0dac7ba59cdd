
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Authentication and authorization (hangar-security.md §1, §3).
 *
 * With auth off (the default) only loopback clients pass, unless the
 * operator opens hangar with "hangar_unsafe_no_auth on".  With auth on a
 * request is authenticated by the first of: the nginx variable named by
 * "hangar_auth_principal" (client certificates, auth_basic, auth_request),
 * the API key header, "Authorization: Bearer" (an "mcp_" token is an API
 * key, anything else a JWT).  A failure of the one that handles the
 * request is final.  Then the route's permission is checked (RBAC).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/sha.h>
#include "ngx_http_hangar_auth.h"
#include "ngx_http_hangar_header.h"
#include "ngx_http_hangar_jwt.h"
#include "ngx_http_hangar_limit.h"
#include "ngx_http_hangar_lifecycle.h"


typedef struct {
    ngx_flag_t                       enabled;
    ngx_flag_t                       allow_anonymous;
    ngx_flag_t                       api_key;
    ngx_str_t                        header;    /* lower case */
    ngx_http_hangar_jwt_conf_t      *jwt;
    ngx_http_hangar_lockout_conf_t   lockout;
} ngx_http_hangar_auth_conf_t;


/* a section of hangar.yaml being read, for errors with a path */
typedef struct {
    ngx_conf_t                      *cf;
    ngx_str_t                       *file;
    ngx_http_hangar_main_conf_t     *hmcf;
} ngx_http_hangar_auth_yaml_t;


static ngx_int_t ngx_http_hangar_auth_keys_known(
    ngx_http_hangar_auth_yaml_t *y, ngx_http_hangar_value_t *obj,
    const char *path, const char **known);
static ngx_int_t ngx_http_hangar_auth_bool(ngx_http_hangar_auth_yaml_t *y,
    ngx_http_hangar_value_t *obj, const char *path, const char *key,
    ngx_flag_t *flag);
static ngx_str_t *ngx_http_hangar_auth_str(ngx_http_hangar_auth_yaml_t *y,
    ngx_http_hangar_value_t *obj, const char *path, const char *key,
    ngx_uint_t required);
static ngx_int_t ngx_http_hangar_auth_fail(ngx_http_hangar_auth_yaml_t *y,
    ngx_http_hangar_value_t *v, const char *fmt, ...);
static ngx_int_t ngx_http_hangar_auth_sections(ngx_http_hangar_auth_yaml_t *y,
    ngx_http_hangar_auth_conf_t *ac, ngx_http_hangar_value_t *auth);
static ngx_int_t ngx_http_hangar_auth_storage(ngx_http_hangar_auth_yaml_t *y,
    ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_auth_declared_keys(
    ngx_http_hangar_auth_yaml_t *y, ngx_http_hangar_rbac_conf_t *rc,
    ngx_http_hangar_value_t *list);
static ngx_int_t ngx_http_hangar_auth_declared_key(
    ngx_http_hangar_auth_yaml_t *y, ngx_http_hangar_rbac_conf_t *rc,
    ngx_http_hangar_value_t *v, ngx_uint_t n);
static ngx_int_t ngx_http_hangar_auth_assignments(
    ngx_http_hangar_auth_yaml_t *y, ngx_http_hangar_rbac_conf_t *rc,
    ngx_http_hangar_value_t *list);
static ngx_uint_t ngx_http_hangar_auth_role_known(
    ngx_http_hangar_auth_yaml_t *y, ngx_str_t *role);
static ngx_uint_t ngx_http_hangar_principal_id_valid(ngx_str_t *id);
static ngx_http_hangar_auth_conf_t *ngx_http_hangar_auth_get(void);
static ngx_http_hangar_auth_ctx_t *ngx_http_hangar_auth_ctx(
    ngx_http_request_t *r);
static ngx_uint_t ngx_http_hangar_auth_local(ngx_connection_t *c);
static ngx_int_t ngx_http_hangar_auth_credential(ngx_http_request_t *r,
    ngx_http_hangar_auth_conf_t *ac, ngx_http_hangar_principal_t *p,
    ngx_str_t *err, ngx_str_t *details, ngx_http_hangar_auth_wake_pt wake,
    void *data);
static ngx_int_t ngx_http_hangar_auth_locked(ngx_http_request_t *r,
    ngx_http_hangar_auth_conf_t *ac, ngx_http_hangar_refusal_t *no,
    time_t retry);
static ngx_int_t ngx_http_hangar_auth_refuse(ngx_http_request_t *r,
    ngx_http_hangar_auth_conf_t *ac, ngx_http_hangar_refusal_t *no,
    ngx_uint_t status, const char *error, ngx_str_t *message,
    ngx_str_t *details);


static const char  *ngx_http_hangar_auth_known[] = {
    "enabled", "allow_anonymous", "api_key", "oidc", "opa", "storage",
    "rate_limit", "role_assignments", "api_keys", NULL
};

static const char  *ngx_http_hangar_api_key_known[] = {
    "enabled", "header_name", NULL
};

static const char  *ngx_http_hangar_opa_known[] = {
    "enabled", "url", "policy_path", "timeout", NULL
};

static const char  *ngx_http_hangar_storage_known[] = {
    "driver", "path", "host", "port", "database", "user", "password",
    "min_connections", "max_connections", NULL
};

static const char  *ngx_http_hangar_key_known[] = {
    "name", "principal_id", "key", "key_sha256", "tenant_id", "groups",
    "expires_at", NULL
};

static const char  *ngx_http_hangar_assign_known[] = {
    "principal", "role", "scope", NULL
};


/* ---- configuration ---------------------------------------------------- */

ngx_int_t
ngx_http_hangar_auth_conf(ngx_conf_t *cf, ngx_http_hangar_main_conf_t *hmcf)
{
    ngx_http_hangar_value_t      *auth;
    ngx_http_hangar_auth_conf_t  *ac;
    ngx_http_hangar_rbac_conf_t  *rc;
    ngx_http_hangar_auth_yaml_t   y;

    ac = ngx_pcalloc(cf->pool, sizeof(ngx_http_hangar_auth_conf_t));
    rc = ngx_pcalloc(cf->pool, sizeof(ngx_http_hangar_rbac_conf_t));

    if (ac == NULL || rc == NULL
        || ngx_array_init(&rc->keys, cf->pool, 2,
                          sizeof(ngx_http_hangar_key_t))
           != NGX_OK
        || ngx_array_init(&rc->assigns, cf->pool, 2,
                          sizeof(ngx_http_hangar_assign_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ac->api_key = 1;
    ngx_str_set(&ac->header, "x-api-key");

    y.cf = cf;
    y.file = &hmcf->config_file;
    y.hmcf = hmcf;

    auth = ngx_http_hangar_get(hmcf->doc, "auth");

    if (auth && auth->type != NGX_HTTP_HANGAR_NULL) {
        if (auth->type != NGX_HTTP_HANGAR_OBJ) {
            return ngx_http_hangar_auth_fail(&y, auth,
                                             "auth: expected an object");
        }

        if (ngx_http_hangar_auth_sections(&y, ac, auth) != NGX_OK
            || ngx_http_hangar_auth_declared_keys(&y, rc,
                                   ngx_http_hangar_get(auth, "api_keys"))
               != NGX_OK
            || ngx_http_hangar_auth_assignments(&y, rc,
                                   ngx_http_hangar_get(auth,
                                                       "role_assignments"))
               != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else if (ngx_http_hangar_lockout_conf(cf, NULL, y.file, &ac->lockout)
               != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (hmcf->unsafe_no_auth && !ac->enabled) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "hangar: \"hangar_unsafe_no_auth\" is on and "
                           "auth is off: any client that reaches the API "
                           "and /mcp can run commands on this host");
    }

    hmcf->auth = ac;
    hmcf->rbac = rc;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_auth_sections(ngx_http_hangar_auth_yaml_t *y,
    ngx_http_hangar_auth_conf_t *ac, ngx_http_hangar_value_t *auth)
{
    ngx_str_t                *s;
    ngx_flag_t                on;
    ngx_uint_t                i;
    ngx_http_hangar_value_t  *v;

    if (ngx_http_hangar_auth_keys_known(y, auth, "auth",
                                        ngx_http_hangar_auth_known)
        != NGX_OK
        || ngx_http_hangar_auth_bool(y, auth, "auth", "enabled",
                                     &ac->enabled)
           != NGX_OK
        || ngx_http_hangar_auth_bool(y, auth, "auth", "allow_anonymous",
                                     &ac->allow_anonymous)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    v = ngx_http_hangar_get(auth, "api_key");

    if (v) {
        if (ngx_http_hangar_auth_keys_known(y, v, "auth.api_key",
                                            ngx_http_hangar_api_key_known)
            != NGX_OK
            || ngx_http_hangar_auth_bool(y, v, "auth.api_key", "enabled",
                                         &ac->api_key)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        s = ngx_http_hangar_auth_str(y, v, "auth.api_key", "header_name", 0);

        if (s == (ngx_str_t *) -1) {
            return NGX_ERROR;
        }

        if (s) {
            for (i = 0; i < s->len; i++) {
                if (!((s->data[i] | 0x20) >= 'a' && (s->data[i] | 0x20) <= 'z')
                    && !(s->data[i] >= '0' && s->data[i] <= '9')
                    && s->data[i] != '-' && s->data[i] != '_')
                {
                    return ngx_http_hangar_auth_fail(y, v,
                               "auth.api_key.header_name: \"%V\" is not a "
                               "header name", s);
                }
            }

            if (s->len == 0 || s->len > 64) {
                return ngx_http_hangar_auth_fail(y, v,
                           "auth.api_key.header_name: 1 to 64 characters");
            }

            ac->header.len = s->len;
            ac->header.data = ngx_pnalloc(y->cf->pool, s->len);
            if (ac->header.data == NULL) {
                return NGX_ERROR;
            }

            ngx_strlow(ac->header.data, s->data, s->len);
        }
    }

    v = ngx_http_hangar_get(auth, "opa");

    if (v) {
        on = 0;

        if (ngx_http_hangar_auth_keys_known(y, v, "auth.opa",
                                            ngx_http_hangar_opa_known)
            != NGX_OK
            || ngx_http_hangar_auth_bool(y, v, "auth.opa", "enabled", &on)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (on) {
            return ngx_http_hangar_auth_fail(y, v,
                       "auth.opa.enabled: OPA authorization is not "
                       "supported; hangar authorizes with its own RBAC "
                       "(remove auth.opa or set enabled: false)");
        }
    }

    if (ngx_http_hangar_auth_storage(y, ngx_http_hangar_get(auth, "storage"))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    v = ngx_http_hangar_get(auth, "rate_limit");

    if (ngx_http_hangar_lockout_conf(y->cf, v, y->file, &ac->lockout)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    v = ngx_http_hangar_get(auth, "oidc");

    if (v && v->type != NGX_HTTP_HANGAR_OBJ) {
        return ngx_http_hangar_auth_fail(y, v, "auth.oidc: expected an object");
    }

    return ngx_http_hangar_jwt_conf(y->cf, v, y->file, &ac->jwt);
}


/*
 * Keys, roles and assignments made through the API are kept in the state
 * file, whatever the driver says: "memory" and "sqlite" load as they are
 * (with a notice); a shared database is not something hangar can honour.
 */

static ngx_int_t
ngx_http_hangar_auth_storage(ngx_http_hangar_auth_yaml_t *y,
    ngx_http_hangar_value_t *v)
{
    ngx_str_t  *driver;

    if (v == NULL) {
        return NGX_OK;
    }

    if (ngx_http_hangar_auth_keys_known(y, v, "auth.storage",
                                        ngx_http_hangar_storage_known)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    driver = ngx_http_hangar_auth_str(y, v, "auth.storage", "driver", 0);

    if (driver == (ngx_str_t *) -1) {
        return NGX_ERROR;
    }

    if (driver == NULL || ngx_http_hangar_str_is(driver, "memory")
        || ngx_http_hangar_str_is(driver, "sqlite"))
    {
        ngx_conf_log_error(NGX_LOG_NOTICE, y->cf, 0,
                           "hangar_config: %V: auth.storage: keys, roles "
                           "and assignments are kept in the state file "
                           "(hangar_state)", y->file);
        return NGX_OK;
    }

    return ngx_http_hangar_auth_fail(y, v,
               "auth.storage.driver: \"%V\" is not supported; hangar keeps "
               "keys, roles and assignments in its state file (use "
               "\"memory\" or \"sqlite\", or remove auth.storage)", driver);
}


static ngx_int_t
ngx_http_hangar_auth_declared_keys(ngx_http_hangar_auth_yaml_t *y,
    ngx_http_hangar_rbac_conf_t *rc, ngx_http_hangar_value_t *list)
{
    ngx_uint_t                i, j;
    ngx_http_hangar_key_t    *k;
    ngx_http_hangar_value_t **items;

    if (list == NULL || list->type == NGX_HTTP_HANGAR_NULL) {
        return NGX_OK;
    }

    if (list->type != NGX_HTTP_HANGAR_ARR) {
        return ngx_http_hangar_auth_fail(y, list,
                                         "auth.api_keys: expected a list");
    }

    items = list->u.arr.elts;

    for (i = 0; i < list->u.arr.nelts; i++) {
        if (ngx_http_hangar_auth_declared_key(y, rc, items[i], i) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    k = rc->keys.elts;

    for (i = 0; i < rc->keys.nelts; i++) {
        for (j = i + 1; j < rc->keys.nelts; j++) {
            if (ngx_memcmp(k[i].hash, k[j].hash, 32) == 0
                || (k[i].name.len == k[j].name.len
                    && ngx_memcmp(k[i].name.data, k[j].name.data,
                                  k[i].name.len) == 0))
            {
                return ngx_http_hangar_auth_fail(y, items[j],
                           "auth.api_keys[%ui]: the same key or name as "
                           "auth.api_keys[%ui]", j, i);
            }
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_auth_declared_key(ngx_http_hangar_auth_yaml_t *y,
    ngx_http_hangar_rbac_conf_t *rc, ngx_http_hangar_value_t *v, ngx_uint_t n)
{
    u_char                    path[64];
    ngx_str_t                *name, *pid, *raw, *hex, *tenant, *exp, *g;
    ngx_uint_t                i;
    ngx_http_hangar_key_t    *k;
    ngx_http_hangar_value_t  *groups, **items;

    ngx_sprintf(path, "auth.api_keys[%ui]%Z", n);

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_OBJ)) {
        return ngx_http_hangar_auth_fail(y, v, "%s: expected an object",
                                         path);
    }

    if (ngx_http_hangar_auth_keys_known(y, v, (char *) path,
                                        ngx_http_hangar_key_known)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    name = ngx_http_hangar_auth_str(y, v, (char *) path, "name", 1);
    pid = ngx_http_hangar_auth_str(y, v, (char *) path, "principal_id", 1);
    raw = ngx_http_hangar_auth_str(y, v, (char *) path, "key", 0);
    hex = ngx_http_hangar_auth_str(y, v, (char *) path, "key_sha256", 0);
    tenant = ngx_http_hangar_auth_str(y, v, (char *) path, "tenant_id", 0);
    exp = ngx_http_hangar_auth_str(y, v, (char *) path, "expires_at", 0);

    if (name == (ngx_str_t *) -1 || pid == (ngx_str_t *) -1
        || raw == (ngx_str_t *) -1 || hex == (ngx_str_t *) -1
        || tenant == (ngx_str_t *) -1 || exp == (ngx_str_t *) -1)
    {
        return NGX_ERROR;
    }

    if (name->len == 0 || name->len > 256) {
        return ngx_http_hangar_auth_fail(y, v, "%s.name: 1 to 256 characters",
                                         path);
    }

    if (!ngx_http_hangar_principal_id_valid(pid)) {
        return ngx_http_hangar_auth_fail(y, v,
                   "%s.principal_id: 1 to 256 letters, digits or "
                   "\"-_:@.\"", path);
    }

    if ((raw == NULL) == (hex == NULL)) {
        return ngx_http_hangar_auth_fail(y, v,
                   "%s: give exactly one of \"key\" and \"key_sha256\"",
                   path);
    }

    k = ngx_array_push(&rc->keys);
    if (k == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(k, sizeof(ngx_http_hangar_key_t));

    if (raw) {
        if (raw->len < 4 + 16 || raw->len > NGX_HTTP_HANGAR_KEY_MAX_LEN
            || ngx_strncmp(raw->data, "mcp_", 4) != 0)
        {
            return ngx_http_hangar_auth_fail(y, v,
                       "%s.key: \"mcp_\" and at least 16 more characters, "
                       "256 at most%s", path,
                       raw->len == 0 ? " (empty: is the environment "
                                       "variable it names set?)" : "");
        }

        SHA256(raw->data, raw->len, k->hash);

    } else if (hex->len != 64
               || ngx_http_hangar_hex_decode(k->hash, hex->data, 64) != NGX_OK)
    {
        return ngx_http_hangar_auth_fail(y, v,
                   "%s.key_sha256: 64 hexadecimal digits", path);
    }

    if (exp && ngx_http_hangar_iso_parse(exp, &k->expires) != NGX_OK) {
        return ngx_http_hangar_auth_fail(y, v,
                   "%s.expires_at: an ISO 8601 time", path);
    }

    k->name = *name;
    k->principal = *pid;
    k->declared = 1;

    if (tenant) {
        k->tenant = *tenant;
    }

    /* never shown: the id only names it in logs */
    k->key_id.len = name->len + 5;
    k->key_id.data = ngx_pnalloc(y->cf->pool, k->key_id.len);
    if (k->key_id.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(k->key_id.data, "yaml:%V", name);

    groups = ngx_http_hangar_get(v, "groups");

    if (groups == NULL) {
        return NGX_OK;
    }

    if (groups->type != NGX_HTTP_HANGAR_ARR) {
        return ngx_http_hangar_auth_fail(y, groups,
                   "%s.groups: expected a list of strings", path);
    }

    k->groups = ngx_array_create(y->cf->pool, groups->u.arr.nelts + 1,
                                 sizeof(ngx_str_t));
    if (k->groups == NULL) {
        return NGX_ERROR;
    }

    items = groups->u.arr.elts;

    for (i = 0; i < groups->u.arr.nelts; i++) {
        if (items[i]->type != NGX_HTTP_HANGAR_STR || items[i]->u.s.len == 0) {
            return ngx_http_hangar_auth_fail(y, items[i],
                       "%s.groups[%ui]: expected a non-empty string",
                       path, i);
        }

        g = ngx_array_push(k->groups);
        if (g == NULL) {
            return NGX_ERROR;
        }

        *g = items[i]->u.s;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_auth_assignments(ngx_http_hangar_auth_yaml_t *y,
    ngx_http_hangar_rbac_conf_t *rc, ngx_http_hangar_value_t *list)
{
    u_char                     path[64];
    ngx_str_t                 *p, *role, *scope;
    ngx_uint_t                 i;
    ngx_http_hangar_value_t  **items;

    if (list == NULL || list->type == NGX_HTTP_HANGAR_NULL) {
        return NGX_OK;
    }

    if (list->type != NGX_HTTP_HANGAR_ARR) {
        return ngx_http_hangar_auth_fail(y, list,
                   "auth.role_assignments: expected a list");
    }

    items = list->u.arr.elts;

    for (i = 0; i < list->u.arr.nelts; i++) {
        ngx_sprintf(path, "auth.role_assignments[%ui]%Z", i);

        if (!ngx_http_hangar_is(items[i], NGX_HTTP_HANGAR_OBJ)) {
            return ngx_http_hangar_auth_fail(y, items[i],
                                             "%s: expected an object", path);
        }

        if (ngx_http_hangar_auth_keys_known(y, items[i], (char *) path,
                                            ngx_http_hangar_assign_known)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        p = ngx_http_hangar_auth_str(y, items[i], (char *) path,
                                     "principal", 1);
        role = ngx_http_hangar_auth_str(y, items[i], (char *) path, "role",
                                        1);
        scope = ngx_http_hangar_auth_str(y, items[i], (char *) path, "scope",
                                         0);

        if (p == (ngx_str_t *) -1 || role == (ngx_str_t *) -1
            || scope == (ngx_str_t *) -1)
        {
            return NGX_ERROR;
        }

        if (!ngx_http_hangar_principal_id_valid(p)) {
            return ngx_http_hangar_auth_fail(y, items[i],
                       "%s.principal: 1 to 256 letters, digits or "
                       "\"-_:@.\"", path);
        }

        if (!ngx_http_hangar_auth_role_known(y, role)) {
            return ngx_http_hangar_auth_fail(y, items[i],
                       "%s.role: no role \"%V\" (built in: admin, "
                       "provider-admin, developer, viewer, auditor, "
                       "service-account)", path, role);
        }

        if (scope && !ngx_http_hangar_str_is(scope, "global")
            && !(scope->len > 7
                 && ngx_strncmp(scope->data, "tenant:", 7) == 0))
        {
            return ngx_http_hangar_auth_fail(y, items[i],
                       "%s.scope: \"global\" or \"tenant:<id>\"", path);
        }

        if (ngx_http_hangar_assign_push(&rc->assigns, p, role, scope)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* a built-in role, or a custom one the state file keeps */

static ngx_uint_t
ngx_http_hangar_auth_role_known(ngx_http_hangar_auth_yaml_t *y,
    ngx_str_t *role)
{
    ngx_str_t                    err, *name;
    ngx_uint_t                   i;
    ngx_http_hangar_value_t     *doc, *roles, **items, *n;
    ngx_http_hangar_role_def_t  *b;

    for (b = ngx_http_hangar_builtin_roles; b->name; b++) {
        if (ngx_strlen(b->name) == role->len
            && ngx_strncmp(b->name, role->data, role->len) == 0)
        {
            return 1;
        }
    }

    if (y->hmcf->docs[NGX_HTTP_HANGAR_DOC_AUTH].len == 0) {
        return 0;
    }

    doc = ngx_http_hangar_json_parse(y->cf->temp_pool,
                                y->hmcf->docs[NGX_HTTP_HANGAR_DOC_AUTH].data,
                                y->hmcf->docs[NGX_HTTP_HANGAR_DOC_AUTH].len,
                                &err);
    roles = ngx_http_hangar_get(doc, "roles");

    if (!ngx_http_hangar_is(roles, NGX_HTTP_HANGAR_ARR)) {
        return 0;
    }

    items = roles->u.arr.elts;

    for (i = 0; i < roles->u.arr.nelts; i++) {
        n = ngx_http_hangar_get(items[i], "name");

        if (!ngx_http_hangar_is(n, NGX_HTTP_HANGAR_STR)) {
            continue;
        }

        name = &n->u.s;

        if (name->len == role->len
            && ngx_memcmp(name->data, role->data, role->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* hangar-security.md §1.5 (ASCII: letters, digits, "-_:@.") */

static ngx_uint_t
ngx_http_hangar_principal_id_valid(ngx_str_t *id)
{
    size_t  i;
    u_char  c;

    if (id == NULL || id->len == 0
        || id->len > NGX_HTTP_HANGAR_PRINCIPAL_ID_MAX)
    {
        return 0;
    }

    for (i = 0; i < id->len; i++) {
        c = id->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == ':'
              || c == '@' || c == '.'))
        {
            return 0;
        }
    }

    return 1;
}


static ngx_int_t
ngx_http_hangar_auth_keys_known(ngx_http_hangar_auth_yaml_t *y,
    ngx_http_hangar_value_t *obj, const char *path, const char **known)
{
    ngx_uint_t               i, k;
    ngx_http_hangar_pair_t  *pair;

    if (obj->type != NGX_HTTP_HANGAR_OBJ) {
        return ngx_http_hangar_auth_fail(y, obj, "%s: expected an object",
                                         path);
    }

    pair = obj->u.obj.elts;

    for (i = 0; i < obj->u.obj.nelts; i++) {
        for (k = 0; known[k]; k++) {
            if (ngx_strlen(known[k]) == pair[i].key.len
                && ngx_strncmp(known[k], pair[i].key.data, pair[i].key.len)
                   == 0)
            {
                break;
            }
        }

        if (known[k] == NULL) {
            return ngx_http_hangar_auth_fail(y, pair[i].value,
                       "%s.%V: unknown key", path, &pair[i].key);
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_auth_bool(ngx_http_hangar_auth_yaml_t *y,
    ngx_http_hangar_value_t *obj, const char *path, const char *key,
    ngx_flag_t *flag)
{
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_get(obj, key);

    if (v == NULL) {
        return NGX_OK;
    }

    if (v->type != NGX_HTTP_HANGAR_BOOL) {
        return ngx_http_hangar_auth_fail(y, v, "%s.%s: expected true or false",
                                         path, key);
    }

    *flag = v->u.b;

    return NGX_OK;
}


/* a string; NULL: absent (and not required); (ngx_str_t *) -1: an error */

static ngx_str_t *
ngx_http_hangar_auth_str(ngx_http_hangar_auth_yaml_t *y,
    ngx_http_hangar_value_t *obj, const char *path, const char *key,
    ngx_uint_t required)
{
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_get(obj, key);

    if (v == NULL || v->type == NGX_HTTP_HANGAR_NULL) {
        if (required) {
            (void) ngx_http_hangar_auth_fail(y, obj, "%s.%s: required", path,
                                             key);
            return (ngx_str_t *) -1;
        }

        return NULL;
    }

    if (v->type != NGX_HTTP_HANGAR_STR) {
        (void) ngx_http_hangar_auth_fail(y, v, "%s.%s: expected a string",
                                         path, key);
        return (ngx_str_t *) -1;
    }

    return &v->u.s;
}


static ngx_int_t
ngx_http_hangar_auth_fail(ngx_http_hangar_auth_yaml_t *y,
    ngx_http_hangar_value_t *v, const char *fmt, ...)
{
    u_char   buf[1024], *p;
    va_list  args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    ngx_conf_log_error(NGX_LOG_EMERG, y->cf, 0, "hangar_config: %V:%ui:%ui: "
                       "%*s", y->file, v ? v->line : 0, v ? v->col : 0,
                       p - buf, buf);

    return NGX_ERROR;
}


/* ---- requests --------------------------------------------------------- */

static ngx_http_hangar_auth_conf_t *
ngx_http_hangar_auth_get(void)
{
    ngx_http_hangar_main_conf_t  *hmcf;

    hmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_hangar_module);

    return hmcf ? hmcf->auth : NULL;
}


ngx_uint_t
ngx_http_hangar_auth_enabled(void)
{
    ngx_http_hangar_auth_conf_t  *ac;

    ac = ngx_http_hangar_auth_get();

    return ac && ac->enabled;
}


ngx_http_hangar_jwt_conf_t *
ngx_http_hangar_auth_jwt(void)
{
    ngx_http_hangar_auth_conf_t  *ac;

    ac = ngx_http_hangar_auth_get();

    return (ac && ac->enabled) ? ac->jwt : NULL;
}


static ngx_http_hangar_auth_ctx_t *
ngx_http_hangar_auth_ctx(ngx_http_request_t *r)
{
    return ngx_http_get_module_ctx(r, ngx_http_hangar_module);
}


ngx_http_hangar_principal_t *
ngx_http_hangar_auth_principal(ngx_http_request_t *r)
{
    ngx_http_hangar_auth_ctx_t  *ctx;

    ctx = ngx_http_hangar_auth_ctx(r);

    return ctx ? ctx->principal : NULL;
}


/* the address nginx sees (after realip): loopback or a unix socket */

static ngx_uint_t
ngx_http_hangar_auth_local(ngx_connection_t *c)
{
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    u_char               *a;
    struct sockaddr_in6  *sin6;
#endif

    switch (c->sockaddr->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) c->sockaddr;
        return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) c->sockaddr;

        if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
            return 1;
        }

        a = sin6->sin6_addr.s6_addr;

        return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && a[12] == 127;
#endif

#if (NGX_HAVE_UNIX_DOMAIN)
    case AF_UNIX:
        return 1;
#endif

    default:
        return 0;
    }
}


ngx_int_t
ngx_http_hangar_auth_authenticate(ngx_http_request_t *r,
    ngx_http_hangar_refusal_t *no, ngx_http_hangar_auth_wake_pt wake,
    void *data)
{
    ngx_int_t                      rc;
    ngx_str_t                      err, details, msg;
    time_t                         retry;
    ngx_http_hangar_auth_ctx_t    *ctx;
    ngx_http_hangar_auth_conf_t   *ac;
    ngx_http_hangar_principal_t   *p;
    ngx_http_hangar_registry_t    *reg;
    ngx_http_hangar_main_conf_t   *hmcf;

    ctx = ngx_http_hangar_auth_ctx(r);
    ac = ngx_http_hangar_auth_get();
    reg = ngx_http_hangar_registry();
    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hangar_module);

    ngx_memzero(no, sizeof(ngx_http_hangar_refusal_t));

    if (ctx == NULL || ac == NULL || reg == NULL) {
        return NGX_ERROR;
    }

    if (ctx->state) {
        return NGX_OK;
    }

    if (!ac->enabled) {
        if (!hmcf->unsafe_no_auth && !ngx_http_hangar_auth_local(r->connection))
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "hangar: a client from %V was refused: auth is "
                          "off and only loopback clients are served",
                          &r->connection->addr_text);

            ngx_str_set(&msg, "auth is off, so hangar serves only clients "
                        "on this host (loopback); enable auth "
                        "(auth.enabled: true in hangar.yaml, with "
                        "auth.api_keys) or, to serve anyone without "
                        "authentication, set \"hangar_unsafe_no_auth on\"");
            ngx_str_null(&details);

            return ngx_http_hangar_auth_refuse(r, ac, no, NGX_HTTP_FORBIDDEN,
                                               "LoopbackOnlyError", &msg,
                                               &details);
        }

        ctx->state = 1;
        return NGX_OK;
    }

    if (ac->lockout.enabled
        && ngx_http_hangar_lockout_check(reg, &ac->lockout, r->connection,
                                         &retry)
           == NGX_BUSY)
    {
        return ngx_http_hangar_auth_locked(r, ac, no, retry);
    }

    p = ngx_pcalloc(r->pool, sizeof(ngx_http_hangar_principal_t));
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_str_null(&err);
    ngx_str_null(&details);

    rc = ngx_http_hangar_auth_credential(r, ac, p, &err, &details, wake,
                                         data);

    switch (rc) {

    case NGX_OK:
        break;

    case NGX_AGAIN:
    case NGX_ERROR:
        return rc;

    case NGX_DONE:
        /* no credential at all: not a failed attempt */
        if (ac->allow_anonymous) {
            ngx_str_set(&p->id, "anonymous");
            p->type = NGX_HTTP_HANGAR_PRINCIPAL_USER;
            p->method = "none";
            p->anonymous = 1;
            break;
        }

        ngx_str_set(&msg, "Authentication required");
        ngx_str_set(&details, "{\"auth_method\":\"none\"}");

        return ngx_http_hangar_auth_refuse(r, ac, no, NGX_HTTP_UNAUTHORIZED,
                                           "MissingCredentialsError", &msg,
                                           &details);

    default: /* NGX_DECLINED */

        if (ac->lockout.enabled) {
            ngx_http_hangar_lockout_failed(reg, &ac->lockout, r->connection);
        }

        ngx_http_hangar_auth_record(r, "AuthenticationFailed", NULL,
                                    "%s: %V", p->method ? p->method : "",
                                    &err);

        if (details.len == 0) {
            details.data = ngx_pnalloc(r->pool, 48);
            if (details.data == NULL) {
                return NGX_ERROR;
            }

            details.len = ngx_sprintf(details.data,
                                      "{\"auth_method\":\"%s\"}",
                                      p->method ? p->method : "none")
                          - details.data;
        }

        return ngx_http_hangar_auth_refuse(r, ac, no, NGX_HTTP_UNAUTHORIZED,
                                           "AuthenticationError", &err,
                                           &details);
    }

    if (ac->lockout.enabled && !p->anonymous) {
        ngx_http_hangar_lockout_passed(reg, &ac->lockout, r->connection);
    }

    ctx->principal = p;
    ctx->state = 1;

    ngx_http_hangar_auth_record(r, "AuthenticationSucceeded", p, "%s",
                                p->method);

    return NGX_OK;
}


/* the address is locked out (hangar-security.md §1.6) */

static ngx_int_t
ngx_http_hangar_auth_locked(ngx_http_request_t *r,
    ngx_http_hangar_auth_conf_t *ac, ngx_http_hangar_refusal_t *no,
    time_t retry)
{
    u_char     *d;
    ngx_str_t   msg, details;

    d = ngx_pnalloc(r->pool, 2 * NGX_TIME_T_LEN + 80);
    if (d == NULL) {
        return NGX_ERROR;
    }

    msg.data = d;
    msg.len = ngx_sprintf(d, "Too many auth attempts. Retry in %Ts.", retry)
              - d;
    details.data = d + msg.len;
    details.len = ngx_sprintf(details.data,
                              "{\"auth_method\":\"rate_limit\","
                              "\"retry_after\":%T.0}", retry)
                  - details.data;

    no->retry_after = retry;

    ngx_http_hangar_auth_record(r, "AuthenticationFailed", NULL,
                                "locked out for %Ts", retry);

    return ngx_http_hangar_auth_refuse(r, ac, no, NGX_HTTP_UNAUTHORIZED,
                                       "AuthenticationError", &msg, &details);
}


/*
 * The credential: NGX_OK (*p), NGX_DECLINED (a credential that failed:
 * *err), NGX_DONE (none given), NGX_AGAIN, NGX_ERROR.
 */

static ngx_int_t
ngx_http_hangar_auth_credential(ngx_http_request_t *r,
    ngx_http_hangar_auth_conf_t *ac, ngx_http_hangar_principal_t *p,
    ngx_str_t *err, ngx_str_t *details, ngx_http_hangar_auth_wake_pt wake,
    void *data)
{
    ngx_str_t                    value, token;
    ngx_table_elt_t             *h, *key;
    ngx_http_hangar_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hangar_module);

    /* an identity another nginx module established */
    if (hlcf->principal) {
        if (ngx_http_complex_value(r, hlcf->principal, &value) != NGX_OK) {
            return NGX_ERROR;
        }

        if (value.len) {
            p->method = "variable";

            if (!ngx_http_hangar_principal_id_valid(&value)) {
                ngx_str_set(err, "The principal from hangar_auth_principal "
                            "is not a valid principal id");
                return NGX_DECLINED;
            }

            p->id = value;
            p->type = NGX_HTTP_HANGAR_PRINCIPAL_USER;

            return NGX_OK;
        }
    }

    key = ac->api_key
          ? ngx_http_hangar_header_find(&r->headers_in.headers,
                                        ac->header.data, ac->header.len)
          : NULL;

    if (key) {
        p->method = "api_key";
        return ngx_http_hangar_rbac_key(&key->value, r->pool, p, err,
                                        details);
    }

    h = r->headers_in.authorization;

    /* nginx trims trailing blanks: "Bearer " arrives as "Bearer" */
    if (h == NULL || h->value.len < 6
        || ngx_strncmp(h->value.data, "Bearer", 6) != 0
        || (h->value.len > 6 && h->value.data[6] != ' '))
    {
        return NGX_DONE;
    }

    token.data = h->value.data + ngx_min(h->value.len, 7);
    token.len = h->value.len - ngx_min(h->value.len, 7);

    /* MCP clients send API keys as bearer tokens */
    if (ac->api_key && token.len >= 4
        && ngx_strncmp(token.data, "mcp_", 4) == 0)
    {
        p->method = "api_key";
        return ngx_http_hangar_rbac_key(&token, r->pool, p, err, details);
    }

    p->method = "jwt";

    if (token.len == 0) {
        ngx_str_set(err, "Empty Bearer token");
        return NGX_DECLINED;
    }

    if (ac->jwt == NULL) {
        ngx_str_set(err, "Bearer tokens are not accepted here: no OIDC "
                    "issuer is configured (auth.oidc)");
        return NGX_DECLINED;
    }

    return ngx_http_hangar_jwt_verify(ac->jwt, &token, r->pool,
                                      r->connection->log, p, err, details,
                                      wake, data);
}


static ngx_int_t
ngx_http_hangar_auth_refuse(ngx_http_request_t *r,
    ngx_http_hangar_auth_conf_t *ac, ngx_http_hangar_refusal_t *no,
    ngx_uint_t status, const char *error, ngx_str_t *message,
    ngx_str_t *details)
{
    no->status = status;
    no->error = error;
    no->message = *message;
    no->details = *details;

    if (status == NGX_HTTP_UNAUTHORIZED
        && ngx_http_hangar_jwt_challenge(ac->jwt, r, &no->challenge)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_hangar_auth_authorize(ngx_http_request_t *r, const char *permission,
    ngx_http_hangar_refusal_t *no)
{
    u_char                       *d;
    ngx_str_t                     perm, parts[3], msg, details, action;
    ngx_str_t                     resource;
    ngx_http_hangar_out_t         out;
    ngx_http_hangar_auth_conf_t  *ac;
    ngx_http_hangar_principal_t  *p;

    ac = ngx_http_hangar_auth_get();

    ngx_memzero(no, sizeof(ngx_http_hangar_refusal_t));

    if (ac == NULL || !ac->enabled) {
        return NGX_OK;
    }

    p = ngx_http_hangar_auth_principal(r);

    if (p == NULL || p->anonymous) {
        ngx_str_set(&msg, "Authentication required");
        ngx_str_set(&details, "{\"auth_method\":\"none\"}");

        return ngx_http_hangar_auth_refuse(r, ac, no, NGX_HTTP_UNAUTHORIZED,
                                           "MissingCredentialsError", &msg,
                                           &details);
    }

    if (permission && ngx_strcmp(permission, "authenticated") == 0) {
        return NGX_OK;
    }

    action.len = r->method_name.len;
    action.data = ngx_pnalloc(r->pool, action.len);
    if (action.data == NULL) {
        return NGX_ERROR;
    }

    ngx_strlow(action.data, r->method_name.data, action.len);

    if (permission) {
        perm.data = (u_char *) permission;
        perm.len = ngx_strlen(permission);

        if (ngx_http_hangar_permission_parse(&perm, parts) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ngx_http_hangar_rbac_allowed(p, &parts[0], &parts[1], &parts[2],
                                         NULL))
        {
            ngx_http_hangar_auth_record(r, "AuthorizationGranted", p,
                                        "%V:%V", &parts[0], &parts[1]);
            return NGX_OK;
        }

        action = parts[1];

    } else {
        parts[0] = r->uri;
    }

    d = ngx_pnalloc(r->pool, p->id.len + action.len + parts[0].len + 128);
    resource.data = ngx_pnalloc(r->pool, parts[0].len + 2);

    if (d == NULL || resource.data == NULL) {
        return NGX_ERROR;
    }

    msg.data = d;
    msg.len = ngx_sprintf(d, "Access denied: %V cannot %V on %V:* (%s)",
                          &p->id, &action, &parts[0],
                          permission ? "no_matching_permission"
                                     : "route has no permission mapping")
              - d;

    ngx_http_hangar_out_init(&out, r->pool, 256);
    ngx_http_hangar_out_lit(&out, "{\"principal_id\":");
    ngx_http_hangar_out_str(&out, p->id.data, p->id.len);
    ngx_http_hangar_out_lit(&out, ",\"action\":");
    ngx_http_hangar_out_str(&out, action.data, action.len);
    ngx_http_hangar_out_lit(&out, ",\"resource\":");
    ngx_http_hangar_out_str(&out, resource.data,
                            ngx_sprintf(resource.data, "%V:*", &parts[0])
                            - resource.data);
    ngx_http_hangar_out_printf(&out, ",\"reason\":\"%s\"}",
                               permission ? "no_matching_permission"
                                          : "route has no permission "
                                            "mapping");

    if (ngx_http_hangar_out_flatten(&out, &details) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_hangar_auth_record(r, "AuthorizationDenied", p, "%V:%V",
                                &parts[0], &action);

    return ngx_http_hangar_auth_refuse(r, ac, no, NGX_HTTP_FORBIDDEN,
                                       "AccessDeniedError", &msg, &details);
}


ngx_uint_t
ngx_http_hangar_auth_allowed(ngx_http_request_t *r, const char *resource,
    const char *action, ngx_str_t *id)
{
    ngx_str_t                     rt, ac, any;
    ngx_http_hangar_principal_t  *p;

    if (!ngx_http_hangar_auth_enabled()) {
        return 1;
    }

    p = ngx_http_hangar_auth_principal(r);

    if (p == NULL || p->anonymous) {
        return 0;
    }

    rt.data = (u_char *) resource;
    rt.len = ngx_strlen(resource);
    ac.data = (u_char *) action;
    ac.len = ngx_strlen(action);
    ngx_str_set(&any, "*");

    return ngx_http_hangar_rbac_allowed(p, &rt, &ac, id ? id : &any, NULL);
}


/*
 * Every decision is an event and an info line; the principal, never the
 * credential.
 */

void
ngx_http_hangar_auth_record(ngx_http_request_t *r, const char *event,
    ngx_http_hangar_principal_t *p, const char *fmt, ...)
{
    u_char                       buf[256], esc[6 * 64], *last;
    size_t                       len;
    va_list                      args;
    ngx_str_t                    who;
    ngx_http_hangar_registry_t  *reg;

    if (p) {
        who = p->id;

    } else {
        ngx_str_set(&who, "-");
    }

    va_start(args, fmt);
    last = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "hangar: %s: principal \"%V\" from %V: %*s", event, &who,
                  &r->connection->addr_text, last - buf, buf);

    /*
     * Successes are in the log only: one per request would push every
     * other event out of the ring.  Failures and denials are events.
     */
    reg = ngx_http_hangar_registry();

    if (reg == NULL || ngx_strcmp(event, "AuthenticationSucceeded") == 0
        || ngx_strcmp(event, "AuthorizationGranted") == 0)
    {
        return;
    }

    len = ngx_min(who.len, 64);
    last = (u_char *) ngx_escape_json(esc, who.data, len);

    ngx_http_hangar_event(reg, event, NULL, 0,
                          "{\"principal_id\":\"%*s\",\"source\":\"%V\"}",
                          last - esc, esc, &r->connection->addr_text);
}
