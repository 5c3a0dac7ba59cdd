
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The discovery routes (hangar-security.md §5.6): the sources, a synchronous
 * scan, the pending and quarantined servers, approve and reject.  What
 * the API changes (sources it registers, the overrides of hangar.yaml's
 * sources, approvals, rejections) is the state file's "discovery"
 * document, written like every durable change.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/rand.h>
#include "ngx_http_hangar_api_discovery.h"
#include "ngx_http_hangar_discovery_state.h"
#include "ngx_http_hangar_api_servers.h"
#include "ngx_http_hangar_state_doc.h"
#include "ngx_http_hangar_spec.h"
#include "ngx_http_hangar_spec_disc.h"


#define NGX_HTTP_HANGAR_DISC_SOURCES_MAX  16
#define NGX_HTTP_HANGAR_DISC_DECIDED_MAX  4096
#define NGX_HTTP_HANGAR_DISC_SCAN_WAIT    (60 * 1000)
#define NGX_HTTP_HANGAR_DISC_SCAN_POLL    25

/* what an edit of the document does */
#define NGX_HTTP_HANGAR_DISC_ADD       1
#define NGX_HTTP_HANGAR_DISC_UPDATE    2
#define NGX_HTTP_HANGAR_DISC_REMOVE    3
#define NGX_HTTP_HANGAR_DISC_APPROVE   4
#define NGX_HTTP_HANGAR_DISC_REJECT    5
#define NGX_HTTP_HANGAR_DISC_ENABLE    6

/* why prepare() refused it */
#define NGX_HTTP_HANGAR_DISC_UNKNOWN   1     /* 404 */
#define NGX_HTTP_HANGAR_DISC_DECLARED  2     /* 409: in hangar.yaml */
#define NGX_HTTP_HANGAR_DISC_TAKEN     3     /* 409: a source of the type */
#define NGX_HTTP_HANGAR_DISC_MANY      4     /* 507 */


typedef struct {
    ngx_http_hangar_state_op_t   op;        /* first */
    ngx_uint_t                   what;
    ngx_str_t                    id;        /* a source, or a server */
    ngx_http_hangar_value_t     *body;
    ngx_str_t                    fp;        /* approve, reject */
    ngx_uint_t                   refused;
    ngx_uint_t                   enable;    /* the enable route */
    ngx_event_t                  wait;      /* a scan */
    ngx_atomic_uint_t            cycles;
    ngx_msec_t                   deadline;
} ngx_http_hangar_disc_edit_t;


static ngx_int_t ngx_http_hangar_disc_off(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_disc_preview(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_disc_edit(ngx_http_hangar_req_t *hr,
    ngx_uint_t what, ngx_str_t *id, ngx_http_hangar_value_t *body,
    ngx_str_t *fp);
static ngx_int_t ngx_http_hangar_disc_prepare(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc);
static ngx_int_t ngx_http_hangar_disc_source_edit(
    ngx_http_hangar_disc_edit_t *ed, ngx_http_hangar_value_t *doc);
static ngx_int_t ngx_http_hangar_disc_decided(ngx_http_hangar_disc_edit_t *ed,
    ngx_http_hangar_value_t *doc);
static ngx_int_t ngx_http_hangar_disc_answer(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc);
static ngx_http_hangar_disc_source_t *ngx_http_hangar_disc_find(
    ngx_http_hangar_req_t *hr, ngx_str_t *id);
static ngx_int_t ngx_http_hangar_disc_body(ngx_http_hangar_req_t *hr,
    ngx_uint_t create, ngx_int_t *sent);
static ngx_int_t ngx_http_hangar_disc_body_check(ngx_http_hangar_req_t *hr,
    ngx_uint_t create);
static ngx_http_hangar_value_t *ngx_http_hangar_disc_held(
    ngx_http_hangar_req_t *hr, ngx_str_t *name, ngx_uint_t *quarantined);
static void ngx_http_hangar_disc_registered(void *data, ngx_int_t rc);
static void ngx_http_hangar_disc_scan_wait(ngx_event_t *ev);
static void ngx_http_hangar_disc_scan_cleanup(void *data);
static ngx_int_t ngx_http_hangar_disc_uuid(ngx_pool_t *pool, ngx_str_t *id);
static ngx_http_hangar_value_t *ngx_http_hangar_disc_obj(ngx_pool_t *pool,
    ngx_http_hangar_value_t *doc, const char *key);


static ngx_int_t
ngx_http_hangar_disc_off(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_error(hr, NGX_HTTP_NOT_FOUND,
                                 "DiscoveryNotConfigured",
                                 "Auto-discovery is not configured on this "
                                 "server.");
}


static ngx_int_t
ngx_http_hangar_disc_preview(ngx_http_hangar_req_t *hr)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&hr->r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "X-Hangar-Preview");
    ngx_str_set(&h->value, "discovery-source-management");

    return NGX_OK;
}


/* GET /api/discovery/sources */

