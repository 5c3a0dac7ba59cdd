
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * hangar-bridge: owns one stdio MCP server process and serves it as MCP
 * Streamable HTTP on a unix socket, so that every nginx worker reaches the
 * server the same way and the server outlives nginx reloads (DESIGN.md
 * section 4).  The bridge is the server's only MCP client: it does the
 * handshake once, answers "initialize" from that cache, and multiplexes
 * requests from many connections onto the one stdio session by rewriting
 * JSON-RPC ids (and progress tokens, which clients choose freely and so
 * may collide).  One poll() loop serves everything.
 */


#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>


#define HB_MAX_MSG       (16 * 1024 * 1024)
#define HB_MAX_HEADER    (64 * 1024)
#define HB_MAX_OUT       (64 * 1024 * 1024)
#define HB_MAX_LOG_LINE  8192
#define HB_MAX_DEPTH     512
#define HB_MAX_CONNS     4096
#define HB_TAIL_LINES    20
#define HB_TAIL_CHARS    2000
#define HB_READ_CHUNK    16384
#define HB_BUCKETS       256

enum { HB_STARTING, HB_READY, HB_FAILED, HB_EXITED, HB_STOPPED };

/* connection states: reading a request, a request in flight, GET stream */
enum { HB_C_READ, HB_C_WAIT, HB_C_GET };

enum { HB_M_OTHER, HB_M_GET, HB_M_POST, HB_M_DELETE };


typedef struct {
    char    *data;
    size_t   pos;               /* first byte not yet consumed */
    size_t   len;
    size_t   cap;
} hb_buf_t;

typedef struct {
    int       fd;
    int       is_stdout;
    int       skipping;         /* dropping the rest of an overlong line */
    size_t    max;
    size_t    scanned;          /* bytes after pos known to hold no '\n' */
    hb_buf_t  buf;
} hb_reader_t;

typedef struct {
    const char  *stream;
    char        *content;
    double       at;
} hb_log_t;

typedef struct hb_conn_s  hb_conn_t;

struct hb_conn_s {
    int          fd;
    int          state;
    unsigned     keepalive:1;
    unsigned     closing:1;     /* close once the output is written */
    unsigned     dead:1;        /* freed by the sweep after this round */
    unsigned     eof:1;
    unsigned     sse:1;         /* Accept has text/event-stream */
    unsigned     chunked:1;
    unsigned     expect:1;
    unsigned     continued:1;

    int          method;
    size_t       hdr_len;       /* 0 until the header block is complete */
    size_t       clen;
    int          cstate;        /* chunked decoder, see hb_dechunk() */
    size_t       cleft;
    size_t       craw;          /* raw body bytes decoded so far */
    size_t       cbody;         /* decoded body length */
    char         target[512];

    hb_buf_t     in;
    hb_buf_t     out;
    hb_conn_t   *next;
};

typedef struct hb_pending_s  hb_pending_t;

struct hb_pending_s {
    uint64_t       bid;
    hb_conn_t     *conn;        /* NULL once the client went away */
    char          *id;          /* the client's id, raw JSON */
    char          *token;       /* the client's progressToken, raw JSON */
    int            sse;
    hb_pending_t  *next;
};

typedef struct hb_sreq_s  hb_sreq_t;

struct hb_sreq_s {
    uint64_t    n;              /* the bridge id "s-<n>" */
    char       *id;             /* the server's id, raw JSON */
    hb_sreq_t  *next;
};

typedef struct {
    const char  *path[4];       /* keys from the top, NULL-terminated */
    const char  *raw;           /* raw JSON scalar put there */
} hb_patch_t;


static struct {
    const char    *id;
    const char    *socket;
    const char    *status;
    const char    *cwd;
    char         **argv;
    int            ready_fd;
    long           init_ms;
    long           grace_ms;
    long           log_lines;

    int            state;
    pid_t          pid;         /* the server, also its process group */
    int            reaped;
    int            exit_code;
    int            exit_signal;
    char          *error;
    char          *fail;        /* handshake failure seen by the reader */
    char          *proto;
    yajl_val       init_msg;
    yajl_val       init_result;
    double         started_at;
    double         ready_at;
    int            stop_req;

    int            sigfd;
    int            lfd;
    ino_t          sock_ino;
    int            in_fd;
    hb_buf_t       in_buf;
    hb_reader_t    out;
    hb_reader_t    err;

    uint64_t       next_id;
    uint64_t       next_sid;
    hb_conn_t     *conns;
    unsigned       nconns;
    unsigned       npending;
    hb_pending_t  *pend[HB_BUCKETS];
    hb_sreq_t     *sreqs;

    hb_log_t      *ring;
    size_t         ring_next;
    size_t         ring_count;
} hb;

static const int  hb_signals_used[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };

static const char *hb_state_names[] = {
    "starting", "ready", "failed", "exited", "stopped"
};


static void hb_server_line(char *p, size_t n);
static void hb_conn_process(hb_conn_t *c);


/* time */

static double
hb_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static int64_t
hb_msec(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* buffers: always one spare byte, so that a NUL can end any content */

static int
hb_buf_reserve(hb_buf_t *b, size_t n)
{
    size_t   cap;
    char    *p;

    if (b->pos > 0 && (b->pos == b->len || b->cap - b->len < n + 1)) {
        memmove(b->data, b->data + b->pos, b->len - b->pos);
        b->len -= b->pos;
        b->pos = 0;
    }

    if (b->cap - b->len >= n + 1) {
        return 0;
    }

    cap = b->cap ? b->cap : 1024;
    while (cap - b->len < n + 1) {
        cap *= 2;
    }

    p = realloc(b->data, cap);
    if (p == NULL) {
        return -1;
    }

    b->data = p;
    b->cap = cap;
    return 0;
}


static int
hb_buf_add(hb_buf_t *b, const void *p, size_t n)
{
    if (hb_buf_reserve(b, n) != 0) {
        return -1;
    }

    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}


/* an idle buffer gives big allocations back: RSS stays small */

static void
hb_buf_idle(hb_buf_t *b)
{
    if (b->pos == b->len) {
        b->pos = b->len = 0;
        if (b->cap > 65536) {
            free(b->data);
            b->data = NULL;
            b->cap = 0;
        }
    }
}


static void
hb_buf_free(hb_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof(hb_buf_t));
}


/* the log ring; content is valid UTF-8 without NULs, cut with "..." */

static char *
hb_utf8_clean(const char *p, size_t n, size_t limit)
{
    size_t          i, j, k, o, cut;
    unsigned char   c, c1;
    char           *s;

    s = malloc(limit + 1);
    if (s == NULL) {
        return NULL;
    }

    o = 0;
    cut = (size_t) -1;

    for (i = 0; i < n; i += k ? k : 1) {
        c = p[i];
        c1 = (i + 1 < n) ? p[i + 1] : 0;

        /* the length of a valid sequence here (RFC 3629), 0 if none */
        k = (c >= 0x01 && c < 0x80) ? 1
            : (c >= 0xc2 && c <= 0xdf) ? 2
            : (c >= 0xe0 && c <= 0xef && (c != 0xe0 || c1 >= 0xa0)
               && (c != 0xed || c1 <= 0x9f)) ? 3
            : (c >= 0xf0 && c <= 0xf4 && (c != 0xf0 || c1 >= 0x90)
               && (c != 0xf4 || c1 <= 0x8f)) ? 4 : 0;

        for (j = 1; j < k; j++) {
            if (i + j >= n || ((unsigned char) p[i + j] & 0xc0) != 0x80) {
                k = 0;
            }
        }

        if (cut == (size_t) -1 && o + (k ? k : 3) > limit - 3) {
            cut = o;
        }
        if (o + (k ? k : 3) > limit) {
            memcpy(s + cut, "...", 3);
            o = cut + 3;
            break;
        }

        memcpy(s + o, k ? p + i : "\xef\xbf\xbd", k ? k : 3);
        o += k ? k : 3;
    }

    s[o] = '\0';
    return realloc(s, o + 1);
}


