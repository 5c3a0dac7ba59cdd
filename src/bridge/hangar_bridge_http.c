
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * hangar-bridge: the HTTP/1.1 server on the unix socket.  Connections,
 * request parsing (Content-Length and chunked bodies), responses and SSE
 * streams; /mcp is handed to hb_mcp_post(), /status, /logs and /shutdown
 * are served here.
 */


#include "hangar_bridge.h"


/* connections */

void
hb_conn_flush(hb_conn_t *c)
{
    ssize_t  n;

    while (c->out.pos < c->out.len) {
        n = write(c->fd, c->out.data + c->out.pos, c->out.len - c->out.pos);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN) {
                c->dead = 1;
            }
            return;
        }
        c->out.pos += n;
    }

    hb_buf_idle(&c->out);
    if (c->closing) {
        c->dead = 1;
    }
}


/* queued, not written: a message leaves in one write (hb_conn_flush) */

static void
hb_conn_add(hb_conn_t *c, const char *p, size_t n)
{
    if (c->dead) {
        return;
    }

    /* a reader that does not keep up with its stream is cut off */
    if (c->out.len - c->out.pos + n > HB_MAX_OUT
        || hb_buf_add(&c->out, p, n) != 0)
    {
        c->dead = 1;
    }
}


void
hb_conn_send(hb_conn_t *c, const char *p, size_t n)
{
    hb_conn_add(c, p, n);

    if (!c->dead) {
        hb_conn_flush(c);
    }
}


static const char *
hb_status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 503: return "Service Unavailable";
    default:  return "Internal Server Error";
    }
}


/* a complete response; the connection is ready for its next request */

void
hb_reply(hb_conn_t *c, int status, const char *type, const char *extra,
    const char *body, size_t len)
{
    char  head[512];
    int   n;

    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 %d %s\r\n%s%s%sContent-Length: %zu\r\n%s%s\r\n",
                 status, hb_status_text(status),
                 type ? "Content-Type: " : "", type ? type : "",
                 type ? "\r\n" : "", len, extra ? extra : "",
                 c->keepalive ? "" : "Connection: close\r\n");

    /* one write: a peer woken by the head would find no body yet */
    c->sse_head = 0;
    hb_conn_add(c, head, n);
    hb_conn_send(c, body, len);

    c->state = HB_C_READ;
    if (!c->keepalive) {
        c->closing = 1;
        if (c->out.pos == c->out.len) {
            c->dead = 1;
        }
    }
}


void
hb_reply_buf(hb_conn_t *c, int status, const char *extra, hb_buf_t *b)
{
    hb_reply(c, status, "application/json", extra,
             b->data + b->pos, b->len - b->pos);
}


void
hb_reply_error(hb_conn_t *c, int status, const char *id, int code,
    const char *msg)
{
    hb_buf_t  b;

    memset(&b, 0, sizeof(hb_buf_t));
    if (hb_rpc_error(&b, id, code, msg) == 0) {
        hb_reply_buf(c, status, NULL, &b);
    } else {
        c->dead = 1;
    }
    hb_buf_free(&b);
}


static void
hb_reply_text(hb_conn_t *c, int status, const char *json)
{
    hb_reply(c, status, "application/json", NULL, json, strlen(json));
}


