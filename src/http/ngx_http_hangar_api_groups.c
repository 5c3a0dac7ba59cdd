
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/groups (hangar-core.md §1.4).  A change is one durable-write op:
 * the state file's "groups" document ({"<id>": <spec> | null}) is read,
 * changed and written under the state lock, and the group's records in
 * the zone are linked once it is written, so every worker routes by the
 * new group at once and a restart finds it again.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_api_groups.h"
#include "ngx_http_hangar_api_servers.h"
#include "ngx_http_hangar_group_store.h"
#include "ngx_http_hangar_state_doc.h"


#define NGX_HTTP_HANGAR_G_CREATE   0
#define NGX_HTTP_HANGAR_G_UPDATE   1
#define NGX_HTTP_HANGAR_G_DELETE   2
#define NGX_HTTP_HANGAR_G_ADD      3
#define NGX_HTTP_HANGAR_G_REMOVE   4

/* why a prepare refused */
#define NGX_HTTP_HANGAR_G_MISSING  1
#define NGX_HTTP_HANGAR_G_NOSERVER 2
#define NGX_HTTP_HANGAR_G_EXISTS   3
#define NGX_HTTP_HANGAR_G_INVALID  4


typedef struct {
    ngx_http_hangar_state_op_t       op;        /* first: the op is it */
    ngx_uint_t                       what;
    ngx_str_t                        gid;
    ngx_str_t                        member;
    ngx_http_hangar_value_t         *body;
    ngx_int_t                        weight;
    ngx_int_t                        priority;
    ngx_uint_t                       refused;
    ngx_str_t                        field;
    ngx_str_t                        message;
    ngx_uint_t                       auto_start;
    ngx_array_t                     *members;   /* to stop: ngx_str_t */
    ngx_http_hangar_group_change_t   ch;
} ngx_http_hangar_gop_t;


static ngx_int_t ngx_http_hangar_groups_change(ngx_http_hangar_req_t *hr,
    ngx_uint_t what);
static ngx_int_t ngx_http_hangar_groups_body(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_gop_t *gop);
static ngx_int_t ngx_http_hangar_groups_int(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_gop_t *gop, const char *name, ngx_int_t *value);
static ngx_int_t ngx_http_hangar_groups_prepare(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc);
static ngx_int_t ngx_http_hangar_groups_spec(ngx_http_hangar_gop_t *gop,
    ngx_http_hangar_value_t **spec, ngx_uint_t *declared);
static ngx_int_t ngx_http_hangar_groups_edit(ngx_http_hangar_gop_t *gop,
    ngx_http_hangar_value_t *spec, ngx_http_hangar_value_t **out);
static ngx_int_t ngx_http_hangar_groups_members(ngx_http_hangar_gop_t *gop,
    ngx_http_hangar_value_t *spec);
static ngx_int_t ngx_http_hangar_groups_commit(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc);
static ngx_int_t ngx_http_hangar_groups_answer(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc);
static void ngx_http_hangar_groups_started(ngx_http_hangar_waiter_t *w,
    ngx_int_t rc);
static void ngx_http_hangar_groups_cleanup(void *data);
static ngx_int_t ngx_http_hangar_groups_done(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_gop_t *gop);
static ngx_int_t ngx_http_hangar_group_missing(ngx_http_hangar_req_t *hr,
    ngx_str_t *id);


static ngx_str_t  ngx_http_hangar_gop_names[] = {
    ngx_string("created"), ngx_string("updated"), ngx_string("deleted"),
    ngx_string("added"), ngx_string("removed")
};


static ngx_int_t
ngx_http_hangar_group_missing(ngx_http_hangar_req_t *hr, ngx_str_t *id)
{
    return ngx_http_hangar_error(hr, NGX_HTTP_NOT_FOUND,
                                 "McpServerNotFoundError",
                                 "Group '%*s' not found",
                                 ngx_min(id->len, 128), id->data);
}


