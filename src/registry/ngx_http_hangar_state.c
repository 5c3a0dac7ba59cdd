
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The durable overlay: every server created, changed or deleted through
 * the API is kept in <hangar_state>/hangar-state.json and laid over the
 * declared fleet at every start and reload.  The file is rewritten whole
 * (temp file, fsync, rename, fsync of the directory) before the API
 * answers; a failed write changes nothing.
 *
 *   {"version":1,"mcp_servers":{"<id>":{<spec>},...},"deleted":["<id>"]}
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_state.h"
#include "ngx_http_hangar_state_doc.h"
#include "ngx_http_hangar_registry.h"
#if (NGX_THREADS)
#include <ngx_thread_pool.h>
#endif


/* how long a change waits for the state lock before a 503 */
#define NGX_HTTP_HANGAR_STATE_WAIT  10000


typedef struct {
    u_char                      *path;
    u_char                      *tmp;
    u_char                      *dir;
    ngx_str_t                    text;
    ngx_err_t                    err;
    const char                  *what;      /* failed step, NULL: written */
} ngx_http_hangar_write_t;


static void ngx_http_hangar_write_run(ngx_http_hangar_write_t *w);
static ngx_int_t ngx_http_hangar_write_init(ngx_pool_t *pool, ngx_str_t *dir,
    const char *name, ngx_str_t *text, ngx_http_hangar_write_t *w);
static ngx_int_t ngx_http_hangar_write_result(ngx_pool_t *pool,
    ngx_str_t *dir, ngx_http_hangar_write_t *w, ngx_log_t *log,
    ngx_str_t *errmsg);
