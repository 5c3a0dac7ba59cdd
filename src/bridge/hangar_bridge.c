
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
 *
 * This file: options, the server process and its lifecycle, the status
 * file, the log ring and the loop; hangar_bridge.h lists the others.
 */



#include "hangar_bridge.h"


hb_bridge_t  hb;

static const int  hb_signals_used[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };

static const char *hb_state_names[] = {
    "starting", "ready", "failed", "exited", "stopped"
};

static const char *hb_streams[] = { "stderr", "stdout", "bridge" };


static void hb_write_all(int fd, const char *p, size_t n);
static void hb_keep_append(hb_log_t *e);


/* time */

static double
hb_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


int64_t
hb_msec(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* buffers: always one spare byte, so that a NUL can end any content */

int
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


int
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

void
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


void
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


static hb_log_t *
hb_ring_push(const char *stream, char *content, double at, int old)
{
    hb_log_t  *e;

    e = &hb.ring[hb.ring_next];
    free(e->content);
    e->stream = stream;
    e->content = content;
    e->at = at;
    e->old = old;

    hb.ring_next = (hb.ring_next + 1) % hb.log_lines;
    if (hb.ring_count < (size_t) hb.log_lines) {
        hb.ring_count++;
    }

    return e;
}


void
hb_log(const char *stream, const char *p, size_t n)
{
    char  *s;

    s = hb_utf8_clean(p, n, HB_MAX_LOG_LINE);
    if (s == NULL) {
        return;
    }

    hb_keep_append(hb_ring_push(stream, s, hb_now(), 0));
}


void
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


hb_log_t *
hb_ring_at(size_t i)
{
    /* i-th oldest entry */
    return &hb.ring[(hb.ring_next + hb.log_lines - hb.ring_count + i)
                    % hb.log_lines];
}


/*
 * The kept log, <keep>.log: every ring entry as one JSON line, appended
 * at once, so that neither a crash of the server nor a SIGKILL of the
 * bridge loses the last words.  At HB_KEEP_MAX bytes it becomes
 * <keep>.log.1 (the one before is dropped): at most twice that on disk.
 * A new bridge of the same server reads both back into its ring.
 */

static void
hb_keep_path(char *path, size_t size, const char *suffix)
{
    snprintf(path, size, "%s%s", hb.keep, suffix);
}


/* one log line as GET /logs and the kept log have it */

void
hb_gen_log(yajl_gen g, hb_log_t *e)
{
    yajl_gen_map_open(g);
    hb_gen_str(g, "stream");
    hb_gen_str(g, e->stream);
    hb_gen_str(g, "content");
    hb_gen_str(g, e->content);
    hb_gen_num(g, "recorded_at", e->at, 3, 1);
    yajl_gen_map_close(g);
}


static void
hb_keep_append(hb_log_t *e)
{
    char      path[4200], prev[4200];
    yajl_gen  g;
    hb_buf_t  b;

    if (hb.keep_fd < 0) {
        return;
    }

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return;
    }

    memset(&b, 0, sizeof(hb_buf_t));

    hb_gen_log(g, e);

    if (hb_gen_done(g, &b) == 0 && hb_buf_add(&b, "\n", 1) == 0) {
        hb_write_all(hb.keep_fd, b.data, b.len);
        hb.keep_size += b.len;
    }

    hb_buf_free(&b);

    if (hb.keep_size < HB_KEEP_MAX) {
        return;
    }

    hb_keep_path(path, sizeof(path), ".log");
    hb_keep_path(prev, sizeof(prev), ".log.1");
    (void) rename(path, prev);

    close(hb.keep_fd);
    hb.keep_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND
                            | O_CLOEXEC, 0600);
    hb.keep_size = 0;
}


/* one kept file back into the ring, marked as of an earlier run */

