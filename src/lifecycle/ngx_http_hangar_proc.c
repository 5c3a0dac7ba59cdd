/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Processes: spawning bridges, and watching every bridge from every
 * worker with a pidfd, so that a server that exits is seen at once
 * (stopping them all and reaping leftovers: ngx_http_hangar_run.c).
 *
 * Who reaps whom: a bridge is started through an intermediate process
 * made with clone() and no exit signal, so nginx's SIGCHLD handler (which
 * reaps every child of a worker with waitpid(-1)) never sees it; the
 * bridge is then nobody's child in nginx and init reaps it.  No worker or
 * master is a subreaper.  A bridge's server is the bridge's child, with a
 * parent-death signal; whoever sees a bridge die (through its pidfd) also
 * kills what is left of its session and removes its files.
 *
 * Files, under hangar_state:
 *   run/<hash>.sock           a bridge's socket (short: fits sun_path)
 *   run/<id>.<seq>.json       a running bridge's status
 *   servers/<id>/             a server's working directory and HOME
 *   logs/<id>.log, .log.1     its log lines, kept across runs (bounded)
 *   logs/<id>.json            the status of its last run
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <dlfcn.h>
#include "ngx_http_hangar_job.h"
#include "ngx_http_hangar_proc.h"
#include "ngx_http_hangar_guard.h"
#include "ngx_http_hangar_run.h"


#define NGX_HTTP_HANGAR_MAX_WATCH   1024
#define NGX_HTTP_HANGAR_MAX_DEAD    64
#define NGX_HTTP_HANGAR_DEAD_MS     10000


/* PIDFD_GET_INFO (Linux 6.13; exit status since 6.15), first version */
typedef struct {
    uint64_t                     mask;
    uint64_t                     cgroupid;
    uint32_t                     ids[11];
    int32_t                      exit_code;
} ngx_http_hangar_pidfd_info_t;

#define NGX_HTTP_HANGAR_PIDFD_GET_INFO                                       \
    _IOWR(0xFF, 11, ngx_http_hangar_pidfd_info_t)
#define NGX_HTTP_HANGAR_PIDFD_INFO_EXIT  (1ULL << 3)


typedef struct {
    ngx_pid_t                    pid;
    ngx_uint_t                   seq;
    ngx_connection_t            *c;
    u_char                       id[NGX_HTTP_HANGAR_ID_MAX];
    size_t                       id_len;
} ngx_http_hangar_watch_t;


/* a bridge that died, until its exit status can be told */
typedef struct {
    int                          fd;
    ngx_pid_t                    pid;
    ngx_msec_t                   since;
    u_char                       id[NGX_HTTP_HANGAR_ID_MAX];
    size_t                       id_len;
} ngx_http_hangar_dead_t;


static void ngx_http_hangar_ready_handler(ngx_event_t *rev);
static void ngx_http_hangar_watch_handler(ngx_event_t *rev);
static void ngx_http_hangar_watch_poll(ngx_http_hangar_registry_t *reg);
static void ngx_http_hangar_bridge_exited(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_watch_t *w, int fd);
static void ngx_http_hangar_exit_text(ngx_pool_t *pool,
    ngx_http_hangar_value_t *st, ngx_uint_t killed, ngx_str_t *text);
static ngx_uint_t ngx_http_hangar_leftovers(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_watch_t *w, ngx_pool_t *pool);
static void ngx_http_hangar_dead_add(ngx_http_hangar_watch_t *w, int fd);
static void ngx_http_hangar_dead_poll(ngx_uint_t all);
static ngx_int_t ngx_http_hangar_server_paths(ngx_pool_t *pool,
    ngx_str_t *state_dir, ngx_str_t *id, ngx_str_t *cwd, ngx_str_t *keep);
static ngx_int_t ngx_http_hangar_bridge_locate(ngx_http_hangar_job_t *job);
static char **ngx_http_hangar_spawn_env(ngx_pool_t *pool,
    ngx_http_hangar_value_t *env, ngx_str_t *cwd);
static ngx_uint_t ngx_http_hangar_env_add(char **envp, ngx_uint_t k,
    char *var);
static ngx_pid_t ngx_http_hangar_fork_bridge(char **argv, char **envp,
    int fd);


static ngx_http_hangar_watch_t   ngx_http_hangar_watches[
                                     NGX_HTTP_HANGAR_MAX_WATCH];
static ngx_uint_t                ngx_http_hangar_nwatches;
static ngx_http_hangar_dead_t    ngx_http_hangar_dead[
                                     NGX_HTTP_HANGAR_MAX_DEAD];
