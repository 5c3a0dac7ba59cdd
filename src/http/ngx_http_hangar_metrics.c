
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /metrics (hangar_metrics): the fleet and the counters of
 * ngx_http_hangar_stats.c in Prometheus text format 0.0.4
 * (hangar-core.md §6): HELP and TYPE for every family, counters named
 * _total, cumulative buckets ending with +Inf, _sum and _count, label
 * names sorted, label values escaped.  The registry's gauges are copied
 * out under the slab mutex and formatted after it; the counters are
 * atomics, read without a lock.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_metrics.h"
#include "ngx_http_hangar_api_groups.h"
#include "ngx_http_hangar_api_system.h"
#include "ngx_http_hangar_stats.h"


/* a server as the gauges need it, copied out of the registry */
typedef struct {
    u_char                       id[NGX_HTTP_HANGAR_ID_MAX];
    size_t                       id_len;
    u_char                       mode[16];
    ngx_uint_t                   state;
    ngx_uint_t                   failures;
    ngx_msec_t                   changed;
} ngx_http_hangar_metrics_server_t;


typedef struct {
    ngx_http_hangar_out_t            *out;
    ngx_http_hangar_stats_sh_t       *st;
    ngx_http_hangar_stats_server_t  **servers;  /* the table's, in a row */
    ngx_uint_t                        n;
} ngx_http_hangar_metrics_ctx_t;


static void ngx_http_hangar_metrics_family(ngx_http_hangar_out_t *out,
    const char *name, const char *type, const char *help);
static void ngx_http_hangar_metrics_float(ngx_http_hangar_out_t *out,
    uint64_t micro);
static void ngx_http_hangar_metrics_escaped(ngx_http_hangar_out_t *out,
    u_char *s, size_t len);
static void ngx_http_hangar_metrics_hist(ngx_http_hangar_out_t *out,
    const char *name, ngx_str_t *pre, ngx_str_t *post,
    ngx_http_hangar_hist_t *h, ngx_http_hangar_hist_e set);
static ngx_http_hangar_metrics_server_t *ngx_http_hangar_metrics_fleet(
    ngx_http_hangar_registry_t *reg, ngx_pool_t *pool, ngx_uint_t *n);
static void ngx_http_hangar_metrics_line(ngx_http_hangar_out_t *out,
    ngx_str_t *name, ngx_http_hangar_metrics_server_t *sv, ngx_str_t *extra,
    u_char *value, size_t len);
static void ngx_http_hangar_metrics_gauges(ngx_http_hangar_out_t *out,
    ngx_http_hangar_metrics_server_t *sv, ngx_uint_t n);
static void ngx_http_hangar_metrics_lifecycle(
    ngx_http_hangar_metrics_ctx_t *ctx);
static void ngx_http_hangar_metrics_tools(ngx_http_hangar_metrics_ctx_t *ctx);
static void ngx_http_hangar_metrics_tool(ngx_http_hangar_out_t *out,
    ngx_http_hangar_stats_server_t *s, ngx_http_hangar_stats_tool_t *t,
    ngx_uint_t part);
static void ngx_http_hangar_metrics_traffic(
    ngx_http_hangar_metrics_ctx_t *ctx);
static void ngx_http_hangar_metrics_global(ngx_http_hangar_metrics_ctx_t *ctx);


#define ngx_http_hangar_metrics_each(ctx, i, s)                              \
    for (i = 0; i < (ctx)->n && (s = (ctx)->servers[i]); i++)
#include "ngx_http_hangar_discovery_state.h"


/* GET /metrics: Prometheus text format 0.0.4 */

