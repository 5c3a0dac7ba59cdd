
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include "ngx_http_hangar_jws.h"


/* RSA moduli we verify with: at least 2048 bits, at most 8192 */
#define NGX_HTTP_HANGAR_RSA_MIN_BITS  2048
#define NGX_HTTP_HANGAR_RSA_MAX_BYTES 1024
#define NGX_HTTP_HANGAR_EC_COORD      32    /* P-256 */


static ngx_int_t ngx_http_hangar_b64_value(u_char c);
static ngx_int_t ngx_http_hangar_jws_part(ngx_pool_t *pool, u_char *p,
    size_t len, ngx_http_hangar_value_t **obj);
static ngx_uint_t ngx_http_hangar_jws_alg(ngx_str_t *name);
static ngx_int_t ngx_http_hangar_jwk_b64(ngx_pool_t *pool,
    ngx_http_hangar_value_t *jwk, const char *name, ngx_str_t *out);
static EVP_PKEY *ngx_http_hangar_jwk_rsa(ngx_pool_t *pool,
    ngx_http_hangar_value_t *jwk, const char **why);
static EVP_PKEY *ngx_http_hangar_jwk_ec(ngx_pool_t *pool,
    ngx_http_hangar_value_t *jwk, const char **why);
static EVP_PKEY *ngx_http_hangar_pkey_fromdata(const char *type,
    OSSL_PARAM_BLD *bld);
static ngx_int_t ngx_http_hangar_jwk_load(ngx_pool_t *pool,
    ngx_http_hangar_value_t *v, ngx_http_hangar_jwk_t *key,
    const char **why);
static void ngx_http_hangar_pkey_cleanup(void *data);
static ngx_int_t ngx_http_hangar_es256_der(ngx_str_t *raw, u_char **der,
    size_t *len);


static ngx_int_t
ngx_http_hangar_b64_value(u_char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '-') {
        return 62;
    }

    if (c == '_') {
        return 63;
    }

    return -1;
}


/*
 * RFC 7515 §2: base64url without padding.  A value has exactly one
 * encoding: no "=", no other alphabet, and the bits past the last byte
 * are zero.
 */

