
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The state file read at configuration time (also for "nginx -t"): its
 * shape is checked before anything of it is used, then it is laid over
 * the declarations of hangar.yaml.  And the catalogs kept beside it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_state_load.h"
#include "ngx_http_hangar_state_doc.h"
#include "ngx_http_hangar_registry.h"
#include "ngx_http_hangar_state.h"
#if (NGX_THREADS)
#include <ngx_thread_pool.h>
#endif


static const char *ngx_http_hangar_state_check_list(
    ngx_http_hangar_value_t *v, const char *name, ngx_uint_t ids,
    u_char *where, size_t size);
static const char *ngx_http_hangar_state_check_withdrawn(
    ngx_http_hangar_value_t *v, u_char *where, size_t size);
static const char *ngx_http_hangar_state_check(ngx_http_hangar_value_t *doc,
    u_char *where, size_t size);
static ngx_int_t ngx_http_hangar_state_keys(ngx_conf_t *cf,
    ngx_http_hangar_value_t *list, ngx_array_t *keys);
static ngx_int_t ngx_http_hangar_state_servers(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf, ngx_http_hangar_value_t *doc);
static ngx_http_hangar_value_t *ngx_http_hangar_state_overlay(ngx_conf_t *cf,
    ngx_http_hangar_decl_t *d, ngx_http_hangar_value_t *api,
    ngx_http_hangar_value_t *ov);


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


/*
 * Text hangar keeps and writes back: valid UTF-8 of 1..max bytes with no
 * control characters, so that every state file it writes is valid JSON.
 */

ngx_uint_t
ngx_http_hangar_state_text_valid(ngx_str_t *s, size_t max)
{
    u_char    *p, *last;
    uint32_t   u;

    if (s->len == 0 || s->len > max) {
        return 0;
    }

    p = s->data;
    last = p + s->len;

    while (p < last) {
        if (*p < 0x80) {
            if (*p < 0x20 || *p == 0x7f) {
                return 0;
            }

            p++;
            continue;
        }

        u = ngx_utf8_decode(&p, last - p);

        if (u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff) || u < 0xa0) {
            return 0;
        }
    }

    return 1;
}


/*
 * The shape of the state file, checked before anything of it is used:
 * a file of the wrong shape stops "nginx -t" and a start with the JSON
 * path and what was expected there, and is left as it is.
 */

static const char *
ngx_http_hangar_state_check_list(ngx_http_hangar_value_t *v,
    const char *name, ngx_uint_t ids, u_char *where, size_t size)
{
    ngx_uint_t                 i;
    ngx_http_hangar_value_t  **items;

    if (v == NULL) {
        return NULL;
    }

    if (v->type != NGX_HTTP_HANGAR_ARR) {
        ngx_snprintf(where, size, "%s%Z", name);
        return "a list of strings";
    }

    items = v->u.arr.elts;

    for (i = 0; i < v->u.arr.nelts; i++) {
        ngx_snprintf(where, size, "%s[%ui]%Z", name, i);

        if (items[i]->type != NGX_HTTP_HANGAR_STR) {
            return "a string";
        }

        if (ids == 1
            && !ngx_http_hangar_spec_id_valid(&items[i]->u.s,
                                              NGX_HTTP_HANGAR_SPEC_API))
        {
            return "a server id (1-64 letters, digits, \"_\" or \"-\")";
        }

        if (ids == 2 && !ngx_http_hangar_id_chars(&items[i]->u.s, 128)) {
            return "a session id (1-128 letters, digits, \"_\" or \"-\")";
        }
    }

    return NULL;
}


