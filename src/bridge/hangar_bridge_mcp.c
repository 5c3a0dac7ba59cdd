
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * hangar-bridge: the JSON-RPC side.  The stdio session with the server
 * (its stdin; its stdout and stderr, line by line), the handshake, and the
 * routing of messages between the server and the clients: request ids and
 * progress tokens are rewritten to bridge ids, requests in flight wait in
 * "pending", and requests from the server go, with "s-<n>" ids, to the
 * client that can answer them (hb_route()); each client session records
 * the capabilities it declared at initialize.
 */


#include <sys/random.h>
#include "hangar_bridge.h"


typedef struct {
    const char  *path[4];       /* keys from the top, NULL-terminated */
    const char  *raw;           /* raw JSON scalar put there */
} hb_patch_t;


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


void
hb_gen_str(yajl_gen g, const char *s)
{
    yajl_gen_string(g, (const unsigned char *) s, strlen(s));
}


void
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


int
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


int
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


/* the server's stdin */

void
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


void
hb_server_send_str(const char *s)
{
    hb_buf_t  b;

    b.data = (char *) s;
    b.pos = 0;
    b.len = strlen(s);
    b.cap = b.len;
    (void) hb_server_send(&b, 0);
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


void
hb_pending_free(hb_pending_t *p)
{
    free(p->id);
    free(p->token);
    free(p);
}


/* a message for a pending request; "final" is its response */

void
hb_deliver(hb_pending_t *p, const char *json, size_t len, int final)
{
    hb_conn_t  *c;

    c = p->conn;
    if (c == NULL || c->dead) {
        return;
    }

    if (p->sse && !(final && c->sse_head)) {
        if (final) {
            hb_sse_last(c, json, len);
        } else {
            hb_sse_event(c, json, len);
        }

    } else if (final) {
        /* nothing streamed before it: plain JSON, in one write */
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


static int
hb_has(yajl_val obj, const char *key)
{
    yajl_val  v;

    v = hb_get(obj, key);
    return v != NULL && !YAJL_IS_NULL(v);
}


/* client sessions: "b<pid>-<n>-<random>", with what the client can do */

static hb_session_t *
hb_session_get(uint64_t n)
{
    hb_session_t  *s;

    for (s = hb.sessions[n % HB_BUCKETS]; s; s = s->next) {
        if (s->n == n) {
            return s;
        }
    }

    return NULL;
}


static hb_session_t *
hb_session_find(const char *sid)
{
    char          *end;
    uint64_t       n;
    const char    *p;
    hb_session_t  *s;

    p = (sid[0] == 'b') ? strchr(sid, '-') : NULL;
    if (p == NULL || p[1] < '0' || p[1] > '9') {
        return NULL;
    }

    n = strtoull(p + 1, &end, 10);
    if (*end != '-') {
        return NULL;
    }

    s = hb_session_get(n);

    return (s && strcmp(s->id, sid) == 0) ? s : NULL;
}


/* the session a request names; an unknown one is no session (no caps) */

uint64_t
hb_session_of(hb_conn_t *c)
{
    hb_session_t  *s;

    if (c->sid[0] == '\0' || (s = hb_session_find(c->sid)) == NULL) {
        return 0;
    }

    s->used = ++hb.tick;
    return s->n;
}


static void
hb_session_free(hb_session_t *s)
{
    hb_session_t  **pp;

    for (pp = &hb.sessions[s->n % HB_BUCKETS]; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            hb.nsessions--;
            free(s);
            return;
        }
    }
}


void
hb_session_end(hb_conn_t *c)
{
    hb_session_t  *s;

    if (c->sid[0] && (s = hb_session_find(c->sid)) != NULL) {
        hb_session_free(s);
    }
}


static unsigned
hb_caps(yajl_val caps)
{
    unsigned  m;
    yajl_val  e;

    m = 0;
    if (hb_has(caps, "sampling")) {
        m |= HB_CAP_SAMPLING;
    }
    if (hb_has(caps, "roots")) {
        m |= HB_CAP_ROOTS;
    }

    e = hb_get(caps, "elicitation");
    if (e && YAJL_IS_OBJECT(e)) {
        if (hb_has(e, "url")) {
            m |= HB_CAP_URL;
        }
        /* an empty object is form mode, as before modes existed */
        if (hb_has(e, "form") || !hb_has(e, "url")) {
            m |= HB_CAP_FORM;
        }
    }

    return m;
}


static hb_session_t *
hb_session_new(unsigned caps)
{
    size_t         i;
    uint64_t       rnd;
    hb_session_t  *s, *old;

    /* clients rarely say goodbye: the least recently used one goes */
    if (hb.nsessions >= HB_MAX_SESSIONS) {
        old = NULL;
        for (i = 0; i < HB_BUCKETS; i++) {
            for (s = hb.sessions[i]; s; s = s->next) {
                if (old == NULL || s->used < old->used) {
                    old = s;
                }
            }
        }
        if (old) {
            hb_session_free(old);
        }
    }

    s = calloc(1, sizeof(hb_session_t));
    if (s == NULL || getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd)) {
        free(s);
        return NULL;
    }

    s->n = ++hb.next_sess;
    s->caps = caps;
    s->used = ++hb.tick;
    snprintf(s->id, sizeof(s->id), "b%d-%llu-%016llx", (int) getpid(),
             (unsigned long long) s->n, (unsigned long long) rnd);

    s->next = hb.sessions[s->n % HB_BUCKETS];
    hb.sessions[s->n % HB_BUCKETS] = s;
    hb.nsessions++;

    return s;
}


static int
hb_session_can(uint64_t n, unsigned need)
{
    hb_session_t  *s;

    if (need == 0) {
        return 1;
    }

    s = n ? hb_session_get(n) : NULL;
    return s != NULL && (s->caps & need) == need;
}


/*
 * Where a message of the server goes.  stdio carries no link between a
 * server's request and the call it serves, so: while calls are in flight
 * on SSE streams, to the most recent one whose session has the
 * capability; with none in flight and "streams" set, to a GET stream of
 * the session that made the last tools/call, if it has the capability
 * (never to another session: it may be another client's).
 */

static hb_conn_t *
hb_route(unsigned need, int streams, uint64_t *sess)
{
    size_t         i;
    hb_conn_t     *c;
    hb_pending_t  *p, *best;

    best = NULL;
    for (i = 0; i < HB_BUCKETS; i++) {
        for (p = hb.pend[i]; p; p = p->next) {
            /* a JSON answer cannot carry it: not a call for this */
            if (p->conn == NULL || p->conn->dead || !p->sse) {
                continue;
            }
            streams = 0;
            if ((best == NULL || p->bid > best->bid)
                && hb_session_can(p->sess, need))
            {
                best = p;
            }
        }
    }

    if (best) {
        *sess = best->sess;
        return best->conn;
    }

    if (hb.last_call == 0 || !hb_session_can(hb.last_call, need)) {
        return NULL;
    }

    for (c = hb.conns; streams && c; c = c->next) {
        if (c->state == HB_C_GET && !c->dead && c->sess == hb.last_call) {
            *sess = c->sess;
            return c;
        }
    }

    return NULL;
}


/* what a server request needs of the client, and its name for messages */

static unsigned
hb_need(yajl_val v, const char *method, const char **what)
{
    yajl_val  mode;

    if (strcmp(method, "sampling/createMessage") == 0) {
        *what = "sampling";
        return HB_CAP_SAMPLING;
    }

    if (strcmp(method, "roots/list") == 0) {
        *what = "roots";
        return HB_CAP_ROOTS;
    }

    if (strcmp(method, "elicitation/create") == 0) {
        mode = hb_get(hb_get(v, "params"), "mode");
        if (mode && YAJL_IS_STRING(mode) && strcmp(mode->u.string, "url") == 0)
        {
            *what = "elicitation (url mode)";
            return HB_CAP_URL;
        }
        *what = "elicitation";
        return HB_CAP_FORM;
    }

    *what = method;
    return 0;
}


/* an error answer to the server's request "id" (raw JSON) */

static void
hb_server_refuse(const char *id, int code, const char *msg)
{
    hb_buf_t  b;

    memset(&b, 0, sizeof(hb_buf_t));
    if (hb_rpc_error(&b, id, code, msg) == 0) {
        (void) hb_server_send(&b, 0);
    }
    hb_buf_free(&b);
}


/* server requests past their time are answered; ms to the next, or -1 */

int
hb_sreq_expire(void)
{
    char        text[128];
    int64_t     now, next;
    hb_sreq_t  **pp, *s;

    now = hb_msec();
    next = -1;

    for (pp = &hb.sreqs; *pp; /* void */) {
        s = *pp;
        if (s->deadline > now) {
            if (next < 0 || s->deadline - now < next) {
                next = s->deadline - now;
            }
            pp = &s->next;
            continue;
        }

        snprintf(text, sizeof(text), "no client answered the request "
                 "within %ld ms", hb.req_ms);
        hb_server_refuse(s->id, -32603, text);
        hb_logf("answered a server request %s: %s", s->id, text);

        *pp = s->next;
        free(s->id);
        free(s);
    }

    return next < 0 ? -1 : (next > 86400000 ? 86400000 : (int) next);
}


/* every session and server request dropped (the fuzz target, between runs) */

void
hb_mcp_forget(void)
{
    size_t         i;
    hb_sreq_t     *s;
    hb_session_t  *ss;

    while ((s = hb.sreqs) != NULL) {
        hb.sreqs = s->next;
        free(s->id);
        free(s);
    }

    for (i = 0; i < HB_BUCKETS; i++) {
        while ((ss = hb.sessions[i]) != NULL) {
            hb.sessions[i] = ss->next;
            free(ss);
        }
    }

    hb.nsessions = 0;
    hb.last_call = 0;
}


unsigned
hb_sreq_count(void)
{
    unsigned    n;
    hb_sreq_t  *s;

    n = 0;
    for (s = hb.sreqs; s; s = s->next) {
        n++;
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
hb_server_request(yajl_val v, yajl_val id, yajl_val method)
{
    char         sid[32], text[160];
    unsigned     need;
    uint64_t     sess;
    hb_buf_t     b;
    hb_conn_t   *c;
    hb_sreq_t   *s;
    const char  *what;
    hb_patch_t   pt = { { "id", NULL }, sid };

    memset(&b, 0, sizeof(hb_buf_t));
    s = calloc(1, sizeof(hb_sreq_t));
    if (s == NULL || (s->id = hb_raw(id)) == NULL) {
        free(s);
        return;
    }

    need = hb_need(v, method->u.string, &what);
    c = hb_route(need, 1, &sess);

    if (c == NULL) {
        /* nobody can answer it: do not leave the server waiting */
        snprintf(text, sizeof(text), "no connected client supports %s",
                 what);
        hb_server_refuse(s->id, -32601, text);
        hb_logf("answered a server request %s: %s", s->id, text);
        free(s->id);
        free(s);
        return;
    }

    s->n = ++hb.next_sid;
    s->sess = sess;
    s->deadline = hb_msec() + hb.req_ms;
    snprintf(sid, sizeof(sid), "\"s-%llu\"", (unsigned long long) s->n);
    s->next = hb.sreqs;
    hb.sreqs = s;

    if (hb_gen_msg(&b, v, &pt, 1) == 0) {
        hb_sse_event(c, b.data, b.len);
    }
    hb_buf_free(&b);
}


static void
hb_server_notification(yajl_val v, yajl_val method, char *line, size_t n)
{
    yajl_val       tok;
    uint64_t       sess;
    hb_buf_t       b;
    hb_conn_t     *c;
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

    /* a log message goes with the call it most likely comes from */
    c = NULL;
    if (strcmp(method->u.string, "notifications/message") == 0) {
        c = hb_route(0, 0, &sess);
    }

    /* unchanged: the line itself, unless a CR would break the SSE frame */
    if (memchr(line, '\r', n) != NULL) {
        if (hb_gen_msg(&b, v, &pt, 0) != 0) {
            hb_buf_free(&b);
            return;
        }
        line = b.data;
        n = b.len;
    }

    if (c) {
        hb_sse_event(c, line, n);
    } else {
        hb_broadcast(line, n);
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
        hb_server_request(v, id, method);

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


void
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


/* messages from clients */

static void
hb_forward_request(hb_conn_t *c, yajl_val v, yajl_val id)
{
    char           bid[32];
    hb_buf_t       b;
    yajl_val       tok, m;
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
    p->sess = hb_session_of(c);
    snprintf(bid, sizeof(bid), "%llu", (unsigned long long) p->bid);

    /* a server's request outside calls goes to this session's GET stream */
    m = hb_get(v, "method");
    if (m && YAJL_IS_STRING(m) && strcmp(m->u.string, "tools/call") == 0) {
        hb.last_call = p->sess;
    }

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
        hb_sse_defer(c);
    }
}


/*
 * A notifications/cancelled names the client's id, which means nothing to
 * the server (and may be another client's bridge id): it goes through only
 * when exactly one request in flight (of the client's session) has that
 * id, which then ends.
 */

static void
hb_forward_notification(hb_conn_t *c, yajl_val v, yajl_val method)
{
    char          *raw, bid[32];
    size_t         i;
    uint64_t       sess;
    hb_buf_t       b;
    yajl_val       rid;
    hb_pending_t  *p, *found;
    hb_patch_t     pt = { { "params", "requestId", NULL }, NULL };

    found = NULL;

    if (strcmp(method->u.string, "notifications/cancelled") == 0) {
        rid = hb_get(hb_get(v, "params"), "requestId");
        raw = hb_is_id(rid) ? hb_raw(rid) : NULL;
        sess = hb_session_of(c);

        /* a client's ids are its own: within its session, if it has one */
        for (i = 0; raw && i < HB_BUCKETS; i++) {
            for (p = hb.pend[i]; p; p = p->next) {
                if (strcmp(p->id, raw) == 0 && (sess == 0 || p->sess == sess))
                {
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

    /* only the session it was sent to answers it */
    if (s == NULL || (s->sess && s->sess != hb_session_of(c))) {
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
hb_initialize(hb_conn_t *c, yajl_val v, yajl_val id)
{
    char           extra[HB_SID_MAX + 32];
    yajl_gen       g;
    hb_buf_t       b;
    hb_session_t  *s;

    /* each client its own session, with the capabilities it declared */
    s = hb_session_new(hb_caps(hb_get(hb_get(v, "params"), "capabilities")));
    if (s == NULL) {
        hb_reply_error(c, 503, NULL, -32000, "out of memory");
        return;
    }

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
        snprintf(extra, sizeof(extra), "Mcp-Session-Id: %s\r\n", s->id);
        hb_reply_buf(c, 200, extra, &b);
    } else {
        c->dead = 1;
    }
    hb_buf_free(&b);
}


void
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
            hb_initialize(c, v, id);
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
