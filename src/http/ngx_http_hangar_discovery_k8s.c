
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The Kubernetes discovery source (hangar-security.md §5.2): the API
 * server over HTTPS, on nginx's event loop, with the in-cluster service
 * account (or the source's api_server, token_path and ca_path, or a
 * kubeconfig).  Pods annotated mcp-hangar.io/enabled: "true", running,
 * with an address, in an allowed namespace, are servers.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_discovery_k8s.h"
#include "ngx_http_hangar_client.h"
#include "ngx_http_hangar_spec.h"
#include "ngx_http_hangar_yaml.h"
#include "ngx_http_hangar_guard.h"


#define NGX_HTTP_HANGAR_K8S_TIMEOUT   10000
#define NGX_HTTP_HANGAR_K8S_PODS_MAX  10000
#define NGX_HTTP_HANGAR_K8S_TOKEN_MAX 16384

#define NGX_HTTP_HANGAR_K8S_SA  "/var/run/secrets/kubernetes.io/serviceaccount"


typedef struct {
    ngx_pool_t                     *pool;
    ngx_array_t                    *items;
    ngx_http_hangar_disc_source_t  *src;
    ngx_http_hangar_disc_done_pt    done;
    void                           *data;
    ngx_str_t                       server;     /* https://host:port */
    ngx_str_t                       auth;       /* the header line */
    ngx_str_t                       ca;
    ngx_uint_t                      verify;
    ngx_str_t                       selector;   /* escaped */
    ngx_http_hangar_value_t        *namespaces; /* NULL: every one */
    ngx_uint_t                      next;       /* namespace asked */
    ngx_int_t                       ttl;        /* the default */
} ngx_http_hangar_k8s_t;


static ngx_int_t ngx_http_hangar_k8s_access(ngx_http_hangar_k8s_t *k,
    ngx_str_t *error);
static ngx_int_t ngx_http_hangar_k8s_kubeconfig(ngx_http_hangar_k8s_t *k,
    ngx_str_t *path, ngx_str_t *token, ngx_str_t *error);
static ngx_int_t ngx_http_hangar_k8s_read(ngx_pool_t *pool, ngx_str_t *path,
    ngx_str_t *text);
static ngx_int_t ngx_http_hangar_k8s_get(ngx_http_hangar_k8s_t *k);
static void ngx_http_hangar_k8s_listed(ngx_http_hangar_call_t *call);
static ngx_int_t ngx_http_hangar_k8s_pod(ngx_http_hangar_k8s_t *k,
    ngx_http_hangar_value_t *pod);
static ngx_int_t ngx_http_hangar_k8s_runtime(ngx_pool_t *pool,
    ngx_http_hangar_value_t *list, ngx_http_hangar_value_t *st,
    ngx_str_t *ip);
static ngx_int_t ngx_http_hangar_k8s_command(ngx_pool_t *pool,
    ngx_http_hangar_disc_item_t *item, ngx_http_hangar_value_t *ann);
static ngx_uint_t ngx_http_hangar_k8s_allowed(ngx_http_hangar_k8s_t *k,
    ngx_str_t *ns);
static ngx_str_t *ngx_http_hangar_k8s_ann(ngx_http_hangar_value_t *ann,
    const char *name);