ngx_int_t
ngx_http_hangar_base64url(ngx_pool_t *pool, ngx_str_t *src, ngx_str_t *dst)
{
    size_t     i;
    ngx_int_t  v;

    v = 0;

    for (i = 0; i < src->len; i++) {
        v = ngx_http_hangar_b64_value(src->data[i]);
        if (v < 0) {
            return NGX_ERROR;
        }
    }

    switch (src->len % 4) {

    case 1:
        return NGX_ERROR;

    case 2:
        if (v & 0x0f) {
            return NGX_ERROR;
        }
        break;

    case 3:
        if (v & 0x03) {
            return NGX_ERROR;
        }
        break;
    }

    dst->data = ngx_pnalloc(pool, ngx_base64_decoded_length(src->len) + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    if (ngx_decode_base64url(dst, src) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_jws_part(ngx_pool_t *pool, u_char *p, size_t len,
    ngx_http_hangar_value_t **obj)
{
    ngx_str_t                 src, text, err;
    ngx_http_hangar_value_t  *v;

    src.data = p;
    src.len = len;

    if (len == 0 || ngx_http_hangar_base64url(pool, &src, &text) != NGX_OK) {
        return NGX_DECLINED;
    }

    v = ngx_http_hangar_json_parse(pool, text.data, text.len, &err);

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_OBJ)) {
        return NGX_DECLINED;
    }

    *obj = v;

    return NGX_OK;
}


static ngx_uint_t
ngx_http_hangar_jws_alg(ngx_str_t *name)
{
    if (ngx_http_hangar_str_is(name, "RS256")) {
        return NGX_HTTP_HANGAR_JWS_RS256;
    }

    if (ngx_http_hangar_str_is(name, "ES256")) {
        return NGX_HTTP_HANGAR_JWS_ES256;
    }

    return NGX_HTTP_HANGAR_JWS_NONE;
}


ngx_int_t
ngx_http_hangar_jws_parse(ngx_pool_t *pool, ngx_str_t *token,
    ngx_http_hangar_jws_t *jws, ngx_str_t *err)
{
    u_char                   *p, *last, *dot1, *dot2;
    ngx_str_t                 sig;
    ngx_http_hangar_value_t  *v;

    ngx_memzero(jws, sizeof(ngx_http_hangar_jws_t));

    if (token->len > NGX_HTTP_HANGAR_JWS_TOKEN_MAX) {
        ngx_str_set(err, "the token is longer than 16 KiB");
        return NGX_DECLINED;
    }

    p = token->data;
    last = p + token->len;

    dot1 = ngx_strlchr(p, last, '.');
    dot2 = dot1 ? ngx_strlchr(dot1 + 1, last, '.') : NULL;

    if (dot2 == NULL || ngx_strlchr(dot2 + 1, last, '.') != NULL) {
        ngx_str_set(err, "not three dot-separated parts");
        return NGX_DECLINED;
    }

    if (ngx_http_hangar_jws_part(pool, p, dot1 - p, &jws->header) != NGX_OK)
    {
        ngx_str_set(err, "the header is not base64url-encoded JSON object");
        return NGX_DECLINED;
    }

    if (ngx_http_hangar_jws_part(pool, dot1 + 1, dot2 - dot1 - 1,
                                 &jws->claims)
        != NGX_OK)
    {
        ngx_str_set(err, "the payload is not base64url-encoded JSON object");
        return NGX_DECLINED;
    }

    sig.data = dot2 + 1;
    sig.len = last - sig.data;

    if (ngx_http_hangar_base64url(pool, &sig, &jws->signature) != NGX_OK) {
        ngx_str_set(err, "the signature is not base64url");
        return NGX_DECLINED;
    }

    jws->signed_part.data = p;
    jws->signed_part.len = dot2 - p;

    v = ngx_http_hangar_get(jws->header, "alg");
    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        ngx_str_set(err, "the header has no \"alg\"");
        return NGX_DECLINED;
    }

    jws->alg_name = v->u.s;
    jws->alg = ngx_http_hangar_jws_alg(&v->u.s);

    v = ngx_http_hangar_get(jws->header, "kid");
    if (v) {
        if (v->type != NGX_HTTP_HANGAR_STR) {
            ngx_str_set(err, "Key ID header parameter must be a string");
            return NGX_DECLINED;
        }

        jws->kid = v->u.s;
        jws->has_kid = 1;
    }

    /* no extension is understood, so none may be critical (RFC 7515) */
    if (ngx_http_hangar_get(jws->header, "crit")) {
        ngx_str_set(err, "unsupported critical header parameters");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* a base64url member of a JWK */

static ngx_int_t
ngx_http_hangar_jwk_b64(ngx_pool_t *pool, ngx_http_hangar_value_t *jwk,
    const char *name, ngx_str_t *out)
{
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_get(jwk, name);

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR) || v->u.s.len == 0
        || ngx_http_hangar_base64url(pool, &v->u.s, out) != NGX_OK
        || out->len == 0)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static EVP_PKEY *
ngx_http_hangar_pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY      *pkey, *ret;
    OSSL_PARAM    *params;
    EVP_PKEY_CTX  *ctx, *check;

    pkey = NULL;
    ret = NULL;
    check = NULL;

    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);

    if (params == NULL || ctx == NULL
        || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        goto done;
    }

    check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

    if (check == NULL || EVP_PKEY_public_check(check) != 1) {
        goto done;
    }

    ret = pkey;
    pkey = NULL;

done:

    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    ERR_clear_error();

    return ret;
}