static const char  hb_sse_head[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "X-Accel-Buffering: no\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";


void
hb_sse_start(hb_conn_t *c)
{
    c->sse_head = 0;
    hb_conn_send(c, hb_sse_head, sizeof(hb_sse_head) - 1);
}


/*
 * The head of a POST's stream goes out with its first event: a response
 * that comes first and alone is then answered as plain JSON instead
 * (hb_deliver()), in one write.
 */

void
hb_sse_defer(hb_conn_t *c)
{
    c->sse_head = 1;
}


static void
hb_sse_add(hb_conn_t *c, const char *json, size_t len)
{
    static const char  pre[] = "event: message\ndata: ";
    char               head[64];
    int                n;

    if (c->sse_head) {
        c->sse_head = 0;
        hb_conn_add(c, hb_sse_head, sizeof(hb_sse_head) - 1);
    }

    n = snprintf(head, sizeof(head), "%zx\r\n%s",
                 len + sizeof(pre) - 1 + 2, pre);
    hb_conn_add(c, head, n);
    hb_conn_add(c, json, len);
    hb_conn_add(c, "\n\n\r\n", 4);
}


void
hb_sse_event(hb_conn_t *c, const char *json, size_t len)
{
    hb_sse_add(c, json, len);

    if (!c->dead) {
        hb_conn_flush(c);
    }
}


/* the last event of a POST stream and the stream's end, in one write */

void
hb_sse_last(hb_conn_t *c, const char *json, size_t len)
{
    hb_sse_add(c, json, len);
    hb_sse_end(c);
}


/* the response of a POST stream is out: next request, or close */

void
hb_sse_end(hb_conn_t *c)
{
    if (c->sse_head) {
        c->sse_head = 0;
        hb_conn_add(c, hb_sse_head, sizeof(hb_sse_head) - 1);
    }

    hb_conn_send(c, "0\r\n\r\n", 5);
    c->state = HB_C_READ;
    if (!c->keepalive) {
        c->closing = 1;
        if (c->out.pos == c->out.len) {
            c->dead = 1;
        }
    }
}


static void
hb_conn_free(hb_conn_t *c)
{
    size_t         i;
    hb_pending_t  *p;

    for (i = 0; i < HB_BUCKETS; i++) {
        for (p = hb.pend[i]; p; p = p->next) {
            if (p->conn == c) {
                p->conn = NULL;
            }
        }
    }

    close(c->fd);
    hb_buf_free(&c->in);
    hb_buf_free(&c->out);
    free(c);
    hb.nconns--;
}


void
hb_sweep(void)
{
    hb_conn_t  **pp, *c;

    for (pp = &hb.conns; *pp; /* void */) {
        c = *pp;
        if (c->dead) {
            *pp = c->next;
            hb_conn_free(c);
        } else {
            pp = &c->next;
        }
    }
}


/* HTTP requests */

/* a chunk-size line (with extensions): longer is not a real client */
#define HB_MAX_CHUNK_LINE  1024

static int
hb_has_token(const char *v, size_t n, const char *tok)
{
    size_t  i, k;

    k = strlen(tok);
    for (i = 0; i + k <= n; i++) {
        if (strncasecmp(v + i, tok, k) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
hb_parse_head(hb_conn_t *c, char *p, size_t n)
{
    char    *end, *line, *eol, *colon, *v, *sp;
    size_t   vlen, k;
    int      have_clen;

    end = p + n - 2;                   /* the final empty line */
    eol = memchr(p, '\r', end - p);
    if (eol == NULL || eol[1] != '\n') {
        return -1;
    }

    sp = memchr(p, ' ', eol - p);
    if (sp == NULL) {
        return -1;
    }
    k = sp - p;
    c->method = (k == 3 && memcmp(p, "GET", 3) == 0) ? HB_M_GET
              : (k == 4 && memcmp(p, "POST", 4) == 0) ? HB_M_POST
              : (k == 6 && memcmp(p, "DELETE", 6) == 0) ? HB_M_DELETE
              : HB_M_OTHER;

    line = sp + 1;
    sp = memchr(line, ' ', eol - line);
    if (sp == NULL || sp == line || eol - sp != 9
        || memcmp(sp + 1, "HTTP/1.", 7) != 0
        || (sp[8] != '0' && sp[8] != '1'))
    {
        return -1;
    }
    c->keepalive = (sp[8] == '1');

    k = sp - line;
    if (k >= sizeof(c->target)) {
        k = sizeof(c->target) - 1;     /* no such path: 404 */
    }
    memcpy(c->target, line, k);
    c->target[k] = '\0';

    c->clen = 0;
    c->chunked = 0;
    c->sse = 0;
    c->expect = 0;
    c->sid[0] = '\0';
    have_clen = 0;

    for (line = eol + 2; line < end; line = eol + 2) {
        eol = memchr(line, '\r', end - line + 1);
        if (eol == NULL || eol[1] != '\n') {
            return -1;
        }

        colon = memchr(line, ':', eol - line);
        if (colon == NULL || colon == line) {
            return -1;
        }
        for (v = line; v < colon; v++) {
            if (*v <= ' ' || *v >= 127) {
                return -1;
            }
        }

        v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t')) {
            v++;
        }
        vlen = eol - v;
        k = colon - line;

#define hb_is_header(name)                                                    \
        (k == sizeof(name) - 1 && strncasecmp(line, name, k) == 0)

        if (hb_is_header("Content-Length")) {
            size_t  len = 0, i;

            while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) {
                vlen--;
            }
            if (vlen == 0 || vlen > 12) {
                return -1;
            }
            for (i = 0; i < vlen; i++) {
                if (v[i] < '0' || v[i] > '9') {
                    return -1;
                }
                len = len * 10 + (v[i] - '0');
            }
            if (have_clen && len != c->clen) {
                return -1;
            }
            have_clen = 1;
            c->clen = len;

        } else if (hb_is_header("Transfer-Encoding")) {
            if (!hb_has_token(v, vlen, "chunked")) {
                return -1;
            }
            c->chunked = 1;

        } else if (hb_is_header("Connection")) {
            if (hb_has_token(v, vlen, "close")) {
                c->keepalive = 0;
            } else if (hb_has_token(v, vlen, "keep-alive")) {
                c->keepalive = 1;
            }

        } else if (hb_is_header("Accept")) {
            c->sse |= hb_has_token(v, vlen, "text/event-stream");

        } else if (hb_is_header("Expect")) {
            c->expect = hb_has_token(v, vlen, "100-continue");

        } else if (hb_is_header("Mcp-Session-Id")) {
            while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) {
                vlen--;
            }
            /* longer than ours: no session of this bridge */
            if (vlen < sizeof(c->sid)) {
                memcpy(c->sid, v, vlen);
                c->sid[vlen] = '\0';
            }
        }
    }

    /* both would allow request smuggling */
    if (have_clen && c->chunked) {
        return -1;
    }

    c->cstate = 1;
    c->cleft = 0;
    c->craw = 0;
    c->cbody = 0;
    return 0;
}


/*
 * Decodes a chunked body in place, as far as it has arrived: decoded bytes
 * never overtake raw ones, and the framing is squeezed out while waiting.
 * Returns 1 when complete, 0 for more, -1 bad, -2 too large.
 */

static int
hb_dechunk(hb_conn_t *c)
{
    char    *b, *e;
    size_t   n, k, size;
    int      digit;

    b = c->in.data + c->in.pos + c->hdr_len;
    n = c->in.len - c->in.pos - c->hdr_len;

    for ( ;; ) {
        switch (c->cstate) {

        case 1:                                         /* size line */
            e = memchr(b + c->craw, '\n', n - c->craw);
            if (e == NULL) {
                if (n - c->craw > HB_MAX_CHUNK_LINE) {
                    return -1;
                }
                goto more;
            }
            if (e - (b + c->craw) > HB_MAX_CHUNK_LINE) {
                return -1;
            }
            size = 0;
            digit = 0;
            for (k = c->craw; b + k < e; k++) {
                char ch = b[k];
                int  d = (ch >= '0' && ch <= '9') ? ch - '0'
                       : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10
                       : (ch >= 'A' && ch <= 'F') ? ch - 'A' + 10 : -1;
                if (d < 0) {
                    break;
                }
                size = size * 16 + d;
                if (size > HB_MAX_MSG) {
                    return -2;
                }
                digit = 1;
            }
            if (!digit || (b + k < e && b[k] != ';' && b[k] != '\r'
                           && b[k] != ' ' && b[k] != '\t'))
            {
                return -1;
            }
            c->craw = e - b + 1;
            if (size == 0) {
                c->cstate = 4;
            } else if (c->cbody + size > HB_MAX_MSG) {
                return -2;
            } else {
                c->cleft = size;
                c->cstate = 2;
            }
            break;

        case 2:                                         /* data */
            k = n - c->craw < c->cleft ? n - c->craw : c->cleft;
            memmove(b + c->cbody, b + c->craw, k);
            c->cbody += k;
            c->craw += k;
            c->cleft -= k;
            if (c->cleft) {
                goto more;
            }
            c->cstate = 3;
            break;

        case 3:                                         /* CRLF after data */
            if (n - c->craw < 2) {
                goto more;
            }
            if (b[c->craw] != '\r' || b[c->craw + 1] != '\n') {
                return -1;
            }
            c->craw += 2;
            c->cstate = 1;
            break;

        default:                                        /* trailers */
            e = memchr(b + c->craw, '\n', n - c->craw);
            if (e == NULL) {
                if (c->cleft + (n - c->craw) > HB_MAX_HEADER) {
                    return -1;
                }
                goto more;
            }
            k = e - (b + c->craw);
            c->craw = e - b + 1;

            /* cleft, free after the last chunk, counts trailer bytes */
            c->cleft += k + 1;
            if (c->cleft > HB_MAX_HEADER) {
                return -1;
            }
            if (k == 0 || (k == 1 && e[-1] == '\r')) {
                return 1;
            }
        }
    }

more:

    /* drop the chunk framing already read: the buffer holds the body */
    if (c->craw > c->cbody) {
        memmove(b + c->cbody, b + c->craw, n - c->craw);
        c->in.len -= c->craw - c->cbody;
        c->craw = c->cbody;
    }

    return 0;
}


static void
hb_bad(hb_conn_t *c, int status)
{
    c->keepalive = 0;
    if (status == 413) {
        hb_reply_error(c, 413, NULL, -32600, "request body too large");
    } else {
        hb_reply_text(c, 400, "{\"error\":\"bad request\"}");
    }
}


static void
hb_logs(hb_conn_t *c, const char *query)
{
    long        lines;
    char       *end;
    size_t      i, first;
    yajl_gen    g;
    hb_buf_t    b;
    hb_log_t   *e;
    const char *q;

    lines = 100;
    for (q = query; q && *q; q = strchr(q, '&') ? strchr(q, '&') + 1 : NULL) {
        if (strncmp(q, "lines=", 6) == 0) {
            lines = strtol(q + 6, &end, 10);
            if (end == q + 6 || (*end != '\0' && *end != '&')) {
                lines = 100;
            }
        }
    }
    lines = lines < 1 ? 1 : (lines > 1000 ? 1000 : lines);

    first = hb.ring_count > (size_t) lines ? hb.ring_count - lines : 0;

    memset(&b, 0, sizeof(hb_buf_t));
    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        c->dead = 1;
        return;
    }

    yajl_gen_map_open(g);
    hb_gen_str(g, "logs");
    yajl_gen_array_open(g);
    for (i = first; i < hb.ring_count; i++) {
        e = hb_ring_at(i);
        hb_gen_log(g, e);
    }
    yajl_gen_array_close(g);
    hb_gen_num(g, "count", hb.ring_count - first, 0, 1);
    yajl_gen_map_close(g);

    if (hb_gen_done(g, &b) == 0) {
        hb_reply_buf(c, 200, NULL, &b);
    } else {
        c->dead = 1;
    }
    hb_buf_free(&b);
}


