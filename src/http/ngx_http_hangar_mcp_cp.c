
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The control-plane tools on the front door (hangar-core.md §7.1, §7.2,
 * §7.5).  Every tool but hangar_call is wrapped: (1) the rate limit, (2)
 * its permission (auth off: allowed), (3) its server or group id
 * checked; a refusal there is a tool error (isError).  What the tool
 * itself finds wrong (an unknown server, a failed start) is a normal
 * result {"error","type","details"}.  The answers are the REST API's own
 * writers.  This file: the table, the wrapper and the tools of one
 * server; the fleet's in ngx_http_hangar_mcp_cp_fleet.c, the groups' in
 * ngx_http_hangar_mcp_cp_groups.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_mcp_cp.h"
#include "ngx_http_hangar_mcp_cp_fleet.h"
#include "ngx_http_hangar_mcp_cp_groups.h"
#include "ngx_http_hangar_mcp_batch.h"
#include "ngx_http_hangar_api_servers.h"
#include "ngx_http_hangar_api_server_ops.h"
#include "ngx_http_hangar_api_limit.h"
#include "ngx_http_hangar_policy.h"


#define NGX_HTTP_HANGAR_WARM_PENDING  0
#define NGX_HTTP_HANGAR_WARM_ALREADY  1
#define NGX_HTTP_HANGAR_WARM_DONE     2
#define NGX_HTTP_HANGAR_WARM_FAILED   3


static ngx_int_t ngx_http_hangar_cp_wrap(ngx_http_hangar_cp_t *cp);
static ngx_uint_t ngx_http_hangar_cp_valid_id(ngx_str_t *id);
static ngx_int_t ngx_http_hangar_cp_refuse(ngx_http_hangar_cp_t *cp,
    const char *fmt, ...);
static ngx_int_t ngx_http_hangar_cp_failed(ngx_http_hangar_cp_t *cp,
    ngx_int_t rc, ngx_msec_t retry);
static void ngx_http_hangar_cp_tools_out(ngx_http_hangar_cp_t *cp,
    ngx_str_t *text, ngx_uint_t *filtered);
static ngx_int_t ngx_http_hangar_cp_ensure(ngx_http_hangar_cp_t *cp,
    ngx_uint_t explicit, ngx_http_hangar_cp_pt answer);
static void ngx_http_hangar_cp_ready(ngx_http_hangar_waiter_t *w,
    ngx_int_t rc);
static ngx_int_t ngx_http_hangar_cp_start(ngx_http_hangar_cp_t *cp);
static ngx_int_t ngx_http_hangar_cp_start_answer(ngx_http_hangar_cp_t *cp);
static ngx_int_t ngx_http_hangar_cp_stop(ngx_http_hangar_cp_t *cp);
static ngx_int_t ngx_http_hangar_cp_tools(ngx_http_hangar_cp_t *cp);
static ngx_int_t ngx_http_hangar_cp_tools_answer(ngx_http_hangar_cp_t *cp);
static ngx_int_t ngx_http_hangar_cp_details(ngx_http_hangar_cp_t *cp);
static ngx_int_t ngx_http_hangar_cp_describe(ngx_http_hangar_cp_t *cp,
    ngx_uint_t details);
static void ngx_http_hangar_cp_policy(ngx_http_hangar_cp_t *cp,
    ngx_uint_t filtered);
static ngx_int_t ngx_http_hangar_cp_warm(ngx_http_hangar_cp_t *cp);
static ngx_int_t ngx_http_hangar_cp_warm_ids(ngx_http_hangar_cp_t *cp,
    ngx_http_hangar_value_t *list);
static void ngx_http_hangar_cp_warmed(ngx_http_hangar_waiter_t *w,
    ngx_int_t rc);
static ngx_int_t ngx_http_hangar_cp_warm_answer(ngx_http_hangar_cp_t *cp);
static ngx_int_t ngx_http_hangar_cp_call_batch(ngx_http_hangar_cp_t *cp);


#define ngx_http_hangar_cp_schema(props, required)                           \
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{" props "}"        \
    required "}"

#define NGX_HTTP_HANGAR_CP_SERVER                                            \
    ngx_http_hangar_cp_schema("\"mcp_server\":{\"type\":\"string\","         \
                              "\"description\":\"MCP server id\"}",          \
                              ",\"required\":[\"mcp_server\"]")


/* the argument of each kind of id a tool takes */
static const char  *ngx_http_hangar_cp_id_args[] = {
    NULL, "mcp_server", "group"
};


