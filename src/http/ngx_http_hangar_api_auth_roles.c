
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/auth/roles: built-in and custom roles, and the assignment of roles
 * to principals at a scope (hangar-security.md §2 #4-11, §3).  Custom
 * roles and assignments are kept in the "auth" document; the built-in
 * roles cannot be changed.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_api_auth_roles.h"


/* a role change: create, update, delete */
typedef struct {
    ngx_http_hangar_authop_t     ao;            /* first */
    ngx_str_t                    role_name;
    ngx_str_t                    description;
    ngx_array_t                 *permissions;   /* NULL: unchanged */
    ngx_str_t                    by;
    ngx_uint_t                   count;         /* of the permissions */
} ngx_http_hangar_rolechg_t;


/* an assignment or its revocation */
typedef struct {
    ngx_http_hangar_authop_t     ao;            /* first */
    ngx_str_t                    principal_id;
    ngx_str_t                    role_name;
    ngx_str_t                    scope;
    ngx_str_t                    by;
} ngx_http_hangar_assignop_t;


static ngx_int_t ngx_http_hangar_roles_out(ngx_http_hangar_req_t *hr,
    ngx_uint_t all);
static void ngx_http_hangar_role_out(ngx_http_hangar_out_t *out,
    ngx_http_hangar_authrole_t *role, ngx_uint_t full);
static ngx_http_hangar_rolechg_t *ngx_http_hangar_role_path(
    ngx_http_hangar_req_t *hr, ngx_int_t *answer);
static ngx_int_t ngx_http_hangar_role_builtin_error(
    ngx_http_hangar_req_t *hr, ngx_str_t *name);
static ngx_uint_t ngx_http_hangar_role_is_builtin(ngx_str_t *name);
static ngx_int_t ngx_http_hangar_role_entry(ngx_http_hangar_authop_t *ao,
    ngx_str_t *name, ngx_uint_t *index);
static ngx_int_t ngx_http_hangar_roles_create_edit(
    ngx_http_hangar_authop_t *ao);
static ngx_int_t ngx_http_hangar_roles_create_reply(
    ngx_http_hangar_authop_t *ao);
static ngx_int_t ngx_http_hangar_roles_delete_edit(
    ngx_http_hangar_authop_t *ao);
static ngx_int_t ngx_http_hangar_roles_delete_reply(
    ngx_http_hangar_authop_t *ao);
static ngx_int_t ngx_http_hangar_roles_update_edit(
    ngx_http_hangar_authop_t *ao);
static ngx_int_t ngx_http_hangar_roles_update_reply(
    ngx_http_hangar_authop_t *ao);
static ngx_int_t ngx_http_hangar_perms_set(ngx_pool_t *pool,
    ngx_http_hangar_value_t *entry, ngx_array_t *perms);
static ngx_int_t ngx_http_hangar_assignment(ngx_http_hangar_req_t *hr,
    ngx_uint_t assign);
static ngx_int_t ngx_http_hangar_assignment_find(
    ngx_http_hangar_assignop_t *as, ngx_uint_t *index);
static ngx_int_t ngx_http_hangar_roles_assign_edit(
    ngx_http_hangar_authop_t *ao);
static ngx_int_t ngx_http_hangar_roles_revoke_edit(
    ngx_http_hangar_authop_t *ao);
static ngx_int_t ngx_http_hangar_assignment_reply(
    ngx_http_hangar_authop_t *ao);
static ngx_int_t ngx_http_hangar_role_body_error(ngx_http_hangar_req_t *hr,
    ngx_int_t rc, ngx_http_hangar_authbad_t *bad);


/* names that are routes of their own below /auth/roles/ */
static const char  *ngx_http_hangar_role_reserved[] = {
    "all", "assign", "revoke", NULL
};


static ngx_http_hangar_authfield_t  ngx_http_hangar_role_fields[] = {
    { "role_name", NGX_HTTP_HANGAR_AUTHF_ROLE,
      NGX_HTTP_HANGAR_AUTHF_REQUIRED, 0,
      offsetof(ngx_http_hangar_rolechg_t, role_name) },
    { "description", NGX_HTTP_HANGAR_AUTHF_TEXT, NGX_HTTP_HANGAR_AUTHF_EMPTY,
      NGX_HTTP_HANGAR_AUTH_TEXT_MAX,
      offsetof(ngx_http_hangar_rolechg_t, description) },
    { "permissions", NGX_HTTP_HANGAR_AUTHF_PERMS, 0,
      NGX_HTTP_HANGAR_AUTH_PERMS_MAX,
      offsetof(ngx_http_hangar_rolechg_t, permissions) },
    { "created_by", NGX_HTTP_HANGAR_AUTHF_PRINCIPAL, 0, 0,
      offsetof(ngx_http_hangar_rolechg_t, by) },
    { NULL, 0, 0, 0, 0 }
};


static ngx_http_hangar_authfield_t  ngx_http_hangar_role_patch_fields[] = {
    { "description", NGX_HTTP_HANGAR_AUTHF_TEXT, NGX_HTTP_HANGAR_AUTHF_EMPTY,
      NGX_HTTP_HANGAR_AUTH_TEXT_MAX,
      offsetof(ngx_http_hangar_rolechg_t, description) },
    { "permissions", NGX_HTTP_HANGAR_AUTHF_PERMS, 0,
      NGX_HTTP_HANGAR_AUTH_PERMS_MAX,
      offsetof(ngx_http_hangar_rolechg_t, permissions) },
    { "updated_by", NGX_HTTP_HANGAR_AUTHF_PRINCIPAL, 0, 0,
      offsetof(ngx_http_hangar_rolechg_t, by) },
    { NULL, 0, 0, 0, 0 }
};


static ngx_http_hangar_authfield_t  ngx_http_hangar_assign_fields[] = {
    { "principal_id", NGX_HTTP_HANGAR_AUTHF_PRINCIPAL,
      NGX_HTTP_HANGAR_AUTHF_REQUIRED, 0,
      offsetof(ngx_http_hangar_assignop_t, principal_id) },
    { "role_name", NGX_HTTP_HANGAR_AUTHF_ROLE,
      NGX_HTTP_HANGAR_AUTHF_REQUIRED, 0,
      offsetof(ngx_http_hangar_assignop_t, role_name) },
    { "scope", NGX_HTTP_HANGAR_AUTHF_SCOPE, 0, 0,
      offsetof(ngx_http_hangar_assignop_t, scope) },
    { "assigned_by", NGX_HTTP_HANGAR_AUTHF_PRINCIPAL, 0, 0,
      offsetof(ngx_http_hangar_assignop_t, by) },
    { NULL, 0, 0, 0, 0 }
};


static ngx_http_hangar_authfield_t  ngx_http_hangar_unassign_fields[] = {
    { "principal_id", NGX_HTTP_HANGAR_AUTHF_PRINCIPAL,
      NGX_HTTP_HANGAR_AUTHF_REQUIRED, 0,
      offsetof(ngx_http_hangar_assignop_t, principal_id) },
    { "role_name", NGX_HTTP_HANGAR_AUTHF_ROLE,
      NGX_HTTP_HANGAR_AUTHF_REQUIRED, 0,
      offsetof(ngx_http_hangar_assignop_t, role_name) },
    { "scope", NGX_HTTP_HANGAR_AUTHF_SCOPE, 0, 0,
      offsetof(ngx_http_hangar_assignop_t, scope) },
    { "revoked_by", NGX_HTTP_HANGAR_AUTHF_PRINCIPAL, 0, 0,
      offsetof(ngx_http_hangar_assignop_t, by) },
    { NULL, 0, 0, 0, 0 }
};


/* ---- GET /auth/roles, GET /auth/roles/all -------------------------------- */

ngx_int_t
ngx_http_hangar_roles_list(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_roles_out(hr, 0);
}


ngx_int_t
ngx_http_hangar_roles_all(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_roles_out(hr, 1);
}


/*
 * GET /auth/roles: the built-in roles, as the original.  /all: every role
 * with its permissions (?include_builtin=false: the custom ones).
 */

static ngx_int_t
ngx_http_hangar_roles_out(ngx_http_hangar_req_t *hr, ngx_uint_t all)
{
    ngx_str_t                    inc, *name;
    ngx_uint_t                   i, n, builtin, custom;
    ngx_http_hangar_out_t       *out;
    ngx_http_hangar_value_t    **e;
    ngx_http_hangar_authdoc_t    d;
    ngx_http_hangar_authrole_t   role;

    if (ngx_http_hangar_authreq_arg(hr, "include_builtin", &inc) != NGX_OK
        || ngx_http_hangar_authdoc_read(hr, &d) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = &hr->out;
    ngx_http_hangar_out_lit(out, "{\"roles\":[");

    n = 0;
    builtin = 0;
    custom = 0;

    if (!(all && inc.len == 5
          && ngx_strncasecmp(inc.data, (u_char *) "false", 5) == 0))
    {
        for (i = 0; ngx_http_hangar_builtin_roles[i].name; i++) {
            if (ngx_http_hangar_authrole_builtin(hr->r->pool, i, &role)
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            if (n++) {
                ngx_http_hangar_out_lit(out, ",");
            }

            ngx_http_hangar_role_out(out, &role, all);
            builtin++;
        }
    }

    e = d.roles->u.arr.elts;

    for (i = 0; all && i < d.roles->u.arr.nelts; i++) {
        name = ngx_http_hangar_authdoc_str(e[i], "name");

        if (name == NULL
            || ngx_http_hangar_authrole_find(hr->r->pool, &d, name, &role)
               != NGX_OK
            || role.builtin)
        {
            continue;
        }

        if (n++) {
            ngx_http_hangar_out_lit(out, ",");
        }

        ngx_http_hangar_role_out(out, &role, all);
        custom++;
    }

    if (all) {
        ngx_http_hangar_out_printf(out, "],\"total\":%ui,\"builtin_count\":%ui,"
                                   "\"custom_count\":%ui}", n, builtin,
                                   custom);

    } else {
        ngx_http_hangar_out_printf(out, "],\"count\":%ui}", n);
    }

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


static void
ngx_http_hangar_role_out(ngx_http_hangar_out_t *out,
    ngx_http_hangar_authrole_t *role, ngx_uint_t full)
{
    ngx_http_hangar_out_lit(out, "{\"name\":");
    ngx_http_hangar_out_ngx_str(out, &role->name);
    ngx_http_hangar_out_lit(out, ",\"description\":");
    ngx_http_hangar_out_ngx_str(out, &role->description);

    if (full) {
        ngx_http_hangar_out_lit(out, ",\"permissions\":");
        ngx_http_hangar_authdoc_strs_out(out, role->permissions);
    }

    ngx_http_hangar_out_printf(out, ",\"permissions_count\":%ui",
                               role->permissions->nelts);

    if (full == 1) {
        ngx_http_hangar_out_lit(out, ",\"is_builtin\":");
        ngx_http_hangar_out_bool(out, role->builtin);
    }

    ngx_http_hangar_out_lit(out, "}");
}


/* ---- GET /auth/roles/{role_name} ---------------------------------------- */

ngx_int_t
ngx_http_hangar_roles_get(ngx_http_hangar_req_t *hr)
{
    ngx_int_t                    rc;
    ngx_http_hangar_out_t       *out;
    ngx_http_hangar_authdoc_t    d;
    ngx_http_hangar_authrole_t   role;

    if (ngx_http_hangar_authdoc_read(hr, &d) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_hangar_authrole_find(hr->r->pool, &d, &hr->params[0],
                                       &role);

    if (rc == NGX_DECLINED) {
        return ngx_http_hangar_error(hr, NGX_HTTP_NOT_FOUND,
                                     "RoleNotFoundError", "Role not found: %V",
                                     &hr->params[0]);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = &hr->out;
    ngx_http_hangar_out_lit(out, "{\"found\":true,\"role\":");
    ngx_http_hangar_role_out(out, &role, 2);
    ngx_http_hangar_out_lit(out, "}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* ---- POST /auth/roles ------------------------------------------------- */

ngx_int_t
ngx_http_hangar_roles_create(ngx_http_hangar_req_t *hr)
{
    ngx_int_t                   rc;
    ngx_uint_t                  i;
    ngx_http_hangar_authbad_t   bad;
    ngx_http_hangar_rolechg_t  *rch;

    rch = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_rolechg_t));
    if (rch == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_hangar_authreq_fields(hr, ngx_http_hangar_role_fields, rch,
                                        &bad);
    if (rc != NGX_OK) {
        return ngx_http_hangar_role_body_error(hr, rc, &bad);
    }

    for (i = 0; ngx_http_hangar_role_reserved[i]; i++) {
        if (rch->role_name.len == ngx_strlen(ngx_http_hangar_role_reserved[i])
            && ngx_strncmp(rch->role_name.data,
                           ngx_http_hangar_role_reserved[i],
                           rch->role_name.len)
               == 0)
        {
            return ngx_http_hangar_authreq_invalid(hr, "role_name",
                       "role_name: \"all\", \"assign\" and \"revoke\" are "
                       "reserved");
        }
    }

    if (ngx_http_hangar_role_is_builtin(&rch->role_name)) {
        return ngx_http_hangar_role_builtin_error(hr, &rch->role_name);
    }

    rch->ao.edit = ngx_http_hangar_roles_create_edit;
    rch->ao.reply = ngx_http_hangar_roles_create_reply;

    return ngx_http_hangar_authdoc_run(hr, &rch->ao);
}


static ngx_int_t
ngx_http_hangar_roles_create_edit(ngx_http_hangar_authop_t *ao)
{
    ngx_str_t                   now;
    ngx_uint_t                  i;
    ngx_http_hangar_out_t       out;
    ngx_http_hangar_rolechg_t  *rch;

    rch = (ngx_http_hangar_rolechg_t *) ao;

    if (ngx_http_hangar_role_entry(ao, &rch->role_name, &i) == NGX_OK) {
        return ngx_http_hangar_authop_refuse(ao, NGX_HTTP_CONFLICT,
                                             "RoleAlreadyExistsError", NULL,
                                             "Role already exists: %V",
                                             &rch->role_name);
    }

    if (ao->d.roles->u.arr.nelts >= NGX_HTTP_HANGAR_AUTH_ROLES_MAX) {
        ao->bound = "custom roles";
        ao->bound_max = NGX_HTTP_HANGAR_AUTH_ROLES_MAX;
        return NGX_HTTP_HANGAR_STATE_MANY;
    }

    if (rch->by.len == 0) {
        rch->by = ao->actor;
    }

    if (ngx_http_hangar_authdoc_now(ao->op.pool, &now) != NGX_OK) {
        return NGX_ERROR;
    }

    rch->count = rch->permissions ? rch->permissions->nelts : 0;

    ngx_http_hangar_out_init(&out, ao->op.pool, 512);
    ngx_http_hangar_out_lit(&out, "{\"name\":");
    ngx_http_hangar_out_ngx_str(&out, &rch->role_name);
    ngx_http_hangar_out_lit(&out, ",\"description\":");
    ngx_http_hangar_out_ngx_str(&out, &rch->description);
    ngx_http_hangar_out_lit(&out, ",\"permissions\":");
    ngx_http_hangar_authdoc_strs_out(&out, rch->permissions);
    ngx_http_hangar_out_lit(&out, ",\"created_at\":");
    ngx_http_hangar_out_ngx_str(&out, &now);
    ngx_http_hangar_out_lit(&out, ",\"created_by\":");
    ngx_http_hangar_out_ngx_str(&out, &rch->by);
    ngx_http_hangar_out_lit(&out, ",\"updated_at\":");
    ngx_http_hangar_out_ngx_str(&out, &now);
    ngx_http_hangar_out_lit(&out, "}");

    if (ngx_http_hangar_authdoc_push(ao->op.pool, ao->d.roles, &out)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_hangar_authop_event(ao, "CustomRoleCreated",
                                        &rch->role_name,
                                        "role_name", &rch->role_name,
                                        "created_by", &rch->by, NULL);
}


static ngx_int_t
ngx_http_hangar_roles_create_reply(ngx_http_hangar_authop_t *ao)
{
    ngx_http_hangar_out_t      *out;
    ngx_http_hangar_rolechg_t  *rch;

    rch = (ngx_http_hangar_rolechg_t *) ao;
    out = &ao->hr->out;

    ngx_http_hangar_out_lit(out, "{\"role_name\":");
    ngx_http_hangar_out_ngx_str(out, &rch->role_name);
    ngx_http_hangar_out_lit(out, ",\"description\":");
    ngx_http_hangar_out_ngx_str(out, &rch->description);
    ngx_http_hangar_out_printf(out, ",\"permissions_count\":%ui,"
                               "\"created\":true,\"created_by\":",
                               rch->count);
    ngx_http_hangar_out_ngx_str(out, &rch->by);
    ngx_http_hangar_out_lit(out, "}");

    return ngx_http_hangar_send(ao->hr, NGX_HTTP_CREATED);
}


/* ---- DELETE /auth/roles/{role_name} ------------------------------------- */

ngx_int_t
ngx_http_hangar_roles_delete(ngx_http_hangar_req_t *hr)
{
    ngx_int_t                   rc;
    ngx_http_hangar_rolechg_t  *rch;

    rch = ngx_http_hangar_role_path(hr, &rc);
    if (rch == NULL) {
        return rc;
    }

    rch->ao.edit = ngx_http_hangar_roles_delete_edit;
    rch->ao.reply = ngx_http_hangar_roles_delete_reply;

    return ngx_http_hangar_authdoc_run(hr, &rch->ao);
}


/* the role and every assignment of it */

static ngx_int_t
ngx_http_hangar_roles_delete_edit(ngx_http_hangar_authop_t *ao)
{
    ngx_uint_t                  i;
    ngx_http_hangar_value_t   **a;
    ngx_http_hangar_rolechg_t  *rch;

    rch = (ngx_http_hangar_rolechg_t *) ao;

    if (ngx_http_hangar_role_entry(ao, &rch->role_name, &i) != NGX_OK) {
        return ngx_http_hangar_authop_refuse(ao, NGX_HTTP_NOT_FOUND,
                                             "RoleNotFoundError", NULL,
                                             "Role not found: %V",
                                             &rch->role_name);
    }

    ngx_http_hangar_authdoc_remove(ao->d.roles, i);

    a = ao->d.assignments->u.arr.elts;

    for (i = 0; i < ao->d.assignments->u.arr.nelts; /* void */) {
        if (ngx_http_hangar_authdoc_is(a[i], "role", &rch->role_name)) {
            ngx_http_hangar_authdoc_remove(ao->d.assignments, i);
            continue;
        }

        i++;
    }

    return ngx_http_hangar_authop_event(ao, "CustomRoleDeleted",
                                        &rch->role_name,
                                        "role_name", &rch->role_name,
                                        "deleted_by", &ao->actor, NULL);
}


static ngx_int_t
ngx_http_hangar_roles_delete_reply(ngx_http_hangar_authop_t *ao)
{
    return ngx_http_hangar_send(ao->hr, NGX_HTTP_NO_CONTENT);
}


/* ---- PATCH /auth/roles/{role_name} -------------------------------------- */

ngx_int_t
ngx_http_hangar_roles_update(ngx_http_hangar_req_t *hr)
{
    ngx_int_t                   rc;
    ngx_http_hangar_authbad_t   bad;
    ngx_http_hangar_rolechg_t  *rch;

    rch = ngx_http_hangar_role_path(hr, &rc);
    if (rch == NULL) {
        return rc;
    }

    ngx_str_null(&rch->description);

    rc = ngx_http_hangar_authreq_fields(hr, ngx_http_hangar_role_patch_fields,
                                        rch, &bad);
    if (rc != NGX_OK) {
        return ngx_http_hangar_role_body_error(hr, rc, &bad);
    }

    rch->ao.edit = ngx_http_hangar_roles_update_edit;
    rch->ao.reply = ngx_http_hangar_roles_update_reply;

    return ngx_http_hangar_authdoc_run(hr, &rch->ao);
}


/* what the body has replaces what the role had; the rest is kept */

static ngx_int_t
ngx_http_hangar_roles_update_edit(ngx_http_hangar_authop_t *ao)
{
    ngx_str_t                   now, *s;
    ngx_uint_t                  i;
    ngx_pool_t                 *pool;
    ngx_http_hangar_value_t   **e, *perms;
    ngx_http_hangar_rolechg_t  *rch;

    rch = (ngx_http_hangar_rolechg_t *) ao;
    pool = ao->op.pool;

    if (ngx_http_hangar_role_entry(ao, &rch->role_name, &i) != NGX_OK) {
        return ngx_http_hangar_authop_refuse(ao, NGX_HTTP_NOT_FOUND,
                                             "RoleNotFoundError", NULL,
                                             "Role not found: %V",
                                             &rch->role_name);
    }

    e = ao->d.roles->u.arr.elts;

    if (rch->by.len == 0) {
        rch->by = ao->actor;
    }

    if (ngx_http_hangar_authdoc_now(pool, &now) != NGX_OK
        || (rch->description.data
            && ngx_http_hangar_authdoc_set_str(pool, e[i], "description",
                                               &rch->description)
               != NGX_OK)
        || (rch->permissions
            && ngx_http_hangar_perms_set(pool, e[i], rch->permissions)
               != NGX_OK)
        || ngx_http_hangar_authdoc_set_str(pool, e[i], "updated_at", &now)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    s = ngx_http_hangar_authdoc_str(e[i], "description");

    if (s) {
        rch->description = *s;

    } else {
        ngx_str_set(&rch->description, "");
    }

    perms = ngx_http_hangar_get(e[i], "permissions");
    rch->count = ngx_http_hangar_is(perms, NGX_HTTP_HANGAR_ARR)
                 ? perms->u.arr.nelts : 0;

    return ngx_http_hangar_authop_event(ao, "CustomRoleUpdated",
                                        &rch->role_name,
                                        "role_name", &rch->role_name,
                                        "updated_by", &rch->by, NULL);
}


static ngx_int_t
ngx_http_hangar_perms_set(ngx_pool_t *pool, ngx_http_hangar_value_t *entry,
    ngx_array_t *perms)
{
    ngx_str_t                *s;
    ngx_uint_t                i;
    ngx_http_hangar_value_t  *arr, *v;

    arr = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_ARR);
    if (arr == NULL) {
        return NGX_ERROR;
    }

    s = perms->elts;

    for (i = 0; i < perms->nelts; i++) {
        v = ngx_http_hangar_value_str(pool, s[i].data, s[i].len);

        if (v == NULL || ngx_http_hangar_push(arr, v) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_http_hangar_set(pool, entry, (u_char *) "permissions",
                               sizeof("permissions") - 1, arr);
}


static ngx_int_t
ngx_http_hangar_roles_update_reply(ngx_http_hangar_authop_t *ao)
{
    ngx_http_hangar_out_t      *out;
    ngx_http_hangar_rolechg_t  *rch;

    rch = (ngx_http_hangar_rolechg_t *) ao;
    out = &ao->hr->out;

    ngx_http_hangar_out_lit(out, "{\"role_name\":");
    ngx_http_hangar_out_ngx_str(out, &rch->role_name);
    ngx_http_hangar_out_lit(out, ",\"description\":");
    ngx_http_hangar_out_ngx_str(out, &rch->description);
    ngx_http_hangar_out_printf(out, ",\"permissions_count\":%ui,"
                               "\"updated\":true,\"updated_by\":",
                               rch->count);
    ngx_http_hangar_out_ngx_str(out, &rch->by);
    ngx_http_hangar_out_lit(out, "}");

    return ngx_http_hangar_send(ao->hr, NGX_HTTP_OK);
}


/* ---- what the role routes share ------------------------------------------ */

/*
 * The role a path names, for a change; NULL when *answer is what the
 * request was answered (403 for a built-in role, 404 for a name no role
 * can have).
 */

static ngx_http_hangar_rolechg_t *
ngx_http_hangar_role_path(ngx_http_hangar_req_t *hr, ngx_int_t *answer)
{
    ngx_str_t                  *name;
    ngx_http_hangar_rolechg_t  *rch;

    name = &hr->params[0];

    if (ngx_http_hangar_role_is_builtin(name)) {
        *answer = ngx_http_hangar_role_builtin_error(hr, name);
        return NULL;
    }

    if (name->len > NGX_HTTP_HANGAR_AUTH_ROLE_MAX
        || !ngx_http_hangar_role_name_valid(name))
    {
        *answer = ngx_http_hangar_error(hr, NGX_HTTP_NOT_FOUND,
                                        "RoleNotFoundError",
                                        "Role not found: %V", name);
        return NULL;
    }

    rch = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_rolechg_t));
    if (rch == NULL) {
        *answer = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NULL;
    }

    rch->role_name = *name;

    return rch;
}


static ngx_int_t
ngx_http_hangar_role_builtin_error(ngx_http_hangar_req_t *hr, ngx_str_t *name)
{
    u_char     buf[NGX_HTTP_HANGAR_AUTH_ROLE_MAX * 2 + 128], *p;
    ngx_str_t  details;

    p = ngx_snprintf(buf, sizeof(buf), "{\"principal_id\":\"\",\"action\":\"\","
                     "\"resource\":\"\",\"role_name\":\"%V\"}", name);

    details.data = buf;
    details.len = p - buf;

    return ngx_http_hangar_error_details(hr, NGX_HTTP_FORBIDDEN,
                                         "CannotModifyBuiltinRoleError",
                                         &details,
                                         "Cannot modify built-in role: %V",
                                         name);
}


static ngx_uint_t
ngx_http_hangar_role_is_builtin(ngx_str_t *name)
{
    ngx_uint_t  i;

    for (i = 0; ngx_http_hangar_builtin_roles[i].name; i++) {
        if (ngx_strlen(ngx_http_hangar_builtin_roles[i].name) == name->len
            && ngx_strncmp(ngx_http_hangar_builtin_roles[i].name, name->data,
                           name->len)
               == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* a custom role's entry in the document: NGX_OK with *index, NGX_DECLINED */

static ngx_int_t
ngx_http_hangar_role_entry(ngx_http_hangar_authop_t *ao, ngx_str_t *name,
    ngx_uint_t *index)
{
    ngx_uint_t                 i;
    ngx_http_hangar_value_t  **e;

    e = ao->d.roles->u.arr.elts;

    for (i = 0; i < ao->d.roles->u.arr.nelts; i++) {
        if (ngx_http_hangar_authdoc_is(e[i], "name", name)) {
            *index = i;
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_hangar_role_body_error(ngx_http_hangar_req_t *hr, ngx_int_t rc,
    ngx_http_hangar_authbad_t *bad)
{
    if (rc == NGX_DECLINED) {
        return ngx_http_hangar_validation_error(hr, &bad->field,
                                                &bad->message);
    }

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/* ---- POST /auth/roles/assign, DELETE /auth/roles/revoke ----------------- */

ngx_int_t
ngx_http_hangar_roles_assign(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_assignment(hr, 1);
}


ngx_int_t
ngx_http_hangar_roles_revoke(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_assignment(hr, 0);
}


static ngx_int_t
ngx_http_hangar_assignment(ngx_http_hangar_req_t *hr, ngx_uint_t assign)
{
    ngx_int_t                     rc;
    ngx_http_hangar_authbad_t     bad;
    ngx_http_hangar_authfield_t  *fields;
    ngx_http_hangar_assignop_t   *as;

    as = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_assignop_t));
    if (as == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    fields = assign ? ngx_http_hangar_assign_fields
                    : ngx_http_hangar_unassign_fields;

    rc = ngx_http_hangar_authreq_fields(hr, fields, as, &bad);
    if (rc != NGX_OK) {
        return ngx_http_hangar_role_body_error(hr, rc, &bad);
    }

    if (as->scope.len == 0) {
        ngx_str_set(&as->scope, "global");
    }

    as->ao.edit = assign ? ngx_http_hangar_roles_assign_edit
                         : ngx_http_hangar_roles_revoke_edit;
    as->ao.reply = ngx_http_hangar_assignment_reply;

    return ngx_http_hangar_authdoc_run(hr, &as->ao);
}


static ngx_int_t
ngx_http_hangar_assignment_find(ngx_http_hangar_assignop_t *as,
    ngx_uint_t *index)
{
    ngx_uint_t                 i;
    ngx_http_hangar_value_t  **a;

    a = as->ao.d.assignments->u.arr.elts;

    for (i = 0; i < as->ao.d.assignments->u.arr.nelts; i++) {
        if (ngx_http_hangar_authdoc_is(a[i], "principal_id",
                                       &as->principal_id)
            && ngx_http_hangar_authdoc_is(a[i], "role", &as->role_name)
            && ngx_http_hangar_authdoc_is(a[i], "scope", &as->scope))
        {
            *index = i;
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_hangar_roles_assign_edit(ngx_http_hangar_authop_t *ao)
{
    ngx_str_t                   now;
    ngx_uint_t                  i, builtin;
    ngx_http_hangar_out_t       out;
    ngx_http_hangar_assignop_t   *as;
    ngx_http_hangar_role_def_t  def;

    as = (ngx_http_hangar_assignop_t *) ao;

    if (as->by.len == 0) {
        as->by = ao->actor;
    }

    /* a built-in or custom role, or one the auth core knows otherwise */
    if (!ngx_http_hangar_role_is_builtin(&as->role_name)
        && ngx_http_hangar_role_entry(ao, &as->role_name, &i) != NGX_OK
        && ngx_http_hangar_role_find(ao->op.pool, &as->role_name, &def,
                                     &builtin)
           != NGX_OK)
    {
        return ngx_http_hangar_authop_refuse(ao, 422, "ValidationError",
                                             "role_name",
                                             "role_name: no role named "
                                             "\"%V\"", &as->role_name);
    }

    if (ngx_http_hangar_assignment_find(as, &i) == NGX_OK) {
        return NGX_DONE;
    }

    if (ao->d.assignments->u.arr.nelts >= NGX_HTTP_HANGAR_AUTH_ASSIGN_MAX) {
        ao->bound = "role assignments";
        ao->bound_max = NGX_HTTP_HANGAR_AUTH_ASSIGN_MAX;
        return NGX_HTTP_HANGAR_STATE_MANY;
    }

    if (ngx_http_hangar_authdoc_now(ao->op.pool, &now) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_hangar_out_init(&out, ao->op.pool, 512);
    ngx_http_hangar_out_lit(&out, "{\"principal_id\":");
    ngx_http_hangar_out_ngx_str(&out, &as->principal_id);
    ngx_http_hangar_out_lit(&out, ",\"role\":");
    ngx_http_hangar_out_ngx_str(&out, &as->role_name);
    ngx_http_hangar_out_lit(&out, ",\"scope\":");
    ngx_http_hangar_out_ngx_str(&out, &as->scope);
    ngx_http_hangar_out_lit(&out, ",\"assigned_at\":");
    ngx_http_hangar_out_ngx_str(&out, &now);
    ngx_http_hangar_out_lit(&out, ",\"assigned_by\":");
    ngx_http_hangar_out_ngx_str(&out, &as->by);
    ngx_http_hangar_out_lit(&out, "}");

    if (ngx_http_hangar_authdoc_push(ao->op.pool, ao->d.assignments, &out)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_hangar_authop_event(ao, "RoleAssigned", &as->role_name,
                                        "principal_id", &as->principal_id,
                                        "role_name", &as->role_name,
                                        "scope", &as->scope,
                                        "assigned_by", &as->by, NULL);
}


static ngx_int_t
ngx_http_hangar_roles_revoke_edit(ngx_http_hangar_authop_t *ao)
{
    ngx_uint_t                 i;
    ngx_http_hangar_assignop_t  *as;

    as = (ngx_http_hangar_assignop_t *) ao;

    if (as->by.len == 0) {
        as->by = ao->actor;
    }

    if (ngx_http_hangar_assignment_find(as, &i) != NGX_OK) {
        return NGX_DONE;
    }

    ngx_http_hangar_authdoc_remove(ao->d.assignments, i);

    return ngx_http_hangar_authop_event(ao, "RoleRevoked", &as->role_name,
                                        "principal_id", &as->principal_id,
                                        "role_name", &as->role_name,
                                        "scope", &as->scope,
                                        "revoked_by", &as->by, NULL);
}


/* assign: "assigned":true, also when it was there; revoke: whether it was */

static ngx_int_t
ngx_http_hangar_assignment_reply(ngx_http_hangar_authop_t *ao)
{
    ngx_uint_t                 assign;
    ngx_http_hangar_out_t     *out;
    ngx_http_hangar_assignop_t  *as;

    as = (ngx_http_hangar_assignop_t *) ao;
    out = &ao->hr->out;
    assign = (ao->edit == ngx_http_hangar_roles_assign_edit);

    if (as->by.len == 0) {
        as->by = ao->actor;
    }

    ngx_http_hangar_out_lit(out, "{\"principal_id\":");
    ngx_http_hangar_out_ngx_str(out, &as->principal_id);
    ngx_http_hangar_out_lit(out, ",\"role_name\":");
    ngx_http_hangar_out_ngx_str(out, &as->role_name);
    ngx_http_hangar_out_lit(out, ",\"scope\":");
    ngx_http_hangar_out_ngx_str(out, &as->scope);

    if (assign) {
        ngx_http_hangar_out_lit(out, ",\"assigned\":true,\"assigned_by\":");

    } else {
        ngx_http_hangar_out_lit(out, ",\"revoked\":");
        ngx_http_hangar_out_bool(out, ao->changed);
        ngx_http_hangar_out_lit(out, ",\"revoked_by\":");
    }

    ngx_http_hangar_out_ngx_str(out, &as->by);
    ngx_http_hangar_out_lit(out, "}");

    return ngx_http_hangar_send(ao->hr, NGX_HTTP_OK);
}
