
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The response parser of the client: status line, headers, Content-Length
 * and chunked bodies, SSE events, the JSON-RPC answer.  It works on
 * call->in alone, with no connection, so that fuzz targets drive it too.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hangar_parse.h"
#include "ngx_http_hangar_client.h"


static void ngx_http_hangar_call_scan(ngx_http_hangar_call_t *call);
static void ngx_http_hangar_call_lines(ngx_http_hangar_call_t *call);
static ngx_int_t ngx_http_hangar_call_scratch(ngx_http_hangar_call_t *call);
static void ngx_http_hangar_call_scratch_free(void *data);


/* the response parser; a failure names what the peer did wrong */

static ngx_int_t
ngx_http_hangar_call_bad(ngx_http_hangar_call_t *call, const char *error)
{
    call->error.data = (u_char *) error;
    call->error.len = ngx_strlen(error);

    return NGX_ERROR;
}


ngx_int_t
ngx_http_hangar_call_input_init(ngx_http_hangar_call_t *call)
{
    call->in = ngx_create_temp_buf(call->pool, 16384);
    if (call->in == NULL) {
        return NGX_ERROR;
    }

    call->content_length = -1;

    return NGX_OK;
}


/*
 * Room for the next read.  The buffer holds the header, the decoded body
 * and less than a chunk-size line of framing (the rest is squeezed out
 * as it is read), so its bound follows from the peer limits.
 */

ngx_int_t
ngx_http_hangar_call_space(ngx_http_hangar_call_t *call)
{
    size_t      size, max;
    ngx_buf_t  *b, *nb;

    b = call->in;

    if (b->last < b->end) {
        return NGX_OK;
    }

    max = NGX_HTTP_HANGAR_CALL_HEADER_MAX + NGX_HTTP_HANGAR_CALL_MAX
          + 2 * NGX_HTTP_HANGAR_CALL_LINE_MAX;
    size = b->end - b->start;

    if (size >= max) {
        return ngx_http_hangar_call_bad(call, "response too large");
    }

    size = ngx_min(size * 2, max);

    nb = ngx_create_temp_buf(call->pool, size);
    if (nb == NULL) {
        return ngx_http_hangar_call_bad(call, "out of memory");
    }

    nb->pos = nb->start + (b->pos - b->start);
    nb->last = ngx_cpymem(nb->start, b->start, b->last - b->start);

    (void) ngx_pfree(call->pool, b->start);
    call->in = nb;

    return NGX_OK;
}


/* Content-Length: digits only, at most the largest body we take */

static ngx_int_t
ngx_http_hangar_call_length(ngx_http_hangar_call_t *call, u_char *v,
    u_char *ve)
{
    off_t  len;

    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
        ve--;
    }

    if (v == ve) {
        return ngx_http_hangar_call_bad(call, "invalid Content-Length");
    }

    for (len = 0; v < ve; v++) {
        if (*v < '0' || *v > '9') {
            return ngx_http_hangar_call_bad(call, "invalid Content-Length");
        }

        len = len * 10 + (*v - '0');

        if (len > NGX_HTTP_HANGAR_CALL_MAX) {
            return ngx_http_hangar_call_bad(call, "Content-Length too large");
        }
    }

    if (call->content_length >= 0 && call->content_length != len) {
        return ngx_http_hangar_call_bad(call, "two different Content-Length");
    }

    call->content_length = len;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_call_header(ngx_http_hangar_call_t *call, u_char *line,
    u_char *last)
{
    size_t   k;
    u_char  *colon, *v, *p;

    colon = ngx_strlchr(line, last, ':');
    if (colon == NULL || colon == line) {
        return ngx_http_hangar_call_bad(call, "invalid header line");
    }

    for (p = line; p < colon; p++) {
        if (*p <= ' ' || *p >= 127) {
            return ngx_http_hangar_call_bad(call, "invalid header name");
        }
    }

    for (v = colon + 1; v < last && (*v == ' ' || *v == '\t'); v++) {
        /* void */
    }

    k = colon - line;

#define ngx_http_hangar_is_header(name)                                       \
    (k == sizeof(name) - 1 && ngx_strncasecmp(line, (u_char *) name, k) == 0)

    if (ngx_http_hangar_is_header("Content-Length")) {
        return ngx_http_hangar_call_length(call, v, last);
    }

    if (ngx_http_hangar_is_header("Transfer-Encoding")) {
        if (ngx_strlcasestrn(v, last, (u_char *) "chunked", 6) == NULL) {
            return ngx_http_hangar_call_bad(call,
                                         "unsupported Transfer-Encoding");
        }

        call->chunked = 1;

    } else if (ngx_http_hangar_is_header("Content-Type")) {
        call->content_type.data = v;
        call->content_type.len = last - v;
        call->sse = (last - v >= 17
                     && ngx_strncasecmp(v, (u_char *) "text/event-stream",
                                        17) == 0);

    } else if (ngx_http_hangar_is_header("Connection")) {
        if (ngx_strlcasestrn(v, last, (u_char *) "close", 4)) {
            call->close = 1;
        }

    } else if (ngx_http_hangar_is_header("Mcp-Session-Id")) {
        call->session_id.data = v;
        call->session_id.len = last - v;
    }

#undef ngx_http_hangar_is_header

    return NGX_OK;
}