static ngx_http_hangar_cp_tool_t  ngx_http_hangar_cp_tools_table[] = {

    { ngx_string("hangar_list"), "mcp_servers", "read", 0,
      ngx_http_hangar_cp_list_servers,
      "\"description\":\"List the MCP servers (and groups) with their "
      "state\"," ngx_http_hangar_cp_schema("\"state_filter\":{\"type\":"
      "[\"string\",\"null\"],\"description\":\"cold, initializing, ready, "
      "degraded or dead\"}", "") },

    { ngx_string("hangar_status"), "mcp_servers", "read", 0,
      ngx_http_hangar_cp_status,
      "\"description\":\"A dashboard of the fleet: every server with an "
      "indicator, and a summary\"," ngx_http_hangar_cp_schema("", "") },

    { ngx_string("hangar_start"), "mcp_servers", "lifecycle",
      NGX_HTTP_HANGAR_CP_SERVER_ID, ngx_http_hangar_cp_start,
      "\"description\":\"Start an MCP server (waits until it is ready)\","
      NGX_HTTP_HANGAR_CP_SERVER },

    { ngx_string("hangar_stop"), "mcp_servers", "lifecycle",
      NGX_HTTP_HANGAR_CP_SERVER_ID, ngx_http_hangar_cp_stop,
      "\"description\":\"Stop an MCP server\"," NGX_HTTP_HANGAR_CP_SERVER },

    { ngx_string("hangar_tools"), "mcp_servers", "read",
      NGX_HTTP_HANGAR_CP_SERVER_ID, ngx_http_hangar_cp_tools,
      "\"description\":\"The tools of an MCP server (started when its "
      "tools are not known)\"," NGX_HTTP_HANGAR_CP_SERVER },

    { ngx_string("hangar_details"), "mcp_servers", "read",
      NGX_HTTP_HANGAR_CP_SERVER_ID, ngx_http_hangar_cp_details,
      "\"description\":\"The details of an MCP server: state, health, "
      "tools, tool policy\"," NGX_HTTP_HANGAR_CP_SERVER },

    { ngx_string("hangar_warm"), "mcp_servers", "lifecycle", 0,
      ngx_http_hangar_cp_warm,
      "\"description\":\"Start MCP servers ahead of use\","
      ngx_http_hangar_cp_schema("\"mcp_servers\":{\"type\":[\"string\","
      "\"null\"],\"description\":\"comma-separated ids; null: all\"}", "") },

    { ngx_string("hangar_health"), "mcp_servers", "read", 0,
      ngx_http_hangar_cp_health,
      "\"description\":\"The health of the fleet\","
      ngx_http_hangar_cp_schema("", "") },

    { ngx_string("hangar_metrics"), "metrics", "read", 0,
      ngx_http_hangar_cp_metrics,
      "\"description\":\"The fleet's metrics, as JSON or Prometheus "
      "text\"," ngx_http_hangar_cp_schema("\"format\":{\"type\":\"string\","
      "\"enum\":[\"json\",\"prometheus\"],\"default\":\"json\"}", "") },

    { ngx_string("hangar_group_list"), "group", "read", 0,
      ngx_http_hangar_cp_group_list,
      "\"description\":\"The groups with their members, rotation and "
      "circuit breaker\"," ngx_http_hangar_cp_schema("", "") },

    { ngx_string("hangar_group_rebalance"), "group", "update",
      NGX_HTTP_HANGAR_CP_GROUP_ID, ngx_http_hangar_cp_group_rebalance,
      "\"description\":\"Rebalance a group: members whose server is ready "
      "or cold back in rotation, the others out; the strategy and the "
      "circuit breaker reset\"," ngx_http_hangar_cp_schema("\"group\":{"
      "\"type\":\"string\",\"description\":\"group id\"}",
      ",\"required\":[\"group\"]") },

    { ngx_string("hangar_call"), NULL, NULL, 0,
      ngx_http_hangar_cp_call_batch,
      "\"description\":\"Call tools of MCP servers, in parallel\","
      ngx_http_hangar_cp_schema("\"calls\":{\"type\":\"array\",\"items\":"
      "{\"type\":\"object\",\"properties\":{\"mcp_server\":{\"type\":"
      "\"string\"},\"tool\":{\"type\":\"string\"},\"arguments\":{\"type\":"
      "\"object\"},\"timeout\":{\"type\":\"number\",\"exclusiveMinimum\":0}}"
      ",\"required\":[\"mcp_server\",\"tool\",\"arguments\"]}},"
      "\"max_concurrency\":{\"type\":\"integer\",\"default\":10,"
      "\"minimum\":1,\"maximum\":50},\"timeout\":{\"type\":\"number\","
      "\"default\":60,\"minimum\":1,\"maximum\":300},\"fail_fast\":"
      "{\"type\":\"boolean\",\"default\":false},\"max_attempts\":"
      "{\"type\":\"integer\",\"default\":1,\"minimum\":1,\"maximum\":10}",
      ",\"required\":[\"calls\"]") },

    { ngx_null_string, NULL, NULL, 0, NULL, NULL }
};