ngx_int_t
ngx_http_hangar_metrics_handler(ngx_http_request_t *r)
{
    ngx_http_hangar_req_t  *hr;

    hr = ngx_http_get_module_ctx(r, ngx_http_hangar_module);

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_hangar_error(hr, NGX_HTTP_NOT_ALLOWED,
                                     "MethodNotAllowedError",
                                     "method %V is not allowed here; "
                                     "allowed: GET, HEAD", &r->method_name);
    }

    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    if (ngx_http_hangar_metrics_render(&hr->out, hr->reg, r->pool)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* the exposition text, for /metrics and the hangar_metrics tool */

ngx_int_t
ngx_http_hangar_metrics_render(ngx_http_hangar_out_t *out,
    ngx_http_hangar_registry_t *reg, ngx_pool_t *pool)
{
    ngx_uint_t                         i, n;
    ngx_http_hangar_totals_t           t;
    ngx_http_hangar_metrics_ctx_t      ctx;
    ngx_http_hangar_metrics_server_t  *sv;

    /* the zone was full before anything was counted */
    static ngx_http_hangar_stats_sh_t  zero;

    ngx_http_hangar_totals(reg, &t);

    sv = ngx_http_hangar_metrics_fleet(reg, pool, &n);
    if (sv == NULL) {
        return NGX_ERROR;
    }

    /* one buffer: the exposition is tens of kilobytes */
    ngx_http_hangar_out_init(out, pool, 16384 + n * 1024);

    ngx_http_hangar_metrics_family(out, "build_info", "gauge",
                                   "Build information");
    ngx_http_hangar_out_lit(out,
        "mcp_hangar_build_info{nginx_version=\"" NGINX_VERSION "\","
        "version=\"" NGX_HTTP_HANGAR_VERSION "\"} 1.0\n");

    ngx_http_hangar_metrics_family(out, "process_start_time_seconds",
                                   "gauge", "Start time of the registry "
                                   "(epoch seconds)");
    ngx_http_hangar_out_lit(out, "mcp_hangar_process_start_time_seconds ");
    ngx_http_hangar_out_num(out, (double) reg->sh->boot_ms / 1000);
    ngx_http_hangar_out_lit(out, "\n");

    ngx_http_hangar_metrics_family(out, "mcp_servers", "gauge",
                                   "Number of registered MCP servers by "
                                   "state");

    for (i = 0; i < NGX_HTTP_HANGAR_NSTATES; i++) {
        ngx_http_hangar_out_printf(out,
                                   "mcp_hangar_mcp_servers{state=\"%s\"} "
                                   "%ui.0\n",
                                   ngx_http_hangar_state_name(i),
                                   t.by_state[i]);
    }

    ngx_http_hangar_metrics_gauges(out, sv, n);

    ctx.out = out;
    ctx.st = ngx_http_hangar_stats(reg);

    if (ctx.st == NULL) {
        ngx_memzero(&zero, sizeof(ngx_http_hangar_stats_sh_t));
        ctx.st = &zero;
    }

    /* the servers counted, once, rather than the table in every family */
    ctx.n = 0;
    ctx.servers = ngx_palloc(pool, (ctx.st->nservers + 1) * sizeof(void *));
    if (ctx.servers == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < ctx.st->nslots && ctx.n <= ctx.st->nservers; i++) {
        if (ctx.st->servers[i]) {
            ctx.servers[ctx.n++] = (ngx_http_hangar_stats_server_t *)
                                   ctx.st->servers[i];
        }
    }

    ngx_http_hangar_metrics_lifecycle(&ctx);
    ngx_http_hangar_metrics_tools(&ctx);
    ngx_http_hangar_metrics_traffic(&ctx);
    ngx_http_hangar_metrics_global(&ctx);

    if (ngx_http_hangar_groups_metrics(reg, pool, out) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_hangar_disc_metrics(reg, pool, out);
}


static void
ngx_http_hangar_metrics_family(ngx_http_hangar_out_t *out, const char *name,
    const char *type, const char *help)
{
    const char  *total;

    /* a counter's family is named as its samples (text format 0.0.4) */
    total = (ngx_strcmp(type, "counter") == 0) ? "_total" : "";

    ngx_http_hangar_out_printf(out, "\n# HELP mcp_hangar_%s%s %s\n"
                               "# TYPE mcp_hangar_%s%s %s\n",
                               name, total, help, name, total, type);
}


/* micro-units as a float: 2500 -> 0.0025, 1000000 -> 1.0 */

static void
ngx_http_hangar_metrics_float(ngx_http_hangar_out_t *out, uint64_t micro)
{
    u_char    frac[8], *p;
    uint64_t  f;

    f = micro % 1000000;

    if (f == 0) {
        ngx_http_hangar_out_printf(out, "%uL.0", micro / 1000000);
        return;
    }

    p = ngx_sprintf(frac, "%06uL", f);

    while (p[-1] == '0') {
        p--;
    }

    ngx_http_hangar_out_printf(out, "%uL.%*s", micro / 1000000,
                               (size_t) (p - frac), frac);
}


/* a label value: \ " and newline escaped (hangar-core.md §6) */

static void
ngx_http_hangar_metrics_escaped(ngx_http_hangar_out_t *out, u_char *s,
    size_t len)
{
    u_char  *p, *last, *start;

    last = s + len;
    start = s;

    for (p = s; p < last; p++) {
        if (*p != '\\' && *p != '"' && *p != '\n') {
            continue;
        }

        ngx_http_hangar_out_raw(out, start, p - start);
        ngx_http_hangar_out_raw(out, *p == '\n' ? "\\n"
                                     : (*p == '"' ? "\\\"" : "\\\\"), 2);
        start = p + 1;
    }

    ngx_http_hangar_out_raw(out, start, last - start);
}


/*
 * One histogram's samples: pre holds the labels that sort before "le",
 * post those after it (each "name=\"value\"" joined by commas).
 */

static void
ngx_http_hangar_metrics_hist(ngx_http_hangar_out_t *out, const char *name,
    ngx_str_t *pre, ngx_str_t *post, ngx_http_hangar_hist_t *h,
    ngx_http_hangar_hist_e set)
{
    ngx_uint_t       i;
    uint64_t         cum;
    const uint64_t  *b;

    b = ngx_http_hangar_stats_bounds(set);
    cum = 0;

    for (i = 0; ; i++) {
        cum += h->bucket[i];

        ngx_http_hangar_out_printf(out, "mcp_hangar_%s_bucket{%V%sle=\"",
                                   name, pre, pre->len ? "," : "");
        if (b[i]) {
            ngx_http_hangar_metrics_float(out, b[i]);

        } else {
            ngx_http_hangar_out_lit(out, "+Inf");
        }

        ngx_http_hangar_out_printf(out, "\"%s%V} %uL.0\n",
                                   post->len ? "," : "", post, cum);

        if (b[i] == 0) {
            break;
        }
    }

    ngx_http_hangar_out_printf(out, "mcp_hangar_%s_sum{%V%s%V} ", name, pre,
                               pre->len && post->len ? "," : "", post);
    ngx_http_hangar_metrics_float(out, h->sum);
    ngx_http_hangar_out_printf(out, "\nmcp_hangar_%s_count{%V%s%V} %uL.0\n",
                               name, pre, pre->len && post->len ? "," : "",
                               post, (uint64_t) h->count);
}


/* the servers' gauges, copied out with the mutex, formatted without it */

static ngx_http_hangar_metrics_server_t *
ngx_http_hangar_metrics_fleet(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_uint_t *n)
{
    ngx_uint_t                         i, max;
    ngx_queue_t                       *q;
    ngx_http_hangar_node_t            *node;
    ngx_http_hangar_metrics_server_t  *sv;

    max = reg->sh->servers.count + 16;

    sv = ngx_palloc(pool,
                    max * sizeof(ngx_http_hangar_metrics_server_t));
    if (sv == NULL) {
        return NULL;
    }

    i = 0;

    ngx_http_hangar_lock(reg);

    for (q = ngx_queue_head(&reg->sh->servers.queue);
         q != ngx_queue_sentinel(&reg->sh->servers.queue) && i < max;
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        ngx_memcpy(sv[i].id, node->id, node->id_len);
        sv[i].id_len = node->id_len;
        ngx_memcpy(sv[i].mode, node->mode_name, sizeof(sv[i].mode));
        sv[i].mode[sizeof(sv[i].mode) - 1] = '\0';
        sv[i].state = node->state;
        sv[i].failures = node->consecutive_failures;
        sv[i].changed = node->started;
        i++;
    }

    ngx_http_hangar_unlock(reg);

    *n = i;

    return sv;
}


/*
 * name{mcp_server="<id>"<extra>} <value>: the lines of every server,
 * copied rather than formatted (ids are [A-Za-z0-9_-]: nothing to escape)
 */

static void
ngx_http_hangar_metrics_line(ngx_http_hangar_out_t *out, ngx_str_t *name,
    ngx_http_hangar_metrics_server_t *sv, ngx_str_t *extra, u_char *value,
    size_t len)
{
    u_char  *p, buf[512];

    if (name->len + sv->id_len + extra->len + len > sizeof(buf) - 32) {
        return;
    }

    p = ngx_cpymem(buf, name->data, name->len);
    p = ngx_cpymem(p, "{mcp_server=\"", sizeof("{mcp_server=\"") - 1);
    p = ngx_cpymem(p, sv->id, sv->id_len);
    *p++ = '"';
    p = ngx_cpymem(p, extra->data, extra->len);
    *p++ = '}';
    *p++ = ' ';
    p = ngx_cpymem(p, value, len);
    *p++ = '\n';

    ngx_http_hangar_out_raw(out, buf, p - buf);
}


static void
ngx_http_hangar_metrics_gauges(ngx_http_hangar_out_t *out,
    ngx_http_hangar_metrics_server_t *sv, ngx_uint_t n)
{
    u_char      *p, buf[64];
    ngx_str_t    name, extra, none;
    ngx_uint_t   i, k;

    static const char  *family[][2] = {
        { "mcp_server_info", "MCP server information" },
        { "mcp_server_state", "MCP server state (0 cold, 1 initializing, "
                              "2 ready, 3 degraded, 4 dead)" },
        { "mcp_server_up", "1 when the MCP server is ready" },
        { "mcp_server_initialized", "0 when the MCP server is cold" },
        { "mcp_server_last_start_timestamp_seconds",
          "When the MCP server last became ready (epoch seconds; 0 never)" },
        { "health_check_consecutive_failures",
          "Consecutive failed health checks, calls and starts" }
    };

    ngx_str_null(&none);

    for (k = 0; k < 6; k++) {
        ngx_http_hangar_metrics_family(out, family[k][0], "gauge",
                                       family[k][1]);

        name.data = buf;
        name.len = ngx_sprintf(buf, "mcp_hangar_%s", family[k][0]) - buf;
        name.data = ngx_pstrdup(out->pool, &name);
        if (name.data == NULL) {
            out->failed = 1;
            return;
        }

        for (i = 0; i < n; i++) {
            extra = none;

            switch (k) {

            case 0:
                p = ngx_sprintf(buf, ",mode=\"%s\"", sv[i].mode);
                extra.data = buf;
                extra.len = p - buf;
                ngx_http_hangar_metrics_line(out, &name, &sv[i], &extra,
                                             (u_char *) "1.0", 3);
                continue;

            case 1:
                p = ngx_sprintf(buf, "%ui.0", sv[i].state);
                break;

            case 2:
                p = ngx_cpymem(buf, sv[i].state == NGX_HTTP_HANGAR_READY
                                    ? "1.0" : "0.0", 3);
                break;

            case 3:
                p = ngx_cpymem(buf, sv[i].state == NGX_HTTP_HANGAR_COLD
                                    ? "0.0" : "1.0", 3);
                break;

            case 4:
                p = ngx_sprintf(buf, "%M.%03M", sv[i].changed / 1000,
                                sv[i].changed % 1000);
                break;

            default:
                p = ngx_sprintf(buf, "%ui.0", sv[i].failures);
            }

            ngx_http_hangar_metrics_line(out, &name, &sv[i], &none, buf,
                                         p - buf);
        }
    }
}


/* starts, stops, cold starts, health checks */

static void
ngx_http_hangar_metrics_lifecycle(ngx_http_hangar_metrics_ctx_t *ctx)
{
    u_char                          *p, buf[128];
    ngx_str_t                        pre, none;
    ngx_uint_t                       i, j;
    ngx_http_hangar_out_t           *out;
    ngx_http_hangar_stats_server_t  *s;

    out = ctx->out;
    ngx_str_null(&none);

    ngx_http_hangar_metrics_family(out, "mcp_server_starts", "counter",
                                   "MCP server start attempts by result");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        ngx_http_hangar_out_printf(out,
            "mcp_hangar_mcp_server_starts_total{mcp_server=\"%*s\","
            "result=\"success\"} %uA.0\n"
            "mcp_hangar_mcp_server_starts_total{mcp_server=\"%*s\","
            "result=\"failure\"} %uA.0\n",
            s->len, s->id, s->starts_ok, s->len, s->id, s->starts_failed);
    }

    ngx_http_hangar_metrics_family(out, "mcp_server_stops", "counter",
                                   "MCP server stops by reason");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        for (j = 0; j < NGX_HTTP_HANGAR_STOP_REASONS; j++) {
            if (s->stops[j]) {
                ngx_http_hangar_out_printf(out,
                    "mcp_hangar_mcp_server_stops_total{mcp_server=\"%*s\","
                    "reason=\"%s\"} %uA.0\n", s->len, s->id,
                    ngx_http_hangar_stop_reasons[j], s->stops[j]);
            }
        }
    }

    ngx_http_hangar_metrics_family(out, "mcp_server_cold_start_seconds",
                                   "histogram", "Duration of successful "
                                   "cold starts");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        if (s->cold_start.count == 0) {
            continue;
        }

        p = ngx_snprintf(buf, sizeof(buf), "mcp_server=\"%*s\",mode=\"%s\"",
                         s->len, s->id, s->mode[0] ? (char *) s->mode : "");
        ngx_str_null(&pre);
        pre.data = buf;
        pre.len = p - buf;

        /* "le" sorts before "mcp_server" */
        ngx_http_hangar_metrics_hist(out, "mcp_server_cold_start_seconds",
                                     &none, &pre, &s->cold_start,
                                     NGX_HTTP_HANGAR_HIST_COLD_START);
    }

    ngx_http_hangar_metrics_family(out, "health_checks", "counter",
                                   "Health checks by result");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        for (j = 0; j < NGX_HTTP_HANGAR_CHECK_RESULTS; j++) {
            if (s->checks[j]) {
                ngx_http_hangar_out_printf(out,
                    "mcp_hangar_health_checks_total{mcp_server=\"%*s\","
                    "result=\"%s\"} %uA.0\n", s->len, s->id,
                    ngx_http_hangar_check_results[j], s->checks[j]);
            }
        }
    }

    ngx_http_hangar_metrics_family(out, "health_check_duration_seconds",
                                   "histogram", "Duration of health checks");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        if (s->check_time.count == 0) {
            continue;
        }

        p = ngx_snprintf(buf, sizeof(buf), "mcp_server=\"%*s\"", s->len,
                         s->id);
        pre.data = buf;
        pre.len = p - buf;

        ngx_http_hangar_metrics_hist(out, "health_check_duration_seconds",
                                     &none, &pre, &s->check_time,
                                     NGX_HTTP_HANGAR_HIST_HEALTH);
    }
}