static void
hb_log(const char *stream, const char *p, size_t n)
{
    char      *s;
    hb_log_t  *e;

    s = hb_utf8_clean(p, n, HB_MAX_LOG_LINE);
    if (s == NULL) {
        return;
    }

    e = &hb.ring[hb.ring_next];
    free(e->content);
    e->stream = stream;
    e->content = s;
    e->at = hb_now();

    hb.ring_next = (hb.ring_next + 1) % hb.log_lines;
    if (hb.ring_count < (size_t) hb.log_lines) {
        hb.ring_count++;
    }
}


static void
hb_logf(const char *fmt, ...)
{
    int      n;
    char     text[1024];
    va_list  args;

    va_start(args, fmt);
    n = vsnprintf(text, sizeof(text), fmt, args);
    va_end(args);

    if (n > 0) {
        hb_log("bridge", text, (size_t) n < sizeof(text) ? (size_t) n
                                                         : sizeof(text) - 1);
    }
}


static hb_log_t *
hb_ring_at(size_t i)
{
    /* i-th oldest entry */
    return &hb.ring[(hb.ring_next + hb.log_lines - hb.ring_count + i)
                    % hb.log_lines];
}


/* JSON */

/*
 * yajl frees (and we serialize) trees recursively, so nesting is limited
 * before parsing; "/" outside strings is rejected too, because yajl_tree
 * accepts comments, in which brackets would escape this count.
 */

static yajl_val
hb_json_parse(char *p, size_t n)
{
    int       depth, in_str;
    char      save;
    size_t    i;
    yajl_val  v;

    depth = 0;
    in_str = 0;

    for (i = 0; i < n; i++) {
        if (in_str) {
            if (p[i] == '\\') {
                i++;
            } else if (p[i] == '"') {
                in_str = 0;
            }
            continue;
        }

        switch (p[i]) {
        case '"':
            in_str = 1;
            break;
        case '[':
        case '{':
            if (++depth > HB_MAX_DEPTH) {
                return NULL;
            }
            break;
        case ']':
        case '}':
            depth--;
            break;
        case '/':
            return NULL;
        }
    }

    save = p[n];
    p[n] = '\0';
    v = yajl_tree_parse(p, NULL, 0);
    p[n] = save;

    return v;
}


static yajl_val
hb_get(yajl_val obj, const char *key)
{
    size_t  i;

    if (obj == NULL || !YAJL_IS_OBJECT(obj)) {
        return NULL;
    }

    for (i = 0; i < obj->u.object.len; i++) {
        if (strcmp(obj->u.object.keys[i], key) == 0) {
            return obj->u.object.values[i];
        }
    }

    return NULL;
}


static int
hb_is_id(yajl_val v)
{
    return v != NULL && (YAJL_IS_STRING(v) || YAJL_IS_NUMBER(v));
}


static void
hb_gen_str(yajl_gen g, const char *s)
{
    yajl_gen_string(g, (const unsigned char *) s, strlen(s));
}


static void
hb_gen_val(yajl_gen g, yajl_val v)
{
    size_t  i;

    switch (v->type) {
    case yajl_t_string:
        hb_gen_str(g, v->u.string);
        break;
    case yajl_t_number:
        yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
        break;
    case yajl_t_object:
        yajl_gen_map_open(g);
        for (i = 0; i < v->u.object.len; i++) {
            hb_gen_str(g, v->u.object.keys[i]);
            hb_gen_val(g, v->u.object.values[i]);
        }
        yajl_gen_map_close(g);
        break;
    case yajl_t_array:
        yajl_gen_array_open(g);
        for (i = 0; i < v->u.array.len; i++) {
            hb_gen_val(g, v->u.array.values[i]);
        }
        yajl_gen_array_close(g);
        break;
    case yajl_t_true:
        yajl_gen_bool(g, 1);
        break;
    case yajl_t_false:
        yajl_gen_bool(g, 0);
        break;
    default:
        yajl_gen_null(g);
    }
}


/* an object with some members (by path) replaced by raw JSON scalars */

static void
hb_gen_patched(yajl_gen g, yajl_val obj, hb_patch_t *pt, int np, int depth)
{
    int        j;
    size_t     i;
    yajl_val   v;
    const char *key;

    yajl_gen_map_open(g);

    for (i = 0; i < obj->u.object.len; i++) {
        key = obj->u.object.keys[i];
        v = obj->u.object.values[i];
        hb_gen_str(g, key);

        for (j = 0; j < np; j++) {
            if (pt[j].raw == NULL || strcmp(pt[j].path[depth], key) != 0) {
                continue;
            }
            if (pt[j].path[depth + 1] == NULL) {
                yajl_gen_number(g, pt[j].raw, strlen(pt[j].raw));
                break;
            }
            if (YAJL_IS_OBJECT(v)) {
                hb_gen_patched(g, v, &pt[j], 1, depth + 1);
                break;
            }
        }

        if (j == np) {
            hb_gen_val(g, v);
        }
    }

    yajl_gen_map_close(g);
}


static int
hb_gen_done(yajl_gen g, hb_buf_t *out)
{
    int                   rc;
    size_t                len;
    const unsigned char  *buf;

    yajl_gen_get_buf(g, &buf, &len);
    rc = hb_buf_add(out, buf, len);
    yajl_gen_free(g);
    return rc;
}


static char *
hb_raw(yajl_val v)
{
    char      *s;
    yajl_gen   g;
    hb_buf_t   b;

    memset(&b, 0, sizeof(hb_buf_t));
    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return NULL;
    }
    hb_gen_val(g, v);
    if (hb_gen_done(g, &b) != 0) {
        hb_buf_free(&b);
        return NULL;
    }
    b.data[b.len] = '\0';
    s = strdup(b.data);
    hb_buf_free(&b);
    return s;
}


static int
hb_gen_msg(hb_buf_t *out, yajl_val msg, hb_patch_t *pt, int np)
{
    yajl_gen  g;

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return -1;
    }
    hb_gen_patched(g, msg, pt, np, 0);
    return hb_gen_done(g, out);
}


static int
hb_rpc_error(hb_buf_t *out, const char *id, int code, const char *msg)
{
    yajl_gen  g;

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return -1;
    }
    yajl_gen_map_open(g);
    hb_gen_str(g, "jsonrpc");
    hb_gen_str(g, "2.0");
    hb_gen_str(g, "id");
    yajl_gen_number(g, id ? id : "null", strlen(id ? id : "null"));
    hb_gen_str(g, "error");
    yajl_gen_map_open(g);
    hb_gen_str(g, "code");
    yajl_gen_integer(g, code);
    hb_gen_str(g, "message");
    hb_gen_str(g, msg);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    return hb_gen_done(g, out);
}


