
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include "ngx_http_hangar_jwks.h"


typedef struct {
    ngx_queue_t                  queue;
    void                       (*wake)(void *data);
    void                        *data;
    unsigned                     linked:1;
} ngx_http_hangar_jwks_waiter_t;


static ngx_int_t ngx_http_hangar_jwks_wait(ngx_http_hangar_jwks_t *ks,
    ngx_pool_t *pool, ngx_str_t *err, void (*wake)(void *data), void *data);
static void ngx_http_hangar_jwks_waiter_cleanup(void *data);
static void ngx_http_hangar_jwks_fetch(ngx_http_hangar_jwks_t *ks);
static ngx_int_t ngx_http_hangar_jwks_url(ngx_http_hangar_call_t *call,
    ngx_str_t *url);
static void ngx_http_hangar_jwks_fetched(ngx_http_hangar_call_t *call);
static void ngx_http_hangar_jwks_done(ngx_event_t *ev);
static ngx_int_t ngx_http_hangar_jwks_result(ngx_http_hangar_jwks_t *ks,
    ngx_http_hangar_call_t *call);
static ngx_int_t ngx_http_hangar_jwks_discovered(ngx_http_hangar_jwks_t *ks,
    ngx_http_hangar_call_t *call);
static ngx_int_t ngx_http_hangar_jwks_loaded(ngx_http_hangar_jwks_t *ks,
    ngx_http_hangar_call_t *call);
static void ngx_http_hangar_jwks_fail(ngx_http_hangar_jwks_t *ks,
    const char *fmt, ...);
static void ngx_http_hangar_jwks_cleanup(void *data);


ngx_int_t
ngx_http_hangar_jwks_file(ngx_conf_t *cf, ngx_http_hangar_jwks_t *ks,
    ngx_str_t *path, ngx_str_t *err)
{
    u_char           *buf, *name;
    size_t            size;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_int_t         rc;
    ngx_file_info_t   fi;

    name = ngx_pnalloc(cf->temp_pool, path->len + 1);
    if (name == NULL) {
        return NGX_ERROR;
    }

    (void) ngx_cpystrn(name, path->data, path->len + 1);

    fd = ngx_open_file(name, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        err->data = ngx_pnalloc(cf->temp_pool, NGX_MAX_ERROR_STR);
        if (err->data == NULL) {
            return NGX_ERROR;
        }

        n = ngx_sprintf(err->data, "cannot open \"%s\": ", name)
            - err->data;
        err->len = ngx_strerror(ngx_errno, err->data + n,
                                NGX_MAX_ERROR_STR - n)
                   - err->data;
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;
    buf = NULL;
    size = 0;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_str_set(err, "cannot stat the file");
        goto done;
    }

    size = (size_t) ngx_file_size(&fi);

    if (ngx_file_size(&fi) > NGX_HTTP_HANGAR_JWKS_MAX) {
        ngx_str_set(err, "the key set is larger than 1 MiB");
        goto done;
    }

    buf = ngx_pnalloc(cf->temp_pool, size + 1);
    if (buf == NULL) {
        rc = NGX_ERROR;
        goto done;
    }

    n = ngx_read_fd(fd, buf, size);

    if (n < 0 || (size_t) n != size) {
        ngx_str_set(err, "cannot read the file");
        goto done;
    }

    rc = ngx_http_hangar_jwks_parse(cf->pool, buf, size, &ks->keys, err);

    ks->file = 1;

done:

    (void) ngx_close_file(fd);

    return rc;
}