void
ngx_http_hangar_group_status_out(ngx_http_hangar_out_t *out,
    ngx_http_hangar_group_info_t *info)
{
    ngx_uint_t                       i;
    ngx_http_hangar_gmember_info_t  *m;

    ngx_http_hangar_out_lit(out, "{\"group_id\":");
    ngx_http_hangar_out_ngx_str(out, &info->id);
    ngx_http_hangar_out_lit(out, ",\"description\":");

    if (info->desc.len) {
        ngx_http_hangar_out_ngx_str(out, &info->desc);

    } else {
        ngx_http_hangar_out_lit(out, "null");
    }

    ngx_http_hangar_out_printf(out, ",\"state\":\"%s\",\"strategy\":\"%s\","
                               "\"min_healthy\":%ui,\"healthy_count\":%ui,"
                               "\"total_members\":%ui,\"is_available\":%s,"
                               "\"circuit_open\":%s,"
                               "\"circuit_breaker_state\":\"%s\","
                               "\"members\":[",
                               ngx_http_hangar_group_states[info->state],
                               ngx_http_hangar_group_strategies[info->strategy],
                               info->min_healthy, info->healthy,
                               info->nmembers,
                               info->available ? "true" : "false",
                               info->breaker == NGX_HTTP_HANGAR_OPEN
                               ? "true" : "false",
                               ngx_http_hangar_breaker_states[info->breaker]);

    for (i = 0; i < info->nmembers; i++) {
        m = &info->members[i];

        if (i) {
            ngx_http_hangar_out_lit(out, ",");
        }

        ngx_http_hangar_out_lit(out, "{\"id\":");
        ngx_http_hangar_out_ngx_str(out, &m->id);
        ngx_http_hangar_out_printf(out, ",\"state\":\"%s\",\"in_rotation\":%s,"
                                   "\"weight\":%ui,\"priority\":%ui,"
                                   "\"consecutive_failures\":%ui,"
                                   "\"in_flight\":%ui}",
                                   m->state < 0 ? "unknown"
                                   : ngx_http_hangar_state_name(m->state),
                                   m->in_rotation ? "true" : "false",
                                   m->weight, m->priority, m->failures,
                                   m->inflight);
    }

    ngx_http_hangar_out_lit(out, "]}");
}


