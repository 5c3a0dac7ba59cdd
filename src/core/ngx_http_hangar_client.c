
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include "ngx_http_hangar_guard.h"
#include "ngx_http_hangar_header.h"
#include "ngx_http_hangar_client.h"


static void ngx_http_hangar_call_write_handler(ngx_event_t *wev);
static void ngx_http_hangar_call_read_handler(ngx_event_t *rev);
static void ngx_http_hangar_call_finish(ngx_http_hangar_call_t *call,
    ngx_int_t rc, const char *error);
static void ngx_http_hangar_call_dummy(ngx_event_t *ev);
static void ngx_http_hangar_call_close(ngx_connection_t *c);
static ngx_int_t ngx_http_hangar_call_address(ngx_http_hangar_call_t *call);
static ngx_int_t ngx_http_hangar_call_resolve(ngx_http_hangar_call_t *call,
    ngx_url_t *u);
static void ngx_http_hangar_call_resolved(ngx_resolver_ctx_t *ctx);
static void ngx_http_hangar_call_resolve_error(ngx_http_hangar_call_t *call,
    const char *why);
static ngx_int_t ngx_http_hangar_call_connect(ngx_http_hangar_call_t *call);
static ngx_uint_t ngx_http_hangar_keepalive_get(ngx_http_hangar_call_t *call);
static void ngx_http_hangar_keepalive_put(ngx_http_hangar_call_t *call);
static void ngx_http_hangar_keepalive_close(ngx_event_t *rev);


#define NGX_HTTP_HANGAR_KEEPALIVE  32

typedef struct {
    ngx_connection_t            *c;
    ngx_str_t                    key;
    u_char                       buf[512];
    ngx_sockaddr_t               sa;        /* the peer's address */
    socklen_t                    socklen;
} ngx_http_hangar_keepalive_t;


static ngx_http_hangar_keepalive_t
    ngx_http_hangar_keepalive[NGX_HTTP_HANGAR_KEEPALIVE];

/* nginx's resolver of the http{} level, set in each worker */
static ngx_resolver_t  *ngx_http_hangar_resolver;
static ngx_msec_t       ngx_http_hangar_resolver_timeout = 30000;


static void ngx_http_hangar_call_connected(ngx_http_hangar_call_t *call);
#if (NGX_SSL)
static ngx_int_t ngx_http_hangar_call_tls(ngx_http_hangar_call_t *call);
static void ngx_http_hangar_call_handshaked(ngx_connection_t *c);
static ngx_ssl_t *ngx_http_hangar_tls_context(ngx_http_hangar_call_t *call);
#endif
static void ngx_http_hangar_call_retry(ngx_event_t *ev);
static ngx_int_t ngx_http_hangar_call_unsafe(ngx_http_hangar_call_t *call);
static ngx_int_t ngx_http_hangar_call_blocked(ngx_http_hangar_call_t *call);


