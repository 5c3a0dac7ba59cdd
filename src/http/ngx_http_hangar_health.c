
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The /health/ probes (hangar_health): live, ready, startup.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_health.h"
#include "ngx_http_hangar_api_system.h"


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