static ngx_uint_t                ngx_http_hangar_ndead;
static ngx_str_t                 ngx_http_hangar_bridge_path;

/* a tiny marker so dladdr() finds the .so, beside which the bridge lives */
static const char  ngx_http_hangar_self[] = "hangar";


/*
 * nginx -t: a bridge's socket, "<state>/run/<16 hex>.sock", must fit in
 * sun_path; ids do not count (any valid id fits).
 */

ngx_int_t
ngx_http_hangar_proc_check(ngx_conf_t *cf, ngx_str_t *state_dir)
{
    struct sockaddr_un  sa;

    if (state_dir->len + sizeof(NGX_HTTP_HANGAR_SOCK_NAME)
        > sizeof(sa.sun_path))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hangar_state\" path \"%V\" is too long: "
                           "bridge sockets are made in it, and a unix "
                           "socket path has at most %uz bytes; use a path "
                           "of at most %uz bytes", state_dir,
                           sizeof(sa.sun_path) - 1,
                           sizeof(sa.sun_path)
                           - sizeof(NGX_HTTP_HANGAR_SOCK_NAME));
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the bridge stops its server's process group itself on SIGTERM */

void
ngx_http_hangar_terminate(ngx_pid_t bridge, ngx_pid_t server)
{
    if (bridge > 0 && kill(bridge, SIGTERM) == -1 && server > 0) {
        (void) kill(-server, SIGKILL);
    }
}


ngx_int_t
ngx_http_hangar_alive(ngx_pid_t pid)
{
    ngx_http_hangar_pstat_t  st;

    if (pid <= 0 || kill(pid, 0) == -1) {
        return 0;
    }

    /* a zombie is not alive; the pid must be a bridge's */
    if (ngx_http_hangar_proc_stat(pid, &st) == 0 || st.state == 'Z') {
        return 0;
    }

    return ngx_strstr(st.name, "hangar-bridge") != NULL;
}


/*
 * A process as /proc/<pid>/stat has it: its state letter (the return
 * value; 0 when there is no such process), parent, session and name.
 */

u_char
ngx_http_hangar_proc_stat(ngx_pid_t pid, ngx_http_hangar_pstat_t *st)
{
    int      fd, ppid, session;
    char     path[64], buf[512], *name, *p;
    size_t   len;
    ssize_t  n;
    u_char   state;

    ngx_sprintf((u_char *) path, "/proc/%P/stat%Z", pid);

    fd = open(path, O_RDONLY);
    if (fd == -1) {
        return 0;
    }

    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);

    if (n <= 0) {
        return 0;
    }

    buf[n] = '\0';

    /* "pid (comm) state ppid pgrp session ...": comm may hold ")" */
    name = strchr(buf, '(');
    p = strrchr(buf, ')');

    if (name == NULL || p == NULL || p < name
        || sscanf(p + 1, " %c %d %*d %d", (char *) &state, &ppid, &session)
           != 3)
    {
        return 0;
    }

    len = ngx_min((size_t) (p - name - 1), sizeof(st->name) - 1);
    ngx_memcpy(st->name, name + 1, len);
    st->name[len] = '\0';

    st->state = state;
    st->ppid = ppid;
    st->sid = session;

    return state;
}


