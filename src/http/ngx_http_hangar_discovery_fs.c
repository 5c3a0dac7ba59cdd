
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The filesystem discovery source (hangar-security.md §5.2): each file of
 * a directory that matches the pattern is one MCP server in YAML.  The
 * directory is watched with inotify, so a change starts a cycle at once;
 * the periodic cycle is the fallback.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <fnmatch.h>
#include <sys/inotify.h>
#include "ngx_http_hangar_discovery_fs.h"
#include "ngx_http_hangar_discovery_view.h"
#include "ngx_http_hangar_yaml.h"
#include "ngx_http_hangar_spec.h"


#define NGX_HTTP_HANGAR_DISC_FILE_MAX   (64 * 1024)
#define NGX_HTTP_HANGAR_DISC_FILES_MAX  10000


/* a file as the last scan of this worker found it */
typedef struct {
    ngx_str_t                        path;
    ino_t                            ino;
    off_t                            size;
    struct timespec                  mtime;
    struct timespec                  ctime;
    ngx_uint_t                       skip;  /* not a server's file */
    ngx_http_hangar_disc_item_t      item;
} ngx_http_hangar_disc_fs_file_t;


typedef struct {
    ngx_pool_t                      *pool;
    ngx_array_t                      files;
    ngx_http_hangar_disc_index_t     index; /* by path */
    ngx_int_t                        ttl;
} ngx_http_hangar_disc_fs_cache_t;


/* a scan, run on the thread pool: it touches only what it owns */
typedef struct {
    ngx_str_t                        dir;
    u_char                           pat[257];  /* empty: the default */
    ngx_int_t                        ttl;
    ngx_http_hangar_disc_fs_cache_t *old;   /* read only */
    ngx_pool_t                      *pool;  /* the items' */
    ngx_array_t                     *items;
    ngx_http_hangar_disc_fs_cache_t *cache; /* the next scan's */
    ngx_int_t                        rc;
    ngx_str_t                        error;
    ngx_uint_t                       parsed;
    /* back on the event loop */
    ngx_array_t                     *out;
    ngx_http_hangar_disc_done_pt     done;
    void                            *data;
} ngx_http_hangar_disc_fs_task_t;


static ngx_int_t ngx_http_hangar_disc_fs_dir(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_disc_source_t *src, ngx_str_t *dir);
static ngx_http_hangar_disc_fs_task_t *ngx_http_hangar_disc_fs_task(
    ngx_http_hangar_registry_t *reg, ngx_pool_t *pool,
    ngx_http_hangar_disc_source_t *src);
static void ngx_http_hangar_disc_fs_run(void *data, ngx_log_t *log);
static ngx_int_t ngx_http_hangar_disc_fs_entry(
    ngx_http_hangar_disc_fs_task_t *t, const char *name);
#if (NGX_THREADS)
static void ngx_http_hangar_disc_fs_ended(ngx_event_t *ev);
#endif
static void ngx_http_hangar_disc_fs_adopt(ngx_http_hangar_disc_fs_task_t *t);
static void ngx_http_hangar_disc_fs_free(void *data);
static ngx_int_t ngx_http_hangar_disc_fs_copy(ngx_pool_t *pool,
    ngx_http_hangar_disc_item_t *to, ngx_http_hangar_disc_item_t *from);
static ngx_uint_t ngx_http_hangar_disc_fs_match(u_char *pat,
    const char *name);
static ngx_int_t ngx_http_hangar_disc_fs_file(ngx_pool_t *pool,
    ngx_str_t *path, const char *name, ngx_int_t ttl, ngx_array_t *items);
static ngx_int_t ngx_http_hangar_disc_fs_item(ngx_pool_t *pool,
    ngx_http_hangar_value_t *doc, ngx_http_hangar_disc_item_t *item);