ngx_http_hangar_call_t *
ngx_http_hangar_call_create(ngx_log_t *log)
{
    ngx_pool_t              *pool;
    ngx_http_hangar_call_t  *call;

    pool = ngx_create_pool(4096, log);
    if (pool == NULL) {
        return NULL;
    }

    call = ngx_pcalloc(pool, sizeof(ngx_http_hangar_call_t));
    if (call == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    call->pool = pool;
    call->log = log;
    call->method = "POST";
    ngx_str_set(&call->uri, "/mcp");
    ngx_str_set(&call->host, "localhost");
    call->connect_timeout = 5000;
    call->read_timeout = 30000;

    return call;
}


void
ngx_http_hangar_call_destroy(ngx_http_hangar_call_t *call)
{
    ngx_http_hangar_call_cancel(call);
    ngx_destroy_pool(call->pool);
}


ngx_int_t
ngx_http_hangar_call_start(ngx_http_hangar_call_t *call)
{
    size_t              len;
    ngx_buf_t          *b;

    if (ngx_http_hangar_call_unsafe(call) != NGX_OK) {
        return NGX_ERROR;
    }

    len = ngx_strlen(call->method) + 1 + call->uri.len
          + sizeof(" HTTP/1.1\r\nHost: \r\n") - 1 + call->host.len
          + sizeof("Content-Type: application/json\r\n"
                   "Accept: application/json, text/event-stream\r\n"
                   "Content-Length: \r\n\r\n") - 1
          + NGX_SIZE_T_LEN + call->headers.len + call->body.len;

    b = ngx_create_temp_buf(call->pool, len);
    if (b == NULL) {
        ngx_http_hangar_call_finish(call, NGX_ERROR, "out of memory");
        return NGX_ERROR;
    }

    b->last = ngx_sprintf(b->last,
                          "%s %V HTTP/1.1\r\nHost: %V\r\n"
                          "Content-Type: application/json\r\n"
                          "Accept: application/json, text/event-stream\r\n"
                          "Content-Length: %uz\r\n%V\r\n",
                          call->method, &call->uri, &call->host,
                          call->body.len, &call->headers);
    b->last = ngx_cpymem(b->last, call->body.data, call->body.len);
    call->out = b;

    if (ngx_http_hangar_call_input_init(call) != NGX_OK) {
        ngx_http_hangar_call_finish(call, NGX_ERROR, "out of memory");
        return NGX_ERROR;
    }

    /* connections are kept per target and TLS settings */
    call->key.data = ngx_pnalloc(call->pool, call->target.len
                                             + call->ca_file.len + 8);
    if (call->key.data == NULL) {
        ngx_http_hangar_call_finish(call, NGX_ERROR, "out of memory");
        return NGX_ERROR;
    }

    call->key.len = ngx_sprintf(call->key.data, "%V|%d%d|%V", &call->target,
                                call->tls, call->verify, &call->ca_file)
                    - call->key.data;

    /* a kept connection: no resolving again */
    if (call->on_notice == NULL && ngx_http_hangar_keepalive_get(call)) {
        return NGX_OK;
    }

    return ngx_http_hangar_call_address(call);
}


void
ngx_http_hangar_client_resolver(ngx_resolver_t *r, ngx_msec_t timeout)
{
    /* http{} without "resolver" has nginx's dummy one, with no servers */
    ngx_http_hangar_resolver = (r && r->connections.nelts) ? r : NULL;
    ngx_http_hangar_resolver_timeout = timeout ? timeout : 30000;
}


/*
 * The host of a target that needs a resolver: not a unix socket, not an
 * address, not "localhost" (127.0.0.1).  0 when none is needed.
 */

ngx_uint_t
ngx_http_hangar_client_host(ngx_pool_t *pool, ngx_str_t *target,
    ngx_str_t *host)
{
    ngx_url_t   u;
    ngx_addr_t  addr;

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = *target;
    u.default_port = 80;
    u.no_resolve = 1;

    if (ngx_parse_url(pool, &u) != NGX_OK || u.naddrs || u.host.len == 0
        || u.family == AF_UNIX)
    {
        return 0;
    }

    if (u.host.data[0] == '[' && u.host.len > 2) {
        u.host.data++;
        u.host.len -= 2;
    }

    if (ngx_parse_addr(pool, &addr, u.host.data, u.host.len) == NGX_OK
        || (u.host.len == sizeof("localhost") - 1
            && ngx_strncasecmp(u.host.data, (u_char *) "localhost",
                               u.host.len) == 0))
    {
        return 0;
    }

    *host = u.host;

    return 1;
}


/*
 * The peer's address: a unix socket or an address as it is, "localhost"
 * as 127.0.0.1, a host name through nginx's resolver (never the system's,
 * which blocks).
 */

static ngx_int_t
ngx_http_hangar_call_address(ngx_http_hangar_call_t *call)
{
    ngx_url_t    u;
    ngx_str_t    host;
    ngx_addr_t   addr;

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = call->target;
    u.default_port = call->tls ? 443 : 80;
    u.no_resolve = 1;

    if (ngx_parse_url(call->pool, &u) != NGX_OK) {
        ngx_http_hangar_call_finish(call, NGX_ERROR,
                                    u.err ? u.err : "invalid address");
        return NGX_ERROR;
    }

    if (u.port == 0) {
        /* no port in the target: ngx_parse_url() leaves it to us */
        u.port = u.default_port;
    }

    if (u.naddrs) {
        call->peer.sockaddr = u.addrs[0].sockaddr;
        call->peer.socklen = u.addrs[0].socklen;
        return ngx_http_hangar_call_connect(call);
    }

    host = u.host;

    if (host.len > 2 && host.data[0] == '[') {
        host.data++;
        host.len -= 2;
    }

    if (host.len == sizeof("localhost") - 1
        && ngx_strncasecmp(host.data, (u_char *) "localhost", host.len) == 0)
    {
        ngx_str_set(&host, "127.0.0.1");
    }

    if (ngx_parse_addr(call->pool, &addr, host.data, host.len) == NGX_OK) {
        ngx_inet_set_port(addr.sockaddr, u.port);
        call->peer.sockaddr = addr.sockaddr;
        call->peer.socklen = addr.socklen;
        return ngx_http_hangar_call_connect(call);
    }

    return ngx_http_hangar_call_resolve(call, &u);
}


static ngx_int_t
ngx_http_hangar_call_resolve(ngx_http_hangar_call_t *call, ngx_url_t *u)
{
    ngx_resolver_ctx_t  *ctx;

    call->port = u->port;
    call->resolve_host = u->host;

    ctx = NULL;

    if (ngx_http_hangar_resolver) {
        ctx = ngx_resolve_start(ngx_http_hangar_resolver, NULL);
        if (ctx == NULL) {
            ngx_http_hangar_call_finish(call, NGX_ERROR, "out of memory");
            return NGX_ERROR;
        }
    }

    if (ctx == NULL || ctx == NGX_NO_RESOLVER) {
        ngx_http_hangar_call_resolve_error(call,
                                "no \"resolver\" is configured in http{}");
        return NGX_ERROR;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, call->log, 0,
                   "hangar: resolving \"%V\" for a new %s connection",
                   &u->host, call->on_notice ? "stream" : "call");

    ctx->name = u->host;
    ctx->handler = ngx_http_hangar_call_resolved;
    ctx->data = call;
    ctx->timeout = ngx_http_hangar_resolver_timeout;
    ctx->cancelable = call->background;

    call->resolving = ctx;

    /* the handler may run (and the call end) before this returns */
    if (ngx_resolve_name(ctx) != NGX_OK) {
        call->resolving = NULL;
        ngx_http_hangar_call_resolve_error(call, "resolver failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_hangar_call_resolved(ngx_resolver_ctx_t *ctx)
{
    socklen_t                socklen;
    struct sockaddr         *sa;
    ngx_http_hangar_call_t  *call;

    call = ctx->data;
    call->resolving = NULL;

    if (ctx->state || ctx->naddrs == 0) {
        ngx_http_hangar_call_resolve_error(call,
                                     ctx->state
                                     ? ngx_resolver_strerror(ctx->state)
                                     : "no address");
        ngx_resolve_name_done(ctx);
        return;
    }

    socklen = ctx->addrs[0].socklen;
    sa = ngx_palloc(call->pool, socklen);

    if (sa) {
        ngx_memcpy(sa, ctx->addrs[0].sockaddr, socklen);
        ngx_inet_set_port(sa, call->port);
    }

    ngx_resolve_name_done(ctx);

    if (sa == NULL) {
        ngx_http_hangar_call_finish(call, NGX_ERROR, "out of memory");
        return;
    }

    call->peer.sockaddr = sa;
    call->peer.socklen = socklen;

    (void) ngx_http_hangar_call_connect(call);
}


/* "cannot resolve host "h": why", which the log line and the API show */

static void
ngx_http_hangar_call_resolve_error(ngx_http_hangar_call_t *call,
    const char *why)
{
    size_t  len;

    len = sizeof("cannot resolve host \"\": ") + call->resolve_host.len
          + ngx_strlen(why);

    call->error.data = ngx_pnalloc(call->pool, len);

    if (call->error.data) {
        call->error.len = ngx_snprintf(call->error.data, len,
                                       "cannot resolve host \"%V\": %s",
                                       &call->resolve_host, why)
                          - call->error.data;
    }

    ngx_http_hangar_call_finish(call, NGX_ERROR,
                                call->error.data ? NULL : "cannot resolve");
}


static ngx_int_t
ngx_http_hangar_call_connect(ngx_http_hangar_call_t *call)
{
    ngx_err_t          err;
    ngx_int_t          rc;
    ngx_log_t          quiet;
    ngx_pool_t        *pool;
    ngx_connection_t  *c;

    if (call->guard && ngx_http_hangar_call_blocked(call) != NGX_OK) {
        return NGX_ERROR;
    }

    call->peer.name = &call->target;
    call->peer.get = ngx_event_get_peer;
    call->peer.log_error = NGX_ERROR_ERR;

    /*
     * A unix socket whose listen queue is full fails at once with EAGAIN
     * (Linux), which nginx logs as an error: the connect is made with a
     * quiet log, and that case is tried again after a pause.  A bridge's
     * socket that is gone (ENOENT: the bridge exited a moment ago) is no
     * crit either: the failure is logged below, as an error.
     */
    quiet = *call->log;
    quiet.log_level = call->peer.sockaddr->sa_family == AF_UNIX
                      ? NGX_LOG_ALERT : NGX_LOG_CRIT;
    call->peer.log = &quiet;

    rc = ngx_event_connect_peer(&call->peer);
    err = ngx_socket_errno;

    call->peer.log = call->log;

    if (rc == NGX_DECLINED && err == NGX_EAGAIN
        && call->peer.sockaddr->sa_family == AF_UNIX
        && ++call->tries < NGX_HTTP_HANGAR_CALL_TRIES)
    {
        call->retry.handler = ngx_http_hangar_call_retry;
        call->retry.data = call;
        call->retry.log = call->log;
        call->retry.cancelable = call->background;
        ngx_add_timer(&call->retry, NGX_HTTP_HANGAR_CALL_RETRY_MS);
        return NGX_OK;
    }

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, call->log, err, "connect() to %V failed",
                      &call->target);
        ngx_http_hangar_call_finish(call, NGX_ERROR, "connect() failed");
        return NGX_ERROR;
    }

    c = call->peer.connection;
    c->log = call->log;
    c->read->log = call->log;
    c->write->log = call->log;

    /* the connection may outlive the call in the keep-alive cache */
    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        ngx_close_connection(c);
        call->peer.connection = NULL;
        ngx_http_hangar_call_finish(call, NGX_ERROR, "out of memory");
        return NGX_ERROR;
    }

    c->data = call;
    c->pool = pool;
    c->read->handler = ngx_http_hangar_call_read_handler;
    c->write->handler = ngx_http_hangar_call_write_handler;

    /*
     * A background call does not keep an exiting worker alive (nginx -s
     * reload|quit): cancelling its timer ends it.  A client's call and a
     * start are finished first.
     */
    c->read->cancelable = call->background;
    c->write->cancelable = call->background;

    if (rc == NGX_AGAIN) {
        ngx_add_timer(c->write, call->connect_timeout);

        if (call->tls) {
            c->write->handler = ngx_http_hangar_call_write_handler;
            call->connecting = 1;
        }

        return NGX_OK;
    }

    ngx_http_hangar_call_connected(call);

    return NGX_OK;
}


/*
 * Defence in depth: whatever got into a spec, a header line of the
 * request holds no CR, LF or other control character, so that nothing
 * can smuggle a second request to the peer.
 */

static ngx_int_t
ngx_http_hangar_call_unsafe(ngx_http_hangar_call_t *call)
{
    u_char      *p;
    const char  *why;

    why = ngx_http_hangar_headers_unsafe(&call->headers);

    if (why == NULL
        && !(ngx_http_hangar_header_value_ok(call->host.data, call->host.len)
             && ngx_http_hangar_header_value_ok(call->uri.data,
                                                call->uri.len)
             && ngx_strlchr(call->uri.data, call->uri.data + call->uri.len,
                            ' ') == NULL))
    {
        why = "the Host or the request target holds a space or a control "
              "character";
    }

    if (why == NULL) {
        return NGX_OK;
    }

    p = ngx_pnalloc(call->pool, ngx_strlen(why) + 64);
    if (p != NULL) {
        call->error.data = p;
        call->error.len = ngx_sprintf(p, "request refused, nothing sent: %s",
                                      why) - p;
    }

    ngx_http_hangar_call_finish(call, NGX_ERROR,
                                p ? NULL : "request refused");
    return NGX_ERROR;
}


/* SSRF, on the address about to be connected to (hangar-core §1.1) */

static ngx_int_t
ngx_http_hangar_call_blocked(ngx_http_hangar_call_t *call)
{
    u_char      *p, text[NGX_SOCKADDR_STRLEN];
    size_t       len;
    const char  *range;

    range = ngx_http_hangar_addr_blocked(call->peer.sockaddr);

    if (range == NULL
        || ngx_http_hangar_addr_allowed(call->remote_allow,
                                        call->peer.sockaddr))
    {
        return NGX_OK;
    }

    len = ngx_sock_ntop(call->peer.sockaddr, call->peer.socklen, text,
                        NGX_SOCKADDR_STRLEN, 0);

    p = ngx_pnalloc(call->pool, len + ngx_strlen(range) + 160);
    if (p != NULL) {
        call->error.data = p;
        call->error.len = ngx_sprintf(p, "connect to %*s refused (SSRF): "
                                      "the address is in %s, which a "
                                      "remote created through the API may "
                                      "not reach (execution.remote_allow "
                                      "opens a network)", len, text, range)
                          - p;
    }

    ngx_http_hangar_call_finish(call, NGX_ERROR,
                                p ? NULL : "connect refused (SSRF)");
    return NGX_ERROR;
}


static void
ngx_http_hangar_call_retry(ngx_event_t *ev)
{
    ngx_http_hangar_call_t  *call = ev->data;

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, call->log, 0,
                   "hangar: connect to %V again (backlog full)",
                   &call->target);

    (void) ngx_http_hangar_call_connect(call);
}