static const char *
ngx_http_hangar_state_check_withdrawn(ngx_http_hangar_value_t *v,
    u_char *where, size_t size)
{
    ngx_uint_t                 i;
    ngx_http_hangar_value_t  **items, *s, *t, *n;

    if (v == NULL) {
        return NULL;
    }

    if (v->type != NGX_HTTP_HANGAR_ARR) {
        ngx_snprintf(where, size, "withdrawn%Z");
        return "a list of withdrawals";
    }

    items = v->u.arr.elts;

    for (i = 0; i < v->u.arr.nelts; i++) {
        ngx_snprintf(where, size, "withdrawn[%ui]%Z", i);

        if (items[i]->type != NGX_HTTP_HANGAR_OBJ) {
            return "an object {\"mcp_server\",\"tool\",\"tenant_id\"}";
        }

        s = ngx_http_hangar_get(items[i], "mcp_server");
        t = ngx_http_hangar_get(items[i], "tool");
        n = ngx_http_hangar_get(items[i], "tenant_id");

        ngx_snprintf(where, size, "withdrawn[%ui].mcp_server%Z", i);

        if (!ngx_http_hangar_is(s, NGX_HTTP_HANGAR_STR)
            || !ngx_http_hangar_spec_id_valid(&s->u.s,
                                              NGX_HTTP_HANGAR_SPEC_API))
        {
            return "a server id";
        }

        ngx_snprintf(where, size, "withdrawn[%ui].tool%Z", i);

        if (!ngx_http_hangar_is(t, NGX_HTTP_HANGAR_STR)
            || !ngx_http_hangar_state_text_valid(&t->u.s,
                                                 NGX_HTTP_HANGAR_NAME_MAX))
        {
            return "a tool name";
        }

        ngx_snprintf(where, size, "withdrawn[%ui].tenant_id%Z", i);

        if (n == NULL
            || !(n->type == NGX_HTTP_HANGAR_NULL
                 || (n->type == NGX_HTTP_HANGAR_STR
                     && ngx_http_hangar_state_text_valid(&n->u.s,
                                                NGX_HTTP_HANGAR_NAME_MAX))))
        {
            return "a tenant id or null";
        }
    }

    return NULL;
}


static const char *
ngx_http_hangar_state_check(ngx_http_hangar_value_t *doc, u_char *where,
    size_t size)
{
    const char               *e;
    ngx_uint_t                i;
    ngx_http_hangar_pair_t   *pair;
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_get(doc, "version");

    if (v && !(v->type == NGX_HTTP_HANGAR_INT && v->u.i == 1)) {
        ngx_snprintf(where, size, "version%Z");
        return "1";
    }

    v = ngx_http_hangar_get(doc, "mcp_servers");

    if (v && v->type != NGX_HTTP_HANGAR_OBJ) {
        ngx_snprintf(where, size, "mcp_servers%Z");
        return "an object of servers by id";
    }

    if (v) {
        pair = v->u.obj.elts;

        for (i = 0; i < v->u.obj.nelts; i++) {
            if (pair[i].value->type != NGX_HTTP_HANGAR_OBJ) {
                ngx_snprintf(where, size, "mcp_servers.%V%Z", &pair[i].key);
                return "an object";
            }
        }
    }

    v = ngx_http_hangar_get(doc, "overlay");

    if (v && v->type != NGX_HTTP_HANGAR_OBJ) {
        ngx_snprintf(where, size, "overlay%Z");
        return "an object of changed fields by server id";
    }

    if (v) {
        pair = v->u.obj.elts;

        for (i = 0; i < v->u.obj.nelts; i++) {
            if (pair[i].value->type != NGX_HTTP_HANGAR_OBJ) {
                ngx_snprintf(where, size, "overlay.%V%Z", &pair[i].key);
                return "an object";
            }
        }
    }

    for (i = 0; i < NGX_HTTP_HANGAR_DOCS; i++) {
        v = ngx_http_hangar_get(doc, ngx_http_hangar_doc_names[i]);

        if (v && v->type != NGX_HTTP_HANGAR_OBJ) {
            ngx_snprintf(where, size, "%s%Z", ngx_http_hangar_doc_names[i]);
            return "an object";
        }
    }

    e = ngx_http_hangar_state_check_list(ngx_http_hangar_get(doc, "deleted"),
                                         "deleted", 1, where, size);
    if (e == NULL) {
        e = ngx_http_hangar_state_check_list(
                                        ngx_http_hangar_get(doc, "blocked"),
                                        "blocked", 1, where, size);
    }

    if (e == NULL) {
        e = ngx_http_hangar_state_check_list(
                                        ngx_http_hangar_get(doc, "suspended"),
                                        "suspended", 2, where, size);
    }

    if (e == NULL) {
        e = ngx_http_hangar_state_check_withdrawn(
                                        ngx_http_hangar_get(doc, "withdrawn"),
                                        where, size);
    }

    return e;
}


