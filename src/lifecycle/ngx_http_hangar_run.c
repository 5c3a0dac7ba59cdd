
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * What runs of stdio servers leave behind them: the master stops every
 * bridge at nginx -s quit|stop and, at a fresh start, what an nginx
 * killed with SIGKILL left (through the status files in run/); the kill
 * of what is left of a dead bridge's session; the status of a run and
 * the log kept of a server across runs (see ngx_http_hangar_proc.c for
 * the files).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hangar_run.h"
#include "ngx_http_hangar_state_load.h"


#define NGX_HTTP_HANGAR_KEPT_READ   (1024 * 1024)
#define NGX_HTTP_HANGAR_KEPT_LINES  1000


static ngx_uint_t ngx_http_hangar_bridge_of(ngx_pid_t pid, u_char *status);
static void ngx_http_hangar_kept_tail(ngx_pool_t *pool, ngx_str_t *state_dir,
    u_char *id, size_t len, ngx_http_hangar_value_t *st);


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

    /* a bridge that did not stop in time: nothing of it outlives nginx */
    for (k = 0; k < n; k++) {
        if (ngx_http_hangar_alive(pids[k])) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "hangar: bridge %P did not stop in 5 s, killed",
                          pids[k]);
            (void) kill(pids[k], SIGKILL);
        }
    }

    ngx_http_hangar_kill_sessions(pids, n);
}


/*
 * At a fresh start (not a reload), in the master: what an nginx killed
 * with SIGKILL left is found through the status files in run/.  Live
 * bridges are stopped (each stops its server's group), what is left of
 * their sessions is killed, and run/ is emptied: the registry starts
 * afresh.  The status of each run is kept as logs/<id>.json.
 */

void
ngx_http_hangar_lifecycle_reap(ngx_http_hangar_registry_t *reg,
    ngx_log_t *log)
{
    u_char                   *name, *dot;
    size_t                    len;
    ngx_str_t                 dir, path, keep;
    ngx_dir_t                 d;
    ngx_uint_t                i, n, alive;
    ngx_pool_t               *pool;
    ngx_pid_t                 sids[256];
    ngx_http_hangar_value_t  *st, *v;

    pool = ngx_create_pool(4096, log);
    if (pool == NULL) {
        return;
    }

    dir.len = reg->hmcf->state_dir.len + sizeof("/run") - 1;
    dir.data = ngx_pnalloc(pool, dir.len + 1);

    if (dir.data == NULL) {
        goto done;
    }

    ngx_sprintf(dir.data, "%V/run%Z", &reg->hmcf->state_dir);

    if (ngx_open_dir(&dir, &d) == NGX_ERROR) {
        goto done;
    }

    n = 0;

    while (ngx_read_dir(&d) == NGX_OK) {
        len = ngx_de_namelen(&d);
        name = ngx_de_name(&d);

        if (name[0] == '.') {
            continue;
        }

        path.len = dir.len + 1 + len;
        path.data = ngx_pnalloc(pool, path.len + 1);
        if (path.data == NULL) {
            break;
        }

        ngx_sprintf(path.data, "%V/%s%Z", &dir, name);

        if (len < 6 || ngx_strcmp(name + len - 5, ".json") != 0) {
            /* sockets and temporary files of earlier runs */
            (void) ngx_delete_file(path.data);
            continue;
        }

        st = NULL;
        (void) ngx_http_hangar_file_read(pool, &dir, (char *) name, log, &st);

        v = ngx_http_hangar_get(st, "bridge_pid");

        if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) && v->u.i > 1
            && n < 256)
        {
            sids[n++] = (ngx_pid_t) v->u.i;

            /* "/<id>.<seq>.json" (whatever the spelling of the dir) */
            if (ngx_http_hangar_bridge_of(sids[n - 1],
                                          path.data + dir.len))
            {
                ngx_log_error(NGX_LOG_NOTICE, log, 0,
                              "hangar: stopping bridge %P left running by "
                              "an nginx that did not stop (%s)",
                              sids[n - 1], name);
                (void) kill(sids[n - 1], SIGTERM);

            } else if (ngx_http_hangar_alive(sids[n - 1])) {
                /* the pid is another bridge's now */
                n--;
            }
        }

        /* "<id>.<seq>.json": the run's status is kept as logs/<id>.json */
        dot = (u_char *) ngx_strchr(name, '.');
        keep.data = ngx_pnalloc(pool, reg->hmcf->state_dir.len + len
                                      + sizeof("/logs/.json"));

        if (dot && keep.data) {
            ngx_sprintf(keep.data, "%V/logs/%*s.json%Z",
                        &reg->hmcf->state_dir, dot - name, name);

            if (ngx_rename_file(path.data, keep.data) != NGX_FILE_ERROR) {
                continue;
            }
        }

        (void) ngx_delete_file(path.data);
    }

    ngx_close_dir(&d);

    /* each bridge gives its server a grace period; then no mercy */
    for (i = 0; i < 100; i++) {
        for (alive = 0, len = 0; len < n; len++) {
            alive += ngx_http_hangar_alive(sids[len]) ? 1 : 0;
        }

        if (alive == 0) {
            break;
        }

        ngx_msleep(50);
    }

    for (len = 0; len < n; len++) {
        if (ngx_http_hangar_alive(sids[len])) {
            (void) kill(sids[len], SIGKILL);
        }
    }

    ngx_http_hangar_kill_sessions(sids, n);