/* members of the status: "ok" false makes them null */

static void
hb_gen_num(yajl_gen g, const char *key, double v, int decimals, int ok)
{
    char  num[32];

    snprintf(num, sizeof(num), ok ? "%.*f" : "null", decimals, v);
    hb_gen_str(g, key);
    yajl_gen_number(g, num, strlen(num));
}


static void
hb_gen_nstr(yajl_gen g, const char *key, const char *s)
{
    hb_gen_str(g, key);
    if (s) {
        hb_gen_str(g, s);
    } else {
        yajl_gen_null(g);
    }
}


/* the status object; "extra" adds the live counters of GET /status */

static int
hb_status_json(hb_buf_t *out, int extra)
{
    size_t     i, n, first, len, tlen;
    char      *tail;
    yajl_gen   g;
    hb_log_t  *e;

    /* the last stderr lines, oldest first, at most HB_TAIL_CHARS bytes */
    n = 0;
    first = hb.ring_count;
    len = 0;
    while (first > 0 && n < HB_TAIL_LINES) {
        e = hb_ring_at(--first);
        if (strcmp(e->stream, "stderr") == 0) {
            n++;
            len += strlen(e->content) + 1;
        }
    }

    tail = malloc(len + 1);
    if (tail == NULL) {
        return -1;
    }
    tlen = 0;
    for (i = first; i < hb.ring_count; i++) {
        e = hb_ring_at(i);
        if (strcmp(e->stream, "stderr") == 0) {
            if (tlen) {
                tail[tlen++] = '\n';
            }
            memcpy(tail + tlen, e->content, strlen(e->content));
            tlen += strlen(e->content);
        }
    }
    i = 0;
    if (tlen > HB_TAIL_CHARS) {
        i = tlen - HB_TAIL_CHARS;
        while (i < tlen && ((unsigned char) tail[i] & 0xc0) == 0x80) {
            i++;
        }
    }

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        free(tail);
        return -1;
    }

    yajl_gen_map_open(g);
    hb_gen_nstr(g, "id", hb.id);
    hb_gen_num(g, "bridge_pid", getpid(), 0, 1);
    hb_gen_num(g, "server_pid", hb.pid, 0, hb.pid > 0);
    hb_gen_nstr(g, "state", hb_state_names[hb.state]);
    hb_gen_nstr(g, "protocol_version", hb.proto);
    hb_gen_str(g, "init_result");
    if (hb.init_result) {
        hb_gen_val(g, hb.init_result);
    } else {
        yajl_gen_null(g);
    }
    hb_gen_num(g, "exit_code", hb.exit_code, 0, hb.exit_code >= 0);
    hb_gen_num(g, "exit_signal", hb.exit_signal, 0, hb.exit_signal >= 0);
    hb_gen_nstr(g, "error", hb.error);
    hb_gen_str(g, "stderr_tail");
    yajl_gen_string(g, (const unsigned char *) tail + i, tlen - i);
    hb_gen_num(g, "started_at", hb.started_at, 3, 1);
    hb_gen_num(g, "ready_at", hb.ready_at, 3, hb.ready_at > 0);
    if (extra) {
        hb_gen_num(g, "pending", hb.npending, 0, 1);
        hb_gen_num(g, "clients", hb.nconns, 0, 1);
    }
    yajl_gen_map_close(g);

    free(tail);
    return hb_gen_done(g, out);
}


static void
hb_write_all(int fd, const char *p, size_t n)
{
    ssize_t  k;

    while (n > 0) {
        k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;
        }
        p += k;
        n -= k;
    }
}


/* the status file is replaced atomically; the ready fd gets one line */

static void
hb_status(int report)
{
    int       fd;
    char      tmp[4096];
    hb_buf_t  b;

    memset(&b, 0, sizeof(hb_buf_t));
    if (hb_status_json(&b, 0) != 0) {
        hb_buf_free(&b);
        return;
    }

    snprintf(tmp, sizeof(tmp), "%s.%d.tmp", hb.status, (int) getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        hb_write_all(fd, b.data, b.len);
        close(fd);
        if (rename(tmp, hb.status) != 0) {
            unlink(tmp);
        }
    }

    if (report && hb.ready_fd >= 0) {
        b.data[b.len++] = '\n';
        hb_write_all(hb.ready_fd, b.data, b.len);
        close(hb.ready_fd);
        hb.ready_fd = -1;
    }

    hb_buf_free(&b);
}


/* the server's stdin */

static void
hb_server_flush(void)
{
    ssize_t  n;

    while (hb.in_fd >= 0 && hb.in_buf.pos < hb.in_buf.len) {
        n = write(hb.in_fd, hb.in_buf.data + hb.in_buf.pos,
                  hb.in_buf.len - hb.in_buf.pos);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                return;
            }
            /* the server closed its stdin: it is going away */
            close(hb.in_fd);
            hb.in_fd = -1;
            hb.in_buf.pos = hb.in_buf.len;
            break;
        }
        hb.in_buf.pos += n;
    }

    hb_buf_idle(&hb.in_buf);
}


/* "b" holds one serialized message after "from" */

static int
hb_server_send(hb_buf_t *b, size_t from)
{
    if (hb.in_fd < 0
        || hb.in_buf.len - hb.in_buf.pos + b->len - from > HB_MAX_OUT
        || hb_buf_add(&hb.in_buf, b->data + from, b->len - from) != 0
        || hb_buf_add(&hb.in_buf, "\n", 1) != 0)
    {
        return -1;
    }

    hb_server_flush();
    return 0;
}


static void
hb_server_send_str(const char *s)
{
    hb_buf_t  b;

    b.data = (char *) s;
    b.pos = 0;
    b.len = strlen(s);
    b.cap = b.len;
    (void) hb_server_send(&b, 0);
}


/* connections */

static void
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


static void
hb_conn_send(hb_conn_t *c, const char *p, size_t n)
{
    if (c->dead) {
        return;
    }

    /* a reader that does not keep up with its stream is cut off */
    if (c->out.len - c->out.pos + n > HB_MAX_OUT
        || hb_buf_add(&c->out, p, n) != 0)
    {
        c->dead = 1;
        return;
    }

    hb_conn_flush(c);
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

static void
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

    hb_conn_send(c, head, n);
    hb_conn_send(c, body, len);

    c->state = HB_C_READ;
    if (!c->keepalive) {
        c->closing = 1;
        if (c->out.pos == c->out.len) {
            c->dead = 1;
        }
    }
}


static void
hb_reply_buf(hb_conn_t *c, int status, const char *extra, hb_buf_t *b)
{
    hb_reply(c, status, "application/json", extra,
             b->data + b->pos, b->len - b->pos);
}


static void
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


static void
hb_sse_start(hb_conn_t *c)
{
    static const char  head[] =
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: text/event-stream\r\n"
        "Cache-Control: no-cache\r\n"
        "X-Accel-Buffering: no\r\n"
        "Transfer-Encoding: chunked\r\n\r\n";

    hb_conn_send(c, head, sizeof(head) - 1);
}


