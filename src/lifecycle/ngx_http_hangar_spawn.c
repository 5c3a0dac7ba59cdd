
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Spawning a bridge for the start of a stdio server, and reading the one
 * status line it writes when its server runs (or failed to).  The
 * outcome goes to the handler of whoever spawned it (the start job),
 * which goes on with the handshake or ends the start: this code never
 * finishes a job itself.
 *
 * Who reaps whom: a bridge is started through an intermediate process
 * made with clone() and no exit signal, so nginx's SIGCHLD handler (which
 * reaps every child of a worker with waitpid(-1)) never sees it; the
 * bridge is then nobody's child in nginx and init reaps it.  No worker or
 * master is a subreaper.  A bridge's server is the bridge's child, with a
 * parent-death signal; whoever sees a bridge die (through its pidfd) also
 * kills what is left of its session and removes its files.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <sys/syscall.h>
#include <dlfcn.h>
#include "ngx_http_hangar_spawn.h"
#include "ngx_http_hangar_proc.h"


static void ngx_http_hangar_ready_handler(ngx_event_t *rev);
static ngx_int_t ngx_http_hangar_spawn_failed(ngx_http_hangar_spawn_t *sp,
    const char *fmt, ...);
static ngx_int_t ngx_http_hangar_server_paths(ngx_pool_t *pool,
    ngx_str_t *state_dir, ngx_str_t *id, ngx_str_t *cwd, ngx_str_t *keep);
static ngx_int_t ngx_http_hangar_bridge_locate(ngx_http_hangar_spawn_t *sp);
static ngx_int_t ngx_http_hangar_spawn_env(ngx_pool_t *pool,
    ngx_http_hangar_value_t *env, ngx_str_t *cwd, char **envp);
static ngx_pid_t ngx_http_hangar_fork_bridge(char **argv, char **envp,
    int fd);


static ngx_str_t                 ngx_http_hangar_bridge_path;

/* a tiny marker so dladdr() finds the .so, beside which the bridge lives */
static const char  ngx_http_hangar_self[] = "hangar";


/*
 * The bridge: "hangar-bridge" beside the module's .so.  It reports on
 * fd 3; its server runs in <state>/servers/<id>/ and its log lines are
 * kept in <state>/logs/<id>.log.
 */