static void
hb_keep_load(const char *path)
{
    int          fd;
    char        *data, *line, *eol, *content;
    size_t       i;
    off_t        size;
    ssize_t      n;
    yajl_val     v, stream, text, at;
    const char  *name;
    const char  *ks[] = { "stream", NULL };
    const char  *kc[] = { "content", NULL };
    const char  *ka[] = { "recorded_at", NULL };

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }

    size = lseek(fd, 0, SEEK_END);
    if (size <= 0) {
        close(fd);
        return;
    }

    /* only the end of an oversized file: its first line is cut */
    if (size > HB_KEEP_READ) {
        (void) lseek(fd, size - HB_KEEP_READ, SEEK_SET);
        size = HB_KEEP_READ;
    } else {
        (void) lseek(fd, 0, SEEK_SET);
    }

    data = malloc(size + 1);
    if (data == NULL) {
        close(fd);
        return;
    }

    n = read(fd, data, size);
    close(fd);

    if (n <= 0) {
        free(data);
        return;
    }

    data[n] = '\0';

    for (line = data; line < data + n; line = eol + 1) {
        eol = strchr(line, '\n');
        if (eol == NULL) {
            break;
        }

        *eol = '\0';

        v = yajl_tree_parse(line, NULL, 0);
        stream = yajl_tree_get(v, ks, yajl_t_string);
        text = yajl_tree_get(v, kc, yajl_t_string);
        at = yajl_tree_get(v, ka, yajl_t_number);

        name = NULL;
        for (i = 0; stream && i < sizeof(hb_streams) / sizeof(char *); i++) {
            if (strcmp(stream->u.string, hb_streams[i]) == 0) {
                name = hb_streams[i];
            }
        }

        if (name && text && at) {
            content = hb_utf8_clean(text->u.string, strlen(text->u.string),
                                    HB_MAX_LOG_LINE);
            if (content) {
                (void) hb_ring_push(name, content, YAJL_GET_DOUBLE(at), 1);
            }
        }

        yajl_tree_free(v);
    }

    free(data);
}


static void
hb_keep_open(void)
{
    char  path[4200];

    hb.keep_fd = -1;

    if (hb.keep == NULL) {
        return;
    }

    hb_keep_path(path, sizeof(path), ".log.1");
    hb_keep_load(path);
    hb_keep_path(path, sizeof(path), ".log");
    hb_keep_load(path);

    hb.keep_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (hb.keep_fd >= 0) {
        hb.keep_size = lseek(hb.keep_fd, 0, SEEK_END);
    }
}


/* members of the status: "ok" false makes them null */

void
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

int
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
        if (e->old) {
            first++;
            break;
        }
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
        hb_gen_num(g, "sessions", hb.nsessions, 0, 1);
        hb_gen_num(g, "server_requests", hb_sreq_count(), 0, 1);
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


/*
 * The status file is replaced atomically; the ready fd gets one line.
 * The last one ("final") goes to <keep>.json instead, beside the kept
 * log, and the run's status file goes: nothing piles up in run/.
 */

static void
hb_status(int report, int final)
{
    int          fd;
    char         tmp[4300], keep[4200];
    hb_buf_t     b;
    const char  *path;

    memset(&b, 0, sizeof(hb_buf_t));
    if (hb_status_json(&b, 0) != 0) {
        hb_buf_free(&b);
        return;
    }

    path = hb.status;

    if (final && hb.keep) {
        hb_keep_path(keep, sizeof(keep), ".json");
        path = keep;
    }

    snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int) getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        hb_write_all(fd, b.data, b.len);
        close(fd);
        if (rename(tmp, path) != 0) {
            unlink(tmp);
        }
    }

    if (path != hb.status) {
        (void) unlink(hb.status);
    }

    if (report && hb.ready_fd >= 0) {
        b.data[b.len++] = '\n';
        hb_write_all(hb.ready_fd, b.data, b.len);
        close(hb.ready_fd);
        hb.ready_fd = -1;
    }

    hb_buf_free(&b);
}


/* process lifecycle */

static int
hb_spawn(void)
{
    int       fd[6], i, sig;
    char      msg[1024];
    sigset_t  set;
    pid_t     pid, parent;

    /* stdin, stdout, stderr: the child's ends are fd[0], fd[3], fd[5] */
    for (i = 0; i < 6; i += 2) {
        if (pipe2(fd + i, O_CLOEXEC) != 0) {
            while (i > 0) {
                close(fd[--i]);
            }
            return -1;
        }
    }

    parent = getpid();
    pid = fork();

    if (pid == 0) {
        /*
         * The server never outlives its bridge: killed with it, even by
         * SIGKILL.  A bridge that died before the prctl() is caught by
         * the getppid() check.
         */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
            _exit(127);
        }

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
    hb_status(1, 1);
    exit(3);
}


