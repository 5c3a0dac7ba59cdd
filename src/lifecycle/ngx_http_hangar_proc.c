
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Processes: stopping bridges, reaping those an nginx killed with SIGKILL
 * left behind, and watching every bridge from every worker with a pidfd,
 * so that a server that exits is seen at once.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <sys/syscall.h>
#include <dlfcn.h>
#include "ngx_http_hangar_job.h"


#define NGX_HTTP_HANGAR_MAX_WATCH   1024


typedef struct {
    ngx_pid_t                    pid;
    ngx_uint_t                   seq;
    ngx_connection_t            *c;
    u_char                       id[NGX_HTTP_HANGAR_ID_MAX];
    size_t                       id_len;
} ngx_http_hangar_watch_t;


static void ngx_http_hangar_ready_handler(ngx_event_t *rev);
static void ngx_http_hangar_watch_handler(ngx_event_t *rev);
static void ngx_http_hangar_watch_poll(ngx_http_hangar_registry_t *reg);
static void ngx_http_hangar_bridge_exited(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_watch_t *w);


static ngx_http_hangar_watch_t   ngx_http_hangar_watches[
                                     NGX_HTTP_HANGAR_MAX_WATCH];
static ngx_uint_t                ngx_http_hangar_nwatches;
static ngx_str_t                 ngx_http_hangar_bridge_path;

/* a tiny marker so dladdr() finds the .so, beside which the bridge lives */
static const char  ngx_http_hangar_self[] = "hangar";


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
    int      fd;
    char     path[64], buf[512], *p;
    ssize_t  n;

    if (pid <= 0 || kill(pid, 0) == -1) {
        return 0;
    }

    /* a zombie is not alive; the pid must be a bridge's */
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
    p = strrchr(buf, ')');

    if (p == NULL || p[2] == 'Z') {
        return 0;
    }

    return ngx_strstr(buf, "hangar-bridge") != NULL
           || ngx_strstr(buf, "(hangar-bridge") != NULL;
}


/*
 * nginx -s stop|quit: the master stops every bridge and waits a little
 * for their servers to go (each bridge has a grace period of its own).
 */

void
ngx_http_hangar_lifecycle_stop_all(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i, k, n, alive;
    ngx_pid_t                    pids[256];
    ngx_queue_t                 *q;
    ngx_http_hangar_node_t      *node;
    ngx_http_hangar_registry_t  *reg;

    reg = ngx_http_hangar_registry();
    if (reg == NULL || reg->sh == NULL) {
        return;
    }

    n = 0;

    ngx_http_hangar_lock(reg);

    for (q = ngx_queue_head(&reg->sh->servers.queue);
         q != ngx_queue_sentinel(&reg->sh->servers.queue) && n < 256;
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        if (node->bridge_pid) {
            pids[n++] = node->bridge_pid;
            (void) kill(node->bridge_pid, SIGTERM);
            node->bridge_pid = 0;
            node->state = NGX_HTTP_HANGAR_COLD;
        }
    }

    ngx_http_hangar_unlock(reg);

    /* each bridge gives its server a grace period; wait for them all */
    for (i = 0; i < 100; i++) {
        alive = 0;

        for (k = 0; k < n; k++) {
            alive += ngx_http_hangar_alive(pids[k]) ? 1 : 0;
        }

        if (alive == 0) {
            break;
        }

        ngx_msleep(50);
    }
}


/*
 * At a fresh start (not a reload): bridges left by an nginx that was
 * killed are found through their status files and stopped.
 */

