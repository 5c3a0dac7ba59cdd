
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/config (hangar-core.md §1.5, §4.4, §4.5).
 *
 * The effective configuration is hangar.yaml (as this worker loaded it)
 * with the registry's servers and groups laid over its "mcp_servers" and
 * "groups": the registry holds hangar.yaml with every API change over it,
 * so it is the truth for the fleet.  Secrets are masked at any depth in
 * what GET and diff show; export and backup carry the real values, so
 * that what they write loads back unchanged.
 *
 * A reload re-reads hangar.yaml and the state file in this worker and
 * applies the fleet with the reconcile that "nginx -s reload" runs
 * (ngx_http_hangar_reconcile.c), all or nothing: unchanged servers keep
 * running, changed ones restart, removed ones stop.  Settings that need a
 * restart (auth, rate limits, tool_access.mode, execution) are not taken
 * from the new file.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_api_config.h"
#include "ngx_http_hangar_config.h"
#include "ngx_http_hangar_yaml.h"
#include "ngx_http_hangar_guard.h"
#include "ngx_http_hangar_reconcile.h"
#include "ngx_http_hangar_state_load.h"
#include "ngx_http_hangar_proc.h"
#include "ngx_http_hangar_stats.h"


#define NGX_HTTP_HANGAR_BACKUPS   5
#define NGX_HTTP_HANGAR_MASK      "[REDACTED]"
#define NGX_HTTP_HANGAR_DIFF_MAX  (1024 * 1024)     /* LCS cells */


/* a record of the registry, copied out under the slab mutex */
typedef struct {
    ngx_str_t                    id;
    ngx_str_t                    spec;
    ngx_uint_t                   group;
    ngx_uint_t                   seen;
} ngx_http_hangar_cfg_item_t;


/* the first error a configuration load logs */
typedef struct {
    u_char                       buf[1024];
    size_t                       len;
} ngx_http_hangar_cfg_capture_t;


/* one line of a diff: ' ', '-' or '+' */
typedef struct {
    ngx_str_t                    line;
    u_char                       op;
} ngx_http_hangar_cfg_op_t;


static ngx_int_t ngx_http_hangar_cfg_snapshot(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_array_t *items);
static ngx_http_hangar_value_t *ngx_http_hangar_cfg_effective(
    ngx_http_hangar_req_t *hr, ngx_uint_t *servers, ngx_uint_t *groups);
static ngx_uint_t ngx_http_hangar_cfg_secret(ngx_str_t *key);
static void ngx_http_hangar_cfg_mask(ngx_pool_t *pool,
    ngx_http_hangar_value_t *v, ngx_uint_t all);
static ngx_int_t ngx_http_hangar_cfg_yaml(ngx_pool_t *pool,
    ngx_http_hangar_value_t *v, ngx_uint_t sorted, ngx_str_t *text);
static void ngx_http_hangar_cfg_block(ngx_http_hangar_out_t *out,
    ngx_http_hangar_value_t *v, ngx_uint_t indent, ngx_uint_t sorted);
static void ngx_http_hangar_cfg_key(ngx_http_hangar_out_t *out,
    ngx_str_t *key);
static void ngx_http_hangar_cfg_capture(ngx_log_t *log, ngx_uint_t level,
    u_char *buf, size_t len);
static ngx_int_t ngx_http_hangar_cfg_load(ngx_http_hangar_req_t *hr,
    ngx_pool_t *pool, ngx_http_hangar_main_conf_t *nm, ngx_str_t *err);
static ngx_int_t ngx_http_hangar_cfg_apply(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_main_conf_t *nm, ngx_array_t *stale);
static void ngx_http_hangar_cfg_stop(ngx_http_hangar_req_t *hr,
    ngx_array_t *stale);
static void ngx_http_hangar_cfg_ids(ngx_http_hangar_out_t *out,
    const char *name, ngx_array_t *ids);
static ngx_int_t ngx_http_hangar_cfg_write(ngx_http_hangar_req_t *hr,
    ngx_str_t *dir, ngx_str_t *name, ngx_str_t *text, ngx_err_t *err);
static ngx_int_t ngx_http_hangar_cfg_lines(ngx_pool_t *pool, ngx_str_t *text,
    ngx_array_t *lines);
static ngx_int_t ngx_http_hangar_cfg_lcs(ngx_pool_t *pool, ngx_str_t *a,
    ngx_uint_t n, ngx_str_t *b, ngx_uint_t m, ngx_array_t *ops);
static ngx_int_t ngx_http_hangar_cfg_udiff(ngx_pool_t *pool, ngx_str_t *a,
    ngx_str_t *b, ngx_str_t *diff);
static void ngx_http_hangar_cfg_hunk(ngx_http_hangar_out_t *out,
    ngx_http_hangar_cfg_op_t *op, ngx_uint_t from, ngx_uint_t to,
    ngx_uint_t astart, ngx_uint_t bstart);


/* the pool of the fleet the last API reload applied (this worker's) */
static ngx_pool_t  *ngx_http_hangar_cfg_pool;


/* ---- the effective configuration ---------------------------------------- */

/*
 * The registry's records (id, spec JSON) copied into the pool: sized with
 * the mutex, allocated without it, copied with it (again if the registry
 * grew meanwhile).
 */