static void
ngx_http_hangar_call_close(ngx_connection_t *c)
{
    ngx_pool_t  *pool;

#if (NGX_SSL)
    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        c->ssl->no_send_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }
#endif

    pool = c->pool;
    ngx_close_connection(c);

    if (pool) {
        ngx_destroy_pool(pool);
    }
}


/*
 * Keep-alive: a connection whose answer was complete waits in a small
 * per-worker cache for the next call to the same target.
 */

static ngx_uint_t
ngx_http_hangar_keepalive_get(ngx_http_hangar_call_t *call)
{
    ngx_uint_t                   i;
    ngx_connection_t            *c;
    ngx_http_hangar_keepalive_t *k;

    for (i = 0; i < NGX_HTTP_HANGAR_KEEPALIVE; i++) {
        k = &ngx_http_hangar_keepalive[i];

        if (k->c == NULL || k->key.len != call->key.len
            || ngx_strncmp(k->key.data, call->key.data, call->key.len) != 0)
        {
            continue;
        }

        /* SSRF: made for a server that may reach where this one may not */
        if (call->guard
            && ngx_http_hangar_addr_blocked(&k->sa.sockaddr)
            && !ngx_http_hangar_addr_allowed(call->remote_allow,
                                             &k->sa.sockaddr))
        {
            continue;
        }

        call->peer.sockaddr = ngx_palloc(call->pool, k->socklen);
        if (call->peer.sockaddr == NULL) {
            return 0;
        }

        ngx_memcpy(call->peer.sockaddr, &k->sa, k->socklen);
        call->peer.socklen = k->socklen;

        c = k->c;
        k->c = NULL;

        if (c->read->timer_set) {
            ngx_del_timer(c->read);
        }

        c->data = call;
        c->log = call->log;
        c->read->log = call->log;
        c->write->log = call->log;
        c->idle = 0;
        c->read->cancelable = call->background;
        c->write->cancelable = call->background;
        c->read->handler = ngx_http_hangar_call_read_handler;
        c->write->handler = ngx_http_hangar_call_write_handler;

        call->peer.connection = c;
        call->reused = 1;

        ngx_http_hangar_call_write_handler(c->write);

        return 1;
    }

    return 0;
}


