
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


/* the longest sample line: labels of ids, tool names, error types */
#define NGX_HTTP_HANGAR_METRICS_LINE  1024


/* a server as the gauges need it, copied out of the registry */
typedef struct {
    u_char                       label[NGX_HTTP_HANGAR_ID_MAX + 16];
    size_t                       label_len;  /* {mcp_server="<id>" */
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
static u_char *ngx_http_hangar_metrics_uint(u_char *p, uint64_t v);
static u_char *ngx_http_hangar_metrics_float(u_char *p, uint64_t micro);
static u_char *ngx_http_hangar_metrics_escaped(u_char *p, u_char *s,
    size_t len);
static void ngx_http_hangar_metrics_sample(ngx_http_hangar_out_t *out,
    const char *name, size_t nlen, u_char *labels, size_t len,
    uint64_t value);
static u_char *ngx_http_hangar_metrics_server_label(u_char *p, u_char *id,
    size_t len);
static u_char *ngx_http_hangar_metrics_label(u_char *p, const char *key,
    const char *value);
static void ngx_http_hangar_metrics_hist(ngx_http_hangar_out_t *out,
    const char *name, ngx_str_t *pre, ngx_str_t *post,
    ngx_http_hangar_hist_t *h, ngx_http_hangar_hist_e set);
static ngx_http_hangar_metrics_server_t *ngx_http_hangar_metrics_fleet(
    ngx_http_hangar_registry_t *reg, ngx_pool_t *pool, ngx_uint_t *n);
static void ngx_http_hangar_metrics_line(ngx_http_hangar_out_t *out,
    ngx_str_t *name, ngx_http_hangar_metrics_server_t *sv, ngx_str_t *extra,
    u_char *value, size_t len);
static u_char *ngx_http_hangar_metrics_room(ngx_http_hangar_out_t *out,
    size_t len);
static void ngx_http_hangar_metrics_done(ngx_http_hangar_out_t *out,
    u_char *p);
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


/* a sample of a family named by a literal */
#define ngx_http_hangar_metrics_lit(out, name, labels, len, value)            \
    ngx_http_hangar_metrics_sample(out, name, sizeof(name) - 1, labels, len, \
                                   value)

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
    /* the type without its parameters, as gzip_types matches it */
    r->headers_out.content_type_len = sizeof("text/plain") - 1;

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
    u_char                            *p, buf[64];
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
        p = ngx_http_hangar_metrics_label(buf, "state",
                                          ngx_http_hangar_state_name(i));
        ngx_http_hangar_metrics_lit(out, "mcp_hangar_mcp_servers", buf + 1,
                                    p - buf - 1, t.by_state[i]);
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
    n = ctx.st->nservers;
    ctx.servers = ngx_palloc(pool, (n + 1) * sizeof(void *));
    if (ctx.servers == NULL) {
        return NGX_ERROR;
    }

    /* the ones counted when the scrape began (later ones: next scrape) */
    for (i = 0; i < ctx.st->nslots && ctx.n < n; i++) {
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
    u_char  *p, buf[512];
    size_t   nlen, tlen, hlen, total;

    /* a counter's family is named as its samples (text format 0.0.4) */
    total = (type[0] == 'c') ? sizeof("_total") - 1 : 0;

    nlen = ngx_strlen(name);
    tlen = ngx_strlen(type);
    hlen = ngx_strlen(help);

    if (2 * nlen + tlen + hlen + 64 > sizeof(buf)) {
        out->failed = 1;
        return;
    }

    p = ngx_cpymem(buf, "\n# HELP mcp_hangar_", 19);
    p = ngx_cpymem(p, name, nlen);
    p = ngx_cpymem(p, "_total", total);
    *p++ = ' ';
    p = ngx_cpymem(p, help, hlen);
    p = ngx_cpymem(p, "\n# TYPE mcp_hangar_", 19);
    p = ngx_cpymem(p, name, nlen);
    p = ngx_cpymem(p, "_total", total);
    *p++ = ' ';
    p = ngx_cpymem(p, type, tlen);
    *p++ = '\n';

    ngx_http_hangar_out_raw(out, buf, p - buf);
}


/* decimal digits, without ngx_sprintf's generic formatting */

static u_char *
ngx_http_hangar_metrics_uint(u_char *p, uint64_t v)
{
    u_char  *t, tmp[NGX_INT64_LEN];

    t = tmp + NGX_INT64_LEN;

    do {
        *--t = (u_char) ('0' + v % 10);
        v /= 10;
    } while (v);

    return ngx_cpymem(p, t, tmp + NGX_INT64_LEN - t);
}


/* micro-units as a float: 2500 -> 0.0025, 1000000 -> 1.0 */

static u_char *
ngx_http_hangar_metrics_float(u_char *p, uint64_t micro)
{
    ngx_uint_t  i, n;
    uint64_t    f;
    u_char      frac[6];

    p = ngx_http_hangar_metrics_uint(p, micro / 1000000);
    *p++ = '.';

    f = micro % 1000000;

    if (f == 0) {
        *p++ = '0';
        return p;
    }

    for (i = 6; i; i--) {
        frac[i - 1] = (u_char) ('0' + f % 10);
        f /= 10;
    }

    for (n = 6; frac[n - 1] == '0'; n--) { /* void */ }

    return ngx_cpymem(p, frac, n);
}


/* a label value: \ " and newline escaped (hangar-core.md §6); 2x room */

static u_char *
ngx_http_hangar_metrics_escaped(u_char *p, u_char *s, size_t len)
{
    u_char  *last;

    for (last = s + len; s < last; s++) {
        switch (*s) {

        case '\\':
            *p++ = '\\';
            *p++ = '\\';
            break;

        case '"':
            *p++ = '\\';
            *p++ = '"';
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        default:
            *p++ = *s;
        }
    }

    return p;
}


/*
 * <name>{<labels>} <value>.0: a sample of a counter or an integer gauge;
 * labels are formatted already (none: "<name> <value>.0")
 */

static void
ngx_http_hangar_metrics_sample(ngx_http_hangar_out_t *out, const char *name,
    size_t nlen, u_char *labels, size_t len, uint64_t value)
{
    u_char  *p;

    p = ngx_http_hangar_metrics_room(out, nlen + len + NGX_INT64_LEN + 8);
    if (p == NULL) {
        return;
    }

    p = ngx_cpymem(p, name, nlen);

    if (len) {
        *p++ = '{';
        p = ngx_cpymem(p, labels, len);
        *p++ = '}';
    }

    *p++ = ' ';
    p = ngx_http_hangar_metrics_uint(p, value);
    *p++ = '.';
    *p++ = '0';
    *p++ = '\n';

    ngx_http_hangar_metrics_done(out, p);
}


/* mcp_server="<id>" (ids are [A-Za-z0-9_-]: nothing to escape) */

static u_char *
ngx_http_hangar_metrics_server_label(u_char *p, u_char *id, size_t len)
{
    p = ngx_cpymem(p, "mcp_server=\"", sizeof("mcp_server=\"") - 1);
    p = ngx_cpymem(p, id, len);
    *p++ = '"';

    return p;
}


/* ,<key>="<value>" (a value of a fixed set: nothing to escape) */

static u_char *
ngx_http_hangar_metrics_label(u_char *p, const char *key, const char *value)
{
    *p++ = ',';
    p = ngx_cpymem(p, key, ngx_strlen(key));
    *p++ = '=';
    *p++ = '"';
    p = ngx_cpymem(p, value, ngx_strlen(value));
    *p++ = '"';

    return p;
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
    u_char          *p, *head, buf[NGX_HTTP_HANGAR_METRICS_LINE];
    size_t           nlen;
    uint64_t         cum;
    ngx_uint_t       i;
    const uint64_t  *b;

    nlen = ngx_strlen(name);

    if (nlen + pre->len + post->len + 2 * NGX_INT64_LEN + 64 > sizeof(buf)) {
        out->failed = 1;
        return;
    }

    b = ngx_http_hangar_stats_bounds(set);
    cum = 0;

    /* "mcp_hangar_<name>_": the head of every line */
    head = ngx_cpymem(buf, "mcp_hangar_", sizeof("mcp_hangar_") - 1);
    head = ngx_cpymem(head, name, nlen);
    *head++ = '_';

    for (i = 0; ; i++) {
        cum += h->bucket[i];

        p = ngx_cpymem(head, "bucket{", 7);

        if (pre->len) {
            p = ngx_cpymem(p, pre->data, pre->len);
            *p++ = ',';
        }

        p = ngx_cpymem(p, "le=\"", 4);
        p = b[i] ? ngx_http_hangar_metrics_float(p, b[i])
                 : ngx_cpymem(p, "+Inf", 4);
        *p++ = '"';

        if (post->len) {
            *p++ = ',';
            p = ngx_cpymem(p, post->data, post->len);
        }

        p = ngx_cpymem(p, "} ", 2);
        p = ngx_http_hangar_metrics_uint(p, cum);
        p = ngx_cpymem(p, ".0\n", 3);

        ngx_http_hangar_out_raw(out, buf, p - buf);

        if (b[i] == 0) {
            break;
        }
    }

    for (i = 0; i < 2; i++) {
        p = i ? ngx_cpymem(head, "count{", 6) : ngx_cpymem(head, "sum{", 4);
        p = ngx_cpymem(p, pre->data, pre->len);

        if (pre->len && post->len) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, post->data, post->len);
        p = ngx_cpymem(p, "} ", 2);

        if (i) {
            p = ngx_http_hangar_metrics_uint(p, h->count);
            p = ngx_cpymem(p, ".0\n", 3);

        } else {
            p = ngx_http_hangar_metrics_float(p, h->sum);
            *p++ = '\n';
        }

        ngx_http_hangar_out_raw(out, buf, p - buf);
    }
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

        sv[i].label_len = ngx_cpymem(sv[i].label + 13, node->id,
                                     ngx_min(node->id_len,
                                             NGX_HTTP_HANGAR_ID_MAX))
                          - sv[i].label;
        ngx_memcpy(sv[i].mode, node->mode_name, sizeof(sv[i].mode));
        sv[i].mode[sizeof(sv[i].mode) - 1] = '\0';
        sv[i].state = node->state;
        sv[i].failures = node->consecutive_failures;
        sv[i].changed = node->started;
        i++;
    }

    ngx_http_hangar_unlock(reg);

    *n = i;

    while (i--) {
        ngx_memcpy(sv[i].label, "{mcp_server=\"", 13);
        sv[i].label[sv[i].label_len++] = '"';
    }

    return sv;
}