/* the status line and headers; 1xx interim answers are skipped */

static ngx_int_t
ngx_http_hangar_call_head(ngx_http_hangar_call_t *call)
{
    u_char     *start, *end, *line, *eol;
    ngx_int_t   rc;
    ngx_buf_t  *b;

    b = call->in;

next:

    start = b->pos;
    end = ngx_strlcasestrn(start + call->head_scan, b->last,
                           (u_char *) "\r\n\r\n", 3);

    if (end == NULL) {
        if (b->last - b->start > NGX_HTTP_HANGAR_CALL_HEADER_MAX) {
            return ngx_http_hangar_call_bad(call,
                                            "response header too large");
        }

        call->head_scan = (b->last - start > 3) ? b->last - start - 3 : 0;
        return NGX_AGAIN;
    }

    if (end + 4 - b->start > NGX_HTTP_HANGAR_CALL_HEADER_MAX) {
        return ngx_http_hangar_call_bad(call, "response header too large");
    }

    if (end - start < 12
        || ngx_strncmp(start, "HTTP/1.", 7) != 0
        || (start[7] != '0' && start[7] != '1') || start[8] != ' '
        || (start[12] != ' ' && start[12] != '\r'))
    {
        return ngx_http_hangar_call_bad(call, "not an HTTP/1.x response");
    }

    call->status = ngx_atoi(start + 9, 3);
    if (call->status == (ngx_uint_t) NGX_ERROR || call->status < 100) {
        return ngx_http_hangar_call_bad(call, "invalid HTTP status");
    }

    call->http11 = (start[7] == '1');

    /* each line ends in CRLF: the head ends in the first empty one */
    line = ngx_strlchr(start, end, '\n');

    while (line && line < end) {
        line++;
        eol = ngx_strlchr(line, end + 2, '\n');
        if (eol == NULL || eol == line || eol[-1] != '\r') {
            return ngx_http_hangar_call_bad(call, "invalid header line");
        }

        rc = ngx_http_hangar_call_header(call, line, eol - 1);
        if (rc != NGX_OK) {
            return rc;
        }

        line = eol;
    }

    if (call->status < 200 && call->status != 101) {
        b->pos = end + 4;
        call->head_scan = 0;
        call->content_length = -1;
        call->chunked = 0;
        call->sse = 0;
        goto next;
    }

    if (call->chunked && call->content_length >= 0) {
        /* a smuggling vector: refuse rather than guess */
        return ngx_http_hangar_call_bad(call,
                           "both Content-Length and chunked framing");
    }

    call->body_off = end + 4 - b->start;
    call->head_done = 1;

    /* only a framed answer over HTTP/1.1 leaves the connection usable */
    call->keepalive = !call->close && call->http11
                      && (call->chunked || call->content_length >= 0);

    return NGX_OK;
}