static void
ngx_http_hangar_keepalive_put(ngx_http_hangar_call_t *call)
{
    ngx_uint_t                   i, slot;
    ngx_connection_t            *c;
    ngx_http_hangar_keepalive_t *k;

    c = call->peer.connection;
    call->peer.connection = NULL;

    slot = NGX_HTTP_HANGAR_KEEPALIVE;

    for (i = 0; i < NGX_HTTP_HANGAR_KEEPALIVE; i++) {
        if (ngx_http_hangar_keepalive[i].c == NULL) {
            slot = i;
            break;
        }
    }

    if (slot == NGX_HTTP_HANGAR_KEEPALIVE
        || call->key.len > sizeof(ngx_http_hangar_keepalive[0].buf)
        || call->peer.sockaddr == NULL
        || call->peer.socklen > sizeof(ngx_sockaddr_t))
    {
        ngx_http_hangar_call_close(c);
        return;
    }

    k = &ngx_http_hangar_keepalive[slot];
    k->c = c;
    k->key.data = k->buf;
    k->key.len = call->key.len;
    ngx_memcpy(k->buf, call->key.data, call->key.len);
    ngx_memcpy(&k->sa, call->peer.sockaddr, call->peer.socklen);
    k->socklen = call->peer.socklen;

    /* the call's log may be a request's, which is going away */
    c->data = k;
    c->log = ngx_cycle->log;
    c->read->log = ngx_cycle->log;
    c->write->log = ngx_cycle->log;
    c->idle = 1;
    c->read->handler = ngx_http_hangar_keepalive_close;
    c->write->handler = ngx_http_hangar_call_dummy;
    c->read->cancelable = 1;

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    ngx_add_timer(c->read, 30000);

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        k->c = NULL;
        ngx_http_hangar_call_close(c);
    }
}


