
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/auth/policies/{scope}/{target_id} and /api/agent/policy: the tool
 * access policies of the API, one document of the state file, changed
 * through the durable-write path (read, modify and write under the state
 * lock).  Every worker enforces a change as soon as it is written.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_api_policy.h"
#include "ngx_http_hangar_state_doc.h"
#include "ngx_http_hangar_api_servers.h"
#include "ngx_http_hangar_auth.h"
#include "ngx_http_hangar_policy.h"
#include "ngx_http_hangar_state.h"


#define NGX_HTTP_HANGAR_AGENT_ENTRIES  10000


/* one server's policy of an agent policy */
typedef struct {
    ngx_str_t                    server;
    ngx_http_hangar_policy_t     policy;
} ngx_http_hangar_agent_row_t;


/* a change of the policies, as a durable-write op */
typedef struct {
    ngx_http_hangar_state_op_t   op;        /* first: the op is the change */
    ngx_uint_t                   kind;
    ngx_uint_t                   scope;
    ngx_str_t                    scope_name;
    ngx_str_t                    target;
    ngx_http_hangar_value_t     *body;      /* the policy set; NULL: clear */
    ngx_http_hangar_policy_t     policy;    /* what was set */
    ngx_array_t                 *rows;      /* an agent policy's */
    int64_t                      version;
} ngx_http_hangar_pchange_t;