ngx_int_t
ngx_http_hangar_jwks_key(ngx_http_hangar_jwks_t *ks,
    ngx_http_hangar_jws_t *jws, ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_hangar_jwk_t **key, ngx_str_t *err,
    void (*wake)(void *data), void *data)
{
    time_t               now;
    ngx_int_t            rc;
    ngx_pool_cleanup_t  *cln;

    if (!ks->ready) {
        cln = ngx_pool_cleanup_add(ngx_cycle->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        cln->handler = ngx_http_hangar_jwks_cleanup;
        cln->data = ks;

        ngx_queue_init(&ks->waiters);
        ks->done.handler = ngx_http_hangar_jwks_done;
        ks->done.data = ks;
        ks->done.log = ngx_cycle->log;
        ks->ready = 1;
    }

    now = ngx_time();

    if (!ks->file) {
        if (ks->call || ks->done.posted) {
            return ngx_http_hangar_jwks_wait(ks, pool, err, wake, data);
        }

        if (ks->keys == NULL || now - ks->loaded >= NGX_HTTP_HANGAR_JWKS_FRESH)
        {
            if (now - ks->started >= NGX_HTTP_HANGAR_JWKS_REFETCH) {
                rc = ngx_http_hangar_jwks_wait(ks, pool, err, wake, data);
                if (rc == NGX_AGAIN) {
                    ngx_http_hangar_jwks_fetch(ks);
                }

                return rc;
            }

            if (ks->keys == NULL) {
                /* the last fetch failed, less than 30 s ago */
                err->data = ngx_pstrdup(pool, &ks->error);
                err->len = err->data ? ks->error.len : 0;
                return err->data ? NGX_DECLINED : NGX_ERROR;
            }

            /* a stale set is better than none while the IdP is down */
        }
    }

    rc = ngx_http_hangar_jwks_find(pool, ks->keys, jws, key, err);

    if (rc == NGX_DECLINED && !ks->file
        && now - ks->started >= NGX_HTTP_HANGAR_JWKS_REFETCH)
    {
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "hangar: a JWT of \"%V\" names an unknown \"kid\": "
                      "fetching the key set again", &ks->issuer);

        rc = ngx_http_hangar_jwks_wait(ks, pool, err, wake, data);
        if (rc == NGX_AGAIN) {
            ngx_http_hangar_jwks_fetch(ks);
        }

        return rc;
    }

    return rc == NGX_OK ? NGX_OK : NGX_DECLINED;
}


/*
 * The waiter lives in the caller's pool: a request that goes away before
 * the fetch ends leaves the queue with it, and is not woken.
 */

static ngx_int_t
ngx_http_hangar_jwks_wait(ngx_http_hangar_jwks_t *ks, ngx_pool_t *pool,
    ngx_str_t *err, void (*wake)(void *data), void *data)
{
    ngx_pool_cleanup_t             *cln;
    ngx_http_hangar_jwks_waiter_t  *w;

    if (wake == NULL) {
        ngx_str_set(err, "the key set is being fetched");
        return NGX_DECLINED;
    }

    cln = ngx_pool_cleanup_add(pool, sizeof(ngx_http_hangar_jwks_waiter_t));
    if (cln == NULL) {
        return NGX_ERROR;
    }

    w = cln->data;
    w->wake = wake;
    w->data = data;
    w->linked = 1;

    ngx_queue_insert_tail(&ks->waiters, &w->queue);

    cln->handler = ngx_http_hangar_jwks_waiter_cleanup;

    return NGX_AGAIN;
}


static void
ngx_http_hangar_jwks_waiter_cleanup(void *data)
{
    ngx_http_hangar_jwks_waiter_t  *w = data;

    if (w->linked) {
        ngx_queue_remove(&w->queue);
        w->linked = 0;
    }
}


static void
ngx_http_hangar_jwks_fetch(ngx_http_hangar_jwks_t *ks)
{
    u_char                  *p;
    ngx_str_t                url;
    ngx_http_hangar_call_t  *call;

    ks->started = ngx_time();

    call = ngx_http_hangar_call_create(ngx_cycle->log);
    if (call == NULL) {
        ngx_http_hangar_jwks_fail(ks, "out of memory");
        ngx_post_event(&ks->done, &ngx_posted_events);
        return;
    }

    url = ks->uri.len ? ks->uri : ks->discovered;
    ks->discovering = (url.len == 0);

    if (ks->discovering) {
        url.len = ks->issuer.len;

        while (url.len && ks->issuer.data[url.len - 1] == '/') {
            url.len--;
        }

        p = ngx_pnalloc(call->pool,
                        url.len + sizeof("/.well-known/openid-configuration"));
        if (p == NULL) {
            ngx_http_hangar_call_destroy(call);
            ngx_http_hangar_jwks_fail(ks, "out of memory");
            ngx_post_event(&ks->done, &ngx_posted_events);
            return;
        }

        url.data = p;
        url.len = ngx_sprintf(p, "%*s/.well-known/openid-configuration",
                              url.len, ks->issuer.data)
                  - p;
    }

    if (ngx_http_hangar_jwks_url(call, &url) != NGX_OK) {
        ngx_http_hangar_jwks_fail(ks, "%s \"%V\" is not an http(s) URL",
                                  ks->discovering ? "the discovery URL"
                                                  : "jwks_uri", &url);
        ngx_http_hangar_call_destroy(call);
        ngx_post_event(&ks->done, &ngx_posted_events);
        return;
    }

    call->method = "GET";
    call->connect_timeout = NGX_HTTP_HANGAR_JWKS_TIMEOUT;
    call->read_timeout = NGX_HTTP_HANGAR_JWKS_TIMEOUT;
    call->handler = ngx_http_hangar_jwks_fetched;
    call->data = ks;

    /* not "background": requests wait for it, an exiting worker too */

    ks->call = call;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "hangar: JWT: fetching %V of \"%V\"", &url, &ks->issuer);

    /* the handler may run before this returns: it only posts an event */
    (void) ngx_http_hangar_call_start(call);
}