static void
hb_sse_event(hb_conn_t *c, const char *json, size_t len)
{
    static const char  pre[] = "event: message\ndata: ";
    char               head[64];
    int                n;

    n = snprintf(head, sizeof(head), "%zx\r\n%s",
                 len + sizeof(pre) - 1 + 2, pre);
    hb_conn_send(c, head, n);
    hb_conn_send(c, json, len);
    hb_conn_send(c, "\n\n\r\n", 4);
}


/* the response of a POST stream is out: next request, or close */

static void
hb_sse_end(hb_conn_t *c)
{
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


static void
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


/* pending requests */

static hb_pending_t *
hb_pending_find(uint64_t bid, int unlink)
{
    hb_pending_t  **pp, *p;

    for (pp = &hb.pend[bid % HB_BUCKETS]; *pp; pp = &(*pp)->next) {
        p = *pp;
        if (p->bid == bid) {
            if (unlink) {
                *pp = p->next;
                hb.npending--;
            }
            return p;
        }
    }

    return NULL;
}


static void
hb_pending_free(hb_pending_t *p)
{
    free(p->id);
    free(p->token);
    free(p);
}


/* a message for a pending request; "final" is its response */

static void
hb_deliver(hb_pending_t *p, const char *json, size_t len, int final)
{
    hb_conn_t  *c;

    c = p->conn;
    if (c == NULL || c->dead) {
        return;
    }

    if (p->sse) {
        hb_sse_event(c, json, len);
        if (final) {
            hb_sse_end(c);
        }

    } else if (final) {
        hb_reply(c, 200, "application/json", NULL, json, len);

    } else {
        return;
    }

    if (final && !c->dead) {
        hb_conn_process(c);
    }
}


static void
hb_broadcast(const char *json, size_t len)
{
    hb_conn_t  *c;

    for (c = hb.conns; c; c = c->next) {
        if (c->state == HB_C_GET && !c->dead) {
            hb_sse_event(c, json, len);
        }
    }
}


static unsigned
hb_streams(void)
{
    unsigned    n;
    hb_conn_t  *c;

    n = 0;
    for (c = hb.conns; c; c = c->next) {
        n += (c->state == HB_C_GET && !c->dead);
    }

    return n;
}


/* messages from the server */

/* the answer to our initialize; returns 1 if it keeps the tree */

static int
hb_handshake(yajl_val v, yajl_val id)
{
    char       text[512];
    yajl_val   res, err, msg, code;

    if (!YAJL_IS_INTEGER(id) || id->u.number.i != 1) {
        hb_logf("dropped a message during initialize");
        return 0;
    }

    res = hb_get(v, "result");
    err = hb_get(v, "error");

    if (res && YAJL_IS_OBJECT(res)) {
        hb.init_msg = v;
        hb.init_result = res;
        msg = hb_get(res, "protocolVersion");
        if (msg && YAJL_IS_STRING(msg)) {
            hb.proto = strdup(msg->u.string);
        }
        hb_server_send_str(
            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
        return 1;
    }

    msg = hb_get(err, "message");
    code = hb_get(err, "code");
    snprintf(text, sizeof(text), "initialize failed: %s (code %s)",
             msg && YAJL_IS_STRING(msg) ? msg->u.string : "no result",
             code && YAJL_IS_NUMBER(code) ? code->u.number.r : "none");
    hb.fail = strdup(text);
    return 0;
}


static void
hb_server_request(yajl_val v, yajl_val id)
{
    char        sid[32];
    hb_buf_t    b;
    hb_sreq_t  *s;
    hb_patch_t  pt = { { "id", NULL }, sid };

    memset(&b, 0, sizeof(hb_buf_t));
    s = calloc(1, sizeof(hb_sreq_t));
    if (s == NULL || (s->id = hb_raw(id)) == NULL) {
        free(s);
        return;
    }

    if (hb_streams() == 0) {
        /* no client can answer it: do not leave the server waiting */
        if (hb_rpc_error(&b, s->id, -32601, "no client connected") == 0) {
            (void) hb_server_send(&b, 0);
        }
        hb_logf("answered a server request %s: no client connected", s->id);
        free(s->id);
        free(s);
        hb_buf_free(&b);
        return;
    }

    s->n = ++hb.next_sid;
    snprintf(sid, sizeof(sid), "\"s-%llu\"", (unsigned long long) s->n);
    s->next = hb.sreqs;
    hb.sreqs = s;

    if (hb_gen_msg(&b, v, &pt, 1) == 0) {
        hb_broadcast(b.data, b.len);
    }
    hb_buf_free(&b);
}


static void
hb_server_notification(yajl_val v, yajl_val method, char *line, size_t n)
{
    yajl_val       tok;
    hb_buf_t       b;
    hb_pending_t  *p;
    hb_patch_t     pt = { { "params", "progressToken", NULL }, NULL };

    memset(&b, 0, sizeof(hb_buf_t));

    if (strcmp(method->u.string, "notifications/progress") == 0) {
        tok = hb_get(hb_get(v, "params"), "progressToken");
        if (tok && YAJL_IS_INTEGER(tok) && tok->u.number.i > 0
            && (p = hb_pending_find(tok->u.number.i, 0)) != NULL
            && p->token != NULL)
        {
            pt.raw = p->token;
            if (hb_gen_msg(&b, v, &pt, 1) == 0) {
                hb_deliver(p, b.data, b.len, 0);
            }
            hb_buf_free(&b);
            return;
        }
    }

    /* unchanged: the line itself, unless a CR would break the SSE frame */
    if (memchr(line, '\r', n) == NULL) {
        hb_broadcast(line, n);
    } else if (hb_gen_msg(&b, v, &pt, 0) == 0) {
        hb_broadcast(b.data, b.len);
    }
    hb_buf_free(&b);
}


static void
hb_server_response(yajl_val v, yajl_val id)
{
    char          *raw;
    hb_buf_t       b;
    hb_pending_t  *p;
    hb_patch_t     pt = { { "id", NULL }, NULL };

    p = NULL;
    if (YAJL_IS_INTEGER(id) && id->u.number.i > 1) {
        p = hb_pending_find(id->u.number.i, 1);
    }

    if (p == NULL) {
        raw = hb_raw(id);
        hb_logf("dropped a response for unknown id %s", raw ? raw : "?");
        free(raw);
        return;
    }

    memset(&b, 0, sizeof(hb_buf_t));
    pt.raw = p->id;
    if (hb_gen_msg(&b, v, &pt, 1) == 0) {
        hb_deliver(p, b.data, b.len, 1);
    }
    hb_buf_free(&b);
    hb_pending_free(p);
}


static void
hb_server_line(char *p, size_t n)
{
    size_t    i;
    yajl_val  v, method, id;

    for (i = 0; i < n && (p[i] == ' ' || p[i] == '\t'); i++) {
        /* void */
    }
    if (i == n) {
        return;
    }

    v = hb_json_parse(p, n);
    if (v == NULL || !YAJL_IS_OBJECT(v)) {
        hb_log("stdout", p, n);
        yajl_tree_free(v);
        return;
    }

    method = hb_get(v, "method");
    id = hb_get(v, "id");
    if (method && !YAJL_IS_STRING(method)) {
        method = NULL;
    }

    /* during the handshake there is no client to ask or to notify */
    if (method && hb_is_id(id)) {
        hb_server_request(v, id);

    } else if (method) {
        if (hb.state != HB_STARTING) {
            hb_server_notification(v, method, p, n);
        }

    } else if (hb.state == HB_STARTING) {
        if (hb_handshake(v, id)) {
            return;
        }

    } else if (id) {
        hb_server_response(v, id);

    } else {
        hb_logf("ignored a message without method and id");
    }

    yajl_tree_free(v);
}


/* stdout and stderr of the server, line by line */

static void
hb_reader_line(hb_reader_t *r, char *p, size_t n)
{
    if (n > 0 && p[n - 1] == '\r') {
        n--;
    }

    if (r->is_stdout) {
        hb_server_line(p, n);
    } else {
        hb_log("stderr", p, n);
    }
}


static void
hb_reader_read(hb_reader_t *r)
{
    char     *p, *nl;
    size_t    avail;
    ssize_t   n;
    int       eof, rounds;

    eof = 0;

    /* a bounded number of reads: a chatty server must not starve others */
    for (rounds = 0; r->fd >= 0 && !eof && rounds < 64; rounds++) {
        if (hb_buf_reserve(&r->buf, HB_READ_CHUNK) != 0) {
            return;
        }

        n = read(r->fd, r->buf.data + r->buf.len,
                 r->buf.cap - r->buf.len - 1);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                break;
            }
        }
        if (n <= 0) {
            eof = 1;
            n = 0;
        }
        r->buf.len += n;

        for ( ;; ) {
            p = r->buf.data + r->buf.pos;
            avail = r->buf.len - r->buf.pos;
            nl = memchr(p + r->scanned, '\n', avail - r->scanned);

            if (nl == NULL) {
                r->scanned = avail;

                if (avail >= r->max || (eof && avail > 0)) {
                    if (r->skipping) {
                        /* void */
                    } else if (eof && avail < r->max) {
                        hb_reader_line(r, p, avail);
                    } else if (r->is_stdout) {
                        hb_logf("dropped a message of more than %zu bytes "
                                "from the server", r->max);
                    } else {
                        hb_log("stderr", p, avail);
                    }
                    r->skipping = !eof;
                    r->buf.pos = r->buf.len;
                    r->scanned = 0;
                }
                break;
            }

            if (r->skipping) {
                r->skipping = 0;
            } else {
                hb_reader_line(r, p, nl - p);
            }
            r->buf.pos += nl - p + 1;
            r->scanned = 0;
        }

        hb_buf_idle(&r->buf);
    }

    if (eof) {
        close(r->fd);
        r->fd = -1;
        hb_buf_free(&r->buf);
    }
}


