
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * hangar_pass to a remote server: the endpoint as the proxy's URL, the
 * server's auth and headers on the proxied request, a call's connect and
 * read timeouts, and https verified as the control channel verifies it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_pass_remote.h"


extern ngx_module_t  ngx_http_proxy_module;


static ngx_int_t ngx_http_hangar_pass_endpoint(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx, ngx_str_t *ep);
static ngx_int_t ngx_http_hangar_pass_auth(ngx_http_request_t *r,
    ngx_http_hangar_value_t *spec);
static ngx_int_t ngx_http_hangar_pass_header(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);
static void ngx_http_hangar_pass_timeout(ngx_event_t *ev);
#if (NGX_HTTP_SSL)
static int ngx_http_hangar_pass_verify(X509_STORE_CTX *x509, void *arg);
static STACK_OF(X509) *ngx_http_hangar_pass_ca(ngx_str_t *file,
    ngx_log_t *log);
#endif


/*
 * A remote as the control channel reaches it (ngx_http_hangar_job.c): its
 * endpoint, its auth and headers, its TLS settings and, for a call (a
 * POST), its connect and read timeouts (hangar-core §2.1 defaults).
 */

ngx_int_t
ngx_http_hangar_pass_remote(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx, ngx_http_hangar_value_t *spec)
{
    ngx_http_hangar_value_t  *ep, *http, *tls, *v;

    ep = ngx_http_hangar_get(spec, "endpoint");
    if (!ngx_http_hangar_is(ep, NGX_HTTP_HANGAR_STR)
        || ngx_http_hangar_pass_endpoint(r, ctx, &ep->u.s) != NGX_OK
        || ngx_http_hangar_pass_auth(r, spec) != NGX_OK)
    {
        return NGX_ERROR;
    }

    tls = ngx_http_hangar_get(spec, "tls");
    v = ngx_http_hangar_get(tls, "verify_ssl");
    ctx->verify = !(ngx_http_hangar_is(v, NGX_HTTP_HANGAR_BOOL) && !v->u.b);

    v = ngx_http_hangar_get(tls, "ca_cert_path");
    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        ctx->ca = v->u.s;
    }

    http = ngx_http_hangar_get(spec, "http");
    ctx->connect_timeout = 10000;
    ctx->read_timeout = 30000;

    v = ngx_http_hangar_get(http, "connect_timeout");
    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_NUM) && v->u.n > 0) {
        ctx->connect_timeout = (ngx_msec_t) (v->u.n * 1000);

    } else if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) && v->u.i > 0) {
        ctx->connect_timeout = (ngx_msec_t) (v->u.i * 1000);
    }

    v = ngx_http_hangar_get(http, "read_timeout");
    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_NUM) && v->u.n > 0) {
        ctx->read_timeout = (ngx_msec_t) (v->u.n * 1000);

    } else if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT) && v->u.i > 0) {
        ctx->read_timeout = (ngx_msec_t) (v->u.i * 1000);
    }

    /* a call; a GET stream listens for as long as it lasts */
    if (r->method == NGX_HTTP_POST && !ctx->timer.timer_set) {
        ctx->timer.handler = ngx_http_hangar_pass_timeout;
        ctx->timer.data = r;
        ctx->timer.log = r->connection->log;
        ctx->timer.cancelable = 1;
        ngx_add_timer(&ctx->timer, ctx->connect_timeout);
    }

    return NGX_OK;
}


/*
 * The endpoint as a URL for the proxy: ws and wss are http and https with
 * an upgrade; "localhost" is 127.0.0.1, as for the control channel (a
 * name would need nginx's resolver).  The host of https is checked
 * against the certificate (ngx_http_hangar_pass_verify()).
 */