/* an idle connection: the peer closed it, sent something, or it aged */

static void
ngx_http_hangar_keepalive_close(ngx_event_t *rev)
{
    ngx_connection_t             *c;
    ngx_http_hangar_keepalive_t  *k;

    c = rev->data;
    k = c->data;

    k->c = NULL;
    ngx_http_hangar_call_close(c);
}


static void
ngx_http_hangar_call_connected(ngx_http_hangar_call_t *call)
{
    call->connecting = 0;

#if (NGX_SSL)
    if (call->tls) {
        (void) ngx_http_hangar_call_tls(call);
        return;
    }
#endif

    ngx_http_hangar_call_write_handler(call->peer.connection->write);
}


#if (NGX_SSL)

static int
ngx_http_hangar_tls_verify(int ok, X509_STORE_CTX *x509_store)
{
    return 1;
}


/* one TLS context per (verify, CA file), per worker */

static ngx_ssl_t *
ngx_http_hangar_tls_context(ngx_http_hangar_call_t *call)
{
    ngx_uint_t        i;
    ngx_ssl_t        *ssl;

    static struct {
        ngx_uint_t    verify;
        u_char        ca[512];
        ngx_ssl_t     ssl;
    }                 ctxs[16];
    static ngx_uint_t nctxs;

    for (i = 0; i < nctxs; i++) {
        if (ctxs[i].verify == call->verify
            && ngx_strlen(ctxs[i].ca) == call->ca_file.len
            && ngx_strncmp(ctxs[i].ca, call->ca_file.data, call->ca_file.len)
               == 0)
        {
            return &ctxs[i].ssl;
        }
    }

    if (nctxs == 16 || call->ca_file.len >= 512) {
        return NULL;
    }

    ssl = &ctxs[nctxs].ssl;
    ssl->log = ngx_cycle->log;

    if (ngx_ssl_create(ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL) != NGX_OK) {
        return NULL;
    }

    if (call->verify) {
        /* the result is checked after the handshake, to say what failed */
        SSL_CTX_set_verify(ssl->ctx, SSL_VERIFY_PEER,
                           ngx_http_hangar_tls_verify);

        if (call->ca_file.len) {
            *ngx_cpymem(ctxs[nctxs].ca, call->ca_file.data,
                        call->ca_file.len) = '\0';

            if (SSL_CTX_load_verify_locations(ssl->ctx,
                                              (char *) ctxs[nctxs].ca, NULL)
                == 0)
            {
                ngx_ssl_error(NGX_LOG_ERR, call->log, 0,
                              "cannot load CA file \"%V\"", &call->ca_file);
                SSL_CTX_free(ssl->ctx);
                return NULL;
            }

        } else if (SSL_CTX_set_default_verify_paths(ssl->ctx) == 0) {
            SSL_CTX_free(ssl->ctx);
            return NULL;
        }

    } else {
        SSL_CTX_set_verify(ssl->ctx, SSL_VERIFY_NONE, NULL);
    }

    ctxs[nctxs].verify = call->verify;

    return &ctxs[nctxs++].ssl;
}


