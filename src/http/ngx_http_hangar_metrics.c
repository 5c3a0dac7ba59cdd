
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /metrics (hangar_metrics): the fleet in Prometheus text format 0.0.4.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_metrics.h"
#include "ngx_http_hangar_api_system.h"
#include "ngx_http_hangar_discovery.h"


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

    if (ngx_http_hangar_disc_metrics(hr->reg, r->pool, out) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}
