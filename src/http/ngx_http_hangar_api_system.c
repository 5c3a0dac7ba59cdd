
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/system, /api/system/me, the /health/ probes and /metrics.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_api.h"


typedef struct {
    ngx_uint_t   servers;
    ngx_uint_t   by_state[NGX_HTTP_HANGAR_NSTATES];
    ngx_uint_t   tools;
    ngx_uint_t   invocations;
    ngx_uint_t   failures;
} ngx_http_hangar_totals_t;


static void ngx_http_hangar_totals(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_totals_t *t);
static double ngx_http_hangar_uptime(ngx_http_hangar_registry_t *reg);


static void
ngx_http_hangar_totals(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_totals_t *t)
{
    ngx_queue_t             *q;
    ngx_http_hangar_node_t  *n;

    ngx_memzero(t, sizeof(ngx_http_hangar_totals_t));

    ngx_http_hangar_lock(reg);

    for (q = ngx_queue_head(&reg->sh->servers.queue);
         q != ngx_queue_sentinel(&reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        n = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        t->servers++;
        t->by_state[n->state % NGX_HTTP_HANGAR_NSTATES]++;
        t->tools += n->tools_count;
        t->invocations += n->total_invocations;
        t->failures += n->total_failures;
    }

    ngx_http_hangar_unlock(reg);
}


static double
ngx_http_hangar_uptime(ngx_http_hangar_registry_t *reg)
{
    ngx_msec_t  now;

    now = ngx_http_hangar_now_ms();

    return (double) (now - reg->sh->boot_ms) / 1000;
}


/* GET /api/system */

ngx_int_t
ngx_http_hangar_system(ngx_http_hangar_req_t *hr)
{
    ngx_uint_t                 i, first, pages, free;
    ngx_http_hangar_out_t     *out;
    ngx_http_hangar_totals_t   t;

    out = &hr->out;

    ngx_http_hangar_totals(hr->reg, &t);

    ngx_http_hangar_lock(hr->reg);
    pages = (hr->reg->shpool->end - hr->reg->shpool->start) / ngx_pagesize;
    free = hr->reg->shpool->pfree;
    ngx_http_hangar_unlock(hr->reg);

    ngx_http_hangar_out_printf(out,
        "{\"system\":{\"total_mcp_servers\":%ui,\"mcp_servers_by_state\":{",
        t.servers);

    first = 1;

    for (i = 0; i < NGX_HTTP_HANGAR_NSTATES; i++) {
        if (t.by_state[i]) {
            ngx_http_hangar_out_printf(out, "%s\"%s\":%ui", first ? "" : ",",
                                       ngx_http_hangar_state_name(i),
                                       t.by_state[i]);
            first = 0;
        }
    }

    ngx_http_hangar_out_printf(out,
        "},\"total_tools\":%ui,\"total_invocations\":%ui,"
        "\"total_failures\":%ui,\"overall_success_rate\":",
        t.tools, t.invocations, t.failures);

    ngx_http_hangar_out_num(out, t.invocations
                                 ? (double) (t.invocations - t.failures)
                                   / t.invocations
                                 : 1.0);

    ngx_http_hangar_out_lit(out, ",\"uptime_seconds\":");
    ngx_http_hangar_out_num(out, ngx_http_hangar_uptime(hr->reg));

    ngx_http_hangar_out_printf(out,
        ",\"version\":\"" NGX_HTTP_HANGAR_VERSION "\",\"instance\":"
        "{\"instance_id\":\"%s\",\"coordinates_with_peers\":false,"
        "\"manages_fleet\":true,\"storage_is_shareable\":false,"
        "\"rate_limits_are_per_instance\":true},"
        "\"zone\":{\"name\":\"%V\",\"pages\":%ui,\"free_pages\":%ui}}}",
        hr->reg->sh->instance_id, &hr->reg->name, pages, free);

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* GET /api/system/me: authentication arrives with the auth issue */

ngx_int_t
ngx_http_hangar_system_me(ngx_http_hangar_req_t *hr)
{
    ngx_http_hangar_out_lit(&hr->out,
                            "{\"authenticated\":false,\"principal\":null}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* GET /health/live | ready | startup */

ngx_int_t
ngx_http_hangar_health_handler(ngx_http_request_t *r)
{
    u_char                    *p;
    ngx_str_t                  probe;
    ngx_http_hangar_req_t     *hr;
    ngx_http_hangar_out_t     *out;
    ngx_http_hangar_totals_t   t;

    hr = ngx_http_get_module_ctx(r, ngx_http_hangar_module);
    out = &hr->out;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_hangar_error(hr, NGX_HTTP_NOT_ALLOWED,
                                     "MethodNotAllowedError",
                                     "method %V is not allowed here; "
                                     "allowed: GET, HEAD", &r->method_name);
    }

    /* the last path segment names the probe */
    probe = r->uri;

    if (probe.len > 1 && probe.data[probe.len - 1] == '/') {
        probe.len--;
    }

    for (p = probe.data + probe.len; p > probe.data && p[-1] != '/'; p--) {
        /* void */
    }

    probe.len -= p - probe.data;
    probe.data = p;

    if (ngx_http_hangar_str_is(&probe, "live")) {
        ngx_http_hangar_out_lit(out, "{\"status\":\"healthy\"}");

    } else if (ngx_http_hangar_str_is(&probe, "ready")) {
        ngx_http_hangar_totals(hr->reg, &t);
        ngx_http_hangar_out_printf(out,
            "{\"status\":\"healthy\",\"ready_mcp_servers\":%ui,"
            "\"total_mcp_servers\":%ui}",
            t.by_state[NGX_HTTP_HANGAR_READY], t.servers);

    } else if (ngx_http_hangar_str_is(&probe, "startup")) {
        ngx_http_hangar_out_lit(out,
                        "{\"status\":\"healthy\",\"startup_complete\":true,"
                        "\"uptime_seconds\":");
        ngx_http_hangar_out_printf(out, "%.2f}",
                                   ngx_http_hangar_uptime(hr->reg));

    } else {
        return ngx_http_hangar_error(hr, NGX_HTTP_NOT_FOUND, "NotFoundError",
                                     "no health probe %V; try live, ready "
                                     "or startup", &r->uri);
    }

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* GET /metrics: Prometheus text format 0.0.4 */

ngx_int_t
ngx_http_hangar_metrics_handler(ngx_http_request_t *r)
{
    ngx_uint_t                 i;
    ngx_queue_t               *q;
    ngx_http_hangar_req_t     *hr;
    ngx_http_hangar_out_t     *out;
    ngx_http_hangar_node_t    *n;
    ngx_http_hangar_totals_t   t;

    hr = ngx_http_get_module_ctx(r, ngx_http_hangar_module);
    out = &hr->out;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_hangar_error(hr, NGX_HTTP_NOT_ALLOWED,
                                     "MethodNotAllowedError",
                                     "method %V is not allowed here; "
                                     "allowed: GET, HEAD", &r->method_name);
    }

    ngx_http_hangar_totals(hr->reg, &t);

    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    ngx_http_hangar_out_lit(out,
        "# HELP mcp_hangar_build_info Build information\n"
        "# TYPE mcp_hangar_build_info gauge\n"
        "mcp_hangar_build_info{nginx_version=\"" NGINX_VERSION "\","
        "version=\"" NGX_HTTP_HANGAR_VERSION "\"} 1.0\n\n"
        "# HELP mcp_hangar_process_start_time_seconds Start time of the "
        "registry (epoch seconds)\n"
        "# TYPE mcp_hangar_process_start_time_seconds gauge\n"
        "mcp_hangar_process_start_time_seconds ");
    ngx_http_hangar_out_num(out, (double) hr->reg->sh->boot_ms / 1000);

    ngx_http_hangar_out_lit(out, "\n\n"
        "# HELP mcp_hangar_mcp_servers Number of registered MCP servers by "
        "state\n"
        "# TYPE mcp_hangar_mcp_servers gauge\n");

    for (i = 0; i < NGX_HTTP_HANGAR_NSTATES; i++) {
        ngx_http_hangar_out_printf(out,
                                   "mcp_hangar_mcp_servers{state=\"%s\"} "
                                   "%ui.0\n",
                                   ngx_http_hangar_state_name(i),
                                   t.by_state[i]);
    }

    ngx_http_hangar_out_lit(out, "\n"
        "# HELP mcp_hangar_mcp_server_info MCP server information\n"
        "# TYPE mcp_hangar_mcp_server_info gauge\n");

    /* ids are [A-Za-z0-9_-]: nothing to escape in label values */
    ngx_http_hangar_lock(hr->reg);

    for (q = ngx_queue_head(&hr->reg->sh->servers.queue);
         q != ngx_queue_sentinel(&hr->reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        n = ngx_queue_data(q, ngx_http_hangar_node_t, queue);
        ngx_http_hangar_out_printf(out,
            "mcp_hangar_mcp_server_info{mcp_server=\"%*s\",mode=\"%s\"} 1.0\n",
            n->id_len, n->id, n->mode_name);
    }

    ngx_http_hangar_out_lit(out, "\n"
        "# HELP mcp_hangar_mcp_server_state MCP server state (0 cold, "
        "1 initializing, 2 ready, 3 degraded, 4 dead)\n"
        "# TYPE mcp_hangar_mcp_server_state gauge\n");

    for (q = ngx_queue_head(&hr->reg->sh->servers.queue);
         q != ngx_queue_sentinel(&hr->reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        n = ngx_queue_data(q, ngx_http_hangar_node_t, queue);
        ngx_http_hangar_out_printf(out,
            "mcp_hangar_mcp_server_state{mcp_server=\"%*s\"} %uA.0\n",
            n->id_len, n->id, n->state);
    }

    ngx_http_hangar_out_lit(out, "\n"
        "# HELP mcp_hangar_mcp_server_up 1 when the MCP server is ready\n"
        "# TYPE mcp_hangar_mcp_server_up gauge\n");

    for (q = ngx_queue_head(&hr->reg->sh->servers.queue);
         q != ngx_queue_sentinel(&hr->reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        n = ngx_queue_data(q, ngx_http_hangar_node_t, queue);
        ngx_http_hangar_out_printf(out,
            "mcp_hangar_mcp_server_up{mcp_server=\"%*s\"} %s\n",
            n->id_len, n->id,
            n->state == NGX_HTTP_HANGAR_READY ? "1.0" : "0.0");
    }

    ngx_http_hangar_unlock(hr->reg);

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}