/* ---- the hooks of the front door --------------------------------------- */

void
ngx_http_hangar_cp_list(ngx_http_hangar_req_t *hr, ngx_http_hangar_out_t *out,
    ngx_uint_t first)
{
    ngx_http_hangar_cp_tool_t   *t;
    ngx_http_hangar_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(hr->r, ngx_http_hangar_module);

    if (!hlcf->control_tools) {
        return;
    }

    for (t = ngx_http_hangar_cp_tools_table; t->name.len; t++) {
        if (!ngx_http_hangar_auth_allowed(hr->r,
                                          t->resource ? t->resource : "tool",
                                          t->action ? t->action : "invoke",
                                          t->resource ? NULL : &t->name))
        {
            continue;
        }

        ngx_http_hangar_out_printf(out, "%s{\"name\":\"%V\",",
                                   first ? "" : ",", &t->name);
        ngx_http_hangar_out_raw(out, t->doc, ngx_strlen(t->doc));
        ngx_http_hangar_out_lit(out, "}");
        first = 0;
    }
}


ngx_int_t
ngx_http_hangar_cp_call(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_str_t *name,
    ngx_http_hangar_value_t *params)
{
    ngx_http_hangar_cp_t        *cp;
    ngx_http_hangar_cp_tool_t   *t;
    ngx_http_hangar_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(hr->r, ngx_http_hangar_module);

    if (!hlcf->control_tools) {
        return NGX_DECLINED;
    }

    for (t = ngx_http_hangar_cp_tools_table; t->name.len; t++) {
        if (t->name.len == name->len
            && ngx_strncmp(t->name.data, name->data, name->len) == 0)
        {
            break;
        }
    }

    if (t->name.len == 0) {
        return NGX_DECLINED;
    }

    cp = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_cp_t));
    if (cp == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cp->hr = hr;
    cp->id = id;
    cp->tool = t;
    cp->args = ngx_http_hangar_get(params, "arguments");

    ngx_http_hangar_out_init(&cp->body, hr->r->pool, 1024);

    if (cp->args && cp->args->type == NGX_HTTP_HANGAR_NULL) {
        cp->args = NULL;
    }

    if (cp->args && cp->args->type != NGX_HTTP_HANGAR_OBJ) {
        return ngx_http_hangar_cp_refuse(cp, "Invalid arguments for %V: "
                                         "arguments must be an object",
                                         name);
    }

    if (t->resource == NULL) {
        /* hangar_call authorizes each of its calls itself */
        return t->handler(cp);
    }

    return ngx_http_hangar_cp_wrap(cp);
}


/* the rate limit, the permission, the server or group id; then the tool */

