
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * JSON Web Signatures, the part of bearer JWT authentication that needs
 * neither a request nor the event loop: a compact token split and decoded
 * (strict base64url, JSON through the project's parser), a JWK set turned
 * into OpenSSL public keys (RSA from n/e, EC P-256 from x/y), and the
 * RS256 / ES256 signature check.  Everything a peer sends is bounded here.
 */


#ifndef _NGX_HTTP_HANGAR_JWS_H_INCLUDED_
#define _NGX_HTTP_HANGAR_JWS_H_INCLUDED_


#include "ngx_http_hangar.h"
#include <openssl/evp.h>


#define NGX_HTTP_HANGAR_JWS_TOKEN_MAX   (16 * 1024)
#define NGX_HTTP_HANGAR_JWKS_MAX        (1024 * 1024)
#define NGX_HTTP_HANGAR_JWKS_KEYS_MAX   100

/* the algorithms accepted; anything else is refused */
#define NGX_HTTP_HANGAR_JWS_NONE        0
#define NGX_HTTP_HANGAR_JWS_RS256       1
#define NGX_HTTP_HANGAR_JWS_ES256       2


typedef struct {
    ngx_str_t                    kid;       /* len 0: none */
    ngx_uint_t                   alg;       /* RS256 for RSA, ES256 for EC */
    EVP_PKEY                    *pkey;      /* freed with the set's pool */
    unsigned                     has_kid:1;
    unsigned                     alg_fixed:1;   /* the JWK names its "alg" */
} ngx_http_hangar_jwk_t;


typedef struct {
    ngx_http_hangar_value_t     *header;    /* objects */
    ngx_http_hangar_value_t     *claims;
    ngx_str_t                    signed_part;   /* "header.payload" */
    ngx_str_t                    signature;     /* decoded */
    ngx_str_t                    alg_name;
    ngx_uint_t                   alg;
    ngx_str_t                    kid;
    unsigned                     has_kid:1;
} ngx_http_hangar_jws_t;


/* NGX_OK, NGX_DECLINED (not a well-formed JWS: *err says why), NGX_ERROR */
ngx_int_t ngx_http_hangar_jws_parse(ngx_pool_t *pool, ngx_str_t *token,
    ngx_http_hangar_jws_t *jws, ngx_str_t *err);

/*
 * A JWK set ({"keys":[...]}) -> an array of ngx_http_hangar_jwk_t whose
 * keys are freed with the pool.  Keys of another type or use are left
 * out; a set with no usable key is an error.  NGX_OK, NGX_DECLINED with
 * *err, NGX_ERROR.
 */
ngx_int_t ngx_http_hangar_jwks_parse(ngx_pool_t *pool, u_char *data,
    size_t len, ngx_array_t **keys, ngx_str_t *err);

/*
 * The key of the set that signs this token: NGX_OK; NGX_DECLINED: no key
 * has its "kid" (a fresh copy of the set may have it); NGX_ABORT: the key
 * does not fit the token's algorithm.  *err says why.
 */
ngx_int_t ngx_http_hangar_jwks_find(ngx_pool_t *pool, ngx_array_t *keys,
    ngx_http_hangar_jws_t *jws, ngx_http_hangar_jwk_t **key, ngx_str_t *err);

/* NGX_OK: the signature is good; NGX_DECLINED: it is not; NGX_ERROR */
ngx_int_t ngx_http_hangar_jws_verify(ngx_http_hangar_jws_t *jws,
    ngx_http_hangar_jwk_t *key);

/* strict base64url without padding; NGX_ERROR on anything else */
ngx_int_t ngx_http_hangar_base64url(ngx_pool_t *pool, ngx_str_t *src,
    ngx_str_t *dst);


#endif /* _NGX_HTTP_HANGAR_JWS_H_INCLUDED_ */
