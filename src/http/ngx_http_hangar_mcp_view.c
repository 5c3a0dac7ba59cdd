
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * What a front-door caller may see of the servers' prompts and resources
 * (ngx_http_hangar_mcp_view.h): the access policies of their kinds, and
 * the tools' own rules, which a prompt or a resource must not get round.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_mcp_view.h"
#include "ngx_http_hangar_catalog.h"
#include "ngx_http_hangar_policy.h"
#include "ngx_http_hangar_principal.h"


static ngx_int_t ngx_http_hangar_view_open(ngx_http_hangar_view_t *view);
static ngx_int_t ngx_http_hangar_view_add(ngx_http_hangar_view_t *view,
    ngx_array_t *set, ngx_str_t *server);
static ngx_uint_t ngx_http_hangar_view_in(ngx_array_t *set,
    ngx_str_t *server);


/*
 * What the caller may see: the policy of the kind (on the server's name
 * of a prompt, the upstream uri of a resource), and a server none of
 * whose tools the caller may call is closed to it for prompts and
 * resources too, so that the tools' access rules are not bypassed.
 */

ngx_uint_t
ngx_http_hangar_view_allowed(ngx_http_hangar_view_t *view, ngx_str_t *server,
    ngx_uint_t kind, ngx_str_t *name)
{
    ngx_str_t                         *tenant;
    ngx_http_hangar_principal_t       *p;
    ngx_http_hangar_policy_verdict_t   v;

    if (view->open == NULL && ngx_http_hangar_view_open(view) != NGX_OK) {
        return 0;
    }

    if (ngx_http_hangar_view_in(view->tooled, server)
        && !ngx_http_hangar_view_in(view->open, server))
    {
        return 0;
    }

    if (name == NULL) {
        return 1;
    }

    p = ngx_http_hangar_auth_principal(view->hr->r);
    tenant = (p && p->tenant.len) ? &p->tenant : NULL;

    return ngx_http_hangar_policy_decide(view->hr->reg, server, NULL, tenant,
                                         kind, name, &v)
           == NGX_OK
           && v.allowed;
}


/* the servers that export tools, and those the caller may call one of */

static ngx_int_t
ngx_http_hangar_view_open(ngx_http_hangar_view_t *view)
{
    ngx_uint_t                         i;
    ngx_array_t                       *entries;
    ngx_http_hangar_entry_t           *e;
    ngx_http_hangar_policy_verdict_t   v;

    view->open = ngx_array_create(view->hr->r->pool, 8, sizeof(ngx_str_t));
    view->tooled = ngx_array_create(view->hr->r->pool, 8, sizeof(ngx_str_t));

    if (view->open == NULL || view->tooled == NULL
        || ngx_http_hangar_catalog(view->hr, &entries) != NGX_OK)
    {
        return NGX_ERROR;
    }

    e = entries->elts;

    for (i = 0; i < entries->nelts; i++) {
        if (e[i].name.len == 0) {
            continue;
        }

        if (ngx_http_hangar_view_add(view, view->tooled, &e[i].server)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (ngx_http_hangar_catalog_access(view->hr, &e[i], &v)
            == NGX_HTTP_HANGAR_ACCESS_OK
            && ngx_http_hangar_view_add(view, view->open, &e[i].server)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* the catalog is the worker's and may be rebuilt meanwhile: a copy */

static ngx_int_t
ngx_http_hangar_view_add(ngx_http_hangar_view_t *view, ngx_array_t *set,
    ngx_str_t *server)
{
    ngx_str_t  *s;

    if (ngx_http_hangar_view_in(set, server)) {
        return NGX_OK;
    }

    s = ngx_array_push(set);
    if (s == NULL) {
        return NGX_ERROR;
    }

    s->len = server->len;
    s->data = ngx_pstrdup(view->hr->r->pool, server);

    return s->data ? NGX_OK : NGX_ERROR;
}


static ngx_uint_t
ngx_http_hangar_view_in(ngx_array_t *set, ngx_str_t *server)
{
    ngx_str_t   *s;
    ngx_uint_t   i;

    s = set->elts;

    for (i = 0; i < set->nelts; i++) {
        if (s[i].len == server->len
            && ngx_strncmp(s[i].data, server->data, server->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}