ngx_int_t
ngx_http_hangar_disc_k8s_scan(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_disc_source_t *src, ngx_array_t *items,
    ngx_http_hangar_disc_done_pt done, void *data)
{
    u_char                   *p;
    ngx_int_t                 rc;
    ngx_str_t                 error;
    ngx_http_hangar_value_t  *v;
    ngx_http_hangar_k8s_t    *k;

    k = ngx_pcalloc(pool, sizeof(ngx_http_hangar_k8s_t));
    if (k == NULL) {
        return NGX_ERROR;
    }

    k->pool = pool;
    k->items = items;
    k->ttl = ngx_http_hangar_disc_ttl(reg, src);
    k->src = src;
    k->done = done;
    k->data = data;

    ngx_str_null(&error);

    rc = ngx_http_hangar_k8s_access(k, &error);

    if (rc != NGX_OK) {
        if (rc == NGX_DECLINED) {
            done(data, NGX_DECLINED, &error);
            return NGX_AGAIN;
        }

        return NGX_ERROR;
    }

    v = ngx_http_hangar_get(src->conf, "label_selector");

    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR) && v->u.s.len) {
        p = ngx_pnalloc(pool, v->u.s.len * 3 + sizeof("?labelSelector="));
        if (p == NULL) {
            return NGX_ERROR;
        }

        k->selector.data = p;
        p = ngx_cpymem(p, "?labelSelector=", sizeof("?labelSelector=") - 1);
        p = (u_char *) ngx_escape_uri(p, v->u.s.data, v->u.s.len,
                                      NGX_ESCAPE_ARGS);
        k->selector.len = p - k->selector.data;
    }

    v = ngx_http_hangar_get(src->conf, "namespaces");
    k->namespaces = (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_ARR)
                     && v->u.arr.nelts) ? v : NULL;

    if (ngx_http_hangar_k8s_get(k) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


/*
 * Where the API server is and how to prove who we are: the source's own
 * api_server, token_path and ca_path; else a kubeconfig (in_cluster:
 * false); else the service account of the pod nginx runs in (its host
 * and port are read from the environment when the configuration is
 * loaded, since workers do not inherit it).
 */

static ngx_int_t
ngx_http_hangar_k8s_access(ngx_http_hangar_k8s_t *k, ngx_str_t *error)
{
    u_char                   *p;
    ngx_str_t                 token, path;
    ngx_http_hangar_value_t  *conf, *v;

    conf = k->src->conf;
    k->verify = 1;
    ngx_str_null(&token);

    v = ngx_http_hangar_get(conf, "in_cluster");

    if (ngx_http_hangar_get(conf, "api_server") == NULL
        && ngx_http_hangar_is(v, NGX_HTTP_HANGAR_BOOL) && !v->u.b)
    {
        v = ngx_http_hangar_get(conf, "kubeconfig");

        if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR) || v->u.s.len == 0) {
            ngx_str_set(error, "in_cluster is false and there is no "
                               "kubeconfig");
            return NGX_DECLINED;
        }

        if (ngx_http_hangar_k8s_kubeconfig(k, &v->u.s, &token, error)
            != NGX_OK)
        {
            return NGX_DECLINED;
        }

    } else {
        v = ngx_http_hangar_get(conf, "api_server");

        if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR) || v->u.s.len == 0) {
            ngx_str_set(error, "no API server: not in a cluster "
                               "(KUBERNETES_SERVICE_HOST is not set) and no "
                               "api_server");
            return NGX_DECLINED;
        }

        k->server = v->u.s;

        v = ngx_http_hangar_get(conf, "token_path");
        if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
            path = v->u.s;
        } else {
            ngx_str_set(&path, NGX_HTTP_HANGAR_K8S_SA "/token");
        }

        if (ngx_http_hangar_k8s_read(k->pool, &path, &token) != NGX_OK) {
            p = ngx_pnalloc(k->pool, path.len + 64);
            if (p) {
                error->data = p;
                error->len = ngx_sprintf(p, "cannot read the token %V",
                                         &path) - p;
            }
            return NGX_DECLINED;
        }

        v = ngx_http_hangar_get(conf, "ca_path");
        if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
            k->ca = v->u.s;
        } else {
            ngx_str_set(&k->ca, NGX_HTTP_HANGAR_K8S_SA "/ca.crt");
        }
    }

    if (k->server.len < sizeof("https://") - 1
        || ngx_strncmp(k->server.data, "https://", 8) != 0)
    {
        ngx_str_set(error, "the API server must be an https:// URL");
        return NGX_DECLINED;
    }

    while (token.len && (token.data[token.len - 1] == '\n'
                         || token.data[token.len - 1] == '\r'
                         || token.data[token.len - 1] == ' '))
    {
        token.len--;
    }

    if (token.len) {
        for (p = token.data; p < token.data + token.len; p++) {
            if (*p < 0x21 || *p > 0x7e) {
                ngx_str_set(error, "the token holds a control character");
                return NGX_DECLINED;
            }
        }

        p = ngx_pnalloc(k->pool, token.len + sizeof("Authorization: Bearer "
                                                    "\r\n"));
        if (p == NULL) {
            return NGX_ERROR;
        }

        k->auth.data = p;
        k->auth.len = ngx_sprintf(p, "Authorization: Bearer %V\r\n", &token)
                      - p;
    }

    return NGX_OK;
}


