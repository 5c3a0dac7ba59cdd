
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Discovery's shared state: the sources (hangar.yaml's and the API's),
 * the state file's "discovery" document, the view the last cycle
 * published in the zone, and the discovered-server object.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/sha.h>
#include "ngx_http_hangar_discovery_state.h"
#include "ngx_http_hangar_state_doc.h"
#include "ngx_http_hangar_rbac.h"


static const char  *ngx_http_hangar_disc_types[] = {
    NULL, "kubernetes", "docker", "filesystem"
};

void  *ngx_http_hangar_disc_inflight;


/* hangar-security.md §5.6: UUIDv5 of "config:<type>" */
static const char  *ngx_http_hangar_disc_ids[] = {
    NULL,
    "7afbd3ca-c2b2-5516-a3d8-408e7c75580e",
    "28018ad1-4d9d-54dc-9e4e-c5d856af4612",
    "dfb13b95-3535-554f-b65b-9ce9c8fddb0e"
};



ngx_uint_t
ngx_http_hangar_discovery_on(ngx_http_hangar_registry_t *reg)
{
    return reg->hmcf->discovery != NULL;
}


const char *
ngx_http_hangar_disc_type_name(ngx_uint_t type)
{
    return (type >= 1 && type <= 3) ? ngx_http_hangar_disc_types[type] : "";
}


ngx_uint_t
ngx_http_hangar_disc_type(ngx_str_t *name)
{
    ngx_uint_t  t;

    for (t = 1; t <= 3; t++) {
        if (name->len == ngx_strlen(ngx_http_hangar_disc_types[t])
            && ngx_strncmp(name->data, ngx_http_hangar_disc_types[t],
                           name->len) == 0)
        {
            return t;
        }
    }

    return 0;
}


ngx_http_hangar_disc_sh_t *
ngx_http_hangar_disc_sh(ngx_http_hangar_registry_t *reg)
{
    ngx_http_hangar_disc_sh_t  *d;

    d = reg->sh->discovery_sh;

    if (d) {
        return d;
    }

    ngx_http_hangar_lock(reg);

    if (reg->sh->discovery_sh == NULL) {
        reg->sh->discovery_sh = ngx_slab_calloc_locked(reg->shpool,
                                    sizeof(ngx_http_hangar_disc_sh_t));
    }

    d = reg->sh->discovery_sh;

    ngx_http_hangar_unlock(reg);

    return d;
}


/* ---- the sources --------------------------------------------------------- */