/* tool calls, their latency and errors */

static void
ngx_http_hangar_metrics_tools(ngx_http_hangar_metrics_ctx_t *ctx)
{
    ngx_uint_t                       i, j, part, n;
    ngx_http_hangar_stats_tool_t    *t;
    ngx_http_hangar_stats_server_t  *s;

    static const char  *family[][3] = {
        { "tool_calls", "counter", "Tool calls by status" },
        { "tool_call_duration_seconds", "histogram",
          "Duration of successful tool calls" },
        { "tool_call_errors", "counter", "Failed tool calls by error type" }
    };


    for (part = 0; part < 3; part++) {
        ngx_http_hangar_metrics_family(ctx->out, family[part][0],
                                       family[part][1], family[part][2]);

        ngx_http_hangar_metrics_each(ctx, i, s) {
            n = s->ntools;

            for (j = 0; j <= n; j++) {
                t = (j < n) ? (ngx_http_hangar_stats_tool_t *) s->tools[j]
                            : &s->other;

                ngx_http_hangar_metrics_tool(ctx->out, s, t, part);
            }
        }
    }
}


static void
ngx_http_hangar_metrics_tool(ngx_http_hangar_out_t *out,
    ngx_http_hangar_stats_server_t *s, ngx_http_hangar_stats_tool_t *t,
    ngx_uint_t part)
{
    u_char                 *p, buf[256];
    ngx_str_t               pre, post;
    ngx_uint_t              i;
    ngx_http_hangar_out_t   tmp;

    if (t->ok + t->failed == 0) {
        return;
    }

    if (part == 0) {
        for (i = 0; i < 2; i++) {
            ngx_http_hangar_out_printf(out,
                "mcp_hangar_tool_calls_total{mcp_server=\"%*s\",status=\"%s\","
                "tool=\"", s->len, s->id, i ? "error" : "success");
            ngx_http_hangar_metrics_escaped(out, t->name, t->len);
            ngx_http_hangar_out_printf(out, "\"} %uA.0\n",
                                       i ? t->failed : t->ok);
        }

        return;
    }

    if (part == 1) {
        if (t->latency.count == 0) {
            return;
        }

        /* the escaped tool name, in a buffer of the request's pool */
        ngx_http_hangar_out_init(&tmp, out->pool, 256);
        ngx_http_hangar_out_printf(&tmp, "mcp_server=\"%*s\",tool=\"",
                                   s->len, s->id);
        ngx_http_hangar_metrics_escaped(&tmp, t->name, t->len);
        ngx_http_hangar_out_lit(&tmp, "\"");

        if (ngx_http_hangar_out_flatten(&tmp, &post) != NGX_OK) {
            out->failed = 1;
            return;
        }

        ngx_str_null(&pre);
        ngx_http_hangar_metrics_hist(out, "tool_call_duration_seconds",
                                     &pre, &post, &t->latency,
                                     NGX_HTTP_HANGAR_HIST_LATENCY);
        return;
    }

    for (i = 0; i <= NGX_HTTP_HANGAR_STATS_ERRTYPES; i++) {
        if (i < NGX_HTTP_HANGAR_STATS_ERRTYPES) {
            if (!t->errors[i].ready || t->errors[i].count == 0) {
                continue;
            }

            p = ngx_cpymem(buf, t->errors[i].name, t->errors[i].len);

        } else {
            if (t->errors_other == 0) {
                continue;
            }

            p = ngx_cpymem(buf, "other", 5);
        }

        ngx_http_hangar_out_lit(out, "mcp_hangar_tool_call_errors_total"
                                     "{error_type=\"");
        ngx_http_hangar_metrics_escaped(out, buf, p - buf);
        ngx_http_hangar_out_printf(out, "\",mcp_server=\"%*s\",tool=\"",
                                   s->len, s->id);
        ngx_http_hangar_metrics_escaped(out, t->name, t->len);
        ngx_http_hangar_out_printf(out, "\"} %uA.0\n",
                                   i < NGX_HTTP_HANGAR_STATS_ERRTYPES
                                   ? t->errors[i].count : t->errors_other);
    }
}