static void ngx_http_hangar_state_wait_handler(ngx_event_t *ev);
static void ngx_http_hangar_state_cleanup(void *data);
static ngx_int_t ngx_http_hangar_state_write(ngx_http_hangar_state_op_t *op);
#if (NGX_THREADS)
static void ngx_http_hangar_state_hold(ngx_event_t *ev);
static void ngx_http_hangar_state_task(void *data, ngx_log_t *log);
static void ngx_http_hangar_state_task_done(ngx_event_t *ev);
#endif
static ngx_int_t ngx_http_hangar_state_complete(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_state_flags_prepare(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_state_flags_done(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_state_render(ngx_http_hangar_state_op_t *op);
static ngx_uint_t ngx_http_hangar_state_changed(
    ngx_http_hangar_state_op_t *op, u_char *id, size_t len);
static ngx_int_t ngx_http_hangar_state_render_servers(
    ngx_http_hangar_state_op_t *op, ngx_http_hangar_out_t *out,
    ngx_array_t *decl);
static void ngx_http_hangar_set_init(ngx_http_hangar_set_t *set);
static ngx_http_hangar_item_t *ngx_http_hangar_set_find(
    ngx_http_hangar_set_t *set, ngx_str_t *key);
static ngx_http_hangar_item_t *ngx_http_hangar_set_item(
    ngx_http_hangar_registry_t *reg, ngx_str_t *key);
static void ngx_http_hangar_set_insert(ngx_http_hangar_set_t *set,
    ngx_http_hangar_item_t *item);
static void ngx_http_hangar_set_remove(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_set_t *set, ngx_http_hangar_item_t *item);
static ngx_uint_t ngx_http_hangar_set_match(ngx_http_hangar_item_t *item,
    ngx_str_t *key, ngx_uint_t prefix);
static void ngx_http_hangar_state_set_commit(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc);
static ngx_int_t ngx_http_hangar_state_set_copy(
    ngx_http_hangar_state_op_t *op, ngx_http_hangar_set_t *set,
    ngx_array_t *keys);
static ngx_int_t ngx_http_hangar_state_keys_dup(ngx_pool_t *pool,
    ngx_array_t *keys);
static void ngx_http_hangar_state_keys_out(ngx_http_hangar_out_t *out,
    ngx_array_t *keys, ngx_uint_t withdrawals);
static ngx_int_t ngx_http_hangar_state_blocked(ngx_http_hangar_state_op_t *op,
    ngx_array_t *ids);
static ngx_int_t ngx_http_hangar_state_overlay_out(
    ngx_http_hangar_state_op_t *op, ngx_http_hangar_out_t *out, ngx_str_t *id,
    ngx_str_t *text, ngx_uint_t *first);


ngx_int_t
ngx_http_hangar_state_path(ngx_pool_t *pool, ngx_str_t *dir, const char *name,
    ngx_str_t *path)
{
    path->len = dir->len + 1 + ngx_strlen(name);
    path->data = ngx_pnalloc(pool, path->len + 1);
    if (path->data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(path->data, "%V/%s%Z", dir, name);

    return NGX_OK;
}


/*
 * dir/name, whole or not at all: temp file, fsync, rename, fsync dir.
 * No logging and no allocation here: this runs in a thread of the pool.
 */

static void
ngx_http_hangar_write_run(ngx_http_hangar_write_t *w)
{
    u_char    *p;
    size_t     len;
    ssize_t    n;
    ngx_fd_t   fd;

    w->what = "open";
    fd = ngx_open_file(w->tmp, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE, 0600);
    if (fd == NGX_INVALID_FILE) {
        w->err = ngx_errno;
        return;
    }

    /* a short write is followed by one that says why (ENOSPC...) */
    w->what = "write";
    p = w->text.data;
    len = w->text.len;

    while (len) {
        n = write(fd, p, len);

        if (n == -1) {
            if (ngx_errno == NGX_EINTR) {
                continue;
            }

            goto failed;
        }

        if (n == 0) {
            ngx_set_errno(NGX_ENOSPC);
            goto failed;
        }

        p += n;
        len -= n;
    }

    w->what = "fsync";
    if (fsync(fd) == -1) {
        goto failed;
    }

    w->what = "close";
    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        w->err = ngx_errno;
        (void) ngx_delete_file(w->tmp);
        return;
    }

    w->what = "rename";
    if (ngx_rename_file(w->tmp, w->path) == NGX_FILE_ERROR) {
        w->err = ngx_errno;
        (void) ngx_delete_file(w->tmp);
        return;
    }

    /* the rename itself must reach the disk */
    fd = ngx_open_file(w->dir, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd != NGX_INVALID_FILE) {
        (void) fsync(fd);
        (void) ngx_close_file(fd);
    }

    w->what = NULL;
    return;

failed:

    w->err = ngx_errno;
    (void) ngx_close_file(fd);
    (void) ngx_delete_file(w->tmp);
}


static ngx_int_t
ngx_http_hangar_write_init(ngx_pool_t *pool, ngx_str_t *dir, const char *name,
    ngx_str_t *text, ngx_http_hangar_write_t *w)
{
    u_char     *tmpname;
    ngx_str_t   path, tmp;

    tmpname = ngx_pnalloc(pool, ngx_strlen(name) + sizeof(".tmp"));
    if (tmpname == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(tmpname, "%s.tmp%Z", name);

    if (ngx_http_hangar_state_path(pool, dir, name, &path) != NGX_OK
        || ngx_http_hangar_state_path(pool, dir, (char *) tmpname, &tmp)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    w->dir = ngx_pnalloc(pool, dir->len + 1);
    if (w->dir == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(w->dir, dir->data, dir->len + 1);

    w->path = path.data;
    w->tmp = tmp.data;
    w->text = *text;
    w->err = 0;
    w->what = NULL;

    return NGX_OK;
}


/* the outcome of a write, logged and put in words for the client */

static ngx_int_t
ngx_http_hangar_write_result(ngx_pool_t *pool, ngx_str_t *dir,
    ngx_http_hangar_write_t *w, ngx_log_t *log, ngx_str_t *errmsg)
{
    u_char  *p;

    if (w->what == NULL) {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_ERR, log, w->err, "hangar: %s \"%s\" failed",
                  w->what, w->tmp);

    p = ngx_pnalloc(pool, NGX_MAX_ERROR_STR);
    if (p != NULL) {
        errmsg->data = p;
        errmsg->len = ngx_snprintf(p, NGX_MAX_ERROR_STR,
                                   "could not save the change in \"%V\" "
                                   "(%s: %s); nothing was changed",
                                   dir, w->what, strerror(w->err))
                      - p;
    }

    return NGX_ERROR;
}


/* a synchronous write: catalogs, and state writes without a thread pool */

ngx_int_t
ngx_http_hangar_file_write(ngx_pool_t *pool, ngx_str_t *dir, const char *name,
    ngx_str_t *text, ngx_log_t *log, ngx_str_t *errmsg)
{
    ngx_http_hangar_write_t  w;

    if (ngx_http_hangar_write_init(pool, dir, name, text, &w) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_hangar_write_run(&w);

    return ngx_http_hangar_write_result(pool, dir, &w, log, errmsg);
}


/*
 * The durable-write path.  The state lock is taken without sleeping: a
 * change that finds it held waits on a timer, and the worker serves other
 * requests meanwhile.  A worker that died holding it is found by its pid.
 */

ngx_int_t
ngx_http_hangar_state_run(ngx_http_hangar_state_op_t *op)
{
    ngx_int_t            rc;
    ngx_atomic_int_t     pid;
    ngx_pool_cleanup_t  *cln;
    ngx_http_hangar_registry_t  *reg;

    reg = op->reg;

    if (op->deadline == 0) {
        op->deadline = ngx_current_msec + NGX_HTTP_HANGAR_STATE_WAIT;

        cln = ngx_pool_cleanup_add(op->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        cln->handler = ngx_http_hangar_state_cleanup;
        cln->data = op;
    }

    if (!ngx_shmtx_trylock(&reg->state_mutex)) {
        pid = (ngx_atomic_int_t) *reg->state_mutex.lock;

        if (pid && pid != ngx_pid && kill((ngx_pid_t) pid, 0) == -1
            && ngx_errno == NGX_ESRCH)
        {
            ngx_log_error(NGX_LOG_WARN, op->log, 0,
                          "hangar: state lock held by dead process %A, "
                          "freed", pid);
            (void) ngx_shmtx_force_unlock(&reg->state_mutex, (ngx_pid_t) pid);
        }

        if (!ngx_shmtx_trylock(&reg->state_mutex)) {

            if ((ngx_msec_int_t) (ngx_current_msec - op->deadline) >= 0) {
                rc = NGX_HTTP_HANGAR_STATE_BUSY;

                if (op->async && op->done) {
                    (void) op->done(op, rc);
                }

                return rc;
            }

            op->wait.handler = ngx_http_hangar_state_wait_handler;
            op->wait.data = op;
            op->wait.log = op->log;
            ngx_add_timer(&op->wait, 2);

            op->async = 1;

            return NGX_AGAIN;
        }
    }

    op->locked = 1;

    rc = op->prepare(op, NGX_OK);

    if (rc == NGX_OK) {
        rc = ngx_http_hangar_state_render(op);

        if (rc == NGX_OK) {
            rc = ngx_http_hangar_state_write(op);

            if (rc == NGX_AGAIN) {
                return NGX_AGAIN;
            }
        }
    }

    return ngx_http_hangar_state_complete(op, rc);
}


static void
ngx_http_hangar_state_wait_handler(ngx_event_t *ev)
{
    (void) ngx_http_hangar_state_run(ev->data);
}


static void
ngx_http_hangar_state_cleanup(void *data)
{
    ngx_http_hangar_state_op_t  *op = data;

    if (op->wait.timer_set) {
        ngx_del_timer(&op->wait);
    }
}


static ngx_int_t
ngx_http_hangar_state_write(ngx_http_hangar_state_op_t *op)
{
    ngx_http_hangar_write_t  *w;
#if (NGX_THREADS)
    ngx_thread_task_t        *task;
#endif

#if (NGX_THREADS)

    if (op->reg->hmcf->thread_pool) {
        task = ngx_thread_task_alloc(op->pool,
                                     sizeof(ngx_http_hangar_write_t));
        if (task == NULL) {
            return NGX_ERROR;
        }

        w = task->ctx;

        if (ngx_http_hangar_write_init(op->pool, &op->reg->hmcf->state_dir,
                                       NGX_HTTP_HANGAR_STATE_FILE, &op->text,
                                       w)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        task->handler = ngx_http_hangar_state_task;
        task->event.handler = ngx_http_hangar_state_task_done;
        task->event.data = op;
        task->event.log = op->log;

        if (ngx_thread_task_post(op->reg->hmcf->thread_pool, task) != NGX_OK)
        {
            return NGX_ERROR;
        }

        op->task = w;
        op->async = 1;

        /*
         * A timer that is not cancelable holds an exiting worker (reload,
         * quit) until the write is done and the request answered.
         */
        op->wait.handler = ngx_http_hangar_state_hold;
        op->wait.data = op;
        op->wait.log = op->log;
        op->wait.cancelable = 0;
        ngx_add_timer(&op->wait, 10000);

        /* the request stays while the thread works for it */
        if (op->r) {
            op->r->main->blocked++;
        }

        return NGX_AGAIN;
    }

#endif

    /* no thread pool: the write blocks this worker while it runs */

    w = ngx_palloc(op->pool, sizeof(ngx_http_hangar_write_t));
    if (w == NULL
        || ngx_http_hangar_write_init(op->pool, &op->reg->hmcf->state_dir,
                                      NGX_HTTP_HANGAR_STATE_FILE, &op->text,
                                      w)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_hangar_write_run(w);

    return ngx_http_hangar_write_result(op->pool, &op->reg->hmcf->state_dir,
                                        w, op->log, &op->errmsg);
}


#if (NGX_THREADS)

static void
ngx_http_hangar_state_hold(ngx_event_t *ev)
{
    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "hangar: the state file is still being written");

    ngx_add_timer(ev, 10000);
}


static void
ngx_http_hangar_state_task(void *data, ngx_log_t *log)
{
    ngx_http_hangar_write_run(data);
}


static void
ngx_http_hangar_state_task_done(ngx_event_t *ev)
{
    ngx_int_t                    rc;
    ngx_http_hangar_state_op_t  *op;

    op = ev->data;

    if (op->wait.timer_set) {
        ngx_del_timer(&op->wait);
    }

    if (op->r) {
        op->r->main->blocked--;
    }

    rc = ngx_http_hangar_write_result(op->pool, &op->reg->hmcf->state_dir,
                                      op->task, op->log, &op->errmsg);

    (void) ngx_http_hangar_state_complete(op, rc);
}

#endif


/* the write is over (rc): the reserve is linked in or released */

static ngx_int_t
ngx_http_hangar_state_complete(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_http_hangar_registry_t  *reg;

    reg = op->reg;

    if (op->text.len) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, op->log, 0,
                       "hangar: state file written, %uz bytes, rc %i",
                       op->text.len, rc);
    }

    ngx_http_hangar_state_set_commit(op, rc);
    ngx_http_hangar_state_doc_commit(op, rc);

    if (op->commit) {
        rc = op->commit(op, rc);
    }

    op->locked = 0;
    ngx_http_hangar_state_unlock(reg);

    if (op->async && op->done) {
        (void) op->done(op, rc);
    }

    return rc;
}


/*
 * A save with no pending change of its own, when the blocked flags
 * changed in memory (a start lifts a block).  It runs on its own: the
 * request that asked does not wait for it.
 */

void
ngx_http_hangar_state_flags(ngx_http_hangar_registry_t *reg, ngx_log_t *log)
{
    ngx_pool_t                  *pool;
    ngx_http_hangar_state_op_t  *op;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    op = ngx_pcalloc(pool, sizeof(ngx_http_hangar_state_op_t));
    if (op == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    op->reg = reg;
    op->pool = pool;
    op->log = ngx_cycle->log;
    op->prepare = ngx_http_hangar_state_flags_prepare;
    op->done = ngx_http_hangar_state_flags_done;

    if (ngx_http_hangar_state_run(op) != NGX_AGAIN) {
        ngx_destroy_pool(pool);
    }
}


static ngx_int_t
ngx_http_hangar_state_flags_prepare(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc)
{
    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_state_flags_done(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_destroy_pool(op->pool);
    return rc;
}


/*
 * The sets.  Every function here but the lookups for readers is called
 * with the slab mutex held; none of them renders or parses anything.
 */

static void
ngx_http_hangar_set_init(ngx_http_hangar_set_t *set)
{
    ngx_rbtree_init(&set->rbtree, &set->sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&set->queue);
    set->count = 0;
}


static ngx_http_hangar_item_t *
ngx_http_hangar_set_find(ngx_http_hangar_set_t *set, ngx_str_t *key)
{
    return (ngx_http_hangar_item_t *)
               ngx_str_rbtree_lookup(&set->rbtree, key,
                                     ngx_crc32_short(key->data, key->len));
}


static ngx_http_hangar_item_t *
ngx_http_hangar_set_item(ngx_http_hangar_registry_t *reg, ngx_str_t *key)
{
    ngx_http_hangar_item_t  *item;

    item = ngx_slab_alloc_locked(reg->shpool,
                                 offsetof(ngx_http_hangar_item_t, data)
                                 + key->len);
    if (item == NULL) {
        return NULL;
    }

    ngx_memcpy(item->data, key->data, key->len);
    item->sn.str.data = item->data;
    item->sn.str.len = key->len;
    item->sn.node.key = ngx_crc32_short(key->data, key->len);

    return item;
}


static void
ngx_http_hangar_set_insert(ngx_http_hangar_set_t *set,
    ngx_http_hangar_item_t *item)
{
    ngx_rbtree_insert(&set->rbtree, &item->sn.node);
    ngx_queue_insert_tail(&set->queue, &item->queue);
    set->count++;
}


static void
ngx_http_hangar_set_remove(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_set_t *set, ngx_http_hangar_item_t *item)
{
    ngx_rbtree_delete(&set->rbtree, &item->sn.node);
    ngx_queue_remove(&item->queue);
    set->count--;

    ngx_slab_free_locked(reg->shpool, item);
}


/* an item matches the op's removal: its key, or every key it starts */

static ngx_uint_t
ngx_http_hangar_set_match(ngx_http_hangar_item_t *item, ngx_str_t *key,
    ngx_uint_t prefix)
{
    if (prefix) {
        return item->sn.str.len >= key->len
               && ngx_memcmp(item->data, key->data, key->len) == 0;
    }

    return item->sn.str.len == key->len
           && ngx_memcmp(item->data, key->data, key->len) == 0;
}


/* whether the set has key (or a key starting with it), for a prepare */

ngx_uint_t
ngx_http_hangar_state_has(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_set_t *set, ngx_str_t *key, ngx_uint_t prefix)
{
    ngx_uint_t               found;
    ngx_queue_t             *q;
    ngx_http_hangar_item_t  *item;

    found = 0;

    ngx_http_hangar_lock(reg);

    if (!prefix) {
        found = (ngx_http_hangar_set_find(set, key) != NULL);

    } else {
        for (q = ngx_queue_head(&set->queue);
             q != ngx_queue_sentinel(&set->queue);
             q = ngx_queue_next(q))
        {
            item = ngx_queue_data(q, ngx_http_hangar_item_t, queue);

            if (ngx_http_hangar_set_match(item, key, 1)) {
                found = 1;
                break;
            }
        }
    }

    ngx_http_hangar_unlock(reg);

    return found;
}


/*
 * The op adds key to set: its item is reserved now and linked in once the
 * file is written.  NGX_HTTP_HANGAR_STATE_MANY: the set holds max keys.
 */

ngx_int_t
ngx_http_hangar_state_add(ngx_http_hangar_state_op_t *op,
    ngx_http_hangar_set_t *set, ngx_str_t *key, ngx_uint_t max)
{
    ngx_http_hangar_lock(op->reg);

    if (max && set->count >= max) {
        ngx_http_hangar_unlock(op->reg);
        return NGX_HTTP_HANGAR_STATE_MANY;
    }

    op->add = ngx_http_hangar_set_item(op->reg, key);

    ngx_http_hangar_unlock(op->reg);

    if (op->add == NULL) {
        ngx_http_hangar_zone_full(op->reg, op->log);
        return NGX_HTTP_HANGAR_STATE_FULL;
    }

    op->set = set;

    return NGX_OK;
}


/* the front door's lookups */

ngx_uint_t
ngx_http_hangar_state_suspended(ngx_http_hangar_registry_t *reg,
    ngx_str_t *sid)
{
    return ngx_http_hangar_state_has(reg, &reg->sh->suspended, sid, 0);
}


/* withdrawn for every tenant (callers have no tenant until auth) */

ngx_uint_t
ngx_http_hangar_state_withdrawn(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_str_t *tool)
{
    u_char     buf[NGX_HTTP_HANGAR_ID_MAX + NGX_HTTP_HANGAR_NAME_MAX + 2];
    ngx_str_t  key;

    if (server->len > NGX_HTTP_HANGAR_ID_MAX
        || tool->len > NGX_HTTP_HANGAR_NAME_MAX)
    {
        return 0;
    }

    key.data = buf;
    key.len = ngx_sprintf(buf, "%V%Z%V%Z", server, tool) - buf;

    return ngx_http_hangar_state_has(reg, &reg->sh->withdrawn, &key, 0);
}


/* "server\0tool\0tenant"; no tenant: every tenant */

ngx_int_t
ngx_http_hangar_withdrawal_key(ngx_pool_t *pool, ngx_str_t *server,
    ngx_str_t *tool, ngx_str_t *tenant, ngx_str_t *key)
{
    key->len = server->len + tool->len + 2 + (tenant ? tenant->len : 0);
    key->data = ngx_pnalloc(pool, key->len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(key->data, "%V%Z%V%Z%V", server, tool,
                tenant ? tenant : &(ngx_str_t) ngx_null_string);

    return NGX_OK;
}


/*
 * The state file's lists of this configuration into the sets of the zone,
 * in two steps for the reconcile's all-or-nothing: prepare allocates an
 * item for every key (with the slab mutex held; NGX_ERROR when the zone is
 * full, after giving back what it took), commit swaps them in and cannot
 * fail.
 */

static ngx_http_hangar_set_t *
ngx_http_hangar_state_set(ngx_http_hangar_registry_t *reg, ngx_uint_t s,
    ngx_array_t **from)
{
    ngx_http_hangar_main_conf_t  *hmcf;

    hmcf = reg->hmcf;

    switch (s) {

    case 0:
        *from = &hmcf->deleted;
        return &reg->sh->deleted;

    case 1:
        *from = &hmcf->suspended;
        return &reg->sh->suspended;

    default:
        *from = &hmcf->withdrawn;
        return &reg->sh->withdrawn;
    }
}


ngx_int_t
ngx_http_hangar_state_adopt_prepare(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_adopt_t *ad)
{
    ngx_str_t               *keys;
    ngx_uint_t               i, s;
    ngx_array_t             *from;
    ngx_http_hangar_item_t  *item;

    for (s = 0; s < 3; s++) {
        ngx_queue_init(&ad->fresh[s]);
    }

    for (s = 0; s < 3; s++) {
        (void) ngx_http_hangar_state_set(reg, s, &from);

        keys = from->elts;

        for (i = 0; i < from->nelts; i++) {
            item = ngx_http_hangar_set_item(reg, &keys[i]);
            if (item == NULL) {
                ngx_http_hangar_state_adopt_discard(reg, ad);
                return NGX_ERROR;
            }

            ngx_queue_insert_tail(&ad->fresh[s], &item->queue);
        }
    }

    for (s = 0; s < NGX_HTTP_HANGAR_DOCS; s++) {
        ad->docs[s] = NULL;

        if (reg->hmcf->docs[s].len == 0) {
            continue;
        }

        ad->docs[s] = ngx_http_hangar_blob(reg, reg->hmcf->docs[s].data,
                                           reg->hmcf->docs[s].len);
        if (ad->docs[s] == NULL) {
            ngx_http_hangar_state_adopt_discard(reg, ad);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


void
ngx_http_hangar_state_adopt_discard(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_adopt_t *ad)
{
    ngx_uint_t               s;
    ngx_queue_t             *q;
    ngx_http_hangar_item_t  *item;

    for (s = 0; s < 3; s++) {
        while (!ngx_queue_empty(&ad->fresh[s])) {
            q = ngx_queue_head(&ad->fresh[s]);
            ngx_queue_remove(q);
            item = ngx_queue_data(q, ngx_http_hangar_item_t, queue);
            ngx_slab_free_locked(reg->shpool, item);
        }
    }

    for (s = 0; s < NGX_HTTP_HANGAR_DOCS; s++) {
        ngx_http_hangar_blob_free(reg, ad->docs[s]);
        ad->docs[s] = NULL;
    }
}


void
ngx_http_hangar_state_adopt_commit(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_adopt_t *ad)
{
    ngx_str_t                key;
    ngx_uint_t               s;
    ngx_array_t             *from;
    ngx_queue_t             *q;
    ngx_http_hangar_set_t   *set;
    ngx_http_hangar_item_t  *item;

    if (!reg->sh->sets_ready) {
        ngx_http_hangar_set_init(&reg->sh->deleted);
        ngx_http_hangar_set_init(&reg->sh->suspended);
        ngx_http_hangar_set_init(&reg->sh->withdrawn);
        reg->sh->sets_ready = 1;
    }

    for (s = 0; s < 3; s++) {
        set = ngx_http_hangar_state_set(reg, s, &from);

        while (!ngx_queue_empty(&set->queue)) {
            q = ngx_queue_head(&set->queue);
            item = ngx_queue_data(q, ngx_http_hangar_item_t, queue);
            ngx_http_hangar_set_remove(reg, set, item);
        }

        while (!ngx_queue_empty(&ad->fresh[s])) {
            q = ngx_queue_head(&ad->fresh[s]);
            ngx_queue_remove(q);
            item = ngx_queue_data(q, ngx_http_hangar_item_t, queue);

            key = item->sn.str;

            if (ngx_http_hangar_set_find(set, &key)) {
                ngx_slab_free_locked(reg->shpool, item);
                continue;
            }

            ngx_http_hangar_set_insert(set, item);
        }
    }

    for (s = 0; s < NGX_HTTP_HANGAR_DOCS; s++) {
        ngx_http_hangar_blob_free(reg, reg->sh->docs[s]);
        reg->sh->docs[s] = ad->docs[s];
        ad->docs[s] = NULL;
        (void) ngx_atomic_fetch_add(&reg->sh->doc_gen[s], 1);
    }

    (void) ngx_atomic_fetch_add(&reg->sh->generation, 1);
}


/* the op's change of its set, once the file is written (or not) */

static void
ngx_http_hangar_state_set_commit(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc)
{
    ngx_queue_t             *q, *next;
    ngx_http_hangar_item_t  *item;

    if (op->set == NULL) {
        return;
    }

    ngx_http_hangar_lock(op->reg);

    if (rc == NGX_OK && op->del.len) {
        for (q = ngx_queue_head(&op->set->queue);
             q != ngx_queue_sentinel(&op->set->queue);
             q = next)
        {
            next = ngx_queue_next(q);
            item = ngx_queue_data(q, ngx_http_hangar_item_t, queue);

            if (ngx_http_hangar_set_match(item, &op->del, op->del_prefix)) {
                ngx_http_hangar_set_remove(op->reg, op->set, item);
            }
        }
    }

    if (op->add) {
        if (rc == NGX_OK) {
            ngx_http_hangar_set_insert(op->set, op->add);

        } else {
            ngx_slab_free_locked(op->reg->shpool, op->add);
        }

        op->add = NULL;
    }

    if (rc == NGX_OK) {
        (void) ngx_atomic_fetch_add(&op->reg->sh->generation, 1);
    }

    ngx_http_hangar_unlock(op->reg);
}


/*
 * Copies the keys of a set as the op leaves it, under the slab mutex;
 * they are rendered after it is released.
 */

static ngx_int_t
ngx_http_hangar_state_set_copy(ngx_http_hangar_state_op_t *op,
    ngx_http_hangar_set_t *set, ngx_array_t *keys)
{
    ngx_str_t               *k;
    ngx_queue_t             *q;
    ngx_http_hangar_item_t  *item;

    if (ngx_array_init(keys, op->pool, set->count + 1, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (q = ngx_queue_head(&set->queue);
         q != ngx_queue_sentinel(&set->queue);
         q = ngx_queue_next(q))
    {
        item = ngx_queue_data(q, ngx_http_hangar_item_t, queue);

        if (op->set == set && op->del.len
            && ngx_http_hangar_set_match(item, &op->del, op->del_prefix))
        {
            continue;
        }

        k = ngx_array_push(keys);
        if (k == NULL) {
            return NGX_ERROR;
        }

        *k = item->sn.str;
    }

    if (op->set == set && op->add) {
        k = ngx_array_push(keys);
        if (k == NULL) {
            return NGX_ERROR;
        }

        *k = op->add->sn.str;
    }

    /* the keys stay in the zone: copied, for rendering without the lock */
    return ngx_http_hangar_state_keys_dup(op->pool, keys);
}


static ngx_int_t
ngx_http_hangar_state_keys_dup(ngx_pool_t *pool, ngx_array_t *keys)
{
    u_char      *p;
    ngx_str_t   *k;
    ngx_uint_t   i;

    k = keys->elts;

    for (i = 0; i < keys->nelts; i++) {
        p = ngx_pnalloc(pool, k[i].len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, k[i].data, k[i].len);
        k[i].data = p;
    }

    return NGX_OK;
}


/* keys rendered: a list of strings, or of withdrawal objects */

static void
ngx_http_hangar_state_keys_out(ngx_http_hangar_out_t *out, ngx_array_t *keys,
    ngx_uint_t withdrawals)
{
    u_char      *p, *tool, *tenant, *last;
    ngx_str_t   *k;
    ngx_uint_t   i;

    ngx_http_hangar_out_lit(out, "[");

    k = keys->elts;

    for (i = 0; i < keys->nelts; i++) {
        if (i) {
            ngx_http_hangar_out_lit(out, ",");
        }

        if (!withdrawals) {
            ngx_http_hangar_out_str(out, k[i].data, k[i].len);
            continue;
        }

        p = k[i].data;
        last = p + k[i].len;
        tool = ngx_strlchr(p, last, '\0') + 1;
        tenant = ngx_strlchr(tool, last, '\0') + 1;

        ngx_http_hangar_out_lit(out, "{\"mcp_server\":");
        ngx_http_hangar_out_str(out, p, tool - 1 - p);
        ngx_http_hangar_out_lit(out, ",\"tool\":");
        ngx_http_hangar_out_str(out, tool, tenant - 1 - tool);
        ngx_http_hangar_out_lit(out, ",\"tenant_id\":");

        if (tenant == last) {
            ngx_http_hangar_out_lit(out, "null}");

        } else {
            ngx_http_hangar_out_str(out, tenant, last - tenant);
            ngx_http_hangar_out_lit(out, "}");
        }
    }

    ngx_http_hangar_out_lit(out, "]");
}


/* the ids of blocked servers, the op's pending block included */

static ngx_int_t
ngx_http_hangar_state_blocked(ngx_http_hangar_state_op_t *op,
    ngx_array_t *ids)
{
    ngx_str_t               *k;
    ngx_queue_t             *q;
    ngx_http_hangar_node_t  *node;

    if (ngx_array_init(ids, op->pool, 4, sizeof(ngx_str_t)) != NGX_OK) {
        return NGX_ERROR;
    }

    for (q = ngx_queue_head(&op->reg->sh->servers.queue);
         q != ngx_queue_sentinel(&op->reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        if (!node->blocked
            && ngx_memn2cmp(node->id, op->blocked.data, node->id_len,
                            op->blocked.len) != 0)
        {
            continue;
        }

        k = ngx_array_push(ids);
        if (k == NULL) {
            return NGX_ERROR;
        }

        k->len = node->id_len;
        k->data = node->id;
    }

    return ngx_http_hangar_state_keys_dup(op->pool, ids);
}


/*
 * The servers kept in the file, the op's pending one included; declared
 * ones (id and spec, copied) go to decl for their overlay.
 */

static ngx_int_t
ngx_http_hangar_state_render_servers(ngx_http_hangar_state_op_t *op,
    ngx_http_hangar_out_t *out, ngx_array_t *decl)
{
    ngx_str_t                       *pair;
    ngx_uint_t                       i, first;
    ngx_queue_t                     *q;
    ngx_http_hangar_node_t          *node;
    ngx_http_hangar_state_change_t  *ch;
    ngx_http_hangar_registry_t      *reg;

    reg = op->reg;
    first = 1;

    ngx_http_hangar_lock(reg);

    for (q = ngx_queue_head(&reg->sh->servers.queue);
         q != ngx_queue_sentinel(&reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        if (!node->api
            || ngx_memn2cmp(node->id, op->id.data, node->id_len, op->id.len)
               == 0
            || ngx_http_hangar_state_changed(op, node->id, node->id_len))
        {
            continue;
        }

        if (!first) {
            ngx_http_hangar_out_lit(out, ",");
        }

        first = 0;
        ngx_http_hangar_out_str(out, node->id, node->id_len);
        ngx_http_hangar_out_lit(out, ":");
        ngx_http_hangar_out_raw(out, node->spec->data, node->spec->len);

        if (!node->declared) {
            continue;
        }

        pair = ngx_array_push(decl);
        if (pair == NULL) {
            break;
        }

        pair[0].len = node->id_len;
        pair[0].data = ngx_pnalloc(op->pool, node->id_len);
        pair[1].len = node->spec->len;
        pair[1].data = ngx_pnalloc(op->pool, node->spec->len);

        if (pair[0].data == NULL || pair[1].data == NULL) {
            break;
        }

        ngx_memcpy(pair[0].data, node->id, node->id_len);
        ngx_memcpy(pair[1].data, node->spec->data, node->spec->len);
    }

    ngx_http_hangar_unlock(reg);

    if (q != ngx_queue_sentinel(&reg->sh->servers.queue)) {
        return NGX_ERROR;
    }

    if (op->id.len && op->spec) {
        if (!first) {
            ngx_http_hangar_out_lit(out, ",");
        }

        first = 0;
        ngx_http_hangar_out_str(out, op->id.data, op->id.len);
        ngx_http_hangar_out_lit(out, ":");
        ngx_http_hangar_out_raw(out, op->spec->data, op->spec->len);

        pair = ngx_array_push(decl);
        if (pair == NULL) {
            return NGX_ERROR;
        }

        pair[0] = op->id;
        pair[1] = *op->spec;
    }

    /* a batch's new servers are created by hangar, never declared */
    ch = op->changes ? op->changes->elts : NULL;

    for (i = 0; ch && i < op->changes->nelts; i++) {
        if (ch[i].spec == NULL) {
            continue;
        }

        if (!first) {
            ngx_http_hangar_out_lit(out, ",");
        }

        first = 0;
        ngx_http_hangar_out_str(out, ch[i].id.data, ch[i].id.len);
        ngx_http_hangar_out_lit(out, ":");
        ngx_http_hangar_out_raw(out, ch[i].spec->data, ch[i].spec->len);
    }

    return NGX_OK;
}


/* the id is one of the op's batch of changes (sorted by id) */

static ngx_uint_t
ngx_http_hangar_state_changed(ngx_http_hangar_state_op_t *op, u_char *id,
    size_t len)
{
    ngx_int_t                        rc;
    ngx_uint_t                       lo, hi, mid;
    ngx_http_hangar_state_change_t  *ch;

    lo = 0;
    hi = op->changes ? op->changes->nelts : 0;
    ch = op->changes ? op->changes->elts : NULL;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        rc = ngx_memn2cmp(ch[mid].id.data, id, ch[mid].id.len, len);

        if (rc == 0) {
            return 1;
        }

        lo = (rc < 0) ? mid + 1 : lo;
        hi = (rc < 0) ? hi : mid;
    }

    return 0;
}


/* the file: the registry with the op's pending change laid over it */

static ngx_int_t
ngx_http_hangar_state_render(ngx_http_hangar_state_op_t *op)
{
    ngx_int_t                    rc;
    ngx_str_t                   *pair;
    ngx_uint_t                   i, first;
    ngx_array_t                  decl, deleted, blocked, suspended;
    ngx_array_t                  withdrawn;
    ngx_http_hangar_out_t        out;
    ngx_http_hangar_registry_t  *reg;

    reg = op->reg;

    if (ngx_array_init(&decl, op->pool, 4, sizeof(ngx_str_t) * 2) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_hangar_out_init(&out, op->pool, 4096);
    ngx_http_hangar_out_lit(&out, "{\"version\":1,\"mcp_servers\":{");

    if (ngx_http_hangar_state_render_servers(op, &out, &decl) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_hangar_out_lit(&out, "},\"overlay\":{");

    pair = decl.elts;
    first = 1;

    for (i = 0; i < decl.nelts; i++) {
        if (ngx_http_hangar_state_overlay_out(op, &out, &pair[2 * i],
                                              &pair[2 * i + 1], &first)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    ngx_http_hangar_lock(reg);

    rc = ngx_http_hangar_state_blocked(op, &blocked);

    if (rc == NGX_OK) {
        rc = ngx_http_hangar_state_set_copy(op, &reg->sh->deleted, &deleted);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_hangar_state_set_copy(op, &reg->sh->suspended,
                                            &suspended);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_hangar_state_set_copy(op, &reg->sh->withdrawn,
                                            &withdrawn);
    }

    ngx_http_hangar_unlock(reg);

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_hangar_out_lit(&out, "},\"deleted\":");
    ngx_http_hangar_state_keys_out(&out, &deleted, 0);

    /* blocked servers stay blocked across restarts */
    ngx_http_hangar_out_lit(&out, ",\"blocked\":");
    ngx_http_hangar_state_keys_out(&out, &blocked, 0);
    ngx_http_hangar_out_lit(&out, ",\"suspended\":");
    ngx_http_hangar_state_keys_out(&out, &suspended, 0);
    ngx_http_hangar_out_lit(&out, ",\"withdrawn\":");
    ngx_http_hangar_state_keys_out(&out, &withdrawn, 1);

    if (ngx_http_hangar_state_docs_out(op, &out) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_hangar_out_lit(&out, "}\n");

    return ngx_http_hangar_out_flatten(&out, &op->text);
}


/*
 * The fields of a declared server that the API changed, each with the
 * value hangar.yaml had when it was changed (null: none), so that a later
 * edit of hangar.yaml still applies to the other fields.
 */

static ngx_int_t
ngx_http_hangar_state_overlay_out(ngx_http_hangar_state_op_t *op,
    ngx_http_hangar_out_t *out, ngx_str_t *id, ngx_str_t *text,
    ngx_uint_t *first)
{
    ngx_str_t                 err;
    ngx_uint_t                i, j;
    ngx_http_hangar_pair_t   *pair;
    ngx_http_hangar_decl_t   *d;
    ngx_http_hangar_value_t  *spec, *yaml, *ov, *from, *b, *y, *none;

    d = op->reg->hmcf->decls.elts;

    for (i = 0; i < op->reg->hmcf->decls.nelts; i++) {
        if (d[i].declared && !d[i].group
            && ngx_memn2cmp(d[i].id.data, id->data, d[i].id.len, id->len)
               == 0)
        {
            break;
        }
    }

    if (i == op->reg->hmcf->decls.nelts) {
        return NGX_OK;
    }

    d = &d[i];
    yaml = d->yaml ? d->yaml : d->spec;

    spec = ngx_http_hangar_json_parse(op->pool, text->data, text->len, &err);
    ov = ngx_http_hangar_value_new(op->pool, NGX_HTTP_HANGAR_OBJ);
    none = ngx_http_hangar_value_new(op->pool, NGX_HTTP_HANGAR_NULL);

    if (spec == NULL || ov == NULL || none == NULL) {
        return NGX_ERROR;
    }

    /* every key of either side, the API's first */
    for (j = 0; j < 2; j++) {
        from = j ? yaml : spec;
        pair = from->u.obj.elts;

        for (i = 0; i < from->u.obj.nelts; i++) {
            if (j && ngx_http_hangar_get_n(spec, pair[i].key.data,
                                           pair[i].key.len))
            {
                continue;
            }

            b = ngx_http_hangar_get_n(d->base, pair[i].key.data,
                                      pair[i].key.len);
            y = ngx_http_hangar_get_n(yaml, pair[i].key.data,
                                      pair[i].key.len);

            if (b == NULL
                && ngx_http_hangar_state_same(y,
                       ngx_http_hangar_get_n(spec, pair[i].key.data,
                                             pair[i].key.len)))
            {
                continue;
            }

            if (ngx_http_hangar_set(op->pool, ov, pair[i].key.data,
                                    pair[i].key.len, b ? b : y ? y : none)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    if (ov->u.obj.nelts == 0) {
        return NGX_OK;
    }

    if (!*first) {
        ngx_http_hangar_out_lit(out, ",");
    }

    *first = 0;
    ngx_http_hangar_out_str(out, id->data, id->len);
    ngx_http_hangar_out_lit(out, ":");
    ngx_http_hangar_json_out(out, ov);

    return NGX_OK;
}


/* equal values; absent and null are the same */

ngx_uint_t
ngx_http_hangar_state_same(ngx_http_hangar_value_t *a,
    ngx_http_hangar_value_t *b)
{
    if (a == NULL || a->type == NGX_HTTP_HANGAR_NULL) {
        return b == NULL || b->type == NGX_HTTP_HANGAR_NULL;
    }

    if (b == NULL || b->type == NGX_HTTP_HANGAR_NULL) {
        return 0;
    }

    return ngx_http_hangar_value_equal(a, b);
}