static ngx_int_t
ngx_http_hangar_cfg_snapshot(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_array_t *items)
{
    u_char                      *p;
    size_t                       size, need;
    ngx_uint_t                   g, n, tries;
    ngx_queue_t                 *q;
    ngx_http_hangar_tree_t      *tree;
    ngx_http_hangar_node_t      *node;
    ngx_http_hangar_cfg_item_t  *it;

    size = 0;
    n = 0;

    for (tries = 0; tries < 4; tries++) {

        p = (size) ? ngx_pnalloc(pool, size) : NULL;
        if (size && p == NULL) {
            return NGX_ERROR;
        }

        if (ngx_array_init(items, pool, n ? n : 1,
                           sizeof(ngx_http_hangar_cfg_item_t))
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        need = 0;
        n = 0;

        ngx_http_hangar_lock(reg);

        for (g = 0; g < 2; g++) {
            tree = g ? &reg->sh->groups : &reg->sh->servers;

            for (q = ngx_queue_head(&tree->queue);
                 q != ngx_queue_sentinel(&tree->queue);
                 q = ngx_queue_next(q))
            {
                node = ngx_queue_data(q, ngx_http_hangar_node_t, queue);
                need += node->id_len + node->spec->len;
                n++;

                if (need > size || items->nelts == items->nalloc) {
                    continue;
                }

                it = ngx_array_push(items);     /* room reserved: no alloc */
                it->group = g;
                it->seen = 0;
                it->id.data = p;
                it->id.len = node->id_len;
                p = ngx_cpymem(p, node->id, node->id_len);
                it->spec.data = p;
                it->spec.len = node->spec->len;
                p = ngx_cpymem(p, node->spec->data, node->spec->len);
            }
        }

        ngx_http_hangar_unlock(reg);

        if (need <= size && items->nelts == n) {
            return NGX_OK;
        }

        size = need + 4096;
    }

    return NGX_ERROR;
}


static ngx_http_hangar_value_t *
ngx_http_hangar_cfg_effective(ngx_http_hangar_req_t *hr, ngx_uint_t *servers,
    ngx_uint_t *groups)
{
    ngx_str_t                    err;
    ngx_uint_t                   i;
    ngx_pool_t                  *pool;
    ngx_array_t                  items;
    ngx_http_hangar_value_t     *doc, *map[2], *spec;
    ngx_http_hangar_cfg_item_t  *it;

    pool = hr->r->pool;

    doc = hr->reg->hmcf->doc
          ? ngx_http_hangar_value_copy(pool, hr->reg->hmcf->doc)
          : ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);

    map[0] = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
    map[1] = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);

    if (doc == NULL || map[0] == NULL || map[1] == NULL
        || !ngx_http_hangar_is(doc, NGX_HTTP_HANGAR_OBJ)
        || ngx_http_hangar_cfg_snapshot(hr->reg, pool, &items) != NGX_OK)
    {
        return NULL;
    }

    it = items.elts;

    for (i = 0; i < items.nelts; i++) {
        spec = ngx_http_hangar_json_parse(pool, it[i].spec.data,
                                          it[i].spec.len, &err);
        if (spec == NULL
            || ngx_http_hangar_set(pool, map[it[i].group], it[i].id.data,
                                   it[i].id.len, spec)
               != NGX_OK)
        {
            return NULL;
        }
    }

    *servers = map[0]->u.obj.nelts;
    *groups = map[1]->u.obj.nelts;

    if (ngx_http_hangar_set(pool, doc, (u_char *) "mcp_servers",
                            sizeof("mcp_servers") - 1, map[0])
        != NGX_OK)
    {
        return NULL;
    }

    if (map[1]->u.obj.nelts == 0) {
        ngx_http_hangar_del(doc, "groups");
        return doc;
    }

    if (ngx_http_hangar_set(pool, doc, (u_char *) "groups",
                            sizeof("groups") - 1, map[1])
        != NGX_OK)
    {
        return NULL;
    }

    return doc;
}


/*
 * A key whose value is a secret: the guard's rule for environment
 * variables (SECRET, TOKEN, PASSWORD, API_KEY ...), and the names of
 * credentials in headers and auth blocks.
 */

static ngx_uint_t
ngx_http_hangar_cfg_secret(ngx_str_t *key)
{
    size_t       j, n;
    u_char       up[128];
    ngx_uint_t   i;

    static const char  *words[] = {
        "AUTHORIZATION", "COOKIE", "BEARER", "PASSWORD", "SECRET", NULL
    };

    if (ngx_http_hangar_env_secret(key->data, key->len)) {
        return 1;
    }

    if (key->len >= sizeof(up)) {
        return 0;
    }

    for (j = 0; j < key->len; j++) {
        up[j] = ngx_toupper(key->data[j]);
    }

    /* "key", "api-key", "X-API-Key", "private_key" */
    if (key->len >= 3 && ngx_strncmp(up + key->len - 3, "KEY", 3) == 0) {
        return 1;
    }

    for (i = 0; words[i]; i++) {
        n = ngx_strlen(words[i]);

        for (j = 0; j + n <= key->len; j++) {
            if (ngx_strncmp(up + j, words[i], n) == 0) {
                return 1;
            }
        }
    }

    return 0;
}


/* in place, at any depth; all: every scalar below a secret key */

static void
ngx_http_hangar_cfg_mask(ngx_pool_t *pool, ngx_http_hangar_value_t *v,
    ngx_uint_t all)
{
    ngx_uint_t                 i, secret;
    ngx_http_hangar_pair_t    *pair;
    ngx_http_hangar_value_t  **items, *m;

    if (v == NULL) {
        return;
    }

    switch (v->type) {

    case NGX_HTTP_HANGAR_OBJ:
        pair = v->u.obj.elts;

        for (i = 0; i < v->u.obj.nelts; i++) {
            secret = all || ngx_http_hangar_cfg_secret(&pair[i].key);

            if (secret && pair[i].value->type != NGX_HTTP_HANGAR_OBJ
                && pair[i].value->type != NGX_HTTP_HANGAR_ARR
                && pair[i].value->type != NGX_HTTP_HANGAR_NULL)
            {
                m = ngx_http_hangar_value_str(pool,
                                              (u_char *) NGX_HTTP_HANGAR_MASK,
                                              sizeof(NGX_HTTP_HANGAR_MASK)
                                              - 1);
                if (m) {
                    pair[i].value = m;
                }

                continue;
            }

            ngx_http_hangar_cfg_mask(pool, pair[i].value, secret);
        }

        return;

    case NGX_HTTP_HANGAR_ARR:
        items = v->u.arr.elts;

        for (i = 0; i < v->u.arr.nelts; i++) {
            ngx_http_hangar_cfg_mask(pool, items[i], all);
        }

        return;

    case NGX_HTTP_HANGAR_STR:
        /* "Authorization: Bearer ..." in a list of header lines */
        if (all
            || ngx_strlcasestrn(v->u.s.data, v->u.s.data + v->u.s.len,
                                (u_char *) "bearer ", 7 - 1)
            || ngx_strlcasestrn(v->u.s.data, v->u.s.data + v->u.s.len,
                                (u_char *) "basic ", 6 - 1))
        {
            ngx_str_set(&v->u.s, NGX_HTTP_HANGAR_MASK);
        }

        return;

    default:
        return;
    }
}


