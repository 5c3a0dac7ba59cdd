
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The MCP front door (hangar_mcp): an MCP Streamable HTTP server whose
 * tools are the fleet's.  Session ids are self-describing and signed
 * (ngx_http_hangar_session.c), so every worker checks them without a
 * lookup; ended ones stay ended until they expire.  tools/call is routed
 * to the server that offers the tool, started on demand.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_mcp.h"
#include "ngx_http_hangar_catalog.h"
#include "ngx_http_hangar_warmup.h"
#include "ngx_http_hangar_session.h"
#include "ngx_http_hangar_mcp_sreq.h"
#include "ngx_http_hangar_mailbox.h"
#include "ngx_http_hangar_mcp_relay.h"
#include "ngx_http_hangar_mcp_links.h"
#include "ngx_http_hangar_job.h"
#include "ngx_http_hangar_state.h"
#include "ngx_http_hangar_edge.h"
#include "ngx_http_hangar_approval_hold.h"
#include "ngx_http_hangar_api_limit.h"
#include "ngx_http_hangar_mcp_cp.h"
#include "ngx_http_hangar_group.h"
#include "ngx_http_hangar_audit.h"


typedef struct {
    ngx_http_hangar_req_t       *hr;
    ngx_http_hangar_value_t     *id;        /* the client's request id */
    ngx_str_t                    server;
    ngx_str_t                    params;    /* for the server */
    ngx_str_t                    tool;      /* the server's name for it */
    void                        *handle;    /* the call in flight */
    ngx_str_t                    group;     /* server is its member */
    ngx_http_hangar_sreq_call_t  track;     /* session, upstream id */
    unsigned                     failover:1;
    unsigned                     progress:1;    /* the client asked it */
    unsigned                     sse:1;     /* an SSE answer */
    unsigned                     started:1; /* SSE headers are out */
} ngx_http_hangar_mcp_call_t;


/* an open GET stream */
typedef struct {
    ngx_http_request_t          *r;
    ngx_http_hangar_streams_t    held;      /* its session's, its client's */
    ngx_str_t                    session;   /* its id text: the mailbox's key */
    u_char                       key[NGX_HTTP_HANGAR_SID_LEN];
} ngx_http_hangar_stream_t;


