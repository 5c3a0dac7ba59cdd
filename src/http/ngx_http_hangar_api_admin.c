
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


#define NGX_HTTP_HANGAR_RULES_MAX  10000


/* a suspension or a withdrawal, as a durable-write op */
typedef struct {
    ngx_http_hangar_state_op_t   op;        /* first: the op is the rule */
    ngx_uint_t                   on;        /* suspend, withdraw */
    ngx_str_t                    sid;
    ngx_str_t                    key;       /* sid in lower case */
    ngx_str_t                    server;
    ngx_str_t                    tool;
    ngx_http_hangar_value_t     *tenant;    /* NULL: every tenant */
} ngx_http_hangar_rule_t;


static ngx_int_t ngx_http_hangar_session_change(ngx_http_hangar_req_t *hr,
    ngx_uint_t suspend);
static ngx_int_t ngx_http_hangar_session_prepare(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_session_answer(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_csrf(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_withdrawal(ngx_http_hangar_req_t *hr,
    ngx_uint_t withdraw);
static ngx_int_t ngx_http_hangar_withdrawal_check(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_rule_t *rule);
static ngx_int_t ngx_http_hangar_withdrawal_prepare(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_withdrawal_answer(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);


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
    ngx_int_t                rc;
    ngx_str_t               *sid;
    ngx_http_hangar_rule_t  *rule;

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

    rule = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_rule_t));
    if (rule == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rule->on = suspend;
    rule->sid = *sid;
    rule->key.len = sid->len;
    rule->key.data = ngx_pnalloc(hr->r->pool, sid->len);

    if (rule->key.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_strlow(rule->key.data, sid->data, sid->len);
    rule->op.prepare = ngx_http_hangar_session_prepare;
    rule->op.answer = ngx_http_hangar_session_answer;

    return ngx_http_hangar_api_change(hr, &rule->op);
}


/* with the state lock held, from the lookup to the commit */

static ngx_int_t
ngx_http_hangar_session_prepare(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_http_hangar_req_t   *hr;
    ngx_http_hangar_rule_t  *rule;

    hr = op->data;
    rule = (ngx_http_hangar_rule_t *) op;

    if (ngx_http_hangar_state_has(op->reg, &op->reg->sh->suspended,
                                  &rule->key, 0)
        == rule->on)
    {
        return NGX_DONE;
    }

    if (!rule->on) {
        op->set = &op->reg->sh->suspended;
        op->del = rule->key;
        return NGX_OK;
    }

    rc = ngx_http_hangar_state_add(op, &op->reg->sh->suspended, &rule->key,
                                   NGX_HTTP_HANGAR_RULES_MAX);

    if (rc == NGX_HTTP_HANGAR_STATE_MANY) {
        hr->rc = ngx_http_hangar_error(hr, 507, "RegistryFullError",
                                       "at most %d sessions can be "
                                       "suspended",
                                       NGX_HTTP_HANGAR_RULES_MAX);
        return NGX_DECLINED;
    }

    return rc;
}


static ngx_int_t
ngx_http_hangar_session_answer(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_http_hangar_req_t   *hr;
    ngx_http_hangar_rule_t  *rule;

    hr = op->data;
    rule = (ngx_http_hangar_rule_t *) op;

    if (rc != NGX_OK && rc != NGX_DONE) {
        return ngx_http_hangar_api_change_error(hr, op, rc);
    }

    ngx_http_hangar_out_lit(&hr->out, "{\"session_id\":");
    ngx_http_hangar_out_str(&hr->out, rule->sid.data, rule->sid.len);
    ngx_http_hangar_out_printf(&hr->out, ",\"suspended\":%s}",
                               rule->on ? "true" : "false");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
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
    ngx_int_t                rc;
    ngx_http_hangar_rule_t  *rule;

    rule = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_rule_t));
    if (rule == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rule->on = withdraw;
    rule->server = hr->params[0];
    rule->tool = hr->params[1];

    rc = ngx_http_hangar_withdrawal_check(hr, rule);
    if (rc != NGX_OK) {
        return hr->rc;
    }

    rule->op.prepare = ngx_http_hangar_withdrawal_prepare;
    rule->op.answer = ngx_http_hangar_withdrawal_answer;

    return ngx_http_hangar_api_change(hr, &rule->op);
}


/*
 * What is kept must be valid UTF-8 JSON: a server id, a tool name and a
 * tenant id of printable text, bounded.  NGX_DECLINED: answered 422.
 */

static ngx_int_t
ngx_http_hangar_withdrawal_check(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_rule_t *rule)
{
    ngx_str_t                 field, msg;
    ngx_http_hangar_value_t  *tenant;

    if (!ngx_http_hangar_spec_id_valid(&rule->server,
                                       NGX_HTTP_HANGAR_SPEC_API))
    {
        ngx_str_set(&field, "mcp_server");
        ngx_str_set(&msg, "mcp_server: must be 1-64 letters, digits, \"_\" "
                          "or \"-\"");
        goto invalid;
    }

    if (!ngx_http_hangar_state_text_valid(&rule->tool,
                                          NGX_HTTP_HANGAR_NAME_MAX))
    {
        ngx_str_set(&field, "tool");
        ngx_str_set(&msg, "tool: must be 1-128 bytes of UTF-8 text without "
                          "control characters");
        goto invalid;
    }

    tenant = ngx_http_hangar_get(hr->body, "tenant_id");

    if (tenant && tenant->type == NGX_HTTP_HANGAR_NULL) {
        tenant = NULL;
    }

    if (tenant && tenant->type == NGX_HTTP_HANGAR_STR && tenant->u.s.len == 0)
    {
        tenant = NULL;
    }

    if (tenant
        && (tenant->type != NGX_HTTP_HANGAR_STR
            || !ngx_http_hangar_state_text_valid(&tenant->u.s,
                                                 NGX_HTTP_HANGAR_NAME_MAX)))
    {
        ngx_str_set(&field, "tenant_id");
        ngx_str_set(&msg, "tenant_id: must be null or a string of 1-128 "
                          "bytes without control characters");
        goto invalid;
    }

    rule->tenant = tenant;

    return NGX_OK;

invalid:

    hr->rc = ngx_http_hangar_validation_error(hr, &field, &msg);

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_hangar_withdrawal_prepare(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc)
{
    ngx_str_t                key;
    ngx_uint_t               prefix;
    ngx_http_hangar_req_t   *hr;
    ngx_http_hangar_rule_t  *rule;

    hr = op->data;
    rule = (ngx_http_hangar_rule_t *) op;

    if (ngx_http_hangar_withdrawal_key(op->pool, &rule->server, &rule->tool,
                                       rule->tenant ? &rule->tenant->u.s
                                                    : NULL,
                                       &key)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* a restore without a tenant takes every entry of the tool */
    prefix = (!rule->on && rule->tenant == NULL);

    if (ngx_http_hangar_state_has(op->reg, &op->reg->sh->withdrawn, &key,
                                  prefix)
        == rule->on)
    {
        return NGX_DONE;
    }

    if (!rule->on) {
        op->set = &op->reg->sh->withdrawn;
        op->del = key;
        op->del_prefix = prefix;
        return NGX_OK;
    }

    rc = ngx_http_hangar_state_add(op, &op->reg->sh->withdrawn, &key,
                                   NGX_HTTP_HANGAR_RULES_MAX);

    if (rc == NGX_HTTP_HANGAR_STATE_MANY) {
        hr->rc = ngx_http_hangar_error(hr, 507, "RegistryFullError",
                                       "at most %d tools can be withdrawn",
                                       NGX_HTTP_HANGAR_RULES_MAX);
        return NGX_DECLINED;
    }

    return rc;
}


static ngx_int_t
ngx_http_hangar_withdrawal_answer(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc)
{
    ngx_http_hangar_req_t   *hr;
    ngx_http_hangar_rule_t  *rule;

    hr = op->data;
    rule = (ngx_http_hangar_rule_t *) op;

    if (rc != NGX_OK && rc != NGX_DONE) {
        return ngx_http_hangar_api_change_error(hr, op, rc);
    }

    ngx_http_hangar_out_printf(&hr->out, "{\"%s\":true,\"mcp_server\":",
                               rule->on ? "withdrawn" : "restored");
    ngx_http_hangar_out_str(&hr->out, rule->server.data, rule->server.len);
    ngx_http_hangar_out_lit(&hr->out, ",\"tool\":");
    ngx_http_hangar_out_str(&hr->out, rule->tool.data, rule->tool.len);
    ngx_http_hangar_out_lit(&hr->out, ",\"tenant_id\":");

    if (rule->tenant) {
        ngx_http_hangar_out_str(&hr->out, rule->tenant->u.s.data,
                                rule->tenant->u.s.len);

    } else {
        ngx_http_hangar_out_lit(&hr->out, "null");
    }

    ngx_http_hangar_out_lit(&hr->out, "}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}