/*
 * A chunked body, decoded in place as it arrives: the decoded bytes never
 * overtake the raw ones, and the framing already read is squeezed out
 * before the next read, so a body costs its own size and no more.
 */

enum {
    ngx_http_hangar_chunk_size = 0,
    ngx_http_hangar_chunk_data,
    ngx_http_hangar_chunk_crlf,
    ngx_http_hangar_chunk_trailer,
    ngx_http_hangar_chunk_done
};


static ngx_int_t
ngx_http_hangar_chunk_line(ngx_http_hangar_call_t *call, u_char *p,
    u_char *eol)
{
    size_t       size;
    ngx_uint_t   d, digits;

    if (eol > p && eol[-1] == '\r') {
        eol--;
    }

    if (call->pstate == ngx_http_hangar_chunk_trailer) {
        if (eol == p) {
            call->pstate = ngx_http_hangar_chunk_done;
            return NGX_OK;
        }

        call->trailer += eol - p;

        if (call->trailer > NGX_HTTP_HANGAR_CALL_HEADER_MAX) {
            return ngx_http_hangar_call_bad(call, "trailer too large");
        }

        return NGX_OK;
    }

    size = 0;

    for (digits = 0; p < eol; p++, digits++) {
        if (*p >= '0' && *p <= '9') {
            d = *p - '0';

        } else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f') {
            d = (*p | 0x20) - 'a' + 10;

        } else {
            break;
        }

        /* checked at each digit: the sum cannot overflow */
        size = size * 16 + d;

        if (size > NGX_HTTP_HANGAR_CALL_MAX) {
            return ngx_http_hangar_call_bad(call, "chunk size too large");
        }
    }

    if (digits == 0
        || (p < eol && *p != ';' && *p != ' ' && *p != '\t'))
    {
        return ngx_http_hangar_call_bad(call, "invalid chunk size");
    }

    if (size == 0) {
        call->pstate = ngx_http_hangar_chunk_trailer;
        return NGX_OK;
    }

    if (call->decoded + size > NGX_HTTP_HANGAR_CALL_MAX) {
        return ngx_http_hangar_call_bad(call, "response too large");
    }

    call->chunk_left = size;
    call->pstate = ngx_http_hangar_chunk_data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_call_dechunk(ngx_http_hangar_call_t *call)
{
    u_char     *body, *p, *eol;
    size_t      n, k;
    ngx_buf_t  *b;

    b = call->in;
    body = b->start + call->body_off;

    while (call->pstate != ngx_http_hangar_chunk_done) {
        p = body + call->raw;
        n = b->last - p;

        switch (call->pstate) {

        case ngx_http_hangar_chunk_data:
            k = ngx_min(n, call->chunk_left);
            if (k == 0) {
                goto again;
            }

            if (p != body + call->decoded) {
                ngx_memmove(body + call->decoded, p, k);
            }

            call->decoded += k;
            call->raw += k;
            call->chunk_left -= k;

            if (call->chunk_left == 0) {
                call->pstate = ngx_http_hangar_chunk_crlf;
            }

            break;

        case ngx_http_hangar_chunk_crlf:
            if (n < 2) {
                goto again;
            }

            if (p[0] != '\r' || p[1] != '\n') {
                return ngx_http_hangar_call_bad(call,
                                        "chunk data not followed by CRLF");
            }

            call->raw += 2;
            call->pstate = ngx_http_hangar_chunk_size;
            break;

        default: /* a chunk-size or a trailer line */
            eol = ngx_strlchr(p, p + ngx_min(n, NGX_HTTP_HANGAR_CALL_LINE_MAX),
                              '\n');
            if (eol == NULL) {
                if (n >= NGX_HTTP_HANGAR_CALL_LINE_MAX) {
                    return ngx_http_hangar_call_bad(call,
                                                    "chunk line too long");
                }

                goto again;
            }

            if (ngx_http_hangar_chunk_line(call, p, eol) != NGX_OK) {
                return NGX_ERROR;
            }

            call->raw += eol + 1 - p;
        }
    }

    /* anything past the answer would be a protocol error */
    if (body + call->raw != b->last) {
        call->keepalive = 0;
    }

    return NGX_OK;

again:

    if (call->raw > call->decoded) {
        p = body + call->raw;
        b->last = ngx_movemem(body + call->decoded, p, b->last - p);
        call->raw = call->decoded;
    }

    return NGX_AGAIN;
}


