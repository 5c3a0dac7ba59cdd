
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
#include "ngx_http_hangar_guard.h"


static void ngx_http_hangar_ready_handler(ngx_event_t *rev);
static ngx_int_t ngx_http_hangar_spawn_failed(ngx_http_hangar_spawn_t *sp,
    const char *fmt, ...);
static ngx_int_t ngx_http_hangar_server_paths(ngx_pool_t *pool,
    ngx_str_t *state_dir, ngx_str_t *id, ngx_str_t *cwd, ngx_str_t *keep);
static ngx_int_t ngx_http_hangar_bridge_locate(ngx_http_hangar_spawn_t *sp);
static char **ngx_http_hangar_spawn_env(ngx_pool_t *pool,
    ngx_http_hangar_value_t *env, ngx_str_t *cwd);
static ngx_uint_t ngx_http_hangar_env_add(char **envp, ngx_uint_t k,
    char *var);
static ngx_pid_t ngx_http_hangar_fork_bridge(char **argv, char **envp,
    int fd);
static ngx_int_t ngx_http_hangar_container(ngx_http_hangar_spawn_t *sp,
    char **argv, ngx_uint_t *kp, char **envp);
static const char *ngx_http_hangar_container_runtime(
    ngx_http_hangar_spawn_t *sp, char **envp);
static ngx_uint_t ngx_http_hangar_container_opts(ngx_http_hangar_spawn_t *sp,
    char **argv, ngx_uint_t k);
static ngx_uint_t ngx_http_hangar_which(char **envp, const char *name);
static char *ngx_http_hangar_cstr(ngx_pool_t *pool, const char *fmt, ...);


/*
 * A build runs before the container, in the same process the bridge
 * started (its output goes to stderr: stdout is the MCP channel); the
 * values are arguments, never shell text.
 */
