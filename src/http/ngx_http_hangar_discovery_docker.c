
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The Docker discovery source (hangar-security.md §5.2): the Docker
 * Engine API over its unix socket, on nginx's event loop.  One request,
 * GET /containers/json?all=1 filtered by the label
 * mcp.hangar.enabled=true, gives every container with its labels, state,
 * published ports and network addresses.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_discovery_docker.h"
#include "ngx_http_hangar_client.h"
#include "ngx_http_hangar_spec.h"
#include "ngx_http_hangar_guard.h"


#define NGX_HTTP_HANGAR_DOCKER_TIMEOUT  10000
#define NGX_HTTP_HANGAR_DOCKER_MAX      10000   /* containers */

#define NGX_HTTP_HANGAR_DOCKER_URI                                           \
    "/containers/json?all=1&filters="                                        \
    "%7B%22label%22%3A%5B%22mcp.hangar.enabled%3Dtrue%22%5D%7D"


typedef struct {
    ngx_pool_t                     *pool;
    ngx_array_t                    *items;
    ngx_int_t                       ttl;       /* the default */
    ngx_http_hangar_disc_done_pt    done;
    void                           *data;
} ngx_http_hangar_docker_t;


static void ngx_http_hangar_docker_listed(ngx_http_hangar_call_t *call);
static ngx_int_t ngx_http_hangar_docker_item(ngx_pool_t *pool,
    ngx_http_hangar_value_t *c, ngx_array_t *items, ngx_int_t dttl);
static ngx_int_t ngx_http_hangar_docker_container(ngx_pool_t *pool,
    ngx_http_hangar_disc_item_t *item, ngx_http_hangar_value_t *labels,
    ngx_http_hangar_value_t *image, ngx_str_t *name);
static ngx_int_t ngx_http_hangar_docker_endpoint(
    ngx_http_hangar_value_t *c, ngx_int_t port, ngx_str_t *host,
    ngx_int_t *hport, ngx_str_t *ip);
static ngx_http_hangar_value_t *ngx_http_hangar_docker_runtime(
    ngx_pool_t *pool, ngx_http_hangar_value_t *c, ngx_str_t *host);
static ngx_str_t *ngx_http_hangar_docker_label(ngx_http_hangar_value_t *labels,
    const char *name);
static ngx_int_t ngx_http_hangar_docker_words(ngx_pool_t *pool,
    ngx_str_t *text, u_char sep, ngx_http_hangar_value_t **list);


ngx_int_t
ngx_http_hangar_disc_docker_scan(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_disc_source_t *src, ngx_array_t *items,
    ngx_http_hangar_disc_done_pt done, void *data)
{
    char                      *env;
    u_char                    *p;
    ngx_str_t                  path;
    ngx_http_hangar_call_t    *call;
    ngx_http_hangar_value_t   *v;
    ngx_http_hangar_docker_t  *dk;

    /* socket_path, else DOCKER_HOST=unix://..., else the usual one */
    v = ngx_http_hangar_get(src->conf, "socket_path");
    env = getenv("DOCKER_HOST");

    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR) && v->u.s.len) {
        path = v->u.s;

    } else if (env && ngx_strncmp(env, "unix://", 7) == 0 && env[7]) {
        path.data = (u_char *) env + 7;
        path.len = ngx_strlen(path.data);

    } else {
        ngx_str_set(&path, "/var/run/docker.sock");
    }

    dk = ngx_pcalloc(pool, sizeof(ngx_http_hangar_docker_t));
    call = ngx_http_hangar_call_create(ngx_cycle->log);
    if (dk == NULL || call == NULL) {
        if (call) {
            ngx_http_hangar_call_destroy(call);
        }
        return NGX_ERROR;
    }

    dk->pool = pool;
    dk->items = items;
    dk->ttl = ngx_http_hangar_disc_ttl(reg, src);
    dk->done = done;
    dk->data = data;

    p = ngx_pnalloc(call->pool, path.len + sizeof("unix:"));
    if (p == NULL) {
        ngx_http_hangar_call_destroy(call);
        return NGX_ERROR;
    }

    call->target.data = p;
    call->target.len = ngx_sprintf(p, "unix:%V", &path) - p;
    ngx_str_set(&call->host, "docker");
    ngx_str_set(&call->uri, NGX_HTTP_HANGAR_DOCKER_URI);
    ngx_str_set(&call->name, "the docker discovery source");
    call->method = "GET";
    call->connect_timeout = NGX_HTTP_HANGAR_DOCKER_TIMEOUT;
    call->read_timeout = NGX_HTTP_HANGAR_DOCKER_TIMEOUT;
    call->handler = ngx_http_hangar_docker_listed;
    call->data = dk;
    call->background = 1;
    ngx_http_hangar_disc_inflight = call;

    if (ngx_http_hangar_call_start(call) != NGX_OK) {
        /* the handler has been called, or will be */
    }

    return NGX_AGAIN;
}