static ngx_int_t ngx_http_hangar_mcp_post(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_mcp_delete(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_mcp_initialize(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_http_hangar_value_t *params);
static ngx_int_t ngx_http_hangar_mcp_tools_list(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_http_hangar_value_t *params);
static void ngx_http_hangar_mcp_tools_listed(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_mcp_tools_page(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_http_hangar_value_t *params);
static ngx_int_t ngx_http_hangar_mcp_tools_call(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_http_hangar_value_t *params);
static ngx_int_t ngx_http_hangar_mcp_access(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_http_hangar_entry_t *e,
    ngx_http_hangar_policy_verdict_t *v, ngx_int_t *rc);
static ngx_int_t ngx_http_hangar_mcp_member(ngx_http_hangar_mcp_call_t *mc,
    ngx_str_t *msg);
static ngx_uint_t ngx_http_hangar_mcp_failover(ngx_http_hangar_mcp_call_t *mc);
static ngx_int_t ngx_http_hangar_mcp_start(ngx_http_hangar_mcp_call_t *mc,
    ngx_str_t *msg);
static void ngx_http_hangar_mcp_approved(void *data, ngx_int_t rc,
    ngx_str_t *text);
static void ngx_http_hangar_mcp_ready(ngx_http_hangar_waiter_t *w,
    ngx_int_t rc);
static void ngx_http_hangar_mcp_forward(ngx_http_hangar_mcp_call_t *mc);
static void ngx_http_hangar_mcp_result(void *data,
    ngx_http_hangar_value_t *msg, ngx_str_t *error);
static void ngx_http_hangar_mcp_cleanup(void *data);
static void ngx_http_hangar_mcp_cancelled(void *data);
static void ngx_http_hangar_mcp_progress(void *data,
    ngx_http_hangar_value_t *msg, ngx_str_t *error);
static ngx_int_t ngx_http_hangar_mcp_reply(ngx_http_hangar_mcp_call_t *mc,
    ngx_uint_t last);
static void ngx_http_hangar_mcp_fail(ngx_http_hangar_mcp_call_t *mc,
    ngx_str_t *text);
static void ngx_http_hangar_mcp_tool_result(ngx_http_hangar_out_t *out,
    ngx_pool_t *pool, ngx_http_hangar_value_t *id, ngx_str_t *text);
static ngx_int_t ngx_http_hangar_mcp_tool_error(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_str_t *text);


#define NGX_HTTP_HANGAR_MCP_STREAMS  256


static ngx_int_t ngx_http_hangar_mcp_get(ngx_http_hangar_req_t *hr);
static void ngx_http_hangar_mcp_stream_done(void *data);
static void ngx_http_hangar_mcp_deliver(ngx_http_hangar_registry_t *reg);
static ngx_int_t ngx_http_hangar_mcp_sse_start(ngx_http_request_t *r);
static ngx_int_t ngx_http_hangar_mcp_sse_event(ngx_http_request_t *r,
    ngx_str_t *json, ngx_uint_t last);


/* this worker's open GET streams */
static ngx_http_hangar_stream_t  *ngx_http_hangar_mcp_streams[
                                      NGX_HTTP_HANGAR_MCP_STREAMS];
static ngx_uint_t                 ngx_http_hangar_mcp_nstreams;
static ngx_atomic_uint_t          ngx_http_hangar_mcp_generation;
static ngx_atomic_uint_t          ngx_http_hangar_mcp_cursor; /* mailbox */


static ngx_http_hangar_route_t  ngx_http_hangar_mcp_route = {
    NGX_HTTP_POST, "", "tool:invoke", ngx_http_hangar_mcp_post,
    NGX_HTTP_HANGAR_BODY
};

static const char  *ngx_http_hangar_mcp_versions[] = {
    "2025-11-25", "2025-06-18", "2025-03-26", NULL
};


ngx_int_t
ngx_http_hangar_mcp_handler(ngx_http_hangar_req_t *hr)
{
    ngx_int_t             rc;
    ngx_str_t            *h;
    ngx_str_t             msg;
    ngx_http_request_t   *r;

    r = hr->r;

    /* DNS rebinding: a browser page may only come from allowed origins */
    rc = ngx_http_hangar_edge_mcp(hr);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (r->method == NGX_HTTP_DELETE) {
        ngx_http_hangar_discard_body(r);
        return ngx_http_hangar_mcp_delete(hr);
    }

    if (r->method == NGX_HTTP_GET) {
        ngx_http_hangar_discard_body(r);
        return ngx_http_hangar_mcp_get(hr);
    }

    if (r->method != NGX_HTTP_POST) {
        ngx_http_hangar_discard_body(r);

        ngx_str_set(&msg, "Method Not Allowed: use POST, GET or DELETE");
        return ngx_http_hangar_mcp_error(hr, NGX_HTTP_NOT_ALLOWED, NULL,
                                         -32000, &msg);
    }

    h = ngx_http_hangar_header(r, "Accept");

    if (h == NULL
        || ngx_strlcasestrn(h->data, h->data + h->len,
                            (u_char *) "application/json", 15) == NULL
        || ngx_strlcasestrn(h->data, h->data + h->len,
                            (u_char *) "text/event-stream", 16) == NULL)
    {
        ngx_http_hangar_discard_body(r);
        ngx_str_set(&msg, "Not Acceptable: the client must accept both "
                          "application/json and text/event-stream");
        return ngx_http_hangar_mcp_error(hr, 406, NULL,
                                         -32000, &msg);
    }

    h = ngx_http_hangar_header(r, "Content-Type");

    if (h == NULL
        || ngx_strlcasestrn(h->data, h->data + h->len,
                            (u_char *) "application/json", 15) == NULL)
    {
        ngx_http_hangar_discard_body(r);
        ngx_str_set(&msg, "Unsupported Media Type: the body must be "
                          "application/json");
        return ngx_http_hangar_mcp_error(hr,
                                         NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                         NULL, -32000, &msg);
    }

    hr->route = &ngx_http_hangar_mcp_route;

    return ngx_http_hangar_read_json(hr);
}


static ngx_int_t
ngx_http_hangar_mcp_post(ngx_http_hangar_req_t *hr)
{
    ngx_int_t                   rc;
    ngx_str_t                   msg;
    ngx_uint_t                  kind;
    ngx_http_hangar_sid_t       sid;
    ngx_http_hangar_value_t    *id, *method, *params;
    ngx_http_hangar_mcp_msg_t   m;

    kind = ngx_http_hangar_wire_classify(hr->body, &m);
    id = m.id;
    method = m.method;
    params = m.params;

    switch (kind) {

    case NGX_HTTP_HANGAR_MSG_NOT_ONE:
        ngx_str_set(&msg, "Invalid Request: one JSON-RPC message per POST");
        return ngx_http_hangar_mcp_error(hr, NGX_HTTP_BAD_REQUEST, NULL,
                                         -32600, &msg);

    case NGX_HTTP_HANGAR_MSG_INVALID:
        goto invalid;

    case NGX_HTTP_HANGAR_MSG_OTHER:
        /* notifications and responses: 202, nothing to answer */
        return ngx_http_hangar_sreq_message(hr, hr->body, method, params);

    default: /* NGX_HTTP_HANGAR_MSG_REQUEST */
        break;
    }

    if (ngx_http_hangar_str_is(&method->u.s, "initialize")) {
        return ngx_http_hangar_mcp_initialize(hr, id, params);
    }

    rc = ngx_http_hangar_session_find(hr, &sid);
    if (rc != NGX_OK) {
        return ngx_http_hangar_session_refuse(hr, rc);
    }

    if (ngx_http_hangar_str_is(&method->u.s, "ping")) {
        ngx_http_hangar_mcp_open(&hr->out, id);
        ngx_http_hangar_out_lit(&hr->out, "\"result\":{}}");
        return ngx_http_hangar_send(hr, NGX_HTTP_OK);
    }

    if (ngx_http_hangar_str_is(&method->u.s, "tools/list")) {
        return ngx_http_hangar_mcp_tools_list(hr, id, params);
    }

    if (ngx_http_hangar_str_is(&method->u.s, "tools/call")) {
        return ngx_http_hangar_mcp_tools_call(hr, id, params);
    }

    /* resources, prompts, completion, logging */
    rc = ngx_http_hangar_relay(hr, &sid, method, id, params);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    msg.data = ngx_pnalloc(hr->r->pool, method->u.s.len + 32);
    if (msg.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    msg.len = ngx_sprintf(msg.data, "Method not found: %V", &method->u.s)
              - msg.data;

    return ngx_http_hangar_mcp_error(hr, NGX_HTTP_OK, id, -32601, &msg);

invalid:

    ngx_str_set(&msg, "Invalid Request");

    return ngx_http_hangar_mcp_error(hr, NGX_HTTP_BAD_REQUEST, id, -32600,
                                     &msg);
}


/* ---- sessions ---------------------------------------------------------- */

/* a new session: its id is valid for hangar_mcp_session_ttl */

static ngx_int_t
ngx_http_hangar_mcp_initialize(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_http_hangar_value_t *params)
{
    const char                  *version, **v;
    ngx_table_elt_t             *h;
    ngx_http_hangar_value_t     *want;
    ngx_http_hangar_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(hr->r, ngx_http_hangar_module);

    h = ngx_list_push(&hr->r->headers_out.headers);
    if (h == NULL
        || ngx_http_hangar_session_new(hr, hlcf->session_ttl,
               ngx_http_hangar_session_caps(
                   ngx_http_hangar_get(params, "capabilities")),
               &h->value)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Mcp-Session-Id");

    /* the client's version when we speak it, else our latest */
    want = ngx_http_hangar_get(params, "protocolVersion");
    version = ngx_http_hangar_mcp_versions[0];

    for (v = ngx_http_hangar_mcp_versions; *v; v++) {
        if (ngx_http_hangar_is(want, NGX_HTTP_HANGAR_STR)
            && want->u.s.len == ngx_strlen(*v)
            && ngx_strncmp(want->u.s.data, *v, want->u.s.len) == 0)
        {
            version = *v;
        }
    }

    ngx_http_hangar_mcp_open(&hr->out, id);
    ngx_http_hangar_out_printf(&hr->out,
        "\"result\":{\"protocolVersion\":\"%s\",\"capabilities\":"
        "{\"tools\":{\"listChanged\":true},\"resources\":{\"subscribe\":"
        "true,\"listChanged\":true},\"prompts\":{\"listChanged\":true},"
        "\"completions\":{},\"logging\":{}},\"serverInfo\":{\"name\":"
        "\"mcp-hangar\",\"title\":\"MCP Hangar for nginx\",\"version\":\""
        NGX_HTTP_HANGAR_VERSION "\"}}}", version);

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/*
 * DELETE: the session ends; its id is refused from now on, across
 * restarts, until it would have expired anyway.
 */

static ngx_int_t
ngx_http_hangar_mcp_delete(ngx_http_hangar_req_t *hr)
{
    ngx_int_t              rc;
    ngx_str_t              errmsg, msg;
    ngx_http_hangar_sid_t  sid;

    rc = ngx_http_hangar_session_find(hr, &sid);
    if (rc != NGX_OK) {
        return ngx_http_hangar_session_refuse(hr, rc);
    }

    ngx_str_null(&errmsg);

    rc = ngx_http_hangar_session_end(hr, &sid, &errmsg);

    ngx_http_hangar_mailbox_forget(hr->reg, &sid.text);

    if (rc == NGX_DECLINED) {
        ngx_str_set(&msg, "the session could not be ended: too many ended "
                          "sessions are remembered; it ends when it "
                          "expires");
        return ngx_http_hangar_mcp_error(hr, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         NULL, -32603, &msg);
    }

    if (rc != NGX_OK) {
        ngx_str_set(&msg, "the session could not be ended: the state "
                          "directory is not writable");
        return ngx_http_hangar_mcp_error(hr, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         NULL, -32603, &msg);
    }

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/*
 * A first page waits (on a timer, hangar_mcp_list_wait at most) for the
 * servers whose catalog is not known yet: the list is complete, and the
 * names it gives do not change when they warm a moment later.
 */

static ngx_int_t
ngx_http_hangar_mcp_tools_list(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_http_hangar_value_t *params)
{
    ngx_http_hangar_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(hr->r, ngx_http_hangar_module);

    if (ngx_http_hangar_get(params, "cursor") == NULL
        && ngx_http_hangar_warmup_wait(hr, hlcf->list_wait,
                                       ngx_http_hangar_mcp_tools_listed)
           == NGX_AGAIN)
    {
        hr->r->main->count++;
        return NGX_DONE;
    }

    return ngx_http_hangar_mcp_tools_page(hr, id, params);
}


static void
ngx_http_hangar_mcp_tools_listed(ngx_http_hangar_req_t *hr)
{
    ngx_http_hangar_value_t  *id, *params;

    id = ngx_http_hangar_get(hr->body, "id");
    params = ngx_http_hangar_get(hr->body, "params");

    ngx_http_finalize_request(hr->r,
                              ngx_http_hangar_mcp_tools_page(hr, id, params));
}


static ngx_int_t
ngx_http_hangar_mcp_tools_page(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_http_hangar_value_t *params)
{
    ngx_int_t                          start;
    ngx_uint_t                         i, k, first, shown;
    ngx_array_t                       *entries;
    ngx_http_hangar_out_t             *out;
    ngx_http_hangar_pair_t            *pair;
    ngx_http_hangar_entry_t           *e;
    ngx_http_hangar_value_t           *cursor;
    ngx_http_hangar_loc_conf_t        *hlcf;
    ngx_http_hangar_policy_verdict_t   v;

    hlcf = ngx_http_get_module_loc_conf(hr->r, ngx_http_hangar_module);

    if (ngx_http_hangar_catalog(hr, &entries) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* pages of hangar_mcp_page_size; the cursor is where one starts */
    start = 0;
    cursor = ngx_http_hangar_get(params, "cursor");

    if (ngx_http_hangar_is(cursor, NGX_HTTP_HANGAR_STR)) {
        start = ngx_atoi(cursor->u.s.data, cursor->u.s.len);

        if (start == NGX_ERROR || (ngx_uint_t) start > entries->nelts) {
            ngx_str_t  msg = ngx_string("Invalid params: unknown cursor");
            return ngx_http_hangar_mcp_error(hr, NGX_HTTP_OK, id, -32602,
                                             &msg);
        }
    }

    out = &hr->out;
    ngx_http_hangar_mcp_open(out, id);
    ngx_http_hangar_out_lit(out, "\"result\":{\"tools\":[");

    e = entries->elts;
    first = 1;
    shown = 0;

    for (i = start; i < entries->nelts; i++) {
        /* exactly what this caller may call (RBAC, policy, withdrawals) */
        if (e[i].name.len == 0
            || ngx_http_hangar_catalog_access(hr, &e[i], &v)
               != NGX_HTTP_HANGAR_ACCESS_OK)
        {
            continue;
        }

        if (shown++ == (ngx_uint_t) hlcf->page_size) {
            break;
        }

        if (!first) {
            ngx_http_hangar_out_lit(out, ",");
        }

        first = 0;

        /* the tool as the server describes it, under its exported name */
        ngx_http_hangar_out_lit(out, "{\"name\":");
        ngx_http_hangar_out_str(out, e[i].name.data, e[i].name.len);

        pair = e[i].schema->u.obj.elts;

        for (k = 0; k < e[i].schema->u.obj.nelts; k++) {
            if (ngx_http_hangar_str_is(&pair[k].key, "name")) {
                continue;
            }

            ngx_http_hangar_out_lit(out, ",");
            ngx_http_hangar_out_str(out, pair[k].key.data, pair[k].key.len);
            ngx_http_hangar_out_lit(out, ":");
            ngx_http_hangar_json_out(out, pair[k].value);
        }

        ngx_http_hangar_out_lit(out, "}");
    }

    if (i < entries->nelts) {
        ngx_http_hangar_out_printf(out, "],\"nextCursor\":\"%ui\"}}", i);
        return ngx_http_hangar_send(hr, NGX_HTTP_OK);
    }

    ngx_http_hangar_cp_list(hr, out, first);
    ngx_http_hangar_out_lit(out, "]}}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* ---- tools/call -------------------------------------------------------- */

/*
 * Who may call the tool (ngx_http_hangar_catalog_check()).  NGX_OK: the
 * call goes on, *v holds the policy's verdict: an approval gate comes
 * right after this; NGX_DECLINED: the JSON-RPC error was sent, *rc is what
 * the handler returns.
 */

static ngx_int_t
ngx_http_hangar_mcp_access(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_http_hangar_entry_t *e,
    ngx_http_hangar_policy_verdict_t *v, ngx_int_t *rc)
{
    ngx_str_t  msg;

    switch (ngx_http_hangar_catalog_check(hr, e, v, &msg)) {

    case NGX_HTTP_HANGAR_ACCESS_OK:
        return NGX_OK;

    case NGX_ERROR:
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DECLINED;

    default:
        *rc = ngx_http_hangar_mcp_error(hr, NGX_HTTP_OK, id, -32003, &msg);
        return NGX_DECLINED;
    }
}


static ngx_int_t
ngx_http_hangar_mcp_tools_call(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_http_hangar_value_t *params)
{
    ngx_int_t                          rc;
    ngx_str_t                          msg;
    ngx_pool_cleanup_t                *cln;
    ngx_http_hangar_entry_t           *e;
    ngx_http_hangar_value_t           *name, *copy, *tool;
    ngx_http_hangar_mcp_call_t        *mc;
    ngx_http_hangar_policy_verdict_t   verdict;

    name = ngx_http_hangar_get(params, "name");

    if (!ngx_http_hangar_is(name, NGX_HTTP_HANGAR_STR)) {
        ngx_str_set(&msg, "Invalid params: tools/call needs a name");
        return ngx_http_hangar_mcp_error(hr, NGX_HTTP_OK, id, -32602, &msg);
    }

    rc = ngx_http_hangar_cp_call(hr, id, &name->u.s, params);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (ngx_http_hangar_catalog_find(hr, &name->u.s, &e) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (e == NULL) {
        msg.data = ngx_pnalloc(hr->r->pool, name->u.s.len + 16);
        if (msg.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        msg.len = ngx_sprintf(msg.data, "Unknown tool: %V", &name->u.s)
                  - msg.data;
        return ngx_http_hangar_mcp_error(hr, NGX_HTTP_OK, id, -32601, &msg);
    }

    if (ngx_http_hangar_mcp_access(hr, id, e, &verdict, &rc) != NGX_OK) {
        return rc;
    }

    rc = ngx_http_hangar_limit_call(hr, id, &e->server, &e->tool, NGX_HTTP_OK);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    mc = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_mcp_call_t));
    copy = ngx_http_hangar_value_copy(hr->r->pool, params);
    tool = ngx_http_hangar_value_str(hr->r->pool, e->tool.data,
                                     e->tool.len);

    if (mc == NULL || copy == NULL || tool == NULL
        || ngx_http_hangar_set(hr->r->pool, copy, (u_char *) "name", 4, tool)
           != NGX_OK
        || ngx_http_hangar_json_text(hr->r->pool, copy, &mc->params)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    mc->hr = hr;
    mc->id = id;
    /* the catalog may be rebuilt while the call waits: own copies */
    mc->server.len = e->server.len;
    mc->server.data = ngx_pstrdup(hr->r->pool, &e->server);
    mc->tool.len = e->tool.len;
    mc->tool.data = ngx_pstrdup(hr->r->pool, &e->tool);

    if (mc->server.data == NULL || mc->tool.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_hangar_mcp_member(mc, &msg);

    if (rc != NGX_OK) {
        return rc == NGX_DECLINED ? ngx_http_hangar_mcp_tool_error(hr, id, &msg)
                                  : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    mc->progress = ngx_http_hangar_get(ngx_http_hangar_get(params, "_meta"),
                                       "progressToken") != NULL;
    mc->sse = mc->progress;
    mc->track.caps = ngx_http_hangar_sreq_caps(hr->r, &mc->track.sid);

    cln = ngx_pool_cleanup_add(hr->r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_hangar_mcp_cleanup;
    cln->data = mc;

    /* approvals (hangar-security.md §4): a held call goes on in _approved */
    rc = ngx_http_hangar_approval_hold(hr->r, &mc->server, &mc->tool, params,
                                       &verdict, ngx_http_hangar_mcp_approved,
                                       mc, &msg);

    if (rc == NGX_AGAIN) {
        hr->r->main->count++;
        return NGX_DONE;
    }

    if (rc != NGX_DECLINED) {
        return msg.len ? ngx_http_hangar_mcp_tool_error(hr, id, &msg)
                       : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_hangar_mcp_start(mc, &msg);

    if (rc == NGX_OK || rc == NGX_AGAIN) {
        hr->r->main->count++;

        /* a client that hangs up ends the call (as proxy_pass does) */
        hr->r->read_event_handler = ngx_http_test_reading;

        if (rc == NGX_OK) {
            ngx_http_hangar_mcp_forward(mc);
        }

        return NGX_DONE;
    }

    return ngx_http_hangar_mcp_tool_error(hr, id, &msg);
}


/*
 * A group's tool: the member its strategy picks (hangar-core §3.5), the
 * group kept for the outcome's report and one failover.
 */

static ngx_int_t
ngx_http_hangar_mcp_member(ngx_http_hangar_mcp_call_t *mc, ngx_str_t *msg)
{
    ngx_int_t                     rc;
    ngx_http_hangar_principal_t  *p;

    if (!ngx_http_hangar_group_exists(mc->hr->reg, &mc->server)) {
        return NGX_OK;
    }

    mc->group = mc->server;

    /* the caller's tenant, for the group's canary (hangar-core §3.7) */
    p = ngx_http_hangar_auth_principal(mc->hr->r);

    rc = ngx_http_hangar_group_select_for(mc->hr->reg, &mc->group, NULL,
                                          p ? &p->tenant : NULL,
                                          mc->hr->r->pool, &mc->server);

    if (rc == NGX_DECLINED) {
        msg->data = ngx_pnalloc(mc->hr->r->pool, mc->group.len + 40);
        if (msg->data == NULL) {
            return NGX_ERROR;
        }

        msg->len = ngx_sprintf(msg->data, "No available member in group "
                               "'%V'", &mc->group)
                   - msg->data;
    }

    return rc;
}


/*
 * The member failed before any answer (it could not start, refused, died
 * or timed out): reported, and the call goes once to another member in
 * rotation.  A tool's isError result is an answer, never retried.
 */

static ngx_uint_t
ngx_http_hangar_mcp_failover(ngx_http_hangar_mcp_call_t *mc)
{
    ngx_int_t               rc;
    ngx_str_t               next, msg;
    ngx_http_hangar_req_t  *hr;

    hr = mc->hr;

    if (mc->group.len == 0) {
        return 0;
    }

    ngx_http_hangar_group_report(hr->reg, &mc->group, &mc->server, 0);

    if (mc->failover
        || ngx_http_hangar_group_select(hr->reg, &mc->group, &mc->server,
                                        hr->r->pool, &next)
           != NGX_OK)
    {
        return 0;
    }

    mc->failover = 1;

    ngx_log_error(NGX_LOG_WARN, hr->r->connection->log, 0,
                  "hangar: group \"%V\": the call to \"%V\" failed, "
                  "retried on \"%V\"", &mc->group, &mc->server, &next);

    ngx_http_hangar_waiter_cancel(&hr->waiter);
    mc->server = next;

    rc = ngx_http_hangar_mcp_start(mc, &msg);

    if (rc == NGX_OK) {
        ngx_http_hangar_mcp_forward(mc);
        return 1;
    }

    if (rc == NGX_AGAIN) {
        return 1;
    }

    ngx_http_hangar_group_report(hr->reg, &mc->group, &mc->server, 0);

    return 0;
}


/* lazy start, single flight (hangar-core §2.4): NGX_OK ready, NGX_AGAIN */

static ngx_int_t
ngx_http_hangar_mcp_start(ngx_http_hangar_mcp_call_t *mc, ngx_str_t *msg)
{
    ngx_int_t               rc;
    ngx_msec_t              retry;
    ngx_http_hangar_req_t  *hr;

    hr = mc->hr;

    hr->waiter.id = mc->server;
    hr->waiter.handler = ngx_http_hangar_mcp_ready;
    hr->waiter.data = mc;
    hr->waiter.hold = 1;    /* in flight until the request ends */

    rc = ngx_http_hangar_ensure_ready(hr->reg, &mc->server, 0, &hr->waiter,
                                      hr->r->connection->log, &retry);

    switch (rc) {

    case NGX_OK:
    case NGX_AGAIN:
        return rc;

    case NGX_HTTP_HANGAR_BLOCKED:
        ngx_str_set(msg, "the MCP server is blocked");
        break;

    case NGX_HTTP_HANGAR_BACKOFF:
        ngx_str_set(msg, "the MCP server is degraded; retry later");
        break;

    default:
        ngx_str_set(msg, "the MCP server could not be started");
    }

    return NGX_ERROR;
}


/* the approval gate's word on a held call (its progress, its outcome) */

static void
ngx_http_hangar_mcp_approved(void *data, ngx_int_t rc, ngx_str_t *text)
{
    ngx_str_t                    msg;
    ngx_http_hangar_mcp_call_t  *mc = data;

    if (rc == NGX_AGAIN) {
        if (!mc->sse) {
            return;
        }

        ngx_http_hangar_out_init(&mc->hr->out, mc->hr->r->pool, 512);
        ngx_http_hangar_out_raw(&mc->hr->out, text->data, text->len);

        if (ngx_http_hangar_mcp_reply(mc, 0) == NGX_ERROR) {
            ngx_http_finalize_request(mc->hr->r, NGX_ERROR);
        }

        return;
    }

    if (rc != NGX_OK) {
        ngx_http_hangar_mcp_fail(mc, text);
        return;
    }

    rc = ngx_http_hangar_mcp_start(mc, &msg);

    if (rc == NGX_OK) {
        ngx_http_hangar_mcp_forward(mc);

    } else if (rc != NGX_AGAIN) {
        ngx_http_hangar_mcp_fail(mc, &msg);
    }
}


static void
ngx_http_hangar_mcp_ready(ngx_http_hangar_waiter_t *w, ngx_int_t rc)
{
    ngx_str_t                    msg;
    ngx_http_hangar_mcp_call_t  *mc = w->data;

    if (rc != NGX_OK) {
        if (ngx_http_hangar_mcp_failover(mc)) {
            return;
        }

        ngx_str_set(&msg, "the MCP server could not be started; see "
                          "GET /api/mcp_servers/<id>/logs");
        ngx_http_hangar_mcp_fail(mc, &msg);
        return;
    }

    ngx_http_hangar_mcp_forward(mc);
}


static void
ngx_http_hangar_mcp_forward(ngx_http_hangar_mcp_call_t *mc)
{
    ngx_str_t  msg;

    mc->handle = ngx_http_hangar_server_call(mc->hr->reg, &mc->server,
                                             "tools/call", &mc->params,
                                             &mc->tool,
                                             mc->hr->r->connection->log,
                                             ngx_http_hangar_mcp_result,
                                             ngx_http_hangar_mcp_progress, mc);
    if (mc->handle == NULL) {
        /* a failover forwards (and tracks) the call by itself */
        if (!ngx_http_hangar_mcp_failover(mc)) {
            ngx_str_set(&msg, "the MCP server is not ready");
            ngx_http_hangar_mcp_fail(mc, &msg);
        }

        return;
    }

    mc->track.server = &mc->server;
    mc->track.cancel = ngx_http_hangar_mcp_cancelled;
    mc->track.data = mc;

    ngx_http_hangar_sreq_track(&mc->track, mc->id, mc->handle,
                               mc->hr->r->pool);
}


/* the server's answer goes back verbatim, with the client's id */

static void
ngx_http_hangar_mcp_result(void *data, ngx_http_hangar_value_t *msg,
    ngx_str_t *error)
{
    ngx_http_hangar_mcp_call_t  *mc = data;

    ngx_http_hangar_req_t    *hr;
    ngx_http_hangar_value_t  *v, *text;

    hr = mc->hr;
    mc->handle = NULL;

    v = ngx_http_hangar_get(msg, "error");
    text = ngx_http_hangar_get(v, "message");

    /* the bridge's word that the server died mid-call is a tool error */
    if (ngx_http_hangar_is(text, NGX_HTTP_HANGAR_STR)
        && text->u.s.len > 10
        && ngx_strncmp(text->u.s.data, "MCP server", 10) == 0)
    {
        error = &text->u.s;
        msg = NULL;
    }

    if (msg == NULL) {
        if (!ngx_http_hangar_mcp_failover(mc)) {
            ngx_http_hangar_mcp_fail(mc, error);
        }

        return;
    }

    if (mc->group.len) {
        ngx_http_hangar_group_report(hr->reg, &mc->group, &mc->server, 1);
    }

    ngx_http_hangar_out_init(&hr->out, hr->r->pool, 1024);
    ngx_http_hangar_mcp_open(&hr->out, mc->id);

    if (v) {
        ngx_http_hangar_out_lit(&hr->out, "\"error\":");

    } else {
        v = ngx_http_hangar_get(msg, "result");
        ngx_http_hangar_out_lit(&hr->out, "\"result\":");
        (void) ngx_http_hangar_links_rewrite(hr->r->pool, &mc->server, v);
    }

    if (v) {
        ngx_http_hangar_json_out(&hr->out, v);

    } else {
        ngx_http_hangar_out_lit(&hr->out, "{}");
    }

    ngx_http_hangar_out_lit(&hr->out, "}");

    ngx_http_hangar_audit_call(hr->r, &mc->server, &mc->tool, &mc->params,
                               msg, hr->out.size);
    ngx_http_finalize_request(hr->r, ngx_http_hangar_mcp_reply(mc, 1));
}


/*
 * What the server sends before its answer, relayed on an SSE answer:
 * progress (if asked for), log messages, its requests (mcp_sreq.c).
 */

static void
ngx_http_hangar_mcp_progress(void *data, ngx_http_hangar_value_t *msg,
    ngx_str_t *error)
{
    ngx_int_t                    rc;
    ngx_http_hangar_value_t     *method;
    ngx_http_hangar_mcp_call_t  *mc = data;

    method = ngx_http_hangar_get(msg, "method");

    if (ngx_http_hangar_get(msg, "id")) {
        rc = ngx_http_hangar_sreq_relay(mc->hr, &mc->track, msg,
                                        &mc->hr->out);
        if (rc == NGX_DECLINED) {
            return;
        }

        if (rc == NGX_ERROR) {
            goto failed;
        }

    } else {
        if (!mc->progress && ngx_http_hangar_is(method, NGX_HTTP_HANGAR_STR)
            && ngx_http_hangar_str_is(&method->u.s, "notifications/progress"))
        {
            return;
        }

        ngx_http_hangar_out_init(&mc->hr->out, mc->hr->r->pool, 512);
        ngx_http_hangar_json_out(&mc->hr->out, msg);
    }

    /* every POST accepts text/event-stream (ngx_http_hangar_mcp_handler) */
    mc->sse = 1;

    if (ngx_http_hangar_mcp_reply(mc, 0) != NGX_ERROR) {
        return;
    }

failed:

    ngx_http_hangar_server_call_abandon(mc->handle);
    mc->handle = NULL;
    ngx_http_finalize_request(mc->hr->r, NGX_ERROR);
}


/*
 * What is in hr->out goes to the client: as the JSON answer, or, when the
 * client asked for progress, as an SSE event of a stream that the last
 * one ends.  SSE is flushed at once, never buffered.
 */

static ngx_int_t
ngx_http_hangar_mcp_reply(ngx_http_hangar_mcp_call_t *mc, ngx_uint_t last)
{
    ngx_str_t               json;
    ngx_http_request_t     *r;
    ngx_http_hangar_req_t  *hr;

    hr = mc->hr;
    r = hr->r;

    if (!mc->sse) {
        return ngx_http_hangar_send(hr, NGX_HTTP_OK);
    }

    if (!mc->started) {
        mc->started = 1;

        if (ngx_http_hangar_mcp_sse_start(r) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_hangar_out_flatten(&hr->out, &json) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_hangar_mcp_sse_event(r, &json, last);
}


/* a failure of the call, as a tool result with isError */

static void
ngx_http_hangar_mcp_fail(ngx_http_hangar_mcp_call_t *mc, ngx_str_t *text)
{
    ngx_http_hangar_req_t  *hr = mc->hr;

    ngx_http_hangar_mcp_tool_result(&hr->out, hr->r->pool, mc->id, text);
    ngx_http_hangar_audit_call(hr->r, &mc->server, &mc->tool, &mc->params,
                               NULL, hr->out.size);
    ngx_http_finalize_request(hr->r, ngx_http_hangar_mcp_reply(mc, 1));
}


/* an upstream failure is a tool result with isError, not a protocol error */

static void
ngx_http_hangar_mcp_tool_result(ngx_http_hangar_out_t *out, ngx_pool_t *pool,
    ngx_http_hangar_value_t *id, ngx_str_t *text)
{
    ngx_http_hangar_out_init(out, pool, 512);
    ngx_http_hangar_mcp_open(out, id);
    ngx_http_hangar_out_lit(out, "\"result\":{\"content\":[{\"type\":\"text\","
                                 "\"text\":");
    ngx_http_hangar_out_str(out, text->data, text->len);
    ngx_http_hangar_out_lit(out, "}],\"isError\":true}}");
}


static ngx_int_t
ngx_http_hangar_mcp_tool_error(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_str_t *text)
{
    ngx_http_hangar_mcp_tool_result(&hr->out, hr->r->pool, id, text);

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


static void
ngx_http_hangar_mcp_cleanup(void *data)
{
    ngx_http_hangar_mcp_call_t  *mc = data;

    ngx_http_hangar_waiter_cancel(&mc->hr->waiter);

    /* the request ends before the answer: the client is gone */
    if (mc->handle) {
        ngx_http_hangar_sreq_gone(mc->hr->reg, &mc->track, mc->handle);
        mc->handle = NULL;
    }

    ngx_http_hangar_sreq_untrack(&mc->track);
}


/* notifications/cancelled for this call (ngx_http_hangar_sreq_message) */

static void
ngx_http_hangar_mcp_cancelled(void *data)
{
    ngx_http_hangar_mcp_call_t  *mc = data;

    if (mc->handle == NULL) {
        return;
    }

    ngx_http_hangar_server_call_end(mc->handle);
    mc->handle = NULL;

    ngx_http_hangar_out_init(&mc->hr->out, mc->hr->r->pool, 256);
    ngx_http_hangar_mcp_open(&mc->hr->out, mc->id);
    ngx_http_hangar_out_lit(&mc->hr->out, "\"error\":{\"code\":-32800,"
                            "\"message\":\"Request cancelled\"}}");
    ngx_http_finalize_request(mc->hr->r, ngx_http_hangar_mcp_reply(mc, 1));
}


/*
 * GET: the server-to-client stream of a session.  The fleet's catalog
 * changing (the registry's generation) is announced on every open stream
 * as notifications/tools/list_changed.  A session and a client address
 * hold at most hangar_mcp_streams_per_session and _per_client of them,
 * so that nobody takes every slot.
 */

static ngx_int_t
ngx_http_hangar_mcp_get(ngx_http_hangar_req_t *hr)
{
    ngx_int_t                    rc;
    ngx_str_t                   *h, msg;
    ngx_uint_t                   limit;
    const char                  *which;
    ngx_pool_cleanup_t          *cln;
    ngx_http_request_t          *r;
    ngx_http_hangar_sid_t        sid;
    ngx_http_hangar_stream_t    *stream;
    ngx_http_hangar_loc_conf_t  *hlcf;

    r = hr->r;
    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hangar_module);

    h = ngx_http_hangar_header(r, "Accept");

    if (h == NULL
        || ngx_strlcasestrn(h->data, h->data + h->len,
                            (u_char *) "text/event-stream", 16) == NULL)
    {
        ngx_str_set(&msg, "Not Acceptable: the stream is text/event-stream");
        return ngx_http_hangar_mcp_error(hr, 406, NULL, -32000, &msg);
    }

    rc = ngx_http_hangar_session_find(hr, &sid);
    if (rc != NGX_OK) {
        return ngx_http_hangar_session_refuse(hr, rc);
    }

    if (ngx_http_hangar_mcp_nstreams == NGX_HTTP_HANGAR_MCP_STREAMS) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "hangar: all %d GET streams of this worker are open",
                      NGX_HTTP_HANGAR_MCP_STREAMS);
        ngx_str_set(&msg, "Too many streams");
        return ngx_http_hangar_mcp_error(hr, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         NULL, -32000, &msg);
    }

    stream = ngx_pcalloc(r->pool, sizeof(ngx_http_hangar_stream_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (stream == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    stream->r = r;
    stream->session.len = ngx_min(sid.text.len, NGX_HTTP_HANGAR_SID_LEN);
    stream->session.data = stream->key;
    ngx_memcpy(stream->key, sid.text.data, stream->session.len);

    rc = ngx_http_hangar_streams_enter(hr, &sid, hlcf->streams_per_session,
                                       hlcf->streams_per_client,
                                       &stream->held, &which);

    if (rc == NGX_BUSY) {
        limit = (which[0] == 's') ? hlcf->streams_per_session
                                  : hlcf->streams_per_client;

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "hangar: GET stream refused, the %s holds %ui, "
                      "the limit", which, limit);

        msg.data = ngx_pnalloc(r->pool, 80);
        if (msg.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        msg.len = ngx_sprintf(msg.data, "Too many streams for this %s "
                              "(limit %ui)", which, limit)
                  - msg.data;

        return ngx_http_hangar_mcp_error(hr, NGX_HTTP_TOO_MANY_REQUESTS,
                                         NULL, -32000, &msg);
    }

    if (rc != NGX_OK) {
        ngx_str_set(&msg, "the registry zone is full");
        return ngx_http_hangar_mcp_error(hr, 507, NULL, -32603, &msg);
    }

    /* the counters go back whatever ends the request */
    cln->handler = ngx_http_hangar_mcp_stream_done;
    cln->data = stream;

    if (ngx_http_hangar_mcp_sse_start(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hangar_mcp_nstreams == 0) {
        ngx_http_hangar_mcp_generation = hr->reg->sh->generation;
    }

    ngx_http_hangar_mcp_streams[ngx_http_hangar_mcp_nstreams++] = stream;

    /* the client closing the stream ends the request */
    r->read_event_handler = ngx_http_test_reading;
    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_hangar_mcp_stream_done(void *data)
{
    ngx_http_hangar_stream_t  *stream = data;

    ngx_uint_t  i;

    ngx_http_hangar_streams_leave(&stream->held);

    for (i = 0; i < ngx_http_hangar_mcp_nstreams; i++) {
        if (ngx_http_hangar_mcp_streams[i] == stream) {
            ngx_http_hangar_mcp_streams[i] =
                ngx_http_hangar_mcp_streams[--ngx_http_hangar_mcp_nstreams];
            return;
        }
    }
}


/* called by every worker's tick */

void
ngx_http_hangar_mcp_tick(ngx_http_hangar_registry_t *reg)
{
    ngx_uint_t           i;
    ngx_str_t            note = ngx_string("{\"jsonrpc\":\"2.0\",\"method\":"
                                    "\"notifications/tools/list_changed\"}");
    ngx_http_request_t  *r;

    if (ngx_http_hangar_mcp_nstreams == 0) {
        /* nothing to deliver: what is queued now is not for this worker */
        ngx_http_hangar_mcp_cursor = ngx_http_hangar_mailbox_last(reg);
        return;
    }

    ngx_http_hangar_mcp_deliver(reg);

    if (ngx_http_hangar_mcp_generation == reg->sh->generation) {
        return;
    }

    ngx_http_hangar_mcp_generation = reg->sh->generation;

    for (i = ngx_http_hangar_mcp_nstreams; i > 0; i--) {
        r = ngx_http_hangar_mcp_streams[i - 1]->r;

        if (ngx_http_hangar_mcp_sse_event(r, &note, 0) == NGX_ERROR) {
            ngx_http_finalize_request(r, NGX_ERROR);
        }
    }
}


/*
 * The mailbox's messages for this worker's streams: those of a session go
 * to its streams, the others to every stream.
 */

static void
ngx_http_hangar_mcp_deliver(ngx_http_hangar_registry_t *reg)
{
    ngx_str_t                  keys[NGX_HTTP_HANGAR_MCP_STREAMS];
    ngx_uint_t                 i, k, n, lost;
    ngx_pool_t                *pool;
    ngx_array_t               *letters;
    ngx_http_request_t        *r;
    ngx_http_hangar_stream_t  *st[NGX_HTTP_HANGAR_MCP_STREAMS];
    ngx_http_hangar_letter_t  *l;

    if (ngx_http_hangar_mcp_cursor == ngx_http_hangar_mailbox_last(reg)) {
        return;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    n = ngx_http_hangar_mcp_nstreams;

    for (i = 0; i < n; i++) {
        st[i] = ngx_http_hangar_mcp_streams[i];
        keys[i] = st[i]->session;
    }

    if (ngx_http_hangar_mailbox_take(reg, &ngx_http_hangar_mcp_cursor, pool,
                                     keys, n, &letters, &lost)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "hangar: the GET streams' messages could not be "
                      "taken: out of memory");
    }

    if (lost) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "hangar: %ui messages for GET streams were dropped "
                      "before delivery (the mailbox is full)", lost);
    }

    l = letters ? letters->elts : NULL;

    /* a stream that fails ends, and leaves the list: st[] is a copy */
    for (k = 0; letters && k < letters->nelts; k++) {
        for (i = 0; i < n; i++) {
            if (st[i] == NULL
                || (l[k].session.len
                    && (l[k].session.len != st[i]->session.len
                        || ngx_memcmp(l[k].session.data, st[i]->session.data,
                                      l[k].session.len) != 0)))
            {
                continue;
            }

            r = st[i]->r;

            if (ngx_http_hangar_mcp_sse_event(r, &l[k].json, 0)
                == NGX_ERROR)
            {
                st[i] = NULL;
                ngx_http_finalize_request(r, NGX_ERROR);
            }
        }
    }

    ngx_destroy_pool(pool);
}


static ngx_int_t
ngx_http_hangar_mcp_sse_start(ngx_http_request_t *r)
{
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = -1;
    ngx_str_set(&r->headers_out.content_type, "text/event-stream");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-cache");

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "X-Accel-Buffering");
    ngx_str_set(&h->value, "no");

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return NGX_ERROR;
    }

    /* the headers go out now: the client is waiting for the stream */
    return (ngx_http_send_special(r, NGX_HTTP_FLUSH) == NGX_ERROR)
           ? NGX_ERROR : NGX_OK;
}


static ngx_int_t
ngx_http_hangar_mcp_sse_event(ngx_http_request_t *r, ngx_str_t *json,
    ngx_uint_t last)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   cl;

    b = ngx_create_temp_buf(r->pool, json->len
                                     + sizeof("event: message\ndata: \n\n"));
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_sprintf(b->last, "event: message\ndata: %V\n\n", json);
    b->flush = 1;

    if (last) {
        b->last_buf = (r == r->main);
        b->last_in_chain = 1;
    }

    cl.buf = b;
    cl.next = NULL;

    rc = ngx_http_output_filter(r, &cl);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    return last ? rc : NGX_OK;
}


void
ngx_http_hangar_mcp_exit(void)
{
    ngx_str_t            none = ngx_null_string;
    ngx_http_request_t  *r;

    while (ngx_http_hangar_mcp_nstreams) {
        r = ngx_http_hangar_mcp_streams[ngx_http_hangar_mcp_nstreams - 1]->r;

        /* the cleanup takes it off the list */
        ngx_http_finalize_request(r,
            ngx_http_hangar_mcp_sse_event(r, &none, 1) == NGX_ERROR
            ? NGX_ERROR : NGX_OK);

        if (ngx_http_hangar_mcp_nstreams
            && ngx_http_hangar_mcp_streams[ngx_http_hangar_mcp_nstreams - 1]->r
               == r)
        {
            ngx_http_hangar_mcp_nstreams--;
        }
    }
}
