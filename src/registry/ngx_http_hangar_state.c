
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
#include "ngx_http_hangar_registry.h"


static ngx_int_t ngx_http_hangar_state_path(ngx_pool_t *pool, ngx_str_t *dir,
    const char *name, ngx_str_t *path);
static void ngx_http_hangar_state_render(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_out_t *out, ngx_http_hangar_blob_t **slot,
    ngx_http_hangar_blob_t **over, ngx_str_t *over_text);


static ngx_int_t
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


/* NGX_DECLINED: no state file yet */

ngx_int_t
ngx_http_hangar_state_read(ngx_pool_t *pool, ngx_str_t *dir, ngx_log_t *log,
    ngx_http_hangar_value_t **doc)
{
    return ngx_http_hangar_file_read(pool, dir, NGX_HTTP_HANGAR_STATE_FILE,
                                     log, doc);
}


ngx_int_t
ngx_http_hangar_file_read(ngx_pool_t *pool, ngx_str_t *dir, const char *name,
    ngx_log_t *log, ngx_http_hangar_value_t **doc)
{
    u_char           *buf;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_str_t         path, err;
    ngx_uint_t        state, level;
    ngx_file_info_t   fi;

    ngx_str_null(&err);

    /* the state file is read at configuration time, the rest at run time */
    state = (ngx_strcmp(name, NGX_HTTP_HANGAR_STATE_FILE) == 0);
    level = state ? NGX_LOG_EMERG : NGX_LOG_ERR;

    if (ngx_http_hangar_state_path(pool, dir, name, &path) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        if (ngx_errno == NGX_ENOENT) {
            return NGX_DECLINED;
        }

        ngx_log_error(level, log, ngx_errno,
                      ngx_open_file_n " \"%s\" failed", path.data);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(level, log, ngx_errno,
                      ngx_fd_info_n " \"%s\" failed", path.data);
        (void) ngx_close_file(fd);
        return NGX_ERROR;
    }

    buf = ngx_pnalloc(pool, ngx_file_size(&fi) + 1);
    if (buf == NULL) {
        (void) ngx_close_file(fd);
        return NGX_ERROR;
    }

    n = ngx_read_fd(fd, buf, ngx_file_size(&fi));
    (void) ngx_close_file(fd);

    if (n != (ssize_t) ngx_file_size(&fi)) {
        ngx_log_error(level, log, ngx_errno, "hangar: cannot read \"%s\"",
                      path.data);
        return NGX_ERROR;
    }

    *doc = ngx_http_hangar_json_parse(pool, buf, n, &err);

    if (*doc == NULL || (state && (*doc)->type != NGX_HTTP_HANGAR_OBJ)) {
        if (state) {
            ngx_log_error(NGX_LOG_EMERG, log, 0,
                          "hangar: state file \"%s\" is damaged (%V); "
                          "move it away to start from hangar.yaml alone",
                          path.data, err.len ? &err : &path);

        } else {
            /* a cache: a start writes it again */
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "hangar: \"%s\" is damaged, ignored", path.data);
        }

        return NGX_ERROR;
    }

    return NGX_OK;
}


/* dir/name, whole or not at all: temp file, fsync, rename, fsync dir */

ngx_int_t
ngx_http_hangar_file_write(ngx_pool_t *pool, ngx_str_t *dir, const char *name,
    ngx_str_t *text, ngx_log_t *log, ngx_str_t *errmsg)
{
    u_char     *tmpname;
    ngx_fd_t    fd;
    ngx_err_t   err;
    ngx_str_t   path, tmp;
    const char *what;

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

    what = "open";
    fd = ngx_open_file(tmp.data, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE, 0600);
    if (fd == NGX_INVALID_FILE) {
        goto failed;
    }

    what = "write";
    if (ngx_write_fd(fd, text->data, text->len) != (ssize_t) text->len) {
        goto failed_close;
    }

    what = "fsync";
    if (fsync(fd) == -1) {
        goto failed_close;
    }

    (void) ngx_close_file(fd);

    what = "rename";
    if (ngx_rename_file(tmp.data, path.data) == NGX_FILE_ERROR) {
        goto failed;
    }

    /* the rename itself must reach the disk */
    fd = ngx_open_file(dir->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd != NGX_INVALID_FILE) {
        (void) fsync(fd);
        (void) ngx_close_file(fd);
    }

    return NGX_OK;

failed_close:

    err = ngx_errno;
    (void) ngx_close_file(fd);
    (void) ngx_delete_file(tmp.data);
    ngx_set_errno(err);

failed:

    err = ngx_errno;

    ngx_log_error(NGX_LOG_ERR, log, err, "hangar: %s \"%s\" failed",
                  what, tmp.data);

    errmsg->data = ngx_pnalloc(pool, NGX_MAX_ERROR_STR);
    if (errmsg->data != NULL) {
        errmsg->len = ngx_snprintf(errmsg->data, NGX_MAX_ERROR_STR,
                                   "could not save the change in \"%V\" "
                                   "(%s: %s); nothing was changed",
                                   dir, what, strerror(err))
                      - errmsg->data;
    }

    return NGX_ERROR;
}