/*
 * name{mcp_server="<id>"<extra>} <value>: the lines of every server,
 * copied rather than formatted, straight into the output
 */

static void
ngx_http_hangar_metrics_line(ngx_http_hangar_out_t *out, ngx_str_t *name,
    ngx_http_hangar_metrics_server_t *sv, ngx_str_t *extra, u_char *value,
    size_t len)
{
    u_char  *p;

    p = ngx_http_hangar_metrics_room(out, name->len + sv->label_len
                                          + extra->len + len + 3);
    if (p == NULL) {
        return;
    }

    p = ngx_cpymem(p, name->data, name->len);
    p = ngx_cpymem(p, sv->label, sv->label_len);
    p = ngx_cpymem(p, extra->data, extra->len);
    *p++ = '}';
    *p++ = ' ';
    p = ngx_cpymem(p, value, len);
    *p++ = '\n';

    ngx_http_hangar_metrics_done(out, p);
}


/*
 * Room for len bytes at the end of the output, written in place and
 * committed by ngx_http_hangar_metrics_done().  A buffer without the room
 * is followed by a new one: out_raw() of len bytes (more than fit) makes
 * it, and they are taken back.
 */

static u_char *
ngx_http_hangar_metrics_room(ngx_http_hangar_out_t *out, size_t len)
{
    ngx_buf_t  *b;

    static u_char  blank[NGX_HTTP_HANGAR_METRICS_LINE];

    b = out->b;

    if (b && (size_t) (b->end - b->last) >= len) {
        return b->last;
    }

    if (len > sizeof(blank)) {
        out->failed = 1;
        return NULL;
    }

    ngx_http_hangar_out_raw(out, blank, len);

    b = out->b;

    if (out->failed || b == NULL || (size_t) (b->last - b->start) < len) {
        out->failed = 1;
        return NULL;
    }

    b->last -= len;
    out->size -= len;

    if ((size_t) (b->end - b->last) < len) {
        out->failed = 1;
        return NULL;
    }

    return b->last;
}