static char  ngx_http_hangar_build_script[] =
    "rt=$1 tag=$2 file=$3 dir=$4; shift 4; "
    "\"$rt\" build -t \"$tag\" -f \"$file\" \"$dir\" >&2 || exit $?; "
    "exec \"$rt\" \"$@\"";


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
    ngx_http_hangar_value_t   *cmd, *env, *args, *vols, **items;

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

    /* the command line: containers run as "docker run -i ..." */
    cmd = ngx_http_hangar_get(sp->spec, "command");
    args = ngx_http_hangar_get(sp->spec, "args");
    env = ngx_http_hangar_get(sp->spec, "env");
    vols = ngx_http_hangar_get(sp->spec, "volumes");

    n = 16 + (cmd ? cmd->u.arr.nelts : 0) + (args ? args->u.arr.nelts : 0)
        + 2 * (env ? env->u.obj.nelts : 0)
        + 2 * (vols ? vols->u.arr.nelts : 0) + 48;

    argv = ngx_pcalloc(sp->pool, (n + 1) * sizeof(char *));
    if (argv == NULL) {
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

    envp = ngx_http_hangar_spawn_env(sp->pool, env, &cwd);
    if (envp == NULL) {
        return NGX_ERROR;
    }

    /* a container's command goes after its image (ngx_http_hangar_run) */
    if (sp->mode == NGX_HTTP_HANGAR_MODE_DOCKER
        && ngx_http_hangar_container(sp, argv, &k, envp) != NGX_OK)
    {
        return NGX_ERROR;
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


/*
 * hangar-core §2.1: <runtime> run --rm -i --network <net> --memory <mem>
 * --cpus <cpu> [--read-only] --tmpfs /tmp:... --cap-drop ALL
 * --security-opt no-new-privileges [--user U] [-v V ...] [-e K ...]
 * --label mcp-hangar.mcp_server-id=<id> <image>; the command and args
 * follow.  "-e K" without a value: the runtime takes the value from its
 * own environment (the server's env is in it), so that no secret is on a
 * command line that ps shows.
 */

static ngx_int_t
ngx_http_hangar_container(ngx_http_hangar_spawn_t *sp, char **argv,
    ngx_uint_t *kp, char **envp)
{
    char                     *image;
    ngx_uint_t                k;
    const char               *rt;
    ngx_http_hangar_value_t  *build, *file, *dir, *tag, *img;

    rt = ngx_http_hangar_container_runtime(sp, envp);
    if (rt == NULL) {
        return NGX_ERROR;
    }

    k = *kp;
    img = ngx_http_hangar_get(sp->spec, "image");
    build = ngx_http_hangar_get(sp->spec, "build");
    file = ngx_http_hangar_get(build, "dockerfile");

    image = img ? (char *) img->u.s.data : NULL;

    if (file) {
        dir = ngx_http_hangar_get(build, "context");
        tag = ngx_http_hangar_get(build, "tag");

        /* the tag: build.tag, else the image, else hangar-<id>:latest */
        if (tag) {
            image = (char *) tag->u.s.data;

        } else if (image == NULL) {
            image = ngx_http_hangar_cstr(sp->pool, "hangar-%V:latest",
                                         &sp->id);
            if (image == NULL) {
                return NGX_ERROR;
            }

            ngx_strlow((u_char *) image, (u_char *) image,
                       ngx_strlen(image));
        }

        argv[k++] = "/bin/sh";
        argv[k++] = "-c";
        argv[k++] = ngx_http_hangar_build_script;
        argv[k++] = "hangar-build";
        argv[k++] = (char *) rt;
        argv[k++] = image;
        argv[k++] = (char *) file->u.s.data;
        argv[k++] = dir ? (char *) dir->u.s.data : ".";

    } else {
        argv[k++] = (char *) rt;
    }

    argv[k++] = "run";
    argv[k++] = "--rm";
    argv[k++] = "-i";

    k = ngx_http_hangar_container_opts(sp, argv, k);
    if (k == 0) {
        return NGX_ERROR;
    }

    argv[k++] = image ? image : "";

    *kp = k;

    return NGX_OK;
}


/* the options of "run"; 0 when out of memory */

static ngx_uint_t
ngx_http_hangar_container_opts(ngx_http_hangar_spawn_t *sp, char **argv,
    ngx_uint_t k)
{
    ngx_uint_t                i;
    ngx_http_hangar_pair_t   *pair;
    ngx_http_hangar_value_t  *v, *res, *mem, *cpu, **items;

    v = ngx_http_hangar_get(sp->spec, "network");
    argv[k++] = "--network";
    argv[k++] = v ? (char *) v->u.s.data : "none";

    res = ngx_http_hangar_get(sp->spec, "resources");
    mem = ngx_http_hangar_get(res, "memory");
    cpu = ngx_http_hangar_get(res, "cpu");

    argv[k++] = "--memory";
    argv[k++] = mem ? (char *) mem->u.s.data : "512m";
    argv[k++] = "--cpus";
    argv[k++] = cpu ? (char *) cpu->u.s.data : "1.0";

    v = ngx_http_hangar_get(sp->spec, "read_only");
    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_BOOL) || v->u.b) {
        argv[k++] = "--read-only";
    }

    argv[k++] = "--tmpfs";
    argv[k++] = "/tmp:rw,noexec,nosuid,size=64m";
    argv[k++] = "--cap-drop";
    argv[k++] = "ALL";
    argv[k++] = "--security-opt";
    argv[k++] = "no-new-privileges";

    v = ngx_http_hangar_get(sp->spec, "user");
    if (v) {
        argv[k++] = "--user";
        argv[k++] = ngx_http_hangar_str_is(&v->u.s, "current")
                    ? ngx_http_hangar_cstr(sp->pool, "%d:%d",
                                           (int) getuid(), (int) getgid())
                    : (char *) v->u.s.data;
    }

    v = ngx_http_hangar_get(sp->spec, "volumes");
    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_ARR)) {
        items = v->u.arr.elts;
        for (i = 0; i < v->u.arr.nelts; i++) {
            argv[k++] = "-v";
            argv[k++] = (char *) items[i]->u.s.data;
        }
    }

    v = ngx_http_hangar_get(sp->spec, "env");
    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_OBJ)) {
        pair = v->u.obj.elts;
        for (i = 0; i < v->u.obj.nelts; i++) {
            argv[k++] = "-e";
            argv[k++] = ngx_http_hangar_cstr(sp->pool, "%V", &pair[i].key);
        }
    }

    argv[k++] = "--label";
    argv[k++] = ngx_http_hangar_cstr(sp->pool, "mcp-hangar.mcp_server-id=%V",
                                     &sp->id);

    for (i = 0; i < k; i++) {
        if (argv[i] == NULL) {
            return 0;
        }
    }

    return k;
}