done:

    ngx_destroy_pool(pool);
}


/* the bridge of this run: its command line names the run's status file */

static ngx_uint_t
ngx_http_hangar_bridge_of(ngx_pid_t pid, u_char *status)
{
    int      fd;
    char     path[64];
    u_char   buf[8192], *p, *last;
    size_t   len;
    ssize_t  n;

    if (!ngx_http_hangar_alive(pid)) {
        return 0;
    }

    ngx_sprintf((u_char *) path, "/proc/%P/cmdline%Z", pid);

    fd = open(path, O_RDONLY);
    if (fd == -1) {
        return 0;
    }

    n = read(fd, buf, sizeof(buf));
    close(fd);

    if (n <= 0) {
        return 0;
    }

    len = ngx_strlen(status);

    for (p = buf, last = buf + n; p + len <= last; p++) {
        if (ngx_memcmp(p, status, len) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * The status file a bridge keeps of its run, or, once the bridge has
 * ended, the one of the server's last run; NULL when there is none.  Its
 * "stderr_tail" is the end of the kept log (earlier runs included), so
 * that GET /logs shows a crash's last lines after a restart too.
 */

ngx_http_hangar_value_t *
ngx_http_hangar_run_status(ngx_pool_t *pool, ngx_http_hangar_registry_t *reg,
    u_char *id, size_t len, ngx_uint_t seq)
{
    u_char                   *name;
    ngx_int_t                 rc;
    ngx_http_hangar_value_t  *st;

    name = ngx_pnalloc(pool, len + NGX_INT_T_LEN + sizeof("logs/..json"));
    if (name == NULL) {
        return NULL;
    }

    ngx_sprintf(name, "run/%*s.%ui.json%Z", len, id, seq);

    st = NULL;

    rc = ngx_http_hangar_file_read(pool, &reg->hmcf->state_dir, (char *) name,
                                   pool->log, &st);

    if (rc == NGX_DECLINED) {
        ngx_sprintf(name, "logs/%*s.json%Z", len, id);

        rc = ngx_http_hangar_file_read(pool, &reg->hmcf->state_dir,
                                       (char *) name, pool->log, &st);
    }

    if (rc != NGX_OK || !ngx_http_hangar_is(st, NGX_HTTP_HANGAR_OBJ)) {
        return NULL;
    }

    ngx_http_hangar_kept_tail(pool, &reg->hmcf->state_dir, id, len, st);

    return st;
}


/* the stderr lines of logs/<id>.log.1 and .log, the last KEPT_LINES */

static void
ngx_http_hangar_kept_tail(ngx_pool_t *pool, ngx_str_t *state_dir, u_char *id,
    size_t len, ngx_http_hangar_value_t *st)
{
    u_char                   *buf, *p, *last, *eol, *name, *tail, *t;
    off_t                     sizes[2];
    size_t                    size, total;
    ssize_t                   n;
    ngx_fd_t                  fds[2];
    ngx_str_t                 err;
    ngx_uint_t                i, lines;
    ngx_file_info_t           fi;
    ngx_http_hangar_value_t  *v, *stream, *content, **found;

    static const char  *suffix[] = { ".log.1", ".log" };

    name = ngx_pnalloc(pool, state_dir->len + len + sizeof("/logs/.log.1"));
    if (name == NULL) {
        return;
    }

    /* the end of each file, at most KEPT_READ bytes of it */
    total = 0;

    for (i = 0; i < 2; i++) {
        ngx_sprintf(name, "%V/logs/%*s%s%Z", state_dir, len, id, suffix[i]);

        fds[i] = ngx_open_file(name, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
        sizes[i] = 0;

        if (fds[i] != NGX_INVALID_FILE
            && ngx_fd_info(fds[i], &fi) != NGX_FILE_ERROR)
        {
            sizes[i] = ngx_file_size(&fi);
            total += ngx_min(sizes[i], NGX_HTTP_HANGAR_KEPT_READ);
        }
    }

    buf = total ? ngx_pnalloc(pool, total) : NULL;
    found = ngx_palloc(pool, NGX_HTTP_HANGAR_KEPT_LINES * sizeof(void *));
    size = 0;

    for (i = 0; i < 2; i++) {
        if (fds[i] == NGX_INVALID_FILE) {
            continue;
        }

        if (buf && found && sizes[i]) {
            n = ngx_min(sizes[i], NGX_HTTP_HANGAR_KEPT_READ);
            n = pread(fds[i], buf + size, n, sizes[i] - n);
            size += (n > 0) ? n : 0;
        }

        (void) ngx_close_file(fds[i]);
    }

    if (size == 0) {
        return;
    }

    /* the last lines first, into a ring of KEPT_LINES */
    lines = 0;
    total = 0;

    for (p = buf, last = buf + size; p < last; p = eol + 1) {
        eol = ngx_strlchr(p, last, '\n');
        if (eol == NULL) {
            break;
        }

        v = ngx_http_hangar_json_parse(pool, p, eol - p, &err);
        stream = ngx_http_hangar_get(v, "stream");
        content = ngx_http_hangar_get(v, "content");

        if (ngx_http_hangar_is(stream, NGX_HTTP_HANGAR_STR)
            && ngx_http_hangar_is(content, NGX_HTTP_HANGAR_STR)
            && ngx_http_hangar_str_is(&stream->u.s, "stderr"))
        {
            found[lines++ % NGX_HTTP_HANGAR_KEPT_LINES] = content;
        }
    }

    n = ngx_min(lines, NGX_HTTP_HANGAR_KEPT_LINES);

    for (i = lines - n; i < lines; i++) {
        total += found[i % NGX_HTTP_HANGAR_KEPT_LINES]->u.s.len + 1;
    }

    tail = ngx_pnalloc(pool, total + 1);
    if (tail == NULL || n == 0) {
        return;
    }

    t = tail;

    for (i = lines - n; i < lines; i++) {
        content = found[i % NGX_HTTP_HANGAR_KEPT_LINES];

        if (t != tail) {
            *t++ = '\n';
        }

        t = ngx_cpymem(t, content->u.s.data, content->u.s.len);
    }

    (void) ngx_http_hangar_set(pool, st, (u_char *) "stderr_tail", 11,
                               ngx_http_hangar_value_str(pool, tail,
                                                         t - tail));
}