static ngx_int_t
ngx_http_hangar_cp_wrap(ngx_http_hangar_cp_t *cp)
{
    u_char                           msg[256], *p, *key;
    ngx_str_t                        hangar, tool;
    ngx_http_request_t              *r;
    ngx_http_hangar_value_t         *v;
    ngx_http_hangar_cp_tool_t       *t;
    ngx_http_hangar_principal_t     *pr;
    ngx_http_hangar_limit_refusal_t  no;

    r = cp->hr->r;
    t = cp->tool;

    v = t->takes ? ngx_http_hangar_get(cp->args,
                                       ngx_http_hangar_cp_id_args[t->takes])
                 : NULL;

    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        cp->server = v->u.s;
    }

    /* one bucket per tool and id: "hangar_start:<id>" */
    key = ngx_pnalloc(r->pool, t->name.len + 1 + cp->server.len);
    if (key == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    tool.data = key;
    tool.len = (cp->server.len ? ngx_sprintf(key, "%V:%V", &t->name,
                                             &cp->server)
                               : ngx_sprintf(key, "%V", &t->name))
               - key;
    ngx_str_set(&hangar, "hangar");
    pr = ngx_http_hangar_auth_principal(r);

    if (ngx_http_hangar_limit_take(cp->hr->reg, r, pr ? &pr->id : NULL,
                                   &hangar, &tool, &no)
        == NGX_BUSY)
    {
        p = ngx_http_hangar_limit_message(msg, msg + sizeof(msg), &no);
        return ngx_http_hangar_cp_refuse(cp, "%*s", p - msg, msg);
    }

    if (ngx_http_hangar_auth_enabled() && (pr == NULL || pr->anonymous)) {
        return ngx_http_hangar_cp_refuse(cp, "Authentication required to "
                                         "call '%V'", &t->name);
    }

    if (!ngx_http_hangar_auth_allowed(r, t->resource, t->action, NULL)) {
        ngx_http_hangar_auth_record(r, "AuthorizationDenied", pr,
                                    "tool %V needs %s:%s", &t->name,
                                    t->resource, t->action);
        return ngx_http_hangar_cp_refuse(cp, "Not authorized to call '%V': "
                                         "%s:%s permission required",
                                         &t->name, t->resource, t->action);
    }

    if (t->takes && v == NULL) {
        return ngx_http_hangar_cp_refuse(cp, "Invalid arguments for %V: "
                                         "%s is required", &t->name,
                                         ngx_http_hangar_cp_id_args[t->takes]);
    }

    if (t->takes == NGX_HTTP_HANGAR_CP_SERVER_ID
        && !ngx_http_hangar_cp_valid_id(&cp->server))
    {
        return ngx_http_hangar_cp_refuse(cp, "Invalid arguments for %V: "
                                         "mcp_server must match "
                                         "^[A-Za-z][A-Za-z0-9_-]{0,63}$",
                                         &t->name);
    }

    /* a group's id is what the REST API accepts for one */
    if (t->takes == NGX_HTTP_HANGAR_CP_GROUP_ID
        && !ngx_http_hangar_id_chars(&cp->server, NGX_HTTP_HANGAR_ID_MAX))
    {
        return ngx_http_hangar_cp_refuse(cp, "Invalid arguments for %V: "
                                         "group must match "
                                         "^[A-Za-z0-9_-]{1,64}$", &t->name);
    }

    return t->handler(cp);
}


/* ^[A-Za-z][A-Za-z0-9_-]{0,63}$ */

static ngx_uint_t
ngx_http_hangar_cp_valid_id(ngx_str_t *id)
{
    u_char      ch;
    ngx_uint_t  i;

    if (id->len == 0 || id->len > 64) {
        return 0;
    }

    for (i = 0; i < id->len; i++) {
        ch = id->data[i];

        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')
              || (i && ((ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))))
        {
            return 0;
        }
    }

    return 1;
}


/* ---- answers ----------------------------------------------------------- */

/* a refusal of the wrapper: a tool error */

static ngx_int_t
ngx_http_hangar_cp_refuse(ngx_http_hangar_cp_t *cp, const char *fmt, ...)
{
    u_char     *p, buf[512];
    va_list     args;
    ngx_str_t   msg;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    msg.data = buf;
    msg.len = p - buf;

    ngx_http_hangar_batch_answer(cp->hr, cp->id, &msg, 1);

    return ngx_http_hangar_send(cp->hr, NGX_HTTP_OK);
}


/* a start that did not end ready, as the tool's error result */

