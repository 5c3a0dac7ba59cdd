
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The router: the content handler of every hangar location, and for
 * /api/ the route table, matching, method checks and dispatch.  A route's
 * handler lives in the file its path names (ngx_http_hangar_api_*.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_api.h"
#include "ngx_http_hangar_api_servers.h"
#include "ngx_http_hangar_api_server_ops.h"
#include "ngx_http_hangar_api_sessions.h"
#include "ngx_http_hangar_api_admin.h"
#include "ngx_http_hangar_api_tools.h"
#include "ngx_http_hangar_api_system.h"
#include "ngx_http_hangar_api_config.h"
#include "ngx_http_hangar_api_groups.h"
#include "ngx_http_hangar_api_policy.h"
#include "ngx_http_hangar_api_approvals.h"
#include "ngx_http_hangar_api_discovery.h"
#include "ngx_http_hangar_api_auth.h"
#include "ngx_http_hangar_api_auth_keys.h"
#include "ngx_http_hangar_api_auth_roles.h"
#include "ngx_http_hangar_health.h"
#include "ngx_http_hangar_metrics.h"
#include "ngx_http_hangar_mcp.h"
#include "ngx_http_hangar_api_limit.h"
#include "ngx_http_hangar_wellknown.h"
#include "ngx_http_hangar_edge.h"
#include "ngx_http_hangar_ws.h"


static ngx_int_t ngx_http_hangar_dispatch(ngx_http_hangar_req_t *hr);
static void ngx_http_hangar_auth_wake(void *data);
static ngx_int_t ngx_http_hangar_api(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_route(ngx_http_hangar_req_t *hr,
    ngx_str_t *path, ngx_uint_t *allow);
static ngx_uint_t ngx_http_hangar_match(const char *pattern, ngx_str_t *path,
    ngx_str_t *params);
static ngx_int_t ngx_http_hangar_method_not_allowed(ngx_http_hangar_req_t *hr,
    ngx_uint_t allow);




/*
 * The route table.  Patterns are relative to the location ("/api/"); a
 * "{name}" segment is a parameter.  The permission column is what the
 * auth issue enforces (hangar-core.md §1.11).
 */

static ngx_http_hangar_route_t  ngx_http_hangar_routes[] = {

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/mcp_servers", "mcp_servers:read",
      ngx_http_hangar_servers_list, 0 },

    { NGX_HTTP_POST, "/mcp_servers", "mcp_servers:write",
      ngx_http_hangar_servers_create, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/mcp_servers/{id}", "mcp_servers:read",
      ngx_http_hangar_servers_get, 0 },

    { NGX_HTTP_PUT|NGX_HTTP_PATCH, "/mcp_servers/{id}", "mcp_servers:write",
      ngx_http_hangar_servers_update, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_DELETE, "/mcp_servers/{id}", "mcp_servers:write",
      ngx_http_hangar_servers_delete, 0 },

    { NGX_HTTP_POST, "/mcp_servers/{id}/start", "mcp_servers:lifecycle",
      ngx_http_hangar_servers_start, 0 },

    { NGX_HTTP_POST, "/mcp_servers/{id}/stop", "mcp_servers:lifecycle",
      ngx_http_hangar_servers_stop, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_POST, "/mcp_servers/{id}/block", "mcp_servers:lifecycle",
      ngx_http_hangar_servers_block, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/mcp_servers/{id}/tools",
      "mcp_servers:read", ngx_http_hangar_servers_tools, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/mcp_servers/{id}/tools/history",
      "mcp_servers:read", ngx_http_hangar_servers_history, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/mcp_servers/{id}/health",
      "mcp_servers:read", ngx_http_hangar_servers_health, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/mcp_servers/{id}/logs",
      "mcp_servers:read", ngx_http_hangar_servers_logs, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/groups", "group:read",
      ngx_http_hangar_groups_list, 0 },

    { NGX_HTTP_POST, "/groups", "group:create",
      ngx_http_hangar_groups_create, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/groups/{id}", "group:read",
      ngx_http_hangar_groups_get, 0 },

    { NGX_HTTP_PUT, "/groups/{id}", "group:update",
      ngx_http_hangar_groups_update, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_DELETE, "/groups/{id}", "group:delete",
      ngx_http_hangar_groups_delete, 0 },

    { NGX_HTTP_POST, "/groups/{id}/rebalance", "group:update",
      ngx_http_hangar_groups_rebalance, 0 },

    { NGX_HTTP_POST, "/groups/{id}/members", "group:update",
      ngx_http_hangar_groups_add, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_DELETE, "/groups/{id}/members/{member_id}", "group:update",
      ngx_http_hangar_groups_remove, 0 },

    { NGX_HTTP_POST, "/sessions/{id}/suspend", "mcp_servers:lifecycle",
      ngx_http_hangar_sessions_suspend, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_DELETE, "/sessions/{id}/suspend", "mcp_servers:lifecycle",
      ngx_http_hangar_sessions_resume, 0 },

    { NGX_HTTP_POST, "/admin/tools/{server}/{tool}/withdraw",
      "mcp_servers:lifecycle", ngx_http_hangar_tools_withdraw,
      NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_POST, "/admin/tools/{server}/{tool}/restore",
      "mcp_servers:lifecycle", ngx_http_hangar_tools_restore,
      NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/tools", "tool:list",
      ngx_http_hangar_tools_all, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/auth/policies/{scope}/{target_id}",
      "policy:read", ngx_http_hangar_policies_get, 0 },

    { NGX_HTTP_POST, "/auth/policies/{scope}/{target_id}", "policy:write",
      ngx_http_hangar_policies_set, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_DELETE, "/auth/policies/{scope}/{target_id}", "policy:write",
      ngx_http_hangar_policies_clear, 0 },

    { NGX_HTTP_POST, "/agent/policy", "policy:write",
      ngx_http_hangar_agent_policy, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/system", "authenticated",
      ngx_http_hangar_system, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/config", "config:read",
      ngx_http_hangar_config_get, 0 },

    { NGX_HTTP_POST, "/config/reload", "config:reload",
      ngx_http_hangar_config_reload, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_POST, "/config/export", "config:read",
      ngx_http_hangar_config_export, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_POST, "/config/backup", "config:update",
      ngx_http_hangar_config_backup, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/config/diff", "config:read",
      ngx_http_hangar_config_diff, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/system/me", "authenticated",
      ngx_http_hangar_system_me, 0 },

    { NGX_HTTP_GET, "/ws/events", "audit:read",
      ngx_http_hangar_ws_events, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/enterprise/approvals", "approval:read",
      ngx_http_hangar_approvals_list, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/enterprise/approvals/{id}", "approval:read",
      ngx_http_hangar_approvals_get, 0 },

    { NGX_HTTP_POST, "/enterprise/approvals/{id}/resolve", "approval:resolve",
      ngx_http_hangar_approvals_resolve, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/approvals", "approval:read",
      ngx_http_hangar_approvals_list, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/approvals/{id}", "approval:read",
      ngx_http_hangar_approvals_get, 0 },

    { NGX_HTTP_POST, "/approvals/{id}/resolve", "approval:resolve",
      ngx_http_hangar_approvals_resolve, NGX_HTTP_HANGAR_BODY },

    /* /discovery/ (hangar-security.md §5.6) */

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/discovery/sources", "discovery:read",
      ngx_http_hangar_discovery_sources, 0 },

    { NGX_HTTP_POST, "/discovery/sources", "discovery:approve",
      ngx_http_hangar_discovery_add, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_POST, "/discovery/sources/{id}/scan", "discovery:trigger",
      ngx_http_hangar_discovery_scan, 0 },

    { NGX_HTTP_PUT, "/discovery/sources/{id}/enable", "discovery:approve",
      ngx_http_hangar_discovery_enable, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_PUT, "/discovery/sources/{id}", "discovery:approve",
      ngx_http_hangar_discovery_update, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_DELETE, "/discovery/sources/{id}", "discovery:approve",
      ngx_http_hangar_discovery_remove, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/discovery/pending", "discovery:read",
      ngx_http_hangar_discovery_pending, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/discovery/quarantined", "discovery:read",
      ngx_http_hangar_discovery_quarantined, 0 },

    { NGX_HTTP_POST, "/discovery/approve/{id}", "discovery:approve",
      ngx_http_hangar_discovery_approve, 0 },

    { NGX_HTTP_POST, "/discovery/reject/{id}", "discovery:approve",
      ngx_http_hangar_discovery_reject, 0 },

    /* /auth/: admin only; "all", "assign", "revoke" before {role_name} */

    { NGX_HTTP_POST, "/auth/keys", "admin:*",
      ngx_http_hangar_keys_create, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/auth/keys", "admin:*",
      ngx_http_hangar_keys_list, 0 },

    { NGX_HTTP_DELETE, "/auth/keys/{key_id}", "admin:*",
      ngx_http_hangar_keys_revoke, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/auth/roles", "admin:*",
      ngx_http_hangar_roles_list, 0 },

    { NGX_HTTP_POST, "/auth/roles", "admin:*",
      ngx_http_hangar_roles_create, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/auth/roles/all", "admin:*",
      ngx_http_hangar_roles_all, 0 },

    { NGX_HTTP_POST, "/auth/roles/assign", "admin:*",
      ngx_http_hangar_roles_assign, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_DELETE, "/auth/roles/revoke", "admin:*",
      ngx_http_hangar_roles_revoke, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/auth/roles/{role_name}", "admin:*",
      ngx_http_hangar_roles_get, 0 },

    { NGX_HTTP_DELETE, "/auth/roles/{role_name}", "admin:*",
      ngx_http_hangar_roles_delete, 0 },

    { NGX_HTTP_PATCH, "/auth/roles/{role_name}", "admin:*",
      ngx_http_hangar_roles_update, NGX_HTTP_HANGAR_BODY },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/auth/principals", "admin:*",
      ngx_http_hangar_principals_list, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/auth/principals/roles", "admin:*",
      ngx_http_hangar_principals_roles, 0 },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, "/auth/permissions", "admin:*",
      ngx_http_hangar_permissions_list, 0 },

    { NGX_HTTP_POST, "/auth/check-permission", "admin:*",
      ngx_http_hangar_permissions_check, NGX_HTTP_HANGAR_BODY },

    { 0, NULL, NULL, NULL, 0 }
};