ngx_int_t
ngx_http_hangar_spawn(ngx_http_hangar_spawn_t *sp)
{
    int                        fds[2];
    char                     **argv, **envp;
    ngx_str_t                  sock, status, cwd, keep, *dir;
    ngx_uint_t                 i, n, k;
    ngx_pid_t                  pid;
    ngx_connection_t          *c;
    ngx_http_hangar_value_t   *cmd, *env, *img, *args, **items;

    if (ngx_http_hangar_bridge_locate(sp) != NGX_OK) {
        return NGX_ERROR;
    }

    dir = sp->state_dir;

    if (ngx_http_hangar_run_path(sp->pool, dir, sp->id.data, sp->id.len,
                                 sp->seq, "sock", &sock)
        != NGX_OK
        || ngx_http_hangar_run_path(sp->pool, dir, sp->id.data, sp->id.len,
                                    sp->seq, "json", &status)
           != NGX_OK
        || ngx_http_hangar_server_paths(sp->pool, dir, &sp->id, &cwd, &keep)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the command line: docker servers run as "docker run -i ..." */
    cmd = ngx_http_hangar_get(sp->spec, "command");
    img = ngx_http_hangar_get(sp->spec, "image");
    args = ngx_http_hangar_get(sp->spec, "args");
    env = ngx_http_hangar_get(sp->spec, "env");

    n = 16 + (cmd ? cmd->u.arr.nelts : 0) + (args ? args->u.arr.nelts : 0)
        + 2 * (env ? env->u.obj.nelts : 0) + 16;

    argv = ngx_pcalloc(sp->pool, (n + 1) * sizeof(char *));
    envp = ngx_pcalloc(sp->pool, (n + 4) * sizeof(char *));
    if (argv == NULL || envp == NULL) {
        return NGX_ERROR;
    }

    k = 0;
    argv[k++] = (char *) ngx_http_hangar_bridge_path.data;
    argv[k++] = "--id";
    argv[k++] = (char *) sp->id.data;
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

    if (sp->mode == NGX_HTTP_HANGAR_MODE_DOCKER) {
        if (access("/usr/bin/docker", X_OK) != 0
            && access("/usr/local/bin/docker", X_OK) != 0)
        {
            return ngx_http_hangar_spawn_failed(sp, "mode docker needs the "
                                                "docker command, which is "
                                                "not installed");
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

    if (ngx_http_hangar_spawn_env(sp->pool, env, &cwd, envp) != NGX_OK) {
        return NGX_ERROR;
    }

    if (pipe2(fds, O_CLOEXEC) == -1) {
        return ngx_http_hangar_spawn_failed(sp, "pipe() failed: %s",
                                            strerror(errno));
    }

    pid = ngx_http_hangar_fork_bridge(argv, envp, fds[1]);

    close(fds[1]);

    if (pid == -1) {
        close(fds[0]);
        return ngx_http_hangar_spawn_failed(sp, "fork() failed: %s",
                                            strerror(errno));
    }

    sp->status = ngx_create_temp_buf(sp->pool, 65536);
    c = ngx_get_connection(fds[0], sp->log);

    if (sp->status == NULL || c == NULL) {
        close(fds[0]);
        return ngx_http_hangar_spawn_failed(sp, "out of memory");
    }

    (void) ngx_nonblocking(fds[0]);

    c->data = sp;
    c->read->handler = ngx_http_hangar_ready_handler;
    c->read->log = sp->log;
    c->write->log = sp->log;
    sp->ready = c;

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        return ngx_http_hangar_spawn_failed(sp, "epoll failed");
    }

    return NGX_OK;
}


/*
 * An explicit environment: nothing of nginx's (build-notes §4); HOME is
 * the server's own directory.
 */

static ngx_int_t
ngx_http_hangar_spawn_env(ngx_pool_t *pool, ngx_http_hangar_value_t *env,
    ngx_str_t *cwd, char **envp)
{
    u_char                  *p;
    ngx_uint_t               i, k;
    ngx_http_hangar_pair_t  *pair;

    static char  path_env[] =
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    p = ngx_pnalloc(pool, cwd->len + sizeof("HOME="));
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(p, "HOME=%V%Z", cwd);

    k = 0;
    envp[k++] = path_env;
    envp[k++] = (char *) p;
    envp[k++] = "MCP_TRANSPORT=stdio";
    envp[k++] = "LANG=C.UTF-8";

    if (!ngx_http_hangar_is(env, NGX_HTTP_HANGAR_OBJ)) {
        return NGX_OK;
    }

    pair = env->u.obj.elts;

    for (i = 0; i < env->u.obj.nelts; i++) {
        p = ngx_pnalloc(pool, pair[i].key.len + pair[i].value->u.s.len + 2);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(p, "%V=%V%Z", &pair[i].key, &pair[i].value->u.s);
        envp[k++] = (char *) p;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_bridge_locate(ngx_http_hangar_spawn_t *sp)
{
    size_t    n;
    u_char   *p;
    Dl_info   info;

    if (ngx_http_hangar_bridge_path.len) {
        return NGX_OK;
    }

    if (dladdr(ngx_http_hangar_self, &info) == 0 || info.dli_fname == NULL) {
        return ngx_http_hangar_spawn_failed(sp, "cannot locate "
                                            "hangar-bridge");
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
    ngx_http_hangar_spawn_t  *sp;
    ngx_http_hangar_value_t  *st, *state, *v;

    c = rev->data;
    sp = c->data;
    b = sp->status;

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
    sp->ready = NULL;

    st = ngx_http_hangar_json_parse(sp->pool, b->pos, b->last - b->pos,
                                    &err);
    state = ngx_http_hangar_get(st, "state");

    if (!ngx_http_hangar_is(state, NGX_HTTP_HANGAR_STR)) {
        (void) ngx_http_hangar_spawn_failed(sp, "hangar-bridge could not be "
                                            "run (%V)",
                                            &ngx_http_hangar_bridge_path);
        return;
    }

    v = ngx_http_hangar_get(st, "bridge_pid");
    sp->bridge_pid = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) ? v->u.i : 0;
    v = ngx_http_hangar_get(st, "server_pid");
    sp->server_pid = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) ? v->u.i : 0;

    if (ngx_http_hangar_str_is(&state->u.s, "ready")) {
        sp->handler(sp, NGX_OK, NULL);
        return;
    }

    /* the bridge's own account: exit code and stderr tail */
    text.data = b->pos;
    text.len = b->last - b->pos;

    sp->handler(sp, NGX_DECLINED, &text);
}


/* a spawn that failed: the handler learns why */

static ngx_int_t
ngx_http_hangar_spawn_failed(ngx_http_hangar_spawn_t *sp, const char *fmt,
    ...)
{
    u_char     *p, buf[NGX_MAX_ERROR_STR];
    va_list     args;
    ngx_str_t   text;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    text.data = buf;
    text.len = p - buf;

    sp->handler(sp, NGX_ERROR, &text);

    return NGX_ERROR;
}
