
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/sessions/{id}/suspend (POST suspends, DELETE resumes) and
 * /api/admin/tools/{server}/{tool}/withdraw|restore: runtime rules the
 * front door enforces, kept in the state file.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_api.h"


static ngx_int_t ngx_http_hangar_session_change(ngx_http_hangar_req_t *hr,
    ngx_uint_t suspend);
static ngx_int_t ngx_http_hangar_csrf(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_withdrawal(ngx_http_hangar_req_t *hr,
    ngx_uint_t withdraw);
static ngx_http_hangar_value_t *ngx_http_hangar_list_load(
    ngx_http_hangar_req_t *hr, ngx_http_hangar_blob_t *blob);
static ngx_int_t ngx_http_hangar_list_save(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_blob_t **slot, ngx_http_hangar_value_t *list);


ngx_int_t
ngx_http_hangar_sessions_suspend(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_session_change(hr, 1);
}


ngx_int_t
ngx_http_hangar_sessions_resume(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_session_change(hr, 0);
}


/*
 * hangar-core §0: a request that looks browser-made (Origin, Referer or
 * Cookie) needs a header a form cannot send.
 */

static ngx_int_t
ngx_http_hangar_csrf(ngx_http_hangar_req_t *hr)
{
    ngx_str_t           *v;
    ngx_http_request_t  *r;

    r = hr->r;

    if (ngx_http_hangar_header(r, "Origin") == NULL
        && ngx_http_hangar_header(r, "Referer") == NULL
        && ngx_http_hangar_header(r, "Cookie") == NULL)
    {
        return NGX_OK;
    }

    v = ngx_http_hangar_header(r, "Authorization");

    if (ngx_http_hangar_header(r, "X-API-Key")
        || ngx_http_hangar_header(r, "X-Requested-With")
        || (v && v->len > 7 && ngx_strncasecmp(v->data, (u_char *) "Bearer ",
                                               7) == 0))
    {
        return NGX_OK;
    }

    return ngx_http_hangar_answered(hr,
               ngx_http_hangar_error(hr, NGX_HTTP_FORBIDDEN,
                                     "csrf_header_required",
                                     "X-Requested-With header is required "
                                     "for mutating requests"));
}


static ngx_int_t
ngx_http_hangar_session_change(ngx_http_hangar_req_t *hr, ngx_uint_t suspend)
{
    ngx_int_t                 rc;
    ngx_str_t                *sid;
    ngx_uint_t                i, found;
    ngx_http_hangar_value_t  *list, **items, *v;

    sid = &hr->params[0];

    /* ids as the original accepts them; the front door's fit */
    if (!ngx_http_hangar_id_chars(sid, 128)) {
        return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST,
                                     "InvalidSessionIdError",
                                     "invalid session_id: must be 1-128 "
                                     "alphanumeric, dash, or underscore");
    }

    rc = ngx_http_hangar_csrf(hr);
    if (rc != NGX_OK) {
        return rc == NGX_DECLINED ? hr->rc : rc;
    }

    list = ngx_http_hangar_list_load(hr, hr->reg->sh->suspended);
    if (list == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    items = list->u.arr.elts;
    found = 0;

    for (i = 0; i < list->u.arr.nelts; i++) {
        if (ngx_memn2cmp(items[i]->u.s.data, sid->data, items[i]->u.s.len,
                         sid->len) == 0)
        {
            found = 1;

            if (!suspend) {
                items[i] = items[--list->u.arr.nelts];
            }

            break;
        }
    }

    if (suspend && !found) {
        if (list->u.arr.nelts >= 10000) {
            return ngx_http_hangar_error(hr, 507, "RegistryFullError",
                                         "at most 10000 sessions can be "
                                         "suspended");
        }

        v = ngx_http_hangar_value_str(hr->r->pool, sid->data, sid->len);
        if (v == NULL || ngx_http_hangar_push(list, v) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (suspend != found) {
        rc = ngx_http_hangar_list_save(hr, &hr->reg->sh->suspended, list);
        if (rc != NGX_OK) {
            return rc == NGX_DECLINED ? hr->rc : rc;
        }
    }

    ngx_http_hangar_out_lit(&hr->out, "{\"session_id\":");
    ngx_http_hangar_out_str(&hr->out, sid->data, sid->len);
    ngx_http_hangar_out_printf(&hr->out, ",\"suspended\":%s}",
                               suspend ? "true" : "false");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* one of the shm lists, as a value tree in the request's pool */

static ngx_http_hangar_value_t *
ngx_http_hangar_list_load(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_blob_t *blob)
{
    ngx_str_t                 text, err;
    ngx_http_hangar_value_t  *list;

    if (ngx_http_hangar_blob_copy(hr->reg, hr->r->pool, blob, "[]", &text)
        != NGX_OK)
    {
        return NULL;
    }

    list = ngx_http_hangar_json_parse(hr->r->pool, text.data, text.len, &err);

    return ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR) ? list : NULL;
}


static ngx_int_t
ngx_http_hangar_list_save(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_blob_t **slot, ngx_http_hangar_value_t *list)
{
    ngx_int_t  rc;
    ngx_str_t  text, errmsg;

    if (ngx_http_hangar_json_text(hr->r->pool, list, &text) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_null(&errmsg);

    rc = ngx_http_hangar_state_list(hr->reg, hr->r->pool, slot, &text,
                                    hr->r->connection->log, &errmsg);

    if (rc == NGX_DECLINED) {
        return ngx_http_hangar_answered(hr,
                   ngx_http_hangar_error(hr, 507, "RegistryFullError",
                                         "the hangar zone \"%V\" is full; "
                                         "nothing was changed",
                                         &hr->reg->name));
    }

    if (rc != NGX_OK) {
        return ngx_http_hangar_answered(hr,
                   ngx_http_hangar_error(hr, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "StateWriteError", "%V", &errmsg));
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_tools_withdraw(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_withdrawal(hr, 1);
}


ngx_int_t
ngx_http_hangar_tools_restore(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_withdrawal(hr, 0);
}


/*
 * {"mcp_server","tool","tenant_id"} entries; tenant_id null means every
 * tenant.  Restore with no tenant removes every entry of the tool.
 */

static ngx_int_t
ngx_http_hangar_withdrawal(ngx_http_hangar_req_t *hr, ngx_uint_t withdraw)
{
    ngx_int_t                 rc;
    ngx_str_t                *server, *tool, field, msg;
    ngx_uint_t                i, found, same;
    ngx_http_hangar_value_t  *list, **items, *s, *t, *n, *tenant, *e;

    server = &hr->params[0];
    tool = &hr->params[1];

    tenant = ngx_http_hangar_get(hr->body, "tenant_id");

    if (tenant && tenant->type == NGX_HTTP_HANGAR_STR && tenant->u.s.len == 0)
    {
        tenant = NULL;
    }

    if (tenant && tenant->type != NGX_HTTP_HANGAR_STR
        && tenant->type != NGX_HTTP_HANGAR_NULL)
    {
        ngx_str_set(&field, "tenant_id");
        ngx_str_set(&msg, "tenant_id: must be a string or null");
        return ngx_http_hangar_validation_error(hr, &field, &msg);
    }

    if (tenant && tenant->type == NGX_HTTP_HANGAR_NULL) {
        tenant = NULL;
    }

    list = ngx_http_hangar_list_load(hr, hr->reg->sh->withdrawn);
    if (list == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    items = list->u.arr.elts;
    found = 0;

    for (i = 0; i < list->u.arr.nelts; /* void */) {
        s = ngx_http_hangar_get(items[i], "mcp_server");
        t = ngx_http_hangar_get(items[i], "tool");
        n = ngx_http_hangar_get(items[i], "tenant_id");

        same = ngx_memn2cmp(s->u.s.data, server->data, s->u.s.len,
                            server->len) == 0
               && ngx_memn2cmp(t->u.s.data, tool->data, t->u.s.len,
                               tool->len) == 0;

        /* a restore without a tenant takes every entry of the tool */
        if (same && (withdraw || tenant)) {
            same = tenant ? (n->type == NGX_HTTP_HANGAR_STR
                             && ngx_memn2cmp(n->u.s.data, tenant->u.s.data,
                                             n->u.s.len, tenant->u.s.len)
                                == 0)
                          : n->type == NGX_HTTP_HANGAR_NULL;
        }

        if (same) {
            found = 1;

            if (!withdraw) {
                items[i] = items[--list->u.arr.nelts];
                continue;
            }
        }

        i++;
    }

    if (withdraw && !found) {
        e = ngx_http_hangar_value_new(hr->r->pool, NGX_HTTP_HANGAR_OBJ);

        if (e == NULL
            || ngx_http_hangar_set(hr->r->pool, e, (u_char *) "mcp_server",
                   10, ngx_http_hangar_value_str(hr->r->pool, server->data,
                                                 server->len)) != NGX_OK
            || ngx_http_hangar_set(hr->r->pool, e, (u_char *) "tool", 4,
                   ngx_http_hangar_value_str(hr->r->pool, tool->data,
                                             tool->len)) != NGX_OK
            || ngx_http_hangar_set(hr->r->pool, e, (u_char *) "tenant_id", 9,
                   tenant ? tenant
                   : ngx_http_hangar_value_new(hr->r->pool,
                                               NGX_HTTP_HANGAR_NULL))
               != NGX_OK
            || ngx_http_hangar_push(list, e) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (withdraw != found) {
        rc = ngx_http_hangar_list_save(hr, &hr->reg->sh->withdrawn, list);
        if (rc != NGX_OK) {
            return rc == NGX_DECLINED ? hr->rc : rc;
        }
    }

    ngx_http_hangar_out_printf(&hr->out, "{\"%s\":true,\"mcp_server\":",
                               withdraw ? "withdrawn" : "restored");
    ngx_http_hangar_out_str(&hr->out, server->data, server->len);
    ngx_http_hangar_out_lit(&hr->out, ",\"tool\":");
    ngx_http_hangar_out_str(&hr->out, tool->data, tool->len);
    ngx_http_hangar_out_lit(&hr->out, ",\"tenant_id\":");

    if (tenant) {
        ngx_http_hangar_out_str(&hr->out, tenant->u.s.data, tenant->u.s.len);

    } else {
        ngx_http_hangar_out_lit(&hr->out, "null");
    }

    ngx_http_hangar_out_lit(&hr->out, "}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}
