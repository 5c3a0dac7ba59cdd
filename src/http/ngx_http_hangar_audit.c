
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Lines are built in the request's pool and appended to a per-worker
 * buffer, as ngx_http_log_module does: the file is one of the cycle's
 * open files (reopened by "nginx -s reopen", which flushes the buffer
 * first), the buffer is written when full, by a timer, and at exit.  API
 * changes and pass-through requests are logged from the log phase, so the
 * status is the one the client got; a front-door call by the MCP handler.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_audit.h"


#define NGX_HTTP_HANGAR_AUDIT_LINE  4096

#define ngx_http_hangar_audit_lit(p, last, s)                                \
    ngx_http_hangar_audit_cpy(p, last, (u_char *) s, sizeof(s) - 1)


typedef struct {
    ngx_open_file_t             *file;
    u_char                      *start;     /* the buffer; NULL: none */
    u_char                      *pos;
    u_char                      *last;
    ngx_msec_t                   flush;
    ngx_event_t                 *event;
    ngx_flag_t                   arguments;
} ngx_http_hangar_audit_t;


static ngx_int_t ngx_http_hangar_audit_phase(ngx_http_request_t *r);
static u_char *ngx_http_hangar_audit_cpy(u_char *p, u_char *last,
    u_char *s, size_t len);
static u_char *ngx_http_hangar_audit_uint(u_char *p, u_char *last,
    uint64_t v);
static u_char *ngx_http_hangar_audit_str(u_char *p, u_char *last,
    const char *key, ngx_str_t *s);
static u_char *ngx_http_hangar_audit_head(ngx_http_request_t *r, u_char *p,
    u_char *last, const char *kind);
static u_char *ngx_http_hangar_audit_start(ngx_http_hangar_audit_t *a,
    ngx_http_request_t *r, u_char *stack, size_t len);
static void ngx_http_hangar_audit_write(ngx_http_hangar_audit_t *a,
    ngx_log_t *log, u_char *buf, size_t len);
static void ngx_http_hangar_audit_flush(ngx_open_file_t *file,
    ngx_log_t *log);
static void ngx_http_hangar_audit_flush_handler(ngx_event_t *ev);
static ngx_http_hangar_audit_t *ngx_http_hangar_audit_conf(void);


char *
ngx_http_hangar_audit_log(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hangar_main_conf_t *hmcf = conf;

    ssize_t                   size;
    ngx_str_t                *value, s;
    ngx_msec_t                flush;
    ngx_uint_t                i;
    ngx_http_hangar_audit_t  *a;

    value = cf->args->elts;

    if (hmcf->audit) {
        return "is duplicate";
    }

    if (ngx_strcmp(value[1].data, "off") == 0 && cf->args->nelts == 2) {
        return NGX_CONF_OK;
    }

    a = ngx_pcalloc(cf->pool, sizeof(ngx_http_hangar_audit_t));
    if (a == NULL) {
        return NGX_CONF_ERROR;
    }

    a->file = ngx_conf_open_file(cf->cycle, &value[1]);
    if (a->file == NULL) {
        return NGX_CONF_ERROR;
    }

    size = 0;
    flush = 0;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "buffer=", 7) == 0) {
            s.len = value[i].len - 7;
            s.data = value[i].data + 7;

            size = ngx_parse_size(&s);
            if (size == NGX_ERROR || size == 0) {
                return "has an invalid \"buffer\"";
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "flush=", 6) == 0) {
            s.len = value[i].len - 6;
            s.data = value[i].data + 6;

            flush = ngx_parse_time(&s, 0);
            if (flush == (ngx_msec_t) NGX_ERROR || flush == 0) {
                return "has an invalid \"flush\"";
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "arguments") == 0) {
            a->arguments = 1;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (flush && size == 0) {
        size = 64 * 1024;
    }

    if (size) {
        if (a->file->data) {
            return "names a file that another log buffers";
        }

        a->start = ngx_pnalloc(cf->pool, size);
        if (a->start == NULL) {
            return NGX_CONF_ERROR;
        }

        a->pos = a->start;
        a->last = a->start + size;
        a->flush = flush;

        a->event = ngx_pcalloc(cf->pool, sizeof(ngx_event_t));
        if (a->event == NULL) {
            return NGX_CONF_ERROR;
        }

        a->event->data = a->file;
        a->event->handler = ngx_http_hangar_audit_flush_handler;
        a->event->log = &cf->cycle->new_log;
        a->event->cancelable = 1;

        a->file->flush = ngx_http_hangar_audit_flush;
        a->file->data = a;
    }

    hmcf->audit = a;

    return NGX_CONF_OK;
}


