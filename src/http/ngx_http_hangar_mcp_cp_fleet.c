
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The control-plane tools that show the whole fleet, its servers and its
 * groups (hangar-core.md §7.2): hangar_list, hangar_status (with its
 * box-drawn text), hangar_health and hangar_metrics, written with the
 * REST API's own writers.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_mcp_cp_fleet.h"
#include "ngx_http_hangar_api_servers.h"
#include "ngx_http_hangar_api_groups.h"
#include "ngx_http_hangar_api_system.h"
#include "ngx_http_hangar_api_limit.h"
#include "ngx_http_hangar_metrics.h"


static void ngx_http_hangar_cp_box(ngx_http_hangar_out_t *box,
    ngx_array_t *servers, ngx_array_t *groups, ngx_uint_t healthy,
    ngx_str_t *uptime);


static const char  *ngx_http_hangar_cp_indicators[] = {
    "[COLD]", "[STARTING]", "[READY]", "[DEGRADED]", "[DEAD]"
};

/* a group's: inactive (none in rotation), partial, healthy, degraded */
static const char  *ngx_http_hangar_cp_group_indicators[] = {
    "[DEAD]", "[DEGRADED]", "[READY]", "[DEGRADED]"
};


/*
 * hangar_list: {mcp_servers:[summaries],groups:[<group status>],
 * runtime_mcp_servers:[]}; state_filter applies to the servers' states
 * and to the groups' (inactive, partial, healthy, degraded)
 */

ngx_int_t
ngx_http_hangar_cp_list_servers(ngx_http_hangar_cp_t *cp)
{
    ngx_str_t                      filter;
    ngx_uint_t                     i, first;
    const char                    *state;
    ngx_array_t                    groups;
    ngx_http_hangar_value_t       *v;
    ngx_http_hangar_group_info_t  *g;

    ngx_str_null(&filter);

    v = ngx_http_hangar_get(cp->args, "state_filter");

    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        filter = v->u.s;
    }

    if (ngx_http_hangar_group_all(cp->hr->reg, cp->hr->r->pool, &groups)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_hangar_out_lit(&cp->body, "{\"mcp_servers\":");
    ngx_http_hangar_render_servers(&cp->body, cp->hr->reg, &filter);
    ngx_http_hangar_out_lit(&cp->body, ",\"groups\":[");

    g = groups.elts;
    first = 1;

    for (i = 0; i < groups.nelts; i++) {
        state = ngx_http_hangar_group_states[g[i].state];

        if (filter.len
            && (filter.len != ngx_strlen(state)
                || ngx_strncmp(filter.data, state, filter.len) != 0))
        {
            continue;
        }

        if (!first) {
            ngx_http_hangar_out_lit(&cp->body, ",");
        }

        first = 0;
        ngx_http_hangar_group_status_out(&cp->body, &g[i]);
    }

    ngx_http_hangar_out_lit(&cp->body, "],\"runtime_mcp_servers\":[]}");

    return ngx_http_hangar_cp_done(cp);
}


/*
 * hangar_status: {mcp_servers:[{id,indicator,state,mode,note?}],
 * runtime_mcp_servers:[],groups:[{id,indicator,state,healthy_members,
 * total_members}],summary,formatted}
 */