static ngx_int_t
ngx_http_hangar_pass_endpoint(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx, ngx_str_t *ep)
{
    u_char      *p, *last, *host, *end;
    ngx_str_t    scheme;
    ngx_uint_t   tls;

    p = ep->data;
    last = p + ep->len;

    tls = 0;

    if (ep->len > 8 && ngx_strncasecmp(p, (u_char *) "https://", 8) == 0) {
        host = p + 8;
        tls = 1;

    } else if (ep->len > 6 && ngx_strncasecmp(p, (u_char *) "wss://", 6) == 0) {
        host = p + 6;
        tls = 1;

    } else if (ep->len > 5 && ngx_strncasecmp(p, (u_char *) "ws://", 5) == 0) {
        host = p + 5;

    } else if (ep->len > 7
               && ngx_strncasecmp(p, (u_char *) "http://", 7) == 0)
    {
        host = p + 7;

    } else {
        return NGX_ERROR;
    }

    if (tls) {
        ngx_str_set(&scheme, "https://");

    } else {
        ngx_str_set(&scheme, "http://");
    }

    /* the host, without a port */
    if (host < last && *host == '[') {
        end = ngx_strlchr(host, last, ']');
        end = end ? end + 1 : last;

    } else {
        for (end = host; end < last && *end != ':' && *end != '/'; end++) {
            /* void */
        }
    }

    ctx->url.data = ngx_pnalloc(r->pool, ep->len + sizeof("127.0.0.1"));
    if (ctx->url.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(ctx->url.data, scheme.data, scheme.len);

    if (end - host == 9 && ngx_strncasecmp(host, (u_char *) "localhost", 9)
                           == 0)
    {
        p = ngx_cpymem(p, "127.0.0.1", 9);

    } else {
        p = ngx_cpymem(p, host, end - host);
    }

    p = ngx_cpymem(p, end, last - end);
    ctx->url.len = p - ctx->url.data;

    if (!tls) {
        return NGX_OK;
    }

    /* what the certificate must name: the host as written */
    if (*host == '[') {
        host++;
        end--;
    }

    ctx->tls_host = ngx_pnalloc(r->pool, end - host + 1);
    if (ctx->tls_host == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem(ctx->tls_host, host, end - host) = '\0';

    ctx->tls_ip = (ngx_inet_addr(ctx->tls_host, end - host) != INADDR_NONE
                   || ngx_strlchr(ctx->tls_host, ctx->tls_host + (end - host),
                                  ':') != NULL);

    return NGX_OK;
}


/* the remote's auth (bearer, api_key, basic) and http.headers */

static ngx_int_t
ngx_http_hangar_pass_auth(ngx_http_request_t *r,
    ngx_http_hangar_value_t *spec)
{
    ngx_str_t                 name, value, user, b64;
    ngx_uint_t                i;
    ngx_http_hangar_pair_t   *pair;
    ngx_http_hangar_value_t  *auth, *type, *v, *t, *hdrs;

    auth = ngx_http_hangar_get(spec, "auth");
    type = ngx_http_hangar_get(auth, "type");

    ngx_str_null(&name);

    if (type && ngx_http_hangar_str_is(&type->u.s, "bearer")
        && (v = ngx_http_hangar_get(auth, "bearer_token")))
    {
        ngx_str_set(&name, "Authorization");
        value.data = ngx_pnalloc(r->pool, v->u.s.len + sizeof("Bearer "));
        if (value.data == NULL) {
            return NGX_ERROR;
        }

        value.len = ngx_sprintf(value.data, "Bearer %V", &v->u.s)
                    - value.data;

    } else if (type && ngx_http_hangar_str_is(&type->u.s, "api_key")
               && (v = ngx_http_hangar_get(auth, "api_key")))
    {
        t = ngx_http_hangar_get(auth, "api_key_header");

        if (t) {
            name = t->u.s;

        } else {
            ngx_str_set(&name, "X-API-Key");
        }

        value = v->u.s;

    } else if (type && ngx_http_hangar_str_is(&type->u.s, "basic")) {
        v = ngx_http_hangar_get(auth, "username");
        t = ngx_http_hangar_get(auth, "password");

        user.len = (v ? v->u.s.len : 0) + 1 + (t ? t->u.s.len : 0);
        user.data = ngx_pnalloc(r->pool, user.len);
        value.data = ngx_pnalloc(r->pool, sizeof("Basic ")
                                 + ngx_base64_encoded_length(user.len));
        if (user.data == NULL || value.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(user.data, "%V:%V",
                    v ? &v->u.s : &(ngx_str_t) ngx_null_string,
                    t ? &t->u.s : &(ngx_str_t) ngx_null_string);

        b64.data = ngx_cpymem(value.data, "Basic ", 6);
        ngx_encode_base64(&b64, &user);

        ngx_str_set(&name, "Authorization");
        value.len = 6 + b64.len;
    }

    if (name.len && ngx_http_hangar_pass_header(r, &name, &value) != NGX_OK) {
        return NGX_ERROR;
    }

    hdrs = ngx_http_hangar_get(ngx_http_hangar_get(spec, "http"), "headers");

    if (ngx_http_hangar_is(hdrs, NGX_HTTP_HANGAR_OBJ)) {
        pair = hdrs->u.obj.elts;

        for (i = 0; i < hdrs->u.obj.nelts; i++) {
            if (ngx_http_hangar_pass_header(r, &pair[i].key,
                                            &pair[i].value->u.s)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/*
 * A header the proxy sends on: the server's value replaces what the
 * client sent under that name (names and values were checked when the
 * server was declared).
 */

static ngx_int_t
ngx_http_hangar_pass_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    ngx_uint_t        i, found;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    found = 0;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == name->len
            && ngx_strncasecmp(h[i].key.data, name->data, name->len) == 0)
        {
            h[i].value = *value;
            found = 1;
        }
    }

    if (found) {
        return NGX_OK;
    }

    h = ngx_list_push(&r->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->key = *name;
    h->value = *value;

    h->lowcase_key = ngx_pnalloc(r->pool, name->len);
    if (h->lowcase_key == NULL) {
        return NGX_ERROR;
    }

    h->hash = ngx_hash_strlow(h->lowcase_key, name->data, name->len);

    return NGX_OK;
}


/*
 * A call's timeouts, as nginx's own: first the connect timeout while the
 * proxy connects (and shakes hands), then the read timeout for the whole
 * answer.  Either ends the proxied request through the upstream's own
 * timeout path (504 before the answer began, the stream cut after).
 */

static void
ngx_http_hangar_pass_timeout(ngx_event_t *ev)
{
    ngx_event_t                 *rev;
    ngx_http_request_t          *r;
    ngx_http_upstream_t         *u;
    ngx_http_hangar_pass_ctx_t  *ctx;

    r = ev->data;
    u = r->upstream;
    ctx = ngx_http_get_module_ctx(r, ngx_http_hangar_module);

    if (ctx == NULL) {
        return;
    }

    if (u == NULL) {
        /* the proxy has not begun (the body is still coming): later */
        ngx_add_timer(&ctx->timer, ctx->connect_timeout);
        return;
    }

    if (u->peer.connection == NULL) {
        return;
    }

    if (!ctx->connected && u->request_sent) {
        ctx->connected = 1;

        if (ctx->read_timeout > ctx->connect_timeout) {
            ngx_add_timer(&ctx->timer,
                          ctx->read_timeout - ctx->connect_timeout);
            return;
        }
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, NGX_ETIMEDOUT,
                  "hangar: MCP server \"%V\": the call timed out after %M ms "
                  "(%s)", &ctx->hr.params[0],
                  ctx->connected ? ctx->read_timeout : ctx->connect_timeout,
                  ctx->connected ? "http.read_timeout"
                                 : "http.connect_timeout");

    rev = u->peer.connection->read;
    rev->timedout = 1;
    u->peer.connection->write->timedout = 1;

    if (rev->timer_set) {
        ngx_del_timer(rev);
    }

    ngx_post_event(rev, &ngx_posted_events);
}


#if (NGX_HTTP_SSL)

/*
 * https remotes are verified as the control channel verifies them: the
 * system's CA store, or tls.ca_cert_path; the certificate must name the
 * endpoint's host; tls.verify_ssl: false turns it off.  The proxy's own
 * check (proxy_ssl_verify) knows one CA file per location, so hangar
 * verifies in the handshake itself (ngx_http_hangar_pass_merge()).
 */

static int
ngx_http_hangar_pass_verify(X509_STORE_CTX *x509, void *arg)
{
    int                          rc, err;
    ngx_ssl_conn_t              *ssl_conn;
    ngx_connection_t            *c;
    STACK_OF(X509)              *ca;
    X509_VERIFY_PARAM           *param;
    ngx_http_request_t          *r;
    ngx_http_hangar_pass_ctx_t  *ctx;
    ngx_http_hangar_loc_conf_t  *hlcf;

    ssl_conn = X509_STORE_CTX_get_ex_data(x509,
                                     SSL_get_ex_data_X509_STORE_CTX_idx());
    c = ssl_conn ? ngx_ssl_get_connection(ssl_conn) : NULL;
    r = c ? c->data : NULL;

    if (r == NULL) {
        return X509_verify_cert(x509);
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hangar_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_hangar_module);

    if (hlcf->pass == NULL || ctx == NULL || ctx->tls_host == NULL) {
        return X509_verify_cert(x509);
    }

    if (!ctx->verify) {
        return 1;
    }

    param = X509_STORE_CTX_get0_param(x509);

    if (ctx->tls_ip) {
        rc = X509_VERIFY_PARAM_set1_ip_asc(param, (char *) ctx->tls_host);

    } else {
        rc = X509_VERIFY_PARAM_set1_host(param, (char *) ctx->tls_host, 0);
    }

    if (rc != 1) {
        return 0;
    }

    if (ctx->ca.len) {
        ca = ngx_http_hangar_pass_ca(&ctx->ca, c->log);
        if (ca == NULL) {
            X509_STORE_CTX_set_error(x509,
                                     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT);
            return 0;
        }

        X509_STORE_CTX_set0_trusted_stack(x509, ca);
    }

    if (X509_verify_cert(x509) == 1) {
        return 1;
    }

    err = X509_STORE_CTX_get_error(x509);
    ngx_log_error(NGX_LOG_ERR, c->log, 0,
                  "hangar: MCP server \"%V\": TLS certificate of \"%s\" "
                  "not trusted: %s", &ctx->hr.params[0], ctx->tls_host,
                  X509_verify_cert_error_string(err));

    /*
     * The handshake cannot go on, and nothing is sent: the socket is shut
     * here, so that it fails as a connection error (logged at the
     * upstream's level); failing the verification itself would log a
     * [crit] line for each call.
     */
    (void) shutdown(c->fd, SHUT_RDWR);

    return 1;
}


/* the certificates of a CA file, read once per worker */

static STACK_OF(X509) *
ngx_http_hangar_pass_ca(ngx_str_t *file, ngx_log_t *log)
{
    BIO             *bio;
    X509            *x;
    ngx_uint_t       i;
    STACK_OF(X509)  *sk;

    static struct {
        u_char           path[512];
        STACK_OF(X509)  *sk;
    }                cas[16];
    static ngx_uint_t  ncas;

    for (i = 0; i < ncas; i++) {
        if (ngx_strlen(cas[i].path) == file->len
            && ngx_strncmp(cas[i].path, file->data, file->len) == 0)
        {
            return cas[i].sk;
        }
    }

    if (ncas == 16 || file->len >= 512) {
        return NULL;
    }

    *ngx_cpymem(cas[ncas].path, file->data, file->len) = '\0';

    bio = BIO_new_file((char *) cas[ncas].path, "r");
    sk = sk_X509_new_null();

    if (bio == NULL || sk == NULL) {
        ngx_ssl_error(NGX_LOG_ERR, log, 0, "cannot read CA file \"%V\"",
                      file);
        BIO_free(bio);
        sk_X509_free(sk);
        return NULL;
    }

    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (sk_X509_push(sk, x) == 0) {
            X509_free(x);
            break;
        }
    }

    ERR_clear_error();
    BIO_free(bio);

    if (sk_X509_num(sk) == 0) {
        ngx_log_error(NGX_LOG_ERR, log, 0, "no certificate in CA file \"%V\"",
                      file);
        sk_X509_free(sk);
        return NULL;
    }

    cas[ncas].sk = sk;

    return cas[ncas++].sk;
}

#endif


/*
 * At the merge of a hangar_pass location (the proxy's merge has run): its
 * proxy's TLS context verifies https remotes (ngx_http_hangar_pass_verify).
 */

ngx_int_t
ngx_http_hangar_pass_merge(ngx_conf_t *cf, ngx_http_hangar_loc_conf_t *hlcf)
{
#if (NGX_HTTP_SSL)
    ngx_http_conf_ctx_t       *ctx;
    ngx_http_upstream_conf_t  *ucf;

    ctx = cf->ctx;

    /* ngx_http_proxy_loc_conf_t starts with its ngx_http_upstream_conf_t */
    ucf = ctx->loc_conf[ngx_http_proxy_module.ctx_index];

    if (ucf->ssl == NULL || ucf->ssl->ctx == NULL) {
        return NGX_OK;
    }

    if (SSL_CTX_set_default_verify_paths(ucf->ssl->ctx) != 1) {
        ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                      "hangar_pass: the system's CA store cannot be loaded");
        return NGX_ERROR;
    }

    SSL_CTX_set_verify(ucf->ssl->ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_cert_verify_callback(ucf->ssl->ctx,
                                     ngx_http_hangar_pass_verify, NULL);
#endif

    return NGX_OK;
}