static ngx_int_t ngx_http_hangar_disc_fs_command(ngx_pool_t *pool,
    ngx_http_hangar_value_t *conn, ngx_http_hangar_value_t *spec,
    ngx_http_hangar_disc_item_t *item);
static ngx_int_t ngx_http_hangar_disc_fs_network(ngx_pool_t *pool,
    ngx_http_hangar_value_t *conn, ngx_http_hangar_disc_item_t *item);
static void ngx_http_hangar_disc_fs_read(ngx_event_t *ev);


/* the inotify watch of this worker */
static ngx_connection_t      *ngx_http_hangar_disc_fs_conn;
static ngx_event_handler_pt   ngx_http_hangar_disc_fs_handler;

/* what this worker's last scan found (one scan at a time per worker) */
static ngx_http_hangar_disc_fs_cache_t  *ngx_http_hangar_disc_fs_cache;


/*
 * The directory read, and its new or changed files parsed, on the thread
 * pool when there is one (NGX_AGAIN, then done()), else at once.  A file
 * with the inode, size and times of the last scan is not read again.
 */

ngx_int_t
ngx_http_hangar_disc_fs_scan(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_disc_source_t *src, ngx_array_t *items,
    ngx_http_hangar_disc_done_pt done, void *data)
{
    ngx_pool_cleanup_t              *cln;
    ngx_http_hangar_disc_fs_task_t  *t;
#if (NGX_THREADS)
    ngx_thread_task_t               *task;
#endif

    t = ngx_http_hangar_disc_fs_task(reg, pool, src);
    if (t == NULL) {
        return NGX_ERROR;
    }

    /* the items' pool goes with the cycle's */
    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        ngx_http_hangar_disc_fs_free(t->pool);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_hangar_disc_fs_free;
    cln->data = t->pool;

    t->out = items;
    t->done = done;
    t->data = data;

#if (NGX_THREADS)

    if (reg->hmcf->thread_pool) {
        task = ngx_thread_task_alloc(t->pool, 0);
        if (task == NULL) {
            return NGX_ERROR;
        }

        task->ctx = t;
        task->handler = ngx_http_hangar_disc_fs_run;
        task->event.handler = ngx_http_hangar_disc_fs_ended;
        task->event.data = t;
        task->event.log = ngx_cycle->log;

        if (ngx_thread_task_post(reg->hmcf->thread_pool, task) == NGX_OK) {
            return NGX_AGAIN;
        }
    }

#endif

    /* no thread pool: the scan blocks this worker while it runs */
    ngx_http_hangar_disc_fs_run(t, ngx_cycle->log);
    ngx_http_hangar_disc_fs_adopt(t);

    return NGX_AGAIN;
}


/* what the scan needs, copied: the cycle's values stay on the loop */

static ngx_http_hangar_disc_fs_task_t *
ngx_http_hangar_disc_fs_task(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_disc_source_t *src)
{
    ngx_str_t                        dir;
    ngx_pool_t                      *tp, *cp;
    ngx_http_hangar_value_t         *v;
    ngx_http_hangar_disc_fs_task_t  *t;

    if (ngx_http_hangar_disc_fs_dir(reg, pool, src, &dir) != NGX_OK) {
        return NULL;
    }

    tp = ngx_create_pool(16384, ngx_cycle->log);
    if (tp == NULL) {
        return NULL;
    }

    cp = ngx_create_pool(16384, ngx_cycle->log);
    t = ngx_pcalloc(tp, sizeof(ngx_http_hangar_disc_fs_task_t));

    if (cp == NULL || t == NULL) {
        goto failed;
    }

    t->pool = tp;
    t->ttl = ngx_http_hangar_disc_ttl(reg, src);
    t->dir.data = ngx_pnalloc(tp, dir.len + 1);
    t->dir.len = dir.len;
    t->items = ngx_array_create(tp, 64, sizeof(ngx_http_hangar_disc_item_t));
    t->cache = ngx_pcalloc(cp, sizeof(ngx_http_hangar_disc_fs_cache_t));

    if (t->dir.data == NULL || t->items == NULL || t->cache == NULL
        || ngx_array_init(&t->cache->files, cp, 64,
                          sizeof(ngx_http_hangar_disc_fs_file_t))
           != NGX_OK
        || ngx_http_hangar_disc_index_init(&t->cache->index, cp, 64)
           != NGX_OK)
    {
        goto failed;
    }

    ngx_cpystrn(t->dir.data, dir.data, dir.len + 1);
    t->cache->pool = cp;
    t->cache->ttl = t->ttl;

    v = ngx_http_hangar_get(src->conf, "pattern");

    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR) && v->u.s.len) {
        ngx_cpystrn(t->pat, v->u.s.data,
                    ngx_min(v->u.s.len + 1, sizeof(t->pat)));
    }

    if (ngx_http_hangar_disc_fs_cache
        && ngx_http_hangar_disc_fs_cache->ttl == t->ttl)
    {
        t->old = ngx_http_hangar_disc_fs_cache;
    }

    return t;

