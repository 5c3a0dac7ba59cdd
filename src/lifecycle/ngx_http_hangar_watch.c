
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Watching bridges: every worker watches every bridge with a pidfd, so
 * that a server that exits is seen at once.  The crash goes to the state
 * machine; what is left of a killed bridge's session is killed, its
 * socket removed, and its exit status told once the kernel has it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include "ngx_http_hangar_watch.h"
#include "ngx_http_hangar_machine.h"
#include "ngx_http_hangar_proc.h"
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


static ngx_http_hangar_watch_t   ngx_http_hangar_watches[
                                     NGX_HTTP_HANGAR_MAX_WATCH];
static ngx_uint_t                ngx_http_hangar_nwatches;
static ngx_http_hangar_dead_t    ngx_http_hangar_dead[
                                     NGX_HTTP_HANGAR_MAX_DEAD];
static ngx_uint_t                ngx_http_hangar_ndead;


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
