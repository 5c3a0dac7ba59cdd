
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/mcp_servers: list, create, read, update, delete.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_api.h"


static const char *ngx_http_hangar_health_status(ngx_http_hangar_node_t *n);
static ngx_int_t ngx_http_hangar_body_object(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_validate(ngx_http_hangar_req_t *hr,
    ngx_str_t *id, ngx_http_hangar_value_t *in,
    ngx_http_hangar_value_t **spec);
static ngx_int_t ngx_http_hangar_change(ngx_http_hangar_req_t *hr,
    ngx_str_t *id, ngx_http_hangar_value_t *spec, ngx_uint_t create);
static ngx_int_t ngx_http_hangar_deleted_list(ngx_http_hangar_req_t *hr,
    ngx_str_t *id, ngx_int_t add, ngx_uint_t *was, ngx_str_t *text);
static ngx_int_t ngx_http_hangar_answer(ngx_http_hangar_req_t *hr,
    ngx_uint_t status, ngx_str_t *id, const char *what);


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
 * unlocked and answered 404 (hr->rc) when there is none.
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
        hr->rc = ngx_http_hangar_not_found(hr, &hr->params[0]);
    }

    return n;
}


/* GET /api/mcp_servers[?state=s] */

ngx_int_t
ngx_http_hangar_servers_list(ngx_http_hangar_req_t *hr)
{
    ngx_str_t                filter;
    ngx_uint_t               first;
    ngx_queue_t             *q;
    ngx_http_hangar_out_t   *out;
    ngx_http_hangar_node_t  *n;

    out = &hr->out;

    if (ngx_http_arg(hr->r, (u_char *) "state", 5, &filter) != NGX_OK) {
        filter.len = 0;
    }

    ngx_http_hangar_out_lit(out, "{\"mcp_servers\":[");

    first = 1;

    ngx_http_hangar_lock(hr->reg);

    for (q = ngx_queue_head(&hr->reg->sh->servers.queue);
         q != ngx_queue_sentinel(&hr->reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        n = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        if (filter.len
            && (ngx_strlen(ngx_http_hangar_state_name(n->state)) != filter.len
                || ngx_strncmp(ngx_http_hangar_state_name(n->state),
                               filter.data, filter.len) != 0))
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

    ngx_http_hangar_unlock(hr->reg);

    ngx_http_hangar_out_lit(out, "]}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
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
    ngx_msec_t               now;
    ngx_http_hangar_out_t   *out;
    ngx_http_hangar_node_t  *n;

    out = &hr->out;
    now = ngx_http_hangar_now_ms();

    n = ngx_http_hangar_route_node(hr);
    if (n == NULL) {
        return hr->rc;
    }

    ngx_http_hangar_out_printf(out,
        "{\"mcp_server_id\":\"%*s\",\"state\":\"%s\",\"mode\":\"%s\","
        "\"alive\":%s,\"tools\":",
        n->id_len, n->id, ngx_http_hangar_state_name(n->state), n->mode_name,
        n->state == NGX_HTTP_HANGAR_READY ? "true" : "false");

    if (n->tools) {
        ngx_http_hangar_out_raw(out, n->tools->data, n->tools->len);

    } else {
        ngx_http_hangar_out_lit(out, "[]");
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

    ngx_http_hangar_unlock(hr->reg);

    ngx_http_hangar_out_lit(out, "}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


static ngx_int_t
ngx_http_hangar_body_object(ngx_http_hangar_req_t *hr)
{
    ngx_str_t  field = ngx_string("body");
    ngx_str_t  msg = ngx_string("request body must be a JSON object");

    if (ngx_http_hangar_is(hr->body, NGX_HTTP_HANGAR_OBJ)) {
        return NGX_OK;
    }

    return ngx_http_hangar_answered(hr,
               ngx_http_hangar_validation_error(hr, &field, &msg));
}


static ngx_int_t
ngx_http_hangar_validate(ngx_http_hangar_req_t *hr, ngx_str_t *id,
    ngx_http_hangar_value_t *in, ngx_http_hangar_value_t **spec)
{
    ngx_str_t                    field = ngx_string("mode");
    ngx_str_t                    msg = ngx_string("mode: groups are managed "
                                                  "under /api/groups");
    ngx_http_hangar_spec_ctx_t   ctx;

    ngx_memzero(&ctx, sizeof(ngx_http_hangar_spec_ctx_t));
    ctx.pool = hr->r->pool;
    ctx.log = hr->r->connection->log;
    ctx.source = NGX_HTTP_HANGAR_SPEC_API;

    if (ngx_http_hangar_spec_server(&ctx, id, in, spec) != NGX_OK) {
        if (ctx.message.len == 0) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_hangar_answered(hr,
                   ngx_http_hangar_validation_error(hr, &ctx.field,
                                                    &ctx.message));
    }

    if (ngx_http_hangar_spec_mode(*spec) == NGX_HTTP_HANGAR_MODE_GROUP) {
        return ngx_http_hangar_answered(hr,
                   ngx_http_hangar_validation_error(hr, &field, &msg));
    }

    return NGX_OK;
}


/* POST /api/mcp_servers */

ngx_int_t
ngx_http_hangar_servers_create(ngx_http_hangar_req_t *hr)
{
    ngx_int_t                 rc;
    ngx_str_t                 field = ngx_string("mcp_server_id");
    ngx_str_t                 msg;
    ngx_http_hangar_value_t  *id, *spec;

    rc = ngx_http_hangar_body_object(hr);
    if (rc != NGX_OK) {
        return rc == NGX_DECLINED ? hr->rc : rc;
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

    rc = ngx_http_hangar_validate(hr, &id->u.s, hr->body, &spec);
    if (rc != NGX_OK) {
        return rc == NGX_DECLINED ? hr->rc : rc;
    }

    rc = ngx_http_hangar_change(hr, &id->u.s, spec, 1);
    if (rc != NGX_OK) {
        return rc == NGX_DECLINED ? hr->rc : rc;
    }

    return ngx_http_hangar_answer(hr, NGX_HTTP_CREATED, &id->u.s, "created");
}


/* PUT|PATCH /api/mcp_servers/{id}: a partial update, null = unchanged */

ngx_int_t
ngx_http_hangar_servers_update(ngx_http_hangar_req_t *hr)
{
    ngx_int_t                 rc;
    ngx_str_t                *id, text, err;
    ngx_str_t                 field = ngx_string("mcp_server_id");
    ngx_str_t                 msg = ngx_string("mcp_server_id: cannot be "
                                               "changed");
    ngx_uint_t                i;
    ngx_http_hangar_pair_t   *pair;
    ngx_http_hangar_node_t   *n;
    ngx_http_hangar_value_t  *cur, *v, *spec;

    id = &hr->params[0];

    rc = ngx_http_hangar_body_object(hr);
    if (rc != NGX_OK) {
        return rc == NGX_DECLINED ? hr->rc : rc;
    }

    v = ngx_http_hangar_get(hr->body, "mcp_server_id");

    if (v && v->type != NGX_HTTP_HANGAR_NULL
        && !(v->type == NGX_HTTP_HANGAR_STR
             && ngx_memn2cmp(v->u.s.data, id->data, v->u.s.len, id->len) == 0))
    {
        return ngx_http_hangar_validation_error(hr, &field, &msg);
    }

    ngx_http_hangar_del(hr->body, "mcp_server_id");

    /* the current spec, copied out under the lock and parsed outside it */
    ngx_http_hangar_lock(hr->reg);

    n = ngx_http_hangar_find(&hr->reg->sh->servers, id->data, id->len);
    if (n == NULL) {
        ngx_http_hangar_unlock(hr->reg);
        return ngx_http_hangar_not_found(hr, id);
    }

    text.len = n->spec->len;
    text.data = ngx_pnalloc(hr->r->pool, text.len);
    if (text.data != NULL) {
        ngx_memcpy(text.data, n->spec->data, text.len);
    }

    ngx_http_hangar_unlock(hr->reg);

    if (text.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cur = ngx_http_hangar_json_parse(hr->r->pool, text.data, text.len, &err);
    if (cur == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pair = hr->body->u.obj.elts;

    for (i = 0; i < hr->body->u.obj.nelts; i++) {
        if (pair[i].value->type == NGX_HTTP_HANGAR_NULL) {
            continue;
        }

        if (ngx_http_hangar_set(hr->r->pool, cur, pair[i].key.data,
                                pair[i].key.len, pair[i].value)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    rc = ngx_http_hangar_validate(hr, id, cur, &spec);
    if (rc != NGX_OK) {
        return rc == NGX_DECLINED ? hr->rc : rc;
    }

    rc = ngx_http_hangar_change(hr, id, spec, 0);
    if (rc != NGX_OK) {
        return rc == NGX_DECLINED ? hr->rc : rc;
    }

    return ngx_http_hangar_answer(hr, NGX_HTTP_OK, id, "updated");
}


/* DELETE /api/mcp_servers/{id} */

ngx_int_t
ngx_http_hangar_servers_delete(ngx_http_hangar_req_t *hr)
{
    ngx_int_t  rc;

    /* stopped first, as the original does (hangar-core §1.1) */
    (void) ngx_http_hangar_stop(hr->reg, &hr->params[0], "shutdown", 0,
                                hr->r->connection->log);

    rc = ngx_http_hangar_change(hr, &hr->params[0], NULL, 0);
    if (rc != NGX_OK) {
        return rc == NGX_DECLINED ? hr->rc : rc;
    }

    return ngx_http_hangar_answer(hr, NGX_HTTP_OK, &hr->params[0], "deleted");
}


static ngx_int_t
ngx_http_hangar_answer(ngx_http_hangar_req_t *hr, ngx_uint_t status,
    ngx_str_t *id, const char *what)
{
    ngx_http_hangar_out_lit(&hr->out, "{\"mcp_server_id\":");
    ngx_http_hangar_out_str(&hr->out, id->data, id->len);
    ngx_http_hangar_out_printf(&hr->out, ",\"%s\":true}", what);

    return ngx_http_hangar_send(hr, status);
}


/*
 * One durable change: id gets spec (created when create is set), or is
 * deleted when spec is NULL.  Memory is reserved first, the state file is
 * written next, and only then is the change linked in; any failure on
 * the way undoes what was reserved, so nothing changes.
 */

static ngx_int_t
ngx_http_hangar_change(ngx_http_hangar_req_t *hr, ngx_str_t *id,
    ngx_http_hangar_value_t *spec, ngx_uint_t create)
{
    ngx_int_t                    rc;
    ngx_str_t                    deleted, errmsg;
    ngx_uint_t                   declared;
    ngx_log_t                   *log;
    ngx_http_hangar_node_t      *n;
    ngx_http_hangar_prep_t       prep;
    ngx_http_hangar_blob_t      *dblob;
    ngx_http_hangar_record_t     rec;
    ngx_http_hangar_registry_t  *reg;

    reg = hr->reg;
    log = hr->r->connection->log;

    if (spec && ngx_http_hangar_record(hr->r->pool, id, spec, &rec) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hangar_state_lock(reg, log) != NGX_OK) {
        return ngx_http_hangar_answered(hr,
                   ngx_http_hangar_error(hr, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "RegistryBusyError",
                                         "another change is in progress, "
                                         "try again"));
    }

    ngx_memzero(&prep, sizeof(ngx_http_hangar_prep_t));
    ngx_str_null(&errmsg);
    dblob = NULL;

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, id->data, id->len);

    if (create && n) {
        rc = ngx_http_hangar_answered(hr,
                 ngx_http_hangar_error(hr, 422, "ValidationError",
                                       "McpServer already exists: %V", id));
        goto done;
    }

    if (!create && n == NULL) {
        rc = ngx_http_hangar_answered(hr, ngx_http_hangar_not_found(hr, id));
        goto done;
    }

    /* a declared server deleted through the API is remembered as such */
    rc = ngx_http_hangar_deleted_list(hr, id,
                                      spec ? -1 : (n->declared ? 1 : 0),
                                      &declared, &deleted);
    if (rc != NGX_OK) {
        goto done;
    }

    declared = n ? n->declared : declared;

    if (spec
        && ngx_http_hangar_prepare(reg, &rec, n == NULL, &prep) != NGX_OK)
    {
        goto full;
    }

    if (deleted.len != reg->sh->deleted->len
        || ngx_memcmp(deleted.data, reg->sh->deleted->data, deleted.len))
    {
        dblob = ngx_http_hangar_blob(reg, deleted.data, deleted.len);
        if (dblob == NULL) {
            goto full;
        }
    }

    ngx_http_hangar_unlock(reg);

    rc = ngx_http_hangar_state_save(reg, hr->r->pool, id,
                                    spec ? &rec.spec : NULL, &deleted, NULL,
                                    NULL, log, &errmsg);

    ngx_http_hangar_lock(reg);

    if (rc != NGX_OK) {
        ngx_http_hangar_discard(reg, &prep);
        ngx_http_hangar_blob_free(reg, dblob);

        rc = (errmsg.len == 0) ? NGX_HTTP_INTERNAL_SERVER_ERROR
             : ngx_http_hangar_answered(hr,
                   ngx_http_hangar_error(hr, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "StateWriteError", "%V", &errmsg));
        goto done;
    }

    /* the state lock kept every other change out since the find above */
    if (spec) {
        n = ngx_http_hangar_commit(reg, &reg->sh->servers, n, &rec, &prep);
        n->api = 1;
        n->declared = declared;

    } else {
        ngx_http_hangar_remove(reg, &reg->sh->servers, n);
    }

    if (dblob) {
        ngx_http_hangar_blob_free(reg, reg->sh->deleted);
        reg->sh->deleted = dblob;
    }

    rc = NGX_OK;

done:

    ngx_http_hangar_unlock(reg);
    ngx_http_hangar_state_unlock(reg);

    return rc;

full:

    ngx_http_hangar_discard(reg, &prep);
    ngx_http_hangar_unlock(reg);
    ngx_http_hangar_state_unlock(reg);

    ngx_http_hangar_zone_full(reg, log);

    return ngx_http_hangar_answered(hr,
               ngx_http_hangar_error(hr, 507, "RegistryFullError",
                                     "the hangar zone \"%V\" is full; "
                                     "nothing was changed", &reg->name));
}


/*
 * The deleted-ids list with id removed (add < 0), added (add > 0) or
 * unchanged; *was tells whether id was in it.  Called with the lock held.
 */

static ngx_int_t
ngx_http_hangar_deleted_list(ngx_http_hangar_req_t *hr, ngx_str_t *id,
    ngx_int_t add, ngx_uint_t *was, ngx_str_t *text)
{
    ngx_str_t                 err;
    ngx_uint_t                i;
    ngx_http_hangar_value_t  *list, **items, *v;

    list = ngx_http_hangar_json_parse(hr->r->pool, hr->reg->sh->deleted->data,
                                      hr->reg->sh->deleted->len, &err);
    if (!ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *was = 0;
    items = list->u.arr.elts;

    for (i = 0; i < list->u.arr.nelts; i++) {
        if (items[i]->type == NGX_HTTP_HANGAR_STR
            && ngx_memn2cmp(items[i]->u.s.data, id->data, items[i]->u.s.len,
                            id->len) == 0)
        {
            *was = 1;

            if (add < 0) {
                items[i] = items[--list->u.arr.nelts];
            }

            break;
        }
    }

    if (add > 0 && !*was) {
        v = ngx_http_hangar_value_str(hr->r->pool, id->data, id->len);
        if (v == NULL || ngx_http_hangar_push(list, v) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_hangar_json_text(hr->r->pool, list, text) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}