/* postconfiguration: the log phase sees the status that was sent */

ngx_int_t
ngx_http_hangar_audit_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt          *h;
    ngx_http_core_main_conf_t    *cmcf;
    ngx_http_hangar_main_conf_t  *hmcf;

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hangar_module);

    if (hmcf->audit == NULL) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_hangar_audit_phase;

    return NGX_OK;
}


static ngx_http_hangar_audit_t *
ngx_http_hangar_audit_conf(void)
{
    ngx_http_hangar_main_conf_t  *hmcf;

    hmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_hangar_module);

    return hmcf ? hmcf->audit : NULL;
}


/* a piece of a line, copied (ngx_slprintf costs more), cut at last */

static u_char *
ngx_http_hangar_audit_cpy(u_char *p, u_char *last, u_char *s, size_t len)
{
    return ngx_cpymem(p, s, ngx_min(len, (size_t) (last - p)));
}


static u_char *
ngx_http_hangar_audit_uint(u_char *p, u_char *last, uint64_t v)
{
    u_char  *t, tmp[NGX_INT64_LEN];

    t = tmp + NGX_INT64_LEN;

    do {
        *--t = (u_char) ('0' + v % 10);
        v /= 10;
    } while (v);

    return ngx_http_hangar_audit_cpy(p, last, t, tmp + NGX_INT64_LEN - t);
}


/* time, kind, principal: the head of every line */

static u_char *
ngx_http_hangar_audit_head(ngx_http_request_t *r, u_char *p, u_char *last,
    const char *kind)
{
    ngx_http_hangar_principal_t  *who;

    p = ngx_http_hangar_audit_lit(p, last, "{\"time\":\"");
    p = ngx_http_hangar_audit_cpy(p, last, ngx_cached_http_log_iso8601.data,
                                  ngx_cached_http_log_iso8601.len);
    p = ngx_http_hangar_audit_lit(p, last, "\",\"kind\":\"");
    p = ngx_http_hangar_audit_cpy(p, last, (u_char *) kind, ngx_strlen(kind));
    p = ngx_http_hangar_audit_lit(p, last, "\",\"principal\":");

    who = ngx_http_hangar_auth_principal(r);

    if (who == NULL || who->id.len == 0
        || (size_t) (last - p) < who->id.len * 6 + 2)
    {
        return ngx_http_hangar_audit_lit(p, last, "null");
    }

    *p++ = '"';
    p = (u_char *) ngx_escape_json(p, who->id.data,
                                   ngx_min(who->id.len, 256));
    *p++ = '"';

    return p;
}


/* a string member, escaped and cut to fit */

static u_char *
ngx_http_hangar_audit_str(u_char *p, u_char *last, const char *key,
    ngx_str_t *s)
{
    size_t  len;

    p = ngx_http_hangar_audit_lit(p, last, ",\"");
    p = ngx_http_hangar_audit_cpy(p, last, (u_char *) key, ngx_strlen(key));
    p = ngx_http_hangar_audit_lit(p, last, "\":");

    if (s == NULL || s->data == NULL) {
        return ngx_http_hangar_audit_lit(p, last, "null");
    }

    len = ngx_min(s->len, 256);

    if ((size_t) (last - p) < len * 6 + 2) {
        return ngx_http_hangar_audit_lit(p, last, "null");
    }

    *p++ = '"';
    p = (u_char *) ngx_escape_json(p, s->data, len);
    *p++ = '"';

    return p;
}