static ngx_int_t ngx_http_hangar_policy_target(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_pchange_t *pc, ngx_str_t *field, ngx_str_t *msg);
static ngx_int_t ngx_http_hangar_policy_prepare(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_policy_answer(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_agent_rows(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_pchange_t *pc, ngx_str_t *field, ngx_str_t *msg);
static ngx_int_t ngx_http_hangar_agent_entry(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_pchange_t *pc, ngx_uint_t i, ngx_http_hangar_value_t *e,
    ngx_str_t *field, ngx_str_t *msg);
static ngx_int_t ngx_http_hangar_agent_prepare(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_agent_answer(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_policy_glob(ngx_pool_t *pool,
    ngx_array_t **list, ngx_str_t *glob);
static ngx_int_t ngx_http_hangar_policy_strs(ngx_pool_t *pool,
    ngx_array_t *to, ngx_array_t *from);
static void ngx_http_hangar_policy_audit(ngx_http_hangar_req_t *hr,
    const char *event, ngx_http_hangar_pchange_t *pc);


/* ---- GET ------------------------------------------------------------- */

ngx_int_t
ngx_http_hangar_policies_get(ngx_http_hangar_req_t *hr)
{
    const char                 *source;
    ngx_http_hangar_out_t      *out;
    ngx_http_hangar_policy_t   *yaml, *api, *eff;
    ngx_str_t                   field, msg;
    ngx_http_hangar_pchange_t   pc;

    ngx_memzero(&pc, sizeof(ngx_http_hangar_pchange_t));

    switch (ngx_http_hangar_policy_target(hr, &pc, &field, &msg)) {
    case NGX_OK:
        break;
    case NGX_DECLINED:
        return ngx_http_hangar_validation_error(hr, &field, &msg);
    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hangar_policy_layer(hr->reg, pc.kind, pc.scope, &pc.target,
                                     &yaml, &api, &eff)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the effective policy: the API's over hangar.yaml's */
    source = api ? (yaml && eff != api ? "api+yaml" : "api")
                 : (yaml ? "yaml" : NULL);

    out = &hr->out;
    ngx_http_hangar_out_printf(out, "{\"found\":%s,\"scope\":",
                               eff ? "true" : "false");
    ngx_http_hangar_out_ngx_str(out, &pc.scope_name);
    ngx_http_hangar_out_lit(out, ",\"target_id\":");
    ngx_http_hangar_out_ngx_str(out, &pc.target);
    ngx_http_hangar_out_printf(out, ",\"kind\":\"%s\",\"source\":",
                               ngx_http_hangar_policy_kind_name(pc.kind));

    if (source) {
        ngx_http_hangar_out_printf(out, "\"%s\",", source);

    } else {
        ngx_http_hangar_out_lit(out, "null,");
    }

    ngx_http_hangar_policy_out(out, eff);
    ngx_http_hangar_out_lit(out, "}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* ---- POST, DELETE ------------------------------------------------------ */

ngx_int_t
ngx_http_hangar_policies_set(ngx_http_hangar_req_t *hr)
{
    ngx_str_t                    field, msg;
    ngx_http_hangar_pchange_t   *pc;
    ngx_http_hangar_spec_ctx_t   ctx;

    pc = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_pchange_t));
    if (pc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    switch (ngx_http_hangar_policy_target(hr, pc, &field, &msg)) {
    case NGX_OK:
        break;
    case NGX_DECLINED:
        return ngx_http_hangar_validation_error(hr, &field, &msg);
    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pc->body = hr->body;

    if (pc->body == NULL) {
        pc->body = ngx_http_hangar_value_new(hr->r->pool,
                                             NGX_HTTP_HANGAR_OBJ);
        if (pc->body == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (pc->body->type != NGX_HTTP_HANGAR_OBJ) {
        ngx_str_set(&field, "body");
        ngx_str_set(&msg, "body: must be a JSON object");
        return ngx_http_hangar_validation_error(hr, &field, &msg);
    }

    ngx_memzero(&ctx, sizeof(ngx_http_hangar_spec_ctx_t));
    ctx.pool = hr->r->pool;
    ctx.log = hr->r->connection->log;
    ctx.source = NGX_HTTP_HANGAR_SPEC_API;

    if (ngx_http_hangar_spec_policy(&ctx, "", pc->body,
                                    ngx_http_hangar_policy_spec)
        != NGX_OK)
    {
        return ngx_http_hangar_validation_error(hr, &ctx.field,
                                                &ctx.message);
    }

    pc->op.prepare = ngx_http_hangar_policy_prepare;
    pc->op.answer = ngx_http_hangar_policy_answer;

    return ngx_http_hangar_api_change(hr, &pc->op);
}


ngx_int_t
ngx_http_hangar_policies_clear(ngx_http_hangar_req_t *hr)
{
    ngx_str_t                   field, msg;
    ngx_http_hangar_pchange_t  *pc;

    pc = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_pchange_t));
    if (pc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    switch (ngx_http_hangar_policy_target(hr, pc, &field, &msg)) {
    case NGX_OK:
        break;
    case NGX_DECLINED:
        return ngx_http_hangar_validation_error(hr, &field, &msg);
    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pc->op.prepare = ngx_http_hangar_policy_prepare;
    pc->op.answer = ngx_http_hangar_policy_answer;

    return ngx_http_hangar_api_change(hr, &pc->op);
}


/*
 * {scope}/{target_id} and ?kind=: provider (or its alias server) takes a
 * server id or _global, group a group id, member "<group>:<member>" (one
 * id: both).  NGX_DECLINED: field and msg say why (a 422).
 */

static ngx_int_t
ngx_http_hangar_policy_target(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_pchange_t *pc, ngx_str_t *field, ngx_str_t *msg)
{
    u_char     *colon;
    ngx_int_t   rc;
    ngx_str_t  *scope, *target, kind, g, m;

    scope = &hr->params[0];
    target = &hr->params[1];

    if (ngx_http_hangar_str_is(scope, "provider")
        || ngx_http_hangar_str_is(scope, "server"))
    {
        pc->scope = NGX_HTTP_HANGAR_SCOPE_PROVIDER;
        ngx_str_set(&pc->scope_name, "provider");

    } else if (ngx_http_hangar_str_is(scope, "group")) {
        pc->scope = NGX_HTTP_HANGAR_SCOPE_GROUP;
        ngx_str_set(&pc->scope_name, "group");

    } else if (ngx_http_hangar_str_is(scope, "member")) {
        pc->scope = NGX_HTTP_HANGAR_SCOPE_MEMBER;
        ngx_str_set(&pc->scope_name, "member");

    } else {
        ngx_str_set(field, "scope");
        msg->data = ngx_pnalloc(hr->r->pool, ngx_min(scope->len, 64) + 64);
        if (msg->data == NULL) {
            return NGX_ERROR;
        }

        msg->len = ngx_sprintf(msg->data, "Invalid scope '%*s'. Must be one "
                              "of: provider, group, member.",
                              ngx_min(scope->len, 64), scope->data)
                  - msg->data;
        goto invalid;
    }

    pc->target = *target;
    colon = ngx_strlchr(target->data, target->data + target->len, ':');

    if (pc->scope == NGX_HTTP_HANGAR_SCOPE_MEMBER) {
        g.data = target->data;
        g.len = colon ? (size_t) (colon - target->data) : target->len;
        m.data = colon ? colon + 1 : target->data;
        m.len = colon ? target->len - g.len - 1 : target->len;

        rc = ngx_http_hangar_spec_id_valid(&g, NGX_HTTP_HANGAR_SPEC_API)
             && ngx_http_hangar_spec_id_valid(&m, NGX_HTTP_HANGAR_SPEC_API);

        if (rc && colon == NULL) {
            pc->target.data = ngx_pnalloc(hr->r->pool, 2 * g.len + 1);
            if (pc->target.data == NULL) {
                return NGX_ERROR;
            }

            pc->target.len = ngx_sprintf(pc->target.data, "%V:%V", &g, &m)
                             - pc->target.data;
        }

    } else {
        rc = ngx_http_hangar_spec_id_valid(target, NGX_HTTP_HANGAR_SPEC_API)
             || (pc->scope == NGX_HTTP_HANGAR_SCOPE_PROVIDER
                 && ngx_http_hangar_str_is(target,
                                           NGX_HTTP_HANGAR_POLICY_GLOBAL));
    }

    if (!rc) {
        ngx_str_set(field, "target_id");
        ngx_str_set(msg, "target_id: must be a server or group id (1-64 "
                         "letters, digits, \"_\" or \"-\"), _global, or "
                         "for a member \"<group_id>:<member_id>\"");
        goto invalid;
    }

    pc->kind = NGX_HTTP_HANGAR_POLICY_TOOL;

    if (ngx_http_arg(hr->r, (u_char *) "kind", 4, &kind) == NGX_OK
        && ngx_http_hangar_policy_kind(&kind, &pc->kind) != NGX_OK)
    {
        ngx_str_set(field, "kind");
        ngx_str_set(msg, "kind: must be tool, prompt or resource");
        goto invalid;
    }

    return NGX_OK;

invalid:

    return NGX_DECLINED;
}


/*
 * The state lock is held: the document is read, changed and written in
 * one go.  A policy set without approval data carries forward the one in
 * force for the same target (hangar-security.md §2 "Policy-set
 * semantics").
 */

static ngx_int_t
ngx_http_hangar_policy_prepare(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_str_t                   doc, text;
    ngx_atomic_uint_t           gen;
    ngx_http_hangar_policy_t   *yaml, *api, *eff, *p;
    ngx_http_hangar_pchange_t  *pc;

    pc = (ngx_http_hangar_pchange_t *) op;

    if (ngx_http_hangar_state_doc(op->reg, NGX_HTTP_HANGAR_DOC_POLICIES,
                                  op->pool, &doc, &gen)
        != NGX_OK
        || ngx_http_hangar_policy_layer(op->reg, pc->kind, pc->scope,
                                        &pc->target, &yaml, &api, &eff)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = NULL;

    if (pc->body) {
        p = &pc->policy;

        if (ngx_http_hangar_policy_value(op->pool, pc->body, p) != NGX_OK) {
            return NGX_ERROR;
        }

        /*
         * Copied: the worker's copy of the policies may be rebuilt while
         * the file is written, before the answer renders them.
         */
        if (ngx_http_hangar_get(pc->body, "approval_list") == NULL && eff) {
            if (eff->approval) {
                p->approval = ngx_array_create(op->pool,
                                               eff->approval->nelts,
                                               sizeof(ngx_str_t));
                if (p->approval == NULL
                    || ngx_http_hangar_policy_strs(op->pool, p->approval,
                                                   eff->approval)
                       != NGX_OK)
                {
                    return NGX_ERROR;
                }
            }

            if (ngx_http_hangar_get(pc->body, "approval_timeout_seconds")
                == NULL)
            {
                p->timeout = eff->timeout;
            }

            if (ngx_http_hangar_get(pc->body, "approval_channel") == NULL) {
                p->channel.len = eff->channel.len;
                p->channel.data = ngx_pstrdup(op->pool, &eff->channel);
                if (p->channel.data == NULL && eff->channel.len) {
                    return NGX_ERROR;
                }
            }
        }

    } else if (api == NULL) {
        /* nothing kept for it: nothing to write */
        return NGX_DONE;
    }

    rc = ngx_http_hangar_policy_doc_put(op->pool, &doc, pc->kind, pc->scope,
                                        &pc->target, p, &text);

    if (rc == NGX_DECLINED) {
        return NGX_HTTP_HANGAR_STATE_MANY;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_hangar_state_set_doc(op, NGX_HTTP_HANGAR_DOC_POLICIES,
                                         &text);
}


static ngx_int_t
ngx_http_hangar_policy_answer(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_http_hangar_req_t      *hr;
    ngx_http_hangar_out_t      *out;
    ngx_http_hangar_pchange_t  *pc;

    hr = op->data;
    pc = (ngx_http_hangar_pchange_t *) op;

    if (rc == NGX_HTTP_HANGAR_STATE_MANY) {
        return ngx_http_hangar_error(hr, 507, "RegistryFullError",
                                     "at most %d tool access policies can "
                                     "be kept", NGX_HTTP_HANGAR_POLICY_ROWS);
    }

    if (rc != NGX_OK && rc != NGX_DONE) {
        return ngx_http_hangar_api_change_error(hr, op, rc);
    }

    if (pc->body == NULL) {
        ngx_http_hangar_policy_audit(hr, "ToolAccessPolicyCleared", pc);
        hr->r->header_only = 1;
        return ngx_http_hangar_send(hr, NGX_HTTP_NO_CONTENT);
    }

    ngx_http_hangar_policy_audit(hr, "ToolAccessPolicySet", pc);

    out = &hr->out;
    ngx_http_hangar_out_lit(out, "{\"scope\":");
    ngx_http_hangar_out_ngx_str(out, &pc->scope_name);
    ngx_http_hangar_out_lit(out, ",\"target_id\":");
    ngx_http_hangar_out_ngx_str(out, &pc->target);
    ngx_http_hangar_out_printf(out, ",\"kind\":\"%s\",",
                               ngx_http_hangar_policy_kind_name(pc->kind));
    ngx_http_hangar_policy_out(out, &pc->policy);
    ngx_http_hangar_out_lit(out, ",\"set\":true}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* logged at info with who changed it, and recorded as an event */

static void
ngx_http_hangar_policy_audit(ngx_http_hangar_req_t *hr, const char *event,
    ngx_http_hangar_pchange_t *pc)
{
    ngx_str_t                     who, data;
    ngx_http_hangar_out_t         out;
    ngx_http_hangar_principal_t  *p;

    p = ngx_http_hangar_auth_principal(hr->r);

    if (p) {
        who = p->id;

    } else {
        ngx_str_set(&who, "-");
    }

    ngx_log_error(NGX_LOG_INFO, hr->r->connection->log, 0,
                  "hangar: %s %s %V/%V by principal \"%V\"", event,
                  ngx_http_hangar_policy_kind_name(pc->kind), &pc->scope_name,
                  &pc->target, &who);

    ngx_http_hangar_out_init(&out, hr->r->pool, 256);
    ngx_http_hangar_out_lit(&out, "{\"scope\":");
    ngx_http_hangar_out_ngx_str(&out, &pc->scope_name);
    ngx_http_hangar_out_lit(&out, ",\"target_id\":");
    ngx_http_hangar_out_str(&out, pc->target.data,
                            ngx_min(pc->target.len, 96));
    ngx_http_hangar_out_lit(&out, ",\"principal_id\":");
    ngx_http_hangar_out_str(&out, who.data, ngx_min(who.len, 64));
    ngx_http_hangar_out_lit(&out, "}");

    if (ngx_http_hangar_out_flatten(&out, &data) != NGX_OK) {
        return;
    }

    ngx_http_hangar_event(hr->reg, event, pc->target.data,
                          pc->target.len, "%V", &data);
}


/* ---- POST /api/agent/policy -------------------------------------------- */

/*
 * hangar-core.md §1.8: {"version":n,"tool_policies":[{"mcp_server_id":
 * "*"|id,"tool_name":glob,"action":"allow|audit|deny|require_approval",
 * "approval_timeout_seconds":n}]}, grouped per server into the lists of
 * its policy ("*": _global); each server's policy is replaced.
 */

ngx_int_t
ngx_http_hangar_agent_policy(ngx_http_hangar_req_t *hr)
{
    ngx_str_t                   field, msg;
    ngx_http_hangar_pchange_t  *pc;

    pc = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_pchange_t));
    if (pc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    switch (ngx_http_hangar_agent_rows(hr, pc, &field, &msg)) {
    case NGX_OK:
        break;
    case NGX_DECLINED:
        return ngx_http_hangar_validation_error(hr, &field, &msg);
    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pc->op.prepare = ngx_http_hangar_agent_prepare;
    pc->op.answer = ngx_http_hangar_agent_answer;

    return ngx_http_hangar_api_change(hr, &pc->op);
}


static ngx_int_t
ngx_http_hangar_agent_rows(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_pchange_t *pc, ngx_str_t *field, ngx_str_t *msg)
{
    ngx_int_t                  rc;
    ngx_uint_t                 i;
    ngx_http_hangar_value_t   *v, *list, **e;

    v = ngx_http_hangar_get(hr->body, "version");

    if (!ngx_http_hangar_is(hr->body, NGX_HTTP_HANGAR_OBJ)) {
        ngx_str_set(field, "body");
        ngx_str_set(msg, "body: must be an object with version and "
                         "tool_policies");
        return NGX_DECLINED;
    }

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT)) {
        ngx_str_set(field, "version");
        ngx_str_set(msg, "version: must be an integer");
        return NGX_DECLINED;
    }

    pc->version = v->u.i;
    list = ngx_http_hangar_get(hr->body, "tool_policies");

    if (!ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)
        || list->u.arr.nelts > NGX_HTTP_HANGAR_AGENT_ENTRIES)
    {
        ngx_str_set(field, "tool_policies");
        ngx_str_set(msg, "tool_policies: must be a list of at most 10000 "
                         "entries");
        return NGX_DECLINED;
    }

    pc->rows = ngx_array_create(hr->r->pool, 4,
                                sizeof(ngx_http_hangar_agent_row_t));
    if (pc->rows == NULL) {
        return NGX_ERROR;
    }

    e = list->u.arr.elts;

    for (i = 0; i < list->u.arr.nelts; i++) {
        rc = ngx_http_hangar_agent_entry(hr, pc, i, e[i], field, msg);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_agent_entry(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_pchange_t *pc, ngx_uint_t i, ngx_http_hangar_value_t *e,
    ngx_str_t *field, ngx_str_t *msg)
{
    u_char                       *p;
    ngx_str_t                     server;
    ngx_uint_t                    k;
    ngx_array_t                 **list;
    ngx_http_hangar_value_t      *id, *tool, *action, *timeout;
    ngx_http_hangar_agent_row_t  *row;

    p = ngx_pnalloc(hr->r->pool, 64);
    if (p == NULL) {
        return NGX_ERROR;
    }

    field->data = p;
    ngx_str_set(msg, "");

    id = ngx_http_hangar_get(e, "mcp_server_id");
    tool = ngx_http_hangar_get(e, "tool_name");
    action = ngx_http_hangar_get(e, "action");
    timeout = ngx_http_hangar_get(e, "approval_timeout_seconds");

    if (!ngx_http_hangar_is(id, NGX_HTTP_HANGAR_STR)
        || !(ngx_http_hangar_str_is(&id->u.s, "*")
             || ngx_http_hangar_spec_id_valid(&id->u.s,
                                              NGX_HTTP_HANGAR_SPEC_API)))
    {
        field->len = ngx_sprintf(p, "tool_policies[%ui].mcp_server_id", i) - p;
        ngx_str_set(msg, "mcp_server_id: must be \"*\" or a server id");
        goto invalid;
    }

    if (!ngx_http_hangar_is(tool, NGX_HTTP_HANGAR_STR) || tool->u.s.len == 0
        || tool->u.s.len > NGX_HTTP_HANGAR_POLICY_PATTERN_MAX)
    {
        field->len = ngx_sprintf(p, "tool_policies[%ui].tool_name", i) - p;
        ngx_str_set(msg, "tool_name: must be a pattern of 1-256 bytes");
        goto invalid;
    }

    if (timeout && !(timeout->type == NGX_HTTP_HANGAR_INT && timeout->u.i > 0
                     && timeout->u.i <= NGX_HTTP_HANGAR_POLICY_TIMEOUT_MAX))
    {
        field->len = ngx_sprintf(p, "tool_policies[%ui].approval_timeout_"
                                "seconds", i) - p;
        ngx_str_set(msg, "approval_timeout_seconds: must be 1..86400");
        goto invalid;
    }

    if (ngx_http_hangar_str_is(&id->u.s, "*")) {
        ngx_str_set(&server, NGX_HTTP_HANGAR_POLICY_GLOBAL);

    } else {
        server = id->u.s;
    }

    row = pc->rows->elts;

    for (k = 0; k < pc->rows->nelts; k++) {
        if (row[k].server.len == server.len
            && ngx_strncmp(row[k].server.data, server.data, server.len) == 0)
        {
            break;
        }
    }

    if (k == pc->rows->nelts) {
        row = ngx_array_push(pc->rows);
        if (row == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(row, sizeof(ngx_http_hangar_agent_row_t));
        row->server = server;

    } else {
        row = &row[k];
    }

    if (ngx_http_hangar_is(action, NGX_HTTP_HANGAR_STR)
        && (ngx_http_hangar_str_is(&action->u.s, "allow")
            || ngx_http_hangar_str_is(&action->u.s, "audit")))
    {
        list = &row->policy.allow;

    } else if (ngx_http_hangar_is(action, NGX_HTTP_HANGAR_STR)
               && ngx_http_hangar_str_is(&action->u.s, "deny"))
    {
        list = &row->policy.deny;

    } else if (ngx_http_hangar_is(action, NGX_HTTP_HANGAR_STR)
               && ngx_http_hangar_str_is(&action->u.s, "require_approval"))
    {
        list = &row->policy.approval;

        /* the least of the timeouts given */
        k = timeout ? (ngx_uint_t) timeout->u.i
                    : NGX_HTTP_HANGAR_POLICY_TIMEOUT;

        if (row->policy.timeout == 0 || k < row->policy.timeout) {
            row->policy.timeout = k;
        }

    } else {
        field->len = ngx_sprintf(p, "tool_policies[%ui].action", i) - p;
        ngx_str_set(msg, "action: must be allow, audit, deny or "
                         "require_approval");
        goto invalid;
    }

    if (ngx_http_hangar_policy_glob(hr->r->pool, list, &tool->u.s)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;

invalid:

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_hangar_policy_glob(ngx_pool_t *pool, ngx_array_t **list,
    ngx_str_t *glob)
{
    ngx_str_t  *s;

    if (*list == NULL) {
        *list = ngx_array_create(pool, 4, sizeof(ngx_str_t));
        if (*list == NULL) {
            return NGX_ERROR;
        }
    }

    s = ngx_array_push(*list);
    if (s == NULL) {
        return NGX_ERROR;
    }

    *s = *glob;

    return NGX_OK;
}


/* copies of the strings of from, pushed onto to */

static ngx_int_t
ngx_http_hangar_policy_strs(ngx_pool_t *pool, ngx_array_t *to,
    ngx_array_t *from)
{
    ngx_str_t   *s, *d;
    ngx_uint_t   i;

    s = from->elts;

    for (i = 0; i < from->nelts; i++) {
        d = ngx_array_push(to);
        if (d == NULL) {
            return NGX_ERROR;
        }

        d->len = s[i].len;
        d->data = ngx_pstrdup(pool, &s[i]);
        if (d->data == NULL) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_agent_prepare(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_str_t                     doc;
    ngx_uint_t                    i;
    ngx_atomic_uint_t             gen;
    ngx_http_hangar_pchange_t    *pc;
    ngx_http_hangar_agent_row_t  *row;

    pc = (ngx_http_hangar_pchange_t *) op;

    if (pc->rows->nelts == 0) {
        return NGX_DONE;
    }

    if (ngx_http_hangar_state_doc(op->reg, NGX_HTTP_HANGAR_DOC_POLICIES,
                                  op->pool, &doc, &gen)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    row = pc->rows->elts;

    for (i = 0; i < pc->rows->nelts; i++) {
        rc = ngx_http_hangar_policy_doc_put(op->pool, &doc,
                                            NGX_HTTP_HANGAR_POLICY_TOOL,
                                            NGX_HTTP_HANGAR_SCOPE_PROVIDER,
                                            &row[i].server, &row[i].policy,
                                            &doc);
        if (rc == NGX_DECLINED) {
            return NGX_HTTP_HANGAR_STATE_MANY;
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_http_hangar_state_set_doc(op, NGX_HTTP_HANGAR_DOC_POLICIES,
                                         &doc);
}


static ngx_int_t
ngx_http_hangar_agent_answer(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_uint_t                    i;
    ngx_http_hangar_req_t        *hr;
    ngx_http_hangar_pchange_t    *pc;
    ngx_http_hangar_agent_row_t  *row;

    hr = op->data;
    pc = (ngx_http_hangar_pchange_t *) op;

    if (rc == NGX_HTTP_HANGAR_STATE_MANY) {
        return ngx_http_hangar_error(hr, 507, "RegistryFullError",
                                     "at most %d tool access policies can "
                                     "be kept", NGX_HTTP_HANGAR_POLICY_ROWS);
    }

    if (rc != NGX_OK && rc != NGX_DONE) {
        return ngx_http_hangar_api_change_error(hr, op, rc);
    }

    row = pc->rows->elts;
    ngx_str_set(&pc->scope_name, "provider");

    for (i = 0; i < pc->rows->nelts; i++) {
        pc->target = row[i].server;
        ngx_http_hangar_policy_audit(hr, "ToolAccessPolicySet", pc);
    }

    ngx_http_hangar_out_printf(&hr->out, "{\"status\":\"ok\",\"version\":%L,"
                               "\"applied\":%ui}", pc->version,
                               pc->rows->nelts);

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}