failed:

    if (cp) {
        ngx_destroy_pool(cp);
    }

    ngx_destroy_pool(tp);

    return NULL;
}


/* in a thread (or at once): the directory's files into t->items */

static void
ngx_http_hangar_disc_fs_run(void *data, ngx_log_t *log)
{
    ngx_http_hangar_disc_fs_task_t *t = data;

    DIR            *d;
    ngx_uint_t      n;
    struct dirent  *de;

    t->rc = NGX_OK;

    d = opendir((char *) t->dir.data);
    if (d == NULL) {
        t->rc = NGX_DECLINED;
        t->error.data = ngx_pnalloc(t->pool, t->dir.len + 128);
        if (t->error.data) {
            t->error.len = ngx_sprintf(t->error.data, "cannot read %s: %s",
                                       t->dir.data, strerror(ngx_errno))
                           - t->error.data;
        }
        return;
    }

    n = 0;

    for ( ;; ) {
        ngx_set_errno(0);
        de = readdir(d);

        if (de == NULL) {
            break;
        }

        if (de->d_name[0] == '.'
            || !ngx_http_hangar_disc_fs_match(t->pat, de->d_name))
        {
            continue;
        }

        if (++n > NGX_HTTP_HANGAR_DISC_FILES_MAX) {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "hangar: discovery: more than %d files in %s, "
                          "the rest ignored", NGX_HTTP_HANGAR_DISC_FILES_MAX,
                          t->dir.data);
            break;
        }

        if (ngx_http_hangar_disc_fs_entry(t, de->d_name) != NGX_OK) {
            t->rc = NGX_ERROR;
            break;
        }
    }

    (void) closedir(d);
}


/* one file: the last scan's item when the file is the same, else read */