/* JSON-RPC messages and HTTP exchanges with the servers */

static void
ngx_http_hangar_metrics_traffic(ngx_http_hangar_metrics_ctx_t *ctx)
{
    u_char                          *p, buf[128];
    ngx_str_t                        pre, post;
    ngx_uint_t                       i, j;
    ngx_http_hangar_out_t           *out;
    ngx_http_hangar_stats_server_t  *s;

    out = ctx->out;

    ngx_http_hangar_metrics_family(out, "messages_sent", "counter",
                                   "JSON-RPC requests sent to MCP servers");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        for (j = 0; j < NGX_HTTP_HANGAR_RPC_METHODS; j++) {
            if (s->sent[j]) {
                ngx_http_hangar_out_printf(out,
                    "mcp_hangar_messages_sent_total{mcp_server=\"%*s\","
                    "method=\"%s\"} %uA.0\n", s->len, s->id,
                    ngx_http_hangar_rpc_methods[j], s->sent[j]);
            }
        }
    }

    ngx_http_hangar_metrics_family(out, "messages_received", "counter",
                                   "JSON-RPC messages received from MCP "
                                   "servers");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        for (j = 0; j < NGX_HTTP_HANGAR_RECV_TYPES; j++) {
            if (s->received[j]) {
                ngx_http_hangar_out_printf(out,
                    "mcp_hangar_messages_received_total{mcp_server=\"%*s\","
                    "type=\"%s\"} %uA.0\n", s->len, s->id,
                    ngx_http_hangar_recv_types[j], s->received[j]);
            }
        }
    }

    ngx_http_hangar_metrics_family(out, "message_size_bytes", "histogram",
                                   "Size of JSON-RPC messages");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        p = ngx_snprintf(buf, sizeof(buf), "mcp_server=\"%*s\"", s->len,
                         s->id);
        post.data = buf;
        post.len = p - buf;

        for (j = 0; j < 2; j++) {
            if (j == 0 && s->sent_size.count) {
                ngx_str_set(&pre, "direction=\"sent\"");
                ngx_http_hangar_metrics_hist(out, "message_size_bytes", &pre,
                                             &post, &s->sent_size,
                                             NGX_HTTP_HANGAR_HIST_SIZE);

            } else if (j == 1 && s->received_size.count) {
                ngx_str_set(&pre, "direction=\"received\"");
                ngx_http_hangar_metrics_hist(out, "message_size_bytes", &pre,
                                             &post, &s->received_size,
                                             NGX_HTTP_HANGAR_HIST_SIZE);
            }
        }
    }

    ngx_http_hangar_metrics_family(out, "http_requests", "counter",
                                   "HTTP requests to MCP servers by status");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        for (j = 0; j < NGX_HTTP_HANGAR_STATS_CODES; j++) {
            if (s->codes[j].code && s->codes[j].count) {
                ngx_http_hangar_out_printf(out,
                    "mcp_hangar_http_requests_total{mcp_server=\"%*s\","
                    "method=\"POST\",status_code=\"%uA\"} %uA.0\n",
                    s->len, s->id, s->codes[j].code, s->codes[j].count);
            }
        }

        if (s->codes_other) {
            ngx_http_hangar_out_printf(out,
                "mcp_hangar_http_requests_total{mcp_server=\"%*s\","
                "method=\"POST\",status_code=\"other\"} %uA.0\n",
                s->len, s->id, s->codes_other);
        }
    }

    ngx_http_hangar_metrics_family(out, "http_errors", "counter",
                                   "HTTP exchanges with MCP servers that "
                                   "failed (no response)");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        for (j = 0; j < 2; j++) {
            if (s->http_errors[j]) {
                ngx_http_hangar_out_printf(out,
                    "mcp_hangar_http_errors_total{error_type=\"%s\","
                    "mcp_server=\"%*s\"} %uA.0\n",
                    j ? "connection_error" : "timeout", s->len, s->id,
                    s->http_errors[j]);
            }
        }
    }
}


