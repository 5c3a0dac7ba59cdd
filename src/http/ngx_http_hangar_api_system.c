
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/system and /api/system/me.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_api_system.h"
#include "ngx_http_hangar_stats.h"


/* the fleet's totals, for /api/system, /health/ and /metrics */

void
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


double
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
    ngx_uint_t                       i, first, pages, free;
    ngx_http_hangar_out_t           *out;
    ngx_http_hangar_totals_t         t;
    ngx_http_hangar_stats_totals_t   m;

    out = &hr->out;

    ngx_http_hangar_totals(hr->reg, &t);
    ngx_http_hangar_stats_totals(hr->reg, &m);

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
        "\"zone\":{\"name\":\"%V\",\"pages\":%ui,\"free_pages\":%ui},",
        hr->reg->sh->instance_id, &hr->reg->name, pages, free);

    /* the summary of /metrics, from the same counters (counted once) */
    ngx_http_hangar_out_printf(out,
        "\"metrics\":{\"tool_calls\":%ui,\"tool_call_errors\":%ui,"
        "\"starts\":%ui,\"start_failures\":%ui,\"stops\":%ui,"
        "\"health_checks\":%ui,\"health_check_failures\":%ui,"
        "\"rate_limited\":%ui,\"tool_call_seconds\":",
        m.tool_calls, m.tool_errors, m.starts, m.start_failures, m.stops,
        m.health_checks, m.health_failures, m.rate_limited);
    ngx_http_hangar_out_num(out, m.call_seconds);
    ngx_http_hangar_out_lit(out, "}}}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* GET /api/system/me: who the request comes from */

ngx_int_t
ngx_http_hangar_system_me(ngx_http_hangar_req_t *hr)
{
    ngx_str_t                    *g;
    ngx_uint_t                    i;
    ngx_http_hangar_out_t        *out;
    ngx_http_hangar_principal_t  *p;

    static const char  *types[] = { "user", "service_account", "system" };

    out = &hr->out;
    p = ngx_http_hangar_auth_principal(hr->r);

    if (p == NULL) {
        ngx_http_hangar_out_lit(out,
                            "{\"authenticated\":false,\"principal\":null}");

        return ngx_http_hangar_send(hr, NGX_HTTP_OK);
    }

    ngx_http_hangar_out_lit(out, "{\"authenticated\":true,\"principal\":"
                                 "{\"id\":");
    ngx_http_hangar_out_str(out, p->id.data, p->id.len);
    ngx_http_hangar_out_printf(out, ",\"type\":\"%s\",\"tenant_id\":",
                               types[p->type]);

    if (p->tenant.len) {
        ngx_http_hangar_out_str(out, p->tenant.data, p->tenant.len);

    } else {
        ngx_http_hangar_out_lit(out, "null");
    }

    ngx_http_hangar_out_lit(out, ",\"groups\":[");

    g = p->groups ? p->groups->elts : NULL;

    for (i = 0; p->groups && i < p->groups->nelts; i++) {
        if (i) {
            ngx_http_hangar_out_lit(out, ",");
        }

        ngx_http_hangar_out_str(out, g[i].data, g[i].len);
    }

    ngx_http_hangar_out_printf(out, "],\"auth_method\":\"%s\"",
                               p->method ? p->method : "none");

    if (p->key_id.len) {
        ngx_http_hangar_out_lit(out, ",\"key_name\":");
        ngx_http_hangar_out_str(out, p->key_name.data, p->key_name.len);
    }

    if (p->issuer.len) {
        ngx_http_hangar_out_lit(out, ",\"issuer\":");
        ngx_http_hangar_out_str(out, p->issuer.data, p->issuer.len);
    }

    if (p->email.len) {
        ngx_http_hangar_out_lit(out, ",\"email\":");
        ngx_http_hangar_out_str(out, p->email.data, p->email.len);
    }

    ngx_http_hangar_out_lit(out, "}}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