static ngx_int_t
ngx_http_hangar_call_tls(ngx_http_hangar_call_t *call)
{
    u_char            *host, *colon;
    ngx_int_t          rc;
    ngx_ssl_t         *ssl;
    ngx_connection_t  *c;

    c = call->peer.connection;

    ssl = ngx_http_hangar_tls_context(call);

    if (ssl == NULL
        || ngx_ssl_create_connection(ssl, c, NGX_SSL_BUFFER|NGX_SSL_CLIENT)
           != NGX_OK)
    {
        ngx_http_hangar_call_finish(call, NGX_ERROR, "TLS set-up failed");
        return NGX_ERROR;
    }

    /* SNI: the host without the port */
    host = ngx_pnalloc(call->pool, call->host.len + 1);
    if (host == NULL) {
        ngx_http_hangar_call_finish(call, NGX_ERROR, "out of memory");
        return NGX_ERROR;
    }

    *ngx_cpymem(host, call->host.data, call->host.len) = '\0';

    colon = (u_char *) ngx_strchr(host, ':');
    if (colon && host[0] != '[') {
        *colon = '\0';
    }

    call->sni.data = host;
    call->sni.len = ngx_strlen(host);

    /* no SNI for an address (RFC 6066) */
    call->ip = (ngx_inet_addr(host, call->sni.len) != INADDR_NONE
                || host[0] == '[');

    if (!call->ip) {
        (void) SSL_set_tlsext_host_name(c->ssl->connection, (char *) host);
    }

    c->log->action = "TLS handshake with an MCP server";

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        if (!c->write->timer_set) {
            ngx_add_timer(c->write, call->connect_timeout);
        }

        c->ssl->handler = ngx_http_hangar_call_handshaked;
        return NGX_OK;
    }

    ngx_http_hangar_call_handshaked(c);

    return NGX_OK;
}