/* HTTP requests */

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
                if (n - c->craw > 1024) {
                    return -1;
                }
                goto more;
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
                if (n - c->craw > HB_MAX_HEADER) {
                    return -1;
                }
                goto more;
            }
            k = e - (b + c->craw);
            c->craw = e - b + 1;
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
hb_forward_request(hb_conn_t *c, yajl_val v, yajl_val id)
{
    char           bid[32];
    hb_buf_t       b;
    yajl_val       tok;
    hb_pending_t  *p;
    hb_patch_t     pt[2] = {
        { { "id", NULL }, bid },
        { { "params", "_meta", "progressToken", NULL }, NULL }
    };

    memset(&b, 0, sizeof(hb_buf_t));
    p = calloc(1, sizeof(hb_pending_t));
    if (p == NULL || (p->id = hb_raw(id)) == NULL) {
        free(p);
        hb_reply_error(c, 503, NULL, -32000, "out of memory");
        return;
    }

    p->bid = ++hb.next_id;
    p->conn = c;
    p->sse = c->sse;
    snprintf(bid, sizeof(bid), "%llu", (unsigned long long) p->bid);

    /* progress tokens are the client's choice: replace them like ids */
    tok = hb_get(hb_get(hb_get(v, "params"), "_meta"), "progressToken");
    if (hb_is_id(tok)) {
        p->token = hb_raw(tok);
        pt[1].raw = bid;
    }

    if (hb_gen_msg(&b, v, pt, 2) != 0 || hb_server_send(&b, 0) != 0) {
        hb_reply_error(c, 503, p->id, -32000, "MCP server is not accepting "
                       "input");
        hb_pending_free(p);
        hb_buf_free(&b);
        return;
    }
    hb_buf_free(&b);

    p->next = hb.pend[p->bid % HB_BUCKETS];
    hb.pend[p->bid % HB_BUCKETS] = p;
    hb.npending++;

    c->state = HB_C_WAIT;
    if (p->sse) {
        hb_sse_start(c);
    }
}


/*
 * A notifications/cancelled names the client's id, which means nothing to
 * the server (and may be another client's bridge id): it goes through only
 * when exactly one request in flight has that id, which then ends.
 */

static void
hb_forward_notification(hb_conn_t *c, yajl_val v, yajl_val method)
{
    char          *raw, bid[32];
    size_t         i;
    hb_buf_t       b;
    yajl_val       rid;
    hb_pending_t  *p, *found;
    hb_patch_t     pt = { { "params", "requestId", NULL }, NULL };

    found = NULL;

    if (strcmp(method->u.string, "notifications/cancelled") == 0) {
        rid = hb_get(hb_get(v, "params"), "requestId");
        raw = hb_is_id(rid) ? hb_raw(rid) : NULL;

        for (i = 0; raw && i < HB_BUCKETS; i++) {
            for (p = hb.pend[i]; p; p = p->next) {
                if (strcmp(p->id, raw) == 0) {
                    found = found ? (hb_pending_t *) -1 : p;
                }
            }
        }
        free(raw);

        if (found == NULL || found == (hb_pending_t *) -1) {
            hb_logf("not forwarded: a cancellation of an unknown or "
                    "ambiguous request id");
            hb_reply(c, 202, NULL, NULL, "", 0);
            return;
        }

        snprintf(bid, sizeof(bid), "%llu", (unsigned long long) found->bid);
        pt.raw = bid;
    }

    memset(&b, 0, sizeof(hb_buf_t));
    if (hb_gen_msg(&b, v, &pt, 1) != 0 || hb_server_send(&b, 0) != 0) {
        hb_reply_error(c, 503, NULL, -32000, "MCP server is not accepting "
                       "input");
        hb_buf_free(&b);
        return;
    }
    hb_reply(c, 202, NULL, NULL, "", 0);

    if (found) {
        /* the server will not answer it: end its HTTP exchange now */
        (void) hb_pending_find(found->bid, 1);
        b.len = 0;
        if (hb_rpc_error(&b, found->id, -32800, "Request cancelled") == 0) {
            hb_deliver(found, b.data, b.len, 1);
        }
        hb_pending_free(found);
    }
    hb_buf_free(&b);
}


