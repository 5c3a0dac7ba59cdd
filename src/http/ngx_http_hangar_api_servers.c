
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/mcp_servers: list, create, read, update, delete.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_api_servers.h"
#include "ngx_http_hangar_state.h"
#include "ngx_http_hangar_guard.h"


#define NGX_HTTP_HANGAR_CREATE  0
#define NGX_HTTP_HANGAR_UPDATE  1
#define NGX_HTTP_HANGAR_DELETE  2
#define NGX_HTTP_HANGAR_REPLACE 3      /* a whole new spec (discovery) */

/* why a change's prepare refused it (answered once the lock is let go) */
#define NGX_HTTP_HANGAR_MISSING  1     /* 404: no such server */
#define NGX_HTTP_HANGAR_EXISTS   2     /* 422: created twice */
#define NGX_HTTP_HANGAR_INVALID  3     /* 422: field, message */
#define NGX_HTTP_HANGAR_SSRF     4     /* 400 ssrf_blocked: message */


/* one change of a server, as a durable-write op */
typedef struct {
    ngx_http_hangar_state_op_t   op;        /* first: the op is the change */
    ngx_uint_t                   what;
    ngx_http_hangar_value_t     *in;        /* the spec, or the PATCH body */
    ngx_http_hangar_record_t     rec;
    ngx_http_hangar_prep_t       prep;
    ngx_uint_t                   declared;
    ngx_uint_t                   restart;   /* what the process runs changed */
    ngx_uint_t                   refused;   /* NGX_HTTP_HANGAR_MISSING... */
    ngx_str_t                    field;     /* of NGX_HTTP_HANGAR_INVALID */
    ngx_str_t                    message;
    ngx_http_hangar_server_done_pt  done;  /* a change made by hangar */
    void                        *done_data;
} ngx_http_hangar_change_t;