void
ngx_http_hangar_audit_call(ngx_http_request_t *r, ngx_str_t *server,
    ngx_str_t *tool, ngx_str_t *params, ngx_http_hangar_value_t *msg,
    size_t response_size)
{
    u_char                   *p, *last, *line;
    u_char                    stack[NGX_HTTP_HANGAR_AUDIT_LINE];
    ngx_str_t                 err, args;
    const char               *outcome;
    ngx_msec_int_t            ms;
    ngx_http_hangar_audit_t  *a;
    ngx_http_hangar_value_t  *res, *v;

    a = ngx_http_hangar_audit_conf();
    if (a == NULL) {
        return;
    }

    ngx_str_null(&args);

    if (a->arguments && params && params->len) {
        v = ngx_http_hangar_json_parse(r->pool, params->data, params->len,
                                       &err);
        v = ngx_http_hangar_get(v, "arguments");

        if (v && ngx_http_hangar_json_text(r->pool, v, &args) != NGX_OK) {
            ngx_str_null(&args);
        }
    }

    line = ngx_http_hangar_audit_start(a, r, stack,
                                       NGX_HTTP_HANGAR_AUDIT_LINE + args.len);
    if (line == NULL) {
        return;
    }

    /* the server's answer: a JSON-RPC error, a tool error, or a result */
    res = ngx_http_hangar_get(msg, "result");
    v = ngx_http_hangar_get(res, "isError");

    outcome = (msg == NULL) ? "failed"
              : ngx_http_hangar_get(msg, "error") ? "error"
              : (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_BOOL) && v->u.b)
                ? "tool_error" : "ok";

    ms = (ngx_msec_int_t) ((ngx_time() - r->start_sec) * 1000
                           + (ngx_timeofday()->msec - r->start_msec));

    p = line;
    last = line + NGX_HTTP_HANGAR_AUDIT_LINE + args.len - 2;

    p = ngx_http_hangar_audit_head(r, p, last, "tool_call");
    p = ngx_http_hangar_audit_str(p, last, "server", server);
    p = ngx_http_hangar_audit_str(p, last, "tool", tool);
    p = ngx_http_hangar_audit_lit(p, last, ",\"outcome\":\"");
    p = ngx_http_hangar_audit_cpy(p, last, (u_char *) outcome,
                                  ngx_strlen(outcome));
    p = ngx_http_hangar_audit_lit(p, last, "\",\"duration_ms\":");
    p = ngx_http_hangar_audit_uint(p, last, ngx_max(ms, 0));
    p = ngx_http_hangar_audit_lit(p, last, ",\"request_bytes\":");
    p = ngx_http_hangar_audit_uint(p, last, ngx_max(r->request_length, 0));
    p = ngx_http_hangar_audit_lit(p, last, ",\"response_bytes\":");
    p = ngx_http_hangar_audit_uint(p, last, response_size);

    if (args.len) {
        p = ngx_http_hangar_audit_lit(p, last, ",\"arguments\":");
        p = ngx_http_hangar_audit_cpy(p, last, args.data, args.len);
    }

    *p++ = '}';
    *p++ = '\n';

    ngx_http_hangar_audit_write(a, r->connection->log, line, p - line);
}