static ngx_int_t
ngx_http_hangar_disc_fs_entry(ngx_http_hangar_disc_fs_task_t *t,
    const char *name)
{
    u_char                          *p;
    size_t                           len;
    ngx_str_t                        path;
    ngx_uint_t                       before;
    ngx_file_info_t                  fi;
    ngx_http_hangar_disc_item_t     *item;
    ngx_http_hangar_disc_fs_file_t  *f, *old;

    len = ngx_strlen(name);

    path.data = ngx_pnalloc(t->cache->pool, t->dir.len + len + 2);
    if (path.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(path.data, t->dir.data, t->dir.len);
    *p++ = '/';
    p = ngx_cpymem(p, name, len);
    *p = '\0';
    path.len = p - path.data;

    if (ngx_file_info(path.data, &fi) == NGX_FILE_ERROR
        || !ngx_is_file(&fi))
    {
        return NGX_OK;
    }

    f = ngx_array_push(&t->cache->files);
    if (f == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(f, sizeof(ngx_http_hangar_disc_fs_file_t));
    f->path = path;
    f->ino = fi.st_ino;
    f->size = fi.st_size;
    f->mtime = fi.st_mtim;
    f->ctime = fi.st_ctim;

    old = t->old ? ngx_http_hangar_disc_index_get(&t->old->index, path.data,
                                                  path.len)
                 : NULL;

    if (old && old->ino == f->ino && old->size == f->size
        && old->mtime.tv_sec == f->mtime.tv_sec
        && old->mtime.tv_nsec == f->mtime.tv_nsec
        && old->ctime.tv_sec == f->ctime.tv_sec
        && old->ctime.tv_nsec == f->ctime.tv_nsec)
    {
        f->skip = old->skip;

        if (!f->skip) {
            item = ngx_array_push(t->items);
            if (item == NULL
                || ngx_http_hangar_disc_fs_copy(t->pool, item, &old->item)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

    } else {
        t->parsed++;
        before = t->items->nelts;

        if (ngx_http_hangar_disc_fs_file(t->pool, &path, name, t->ttl,
                                         t->items)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        f->skip = (t->items->nelts == before);
    }

    /* the cache keeps its own copy: the cycle may change its items */
    if (!f->skip
        && ngx_http_hangar_disc_fs_copy(t->cache->pool, &f->item,
               &((ngx_http_hangar_disc_item_t *) t->items->elts)
                   [t->items->nelts - 1])
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


#if (NGX_THREADS)

static void
ngx_http_hangar_disc_fs_ended(ngx_event_t *ev)
{
    ngx_http_hangar_disc_fs_adopt(ev->data);
}

#endif


/* on the event loop: the items to the cycle, the cache replaced */

static void
ngx_http_hangar_disc_fs_adopt(ngx_http_hangar_disc_fs_task_t *t)
{
    ngx_uint_t                       i;
    ngx_http_hangar_disc_item_t     *item;
    ngx_http_hangar_disc_fs_file_t  *f;
    ngx_http_hangar_disc_fs_cache_t *cache;

    cache = t->cache;
    f = cache->files.elts;

    for (i = 0; t->rc == NGX_OK && i < cache->files.nelts; i++) {
        if (ngx_http_hangar_disc_index_put(&cache->index, f[i].path.data,
                                              f[i].path.len, &f[i])
            != NGX_OK)
        {
            t->rc = NGX_ERROR;
        }
    }

    item = t->items->elts;

    for (i = 0; t->rc == NGX_OK && i < t->items->nelts; i++) {
        if (ngx_array_push(t->out) == NULL) {
            t->rc = NGX_ERROR;
            break;
        }

        ((ngx_http_hangar_disc_item_t *) t->out->elts)[t->out->nelts - 1]
            = item[i];
    }

    if (t->rc == NGX_OK) {
        if (ngx_http_hangar_disc_fs_cache) {
            ngx_destroy_pool(ngx_http_hangar_disc_fs_cache->pool);
        }

        ngx_http_hangar_disc_fs_cache = cache;

    } else {
        ngx_destroy_pool(cache->pool);
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "hangar: discovery: %s: %ui items, %ui files read",
                   t->dir.data, t->items->nelts, t->parsed);

    t->done(t->data, t->rc, &t->error);
}


static void
ngx_http_hangar_disc_fs_free(void *data)
{
    ngx_destroy_pool(data);
}


/* an item, deep, into another pool */

static ngx_int_t
ngx_http_hangar_disc_fs_copy(ngx_pool_t *pool, ngx_http_hangar_disc_item_t *to,
    ngx_http_hangar_disc_item_t *from)
{
    ngx_str_t  *s[4];
    ngx_uint_t  i;

    *to = *from;

    s[0] = &to->name;
    s[1] = &to->mode;
    s[2] = &to->invalid;
    s[3] = &to->health;

    for (i = 0; i < 4; i++) {
        if (s[i]->len == 0) {
            continue;
        }

        s[i]->data = ngx_pstrdup(pool, s[i]);
        if (s[i]->data == NULL) {
            return NGX_ERROR;
        }
    }

    to->conn = from->conn ? ngx_http_hangar_value_copy(pool, from->conn)
                          : NULL;
    to->meta = from->meta ? ngx_http_hangar_value_copy(pool, from->meta)
                          : NULL;
    to->spec = from->spec ? ngx_http_hangar_value_copy(pool, from->spec)
                          : NULL;

    if ((from->conn && to->conn == NULL) || (from->meta && to->meta == NULL)
        || (from->spec && to->spec == NULL))
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* "path" (default /etc/mcp-hangar/mcp_servers.d), relative to hangar.yaml */

static ngx_int_t
ngx_http_hangar_disc_fs_dir(ngx_http_hangar_registry_t *reg, ngx_pool_t *pool,
    ngx_http_hangar_disc_source_t *src, ngx_str_t *dir)
{
    u_char                   *p;
    size_t                    base;
    ngx_str_t                 path, *conf;
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_get(src->conf, "path");

    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR) && v->u.s.len) {
        path = v->u.s;

    } else {
        ngx_str_set(&path, "/etc/mcp-hangar/mcp_servers.d");
    }

    conf = &reg->hmcf->config_file;
    base = 0;

    if (path.data[0] != '/') {
        for (base = conf->len; base > 0; base--) {
            if (conf->data[base - 1] == '/') {
                break;
            }
        }
    }

    p = ngx_pnalloc(pool, base + path.len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    dir->data = p;
    p = ngx_cpymem(p, conf->data, base);
    p = ngx_cpymem(p, path.data, path.len);
    *p = '\0';
    dir->len = p - dir->data;

    return NGX_OK;
}


static ngx_uint_t
ngx_http_hangar_disc_fs_match(u_char *pat, const char *name)
{
    if (pat[0] == '\0') {
        /* the default matches *.yaml and *.yml */
        return fnmatch("*.yaml", name, 0) == 0
               || fnmatch("*.yml", name, 0) == 0;
    }

    return fnmatch((char *) pat, name, 0) == 0;
}


/* one file: an item, or nothing when the file is not a server's */

static ngx_int_t
ngx_http_hangar_disc_fs_file(ngx_pool_t *pool, ngx_str_t *path,
    const char *name, ngx_int_t ttl, ngx_array_t *items)
{
    u_char                       *dot;
    size_t                        len;
    ngx_str_t                     err;
    ngx_file_info_t               fi;
    ngx_http_hangar_value_t      *doc, *meta, *v;
    ngx_http_hangar_disc_item_t  *item;

    len = ngx_strlen(name);

    item = ngx_array_push(items);
    if (item == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(item, sizeof(ngx_http_hangar_disc_item_t));
    item->type = NGX_HTTP_HANGAR_DISC_FILESYSTEM;
    item->ttl = ttl;

    /* the default name: the file's stem */
    dot = (u_char *) ngx_strlchr((u_char *) name, (u_char *) name + len, '.');
    item->name.len = dot ? (size_t) (dot - (u_char *) name) : len;
    item->name.data = ngx_pnalloc(pool, item->name.len);
    if (item->name.data == NULL) {
        return NGX_ERROR;
    }
    ngx_memcpy(item->name.data, name, item->name.len);

    item->meta = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
    item->conn = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
    if (item->meta == NULL || item->conn == NULL) {
        return NGX_ERROR;
    }

    ngx_str_null(&err);
    doc = NULL;

    if (ngx_file_info(path->data, &fi) == NGX_FILE_ERROR
        || !ngx_is_file(&fi))
    {
        items->nelts--;
        return NGX_OK;
    }

    if (ngx_file_size(&fi) > NGX_HTTP_HANGAR_DISC_FILE_MAX) {
        ngx_str_set(&item->invalid, "the file is larger than 64 KiB");

    } else {
        doc = ngx_http_hangar_yaml_parse(pool, path, &err);

        if (doc == NULL) {
            item->invalid = err;
        }
    }

    if (doc && doc->type == NGX_HTTP_HANGAR_NULL) {
        items->nelts--;                     /* empty: skipped */
        return NGX_OK;
    }

    if (doc && doc->type != NGX_HTTP_HANGAR_OBJ) {
        ngx_str_set(&item->invalid, "the file is not a mapping");
        doc = NULL;
    }

    if (doc
        && (ngx_http_hangar_get(doc, "services")
            || ngx_http_hangar_get(doc, "apiVersion")
            || ngx_http_hangar_get(doc, "kind")
            || (ngx_http_hangar_get(doc, "name") == NULL
                && ngx_http_hangar_get(doc, "mode") == NULL
                && ngx_http_hangar_get(doc, "connection") == NULL)))
    {
        items->nelts--;                     /* someone else's file */
        return NGX_OK;
    }

    v = ngx_http_hangar_get(doc, "enabled");

    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_BOOL) && !v->u.b) {
        items->nelts--;
        return NGX_OK;
    }

    meta = ngx_http_hangar_get(doc, "metadata");

    if (ngx_http_hangar_is(meta, NGX_HTTP_HANGAR_OBJ)) {
        item->meta = ngx_http_hangar_value_copy(pool, meta);
        if (item->meta == NULL) {
            return NGX_ERROR;
        }
    }

    v = ngx_http_hangar_value_str(pool, path->data, path->len);
    if (v == NULL
        || ngx_http_hangar_set(pool, item->meta, (u_char *) "file_path", 9, v)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    v = ngx_http_hangar_value_str(pool, (u_char *) name, len);
    if (v == NULL
        || ngx_http_hangar_set(pool, item->meta, (u_char *) "file_name", 9, v)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (doc && ngx_http_hangar_disc_fs_item(pool, doc, item) != NGX_OK) {
        return NGX_ERROR;
    }

    if (item->invalid.len) {
        item->spec = NULL;
    }

    return ngx_http_hangar_disc_fingerprint(pool, item);
}


/* the file's keys: name, mode, ttl, connection */

static ngx_int_t
ngx_http_hangar_disc_fs_item(ngx_pool_t *pool, ngx_http_hangar_value_t *doc,
    ngx_http_hangar_disc_item_t *item)
{
    ngx_str_t                 mode;
    ngx_http_hangar_value_t  *v, *conn, *spec;

    v = ngx_http_hangar_get(doc, "name");

    if (v) {
        if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
            || !ngx_http_hangar_spec_id_valid(&v->u.s,
                                              NGX_HTTP_HANGAR_SPEC_API))
        {
            ngx_str_set(&item->invalid, "name: must be 1-64 letters, "
                                        "digits, \"_\" or \"-\"");
            return NGX_OK;
        }

        item->name = v->u.s;
    }

    if (!ngx_http_hangar_spec_id_valid(&item->name, NGX_HTTP_HANGAR_SPEC_API)) {
        ngx_str_set(&item->invalid, "the file's name is not a valid server "
                                    "id; give it a \"name\"");
        return NGX_OK;
    }

    v = ngx_http_hangar_get(doc, "ttl");

    if (v) {
        if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) || v->u.i < 1
            || v->u.i > 86400)
        {
            ngx_str_set(&item->invalid, "ttl: must be an integer "
                                        "in [1, 86400]");
            return NGX_OK;
        }

        item->ttl = v->u.i;
    }

    v = ngx_http_hangar_get(doc, "mode");

    if (v == NULL) {
        ngx_str_set(&mode, "subprocess");

    } else if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        mode = v->u.s;

    } else {
        ngx_str_set(&item->invalid, "mode: must be a string");
        return NGX_OK;
    }

    item->mode = mode;

    conn = ngx_http_hangar_get(doc, "connection");

    if (conn == NULL) {
        conn = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
        if (conn == NULL) {
            return NGX_ERROR;
        }

    } else if (conn->type != NGX_HTTP_HANGAR_OBJ) {
        ngx_str_set(&item->invalid, "connection: must be a mapping");
        return NGX_OK;
    }

    item->conn = conn;

    if (ngx_http_hangar_str_is(&mode, "subprocess")
        || ngx_http_hangar_str_is(&mode, "stdio"))
    {
        spec = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
        if (spec == NULL
            || ngx_http_hangar_disc_fs_command(pool, conn, spec, item)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (item->invalid.len == 0) {
            item->spec = spec;
            return ngx_http_hangar_disc_described(pool, item);
        }

        return NGX_OK;
    }

    if (ngx_http_hangar_str_is(&mode, "http")
        || ngx_http_hangar_str_is(&mode, "sse")
        || ngx_http_hangar_str_is(&mode, "remote"))
    {
        return ngx_http_hangar_disc_fs_network(pool, conn, item);
    }

    ngx_str_set(&item->invalid, "mode: must be subprocess, stdio, http, sse "
                                "or remote");
    return NGX_OK;
}


/* command: a string (with args) or a list; env */

static ngx_int_t
ngx_http_hangar_disc_fs_command(ngx_pool_t *pool,
    ngx_http_hangar_value_t *conn, ngx_http_hangar_value_t *spec,
    ngx_http_hangar_disc_item_t *item)
{
    ngx_uint_t                i;
    ngx_http_hangar_value_t  *cmd, *args, *list, *mode, *env, **a;

    cmd = ngx_http_hangar_get(conn, "command");
    args = ngx_http_hangar_get(conn, "args");

    list = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_ARR);
    mode = ngx_http_hangar_value_str(pool, (u_char *) "subprocess", 10);
    if (list == NULL || mode == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_hangar_is(cmd, NGX_HTTP_HANGAR_STR) && cmd->u.s.len) {
        if (ngx_http_hangar_push(list, cmd) != NGX_OK) {
            return NGX_ERROR;
        }

    } else if (ngx_http_hangar_is(cmd, NGX_HTTP_HANGAR_ARR)
               && cmd->u.arr.nelts)
    {
        a = cmd->u.arr.elts;

        for (i = 0; i < cmd->u.arr.nelts; i++) {
            if (ngx_http_hangar_push(list, a[i]) != NGX_OK) {
                return NGX_ERROR;
            }
        }

    } else {
        ngx_str_set(&item->invalid, "connection.command: is required for "
                                    "mode subprocess");
        return NGX_OK;
    }

    if (args) {
        if (!ngx_http_hangar_is(args, NGX_HTTP_HANGAR_ARR)) {
            ngx_str_set(&item->invalid, "connection.args: must be a list");
            return NGX_OK;
        }

        a = args->u.arr.elts;

        for (i = 0; i < args->u.arr.nelts; i++) {
            if (ngx_http_hangar_push(list, a[i]) != NGX_OK) {
                return NGX_ERROR;
            }
        }
    }

    if (ngx_http_hangar_set(pool, spec, (u_char *) "mode", 4, mode) != NGX_OK
        || ngx_http_hangar_set(pool, spec, (u_char *) "command", 7, list)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    env = ngx_http_hangar_get(conn, "env");

    if (env
        && ngx_http_hangar_set(pool, spec, (u_char *) "env", 3, env) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* host (localhost), port (8080), health_path (/health), endpoint */

static ngx_int_t
ngx_http_hangar_disc_fs_network(ngx_pool_t *pool,
    ngx_http_hangar_value_t *conn, ngx_http_hangar_disc_item_t *item)
{
    ngx_int_t                 port;
    ngx_str_t                 host, hpath, ep;
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_get(conn, "host");
    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR) && v->u.s.len) {
        host = v->u.s;
    } else {
        ngx_str_set(&host, "localhost");
    }

    v = ngx_http_hangar_get(conn, "port");
    port = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) ? v->u.i : 8080;

    v = ngx_http_hangar_get(conn, "health_path");
    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        hpath = v->u.s;
    } else {
        ngx_str_set(&hpath, "/health");
    }

    v = ngx_http_hangar_get(conn, "endpoint");
    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        ep = v->u.s;
    } else {
        ngx_str_null(&ep);
    }

    return ngx_http_hangar_disc_network(pool, item, &host, port, &hpath,
                                        &ep);
}


/* ---- inotify ------------------------------------------------------------ */

ngx_int_t
ngx_http_hangar_disc_fs_watch(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_disc_source_t *src, ngx_event_handler_pt handler)
{
    int                       fd;
    ngx_str_t                 dir;
    ngx_pool_t               *pool;
    ngx_connection_t         *c;
    ngx_http_hangar_value_t  *v;

    if (ngx_http_hangar_disc_fs_conn) {
        return NGX_OK;
    }

    v = ngx_http_hangar_get(src->conf, "watch");

    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_BOOL) && !v->u.b) {
        return NGX_DECLINED;
    }

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_hangar_disc_fs_dir(reg, pool, src, &dir) != NGX_OK) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd == -1) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, ngx_errno,
                      "hangar: discovery: inotify_init1() failed, "
                      "the directory is scanned periodically");
        ngx_destroy_pool(pool);
        return NGX_DECLINED;
    }

    if (inotify_add_watch(fd, (char *) dir.data,
                          IN_CREATE | IN_DELETE | IN_MODIFY | IN_MOVED_FROM
                          | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF
                          | IN_MOVE_SELF)
        == -1)
    {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, ngx_errno,
                      "hangar: discovery: cannot watch %s, "
                      "it is scanned periodically", dir.data);
        (void) close(fd);
        ngx_destroy_pool(pool);
        return NGX_DECLINED;
    }

    ngx_destroy_pool(pool);

    c = ngx_get_connection(fd, ngx_cycle->log);
    if (c == NULL) {
        (void) close(fd);
        return NGX_ERROR;
    }

    c->read->handler = ngx_http_hangar_disc_fs_read;
    c->read->log = ngx_cycle->log;
    c->data = NULL;

    if (ngx_add_event(c->read, NGX_READ_EVENT, 0) != NGX_OK) {
        ngx_close_connection(c);
        return NGX_ERROR;
    }

    ngx_http_hangar_disc_fs_conn = c;
    ngx_http_hangar_disc_fs_handler = handler;

    return NGX_OK;
}