static void
ngx_http_hangar_metrics_done(ngx_http_hangar_out_t *out, u_char *p)
{
    out->size += p - out->b->last;
    out->b->last = p;
}


static void
ngx_http_hangar_metrics_gauges(ngx_http_hangar_out_t *out,
    ngx_http_hangar_metrics_server_t *sv, ngx_uint_t n)
{
    u_char      *p, buf[64], nbuf[96];
    ngx_str_t    name, extra, none;
    ngx_uint_t   i, k, ms;

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

        p = ngx_cpymem(nbuf, "mcp_hangar_", sizeof("mcp_hangar_") - 1);
        p = ngx_cpymem(p, family[k][0], ngx_strlen(family[k][0]));
        name.data = nbuf;
        name.len = p - nbuf;

        for (i = 0; i < n; i++) {

            switch (k) {

            case 0:
                p = ngx_cpymem(buf, ",mode=\"", sizeof(",mode=\"") - 1);
                p = ngx_cpymem(p, sv[i].mode, ngx_strlen(sv[i].mode));
                *p++ = '"';
                extra.data = buf;
                extra.len = p - buf;
                ngx_http_hangar_metrics_line(out, &name, &sv[i], &extra,
                                             (u_char *) "1.0", 3);
                continue;

            case 1:
                p = ngx_http_hangar_metrics_uint(buf, sv[i].state);
                p = ngx_cpymem(p, ".0", 2);
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
                p = ngx_http_hangar_metrics_uint(buf, sv[i].changed / 1000);
                ms = sv[i].changed % 1000;
                *p++ = '.';
                *p++ = (u_char) ('0' + ms / 100);
                *p++ = (u_char) ('0' + ms / 10 % 10);
                *p++ = (u_char) ('0' + ms % 10);
                break;

            default:
                p = ngx_http_hangar_metrics_uint(buf, sv[i].failures);
                p = ngx_cpymem(p, ".0", 2);
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
    u_char                          *p, *q, buf[256];
    ngx_str_t                        lab, none;
    ngx_uint_t                       i, j;
    ngx_http_hangar_out_t           *out;
    ngx_http_hangar_stats_server_t  *s;

    out = ctx->out;
    ngx_str_null(&none);

    ngx_http_hangar_metrics_family(out, "mcp_server_starts", "counter",
                                   "MCP server start attempts by result");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        p = ngx_http_hangar_metrics_server_label(buf, s->id, s->len);
        q = ngx_http_hangar_metrics_label(p, "result", "success");
        ngx_http_hangar_metrics_lit(out, "mcp_hangar_mcp_server_starts_total",
                                    buf, q - buf, s->starts_ok);
        q = ngx_http_hangar_metrics_label(p, "result", "failure");
        ngx_http_hangar_metrics_lit(out, "mcp_hangar_mcp_server_starts_total",
                                    buf, q - buf, s->starts_failed);
    }

    ngx_http_hangar_metrics_family(out, "mcp_server_stops", "counter",
                                   "MCP server stops by reason");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        p = ngx_http_hangar_metrics_server_label(buf, s->id, s->len);

        for (j = 0; j < NGX_HTTP_HANGAR_STOP_REASONS; j++) {
            if (s->stops[j]) {
                q = ngx_http_hangar_metrics_label(p, "reason",
                                            ngx_http_hangar_stop_reasons[j]);
                ngx_http_hangar_metrics_lit(out,
                    "mcp_hangar_mcp_server_stops_total", buf, q - buf,
                    s->stops[j]);
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

        p = ngx_http_hangar_metrics_server_label(buf, s->id, s->len);
        p = ngx_http_hangar_metrics_label(p, "mode", (char *) s->mode);
        lab.data = buf;
        lab.len = p - buf;

        /* "le" sorts before "mcp_server" */
        ngx_http_hangar_metrics_hist(out, "mcp_server_cold_start_seconds",
                                     &none, &lab, &s->cold_start,
                                     NGX_HTTP_HANGAR_HIST_COLD_START);
    }

    ngx_http_hangar_metrics_family(out, "health_checks", "counter",
                                   "Health checks by result");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        p = ngx_http_hangar_metrics_server_label(buf, s->id, s->len);

        for (j = 0; j < NGX_HTTP_HANGAR_CHECK_RESULTS; j++) {
            if (s->checks[j]) {
                q = ngx_http_hangar_metrics_label(p, "result",
                                            ngx_http_hangar_check_results[j]);
                ngx_http_hangar_metrics_lit(out,
                    "mcp_hangar_health_checks_total", buf, q - buf,
                    s->checks[j]);
            }
        }
    }

    ngx_http_hangar_metrics_family(out, "health_check_duration_seconds",
                                   "histogram", "Duration of health checks");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        if (s->check_time.count == 0) {
            continue;
        }

        lab.data = buf;
        lab.len = ngx_http_hangar_metrics_server_label(buf, s->id, s->len)
                  - buf;

        ngx_http_hangar_metrics_hist(out, "health_check_duration_seconds",
                                     &none, &lab, &s->check_time,
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
    u_char      *p, *q, buf[512];
    size_t       len;
    ngx_str_t    lab, none;
    ngx_uint_t   i;

    /* ids up to 64, tool names up to 64 and error types up to 32, escaped */
    if (t->ok + t->failed == 0 || s->len > NGX_HTTP_HANGAR_ID_MAX) {
        return;
    }

    if (part == 0) {
        p = ngx_http_hangar_metrics_server_label(buf, s->id, s->len);

        for (i = 0; i < 2; i++) {
            q = ngx_http_hangar_metrics_label(p, "status",
                                              i ? "error" : "success");
            q = ngx_cpymem(q, ",tool=\"", sizeof(",tool=\"") - 1);
            q = ngx_http_hangar_metrics_escaped(q, t->name, t->len);
            *q++ = '"';

            ngx_http_hangar_metrics_lit(out, "mcp_hangar_tool_calls_total",
                                        buf, q - buf, i ? t->failed : t->ok);
        }

        return;
    }

    if (part == 1) {
        if (t->latency.count == 0) {
            return;
        }

        p = ngx_http_hangar_metrics_server_label(buf, s->id, s->len);
        p = ngx_cpymem(p, ",tool=\"", sizeof(",tool=\"") - 1);
        p = ngx_http_hangar_metrics_escaped(p, t->name, t->len);
        *p++ = '"';

        lab.data = buf;
        lab.len = p - buf;
        ngx_str_null(&none);

        ngx_http_hangar_metrics_hist(out, "tool_call_duration_seconds",
                                     &none, &lab, &t->latency,
                                     NGX_HTTP_HANGAR_HIST_LATENCY);
        return;
    }

    for (i = 0; i <= NGX_HTTP_HANGAR_STATS_ERRTYPES; i++) {
        p = ngx_cpymem(buf, "error_type=\"", sizeof("error_type=\"") - 1);

        if (i < NGX_HTTP_HANGAR_STATS_ERRTYPES) {
            if (!t->errors[i].ready || t->errors[i].count == 0) {
                continue;
            }

            len = ngx_min(t->errors[i].len, sizeof(t->errors[i].name));
            p = ngx_http_hangar_metrics_escaped(p, t->errors[i].name, len);

        } else {
            if (t->errors_other == 0) {
                continue;
            }

            p = ngx_cpymem(p, "other", 5);
        }

        *p++ = '"';
        *p++ = ',';
        p = ngx_http_hangar_metrics_server_label(p, s->id, s->len);
        p = ngx_cpymem(p, ",tool=\"", sizeof(",tool=\"") - 1);
        p = ngx_http_hangar_metrics_escaped(p, t->name, t->len);
        *p++ = '"';

        ngx_http_hangar_metrics_lit(out, "mcp_hangar_tool_call_errors_total",
                                    buf, p - buf,
                                    i < NGX_HTTP_HANGAR_STATS_ERRTYPES
                                    ? t->errors[i].count : t->errors_other);
    }
}


/* JSON-RPC messages and HTTP exchanges with the servers */

static void
ngx_http_hangar_metrics_traffic(ngx_http_hangar_metrics_ctx_t *ctx)
{
    u_char                          *p, *q, buf[256];
    ngx_str_t                        pre, post;
    ngx_uint_t                       i, j;
    ngx_http_hangar_out_t           *out;
    ngx_http_hangar_stats_server_t  *s;

    out = ctx->out;

    ngx_http_hangar_metrics_family(out, "messages_sent", "counter",
                                   "JSON-RPC requests sent to MCP servers");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        p = ngx_http_hangar_metrics_server_label(buf, s->id, s->len);

        for (j = 0; j < NGX_HTTP_HANGAR_RPC_METHODS; j++) {
            if (s->sent[j]) {
                q = ngx_http_hangar_metrics_label(p, "method",
                                              ngx_http_hangar_rpc_methods[j]);
                ngx_http_hangar_metrics_lit(out,
                    "mcp_hangar_messages_sent_total", buf, q - buf,
                    s->sent[j]);
            }
        }
    }

    ngx_http_hangar_metrics_family(out, "messages_received", "counter",
                                   "JSON-RPC messages received from MCP "
                                   "servers");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        p = ngx_http_hangar_metrics_server_label(buf, s->id, s->len);

        for (j = 0; j < NGX_HTTP_HANGAR_RECV_TYPES; j++) {
            if (s->received[j]) {
                q = ngx_http_hangar_metrics_label(p, "type",
                                               ngx_http_hangar_recv_types[j]);
                ngx_http_hangar_metrics_lit(out,
                    "mcp_hangar_messages_received_total", buf, q - buf,
                    s->received[j]);
            }
        }
    }

    ngx_http_hangar_metrics_family(out, "message_size_bytes", "histogram",
                                   "Size of JSON-RPC messages");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        post.data = buf;
        post.len = ngx_http_hangar_metrics_server_label(buf, s->id, s->len)
                   - buf;

        if (s->sent_size.count) {
            ngx_str_set(&pre, "direction=\"sent\"");
            ngx_http_hangar_metrics_hist(out, "message_size_bytes", &pre,
                                         &post, &s->sent_size,
                                         NGX_HTTP_HANGAR_HIST_SIZE);
        }

        if (s->received_size.count) {
            ngx_str_set(&pre, "direction=\"received\"");
            ngx_http_hangar_metrics_hist(out, "message_size_bytes", &pre,
                                         &post, &s->received_size,
                                         NGX_HTTP_HANGAR_HIST_SIZE);
        }
    }

    ngx_http_hangar_metrics_family(out, "http_requests", "counter",
                                   "HTTP requests to MCP servers by status");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        p = ngx_http_hangar_metrics_server_label(buf, s->id, s->len);
        p = ngx_http_hangar_metrics_label(p, "method", "POST");
        p = ngx_cpymem(p, ",status_code=\"", sizeof(",status_code=\"") - 1);

        for (j = 0; j <= NGX_HTTP_HANGAR_STATS_CODES; j++) {
            if (j < NGX_HTTP_HANGAR_STATS_CODES) {
                if (s->codes[j].code == 0 || s->codes[j].count == 0) {
                    continue;
                }

                q = ngx_http_hangar_metrics_uint(p, s->codes[j].code);

            } else {
                if (s->codes_other == 0) {
                    continue;
                }

                q = ngx_cpymem(p, "other", 5);
            }

            *q++ = '"';

            ngx_http_hangar_metrics_lit(out, "mcp_hangar_http_requests_total",
                                        buf, q - buf,
                                        j < NGX_HTTP_HANGAR_STATS_CODES
                                        ? s->codes[j].count : s->codes_other);
        }
    }

    ngx_http_hangar_metrics_family(out, "http_errors", "counter",
                                   "HTTP exchanges with MCP servers that "
                                   "failed (no response)");
    ngx_http_hangar_metrics_each(ctx, i, s) {
        for (j = 0; j < 2; j++) {
            if (s->http_errors[j]) {
                p = ngx_cpymem(buf, "error_type=\"",
                               sizeof("error_type=\"") - 1);
                p = j ? ngx_cpymem(p, "connection_error", 16)
                      : ngx_cpymem(p, "timeout", 7);
                *p++ = '"';
                *p++ = ',';
                p = ngx_http_hangar_metrics_server_label(p, s->id, s->len);

                ngx_http_hangar_metrics_lit(out,
                    "mcp_hangar_http_errors_total", buf, p - buf,
                    s->http_errors[j]);
            }
        }
    }
}