static void
hb_handle(hb_conn_t *c, char *body, size_t len)
{
    char      *query;
    hb_buf_t   b;

    query = strchr(c->target, '?');
    if (query) {
        *query++ = '\0';
    }

    if (strcmp(c->target, "/mcp") == 0) {
        if (c->method == HB_M_POST) {
            hb_mcp_post(c, body, len);

        } else if (c->method == HB_M_GET) {
            if (!c->sse) {
                hb_reply(c, 405, NULL, "Allow: GET, POST, DELETE\r\n", "", 0);
            } else {
                hb_sse_start(c);
                c->state = HB_C_GET;
                c->sess = hb_session_of(c);
            }

        } else if (c->method == HB_M_DELETE) {
            hb_session_end(c);
            hb_reply(c, 200, NULL, NULL, "", 0);

        } else {
            hb_reply(c, 405, NULL, "Allow: GET, POST, DELETE\r\n", "", 0);
        }

    } else if (strcmp(c->target, "/status") == 0 && c->method == HB_M_GET) {
        memset(&b, 0, sizeof(hb_buf_t));
        if (hb_status_json(&b, 1) == 0) {
            hb_reply_buf(c, 200, NULL, &b);
        }
        hb_buf_free(&b);

    } else if (strcmp(c->target, "/logs") == 0 && c->method == HB_M_GET) {
        hb_logs(c, query);

    } else if (strcmp(c->target, "/shutdown") == 0
               && c->method == HB_M_POST)
    {
        c->keepalive = 0;
        hb_reply_text(c, 200, "{\"stopping\":true}");
        hb.stop_req = 1;

    } else {
        hb_reply_text(c, 404, "{\"error\":\"not found\"}");
    }
}