/* "http(s)://host[:port][/path]" -> target, Host and URI of a call */

static ngx_int_t
ngx_http_hangar_jwks_url(ngx_http_hangar_call_t *call, ngx_str_t *url)
{
    u_char  *p, *host, *last;

    p = url->data;
    last = p + url->len;

    if (url->len > 7 && ngx_strncasecmp(p, (u_char *) "http://", 7) == 0) {
        host = p + 7;

    } else if (url->len > 8
               && ngx_strncasecmp(p, (u_char *) "https://", 8) == 0)
    {
        host = p + 8;
        call->tls = 1;
        call->verify = 1;

    } else {
        return NGX_ERROR;
    }

    for (p = host; p < last && *p != '/' && *p != '?' && *p != '#'; p++) {
        if (*p == '@' || *p <= ' ' || *p == 0x7f) {
            return NGX_ERROR;
        }
    }

    if (p == host) {
        return NGX_ERROR;
    }

    call->target.data = host;
    call->target.len = p - host;
    call->host = call->target;

    call->uri.data = p;

    for ( /* void */ ; p < last && *p != '#'; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            return NGX_ERROR;
        }
    }

    call->uri.len = p - call->uri.data;

    if (call->uri.len == 0 || call->uri.data[0] != '/') {
        ngx_str_set(&call->uri, "/");
    }

    return NGX_OK;
}


static void
ngx_http_hangar_jwks_fetched(ngx_http_hangar_call_t *call)
{
    ngx_http_hangar_jwks_t  *ks = call->data;

    /* the call is destroyed, and the waiters woken, outside its handler */
    ngx_post_event(&ks->done, &ngx_posted_events);
}


static void
ngx_http_hangar_jwks_done(ngx_event_t *ev)
{
    ngx_int_t                       rc;
    ngx_queue_t                     woken, *q;
    ngx_http_hangar_call_t         *call;
    ngx_http_hangar_jwks_t         *ks;
    ngx_http_hangar_jwks_waiter_t  *w;
    void                          (*wake)(void *data);
    void                           *data;

    ks = ev->data;
    call = ks->call;

    if (call) {
        ks->call = NULL;
        rc = ngx_http_hangar_jwks_result(ks, call);
        ngx_http_hangar_call_destroy(call);

        if (rc == NGX_AGAIN) {
            /* discovered: now the key set itself */
            ngx_http_hangar_jwks_fetch(ks);
            return;
        }
    }

    ngx_queue_init(&woken);

    if (!ngx_queue_empty(&ks->waiters)) {
        ngx_queue_add(&woken, &ks->waiters);
        ngx_queue_init(&ks->waiters);
    }

    /* a wake may end other requests: each is unlinked before it is woken */
    while (!ngx_queue_empty(&woken)) {
        q = ngx_queue_head(&woken);
        ngx_queue_remove(q);

        w = ngx_queue_data(q, ngx_http_hangar_jwks_waiter_t, queue);
        w->linked = 0;
        wake = w->wake;
        data = w->data;

        wake(data);
    }
}


/* NGX_OK: keys loaded; NGX_AGAIN: discovered; NGX_ERROR: ks->error set */