void
ngx_http_hangar_audit_pass(ngx_http_request_t *r, ngx_str_t *server)
{
    u_char                   *p, *last, *line;
    u_char                    stack[NGX_HTTP_HANGAR_AUDIT_LINE];
    ngx_msec_int_t            ms;
    ngx_http_hangar_audit_t  *a;

    a = ngx_http_hangar_audit_conf();
    if (a == NULL) {
        return;
    }

    line = ngx_http_hangar_audit_start(a, r, stack,
                                       NGX_HTTP_HANGAR_AUDIT_LINE);
    if (line == NULL) {
        return;
    }

    ms = (ngx_msec_int_t) ((ngx_time() - r->start_sec) * 1000
                           + (ngx_timeofday()->msec - r->start_msec));

    p = line;
    last = line + NGX_HTTP_HANGAR_AUDIT_LINE - 2;

    p = ngx_http_hangar_audit_head(r, p, last, "pass");
    p = ngx_http_hangar_audit_str(p, last, "server", server);
    p = ngx_http_hangar_audit_str(p, last, "method", &r->method_name);
    p = ngx_http_hangar_audit_lit(p, last, ",\"status\":");
    p = ngx_http_hangar_audit_uint(p, last, r->headers_out.status);
    p = ngx_http_hangar_audit_lit(p, last, ",\"duration_ms\":");
    p = ngx_http_hangar_audit_uint(p, last, ngx_max(ms, 0));
    p = ngx_http_hangar_audit_lit(p, last, ",\"request_bytes\":");
    p = ngx_http_hangar_audit_uint(p, last, ngx_max(r->request_length, 0));
    p = ngx_http_hangar_audit_lit(p, last, ",\"response_bytes\":");
    p = ngx_http_hangar_audit_uint(p, last, ngx_max(r->connection->sent, 0));

    *p++ = '}';
    *p++ = '\n';

    ngx_http_hangar_audit_write(a, r->connection->log, line, p - line);
}


void
ngx_http_hangar_audit_api(ngx_http_hangar_req_t *hr, ngx_uint_t status)
{
    u_char                   *p, *last, *line;
    u_char                    stack[NGX_HTTP_HANGAR_AUDIT_LINE];
    ngx_str_t                *id, text;
    ngx_uint_t                i;
    ngx_http_request_t       *r;
    ngx_http_hangar_audit_t  *a;
    ngx_http_hangar_value_t  *v, *answer;

    static const char        *keys[] = {
        "mcp_server_id", "group_id", "key_id", "name", "role_name", NULL
    };

    a = ngx_http_hangar_audit_conf();
    if (a == NULL) {
        return;
    }

    r = hr->r;

    line = ngx_http_hangar_audit_start(a, r, stack,
                                       NGX_HTTP_HANGAR_AUDIT_LINE);
    if (line == NULL) {
        return;
    }

    /*
     * The resource: the path's first parameter (only a pattern with one
     * sets it), or the id in the body.
     */
    id = (hr->route && ngx_strchr(hr->route->pattern, '{'))
         ? &hr->params[0] : NULL;

    /* a create names what it made in its answer (the body may be spent) */
    answer = NULL;

    if (id == NULL && hr->out.first && hr->out.first->next == NULL
        && hr->out.first->buf->start)
    {
        /* sent: the buffer's pos has moved to its end, its start has not */
        text.data = hr->out.first->buf->start;
        text.len = hr->out.first->buf->last - text.data;
        answer = ngx_http_hangar_json_parse(r->pool, text.data, text.len,
                                            &text);
    }

    for (i = 0; id == NULL && keys[i]; i++) {
        v = ngx_http_hangar_get(hr->body, keys[i]);

        if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
            v = ngx_http_hangar_get(answer, keys[i]);
        }

        if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
            id = &v->u.s;
        }
    }

    p = line;
    last = line + NGX_HTTP_HANGAR_AUDIT_LINE - 2;

    p = ngx_http_hangar_audit_head(r, p, last, "api");
    p = ngx_http_hangar_audit_str(p, last, "method", &r->method_name);
    p = ngx_http_hangar_audit_str(p, last, "path", &r->uri);
    p = ngx_http_hangar_audit_lit(p, last, ",\"status\":");
    p = ngx_http_hangar_audit_uint(p, last, status);
    p = ngx_http_hangar_audit_str(p, last, "resource", id);

    *p++ = '}';
    *p++ = '\n';

    ngx_http_hangar_audit_write(a, r->connection->log, line, p - line);
}