/* parses and serves buffered requests, one at a time (no pipelining) */

void
hb_conn_process(hb_conn_t *c)
{
    char    *p, *e;
    size_t   n, used;
    int      rc;

    while (c->state == HB_C_READ && !c->closing && !c->dead) {
        p = c->in.data + c->in.pos;
        n = c->in.len - c->in.pos;

        if (c->hdr_len == 0) {
            e = n ? memmem(p, n, "\r\n\r\n", 4) : NULL;
            if (e == NULL) {
                if (n > HB_MAX_HEADER) {
                    hb_bad(c, 400);
                }
                return;
            }
            c->hdr_len = e - p + 4;
            c->continued = 0;
            if (hb_parse_head(c, p, c->hdr_len) != 0) {
                hb_bad(c, 400);
                return;
            }
            if (c->clen > HB_MAX_MSG) {
                hb_bad(c, 413);
                return;
            }
        }

        if (c->chunked) {
            rc = hb_dechunk(c);
            if (rc < 0) {
                hb_bad(c, rc == -2 ? 413 : 400);
                return;
            }
            used = c->hdr_len + c->craw;
            n = c->cbody;

        } else {
            rc = (n - c->hdr_len >= c->clen);
            used = c->hdr_len + c->clen;
            n = c->clen;
        }

        if (rc == 0) {
            if (c->expect && !c->continued) {
                c->continued = 1;
                hb_conn_send(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
            }
            return;
        }

        p += c->hdr_len;
        c->hdr_len = 0;
        hb_handle(c, p, n);
        c->in.pos += used;
        hb_buf_idle(&c->in);
    }
}


void
hb_conn_read(hb_conn_t *c)
{
    char     buf[HB_READ_CHUNK];
    ssize_t  n;

    for ( ;; ) {
        if (c->in.len - c->in.pos > HB_MAX_MSG + HB_MAX_HEADER) {
            /* only pipelined input piles up like this: a flood */
            if (c->state != HB_C_READ) {
                c->dead = 1;
                return;
            }
            break;
        }
        /* via the stack: an idle keep-alive connection stays small */
        n = read(c->fd, buf, sizeof(buf));
        if (n > 0) {
            if (hb_buf_add(&c->in, buf, n) != 0) {
                c->dead = 1;
                return;
            }
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            break;
        }
        c->eof = 1;
        break;
    }

    if (c->state == HB_C_GET) {
        c->in.pos = c->in.len;     /* nothing is expected on a GET stream */
        hb_buf_idle(&c->in);
    }

    hb_conn_process(c);

    if (c->eof) {
        /* a client gone while its request runs: the answer is dropped */
        if (c->state != HB_C_READ || c->out.pos == c->out.len) {
            c->dead = 1;
        } else {
            c->closing = 1;
        }
    }
}


void
hb_accept(void)
{
    int         fd;
    hb_conn_t  *c;

    for ( ;; ) {
        fd = accept4(hb.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;
        }

        c = (hb.nconns < HB_MAX_CONNS) ? calloc(1, sizeof(hb_conn_t)) : NULL;
        if (c == NULL) {
            close(fd);
            continue;
        }

        c->fd = fd;
        c->state = HB_C_READ;
        c->keepalive = 1;
        c->next = hb.conns;
        hb.conns = c;
        hb.nconns++;
    }
}