void
ngx_http_hangar_lifecycle_reap(ngx_http_hangar_registry_t *reg,
    ngx_log_t *log)
{
    u_char                   *name;
    size_t                    len;
    ngx_str_t                 dir, path;
    ngx_dir_t                 d;
    ngx_pool_t               *pool;
    ngx_pid_t                 bridge, server;
    ngx_http_hangar_value_t  *st, *v;

    pool = ngx_create_pool(4096, log);
    if (pool == NULL) {
        return;
    }

    dir.len = reg->hmcf->state_dir.len + 4;
    dir.data = ngx_pnalloc(pool, dir.len + 1);

    if (dir.data == NULL) {
        goto done;
    }

    ngx_sprintf(dir.data, "%V/run%Z", &reg->hmcf->state_dir);

    if (ngx_open_dir(&dir, &d) == NGX_ERROR) {
        goto done;
    }

    while (ngx_read_dir(&d) == NGX_OK) {
        len = ngx_de_namelen(&d);

        if (len < 6 || ngx_strcmp(ngx_de_name(&d) + len - 5, ".json") != 0) {
            continue;
        }

        path.len = dir.len + 1 + len;
        path.data = ngx_pnalloc(pool, path.len + 1);
        name = ngx_pnalloc(pool, len + sizeof("run/"));
        if (path.data == NULL || name == NULL) {
            break;
        }
        ngx_sprintf(path.data, "%V/%s%Z", &dir, ngx_de_name(&d));
        ngx_sprintf(name, "run/%s%Z", ngx_de_name(&d));

        st = NULL;
        (void) ngx_http_hangar_file_read(pool, &reg->hmcf->state_dir,
                                         (char *) name, log, &st);

        v = ngx_http_hangar_get(st, "bridge_pid");
        bridge = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) ? v->u.i : 0;
        v = ngx_http_hangar_get(st, "server_pid");
        server = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) ? v->u.i : 0;

        if (ngx_http_hangar_alive(bridge)) {
            ngx_log_error(NGX_LOG_NOTICE, log, 0,
                          "hangar: stopping bridge %P left by a previous "
                          "nginx (%s)", bridge, ngx_de_name(&d));
            ngx_http_hangar_terminate(bridge, server);
        }

        /* the registry starts afresh: old runs' status files go */
        (void) ngx_delete_file(path.data);
    }

    ngx_close_dir(&d);

done:

    ngx_destroy_pool(pool);
}


void
ngx_http_hangar_watch_scan(ngx_http_hangar_registry_t *reg)
{
    ngx_http_hangar_watch_poll(reg);

    int                       fd;
    ngx_uint_t                i, k, found;
    ngx_queue_t              *q;
    ngx_connection_t         *c;
    ngx_http_hangar_node_t   *n;
    ngx_http_hangar_watch_t  *w;
    ngx_http_hangar_watch_t   add[32];

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
            ngx_http_hangar_bridge_exited(reg, w);
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

            ngx_close_connection(c);
            ngx_http_hangar_bridge_exited(ngx_http_hangar_registry(), &w);
            return;
        }
    }

    ngx_close_connection(c);
}


/* a bridge is gone: if it was serving, the server is dead; say why */

static void
ngx_http_hangar_bridge_exited(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_watch_t *w)
{
    ngx_str_t                 text;
    ngx_pool_t               *pool;
    ngx_http_hangar_out_t     o;
    ngx_http_hangar_node_t   *n;
    ngx_http_hangar_value_t  *st, *code, *sig, *tail;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    st = ngx_http_hangar_run_status(pool, reg, w->id, w->id_len, w->seq);

    code = ngx_http_hangar_get(st, "exit_code");
    sig = ngx_http_hangar_get(st, "exit_signal");
    tail = ngx_http_hangar_get(st, "stderr_tail");

    ngx_http_hangar_out_init(&o, pool, 1024);
    ngx_http_hangar_out_lit(&o, "{\"message\":\"the server exited\","
                            "\"exit_code\":");
    ngx_http_hangar_json_out(&o, code ? code
                    : ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_NULL));
    ngx_http_hangar_out_lit(&o, ",\"exit_signal\":");
    ngx_http_hangar_json_out(&o, sig ? sig
                    : ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_NULL));
    ngx_http_hangar_out_lit(&o, ",\"stderr\":");
    ngx_http_hangar_json_out(&o, tail ? tail
                    : ngx_http_hangar_value_str(pool, (u_char *) "", 0));
    ngx_http_hangar_out_lit(&o, ",\"suggestion\":\"see GET /logs\"}");

    if (ngx_http_hangar_out_flatten(&o, &text) != NGX_OK) {
        ngx_destroy_pool(pool);
        return;
    }

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, w->id, w->id_len);

    if (n && n->bridge_pid == (ngx_atomic_uint_t) w->pid) {
        (void) ngx_http_hangar_set_blob(reg, &n->error, &text);
        ngx_http_hangar_machine_crashed(reg, n);

        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "hangar: \"%*s\" exited: %V", w->id_len, w->id, &text);
    }

    ngx_http_hangar_unlock(reg);

    ngx_destroy_pool(pool);
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
        ngx_http_hangar_bridge_exited(reg, &w);
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
}


