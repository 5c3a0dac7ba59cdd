
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/auth/principals, /api/auth/principals/roles, /api/auth/permissions
 * and /api/auth/check-permission (hangar-security.md §2 #12-15).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_api_auth.h"


static ngx_int_t ngx_http_hangar_assignments(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_authdoc_t *d, ngx_array_t *all);
static ngx_int_t ngx_http_hangar_principal_roles(ngx_array_t *all,
    ngx_str_t *id, ngx_str_t *scope, ngx_array_t *names);
static ngx_int_t ngx_http_hangar_str_cmp(const void *one, const void *two);
static ngx_int_t ngx_http_hangar_vocabulary(ngx_http_hangar_req_t *hr,
    ngx_array_t *types);
static ngx_int_t ngx_http_hangar_vocabulary_add(ngx_array_t *types,
    const char *permission);
static ngx_int_t ngx_http_hangar_check_principal(ngx_http_hangar_req_t *hr,
    ngx_str_t *id, ngx_str_t *tenant, ngx_array_t *groups,
    ngx_http_hangar_principal_t **pp);


/* what GET /auth/permissions adds to the route table's permissions */
static const char  *ngx_http_hangar_enforced[] = {
    "tool:invoke", "tool:list", "approval:read", "approval:resolve",
    "policy:read", "policy:write", "metrics:read", "audit:read",
    "admin:*", "*:*", NULL
};


/* a resource type and its actions, for GET /auth/permissions */
typedef struct {
    ngx_str_t                    type;
    ngx_array_t                  actions;       /* ngx_str_t */
} ngx_http_hangar_vocab_t;


/* a check-permission request */
typedef struct {
    ngx_str_t                    principal_id;
    ngx_str_t                    permission;
    ngx_str_t                    action;
    ngx_str_t                    resource_type;
    ngx_str_t                    resource_id;
    ngx_str_t                    tenant_id;
    ngx_array_t                 *groups;
} ngx_http_hangar_check_t;


static ngx_http_hangar_authfield_t  ngx_http_hangar_check_fields[] = {
    { "principal_id", NGX_HTTP_HANGAR_AUTHF_PRINCIPAL,
      NGX_HTTP_HANGAR_AUTHF_REQUIRED, 0,
      offsetof(ngx_http_hangar_check_t, principal_id) },
    { "permission", NGX_HTTP_HANGAR_AUTHF_TEXT, 0, 512,
      offsetof(ngx_http_hangar_check_t, permission) },
    { "action", NGX_HTTP_HANGAR_AUTHF_TEXT, 0, 128,
      offsetof(ngx_http_hangar_check_t, action) },
    { "resource_type", NGX_HTTP_HANGAR_AUTHF_TEXT, 0, 128,
      offsetof(ngx_http_hangar_check_t, resource_type) },
    { "resource_id", NGX_HTTP_HANGAR_AUTHF_TEXT, 0, 256,
      offsetof(ngx_http_hangar_check_t, resource_id) },
    { "tenant_id", NGX_HTTP_HANGAR_AUTHF_TEXT, 0, NGX_HTTP_HANGAR_NAME_MAX,
      offsetof(ngx_http_hangar_check_t, tenant_id) },
    { "groups", NGX_HTTP_HANGAR_AUTHF_LIST, 0, 64,
      offsetof(ngx_http_hangar_check_t, groups) },
    { NULL, 0, 0, 0, 0 }
};


/* ---- GET /auth/principals ------------------------------------------- */

/*
 * The principals of the assignments, those of hangar.yaml first, each
 * with its roles.
 */

ngx_int_t
ngx_http_hangar_principals_list(ngx_http_hangar_req_t *hr)
{
    ngx_str_t                  *seen, *names;
    ngx_uint_t                  i, j, n;
    ngx_array_t                 all, ids, roles;
    ngx_http_hangar_out_t      *out;
    ngx_http_hangar_assign_t   *a;
    ngx_http_hangar_authdoc_t   d;

    if (ngx_http_hangar_authdoc_read(hr, &d) != NGX_OK
        || ngx_http_hangar_assignments(hr, &d, &all) != NGX_OK
        || ngx_array_init(&ids, hr->r->pool, 8, sizeof(ngx_str_t)) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a = all.elts;

    for (i = 0; i < all.nelts; i++) {
        seen = ids.elts;

        for (j = 0; j < ids.nelts; j++) {
            if (seen[j].len == a[i].principal.len
                && ngx_memcmp(seen[j].data, a[i].principal.data,
                              seen[j].len)
                   == 0)
            {
                break;
            }
        }

        if (j == ids.nelts) {
            seen = ngx_array_push(&ids);
            if (seen == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            *seen = a[i].principal;
        }
    }

    out = &hr->out;
    ngx_http_hangar_out_lit(out, "{\"principals\":[");

    seen = ids.elts;

    for (i = 0; i < ids.nelts; i++) {
        if (ngx_array_init(&roles, hr->r->pool, 4, sizeof(ngx_str_t))
            != NGX_OK
            || ngx_http_hangar_principal_roles(&all, &seen[i], NULL, &roles)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_hangar_out_raw(out, i ? ",{" : "{", i ? 2 : 1);
        ngx_http_hangar_out_key(out, "principal_id");
        ngx_http_hangar_out_ngx_str(out, &seen[i]);
        ngx_http_hangar_out_lit(out, ",\"roles\":[");

        names = roles.elts;

        for (n = 0; n < roles.nelts; n++) {
            if (n) {
                ngx_http_hangar_out_lit(out, ",");
            }

            ngx_http_hangar_out_ngx_str(out, &names[n]);
        }

        ngx_http_hangar_out_lit(out, "]}");
    }

    ngx_http_hangar_out_printf(out, "],\"total\":%ui}", ids.nelts);

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/*
 * Every assignment: those hangar.yaml declares (while auth is on), then
 * those of the document.
 */

static ngx_int_t
ngx_http_hangar_assignments(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_authdoc_t *d, ngx_array_t *all)
{
    ngx_str_t                 *s;
    ngx_uint_t                 i;
    ngx_array_t               *declared, *stored;
    ngx_http_hangar_assign_t  *a;
    ngx_http_hangar_value_t  **e;

    if (ngx_array_init(all, hr->r->pool, 8, sizeof(ngx_http_hangar_assign_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_hangar_auth_enabled()
        && ngx_http_hangar_rbac_assignments(&declared, &stored) == NGX_OK
        && declared->nelts)
    {
        a = ngx_array_push_n(all, declared->nelts);
        if (a == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(a, declared->elts,
                   declared->nelts * sizeof(ngx_http_hangar_assign_t));
    }

    e = d->assignments->u.arr.elts;

    for (i = 0; i < d->assignments->u.arr.nelts; i++) {
        a = ngx_array_push(all);
        if (a == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(a, sizeof(ngx_http_hangar_assign_t));

        s = ngx_http_hangar_authdoc_str(e[i], "principal_id");
        if (s) {
            a->principal = *s;
        }

        s = ngx_http_hangar_authdoc_str(e[i], "role");
        if (s) {
            a->role = *s;
        }

        s = ngx_http_hangar_authdoc_str(e[i], "scope");
        if (s) {
            a->scope = *s;
        }

        if (a->principal.len == 0 || a->role.len == 0) {
            all->nelts--;
        }
    }

    return NGX_OK;
}


/*
 * The sorted, distinct role names assigned to a principal at a scope
 * (NULL: every scope).
 */

static ngx_int_t
ngx_http_hangar_principal_roles(ngx_array_t *all, ngx_str_t *id,
    ngx_str_t *scope, ngx_array_t *names)
{
    ngx_str_t                 *have;
    ngx_uint_t                 i, j;
    ngx_http_hangar_assign_t  *a;

    a = all->elts;

    for (i = 0; i < all->nelts; i++) {

        if (a[i].principal.len != id->len
            || ngx_memcmp(a[i].principal.data, id->data, id->len) != 0
            || (scope
                && (a[i].scope.len != scope->len
                    || ngx_memcmp(a[i].scope.data, scope->data, scope->len)
                       != 0)))
        {
            continue;
        }

        have = names->elts;

        for (j = 0; j < names->nelts; j++) {
            if (have[j].len == a[i].role.len
                && ngx_memcmp(have[j].data, a[i].role.data, a[i].role.len)
                   == 0)
            {
                break;
            }
        }

        if (j < names->nelts) {
            continue;
        }

        have = ngx_array_push(names);
        if (have == NULL) {
            return NGX_ERROR;
        }

        *have = a[i].role;
    }

    ngx_sort(names->elts, names->nelts, sizeof(ngx_str_t),
             ngx_http_hangar_str_cmp);

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_str_cmp(const void *one, const void *two)
{
    ngx_int_t         rc;
    const ngx_str_t  *a, *b;

    a = one;
    b = two;

    rc = ngx_memcmp(a->data, b->data, ngx_min(a->len, b->len));

    if (rc) {
        return rc;
    }

    return (ngx_int_t) a->len - (ngx_int_t) b->len;
}


/* ---- GET /auth/principals/roles?principal_id=&scope= ----------------- */

ngx_int_t
ngx_http_hangar_principals_roles(ngx_http_hangar_req_t *hr)
{
    ngx_str_t                   id, scope, *names;
    ngx_uint_t                  i, n;
    ngx_array_t                 all, roles;
    ngx_http_hangar_out_t      *out;
    ngx_http_hangar_authdoc_t   d;
    ngx_http_hangar_authrole_t  role;

    if (ngx_http_hangar_authreq_arg(hr, "principal_id", &id) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ngx_http_hangar_authprincipal_valid(&id)) {
        return ngx_http_hangar_authreq_invalid(hr, "principal_id",
                   "principal_id: required, 1-256 letters, digits or "
                   "\"-_:@.\"");
    }

    if (ngx_http_hangar_authreq_arg(hr, "scope", &scope) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (scope.len == 0) {
        ngx_str_set(&scope, "*");
    }

    if (!ngx_http_hangar_str_is(&scope, "*")
        && !ngx_http_hangar_authscope_valid(&scope))
    {
        return ngx_http_hangar_authreq_invalid(hr, "scope",
                   "scope: must be \"*\", \"global\" or \"tenant:<id>\"");
    }

    if (ngx_http_hangar_authdoc_read(hr, &d) != NGX_OK
        || ngx_http_hangar_assignments(hr, &d, &all) != NGX_OK
        || ngx_array_init(&roles, hr->r->pool, 4, sizeof(ngx_str_t))
           != NGX_OK
        || ngx_http_hangar_principal_roles(&all, &id,
                                           scope.data[0] == '*'
                                           ? NULL : &scope,
                                           &roles)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = &hr->out;
    ngx_http_hangar_out_lit(out, "{\"principal_id\":");
    ngx_http_hangar_out_ngx_str(out, &id);
    ngx_http_hangar_out_lit(out, ",\"scope\":");
    ngx_http_hangar_out_ngx_str(out, &scope);
    ngx_http_hangar_out_lit(out, ",\"roles\":[");

    names = roles.elts;
    n = 0;

    for (i = 0; i < roles.nelts; i++) {
        if (ngx_http_hangar_authrole_find(hr->r->pool, &d, &names[i], &role)
            != NGX_OK)
        {
            continue;   /* an assignment to a role hangar.yaml dropped */
        }

        ngx_http_hangar_out_raw(out, n ? ",{" : "{", n ? 2 : 1);
        ngx_http_hangar_out_key(out, "name");
        ngx_http_hangar_out_ngx_str(out, &role.name);
        ngx_http_hangar_out_lit(out, ",\"description\":");
        ngx_http_hangar_out_ngx_str(out, &role.description);
        ngx_http_hangar_out_lit(out, ",\"permissions\":");
        ngx_http_hangar_authdoc_strs_out(out, role.permissions);
        ngx_http_hangar_out_lit(out, "}");
        n++;
    }

    ngx_http_hangar_out_printf(out, "],\"count\":%ui}", n);

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* ---- GET /auth/permissions ------------------------------------------ */

/*
 * The vocabulary hangar enforces: every permission of the route table,
 * and those the front door, the pass-through, approvals, policies and
 * the event stream check.
 */

ngx_int_t
ngx_http_hangar_permissions_list(ngx_http_hangar_req_t *hr)
{
    ngx_str_t                *act;
    ngx_uint_t                i, j;
    ngx_array_t               types;
    ngx_http_hangar_out_t    *out;
    ngx_http_hangar_vocab_t  *t;

    if (ngx_array_init(&types, hr->r->pool, 16,
                       sizeof(ngx_http_hangar_vocab_t))
        != NGX_OK
        || ngx_http_hangar_vocabulary(hr, &types) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = &hr->out;
    ngx_http_hangar_out_lit(out, "{\"permissions\":[");

    t = types.elts;

    for (i = 0; i < types.nelts; i++) {
        ngx_http_hangar_out_raw(out, i ? ",{" : "{", i ? 2 : 1);
        ngx_http_hangar_out_key(out, "resource_type");
        ngx_http_hangar_out_ngx_str(out, &t[i].type);
        ngx_http_hangar_out_lit(out, ",\"actions\":[");

        act = t[i].actions.elts;

        for (j = 0; j < t[i].actions.nelts; j++) {
            if (j) {
                ngx_http_hangar_out_lit(out, ",");
            }

            ngx_http_hangar_out_ngx_str(out, &act[j]);
        }

        ngx_http_hangar_out_lit(out, "]}");
    }

    ngx_http_hangar_out_lit(out, "]}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


static ngx_int_t
ngx_http_hangar_vocabulary(ngx_http_hangar_req_t *hr, ngx_array_t *types)
{
    ngx_uint_t                i;
    ngx_http_hangar_route_t  *rt;

    for (rt = hr->routes; rt && rt->pattern; rt++) {
        if (rt->permission == NULL
            || ngx_strchr(rt->permission, ':') == NULL)
        {
            continue;   /* "authenticated": not a permission */
        }

        if (ngx_http_hangar_vocabulary_add(types, rt->permission) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    for (i = 0; ngx_http_hangar_enforced[i]; i++) {
        if (ngx_http_hangar_vocabulary_add(types, ngx_http_hangar_enforced[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_vocabulary_add(ngx_array_t *types, const char *permission)
{
    u_char                   *colon;
    ngx_str_t                 type, action, *act;
    ngx_uint_t                i;
    ngx_http_hangar_vocab_t  *t;

    colon = (u_char *) ngx_strchr(permission, ':');

    type.data = (u_char *) permission;
    type.len = colon - type.data;
    action.data = colon + 1;
    action.len = ngx_strlen(action.data);

    t = types->elts;

    for (i = 0; i < types->nelts; i++) {
        if (t[i].type.len == type.len
            && ngx_memcmp(t[i].type.data, type.data, type.len) == 0)
        {
            break;
        }
    }

    if (i == types->nelts) {
        t = ngx_array_push(types);
        if (t == NULL) {
            return NGX_ERROR;
        }

        t->type = type;

        if (ngx_array_init(&t->actions, types->pool, 4, sizeof(ngx_str_t))
            != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else {
        t = &t[i];
    }

    act = t->actions.elts;

    for (i = 0; i < t->actions.nelts; i++) {
        if (act[i].len == action.len
            && ngx_memcmp(act[i].data, action.data, action.len) == 0)
        {
            return NGX_OK;
        }
    }

    act = ngx_array_push(&t->actions);
    if (act == NULL) {
        return NGX_ERROR;
    }

    *act = action;

    return NGX_OK;
}


/* ---- POST /auth/check-permission ------------------------------------ */

/*
 * Asks the RBAC the routes are enforced with, for a principal built from
 * the body: its id, and the tenant and groups a key or a token would
 * carry.
 */

ngx_int_t
ngx_http_hangar_permissions_check(ngx_http_hangar_req_t *hr)
{
    ngx_str_t                     parts[3], granted;
    ngx_uint_t                    allowed;
    ngx_http_hangar_out_t        *out;
    ngx_http_hangar_check_t       ck;
    ngx_http_hangar_authbad_t     bad;
    ngx_http_hangar_principal_t  *p;

    ngx_memzero(&ck, sizeof(ngx_http_hangar_check_t));

    switch (ngx_http_hangar_authreq_fields(hr, ngx_http_hangar_check_fields,
                                           &ck, &bad))
    {
    case NGX_OK:
        break;

    case NGX_DECLINED:
        return ngx_http_hangar_validation_error(hr, &bad.field, &bad.message);

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ck.action.len) {
        /* {"action","resource_type"="*","resource_id"="*"} */
        parts[0] = ck.resource_type;
        parts[1] = ck.action;
        parts[2] = ck.resource_id;

        if (parts[0].len == 0) {
            ngx_str_set(&parts[0], "*");
        }

        if (parts[2].len == 0) {
            ngx_str_set(&parts[2], "*");
        }

    } else if (ck.permission.len == 0) {
        return ngx_http_hangar_authreq_invalid(hr, "permission",
                   "permission: required (\"resource:action[:id]\"), "
                   "or \"action\"");

    } else if (ngx_http_hangar_permission_parse(&ck.permission, parts)
               != NGX_OK)
    {
        return ngx_http_hangar_authreq_invalid(hr, "permission",
                   "permission: must be \"resource:action[:id]\" with no "
                   "empty part");
    }

    if (ngx_http_hangar_check_principal(hr, &ck.principal_id, &ck.tenant_id,
                                        ck.groups, &p)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_null(&granted);

    allowed = ngx_http_hangar_rbac_allowed(p, &parts[0], &parts[1],
                                           &parts[2], &granted);

    out = &hr->out;
    ngx_http_hangar_out_lit(out, "{\"principal_id\":");
    ngx_http_hangar_out_ngx_str(out, &ck.principal_id);
    ngx_http_hangar_out_lit(out, ",\"action\":");
    ngx_http_hangar_out_ngx_str(out, &parts[1]);
    ngx_http_hangar_out_lit(out, ",\"resource_type\":");
    ngx_http_hangar_out_ngx_str(out, &parts[0]);
    ngx_http_hangar_out_lit(out, ",\"resource_id\":");
    ngx_http_hangar_out_ngx_str(out, &parts[2]);
    ngx_http_hangar_out_lit(out, ",\"allowed\":");
    ngx_http_hangar_out_bool(out, allowed);
    ngx_http_hangar_out_lit(out, ",\"granted_by_role\":");

    if (allowed && granted.len) {
        ngx_http_hangar_out_ngx_str(out, &granted);

    } else {
        ngx_http_hangar_out_lit(out, "null");
    }

    ngx_http_hangar_out_lit(out, "}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


static ngx_int_t
ngx_http_hangar_check_principal(ngx_http_hangar_req_t *hr, ngx_str_t *id,
    ngx_str_t *tenant, ngx_array_t *groups,
    ngx_http_hangar_principal_t **pp)
{
    ngx_http_hangar_principal_t  *p;

    p = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_principal_t));
    if (p == NULL) {
        return NGX_ERROR;
    }

    p->id = *id;
    p->type = NGX_HTTP_HANGAR_PRINCIPAL_USER;
    p->tenant = *tenant;
    p->groups = groups;
    p->method = "none";

    /* as authorization treats them: anonymous is refused everywhere */
    p->anonymous = ngx_http_hangar_str_is(id, "anonymous");

    *pp = p;

    return NGX_OK;
}