static ngx_int_t
ngx_http_hangar_cp_failed(ngx_http_hangar_cp_t *cp, ngx_int_t rc,
    ngx_msec_t retry)
{
    u_char     buf[64];
    ngx_str_t  text, msg, details;

    switch (rc) {

    case NGX_HTTP_HANGAR_UNKNOWN:
    case NGX_ABORT:
        return ngx_http_hangar_cp_unknown(cp);

    case NGX_HTTP_HANGAR_BLOCKED:
        return ngx_http_hangar_cp_error(cp, "McpServerStartError", NULL,
                                        "Failed to start mcp_server: the MCP "
                                        "server is blocked");

    case NGX_HTTP_HANGAR_BACKOFF:
        details.data = buf;
        details.len = ngx_sprintf(buf, "{\"time_until_retry_s\":%.1f}",
                                  (double) retry / 1000) - buf;

        return ngx_http_hangar_cp_error(cp, "CannotStartMcpServerError",
                                        &details, "Cannot start mcp_server: "
                                        "backoff not elapsed, retry in "
                                        "%.1fs", (double) retry / 1000);
    }

    if (ngx_http_hangar_start_outcome(cp->hr->reg, cp->hr->r->pool,
                                      &cp->server, NGX_ERROR, &text)
        != NGX_OK)
    {
        return ngx_http_hangar_cp_unknown(cp);
    }

    if (ngx_http_hangar_start_failure(cp->hr->r->pool, &text, &msg)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hangar_cp_error(cp, "McpServerStartError", &text, "%V",
                                    &msg);
}


/*
 * "tools":[...] of a server's catalog (text), without what the tool
 * access policy hides from the caller; *filtered: how many were hidden.
 */

static void
ngx_http_hangar_cp_tools_out(ngx_http_hangar_cp_t *cp, ngx_str_t *text,
    ngx_uint_t *filtered)
{
    ngx_str_t                          err, *tenant;
    ngx_uint_t                         i, first;
    ngx_http_hangar_value_t           *list, **items, *name;
    ngx_http_hangar_principal_t       *p;
    ngx_http_hangar_policy_verdict_t   v;

    *filtered = 0;

    p = ngx_http_hangar_auth_principal(cp->hr->r);
    tenant = (p && p->tenant.len) ? &p->tenant : NULL;

    list = text->len ? ngx_http_hangar_json_parse(cp->hr->r->pool,
                                                  text->data, text->len,
                                                  &err)
                     : NULL;

    ngx_http_hangar_out_lit(&cp->body, "\"tools\":[");

    items = ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)
            ? list->u.arr.elts : NULL;
    first = 1;

    for (i = 0; items && i < list->u.arr.nelts; i++) {
        name = ngx_http_hangar_get(items[i], "name");

        if (!ngx_http_hangar_is(name, NGX_HTTP_HANGAR_STR)
            || ngx_http_hangar_policy_decide(cp->hr->reg, &cp->server, NULL,
                                             tenant,
                                             NGX_HTTP_HANGAR_POLICY_TOOL,
                                             &name->u.s, &v)
               != NGX_OK
            || !v.allowed)
        {
            (*filtered)++;
            continue;
        }

        if (!first) {
            ngx_http_hangar_out_lit(&cp->body, ",");
        }

        first = 0;
        ngx_http_hangar_json_out(&cp->body, items[i]);
    }

    ngx_http_hangar_out_lit(&cp->body, "]");
}


/* ---- the tools --------------------------------------------------------- */

/*
 * The server ready (started if need be; explicit: as a REST start), then
 * answer(cp); a start that fails is the tool's error result.
 */

static ngx_int_t
ngx_http_hangar_cp_ensure(ngx_http_hangar_cp_t *cp, ngx_uint_t explicit,
    ngx_http_hangar_cp_pt answer)
{
    ngx_int_t               rc;
    ngx_msec_t              retry;
    ngx_http_hangar_req_t  *hr;

    hr = cp->hr;

    cp->answer = answer;
    hr->waiter.handler = ngx_http_hangar_cp_ready;
    hr->waiter.data = cp;

    rc = ngx_http_hangar_ensure_ready(hr->reg, &cp->server, explicit,
                                      &hr->waiter, hr->r->connection->log,
                                      &retry);

    /* an explicit start lifts a block, for good */
    if (cp->blocked && rc != NGX_HTTP_HANGAR_BACKOFF) {
        ngx_http_hangar_state_flags(hr->reg, hr->r->connection->log);
    }

    if (rc == NGX_AGAIN) {
        return ngx_http_hangar_cp_wait(cp);
    }

    if (rc != NGX_OK) {
        return ngx_http_hangar_cp_failed(cp, rc, retry);
    }

    return answer(cp);
}


static void
ngx_http_hangar_cp_ready(ngx_http_hangar_waiter_t *w, ngx_int_t rc)
{
    ngx_http_hangar_cp_t  *cp = w->data;

    if (rc != NGX_OK) {
        (void) ngx_http_hangar_cp_failed(cp, rc, 0);
        return;
    }

    (void) cp->answer(cp);
}


/* hangar_start: as POST /api/mcp_servers/{id}/start */

static ngx_int_t
ngx_http_hangar_cp_start(ngx_http_hangar_cp_t *cp)
{
    ngx_http_hangar_node_t  *n;

    ngx_http_hangar_lock(cp->hr->reg);
    n = ngx_http_hangar_find(&cp->hr->reg->sh->servers, cp->server.data,
                             cp->server.len);
    cp->blocked = n && n->blocked;
    ngx_http_hangar_unlock(cp->hr->reg);

    return ngx_http_hangar_cp_ensure(cp, 1, ngx_http_hangar_cp_start_answer);
}