ngx_int_t
ngx_http_hangar_groups_out(ngx_http_hangar_registry_t *reg, ngx_pool_t *pool,
    ngx_http_hangar_out_t *out)
{
    ngx_uint_t                     i;
    ngx_array_t                    infos;
    ngx_http_hangar_group_info_t  *info;

    if (ngx_http_hangar_group_all(reg, pool, &infos) != NGX_OK) {
        return NGX_ERROR;
    }

    info = infos.elts;

    ngx_http_hangar_out_lit(out, "{\"groups\":[");

    for (i = 0; i < infos.nelts; i++) {
        if (i) {
            ngx_http_hangar_out_lit(out, ",");
        }

        ngx_http_hangar_group_status_out(out, &info[i]);
    }

    ngx_http_hangar_out_lit(out, "]}");

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_groups_list(ngx_http_hangar_req_t *hr)
{
    if (ngx_http_hangar_groups_out(hr->reg, hr->r->pool, &hr->out)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


ngx_int_t
ngx_http_hangar_groups_get(ngx_http_hangar_req_t *hr)
{
    ngx_http_hangar_group_info_t  info;

    switch (ngx_http_hangar_group_info(hr->reg, &hr->params[0], hr->r->pool,
                                       &info))
    {
    case NGX_OK:
        break;
    case NGX_DECLINED:
        return ngx_http_hangar_group_missing(hr, &hr->params[0]);
    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_hangar_group_status_out(&hr->out, &info);

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


ngx_int_t
ngx_http_hangar_groups_rebalance(ngx_http_hangar_req_t *hr)
{
    if (ngx_http_hangar_group_rebalance(hr->reg, &hr->params[0]) != NGX_OK) {
        return ngx_http_hangar_group_missing(hr, &hr->params[0]);
    }

    ngx_log_error(NGX_LOG_NOTICE, hr->r->connection->log, 0,
                  "hangar: group \"%V\" rebalanced", &hr->params[0]);

    ngx_http_hangar_out_lit(&hr->out, "{\"status\":\"rebalanced\","
                                      "\"group_id\":");
    ngx_http_hangar_out_ngx_str(&hr->out, &hr->params[0]);
    ngx_http_hangar_out_lit(&hr->out, "}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


ngx_int_t
ngx_http_hangar_groups_create(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_groups_change(hr, NGX_HTTP_HANGAR_G_CREATE);
}


ngx_int_t
ngx_http_hangar_groups_update(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_groups_change(hr, NGX_HTTP_HANGAR_G_UPDATE);
}


ngx_int_t
ngx_http_hangar_groups_delete(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_groups_change(hr, NGX_HTTP_HANGAR_G_DELETE);
}


ngx_int_t
ngx_http_hangar_groups_add(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_groups_change(hr, NGX_HTTP_HANGAR_G_ADD);
}


ngx_int_t
ngx_http_hangar_groups_remove(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_groups_change(hr, NGX_HTTP_HANGAR_G_REMOVE);
}


static ngx_int_t
ngx_http_hangar_groups_change(ngx_http_hangar_req_t *hr, ngx_uint_t what)
{
    ngx_int_t               rc;
    ngx_http_hangar_gop_t  *gop;

    gop = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_gop_t));
    if (gop == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    gop->what = what;
    gop->weight = 1;
    gop->priority = 1;

    if (what != NGX_HTTP_HANGAR_G_CREATE) {
        gop->gid = hr->params[0];
    }

    if (what == NGX_HTTP_HANGAR_G_REMOVE) {
        gop->member = hr->params[1];
    }

    rc = ngx_http_hangar_groups_body(hr, gop);

    if (rc == NGX_DECLINED) {
        return ngx_http_hangar_validation_error(hr, &gop->field,
                                                &gop->message);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    gop->op.prepare = ngx_http_hangar_groups_prepare;
    gop->op.commit = ngx_http_hangar_groups_commit;
    gop->op.answer = ngx_http_hangar_groups_answer;

    return ngx_http_hangar_api_change(hr, &gop->op);
}


/* the body's fields, checked before any lock (422 names the field) */

static ngx_int_t
ngx_http_hangar_groups_body(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_gop_t *gop)
{
    ngx_int_t                 rc;
    ngx_str_t                 field, msg;
    ngx_http_hangar_value_t  *v;

    if (gop->what == NGX_HTTP_HANGAR_G_DELETE
        || gop->what == NGX_HTTP_HANGAR_G_REMOVE)
    {
        return NGX_OK;
    }

    if (hr->body == NULL && gop->what == NGX_HTTP_HANGAR_G_UPDATE) {
        return NGX_OK;
    }

    if (!ngx_http_hangar_is(hr->body, NGX_HTTP_HANGAR_OBJ)) {
        ngx_str_set(&field, "body");
        ngx_str_set(&msg, "body: must be a JSON object");
        goto invalid;
    }

    gop->body = hr->body;

    if (gop->what == NGX_HTTP_HANGAR_G_ADD) {
        v = ngx_http_hangar_get(hr->body, "member_id");
        ngx_str_set(&field, "member_id");

        if (v == NULL || v->type == NGX_HTTP_HANGAR_NULL) {
            ngx_str_set(&msg, "member_id: is required");
            goto invalid;
        }

        if (v->type != NGX_HTTP_HANGAR_STR
            || !ngx_http_hangar_spec_id_valid(&v->u.s,
                                              NGX_HTTP_HANGAR_SPEC_API))
        {
            ngx_str_set(&msg, "member_id: must be 1-64 letters, digits, "
                              "\"_\" or \"-\"");
            goto invalid;
        }

        gop->member = v->u.s;

        rc = ngx_http_hangar_groups_int(hr, gop, "weight", &gop->weight);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_hangar_groups_int(hr, gop, "priority",
                                          &gop->priority);
    }

    if (gop->what == NGX_HTTP_HANGAR_G_CREATE) {
        v = ngx_http_hangar_get(hr->body, "group_id");
        ngx_str_set(&field, "group_id");

        if (v == NULL || v->type == NGX_HTTP_HANGAR_NULL) {
            ngx_str_set(&msg, "group_id: is required");
            goto invalid;
        }

        if (v->type != NGX_HTTP_HANGAR_STR
            || !ngx_http_hangar_spec_id_valid(&v->u.s,
                                              NGX_HTTP_HANGAR_SPEC_API))
        {
            ngx_str_set(&msg, "group_id: must be 1-64 letters, digits, "
                              "\"_\" or \"-\"");
            goto invalid;
        }

        gop->gid = v->u.s;
    }

    v = ngx_http_hangar_get(hr->body, "strategy");

    if (v && v->type != NGX_HTTP_HANGAR_NULL
        && (v->type != NGX_HTTP_HANGAR_STR
            || ngx_http_hangar_group_strategy(&v->u.s) == NGX_ERROR))
    {
        ngx_str_set(&field, "strategy");
        ngx_str_set(&msg, "strategy: must be one of round_robin, "
                          "weighted_round_robin, least_connections, random, "
                          "priority");
        goto invalid;
    }

    v = ngx_http_hangar_get(hr->body, "description");

    if (v && v->type != NGX_HTTP_HANGAR_NULL
        && (v->type != NGX_HTTP_HANGAR_STR || v->u.s.len > 4096))
    {
        ngx_str_set(&field, "description");
        ngx_str_set(&msg, "description: must be a string of at most 4096 "
                          "bytes");
        goto invalid;
    }

    /* min_healthy: clamped to at least 1, as the original does */
    v = ngx_http_hangar_get(hr->body, "min_healthy");

    if (v && v->type != NGX_HTTP_HANGAR_NULL) {
        if (v->type != NGX_HTTP_HANGAR_INT || v->u.i > 10000) {
            ngx_str_set(&field, "min_healthy");
            ngx_str_set(&msg, "min_healthy: must be an integer up to 10000");
            goto invalid;
        }

        if (v->u.i < 1) {
            v->u.i = 1;
        }
    }

    return NGX_OK;

invalid:

    gop->field = field;
    gop->message = msg;

    return NGX_DECLINED;
}


/* weight and priority: 1..100, default 1 */

static ngx_int_t
ngx_http_hangar_groups_int(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_gop_t *gop, const char *name, ngx_int_t *value)
{
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_get(hr->body, name);

    if (v == NULL || v->type == NGX_HTTP_HANGAR_NULL) {
        *value = 1;
        return NGX_OK;
    }

    if (v->type == NGX_HTTP_HANGAR_INT && v->u.i >= 1 && v->u.i <= 100) {
        *value = (ngx_int_t) v->u.i;
        return NGX_OK;
    }

    gop->field.data = (u_char *) name;
    gop->field.len = ngx_strlen(name);

    gop->message.data = ngx_pnalloc(hr->r->pool, gop->field.len + 48);
    if (gop->message.data == NULL) {
        return NGX_ERROR;
    }

    gop->message.len = ngx_sprintf(gop->message.data,
                                   "%V: must be an integer from 1 to 100",
                                   &gop->field)
                       - gop->message.data;

    return NGX_DECLINED;
}


/*
 * With the state lock held: the group's spec as it is now (the zone's
 * record), changed, validated, put in the document and reserved.
 */

static ngx_int_t
ngx_http_hangar_groups_prepare(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_str_t                 text, err;
    ngx_uint_t                declared;
    ngx_http_hangar_value_t  *doc, *spec, *next, *null;
    ngx_http_hangar_gop_t    *gop;

    gop = (ngx_http_hangar_gop_t *) op;

    if (ngx_http_hangar_state_doc(op->reg, NGX_HTTP_HANGAR_DOC_GROUPS,
                                  op->pool, &text, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    doc = text.len ? ngx_http_hangar_json_parse(op->pool, text.data,
                                                text.len, &err)
                   : ngx_http_hangar_value_new(op->pool, NGX_HTTP_HANGAR_OBJ);

    if (!ngx_http_hangar_is(doc, NGX_HTTP_HANGAR_OBJ)) {
        return NGX_ERROR;
    }

    rc = ngx_http_hangar_groups_spec(gop, &spec, &declared);
    if (rc != NGX_OK) {
        return rc;
    }

    next = NULL;

    if (gop->what != NGX_HTTP_HANGAR_G_DELETE) {
        rc = ngx_http_hangar_groups_edit(gop, spec, &next);
        if (rc != NGX_OK) {
            return rc;
        }

        gop->auto_start = ngx_http_hangar_is(
                              ngx_http_hangar_get(next, "auto_start"),
                              NGX_HTTP_HANGAR_BOOL)
                          && ngx_http_hangar_get(next, "auto_start")->u.b;

    } else {
        /* the members stop with the group (hangar-core §1.4) */
        if (ngx_http_hangar_groups_members(gop, spec) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (next) {
        rc = ngx_http_hangar_set(op->pool, doc, gop->gid.data, gop->gid.len,
                                 next);

    } else if (declared) {
        null = ngx_http_hangar_value_new(op->pool, NGX_HTTP_HANGAR_NULL);
        rc = null ? ngx_http_hangar_set(op->pool, doc, gop->gid.data,
                                        gop->gid.len, null)
                  : NGX_ERROR;

    } else {
        /* an API group leaves no trace */
        text.data = ngx_pnalloc(op->pool, gop->gid.len + 1);
        if (text.data == NULL) {
            return NGX_ERROR;
        }

        *ngx_cpymem(text.data, gop->gid.data, gop->gid.len) = '\0';
        ngx_http_hangar_del(doc, (char *) text.data);
        rc = NGX_OK;
    }

    if (rc != NGX_OK
        || ngx_http_hangar_json_text(op->pool, doc, &text) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (text.len == 2) {
        text.len = 0;       /* "{}": no document */
    }

    gop->ch.id = gop->gid;

    rc = ngx_http_hangar_group_reserve(op->reg, op->pool, next, &gop->ch);

    if (rc == NGX_BUSY) {
        ngx_http_hangar_zone_full(op->reg, op->log);
        return NGX_HTTP_HANGAR_STATE_FULL;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    rc = ngx_http_hangar_state_set_doc(op, NGX_HTTP_HANGAR_DOC_GROUPS, &text);

    if (rc != NGX_OK) {
        ngx_http_hangar_group_release(op->reg, &gop->ch);
    }

    return rc;
}


/* the group's canonical spec now (a copy); refusals for the answer */

static ngx_int_t
ngx_http_hangar_groups_spec(ngx_http_hangar_gop_t *gop,
    ngx_http_hangar_value_t **spec, ngx_uint_t *declared)
{
    ngx_str_t                    text, err;
    ngx_uint_t                   server, copied;
    ngx_http_hangar_node_t      *node;
    ngx_http_hangar_registry_t  *reg;

    reg = gop->op.reg;
    text.len = 0;
    text.data = NULL;
    copied = 0;
    *spec = NULL;
    *declared = 0;

    for ( ;; ) {
        ngx_http_hangar_lock(reg);

        node = ngx_http_hangar_find(&reg->sh->groups, gop->gid.data,
                                    gop->gid.len);
        server = (ngx_http_hangar_find(&reg->sh->servers, gop->gid.data,
                                       gop->gid.len)
                  != NULL);

        if (node && text.data && node->spec->len <= text.len) {
            ngx_memcpy(text.data, node->spec->data, node->spec->len);
            text.len = node->spec->len;
            *declared = node->declared;
            copied = 1;
        }

        ngx_http_hangar_unlock(reg);

        if (node == NULL || copied) {
            break;
        }

        /* the size read under the lock, the copy made the next time */
        text.len = node->spec->len;
        text.data = ngx_pnalloc(gop->op.pool, text.len);
        if (text.data == NULL) {
            return NGX_ERROR;
        }
    }

    if (gop->what == NGX_HTTP_HANGAR_G_CREATE) {
        if (node || server) {
            gop->refused = NGX_HTTP_HANGAR_G_EXISTS;
            return NGX_DECLINED;
        }

        return NGX_OK;
    }

    if (node == NULL) {
        gop->refused = NGX_HTTP_HANGAR_G_MISSING;
        return NGX_DECLINED;
    }

    *spec = ngx_http_hangar_json_parse(gop->op.pool, text.data, text.len,
                                       &err);

    return *spec ? NGX_OK : NGX_ERROR;
}


/* the change on a copy of the spec, validated as hangar.yaml's would be */

static ngx_int_t
ngx_http_hangar_groups_edit(ngx_http_hangar_gop_t *gop,
    ngx_http_hangar_value_t *spec, ngx_http_hangar_value_t **out)
{
    ngx_uint_t                   i, n, keep;
    ngx_pool_t                  *pool;
    ngx_http_hangar_value_t     *in, *v, *members, **items, *m;
    ngx_http_hangar_spec_ctx_t   ctx;

    static const char  *keys[] = { "strategy", "min_healthy", "description",
                                   NULL };

    pool = gop->op.pool;

    in = spec ? spec : ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
    if (in == NULL) {
        return NGX_ERROR;
    }

    if (spec == NULL
        && ngx_http_hangar_set(pool, in, (u_char *) "mode", 4,
               ngx_http_hangar_value_str(pool, (u_char *) "group", 5))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; gop->body && keys[i]; i++) {
        v = ngx_http_hangar_get(gop->body, keys[i]);

        if (v && v->type != NGX_HTTP_HANGAR_NULL
            && ngx_http_hangar_set(pool, in, (u_char *) keys[i],
                                   ngx_strlen(keys[i]), v)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    members = ngx_http_hangar_get(in, "members");

    if (gop->what == NGX_HTTP_HANGAR_G_ADD
        || gop->what == NGX_HTTP_HANGAR_G_REMOVE)
    {
        items = members ? members->u.arr.elts : NULL;
        n = members ? members->u.arr.nelts : 0;

        for (keep = 0, i = 0; i < n; i++) {
            v = items[i]->type == NGX_HTTP_HANGAR_STR
                ? items[i] : ngx_http_hangar_get(items[i], "id");

            if (v && v->type == NGX_HTTP_HANGAR_STR
                && ngx_memn2cmp(v->u.s.data, gop->member.data, v->u.s.len,
                                gop->member.len) == 0)
            {
                if (gop->what == NGX_HTTP_HANGAR_G_ADD) {
                    gop->refused = NGX_HTTP_HANGAR_G_INVALID;
                    ngx_str_set(&gop->field, "member_id");
                    ngx_str_set(&gop->message,
                                "member_id: already a member of the group");
                    return NGX_DECLINED;
                }

                continue;
            }

            items[keep++] = items[i];
        }

        if (gop->what == NGX_HTTP_HANGAR_G_REMOVE) {
            if (members == NULL || keep == n) {
                return NGX_DONE;    /* not a member: nothing to write */
            }

            members->u.arr.nelts = keep;
        }
    }

    if (gop->what == NGX_HTTP_HANGAR_G_ADD) {
        ngx_http_hangar_lock(gop->op.reg);
        v = (ngx_http_hangar_value_t *)
            ngx_http_hangar_find(&gop->op.reg->sh->servers,
                                 gop->member.data, gop->member.len);
        ngx_http_hangar_unlock(gop->op.reg);

        if (v == NULL) {
            gop->refused = NGX_HTTP_HANGAR_G_NOSERVER;
            return NGX_DECLINED;
        }

        m = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);

        if (m == NULL
            || ngx_http_hangar_set(pool, m, (u_char *) "id", 2,
                   ngx_http_hangar_value_str(pool, gop->member.data,
                                             gop->member.len))
               != NGX_OK
            || ngx_http_hangar_set(pool, m, (u_char *) "weight", 6,
                   ngx_http_hangar_value_int(pool, gop->weight)) != NGX_OK
            || ngx_http_hangar_set(pool, m, (u_char *) "priority", 8,
                   ngx_http_hangar_value_int(pool, gop->priority)) != NGX_OK
            || members == NULL
            || ngx_http_hangar_push(members, m) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    ngx_memzero(&ctx, sizeof(ngx_http_hangar_spec_ctx_t));
    ctx.pool = pool;
    ctx.log = gop->op.log;
    ctx.source = NGX_HTTP_HANGAR_SPEC_API;

    if (ngx_http_hangar_spec_server(&ctx, &gop->gid, in, out) != NGX_OK) {
        gop->refused = NGX_HTTP_HANGAR_G_INVALID;
        gop->field = ctx.field;
        gop->message = ctx.message;
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_groups_members(ngx_http_hangar_gop_t *gop,
    ngx_http_hangar_value_t *spec)
{
    ngx_str_t                 *s;
    ngx_uint_t                 i;
    ngx_http_hangar_value_t   *members, **items, *v;

    members = ngx_http_hangar_get(spec, "members");

    if (!ngx_http_hangar_is(members, NGX_HTTP_HANGAR_ARR)) {
        return NGX_OK;
    }

    gop->members = ngx_array_create(gop->op.pool, members->u.arr.nelts + 1,
                                    sizeof(ngx_str_t));
    if (gop->members == NULL) {
        return NGX_ERROR;
    }

    items = members->u.arr.elts;

    for (i = 0; i < members->u.arr.nelts; i++) {
        v = items[i]->type == NGX_HTTP_HANGAR_STR
            ? items[i] : ngx_http_hangar_get(items[i], "id");

        if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
            continue;
        }

        s = ngx_array_push(gop->members);
        *s = v->u.s;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_groups_commit(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_uint_t              strategy, min_healthy;
    ngx_http_hangar_gop_t  *gop;

    gop = (ngx_http_hangar_gop_t *) op;

    if (rc != NGX_OK) {
        ngx_http_hangar_group_release(op->reg, &gop->ch);
        return rc;
    }

    strategy = gop->ch.conf ? gop->ch.conf->strategy : 0;
    min_healthy = gop->ch.conf ? gop->ch.conf->min_healthy : 1;

    ngx_http_hangar_group_link(op->reg, &gop->ch);

    switch (gop->what) {

    case NGX_HTTP_HANGAR_G_CREATE:
        ngx_http_hangar_event(op->reg, "GroupCreated", gop->gid.data,
                              gop->gid.len, "{\"group_id\":\"%V\","
                              "\"strategy\":\"%s\",\"min_healthy\":%ui}",
                              &gop->gid,
                              ngx_http_hangar_group_strategies[strategy],
                              min_healthy);
        break;

    case NGX_HTTP_HANGAR_G_DELETE:
        ngx_http_hangar_event(op->reg, "GroupDeleted", gop->gid.data,
                              gop->gid.len, "{\"group_id\":\"%V\"}",
                              &gop->gid);
        break;

    case NGX_HTTP_HANGAR_G_ADD:
        ngx_http_hangar_event(op->reg, "GroupMemberAdded", gop->gid.data,
                              gop->gid.len, "{\"group_id\":\"%V\","
                              "\"member_id\":\"%V\",\"weight\":%i,"
                              "\"priority\":%i}", &gop->gid, &gop->member,
                              gop->weight, gop->priority);
        break;

    case NGX_HTTP_HANGAR_G_REMOVE:
        ngx_http_hangar_event(op->reg, "GroupMemberRemoved", gop->gid.data,
                              gop->gid.len, "{\"group_id\":\"%V\","
                              "\"member_id\":\"%V\"}", &gop->gid,
                              &gop->member);
        break;

    default:
        ngx_http_hangar_event(op->reg, "GroupUpdated", gop->gid.data,
                              gop->gid.len, "{\"group_id\":\"%V\"}",
                              &gop->gid);
        break;
    }

    ngx_log_error(NGX_LOG_NOTICE, op->log, 0, "hangar: group \"%V\" %V%s%V",
                  &gop->gid, &ngx_http_hangar_gop_names[gop->what],
                  gop->member.len ? " member " : "", &gop->member);

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_groups_answer(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_int_t                 start;
    ngx_msec_t                retry;
    ngx_http_hangar_req_t    *hr;
    ngx_http_hangar_gop_t    *gop;
    ngx_pool_cleanup_t       *cln;

    hr = op->data;
    gop = (ngx_http_hangar_gop_t *) op;

    if (rc == NGX_DECLINED) {
        switch (gop->refused) {
        case NGX_HTTP_HANGAR_G_MISSING:
            return ngx_http_hangar_group_missing(hr, &gop->gid);
        case NGX_HTTP_HANGAR_G_NOSERVER:
            return ngx_http_hangar_not_found(hr, &gop->member);
        case NGX_HTTP_HANGAR_G_EXISTS:
            return ngx_http_hangar_error(hr, 422, "ValidationError",
                                         "Group already exists: %V",
                                         &gop->gid);
        default:
            return ngx_http_hangar_validation_error(hr, &gop->field,
                                                    &gop->message);
        }
    }

    if (rc != NGX_OK && rc != NGX_DONE) {
        return ngx_http_hangar_api_change_error(hr, op, rc);
    }

    if (gop->what == NGX_HTTP_HANGAR_G_ADD && gop->auto_start) {
        /* the member starts now; a failed start keeps it out of rotation */
        hr->waiter.id = gop->member;
        hr->waiter.handler = ngx_http_hangar_groups_started;
        hr->waiter.data = gop;

        start = ngx_http_hangar_ensure_ready(hr->reg, &gop->member, 0,
                                             &hr->waiter,
                                             hr->r->connection->log, &retry);

        if (start == NGX_AGAIN) {
            cln = ngx_pool_cleanup_add(hr->r->pool, 0);
            if (cln == NULL) {
                ngx_http_hangar_waiter_cancel(&hr->waiter);
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            cln->handler = ngx_http_hangar_groups_cleanup;
            cln->data = hr;

            hr->r->main->count++;
            return NGX_DONE;
        }

        if (start != NGX_OK) {
            ngx_http_hangar_group_rotation(hr->reg, &gop->gid, &gop->member,
                                           0, "start_failed");
        }
    }

    return ngx_http_hangar_groups_done(hr, gop);
}


static void
ngx_http_hangar_groups_cleanup(void *data)
{
    ngx_http_hangar_req_t  *hr = data;

    ngx_http_hangar_waiter_cancel(&hr->waiter);
}


static void
ngx_http_hangar_groups_started(ngx_http_hangar_waiter_t *w, ngx_int_t rc)
{
    ngx_http_hangar_gop_t  *gop = w->data;
    ngx_http_hangar_req_t  *hr;

    hr = gop->op.data;

    ngx_http_hangar_group_rotation(hr->reg, &gop->gid, &gop->member,
                                   rc == NGX_OK,
                                   rc == NGX_OK ? "started" : "start_failed");

    ngx_http_finalize_request(hr->r, ngx_http_hangar_groups_done(hr, gop));
}


static ngx_int_t
ngx_http_hangar_groups_done(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_gop_t *gop)
{
    ngx_str_t   *m;
    ngx_uint_t   i;

    if (gop->what == NGX_HTTP_HANGAR_G_DELETE && gop->members) {
        m = gop->members->elts;

        for (i = 0; i < gop->members->nelts; i++) {
            (void) ngx_http_hangar_stop(hr->reg, &m[i], "shutdown", 0,
                                        hr->r->connection->log);
        }
    }

    ngx_http_hangar_out_lit(&hr->out, "{\"group_id\":");
    ngx_http_hangar_out_ngx_str(&hr->out, &gop->gid);

    if (gop->what == NGX_HTTP_HANGAR_G_ADD
        || gop->what == NGX_HTTP_HANGAR_G_REMOVE)
    {
        ngx_http_hangar_out_lit(&hr->out, ",\"mcp_server_id\":");
        ngx_http_hangar_out_ngx_str(&hr->out, &gop->member);
    }

    ngx_http_hangar_out_printf(&hr->out, ",\"%V\":true}",
                               &ngx_http_hangar_gop_names[gop->what]);

    return ngx_http_hangar_send(hr,
                                (gop->what == NGX_HTTP_HANGAR_G_CREATE
                                 || gop->what == NGX_HTTP_HANGAR_G_ADD)
                                ? NGX_HTTP_CREATED : NGX_HTTP_OK);
}


/* /metrics: the per-group gauges (hangar-core §6, label mcp_server) */

ngx_int_t
ngx_http_hangar_groups_metrics(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_out_t *out)
{
    ngx_uint_t                     i, s;
    ngx_array_t                    infos;
    ngx_http_hangar_group_info_t  *info;

    if (ngx_http_hangar_group_all(reg, pool, &infos) != NGX_OK) {
        return NGX_ERROR;
    }

    info = infos.elts;

    ngx_http_hangar_out_lit(out,
        "# HELP mcp_hangar_group_members_healthy Members of a group in "
        "rotation\n# TYPE mcp_hangar_group_members_healthy gauge\n");

    for (i = 0; i < infos.nelts; i++) {
        ngx_http_hangar_out_printf(out, "mcp_hangar_group_members_healthy"
                                   "{group=\"%V\"} %ui.0\n", &info[i].id,
                                   info[i].healthy);
    }

    ngx_http_hangar_out_lit(out,
        "\n# HELP mcp_hangar_group_members_total Members of a group\n"
        "# TYPE mcp_hangar_group_members_total gauge\n");

    for (i = 0; i < infos.nelts; i++) {
        ngx_http_hangar_out_printf(out, "mcp_hangar_group_members_total"
                                   "{group=\"%V\"} %ui.0\n", &info[i].id,
                                   info[i].nmembers);
    }

    ngx_http_hangar_out_lit(out,
        "\n# HELP mcp_hangar_group_state The state of a group (1 for the "
        "current one)\n# TYPE mcp_hangar_group_state gauge\n");

    for (i = 0; i < infos.nelts; i++) {
        for (s = 0; s < 4; s++) {
            ngx_http_hangar_out_printf(out, "mcp_hangar_group_state"
                                       "{group=\"%V\",state=\"%s\"} %d.0\n",
                                       &info[i].id,
                                       ngx_http_hangar_group_states[s],
                                       info[i].state == s);
        }
    }

    ngx_http_hangar_out_lit(out,
        "\n# HELP mcp_hangar_circuit_breaker_state A group's circuit "
        "breaker (1 for the current state)\n"
        "# TYPE mcp_hangar_circuit_breaker_state gauge\n");

    for (i = 0; i < infos.nelts; i++) {
        for (s = 0; s < 3; s++) {
            ngx_http_hangar_out_printf(out, "mcp_hangar_circuit_breaker_state"
                                       "{mcp_server=\"%V\",state=\"%s\"} "
                                       "%d.0\n", &info[i].id,
                                       ngx_http_hangar_breaker_states[s],
                                       info[i].breaker == s);
        }
    }

    ngx_http_hangar_out_lit(out, "\n");

    return NGX_OK;
}
