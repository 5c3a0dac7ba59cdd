
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/admin/tools/{server}/{tool}/withdraw|restore: a rule the front
 * door enforces, kept in the state file.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_api_admin.h"
#include "ngx_http_hangar_api_servers.h"
#include "ngx_http_hangar_state.h"
#include "ngx_http_hangar_state_load.h"


#define NGX_HTTP_HANGAR_RULES_MAX  10000


/* a withdrawal or a restore, as a durable-write op */
typedef struct {
    ngx_http_hangar_state_op_t   op;        /* first: the op is the rule */
    ngx_uint_t                   on;        /* withdraw */
    ngx_str_t                    server;
    ngx_str_t                    tool;
    ngx_http_hangar_value_t     *tenant;    /* NULL: every tenant */
} ngx_http_hangar_rule_t;


static ngx_int_t ngx_http_hangar_withdrawal(ngx_http_hangar_req_t *hr,
    ngx_uint_t withdraw);
static ngx_int_t ngx_http_hangar_withdrawal_check(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_rule_t *rule, ngx_str_t *field, ngx_str_t *msg);
static ngx_int_t ngx_http_hangar_withdrawal_prepare(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_withdrawal_answer(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);


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
    ngx_str_t                field, msg;
    ngx_http_hangar_rule_t  *rule;

    rule = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_rule_t));
    if (rule == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rule->on = withdraw;
    rule->server = hr->params[0];
    rule->tool = hr->params[1];

    if (ngx_http_hangar_withdrawal_check(hr, rule, &field, &msg) != NGX_OK) {
        return ngx_http_hangar_validation_error(hr, &field, &msg);
    }

    rule->op.prepare = ngx_http_hangar_withdrawal_prepare;
    rule->op.answer = ngx_http_hangar_withdrawal_answer;

    return ngx_http_hangar_api_change(hr, &rule->op);
}


/*
 * What is kept must be valid UTF-8 JSON: a server id, a tool name and a
 * tenant id of printable text, bounded.  NGX_DECLINED with the field and
 * the message of the 422 set when they are not.
 */

static ngx_int_t
ngx_http_hangar_withdrawal_check(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_rule_t *rule, ngx_str_t *field, ngx_str_t *msg)
{
    ngx_http_hangar_value_t  *tenant;

    if (!ngx_http_hangar_spec_id_valid(&rule->server,
                                       NGX_HTTP_HANGAR_SPEC_API))
    {
        ngx_str_set(field, "mcp_server");
        ngx_str_set(msg, "mcp_server: must be 1-64 letters, digits, \"_\" "
                          "or \"-\"");
        goto invalid;
    }

    if (!ngx_http_hangar_state_text_valid(&rule->tool,
                                          NGX_HTTP_HANGAR_NAME_MAX))
    {
        ngx_str_set(field, "tool");
        ngx_str_set(msg, "tool: must be 1-128 bytes of UTF-8 text without "
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
        ngx_str_set(field, "tenant_id");
        ngx_str_set(msg, "tenant_id: must be null or a string of 1-128 "
                          "bytes without control characters");
        goto invalid;
    }

    rule->tenant = tenant;

    return NGX_OK;

invalid:

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_hangar_withdrawal_prepare(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc)
{
    ngx_str_t                key;
    ngx_uint_t               prefix;
    ngx_http_hangar_rule_t  *rule;

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

    /* NGX_HTTP_HANGAR_STATE_MANY: answered 507 */
    return rc;
}


static ngx_int_t
ngx_http_hangar_withdrawal_answer(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc)
{
    ngx_str_t                data;
    ngx_http_hangar_req_t   *hr;
    ngx_http_hangar_rule_t  *rule;

    hr = op->data;
    rule = (ngx_http_hangar_rule_t *) op;

    if (rc == NGX_HTTP_HANGAR_STATE_MANY) {
        return ngx_http_hangar_error(hr, 507, "RegistryFullError",
                                     "at most %d tools can be withdrawn",
                                     NGX_HTTP_HANGAR_RULES_MAX);
    }

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

    if (ngx_http_hangar_out_flatten(&hr->out, &data) == NGX_OK) {
        ngx_http_hangar_event(hr->reg, rule->on ? "ToolWithdrawn"
                                                : "ToolRestored",
                              NULL, 0, "%V", &data);
    }

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}