/* the end of every request: API changes and pass-through calls */

static ngx_int_t
ngx_http_hangar_audit_phase(ngx_http_request_t *r)
{
    ngx_str_t                    id;
    ngx_http_hangar_req_t       *hr;
    ngx_http_hangar_loc_conf_t  *hlcf;

    if (r != r->main) {
        return NGX_OK;
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hangar_module);
    hr = ngx_http_get_module_ctx(r, ngx_http_hangar_module);

    if (hlcf->pass) {
        if (r->method == NGX_HTTP_POST
            && ngx_http_complex_value(r, hlcf->pass, &id) == NGX_OK)
        {
            ngx_http_hangar_audit_pass(r, &id);
        }

        return NGX_OK;
    }

    if (hr == NULL || hr->route == NULL
        || hlcf->handler != NGX_HTTP_HANGAR_API
        || (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_OPTIONS)))
    {
        return NGX_OK;
    }

    ngx_http_hangar_audit_api(hr, r->headers_out.status);

    return NGX_OK;
}


/*
 * Where a line of at most len bytes is made: in place at the free end of
 * the buffer (flushed first if it has not the room), else in the caller's
 * stack buffer, else (arguments make it long) in the request's pool.
 */

static u_char *
ngx_http_hangar_audit_start(ngx_http_hangar_audit_t *a,
    ngx_http_request_t *r, u_char *stack, size_t len)
{
    if (a->start && len <= (size_t) (a->last - a->start)) {
        if (len > (size_t) (a->last - a->pos)) {
            ngx_http_hangar_audit_flush(a->file, r->connection->log);
        }

        return a->pos;
    }

    if (len <= NGX_HTTP_HANGAR_AUDIT_LINE) {
        return stack;
    }

    return ngx_pnalloc(r->pool, len);
}


static void
ngx_http_hangar_audit_write(ngx_http_hangar_audit_t *a, ngx_log_t *log,
    u_char *buf, size_t len)
{
    ssize_t  n;

    /* made in place: the buffer has it already */
    if (a->start && buf == a->pos) {
        a->pos += len;

        if (a->flush && !a->event->timer_set) {
            ngx_add_timer(a->event, a->flush);
        }

        return;
    }

    if (a->start) {
        if (len > (size_t) (a->last - a->pos)) {
            ngx_http_hangar_audit_flush(a->file, log);
        }

        if (len <= (size_t) (a->last - a->pos)) {
            a->pos = ngx_cpymem(a->pos, buf, len);

            if (a->flush && !a->event->timer_set) {
                ngx_add_timer(a->event, a->flush);
            }

            return;
        }
    }

    n = ngx_write_fd(a->file->fd, buf, len);

    if (n == -1) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      ngx_write_fd_n " to \"%s\" failed", a->file->name.data);

    } else if ((size_t) n != len) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      ngx_write_fd_n " to \"%s\" was incomplete: %z of %uz",
                      a->file->name.data, n, len);
    }
}


/* also called by nginx before a reopen and when the cycle ends */

static void
ngx_http_hangar_audit_flush(ngx_open_file_t *file, ngx_log_t *log)
{
    ngx_http_hangar_audit_t *a = file->data;

    size_t   len;
    ssize_t  n;

    len = a->pos - a->start;

    if (len == 0 || file->fd == NGX_INVALID_FILE) {
        return;
    }

    n = ngx_write_fd(file->fd, a->start, len);

    if (n == -1) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      ngx_write_fd_n " to \"%s\" failed", file->name.data);

    } else if ((size_t) n != len) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      ngx_write_fd_n " to \"%s\" was incomplete: %z of %uz",
                      file->name.data, n, len);
    }

    a->pos = a->start;

    if (a->event && a->event->timer_set) {
        ngx_del_timer(a->event);
    }
}


static void
ngx_http_hangar_audit_flush_handler(ngx_event_t *ev)
{
    ngx_http_hangar_audit_flush(ev->data, ev->log);
}