static void
ngx_http_hangar_docker_listed(ngx_http_hangar_call_t *call)
{
    u_char                    *p;
    ngx_int_t                  rc;
    ngx_str_t                  error, err;
    ngx_uint_t                 i;
    ngx_http_hangar_value_t   *list, **c;
    ngx_http_hangar_docker_t  *dk;

    dk = call->data;
    ngx_http_hangar_disc_inflight = NULL;
    ngx_str_null(&error);
    rc = NGX_OK;

    if (call->rc != NGX_OK || call->status != 200) {
        p = ngx_pnalloc(dk->pool, 256 + call->error.len);
        if (p == NULL) {
            rc = NGX_ERROR;
            goto done;
        }

        error.data = p;
        error.len = (call->rc != NGX_OK)
                    ? ngx_sprintf(p, "the Docker API at %V: %V",
                                  &call->target, &call->error) - p
                    : ngx_sprintf(p, "the Docker API at %V answered %ui",
                                  &call->target, call->status) - p;
        rc = NGX_DECLINED;
        goto done;
    }

    list = ngx_http_hangar_json_parse(dk->pool, call->response.data,
                                      call->response.len, &err);

    if (!ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)) {
        ngx_str_set(&error, "the Docker API's container list is not "
                            "a JSON array");
        rc = NGX_DECLINED;
        goto done;
    }

    c = list->u.arr.elts;

    for (i = 0; i < list->u.arr.nelts && i < NGX_HTTP_HANGAR_DOCKER_MAX; i++) {
        if (ngx_http_hangar_docker_item(dk->pool, c[i], dk->items, dk->ttl)
            != NGX_OK)
        {
            rc = NGX_ERROR;
            break;
        }
    }

done:

    ngx_http_hangar_call_destroy(call);
    dk->done(dk->data, rc, &error);
}


/* one container, by its mcp.hangar.* labels */