/* GC, rate limits, batches, reloads, errors */

static void
ngx_http_hangar_metrics_global(ngx_http_hangar_metrics_ctx_t *ctx)
{
    u_char                      *sep;
    ngx_str_t                    none;
    ngx_uint_t                   i;
    ngx_http_hangar_out_t       *out;
    ngx_http_hangar_stats_sh_t  *st;

    static const char  *batch[] = {
        "success", "partial", "failure", "validation_error"
    };

    out = ctx->out;
    st = ctx->st;

    ngx_str_null(&none);

    ngx_http_hangar_metrics_family(out, "gc_cycles", "counter",
                                   "Sweeps of the idle shutdown");
    ngx_http_hangar_out_printf(out, "mcp_hangar_gc_cycles_total %uA.0\n",
                               st->gc_cycles);

    ngx_http_hangar_metrics_family(out, "gc_cycle_duration_seconds",
                                   "histogram", "Duration of the sweeps");
    ngx_http_hangar_metrics_hist(out, "gc_cycle_duration_seconds", &none,
                                 &none, &st->gc_time,
                                 NGX_HTTP_HANGAR_HIST_GC);

    ngx_http_hangar_metrics_family(out, "gc_mcp_servers_collected", "counter",
                                   "MCP servers stopped because idle");
    ngx_http_hangar_out_printf(out, "mcp_hangar_gc_mcp_servers_collected_total"
                               "{reason=\"idle\"} %uA.0\n",
                               st->gc_collected);

    ngx_http_hangar_metrics_family(out, "rate_limit_hits", "counter",
                                   "Rate limit decisions by result");
    ngx_http_hangar_out_printf(out,
        "mcp_hangar_rate_limit_hits_total{result=\"allowed\"} %uA.0\n"
        "mcp_hangar_rate_limit_hits_total{result=\"rejected\"} %uA.0\n",
        st->limit_allowed, st->limit_rejected);

    ngx_http_hangar_metrics_family(out, "batch_calls", "counter",
                                   "hangar_call batches by result");
    for (i = 0; i < 4; i++) {
        ngx_http_hangar_out_printf(out, "mcp_hangar_batch_calls_total"
                                   "{result=\"%s\"} %uA.0\n", batch[i],
                                   st->batch[i]);
    }

    ngx_http_hangar_metrics_family(out, "batch_size", "histogram",
                                   "Calls per batch");
    ngx_http_hangar_metrics_hist(out, "batch_size", &none, &none,
                                 &st->batch_size,
                                 NGX_HTTP_HANGAR_HIST_BATCH_SIZE);

    ngx_http_hangar_metrics_family(out, "batch_duration_seconds", "histogram",
                                   "Duration of batches");
    ngx_http_hangar_metrics_hist(out, "batch_duration_seconds", &none, &none,
                                 &st->batch_time,
                                 NGX_HTTP_HANGAR_HIST_BATCH_DURATION);

    ngx_http_hangar_metrics_family(out, "batch_concurrency", "gauge",
                                   "Batches running");
    ngx_http_hangar_out_printf(out, "mcp_hangar_batch_concurrency %uA.0\n",
                               st->batch_active);

    ngx_http_hangar_metrics_family(out, "config_reloads", "counter",
                                   "Reloads of hangar.yaml through the API "
                                   "by result");
    ngx_http_hangar_out_printf(out,
        "mcp_hangar_config_reloads_total{result=\"success\"} %uA.0\n"
        "mcp_hangar_config_reloads_total{result=\"failure\"} %uA.0\n",
        st->reloads[0], st->reloads[1]);

    ngx_http_hangar_metrics_family(out, "errors", "counter",
                                   "Errors by component and type");
    for (i = 0; i < 8; i++) {
        if (!st->errors[i].ready || st->errors[i].count == 0) {
            continue;
        }

        sep = ngx_strlchr(st->errors[i].name,
                          st->errors[i].name + st->errors[i].len, '\0');
        if (sep == NULL) {
            continue;
        }

        ngx_http_hangar_out_printf(out, "mcp_hangar_errors_total"
                                   "{component=\"%*s\",error_type=\"%*s\"} "
                                   "%uA.0\n",
                                   (size_t) (sep - st->errors[i].name),
                                   st->errors[i].name,
                                   (size_t) (st->errors[i].name
                                             + st->errors[i].len - sep - 1),
                                   sep + 1, st->errors[i].count);
    }
}