/* GC, rate limits, batches, reloads, errors */

static void
ngx_http_hangar_metrics_global(ngx_http_hangar_metrics_ctx_t *ctx)
{
    u_char                      *p, *sep, buf[128];
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
    ngx_http_hangar_metrics_lit(out, "mcp_hangar_gc_cycles_total", NULL, 0,
                                st->gc_cycles);

    ngx_http_hangar_metrics_family(out, "gc_cycle_duration_seconds",
                                   "histogram", "Duration of the sweeps");
    ngx_http_hangar_metrics_hist(out, "gc_cycle_duration_seconds", &none,
                                 &none, &st->gc_time,
                                 NGX_HTTP_HANGAR_HIST_GC);

    ngx_http_hangar_metrics_family(out, "gc_mcp_servers_collected", "counter",
                                   "MCP servers stopped because idle");
    ngx_http_hangar_metrics_lit(out,
                                "mcp_hangar_gc_mcp_servers_collected_total",
                                (u_char *) "reason=\"idle\"", 13,
                                st->gc_collected);

    ngx_http_hangar_metrics_family(out, "rate_limit_hits", "counter",
                                   "Rate limit decisions by result");
    ngx_http_hangar_metrics_lit(out, "mcp_hangar_rate_limit_hits_total",
                                (u_char *) "result=\"allowed\"", 16,
                                st->limit_allowed);
    ngx_http_hangar_metrics_lit(out, "mcp_hangar_rate_limit_hits_total",
                                (u_char *) "result=\"rejected\"", 17,
                                st->limit_rejected);

    ngx_http_hangar_metrics_family(out, "batch_calls", "counter",
                                   "hangar_call batches by result");
    for (i = 0; i < 4; i++) {
        /* ",result=..." without its comma */
        p = ngx_http_hangar_metrics_label(buf, "result", batch[i]);
        ngx_http_hangar_metrics_lit(out, "mcp_hangar_batch_calls_total",
                                    buf + 1, p - buf - 1, st->batch[i]);
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
    ngx_http_hangar_metrics_lit(out, "mcp_hangar_batch_concurrency", NULL, 0,
                                st->batch_active);

    ngx_http_hangar_metrics_family(out, "config_reloads", "counter",
                                   "Reloads of hangar.yaml through the API "
                                   "by result");
    ngx_http_hangar_metrics_lit(out, "mcp_hangar_config_reloads_total",
                                (u_char *) "result=\"success\"", 16,
                                st->reloads[0]);
    ngx_http_hangar_metrics_lit(out, "mcp_hangar_config_reloads_total",
                                (u_char *) "result=\"failure\"", 16,
                                st->reloads[1]);

    ngx_http_hangar_metrics_family(out, "errors", "counter",
                                   "Errors by component and type");
    for (i = 0; i < 8; i++) {
        if (!st->errors[i].ready || st->errors[i].count == 0
            || st->errors[i].len > sizeof(st->errors[i].name))
        {
            continue;
        }

        sep = ngx_strlchr(st->errors[i].name,
                          st->errors[i].name + st->errors[i].len, '\0');
        if (sep == NULL) {
            continue;
        }

        p = ngx_cpymem(buf, "component=\"", sizeof("component=\"") - 1);
        p = ngx_cpymem(p, st->errors[i].name, sep - st->errors[i].name);
        p = ngx_cpymem(p, "\",error_type=\"",
                       sizeof("\",error_type=\"") - 1);
        p = ngx_cpymem(p, sep + 1,
                       st->errors[i].name + st->errors[i].len - sep - 1);
        *p++ = '"';

        ngx_http_hangar_metrics_lit(out, "mcp_hangar_errors_total", buf,
                                    p - buf, st->errors[i].count);
    }
}