static void
hb_forward_response(hb_conn_t *c, yajl_val v, yajl_val id)
{
    char        *end;
    uint64_t     n;
    hb_buf_t     b;
    hb_sreq_t  **pp, *s;
    hb_patch_t   pt = { { "id", NULL }, NULL };

    s = NULL;
    pp = NULL;
    if (YAJL_IS_STRING(id) && strncmp(id->u.string, "s-", 2) == 0) {
        n = strtoull(id->u.string + 2, &end, 10);
        if (*end == '\0') {
            for (pp = &hb.sreqs; *pp; pp = &(*pp)->next) {
                if ((*pp)->n == n) {
                    s = *pp;
                    break;
                }
            }
        }
    }

    if (s == NULL) {
        hb_reply_error(c, 400, NULL, -32600,
                       "Invalid Request: no server request with this id");
        return;
    }

    memset(&b, 0, sizeof(hb_buf_t));
    pt.raw = s->id;
    if (hb_gen_msg(&b, v, &pt, 1) != 0 || hb_server_send(&b, 0) != 0) {
        hb_reply_error(c, 503, NULL, -32000, "MCP server is not accepting "
                       "input");
    } else {
        hb_reply(c, 202, NULL, NULL, "", 0);
    }
    hb_buf_free(&b);

    *pp = s->next;
    free(s->id);
    free(s);
}


static void
hb_initialize(hb_conn_t *c, yajl_val id)
{
    char      extra[64];
    yajl_gen  g;
    hb_buf_t  b;

    memset(&b, 0, sizeof(hb_buf_t));
    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        c->dead = 1;
        return;
    }

    yajl_gen_map_open(g);
    hb_gen_str(g, "jsonrpc");
    hb_gen_str(g, "2.0");
    hb_gen_str(g, "id");
    hb_gen_val(g, id);
    hb_gen_str(g, "result");
    hb_gen_val(g, hb.init_result);
    yajl_gen_map_close(g);

    if (hb_gen_done(g, &b) == 0) {
        snprintf(extra, sizeof(extra), "Mcp-Session-Id: bridge-%d\r\n",
                 (int) getpid());
        hb_reply_buf(c, 200, extra, &b);
    } else {
        c->dead = 1;
    }
    hb_buf_free(&b);
}


