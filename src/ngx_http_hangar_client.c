
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include "ngx_http_hangar_client.h"


static void ngx_http_hangar_call_write_handler(ngx_event_t *wev);
static void ngx_http_hangar_call_read_handler(ngx_event_t *rev);
static ngx_int_t ngx_http_hangar_call_parse(ngx_http_hangar_call_t *call);
static ngx_int_t ngx_http_hangar_call_dechunk(ngx_http_hangar_call_t *call,
    u_char *p, u_char *last);
static void ngx_http_hangar_call_finish(ngx_http_hangar_call_t *call,
    ngx_int_t rc, const char *error);
static void ngx_http_hangar_call_dummy(ngx_event_t *ev);
static void ngx_http_hangar_call_scan(ngx_http_hangar_call_t *call);


ngx_http_hangar_call_t *
ngx_http_hangar_call_create(ngx_log_t *log)
{
    ngx_pool_t              *pool;
    ngx_http_hangar_call_t  *call;

    pool = ngx_create_pool(4096, log);
    if (pool == NULL) {
        return NULL;
    }

    call = ngx_pcalloc(pool, sizeof(ngx_http_hangar_call_t));
    if (call == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    call->pool = pool;
    call->log = log;
    call->method = "POST";
    ngx_str_set(&call->uri, "/mcp");
    ngx_str_set(&call->host, "localhost");
    call->connect_timeout = 5000;
    call->read_timeout = 30000;

    return call;
}


void
ngx_http_hangar_call_destroy(ngx_http_hangar_call_t *call)
{
    ngx_http_hangar_call_cancel(call);
    ngx_destroy_pool(call->pool);
}


ngx_int_t
ngx_http_hangar_call_start(ngx_http_hangar_call_t *call)
{
    size_t              len;
    ngx_int_t           rc;
    ngx_url_t           u;
    ngx_buf_t          *b;
    ngx_connection_t   *c;

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = call->target;
    u.default_port = 80;
    u.no_resolve = 0;

    if (ngx_parse_url(call->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_http_hangar_call_finish(call, NGX_ERROR,
                                    u.err ? u.err : "cannot resolve");
        return NGX_ERROR;
    }

    len = ngx_strlen(call->method) + 1 + call->uri.len
          + sizeof(" HTTP/1.1\r\nHost: \r\n") - 1 + call->host.len
          + sizeof("Content-Type: application/json\r\n"
                   "Accept: application/json, text/event-stream\r\n"
                   "Connection: close\r\nContent-Length: \r\n\r\n") - 1
          + NGX_SIZE_T_LEN + call->headers.len + call->body.len;

    b = ngx_create_temp_buf(call->pool, len);
    if (b == NULL) {
        ngx_http_hangar_call_finish(call, NGX_ERROR, "out of memory");
        return NGX_ERROR;
    }

    b->last = ngx_sprintf(b->last,
                          "%s %V HTTP/1.1\r\nHost: %V\r\n"
                          "Content-Type: application/json\r\n"
                          "Accept: application/json, text/event-stream\r\n"
                          "Connection: close\r\n"
                          "Content-Length: %uz\r\n%V\r\n",
                          call->method, &call->uri, &call->host,
                          call->body.len, &call->headers);
    b->last = ngx_cpymem(b->last, call->body.data, call->body.len);
    call->out = b;

    call->in = ngx_create_temp_buf(call->pool, 16384);
    if (call->in == NULL) {
        ngx_http_hangar_call_finish(call, NGX_ERROR, "out of memory");
        return NGX_ERROR;
    }

    call->content_length = -1;

    call->peer.sockaddr = u.addrs[0].sockaddr;
    call->peer.socklen = u.addrs[0].socklen;
    call->peer.name = &call->target;
    call->peer.get = ngx_event_get_peer;
    call->peer.log = call->log;
    call->peer.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&call->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_http_hangar_call_finish(call, NGX_ERROR, "connect() failed");
        return NGX_ERROR;
    }

    c = call->peer.connection;
    c->data = call;
    c->pool = call->pool;
    c->read->handler = ngx_http_hangar_call_read_handler;
    c->write->handler = ngx_http_hangar_call_write_handler;

    /* a stream must not keep an exiting worker alive (nginx -s reload) */
    if (call->on_notice) {
        c->read->cancelable = 1;
        c->write->cancelable = 1;
    }

    if (rc == NGX_AGAIN) {
        ngx_add_timer(c->write, call->connect_timeout);
        return NGX_OK;
    }

    ngx_http_hangar_call_write_handler(c->write);

    return NGX_OK;
}


void
ngx_http_hangar_call_cancel(ngx_http_hangar_call_t *call)
{
    if (call->peer.connection) {
        ngx_close_connection(call->peer.connection);
        call->peer.connection = NULL;
    }

    call->done = 1;
}


static void
ngx_http_hangar_call_finish(ngx_http_hangar_call_t *call, ngx_int_t rc,
    const char *error)
{
    if (call->done) {
        return;
    }

    if (call->peer.connection) {
        ngx_close_connection(call->peer.connection);
        call->peer.connection = NULL;
    }

    call->done = 1;
    call->rc = rc;

    if (error) {
        call->error.data = (u_char *) error;
        call->error.len = ngx_strlen(error);
    }

    call->handler(call);
}


static void
ngx_http_hangar_call_write_handler(ngx_event_t *wev)
{
    ssize_t                  n;
    ngx_connection_t        *c;
    ngx_http_hangar_call_t  *call;

    c = wev->data;
    call = c->data;

    if (wev->timedout) {
        call->timedout = 1;
        ngx_http_hangar_call_finish(call, NGX_ERROR, "connect timed out");
        return;
    }

    while (call->out->pos < call->out->last) {
        n = ngx_send(c, call->out->pos, call->out->last - call->out->pos);

        if (n == NGX_AGAIN) {
            if (!wev->timer_set) {
                ngx_add_timer(wev, call->connect_timeout);
            }

            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_hangar_call_finish(call, NGX_ERROR, "send() failed");
            }

            return;
        }

        if (n <= 0) {
            ngx_http_hangar_call_finish(call, NGX_ERROR, "send() failed");
            return;
        }

        call->out->pos += n;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    wev->handler = ngx_http_hangar_call_dummy;

    if (!c->read->timer_set) {
        ngx_add_timer(c->read, call->read_timeout);
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_hangar_call_finish(call, NGX_ERROR, "epoll failed");
    }
}


static void
ngx_http_hangar_call_dummy(ngx_event_t *ev)
{
}


static void
ngx_http_hangar_call_read_handler(ngx_event_t *rev)
{
    size_t                   size;
    ssize_t                  n;
    ngx_int_t                rc;
    ngx_buf_t               *b, *nb;
    ngx_connection_t        *c;
    ngx_http_hangar_call_t  *call;

    c = rev->data;
    call = c->data;
    b = call->in;

    if (rev->timedout) {
        call->timedout = 1;
        ngx_http_hangar_call_finish(call, NGX_ERROR, "read timed out");
        return;
    }

    for ( ;; ) {

        if (b->last == b->end) {
            size = (b->end - b->start) * 2;

            if (size > NGX_HTTP_HANGAR_CALL_MAX) {
                ngx_http_hangar_call_finish(call, NGX_ERROR,
                                            "response too large");
                return;
            }

            nb = ngx_create_temp_buf(call->pool, size);
            if (nb == NULL) {
                ngx_http_hangar_call_finish(call, NGX_ERROR, "out of memory");
                return;
            }

            nb->last = ngx_cpymem(nb->last, b->pos, b->last - b->pos);

            if (call->body_start) {
                call->body_start = nb->start + (call->body_start - b->start);
            }

            call->in = b = nb;
        }

        n = ngx_recv(c, b->last, b->end - b->last);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR) {
            ngx_http_hangar_call_finish(call, NGX_ERROR, "recv() failed");
            return;
        }

        if (n == 0) {
            /* the peer closed: whatever arrived is the whole answer */
            rc = ngx_http_hangar_call_parse(call);
            ngx_http_hangar_call_finish(call, rc == NGX_OK ? NGX_OK
                                                           : NGX_ERROR,
                                        rc == NGX_OK ? NULL
                                        : "connection closed early");
            return;
        }

        b->last += n;

        if (call->on_notice) {
            if (call->body_start == NULL) {
                if (ngx_http_hangar_call_parse(call) == NGX_ERROR) {
                    ngx_http_hangar_call_finish(call, NGX_ERROR,
                                                "invalid HTTP response");
                    return;
                }

                if (call->body_start == NULL) {
                    b = call->in;
                    continue;
                }

                if (call->status != 200) {
                    ngx_http_hangar_call_finish(call, NGX_ERROR,
                                                "stream refused");
                    return;
                }
            }

            ngx_http_hangar_call_scan(call);
            b = call->in;

            if (call->done) {
                return;
            }

            continue;
        }

        rc = ngx_http_hangar_call_parse(call);

        if (rc == NGX_OK) {
            ngx_http_hangar_call_finish(call, NGX_OK, NULL);
            return;
        }

        if (rc == NGX_ERROR) {
            ngx_http_hangar_call_finish(call, NGX_ERROR,
                                        "invalid HTTP response");
            return;
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_hangar_call_finish(call, NGX_ERROR, "epoll failed");
    }
}


/*
 * A stream: look for the notice in what arrived, then drop the body but
 * for a tail that may hold the start of a notice cut by the read.
 */

static void
ngx_http_hangar_call_scan(ngx_http_hangar_call_t *call)
{
    u_char     *p;
    size_t      len, keep;
    ngx_buf_t  *b;

    b = call->in;
    len = ngx_strlen(call->notice);

    for ( ;; ) {
        p = ngx_strlcasestrn(call->body_start, b->last,
                             (u_char *) call->notice, len - 1);
        if (p == NULL) {
            break;
        }

        call->body_start = p + len;
        call->on_notice(call);

        if (call->done) {
            return;
        }
    }

    keep = ngx_min((size_t) (b->last - call->body_start), len);
    ngx_memmove(b->start, b->last - keep, keep);
    b->pos = b->start;
    b->last = b->start + keep;
    call->body_start = b->start;
}


/* NGX_OK: complete; NGX_AGAIN: need more; NGX_ERROR: not HTTP */

static ngx_int_t
ngx_http_hangar_call_parse(ngx_http_hangar_call_t *call)
{
    u_char     *p, *last, *line, *colon, *v, *ve;
    ngx_buf_t  *b;

    b = call->in;

    if (call->body_start == NULL) {
        p = ngx_strlcasestrn(b->pos, b->last, (u_char *) "\r\n\r\n", 3);
        if (p == NULL) {
            return (b->last - b->pos > 65536) ? NGX_ERROR : NGX_AGAIN;
        }

        call->body_start = p + 4;

        if (b->last - b->pos < 12
            || ngx_strncmp(b->pos, "HTTP/1.", 7) != 0)
        {
            return NGX_ERROR;
        }

        call->status = ngx_atoi(b->pos + 9, 3);
        if (call->status == (ngx_uint_t) NGX_ERROR) {
            return NGX_ERROR;
        }

        /* headers we care about */
        for (line = ngx_strlchr(b->pos, p, '\n'); line && line < p;
             line = ngx_strlchr(line + 1, p + 2, '\n'))
        {
            line++;
            last = ngx_strlchr(line, p + 2, '\r');
            colon = last ? ngx_strlchr(line, last, ':') : NULL;

            if (colon == NULL) {
                continue;
            }

            for (v = colon + 1; v < last && *v == ' '; v++) { /* void */ }
            ve = last;

            if (colon - line == 14
                && ngx_strncasecmp(line, (u_char *) "Content-Length", 14)
                   == 0)
            {
                call->content_length = ngx_atoof(v, ve - v);

            } else if (colon - line == 17
                       && ngx_strncasecmp(line,
                                          (u_char *) "Transfer-Encoding", 17)
                          == 0
                       && ngx_strlcasestrn(v, ve, (u_char *) "chunked", 6))
            {
                call->chunked = 1;

            } else if (colon - line == 12
                       && ngx_strncasecmp(line, (u_char *) "Content-Type",
                                          12) == 0)
            {
                call->content_type.data = v;
                call->content_type.len = ve - v;

            } else if (colon - line == 14
                       && ngx_strncasecmp(line, (u_char *) "Mcp-Session-Id",
                                          14) == 0)
            {
                call->session_id.data = v;
                call->session_id.len = ve - v;
            }
        }
    }

    p = call->body_start;

    if (call->chunked) {
        return ngx_http_hangar_call_dechunk(call, p, b->last);
    }

    if (call->content_length >= 0) {
        if (b->last - p < call->content_length) {
            return NGX_AGAIN;
        }

        call->response.data = p;
        call->response.len = call->content_length;
        return NGX_OK;
    }

    /* neither: the body ends when the peer closes (caller sees EOF) */
    call->response.data = p;
    call->response.len = b->last - p;

    return NGX_AGAIN;
}


/*
 * chunked body -> call->response.  The chunk structure is walked first
 * without touching the data (NGX_AGAIN until the last chunk is in), then
 * decoded in place once.
 */

static ngx_int_t
ngx_http_hangar_call_dechunk(ngx_http_hangar_call_t *call, u_char *start,
    u_char *last)
{
    u_char      *p, *out, *eol;
    off_t        size;
    ngx_uint_t   pass;

    for (pass = 0; pass < 2; pass++) {
        p = start;
        out = start;

        for ( ;; ) {
            eol = ngx_strlchr(p, last, '\n');
            if (eol == NULL) {
                return NGX_AGAIN;
            }

            size = 0;

            for ( /* void */ ; p < eol && isxdigit(*p); p++) {
                size = size * 16
                       + (*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);

                if (size > NGX_HTTP_HANGAR_CALL_MAX) {
                    return NGX_ERROR;
                }
            }

            p = eol + 1;

            if (size == 0) {
                break;
            }

            if (last - p < size + 2) {
                return NGX_AGAIN;
            }

            /* in place is safe: the output never overtakes the input */
            if (pass == 1) {
                ngx_memmove(out, p, size);
            }

            out += size;
            p += size + 2;
        }
    }

    call->response.data = start;
    call->response.len = out - start;

    return NGX_OK;
}


/* a JSON body, or the "data:" lines of each SSE event */

ngx_int_t
ngx_http_hangar_call_message(ngx_http_hangar_call_t *call, int64_t id,
    ngx_http_hangar_value_t **msg)
{
    u_char                   *p, *last, *eol, *data, *d;
    ngx_str_t                 err;
    ngx_http_hangar_value_t  *v, *mid;

    *msg = NULL;

    p = call->response.data;
    last = p + call->response.len;

    if (call->content_type.len < 17
        || ngx_strncasecmp(call->content_type.data,
                           (u_char *) "text/event-stream", 17) != 0)
    {
        v = ngx_http_hangar_json_parse(call->pool, p, last - p, &err);
        if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_OBJ)) {
            return NGX_ERROR;
        }

        *msg = v;
        return NGX_OK;
    }

    data = ngx_pnalloc(call->pool, call->response.len + 1);
    if (data == NULL) {
        return NGX_ERROR;
    }

    d = data;

    while (p < last) {
        eol = ngx_strlchr(p, last, '\n');
        if (eol == NULL) {
            eol = last;
        }

        if (eol - p >= 5 && ngx_strncmp(p, "data:", 5) == 0) {
            p += (p[5] == ' ') ? 6 : 5;
            d = ngx_cpymem(d, p, eol - p);
            if (d > data && d[-1] == '\r') {
                d--;
            }

        } else if (eol == p || (eol - p == 1 && *p == '\r')) {
            /* end of an event */
            if (d > data) {
                v = ngx_http_hangar_json_parse(call->pool, data, d - data,
                                               &err);
                mid = ngx_http_hangar_get(v, "id");

                if (ngx_http_hangar_is(mid, NGX_HTTP_HANGAR_INT)
                    && mid->u.i == id
                    && ngx_http_hangar_get(v, "method") == NULL)
                {
                    *msg = v;
                    return NGX_OK;
                }
            }

            d = data;
        }

        p = eol + 1;
    }

    if (d > data) {
        v = ngx_http_hangar_json_parse(call->pool, data, d - data, &err);
        mid = ngx_http_hangar_get(v, "id");

        if (ngx_http_hangar_is(mid, NGX_HTTP_HANGAR_INT) && mid->u.i == id) {
            *msg = v;
            return NGX_OK;
        }
    }

    return NGX_ERROR;
}