/*
 * Renders the overlay from the registry, with one pending change: id gets
 * spec (or is dropped when spec is NULL) and the deleted list becomes
 * deleted.  The caller holds the state lock, so no other change can come
 * between this and the commit.
 */

/* a save with no pending spec change: the blocked flags changed */

ngx_int_t
ngx_http_hangar_state_flags(ngx_http_hangar_registry_t *reg, ngx_pool_t *pool,
    ngx_log_t *log, ngx_str_t *errmsg)
{
    ngx_int_t  rc;
    ngx_str_t  none = ngx_null_string, deleted;

    if (ngx_http_hangar_state_lock(reg, log) != NGX_OK) {
        ngx_str_set(errmsg, "another change is in progress");
        return NGX_ERROR;
    }

    rc = ngx_http_hangar_blob_copy(reg, pool, reg->sh->deleted, "[]",
                                   &deleted);

    if (rc == NGX_OK) {
        rc = ngx_http_hangar_state_save(reg, pool, &none, NULL, &deleted,
                                        NULL, NULL, log, errmsg);
    }

    ngx_http_hangar_state_unlock(reg);

    return rc;
}


static void
ngx_http_hangar_state_render(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_out_t *out, ngx_http_hangar_blob_t **slot,
    ngx_http_hangar_blob_t **over, ngx_str_t *over_text)
{
    if (slot == over) {
        ngx_http_hangar_out_raw(out, over_text->data, over_text->len);
        return;
    }

    ngx_http_hangar_lock(reg);

    if (*slot) {
        ngx_http_hangar_out_raw(out, (*slot)->data, (*slot)->len);

    } else {
        ngx_http_hangar_out_lit(out, "[]");
    }

    ngx_http_hangar_unlock(reg);
}


/* a copy of a blob's text ("empty" when there is none), under the lock */

ngx_int_t
ngx_http_hangar_blob_copy(ngx_http_hangar_registry_t *reg, ngx_pool_t *pool,
    ngx_http_hangar_blob_t *blob, const char *empty, ngx_str_t *text)
{
    ngx_int_t  rc;

    rc = NGX_OK;

    ngx_http_hangar_lock(reg);

    if (blob == NULL) {
        text->data = (u_char *) empty;
        text->len = ngx_strlen(empty);

    } else {
        text->len = blob->len;
        text->data = ngx_pnalloc(pool, blob->len);

        if (text->data == NULL) {
            rc = NGX_ERROR;

        } else {
            ngx_memcpy(text->data, blob->data, blob->len);
        }
    }

    ngx_http_hangar_unlock(reg);

    return rc;
}


/*
 * One of the shm lists (suspended sessions, withdrawn tools) becomes text,
 * durably: memory first, then the file, then the swap.
 */

ngx_int_t
ngx_http_hangar_state_list(ngx_http_hangar_registry_t *reg, ngx_pool_t *pool,
    ngx_http_hangar_blob_t **slot, ngx_str_t *text, ngx_log_t *log,
    ngx_str_t *errmsg)
{
    ngx_int_t                rc;
    ngx_str_t                none = ngx_null_string, deleted;
    ngx_http_hangar_blob_t  *blob;

    if (ngx_http_hangar_state_lock(reg, log) != NGX_OK) {
        ngx_str_set(errmsg, "another change is in progress");
        return NGX_ERROR;
    }

    ngx_http_hangar_lock(reg);
    blob = ngx_http_hangar_blob(reg, text->data, text->len);
    ngx_http_hangar_unlock(reg);

    if (blob == NULL) {
        ngx_http_hangar_state_unlock(reg);
        ngx_http_hangar_zone_full(reg, log);
        ngx_str_set(errmsg, "the hangar zone is full");
        return NGX_DECLINED;
    }

    rc = ngx_http_hangar_blob_copy(reg, pool, reg->sh->deleted, "[]",
                                   &deleted);

    if (rc == NGX_OK) {
        rc = ngx_http_hangar_state_save(reg, pool, &none, NULL, &deleted,
                                        slot, text, log, errmsg);
    }

    ngx_http_hangar_lock(reg);

    if (rc == NGX_OK) {
        ngx_http_hangar_blob_free(reg, *slot);
        *slot = blob;
        (void) ngx_atomic_fetch_add(&reg->sh->generation, 1);

    } else {
        ngx_http_hangar_blob_free(reg, blob);
    }

    ngx_http_hangar_unlock(reg);
    ngx_http_hangar_state_unlock(reg);

    return rc;
}