ngx_int_t
ngx_http_hangar_discovery_sources(ngx_http_hangar_req_t *hr)
{
    ngx_uint_t                      i;
    ngx_array_t                    *sources;
    ngx_http_hangar_out_t          *out;
    ngx_http_hangar_value_t        *doc, *view, *st, *v;
    ngx_http_hangar_disc_source_t  *s;

    if (!ngx_http_hangar_discovery_on(hr->reg)) {
        return ngx_http_hangar_disc_off(hr);
    }

    if (ngx_http_hangar_disc_doc(hr->reg, hr->r->pool, &doc) != NGX_OK
        || ngx_http_hangar_disc_view(hr->reg, hr->r->pool, &view) != NGX_OK
        || ngx_http_hangar_disc_sources(hr->reg, hr->r->pool, doc, &sources)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = &hr->out;
    ngx_http_hangar_out_lit(out, "{\"sources\":[");

    s = sources->elts;

    for (i = 0; i < sources->nelts; i++) {
        st = ngx_http_hangar_get_n(ngx_http_hangar_get(view, "sources"),
                                   s[i].id.data, s[i].id.len);

        if (i) {
            ngx_http_hangar_out_lit(out, ",");
        }

        ngx_http_hangar_out_lit(out, "{\"id\":");
        ngx_http_hangar_out_str(out, s[i].id.data, s[i].id.len);
        ngx_http_hangar_out_printf(out, ",\"source_type\":\"%s\","
                                   "\"mode\":\"%s\",",
                                   ngx_http_hangar_disc_type_name(s[i].type),
                                   s[i].authoritative ? "authoritative"
                                                      : "additive");

        v = ngx_http_hangar_get(st, "is_healthy");
        ngx_http_hangar_out_printf(out, "\"is_healthy\":%s,"
                                   "\"is_enabled\":%s,\"last_discovery\":",
                                   (v == NULL || v->u.b) ? "true" : "false",
                                   s[i].enabled ? "true" : "false");

        v = ngx_http_hangar_get(st, "last_discovery");
        if (v) {
            ngx_http_hangar_json_out(out, v);
        } else {
            ngx_http_hangar_out_lit(out, "null");
        }

        v = ngx_http_hangar_get(st, "mcp_servers_count");
        ngx_http_hangar_out_printf(out, ",\"mcp_servers_count\":%L,"
                                   "\"error_message\":",
                                   ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT)
                                   ? v->u.i : (int64_t) 0);

        v = ngx_http_hangar_get(st, "error_message");
        if (v) {
            ngx_http_hangar_json_out(out, v);
        } else {
            ngx_http_hangar_out_lit(out, "null");
        }

        ngx_http_hangar_out_printf(out, ",\"origin\":\"%s\"}",
                                   s[i].api ? "api" : "config");
    }

    ngx_http_hangar_out_lit(out, "]}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* POST /api/discovery/sources */

ngx_int_t
ngx_http_hangar_discovery_add(ngx_http_hangar_req_t *hr)
{
    ngx_int_t  rc;
    ngx_str_t  id;

    if (!ngx_http_hangar_discovery_on(hr->reg)) {
        return ngx_http_hangar_disc_off(hr);
    }

    if (ngx_http_hangar_disc_preview(hr) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hangar_disc_body(hr, 1, &rc) != NGX_OK) {
        return rc;
    }

    if (ngx_http_hangar_disc_uuid(hr->r->pool, &id) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hangar_disc_edit(hr, NGX_HTTP_HANGAR_DISC_ADD, &id,
                                     hr->body, NULL);
}


/* PUT /api/discovery/sources/{id} */

ngx_int_t
ngx_http_hangar_discovery_update(ngx_http_hangar_req_t *hr)
{
    ngx_int_t  rc;

    if (!ngx_http_hangar_discovery_on(hr->reg)) {
        return ngx_http_hangar_disc_off(hr);
    }

    if (ngx_http_hangar_disc_preview(hr) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hangar_disc_body(hr, 0, &rc) != NGX_OK) {
        return rc;
    }

    return ngx_http_hangar_disc_edit(hr, NGX_HTTP_HANGAR_DISC_UPDATE,
                                     &hr->params[0], hr->body, NULL);
}


/* PUT /api/discovery/sources/{id}/enable */

ngx_int_t
ngx_http_hangar_discovery_enable(ngx_http_hangar_req_t *hr)
{
    ngx_http_hangar_value_t  *v, *body;

    if (!ngx_http_hangar_discovery_on(hr->reg)) {
        return ngx_http_hangar_disc_off(hr);
    }

    if (ngx_http_hangar_disc_preview(hr) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ngx_http_hangar_is(hr->body, NGX_HTTP_HANGAR_OBJ)) {
        return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST, "invalid_body",
                                     "request body must be a JSON object");
    }

    v = ngx_http_hangar_get(hr->body, "enabled");

    if (v == NULL) {
        return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST,
                                     "missing_fields",
                                     "required field(s) absent: enabled");
    }

    if (v->type != NGX_HTTP_HANGAR_BOOL || hr->body->u.obj.nelts != 1) {
        return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST, "invalid_body",
                                     "the body is {\"enabled\": true|false}");
    }

    body = hr->body;

    return ngx_http_hangar_disc_edit(hr, NGX_HTTP_HANGAR_DISC_ENABLE,
                                     &hr->params[0], body, NULL);
}


/* DELETE /api/discovery/sources/{id} */