static ngx_uint_t
ngx_http_hangar_check_ip(ngx_connection_t *c, ngx_str_t *ip)
{
    int    rc;
    X509  *cert;

    cert = SSL_get_peer_certificate(c->ssl->connection);
    if (cert == NULL) {
        return 0;
    }

    rc = X509_check_ip_asc(cert, (char *) ip->data, 0);
    X509_free(cert);

    return rc == 1;
}


static void
ngx_http_hangar_call_handshaked(ngx_connection_t *c)
{
    long                     rc;
    ngx_http_hangar_call_t  *call;

    call = c->data;

    if (!c->ssl->handshaked) {
        ngx_http_hangar_call_finish(call, NGX_ERROR,
                                    c->write->timedout
                                    ? "TLS handshake timed out"
                                    : "TLS handshake failed");
        return;
    }

    if (call->verify) {
        rc = SSL_get_verify_result(c->ssl->connection);

        if (rc != X509_V_OK) {
            call->error.data = ngx_pnalloc(call->pool, 256);
            if (call->error.data) {
                call->error.len = ngx_snprintf(call->error.data, 256,
                                        "TLS certificate not trusted: %s",
                                        X509_verify_cert_error_string(rc))
                                  - call->error.data;
            }

            ngx_http_hangar_call_finish(call, NGX_ERROR, NULL);
            return;
        }

        if (call->ip ? !ngx_http_hangar_check_ip(c, &call->sni)
                     : ngx_ssl_check_host(c, &call->sni) != NGX_OK)
        {
            ngx_http_hangar_call_finish(call, NGX_ERROR,
                            "TLS certificate does not match the host name");
            return;
        }
    }

    c->read->handler = ngx_http_hangar_call_read_handler;
    c->write->handler = ngx_http_hangar_call_write_handler;

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    ngx_http_hangar_call_write_handler(c->write);
}

#endif


void
ngx_http_hangar_call_cancel(ngx_http_hangar_call_t *call)
{
    if (call->resolving) {
        ngx_resolve_name_done(call->resolving);
        call->resolving = NULL;
    }

    if (call->retry.timer_set) {
        ngx_del_timer(&call->retry);
    }

    if (call->peer.connection) {
        ngx_http_hangar_call_close(call->peer.connection);
        call->peer.connection = NULL;
    }

    call->done = 1;
}


static void
ngx_http_hangar_call_finish(ngx_http_hangar_call_t *call, ngx_int_t rc,
    const char *error)
{
    ngx_uint_t  level;

    if (call->done) {
        return;
    }

    if (call->retry.timer_set) {
        ngx_del_timer(&call->retry);
    }

    /* a kept connection the peer had closed: once more, on a new one */
    if (rc != NGX_OK && call->reused && !call->retried
        && call->in->last == call->in->start)
    {
        ngx_http_hangar_call_close(call->peer.connection);
        call->peer.connection = NULL;
        call->reused = 0;
        call->retried = 1;
        call->out->pos = call->out->start;

        (void) ngx_http_hangar_call_address(call);
        return;
    }

    if (call->peer.connection) {
        if (rc == NGX_OK && call->keepalive && !call->on_notice) {
            ngx_http_hangar_keepalive_put(call);

        } else {
            ngx_http_hangar_call_close(call->peer.connection);
            call->peer.connection = NULL;
        }
    }

    call->done = 1;
    call->rc = rc;

    if (error) {
        call->error.data = (u_char *) error;
        call->error.len = ngx_strlen(error);
    }

    if (rc != NGX_OK && call->error.len == 0) {
        ngx_str_set(&call->error, "failed");
    }

    /*
     * One line per failed call, naming the server.  A list_changed stream
     * ends whenever its server stops: not worth an error.
     */
    if (rc != NGX_OK) {
        level = call->on_notice ? NGX_LOG_INFO : NGX_LOG_ERR;
        ngx_log_error(level, call->log, 0, "hangar: MCP server \"%V\" (%V): %V",
                      call->name.len ? &call->name : &call->target,
                      &call->target, &call->error);
    }

    call->handler(call);
}