static const char  *ngx_http_hangar_method_names[] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", NULL
};

static ngx_uint_t  ngx_http_hangar_method_bits[] = {
    NGX_HTTP_GET, NGX_HTTP_HEAD, NGX_HTTP_POST, NGX_HTTP_PUT, NGX_HTTP_PATCH,
    NGX_HTTP_DELETE, NGX_HTTP_OPTIONS, 0
};


ngx_int_t
ngx_http_hangar_handler(ngx_http_request_t *r)
{
    ngx_uint_t                   preflight;
    ngx_http_hangar_req_t       *hr;
    ngx_http_hangar_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hangar_module);

    hr = ngx_pcalloc(r->pool, sizeof(ngx_http_hangar_req_t));
    if (hr == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    hr->r = r;
    hr->reg = ngx_http_hangar_registry();
    ngx_http_set_ctx(r, hr, ngx_http_hangar_module);
    ngx_http_hangar_out_init(&hr->out, r->pool, 2048);

    if (hr->reg == NULL) {
        ngx_http_hangar_discard_body(r);
        return ngx_http_hangar_error(hr, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "ConfigurationError",
                                     "no \"hangar_zone\" is configured");
    }

    if (ngx_http_hangar_cors(hr, &preflight) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (preflight) {
        ngx_http_hangar_discard_body(r);
        return ngx_http_hangar_send(hr, NGX_HTTP_NO_CONTENT);
    }

    switch (hlcf->handler) {

    /* probes and metrics stay open, as in the original */
    case NGX_HTTP_HANGAR_HEALTH:
        return ngx_http_hangar_health_handler(r);

    case NGX_HTTP_HANGAR_METRICS:
        return ngx_http_hangar_metrics_handler(r);

    /* RFC 9728: unauthenticated (hangar-security.md §1.2) */
    case NGX_HTTP_HANGAR_PROTECTED_RESOURCE:
        return ngx_http_hangar_wellknown_handler(hr);

    default:
        return ngx_http_hangar_dispatch(hr);
    }
}


/* who is asking, then what they ask for */

static ngx_int_t
ngx_http_hangar_dispatch(ngx_http_hangar_req_t *hr)
{
    ngx_int_t                    rc;
    ngx_http_hangar_refusal_t    no;
    ngx_http_hangar_loc_conf_t  *hlcf;

    if (ngx_http_hangar_ws_token(hr->r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_hangar_auth_authenticate(hr->r, &no,
                                           ngx_http_hangar_auth_wake, hr);

    switch (rc) {

    case NGX_OK:
        break;

    case NGX_AGAIN:
        /* a key set is being fetched; the request waits for it */
        hr->r->main->count++;
        return NGX_DONE;

    case NGX_DECLINED:
        ngx_http_hangar_discard_body(hr->r);
        return ngx_http_hangar_refuse(hr, &no);

    default:
        ngx_http_hangar_discard_body(hr->r);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    hlcf = ngx_http_get_module_loc_conf(hr->r, ngx_http_hangar_module);

    if (hlcf->handler == NGX_HTTP_HANGAR_MCP) {
        return ngx_http_hangar_mcp_handler(hr);
    }

    return ngx_http_hangar_api(hr);
}


static void
ngx_http_hangar_auth_wake(void *data)
{
    ngx_http_hangar_req_t  *hr = data;

    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = hr->r;
    c = r->connection;

    /* the request may be freed by the time it is finalized */
    ngx_http_finalize_request(r, ngx_http_hangar_dispatch(hr));
    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_hangar_api(ngx_http_hangar_req_t *hr)
{
    ngx_int_t                    rc;
    ngx_str_t                    path;
    ngx_uint_t                   allow;
    ngx_http_request_t          *r;
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_hangar_refusal_t    no;

    r = hr->r;

    if ((rc = ngx_http_hangar_edge(hr)) != NGX_DECLINED) {
        return rc;
    }

    /* the path below the location: "/api/mcp_servers/" -> "/mcp_servers" */
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    path = r->uri;

    if (clcf->name.len && path.len >= clcf->name.len
        && ngx_strncmp(path.data, clcf->name.data, clcf->name.len) == 0)
    {
        path.data += clcf->name.len;
        path.len -= clcf->name.len;

        if (clcf->name.data[clcf->name.len - 1] == '/') {
            path.data--;
            path.len++;
        }
    }

    if (path.len > 1 && path.data[path.len - 1] == '/') {
        path.len--;
    }

    rc = ngx_http_hangar_route(hr, &path, &allow);

    /* with auth on, permissions come first: an unknown route is a 403 */
    if (ngx_http_hangar_auth_authorize(r, rc == NGX_OK
                                          ? hr->route->permission : NULL,
                                       &no)
        != NGX_OK)
    {
        ngx_http_hangar_discard_body(r);

        if (no.status == 0) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_hangar_refuse(hr, &no);
    }

    if (rc == NGX_DECLINED) {
        ngx_http_hangar_discard_body(r);

        if (allow) {
            return ngx_http_hangar_method_not_allowed(hr, allow);
        }

        return ngx_http_hangar_error(hr, NGX_HTTP_NOT_FOUND, "NotFoundError",
                                     "no API route for %V", &r->uri);
    }

    rc = ngx_http_hangar_limit_rest(hr);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (!(hr->route->flags & NGX_HTTP_HANGAR_BODY)) {
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            /* a malformed chunked body: our envelope, not nginx's page */
            return ngx_http_hangar_body_error(hr, rc);
        }

        return hr->route->handler(hr);
    }

    return ngx_http_hangar_read_json(hr);
}



static ngx_int_t
ngx_http_hangar_route(ngx_http_hangar_req_t *hr, ngx_str_t *path,
    ngx_uint_t *allow)
{
    ngx_uint_t                method;
    ngx_str_t                 params[NGX_HTTP_HANGAR_MAX_PARAMS];
    ngx_http_hangar_route_t  *rt;

    *allow = 0;
    method = hr->r->method;

    for (rt = ngx_http_hangar_routes; rt->pattern; rt++) {

        if (!ngx_http_hangar_match(rt->pattern, path, params)) {
            continue;
        }

        if (!(rt->methods & method)) {
            *allow |= rt->methods;
            continue;
        }

        hr->route = rt;
        hr->routes = ngx_http_hangar_routes;
        ngx_memcpy(hr->params, params, sizeof(params));

        return NGX_OK;
    }

    return NGX_DECLINED;
}


static ngx_uint_t
ngx_http_hangar_match(const char *pattern, ngx_str_t *path,
    ngx_str_t *params)
{
    u_char      *p, *last, *seg;
    ngx_uint_t   n;

    p = path->data;
    last = p + path->len;
    n = 0;

    while (*pattern) {

        if (*pattern != '/' || p == last || *p != '/') {
            return 0;
        }

        pattern++;
        p++;

        seg = p;
        while (p < last && *p != '/') {
            p++;
        }

        if (*pattern == '{') {
            if (p == seg || n == NGX_HTTP_HANGAR_MAX_PARAMS) {
                return 0;
            }

            params[n].data = seg;
            params[n].len = p - seg;
            n++;

            while (*pattern && *pattern != '/') {
                pattern++;
            }

            continue;
        }

        while (*pattern && *pattern != '/') {
            if (seg == p || *seg != (u_char) *pattern) {
                return 0;
            }

            seg++;
            pattern++;
        }

        if (seg != p) {
            return 0;
        }
    }

    return p == last;
}


static ngx_int_t
ngx_http_hangar_method_not_allowed(ngx_http_hangar_req_t *hr,
    ngx_uint_t allow)
{
    u_char      buf[64], *p;
    ngx_uint_t  i;

    p = buf;

    for (i = 0; ngx_http_hangar_method_names[i]; i++) {
        if (allow & ngx_http_hangar_method_bits[i]) {
            p = ngx_sprintf(p, "%s%s", p == buf ? "" : ", ",
                            ngx_http_hangar_method_names[i]);
        }
    }

    if (ngx_http_hangar_header_out(hr->r, "Allow", buf, p - buf) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hangar_error(hr, NGX_HTTP_NOT_ALLOWED,
                                 "MethodNotAllowedError",
                                 "method %V is not allowed here; allowed: %*s",
                                 &hr->r->method_name, p - buf, buf);
}