ngx_int_t
ngx_http_hangar_disc_sources(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_value_t *doc, ngx_array_t **sources)
{
    ngx_uint_t                      i, n;
    ngx_array_t                    *a;
    ngx_http_hangar_value_t        *list, **conf, *over, *v, *type;
    ngx_http_hangar_disc_source_t  *s;

    a = ngx_array_create(pool, 4, sizeof(ngx_http_hangar_disc_source_t));
    if (a == NULL) {
        return NGX_ERROR;
    }

    *sources = a;

    if (reg->hmcf->discovery == NULL) {
        return NGX_OK;
    }

    over = ngx_http_hangar_get(doc, "overrides");

    /* hangar.yaml's, then the API's */
    for (n = 0; n < 2; n++) {
        list = n ? ngx_http_hangar_get(doc, "sources")
                 : ngx_http_hangar_get(reg->hmcf->discovery, "sources");

        if (!ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)) {
            continue;
        }

        conf = list->u.arr.elts;

        for (i = 0; i < list->u.arr.nelts; i++) {
            s = ngx_array_push(a);
            if (s == NULL) {
                return NGX_ERROR;
            }

            ngx_memzero(s, sizeof(ngx_http_hangar_disc_source_t));
            s->api = n;
            s->enabled = 1;

            if (n) {
                v = ngx_http_hangar_get(conf[i], "source_id");
                type = ngx_http_hangar_get(conf[i], "source_type");

                if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
                    || !ngx_http_hangar_is(type, NGX_HTTP_HANGAR_STR))
                {
                    a->nelts--;
                    continue;
                }

                s->id = v->u.s;
                s->type = ngx_http_hangar_disc_type(&type->u.s);
                s->conf = ngx_http_hangar_get(conf[i], "config");

            } else {
                type = ngx_http_hangar_get(conf[i], "type");
                s->type = ngx_http_hangar_disc_type(&type->u.s);
                s->conf = conf[i];
                s->id.data = (u_char *) ngx_http_hangar_disc_ids[s->type];
                s->id.len = ngx_strlen(s->id.data);
            }

            if (s->type == 0) {
                a->nelts--;
                continue;
            }

            v = ngx_http_hangar_get(conf[i], "mode");
            s->authoritative = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
                               && ngx_http_hangar_str_is(&v->u.s,
                                                         "authoritative");

            v = ngx_http_hangar_get(conf[i], "enabled");
            if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_BOOL)) {
                s->enabled = v->u.b;
            }

            /* the API's changes to a source of hangar.yaml */
            v = ngx_http_hangar_get_n(over, s->id.data, s->id.len);

            if (n == 0 && ngx_http_hangar_is(v, NGX_HTTP_HANGAR_OBJ)) {
                type = ngx_http_hangar_get(v, "enabled");
                if (ngx_http_hangar_is(type, NGX_HTTP_HANGAR_BOOL)) {
                    s->enabled = type->u.b;
                }

                type = ngx_http_hangar_get(v, "mode");
                if (ngx_http_hangar_is(type, NGX_HTTP_HANGAR_STR)) {
                    s->authoritative = ngx_http_hangar_str_is(&type->u.s,
                                                           "authoritative");
                }
            }

            if (s->conf == NULL) {
                s->conf = ngx_http_hangar_value_new(pool,
                                                    NGX_HTTP_HANGAR_OBJ);
                if (s->conf == NULL) {
                    return NGX_ERROR;
                }
            }
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_disc_doc(ngx_http_hangar_registry_t *reg, ngx_pool_t *pool,
    ngx_http_hangar_value_t **doc)
{
    ngx_str_t  text, err;

    if (ngx_http_hangar_state_doc(reg, NGX_HTTP_HANGAR_DOC_DISCOVERY, pool,
                                  &text, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    *doc = text.len ? ngx_http_hangar_json_parse(pool, text.data, text.len,
                                                 &err)
                    : NULL;

    if (*doc == NULL || (*doc)->type != NGX_HTTP_HANGAR_OBJ) {
        *doc = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
    }

    return *doc ? NGX_OK : NGX_ERROR;
}


ngx_int_t
ngx_http_hangar_disc_view(ngx_http_hangar_registry_t *reg, ngx_pool_t *pool,
    ngx_http_hangar_value_t **view)
{
    ngx_str_t                   text, err;
    ngx_http_hangar_disc_sh_t  *d;

    d = ngx_http_hangar_disc_sh(reg);
    if (d == NULL) {
        return NGX_ERROR;
    }

    ngx_str_null(&text);

    ngx_http_hangar_lock(reg);

    if (d->view) {
        text.data = ngx_pnalloc(pool, d->view->len);
        if (text.data) {
            text.len = d->view->len;
            ngx_memcpy(text.data, d->view->data, text.len);
        }
    }

    ngx_http_hangar_unlock(reg);

    *view = text.len ? ngx_http_hangar_json_parse(pool, text.data, text.len,
                                                  &err)
                     : NULL;

    if (*view == NULL || (*view)->type != NGX_HTTP_HANGAR_OBJ) {
        *view = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
    }

    return *view ? NGX_OK : NGX_ERROR;
}


void
ngx_http_hangar_disc_forget(ngx_http_hangar_registry_t *reg, ngx_pool_t *pool,
    ngx_str_t *name)
{
    u_char                     *key;
    ngx_str_t                   text;
    ngx_http_hangar_value_t    *view;
    ngx_http_hangar_disc_sh_t  *d;

    d = ngx_http_hangar_disc_sh(reg);

    if (d == NULL || ngx_http_hangar_disc_view(reg, pool, &view) != NGX_OK) {
        return;
    }

    key = ngx_pnalloc(pool, name->len + 1);
    if (key == NULL) {
        return;
    }

    ngx_cpystrn(key, name->data, name->len + 1);

    ngx_http_hangar_del(ngx_http_hangar_get(view, "pending"), (char *) key);
    ngx_http_hangar_del(ngx_http_hangar_get(view, "quarantined"),
                        (char *) key);

    if (ngx_http_hangar_json_text(pool, view, &text) != NGX_OK) {
        return;
    }

    ngx_http_hangar_lock(reg);
    (void) ngx_http_hangar_set_blob(reg, &d->view, &text);
    ngx_http_hangar_unlock(reg);
}


void
ngx_http_hangar_disc_request(ngx_http_hangar_registry_t *reg)
{
    ngx_http_hangar_disc_sh_t  *d;

    d = ngx_http_hangar_disc_sh(reg);

    if (d) {
        d->requested = 1;
    }
}


ngx_atomic_uint_t
ngx_http_hangar_disc_cycles(ngx_http_hangar_registry_t *reg)
{
    ngx_http_hangar_disc_sh_t  *d;

    d = ngx_http_hangar_disc_sh(reg);

    return d ? d->cycles : 0;
}


/* ---- helpers ------------------------------------------------------------- */

ngx_int_t
ngx_http_hangar_disc_fingerprint(ngx_pool_t *pool,
    ngx_http_hangar_disc_item_t *item)
{
    u_char      *p, md[SHA256_DIGEST_LENGTH];
    ngx_str_t    conn, meta;

    if (ngx_http_hangar_json_text(pool, item->conn, &conn) != NGX_OK
        || ngx_http_hangar_json_text(pool, item->meta, &meta) != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(pool, conn.len + meta.len + 64);
    if (p == NULL) {
        return NGX_ERROR;
    }

    /* sha256 of {"connection_info":...,"metadata":...} */
    SHA256(p, ngx_sprintf(p, "{\"connection_info\":%V,\"metadata\":%V}",
                          &conn, &meta) - p, md);

    ngx_hex_dump(item->fp, md, NGX_HTTP_HANGAR_DISC_FP / 2);
    item->fp[NGX_HTTP_HANGAR_DISC_FP] = '\0';

    return NGX_OK;
}


/* an entry without its "spec" (kept for approve, not shown) */

void
ngx_http_hangar_disc_item_out(ngx_http_hangar_out_t *out,
    ngx_http_hangar_value_t *entry)
{
    ngx_uint_t               i, first;
    ngx_http_hangar_pair_t  *pair;

    if (!ngx_http_hangar_is(entry, NGX_HTTP_HANGAR_OBJ)) {
        ngx_http_hangar_out_lit(out, "null");
        return;
    }

    ngx_http_hangar_out_lit(out, "{");
    pair = entry->u.obj.elts;
    first = 1;

    for (i = 0; i < entry->u.obj.nelts; i++) {
        if (ngx_http_hangar_str_is(&pair[i].key, "spec")
            || ngx_http_hangar_str_is(&pair[i].key, "source")
            || ngx_http_hangar_str_is(&pair[i].key, "last_seen")
            || ngx_http_hangar_str_is(&pair[i].key, "spec_crc"))
        {
            continue;
        }

        if (!first) {
            ngx_http_hangar_out_lit(out, ",");
        }

        first = 0;
        ngx_http_hangar_out_str(out, pair[i].key.data, pair[i].key.len);
        ngx_http_hangar_out_lit(out, ":");
        ngx_http_hangar_json_out(out, pair[i].value);
    }

    ngx_http_hangar_out_lit(out, "}");
}


ngx_int_t
ngx_http_hangar_disc_put(ngx_pool_t *pool, ngx_http_hangar_value_t *obj,
    const char *key, ngx_http_hangar_value_t *v)
{
    if (v == NULL) {
        v = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_NULL);
        if (v == NULL) {
            return NGX_ERROR;
        }
    }

    return ngx_http_hangar_set(pool, obj, (u_char *) key, ngx_strlen(key), v);
}


ngx_http_hangar_value_t *
ngx_http_hangar_disc_str(ngx_pool_t *pool, const char *s)
{
    return ngx_http_hangar_value_str(pool, (u_char *) s, ngx_strlen(s));
}


ngx_http_hangar_value_t *
ngx_http_hangar_disc_iso(ngx_pool_t *pool, ngx_msec_t ms)
{
    u_char  *p, *last;

    p = ngx_pnalloc(pool, NGX_HTTP_HANGAR_ISO_LEN);
    if (p == NULL) {
        return NULL;
    }

    last = ngx_http_hangar_iso_time(p, ms);

    return ngx_http_hangar_value_str(pool, p, last - p);
}


/*
 * A network server: a remote at its endpoint (http://host:port unless
 * given), and the URL of its health check.
 */

ngx_int_t
ngx_http_hangar_disc_network(ngx_pool_t *pool,
    ngx_http_hangar_disc_item_t *item, ngx_str_t *host, ngx_int_t port,
    ngx_str_t *health_path, ngx_str_t *endpoint)
{
    u_char                   *p;
    ngx_http_hangar_value_t  *ep;

    if (port < 1 || port > 65535 || host->len == 0 || host->len > 253
        || health_path->len == 0 || health_path->data[0] != '/'
        || health_path->len > 1024)
    {
        ngx_str_set(&item->invalid, "a bad host, port or health path");
        return NGX_OK;
    }

    item->spec = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
    if (item->spec == NULL) {
        return NGX_ERROR;
    }

    if (endpoint && endpoint->len) {
        ep = ngx_http_hangar_value_str(pool, endpoint->data, endpoint->len);

    } else {
        p = ngx_pnalloc(pool, host->len + sizeof("http://[]:65535"));
        ep = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_STR);
        if (p == NULL || ep == NULL) {
            return NGX_ERROR;
        }

        ep->u.s.data = p;
        ep->u.s.len = ngx_sprintf(p, "http://%V:%i", host, port) - p;
    }

    p = ngx_pnalloc(pool, host->len + health_path->len
                          + sizeof("http://[]:65535"));
    if (p == NULL || ep == NULL) {
        return NGX_ERROR;
    }

    item->health.data = p;
    item->health.len = ngx_sprintf(p, "http://%V:%i%V", host, port,
                                   health_path)
                       - p;

    if (ngx_http_hangar_disc_put(pool, item->spec, "mode",
                                 ngx_http_hangar_disc_str(pool, "remote"))
        != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->spec, "endpoint", ep)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_hangar_disc_described(pool, item);
}


/* "Discovered from <type>": how hangar knows its own discovered servers */

ngx_int_t
ngx_http_hangar_disc_described(ngx_pool_t *pool,
    ngx_http_hangar_disc_item_t *item)
{
    u_char                   *p;
    ngx_http_hangar_value_t  *desc;

    p = ngx_pnalloc(pool, sizeof("Discovered from kubernetes"));
    desc = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_STR);
    if (p == NULL || desc == NULL) {
        return NGX_ERROR;
    }

    desc->u.s.data = p;
    desc->u.s.len = ngx_sprintf(p, "Discovered from %s",
                                ngx_http_hangar_disc_type_name(item->type))
                    - p;

    return ngx_http_hangar_disc_put(pool, item->spec, "description", desc);
}