static const char *ngx_http_hangar_health_status(ngx_http_hangar_node_t *n);
static ngx_int_t ngx_http_hangar_not_object(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_ssrf_refused(ngx_http_hangar_req_t *hr,
    ngx_str_t *message);
static ngx_int_t ngx_http_hangar_validate(ngx_http_hangar_req_t *hr,
    ngx_str_t *id, ngx_http_hangar_value_t *in,
    ngx_http_hangar_value_t **spec, ngx_str_t *field, ngx_str_t *message);
static ngx_int_t ngx_http_hangar_change(ngx_http_hangar_req_t *hr,
    ngx_str_t *id, ngx_http_hangar_value_t *in, ngx_uint_t what);
static ngx_int_t ngx_http_hangar_change_prepare(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_change_spec(ngx_http_hangar_change_t *ch,
    ngx_str_t *text, ngx_http_hangar_value_t **spec);
static ngx_int_t ngx_http_hangar_change_commit(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_change_answer(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_change_refused(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_change_t *ch);
static ngx_int_t ngx_http_hangar_change_done(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc);
static ngx_int_t ngx_http_hangar_change_ended(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);


static const char *
ngx_http_hangar_health_status(ngx_http_hangar_node_t *n)
{
    switch (n->state) {

    case NGX_HTTP_HANGAR_READY:
        return n->consecutive_failures ? "degraded" : "healthy";

    case NGX_HTTP_HANGAR_DEGRADED:
        return "degraded";

    case NGX_HTTP_HANGAR_DEAD:
        return "unhealthy";

    default:
        return "unknown";
    }
}


/*
 * The server named by the route's {id}, with the slab mutex held; NULL,
 * unlocked, when there is none (the caller answers 404).
 */

ngx_http_hangar_node_t *
ngx_http_hangar_route_node(ngx_http_hangar_req_t *hr)
{
    ngx_http_hangar_node_t  *n;

    ngx_http_hangar_lock(hr->reg);

    n = ngx_http_hangar_find(&hr->reg->sh->servers, hr->params[0].data,
                             hr->params[0].len);
    if (n == NULL) {
        ngx_http_hangar_unlock(hr->reg);
    }

    return n;
}


/* GET /api/mcp_servers[?state=s] */

ngx_int_t
ngx_http_hangar_servers_list(ngx_http_hangar_req_t *hr)
{
    ngx_str_t  filter;

    if (ngx_http_arg(hr->r, (u_char *) "state", 5, &filter) != NGX_OK) {
        filter.len = 0;
    }

    ngx_http_hangar_out_lit(&hr->out, "{\"mcp_servers\":");
    ngx_http_hangar_render_servers(&hr->out, hr->reg, &filter);
    ngx_http_hangar_out_lit(&hr->out, "}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* the servers' summaries, as an array; filter: a state, or empty */

void
ngx_http_hangar_render_servers(ngx_http_hangar_out_t *out,
    ngx_http_hangar_registry_t *reg, ngx_str_t *filter)
{
    ngx_uint_t               first;
    ngx_queue_t             *q;
    ngx_http_hangar_node_t  *n;

    ngx_http_hangar_out_lit(out, "[");

    first = 1;

    ngx_http_hangar_lock(reg);

    for (q = ngx_queue_head(&reg->sh->servers.queue);
         q != ngx_queue_sentinel(&reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        n = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        if (filter->len
            && (ngx_strlen(ngx_http_hangar_state_name(n->state))
                != filter->len
                || ngx_strncmp(ngx_http_hangar_state_name(n->state),
                               filter->data, filter->len) != 0))
        {
            continue;
        }

        ngx_http_hangar_out_printf(out,
            "%s{\"mcp_server_id\":\"%*s\",\"state\":\"%s\",\"mode\":\"%s\","
            "\"alive\":%s,\"tools_count\":%uA,\"health_status\":\"%s\","
            "\"tools_predefined\":%s",
            first ? "" : ",", n->id_len, n->id,
            ngx_http_hangar_state_name(n->state), n->mode_name,
            n->state == NGX_HTTP_HANGAR_READY ? "true" : "false",
            n->tools_count, ngx_http_hangar_health_status(n),
            n->tools_predefined ? "true" : "false");

        if (n->desc) {
            ngx_http_hangar_out_lit(out, ",\"description\":");
            ngx_http_hangar_out_str(out, n->desc->data, n->desc->len);
        }

        ngx_http_hangar_out_lit(out, "}");
        first = 0;
    }

    ngx_http_hangar_unlock(reg);

    ngx_http_hangar_out_lit(out, "]");
}


static void
ngx_http_hangar_render_ago(ngx_http_hangar_out_t *out, ngx_msec_t now,
    ngx_msec_t then)
{
    if (then == 0) {
        ngx_http_hangar_out_lit(out, "null");
        return;
    }

    ngx_http_hangar_out_num(out, (double) (now - then) / 1000);
}


void
ngx_http_hangar_render_health(ngx_http_hangar_out_t *out,
    ngx_http_hangar_node_t *n, ngx_msec_t now)
{
    double      rate;
    ngx_uint_t  total, failed, cf, backoff;

    total = n->total_invocations;
    failed = n->total_failures;
    cf = n->consecutive_failures;

    rate = total ? (double) (total - failed) / total : 1.0;
    backoff = cf ? 1000 * (cf >= 6 ? 60 : ngx_min(60, 1 << cf)) : 0;

    ngx_http_hangar_out_printf(out,
        "{\"consecutive_failures\":%ui,\"total_invocations\":%ui,"
        "\"total_failures\":%ui,\"success_rate\":", cf, total, failed);
    ngx_http_hangar_out_num(out, rate);
    ngx_http_hangar_out_printf(out, ",\"can_retry\":%s,\"last_success_ago\":",
                               (cf == 0 || now - n->last_failure >= backoff)
                               ? "true" : "false");
    ngx_http_hangar_render_ago(out, now, n->last_success);
    ngx_http_hangar_out_lit(out, ",\"last_failure_ago\":");
    ngx_http_hangar_render_ago(out, now, n->last_failure);
    ngx_http_hangar_out_lit(out, "}");
}


/* GET /api/mcp_servers/{id} */

ngx_int_t
ngx_http_hangar_servers_get(ngx_http_hangar_req_t *hr)
{
    ngx_http_hangar_node_t  *n;

    n = ngx_http_hangar_route_node(hr);
    if (n == NULL) {
        return ngx_http_hangar_not_found(hr, &hr->params[0]);
    }

    ngx_http_hangar_render_details(&hr->out, n, 1);

    ngx_http_hangar_unlock(hr->reg);

    ngx_http_hangar_out_lit(&hr->out, "}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/*
 * A server's details, with the slab mutex held, as an object left open
 * for the caller to add to and close; tools: with its catalog.
 */

void
ngx_http_hangar_render_details(ngx_http_hangar_out_t *out,
    ngx_http_hangar_node_t *n, ngx_uint_t tools)
{
    ngx_msec_t  now;

    now = ngx_http_hangar_now_ms();

    ngx_http_hangar_out_printf(out,
        "{\"mcp_server_id\":\"%*s\",\"state\":\"%s\",\"mode\":\"%s\","
        "\"alive\":%s",
        n->id_len, n->id, ngx_http_hangar_state_name(n->state), n->mode_name,
        n->state == NGX_HTTP_HANGAR_READY ? "true" : "false");

    if (tools && n->tools) {
        ngx_http_hangar_out_lit(out, ",\"tools\":");
        ngx_http_hangar_out_raw(out, n->tools->data, n->tools->len);

    } else if (tools) {
        ngx_http_hangar_out_lit(out, ",\"tools\":[]");
    }

    ngx_http_hangar_out_lit(out, ",\"health\":");
    ngx_http_hangar_render_health(out, n, now);

    ngx_http_hangar_out_lit(out, ",\"idle_time\":");
    ngx_http_hangar_out_num(out, n->last_used
                                 ? (double) (now - n->last_used) / 1000 : 0);

    ngx_http_hangar_out_lit(out, ",\"meta\":");

    if (n->meta) {
        ngx_http_hangar_out_raw(out, n->meta->data, n->meta->len);

    } else {
        ngx_http_hangar_out_lit(out, "{}");
    }

    if (n->desc) {
        ngx_http_hangar_out_lit(out, ",\"description\":");
        ngx_http_hangar_out_str(out, n->desc->data, n->desc->len);
    }

    if (n->blocked) {
        ngx_http_hangar_out_lit(out, ",\"blocked\":true");
    }
}


/* the 422 of a body that is not a JSON object */

static ngx_int_t
ngx_http_hangar_not_object(ngx_http_hangar_req_t *hr)
{
    ngx_str_t  field = ngx_string("body");
    ngx_str_t  msg = ngx_string("request body must be a JSON object");

    return ngx_http_hangar_validation_error(hr, &field, &msg);
}


/* hangar-core §1.1: the flat body {"error":"ssrf_blocked", ...}, a 400 */

static ngx_int_t
ngx_http_hangar_ssrf_refused(ngx_http_hangar_req_t *hr, ngx_str_t *message)
{
    ngx_log_error(NGX_LOG_WARN, hr->r->connection->log, 0,
                  "hangar: refused: %V", message);

    return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST, "ssrf_blocked",
                                 "%V", message);
}


/*
 * NGX_OK with *spec set; NGX_DECLINED with field and message set when in
 * is not a valid server; NGX_ABORT with message set when its endpoint is
 * refused (SSRF); NGX_ERROR.  The request's body names what it changes:
 * the rules of the edge apply to those fields (ngx_http_hangar_guard.c).
 */

static ngx_int_t
ngx_http_hangar_validate(ngx_http_hangar_req_t *hr, ngx_str_t *id,
    ngx_http_hangar_value_t *in, ngx_http_hangar_value_t **spec,
    ngx_str_t *field, ngx_str_t *message)
{
    ngx_http_hangar_spec_ctx_t  ctx;

    ngx_memzero(&ctx, sizeof(ngx_http_hangar_spec_ctx_t));
    ctx.pool = hr->r->pool;
    ctx.log = hr->r->connection->log;
    ctx.source = NGX_HTTP_HANGAR_SPEC_API;

    if (ngx_http_hangar_spec_server(&ctx, id, in, spec) != NGX_OK) {
        if (ctx.message.len == 0) {
            return NGX_ERROR;
        }

        *field = ctx.field;
        *message = ctx.message;

        return NGX_DECLINED;
    }

    if (ngx_http_hangar_spec_mode(*spec) == NGX_HTTP_HANGAR_MODE_GROUP) {
        ngx_str_set(field, "mode");
        ngx_str_set(message, "mode: groups are managed under /api/groups");

        return NGX_DECLINED;
    }

    return ngx_http_hangar_guard_server(hr->r->pool,
                                        hr->reg->hmcf->allowed_commands,
                                        hr->reg->hmcf->remote_allow, *spec,
                                        hr->body, field, message);
}


/* POST /api/mcp_servers */

ngx_int_t
ngx_http_hangar_servers_create(ngx_http_hangar_req_t *hr)
{
    ngx_int_t                 rc;
    ngx_str_t                 field = ngx_string("mcp_server_id");
    ngx_str_t                 msg;
    ngx_http_hangar_value_t  *id, *spec;

    if (!ngx_http_hangar_is(hr->body, NGX_HTTP_HANGAR_OBJ)) {
        return ngx_http_hangar_not_object(hr);
    }

    id = ngx_http_hangar_get(hr->body, "mcp_server_id");

    if (id == NULL || id->type == NGX_HTTP_HANGAR_NULL) {
        ngx_str_set(&msg, "mcp_server_id: is required");
        return ngx_http_hangar_validation_error(hr, &field, &msg);
    }

    if (id->type != NGX_HTTP_HANGAR_STR
        || !ngx_http_hangar_spec_id_valid(&id->u.s, NGX_HTTP_HANGAR_SPEC_API))
    {
        ngx_str_set(&msg, "mcp_server_id: must be 1-64 letters, digits, "
                          "\"_\" or \"-\"");
        return ngx_http_hangar_validation_error(hr, &field, &msg);
    }

    if (ngx_http_hangar_get(hr->body, "mode") == NULL) {
        ngx_str_set(&field, "mode");
        ngx_str_set(&msg, "mode: is required");
        return ngx_http_hangar_validation_error(hr, &field, &msg);
    }

    ngx_http_hangar_del(hr->body, "mcp_server_id");

    rc = ngx_http_hangar_validate(hr, &id->u.s, hr->body, &spec, &field,
                                  &msg);

    if (rc == NGX_DECLINED) {
        return ngx_http_hangar_validation_error(hr, &field, &msg);
    }

    if (rc == NGX_ABORT) {
        return ngx_http_hangar_ssrf_refused(hr, &msg);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hangar_change(hr, &id->u.s, spec, NGX_HTTP_HANGAR_CREATE);
}


/* PUT|PATCH /api/mcp_servers/{id}: a partial update, null = unchanged */

ngx_int_t
ngx_http_hangar_servers_update(ngx_http_hangar_req_t *hr)
{
    ngx_str_t                *id;
    ngx_str_t                 field = ngx_string("mcp_server_id");
    ngx_str_t                 msg = ngx_string("mcp_server_id: cannot be "
                                               "changed");
    ngx_http_hangar_value_t  *v;

    id = &hr->params[0];

    if (!ngx_http_hangar_is(hr->body, NGX_HTTP_HANGAR_OBJ)) {
        return ngx_http_hangar_not_object(hr);
    }

    v = ngx_http_hangar_get(hr->body, "mcp_server_id");

    if (v && v->type != NGX_HTTP_HANGAR_NULL
        && !(v->type == NGX_HTTP_HANGAR_STR
             && ngx_memn2cmp(v->u.s.data, id->data, v->u.s.len, id->len) == 0))
    {
        return ngx_http_hangar_validation_error(hr, &field, &msg);
    }

    ngx_http_hangar_del(hr->body, "mcp_server_id");

    /* the body is laid over the current spec under the state lock */
    return ngx_http_hangar_change(hr, id, hr->body, NGX_HTTP_HANGAR_UPDATE);
}


/* DELETE /api/mcp_servers/{id} */

ngx_int_t
ngx_http_hangar_servers_delete(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_change(hr, &hr->params[0], NULL,
                                  NGX_HTTP_HANGAR_DELETE);
}


/*
 * One durable change of a server: created (in is its spec), updated (in
 * is the PATCH body, laid over the current spec) or deleted.  The state
 * lock is held from the read of the current spec to the commit, so two
 * changes at once never lose each other.  Memory is reserved first, the
 * state file is written next, and only then is the change linked in; any
 * failure on the way releases what was reserved, so nothing changes.
 */

static ngx_int_t
ngx_http_hangar_change(ngx_http_hangar_req_t *hr, ngx_str_t *id,
    ngx_http_hangar_value_t *in, ngx_uint_t what)
{
    ngx_http_hangar_change_t  *ch;

    ch = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_change_t));
    if (ch == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ch->what = what;
    ch->in = in;
    ch->op.id = *id;
    ch->op.prepare = ngx_http_hangar_change_prepare;
    ch->op.commit = ngx_http_hangar_change_commit;
    ch->op.answer = ngx_http_hangar_change_answer;

    return ngx_http_hangar_api_change(hr, &ch->op);
}


/*
 * Runs a durable change for a request: op->answer answers, at once or
 * when the change ends (the request waits, without blocking the worker).
 */

ngx_int_t
ngx_http_hangar_api_change(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_state_op_t *op)
{
    ngx_int_t  rc;

    op->reg = hr->reg;
    op->pool = hr->r->pool;
    op->log = hr->r->connection->log;
    op->r = hr->r;
    op->data = hr;
    op->done = ngx_http_hangar_change_done;

    rc = ngx_http_hangar_state_run(op);

    if (rc == NGX_AGAIN) {
        hr->r->main->count++;
        return NGX_DONE;
    }

    return op->answer(op, rc);
}


static ngx_int_t
ngx_http_hangar_change_done(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_http_hangar_req_t  *hr = op->data;

    ngx_http_finalize_request(hr->r, op->answer(op, rc));

    return NGX_OK;
}


/* the answer of a change that did not succeed */

ngx_int_t
ngx_http_hangar_api_change_error(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    switch (rc) {

    case NGX_HTTP_HANGAR_STATE_BUSY:
        return ngx_http_hangar_error(hr, NGX_HTTP_SERVICE_UNAVAILABLE,
                                     "RegistryBusyError",
                                     "another change is in progress, "
                                     "try again");

    case NGX_HTTP_HANGAR_STATE_FULL:
        return ngx_http_hangar_error(hr, 507, "RegistryFullError",
                                     "the hangar zone \"%V\" is full; "
                                     "nothing was changed", &hr->reg->name);

    default:
        if (op->errmsg.len) {
            return ngx_http_hangar_error(hr, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "StateWriteError", "%V",
                                         &op->errmsg);
        }

        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


static ngx_int_t
ngx_http_hangar_change_answer(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    const char                *what;
    ngx_http_hangar_req_t     *hr;
    ngx_http_hangar_change_t  *ch;

    hr = op->data;
    ch = (ngx_http_hangar_change_t *) op;

    if (rc == NGX_DECLINED) {
        return ngx_http_hangar_change_refused(hr, ch);
    }

    if (rc != NGX_OK) {
        return ngx_http_hangar_api_change_error(hr, op, rc);
    }

    what = (ch->what == NGX_HTTP_HANGAR_CREATE) ? "created"
           : (ch->what == NGX_HTTP_HANGAR_UPDATE) ? "updated" : "deleted";

    ngx_http_hangar_event(hr->reg, ch->what == NGX_HTTP_HANGAR_CREATE
                                   ? "McpServerRegistered"
                                   : ch->what == NGX_HTTP_HANGAR_UPDATE
                                     ? "McpServerUpdated"
                                     : "McpServerDeregistered",
                          op->id.data, op->id.len, "{\"source\":\"api\"}");

    ngx_http_hangar_out_lit(&hr->out, "{\"mcp_server_id\":");
    ngx_http_hangar_out_str(&hr->out, op->id.data, op->id.len);
    ngx_http_hangar_out_printf(&hr->out, ",\"%s\":true}", what);

    return ngx_http_hangar_send(hr,
                                ch->what == NGX_HTTP_HANGAR_CREATE
                                ? NGX_HTTP_CREATED : NGX_HTTP_OK);
}


/* the answer of a change its prepare refused */

static ngx_int_t
ngx_http_hangar_change_refused(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_change_t *ch)
{
    switch (ch->refused) {

    case NGX_HTTP_HANGAR_MISSING:
        return ngx_http_hangar_not_found(hr, &ch->op.id);

    case NGX_HTTP_HANGAR_EXISTS:
        return ngx_http_hangar_error(hr, 422, "ValidationError",
                                     "McpServer already exists: %V",
                                     &ch->op.id);

    case NGX_HTTP_HANGAR_INVALID:
        return ngx_http_hangar_validation_error(hr, &ch->field, &ch->message);

    case NGX_HTTP_HANGAR_SSRF:
        return ngx_http_hangar_ssrf_refused(hr, &ch->message);

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


/* with the state lock held: read, decide, reserve */

static ngx_int_t
ngx_http_hangar_change_prepare(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_str_t                    text;
    ngx_uint_t                   was;
    ngx_http_hangar_node_t      *n;
    ngx_http_hangar_value_t     *spec;
    ngx_http_hangar_change_t    *ch;
    ngx_http_hangar_registry_t  *reg;

    reg = op->reg;
    ch = (ngx_http_hangar_change_t *) op;

    ngx_str_null(&text);

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, op->id.data, op->id.len);

    if (n && (ch->what == NGX_HTTP_HANGAR_UPDATE
              || ch->what == NGX_HTTP_HANGAR_REPLACE))
    {
        text.len = n->spec->len;
        text.data = ngx_pnalloc(op->pool, text.len);
        if (text.data != NULL) {
            ngx_memcpy(text.data, n->spec->data, text.len);
        }
    }

    ch->declared = n ? n->declared : 0;

    ngx_http_hangar_unlock(reg);

    if (ch->what == NGX_HTTP_HANGAR_CREATE && n) {
        ch->refused = NGX_HTTP_HANGAR_EXISTS;
        return NGX_DECLINED;
    }

    if (ch->what != NGX_HTTP_HANGAR_CREATE && n == NULL) {
        ch->refused = NGX_HTTP_HANGAR_MISSING;
        return NGX_DECLINED;
    }

    rc = ngx_http_hangar_change_spec(ch, &text, &spec);
    if (rc != NGX_OK) {
        return rc;
    }

    if (spec && ngx_http_hangar_record(op->pool, &op->id, spec, &ch->rec)
                != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* a declared server deleted through the API is remembered as such */
    was = ngx_http_hangar_state_has(reg, &reg->sh->deleted, &op->id, 0);

    if (n == NULL) {
        ch->declared = was;
    }

    if (spec && was) {
        op->set = &reg->sh->deleted;
        op->del = op->id;
    }

    if (spec == NULL && ch->declared && !was) {
        rc = ngx_http_hangar_state_add(op, &reg->sh->deleted, &op->id, 0);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    ngx_http_hangar_lock(reg);

    rc = spec ? ngx_http_hangar_prepare(reg, &ch->rec, n == NULL, &ch->prep)
              : NGX_OK;

    ngx_http_hangar_unlock(reg);

    if (rc != NGX_OK) {
        ngx_http_hangar_zone_full(reg, op->log);
        return NGX_HTTP_HANGAR_STATE_FULL;
    }

    op->spec = spec ? &ch->rec.spec : NULL;

    return NGX_OK;
}


/* the new spec: validated, and for an update laid over the current one */

static ngx_int_t
ngx_http_hangar_change_spec(ngx_http_hangar_change_t *ch, ngx_str_t *text,
    ngx_http_hangar_value_t **spec)
{
    ngx_int_t                 rc;
    ngx_str_t                 err;
    ngx_uint_t                i;
    ngx_http_hangar_req_t    *hr;
    ngx_http_hangar_pair_t   *pair;
    ngx_http_hangar_value_t  *cur, *ra;

    hr = ch->op.data;

    if (ch->what == NGX_HTTP_HANGAR_REPLACE) {
        /* validated by the caller; the process restarts if it runs else */
        if (text->data == NULL) {
            return NGX_ERROR;
        }

        cur = ngx_http_hangar_json_parse(ch->op.pool, text->data, text->len,
                                         &err);
        if (cur == NULL) {
            return NGX_ERROR;
        }

        *spec = ch->in;
        ch->restart = !ngx_http_hangar_runs_same(ch->op.pool, cur, ch->in);

        return NGX_OK;
    }

    if (ch->what != NGX_HTTP_HANGAR_UPDATE) {
        *spec = ch->in;
        return NGX_OK;
    }

    if (text->data == NULL) {
        return NGX_ERROR;
    }

    cur = ngx_http_hangar_json_parse(ch->op.pool, text->data, text->len,
                                     &err);
    if (cur == NULL) {
        return NGX_ERROR;
    }

    /* a discovered server's runtime addresses: not the API's to set */
    ra = ngx_http_hangar_get(cur, "runtime_addresses");
    ngx_http_hangar_del(cur, "runtime_addresses");

    pair = ch->in->u.obj.elts;

    for (i = 0; i < ch->in->u.obj.nelts; i++) {
        if (pair[i].value->type == NGX_HTTP_HANGAR_NULL) {
            continue;
        }

        if (ngx_http_hangar_set(ch->op.pool, cur, pair[i].key.data,
                                pair[i].key.len, pair[i].value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    /* the current spec again, to compare with */
    ch->in = ngx_http_hangar_json_parse(ch->op.pool, text->data, text->len,
                                        &err);
    if (ch->in == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_hangar_validate(hr, &ch->op.id, cur, spec, &ch->field,
                                  &ch->message);

    if (rc == NGX_DECLINED || rc == NGX_ABORT) {
        ch->refused = (rc == NGX_ABORT) ? NGX_HTTP_HANGAR_SSRF
                                        : NGX_HTTP_HANGAR_INVALID;
        return NGX_DECLINED;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    /* they stay while the endpoint does (and only for it) */
    if (ra && ngx_http_hangar_value_equal(
                  ngx_http_hangar_get(ch->in, "endpoint"),
                  ngx_http_hangar_get(*spec, "endpoint"))
        && ngx_http_hangar_set(ch->op.pool, *spec,
                               (u_char *) "runtime_addresses",
                               sizeof("runtime_addresses") - 1, ra)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ch->restart = !ngx_http_hangar_runs_same(ch->op.pool, ch->in, *spec);

    return NGX_OK;
}


/*
 * Fields read when a call is made, not when the process starts: a change
 * of only these applies at once.  Any other field is what the process
 * runs with (command, args, env, endpoint, image, headers...).
 */

ngx_uint_t
ngx_http_hangar_runs_same(ngx_pool_t *pool, ngx_http_hangar_value_t *a,
    ngx_http_hangar_value_t *b)
{
    ngx_uint_t  i;

    static const char  *call_time[] = {
        "description", "tools", "idle_ttl_s", "health_check_interval_s",
        "max_consecutive_failures", "max_concurrency", "tool_access",
        "tool_projection", "access", NULL
    };

    a = ngx_http_hangar_value_copy(pool, a);
    b = ngx_http_hangar_value_copy(pool, b);

    if (a == NULL || b == NULL) {
        return 0;
    }

    for (i = 0; call_time[i]; i++) {
        ngx_http_hangar_del(a, call_time[i]);
        ngx_http_hangar_del(b, call_time[i]);
    }

    return ngx_http_hangar_value_equal(a, b);
}


/* with the state lock held: the written change is linked in, or dropped */

static ngx_int_t
ngx_http_hangar_change_commit(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_http_hangar_node_t      *n;
    ngx_http_hangar_change_t    *ch;
    ngx_http_hangar_registry_t  *reg;

    reg = op->reg;
    ch = (ngx_http_hangar_change_t *) op;

    if (rc == NGX_OK
        && (ch->what == NGX_HTTP_HANGAR_DELETE || ch->restart))
    {
        /* stopped first, as the original does (hangar-core §1.1) */
        (void) ngx_http_hangar_stop(reg, &op->id,
                                    ch->restart ? "spec_changed" : "shutdown",
                                    0, op->log);
    }

    ngx_http_hangar_lock(reg);

    if (rc != NGX_OK) {
        ngx_http_hangar_discard(reg, &ch->prep);
        ngx_http_hangar_unlock(reg);
        return rc;
    }

    n = ngx_http_hangar_find(&reg->sh->servers, op->id.data, op->id.len);

    if (op->spec) {
        n = ngx_http_hangar_commit(reg, &reg->sh->servers, n, &ch->rec,
                                   &ch->prep);
        n->api = 1;
        n->declared = ch->declared;

        if (!ch->restart) {
            n->changed = 0;
        }

    } else if (n) {
        ngx_http_hangar_remove(reg, &reg->sh->servers, n);
    }

    ngx_http_hangar_unlock(reg);

    return NGX_OK;
}


/*
 * A change of a server that hangar makes itself, with no request
 * (discovery): spec (validated by the caller, ngx_http_hangar_server_check)
 * creates the server or, with replace, replaces its spec; a NULL spec
 * deletes it.  The same durable path as the API's; done() is called once
 * with NGX_OK, NGX_DECLINED (refused: exists, missing) or NGX_ERROR, at
 * once or when the state file is written.
 */

ngx_int_t
ngx_http_hangar_server_change(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_log_t *log, ngx_str_t *id,
    ngx_http_hangar_value_t *spec, ngx_uint_t replace,
    ngx_http_hangar_server_done_pt done, void *data)
{
    ngx_int_t                  rc;
    ngx_http_hangar_change_t  *ch;

    ch = ngx_pcalloc(pool, sizeof(ngx_http_hangar_change_t));
    if (ch == NULL) {
        done(data, NGX_ERROR);
        return NGX_ERROR;
    }

    ch->what = spec == NULL ? NGX_HTTP_HANGAR_DELETE
               : replace ? NGX_HTTP_HANGAR_REPLACE : NGX_HTTP_HANGAR_CREATE;
    ch->in = spec;
    ch->done = done;
    ch->done_data = data;
    ch->op.id = *id;
    ch->op.reg = reg;
    ch->op.pool = pool;
    ch->op.log = log;
    ch->op.prepare = ngx_http_hangar_change_prepare;
    ch->op.commit = ngx_http_hangar_change_commit;
    ch->op.answer = ngx_http_hangar_change_ended;
    ch->op.done = ngx_http_hangar_change_ended;

    rc = ngx_http_hangar_state_run(&ch->op);

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    return ngx_http_hangar_change_ended(&ch->op, rc);
}


static ngx_int_t
ngx_http_hangar_change_ended(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_http_hangar_change_t  *ch = (ngx_http_hangar_change_t *) op;

    if (rc != NGX_OK && rc != NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, op->log, 0,
                      "hangar: the change of \"%V\" failed: %V", &op->id,
                      &op->errmsg);
        rc = NGX_ERROR;
    }

    ch->done(ch->done_data, rc);

    return rc;
}


/*
 * A spec that hangar builds itself (discovery) goes through the API's
 * checks: the field table, then the edge's rules (allowed commands,
 * arguments, SSRF); it may hold the runtime addresses the API does not
 * take.  NGX_OK, NGX_DECLINED with message, NGX_ERROR.
 */

ngx_int_t
ngx_http_hangar_server_check(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_log_t *log, ngx_str_t *id,
    ngx_http_hangar_value_t *in, ngx_http_hangar_value_t **spec,
    ngx_str_t *message)
{
    ngx_int_t                    rc;
    ngx_str_t                    field;
    ngx_http_hangar_spec_ctx_t   ctx;

    ngx_memzero(&ctx, sizeof(ngx_http_hangar_spec_ctx_t));
    ctx.pool = pool;
    ctx.log = log;
    ctx.source = NGX_HTTP_HANGAR_SPEC_OWN;

    if (ngx_http_hangar_spec_server(&ctx, id, in, spec) != NGX_OK) {
        if (ctx.message.len == 0) {
            return NGX_ERROR;
        }

        *message = ctx.message;
        return NGX_DECLINED;
    }

    rc = ngx_http_hangar_guard_server(pool, reg->hmcf->allowed_commands,
                                      reg->hmcf->remote_allow, *spec, in,
                                      &field, message);

    return (rc == NGX_ABORT) ? NGX_DECLINED : rc;
}