/*
 * mode podman runs podman; docker and container run MCP_CONTAINER_RUNTIME
 * (docker or podman) when the worker's environment sets it, else docker,
 * else podman: the first in the PATH the server gets.
 */

static const char *
ngx_http_hangar_container_runtime(ngx_http_hangar_spawn_t *sp, char **envp)
{
    char                     *forced;
    ngx_str_t                 name;
    ngx_http_hangar_value_t  *mode;

    mode = ngx_http_hangar_get(sp->spec, "mode");
    forced = getenv("MCP_CONTAINER_RUNTIME");

    if (ngx_http_hangar_is(mode, NGX_HTTP_HANGAR_STR)) {
        name = mode->u.s;

    } else {
        ngx_str_set(&name, "docker");
    }

    if (ngx_http_hangar_str_is(&name, "podman")) {
        forced = "podman";
    }

    if (forced && (ngx_strcmp(forced, "docker") == 0
                   || ngx_strcmp(forced, "podman") == 0))
    {
        if (ngx_http_hangar_which(envp, forced)) {
            return forced;
        }

        (void) ngx_http_hangar_spawn_failed(sp, "mode %V needs the %s "
                                            "command, which is not in PATH",
                                            &name, forced);
        return NULL;
    }

    if (ngx_http_hangar_which(envp, "docker")) {
        return "docker";
    }

    if (ngx_http_hangar_which(envp, "podman")) {
        return "podman";
    }

    (void) ngx_http_hangar_spawn_failed(sp, "mode %V needs the docker or "
                                        "podman command, neither is in PATH",
                                        &name);
    return NULL;
}


/* whether an executable "name" is in the PATH of envp */

static ngx_uint_t
ngx_http_hangar_which(char **envp, const char *name)
{
    u_char   *p, *end, *last;
    u_char    buf[NGX_MAX_PATH];
    size_t    len;

    for ( /* void */ ; *envp; envp++) {
        if (ngx_strncmp(*envp, "PATH=", 5) == 0) {
            break;
        }
    }

    if (*envp == NULL) {
        return 0;
    }

    len = ngx_strlen(name);
    p = (u_char *) *envp + 5;
    last = p + ngx_strlen(p);

    while (p < last) {
        end = ngx_strlchr(p, last, ':');
        if (end == NULL) {
            end = last;
        }

        if (end > p && (size_t) (end - p) + len + 2 < sizeof(buf)) {
            ngx_sprintf(buf, "%*s/%s%Z", (size_t) (end - p), p, name);

            if (access((char *) buf, X_OK) == 0) {
                return 1;
            }
        }

        p = end + 1;
    }

    return 0;
}


static char *
ngx_http_hangar_cstr(ngx_pool_t *pool, const char *fmt, ...)
{
    u_char   *p, *last, buf[NGX_MAX_ERROR_STR];
    va_list   args;

    va_start(args, fmt);
    last = ngx_vslprintf(buf, buf + sizeof(buf) - 1, fmt, args);
    va_end(args);

    p = ngx_pnalloc(pool, last - buf + 1);
    if (p == NULL) {
        return NULL;
    }

    *ngx_cpymem(p, buf, last - buf) = '\0';

    return (char *) p;
}