ngx_int_t
ngx_http_hangar_discovery_remove(ngx_http_hangar_req_t *hr)
{
    if (!ngx_http_hangar_discovery_on(hr->reg)) {
        return ngx_http_hangar_disc_off(hr);
    }

    if (ngx_http_hangar_disc_preview(hr) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hangar_disc_edit(hr, NGX_HTTP_HANGAR_DISC_REMOVE,
                                     &hr->params[0], NULL, NULL);
}


/*
 * The body of POST (create) and PUT: NGX_OK when it is valid, else
 * NGX_DECLINED with *sent what the answer sent.
 */

static ngx_int_t
ngx_http_hangar_disc_body(ngx_http_hangar_req_t *hr, ngx_uint_t create,
    ngx_int_t *sent)
{
    ngx_int_t  rc;

    rc = ngx_http_hangar_disc_body_check(hr, create);

    if (rc == NGX_DECLINED) {
        return NGX_OK;
    }

    *sent = rc;

    return NGX_DECLINED;
}


/* source_type, mode, enabled, config: NGX_DECLINED when they are valid */

static ngx_int_t
ngx_http_hangar_disc_body_check(ngx_http_hangar_req_t *hr, ngx_uint_t create)
{
    ngx_uint_t                   i;
    ngx_http_hangar_pair_t      *pair;
    ngx_http_hangar_value_t     *type, *mode, *conf, *en, *checked, *t;
    ngx_http_hangar_spec_ctx_t   ctx;

    if (!ngx_http_hangar_is(hr->body, NGX_HTTP_HANGAR_OBJ)) {
        return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST, "invalid_body",
                                     "request body must be a JSON object");
    }

    pair = hr->body->u.obj.elts;

    for (i = 0; i < hr->body->u.obj.nelts; i++) {
        if (!ngx_http_hangar_str_is(&pair[i].key, "source_type")
            && !ngx_http_hangar_str_is(&pair[i].key, "mode")
            && !ngx_http_hangar_str_is(&pair[i].key, "enabled")
            && !ngx_http_hangar_str_is(&pair[i].key, "config"))
        {
            return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST,
                                         "invalid_body",
                                         "unknown field \"%V\"",
                                         &pair[i].key);
        }
    }

    type = ngx_http_hangar_get(hr->body, "source_type");
    mode = ngx_http_hangar_get(hr->body, "mode");
    conf = ngx_http_hangar_get(hr->body, "config");
    en = ngx_http_hangar_get(hr->body, "enabled");

    if (create && (type == NULL || mode == NULL)) {
        return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST,
                                     "missing_fields",
                                     "required field(s) absent: %s%s%s",
                                     type ? "" : "source_type",
                                     (type || mode) ? "" : ", ",
                                     mode ? "" : "mode");
    }

    if (!create && type) {
        return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST, "invalid_body",
                                     "source_type cannot be changed");
    }

    if (mode && !(ngx_http_hangar_is(mode, NGX_HTTP_HANGAR_STR)
                  && (ngx_http_hangar_str_is(&mode->u.s, "additive")
                      || ngx_http_hangar_str_is(&mode->u.s,
                                                "authoritative"))))
    {
        return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST, "invalid_mode",
                                     "invalid mode; valid modes: additive, "
                                     "authoritative");
    }

    if (type && !(ngx_http_hangar_is(type, NGX_HTTP_HANGAR_STR)
                  && ngx_http_hangar_disc_type(&type->u.s)))
    {
        return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST,
                                     "invalid_source_type",
                                     "invalid source_type; valid types: "
                                     "filesystem, docker, kubernetes");
    }

    if (en && en->type != NGX_HTTP_HANGAR_BOOL) {
        return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST, "invalid_body",
                                     "enabled: must be a boolean");
    }

    if (conf == NULL) {
        return NGX_DECLINED;
    }

    /* the source's keys, checked by the same table as hangar.yaml's */
    if (!ngx_http_hangar_is(conf, NGX_HTTP_HANGAR_OBJ)
        || ngx_http_hangar_get(conf, "type")
        || ngx_http_hangar_get(conf, "mode")
        || ngx_http_hangar_get(conf, "enabled"))
    {
        return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST, "invalid_body",
                                     "config: must be an object of the "
                                     "source's keys (not type, mode or "
                                     "enabled)");
    }

    t = ngx_http_hangar_value_str(hr->r->pool, (u_char *) "filesystem", 10);
    conf = ngx_http_hangar_value_copy(hr->r->pool, conf);
    if (t == NULL || conf == NULL
        || ngx_http_hangar_set(hr->r->pool, conf, (u_char *) "type", 4,
                               type ? type : t)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&ctx, sizeof(ngx_http_hangar_spec_ctx_t));
    ctx.pool = hr->r->pool;
    ctx.log = hr->r->connection->log;
    ctx.source = NGX_HTTP_HANGAR_SPEC_API;
    ngx_str_set(&ctx.prefix, "config.");

    if (ngx_http_hangar_spec_disc_source(&ctx, "", conf, &checked)
        != NGX_OK)
    {
        if (ctx.message.len == 0) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_hangar_validation_error(hr, &ctx.field,
                                                &ctx.message);
    }

    return NGX_DECLINED;
}


/* POST /api/discovery/sources/{id}/scan: a full cycle, then the answer */

