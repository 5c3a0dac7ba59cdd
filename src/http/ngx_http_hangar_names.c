
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Names the front door gave and took back.  An exported name depends only
 * on the fleet's catalogs, but the catalogs change (a server never started
 * before comes late, a server's tools change): in "auto" naming "echo"
 * may become "a__echo" and "b__echo", in "flat" naming it may be dropped.
 * A session that was given "echo" keeps calling the same tool with it
 * for its life, while the tool exists: the names retired are kept in the
 * zone with the time of the change, and honoured for sessions created
 * before it (a session id carries its expiry, so its creation is known
 * from the session TTL).
 *
 * The names of the last build are kept in the zone, one map per naming
 * mode ("prefixed" names never change while their tool exists): the
 * first worker to build a newer catalog compares them with its own and
 * records what was retired, so a retirement is seen whichever worker the
 * session's calls reach.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_names.h"
#include "ngx_http_hangar_session.h"


#define NGX_HTTP_HANGAR_RETIRED     64
#define NGX_HTTP_HANGAR_NAMINGS     3
#define NGX_HTTP_HANGAR_TOOL_MAX    128


typedef struct {
    time_t                       retired;   /* 0: a free slot */
    ngx_uint_t                   naming;
    size_t                       name_len;
    size_t                       server_len;
    size_t                       tool_len;
    u_char                       name[64];
    u_char                       server[NGX_HTTP_HANGAR_ID_MAX];
    u_char                       tool[NGX_HTTP_HANGAR_TOOL_MAX];
} ngx_http_hangar_retired_t;


typedef struct {
    ngx_atomic_uint_t            stamp[NGX_HTTP_HANGAR_NAMINGS];
    ngx_http_hangar_blob_t      *map[NGX_HTTP_HANGAR_NAMINGS];
    ngx_uint_t                   next;
    ngx_http_hangar_retired_t    retired[NGX_HTTP_HANGAR_RETIRED];
} ngx_http_hangar_names_sh_t;


static ngx_int_t ngx_http_hangar_names_map(ngx_pool_t *pool,
    ngx_array_t *names, ngx_str_t *text);
static ngx_int_t ngx_http_hangar_names_diff(ngx_pool_t *pool,
    ngx_str_t *old, ngx_array_t *names, ngx_array_t *gone);
static ngx_http_hangar_name_t *ngx_http_hangar_names_find(
    ngx_http_hangar_name_t **sorted, ngx_uint_t n, ngx_str_t *server,
    ngx_str_t *tool);
static int ngx_libc_cdecl ngx_http_hangar_names_cmp(const void *one,
    const void *two);
static void ngx_http_hangar_names_keep(ngx_http_hangar_names_sh_t *sh,
    ngx_uint_t naming, ngx_array_t *gone, time_t now);


void
ngx_http_hangar_names_publish(ngx_http_hangar_req_t *hr, ngx_uint_t naming,
    ngx_atomic_uint_t stamp, ngx_array_t *names)
{
    ngx_str_t                    old, text;
    ngx_pool_t                  *pool;
    ngx_array_t                 *gone;
    ngx_http_hangar_blob_t      *seen, *blob;
    ngx_http_hangar_names_sh_t  *sh;

    if (naming >= NGX_HTTP_HANGAR_NAMINGS) {
        return;
    }

    /* 0 is "never published" */
    stamp++;
    pool = hr->r->pool;

    ngx_http_hangar_lock(hr->reg);

    sh = hr->reg->sh->names_sh;

    if (sh == NULL) {
        sh = ngx_slab_calloc_locked(hr->reg->shpool,
                                    sizeof(ngx_http_hangar_names_sh_t));
        hr->reg->sh->names_sh = sh;
    }

    if (sh == NULL || sh->stamp[naming] >= stamp) {
        ngx_http_hangar_unlock(hr->reg);
        return;
    }

    seen = sh->map[naming];
    ngx_str_null(&old);

    if (seen) {
        old.len = seen->len;
        old.data = ngx_pnalloc(pool, seen->len + 1);

        if (old.data) {
            ngx_memcpy(old.data, seen->data, seen->len);
        }
    }

    ngx_http_hangar_unlock(hr->reg);

    if (seen && old.data == NULL) {
        return;
    }

    gone = ngx_array_create(pool, 4, sizeof(ngx_http_hangar_name_t));

    if (gone == NULL
        || ngx_http_hangar_names_map(pool, names, &text) != NGX_OK
        || ngx_http_hangar_names_diff(pool, &old, names, gone) != NGX_OK)
    {
        return;
    }

    ngx_http_hangar_lock(hr->reg);

    /* another worker published meanwhile: it saw the same change */
    if (sh->map[naming] != seen || sh->stamp[naming] >= stamp) {
        ngx_http_hangar_unlock(hr->reg);
        return;
    }

    blob = ngx_http_hangar_blob(hr->reg, text.data, text.len);

    if (blob) {
        ngx_http_hangar_blob_free(hr->reg, seen);
        sh->map[naming] = blob;
        sh->stamp[naming] = stamp;
        ngx_http_hangar_names_keep(sh, naming, gone, ngx_time());
    }

    ngx_http_hangar_unlock(hr->reg);

    if (blob == NULL) {
        /* the catalog is served all the same; only the memory is lost */
        ngx_log_error(NGX_LOG_WARN, hr->r->connection->log, 0,
                      "hangar: zone \"%V\" has no room for the front "
                      "door's tool names (%uz bytes): names retired now "
                      "are not remembered", &hr->reg->name, text.len);
        return;
    }

    if (gone->nelts) {
        ngx_log_error(NGX_LOG_INFO, hr->r->connection->log, 0,
                      "hangar: %ui tool name(s) retired; sessions older "
                      "than the change keep calling them", gone->nelts);
    }
}


