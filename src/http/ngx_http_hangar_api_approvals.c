
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The approvals API (hangar-security.md §4.3), at /api/enterprise/approvals
 * and at /api/approvals.  A record with a tenant exists only for callers
 * of that tenant (404 otherwise, and lists leave it out).  A resolve is a
 * durable-write op: 200 once the decision is stored, whichever worker
 * holds the call (it sees the decision at its next poll).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_api_approvals.h"
#include "ngx_http_hangar_api_servers.h"
#include "ngx_http_hangar_approval.h"
#include "ngx_http_hangar_state_load.h"
#include "ngx_http_hangar_auth.h"


static ngx_int_t ngx_http_hangar_approvals_arg(ngx_http_hangar_req_t *hr,
    const char *name, ngx_str_t *value);
static ngx_str_t *ngx_http_hangar_approvals_tenant(ngx_http_hangar_req_t *hr);
static ngx_uint_t ngx_http_hangar_approvals_visible(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_approval_t *a);
static ngx_int_t ngx_http_hangar_approvals_not_found(
    ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_approvals_resolved(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);


/* GET /approvals?state=pending&provider_id= : a bare array, newest first */

ngx_int_t
ngx_http_hangar_approvals_list(ngx_http_hangar_req_t *hr)
{
    ngx_int_t                    state;
    ngx_str_t                    value, provider, field, msg;
    ngx_uint_t                   i, first;
    ngx_msec_t                   now;
    ngx_array_t                  list;
    ngx_http_hangar_approval_t  *a;

    state = NGX_HTTP_HANGAR_APPROVAL_PENDING;

    if (ngx_http_hangar_approvals_arg(hr, "state", &value) != NGX_OK
        || ngx_http_hangar_approvals_arg(hr, "provider_id", &provider)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (value.data) {
        state = ngx_http_hangar_approval_state(&value);

        if (state == NGX_ERROR) {
            ngx_str_set(&field, "state");

            msg.data = ngx_pnalloc(hr->r->pool, value.len + 128);
            if (msg.data == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            msg.len = ngx_sprintf(msg.data, "Invalid state: %*s; one of "
                                  "pending, approved, denied, expired",
                                  ngx_min(value.len, 64), value.data)
                      - msg.data;

            if (ngx_http_hangar_utf8_clean(hr->r->pool, &msg) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            return ngx_http_hangar_validation_error(hr, &field, &msg);
        }
    }

    if (ngx_http_hangar_approval_list(hr->reg, hr->r->pool,
                                      hr->r->connection->log, state,
                                      provider.data ? &provider : NULL, &list)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    now = ngx_http_hangar_now_ms();
    a = list.elts;
    first = 1;

    ngx_http_hangar_out_lit(&hr->out, "[");

    for (i = 0; i < list.nelts; i++) {
        if (!ngx_http_hangar_approvals_visible(hr, &a[i])) {
            continue;
        }

        if (!first) {
            ngx_http_hangar_out_lit(&hr->out, ",");
        }

        first = 0;
        ngx_http_hangar_approval_json(&hr->out, &a[i], now);
    }

    ngx_http_hangar_out_lit(&hr->out, "]");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* GET /approvals/{id} */

ngx_int_t
ngx_http_hangar_approvals_get(ngx_http_hangar_req_t *hr)
{
    ngx_uint_t                   i;
    ngx_array_t                  list;
    ngx_http_hangar_approval_t  *a;

    if (ngx_http_hangar_approval_list(hr->reg, hr->r->pool,
                                      hr->r->connection->log,
                                      NGX_HTTP_HANGAR_APPROVAL_ANY, NULL,
                                      &list)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a = list.elts;

    for (i = 0; i < list.nelts; i++) {
        if (a[i].id.len == hr->params[0].len
            && ngx_memcmp(a[i].id.data, hr->params[0].data, a[i].id.len) == 0
            && ngx_http_hangar_approvals_visible(hr, &a[i]))
        {
            ngx_http_hangar_approval_json(&hr->out, &a[i],
                                          ngx_http_hangar_now_ms());
            return ngx_http_hangar_send(hr, NGX_HTTP_OK);
        }
    }

    return ngx_http_hangar_approvals_not_found(hr);
}


/* POST /approvals/{id}/resolve {"decision":"approve"|"deny","reason"?} */

ngx_int_t
ngx_http_hangar_approvals_resolve(ngx_http_hangar_req_t *hr)
{
    ngx_str_t                       field, msg;
    ngx_http_hangar_value_t        *decision, *reason;
    ngx_http_hangar_principal_t    *p;
    ngx_http_hangar_approval_op_t  *ao;

    decision = ngx_http_hangar_get(hr->body, "decision");
    reason = ngx_http_hangar_get(hr->body, "reason");

    ao = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_approval_op_t));
    if (ao == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hangar_is(decision, NGX_HTTP_HANGAR_STR)
        && ngx_http_hangar_str_is(&decision->u.s, "approve"))
    {
        ao->decision = NGX_HTTP_HANGAR_APPROVAL_APPROVED;

    } else if (ngx_http_hangar_is(decision, NGX_HTTP_HANGAR_STR)
               && ngx_http_hangar_str_is(&decision->u.s, "deny"))
    {
        ao->decision = NGX_HTTP_HANGAR_APPROVAL_DENIED;

    } else {
        ngx_str_set(&field, "decision");
        ngx_str_set(&msg, "decision must be 'approve' or 'deny'");
        return ngx_http_hangar_validation_error(hr, &field, &msg);
    }

    if (reason && reason->type != NGX_HTTP_HANGAR_NULL) {
        if (reason->type != NGX_HTTP_HANGAR_STR
            || (reason->u.s.len
                && !ngx_http_hangar_state_text_valid(&reason->u.s,
                                        NGX_HTTP_HANGAR_APPROVAL_REASON_MAX)))
        {
            ngx_str_set(&field, "reason");
            ngx_str_set(&msg, "reason: must be null or a string of at most "
                              "1024 bytes without control characters");
            return ngx_http_hangar_validation_error(hr, &field, &msg);
        }

        ao->reason = reason->u.s;
    }

    /* the route's permission, and again for this very approval */
    if (!ngx_http_hangar_auth_allowed(hr->r, "approval", "resolve",
                                      &hr->params[0]))
    {
        return ngx_http_hangar_error(hr, NGX_HTTP_FORBIDDEN,
                                     "AccessDeniedError",
                                     "permission approval:resolve is "
                                     "required for this approval");
    }

    ao->id = hr->params[0];
    ao->tenant = ngx_http_hangar_approvals_tenant(hr);
    ao->scoped = 1;

    /* who decided: the authenticated principal; "system" with auth off */
    p = ngx_http_hangar_auth_principal(hr->r);

    if (p) {
        ao->decided_by = p->id;

    } else {
        ngx_str_set(&ao->decided_by, "system");
    }

    ngx_http_hangar_approval_resolve_init(ao);
    ao->op.answer = ngx_http_hangar_approvals_resolved;

    return ngx_http_hangar_api_change(hr, &ao->op);
}


static ngx_int_t
ngx_http_hangar_approvals_resolved(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc)
{
    ngx_str_t                       details;
    ngx_http_hangar_req_t          *hr;
    ngx_http_hangar_approval_op_t  *ao;

    hr = op->data;
    ao = (ngx_http_hangar_approval_op_t *) op;

    if (rc != NGX_OK && rc != NGX_DONE) {
        return ngx_http_hangar_api_change_error(hr, op, rc);
    }

    switch (ao->outcome) {

    case NGX_HTTP_HANGAR_APPROVAL_NOT_FOUND:
        return ngx_http_hangar_approvals_not_found(hr);

    case NGX_HTTP_HANGAR_APPROVAL_RESOLVED:
    case NGX_HTTP_HANGAR_APPROVAL_TOO_LATE:
        details.data = ngx_pnalloc(hr->r->pool, 32);
        if (details.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        details.len = ngx_sprintf(details.data, "{\"state\":\"%s\"}",
                                  ngx_http_hangar_approval_state_name(
                                      ao->state))
                      - details.data;

        if (ao->outcome == NGX_HTTP_HANGAR_APPROVAL_TOO_LATE) {
            return ngx_http_hangar_error_details(hr, NGX_HTTP_CONFLICT,
                                                 "ApprovalExpiredError",
                                                 &details,
                                                 "Approval expired");
        }

        return ngx_http_hangar_error_details(hr, NGX_HTTP_CONFLICT,
                                             "ApprovalAlreadyResolvedError",
                                             &details,
                                             "Approval already resolved");

    default:
        break;
    }

    ngx_http_hangar_out_lit(&hr->out, "{\"approval_id\":");
    ngx_http_hangar_out_str(&hr->out, ao->id.data, ao->id.len);
    ngx_http_hangar_out_printf(&hr->out, ",\"state\":\"%s\"}",
                               ngx_http_hangar_approval_state_name(ao->state));

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


static ngx_int_t
ngx_http_hangar_approvals_not_found(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_error(hr, NGX_HTTP_NOT_FOUND,
                                 "ApprovalNotFoundError",
                                 "Approval not found");
}


/* a query argument, unescaped; value->data NULL when absent */

static ngx_int_t
ngx_http_hangar_approvals_arg(ngx_http_hangar_req_t *hr, const char *name,
    ngx_str_t *value)
{
    u_char     *dst, *src;
    ngx_str_t   raw;

    ngx_str_null(value);

    if (ngx_http_arg(hr->r, (u_char *) name, ngx_strlen(name), &raw)
        != NGX_OK)
    {
        return NGX_OK;
    }

    dst = ngx_pnalloc(hr->r->pool, raw.len + 1);
    if (dst == NULL) {
        return NGX_ERROR;
    }

    value->data = dst;
    src = raw.data;
    ngx_unescape_uri(&dst, &src, raw.len, NGX_UNESCAPE_URI);
    value->len = dst - value->data;

    return NGX_OK;
}


/* the caller's tenant: NULL when it has none */

static ngx_str_t *
ngx_http_hangar_approvals_tenant(ngx_http_hangar_req_t *hr)
{
    ngx_http_hangar_principal_t  *p;

    p = ngx_http_hangar_auth_principal(hr->r);

    return (p && p->tenant.len) ? &p->tenant : NULL;
}


static ngx_uint_t
ngx_http_hangar_approvals_visible(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_approval_t *a)
{
    ngx_str_t  *tenant;

    if (a->tenant.len == 0) {
        return 1;
    }

    tenant = ngx_http_hangar_approvals_tenant(hr);

    return tenant && tenant->len == a->tenant.len
           && ngx_memcmp(tenant->data, a->tenant.data, a->tenant.len) == 0;
}