static ngx_int_t
ngx_http_hangar_jwks_result(ngx_http_hangar_jwks_t *ks,
    ngx_http_hangar_call_t *call)
{
    const char  *what;

    what = ks->discovering ? "the OIDC discovery document" : "the key set";

    if (call->rc != NGX_OK) {
        ngx_http_hangar_jwks_fail(ks, "cannot fetch %s: %V", what,
                                  &call->error);
        return NGX_ERROR;
    }

    if (call->status != 200) {
        ngx_http_hangar_jwks_fail(ks, "cannot fetch %s: HTTP %ui", what,
                                  call->status);
        return NGX_ERROR;
    }

    if (call->response.len > NGX_HTTP_HANGAR_JWKS_MAX) {
        ngx_http_hangar_jwks_fail(ks, "%s is larger than 1 MiB", what);
        return NGX_ERROR;
    }

    if (ks->discovering) {
        return ngx_http_hangar_jwks_discovered(ks, call);
    }

    return ngx_http_hangar_jwks_loaded(ks, call);
}


static ngx_int_t
ngx_http_hangar_jwks_discovered(ngx_http_hangar_jwks_t *ks,
    ngx_http_hangar_call_t *call)
{
    u_char                   *p;
    ngx_str_t                 err;
    ngx_http_hangar_value_t  *doc, *uri;

    doc = ngx_http_hangar_json_parse(call->pool, call->response.data,
                                     call->response.len, &err);
    uri = ngx_http_hangar_get(doc, "jwks_uri");

    if (!ngx_http_hangar_is(uri, NGX_HTTP_HANGAR_STR)
        || uri->u.s.len == 0 || uri->u.s.len > 4096)
    {
        ngx_http_hangar_jwks_fail(ks, "OIDC discovery did not return "
                                  "jwks_uri");
        return NGX_ERROR;
    }

    /* kept for the life of the worker: one per issuer, set once */
    p = ngx_pnalloc(ngx_cycle->pool, uri->u.s.len);
    if (p == NULL) {
        ngx_http_hangar_jwks_fail(ks, "out of memory");
        return NGX_ERROR;
    }

    ngx_memcpy(p, uri->u.s.data, uri->u.s.len);
    ks->discovered.data = p;
    ks->discovered.len = uri->u.s.len;

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "hangar: JWT: issuer \"%V\" publishes its keys at \"%V\"",
                  &ks->issuer, &ks->discovered);

    return NGX_AGAIN;
}


static ngx_int_t
ngx_http_hangar_jwks_loaded(ngx_http_hangar_jwks_t *ks,
    ngx_http_hangar_call_t *call)
{
    ngx_str_t     err;
    ngx_pool_t   *pool;
    ngx_array_t  *keys;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        ngx_http_hangar_jwks_fail(ks, "out of memory");
        return NGX_ERROR;
    }

    ngx_str_null(&err);

    if (ngx_http_hangar_jwks_parse(pool, call->response.data,
                                   call->response.len, &keys, &err)
        != NGX_OK)
    {
        ngx_http_hangar_jwks_fail(ks, "invalid key set: %V", &err);
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    if (ks->keys_pool) {
        ngx_destroy_pool(ks->keys_pool);
    }

    ks->keys = keys;
    ks->keys_pool = pool;
    ks->loaded = ngx_time();

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "hangar: JWT: %ui keys of issuer \"%V\" fetched",
                  keys->nelts, &ks->issuer);

    return NGX_OK;
}


/* the reason waiters get, and the log line */

static void
ngx_http_hangar_jwks_fail(ngx_http_hangar_jwks_t *ks, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    ks->error.len = ngx_vslprintf(ks->error_buf,
                                  ks->error_buf + sizeof(ks->error_buf),
                                  fmt, args)
                    - ks->error_buf;
    va_end(args);

    ks->error.data = ks->error_buf;

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "hangar: JWT: issuer \"%V\": %V", &ks->issuer, &ks->error);
}


/* the worker's cycle goes: what was fetched goes with it */

static void
ngx_http_hangar_jwks_cleanup(void *data)
{
    ngx_http_hangar_jwks_t  *ks = data;

    if (ks->call) {
        ngx_http_hangar_call_destroy(ks->call);
        ks->call = NULL;
    }

    if (ks->done.posted) {
        ngx_delete_posted_event(&ks->done);
    }

    if (ks->keys_pool) {
        ngx_destroy_pool(ks->keys_pool);
        ks->keys_pool = NULL;
        ks->keys = NULL;
    }
}
