
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The relay of the front door (ngx_http_hangar_mcp_relay.h).  A request
 * runs in phases; each phase sends one method to a set of servers (its
 * "legs") and ends when every leg answered, failed, or the phase's time
 * is up.  Lists fan out to the ready servers that advertise the
 * capability and are merged in a stable order (server id, then the
 * server's own order); a server that fails is left out with a log line.
 * prompts/get and a completion of a prompt first list the prompts, to
 * find which server's prompt the exported name is.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_mcp_relay.h"
#include "ngx_http_hangar_mailbox.h"
#include "ngx_http_hangar_mcp_links.h"
#include "ngx_http_hangar_mcp_view.h"
#include "ngx_http_hangar_catalog.h"
#include "ngx_http_hangar_job.h"


#define NGX_HTTP_HANGAR_RELAY_MS     10000  /* a phase waits this long */
#define NGX_HTTP_HANGAR_RELAY_PAGES  100    /* of one server's list */
#define NGX_HTTP_HANGAR_RELAY_ITEMS  10000  /* of one list */


/* what a method does */
#define NGX_HTTP_HANGAR_RELAY_LIST      0   /* fan out, merge, page */
#define NGX_HTTP_HANGAR_RELAY_URI       1   /* to the server of params.uri */
#define NGX_HTTP_HANGAR_RELAY_PROMPT    2   /* to the server of the name */
#define NGX_HTTP_HANGAR_RELAY_COMPLETE  3   /* by params.ref */
#define NGX_HTTP_HANGAR_RELAY_LEVEL     4   /* to every server with logging */


typedef struct ngx_http_hangar_relay_s  ngx_http_hangar_relay_t;

typedef void (*ngx_http_hangar_phase_pt)(ngx_http_hangar_relay_t *rl);


typedef struct {
    const char                  *method;
    ngx_uint_t                   kind;
    const char                  *cap;       /* the server's capability */
    const char                  *key;       /* a list's array */
    const char                  *field;     /* its items' projected uri */
    ngx_uint_t                   policy;    /* the kind its policy has */
} ngx_http_hangar_relay_op_t;


/* one server's part of a phase */
typedef struct {
    ngx_http_hangar_relay_t     *rl;
    ngx_str_t                    server;
    ngx_http_hangar_waiter_t     waiter;
    void                        *handle;    /* the call in flight */
    ngx_str_t                    params;
    ngx_http_hangar_value_t     *items;     /* a list's, gathered */
    ngx_http_hangar_value_t     *msg;       /* the response */
    ngx_uint_t                   pages;
    unsigned                     done:1;
    unsigned                     failed:1;
    unsigned                     unknown:1; /* no such server */
} ngx_http_hangar_leg_t;


/* an item of a merged list */
typedef struct {
    ngx_str_t                    server;
    ngx_str_t                    name;      /* the server's */
    ngx_str_t                    exported;
    ngx_http_hangar_value_t     *item;
    unsigned                     dup:1;
} ngx_http_hangar_relay_item_t;


struct ngx_http_hangar_relay_s {
    ngx_http_hangar_req_t       *hr;
    ngx_http_hangar_value_t     *id;
    ngx_http_hangar_value_t     *params;
    ngx_str_t                    session;
    ngx_http_hangar_relay_op_t  *op;
    const char                  *method;    /* of this phase */
    ngx_array_t                 *legs;      /* ngx_http_hangar_leg_t */
    ngx_uint_t                   pending;
    ngx_event_t                  timer;
    ngx_http_hangar_phase_pt     phase_done;
    ngx_str_t                    uri;       /* the upstream's */
    ngx_http_hangar_value_t     *asked;     /* the projected uri asked */
    ngx_http_hangar_view_t       view;      /* what the caller may see */
};


static ngx_int_t ngx_http_hangar_relay_list(ngx_http_hangar_relay_t *rl);
static ngx_int_t ngx_http_hangar_relay_by_uri(ngx_http_hangar_relay_t *rl);
static ngx_int_t ngx_http_hangar_relay_by_name(ngx_http_hangar_relay_t *rl);
static ngx_int_t ngx_http_hangar_relay_level(ngx_http_hangar_relay_t *rl);
static ngx_int_t ngx_http_hangar_relay_fan(ngx_http_hangar_relay_t *rl,
    const char *method, const char *cap, ngx_http_hangar_phase_pt done);
static ngx_int_t ngx_http_hangar_relay_one(ngx_http_hangar_relay_t *rl,
    ngx_str_t *server, const char *method, ngx_http_hangar_value_t *params,
    ngx_http_hangar_phase_pt done);
static ngx_int_t ngx_http_hangar_relay_run(ngx_http_hangar_relay_t *rl);
static void ngx_http_hangar_relay_timeout(ngx_event_t *ev);
static void ngx_http_hangar_relay_cleanup(void *data);
static void ngx_http_hangar_leg_start(ngx_http_hangar_leg_t *leg);
static void ngx_http_hangar_leg_ready(ngx_http_hangar_waiter_t *w,
    ngx_int_t rc);
static void ngx_http_hangar_leg_call(ngx_http_hangar_leg_t *leg);
static void ngx_http_hangar_leg_result(void *data,
    ngx_http_hangar_value_t *msg, ngx_str_t *error);
static void ngx_http_hangar_leg_end(ngx_http_hangar_leg_t *leg,
    ngx_uint_t failed, const char *why);
static void ngx_http_hangar_relay_listed(ngx_http_hangar_relay_t *rl);
static void ngx_http_hangar_relay_answered(ngx_http_hangar_relay_t *rl);
static void ngx_http_hangar_relay_prompts(ngx_http_hangar_relay_t *rl);
static void ngx_http_hangar_relay_subscribed(ngx_http_hangar_relay_t *rl);
static void ngx_http_hangar_relay_leveled(ngx_http_hangar_relay_t *rl);
static ngx_int_t ngx_http_hangar_relay_merge(ngx_http_hangar_relay_t *rl,
    ngx_array_t **list);
static ngx_int_t ngx_http_hangar_relay_names(ngx_http_hangar_relay_t *rl,
    ngx_array_t *list);
static int ngx_libc_cdecl ngx_http_hangar_relay_name_cmp(const void *one,
    const void *two);
static int ngx_libc_cdecl ngx_http_hangar_relay_str_cmp(const void *one,
    const void *two);
static ngx_int_t ngx_http_hangar_relay_servers(ngx_http_hangar_relay_t *rl,
    const char *cap, ngx_array_t **ids);
static void ngx_http_hangar_relay_send(ngx_http_hangar_relay_t *rl,
    ngx_http_hangar_value_t *msg);
static ngx_int_t ngx_http_hangar_relay_error(ngx_http_hangar_relay_t *rl,
    ngx_int_t code, const char *fmt, ngx_str_t *arg);
static void ngx_http_hangar_relay_finish(ngx_http_hangar_relay_t *rl,
    ngx_int_t rc);


static ngx_http_hangar_relay_op_t  ngx_http_hangar_relay_ops[] = {
    { "resources/list", NGX_HTTP_HANGAR_RELAY_LIST, "resources",
      "resources", "uri", NGX_HTTP_HANGAR_POLICY_RESOURCE },
    { "resources/templates/list", NGX_HTTP_HANGAR_RELAY_LIST, "resources",
      "resourceTemplates", "uriTemplate", NGX_HTTP_HANGAR_POLICY_RESOURCE },
    { "prompts/list", NGX_HTTP_HANGAR_RELAY_LIST, "prompts", "prompts",
      NULL, NGX_HTTP_HANGAR_POLICY_PROMPT },
    { "resources/read", NGX_HTTP_HANGAR_RELAY_URI, "resources", NULL, NULL,
      NGX_HTTP_HANGAR_POLICY_RESOURCE },
    { "resources/subscribe", NGX_HTTP_HANGAR_RELAY_URI, "resources", NULL,
      NULL, NGX_HTTP_HANGAR_POLICY_RESOURCE },
    { "resources/unsubscribe", NGX_HTTP_HANGAR_RELAY_URI, "resources", NULL,
      NULL, NGX_HTTP_HANGAR_POLICY_RESOURCE },
    { "prompts/get", NGX_HTTP_HANGAR_RELAY_PROMPT, "prompts", "prompts", NULL,
      NGX_HTTP_HANGAR_POLICY_PROMPT },
    { "completion/complete", NGX_HTTP_HANGAR_RELAY_COMPLETE, "prompts",
      "prompts", NULL, NGX_HTTP_HANGAR_POLICY_PROMPT },
    { "logging/setLevel", NGX_HTTP_HANGAR_RELAY_LEVEL, "logging", NULL, NULL,
      0 },
    { NULL, 0, NULL, NULL, NULL, 0 }
};


static const char  *ngx_http_hangar_relay_levels[] = {
    "debug", "info", "notice", "warning", "error", "critical", "alert",
    "emergency", NULL
};


ngx_int_t
ngx_http_hangar_relay(ngx_http_hangar_req_t *hr, ngx_http_hangar_sid_t *sid,
    ngx_http_hangar_value_t *method, ngx_http_hangar_value_t *id,
    ngx_http_hangar_value_t *params)
{
    ngx_pool_cleanup_t          *cln;
    ngx_http_hangar_relay_t     *rl;
    ngx_http_hangar_relay_op_t  *op;

    for (op = ngx_http_hangar_relay_ops; op->method; op++) {
        if (method->u.s.len == ngx_strlen(op->method)
            && ngx_strncmp(method->u.s.data, op->method, method->u.s.len)
               == 0)
        {
            break;
        }
    }

    if (op->method == NULL) {
        return NGX_DECLINED;
    }

    rl = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_relay_t));
    cln = ngx_pool_cleanup_add(hr->r->pool, 0);
    if (rl == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rl->hr = hr;
    rl->view.hr = hr;
    rl->id = id;
    rl->op = op;
    /* the sid is the caller's, on its stack: a copy for later phases */
    rl->session.len = sid->text.len;
    rl->session.data = ngx_pstrdup(hr->r->pool, &sid->text);
    if (rl->session.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rl->params = ngx_http_hangar_is(params, NGX_HTTP_HANGAR_OBJ)
                 ? params
                 : ngx_http_hangar_value_new(hr->r->pool, NGX_HTTP_HANGAR_OBJ);
    if (rl->params == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rl->timer.handler = ngx_http_hangar_relay_timeout;
    rl->timer.data = rl;
    rl->timer.log = hr->r->connection->log;

    cln->handler = ngx_http_hangar_relay_cleanup;
    cln->data = rl;

    switch (op->kind) {

    case NGX_HTTP_HANGAR_RELAY_LIST:
        return ngx_http_hangar_relay_list(rl);

    case NGX_HTTP_HANGAR_RELAY_URI:
        return ngx_http_hangar_relay_by_uri(rl);

    case NGX_HTTP_HANGAR_RELAY_LEVEL:
        return ngx_http_hangar_relay_level(rl);

    default: /* PROMPT, COMPLETE */
        return ngx_http_hangar_relay_by_name(rl);
    }
}


/* ---- the methods ------------------------------------------------------- */

static ngx_int_t
ngx_http_hangar_relay_list(ngx_http_hangar_relay_t *rl)
{
    ngx_http_hangar_value_t  *cursor;

    cursor = ngx_http_hangar_get(rl->params, "cursor");

    if (cursor && (!ngx_http_hangar_is(cursor, NGX_HTTP_HANGAR_STR)
                   || ngx_atoi(cursor->u.s.data, cursor->u.s.len)
                      == NGX_ERROR))
    {
        return ngx_http_hangar_relay_error(rl, -32602,
                                           "Invalid params: unknown cursor",
                                           NULL);
    }

    return ngx_http_hangar_relay_fan(rl, rl->op->method, rl->op->cap,
                                     ngx_http_hangar_relay_listed);
}


/* read, subscribe, unsubscribe: to the server the projected uri names */

static ngx_int_t
ngx_http_hangar_relay_by_uri(ngx_http_hangar_relay_t *rl)
{
    ngx_str_t                 server, uri;
    ngx_uint_t                others, sub;
    ngx_pool_t               *pool;
    ngx_http_hangar_value_t  *v, *params;

    pool = rl->hr->r->pool;
    v = ngx_http_hangar_get(rl->params, "uri");

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        return ngx_http_hangar_relay_error(rl, -32602,
                                           "Invalid params: uri is required",
                                           NULL);
    }

    if (ngx_http_hangar_links_parse(&v->u.s, &server, &uri) != NGX_OK
        || !ngx_http_hangar_view_allowed(&rl->view, &server,
                                          NGX_HTTP_HANGAR_POLICY_RESOURCE,
                                          &uri))
    {
        return ngx_http_hangar_relay_error(rl, -32002,
                                           "Unknown resource: %V", &v->u.s);
    }

    rl->uri = uri;
    rl->asked = v;

    params = ngx_http_hangar_value_copy(pool, rl->params);
    v = ngx_http_hangar_value_str(pool, uri.data, uri.len);

    /* a key given twice: get() read the last, set() replaces the first */
    ngx_http_hangar_del(params, "uri");

    if (params == NULL || v == NULL
        || ngx_http_hangar_set(pool, params, (u_char *) "uri", 3, v)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sub = (ngx_strcmp(rl->op->method, "resources/subscribe") == 0);

    if (ngx_strcmp(rl->op->method, "resources/read") == 0) {
        return ngx_http_hangar_relay_one(rl, &server, rl->op->method, params,
                                         ngx_http_hangar_relay_answered);
    }

    /* kept before the server is asked: an update may follow at once */
    if (ngx_http_hangar_mailbox_subscribe(rl->hr->reg, &rl->session, &server,
                                          &uri, sub, &others)
        != NGX_OK)
    {
        return ngx_http_hangar_relay_error(rl, -32603,
                                           "Too many resource subscriptions",
                                           NULL);
    }

    if (!sub && others) {
        /* the server keeps sending updates: other sessions want them */
        ngx_http_hangar_relay_send(rl, NULL);
        return ngx_http_hangar_send(rl->hr, NGX_HTTP_OK);
    }

    return ngx_http_hangar_relay_one(rl, &server, rl->op->method, params,
                                     ngx_http_hangar_relay_subscribed);
}


/*
 * prompts/get, completion/complete: a prompt's exported name needs the
 * live list of prompts; a completion of a resource template goes by its
 * projected uri.
 */

static ngx_int_t
ngx_http_hangar_relay_by_name(ngx_http_hangar_relay_t *rl)
{
    ngx_str_t                 server, uri;
    ngx_pool_t               *pool;
    ngx_http_hangar_value_t  *ref, *type, *v, *params;

    pool = rl->hr->r->pool;

    if (rl->op->kind == NGX_HTTP_HANGAR_RELAY_PROMPT) {
        v = ngx_http_hangar_get(rl->params, "name");

    } else {
        ref = ngx_http_hangar_get(rl->params, "ref");
        type = ngx_http_hangar_get(ref, "type");

        if (!ngx_http_hangar_is(type, NGX_HTTP_HANGAR_STR)) {
            return ngx_http_hangar_relay_error(rl, -32602,
                                   "Invalid params: ref.type is required",
                                   NULL);
        }

        if (ngx_http_hangar_str_is(&type->u.s, "ref/resource")) {
            v = ngx_http_hangar_get(ref, "uri");

            if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
                || ngx_http_hangar_links_parse(&v->u.s, &server, &uri)
                   != NGX_OK
                || !ngx_http_hangar_view_allowed(&rl->view, &server,
                                          NGX_HTTP_HANGAR_POLICY_RESOURCE,
                                          &uri))
            {
                return ngx_http_hangar_relay_error(rl, -32002,
                                   "Unknown resource: %V",
                                   ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
                                   ? &v->u.s : NULL);
            }

            params = ngx_http_hangar_value_copy(pool, rl->params);
            ref = ngx_http_hangar_get(params, "ref");
            v = ngx_http_hangar_value_str(pool, uri.data, uri.len);
            ngx_http_hangar_del(ref, "uri");

            if (params == NULL || v == NULL
                || ngx_http_hangar_set(pool, ref, (u_char *) "uri", 3, v)
                   != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            return ngx_http_hangar_relay_one(rl, &server, rl->op->method,
                                             params,
                                             ngx_http_hangar_relay_answered);
        }

        if (!ngx_http_hangar_str_is(&type->u.s, "ref/prompt")) {
            return ngx_http_hangar_relay_error(rl, -32602,
                                   "Invalid params: unknown ref.type %V",
                                   &type->u.s);
        }

        v = ngx_http_hangar_get(ref, "name");
    }

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        return ngx_http_hangar_relay_error(rl, -32602,
                                           "Invalid params: a prompt name "
                                           "is required", NULL);
    }

    return ngx_http_hangar_relay_fan(rl, "prompts/list", "prompts",
                                     ngx_http_hangar_relay_prompts);
}


/* logging/setLevel: remembered for the servers that start later */

static ngx_int_t
ngx_http_hangar_relay_level(ngx_http_hangar_relay_t *rl)
{
    const char                 **l;
    ngx_http_hangar_value_t     *v;
    ngx_http_hangar_registry_t  *reg;

    v = ngx_http_hangar_get(rl->params, "level");

    for (l = ngx_http_hangar_relay_levels; *l; l++) {
        if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
            && v->u.s.len == ngx_strlen(*l)
            && ngx_strncmp(v->u.s.data, *l, v->u.s.len) == 0)
        {
            break;
        }
    }

    if (*l == NULL) {
        return ngx_http_hangar_relay_error(rl, -32602,
                                           "Invalid params: level must be "
                                           "an RFC 5424 severity", NULL);
    }

    reg = rl->hr->reg;

    ngx_http_hangar_lock(reg);
    ngx_cpystrn(reg->sh->mcp_log_level, (u_char *) *l,
                sizeof(reg->sh->mcp_log_level));
    ngx_http_hangar_unlock(reg);

    return ngx_http_hangar_relay_fan(rl, "logging/setLevel", "logging",
                                     ngx_http_hangar_relay_leveled);
}