/*
 * YAML out: block style, strings double-quoted (JSON escapes are YAML
 * escapes).  Export keeps the order of the keys, which is what makes a
 * server's spec load back byte for byte the same (the reconcile compares
 * specs as text: another order would restart the server); the diff sorts
 * them, so that the order of a file does not count as a change.
 */

static ngx_int_t
ngx_http_hangar_cfg_yaml(ngx_pool_t *pool, ngx_http_hangar_value_t *v,
    ngx_uint_t sorted, ngx_str_t *text)
{
    ngx_http_hangar_out_t  out;

    ngx_http_hangar_out_init(&out, pool, 4096);
    ngx_http_hangar_cfg_block(&out, v, 0, sorted);

    return ngx_http_hangar_out_flatten(&out, text);
}


static int ngx_libc_cdecl
ngx_http_hangar_cfg_cmp(const void *one, const void *two)
{
    const ngx_http_hangar_pair_t  *a = one, *b = two;

    return ngx_memn2cmp(a->key.data, b->key.data, a->key.len, b->key.len);
}


static void
ngx_http_hangar_cfg_block(ngx_http_hangar_out_t *out,
    ngx_http_hangar_value_t *v, ngx_uint_t indent, ngx_uint_t sorted)
{
    size_t                     n;
    ngx_uint_t                 i;
    ngx_http_hangar_pair_t    *pair;
    ngx_http_hangar_value_t  **items, *c;

    static u_char  spaces[] = "                                        ";

    n = v->type == NGX_HTTP_HANGAR_OBJ ? v->u.obj.nelts
        : (v->type == NGX_HTTP_HANGAR_ARR ? v->u.arr.nelts : 0);
    pair = NULL;

    if (v->type == NGX_HTTP_HANGAR_OBJ && n) {
        pair = ngx_palloc(out->pool, n * sizeof(ngx_http_hangar_pair_t));
        if (pair == NULL) {
            out->failed = 1;
            return;
        }

        ngx_memcpy(pair, v->u.obj.elts, n * sizeof(ngx_http_hangar_pair_t));

        if (sorted) {
            ngx_qsort(pair, n, sizeof(ngx_http_hangar_pair_t),
                      ngx_http_hangar_cfg_cmp);
        }
    }

    items = v->u.arr.elts;

    for (i = 0; i < n; i++) {
        ngx_http_hangar_out_raw(out, spaces, ngx_min(indent, 40));

        if (v->type == NGX_HTTP_HANGAR_OBJ) {
            ngx_http_hangar_cfg_key(out, &pair[i].key);
            ngx_http_hangar_out_lit(out, ":");
            c = pair[i].value;

        } else {
            ngx_http_hangar_out_lit(out, "-");
            c = items[i];
        }

        if ((c->type == NGX_HTTP_HANGAR_OBJ && c->u.obj.nelts)
            || (c->type == NGX_HTTP_HANGAR_ARR && c->u.arr.nelts))
        {
            ngx_http_hangar_out_lit(out, "\n");
            ngx_http_hangar_cfg_block(out, c, indent + 2, sorted);
            continue;
        }

        ngx_http_hangar_out_lit(out, " ");

        if (c->type == NGX_HTTP_HANGAR_OBJ) {
            ngx_http_hangar_out_lit(out, "{}");

        } else if (c->type == NGX_HTTP_HANGAR_ARR) {
            ngx_http_hangar_out_lit(out, "[]");

        } else {
            /* JSON scalars are YAML scalars ("..." with JSON escapes) */
            ngx_http_hangar_json_out(out, c);
        }

        ngx_http_hangar_out_lit(out, "\n");
    }

    if (indent == 0 && n == 0) {
        ngx_http_hangar_out_lit(out, "{}\n");
    }
}


/* a key plain when YAML reads it back as the same string, else quoted */

static void
ngx_http_hangar_cfg_key(ngx_http_hangar_out_t *out, ngx_str_t *key)
{
    u_char      c;
    size_t      i;
    ngx_uint_t  k;

    static const char  *words[] = {
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", NULL
    };

    for (i = 0; i < key->len; i++) {
        c = key->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
              || (i && ((c >= '0' && c <= '9') || c == '-' || c == '.'))))
        {
            goto quoted;
        }
    }

    for (k = 0; words[k]; k++) {
        if (ngx_strlen(words[k]) == key->len
            && ngx_strncasecmp((u_char *) words[k], key->data, key->len) == 0)
        {
            goto quoted;
        }
    }

    if (key->len) {
        ngx_http_hangar_out_raw(out, key->data, key->len);
        return;
    }

quoted:

    ngx_http_hangar_out_str(out, key->data, key->len);
}


/* ---- GET /api/config, POST /api/config/export --------------------------- */