void
ngx_http_hangar_watch_scan(ngx_http_hangar_registry_t *reg)
{
    int                       fd;
    ngx_uint_t                i, k, found;
    ngx_queue_t              *q;
    ngx_connection_t         *c;
    ngx_http_hangar_node_t   *n;
    ngx_http_hangar_watch_t  *w;
    ngx_http_hangar_watch_t   add[32];

    ngx_http_hangar_watch_poll(reg);
    ngx_http_hangar_dead_poll(0);

    k = 0;

    ngx_http_hangar_lock(reg);

    for (q = ngx_queue_head(&reg->sh->servers.queue);
         q != ngx_queue_sentinel(&reg->sh->servers.queue) && k < 32;
         q = ngx_queue_next(q))
    {
        n = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        if (n->bridge_pid == 0) {
            continue;
        }

        found = 0;
        for (i = 0; i < ngx_http_hangar_nwatches; i++) {
            if (ngx_http_hangar_watches[i].pid == (ngx_pid_t) n->bridge_pid) {
                found = 1;
                break;
            }
        }

        if (!found) {
            add[k].pid = n->bridge_pid;
            add[k].seq = n->bridge_seq;
            ngx_memcpy(add[k].id, n->id, n->id_len);
            add[k].id_len = n->id_len;
            k++;
        }
    }

    ngx_http_hangar_unlock(reg);

    for (i = 0; i < k; i++) {
        if (ngx_http_hangar_nwatches == NGX_HTTP_HANGAR_MAX_WATCH) {
            break;
        }

        w = &ngx_http_hangar_watches[ngx_http_hangar_nwatches];
        *w = add[i];

        fd = syscall(SYS_pidfd_open, w->pid, 0);

        if (fd == -1 && ngx_errno == NGX_ESRCH) {
            /* already gone */
            ngx_http_hangar_bridge_exited(reg, w, -1);
            continue;
        }

        if (fd == -1) {
            /* no pidfd (an old kernel, valgrind): polled at every tick */
            w->c = NULL;
            ngx_http_hangar_nwatches++;
            continue;
        }

        c = ngx_get_connection(fd, ngx_cycle->log);
        if (c == NULL) {
            close(fd);
            break;
        }

        c->data = (void *) (uintptr_t) w->pid;
        c->read->handler = ngx_http_hangar_watch_handler;
        c->read->log = ngx_cycle->log;
        w->c = c;

        if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
            ngx_close_connection(c);
            break;
        }

        ngx_http_hangar_nwatches++;
    }
}


static void
ngx_http_hangar_watch_handler(ngx_event_t *rev)
{
    int                       fd;
    ngx_uint_t                i;
    ngx_pid_t                 pid;
    ngx_connection_t         *c;
    ngx_http_hangar_watch_t   w;

    c = rev->data;
    pid = (ngx_pid_t) (uintptr_t) c->data;

    for (i = 0; i < ngx_http_hangar_nwatches; i++) {
        if (ngx_http_hangar_watches[i].pid == pid) {
            w = ngx_http_hangar_watches[i];
            ngx_http_hangar_watches[i] =
                ngx_http_hangar_watches[--ngx_http_hangar_nwatches];

            /*
             * The pidfd tells the exit status once init has reaped the
             * bridge: kept, out of epoll (explicitly: a closed connection
             * would leave epoll's entry to the fd's close).
             */
            fd = c->fd;
            (void) ngx_del_event(rev, NGX_READ_EVENT, 0);

            if (rev->posted) {
                ngx_delete_posted_event(rev);
            }

            ngx_free_connection(c);
            c->fd = (ngx_socket_t) -1;

            ngx_http_hangar_bridge_exited(ngx_http_hangar_registry(), &w, fd);
            return;
        }
    }

    ngx_close_connection(c);
}


/*
 * A bridge is gone.  If it was serving, its server is dead: the worker
 * that changes the record says why.  If it died without a last word
 * (SIGKILL), the worker that claims its status file kills what is left
 * of its session.  Its socket goes once the record says it is gone, so
 * that no call finds the name without the bridge.
 */

static void
ngx_http_hangar_bridge_exited(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_watch_t *w, int fd)
{
    ngx_str_t                 text, sock;
    ngx_uint_t                mine, claimed, killed;
    ngx_pool_t               *pool;
    ngx_http_hangar_node_t   *n;
    ngx_http_hangar_value_t  *st, *v;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        if (fd != -1) {
            close(fd);
        }
        return;
    }

    claimed = ngx_http_hangar_leftovers(reg, w, pool);

    st = ngx_http_hangar_run_status(pool, reg, w->id, w->id_len, w->seq);

    /* a bridge that ends as it should says so: exited, failed, stopped */
    v = ngx_http_hangar_get(st, "state");
    killed = claimed || !ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
             || ngx_http_hangar_str_is(&v->u.s, "ready")
             || ngx_http_hangar_str_is(&v->u.s, "starting");

    ngx_http_hangar_exit_text(pool, st, killed, &text);

    mine = 0;

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, w->id, w->id_len);

    if (n && n->bridge_pid == (ngx_atomic_uint_t) w->pid) {
        (void) ngx_http_hangar_set_blob(reg, &n->error, &text);
        ngx_http_hangar_machine_crashed(reg, n);
        mine = 1;
    }

    ngx_http_hangar_unlock(reg);

    if (ngx_http_hangar_run_path(pool, &reg->hmcf->state_dir, w->id,
                                 w->id_len, w->seq, "sock", &sock)
        == NGX_OK)
    {
        (void) ngx_delete_file(sock.data);
    }

    if (mine && !killed) {
        v = ngx_http_hangar_get(st, "exit_signal");

        if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT)) {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "hangar: server \"%*s\" was killed by signal %L",
                          w->id_len, w->id, v->u.i);

        } else {
            v = ngx_http_hangar_get(st, "exit_code");
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "hangar: server \"%*s\" exited with code %L",
                          w->id_len, w->id,
                          ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT)
                          ? v->u.i : -1);
        }
    }

    if (claimed) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "hangar: the bridge of server \"%*s\" (pid %P) died "
                      "without stopping its server; the server's processes "
                      "are killed", w->id_len, w->id, w->pid);
    }

    /* the bridge's own exit status, told by the worker that saw it go */
    if (mine && fd != -1) {
        ngx_http_hangar_dead_add(w, fd);

    } else if (fd != -1) {
        close(fd);

    } else if (mine) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "hangar: bridge of server \"%*s\" (pid %P) ended; "
                      "its exit status is not known (no pidfd)", w->id_len,
                      w->id, w->pid);
    }

    ngx_destroy_pool(pool);
}