static EVP_PKEY *
ngx_http_hangar_jwk_rsa(ngx_pool_t *pool, ngx_http_hangar_value_t *jwk,
    const char **why)
{
    BIGNUM          *n, *e;
    EVP_PKEY        *pkey;
    ngx_str_t        nb, eb;
    OSSL_PARAM_BLD  *bld;

    if (ngx_http_hangar_jwk_b64(pool, jwk, "n", &nb) != NGX_OK
        || ngx_http_hangar_jwk_b64(pool, jwk, "e", &eb) != NGX_OK)
    {
        *why = "an RSA key needs base64url \"n\" and \"e\"";
        return NULL;
    }

    if (nb.len > NGX_HTTP_HANGAR_RSA_MAX_BYTES || eb.len > 8) {
        *why = "an RSA key larger than 8192 bits";
        return NULL;
    }

    pkey = NULL;

    n = BN_bin2bn(nb.data, nb.len, NULL);
    e = BN_bin2bn(eb.data, eb.len, NULL);
    bld = OSSL_PARAM_BLD_new();

    if (n && e && bld
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1)
    {
        pkey = ngx_http_hangar_pkey_fromdata("RSA", bld);
    }

    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);

    if (pkey == NULL) {
        *why = "an invalid RSA key";
        return NULL;
    }

    if (EVP_PKEY_get_bits(pkey) < NGX_HTTP_HANGAR_RSA_MIN_BITS) {
        EVP_PKEY_free(pkey);
        *why = "an RSA key shorter than 2048 bits";
        return NULL;
    }

    return pkey;
}


static EVP_PKEY *
ngx_http_hangar_jwk_ec(ngx_pool_t *pool, ngx_http_hangar_value_t *jwk,
    const char **why)
{
    u_char                    point[1 + 2 * NGX_HTTP_HANGAR_EC_COORD];
    EVP_PKEY                 *pkey;
    ngx_str_t                 x, y;
    OSSL_PARAM_BLD           *bld;
    ngx_http_hangar_value_t  *crv;

    crv = ngx_http_hangar_get(jwk, "crv");

    if (!ngx_http_hangar_is(crv, NGX_HTTP_HANGAR_STR)
        || !ngx_http_hangar_str_is(&crv->u.s, "P-256"))
    {
        *why = "an EC key not on P-256";
        return NULL;
    }

    if (ngx_http_hangar_jwk_b64(pool, jwk, "x", &x) != NGX_OK
        || ngx_http_hangar_jwk_b64(pool, jwk, "y", &y) != NGX_OK
        || x.len != NGX_HTTP_HANGAR_EC_COORD
        || y.len != NGX_HTTP_HANGAR_EC_COORD)
    {
        *why = "a P-256 key needs 32-byte base64url \"x\" and \"y\"";
        return NULL;
    }

    /* the uncompressed point: 0x04 || x || y */
    point[0] = 0x04;
    ngx_memcpy(point + 1, x.data, NGX_HTTP_HANGAR_EC_COORD);
    ngx_memcpy(point + 1 + NGX_HTTP_HANGAR_EC_COORD, y.data,
               NGX_HTTP_HANGAR_EC_COORD);

    pkey = NULL;
    bld = OSSL_PARAM_BLD_new();

    if (bld
        && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                           "prime256v1", 0) == 1
        && OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                            point, sizeof(point)) == 1)
    {
        pkey = ngx_http_hangar_pkey_fromdata("EC", bld);
    }

    OSSL_PARAM_BLD_free(bld);

    if (pkey == NULL) {
        *why = "an invalid P-256 key (not a point of the curve)";
    }

    return pkey;
}


static void
ngx_http_hangar_pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
}


/*
 * One JWK: NGX_OK (a key), NGX_DECLINED (not a signing key of ours: left
 * out), NGX_ERROR (a key of ours that is broken, or no memory).
 */