/* "server\0tool\0name\0" for each tool exported */

static ngx_int_t
ngx_http_hangar_names_map(ngx_pool_t *pool, ngx_array_t *names,
    ngx_str_t *text)
{
    u_char                  *p;
    size_t                   len;
    ngx_uint_t               i;
    ngx_http_hangar_name_t  *nm;

    nm = names->elts;
    len = 1;

    for (i = 0; i < names->nelts; i++) {
        if (nm[i].name.len) {
            len += nm[i].server.len + nm[i].tool.len + nm[i].name.len + 3;
        }
    }

    text->data = ngx_pnalloc(pool, len);
    if (text->data == NULL) {
        return NGX_ERROR;
    }

    p = text->data;

    for (i = 0; i < names->nelts; i++) {
        if (nm[i].name.len) {
            p = ngx_sprintf(p, "%V%Z%V%Z%V%Z", &nm[i].server, &nm[i].tool,
                            &nm[i].name);
        }
    }

    text->len = p - text->data;

    return NGX_OK;
}


/*
 * The names of the old map that the new catalog no longer gives to their
 * tool, while it still offers the tool (under another name, or none).
 */

static ngx_int_t
ngx_http_hangar_names_diff(ngx_pool_t *pool, ngx_str_t *old,
    ngx_array_t *names, ngx_array_t *gone)
{
    u_char                   *p, *last, *f[3];
    ngx_str_t                 field[3];
    ngx_uint_t                i, k;
    ngx_http_hangar_name_t   *nm, **sorted, *now, *g;

    if (old->len == 0) {
        return NGX_OK;
    }

    sorted = ngx_palloc(pool, (names->nelts + 1)
                              * sizeof(ngx_http_hangar_name_t *));
    if (sorted == NULL) {
        return NGX_ERROR;
    }

    nm = names->elts;

    for (i = 0; i < names->nelts; i++) {
        sorted[i] = &nm[i];
    }

    ngx_qsort(sorted, names->nelts, sizeof(ngx_http_hangar_name_t *),
              ngx_http_hangar_names_cmp);

    p = old->data;
    last = old->data + old->len;

    while (p < last) {
        for (k = 0; k < 3; k++) {
            f[k] = ngx_strlchr(p, last, '\0');
            if (f[k] == NULL) {
                return NGX_OK;
            }

            field[k].data = p;
            field[k].len = f[k] - p;
            p = f[k] + 1;
        }

        now = ngx_http_hangar_names_find(sorted, names->nelts, &field[0],
                                         &field[1]);

        if (now == NULL
            || (now->name.len == field[2].len
                && ngx_memcmp(now->name.data, field[2].data, field[2].len)
                   == 0))
        {
            continue;
        }

        g = ngx_array_push(gone);
        if (g == NULL) {
            return NGX_ERROR;
        }

        g->server = field[0];
        g->tool = field[1];
        g->name = field[2];
    }

    return NGX_OK;
}