static ngx_int_t
ngx_http_hangar_docker_item(ngx_pool_t *pool, ngx_http_hangar_value_t *c,
    ngx_array_t *items, ngx_int_t dttl)
{
    ngx_int_t                     port, hport, ttl;
    ngx_str_t                    *l, name, host, ip, hpath, id, mode;
    ngx_http_hangar_value_t      *labels, *v, *names, *list, *image;
    ngx_http_hangar_disc_item_t  *item;

    if (!ngx_http_hangar_is(c, NGX_HTTP_HANGAR_OBJ)) {
        return NGX_OK;
    }

    labels = ngx_http_hangar_get(c, "Labels");
    l = ngx_http_hangar_docker_label(labels, "enabled");

    if (l == NULL || !ngx_http_hangar_str_is(l, "true")) {
        return NGX_OK;
    }

    /* the name: its label, else the container's ("/name") */
    l = ngx_http_hangar_docker_label(labels, "name");
    names = ngx_http_hangar_get(c, "Names");
    ngx_str_null(&name);

    if (l) {
        name = *l;

    } else if (ngx_http_hangar_is(names, NGX_HTTP_HANGAR_ARR)
               && names->u.arr.nelts
               && ngx_http_hangar_is(
                      ((ngx_http_hangar_value_t **) names->u.arr.elts)[0],
                      NGX_HTTP_HANGAR_STR))
    {
        name = ((ngx_http_hangar_value_t **) names->u.arr.elts)[0]->u.s;

        if (name.len && name.data[0] == '/') {
            name.data++;
            name.len--;
        }
    }

    l = ngx_http_hangar_docker_label(labels, "mode");

    if (l == NULL || ngx_http_hangar_str_is(l, "container")
        || ngx_http_hangar_str_is(l, "stdio")
        || ngx_http_hangar_str_is(l, "subprocess"))
    {
        ngx_str_set(&mode, "container");

    } else if (ngx_http_hangar_str_is(l, "http")
               || ngx_http_hangar_str_is(l, "sse"))
    {
        mode = *l;

    } else {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "hangar: discovery: container \"%V\" left out: "
                      "mode \"%V\" is not container, http or sse", &name, l);
        return NGX_OK;
    }

    item = ngx_array_push(items);
    if (item == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(item, sizeof(ngx_http_hangar_disc_item_t));
    item->type = NGX_HTTP_HANGAR_DISC_DOCKER;
    item->name = name;
    item->mode = mode;
    item->conn = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
    item->meta = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
    if (item->conn == NULL || item->meta == NULL) {
        return NGX_ERROR;
    }

    l = ngx_http_hangar_docker_label(labels, "ttl");
    ttl = l ? ngx_atoi(l->data, l->len) : dttl;
    item->ttl = (ttl > 0 && ttl <= 86400) ? ttl : dttl;

    l = ngx_http_hangar_docker_label(labels, "port");
    port = l ? ngx_atoi(l->data, l->len) : 8080;

    /* metadata */
    v = ngx_http_hangar_get(c, "Id");
    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        id.data = v->u.s.data;
        id.len = ngx_min(v->u.s.len, 12);
        (void) ngx_http_hangar_disc_put(pool, item->meta, "container_id",
                   ngx_http_hangar_value_str(pool, id.data, id.len));
    }

    image = ngx_http_hangar_get(c, "Image");

    if (ngx_http_hangar_disc_put(pool, item->meta, "container_name",
            ngx_http_hangar_value_str(pool, name.data, name.len)) != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->meta, "image", image)
           != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->meta, "status",
                                    ngx_http_hangar_get(c, "State"))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    l = ngx_http_hangar_docker_label(labels, "group");
    if (ngx_http_hangar_disc_put(pool, item->meta, "group",
            l ? ngx_http_hangar_value_str(pool, l->data, l->len) : NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (!ngx_http_hangar_spec_id_valid(&name, NGX_HTTP_HANGAR_SPEC_API)) {
        ngx_str_set(&item->invalid, "the container's name is not a valid "
                                    "server id; label it mcp.hangar.name");
        return ngx_http_hangar_disc_fingerprint(pool, item);
    }

    if (ngx_http_hangar_str_is(&mode, "container")) {
        return ngx_http_hangar_docker_container(pool, item, labels, image,
                                                &name);
    }

    /* http or sse: the published port, else the container's address */
    if (ngx_http_hangar_docker_endpoint(c, port, &host, &hport, &ip)
        != NGX_OK)
    {
        /* no address: skipped */
        items->nelts--;
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "hangar: discovery: container \"%V\" left out: no "
                      "address for port %i", &name, port);
        return NGX_OK;
    }

    ngx_str_set(&hpath, "/health");
    l = ngx_http_hangar_docker_label(labels, "health-path");
    if (l) {
        hpath = *l;
    }

    list = ngx_http_hangar_docker_runtime(pool, c, &host);
    if (list == NULL
        || ngx_http_hangar_disc_put(pool, item->meta, "runtime_addresses",
                                    list) != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->conn, "host",
               ngx_http_hangar_value_str(pool, host.data, host.len)) != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->conn, "port",
               ngx_http_hangar_value_int(pool, hport)) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_hangar_disc_network(pool, item, &host, hport, &hpath, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the container's own addresses: reachable although private */
    if (item->spec
        && (ngx_http_hangar_disc_put(pool, item->conn, "endpoint",
                                     ngx_http_hangar_get(item->spec,
                                                         "endpoint"))
            != NGX_OK
            || ngx_http_hangar_disc_put(pool, item->spec,
                                        "runtime_addresses", list)
               != NGX_OK))
    {
        return NGX_ERROR;
    }

    return ngx_http_hangar_disc_fingerprint(pool, item);
}


/* a container-mode item: run as a docker server with the image, the
   read-only label, the command and the volumes */