/* a kubeconfig: its current context's cluster and user */

static ngx_int_t
ngx_http_hangar_k8s_kubeconfig(ngx_http_hangar_k8s_t *k, ngx_str_t *path,
    ngx_str_t *token, ngx_str_t *error)
{
    ngx_str_t                 err, *want;
    ngx_uint_t                i, n;
    ngx_http_hangar_value_t  *doc, *cur, *list, **e, *name, *found[2], *v;

    static const char  *kinds[] = { "clusters", "users" };
    static const char  *keys[] = { "cluster", "user" };

    doc = ngx_http_hangar_yaml_parse(k->pool, path, &err);

    if (!ngx_http_hangar_is(doc, NGX_HTTP_HANGAR_OBJ)) {
        *error = doc ? *path : err;
        return NGX_DECLINED;
    }

    /* the current context's cluster and user names */
    cur = ngx_http_hangar_get(doc, "current-context");
    list = ngx_http_hangar_get(doc, "contexts");
    v = NULL;

    if (ngx_http_hangar_is(cur, NGX_HTTP_HANGAR_STR)
        && ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR))
    {
        e = list->u.arr.elts;

        for (i = 0; i < list->u.arr.nelts; i++) {
            name = ngx_http_hangar_get(e[i], "name");

            if (ngx_http_hangar_is(name, NGX_HTTP_HANGAR_STR)
                && ngx_http_hangar_value_equal(name, cur))
            {
                v = ngx_http_hangar_get(e[i], "context");
                break;
            }
        }
    }

    if (v == NULL) {
        ngx_str_set(error, "the kubeconfig has no current context");
        return NGX_DECLINED;
    }

    for (n = 0; n < 2; n++) {
        name = ngx_http_hangar_get(v, keys[n]);
        list = ngx_http_hangar_get(doc, kinds[n]);
        found[n] = NULL;

        if (!ngx_http_hangar_is(name, NGX_HTTP_HANGAR_STR)
            || !ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR))
        {
            continue;
        }

        want = &name->u.s;
        e = list->u.arr.elts;

        for (i = 0; i < list->u.arr.nelts; i++) {
            name = ngx_http_hangar_get(e[i], "name");

            if (ngx_http_hangar_is(name, NGX_HTTP_HANGAR_STR)
                && name->u.s.len == want->len
                && ngx_strncmp(name->u.s.data, want->data, want->len) == 0)
            {
                found[n] = ngx_http_hangar_get(e[i], keys[n]);
                break;
            }
        }
    }

    v = ngx_http_hangar_get(found[0], "server");

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        ngx_str_set(error, "the kubeconfig's cluster has no server");
        return NGX_DECLINED;
    }

    k->server = v->u.s;

    v = ngx_http_hangar_get(found[0], "certificate-authority");
    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        k->ca = v->u.s;
    }

    if (ngx_http_hangar_get(found[0], "certificate-authority-data")) {
        ngx_str_set(error, "certificate-authority-data in a kubeconfig is "
                           "not supported: give certificate-authority "
                           "(a file) or ca_path");
        return NGX_DECLINED;
    }

    v = ngx_http_hangar_get(found[0], "insecure-skip-tls-verify");
    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_BOOL) && v->u.b) {
        k->verify = 0;
    }

    v = ngx_http_hangar_get(found[1], "token");

    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        *token = v->u.s;

    } else {
        v = ngx_http_hangar_get(found[1], "tokenFile");

        if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
            && ngx_http_hangar_k8s_read(k->pool, &v->u.s, token) != NGX_OK)
        {
            ngx_str_set(error, "cannot read the kubeconfig's tokenFile");
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_k8s_read(ngx_pool_t *pool, ngx_str_t *path, ngx_str_t *text)
{
    u_char     *name;
    ssize_t     n;
    ngx_fd_t    fd;

    name = ngx_pnalloc(pool, path->len + 1);
    text->data = ngx_pnalloc(pool, NGX_HTTP_HANGAR_K8S_TOKEN_MAX);
    if (name == NULL || text->data == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(name, path->data, path->len + 1);

    fd = ngx_open_file(name, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        return NGX_ERROR;
    }

    n = read(fd, text->data, NGX_HTTP_HANGAR_K8S_TOKEN_MAX);
    (void) ngx_close_file(fd);

    if (n <= 0 || n == NGX_HTTP_HANGAR_K8S_TOKEN_MAX) {
        return NGX_ERROR;
    }

    text->len = n;

    return NGX_OK;
}


/* GET the pods: of every namespace at once, or of each one listed */

static ngx_int_t
ngx_http_hangar_k8s_get(ngx_http_hangar_k8s_t *k)
{
    u_char                   *p, *host, *last;
    ngx_str_t                 ns;
    ngx_http_hangar_call_t   *call;
    ngx_http_hangar_value_t  *v;

    call = ngx_http_hangar_call_create(ngx_cycle->log);
    if (call == NULL) {
        return NGX_ERROR;
    }

    ngx_str_null(&ns);

    if (k->namespaces) {
        v = ((ngx_http_hangar_value_t **) k->namespaces->u.arr.elts)[k->next];
        ns = v->u.s;
    }

    /* https://host[:port][/prefix] */
    host = k->server.data + sizeof("https://") - 1;
    last = k->server.data + k->server.len;

    for (p = host; p < last && *p != '/'; p++) { /* void */ }

    call->target.data = host;
    call->target.len = p - host;
    call->host = call->target;

    if (ngx_strlchr(host, p, ':') == NULL) {
        call->target.data = ngx_pnalloc(call->pool, call->target.len + 4);
        if (call->target.data == NULL) {
            ngx_http_hangar_call_destroy(call);
            return NGX_ERROR;
        }

        call->target.len = ngx_sprintf(call->target.data, "%*s:443",
                                       (size_t) (p - host), host)
                           - call->target.data;
    }

    call->uri.data = ngx_pnalloc(call->pool, (last - p) + ns.len * 3
                                             + k->selector.len + 64);
    if (call->uri.data == NULL) {
        ngx_http_hangar_call_destroy(call);
        return NGX_ERROR;
    }

    if (ns.len) {
        call->uri.len = ngx_sprintf(call->uri.data,
                                    "%*s/api/v1/namespaces/%V/pods%V",
                                    (size_t) (last - p), p, &ns, &k->selector)
                        - call->uri.data;
    } else {
        call->uri.len = ngx_sprintf(call->uri.data, "%*s/api/v1/pods%V",
                                    (size_t) (last - p), p, &k->selector)
                        - call->uri.data;
    }

    call->method = "GET";
    call->headers = k->auth;
    call->tls = 1;
    call->verify = k->verify;
    call->ca_file = k->ca;
    call->connect_timeout = NGX_HTTP_HANGAR_K8S_TIMEOUT;
    call->read_timeout = NGX_HTTP_HANGAR_K8S_TIMEOUT;
    ngx_str_set(&call->name, "the kubernetes discovery source");
    call->handler = ngx_http_hangar_k8s_listed;
    call->data = k;
    call->background = 1;
    ngx_http_hangar_disc_inflight = call;

    (void) ngx_http_hangar_call_start(call);

    return NGX_OK;
}


static void
ngx_http_hangar_k8s_listed(ngx_http_hangar_call_t *call)
{
    u_char                   *p;
    ngx_int_t                 rc;
    ngx_str_t                 error, err;
    ngx_uint_t                i;
    ngx_http_hangar_k8s_t    *k;
    ngx_http_hangar_value_t  *doc, *pods, **pod;

    k = call->data;
    ngx_http_hangar_disc_inflight = NULL;
    ngx_str_null(&error);
    rc = NGX_OK;

    if (call->rc != NGX_OK || call->status != 200) {
        p = ngx_pnalloc(k->pool, 256 + call->error.len + call->uri.len);
        if (p == NULL) {
            rc = NGX_ERROR;
            goto done;
        }

        error.data = p;
        error.len = (call->rc != NGX_OK)
                    ? ngx_sprintf(p, "the API server %V: %V", &k->server,
                                  &call->error) - p
                    : ngx_sprintf(p, "the API server answered %ui to GET %V",
                                  call->status, &call->uri) - p;
        rc = NGX_DECLINED;
        goto done;
    }

    doc = ngx_http_hangar_json_parse(k->pool, call->response.data,
                                     call->response.len, &err);
    pods = ngx_http_hangar_get(doc, "items");

    if (!ngx_http_hangar_is(pods, NGX_HTTP_HANGAR_ARR)) {
        ngx_str_set(&error, "the API server's pod list has no items");
        rc = NGX_DECLINED;
        goto done;
    }

    pod = pods->u.arr.elts;

    for (i = 0; i < pods->u.arr.nelts && i < NGX_HTTP_HANGAR_K8S_PODS_MAX;
         i++)
    {
        if (ngx_http_hangar_k8s_pod(k, pod[i]) != NGX_OK) {
            rc = NGX_ERROR;
            goto done;
        }
    }

    if (k->namespaces && ++k->next < k->namespaces->u.arr.nelts) {
        ngx_http_hangar_call_destroy(call);

        if (ngx_http_hangar_k8s_get(k) != NGX_OK) {
            k->done(k->data, NGX_ERROR, &error);
        }

        return;
    }

done:

    ngx_http_hangar_call_destroy(call);
    k->done(k->data, rc, &error);
}


/* one pod, by its mcp-hangar.io annotations */

static ngx_int_t
ngx_http_hangar_k8s_pod(ngx_http_hangar_k8s_t *k, ngx_http_hangar_value_t *pod)
{
    ngx_int_t                     port, ttl;
    ngx_str_t                    *a, ns, ip, hpath, name;
    ngx_uint_t                    i;
    ngx_pool_t                   *pool;
    ngx_http_hangar_pair_t       *pair;
    ngx_http_hangar_value_t      *md, *st, *ann, *v, *mine, *list;
    ngx_http_hangar_disc_item_t  *item;

    pool = k->pool;
    md = ngx_http_hangar_get(pod, "metadata");
    st = ngx_http_hangar_get(pod, "status");
    ann = ngx_http_hangar_get(md, "annotations");

    a = ngx_http_hangar_k8s_ann(ann, "enabled");
    if (a == NULL || !ngx_http_hangar_str_is(a, "true")) {
        return NGX_OK;
    }

    v = ngx_http_hangar_get(st, "phase");
    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
        || !ngx_http_hangar_str_is(&v->u.s, "Running"))
    {
        return NGX_OK;
    }

    v = ngx_http_hangar_get(st, "podIP");
    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR) || v->u.s.len == 0) {
        return NGX_OK;
    }

    ip = v->u.s;

    v = ngx_http_hangar_get(md, "namespace");
    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        return NGX_OK;
    }

    ns = v->u.s;

    if (!ngx_http_hangar_k8s_allowed(k, &ns)) {
        return NGX_OK;
    }

    v = ngx_http_hangar_get(md, "name");
    a = ngx_http_hangar_k8s_ann(ann, "name");

    if (a) {
        name = *a;
    } else if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        name = v->u.s;
    } else {
        return NGX_OK;
    }

    item = ngx_array_push(k->items);
    if (item == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(item, sizeof(ngx_http_hangar_disc_item_t));
    item->type = NGX_HTTP_HANGAR_DISC_KUBERNETES;
    item->name = name;
    item->conn = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
    item->meta = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
    mine = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
    list = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_ARR);
    if (item->conn == NULL || item->meta == NULL || mine == NULL
        || list == NULL)
    {
        return NGX_ERROR;
    }

    a = ngx_http_hangar_k8s_ann(ann, "mode");
    if (a) {
        item->mode = *a;
    } else {
        ngx_str_set(&item->mode, "http");
    }

    a = ngx_http_hangar_k8s_ann(ann, "port");
    port = a ? ngx_atoi(a->data, a->len) : 8080;

    a = ngx_http_hangar_k8s_ann(ann, "ttl");
    ttl = a ? ngx_atoi(a->data, a->len) : k->ttl;
    item->ttl = (ttl > 0 && ttl <= 86400) ? ttl : k->ttl;

    ngx_str_set(&hpath, "/health");
    a = ngx_http_hangar_k8s_ann(ann, "health-path");
    if (a) {
        hpath = *a;
    }

    /* the annotations of ours only */
    if (ngx_http_hangar_is(ann, NGX_HTTP_HANGAR_OBJ)) {
        pair = ann->u.obj.elts;

        for (i = 0; i < ann->u.obj.nelts; i++) {
            if (pair[i].key.len > sizeof("mcp-hangar.io/") - 1
                && ngx_strncmp(pair[i].key.data, "mcp-hangar.io/",
                               sizeof("mcp-hangar.io/") - 1) == 0
                && ngx_http_hangar_set(pool, mine, pair[i].key.data,
                                       pair[i].key.len, pair[i].value)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    a = ngx_http_hangar_k8s_ann(ann, "group");

    if (ngx_http_hangar_k8s_runtime(pool, list, st, &ip) != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->meta, "namespace",
               ngx_http_hangar_value_str(pool, ns.data, ns.len)) != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->meta, "pod_name",
                                    ngx_http_hangar_get(md, "name")) != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->meta, "pod_uid",
                                    ngx_http_hangar_get(md, "uid")) != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->meta, "group",
               a ? ngx_http_hangar_value_str(pool, a->data, a->len) : NULL)
           != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->meta, "labels",
                                    ngx_http_hangar_get(md, "labels"))
           != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->meta, "annotations", mine)
           != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->meta, "node_name",
               ngx_http_hangar_get(ngx_http_hangar_get(pod, "spec"),
                                   "nodeName")) != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->meta, "phase",
                                    ngx_http_hangar_get(st, "phase"))
           != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->meta, "runtime_addresses",
                                    list) != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->conn, "host",
               ngx_http_hangar_value_str(pool, ip.data, ip.len)) != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->conn, "port",
               ngx_http_hangar_value_int(pool, port)) != NGX_OK
        || ngx_http_hangar_disc_put(pool, item->conn, "health_path",
               ngx_http_hangar_value_str(pool, hpath.data, hpath.len))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (!ngx_http_hangar_spec_id_valid(&name, NGX_HTTP_HANGAR_SPEC_API)) {
        ngx_str_set(&item->invalid, "the pod's name is not a valid server "
                                    "id; annotate it mcp-hangar.io/name");

    } else if (ngx_http_hangar_str_is(&item->mode, "http")
               || ngx_http_hangar_str_is(&item->mode, "sse"))
    {
        /* the pod's own addresses: reachable although private */
        if (ngx_http_hangar_disc_network(pool, item, &ip, port, &hpath, NULL)
            != NGX_OK
            || (item->spec
                && ngx_http_hangar_disc_put(pool, item->spec,
                                            "runtime_addresses", list)
                   != NGX_OK))
        {
            return NGX_ERROR;
        }

    } else if (ngx_http_hangar_str_is(&item->mode, "subprocess")
               || ngx_http_hangar_str_is(&item->mode, "stdio"))
    {
        if (ngx_http_hangar_k8s_command(pool, item, ann) != NGX_OK) {
            return NGX_ERROR;
        }

    } else {
        ngx_str_set(&item->invalid, "mode: must be http, sse or subprocess");
    }

    if (item->invalid.len) {
        item->spec = NULL;
    }

    return ngx_http_hangar_disc_fingerprint(pool, item);
}