/* NGX_OK: the body is complete; NGX_AGAIN: more to come */

static ngx_int_t
ngx_http_hangar_call_body(ngx_http_hangar_call_t *call)
{
    size_t      avail;
    ngx_buf_t  *b;

    if (call->chunked) {
        return ngx_http_hangar_call_dechunk(call);
    }

    b = call->in;
    avail = b->last - (b->start + call->body_off);

    if (call->content_length >= 0) {
        call->decoded = ngx_min(avail, (size_t) call->content_length);
        call->raw = call->decoded;

        if (call->decoded < (size_t) call->content_length) {
            return NGX_AGAIN;
        }

        call->keepalive &= (avail == (size_t) call->content_length);
        return NGX_OK;
    }

    /* neither: the body ends when the peer closes */
    if (avail > NGX_HTTP_HANGAR_CALL_MAX) {
        return ngx_http_hangar_call_bad(call, "response too large");
    }

    call->decoded = avail;
    call->raw = avail;

    return NGX_AGAIN;
}


/*
 * Messages of an SSE body that arrive before the response (progress):
 * the decoded body is read line by line, each byte looked at once; an
 * event's "data:" lines gather in call->events.  Each message is parsed
 * in a scratch pool that is reset after it, so that many small events
 * cost no more memory than one.
 */