static void
ngx_http_hangar_call_write_handler(ngx_event_t *wev)
{
    ssize_t                  n;
    ngx_connection_t        *c;
    ngx_http_hangar_call_t  *call;

    c = wev->data;
    call = c->data;

    if (wev->timedout) {
        call->timedout = 1;
        ngx_http_hangar_call_finish(call, NGX_ERROR,
                                    call->connecting
                                    || call->out->pos == call->out->start
                                    ? "connect timed out"
                                    : "send timed out (the peer does not "
                                      "read)");
        return;
    }

    if (call->connecting) {
        ngx_http_hangar_call_connected(call);
        return;
    }

    while (call->out->pos < call->out->last) {
        n = c->send(c, call->out->pos, call->out->last - call->out->pos);

        if (n == NGX_AGAIN) {
            if (!wev->timer_set) {
                ngx_add_timer(wev, call->connect_timeout);
            }

            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_hangar_call_finish(call, NGX_ERROR, "send() failed");
            }

            return;
        }

        if (n <= 0) {
            ngx_http_hangar_call_finish(call, NGX_ERROR, "send() failed");
            return;
        }

        call->out->pos += n;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    wev->handler = ngx_http_hangar_call_dummy;

    if (!c->read->timer_set) {
        ngx_add_timer(c->read, call->read_timeout);
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_hangar_call_finish(call, NGX_ERROR, "epoll failed");
    }
}


static void
ngx_http_hangar_call_dummy(ngx_event_t *ev)
{
}


static void
ngx_http_hangar_call_read_handler(ngx_event_t *rev)
{
    ssize_t                  n;
    ngx_int_t                rc;
    ngx_buf_t               *b;
    ngx_connection_t        *c;
    ngx_http_hangar_call_t  *call;

    c = rev->data;
    call = c->data;

    if (rev->timedout) {
        call->timedout = 1;
        ngx_http_hangar_call_finish(call, NGX_ERROR, "read timed out");
        return;
    }

    for ( ;; ) {

        if (ngx_http_hangar_call_space(call) != NGX_OK) {
            ngx_http_hangar_call_finish(call, NGX_ERROR, NULL);
            return;
        }

        b = call->in;

        n = c->recv(c, b->last, b->end - b->last);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR) {
            ngx_http_hangar_call_finish(call, NGX_ERROR, "recv() failed");
            return;
        }

        if (n == 0) {
            rc = ngx_http_hangar_call_eof(call);
            ngx_http_hangar_call_finish(call, rc, NULL);
            return;
        }

        b->last += n;

        rc = ngx_http_hangar_call_process(call);

        if (rc == NGX_DONE) {
            return;
        }

        if (rc != NGX_AGAIN) {
            ngx_http_hangar_call_finish(call, rc, NULL);
            return;
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_hangar_call_finish(call, NGX_ERROR, "epoll failed");
    }
}


/*
 * A worker that exits closes what it keeps, and the connection of every
 * call still open: a background call (a health check, a listener, a
 * discovery check) does not keep an exiting worker alive, and nginx
 * aborts on a socket left open, even one in a TLS handshake.
 */

void
ngx_http_hangar_client_exit(void)
{
    ngx_uint_t         i;
    ngx_connection_t  *c;

    for (i = 0; i < NGX_HTTP_HANGAR_KEEPALIVE; i++) {
        if (ngx_http_hangar_keepalive[i].c) {
            ngx_http_hangar_call_close(ngx_http_hangar_keepalive[i].c);
            ngx_http_hangar_keepalive[i].c = NULL;
        }
    }

    c = ngx_cycle->connections;

    for (i = 0; i < ngx_cycle->connection_n; i++) {
        if (c[i].fd == (ngx_socket_t) -1 || c[i].read == NULL
            || c[i].read->accept || c[i].read->channel)
        {
            continue;
        }

        if (c[i].read->handler == ngx_http_hangar_call_read_handler
            || c[i].write->handler == ngx_http_hangar_call_write_handler
#if (NGX_SSL)
            || (c[i].ssl
                && c[i].ssl->handler == ngx_http_hangar_call_handshaked)
#endif
           )
        {
            ((ngx_http_hangar_call_t *) c[i].data)->peer.connection = NULL;
            ngx_http_hangar_call_close(&c[i]);
        }
    }
}