ngx_int_t
ngx_http_hangar_state_save(ngx_http_hangar_registry_t *reg, ngx_pool_t *pool,
    ngx_str_t *id, ngx_str_t *spec, ngx_str_t *deleted,
    ngx_http_hangar_blob_t **over, ngx_str_t *over_text, ngx_log_t *log,
    ngx_str_t *errmsg)
{
    ngx_str_t                text;
    ngx_uint_t               first;
    ngx_queue_t             *q;
    ngx_http_hangar_out_t    out;
    ngx_http_hangar_node_t  *node;

    ngx_http_hangar_out_init(&out, pool, 4096);
    ngx_http_hangar_out_lit(&out, "{\"version\":1,\"mcp_servers\":{");

    first = 1;

    ngx_http_hangar_lock(reg);

    for (q = ngx_queue_head(&reg->sh->servers.queue);
         q != ngx_queue_sentinel(&reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        if (!node->api
            || ngx_memn2cmp(node->id, id->data, node->id_len, id->len) == 0)
        {
            continue;
        }

        if (!first) {
            ngx_http_hangar_out_lit(&out, ",");
        }

        first = 0;
        ngx_http_hangar_out_str(&out, node->id, node->id_len);
        ngx_http_hangar_out_lit(&out, ":");
        ngx_http_hangar_out_raw(&out, node->spec->data, node->spec->len);
    }

    ngx_http_hangar_unlock(reg);

    if (spec) {
        if (!first) {
            ngx_http_hangar_out_lit(&out, ",");
        }

        ngx_http_hangar_out_str(&out, id->data, id->len);
        ngx_http_hangar_out_lit(&out, ":");
        ngx_http_hangar_out_raw(&out, spec->data, spec->len);
    }

    ngx_http_hangar_out_lit(&out, "},\"deleted\":");
    ngx_http_hangar_out_raw(&out, deleted->data, deleted->len);

    /* blocked servers stay blocked across restarts */
    ngx_http_hangar_out_lit(&out, ",\"blocked\":[");
    first = 1;

    ngx_http_hangar_lock(reg);

    for (q = ngx_queue_head(&reg->sh->servers.queue);
         q != ngx_queue_sentinel(&reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        if (!node->blocked) {
            continue;
        }

        if (!first) {
            ngx_http_hangar_out_lit(&out, ",");
        }

        first = 0;
        ngx_http_hangar_out_str(&out, node->id, node->id_len);
    }

    ngx_http_hangar_unlock(reg);

    ngx_http_hangar_out_lit(&out, "]");

    /* suspended sessions and withdrawn tools, or the pending new list */
    ngx_http_hangar_out_lit(&out, ",\"suspended\":");
    ngx_http_hangar_state_render(reg, &out, &reg->sh->suspended, over,
                                 over_text);
    ngx_http_hangar_out_lit(&out, ",\"withdrawn\":");
    ngx_http_hangar_state_render(reg, &out, &reg->sh->withdrawn, over,
                                 over_text);

    ngx_http_hangar_out_lit(&out, "}\n");

    if (ngx_http_hangar_out_flatten(&out, &text) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_hangar_file_write(pool, &reg->hmcf->state_dir,
                                      NGX_HTTP_HANGAR_STATE_FILE, &text, log,
                                      errmsg);
}


/*
 * At configuration time (also for "nginx -t"): lays the state file over
 * the declarations from hangar.yaml.  A server in the file replaces the
 * declared one; a deleted id is dropped.
 */

ngx_int_t
ngx_http_hangar_state_merge(ngx_conf_t *cf, ngx_http_hangar_main_conf_t *hmcf)
{
    ngx_int_t                    rc;
    ngx_uint_t                   i, j;
    ngx_http_hangar_pair_t      *pair;
    ngx_http_hangar_decl_t      *d;
    ngx_http_hangar_value_t     *doc, *servers, *deleted, **ids, *spec, *v;
    ngx_http_hangar_spec_ctx_t   ctx;

    rc = ngx_http_hangar_state_read(cf->pool, &hmcf->state_dir, cf->log,
                                    &doc);
    if (rc == NGX_DECLINED) {
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    deleted = ngx_http_hangar_get(doc, "deleted");

    if (ngx_http_hangar_is(deleted, NGX_HTTP_HANGAR_ARR)) {
        if (ngx_http_hangar_json_text(cf->pool, deleted, &hmcf->deleted)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        ids = deleted->u.arr.elts;
        d = hmcf->decls.elts;

        for (i = 0; i < deleted->u.arr.nelts; i++) {
            for (j = 0; j < hmcf->decls.nelts; /* void */) {
                if (!d[j].group && ids[i]->type == NGX_HTTP_HANGAR_STR
                    && ngx_memn2cmp(d[j].id.data, ids[i]->u.s.data,
                                    d[j].id.len, ids[i]->u.s.len) == 0)
                {
                    d[j] = d[--hmcf->decls.nelts];
                    continue;
                }
                j++;
            }
        }
    }

    servers = ngx_http_hangar_get(doc, "mcp_servers");
    hmcf->blocked = ngx_http_hangar_get(doc, "blocked");

    v = ngx_http_hangar_get(doc, "suspended");
    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_ARR)
        && ngx_http_hangar_json_text(cf->pool, v, &hmcf->suspended) != NGX_OK)
    {
        return NGX_ERROR;
    }

    v = ngx_http_hangar_get(doc, "withdrawn");
    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_ARR)
        && ngx_http_hangar_json_text(cf->pool, v, &hmcf->withdrawn) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (!ngx_http_hangar_is(servers, NGX_HTTP_HANGAR_OBJ)) {
        return NGX_OK;
    }

    pair = servers->u.obj.elts;

    for (i = 0; i < servers->u.obj.nelts; i++) {
        ngx_memzero(&ctx, sizeof(ngx_http_hangar_spec_ctx_t));
        ctx.pool = cf->pool;
        ctx.log = cf->log;
        ctx.source = NGX_HTTP_HANGAR_SPEC_API;

        if (!ngx_http_hangar_spec_id_valid(&pair[i].key,
                                           NGX_HTTP_HANGAR_SPEC_API)
            || ngx_http_hangar_spec_server(&ctx, &pair[i].key, pair[i].value,
                                           &spec)
               != NGX_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hangar: state file entry \"%V\" is invalid: "
                               "%V", &pair[i].key, &ctx.message);
            return NGX_ERROR;
        }

        d = hmcf->decls.elts;

        for (j = 0; j < hmcf->decls.nelts; j++) {
            if (!d[j].group
                && ngx_memn2cmp(d[j].id.data, pair[i].key.data, d[j].id.len,
                                pair[i].key.len) == 0)
            {
                break;
            }
        }

        if (j == hmcf->decls.nelts) {
            d = ngx_array_push(&hmcf->decls);
            if (d == NULL) {
                return NGX_ERROR;
            }

            ngx_memzero(d, sizeof(ngx_http_hangar_decl_t));
            d->id = pair[i].key;

        } else {
            d = &d[j];
        }

        d->spec = spec;
        d->api = 1;
    }

    return NGX_OK;
}


/*
 * The catalog a server showed at its last start, kept in
 * <hangar_state>/catalog/<id>.json, so the front door can list the tools
 * of cold servers after a restart too.
 */

ngx_int_t
ngx_http_hangar_catalog_load(ngx_conf_t *cf, ngx_http_hangar_main_conf_t *hmcf)
{
    u_char                   *name;
    ngx_int_t                 rc;
    ngx_uint_t                i;
    ngx_http_hangar_decl_t   *d;
    ngx_http_hangar_value_t  *doc, *tools;

    d = hmcf->decls.elts;

    for (i = 0; i < hmcf->decls.nelts; i++) {
        tools = ngx_http_hangar_get(d[i].spec, "tools");

        if (d[i].group || ngx_http_hangar_is(tools, NGX_HTTP_HANGAR_ARR)) {
            continue;
        }

        name = ngx_pnalloc(cf->pool, d[i].id.len + sizeof("catalog/.json"));
        if (name == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(name, "catalog/%V.json%Z", &d[i].id);

        rc = ngx_http_hangar_file_read(cf->pool, &hmcf->state_dir,
                                       (char *) name, cf->log, &doc);

        if (rc == NGX_OK && ngx_http_hangar_is(doc, NGX_HTTP_HANGAR_ARR)) {
            if (ngx_http_hangar_json_text(cf->pool, doc, &d[i].catalog)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            d[i].catalog_count = doc->u.arr.nelts;
        }

        /* a damaged catalog is only a cache: the next start rewrites it */
    }

    return NGX_OK;
}