/* the record's error: what the status of the run says, as JSON */

static void
ngx_http_hangar_exit_text(ngx_pool_t *pool, ngx_http_hangar_value_t *st,
    ngx_uint_t killed, ngx_str_t *text)
{
    ngx_http_hangar_out_t     o;
    ngx_http_hangar_value_t  *code, *sig, *tail, *null;

    code = ngx_http_hangar_get(st, "exit_code");
    sig = ngx_http_hangar_get(st, "exit_signal");
    tail = ngx_http_hangar_get(st, "stderr_tail");
    null = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_NULL);

    /* the error blob lives in shm: the last 2000 bytes of stderr */
    if (ngx_http_hangar_is(tail, NGX_HTTP_HANGAR_STR) && tail->u.s.len > 2000)
    {
        tail->u.s.data += tail->u.s.len - 2000;
        tail->u.s.len = 2000;

        while (tail->u.s.len && (*tail->u.s.data & 0xc0) == 0x80) {
            tail->u.s.data++;
            tail->u.s.len--;
        }
    }

    ngx_http_hangar_out_init(&o, pool, 1024);

    if (killed) {
        ngx_http_hangar_out_lit(&o, "{\"message\":\"the bridge of the server "
                                "was killed\",\"exit_code\":");
    } else {
        ngx_http_hangar_out_lit(&o, "{\"message\":\"the server exited\","
                                "\"exit_code\":");
    }

    ngx_http_hangar_json_out(&o, code ? code : null);
    ngx_http_hangar_out_lit(&o, ",\"exit_signal\":");
    ngx_http_hangar_json_out(&o, sig ? sig : null);
    ngx_http_hangar_out_lit(&o, ",\"stderr\":");
    ngx_http_hangar_json_out(&o, tail ? tail
                    : ngx_http_hangar_value_str(pool, (u_char *) "", 0));
    ngx_http_hangar_out_lit(&o, ",\"suggestion\":\"see GET /logs\"}");

    if (ngx_http_hangar_out_flatten(&o, text) != NGX_OK) {
        ngx_str_set(text, "{\"message\":\"the server exited\"}");
    }
}


/*
 * A bridge that ends as it should removes its status file itself; if the
 * file is still there, the bridge was killed.  The worker whose rename of
 * it to logs/<id>.json succeeds cleans up: one worker, without a lock.
 */

static ngx_uint_t
ngx_http_hangar_leftovers(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_watch_t *w, ngx_pool_t *pool)
{
    ngx_str_t   status, keep;
    ngx_str_t  *dir;

    dir = &reg->hmcf->state_dir;

    if (ngx_http_hangar_run_path(pool, dir, w->id, w->id_len, w->seq, "json",
                                 &status)
        != NGX_OK)
    {
        return 0;
    }

    keep.data = ngx_pnalloc(pool, dir->len + w->id_len
                                  + sizeof("/logs/.json"));
    if (keep.data == NULL) {
        return 0;
    }

    ngx_sprintf(keep.data, "%V/logs/%*s.json%Z", dir, w->id_len, w->id);

    if (ngx_rename_file(status.data, keep.data) == NGX_FILE_ERROR) {
        return 0;
    }

    ngx_http_hangar_kill_sessions(&w->pid, 1);

    return 1;
}


/* the exit status of a dead bridge, in words, once the kernel has it */

