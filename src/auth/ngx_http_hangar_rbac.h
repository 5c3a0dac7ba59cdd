
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * RBAC and the key store (hangar-security.md §1.3, §3): permissions,
 * built-in and custom roles, assignments with scopes, API keys.  Keys,
 * custom roles and assignments made through the API live in the state
 * file's "auth" document; those declared in hangar.yaml live in the
 * configuration.  Each worker keeps a parsed copy of the document and
 * rebuilds it when the document's generation changes.
 */


#ifndef _NGX_HTTP_HANGAR_RBAC_H_INCLUDED_
#define _NGX_HTTP_HANGAR_RBAC_H_INCLUDED_


#include "ngx_http_hangar_principal.h"
#include "ngx_http_hangar_registry.h"


#define NGX_HTTP_HANGAR_KEY_MAX_LEN  256


/* a role: built in, or made through the API */
typedef struct {
    const char                  *name;
    const char                  *description;
    const char                 **permissions;   /* NULL terminated */
} ngx_http_hangar_role_def_t;

extern ngx_http_hangar_role_def_t  ngx_http_hangar_builtin_roles[];


/* an API key as the store knows it */
typedef struct {
    u_char                       hash[32];      /* sha256 of the raw key */
    ngx_str_t                    key_id;
    ngx_str_t                    name;
    ngx_str_t                    principal;
    ngx_str_t                    tenant;
    ngx_array_t                 *groups;        /* ngx_str_t, or NULL */
    time_t                       expires;       /* 0: never */
    ngx_msec_t                   noted;     /* this worker wrote its use */
    unsigned                     revoked:1;
    unsigned                     declared:1;    /* hangar.yaml */
} ngx_http_hangar_key_t;


typedef struct {
    ngx_str_t                    principal;
    ngx_str_t                    role;
    ngx_str_t                    scope;         /* "global", "tenant:x" */
} ngx_http_hangar_assign_t;


/* what hangar.yaml declares: hmcf->rbac, set by the auth layer */
typedef struct {
    ngx_array_t                  keys;          /* ngx_http_hangar_key_t */
    ngx_array_t                  assigns;       /* ngx_http_hangar_assign_t */
} ngx_http_hangar_rbac_conf_t;


/* the key a client presented: NGX_OK *key, else NGX_DECLINED *err */
ngx_int_t ngx_http_hangar_rbac_key(ngx_str_t *raw, ngx_pool_t *pool, ngx_http_hangar_principal_t *p,
    ngx_str_t *err, ngx_str_t *details);

/* RBAC for any principal; *granted_by: the role that grants it */
ngx_uint_t ngx_http_hangar_rbac_allowed(ngx_http_hangar_principal_t *p, ngx_str_t *resource, ngx_str_t *action,
    ngx_str_t *id, ngx_str_t *granted_by);

/* "resource:action[:id]" -> three parts (the id "*" when absent) */
ngx_int_t ngx_http_hangar_permission_parse(ngx_str_t *s, ngx_str_t *parts);

/* a role name: non-empty, alphanumeric once '-' and '_' are removed */
ngx_uint_t ngx_http_hangar_role_name_valid(ngx_str_t *name);

/*
 * A role by name: built in, or custom.  NGX_OK with *role (permissions
 * copied into the pool) and *builtin; NGX_DECLINED: no such role.
 */
ngx_int_t ngx_http_hangar_role_find(ngx_pool_t *pool, ngx_str_t *name,
    ngx_http_hangar_role_def_t *role, ngx_uint_t *builtin);

/* an assignment; scope NULL: global */
ngx_int_t ngx_http_hangar_assign_push(ngx_array_t *assigns,
    ngx_str_t *principal, ngx_str_t *role, ngx_str_t *scope);

/* every assignment, declared ones first (in the worker's cache) */
ngx_int_t ngx_http_hangar_rbac_assignments(ngx_array_t **declared,
    ngx_array_t **stored);

/* epoch ms a key was last used, 0: never */
ngx_msec_t ngx_http_hangar_auth_last_used(ngx_str_t *key_id);

/* 2n hex digits -> n bytes */
ngx_int_t ngx_http_hangar_hex_decode(u_char *dst, u_char *src, size_t len);

/* ISO 8601 ("2026-08-08T09:22:56.123+00:00", "...Z", naive = UTC) */
ngx_int_t ngx_http_hangar_iso_parse(ngx_str_t *s, time_t *t);
u_char *ngx_http_hangar_iso_time(u_char *buf, ngx_msec_t ms);
#define NGX_HTTP_HANGAR_ISO_LEN  sizeof("2026-08-08T09:22:56.123456+00:00")


#endif /* _NGX_HTTP_HANGAR_RBAC_H_INCLUDED_ */
