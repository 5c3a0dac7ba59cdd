
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Processes of runs, at the bottom of the lifecycle: what /proc tells of
 * a pid, the signals that stop a bridge and what is left of its session,
 * and the names of a run's files.
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
#include <ngx_md5.h>
#include <sys/un.h>
#include "ngx_http_hangar_proc.h"


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


/*
 * Every process still in the sessions of these (dead) bridges: a server
 * that ignored the end of its stdin, its children.  A bridge is the
 * leader of its session; while a process with the leader's pid runs, the
 * number is another process's (pids are reused) and its session is not
 * ours: it is left alone.
 */

void
ngx_http_hangar_kill_sessions(ngx_pid_t *sids, ngx_uint_t n)
{
    u_char                   st;
    ngx_dir_t                d;
    ngx_str_t                proc;
    ngx_pid_t                pid, dead[256];
    ngx_uint_t               i, k;
    ngx_http_hangar_pstat_t  ps;

    for (i = 0, k = 0; i < n && k < 256; i++) {
        st = ngx_http_hangar_proc_stat(sids[i], &ps);

        if (st == 0 || st == 'Z' || st == 'X') {
            dead[k++] = sids[i];
        }
    }

    if (k == 0) {
        return;
    }

    ngx_str_set(&proc, "/proc");

    if (ngx_open_dir(&proc, &d) == NGX_ERROR) {
        return;
    }

    while (ngx_read_dir(&d) == NGX_OK) {
        pid = ngx_atoi(ngx_de_name(&d), ngx_de_namelen(&d));
        if (pid <= 1) {
            continue;
        }

        st = ngx_http_hangar_proc_stat(pid, &ps);
        if (st == 0 || st == 'Z' || st == 'X') {
            continue;
        }

        for (i = 0; i < k; i++) {
            if (ps.sid == dead[i] && pid != dead[i]) {
                (void) kill(pid, SIGKILL);
            }
        }
    }

    ngx_close_dir(&d);
}


/* where a server's bridge keeps its socket and status */

ngx_int_t
ngx_http_hangar_run_path(ngx_pool_t *pool, ngx_str_t *state_dir, u_char *id,
    size_t len, ngx_uint_t seq, const char *ext, ngx_str_t *path)
{
    u_char     *p, key[NGX_HTTP_HANGAR_ID_MAX + NGX_INT_T_LEN + 1];
    u_char      md5[16];
    ngx_md5_t   ctx;

    /* each run has its own names: an old bridge never removes a new socket */
    path->data = ngx_pnalloc(pool, state_dir->len + len + NGX_INT_T_LEN
                                   + ngx_strlen(ext) + sizeof("/run/..."));
    if (path->data == NULL) {
        return NGX_ERROR;
    }

    if (ngx_strcmp(ext, "sock") == 0) {
        /*
         * a socket's path must fit in sun_path whatever the id:
         * "<state>/run/<16 hex>.sock" (ngx_http_hangar_proc_check())
         */
        p = ngx_snprintf(key, sizeof(key), "%*s.%ui",
                         ngx_min(len, NGX_HTTP_HANGAR_ID_MAX), id, seq);
        ngx_md5_init(&ctx);
        ngx_md5_update(&ctx, key, p - key);
        ngx_md5_final(md5, &ctx);

        p = ngx_sprintf(path->data, "%V/run/", state_dir);
        p = ngx_hex_dump(p, md5, 8);
        p = ngx_cpymem(p, ".sock", 5);

    } else {
        p = ngx_sprintf(path->data, "%V/run/%*s.%ui.%s", state_dir, len, id,
                        seq, ext);
    }

    path->len = p - path->data;
    *p = '\0';

    return NGX_OK;
}