/* ---- phases ------------------------------------------------------------ */

/* the method to every ready server that advertises cap */

static ngx_int_t
ngx_http_hangar_relay_fan(ngx_http_hangar_relay_t *rl, const char *method,
    const char *cap, ngx_http_hangar_phase_pt done)
{
    ngx_str_t               *ids, params;
    ngx_uint_t               i;
    ngx_array_t             *list;
    ngx_http_hangar_leg_t   *leg;

    if (ngx_http_hangar_relay_servers(rl, cap, &list) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rl->legs = ngx_array_create(rl->hr->r->pool, list->nelts + 1,
                                sizeof(ngx_http_hangar_leg_t));
    if (rl->legs == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a list's first page of each server; setLevel's params as they are */
    if (done == ngx_http_hangar_relay_leveled) {
        if (ngx_http_hangar_json_text(rl->hr->r->pool, rl->params, &params)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else {
        ngx_str_set(&params, "{}");
    }

    ids = list->elts;

    for (i = 0; i < list->nelts; i++) {
        if (!ngx_http_hangar_view_allowed(&rl->view, &ids[i], 0, NULL)) {
            continue;
        }

        leg = ngx_array_push(rl->legs);
        if (leg == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memzero(leg, sizeof(ngx_http_hangar_leg_t));
        leg->rl = rl;
        leg->server = ids[i];
        leg->params = params;
    }

    rl->method = method;
    rl->phase_done = done;

    return ngx_http_hangar_relay_run(rl);
}


static ngx_int_t
ngx_http_hangar_relay_one(ngx_http_hangar_relay_t *rl, ngx_str_t *server,
    const char *method, ngx_http_hangar_value_t *params,
    ngx_http_hangar_phase_pt done)
{
    ngx_http_hangar_leg_t  *leg;

    rl->legs = ngx_array_create(rl->hr->r->pool, 1,
                                sizeof(ngx_http_hangar_leg_t));
    if (rl->legs == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    leg = ngx_array_push(rl->legs);
    ngx_memzero(leg, sizeof(ngx_http_hangar_leg_t));
    leg->rl = rl;
    leg->server.len = server->len;
    leg->server.data = ngx_pstrdup(rl->hr->r->pool, server);

    if (leg->server.data == NULL
        || ngx_http_hangar_json_text(rl->hr->r->pool, params, &leg->params)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rl->method = method;
    rl->phase_done = done;

    return ngx_http_hangar_relay_run(rl);
}


/*
 * The legs set out; the request waits for them (its count is held until
 * the phase's completion finalizes it, possibly before this returns).
 */

static ngx_int_t
ngx_http_hangar_relay_run(ngx_http_hangar_relay_t *rl)
{
    ngx_uint_t              i, n;
    ngx_http_hangar_leg_t  *leg;

    leg = rl->legs->elts;
    n = rl->legs->nelts;

    if (rl->timer.timer_set) {
        ngx_del_timer(&rl->timer);
    }

    /* one more than the legs: none can end the phase while they set out */
    rl->pending = n + 1;
    rl->hr->r->main->count++;

    ngx_add_timer(&rl->timer, NGX_HTTP_HANGAR_RELAY_MS);

    for (i = 0; i < n; i++) {
        ngx_http_hangar_leg_start(&leg[i]);
    }

    if (--rl->pending == 0) {
        ngx_del_timer(&rl->timer);
        rl->phase_done(rl);
    }

    return NGX_DONE;
}


static void
ngx_http_hangar_relay_timeout(ngx_event_t *ev)
{
    ngx_uint_t                i, n, last;
    ngx_http_hangar_leg_t    *leg;
    ngx_http_hangar_relay_t  *rl;

    rl = ev->data;
    leg = rl->legs->elts;
    n = rl->legs->nelts;

    for (i = 0; i < n; i++) {
        if (leg[i].done) {
            continue;
        }

        /* the last one ends the phase, and may free the request */
        last = (rl->pending == 1);

        ngx_http_hangar_leg_end(&leg[i], 1, "timed out");

        if (last) {
            return;
        }
    }
}


static void
ngx_http_hangar_relay_cleanup(void *data)
{
    ngx_http_hangar_relay_t  *rl = data;

    ngx_uint_t              i;
    ngx_http_hangar_leg_t  *leg;

    if (rl->timer.timer_set) {
        ngx_del_timer(&rl->timer);
    }

    if (rl->legs == NULL) {
        return;
    }

    leg = rl->legs->elts;

    for (i = 0; i < rl->legs->nelts; i++) {
        if (leg[i].handle) {
            ngx_http_hangar_server_call_abandon(leg[i].handle);
            leg[i].handle = NULL;
        }

        ngx_http_hangar_waiter_cancel(&leg[i].waiter);
    }
}


/* ---- legs -------------------------------------------------------------- */

static void
ngx_http_hangar_leg_start(ngx_http_hangar_leg_t *leg)
{
    ngx_int_t    rc;
    ngx_msec_t   retry;

    leg->waiter.handler = ngx_http_hangar_leg_ready;
    leg->waiter.data = leg;
    leg->waiter.hold = 1;   /* in flight until the request ends */

    rc = ngx_http_hangar_ensure_ready(leg->rl->hr->reg, &leg->server, 0,
                                      &leg->waiter,
                                      leg->rl->hr->r->connection->log,
                                      &retry);

    if (rc == NGX_OK) {
        ngx_http_hangar_leg_call(leg);

    } else if (rc == NGX_HTTP_HANGAR_UNKNOWN) {
        leg->unknown = 1;
        ngx_http_hangar_leg_end(leg, 1, "does not exist");

    } else if (rc != NGX_AGAIN) {
        ngx_http_hangar_leg_end(leg, 1, "could not be started");
    }
}


static void
ngx_http_hangar_leg_ready(ngx_http_hangar_waiter_t *w, ngx_int_t rc)
{
    ngx_http_hangar_leg_t  *leg = w->data;

    if (rc != NGX_OK) {
        ngx_http_hangar_leg_end(leg, 1, "could not be started");
        return;
    }

    ngx_http_hangar_leg_call(leg);
}


static void
ngx_http_hangar_leg_call(ngx_http_hangar_leg_t *leg)
{
    leg->handle = ngx_http_hangar_server_call(leg->rl->hr->reg, &leg->server,
                                              leg->rl->method, &leg->params,
                                              NULL,
                                              leg->rl->hr->r->connection->log,
                                              ngx_http_hangar_leg_result,
                                              NULL, leg);
    if (leg->handle == NULL) {
        ngx_http_hangar_leg_end(leg, 1, "is not ready");
    }
}


/*
 * A server's answer.  A list's items are gathered page after page
 * (bounded); other answers are kept whole.
 */

static void
ngx_http_hangar_leg_result(void *data, ngx_http_hangar_value_t *msg,
    ngx_str_t *error)
{
    ngx_http_hangar_leg_t  *leg = data;

    u_char                   *p;
    ngx_str_t                 cursor;
    ngx_uint_t                i;
    ngx_pool_t               *pool;
    ngx_http_hangar_value_t  *result, *arr, **items, *next;
    ngx_http_hangar_relay_t  *rl;

    rl = leg->rl;
    pool = rl->hr->r->pool;
    leg->handle = NULL;

    if (msg == NULL) {
        ngx_log_error(NGX_LOG_WARN, rl->hr->r->connection->log, 0,
                      "hangar: \"%V\" left out of %s: %V", &leg->server,
                      rl->method, error);
        ngx_http_hangar_leg_end(leg, 1, NULL);
        return;
    }

    if (rl->phase_done != ngx_http_hangar_relay_listed
        && rl->phase_done != ngx_http_hangar_relay_prompts)
    {
        leg->msg = ngx_http_hangar_value_copy(pool, msg);
        ngx_http_hangar_leg_end(leg, leg->msg == NULL, "out of memory");
        return;
    }

    result = ngx_http_hangar_get(msg, "error");
    result = ngx_http_hangar_get(result, "message");

    if (ngx_http_hangar_is(result, NGX_HTTP_HANGAR_STR)) {
        ngx_log_error(NGX_LOG_WARN, rl->hr->r->connection->log, 0,
                      "hangar: \"%V\" left out of %s: it answered \"%V\"",
                      &leg->server, rl->method, &result->u.s);
        ngx_http_hangar_leg_end(leg, 1, NULL);
        return;
    }

    result = ngx_http_hangar_get(msg, "result");
    arr = ngx_http_hangar_get(result, rl->phase_done
                                      == ngx_http_hangar_relay_prompts
                                      ? "prompts" : rl->op->key);

    if (!ngx_http_hangar_is(arr, NGX_HTTP_HANGAR_ARR)) {
        ngx_http_hangar_leg_end(leg, 1, "answered no list");
        return;
    }

    if (leg->items == NULL) {
        leg->items = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_ARR);
        if (leg->items == NULL) {
            ngx_http_hangar_leg_end(leg, 1, "out of memory");
            return;
        }
    }

    items = arr->u.arr.elts;

    for (i = 0; i < arr->u.arr.nelts; i++) {
        if (leg->items->u.arr.nelts >= NGX_HTTP_HANGAR_RELAY_ITEMS
            || ngx_http_hangar_push(leg->items,
                          ngx_http_hangar_value_copy(pool, items[i]))
               != NGX_OK)
        {
            ngx_http_hangar_leg_end(leg, 1, "answered too many items");
            return;
        }
    }

    next = ngx_http_hangar_get(result, "nextCursor");

    if (!ngx_http_hangar_is(next, NGX_HTTP_HANGAR_STR) || next->u.s.len == 0
        || ++leg->pages >= NGX_HTTP_HANGAR_RELAY_PAGES)
    {
        ngx_http_hangar_leg_end(leg, 0, NULL);
        return;
    }

    /* the next page, with the server's own cursor */
    if (ngx_http_hangar_json_text(pool, next, &cursor) != NGX_OK) {
        ngx_http_hangar_leg_end(leg, 1, "out of memory");
        return;
    }

    p = ngx_pnalloc(pool, cursor.len + 16);
    if (p == NULL) {
        ngx_http_hangar_leg_end(leg, 1, "out of memory");
        return;
    }

    leg->params.data = p;
    leg->params.len = ngx_sprintf(p, "{\"cursor\":%V}", &cursor) - p;

    ngx_http_hangar_leg_call(leg);
}


static void
ngx_http_hangar_leg_end(ngx_http_hangar_leg_t *leg, ngx_uint_t failed,
    const char *why)
{
    ngx_http_hangar_relay_t  *rl;

    rl = leg->rl;

    if (leg->done) {
        return;
    }

    leg->done = 1;
    leg->failed = failed;

    if (leg->handle) {
        ngx_http_hangar_server_call_abandon(leg->handle);
        leg->handle = NULL;
    }

    /* no longer in flight (a timed out leg's wait ends too) */
    ngx_http_hangar_waiter_cancel(&leg->waiter);

    if (failed && why) {
        ngx_log_error(NGX_LOG_WARN, rl->hr->r->connection->log, 0,
                      "hangar: \"%V\" left out of %s: it %s", &leg->server,
                      rl->method, why);
    }

    if (--rl->pending == 0) {
        if (rl->timer.timer_set) {
            ngx_del_timer(&rl->timer);
        }

        rl->phase_done(rl);
    }
}


/* ---- completions of phases --------------------------------------------- */

/* a list: merged, this caller's, one page of it */

static void
ngx_http_hangar_relay_listed(ngx_http_hangar_relay_t *rl)
{
    ngx_int_t                      start, page;
    ngx_uint_t                     i, shown;
    ngx_array_t                   *list;
    ngx_http_hangar_out_t         *out;
    ngx_http_hangar_value_t       *cursor;
    ngx_http_hangar_loc_conf_t    *hlcf;
    ngx_http_hangar_relay_item_t  *it;

    hlcf = ngx_http_get_module_loc_conf(rl->hr->r, ngx_http_hangar_module);
    page = hlcf->page_size;

    if (ngx_http_hangar_relay_merge(rl, &list) != NGX_OK) {
        ngx_http_hangar_relay_finish(rl, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    start = 0;
    cursor = ngx_http_hangar_get(rl->params, "cursor");

    if (cursor) {
        start = ngx_atoi(cursor->u.s.data, cursor->u.s.len);

        if ((ngx_uint_t) start > list->nelts) {
            ngx_http_hangar_relay_finish(rl,
                ngx_http_hangar_relay_error(rl, -32602,
                                            "Invalid params: unknown cursor",
                                            NULL));
            return;
        }
    }

    out = &rl->hr->out;
    ngx_http_hangar_out_init(out, rl->hr->r->pool, 4096);
    ngx_http_hangar_mcp_open(out, rl->id);
    ngx_http_hangar_out_printf(out, "\"result\":{\"%s\":[", rl->op->key);

    it = list->elts;
    shown = 0;

    for (i = start; i < list->nelts && shown < (ngx_uint_t) page; i++) {
        if (shown++) {
            ngx_http_hangar_out_lit(out, ",");
        }

        ngx_http_hangar_json_out(out, it[i].item);
    }

    if (i < list->nelts) {
        ngx_http_hangar_out_printf(out, "],\"nextCursor\":\"%ui\"}}", i);

    } else {
        ngx_http_hangar_out_lit(out, "]}}");
    }

    ngx_http_hangar_relay_finish(rl, ngx_http_hangar_send(rl->hr,
                                                          NGX_HTTP_OK));
}


/*
 * The lists' items in order, those the caller may see: resources with
 * their uris projected, prompts under their exported names.
 */

static ngx_int_t
ngx_http_hangar_relay_merge(ngx_http_hangar_relay_t *rl, ngx_array_t **list)
{
    ngx_str_t                      name;
    ngx_uint_t                     i, k, kind;
    ngx_pool_t                    *pool;
    const char                    *field;
    ngx_http_hangar_leg_t         *leg;
    ngx_http_hangar_value_t      **items, *v;
    ngx_http_hangar_relay_item_t  *it;

    pool = rl->hr->r->pool;
    kind = (rl->phase_done == ngx_http_hangar_relay_prompts)
           ? NGX_HTTP_HANGAR_POLICY_PROMPT : rl->op->policy;
    field = (kind == NGX_HTTP_HANGAR_POLICY_PROMPT) ? "name" : rl->op->field;

    *list = ngx_array_create(pool, 16, sizeof(ngx_http_hangar_relay_item_t));
    if (*list == NULL) {
        return NGX_ERROR;
    }

    leg = rl->legs->elts;

    for (i = 0; i < rl->legs->nelts; i++) {
        if (leg[i].failed || leg[i].items == NULL) {
            continue;
        }

        items = leg[i].items->u.arr.elts;

        for (k = 0; k < leg[i].items->u.arr.nelts; k++) {
            v = ngx_http_hangar_get(items[k], field);

            if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
                continue;
            }

            name = v->u.s;

            if (!ngx_http_hangar_view_allowed(&rl->view, &leg[i].server, kind,
                                               &name))
            {
                continue;
            }

            it = ngx_array_push(*list);
            if (it == NULL) {
                return NGX_ERROR;
            }

            ngx_memzero(it, sizeof(ngx_http_hangar_relay_item_t));
            it->server = leg[i].server;
            it->name = name;
            it->item = items[k];

            if (kind != NGX_HTTP_HANGAR_POLICY_PROMPT
                && ngx_http_hangar_links_project(pool, &leg[i].server,
                                                 items[k], field)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    if (kind == NGX_HTTP_HANGAR_POLICY_PROMPT) {
        return ngx_http_hangar_relay_names(rl, *list);
    }

    return NGX_OK;
}


/*
 * Prompts are named as tools are (the location's naming mode): prefixed
 * <server>__<name>; flat, where a name two servers offer is dropped;
 * auto, flat while a name is unambiguous.  The dropped ones leave the
 * list.
 */

static ngx_int_t
ngx_http_hangar_relay_names(ngx_http_hangar_relay_t *rl, ngx_array_t *list)
{
    ngx_uint_t                      i, j, n, naming, prefix;
    ngx_pool_t                     *pool;
    ngx_http_hangar_value_t        *v;
    ngx_http_hangar_loc_conf_t     *hlcf;
    ngx_http_hangar_relay_item_t   *it, **sorted;

    pool = rl->hr->r->pool;
    hlcf = ngx_http_get_module_loc_conf(rl->hr->r, ngx_http_hangar_module);
    naming = hlcf->naming;

    it = list->elts;
    n = list->nelts;

    sorted = ngx_palloc(pool, (n + 1) * sizeof(ngx_http_hangar_relay_item_t *));
    if (sorted == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        sorted[i] = &it[i];
    }

    ngx_qsort(sorted, n, sizeof(ngx_http_hangar_relay_item_t *),
              ngx_http_hangar_relay_name_cmp);

    for (i = 0; i < n; i = j) {
        for (j = i + 1;
             j < n && ngx_http_hangar_relay_name_cmp(&sorted[i], &sorted[j])
                      == 0;
             j++)
        {
            sorted[i]->dup = 1;
            sorted[j]->dup = 1;
        }
    }

    for (i = 0, j = 0; i < n; i++) {
        if (it[i].dup && naming == NGX_HTTP_HANGAR_NAMING_FLAT) {
            ngx_log_error(NGX_LOG_WARN, rl->hr->r->connection->log, 0,
                          "hangar: prompt \"%V\" of \"%V\" is offered by "
                          "more than one server and is hidden (flat naming)",
                          &it[i].name, &it[i].server);
            continue;
        }

        prefix = (naming == NGX_HTTP_HANGAR_NAMING_PREFIXED || it[i].dup);

        if (ngx_http_hangar_catalog_name(pool, &it[i].server, &it[i].name,
                                         prefix, &it[i].exported)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        v = ngx_http_hangar_value_str(pool, it[i].exported.data,
                                      it[i].exported.len);
        it[i].item = ngx_http_hangar_value_copy(pool, it[i].item);
        ngx_http_hangar_del(it[i].item, "name");

        if (v == NULL || it[i].item == NULL
            || ngx_http_hangar_set(pool, it[i].item, (u_char *) "name", 4, v)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        it[j++] = it[i];
    }

    list->nelts = j;

    return NGX_OK;
}


static int ngx_libc_cdecl
ngx_http_hangar_relay_name_cmp(const void *one, const void *two)
{
    ngx_http_hangar_relay_item_t  *a, *b;

    a = *(ngx_http_hangar_relay_item_t **) one;
    b = *(ngx_http_hangar_relay_item_t **) two;

    return (int) ngx_memn2cmp(a->name.data, b->name.data, a->name.len,
                              b->name.len);
}


/* the prompts are listed: the name asked is routed to its server */

static void
ngx_http_hangar_relay_prompts(ngx_http_hangar_relay_t *rl)
{
    ngx_int_t                      rc;
    ngx_uint_t                     i;
    ngx_pool_t                    *pool;
    ngx_array_t                   *list;
    ngx_http_hangar_value_t       *params, *holder, *name, *v;
    ngx_http_hangar_relay_item_t  *it;

    pool = rl->hr->r->pool;

    if (ngx_http_hangar_relay_merge(rl, &list) != NGX_OK) {
        ngx_http_hangar_relay_finish(rl, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    params = ngx_http_hangar_value_copy(pool, rl->params);
    holder = (rl->op->kind == NGX_HTTP_HANGAR_RELAY_PROMPT)
             ? params : ngx_http_hangar_get(params, "ref");
    name = ngx_http_hangar_get(holder, "name");

    if (params == NULL || name == NULL) {
        ngx_http_hangar_relay_finish(rl, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    it = list->elts;

    for (i = 0; i < list->nelts; i++) {
        if (it[i].exported.len == name->u.s.len
            && ngx_strncmp(it[i].exported.data, name->u.s.data,
                           name->u.s.len) == 0)
        {
            break;
        }
    }

    if (i == list->nelts) {
        ngx_http_hangar_relay_finish(rl,
            ngx_http_hangar_relay_error(rl, -32602,
                                        "Invalid params: unknown prompt %V",
                                        &name->u.s));
        return;
    }

    v = ngx_http_hangar_value_str(pool, it[i].name.data, it[i].name.len);
    ngx_http_hangar_del(holder, "name");

    if (v == NULL
        || ngx_http_hangar_set(pool, holder, (u_char *) "name", 4, v)
           != NGX_OK)
    {
        ngx_http_hangar_relay_finish(rl, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* the phase before this holds the request: it is let go here */
    rc = ngx_http_hangar_relay_one(rl, &it[i].server, rl->op->method,
                                   params, ngx_http_hangar_relay_answered);

    ngx_http_hangar_relay_finish(rl, rc);
}


/* one server's answer goes back, with the client's id */

static void
ngx_http_hangar_relay_answered(ngx_http_hangar_relay_t *rl)
{
    ngx_http_hangar_leg_t    *leg;
    ngx_http_hangar_value_t  *result;

    leg = rl->legs->elts;

    if (leg->unknown && rl->asked) {
        ngx_http_hangar_relay_finish(rl,
            ngx_http_hangar_relay_error(rl, -32002, "Unknown resource: %V",
                                        &rl->asked->u.s));
        return;
    }

    if (leg->failed) {
        ngx_http_hangar_relay_finish(rl,
            ngx_http_hangar_relay_error(rl, -32603,
                                        "the MCP server \"%V\" did not answer",
                                        &leg->server));
        return;
    }

    result = ngx_http_hangar_get(leg->msg, "result");

    if (result && ngx_strcmp(rl->op->method, "resources/read") == 0
        && ngx_http_hangar_links_rewrite(rl->hr->r->pool, &leg->server,
                                               result)
           != NGX_OK)
    {
        ngx_http_hangar_relay_finish(rl, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_hangar_relay_send(rl, leg->msg);
    ngx_http_hangar_relay_finish(rl, ngx_http_hangar_send(rl->hr,
                                                          NGX_HTTP_OK));
}


/* a subscription the server refused is not kept */

static void
ngx_http_hangar_relay_subscribed(ngx_http_hangar_relay_t *rl)
{
    ngx_uint_t              others;
    ngx_http_hangar_leg_t  *leg;

    leg = rl->legs->elts;

    if (ngx_strcmp(rl->op->method, "resources/subscribe") == 0
        && (leg->failed || ngx_http_hangar_get(leg->msg, "error")))
    {
        (void) ngx_http_hangar_mailbox_subscribe(rl->hr->reg, &rl->session,
                                                 &leg->server, &rl->uri, 0,
                                                 &others);
    }

    ngx_http_hangar_relay_answered(rl);
}


static void
ngx_http_hangar_relay_leveled(ngx_http_hangar_relay_t *rl)
{
    ngx_http_hangar_relay_send(rl, NULL);
    ngx_http_hangar_relay_finish(rl, ngx_http_hangar_send(rl->hr,
                                                          NGX_HTTP_OK));
}


/* ---- helpers ----------------------------------------------------------- */

static int ngx_libc_cdecl
ngx_http_hangar_relay_str_cmp(const void *one, const void *two)
{
    ngx_str_t  *a = (ngx_str_t *) one;
    ngx_str_t  *b = (ngx_str_t *) two;

    return (int) ngx_memn2cmp(a->data, b->data, a->len, b->len);
}


/*
 * The ready servers (not groups) whose initialize advertised cap, in the
 * order of their ids: their ids and handshakes copied under the mutex,
 * the handshakes parsed after.
 */

static ngx_int_t
ngx_http_hangar_relay_servers(ngx_http_hangar_relay_t *rl, const char *cap,
    ngx_array_t **ids)
{
    ngx_str_t                    *id, *meta, err;
    ngx_uint_t                    i, n;
    ngx_pool_t                   *pool;
    ngx_queue_t                  *q;
    ngx_array_t                  *metas;
    ngx_http_hangar_node_t       *node;
    ngx_http_hangar_value_t      *v;
    ngx_http_hangar_registry_t   *reg;

    reg = rl->hr->reg;
    pool = rl->hr->r->pool;

    *ids = ngx_array_create(pool, 8, sizeof(ngx_str_t));
    metas = ngx_array_create(pool, 8, sizeof(ngx_str_t));
    if (*ids == NULL || metas == NULL) {
        return NGX_ERROR;
    }

    ngx_http_hangar_lock(reg);

    for (q = ngx_queue_head(&reg->sh->servers.queue);
         q != ngx_queue_sentinel(&reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        if (node->state != NGX_HTTP_HANGAR_READY || node->meta == NULL) {
            continue;
        }

        id = ngx_array_push(*ids);
        meta = ngx_array_push(metas);
        if (id == NULL || meta == NULL) {
            goto failed;
        }

        id->data = ngx_pnalloc(pool, node->id_len);
        meta->data = ngx_pnalloc(pool, node->meta->len);
        if (id->data == NULL || meta->data == NULL) {
            goto failed;
        }

        id->len = node->id_len;
        ngx_memcpy(id->data, node->id, node->id_len);
        meta->len = node->meta->len;
        ngx_memcpy(meta->data, node->meta->data, meta->len);
    }

    ngx_http_hangar_unlock(reg);

    id = (*ids)->elts;
    meta = metas->elts;
    n = 0;

    for (i = 0; i < (*ids)->nelts; i++) {
        v = ngx_http_hangar_json_parse(pool, meta[i].data, meta[i].len, &err);
        v = ngx_http_hangar_get(ngx_http_hangar_get(v, "init_result"),
                                "capabilities");

        if (ngx_http_hangar_get(v, cap)) {
            id[n++] = id[i];
        }
    }

    (*ids)->nelts = n;

    ngx_qsort(id, n, sizeof(ngx_str_t), ngx_http_hangar_relay_str_cmp);

    return NGX_OK;

failed:

    ngx_http_hangar_unlock(reg);

    return NGX_ERROR;
}


/* the answer in hr->out: the server's result or error, or {} */

static void
ngx_http_hangar_relay_send(ngx_http_hangar_relay_t *rl,
    ngx_http_hangar_value_t *msg)
{
    ngx_http_hangar_out_t    *out;
    ngx_http_hangar_value_t  *v;

    out = &rl->hr->out;
    ngx_http_hangar_out_init(out, rl->hr->r->pool, 1024);
    ngx_http_hangar_mcp_open(out, rl->id);

    v = ngx_http_hangar_get(msg, "error");

    if (v) {
        ngx_http_hangar_out_lit(out, "\"error\":");

    } else {
        v = ngx_http_hangar_get(msg, "result");
        ngx_http_hangar_out_lit(out, "\"result\":");
    }

    if (v) {
        ngx_http_hangar_json_out(out, v);

    } else {
        ngx_http_hangar_out_lit(out, "{}");
    }

    ngx_http_hangar_out_lit(out, "}");
}


static ngx_int_t
ngx_http_hangar_relay_error(ngx_http_hangar_relay_t *rl, ngx_int_t code,
    const char *fmt, ngx_str_t *arg)
{
    ngx_str_t  msg;
    ngx_str_t  none = ngx_string("");

    msg.data = ngx_pnalloc(rl->hr->r->pool,
                           ngx_strlen(fmt) + (arg ? arg->len : 0));
    if (msg.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    msg.len = ngx_sprintf(msg.data, fmt, arg ? arg : &none) - msg.data;

    return ngx_http_hangar_mcp_error(rl->hr, NGX_HTTP_OK, rl->id, code, &msg);
}


/* a phase's completion ends the request it held */

static void
ngx_http_hangar_relay_finish(ngx_http_hangar_relay_t *rl, ngx_int_t rc)
{
    ngx_http_finalize_request(rl->hr->r, rc);
}