static ngx_int_t
ngx_http_hangar_cp_start_answer(ngx_http_hangar_cp_t *cp)
{
    ngx_str_t  text;

    if (ngx_http_hangar_start_outcome(cp->hr->reg, cp->hr->r->pool,
                                      &cp->server, NGX_OK, &text)
        != NGX_OK)
    {
        return ngx_http_hangar_cp_unknown(cp);
    }

    ngx_http_hangar_render_started(&cp->body, cp->hr->r->pool, &cp->server,
                                   &text);

    return ngx_http_hangar_cp_done(cp);
}


/* hangar_stop: as POST /api/mcp_servers/{id}/stop */

static ngx_int_t
ngx_http_hangar_cp_stop(ngx_http_hangar_cp_t *cp)
{
    if (ngx_http_hangar_stop(cp->hr->reg, &cp->server, "user_request", 0,
                             cp->hr->r->connection->log)
        == NGX_DECLINED)
    {
        return ngx_http_hangar_cp_unknown(cp);
    }

    ngx_http_hangar_out_lit(&cp->body, "{\"stopped\":");
    ngx_http_hangar_out_str(&cp->body, cp->server.data, cp->server.len);
    ngx_http_hangar_out_lit(&cp->body, ",\"reason\":\"user_request\"}");

    return ngx_http_hangar_cp_done(cp);
}


/* hangar_tools: the catalog; a server without predefined tools starts */

static ngx_int_t
ngx_http_hangar_cp_tools(ngx_http_hangar_cp_t *cp)
{
    ngx_uint_t               predefined, known;
    ngx_http_hangar_node_t  *n;

    ngx_http_hangar_lock(cp->hr->reg);
    n = ngx_http_hangar_find(&cp->hr->reg->sh->servers, cp->server.data,
                             cp->server.len);
    predefined = n && n->tools_predefined;
    known = n != NULL;
    ngx_http_hangar_unlock(cp->hr->reg);

    if (!known) {
        return ngx_http_hangar_cp_unknown(cp);
    }

    if (predefined) {
        return ngx_http_hangar_cp_tools_answer(cp);
    }

    return ngx_http_hangar_cp_ensure(cp, 0, ngx_http_hangar_cp_tools_answer);
}


static ngx_int_t
ngx_http_hangar_cp_tools_answer(ngx_http_hangar_cp_t *cp)
{
    return ngx_http_hangar_cp_describe(cp, 0);
}


/* hangar_details: the REST details, tools filtered, and tools_policy */

static ngx_int_t
ngx_http_hangar_cp_details(ngx_http_hangar_cp_t *cp)
{
    return ngx_http_hangar_cp_describe(cp, 1);
}


/*
 * A server and its tools as the caller may see them: hangar_tools'
 * {mcp_server,state,predefined,tools}, or (details) the REST details with
 * the tools and tools_policy.
 */

static ngx_int_t
ngx_http_hangar_cp_describe(ngx_http_hangar_cp_t *cp, ngx_uint_t details)
{
    ngx_str_t                text;
    ngx_uint_t               state, predefined, filtered;
    ngx_http_hangar_node_t  *n;

    if (ngx_http_hangar_start_outcome(cp->hr->reg, cp->hr->r->pool,
                                      &cp->server, NGX_OK, &text)
        != NGX_OK)
    {
        return ngx_http_hangar_cp_unknown(cp);
    }

    ngx_http_hangar_lock(cp->hr->reg);

    n = ngx_http_hangar_find(&cp->hr->reg->sh->servers, cp->server.data,
                             cp->server.len);
    if (n == NULL) {
        ngx_http_hangar_unlock(cp->hr->reg);
        return ngx_http_hangar_cp_unknown(cp);
    }

    state = n->state % NGX_HTTP_HANGAR_NSTATES;
    predefined = n->tools_predefined;

    if (details) {
        ngx_http_hangar_render_details(&cp->body, n, 0);
    }

    ngx_http_hangar_unlock(cp->hr->reg);

    if (!details) {
        ngx_http_hangar_out_lit(&cp->body, "{\"mcp_server\":");
        ngx_http_hangar_out_str(&cp->body, cp->server.data, cp->server.len);
        ngx_http_hangar_out_printf(&cp->body, ",\"state\":\"%s\","
                                   "\"predefined\":%s",
                                   ngx_http_hangar_state_name(state),
                                   predefined ? "true" : "false");
    }

    ngx_http_hangar_out_lit(&cp->body, ",");
    ngx_http_hangar_cp_tools_out(cp, &text, &filtered);

    if (details) {
        ngx_http_hangar_cp_policy(cp, filtered);
    }

    ngx_http_hangar_out_lit(&cp->body, "}");

    return ngx_http_hangar_cp_done(cp);
}