static ngx_int_t
ngx_http_hangar_docker_container(ngx_pool_t *pool,
    ngx_http_hangar_disc_item_t *item, ngx_http_hangar_value_t *labels,
    ngx_http_hangar_value_t *image, ngx_str_t *name)
{
    ngx_str_t                *l;
    ngx_http_hangar_value_t  *v, *list;

    /* run as a docker server: the image, read-only, command, volumes */
    item->spec = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
    if (item->spec == NULL) {
        return NGX_ERROR;
    }

    if (!ngx_http_hangar_is(image, NGX_HTTP_HANGAR_STR)) {
        ngx_str_set(&item->invalid, "the container has no image");
        item->spec = NULL;
        return ngx_http_hangar_disc_fingerprint(pool, item);
    }

    v = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_BOOL);
    if (v == NULL) {
        return NGX_ERROR;
    }

    l = ngx_http_hangar_docker_label(labels, "read-only");
    v->u.b = l && (ngx_http_hangar_str_is(l, "true")
                   || ngx_http_hangar_str_is(l, "1")
                   || ngx_http_hangar_str_is(l, "yes"));

    if (ngx_http_hangar_disc_put(pool, item->spec, "mode",
                                 ngx_http_hangar_disc_str(pool, "docker"))
        != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->spec, "image", image)
           != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->spec, "read_only", v)
           != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->conn, "image", image)
           != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->conn, "container_name",
               ngx_http_hangar_value_str(pool, name->data, name->len))
           != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->conn, "read_only", v)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    l = ngx_http_hangar_docker_label(labels, "command");
    if (l) {
        if (ngx_http_hangar_docker_words(pool, l, ' ', &list) != NGX_OK
            || ngx_http_hangar_disc_put(pool, item->spec, "args", list)
               != NGX_OK
            || ngx_http_hangar_disc_put(pool, item->conn, "command", list)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    l = ngx_http_hangar_docker_label(labels, "volumes");
    if (l) {
        if (ngx_http_hangar_docker_words(pool, l, ',', &list) != NGX_OK
            || ngx_http_hangar_disc_put(pool, item->spec, "volumes", list)
               != NGX_OK
            || ngx_http_hangar_disc_put(pool, item->conn, "volumes", list)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ngx_http_hangar_disc_described(pool, item) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_hangar_disc_fingerprint(pool, item);
}


/*
 * The published binding of <port>/tcp (then udp): 0.0.0.0, :: or empty
 * is 127.0.0.1; else the first network address with the container port.
 */

static ngx_int_t
ngx_http_hangar_docker_endpoint(ngx_http_hangar_value_t *c, ngx_int_t port,
    ngx_str_t *host, ngx_int_t *hport, ngx_str_t *ip)
{
    ngx_uint_t                i, pass;
    ngx_http_hangar_pair_t   *pair;
    ngx_http_hangar_value_t  *ports, **pp, *priv, *pub, *hip, *type, *nets;
    ngx_http_hangar_value_t  *addr;

    ngx_str_null(ip);

    nets = ngx_http_hangar_get(ngx_http_hangar_get(c, "NetworkSettings"),
                               "Networks");

    if (ngx_http_hangar_is(nets, NGX_HTTP_HANGAR_OBJ)) {
        pair = nets->u.obj.elts;

        for (i = 0; i < nets->u.obj.nelts; i++) {
            addr = ngx_http_hangar_get(pair[i].value, "IPAddress");

            if (ngx_http_hangar_is(addr, NGX_HTTP_HANGAR_STR)
                && addr->u.s.len)
            {
                *ip = addr->u.s;
                break;
            }
        }
    }

    ports = ngx_http_hangar_get(c, "Ports");

    if (ngx_http_hangar_is(ports, NGX_HTTP_HANGAR_ARR)) {
        pp = ports->u.arr.elts;

        for (pass = 0; pass < 2; pass++) {
            for (i = 0; i < ports->u.arr.nelts; i++) {
                priv = ngx_http_hangar_get(pp[i], "PrivatePort");
                pub = ngx_http_hangar_get(pp[i], "PublicPort");
                hip = ngx_http_hangar_get(pp[i], "IP");
                type = ngx_http_hangar_get(pp[i], "Type");

                if (!ngx_http_hangar_is(priv, NGX_HTTP_HANGAR_INT)
                    || priv->u.i != port
                    || !ngx_http_hangar_is(pub, NGX_HTTP_HANGAR_INT)
                    || !ngx_http_hangar_is(type, NGX_HTTP_HANGAR_STR)
                    || !(pass == 0 ? ngx_http_hangar_str_is(&type->u.s, "tcp")
                                   : ngx_http_hangar_str_is(&type->u.s,
                                                            "udp")))
                {
                    continue;
                }

                if (!ngx_http_hangar_is(hip, NGX_HTTP_HANGAR_STR)
                    || hip->u.s.len == 0
                    || ngx_http_hangar_str_is(&hip->u.s, "0.0.0.0")
                    || ngx_http_hangar_str_is(&hip->u.s, "::"))
                {
                    ngx_str_set(host, "127.0.0.1");

                } else {
                    *host = hip->u.s;
                }

                *hport = pub->u.i;

                return NGX_OK;
            }
        }
    }

    if (ip->len) {
        *host = *ip;
        *hport = port;
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * A container's runtime addresses (hangar-security §5.4): the endpoint's
 * host, the address of each of its networks, the host address of each of
 * its published ports (0.0.0.0, :: or empty read as 127.0.0.1); literal
 * addresses only, each once, at most NGX_HTTP_HANGAR_RUNTIME_MAX.
 */

static ngx_http_hangar_value_t *
ngx_http_hangar_docker_runtime(ngx_pool_t *pool, ngx_http_hangar_value_t *c,
    ngx_str_t *host)
{
    ngx_str_t                 loop = ngx_string("127.0.0.1");
    ngx_uint_t                i;
    ngx_http_hangar_pair_t   *pair;
    ngx_http_hangar_value_t  *list, *nets, *ports, **pp, *v;

    list = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_ARR);
    if (list == NULL
        || ngx_http_hangar_runtime_add(pool, list, host) != NGX_OK)
    {
        return NULL;
    }

    nets = ngx_http_hangar_get(ngx_http_hangar_get(c, "NetworkSettings"),
                               "Networks");

    if (ngx_http_hangar_is(nets, NGX_HTTP_HANGAR_OBJ)) {
        pair = nets->u.obj.elts;

        for (i = 0; i < nets->u.obj.nelts; i++) {
            v = ngx_http_hangar_get(pair[i].value, "IPAddress");

            if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
                && ngx_http_hangar_runtime_add(pool, list, &v->u.s)
                   != NGX_OK)
            {
                return NULL;
            }
        }
    }

    ports = ngx_http_hangar_get(c, "Ports");

    if (ngx_http_hangar_is(ports, NGX_HTTP_HANGAR_ARR)) {
        pp = ports->u.arr.elts;

        for (i = 0; i < ports->u.arr.nelts; i++) {
            if (!ngx_http_hangar_is(ngx_http_hangar_get(pp[i], "PublicPort"),
                                    NGX_HTTP_HANGAR_INT))
            {
                continue;
            }

            v = ngx_http_hangar_get(pp[i], "IP");

            if (ngx_http_hangar_runtime_add(pool, list,
                    (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
                     || v->u.s.len == 0
                     || ngx_http_hangar_str_is(&v->u.s, "0.0.0.0")
                     || ngx_http_hangar_str_is(&v->u.s, "::"))
                    ? &loop : &v->u.s)
                != NGX_OK)
            {
                return NULL;
            }
        }
    }

    return list;
}


static ngx_str_t *
ngx_http_hangar_docker_label(ngx_http_hangar_value_t *labels,
    const char *name)
{
    u_char                    key[64];
    ngx_http_hangar_value_t  *v;

    ngx_snprintf(key, sizeof(key), "mcp.hangar.%s%Z", name);

    v = ngx_http_hangar_get(labels, (char *) key);

    return ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR) ? &v->u.s : NULL;
}


/* "a b  c" or "a,b": a list of the non-empty words */

static ngx_int_t
ngx_http_hangar_docker_words(ngx_pool_t *pool, ngx_str_t *text, u_char sep,
    ngx_http_hangar_value_t **list)
{
    u_char  *p, *last, *start, *end;

    *list = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_ARR);
    if (*list == NULL) {
        return NGX_ERROR;
    }

    p = text->data;
    last = p + text->len;

    while (p < last) {
        start = p;

        while (p < last && *p != sep && !(sep == ' ' && *p == '\t')) {
            p++;
        }

        end = p;

        while (start < end && (*start == ' ' || *start == '\t')) {
            start++;
        }

        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }

        if (end > start
            && ngx_http_hangar_push(*list,
                   ngx_http_hangar_value_str(pool, start, end - start))
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (p < last) {
            p++;
        }
    }

    return NGX_OK;
}
