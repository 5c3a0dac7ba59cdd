
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The key set of one JWT issuer: read from a file at configuration time,
 * or fetched on the event loop through the async client (from jwks_uri,
 * or from the jwks_uri of <issuer>/.well-known/openid-configuration),
 * kept per worker, fetched again when it is 5 minutes old or a token
 * names a "kid" it lacks -- never more than once per 30 s, so that a
 * flood of bogus kids cannot make us hammer the IdP.  Requests that need
 * a set being fetched wait; all of them are woken when the fetch ends.
 */


#ifndef _NGX_HTTP_HANGAR_JWKS_H_INCLUDED_
#define _NGX_HTTP_HANGAR_JWKS_H_INCLUDED_


#include "ngx_http_hangar.h"
#include "ngx_http_hangar_client.h"
#include "ngx_http_hangar_jws.h"


#define NGX_HTTP_HANGAR_JWKS_REFETCH   30       /* s between two fetches */
#define NGX_HTTP_HANGAR_JWKS_FRESH     300      /* s a fetched set is used */
#define NGX_HTTP_HANGAR_JWKS_TIMEOUT   10000    /* ms, as the original */


typedef struct {
    ngx_str_t                    issuer;
    ngx_str_t                    uri;         /* jwks_uri; empty: discover */

    /* per worker, from here on */
    ngx_array_t                 *keys;        /* ngx_http_hangar_jwk_t */
    ngx_pool_t                  *keys_pool;   /* fetched keys live in it */
    time_t                       started;     /* the last fetch began */
    time_t                       loaded;      /* the keys were fetched */
    ngx_str_t                    discovered;  /* jwks_uri of discovery */
    ngx_http_hangar_call_t      *call;        /* a fetch in flight */
    ngx_uint_t                   discovering;
    ngx_queue_t                  waiters;
    ngx_event_t                  done;        /* posted when it ends */
    ngx_str_t                    error;       /* why the last one failed */
    u_char                       error_buf[160];
    unsigned                     file:1;      /* keys from jwks_file */
    unsigned                     ready:1;     /* waiters initialised */
} ngx_http_hangar_jwks_t;


/* configuration time: the file's keys (path resolved by the caller) */
ngx_int_t ngx_http_hangar_jwks_file(ngx_conf_t *cf,
    ngx_http_hangar_jwks_t *ks, ngx_str_t *path, ngx_str_t *err);

/*
 * The key that signs jws: NGX_OK; NGX_DECLINED with *err (the reason
 * after "JWT signing key resolution failed: "); NGX_AGAIN: the set is
 * being fetched and wake(data) will be called once, later; NGX_ERROR.
 */
ngx_int_t ngx_http_hangar_jwks_key(ngx_http_hangar_jwks_t *ks,
    ngx_http_hangar_jws_t *jws, ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_hangar_jwk_t **key, ngx_str_t *err,
    void (*wake)(void *data), void *data);


#endif /* _NGX_HTTP_HANGAR_JWKS_H_INCLUDED_ */