static void
hb_mcp_post(hb_conn_t *c, char *body, size_t len)
{
    char      *raw;
    yajl_val   v, method, id;

    v = hb_json_parse(body, len);
    if (v == NULL) {
        hb_reply_error(c, 400, NULL, -32700, "Parse error");
        return;
    }

    if (!YAJL_IS_OBJECT(v)) {
        hb_reply_error(c, 400, NULL, -32600, YAJL_IS_ARRAY(v)
                       ? "Invalid Request: batches are not supported"
                       : "Invalid Request");
        yajl_tree_free(v);
        return;
    }

    method = hb_get(v, "method");
    id = hb_get(v, "id");

    if ((method && !YAJL_IS_STRING(method))
        || (id && !hb_is_id(id) && !YAJL_IS_NULL(id)))
    {
        hb_reply_error(c, 400, NULL, -32600, "Invalid Request");
        yajl_tree_free(v);
        return;
    }

    if (!hb_is_id(id)) {
        id = NULL;
    }

    if (hb.state != HB_READY) {
        raw = id ? hb_raw(id) : NULL;
        hb_reply_error(c, 503, raw, -32000, "MCP server is not running");
        free(raw);

    } else if (method && id) {
        if (strcmp(method->u.string, "initialize") == 0) {
            hb_initialize(c, id);
        } else {
            hb_forward_request(c, v, id);
        }

    } else if (method) {
        if (strcmp(method->u.string, "notifications/initialized") == 0) {
            hb_reply(c, 202, NULL, NULL, "", 0);
        } else {
            hb_forward_notification(c, v, method);
        }

    } else if (id && (hb_get(v, "result") || hb_get(v, "error"))) {
        hb_forward_response(c, v, id);

    } else {
        hb_reply_error(c, 400, NULL, -32600, "Invalid Request");
    }

    yajl_tree_free(v);
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
        yajl_gen_map_open(g);
        hb_gen_str(g, "stream");
        hb_gen_str(g, e->stream);
        hb_gen_str(g, "content");
        hb_gen_str(g, e->content);
        hb_gen_num(g, "recorded_at", e->at, 3, 1);
        yajl_gen_map_close(g);
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
            }

        } else if (c->method == HB_M_DELETE) {
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

static void
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


static void
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


static void
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


/* process lifecycle */

static int
hb_spawn(void)
{
    int       fd[6], i, sig;
    char      msg[1024];
    sigset_t  set;
    pid_t     pid;

    /* stdin, stdout, stderr: the child's ends are fd[0], fd[3], fd[5] */
    for (i = 0; i < 6; i += 2) {
        if (pipe2(fd + i, O_CLOEXEC) != 0) {
            while (i > 0) {
                close(fd[--i]);
            }
            return -1;
        }
    }

    pid = fork();

    if (pid == 0) {
        for (sig = 1; sig < NSIG; sig++) {
            (void) signal(sig, SIG_DFL);
        }
        sigemptyset(&set);
        sigprocmask(SIG_SETMASK, &set, NULL);

        dup2(fd[0], 0);
        dup2(fd[3], 1);
        dup2(fd[5], 2);
        close_range(3, ~0U, 0);
        setpgid(0, 0);

        if (hb.cwd && chdir(hb.cwd) != 0) {
            snprintf(msg, sizeof(msg), "hangar-bridge: cannot chdir to %s: "
                     "%s\n", hb.cwd, strerror(errno));
            hb_write_all(2, msg, strlen(msg));
            _exit(127);
        }

        execvp(hb.argv[0], hb.argv);

        snprintf(msg, sizeof(msg), "hangar-bridge: cannot execute %s: %s\n",
                 hb.argv[0], strerror(errno));
        hb_write_all(2, msg, strlen(msg));
        _exit(127);
    }

    close(fd[0]);
    close(fd[3]);
    close(fd[5]);

    if (pid < 0) {
        close(fd[1]);
        close(fd[2]);
        close(fd[4]);
        return -1;
    }

    /* also here: the group must exist before we might signal it */
    (void) setpgid(pid, pid);

    hb.pid = pid;
    hb.in_fd = fd[1];
    hb.out.fd = fd[2];
    hb.err.fd = fd[4];
    fcntl(fd[1], F_SETFL, O_NONBLOCK);
    fcntl(fd[2], F_SETFL, O_NONBLOCK);
    fcntl(fd[4], F_SETFL, O_NONBLOCK);

    return 0;
}


/*
 * The exit status is peeked at first (WNOWAIT): while the leader is a
 * zombie its pid cannot be reused, so killing the group is safe.
 */

static void
hb_check_child(void)
{
    int        status;
    siginfo_t  si;

    status = 0;

    if (hb.reaped || hb.pid <= 0) {
        return;
    }

    memset(&si, 0, sizeof(siginfo_t));
    if (waitid(P_PID, hb.pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0
        || si.si_pid != hb.pid)
    {
        return;
    }

    (void) kill(-hb.pid, SIGKILL);

    while (waitpid(hb.pid, &status, 0) < 0 && errno == EINTR) {
        /* void */
    }

    if (WIFEXITED(status)) {
        hb.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        hb.exit_signal = WTERMSIG(status);
    }
    hb.reaped = 1;

    /* its last words are in the pipes already */
    hb_reader_read(&hb.err);
    hb_reader_read(&hb.out);
}


static void
hb_signals(void)
{
    struct signalfd_siginfo  si;

    while (read(hb.sigfd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGCHLD) {
            hb_check_child();
        } else {
            hb.stop_req = 1;
        }
    }
}


/* close stdin, SIGTERM the group, SIGKILL it after the grace period */

static void
hb_kill_server(void)
{
    int            killed, n;
    int64_t        deadline, left;
    struct pollfd  pfd[3];

    if (hb.in_fd >= 0) {
        close(hb.in_fd);
        hb.in_fd = -1;
    }

    if (hb.reaped) {
        return;
    }

    (void) kill(-hb.pid, SIGTERM);
    deadline = hb_msec() + hb.grace_ms;
    killed = 0;

    while (!hb.reaped) {
        left = deadline - hb_msec();
        if (left <= 0 && !killed) {
            (void) kill(-hb.pid, SIGKILL);
            killed = 1;
        }

        pfd[0].fd = hb.sigfd;
        pfd[1].fd = hb.out.fd;
        pfd[2].fd = hb.err.fd;
        pfd[0].events = pfd[1].events = pfd[2].events = POLLIN;

        n = poll(pfd, 3, killed ? 100 : (int) (left < 100 ? left : 100));
        if (n > 0) {
            if (pfd[1].revents) {
                hb_reader_read(&hb.out);
            }
            if (pfd[2].revents) {
                hb_reader_read(&hb.err);
            }
            if (pfd[0].revents) {
                (void) hb_signals();
            }
        }

        hb_check_child();
    }
}


/* answers what is still open, writes what it can in a second, closes */

static void
hb_finish(const char *why)
{
    int            n;
    size_t         i, k;
    int64_t        deadline;
    hb_buf_t       b;
    hb_conn_t     *c;
    hb_pending_t  *list[HB_BUCKETS], *p;
    struct pollfd  pfd[64];

    memcpy(list, hb.pend, sizeof(list));
    memset(hb.pend, 0, sizeof(hb.pend));
    hb.npending = 0;

    for (i = 0; i < HB_BUCKETS; i++) {
        while ((p = list[i]) != NULL) {
            list[i] = p->next;
            memset(&b, 0, sizeof(hb_buf_t));
            if (hb_rpc_error(&b, p->id, -32000, why) == 0) {
                hb_deliver(p, b.data, b.len, 1);
            }
            hb_buf_free(&b);
            hb_pending_free(p);
        }
    }

    if (hb.lfd >= 0) {
        close(hb.lfd);
        hb.lfd = -1;
    }

    for (c = hb.conns; c; c = c->next) {
        if (c->state == HB_C_GET) {
            hb_conn_send(c, "0\r\n\r\n", 5);
        }
        c->closing = 1;
        if (c->out.pos == c->out.len) {
            c->dead = 1;
        }
    }

    deadline = hb_msec() + 1000;
    for ( ;; ) {
        hb_sweep();
        if (hb.conns == NULL || hb_msec() >= deadline) {
            break;
        }
        k = 0;
        for (c = hb.conns; c && k < 64; c = c->next) {
            pfd[k].fd = c->fd;
            pfd[k].events = POLLOUT;
            k++;
        }
        n = poll(pfd, k, 50);
        for (c = hb.conns; n > 0 && c; c = c->next) {
            hb_conn_flush(c);
            if (c->out.pos < c->out.len && c->eof) {
                c->dead = 1;
            }
        }
    }

    while (hb.conns) {
        hb.conns->dead = 1;
        hb_sweep();
    }
}


static void
hb_unlink_socket(void)
{
    struct stat  st;

    /* only ours: a successor may already listen on this path */
    if (hb.sock_ino && lstat(hb.socket, &st) == 0 && st.st_ino == hb.sock_ino)
    {
        unlink(hb.socket);
    }
}


static char *
hb_exit_text(const char *prefix, const char *suffix)
{
    char  text[256];

    if (hb.exit_signal >= 0) {
        snprintf(text, sizeof(text), "%s on signal %d%s", prefix,
                 hb.exit_signal, suffix);
    } else {
        snprintf(text, sizeof(text), "%s with code %d%s", prefix,
                 hb.exit_code, suffix);
    }

    return strdup(text);
}


static void
hb_fail(char *error)
{
    hb.state = HB_FAILED;
    hb.error = error;
    hb_kill_server();
    hb_status(1);
    exit(3);
}


static void
hb_stop(void)
{
    hb.state = HB_STOPPED;
    hb_status(0);
    hb_kill_server();
    hb_finish("MCP server stopped");
    hb_status(1);
    hb_unlink_socket();
    exit(0);
}


static void
hb_exited(void)
{
    hb.state = HB_EXITED;
    hb.error = hb_exit_text("MCP server exited", "");
    hb_finish(hb.error);
    hb_status(1);
    hb_unlink_socket();
    exit(0);
}


static int
hb_listen(void)
{
    int                 fd;
    mode_t              mask;
    struct stat         st;
    struct sockaddr_un  sa;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, hb.socket);

    if (lstat(hb.socket, &st) == 0 && S_ISSOCK(st.st_mode)) {
        /* a live bridge there is not ours to replace */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0) {
            close(fd);
            errno = EADDRINUSE;
            return -1;
        }
        if (fd >= 0) {
            close(fd);
        }
        unlink(hb.socket);
    }

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }

    mask = umask(077);
    if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
        umask(mask);
        close(fd);
        return -1;
    }
    umask(mask);

    (void) chmod(hb.socket, 0600);
    if (lstat(hb.socket, &st) == 0) {
        hb.sock_ino = st.st_ino;
    }

    if (listen(fd, 511) != 0) {
        close(fd);
        hb_unlink_socket();
        return -1;
    }

    hb.lfd = fd;
    return 0;
}


static void
hb_ready(void)
{
    char  text[512];

    if (hb_listen() != 0) {
        snprintf(text, sizeof(text), "cannot listen on %s: %s", hb.socket,
                 strerror(errno));
        hb_fail(strdup(text));
    }

    hb.state = HB_READY;
    hb.ready_at = hb_now();
    hb_status(1);
}


/* the one loop */