static ngx_http_hangar_name_t *
ngx_http_hangar_names_find(ngx_http_hangar_name_t **sorted, ngx_uint_t n,
    ngx_str_t *server, ngx_str_t *tool)
{
    ngx_int_t                rc;
    ngx_uint_t               lo, hi, mid;
    ngx_http_hangar_name_t   key, *k;

    key.server = *server;
    key.tool = *tool;
    k = &key;

    lo = 0;
    hi = n;

    while (lo < hi) {
        mid = (lo + hi) / 2;
        rc = ngx_http_hangar_names_cmp(&sorted[mid], &k);

        if (rc == 0) {
            return sorted[mid];
        }

        if (rc < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return NULL;
}


static int ngx_libc_cdecl
ngx_http_hangar_names_cmp(const void *one, const void *two)
{
    int                      rc;
    ngx_http_hangar_name_t  *a, *b;

    a = *(ngx_http_hangar_name_t **) one;
    b = *(ngx_http_hangar_name_t **) two;

    rc = (int) ngx_memn2cmp(a->server.data, b->server.data, a->server.len,
                            b->server.len);
    if (rc) {
        return rc;
    }

    return (int) ngx_memn2cmp(a->tool.data, b->tool.data, a->tool.len,
                              b->tool.len);
}


/* with the slab mutex held: into the ring, the oldest make room */

static void
ngx_http_hangar_names_keep(ngx_http_hangar_names_sh_t *sh, ngx_uint_t naming,
    ngx_array_t *gone, time_t now)
{
    ngx_uint_t                  i;
    ngx_http_hangar_name_t     *g;
    ngx_http_hangar_retired_t  *r;

    g = gone->elts;

    for (i = 0; i < gone->nelts; i++) {
        if (g[i].name.len > sizeof(r->name)
            || g[i].server.len > NGX_HTTP_HANGAR_ID_MAX
            || g[i].tool.len > NGX_HTTP_HANGAR_TOOL_MAX)
        {
            continue;
        }

        r = &sh->retired[sh->next];
        sh->next = (sh->next + 1) % NGX_HTTP_HANGAR_RETIRED;

        r->retired = now;
        r->naming = naming;
        r->name_len = g[i].name.len;
        r->server_len = g[i].server.len;
        r->tool_len = g[i].tool.len;
        ngx_memcpy(r->name, g[i].name.data, g[i].name.len);
        ngx_memcpy(r->server, g[i].server.data, g[i].server.len);
        ngx_memcpy(r->tool, g[i].tool.data, g[i].tool.len);
    }
}


ngx_int_t
ngx_http_hangar_names_retired(ngx_http_hangar_req_t *hr, ngx_uint_t naming,
    time_t ttl, ngx_str_t *name, ngx_str_t *server, ngx_str_t *tool)
{
    time_t                       created;
    ngx_str_t                   *h;
    ngx_uint_t                   i;
    ngx_http_hangar_sid_t        sid;
    ngx_http_hangar_retired_t   *r, *best;
    ngx_http_hangar_names_sh_t  *sh;

    if (name->len > sizeof(r->name)) {
        return NGX_DECLINED;
    }

    /* a session id carries its expiry: it was made ttl before */
    h = ngx_http_hangar_header(hr->r, "Mcp-Session-Id");

    if (h == NULL || ngx_http_hangar_session_check(hr, h, &sid) != NGX_OK) {
        return NGX_DECLINED;
    }

    created = sid.expires - ttl;

    server->data = ngx_pnalloc(hr->r->pool, NGX_HTTP_HANGAR_ID_MAX
                                            + NGX_HTTP_HANGAR_TOOL_MAX);
    if (server->data == NULL) {
        return NGX_DECLINED;
    }

    best = NULL;

    ngx_http_hangar_lock(hr->reg);

    sh = hr->reg->sh->names_sh;

    /* the first retirement after the session began is the name it had */
    for (i = 0; sh && i < NGX_HTTP_HANGAR_RETIRED; i++) {
        r = &sh->retired[i];

        if (r->retired == 0 || r->naming != naming || r->retired < created
            || r->name_len != name->len
            || ngx_memcmp(r->name, name->data, name->len) != 0)
        {
            continue;
        }

        if (best == NULL || r->retired < best->retired) {
            best = r;
        }
    }

    if (best) {
        server->len = best->server_len;
        ngx_memcpy(server->data, best->server, best->server_len);
        tool->data = server->data + NGX_HTTP_HANGAR_ID_MAX;
        tool->len = best->tool_len;
        ngx_memcpy(tool->data, best->tool, best->tool_len);
    }

    ngx_http_hangar_unlock(hr->reg);

    return best ? NGX_OK : NGX_DECLINED;
}