/*
 * A pod's runtime addresses (hangar-security §5.4): status.podIP, then
 * each status.podIPs[].ip; literal addresses only, each once, at most
 * NGX_HTTP_HANGAR_RUNTIME_MAX.
 */

static ngx_int_t
ngx_http_hangar_k8s_runtime(ngx_pool_t *pool, ngx_http_hangar_value_t *list,
    ngx_http_hangar_value_t *st, ngx_str_t *ip)
{
    ngx_uint_t                 i;
    ngx_http_hangar_value_t   *ips, **a, *v;

    if (ngx_http_hangar_runtime_add(pool, list, ip) != NGX_OK) {
        return NGX_ERROR;
    }

    ips = ngx_http_hangar_get(st, "podIPs");

    if (!ngx_http_hangar_is(ips, NGX_HTTP_HANGAR_ARR)) {
        return NGX_OK;
    }

    a = ips->u.arr.elts;

    for (i = 0; i < ips->u.arr.nelts; i++) {
        v = ngx_http_hangar_get(a[i], "ip");

        if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
            && ngx_http_hangar_runtime_add(pool, list, &v->u.s) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* a subprocess pod: the command of its annotation, split at blanks */

static ngx_int_t
ngx_http_hangar_k8s_command(ngx_pool_t *pool,
    ngx_http_hangar_disc_item_t *item, ngx_http_hangar_value_t *ann)
{
    ngx_str_t                *a;
    ngx_int_t                 port;
    ngx_uint_t                i;
    ngx_http_hangar_value_t  *cmd;

    a = ngx_http_hangar_k8s_ann(ann, "command");
    cmd = NULL;

    if (a) {
        cmd = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_ARR);
        if (cmd == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < a->len; /* void */) {
            while (i < a->len && (a->data[i] == ' '
                                  || a->data[i] == '\t'))
            {
                i++;
            }

            port = i;

            while (i < a->len && a->data[i] != ' '
                   && a->data[i] != '\t')
            {
                i++;
            }

            if ((ngx_int_t) i > port
                && ngx_http_hangar_push(cmd,
                       ngx_http_hangar_value_str(pool, a->data + port,
                                                 i - port))
                   != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    if (cmd == NULL || cmd->u.arr.nelts == 0) {
        ngx_str_set(&item->invalid, "mode subprocess needs the "
                                    "mcp-hangar.io/command annotation");

    } else {
        item->spec = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);

        if (item->spec == NULL
            || ngx_http_hangar_disc_put(pool, item->spec, "mode",
                   ngx_http_hangar_disc_str(pool, "subprocess")) != NGX_OK
            || ngx_http_hangar_disc_put(pool, item->spec, "command", cmd)
               != NGX_OK
            || ngx_http_hangar_disc_put(pool, item->conn, "command", cmd)
               != NGX_OK
            || ngx_http_hangar_disc_described(pool, item) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* allowed_namespaces (empty: all) but not denied_namespaces (which win;
   by default kube-system and default) */

static ngx_uint_t
ngx_http_hangar_k8s_allowed(ngx_http_hangar_k8s_t *k, ngx_str_t *ns)
{
    ngx_uint_t                i, found;
    ngx_http_hangar_value_t  *allow, *deny, **e;

    deny = ngx_http_hangar_get(k->src->conf, "denied_namespaces");

    if (ngx_http_hangar_is(deny, NGX_HTTP_HANGAR_ARR)) {
        e = deny->u.arr.elts;

        for (i = 0; i < deny->u.arr.nelts; i++) {
            if (e[i]->u.s.len == ns->len
                && ngx_strncmp(e[i]->u.s.data, ns->data, ns->len) == 0)
            {
                return 0;
            }
        }

    } else if (ngx_http_hangar_str_is(ns, "kube-system")
               || ngx_http_hangar_str_is(ns, "default"))
    {
        return 0;
    }

    allow = ngx_http_hangar_get(k->src->conf, "allowed_namespaces");

    if (!ngx_http_hangar_is(allow, NGX_HTTP_HANGAR_ARR)
        || allow->u.arr.nelts == 0)
    {
        return 1;
    }

    e = allow->u.arr.elts;
    found = 0;

    for (i = 0; i < allow->u.arr.nelts; i++) {
        if (e[i]->u.s.len == ns->len
            && ngx_strncmp(e[i]->u.s.data, ns->data, ns->len) == 0)
        {
            found = 1;
        }
    }

    return found;
}


static ngx_str_t *
ngx_http_hangar_k8s_ann(ngx_http_hangar_value_t *ann, const char *name)
{
    u_char                    key[64];
    ngx_http_hangar_value_t  *v;

    ngx_snprintf(key, sizeof(key), "mcp-hangar.io/%s%Z", name);

    v = ngx_http_hangar_get(ann, (char *) key);

    return ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR) ? &v->u.s : NULL;
}