/*
 * /metrics: cycles run, per source type its health, the servers it has
 * registered now, and the registrations, removals and quarantines
 * counted since the zone was made; pending and quarantined now.
 */

ngx_int_t
ngx_http_hangar_disc_metrics(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_out_t *out)
{
    ngx_uint_t                      i, t, n;
    ngx_array_t                    *sources;
    ngx_http_hangar_pair_t         *pair;
    ngx_http_hangar_value_t        *doc, *view, *st, *v, *set;
    ngx_http_hangar_disc_sh_t      *d;
    ngx_http_hangar_disc_source_t  *s;

    if (reg->hmcf->discovery == NULL) {
        return NGX_OK;
    }

    d = ngx_http_hangar_disc_sh(reg);

    if (d == NULL
        || ngx_http_hangar_disc_doc(reg, pool, &doc) != NGX_OK
        || ngx_http_hangar_disc_view(reg, pool, &view) != NGX_OK
        || ngx_http_hangar_disc_sources(reg, pool, doc, &sources) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_hangar_out_printf(out, "\n"
        "# HELP mcp_hangar_discovery_cycles_total Discovery cycles "
        "completed\n"
        "# TYPE mcp_hangar_discovery_cycles_total counter\n"
        "mcp_hangar_discovery_cycles_total %uA\n\n"
        "# HELP mcp_hangar_discovery_source_healthy 1 when the source "
        "answered its last scan\n"
        "# TYPE mcp_hangar_discovery_source_healthy gauge\n", d->cycles);

    s = sources->elts;

    for (i = 0; i < sources->nelts; i++) {
        st = ngx_http_hangar_get_n(ngx_http_hangar_get(view, "sources"),
                                   s[i].id.data, s[i].id.len);
        v = ngx_http_hangar_get(st, "is_healthy");

        ngx_http_hangar_out_printf(out,
            "mcp_hangar_discovery_source_healthy{source_id=\"%V\","
            "source_type=\"%s\"} %d\n", &s[i].id,
            ngx_http_hangar_disc_type_name(s[i].type),
            (v == NULL || v->u.b) ? 1 : 0);
    }

    ngx_http_hangar_out_lit(out, "\n"
        "# HELP mcp_hangar_discovery_mcp_servers MCP servers registered by "
        "discovery, by source type\n"
        "# TYPE mcp_hangar_discovery_mcp_servers gauge\n");

    set = ngx_http_hangar_get(view, "tracked");

    for (t = 1; t <= 3; t++) {
        n = 0;

        if (ngx_http_hangar_is(set, NGX_HTTP_HANGAR_OBJ)) {
            pair = set->u.obj.elts;

            for (i = 0; i < set->u.obj.nelts; i++) {
                v = ngx_http_hangar_get(pair[i].value, "source");

                if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
                    && ngx_http_hangar_disc_type(&v->u.s) == t)
                {
                    n++;
                }
            }
        }

        ngx_http_hangar_out_printf(out,
            "mcp_hangar_discovery_mcp_servers{source_type=\"%s\"} %ui\n",
            ngx_http_hangar_disc_type_name(t), n);
    }

    ngx_http_hangar_out_lit(out, "\n"
        "# HELP mcp_hangar_discovery_registrations_total Servers registered "
        "or updated by discovery\n"
        "# TYPE mcp_hangar_discovery_registrations_total counter\n");

    for (t = 1; t <= 3; t++) {
        ngx_http_hangar_out_printf(out,
            "mcp_hangar_discovery_registrations_total{source_type=\"%s\"} "
            "%uA\n", ngx_http_hangar_disc_type_name(t), d->registered[t]);
    }

    ngx_http_hangar_out_lit(out, "\n"
        "# HELP mcp_hangar_discovery_deregistrations_total Servers removed "
        "by discovery (gone from an authoritative source)\n"
        "# TYPE mcp_hangar_discovery_deregistrations_total counter\n");

    for (t = 1; t <= 3; t++) {
        ngx_http_hangar_out_printf(out,
            "mcp_hangar_discovery_deregistrations_total{source_type=\"%s\"} "
            "%uA\n", ngx_http_hangar_disc_type_name(t),
            d->deregistered[t]);
    }

    ngx_http_hangar_out_lit(out, "\n"
        "# HELP mcp_hangar_discovery_quarantines_total Servers put in "
        "quarantine\n"
        "# TYPE mcp_hangar_discovery_quarantines_total counter\n");

    for (t = 1; t <= 3; t++) {
        ngx_http_hangar_out_printf(out,
            "mcp_hangar_discovery_quarantines_total{source_type=\"%s\"} "
            "%uA\n", ngx_http_hangar_disc_type_name(t), d->quarantined[t]);
    }

    v = ngx_http_hangar_get(view, "pending");
    set = ngx_http_hangar_get(view, "quarantined");

    ngx_http_hangar_out_printf(out, "\n"
        "# HELP mcp_hangar_discovery_pending MCP servers waiting for "
        "approval\n"
        "# TYPE mcp_hangar_discovery_pending gauge\n"
        "mcp_hangar_discovery_pending %ui\n\n"
        "# HELP mcp_hangar_discovery_quarantined MCP servers in quarantine\n"
        "# TYPE mcp_hangar_discovery_quarantined gauge\n"
        "mcp_hangar_discovery_quarantined %ui\n",
        ngx_http_hangar_is(v, NGX_HTTP_HANGAR_OBJ) ? v->u.obj.nelts : 0,
        ngx_http_hangar_is(set, NGX_HTTP_HANGAR_OBJ)
        ? set->u.obj.nelts : 0);

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_disc_ttl(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_disc_source_t *src)
{
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_get(src->conf, "ttl_s");

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT)) {
        v = ngx_http_hangar_get(ngx_http_hangar_get(reg->hmcf->discovery,
                                                    "lifecycle"),
                                "default_ttl_s");
    }

    return ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) ? v->u.i : 90;
}