/*
 * At configuration time (also for "nginx -t"): lays the state file over
 * the declarations from hangar.yaml.  A server in the file replaces the
 * declared one; a deleted id is dropped.  "nginx -s quit|stop|reload"
 * only sends a signal: it never reads the file, so a file hangar cannot
 * read does not keep nginx from being stopped.
 */

ngx_int_t
ngx_http_hangar_state_merge(ngx_conf_t *cf, ngx_http_hangar_main_conf_t *hmcf)
{
    u_char                    where[256];
    ngx_int_t                 rc;
    ngx_str_t                 path, *keys;
    ngx_uint_t                i, j;
    const char               *expected;
    ngx_http_hangar_decl_t   *d;
    ngx_http_hangar_out_t     out;
    ngx_http_hangar_value_t  *doc, *deleted, *v, **ids;

    if (ngx_array_init(&hmcf->deleted, cf->pool, 4, sizeof(ngx_str_t))
        != NGX_OK
        || ngx_array_init(&hmcf->suspended, cf->pool, 4, sizeof(ngx_str_t))
           != NGX_OK
        || ngx_array_init(&hmcf->withdrawn, cf->pool, 4, sizeof(ngx_str_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_process == NGX_PROCESS_SIGNALLER) {
        return NGX_OK;
    }

    rc = ngx_http_hangar_state_read(cf->pool, &hmcf->state_dir, cf->log,
                                    &doc);
    if (rc == NGX_DECLINED) {
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    expected = ngx_http_hangar_state_check(doc, where, sizeof(where) - 1);

    if (expected) {
        where[sizeof(where) - 1] = '\0';

        if (ngx_http_hangar_state_path(cf->pool, &hmcf->state_dir,
                                       NGX_HTTP_HANGAR_STATE_FILE, &path)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hangar: state file \"%V\" is invalid at \"%s\": "
                           "expected %s; the file was left as it is, move it "
                           "away to start from hangar.yaml alone",
                           &path, where, expected);
        return NGX_ERROR;
    }

    deleted = ngx_http_hangar_get(doc, "deleted");

    if (ngx_http_hangar_is(deleted, NGX_HTTP_HANGAR_ARR)) {
        if (ngx_http_hangar_state_keys(cf, deleted, &hmcf->deleted)
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

    hmcf->blocked = ngx_http_hangar_get(doc, "blocked");

    if (ngx_http_hangar_state_keys(cf, ngx_http_hangar_get(doc, "suspended"),
                                   &hmcf->suspended)
        != NGX_OK
        || ngx_http_hangar_state_keys(cf,
                                      ngx_http_hangar_get(doc, "withdrawn"),
                                      &hmcf->withdrawn)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the documents, as text for the zone; their owners check them */
    for (i = 0; i < NGX_HTTP_HANGAR_DOCS; i++) {
        v = ngx_http_hangar_get(doc, ngx_http_hangar_doc_names[i]);

        if (v == NULL) {
            continue;
        }

        ngx_http_hangar_out_init(&out, cf->pool, 1024);
        ngx_http_hangar_json_out(&out, v);

        if (ngx_http_hangar_out_flatten(&out, &hmcf->docs[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    /* session ids compare in lower case */
    keys = hmcf->suspended.elts;

    for (i = 0; i < hmcf->suspended.nelts; i++) {
        ngx_strlow(keys[i].data, keys[i].data, keys[i].len);
    }

    return ngx_http_hangar_state_servers(cf, hmcf, doc);
}


/* the keys of a checked list of the file, for its set in the zone */

static ngx_int_t
ngx_http_hangar_state_keys(ngx_conf_t *cf, ngx_http_hangar_value_t *list,
    ngx_array_t *keys)
{
    ngx_str_t                 *k;
    ngx_uint_t                 i;
    ngx_http_hangar_value_t  **items, *t;

    if (list == NULL) {
        return NGX_OK;
    }

    items = list->u.arr.elts;

    for (i = 0; i < list->u.arr.nelts; i++) {
        k = ngx_array_push(keys);
        if (k == NULL) {
            return NGX_ERROR;
        }

        if (items[i]->type == NGX_HTTP_HANGAR_STR) {
            *k = items[i]->u.s;
            continue;
        }

        /* a withdrawal: {"mcp_server","tool","tenant_id"} */
        t = ngx_http_hangar_get(items[i], "tenant_id");

        if (ngx_http_hangar_withdrawal_key(cf->pool,
                &ngx_http_hangar_get(items[i], "mcp_server")->u.s,
                &ngx_http_hangar_get(items[i], "tool")->u.s,
                t->type == NGX_HTTP_HANGAR_STR ? &t->u.s : NULL, k)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* the servers of the state file over the declared ones */

static ngx_int_t
ngx_http_hangar_state_servers(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf, ngx_http_hangar_value_t *doc)
{
    ngx_uint_t                   i, j;
    ngx_http_hangar_pair_t      *pair;
    ngx_http_hangar_decl_t      *d;
    ngx_http_hangar_value_t     *servers, *spec, *ov;
    ngx_http_hangar_spec_ctx_t   ctx;

    servers = ngx_http_hangar_get(doc, "mcp_servers");

    if (!ngx_http_hangar_is(servers, NGX_HTTP_HANGAR_OBJ)) {
        return NGX_OK;
    }

    pair = servers->u.obj.elts;

    for (i = 0; i < servers->u.obj.nelts; i++) {
        ngx_memzero(&ctx, sizeof(ngx_http_hangar_spec_ctx_t));
        ctx.pool = cf->pool;
        ctx.log = cf->log;
        ctx.source = NGX_HTTP_HANGAR_SPEC_OWN;     /* hangar wrote it */

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

        if (d->declared) {
            ov = ngx_http_hangar_get_n(ngx_http_hangar_get(doc, "overlay"),
                                       pair[i].key.data, pair[i].key.len);
            d->yaml = d->spec;

            /* an old file has no overlay: its spec replaces the YAML one */
            if (ov) {
                spec = ngx_http_hangar_state_overlay(cf, d, spec, ov);
                if (spec == NULL) {
                    return NGX_ERROR;
                }

                d->base = ov;
            }
        }

        d->spec = spec;
        d->api = 1;
    }

    return NGX_OK;
}


/*
 * A declared server changed through the API: hangar.yaml as it is now,
 * with the fields the API changed laid over it.  A field that changed in
 * hangar.yaml too since the API changed it keeps the API's value.
 */

static ngx_http_hangar_value_t *
ngx_http_hangar_state_overlay(ngx_conf_t *cf, ngx_http_hangar_decl_t *d,
    ngx_http_hangar_value_t *api, ngx_http_hangar_value_t *ov)
{
    u_char                      *key;
    ngx_uint_t                   i;
    ngx_http_hangar_pair_t      *pair;
    ngx_http_hangar_value_t     *merged, *a, *y, *spec;
    ngx_http_hangar_spec_ctx_t   ctx;

    merged = ngx_http_hangar_value_copy(cf->pool, d->yaml);
    if (merged == NULL) {
        return NULL;
    }

    pair = ov->u.obj.elts;

    for (i = 0; i < ov->u.obj.nelts; i++) {
        a = ngx_http_hangar_get_n(api, pair[i].key.data, pair[i].key.len);
        y = ngx_http_hangar_get_n(merged, pair[i].key.data, pair[i].key.len);

        if (!ngx_http_hangar_state_same(y, pair[i].value)
            && !ngx_http_hangar_state_same(y, a))
        {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "hangar: \"%V\": \"%V\" was changed both in "
                               "hangar.yaml and through the API; the API's "
                               "value is kept", &d->id, &pair[i].key);
        }

        if (a) {
            if (ngx_http_hangar_set(cf->pool, merged, pair[i].key.data,
                                    pair[i].key.len, a)
                != NGX_OK)
            {
                return NULL;
            }

            continue;
        }

        key = ngx_pnalloc(cf->pool, pair[i].key.len + 1);
        if (key == NULL) {
            return NULL;
        }

        ngx_cpystrn(key, pair[i].key.data, pair[i].key.len + 1);
        ngx_http_hangar_del(merged, (char *) key);
    }

    ngx_memzero(&ctx, sizeof(ngx_http_hangar_spec_ctx_t));
    ctx.pool = cf->pool;
    ctx.log = cf->log;
    ctx.source = NGX_HTTP_HANGAR_SPEC_OWN;

    if (ngx_http_hangar_spec_server(&ctx, &d->id, merged, &spec) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hangar: \"%V\" with the changes made through "
                           "the API is invalid: %V", &d->id, &ctx.message);
        return NULL;
    }

    return spec;
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