ngx_int_t
ngx_http_hangar_discovery_scan(ngx_http_hangar_req_t *hr)
{
    ngx_http_cleanup_t           *cln;
    ngx_http_hangar_disc_edit_t  *ed;

    if (!ngx_http_hangar_discovery_on(hr->reg)) {
        return ngx_http_hangar_disc_off(hr);
    }

    if (ngx_http_hangar_disc_preview(hr) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hangar_disc_find(hr, &hr->params[0]) == NULL) {
        return ngx_http_hangar_not_found(hr, &hr->params[0]);
    }

    ed = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_disc_edit_t));
    cln = ngx_http_cleanup_add(hr->r, 0);
    if (ed == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ed->op.data = hr;
    ed->id = hr->params[0];
    /* a cycle that has not started yet: the one after the running one */
    ed->cycles = ngx_http_hangar_disc_cycles(hr->reg) + 1;
    ed->deadline = ngx_current_msec + NGX_HTTP_HANGAR_DISC_SCAN_WAIT;
    ed->wait.handler = ngx_http_hangar_disc_scan_wait;
    ed->wait.data = ed;
    ed->wait.log = hr->r->connection->log;

    cln->handler = ngx_http_hangar_disc_scan_cleanup;
    cln->data = ed;

    ngx_http_hangar_disc_request(hr->reg);
    ngx_add_timer(&ed->wait, NGX_HTTP_HANGAR_DISC_SCAN_POLL);

    hr->r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_hangar_disc_scan_wait(ngx_event_t *ev)
{
    ngx_int_t                     rc;
    ngx_http_hangar_req_t        *hr;
    ngx_http_hangar_value_t      *view, *v;
    ngx_http_hangar_disc_edit_t  *ed;

    ed = ev->data;
    hr = ed->op.data;

    /* one more complete cycle after the ask: the one it asked for */
    if (ngx_http_hangar_disc_cycles(hr->reg) <= ed->cycles
        && (ngx_msec_int_t) (ed->deadline - ngx_current_msec) > 0)
    {
        ngx_http_hangar_disc_request(hr->reg);
        ngx_add_timer(ev, NGX_HTTP_HANGAR_DISC_SCAN_POLL);
        return;
    }

    if (ngx_http_hangar_disc_cycles(hr->reg) <= ed->cycles) {
        rc = ngx_http_hangar_error(hr, NGX_HTTP_SERVICE_UNAVAILABLE,
                                   "DiscoveryBusy",
                                   "the scan did not complete in time");

    } else if (ngx_http_hangar_disc_view(hr->reg, hr->r->pool, &view)
               != NGX_OK)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else {
        v = ngx_http_hangar_get(view, "found");

        ngx_http_hangar_out_lit(&hr->out, "{\"source_id\":");
        ngx_http_hangar_out_str(&hr->out, ed->id.data, ed->id.len);
        ngx_http_hangar_out_printf(&hr->out, ",\"scan_triggered\":true,"
                                   "\"mcp_servers_found\":%L}",
                                   ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT)
                                   ? v->u.i : (int64_t) 0);
        rc = ngx_http_hangar_send(hr, NGX_HTTP_OK);
    }

    ngx_http_finalize_request(hr->r, rc);
}


static void
ngx_http_hangar_disc_scan_cleanup(void *data)
{
    ngx_http_hangar_disc_edit_t  *ed = data;

    if (ed->wait.timer_set) {
        ngx_del_timer(&ed->wait);
    }
}


/* GET /api/discovery/pending */

