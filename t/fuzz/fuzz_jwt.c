
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Bearer JWT parsing (src/auth/ngx_http_hangar_jws.c).  The first byte
 * chooses what the rest is:
 *   0: a JWK set: parses or fails with a message; every key it keeps is an
 *      RS256 or ES256 public key;
 *   1: a compact JWS: parsed, its key looked up in a fixed set (an RSA
 *      2048 and an EC P-256 key) and its signature checked; a failure
 *      always says why;
 *   2: base64url: a string that decodes is the one encoding of its bytes.
 */


#include "ngx_fuzz.h"
#include "ngx_http_hangar_jws.h"


static const char  ngx_fuzz_jwks[] =
    "{\"keys\":[{\"alg\":\"RS256\",\"e\":\"AQAB\",\"kid\":\"r1\",\"kty\":\""
    "RSA\",\"n\":\"wbhy-cULACUcL-ZTEK4PwBoIMFvwbmy6EG8XMrcbXcshTPZXRYhV8_hr"
    "QwlMYyAY7dMtqtDvL2Fivzt5dPPf8VtcdhkuqWbFC2i9q91cbvSXflzlcag2rOPZPbZdJj"
    "vLBCM7p3OsF7NcQ_9LJb8UR_PA_KCQfaVsK9PSTErta0ICGVaUx8e9BFIf0DyUQq60ciRw"
    "BsEjjrtXhMxnaLq0c_wsbYcRBWkzxVRAUPyMD6DyW2wZf1-BrRkrwDQ5EJUX3gaQqqpuQX"
    "mUA1kkvDf6ePGt0lyMZ3cmdrJqTAFe6JR71av_KIh2RTHXxDmMIlyCV43xJHQ13y5sb-cF"
    "LO_d0Q\",\"use\":\"sig\"},{\"crv\":\"P-256\",\"kid\":\"e1\",\"kty\":\""
    "EC\",\"use\":\"sig\",\"x\":\"Yei1v2SIuqqaD1VnqDxpb9gkLkglVBTxfbRnnXtYd"
    "N8\",\"y\":\"aCjtTlDQK2ncnz2mZbtF-6B6L_Y93GMWBES6kAKFQvU\"}]}";


static ngx_array_t  *ngx_fuzz_keys;


static void
ngx_fuzz_jwks_text(ngx_pool_t *pool, u_char *p, size_t len)
{
    ngx_str_t               err;
    ngx_uint_t              i;
    ngx_array_t            *keys;
    ngx_http_hangar_jwk_t  *k;

    ngx_str_null(&err);

    if (ngx_http_hangar_jwks_parse(pool, p, len, &keys, &err) != NGX_OK) {
        if (err.len == 0) {
            __builtin_trap();
        }

        return;
    }

    k = keys->elts;

    for (i = 0; i < keys->nelts; i++) {
        if (k[i].pkey == NULL
            || (k[i].alg != NGX_HTTP_HANGAR_JWS_RS256
                && k[i].alg != NGX_HTTP_HANGAR_JWS_ES256))
        {
            __builtin_trap();
        }
    }
}


static void
ngx_fuzz_token(ngx_pool_t *pool, u_char *p, size_t len)
{
    ngx_int_t               rc;
    ngx_str_t               token, err;
    ngx_http_hangar_jws_t   jws;
    ngx_http_hangar_jwk_t  *key;

    token.data = p;
    token.len = len;
    ngx_str_null(&err);

    rc = ngx_http_hangar_jws_parse(pool, &token, &jws, &err);

    if (rc != NGX_OK) {
        if (rc == NGX_DECLINED && err.len == 0) {
            __builtin_trap();
        }

        return;
    }

    if (jws.header == NULL || jws.claims == NULL
        || jws.signed_part.len >= token.len)
    {
        __builtin_trap();
    }

    if (jws.alg == NGX_HTTP_HANGAR_JWS_NONE) {
        return;
    }

    ngx_str_null(&err);

    rc = ngx_http_hangar_jwks_find(pool, ngx_fuzz_keys, &jws, &key, &err);

    if (rc != NGX_OK) {
        if (err.len == 0) {
            __builtin_trap();
        }

        return;
    }

    (void) ngx_http_hangar_jws_verify(&jws, key);
}


static void
ngx_fuzz_base64url(ngx_pool_t *pool, u_char *p, size_t len)
{
    ngx_str_t  src, dst, again;

    src.data = p;
    src.len = len;

    if (ngx_http_hangar_base64url(pool, &src, &dst) != NGX_OK) {
        return;
    }

    again.data = ngx_pnalloc(pool, ngx_base64_encoded_length(dst.len));
    if (again.data == NULL) {
        return;
    }

    ngx_encode_base64url(&again, &dst);

    if (again.len != src.len || ngx_memcmp(again.data, src.data, src.len)) {
        __builtin_trap();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_str_t    err;
    ngx_pool_t  *pool;

    if (ngx_fuzz_keys == NULL) {
        pool = ngx_create_pool(4096, ngx_fuzz_log_new());

        if (pool == NULL
            || ngx_http_hangar_jwks_parse(pool, (u_char *) ngx_fuzz_jwks,
                                          sizeof(ngx_fuzz_jwks) - 1,
                                          &ngx_fuzz_keys, &err)
               != NGX_OK
            || ngx_fuzz_keys->nelts != 2)
        {
            __builtin_trap();
        }
    }

    if (size == 0) {
        return 0;
    }

    pool = ngx_create_pool(4096, ngx_fuzz_log_new());
    if (pool == NULL) {
        return 0;
    }

    switch (data[0] % 3) {

    case 0:
        ngx_fuzz_jwks_text(pool, (u_char *) data + 1, size - 1);
        break;

    case 1:
        ngx_fuzz_token(pool, (u_char *) data + 1, size - 1);
        break;

    default:
        ngx_fuzz_base64url(pool, (u_char *) data + 1, size - 1);
    }

    ngx_destroy_pool(pool);

    return 0;
}