ngx_int_t
ngx_http_hangar_cp_status(ngx_http_hangar_cp_t *cp)
{
    u_char                         buf[64];
    double                         up;
    ngx_str_t                      uptime;
    ngx_uint_t                     i, healthy;
    ngx_array_t                    servers, groups;
    ngx_http_hangar_out_t         *out, text;
    ngx_http_hangar_cp_server_t   *s;
    ngx_http_hangar_group_info_t  *g;

    if (ngx_http_hangar_cp_fleet(cp, &servers) != NGX_OK
        || ngx_http_hangar_group_all(cp->hr->reg, cp->hr->r->pool, &groups)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = &cp->body;
    s = servers.elts;
    healthy = 0;

    ngx_http_hangar_out_lit(out, "{\"mcp_servers\":[");

    for (i = 0; i < servers.nelts; i++) {
        healthy += s[i].state == NGX_HTTP_HANGAR_READY;

        ngx_http_hangar_out_printf(out, "%s{\"id\":\"%*s\",\"indicator\":"
                                   "\"%s\",\"state\":\"%s\",\"mode\":\"%s\"",
                                   i ? "," : "", s[i].id_len, s[i].id,
                                   ngx_http_hangar_cp_indicators[s[i].state],
                                   ngx_http_hangar_state_name(s[i].state),
                                   s[i].mode);

        if (s[i].state == NGX_HTTP_HANGAR_COLD) {
            ngx_http_hangar_out_lit(out, ",\"note\":\"Will start on first "
                                         "request\"");
        }

        ngx_http_hangar_out_lit(out, "}");
    }

    up = ngx_http_hangar_uptime(cp->hr->reg);
    uptime.data = buf;
    uptime.len = ngx_sprintf(buf, "%uih %uim", (ngx_uint_t) up / 3600,
                             (ngx_uint_t) up % 3600 / 60)
                 - buf;

    ngx_http_hangar_out_lit(out, "],\"runtime_mcp_servers\":[],\"groups\":[");

    g = groups.elts;

    for (i = 0; i < groups.nelts; i++) {
        if (i) {
            ngx_http_hangar_out_lit(out, ",");
        }

        ngx_http_hangar_out_lit(out, "{\"id\":");
        ngx_http_hangar_out_ngx_str(out, &g[i].id);
        ngx_http_hangar_out_printf(out, ",\"indicator\":\"%s\",\"state\":"
                                   "\"%s\",\"healthy_members\":%ui,"
                                   "\"total_members\":%ui}",
                                   ngx_http_hangar_cp_group_indicators
                                       [g[i].state],
                                   ngx_http_hangar_group_states[g[i].state],
                                   g[i].healthy, g[i].nmembers);
    }

    ngx_http_hangar_out_printf(out, "],\"summary\":{"
                               "\"healthy_mcp_servers\":%ui,"
                               "\"total_mcp_servers\":%ui,"
                               "\"runtime_mcp_servers\":0,"
                               "\"runtime_healthy\":0,\"uptime\":\"%V\","
                               "\"uptime_seconds\":", healthy, servers.nelts,
                               &uptime);
    ngx_http_hangar_out_num(out, up);

    ngx_http_hangar_out_init(&text, cp->hr->r->pool, 1024);
    ngx_http_hangar_cp_box(&text, &servers, &groups, healthy, &uptime);

    ngx_http_hangar_out_lit(out, "},\"formatted\":");

    if (ngx_http_hangar_cp_string(out, &text) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_hangar_out_lit(out, "}");

    return ngx_http_hangar_cp_done(cp);
}


/* the status as box-drawn text, 48 columns wide: servers, then groups */

#define NGX_HTTP_HANGAR_BOX_RULE                                             \
    "\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80" \
    "\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80"

static void
ngx_http_hangar_cp_box(ngx_http_hangar_out_t *box, ngx_array_t *servers,
    ngx_array_t *groups, ngx_uint_t healthy, ngx_str_t *uptime)
{
    u_char                         line[128], *p;
    ngx_uint_t                     i, k, n;
    ngx_http_hangar_cp_server_t   *s;
    ngx_http_hangar_group_info_t  *g;

    s = servers->elts;
    g = groups->elts;
    n = servers->nelts + groups->nelts;

    ngx_http_hangar_out_lit(box, "\xe2\x95\xad" NGX_HTTP_HANGAR_BOX_RULE
                            NGX_HTTP_HANGAR_BOX_RULE NGX_HTTP_HANGAR_BOX_RULE
                            NGX_HTTP_HANGAR_BOX_RULE "\xe2\x95\xae\n");

    for (i = 0; i <= n; i++) {
        if (i < servers->nelts) {
            p = ngx_snprintf(line, 46, "%s %*s (%s)",
                             ngx_http_hangar_cp_indicators[s[i].state],
                             s[i].id_len, s[i].id, s[i].mode);

        } else if (i < n) {
            k = i - servers->nelts;
            p = ngx_snprintf(line, 46, "%s %V (group, %ui/%ui healthy)",
                             ngx_http_hangar_cp_group_indicators[g[k].state],
                             &g[k].id, g[k].healthy, g[k].nmembers);

        } else {
            p = ngx_snprintf(line, 46, "%ui/%ui healthy, up %V", healthy,
                             servers->nelts, uptime);
        }

        for (k = p - line; k < 46; k++) {
            *p++ = ' ';
        }

        ngx_http_hangar_out_lit(box, "\xe2\x94\x82 ");
        ngx_http_hangar_out_raw(box, line, p - line);
        ngx_http_hangar_out_lit(box, " \xe2\x94\x82\n");

        if (i + 1 == n) {
            ngx_http_hangar_out_lit(box, "\xe2\x94\x9c"
                                    NGX_HTTP_HANGAR_BOX_RULE
                                    NGX_HTTP_HANGAR_BOX_RULE
                                    NGX_HTTP_HANGAR_BOX_RULE
                                    NGX_HTTP_HANGAR_BOX_RULE
                                    "\xe2\x94\xa4\n");
        }
    }

    ngx_http_hangar_out_lit(box, "\xe2\x95\xb0" NGX_HTTP_HANGAR_BOX_RULE
                            NGX_HTTP_HANGAR_BOX_RULE NGX_HTTP_HANGAR_BOX_RULE
                            NGX_HTTP_HANGAR_BOX_RULE "\xe2\x95\xaf");
}


/*
 * hangar_health: {status,mcp_servers:{total,by_state},groups:{total,
 * by_state,total_members,healthy_members},security:{rate_limiting}}
 */

ngx_int_t
ngx_http_hangar_cp_health(ngx_http_hangar_cp_t *cp)
{
    ngx_uint_t                     i, members, healthy, by_state[4];
    ngx_array_t                    groups;
    ngx_http_hangar_out_t         *out;
    ngx_http_hangar_totals_t       t;
    ngx_http_hangar_limit_conf_t  *lc;
    ngx_http_hangar_group_info_t  *g;

    out = &cp->body;

    if (ngx_http_hangar_group_all(cp->hr->reg, cp->hr->r->pool, &groups)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_hangar_totals(cp->hr->reg, &t);

    ngx_http_hangar_out_printf(out, "{\"status\":\"healthy\",\"mcp_servers\":"
                               "{\"total\":%ui,\"by_state\":{", t.servers);

    for (i = 0; i < NGX_HTTP_HANGAR_NSTATES; i++) {
        ngx_http_hangar_out_printf(out, "%s\"%s\":%ui", i ? "," : "",
                                   ngx_http_hangar_state_name(i),
                                   t.by_state[i]);
    }

    g = groups.elts;
    members = 0;
    healthy = 0;
    ngx_memzero(by_state, sizeof(by_state));

    for (i = 0; i < groups.nelts; i++) {
        members += g[i].nmembers;
        healthy += g[i].healthy;
        by_state[g[i].state % 4]++;
    }

    ngx_http_hangar_out_printf(out, "}},\"groups\":{\"total\":%ui,"
                               "\"by_state\":{", groups.nelts);

    for (i = 0; i < 4; i++) {
        ngx_http_hangar_out_printf(out, "%s\"%s\":%ui", i ? "," : "",
                                   ngx_http_hangar_group_states[i],
                                   by_state[i]);
    }

    lc = cp->hr->reg->hmcf ? cp->hr->reg->hmcf->limit : NULL;

    ngx_http_hangar_out_printf(out, "},\"total_members\":%ui,"
                               "\"healthy_members\":%ui},"
                               "\"security\":{\"rate_limiting\":"
                               "{\"active_buckets\":%ui,\"config\":",
                               members, healthy,
                               ngx_http_hangar_limit_buckets(cp->hr->reg));

    if (lc && lc->enabled) {
        ngx_http_hangar_out_printf(out, "{\"enabled\":true,\"rps\":");
        ngx_http_hangar_out_num(out, (double) lc->rest.rate / 1000);
        ngx_http_hangar_out_printf(out, ",\"burst\":%ui}}}}", lc->rest.burst);

    } else {
        ngx_http_hangar_out_lit(out, "{\"enabled\":false}}}}");
    }

    return ngx_http_hangar_cp_done(cp);
}


/*
 * hangar_metrics: prometheus -> {metrics:"<text>"}; json ->
 * {mcp_servers:{id:{...}},groups:{id:{state,strategy,total_members,
 * healthy_members}},...,summary}
 */

ngx_int_t
ngx_http_hangar_cp_metrics(ngx_http_hangar_cp_t *cp)
{
    ngx_uint_t                     i, calls, errors;
    ngx_array_t                    servers, groups;
    ngx_http_hangar_out_t         *out, prom;
    ngx_http_hangar_value_t       *f;
    ngx_http_hangar_cp_server_t   *s;
    ngx_http_hangar_group_info_t  *g;

    out = &cp->body;
    f = ngx_http_hangar_get(cp->args, "format");

    if (ngx_http_hangar_is(f, NGX_HTTP_HANGAR_STR)
        && ngx_http_hangar_str_is(&f->u.s, "prometheus"))
    {
        if (ngx_http_hangar_metrics_render(&prom, cp->hr->reg,
                                           cp->hr->r->pool)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_hangar_out_lit(out, "{\"metrics\":");

        if (ngx_http_hangar_cp_string(out, &prom) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_hangar_out_lit(out, "}");

        return ngx_http_hangar_cp_done(cp);
    }

    if (f && !(ngx_http_hangar_is(f, NGX_HTTP_HANGAR_STR)
               && ngx_http_hangar_str_is(&f->u.s, "json"))
        && f->type != NGX_HTTP_HANGAR_NULL)
    {
        return ngx_http_hangar_cp_error(cp, "ValueError", NULL,
                                        "format must be json or prometheus");
    }

    if (ngx_http_hangar_cp_fleet(cp, &servers) != NGX_OK
        || ngx_http_hangar_group_all(cp->hr->reg, cp->hr->r->pool, &groups)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    s = servers.elts;
    calls = 0;
    errors = 0;

    ngx_http_hangar_out_lit(out, "{\"mcp_servers\":{");

    /* the registry keeps no latency: avg_latency_ms is null */
    for (i = 0; i < servers.nelts; i++) {
        ngx_http_hangar_out_printf(out, "%s\"%*s\":{\"state\":\"%s\","
                                   "\"mode\":\"%s\",\"tools_count\":%ui,"
                                   "\"invocations\":%ui,\"errors\":%ui,"
                                   "\"avg_latency_ms\":null}", i ? "," : "",
                                   s[i].id_len, s[i].id,
                                   ngx_http_hangar_state_name(s[i].state),
                                   s[i].mode, s[i].tools, s[i].invocations,
                                   s[i].failures);
        calls += s[i].invocations;
        errors += s[i].failures;
    }

    ngx_http_hangar_out_lit(out, "},\"groups\":{");

    g = groups.elts;

    for (i = 0; i < groups.nelts; i++) {
        if (i) {
            ngx_http_hangar_out_lit(out, ",");
        }

        ngx_http_hangar_out_ngx_str(out, &g[i].id);
        ngx_http_hangar_out_printf(out, ":{\"state\":\"%s\",\"strategy\":"
                                   "\"%s\",\"total_members\":%ui,"
                                   "\"healthy_members\":%ui}",
                                   ngx_http_hangar_group_states[g[i].state],
                                   ngx_http_hangar_group_strategies
                                       [g[i].strategy],
                                   g[i].nmembers, g[i].healthy);
    }

    ngx_http_hangar_out_printf(out, "},\"tool_calls\":{},"
                               "\"discovery\":{},\"errors\":{},"
                               "\"performance\":{},\"summary\":{"
                               "\"total_mcp_servers\":%ui,"
                               "\"total_groups\":%ui,"
                               "\"total_tool_calls\":%ui,\"total_errors\":%ui"
                               "}}", servers.nelts, groups.nelts, calls,
                               errors);

    return ngx_http_hangar_cp_done(cp);
}