static void
ngx_http_hangar_disc_fs_read(ngx_event_t *ev)
{
    ssize_t            n;
    ngx_uint_t         changed, gone;
    ngx_connection_t  *c;
    u_char             buf[4096]
                       __attribute__ ((aligned(__alignof__(struct inotify_event))));
    struct inotify_event  *ie;
    u_char                *p;

    c = ev->data;
    changed = 0;
    gone = 0;

    for ( ;; ) {
        n = read(c->fd, buf, sizeof(buf));

        if (n <= 0) {
            break;
        }

        changed = 1;

        for (p = buf; p < buf + n; p += sizeof(struct inotify_event) + ie->len) {
            ie = (struct inotify_event *) p;

            if (ie->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                gone = 1;
            }
        }
    }

    if (gone) {
        /* the directory went: watched again when it is there again */
        ngx_http_hangar_disc_fs_unwatch();
    }

    if (changed && ngx_http_hangar_disc_fs_handler) {
        ngx_http_hangar_disc_fs_handler(ev);
    }
}


void
ngx_http_hangar_disc_fs_unwatch(void)
{
    if (ngx_http_hangar_disc_fs_conn) {
        ngx_close_connection(ngx_http_hangar_disc_fs_conn);
        ngx_http_hangar_disc_fs_conn = NULL;
    }
}