static void
ngx_http_hangar_dead_add(ngx_http_hangar_watch_t *w, int fd)
{
    ngx_http_hangar_dead_t  *d;

    if (ngx_http_hangar_ndead == NGX_HTTP_HANGAR_MAX_DEAD) {
        ngx_http_hangar_dead_poll(1);
    }

    d = &ngx_http_hangar_dead[ngx_http_hangar_ndead++];
    d->fd = fd;
    d->pid = w->pid;
    d->since = ngx_current_msec;
    ngx_memcpy(d->id, w->id, w->id_len);
    d->id_len = w->id_len;

    ngx_http_hangar_dead_poll(0);
}


static void
ngx_http_hangar_dead_poll(ngx_uint_t all)
{
    int                            status;
    ngx_uint_t                     i, known;
    ngx_http_hangar_dead_t        *d;
    ngx_http_hangar_pidfd_info_t   info;

    for (i = 0; i < ngx_http_hangar_ndead; /* void */) {
        d = &ngx_http_hangar_dead[i];

        ngx_memzero(&info, sizeof(info));
        info.mask = NGX_HTTP_HANGAR_PIDFD_INFO_EXIT;

        known = 0;

        if (ioctl(d->fd, NGX_HTTP_HANGAR_PIDFD_GET_INFO, &info) == 0) {
            known = (info.mask & NGX_HTTP_HANGAR_PIDFD_INFO_EXIT) ? 1 : 0;

            if (!known && !all
                && ngx_current_msec - d->since < NGX_HTTP_HANGAR_DEAD_MS)
            {
                /* not reaped by init yet */
                i++;
                continue;
            }
        }

        status = info.exit_code;

        if (known && WIFSIGNALED(status)) {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "hangar: bridge of server \"%*s\" (pid %P) was "
                          "killed by signal %d", d->id_len, d->id, d->pid,
                          WTERMSIG(status));

        } else if (known) {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "hangar: bridge of server \"%*s\" (pid %P) exited "
                          "with status %d", d->id_len, d->id, d->pid,
                          WEXITSTATUS(status));

        } else {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "hangar: bridge of server \"%*s\" (pid %P) ended; "
                          "its exit status is not known", d->id_len, d->id,
                          d->pid);
        }

        close(d->fd);
        *d = ngx_http_hangar_dead[--ngx_http_hangar_ndead];
    }
}


static void
ngx_http_hangar_watch_poll(ngx_http_hangar_registry_t *reg)
{
    ngx_uint_t               i;
    ngx_http_hangar_watch_t  w;

    for (i = 0; i < ngx_http_hangar_nwatches; /* void */) {
        w = ngx_http_hangar_watches[i];

        if (w.c != NULL || ngx_http_hangar_alive(w.pid)) {
            i++;
            continue;
        }

        ngx_http_hangar_watches[i] =
            ngx_http_hangar_watches[--ngx_http_hangar_nwatches];
        ngx_http_hangar_bridge_exited(reg, &w, -1);
    }
}


void
ngx_http_hangar_watch_exit(void)
{
    ngx_uint_t  i;

    for (i = 0; i < ngx_http_hangar_nwatches; i++) {
        if (ngx_http_hangar_watches[i].c) {
            ngx_close_connection(ngx_http_hangar_watches[i].c);
        }
    }

    ngx_http_hangar_nwatches = 0;

    for (i = 0; i < ngx_http_hangar_ndead; i++) {
        close(ngx_http_hangar_dead[i].fd);
    }

    ngx_http_hangar_ndead = 0;
}


/*
 * The bridge: "hangar-bridge" beside the module's .so.  It reports on
 * fd 3; its server runs in <state>/servers/<id>/ and its log lines are
 * kept in <state>/logs/<id>.log.
 */