/*
 * "tools_policy" of hangar_details: whether the server's own tool access
 * policy (hangar.yaml's tools:, or the API's) has an allow or a deny list,
 * and how many tools it hides from the caller.
 */

static void
ngx_http_hangar_cp_policy(ngx_http_hangar_cp_t *cp, ngx_uint_t filtered)
{
    ngx_uint_t                 allow, deny;
    ngx_http_hangar_policy_t  *yaml, *api, *eff;

    eff = NULL;

    (void) ngx_http_hangar_policy_layer(cp->hr->reg,
                                        NGX_HTTP_HANGAR_POLICY_TOOL,
                                        NGX_HTTP_HANGAR_SCOPE_PROVIDER,
                                        &cp->server, &yaml, &api, &eff);

    allow = eff && eff->allow && eff->allow->nelts;
    deny = eff && eff->deny && eff->deny->nelts;

    ngx_http_hangar_out_printf(&cp->body, ",\"tools_policy\":{\"active\":%s,"
                               "\"unrestricted\":%s",
                               (allow || deny) ? "true" : "false",
                               (allow || deny || filtered) ? "false" : "true");

    if (allow || deny) {
        ngx_http_hangar_out_printf(&cp->body, ",\"has_allow_list\":%s,"
                                   "\"has_deny_list\":%s,"
                                   "\"filtered_count\":%ui",
                                   allow ? "true" : "false",
                                   deny ? "true" : "false", filtered);
    }

    ngx_http_hangar_out_lit(&cp->body, "}");
}


/* hangar_warm: every server named (null: all) started, in parallel */

static ngx_int_t
ngx_http_hangar_cp_warm(ngx_http_hangar_cp_t *cp)
{
    ngx_int_t                   rc;
    ngx_uint_t                  i;
    ngx_msec_t                  retry;
    ngx_http_hangar_cp_warm_t  *w;

    if (ngx_http_hangar_cp_warm_ids(cp, ngx_http_hangar_get(cp->args,
                                                            "mcp_servers"))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < cp->nwarm; i++) {
        w = &cp->warm[i];

        if (w->outcome != NGX_HTTP_HANGAR_WARM_PENDING) {
            continue;
        }

        w->cp = cp;
        w->waiter.handler = ngx_http_hangar_cp_warmed;
        w->waiter.data = w;

        rc = ngx_http_hangar_ensure_ready(cp->hr->reg, &w->id, 0, &w->waiter,
                                          cp->hr->r->connection->log, &retry);

        if (rc == NGX_AGAIN) {
            cp->pending++;
            continue;
        }

        if (rc == NGX_OK) {
            w->outcome = NGX_HTTP_HANGAR_WARM_ALREADY;
            continue;
        }

        w->outcome = NGX_HTTP_HANGAR_WARM_FAILED;
        ngx_str_set(&w->error, "the MCP server cannot be started now");

        if (rc == NGX_HTTP_HANGAR_UNKNOWN) {
            ngx_str_set(&w->error, "unknown_mcp_server");
        }
    }

    if (cp->pending) {
        return ngx_http_hangar_cp_wait(cp);
    }

    return ngx_http_hangar_cp_warm_answer(cp);
}


/* the ids of hangar_warm: a comma list, or every server */