ngx_int_t
ngx_http_hangar_discovery_pending(ngx_http_hangar_req_t *hr)
{
    ngx_uint_t                i;
    ngx_http_hangar_pair_t   *pair;
    ngx_http_hangar_value_t  *view, *set;

    if (!ngx_http_hangar_discovery_on(hr->reg)) {
        return ngx_http_hangar_disc_off(hr);
    }

    if (ngx_http_hangar_disc_view(hr->reg, hr->r->pool, &view) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    set = ngx_http_hangar_get(view, "pending");
    ngx_http_hangar_out_lit(&hr->out, "{\"pending\":[");

    if (ngx_http_hangar_is(set, NGX_HTTP_HANGAR_OBJ)) {
        pair = set->u.obj.elts;

        for (i = 0; i < set->u.obj.nelts; i++) {
            if (i) {
                ngx_http_hangar_out_lit(&hr->out, ",");
            }

            ngx_http_hangar_disc_item_out(&hr->out, pair[i].value);
        }
    }

    ngx_http_hangar_out_lit(&hr->out, "]}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* GET /api/discovery/quarantined */

ngx_int_t
ngx_http_hangar_discovery_quarantined(ngx_http_hangar_req_t *hr)
{
    ngx_uint_t                i;
    ngx_http_hangar_pair_t   *pair;
    ngx_http_hangar_value_t  *view, *set, *v;

    if (!ngx_http_hangar_discovery_on(hr->reg)) {
        return ngx_http_hangar_disc_off(hr);
    }

    if (ngx_http_hangar_disc_view(hr->reg, hr->r->pool, &view) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    set = ngx_http_hangar_get(view, "quarantined");
    ngx_http_hangar_out_lit(&hr->out, "{\"quarantined\":{");

    if (ngx_http_hangar_is(set, NGX_HTTP_HANGAR_OBJ)) {
        pair = set->u.obj.elts;

        for (i = 0; i < set->u.obj.nelts; i++) {
            if (i) {
                ngx_http_hangar_out_lit(&hr->out, ",");
            }

            ngx_http_hangar_out_str(&hr->out, pair[i].key.data,
                                    pair[i].key.len);
            ngx_http_hangar_out_lit(&hr->out, ":{\"mcp_server\":");
            ngx_http_hangar_disc_item_out(&hr->out,
                ngx_http_hangar_get(pair[i].value, "mcp_server"));
            ngx_http_hangar_out_lit(&hr->out, ",\"reason\":");

            v = ngx_http_hangar_get(pair[i].value, "reason");
            ngx_http_hangar_json_out(&hr->out, v);
            ngx_http_hangar_out_lit(&hr->out, ",\"quarantine_time\":");
            v = ngx_http_hangar_get(pair[i].value, "quarantine_time");
            ngx_http_hangar_json_out(&hr->out, v);
            ngx_http_hangar_out_lit(&hr->out, "}");
        }
    }

    ngx_http_hangar_out_lit(&hr->out, "}}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/*
 * POST /api/discovery/approve/{name}: a pending or quarantined server is
 * registered (through the API's checks: an approval does not lift the
 * command allow-list or the SSRF rules), then the approval is kept for
 * its fingerprint so that the next cycles agree.
 */

ngx_int_t
ngx_http_hangar_discovery_approve(ngx_http_hangar_req_t *hr)
{
    ngx_int_t                     rc;
    ngx_str_t                    *name, msg;
    ngx_uint_t                    q;
    ngx_http_hangar_value_t      *e, *spec, *fp;
    ngx_http_hangar_disc_edit_t  *ed;

    if (!ngx_http_hangar_discovery_on(hr->reg)) {
        return ngx_http_hangar_disc_off(hr);
    }

    name = &hr->params[0];
    e = ngx_http_hangar_disc_held(hr, name, &q);

    if (e == NULL) {
        ngx_http_hangar_out_lit(&hr->out, "{\"approved\":false,"
                                          "\"mcp_server\":");
        ngx_http_hangar_out_str(&hr->out, name->data, name->len);
        ngx_http_hangar_out_lit(&hr->out, ",\"error\":\"McpServer not found "
                                          "in quarantine or pending\"}");
        return ngx_http_hangar_send(hr, NGX_HTTP_OK);
    }

    fp = ngx_http_hangar_get(e, "fingerprint");
    spec = ngx_http_hangar_get(e, "spec");

    if (spec == NULL) {
        ngx_str_set(&msg, "it is not a server hangar can register (see the "
                          "quarantine reason)");
        rc = NGX_DECLINED;

    } else {
        rc = ngx_http_hangar_server_check(hr->reg, hr->r->pool,
                                          hr->r->connection->log, name, spec,
                                          &spec, &msg);
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_hangar_out_lit(&hr->out, "{\"approved\":false,"
                                          "\"mcp_server\":");
        ngx_http_hangar_out_str(&hr->out, name->data, name->len);
        ngx_http_hangar_out_lit(&hr->out, ",\"error\":");
        ngx_http_hangar_out_str(&hr->out, msg.data, msg.len);
        ngx_http_hangar_out_lit(&hr->out, "}");
        return ngx_http_hangar_send(hr, NGX_HTTP_OK);
    }

    ed = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_disc_edit_t));
    if (ed == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ed->what = NGX_HTTP_HANGAR_DISC_APPROVE;
    ed->id = *name;
    ed->op.data = hr;

    if (ngx_http_hangar_is(fp, NGX_HTTP_HANGAR_STR)) {
        ed->fp = fp->u.s;
    }

    hr->r->main->count++;

    rc = ngx_http_hangar_server_change(hr->reg, hr->r->pool,
                                       hr->r->connection->log, name, spec, 0,
                                       ngx_http_hangar_disc_registered, ed);
    (void) rc;

    return NGX_DONE;
}


static void
ngx_http_hangar_disc_registered(void *data, ngx_int_t rc)
{
    ngx_http_hangar_disc_edit_t  *ed = data;

    ngx_int_t               answer;
    ngx_http_hangar_req_t  *hr;

    hr = ed->op.data;

    if (rc != NGX_OK) {
        ngx_http_hangar_out_lit(&hr->out, "{\"approved\":false,"
                                          "\"mcp_server\":");
        ngx_http_hangar_out_str(&hr->out, ed->id.data, ed->id.len);
        ngx_http_hangar_out_printf(&hr->out, ",\"error\":\"%s\"}",
                                   rc == NGX_DECLINED
                                   ? "McpServer already exists"
                                   : "the registration failed "
                                     "(see the error log)");
        ngx_http_finalize_request(hr->r, ngx_http_hangar_send(hr,
                                                              NGX_HTTP_OK));
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, hr->r->connection->log, 0,
                  "hangar: discovery: \"%V\" approved and registered",
                  &ed->id);
    ngx_http_hangar_event(hr->reg, "McpServerApproved", ed->id.data,
                          ed->id.len, "{\"fingerprint\":\"%V\"}", &ed->fp);

    /* the edit holds the request itself when it waits: NGX_DONE here
       gives back the hold taken by approve */
    answer = ngx_http_hangar_disc_edit(hr, NGX_HTTP_HANGAR_DISC_APPROVE,
                                       &ed->id, NULL, &ed->fp);

    ngx_http_finalize_request(hr->r, answer);
}


/* POST /api/discovery/reject/{name} */

ngx_int_t
ngx_http_hangar_discovery_reject(ngx_http_hangar_req_t *hr)
{
    ngx_uint_t                q;
    ngx_http_hangar_value_t  *e, *fp;

    if (!ngx_http_hangar_discovery_on(hr->reg)) {
        return ngx_http_hangar_disc_off(hr);
    }

    e = ngx_http_hangar_disc_held(hr, &hr->params[0], &q);

    if (e == NULL) {
        ngx_http_hangar_out_lit(&hr->out, "{\"rejected\":false,"
                                          "\"mcp_server\":");
        ngx_http_hangar_out_str(&hr->out, hr->params[0].data,
                                hr->params[0].len);
        ngx_http_hangar_out_lit(&hr->out, ",\"error\":\"McpServer not found "
                                          "in quarantine or pending\"}");
        return ngx_http_hangar_send(hr, NGX_HTTP_OK);
    }

    fp = ngx_http_hangar_get(e, "fingerprint");

    if (!ngx_http_hangar_is(fp, NGX_HTTP_HANGAR_STR)) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hangar_disc_edit(hr, NGX_HTTP_HANGAR_DISC_REJECT,
                                     &hr->params[0], NULL, &fp->u.s);
}


/* a pending or quarantined server's entry, by name */

static ngx_http_hangar_value_t *
ngx_http_hangar_disc_held(ngx_http_hangar_req_t *hr, ngx_str_t *name,
    ngx_uint_t *quarantined)
{
    ngx_http_hangar_value_t  *view, *e;

    if (ngx_http_hangar_disc_view(hr->reg, hr->r->pool, &view) != NGX_OK) {
        return NULL;
    }

    e = ngx_http_hangar_get_n(ngx_http_hangar_get(view, "pending"),
                              name->data, name->len);
    *quarantined = 0;

    if (e == NULL) {
        e = ngx_http_hangar_get(
                ngx_http_hangar_get_n(ngx_http_hangar_get(view, "quarantined"),
                                      name->data, name->len),
                "mcp_server");
        *quarantined = 1;
    }

    return e;
}


/* ---- the document ---------------------------------------------------------- */

static ngx_int_t
ngx_http_hangar_disc_edit(ngx_http_hangar_req_t *hr, ngx_uint_t what,
    ngx_str_t *id, ngx_http_hangar_value_t *body, ngx_str_t *fp)
{
    ngx_http_hangar_disc_edit_t  *ed;

    ed = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_disc_edit_t));
    if (ed == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ed->what = what;
    ed->id = *id;
    ed->body = body;

    if (what == NGX_HTTP_HANGAR_DISC_ENABLE) {
        ed->what = NGX_HTTP_HANGAR_DISC_UPDATE;
        ed->enable = 1;
    }

    if (fp) {
        ed->fp = *fp;
    }

    ed->op.prepare = ngx_http_hangar_disc_prepare;
    ed->op.answer = ngx_http_hangar_disc_answer;

    return ngx_http_hangar_api_change(hr, &ed->op);
}


static ngx_int_t
ngx_http_hangar_disc_prepare(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_str_t                     text;
    ngx_http_hangar_value_t      *doc;
    ngx_http_hangar_disc_edit_t  *ed;

    ed = (ngx_http_hangar_disc_edit_t *) op;

    if (ngx_http_hangar_disc_doc(op->reg, op->pool, &doc) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ed->what == NGX_HTTP_HANGAR_DISC_APPROVE
        || ed->what == NGX_HTTP_HANGAR_DISC_REJECT)
    {
        rc = ngx_http_hangar_disc_decided(ed, doc);

    } else {
        rc = ngx_http_hangar_disc_source_edit(ed, doc);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_hangar_json_text(op->pool, doc, &text) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_hangar_state_set_doc(op, NGX_HTTP_HANGAR_DOC_DISCOVERY,
                                         &text);
}


/* a source added, changed or removed in the document */

static ngx_int_t
ngx_http_hangar_disc_source_edit(ngx_http_hangar_disc_edit_t *ed,
    ngx_http_hangar_value_t *doc)
{
    ngx_uint_t                      i, n;
    ngx_pool_t                     *pool;
    ngx_array_t                    *sources;
    ngx_http_hangar_pair_t         *pair;
    ngx_http_hangar_value_t        *list, **item, *src, *over, *o, *v, *id;
    ngx_http_hangar_disc_source_t  *s;

    pool = ed->op.pool;

    if (ngx_http_hangar_disc_sources(ed->op.reg, pool, doc, &sources)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    list = ngx_http_hangar_get(doc, "sources");

    if (!ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)) {
        list = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_ARR);
        if (list == NULL
            || ngx_http_hangar_set(pool, doc, (u_char *) "sources", 7, list)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    s = sources->elts;

    if (ed->what == NGX_HTTP_HANGAR_DISC_ADD) {
        v = ngx_http_hangar_get(ed->body, "source_type");

        for (i = 0; i < sources->nelts; i++) {
            if (s[i].type == ngx_http_hangar_disc_type(&v->u.s)) {
                ed->refused = NGX_HTTP_HANGAR_DISC_TAKEN;
                return NGX_DECLINED;
            }
        }

        if (list->u.arr.nelts >= NGX_HTTP_HANGAR_DISC_SOURCES_MAX) {
            ed->refused = NGX_HTTP_HANGAR_DISC_MANY;
            return NGX_DECLINED;
        }

        src = ngx_http_hangar_value_copy(pool, ed->body);
        id = ngx_http_hangar_value_str(pool, ed->id.data, ed->id.len);

        if (src == NULL || id == NULL
            || ngx_http_hangar_set(pool, src, (u_char *) "source_id", 9, id)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        return ngx_http_hangar_push(list, src);
    }

    for (i = 0; i < sources->nelts; i++) {
        if (s[i].id.len == ed->id.len
            && ngx_strncmp(s[i].id.data, ed->id.data, ed->id.len) == 0)
        {
            break;
        }
    }

    if (i == sources->nelts) {
        ed->refused = NGX_HTTP_HANGAR_DISC_UNKNOWN;
        return NGX_DECLINED;
    }

    if (!s[i].api) {
        /* hangar.yaml's: only mode and enabled are laid over it */
        if (ed->what == NGX_HTTP_HANGAR_DISC_REMOVE
            || ngx_http_hangar_get(ed->body, "config"))
        {
            ed->refused = NGX_HTTP_HANGAR_DISC_DECLARED;
            return NGX_DECLINED;
        }

        over = ngx_http_hangar_disc_obj(pool, doc, "overrides");
        if (over == NULL) {
            return NGX_ERROR;
        }

        o = ngx_http_hangar_get_n(over, ed->id.data, ed->id.len);

        if (o == NULL) {
            o = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
            if (o == NULL
                || ngx_http_hangar_set(pool, over, ed->id.data, ed->id.len, o)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        pair = ed->body->u.obj.elts;

        for (n = 0; n < ed->body->u.obj.nelts; n++) {
            if (ngx_http_hangar_set(pool, o, pair[n].key.data,
                                    pair[n].key.len, pair[n].value)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        return NGX_OK;
    }

    /* one of the API's */
    item = list->u.arr.elts;

    for (n = 0; n < list->u.arr.nelts; n++) {
        v = ngx_http_hangar_get(item[n], "source_id");

        if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
            && v->u.s.len == ed->id.len
            && ngx_strncmp(v->u.s.data, ed->id.data, ed->id.len) == 0)
        {
            break;
        }
    }

    if (n == list->u.arr.nelts) {
        ed->refused = NGX_HTTP_HANGAR_DISC_UNKNOWN;
        return NGX_DECLINED;
    }

    if (ed->what == NGX_HTTP_HANGAR_DISC_REMOVE) {
        ngx_memmove(&item[n], &item[n + 1],
                    (list->u.arr.nelts - n - 1) * sizeof(void *));
        list->u.arr.nelts--;
        return NGX_OK;
    }

    pair = ed->body->u.obj.elts;

    for (i = 0; i < ed->body->u.obj.nelts; i++) {
        if (ngx_http_hangar_set(pool, item[n], pair[i].key.data,
                                pair[i].key.len, pair[i].value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* approve or reject: kept by fingerprint, the other one forgotten */

static ngx_int_t
ngx_http_hangar_disc_decided(ngx_http_hangar_disc_edit_t *ed,
    ngx_http_hangar_value_t *doc)
{
    ngx_pool_t               *pool;
    ngx_http_hangar_value_t  *keep, *drop, *fp;

    pool = ed->op.pool;

    keep = ngx_http_hangar_disc_obj(pool, doc,
                                    ed->what == NGX_HTTP_HANGAR_DISC_APPROVE
                                    ? "approved" : "rejected");
    drop = ngx_http_hangar_disc_obj(pool, doc,
                                    ed->what == NGX_HTTP_HANGAR_DISC_APPROVE
                                    ? "rejected" : "approved");
    if (keep == NULL || drop == NULL) {
        return NGX_ERROR;
    }

    if (keep->u.obj.nelts >= NGX_HTTP_HANGAR_DISC_DECIDED_MAX
        && ngx_http_hangar_get_n(keep, ed->id.data, ed->id.len) == NULL)
    {
        ed->refused = NGX_HTTP_HANGAR_DISC_MANY;
        return NGX_DECLINED;
    }

    fp = ngx_http_hangar_value_str(pool, ed->fp.data, ed->fp.len);
    if (fp == NULL
        || ngx_http_hangar_set(pool, keep, ed->id.data, ed->id.len, fp)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the key in the other set, if any, is removed by a copy without it */
    {
        ngx_uint_t               i;
        ngx_http_hangar_pair_t  *pair;

        pair = drop->u.obj.elts;

        for (i = 0; i < drop->u.obj.nelts; i++) {
            if (pair[i].key.len == ed->id.len
                && ngx_strncmp(pair[i].key.data, ed->id.data, ed->id.len)
                   == 0)
            {
                ngx_memmove(&pair[i], &pair[i + 1],
                            (drop->u.obj.nelts - i - 1)
                            * sizeof(ngx_http_hangar_pair_t));
                drop->u.obj.nelts--;
                break;
            }
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_disc_answer(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    const char                   *what;
    ngx_http_hangar_req_t        *hr;
    ngx_http_hangar_out_t        *out;
    ngx_http_hangar_disc_edit_t  *ed;

    hr = op->data;
    ed = (ngx_http_hangar_disc_edit_t *) op;
    out = &hr->out;

    if (rc == NGX_DECLINED) {
        switch (ed->refused) {

        case NGX_HTTP_HANGAR_DISC_UNKNOWN:
            return ngx_http_hangar_not_found(hr, &ed->id);

        case NGX_HTTP_HANGAR_DISC_DECLARED:
            return ngx_http_hangar_error(hr, NGX_HTTP_CONFLICT,
                                         "ConflictError",
                                         "the source is declared in "
                                         "hangar.yaml: only its mode and "
                                         "enabled can be changed here");

        case NGX_HTTP_HANGAR_DISC_TAKEN:
            return ngx_http_hangar_error(hr, NGX_HTTP_CONFLICT,
                                         "ConflictError",
                                         "there is a source of this type "
                                         "already (one per type)");

        default:
            return ngx_http_hangar_error(hr, 507, "RegistryFullError",
                                         "too many discovery sources or "
                                         "decisions are kept");
        }
    }

    if (rc != NGX_OK && rc != NGX_DONE) {
        return ngx_http_hangar_api_change_error(hr, op, rc);
    }

    switch (ed->what) {

    case NGX_HTTP_HANGAR_DISC_APPROVE:
    case NGX_HTTP_HANGAR_DISC_REJECT:
        ngx_http_hangar_disc_forget(hr->reg, hr->r->pool, &ed->id);

        if (ed->what == NGX_HTTP_HANGAR_DISC_REJECT) {
            ngx_log_error(NGX_LOG_NOTICE, hr->r->connection->log, 0,
                          "hangar: discovery: \"%V\" rejected until it "
                          "changes", &ed->id);
        }

        ngx_http_hangar_out_printf(out, "{\"%s\":true,\"mcp_server\":",
                                   ed->what == NGX_HTTP_HANGAR_DISC_APPROVE
                                   ? "approved" : "rejected");
        ngx_http_hangar_out_str(out, ed->id.data, ed->id.len);
        if (ed->what == NGX_HTTP_HANGAR_DISC_APPROVE) {
            ngx_http_hangar_out_lit(out, ",\"status\":\"registered\"}");
        } else {
            ngx_http_hangar_out_lit(out, "}");
        }
        return ngx_http_hangar_send(hr, NGX_HTTP_OK);

    default:
        break;
    }

    ngx_http_hangar_disc_request(hr->reg);

    ngx_http_hangar_out_lit(out, "{\"source_id\":");
    ngx_http_hangar_out_str(out, ed->id.data, ed->id.len);

    if (ed->enable) {
        ngx_http_hangar_out_printf(out, ",\"enabled\":%s}",
            ngx_http_hangar_get(ed->body, "enabled")->u.b ? "true" : "false");
        return ngx_http_hangar_send(hr, NGX_HTTP_OK);
    }

    what = (ed->what == NGX_HTTP_HANGAR_DISC_ADD) ? "registered"
           : (ed->what == NGX_HTTP_HANGAR_DISC_UPDATE) ? "updated"
           : "deregistered";

    ngx_http_hangar_out_printf(out, ",\"%s\":true}", what);

    return ngx_http_hangar_send(hr, ed->what == NGX_HTTP_HANGAR_DISC_ADD
                                    ? NGX_HTTP_CREATED : NGX_HTTP_OK);
}


static ngx_http_hangar_disc_source_t *
ngx_http_hangar_disc_find(ngx_http_hangar_req_t *hr, ngx_str_t *id)
{
    ngx_uint_t                      i;
    ngx_array_t                    *sources;
    ngx_http_hangar_value_t        *doc;
    ngx_http_hangar_disc_source_t  *s;

    if (ngx_http_hangar_disc_doc(hr->reg, hr->r->pool, &doc) != NGX_OK
        || ngx_http_hangar_disc_sources(hr->reg, hr->r->pool, doc, &sources)
           != NGX_OK)
    {
        return NULL;
    }

    s = sources->elts;

    for (i = 0; i < sources->nelts; i++) {
        if (s[i].id.len == id->len
            && ngx_strncmp(s[i].id.data, id->data, id->len) == 0)
        {
            return &s[i];
        }
    }

    return NULL;
}


static ngx_int_t
ngx_http_hangar_disc_uuid(ngx_pool_t *pool, ngx_str_t *id)
{
    u_char  r[16], hex[32];

    if (RAND_bytes(r, sizeof(r)) != 1) {
        return NGX_ERROR;
    }

    r[6] = (r[6] & 0x0f) | 0x40;
    r[8] = (r[8] & 0x3f) | 0x80;

    ngx_hex_dump(hex, r, sizeof(r));

    id->data = ngx_pnalloc(pool, 36);
    if (id->data == NULL) {
        return NGX_ERROR;
    }

    id->len = ngx_sprintf(id->data, "%*s-%*s-%*s-%*s-%*s", 8, hex, 4,
                          hex + 8, 4, hex + 12, 4, hex + 16, 12, hex + 20)
              - id->data;

    return NGX_OK;
}


static ngx_http_hangar_value_t *
ngx_http_hangar_disc_obj(ngx_pool_t *pool, ngx_http_hangar_value_t *doc,
    const char *key)
{
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_get(doc, key);

    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_OBJ)) {
        return v;
    }

    v = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);

    if (v == NULL
        || ngx_http_hangar_set(pool, doc, (u_char *) key, ngx_strlen(key), v)
           != NGX_OK)
    {
        return NULL;
    }

    return v;
}