ngx_int_t
ngx_http_hangar_spawn(ngx_http_hangar_job_t *job)
{
    int                        fds[2];
    char                     **argv, **envp;
    ngx_str_t                  sock, status, cwd, keep, *dir;
    ngx_uint_t                 i, n, k;
    ngx_pid_t                  pid;
    ngx_connection_t          *c;
    ngx_http_hangar_value_t   *cmd, *env, *img, *args, **items;

    if (ngx_http_hangar_bridge_locate(job) != NGX_OK) {
        return NGX_ERROR;
    }

    dir = &job->reg->hmcf->state_dir;

    if (ngx_http_hangar_run_path(job->pool, dir, job->id.data, job->id.len,
                                 job->bridge_seq, "sock", &sock)
        != NGX_OK
        || ngx_http_hangar_run_path(job->pool, dir, job->id.data,
                                    job->id.len, job->bridge_seq, "json",
                                    &status)
           != NGX_OK
        || ngx_http_hangar_server_paths(job->pool, dir, &job->id, &cwd, &keep)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the command line: docker servers run as "docker run -i ..." */
    cmd = ngx_http_hangar_get(job->spec, "command");
    img = ngx_http_hangar_get(job->spec, "image");
    args = ngx_http_hangar_get(job->spec, "args");
    env = ngx_http_hangar_get(job->spec, "env");

    n = 16 + (cmd ? cmd->u.arr.nelts : 0) + (args ? args->u.arr.nelts : 0)
        + 2 * (env ? env->u.obj.nelts : 0) + 16;

    argv = ngx_pcalloc(job->pool, (n + 1) * sizeof(char *));
    if (argv == NULL) {
        return NGX_ERROR;
    }

    k = 0;
    argv[k++] = (char *) ngx_http_hangar_bridge_path.data;
    argv[k++] = "--id";
    argv[k++] = (char *) job->id.data;
    argv[k++] = "--socket";
    argv[k++] = (char *) sock.data;
    argv[k++] = "--status";
    argv[k++] = (char *) status.data;
    argv[k++] = "--ready-fd";
    argv[k++] = "3";
    argv[k++] = "--cwd";
    argv[k++] = (char *) cwd.data;
    argv[k++] = "--keep";
    argv[k++] = (char *) keep.data;
    argv[k++] = "--";

    if (job->mode == NGX_HTTP_HANGAR_MODE_DOCKER) {
        if (access("/usr/bin/docker", X_OK) != 0
            && access("/usr/local/bin/docker", X_OK) != 0)
        {
            ngx_http_hangar_job_done(job, 0, "mode docker needs the docker "
                                     "command, which is not installed");
            return NGX_ERROR;
        }

        argv[k++] = "docker";
        argv[k++] = "run";
        argv[k++] = "-i";
        argv[k++] = "--rm";
        argv[k++] = "--cap-drop";
        argv[k++] = "ALL";
        argv[k++] = "--security-opt";
        argv[k++] = "no-new-privileges";
        argv[k++] = (char *) (img ? img->u.s.data : (u_char *) "");

        cmd = NULL;
    }

    if (cmd) {
        items = cmd->u.arr.elts;
        for (i = 0; i < cmd->u.arr.nelts; i++) {
            argv[k++] = (char *) items[i]->u.s.data;
        }
    }

    if (args) {
        items = args->u.arr.elts;
        for (i = 0; i < args->u.arr.nelts; i++) {
            argv[k++] = (char *) items[i]->u.s.data;
        }
    }

    envp = ngx_http_hangar_spawn_env(job->pool, env, &cwd);
    if (envp == NULL) {
        return NGX_ERROR;
    }

    if (pipe2(fds, O_CLOEXEC) == -1) {
        ngx_http_hangar_job_done(job, 0, "pipe() failed: %s",
                                 strerror(errno));
        return NGX_ERROR;
    }

    pid = ngx_http_hangar_fork_bridge(argv, envp, fds[1]);

    close(fds[1]);

    if (pid == -1) {
        close(fds[0]);
        ngx_http_hangar_job_done(job, 0, "fork() failed: %s",
                                 strerror(errno));
        return NGX_ERROR;
    }

    job->status = ngx_create_temp_buf(job->pool, 65536);
    c = ngx_get_connection(fds[0], job->log);

    if (job->status == NULL || c == NULL) {
        close(fds[0]);
        ngx_http_hangar_job_done(job, 0, "out of memory");
        return NGX_ERROR;
    }

    (void) ngx_nonblocking(fds[0]);

    c->data = job;
    c->read->handler = ngx_http_hangar_ready_handler;
    c->read->log = job->log;
    c->write->log = job->log;
    job->ready = c;

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_hangar_job_done(job, 0, "epoll failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The server's environment, first name wins: its own "env", then what the
 * worker has (TZ and nginx's "env" directives; build-notes §4) less the
 * secrets (ngx_http_hangar_env_secret(): a server never inherits a token
 * or a password, though its "env" may set one), then the defaults: PATH,
 * HOME (the server's own directory), MCP_TRANSPORT=stdio, LANG.
 */

static char **
ngx_http_hangar_spawn_env(ngx_pool_t *pool, ngx_http_hangar_value_t *env,
    ngx_str_t *cwd)
{
    u_char                  *p;
    char                   **envp, **e;
    ngx_uint_t               i, k, n;
    ngx_http_hangar_pair_t  *pair;

    char                    *defaults[4];

    n = ngx_http_hangar_is(env, NGX_HTTP_HANGAR_OBJ) ? env->u.obj.nelts : 0;

    for (e = environ; *e; e++) {
        n++;
    }

    envp = ngx_pcalloc(pool, (n + 5) * sizeof(char *));
    if (envp == NULL) {
        return NULL;
    }

    k = 0;

    if (ngx_http_hangar_is(env, NGX_HTTP_HANGAR_OBJ)) {
        pair = env->u.obj.elts;

        for (i = 0; i < env->u.obj.nelts; i++) {
            p = ngx_pnalloc(pool, pair[i].key.len + pair[i].value->u.s.len
                                  + 2);
            if (p == NULL) {
                return NULL;
            }

            ngx_sprintf(p, "%V=%V%Z", &pair[i].key, &pair[i].value->u.s);
            k = ngx_http_hangar_env_add(envp, k, (char *) p);
        }
    }

    for (e = environ; *e; e++) {
        p = (u_char *) ngx_strchr(*e, '=');

        if (p && !ngx_http_hangar_env_secret((u_char *) *e,
                                             p - (u_char *) *e))
        {
            k = ngx_http_hangar_env_add(envp, k, *e);
        }
    }

    p = ngx_pnalloc(pool, cwd->len + sizeof("HOME="));
    if (p == NULL) {
        return NULL;
    }

    ngx_sprintf(p, "HOME=%V%Z", cwd);

    defaults[0] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                  "/sbin:/bin";
    defaults[1] = (char *) p;
    defaults[2] = "MCP_TRANSPORT=stdio";
    defaults[3] = "LANG=C.UTF-8";

    for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        k = ngx_http_hangar_env_add(envp, k, defaults[i]);
    }

    return envp;
}


/* "NAME=value" at envp[k] unless NAME is there already; the new count */

static ngx_uint_t
ngx_http_hangar_env_add(char **envp, ngx_uint_t k, char *var)
{
    size_t      len;
    ngx_uint_t  i;

    len = ngx_strchr(var, '=') - var + 1;

    for (i = 0; i < k; i++) {
        if (ngx_strncmp(envp[i], var, len) == 0) {
            return k;
        }
    }

    envp[k] = var;

    return k + 1;
}


static ngx_int_t
ngx_http_hangar_bridge_locate(ngx_http_hangar_job_t *job)
{
    size_t    n;
    u_char   *p;
    Dl_info   info;

    if (ngx_http_hangar_bridge_path.len) {
        return NGX_OK;
    }

    if (dladdr(ngx_http_hangar_self, &info) == 0 || info.dli_fname == NULL) {
        ngx_http_hangar_job_done(job, 0, "cannot locate hangar-bridge");
        return NGX_ERROR;
    }

    p = (u_char *) strrchr(info.dli_fname, '/');
    n = p ? (size_t) (p - (u_char *) info.dli_fname) : 1;

    ngx_http_hangar_bridge_path.data = ngx_alloc(n + sizeof("/hangar-bridge"),
                                                 ngx_cycle->log);
    if (ngx_http_hangar_bridge_path.data == NULL) {
        return NGX_ERROR;
    }

    ngx_http_hangar_bridge_path.len =
        ngx_sprintf(ngx_http_hangar_bridge_path.data, "%*s/hangar-bridge%Z",
                    n, p ? info.dli_fname : ".")
        - ngx_http_hangar_bridge_path.data - 1;

    return NGX_OK;
}


/*
 * <state>/servers/<id> (the server's own, mode 0700), <state>/logs/<id>
 * (hangar's files of the server); made here, as the worker's user.
 */

static ngx_int_t
ngx_http_hangar_server_paths(ngx_pool_t *pool, ngx_str_t *state_dir,
    ngx_str_t *id, ngx_str_t *cwd, ngx_str_t *keep)
{
    cwd->data = ngx_pnalloc(pool, state_dir->len + id->len
                                  + sizeof("/servers/"));
    keep->data = ngx_pnalloc(pool, state_dir->len + id->len
                                   + sizeof("/servers/"));
    if (cwd->data == NULL || keep->data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(cwd->data, "%V/servers%Z", state_dir);
    ngx_sprintf(keep->data, "%V/logs%Z", state_dir);
    (void) ngx_create_dir(cwd->data, 0700);
    (void) ngx_create_dir(keep->data, 0700);

    cwd->len = ngx_sprintf(cwd->data, "%V/servers/%V", state_dir, id)
               - cwd->data;
    cwd->data[cwd->len] = '\0';

    keep->len = ngx_sprintf(keep->data, "%V/logs/%V", state_dir, id)
                - keep->data;
    keep->data[keep->len] = '\0';

    if (ngx_create_dir(cwd->data, 0700) == NGX_FILE_ERROR
        && ngx_errno != NGX_EEXIST)
    {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, ngx_errno,
                      ngx_create_dir_n " \"%V\" failed", cwd);
    }

    return NGX_OK;
}


/*
 * The bridge is the child of an intermediate that exits at once.  The
 * intermediate is made with clone() and no exit signal: no SIGCHLD
 * reaches the worker, nginx's waitpid(-1) does not see it, and only our
 * waitpid(__WCLONE) reaps it.  Until execve() only async-signal-safe
 * calls: the worker may have other threads (thread pools).  The bridge,
 * orphaned, is reaped by init; it makes its own session.
 */

static ngx_pid_t
ngx_http_hangar_fork_bridge(char **argv, char **envp, int fd)
{
    int        devnull, sig, err;
    sigset_t   set;
    ngx_pid_t  pid;

    pid = syscall(SYS_clone, 0UL, NULL, NULL, NULL, 0UL);

    if (pid == 0) {
        if (syscall(SYS_clone, (unsigned long) SIGCHLD, NULL, NULL, NULL, 0UL)
            != 0)
        {
            _exit(0);
        }

        sigemptyset(&set);
        sigprocmask(SIG_SETMASK, &set, NULL);

        for (sig = 1; sig < NSIG; sig++) {
            (void) signal(sig, SIG_DFL);
        }

        devnull = open("/dev/null", O_RDWR);
        if (devnull != -1) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            dup2(devnull, 2);
        }

        dup2(fd, 3);
        (void) syscall(SYS_close_range, 4, ~0U, 0);

        execve(argv[0], argv, envp);
        _exit(127);
    }

    if (pid == -1) {
        return -1;
    }

    err = 0;

    while (waitpid(pid, NULL, __WCLONE) == -1) {
        if (ngx_errno != NGX_EINTR) {
            err = ngx_errno;
            break;
        }
    }

    if (err) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, err,
                      "hangar: waitpid(%P) failed", pid);
    }

    return pid;
}


/* one JSON line from the bridge: its status, "ready" or "failed" */

static void
ngx_http_hangar_ready_handler(ngx_event_t *rev)
{
    ssize_t                   n;
    ngx_str_t                 err, text;
    ngx_buf_t                *b;
    ngx_connection_t         *c;
    ngx_http_hangar_job_t    *job;
    ngx_http_hangar_value_t  *st, *state, *v;

    c = rev->data;
    job = c->data;
    b = job->status;

    for ( ;; ) {
        n = read(c->fd, b->last, b->end - b->last);

        if (n == -1 && ngx_errno == NGX_EAGAIN) {
            (void) ngx_handle_read_event(rev, 0);
            return;
        }

        if (n <= 0 || b->last + n == b->end) {
            break;
        }

        b->last += n;
    }

    ngx_close_connection(c);
    job->ready = NULL;

    st = ngx_http_hangar_json_parse(job->pool, b->pos, b->last - b->pos,
                                    &err);
    state = ngx_http_hangar_get(st, "state");

    if (!ngx_http_hangar_is(state, NGX_HTTP_HANGAR_STR)) {
        ngx_http_hangar_job_done(job, 0, "hangar-bridge could not be run "
                                 "(%V)", &ngx_http_hangar_bridge_path);
        return;
    }

    v = ngx_http_hangar_get(st, "bridge_pid");
    job->bridge_pid = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) ? v->u.i : 0;
    v = ngx_http_hangar_get(st, "server_pid");
    job->server_pid = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) ? v->u.i : 0;

    if (ngx_http_hangar_str_is(&state->u.s, "ready")) {
        (void) ngx_http_hangar_rpc(job, "initialize",
            "{\"protocolVersion\":\"" NGX_HTTP_HANGAR_PROTOCOL "\","
            "\"capabilities\":{},\"clientInfo\":{\"name\":\"mcp-hangar\","
            "\"version\":\"" NGX_HTTP_HANGAR_VERSION "\"}}",
            ngx_http_hangar_step_initialize);
        return;
    }

    /* job_done() reads exit code and stderr tail from the status */
    text.data = b->pos;
    text.len = b->last - b->pos;

    ngx_http_hangar_job_done(job, 0, "\x01%V", &text);
}