static ngx_int_t
ngx_http_hangar_cp_warm_ids(ngx_http_hangar_cp_t *cp,
    ngx_http_hangar_value_t *list)
{
    u_char                       *p, *last, *comma;
    ngx_uint_t                    i, n;
    ngx_array_t                   servers;
    ngx_http_hangar_cp_warm_t    *w;
    ngx_http_hangar_cp_server_t  *s;

    if (!ngx_http_hangar_is(list, NGX_HTTP_HANGAR_STR)) {
        if (ngx_http_hangar_cp_fleet(cp, &servers) != NGX_OK) {
            return NGX_ERROR;
        }

        cp->warm = ngx_pcalloc(cp->hr->r->pool, (servers.nelts + 1)
                                         * sizeof(ngx_http_hangar_cp_warm_t));
        if (cp->warm == NULL) {
            return NGX_ERROR;
        }

        s = servers.elts;

        for (i = 0; i < servers.nelts; i++) {
            cp->warm[i].id.len = s[i].id_len;
            cp->warm[i].id.data = ngx_pnalloc(cp->hr->r->pool, s[i].id_len);
            if (cp->warm[i].id.data == NULL) {
                return NGX_ERROR;
            }

            ngx_memcpy(cp->warm[i].id.data, s[i].id, s[i].id_len);
        }

        cp->nwarm = servers.nelts;
        return NGX_OK;
    }

    p = list->u.s.data;
    last = p + list->u.s.len;

    for (n = 1; p < last; p++) {
        n += *p == ',';
    }

    cp->warm = ngx_pcalloc(cp->hr->r->pool,
                           n * sizeof(ngx_http_hangar_cp_warm_t));
    if (cp->warm == NULL) {
        return NGX_ERROR;
    }

    for (p = list->u.s.data; p < last; p = comma + 1) {
        comma = ngx_strlchr(p, last, ',');
        comma = comma ? comma : last;

        while (p < comma && *p == ' ') {
            p++;
        }

        w = &cp->warm[cp->nwarm];
        w->id.data = p;
        w->id.len = comma - p;

        while (w->id.len && w->id.data[w->id.len - 1] == ' ') {
            w->id.len--;
        }

        if (w->id.len == 0) {
            continue;
        }

        cp->nwarm++;

        if (!ngx_http_hangar_cp_valid_id(&w->id)) {
            w->outcome = NGX_HTTP_HANGAR_WARM_FAILED;
            ngx_str_set(&w->error, "invalid mcp_server id");
        }
    }

    return NGX_OK;
}


static void
ngx_http_hangar_cp_warmed(ngx_http_hangar_waiter_t *ww, ngx_int_t rc)
{
    ngx_str_t                   text;
    ngx_http_hangar_cp_t       *cp;
    ngx_http_hangar_cp_warm_t  *w = ww->data;

    cp = w->cp;

    if (rc == NGX_OK) {
        w->outcome = NGX_HTTP_HANGAR_WARM_DONE;

    } else {
        w->outcome = NGX_HTTP_HANGAR_WARM_FAILED;

        if (ngx_http_hangar_start_outcome(cp->hr->reg, cp->hr->r->pool,
                                          &w->id, rc, &text)
            != NGX_OK
            || ngx_http_hangar_start_failure(cp->hr->r->pool, &text,
                                             &w->error)
               != NGX_OK)
        {
            ngx_str_set(&w->error, "the MCP server could not be started");
        }
    }

    if (--cp->pending == 0) {
        (void) ngx_http_hangar_cp_warm_answer(cp);
    }
}


static ngx_int_t
ngx_http_hangar_cp_warm_answer(ngx_http_hangar_cp_t *cp)
{
    ngx_uint_t                  i, k, count[4], first;
    ngx_http_hangar_out_t      *out;
    ngx_http_hangar_cp_warm_t  *w;

    static const char  *keys[] = { "", "already_warm", "warmed", "failed" };

    out = &cp->body;
    ngx_memzero(count, sizeof(count));

    for (k = NGX_HTTP_HANGAR_WARM_ALREADY; k <= NGX_HTTP_HANGAR_WARM_FAILED;
         k++)
    {
        ngx_http_hangar_out_printf(out, "%s\"%s\":[", k == 1 ? "{" : "],",
                                   keys[k]);
        first = 1;

        for (i = 0; i < cp->nwarm; i++) {
            w = &cp->warm[i];

            if (w->outcome != k) {
                continue;
            }

            count[k]++;

            if (!first) {
                ngx_http_hangar_out_lit(out, ",");
            }

            first = 0;

            if (k != NGX_HTTP_HANGAR_WARM_FAILED) {
                ngx_http_hangar_out_str(out, w->id.data, w->id.len);
                continue;
            }

            ngx_http_hangar_out_lit(out, "{\"id\":");
            ngx_http_hangar_out_str(out, w->id.data, w->id.len);
            ngx_http_hangar_out_lit(out, ",\"error\":");
            ngx_http_hangar_out_str(out, w->error.data, w->error.len);
            ngx_http_hangar_out_lit(out, "}");
        }
    }

    ngx_http_hangar_out_printf(out, "],\"summary\":\"Warmed %ui mcp_servers, "
                               "%ui already warm, %ui failed\"}",
                               count[NGX_HTTP_HANGAR_WARM_DONE],
                               count[NGX_HTTP_HANGAR_WARM_ALREADY],
                               count[NGX_HTTP_HANGAR_WARM_FAILED]);

    return ngx_http_hangar_cp_done(cp);
}


static ngx_int_t
ngx_http_hangar_cp_call_batch(ngx_http_hangar_cp_t *cp)
{
    return ngx_http_hangar_batch_call(cp->hr, cp->id, cp->args);
}