ngx_int_t
ngx_http_hangar_config_get(ngx_http_hangar_req_t *hr)
{
    ngx_uint_t                servers, groups;
    ngx_http_hangar_value_t  *doc;

    doc = ngx_http_hangar_cfg_effective(hr, &servers, &groups);
    if (doc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_hangar_cfg_mask(hr->r->pool, doc, 0);

    ngx_http_hangar_out_lit(&hr->out, "{\"config\":");
    ngx_http_hangar_json_out(&hr->out, doc);
    ngx_http_hangar_out_lit(&hr->out, "}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


ngx_int_t
ngx_http_hangar_config_export(ngx_http_hangar_req_t *hr)
{
    ngx_str_t                 text;
    ngx_uint_t                servers, groups;
    ngx_http_hangar_value_t  *doc;

    doc = ngx_http_hangar_cfg_effective(hr, &servers, &groups);

    if (doc == NULL
        || ngx_http_hangar_cfg_yaml(hr->r->pool, doc, 0, &text) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_hangar_out_lit(&hr->out, "{\"yaml\":");
    ngx_http_hangar_out_str(&hr->out, text.data, text.len);
    ngx_http_hangar_out_lit(&hr->out, "}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* ---- POST /api/config/reload -------------------------------------------- */

ngx_int_t
ngx_http_hangar_config_reload(ngx_http_hangar_req_t *hr)
{
    double                        ms;
    ngx_int_t                     rc;
    ngx_str_t                     err, field, msg, *file;
    ngx_msec_t                    begun;
    ngx_pool_t                   *pool;
    ngx_array_t                   stale;
    ngx_http_hangar_changes_t     ch;
    ngx_http_hangar_main_conf_t   nm;

    if (ngx_http_hangar_get(hr->body, "config_path")) {
        ngx_str_set(&field, "config_path");
        ngx_str_set(&msg, "config_path is not accepted; reload always "
                          "targets the server's own configuration file");
        return ngx_http_hangar_validation_error(hr, &field, &msg);
    }

    file = &hr->reg->hmcf->config_file;

    if (file->len == 0) {
        return ngx_http_hangar_error(hr, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "ConfigurationError",
                                     "No configuration path specified "
                                     "(no \"hangar_config\")");
    }

    ngx_time_update();
    begun = ngx_current_msec;

    pool = ngx_create_pool(16384, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hangar_cfg_load(hr, pool, &nm, &err) != NGX_OK) {
        ngx_destroy_pool(pool);
        ngx_http_hangar_stats_reload(hr->reg, 0);
        ngx_http_hangar_stats_error(hr->reg, "config", "reload_failed");

        ngx_log_error(NGX_LOG_ERR, hr->r->connection->log, 0,
                      "hangar: configuration \"%V\" not reloaded (api), "
                      "nothing changed: %V", file, &err);

        return ngx_http_hangar_error(hr, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "ConfigurationError",
                                     "Configuration reload failed, nothing "
                                     "was changed: %V", &err);
    }

    if (ngx_http_hangar_config_changes(hr->reg, hr->r->pool, &nm.decls, &ch)
        != NGX_OK)
    {
        ngx_destroy_pool(pool);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_hangar_cfg_apply(hr, &nm, &stale);

    if (rc != NGX_OK) {
        ngx_destroy_pool(pool);
        ngx_http_hangar_stats_reload(hr->reg, 0);

        if (rc == NGX_BUSY) {
            return ngx_http_hangar_error(hr, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "ConfigurationUnavailableError",
                                         "the state lock stays busy; "
                                         "nothing was changed, try again");
        }

        if (rc == NGX_DECLINED) {
            return ngx_http_hangar_error(hr, 507, "RegistryFullError",
                                         "the hangar zone \"%V\" is full; "
                                         "nothing was changed",
                                         &hr->reg->name);
        }

        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the fleet applied now lives in this pool; the last one goes */
    if (ngx_http_hangar_cfg_pool) {
        ngx_destroy_pool(ngx_http_hangar_cfg_pool);
    }

    ngx_http_hangar_cfg_pool = pool;

    ngx_http_hangar_cfg_stop(hr, &stale);
    ngx_http_hangar_stats_reload(hr->reg, 1);
    ngx_http_hangar_config_log(hr->r->connection->log, "api", file, &ch);

    ngx_time_update();
    ms = (double) (ngx_current_msec - begun);

    ngx_http_hangar_out_lit(&hr->out, "{\"status\":\"reloaded\",\"result\":"
                                      "{\"success\":true,\"config_path\":");
    ngx_http_hangar_out_str(&hr->out, file->data, file->len);
    ngx_http_hangar_cfg_ids(&hr->out, "mcp_servers_added", &ch.added);
    ngx_http_hangar_cfg_ids(&hr->out, "mcp_servers_removed", &ch.removed);
    ngx_http_hangar_cfg_ids(&hr->out, "mcp_servers_updated", &ch.updated);
    ngx_http_hangar_cfg_ids(&hr->out, "mcp_servers_unchanged",
                            &ch.unchanged);
    ngx_http_hangar_out_lit(&hr->out, ",\"duration_ms\":");
    ngx_http_hangar_out_num(&hr->out, ms);
    ngx_http_hangar_out_lit(&hr->out, "}}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* a log of our own catches the first error the loaders log */

static void
ngx_http_hangar_cfg_capture(ngx_log_t *log, ngx_uint_t level, u_char *buf,
    size_t len)
{
    u_char                         *p, *last;
    ngx_http_hangar_cfg_capture_t  *c;

    c = log->wdata;

    if (level > NGX_LOG_ERR || c->len) {
        return;
    }

    /* "2026/01/01 00:00:00 [emerg] 12#12: message": the message */
    last = buf + len;
    p = ngx_strlchr(buf, last, ']');
    p = p ? ngx_strlchr(p, last, ':') : NULL;
    p = p ? p + 2 : buf;

    if (p > last) {
        p = buf;
    }

    c->len = ngx_min((size_t) (last - p), sizeof(c->buf));
    ngx_memcpy(c->buf, p, c->len);
}


/*
 * hangar.yaml and the state file into a new fleet, as the configuration
 * load does: the same loaders, the same messages (file:line:col).
 */

static ngx_int_t
ngx_http_hangar_cfg_load(ngx_http_hangar_req_t *hr, ngx_pool_t *pool,
    ngx_http_hangar_main_conf_t *nm, ngx_str_t *err)
{
    ngx_log_t                       log;
    ngx_conf_t                      cf;
    ngx_http_hangar_cfg_capture_t  *cap;

    cap = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_cfg_capture_t));
    if (cap == NULL) {
        ngx_str_set(err, "out of memory");
        return NGX_ERROR;
    }

    log = *ngx_cycle->log;
    log.log_level = NGX_LOG_WARN;
    log.writer = ngx_http_hangar_cfg_capture;
    log.wdata = cap;
    log.handler = NULL;
    log.next = NULL;    /* the caller logs the error once, at [error] */

    ngx_memzero(&cf, sizeof(ngx_conf_t));
    cf.pool = pool;
    cf.temp_pool = pool;
    cf.cycle = (ngx_cycle_t *) ngx_cycle;
    cf.log = &log;

    *nm = *hr->reg->hmcf;
    nm->doc = NULL;
    nm->blocked = NULL;

    if (ngx_http_hangar_config_load(&cf, nm) != NGX_OK
        || ngx_http_hangar_config_fleet(pool, nm) != NGX_OK
        || ngx_http_hangar_state_merge(&cf, nm) != NGX_OK
        || ngx_http_hangar_catalog_load(&cf, nm) != NGX_OK)
    {
        err->data = cap->buf;
        err->len = cap->len;

        if (err->len == 0) {
            ngx_str_set(err, "the configuration could not be loaded "
                             "(see the error log)");
        }

        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * With the state lock, as "nginx -s reload" does: the new fleet replaces
 * this worker's, the reconcile makes the registry hold it (all or
 * nothing), and what needs a restart stays as it was.
 */

static ngx_int_t
ngx_http_hangar_cfg_apply(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_main_conf_t *nm, ngx_array_t *stale)
{
    ngx_int_t                     rc;
    ngx_http_hangar_main_conf_t  *hmcf, saved, next;

    hmcf = hr->reg->hmcf;

    if (ngx_http_hangar_state_lock(hr->reg, hr->r->connection->log)
        != NGX_OK)
    {
        return NGX_BUSY;
    }

    saved = *hmcf;
    next = saved;

    next.decls = nm->decls;
    next.yaml_decls = nm->yaml_decls;
    next.doc = nm->doc;
    next.blocked = nm->blocked;
    next.deleted = nm->deleted;
    next.suspended = nm->suspended;
    next.withdrawn = nm->withdrawn;
    ngx_memcpy(next.docs, nm->docs, sizeof(next.docs));

    *hmcf = next;

    rc = ngx_http_hangar_reconcile(hr->reg, hr->r->pool,
                                   hr->r->connection->log, stale);

    ngx_http_hangar_state_unlock(hr->reg);

    if (rc != NGX_OK) {
        *hmcf = saved;
    }

    return rc;
}


/* servers that the reload removed are stopped; changed ones restart */

static void
ngx_http_hangar_cfg_stop(ngx_http_hangar_req_t *hr, ngx_array_t *stale)
{
    ngx_uint_t                i;
    ngx_http_hangar_stale_t  *s;

    s = stale->elts;

    for (i = 0; i < stale->nelts; i++) {

        if (!s[i].removed) {
            (void) ngx_http_hangar_stop(hr->reg, &s[i].id, "config_changed",
                                        s[i].blocked,
                                        hr->r->connection->log);
            continue;
        }

        if (s[i].bridge) {
            ngx_http_hangar_terminate(s[i].bridge, s[i].server);
            ngx_http_hangar_stats_stop(hr->reg, &s[i].id, "removed");
        }
    }
}


static void
ngx_http_hangar_cfg_ids(ngx_http_hangar_out_t *out, const char *name,
    ngx_array_t *ids)
{
    ngx_str_t   *id;
    ngx_uint_t   i;

    ngx_http_hangar_out_printf(out, ",\"%s\":[", name);

    id = ids->elts;

    for (i = 0; i < ids->nelts; i++) {
        if (i) {
            ngx_http_hangar_out_lit(out, ",");
        }

        ngx_http_hangar_out_str(out, id[i].data, id[i].len);
    }

    ngx_http_hangar_out_lit(out, "]");
}


ngx_int_t
ngx_http_hangar_config_changes(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_array_t *decls, ngx_http_hangar_changes_t *ch)
{
    ngx_str_t                   *id, text;
    ngx_uint_t                   i, j;
    ngx_array_t                  items, *list;
    ngx_http_hangar_decl_t      *d;
    ngx_http_hangar_cfg_item_t  *it;

    if (ngx_array_init(&ch->added, pool, 4, sizeof(ngx_str_t)) != NGX_OK
        || ngx_array_init(&ch->removed, pool, 4, sizeof(ngx_str_t))
           != NGX_OK
        || ngx_array_init(&ch->updated, pool, 4, sizeof(ngx_str_t))
           != NGX_OK
        || ngx_array_init(&ch->unchanged, pool, 16, sizeof(ngx_str_t))
           != NGX_OK
        || ngx_http_hangar_cfg_snapshot(reg, pool, &items) != NGX_OK)
    {
        return NGX_ERROR;
    }

    d = decls->elts;
    it = items.elts;

    for (i = 0; i < decls->nelts; i++) {
        if (ngx_http_hangar_json_text(pool, d[i].spec, &text) != NGX_OK) {
            return NGX_ERROR;
        }

        for (j = 0; j < items.nelts; j++) {
            if (it[j].group == d[i].group
                && it[j].id.len == d[i].id.len
                && ngx_memcmp(it[j].id.data, d[i].id.data, d[i].id.len) == 0)
            {
                break;
            }
        }

        if (j == items.nelts) {
            list = &ch->added;

        } else {
            it[j].seen = 1;
            list = (it[j].spec.len == text.len
                    && ngx_memcmp(it[j].spec.data, text.data, text.len) == 0)
                   ? &ch->unchanged : &ch->updated;
        }

        id = ngx_array_push(list);
        if (id == NULL) {
            return NGX_ERROR;
        }

        *id = d[i].id;
    }

    for (j = 0; j < items.nelts; j++) {
        if (it[j].seen) {
            continue;
        }

        id = ngx_array_push(&ch->removed);
        if (id == NULL) {
            return NGX_ERROR;
        }

        *id = it[j].id;
    }

    return NGX_OK;
}


/* one line for every reload, whoever asked for it */

void
ngx_http_hangar_config_log(ngx_log_t *log, const char *by, ngx_str_t *file,
    ngx_http_hangar_changes_t *ch)
{
    u_char       buf[2048], *p, *last;
    ngx_str_t   *id;
    ngx_uint_t   i, k;
    ngx_array_t *lists[3];

    static const char  *names[] = { "added", "removed", "updated" };

    lists[0] = &ch->added;
    lists[1] = &ch->removed;
    lists[2] = &ch->updated;

    p = buf;
    last = buf + sizeof(buf) - 8;

    for (k = 0; k < 3; k++) {
        p = ngx_slprintf(p, last, "%s%s [", k ? ", " : "", names[k]);
        id = lists[k]->elts;

        for (i = 0; i < lists[k]->nelts; i++) {
            p = ngx_slprintf(p, last, "%s%V", i ? " " : "", &id[i]);
        }

        p = ngx_slprintf(p, last, "]");
    }

    if (p == last) {
        p = ngx_cpymem(p, "...", 3);
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "hangar: configuration \"%V\" reloaded (%s): %*s, "
                  "unchanged %ui", file, by, p - buf, buf,
                  ch->unchanged.nelts);
}


/* ---- POST /api/config/backup -------------------------------------------- */

ngx_int_t
ngx_http_hangar_config_backup(ngx_http_hangar_req_t *hr)
{
    u_char                   *p, ts[32], from[NGX_MAX_PATH], to[NGX_MAX_PATH];
    ngx_tm_t                  tm;
    ngx_err_t                 err;
    ngx_str_t                 text, name, *dir, details;
    ngx_uint_t                i, servers, groups;
    ngx_http_hangar_out_t     out;
    ngx_http_hangar_value_t  *doc;

    /* a caller's config_path is ignored: backups go to the state dir */
    dir = &hr->reg->hmcf->state_dir;
    name = hr->reg->hmcf->config_file;

    for (p = name.data + name.len; p > name.data && p[-1] != '/'; p--) {
        /* void */
    }

    name.len -= p - name.data;
    name.data = p;

    if (name.len == 0) {
        ngx_str_set(&name, "hangar.yaml");
    }

    doc = ngx_http_hangar_cfg_effective(hr, &servers, &groups);
    if (doc == NULL
        || ngx_http_hangar_cfg_yaml(hr->r->pool, doc, 0, &text) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_gmtime(ngx_time(), &tm);
    p = ngx_sprintf(ts, "%4d-%02d-%02dT%02d:%02d:%02dZ", tm.ngx_tm_year,
                    tm.ngx_tm_mon, tm.ngx_tm_mday, tm.ngx_tm_hour,
                    tm.ngx_tm_min, tm.ngx_tm_sec);

    ngx_http_hangar_out_init(&out, hr->r->pool, text.len + 256);
    ngx_http_hangar_out_raw(&out, text.data, text.len);
    ngx_http_hangar_out_printf(&out, "__snapshot__:\n  group_count: %ui\n"
                               "  mcp_server_count: %ui\n"
                               "  timestamp: \"%*s\"\n", groups, servers,
                               (size_t) (p - ts), ts);

    if (ngx_http_hangar_out_flatten(&out, &text) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hangar_cfg_write(hr, dir, &name, &text, &err) != NGX_OK) {
        details.data = ngx_pnalloc(hr->r->pool, dir->len + 64);
        if (details.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        details.len = ngx_sprintf(details.data,
                                  "{\"config_path\":\"%V\",\"errno\":%d}",
                                  &hr->reg->hmcf->config_file, err)
                      - details.data;

        return ngx_http_hangar_error_details(hr, NGX_HTTP_SERVICE_UNAVAILABLE,
                                             "ConfigurationUnavailableError",
                                             &details, "could not write the "
                                             "backup in \"%V\": %s", dir,
                                             strerror(err));
    }

    /* bak4 -> bak5 ... bak1 -> bak2, then the new one becomes bak1 */
    for (i = NGX_HTTP_HANGAR_BACKUPS - 1; i > 0; i--) {
        ngx_sprintf(from, "%V/%V.bak%ui%Z", dir, &name, i);
        ngx_sprintf(to, "%V/%V.bak%ui%Z", dir, &name, i + 1);
        (void) ngx_rename_file(from, to);
    }

    ngx_sprintf(from, "%V/%V.bak.tmp%Z", dir, &name);
    p = ngx_sprintf(to, "%V/%V.bak1", dir, &name);
    *p = '\0';

    if (ngx_rename_file(from, to) == NGX_FILE_ERROR) {
        err = ngx_errno;
        return ngx_http_hangar_error(hr, NGX_HTTP_SERVICE_UNAVAILABLE,
                                     "ConfigurationUnavailableError",
                                     "could not write the backup \"%s\": %s",
                                     to, strerror(err));
    }

    ngx_http_hangar_out_lit(&hr->out, "{\"path\":");
    ngx_http_hangar_out_str(&hr->out, to, p - to);
    ngx_http_hangar_out_lit(&hr->out, "}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/*
 * <dir>/<name>.bak.tmp, written whole (a backup is a small file written
 * on an operator's request; it is not fsynced).
 */

static ngx_int_t
ngx_http_hangar_cfg_write(ngx_http_hangar_req_t *hr, ngx_str_t *dir,
    ngx_str_t *name, ngx_str_t *text, ngx_err_t *err)
{
    u_char    path[NGX_MAX_PATH];
    size_t    left;
    ssize_t   n;
    ngx_fd_t  fd;

    if (dir->len + name->len + 16 > sizeof(path)) {
        *err = NGX_ENAMETOOLONG;
        return NGX_ERROR;
    }

    ngx_sprintf(path, "%V/%V.bak.tmp%Z", dir, name);

    fd = ngx_open_file(path, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE, 0600);
    if (fd == NGX_INVALID_FILE) {
        *err = ngx_errno;
        return NGX_ERROR;
    }

    for (left = text->len; left; left -= n) {
        n = write(fd, text->data + text->len - left, left);

        if (n <= 0) {
            *err = (n < 0) ? ngx_errno : NGX_ENOSPC;
            (void) ngx_close_file(fd);
            (void) ngx_delete_file(path);
            return NGX_ERROR;
        }
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        *err = ngx_errno;
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* ---- GET /api/config/diff ----------------------------------------------- */

ngx_int_t
ngx_http_hangar_config_diff(ngx_http_hangar_req_t *hr)
{
    ngx_str_t                 err, a, b, diff;
    ngx_uint_t                servers, groups;
    ngx_pool_t               *pool;
    ngx_http_hangar_value_t  *disk, *mem;

    pool = hr->r->pool;
    disk = NULL;

    /* the file on disk, read as a reload would read it */
    if (hr->reg->hmcf->config_file.len) {
        disk = ngx_http_hangar_yaml_parse(pool, &hr->reg->hmcf->config_file,
                                          &err);
        if (disk && ngx_http_hangar_interpolate(pool, disk, &err) != NGX_OK) {
            disk = NULL;
        }
    }

    if (!ngx_http_hangar_is(disk, NGX_HTTP_HANGAR_OBJ)) {
        disk = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
    }

    mem = ngx_http_hangar_cfg_effective(hr, &servers, &groups);

    if (disk == NULL || mem == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_hangar_cfg_mask(pool, disk, 0);
    ngx_http_hangar_cfg_mask(pool, mem, 0);

    if (ngx_http_hangar_cfg_yaml(pool, disk, 1, &a) != NGX_OK
        || ngx_http_hangar_cfg_yaml(pool, mem, 1, &b) != NGX_OK
        || ngx_http_hangar_cfg_udiff(pool, &a, &b, &diff) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_hangar_out_lit(&hr->out, "{\"has_diff\":");
    ngx_http_hangar_out_bool(&hr->out, diff.len != 0);
    ngx_http_hangar_out_lit(&hr->out, ",\"diff\":");
    ngx_http_hangar_out_str(&hr->out, diff.data, diff.len);
    ngx_http_hangar_out_lit(&hr->out, ",\"on_disk\":");
    ngx_http_hangar_json_out(&hr->out, disk);
    ngx_http_hangar_out_lit(&hr->out, ",\"in_memory\":");
    ngx_http_hangar_json_out(&hr->out, mem);
    ngx_http_hangar_out_lit(&hr->out, "}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


static ngx_int_t
ngx_http_hangar_cfg_lines(ngx_pool_t *pool, ngx_str_t *text,
    ngx_array_t *lines)
{
    u_char     *p, *last, *nl;
    ngx_str_t  *s;

    if (ngx_array_init(lines, pool, 64, sizeof(ngx_str_t)) != NGX_OK) {
        return NGX_ERROR;
    }

    p = text->data;
    last = p + text->len;

    while (p < last) {
        nl = ngx_strlchr(p, last, '\n');
        if (nl == NULL) {
            nl = last;
        }

        s = ngx_array_push(lines);
        if (s == NULL) {
            return NGX_ERROR;
        }

        s->data = p;
        s->len = nl - p;
        p = nl + 1;
    }

    return NGX_OK;
}


#define ngx_http_hangar_cfg_same(x, y)                                       \
    ((x)->len == (y)->len && ngx_memcmp((x)->data, (y)->data, (x)->len) == 0)


/*
 * The edit script of a[0..n) -> b[0..m) by longest common subsequence;
 * past NGX_HTTP_HANGAR_DIFF_MAX cells, all of a is removed and all of b
 * added (still a correct diff).
 */

static ngx_int_t
ngx_http_hangar_cfg_lcs(ngx_pool_t *pool, ngx_str_t *a, ngx_uint_t n,
    ngx_str_t *b, ngx_uint_t m, ngx_array_t *ops)
{
    uint32_t                  *t;
    ngx_uint_t                 i, j, w;
    ngx_http_hangar_cfg_op_t  *op;

    t = NULL;
    w = m + 1;

    if ((n + 1) * w <= NGX_HTTP_HANGAR_DIFF_MAX) {
        t = ngx_palloc(pool, (n + 1) * w * sizeof(uint32_t));
        if (t == NULL) {
            return NGX_ERROR;
        }

        /* t[i][j]: the LCS of a[i..] and b[j..] */
        for (i = n + 1; i-- > 0; /* void */) {
            for (j = m + 1; j-- > 0; /* void */) {
                if (i == n || j == m) {
                    t[i * w + j] = 0;

                } else if (ngx_http_hangar_cfg_same(&a[i], &b[j])) {
                    t[i * w + j] = t[(i + 1) * w + j + 1] + 1;

                } else {
                    t[i * w + j] = ngx_max(t[(i + 1) * w + j],
                                           t[i * w + j + 1]);
                }
            }
        }
    }

    i = 0;
    j = 0;

    while (i < n || j < m) {
        op = ngx_array_push(ops);
        if (op == NULL) {
            return NGX_ERROR;
        }

        if (t && i < n && j < m && ngx_http_hangar_cfg_same(&a[i], &b[j])) {
            op->op = ' ';
            op->line = a[i++];
            j++;

        } else if (i < n
                   && (j == m || t == NULL
                       || t[(i + 1) * w + j] >= t[i * w + j + 1]))
        {
            op->op = '-';
            op->line = a[i++];

        } else {
            op->op = '+';
            op->line = b[j++];
        }
    }

    return NGX_OK;
}


/* a unified diff, 3 lines of context (as Python's difflib writes it) */

static ngx_int_t
ngx_http_hangar_cfg_udiff(ngx_pool_t *pool, ngx_str_t *a, ngx_str_t *b,
    ngx_str_t *diff)
{
    ngx_str_t                 *la, *lb;
    ngx_uint_t                 n, m, pre, suf, i, k, start, end, na, nb;
    ngx_uint_t                 ai, bi;
    ngx_array_t                linesa, linesb, ops;
    ngx_http_hangar_out_t      out;
    ngx_http_hangar_cfg_op_t  *op;

    if (ngx_http_hangar_cfg_lines(pool, a, &linesa) != NGX_OK
        || ngx_http_hangar_cfg_lines(pool, b, &linesb) != NGX_OK
        || ngx_array_init(&ops, pool, linesa.nelts + linesb.nelts + 1,
                          sizeof(ngx_http_hangar_cfg_op_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    la = linesa.elts;
    lb = linesb.elts;
    n = linesa.nelts;
    m = linesb.nelts;

    for (pre = 0; pre < n && pre < m && ngx_http_hangar_cfg_same(&la[pre],
                                                                &lb[pre]);
         pre++)
    {
        op = ngx_array_push(&ops);
        if (op == NULL) {
            return NGX_ERROR;
        }

        op->op = ' ';
        op->line = la[pre];
    }

    for (suf = 0; suf < n - pre && suf < m - pre
                  && ngx_http_hangar_cfg_same(&la[n - 1 - suf],
                                              &lb[m - 1 - suf]);
         suf++)
    {
        /* void */
    }

    if (ngx_http_hangar_cfg_lcs(pool, la + pre, n - pre - suf, lb + pre,
                                m - pre - suf, &ops)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = n - suf; i < n; i++) {
        op = ngx_array_push(&ops);
        if (op == NULL) {
            return NGX_ERROR;
        }

        op->op = ' ';
        op->line = la[i];
    }

    ngx_str_null(diff);

    if (pre == n && pre == m) {
        return NGX_OK;
    }

    ngx_http_hangar_out_init(&out, pool, 4096);
    ngx_http_hangar_out_lit(&out, "--- on-disk\n+++ in-memory\n");

    op = ops.elts;
    ai = 0;
    bi = 0;
    k = 0;

    while (k < ops.nelts) {
        /* the next change; a hunk runs until 6 unchanged lines in a row */
        for ( /* void */ ; k < ops.nelts && op[k].op == ' '; k++) {
            ai++;
            bi++;
        }

        if (k == ops.nelts) {
            break;
        }

        start = k > 3 ? k - 3 : 0;
        na = ai - (k - start);
        nb = bi - (k - start);

        /* changes closer than 2 * 3 lines of context share a hunk */
        end = k;

        for ( ;; ) {
            while (end < ops.nelts && op[end].op != ' ') {
                end++;
            }

            for (i = end; i < ops.nelts && op[i].op == ' '; i++) {
                /* void */
            }

            if (i == ops.nelts || i - end > 6) {
                break;
            }

            end = i;
        }

        end = ngx_min(end + 3, ops.nelts);

        ngx_http_hangar_cfg_hunk(&out, op, start, end, na, nb);

        for ( /* void */ ; k < end; k++) {
            ai += (op[k].op != '+');
            bi += (op[k].op != '-');
        }
    }

    return ngx_http_hangar_out_flatten(&out, diff);
}


static void
ngx_http_hangar_cfg_hunk(ngx_http_hangar_out_t *out,
    ngx_http_hangar_cfg_op_t *op, ngx_uint_t from, ngx_uint_t to,
    ngx_uint_t astart, ngx_uint_t bstart)
{
    ngx_uint_t  i, k, count[2], begin[2];

    count[0] = 0;
    count[1] = 0;

    for (i = from; i < to; i++) {
        count[0] += (op[i].op != '+');
        count[1] += (op[i].op != '-');
    }

    begin[0] = astart;
    begin[1] = bstart;

    ngx_http_hangar_out_lit(out, "@@");

    for (k = 0; k < 2; k++) {
        ngx_http_hangar_out_raw(out, k ? " +" : " -", 2);

        if (count[k] == 1) {
            ngx_http_hangar_out_printf(out, "%ui", begin[k] + 1);

        } else {
            ngx_http_hangar_out_printf(out, "%ui,%ui",
                                       count[k] ? begin[k] + 1 : begin[k],
                                       count[k]);
        }
    }

    ngx_http_hangar_out_lit(out, " @@\n");

    for (i = from; i < to; i++) {
        ngx_http_hangar_out_raw(out, &op[i].op, 1);
        ngx_http_hangar_out_raw(out, op[i].line.data, op[i].line.len);
        ngx_http_hangar_out_lit(out, "\n");
    }
}