static ngx_int_t
ngx_http_hangar_call_scratch(ngx_http_hangar_call_t *call)
{
    ngx_pool_cleanup_t  *cln;

    if (call->scratch) {
        return NGX_OK;
    }

    cln = ngx_pool_cleanup_add(call->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    /* the call's pool may outlive the log of its owner: use its log */
    call->scratch = ngx_create_pool(4096, call->pool->log);
    if (call->scratch == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_hangar_call_scratch_free;
    cln->data = call->scratch;

    return NGX_OK;
}


static void
ngx_http_hangar_call_scratch_free(void *data)
{
    ngx_destroy_pool(data);
}


static ngx_int_t
ngx_http_hangar_call_dispatch(ngx_http_hangar_call_t *call)
{
    ngx_str_t                 err;
    ngx_buf_t                *ev;
    ngx_http_hangar_value_t  *msg;

    ev = call->events;

    if (ev->last == ev->pos) {
        return NGX_OK;
    }

    if (ngx_http_hangar_call_scratch(call) != NGX_OK) {
        return ngx_http_hangar_call_bad(call, "out of memory");
    }

    msg = ngx_http_hangar_json_parse(call->scratch, ev->pos,
                                     ev->last - ev->pos, &err);

    ev->pos = ev->last = ev->start;

    /* the response itself is left for call_message() */
    if (ngx_http_hangar_get(msg, "method") != NULL) {
        call->on_event(call, msg);
    }

    ngx_reset_pool(call->scratch);

    return call->done ? NGX_DONE : NGX_OK;
}


static ngx_int_t
ngx_http_hangar_call_data(ngx_http_hangar_call_t *call, u_char *p,
    size_t len)
{
    size_t      size;
    ngx_buf_t  *ev, *nb;

    ev = call->events;

    if (ev == NULL || (size_t) (ev->end - ev->last) < len + 1) {
        size = ev ? (size_t) (ev->end - ev->start) : 0;
        size = ngx_max(ngx_max(2 * size, 4096),
                       (size_t) (ev ? ev->last - ev->pos : 0) + len + 1);

        nb = ngx_create_temp_buf(call->pool, size);
        if (nb == NULL) {
            return ngx_http_hangar_call_bad(call, "out of memory");
        }

        if (ev) {
            nb->last = ngx_cpymem(nb->last, ev->pos, ev->last - ev->pos);
            (void) ngx_pfree(call->pool, ev->start);
        }

        call->events = ev = nb;
    }

    /* data lines of one event are joined by a newline (SSE) */
    if (ev->last > ev->pos) {
        *ev->last++ = '\n';
    }

    ev->last = ngx_cpymem(ev->last, p, len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_call_events(ngx_http_hangar_call_t *call)
{
    u_char     *body, *p, *eol, *last;
    size_t      len;
    ngx_int_t   rc;

    body = call->in->start + call->body_off;
    last = body + call->decoded;

    for ( ;; ) {
        eol = ngx_strlchr(body + call->line_scan, last, '\n');
        if (eol == NULL) {
            call->line_scan = call->decoded;
            return NGX_OK;
        }

        p = body + call->fed;
        len = eol - p;

        if (len && p[len - 1] == '\r') {
            len--;
        }

        call->fed = eol + 1 - body;
        call->line_scan = call->fed;

        if (len == 0) {
            if (call->events) {
                rc = ngx_http_hangar_call_dispatch(call);
                if (rc != NGX_OK) {
                    return rc;
                }
            }

            continue;
        }

        if (len >= 5 && ngx_strncmp(p, "data:", 5) == 0) {
            p += 5;
            len -= 5;

            if (len && *p == ' ') {
                p++;
                len--;
            }

            if (ngx_http_hangar_call_data(call, p, len) != NGX_OK) {
                return NGX_ERROR;
            }
        }
    }
}


ngx_int_t
ngx_http_hangar_call_process(ngx_http_hangar_call_t *call)
{
    ngx_int_t  rc, erc;

    if (!call->head_done) {
        rc = ngx_http_hangar_call_head(call);
        if (rc != NGX_OK) {
            return rc;
        }

        if (call->on_notice && call->status != 200) {
            return ngx_http_hangar_call_bad(call, "stream refused");
        }
    }

    if (call->on_notice) {
        ngx_http_hangar_call_scan(call);
        return call->done ? NGX_DONE : NGX_AGAIN;
    }

    rc = ngx_http_hangar_call_body(call);
    if (rc == NGX_ERROR) {
        return rc;
    }

    if (call->on_event && call->sse) {
        erc = ngx_http_hangar_call_events(call);
        if (erc != NGX_OK) {
            return erc;
        }
    }

    if (rc == NGX_OK) {
        call->response.data = call->in->start + call->body_off;
        call->response.len = call->decoded;
    }

    return rc;
}


/* the peer closed: whatever arrived is the whole answer, if framed so */

ngx_int_t
ngx_http_hangar_call_eof(ngx_http_hangar_call_t *call)
{
    if (!call->head_done) {
        return ngx_http_hangar_call_bad(call, call->in->last > call->in->pos
                                              ? "connection closed in the "
                                                "response header"
                                              : "connection closed early");
    }

    if (call->on_notice) {
        return ngx_http_hangar_call_bad(call, "stream closed");
    }

    if (call->chunked || call->content_length >= 0) {
        return ngx_http_hangar_call_bad(call,
                                        "connection closed in the body");
    }

    call->keepalive = 0;
    call->response.data = call->in->start + call->body_off;
    call->response.len = call->decoded;

    return NGX_OK;
}


/*
 * A stream: look for the notice in what arrived, then drop the body but
 * for a tail that may hold the start of a notice cut by the read.
 */

static void
ngx_http_hangar_call_scan(ngx_http_hangar_call_t *call)
{
    u_char     *p, *from, *body;
    size_t      len, keep;
    ngx_buf_t  *b;

    if (call->on_line) {
        ngx_http_hangar_call_lines(call);
        return;
    }

    b = call->in;
    body = b->start + call->body_off;
    from = body;
    len = ngx_strlen(call->notice);

    for ( ;; ) {
        p = ngx_strlcasestrn(from, b->last, (u_char *) call->notice, len - 1);
        if (p == NULL) {
            break;
        }

        from = p + len;
        call->on_notice(call);

        if (call->done) {
            return;
        }
    }

    keep = ngx_min((size_t) (b->last - from), len - 1);
    b->last = ngx_movemem(body, b->last - keep, keep);
}


/*
 * A stream read by lines: each complete "data:" line is handed over, what
 * is left is the start of the next line (the buffer bounds its length).
 * Other lines (event:, id:, chunk sizes of the framing) are skipped.
 */

static void
ngx_http_hangar_call_lines(ngx_http_hangar_call_t *call)
{
    u_char     *p, *eol, *body, *line;
    size_t      len;
    ngx_buf_t  *b;

    b = call->in;
    body = b->start + call->body_off;

    for (p = body; /* void */; p = eol + 1) {
        eol = ngx_strlchr(p, b->last, '\n');
        if (eol == NULL) {
            break;
        }

        line = p;
        len = eol - p;

        if (len && line[len - 1] == '\r') {
            len--;
        }

        if (len < 5 || ngx_strncmp(line, "data:", 5) != 0) {
            continue;
        }

        line += 5;
        len -= 5;

        if (len && *line == ' ') {
            line++;
            len--;
        }

        call->on_line(call, line, len);

        if (call->done) {
            return;
        }
    }

    b->last = ngx_movemem(body, p, b->last - p);
}


/*
 * A JSON body, or the "data:" lines of each SSE event.  The events that
 * are not the response are parsed in a scratch pool, reset after each;
 * the response is parsed again into the call's pool, which the caller
 * keeps.
 */

static ngx_http_hangar_value_t *
ngx_http_hangar_call_pick(ngx_http_hangar_call_t *call, int64_t id,
    u_char *data, size_t len, ngx_str_t *err)
{
    ngx_http_hangar_value_t  *v, *mid;

    v = ngx_http_hangar_json_parse(call->scratch, data, len, err);
    mid = ngx_http_hangar_get(v, "id");

    if (!ngx_http_hangar_is(mid, NGX_HTTP_HANGAR_INT) || mid->u.i != id
        || ngx_http_hangar_get(v, "method") != NULL)
    {
        ngx_reset_pool(call->scratch);
        return NULL;
    }

    ngx_reset_pool(call->scratch);

    return ngx_http_hangar_json_parse(call->pool, data, len, err);
}


ngx_int_t
ngx_http_hangar_call_message(ngx_http_hangar_call_t *call, int64_t id,
    ngx_http_hangar_value_t **msg)
{
    u_char                   *p, *last, *eol, *data, *d;
    ngx_str_t                 err;
    ngx_http_hangar_value_t  *v;

    *msg = NULL;
    ngx_str_set(&err, "no JSON-RPC response with its id");

    p = call->response.data;
    last = p + call->response.len;

    if (!call->sse) {
        v = ngx_http_hangar_json_parse(call->pool, p, last - p, &err);
        if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_OBJ)) {
            *msg = v;
            return NGX_OK;
        }

        goto failed;
    }

    data = ngx_pnalloc(call->pool, call->response.len + 1);
    if (data == NULL || ngx_http_hangar_call_scratch(call) != NGX_OK) {
        return NGX_ERROR;
    }

    d = data;

    for ( ;; ) {
        eol = ngx_strlchr(p, last, '\n');
        if (eol == NULL) {
            eol = last;
        }

        if (eol - p >= 5 && ngx_strncmp(p, "data:", 5) == 0) {
            p += (p + 5 < eol && p[5] == ' ') ? 6 : 5;

            if (d > data) {
                *d++ = '\n';
            }

            d = ngx_cpymem(d, p, eol - p);
            if (d > data && d[-1] == '\r') {
                d--;
            }

            if (eol < last) {
                p = eol + 1;
                continue;
            }
        }

        /* the end of an event (an empty line, or the end of the body) */
        if ((eol == p || (eol - p == 1 && *p == '\r') || eol == last)
            && d > data)
        {
            *msg = ngx_http_hangar_call_pick(call, id, data, d - data, &err);
            if (*msg) {
                return NGX_OK;
            }

            d = data;
        }

        if (eol == last) {
            break;
        }

        p = eol + 1;
    }

failed:

    ngx_log_error(NGX_LOG_ERR, call->log, 0,
                  "hangar: MCP server \"%V\" answered HTTP %ui without a "
                  "valid JSON-RPC response: %V",
                  call->name.len ? &call->name : &call->target,
                  call->status, &err);

    return NGX_ERROR;
}