static ngx_int_t
ngx_http_hangar_jwk_load(ngx_pool_t *pool, ngx_http_hangar_value_t *v,
    ngx_http_hangar_jwk_t *key, const char **why)
{
    EVP_PKEY                 *pkey;
    ngx_uint_t                alg;
    ngx_pool_cleanup_t       *cln;
    ngx_http_hangar_value_t  *kty, *use, *a, *kid;

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_OBJ)) {
        *why = "a key that is not an object";
        return NGX_ERROR;
    }

    kty = ngx_http_hangar_get(v, "kty");
    use = ngx_http_hangar_get(v, "use");
    a = ngx_http_hangar_get(v, "alg");
    kid = ngx_http_hangar_get(v, "kid");

    if (!ngx_http_hangar_is(kty, NGX_HTTP_HANGAR_STR)) {
        *why = "a key without \"kty\"";
        return NGX_ERROR;
    }

    if (use && !(use->type == NGX_HTTP_HANGAR_STR
                 && ngx_http_hangar_str_is(&use->u.s, "sig")))
    {
        return NGX_DECLINED;
    }

    if (ngx_http_hangar_str_is(&kty->u.s, "RSA")) {
        alg = NGX_HTTP_HANGAR_JWS_RS256;

    } else if (ngx_http_hangar_str_is(&kty->u.s, "EC")) {
        alg = NGX_HTTP_HANGAR_JWS_ES256;

    } else {
        return NGX_DECLINED;
    }

    if (a) {
        if (a->type != NGX_HTTP_HANGAR_STR
            || ngx_http_hangar_jws_alg(&a->u.s) != alg)
        {
            return NGX_DECLINED;
        }

        key->alg_fixed = 1;
    }

    if (kid) {
        if (kid->type != NGX_HTTP_HANGAR_STR) {
            *why = "a key whose \"kid\" is not a string";
            return NGX_ERROR;
        }

        key->kid = kid->u.s;
        key->has_kid = 1;
    }

    pkey = (alg == NGX_HTTP_HANGAR_JWS_RS256)
           ? ngx_http_hangar_jwk_rsa(pool, v, why)
           : ngx_http_hangar_jwk_ec(pool, v, why);

    if (pkey == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        EVP_PKEY_free(pkey);
        *why = "out of memory";
        return NGX_ERROR;
    }

    cln->handler = ngx_http_hangar_pkey_cleanup;
    cln->data = pkey;

    key->alg = alg;
    key->pkey = pkey;

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_jwks_parse(ngx_pool_t *pool, u_char *data, size_t len,
    ngx_array_t **keys, ngx_str_t *err)
{
    u_char                    *p;
    ngx_int_t                  rc;
    ngx_uint_t                 i;
    const char                *why;
    ngx_array_t               *a;
    ngx_http_hangar_jwk_t     *key, k;
    ngx_http_hangar_value_t   *doc, *list, **item;

    if (len > NGX_HTTP_HANGAR_JWKS_MAX) {
        ngx_str_set(err, "the key set is larger than 1 MiB");
        return NGX_DECLINED;
    }

    doc = ngx_http_hangar_json_parse(pool, data, len, err);
    if (doc == NULL) {
        return NGX_DECLINED;
    }

    list = ngx_http_hangar_get(doc, "keys");

    if (!ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)) {
        ngx_str_set(err, "the key set has no \"keys\" array");
        return NGX_DECLINED;
    }

    if (list->u.arr.nelts > NGX_HTTP_HANGAR_JWKS_KEYS_MAX) {
        ngx_str_set(err, "the key set has more than 100 keys");
        return NGX_DECLINED;
    }

    a = ngx_array_create(pool, list->u.arr.nelts + 1,
                         sizeof(ngx_http_hangar_jwk_t));
    if (a == NULL) {
        return NGX_ERROR;
    }

    item = list->u.arr.elts;
    why = NULL;

    for (i = 0; i < list->u.arr.nelts; i++) {
        ngx_memzero(&k, sizeof(ngx_http_hangar_jwk_t));

        rc = ngx_http_hangar_jwk_load(pool, item[i], &k, &why);

        if (rc == NGX_DECLINED) {
            continue;
        }

        if (rc == NGX_ERROR) {
            p = ngx_pnalloc(pool, 64 + ngx_strlen(why));
            if (p == NULL) {
                return NGX_ERROR;
            }

            err->data = p;
            err->len = ngx_sprintf(p, "key %ui of the set: %s", i, why) - p;
            return NGX_DECLINED;
        }

        key = ngx_array_push(a);
        *key = k;
    }

    if (a->nelts == 0) {
        ngx_str_set(err, "the key set has no RS256 or ES256 signing key");
        return NGX_DECLINED;
    }

    *keys = a;

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_jwks_find(ngx_pool_t *pool, ngx_array_t *keys,
    ngx_http_hangar_jws_t *jws, ngx_http_hangar_jwk_t **key, ngx_str_t *err)
{
    u_char                 *p;
    size_t                  len;
    ngx_uint_t              i, n;
    ngx_http_hangar_jwk_t  *k, *found;

    k = keys ? keys->elts : NULL;
    n = keys ? keys->nelts : 0;
    found = NULL;

    if (jws->has_kid) {
        for (i = 0; i < n; i++) {
            if (k[i].has_kid && k[i].kid.len == jws->kid.len
                && ngx_memcmp(k[i].kid.data, jws->kid.data, jws->kid.len)
                   == 0)
            {
                found = &k[i];
                break;
            }
        }

    } else {
        /* no "kid": only a set with one key of that type says which */
        for (i = 0; i < n; i++) {
            if (k[i].alg == jws->alg) {
                if (found) {
                    ngx_str_set(err, "the token has no \"kid\" and several "
                                     "keys could sign it");
                    return NGX_ABORT;
                }

                found = &k[i];
            }
        }
    }

    if (found == NULL) {
        /* the token's kid is shown, cut at 64 bytes on a UTF-8 boundary */
        len = ngx_min(jws->kid.len, 64);

        if (len < jws->kid.len) {
            while (len && (jws->kid.data[len] & 0xc0) == 0x80) {
                len--;
            }
        }

        p = ngx_pnalloc(pool, 64 + len);
        if (p == NULL) {
            ngx_str_set(err, "out of memory");
            return NGX_ABORT;
        }

        err->data = p;
        err->len = ngx_sprintf(p, "Unable to find a signing key that "
                               "matches: \"%*s\"", len, jws->kid.data) - p;
        return NGX_DECLINED;
    }

    if (found->alg != jws->alg) {
        ngx_str_set(err, "the signing key does not fit the token's "
                         "algorithm");
        return NGX_ABORT;
    }

    *key = found;

    return NGX_OK;
}