/*
 * The bridge: "hangar-bridge" beside the module's .so (or hangar_bridge),
 * started through an intermediate process so that it is not our child
 * (nginx reaps a worker's children itself); it reports on fd 3.
 */

ngx_int_t
ngx_http_hangar_spawn(ngx_http_hangar_job_t *job)
{
    int                        fds[2], devnull, sig;
    char                     **argv, **envp;
    u_char                    *p;
    ngx_str_t                  sock, status, home;
    ngx_uint_t                 i, n, k;
    ngx_pid_t                  pid;
    sigset_t                   set;
    Dl_info                    info;
    ngx_connection_t          *c;
    ngx_http_hangar_pair_t    *pair;
    ngx_http_hangar_value_t   *cmd, *env, *img, *args, **items;

    static char  path_env[] =
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    if (ngx_http_hangar_bridge_path.len == 0) {
        if (dladdr(ngx_http_hangar_self, &info) == 0 || info.dli_fname == NULL)
        {
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
    }

    if (ngx_http_hangar_run_path(job->pool, &job->reg->hmcf->state_dir,
                                 job->id.data, job->id.len, job->bridge_seq,
                                 "sock", &sock)
        != NGX_OK
        || ngx_http_hangar_run_path(job->pool, &job->reg->hmcf->state_dir,
                                    job->id.data, job->id.len,
                                    job->bridge_seq, "json", &status)
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
    envp = ngx_pcalloc(job->pool, (n + 4) * sizeof(char *));
    if (argv == NULL || envp == NULL) {
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
    argv[k++] = (char *) job->reg->hmcf->state_dir.data;
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

    /* an explicit environment: nothing of nginx's (build-notes §4) */
    home.len = job->reg->hmcf->state_dir.len + sizeof("HOME=/home");
    home.data = ngx_pnalloc(job->pool, home.len);
    if (home.data == NULL) {
        return NGX_ERROR;
    }
    ngx_sprintf(home.data, "HOME=%V/home%Z", &job->reg->hmcf->state_dir);

    k = 0;
    envp[k++] = path_env;
    envp[k++] = (char *) home.data;
    envp[k++] = "MCP_TRANSPORT=stdio";
    envp[k++] = "LANG=C.UTF-8";

    if (ngx_http_hangar_is(env, NGX_HTTP_HANGAR_OBJ)) {
        pair = env->u.obj.elts;

        for (i = 0; i < env->u.obj.nelts; i++) {
            p = ngx_pnalloc(job->pool, pair[i].key.len
                                       + pair[i].value->u.s.len + 2);
            if (p == NULL) {
                return NGX_ERROR;
            }
            ngx_sprintf(p, "%V=%V%Z", &pair[i].key, &pair[i].value->u.s);
            envp[k++] = (char *) p;
        }
    }

    if (pipe2(fds, O_CLOEXEC) == -1) {
        ngx_http_hangar_job_done(job, 0, "pipe() failed: %s",
                                 strerror(errno));
        return NGX_ERROR;
    }

    pid = fork();

    if (pid == 0) {
        /* intermediate: leaves at once, so the bridge is nobody's child */
        if (fork() != 0) {
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

        dup2(fds[1], 3);
        (void) syscall(SYS_close_range, 4, ~0U, 0);

        execve(argv[0], argv, envp);
        _exit(127);
    }

    close(fds[1]);

    if (pid == -1) {
        close(fds[0]);
        ngx_http_hangar_job_done(job, 0, "fork() failed: %s",
                                 strerror(errno));
        return NGX_ERROR;
    }

    (void) waitpid(pid, NULL, 0);

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


/* the status file a bridge keeps of its run; NULL when there is none */

ngx_http_hangar_value_t *
ngx_http_hangar_run_status(ngx_pool_t *pool, ngx_http_hangar_registry_t *reg,
    u_char *id, size_t len, ngx_uint_t seq)
{
    u_char                   *name;
    ngx_http_hangar_value_t  *st;

    name = ngx_pnalloc(pool, len + NGX_INT_T_LEN + sizeof("run/..json"));
    if (name == NULL) {
        return NULL;
    }

    ngx_sprintf(name, "run/%*s.%ui.json%Z", len, id, seq);

    st = NULL;

    if (ngx_http_hangar_file_read(pool, &reg->hmcf->state_dir, (char *) name,
                                  pool->log, &st)
        != NGX_OK)
    {
        return NULL;
    }

    return st;
}