static void
hb_stop(void)
{
    hb.state = HB_STOPPED;
    hb_status(0, 0);
    hb_kill_server();
    hb_finish("MCP server stopped");
    hb_status(1, 1);
    hb_unlink_socket();
    exit(0);
}


/*
 * The server exited on its own.  The socket stays (nobody listens: a
 * call gets "connection refused") until the worker that sees the bridge
 * go has marked the server dead and removes it; without nginx, the next
 * start does.  A stop (above) removes it at once.
 */

static void
hb_exited(void)
{
    hb.state = HB_EXITED;
    hb.error = hb_exit_text("MCP server exited", "");
    hb_finish(hb.error);
    hb_status(1, 1);
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

    if (listen(fd, HB_BACKLOG) != 0) {
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
    hb_status(1, 0);
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

        /* server requests nobody answered, and the wait for the next */
        n = hb_sreq_expire();
        if (n >= 0 && (timeout < 0 || n < timeout)) {
            timeout = n;
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
            "         [--request-timeout-ms 60000] [--cwd DIR] "
            "[--keep PREFIX]\n"
            "         -- command [args...]\n",
            err);
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


static void
hb_options(int argc, char **argv)
{
    int          i;
    const char  *opt, *val;

    hb.ready_fd = -1;
    hb.init_ms = 15000;
    hb.grace_ms = 3000;
    hb.log_lines = 1000;
    hb.req_ms = 60000;

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
        } else if (strcmp(opt, "--keep") == 0) {
            hb.keep = val;
        } else if (strcmp(opt, "--ready-fd") == 0) {
            hb.ready_fd = hb_num(val, 0, 1 << 20, opt);
        } else if (strcmp(opt, "--init-timeout-ms") == 0) {
            hb.init_ms = hb_num(val, 1, 86400000, opt);
        } else if (strcmp(opt, "--grace-ms") == 0) {
            hb.grace_ms = hb_num(val, 0, 3600000, opt);
        } else if (strcmp(opt, "--request-timeout-ms") == 0) {
            hb.req_ms = hb_num(val, 1, 86400000, opt);
        } else if (strcmp(opt, "--log-lines") == 0) {
            hb.log_lines = hb_num(val, 1, 100000, opt);
        } else {
            hb_usage("unknown option");
        }
    }
}


int
main(int argc, char **argv)
{
    int         i, fd;
    sigset_t    set;
    struct sockaddr_un  sa;

    hb_options(argc, argv);

    if (hb.id == NULL || hb.socket == NULL || hb.status == NULL) {
        hb_usage("--id, --socket and --status are required");
    }
    if (hb.argv == NULL || hb.argv[0] == NULL) {
        hb_usage("no command after --");
    }
    if (strlen(hb.socket) >= sizeof(sa.sun_path)) {
        hb_usage("socket path too long");
    }
    if (strlen(hb.status) > 4000 || (hb.keep && strlen(hb.keep) > 4000)
        || (hb.cwd && strlen(hb.cwd) > 4000))
    {
        hb_usage("path too long");
    }

    /* nothing the bridge or its server makes is for other users */
    umask(077);

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

    /* the log of the server's earlier runs, read back, appended to */
    hb_keep_open();

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
        hb_status(1, 1);
        exit(3);
    }

    hb_status(0, 0);

    hb_server_send_str("{\"jsonrpc\":\"2.0\",\"id\":1,"
                       "\"method\":\"initialize\","
                       "\"params\":{\"protocolVersion\":\"2025-11-25\","
                       "\"capabilities\":{\"sampling\":{},"
                       "\"elicitation\":{\"form\":{},\"url\":{}},"
                       "\"roots\":{\"listChanged\":false}},"
                       "\"clientInfo\":{\"name\":\"mcp-hangar\","
                       "\"version\":\"0.1.0\"}}}");

    hb_loop();

    return 0;
}