/* JWS ES256 is r || s, 32 bytes each; OpenSSL verifies DER */

static ngx_int_t
ngx_http_hangar_es256_der(ngx_str_t *raw, u_char **der, size_t *len)
{
    int         n;
    BIGNUM     *r, *s;
    ECDSA_SIG  *sig;

    if (raw->len != 2 * NGX_HTTP_HANGAR_EC_COORD) {
        return NGX_DECLINED;
    }

    sig = ECDSA_SIG_new();
    r = BN_bin2bn(raw->data, NGX_HTTP_HANGAR_EC_COORD, NULL);
    s = BN_bin2bn(raw->data + NGX_HTTP_HANGAR_EC_COORD,
                  NGX_HTTP_HANGAR_EC_COORD, NULL);

    if (sig == NULL || r == NULL || s == NULL
        || ECDSA_SIG_set0(sig, r, s) != 1)
    {
        ECDSA_SIG_free(sig);
        BN_free(r);
        BN_free(s);
        return NGX_ERROR;
    }

    *der = NULL;
    n = i2d_ECDSA_SIG(sig, der);
    ECDSA_SIG_free(sig);

    if (n <= 0) {
        return NGX_ERROR;
    }

    *len = n;

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_jws_verify(ngx_http_hangar_jws_t *jws,
    ngx_http_hangar_jwk_t *key)
{
    int          ok;
    u_char      *der, *sig;
    size_t       siglen;
    ngx_int_t    rc;
    EVP_MD_CTX  *md;

    der = NULL;
    sig = jws->signature.data;
    siglen = jws->signature.len;

    if (jws->alg != key->alg || jws->alg == NGX_HTTP_HANGAR_JWS_NONE) {
        return NGX_DECLINED;
    }

    if (jws->alg == NGX_HTTP_HANGAR_JWS_ES256) {
        rc = ngx_http_hangar_es256_der(&jws->signature, &der, &siglen);
        if (rc != NGX_OK) {
            return rc;
        }

        sig = der;
    }

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        OPENSSL_free(der);
        return NGX_ERROR;
    }

    ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key->pkey) == 1
         && EVP_DigestVerify(md, sig, siglen, jws->signed_part.data,
                             jws->signed_part.len) == 1;

    EVP_MD_CTX_free(md);
    OPENSSL_free(der);

    /* a failed check leaves errors that nginx's TLS code must not see */
    ERR_clear_error();

    return ok ? NGX_OK : NGX_DECLINED;
}