static void
hb_loop(void)
{
    int             n, timeout;
    char            text[128];
    size_t          i, k;
    int64_t         deadline;
    hb_conn_t      *c, **conns;
    struct pollfd  *pfd;

    deadline = hb_msec() + hb.init_ms;

    /* hb_accept() keeps the connections under HB_MAX_CONNS */
    pfd = malloc((HB_MAX_CONNS + 5) * sizeof(struct pollfd));
    conns = malloc((HB_MAX_CONNS + 5) * sizeof(hb_conn_t *));
    if (pfd == NULL || conns == NULL) {
        hb_stop();
    }

    for ( ;; ) {

        pfd[0].fd = hb.sigfd;
        pfd[0].events = POLLIN;
        pfd[1].fd = hb.lfd;
        pfd[1].events = POLLIN;
        pfd[2].fd = hb.out.fd;
        pfd[2].events = POLLIN;
        pfd[3].fd = hb.err.fd;
        pfd[3].events = POLLIN;
        pfd[4].fd = (hb.in_buf.pos < hb.in_buf.len) ? hb.in_fd : -1;
        pfd[4].events = POLLOUT;

        k = 5;
        for (c = hb.conns; c; c = c->next) {
            conns[k] = c;
            pfd[k].fd = c->fd;
            pfd[k].events = 0;
            if (c->in.len - c->in.pos <= HB_MAX_MSG + HB_MAX_HEADER) {
                pfd[k].events |= POLLIN;
            }
            if (c->out.pos < c->out.len) {
                pfd[k].events |= POLLOUT;
            }
            k++;
        }

        timeout = -1;
        if (hb.state == HB_STARTING) {
            timeout = deadline - hb_msec();
            timeout = timeout < 0 ? 0 : timeout;
        }

        n = poll(pfd, k, timeout);
        if (n < 0 && errno != EINTR) {
            hb.stop_req = 1;
        }

        if (n > 0) {
            if (pfd[0].revents) {
                hb_signals();
            }
            if (pfd[2].revents) {
                hb_reader_read(&hb.out);
            }
            if (pfd[3].revents) {
                hb_reader_read(&hb.err);
            }
            if (pfd[4].revents) {
                hb_server_flush();
            }
            if (pfd[1].revents && hb.lfd >= 0) {
                hb_accept();
            }
            for (i = 5; i < k; i++) {
                c = conns[i];
                if (c->dead || pfd[i].revents == 0) {
                    continue;
                }
                if (pfd[i].revents & POLLOUT) {
                    hb_conn_flush(c);
                }
                if (!c->dead
                    && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                {
                    hb_conn_read(c);
                }
            }
        }

        hb_sweep();

        if (hb.reaped) {
            if (hb.state == HB_STARTING) {
                hb_fail(hb_exit_text("MCP server exited",
                                     " during initialize"));
            }
            hb_exited();
        }

        if (hb.stop_req) {
            hb_stop();
        }

        if (hb.state == HB_STARTING) {
            if (hb.init_result) {
                hb_ready();
            } else if (hb.fail) {
                hb_fail(hb.fail);
            } else if (hb_msec() >= deadline) {
                snprintf(text, sizeof(text), "initialize timed out after "
                         "%ld ms", hb.init_ms);
                hb_fail(strdup(text));
            }
        }
    }
}


static void
hb_usage(const char *err)
{
    fprintf(stderr, "hangar-bridge: %s\n"
            "usage: hangar-bridge --id ID --socket PATH --status PATH "
            "[--ready-fd N]\n"
            "         [--init-timeout-ms 15000] [--grace-ms 3000] "
            "[--log-lines 1000]\n"
            "         [--cwd DIR] -- command [args...]\n", err);
    exit(2);
}


static long
hb_num(const char *s, long min, long max, const char *name)
{
    char  *end;
    long   v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "hangar-bridge: bad value for %s: \"%s\"\n", name, s);
        exit(2);
    }

    return v;
}


int
main(int argc, char **argv)
{
    int         i, fd;
    const char *opt, *val;
    sigset_t    set;
    struct sockaddr_un  sa;

    hb.ready_fd = -1;
    hb.init_ms = 15000;
    hb.grace_ms = 3000;
    hb.log_lines = 1000;

    for (i = 1; i < argc; i++) {
        opt = argv[i];
        if (strcmp(opt, "--") == 0) {
            hb.argv = argv + i + 1;
            break;
        }
        if (i + 1 >= argc) {
            hb_usage("missing value");
        }
        val = argv[++i];

        if (strcmp(opt, "--id") == 0) {
            hb.id = val;
        } else if (strcmp(opt, "--socket") == 0) {
            hb.socket = val;
        } else if (strcmp(opt, "--status") == 0) {
            hb.status = val;
        } else if (strcmp(opt, "--cwd") == 0) {
            hb.cwd = val;
        } else if (strcmp(opt, "--ready-fd") == 0) {
            hb.ready_fd = hb_num(val, 0, 1 << 20, opt);
        } else if (strcmp(opt, "--init-timeout-ms") == 0) {
            hb.init_ms = hb_num(val, 1, 86400000, opt);
        } else if (strcmp(opt, "--grace-ms") == 0) {
            hb.grace_ms = hb_num(val, 0, 3600000, opt);
        } else if (strcmp(opt, "--log-lines") == 0) {
            hb.log_lines = hb_num(val, 1, 100000, opt);
        } else {
            hb_usage("unknown option");
        }
    }

    if (hb.id == NULL || hb.socket == NULL || hb.status == NULL) {
        hb_usage("--id, --socket and --status are required");
    }
    if (hb.argv == NULL || hb.argv[0] == NULL) {
        hb_usage("no command after --");
    }
    if (strlen(hb.socket) >= sizeof(sa.sun_path)) {
        hb_usage("socket path too long");
    }
    if (strlen(hb.status) > 4000) {
        hb_usage("status path too long");
    }

    /* fds 0-2 must exist, or a pipe could land there */
    for (i = 0; i < 3; i++) {
        if (fcntl(i, F_GETFD) < 0) {
            fd = open("/dev/null", O_RDWR);
            if (fd >= 0 && fd != i) {
                dup2(fd, i);
                close(fd);
            }
        }
    }

    if (hb.ready_fd >= 0 && fcntl(hb.ready_fd, F_SETFD, FD_CLOEXEC) != 0) {
        hb.ready_fd = -1;
    }

    if (getsid(0) != getpid()) {
        (void) setsid();
    }

    /*
     * Big buffers come from mmap() and go back on free(): without this,
     * glibc raises the threshold after the first big message and keeps
     * its memory resident for good.
     */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024);

    signal(SIGPIPE, SIG_IGN);

    /*
     * An inherited SIG_IGN would discard these before signalfd sees them,
     * and for SIGCHLD would reap the server without telling us its status.
     */
    sigemptyset(&set);
    for (i = 0; i < 4; i++) {
        signal(hb_signals_used[i], SIG_DFL);
        sigaddset(&set, hb_signals_used[i]);
    }
    sigprocmask(SIG_BLOCK, &set, NULL);

    hb.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    hb.ring = calloc(hb.log_lines, sizeof(hb_log_t));
    if (hb.sigfd < 0 || hb.ring == NULL) {
        fprintf(stderr, "hangar-bridge: %s\n", strerror(errno));
        exit(1);
    }

    hb.lfd = -1;
    hb.in_fd = -1;
    hb.out.fd = -1;
    hb.out.is_stdout = 1;
    hb.out.max = HB_MAX_MSG;
    hb.err.fd = -1;
    hb.err.max = 2 * HB_MAX_LOG_LINE;
    hb.exit_code = -1;
    hb.exit_signal = -1;
    hb.next_id = 1;                     /* 1 is the handshake */
    hb.state = HB_STARTING;
    hb.started_at = hb_now();

    if (hb_spawn() != 0) {
        char  text[256];

        snprintf(text, sizeof(text), "cannot start the MCP server: %s",
                 strerror(errno));
        hb.state = HB_FAILED;
        hb.error = strdup(text);
        hb_status(1);
        exit(3);
    }

    hb_status(0);

    hb_server_send_str("{\"jsonrpc\":\"2.0\",\"id\":1,"
                       "\"method\":\"initialize\","
                       "\"params\":{\"protocolVersion\":\"2025-11-25\","
                       "\"capabilities\":{\"sampling\":{},"
                       "\"roots\":{\"listChanged\":false}},"
                       "\"clientInfo\":{\"name\":\"mcp-hangar\","
                       "\"version\":\"0.1.0\"}}}");

    hb_loop();

    return 0;
}
