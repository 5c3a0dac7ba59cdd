
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/auth/keys: API keys made, listed and revoked through the API
 * (hangar-security.md §1.3, §2 #1-3).  The raw key exists only in the
 * answer of its creation; the "auth" document keeps its SHA-256.  Keys
 * declared in hangar.yaml are not in the document, and never shown.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "ngx_http_hangar_api_auth_keys.h"
#include "ngx_http_hangar_state_load.h"


#define NGX_HTTP_HANGAR_KEYS_PER_PRINCIPAL  100

#define NGX_HTTP_HANGAR_KEY_BYTES     32
#define NGX_HTTP_HANGAR_KEY_LEN       (4 + 43)      /* "mcp_" + base64url */
#define NGX_HTTP_HANGAR_KEY_ID_BYTES  8
#define NGX_HTTP_HANGAR_KEY_ID_LEN    11


/* POST /auth/keys */
typedef struct {
    ngx_http_hangar_authop_t     ao;            /* first */
    ngx_str_t                    principal_id;
    ngx_str_t                    name;
    ngx_str_t                    created_by;
    ngx_str_t                    expires_at;
    ngx_str_t                    tenant_id;
    ngx_array_t                 *groups;
    u_char                       key[NGX_HTTP_HANGAR_KEY_LEN];
    u_char                       key_id[NGX_HTTP_HANGAR_KEY_ID_LEN + 1];
    u_char                       sha256[64];
} ngx_http_hangar_newkey_t;


/* DELETE /auth/keys/{key_id} */
typedef struct {
    ngx_http_hangar_authop_t     ao;            /* first */
    ngx_str_t                    key_id;
    ngx_str_t                    revoked_by;
    ngx_str_t                    reason;
} ngx_http_hangar_revoke_t;


static ngx_int_t ngx_http_hangar_key_make(ngx_http_hangar_newkey_t *nk,
    ngx_log_t *log);
static ngx_int_t ngx_http_hangar_key_id(ngx_http_hangar_newkey_t *nk,
    ngx_log_t *log);
static ngx_int_t ngx_http_hangar_keys_create_edit(
    ngx_http_hangar_authop_t *ao);
static ngx_uint_t ngx_http_hangar_key_active(ngx_http_hangar_value_t *key,
    time_t now);
static ngx_int_t ngx_http_hangar_keys_create_reply(
    ngx_http_hangar_authop_t *ao);
static void ngx_http_hangar_key_out(ngx_http_hangar_out_t *out,
    ngx_http_hangar_value_t *key);
static ngx_int_t ngx_http_hangar_keys_revoke_edit(
    ngx_http_hangar_authop_t *ao);
static ngx_int_t ngx_http_hangar_keys_revoke_reply(
    ngx_http_hangar_authop_t *ao);
static void ngx_http_hangar_opt_str_out(ngx_http_hangar_out_t *out,
    ngx_str_t *s);


static ngx_http_hangar_authfield_t  ngx_http_hangar_newkey_fields[] = {
    { "principal_id", NGX_HTTP_HANGAR_AUTHF_PRINCIPAL,
      NGX_HTTP_HANGAR_AUTHF_REQUIRED, 0,
      offsetof(ngx_http_hangar_newkey_t, principal_id) },
    { "name", NGX_HTTP_HANGAR_AUTHF_TEXT, NGX_HTTP_HANGAR_AUTHF_REQUIRED,
      NGX_HTTP_HANGAR_NAME_MAX, offsetof(ngx_http_hangar_newkey_t, name) },
    { "created_by", NGX_HTTP_HANGAR_AUTHF_PRINCIPAL, 0, 0,
      offsetof(ngx_http_hangar_newkey_t, created_by) },
    { "expires_at", NGX_HTTP_HANGAR_AUTHF_TIME, 0, 0,
      offsetof(ngx_http_hangar_newkey_t, expires_at) },
    { "tenant_id", NGX_HTTP_HANGAR_AUTHF_TEXT, 0, NGX_HTTP_HANGAR_NAME_MAX,
      offsetof(ngx_http_hangar_newkey_t, tenant_id) },
    { "groups", NGX_HTTP_HANGAR_AUTHF_LIST, 0, 64,
      offsetof(ngx_http_hangar_newkey_t, groups) },
    { NULL, 0, 0, 0, 0 }
};


static ngx_http_hangar_authfield_t  ngx_http_hangar_revoke_fields[] = {
    { "revoked_by", NGX_HTTP_HANGAR_AUTHF_PRINCIPAL, 0, 0,
      offsetof(ngx_http_hangar_revoke_t, revoked_by) },
    { "reason", NGX_HTTP_HANGAR_AUTHF_TEXT, NGX_HTTP_HANGAR_AUTHF_EMPTY,
      NGX_HTTP_HANGAR_AUTH_TEXT_MAX,
      offsetof(ngx_http_hangar_revoke_t, reason) },
    { NULL, 0, 0, 0, 0 }
};


/* ---- POST /auth/keys ---------------------------------------------------- */

ngx_int_t
ngx_http_hangar_keys_create(ngx_http_hangar_req_t *hr)
{
    ngx_http_hangar_authbad_t   bad;
    ngx_http_hangar_newkey_t   *nk;

    nk = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_newkey_t));
    if (nk == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    switch (ngx_http_hangar_authreq_fields(hr, ngx_http_hangar_newkey_fields,
                                           nk, &bad))
    {
    case NGX_OK:
        break;

    case NGX_DECLINED:
        return ngx_http_hangar_validation_error(hr, &bad.field, &bad.message);

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hangar_key_make(nk, hr->r->connection->log) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    nk->ao.edit = ngx_http_hangar_keys_create_edit;
    nk->ao.reply = ngx_http_hangar_keys_create_reply;

    return ngx_http_hangar_authdoc_run(hr, &nk->ao);
}


/* "mcp_" + base64url of 32 random bytes, its SHA-256 and a key id */

static ngx_int_t
ngx_http_hangar_key_make(ngx_http_hangar_newkey_t *nk, ngx_log_t *log)
{
    u_char        rnd[NGX_HTTP_HANGAR_KEY_BYTES];
    u_char        md[EVP_MAX_MD_SIZE];
    ngx_str_t     src, dst;
    unsigned int  mdlen;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        ngx_log_error(NGX_LOG_ALERT, log, 0, "hangar: RAND_bytes() failed");
        return NGX_ERROR;
    }

    ngx_memcpy(nk->key, "mcp_", 4);

    src.data = rnd;
    src.len = sizeof(rnd);
    dst.data = nk->key + 4;

    ngx_encode_base64url(&dst, &src);
    ngx_explicit_memzero(rnd, sizeof(rnd));

    if (EVP_Digest(nk->key, NGX_HTTP_HANGAR_KEY_LEN, md, &mdlen,
                   EVP_sha256(), NULL)
        != 1 || mdlen != 32)
    {
        ngx_log_error(NGX_LOG_ALERT, log, 0, "hangar: EVP_Digest() failed");
        return NGX_ERROR;
    }

    ngx_hex_dump(nk->sha256, md, 32);

    return ngx_http_hangar_key_id(nk, log);
}


static ngx_int_t
ngx_http_hangar_key_id(ngx_http_hangar_newkey_t *nk, ngx_log_t *log)
{
    u_char     rnd[NGX_HTTP_HANGAR_KEY_ID_BYTES];
    ngx_str_t  src, dst;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        ngx_log_error(NGX_LOG_ALERT, log, 0, "hangar: RAND_bytes() failed");
        return NGX_ERROR;
    }

    src.data = rnd;
    src.len = sizeof(rnd);
    dst.data = nk->key_id;

    ngx_encode_base64url(&dst, &src);
    nk->key_id[NGX_HTTP_HANGAR_KEY_ID_LEN] = '\0';

    return NGX_OK;
}


/*
 * With the state lock held: the bounds, a key id not in use, and the key,
 * appended.
 */

static ngx_int_t
ngx_http_hangar_keys_create_edit(ngx_http_hangar_authop_t *ao)
{
    time_t                     now;
    ngx_str_t                  id, created_at, *by;
    ngx_uint_t                 i, active, tries;
    ngx_http_hangar_out_t      out;
    ngx_http_hangar_value_t  **k;
    ngx_http_hangar_newkey_t  *nk;

    nk = (ngx_http_hangar_newkey_t *) ao;

    if (ao->d.keys->u.arr.nelts >= NGX_HTTP_HANGAR_AUTH_KEYS_MAX) {
        ao->bound = "API keys";
        ao->bound_max = NGX_HTTP_HANGAR_AUTH_KEYS_MAX;
        return NGX_HTTP_HANGAR_STATE_MANY;
    }

    now = ngx_time();
    active = 0;
    k = ao->d.keys->u.arr.elts;

    for (i = 0; i < ao->d.keys->u.arr.nelts; i++) {
        if (ngx_http_hangar_authdoc_is(k[i], "principal_id",
                                       &nk->principal_id)
            && ngx_http_hangar_key_active(k[i], now))
        {
            active++;
        }
    }

    if (active >= NGX_HTTP_HANGAR_KEYS_PER_PRINCIPAL) {
        return ngx_http_hangar_authop_refuse(ao, 422, "ValidationError",
                   "principal_id", "principal_id: \"%V\" has %d active API "
                   "keys, the most allowed; revoke one first",
                   &nk->principal_id, NGX_HTTP_HANGAR_KEYS_PER_PRINCIPAL);
    }

    id.data = nk->key_id;
    id.len = NGX_HTTP_HANGAR_KEY_ID_LEN;

    for (tries = 0; /* void */; tries++) {
        for (i = 0; i < ao->d.keys->u.arr.nelts; i++) {
            if (ngx_http_hangar_authdoc_is(k[i], "key_id", &id)) {
                break;
            }
        }

        if (i == ao->d.keys->u.arr.nelts) {
            break;
        }

        if (tries == 3 || ngx_http_hangar_key_id(nk, ao->op.log) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_hangar_authdoc_now(ao->op.pool, &created_at) != NGX_OK) {
        return NGX_ERROR;
    }

    by = nk->created_by.len ? &nk->created_by : &ao->actor;
    nk->created_by = *by;

    ngx_http_hangar_out_init(&out, ao->op.pool, 1024);
    ngx_http_hangar_out_lit(&out, "{\"key_id\":");
    ngx_http_hangar_out_ngx_str(&out, &id);
    ngx_http_hangar_out_lit(&out, ",\"name\":");
    ngx_http_hangar_out_ngx_str(&out, &nk->name);
    ngx_http_hangar_out_lit(&out, ",\"principal_id\":");
    ngx_http_hangar_out_ngx_str(&out, &nk->principal_id);
    ngx_http_hangar_out_lit(&out, ",\"key_sha256\":\"");
    ngx_http_hangar_out_raw(&out, nk->sha256, 64);
    ngx_http_hangar_out_lit(&out, "\",\"created_at\":");
    ngx_http_hangar_out_ngx_str(&out, &created_at);
    ngx_http_hangar_out_lit(&out, ",\"created_by\":");
    ngx_http_hangar_out_ngx_str(&out, by);
    ngx_http_hangar_out_lit(&out, ",\"expires_at\":");
    ngx_http_hangar_opt_str_out(&out, &nk->expires_at);
    ngx_http_hangar_out_lit(&out, ",\"revoked\":false,\"revoked_at\":null,"
                            "\"revoked_by\":null,\"reason\":null,"
                            "\"tenant_id\":");
    ngx_http_hangar_opt_str_out(&out, &nk->tenant_id);
    ngx_http_hangar_out_lit(&out, ",\"groups\":");
    ngx_http_hangar_authdoc_strs_out(&out, nk->groups);
    ngx_http_hangar_out_lit(&out, "}");

    if (ngx_http_hangar_authdoc_push(ao->op.pool, ao->d.keys, &out)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_hangar_authop_event(ao, "ApiKeyCreated", &id,
                                     "key_id", &id,
                                     "principal_id", &nk->principal_id,
                                     "name", &nk->name,
                                     "created_by", by, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* not revoked and not expired */

static ngx_uint_t
ngx_http_hangar_key_active(ngx_http_hangar_value_t *key, time_t now)
{
    time_t                    t;
    ngx_str_t                *exp;
    ngx_http_hangar_value_t  *revoked;

    revoked = ngx_http_hangar_get(key, "revoked");

    if (revoked == NULL || revoked->type != NGX_HTTP_HANGAR_BOOL
        || revoked->u.b)
    {
        return 0;
    }

    exp = ngx_http_hangar_authdoc_str(key, "expires_at");

    if (exp && ngx_http_hangar_iso_parse(exp, &t) == NGX_OK && t <= now) {
        return 0;
    }

    return 1;
}


static ngx_int_t
ngx_http_hangar_keys_create_reply(ngx_http_hangar_authop_t *ao)
{
    ngx_http_hangar_out_t     *out;
    ngx_http_hangar_newkey_t  *nk;

    nk = (ngx_http_hangar_newkey_t *) ao;
    out = &ao->hr->out;

    ngx_http_hangar_out_lit(out, "{\"key_id\":\"");
    ngx_http_hangar_out_raw(out, nk->key_id, NGX_HTTP_HANGAR_KEY_ID_LEN);
    ngx_http_hangar_out_lit(out, "\",\"raw_key\":\"");
    ngx_http_hangar_out_raw(out, nk->key, NGX_HTTP_HANGAR_KEY_LEN);
    ngx_http_hangar_out_lit(out, "\",\"principal_id\":");
    ngx_http_hangar_out_ngx_str(out, &nk->principal_id);
    ngx_http_hangar_out_lit(out, ",\"name\":");
    ngx_http_hangar_out_ngx_str(out, &nk->name);
    ngx_http_hangar_out_lit(out, ",\"expires_at\":");
    ngx_http_hangar_opt_str_out(out, &nk->expires_at);
    ngx_http_hangar_out_lit(out, ",\"created_by\":");
    ngx_http_hangar_out_ngx_str(out, &nk->created_by);
    ngx_http_hangar_out_lit(out, ",\"tenant_id\":");
    ngx_http_hangar_opt_str_out(out, &nk->tenant_id);
    ngx_http_hangar_out_lit(out, ",\"groups\":");
    ngx_http_hangar_authdoc_strs_out(out, nk->groups);
    ngx_http_hangar_out_lit(out, ",\"warning\":\"Save this key now - it "
                            "cannot be retrieved later!\"}");

    return ngx_http_hangar_send(ao->hr, NGX_HTTP_CREATED);
}


/* ---- GET /auth/keys?principal_id=&include_revoked= ---------------------- */

ngx_int_t
ngx_http_hangar_keys_list(ngx_http_hangar_req_t *hr)
{
    time_t                      now;
    ngx_str_t                   id, inc;
    ngx_uint_t                  i, n, active, revoked;
    ngx_http_hangar_out_t      *out;
    ngx_http_hangar_value_t   **k, *rv;
    ngx_http_hangar_authdoc_t   d;

    if (ngx_http_hangar_authreq_arg(hr, "principal_id", &id) != NGX_OK
        || ngx_http_hangar_authreq_arg(hr, "include_revoked", &inc) != NGX_OK
        || ngx_http_hangar_authdoc_read(hr, &d) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* as the original: only a literal "false" leaves revoked keys out */
    revoked = !(inc.len == 5 && ngx_strncasecmp(inc.data, (u_char *) "false",
                                                5) == 0);

    if (ngx_http_hangar_utf8_clean(hr->r->pool, &id) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = &hr->out;
    ngx_http_hangar_out_lit(out, "{\"principal_id\":");
    ngx_http_hangar_out_ngx_str(out, &id);
    ngx_http_hangar_out_lit(out, ",\"keys\":[");

    now = ngx_time();
    n = 0;
    active = 0;
    k = d.keys->u.arr.elts;

    for (i = 0; i < d.keys->u.arr.nelts; i++) {
        if (!ngx_http_hangar_authdoc_is(k[i], "principal_id", &id)) {
            continue;
        }

        rv = ngx_http_hangar_get(k[i], "revoked");

        if (!revoked && ngx_http_hangar_is(rv, NGX_HTTP_HANGAR_BOOL)
            && rv->u.b)
        {
            continue;
        }

        active += ngx_http_hangar_key_active(k[i], now);

        if (n++) {
            ngx_http_hangar_out_lit(out, ",");
        }

        ngx_http_hangar_key_out(out, k[i]);
    }

    ngx_http_hangar_out_printf(out, "],\"total\":%ui,\"active\":%ui}",
                               n, active);

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}


/* a key as the list shows it: never its hash */

static void
ngx_http_hangar_key_out(ngx_http_hangar_out_t *out,
    ngx_http_hangar_value_t *key)
{
    u_char                    iso[NGX_HTTP_HANGAR_ISO_LEN], *p;
    ngx_str_t                *id;
    ngx_msec_t                used;
    ngx_uint_t                i;
    ngx_http_hangar_value_t  *v;
    static const char        *copy[] = { "name", "created_at", "expires_at",
                                         "revoked", "revoked_at",
                                         "tenant_id", "groups", NULL };

    id = ngx_http_hangar_authdoc_str(key, "key_id");

    ngx_http_hangar_out_lit(out, "{\"key_id\":");

    if (id) {
        ngx_http_hangar_out_ngx_str(out, id);

    } else {
        ngx_http_hangar_out_lit(out, "null");
    }

    for (i = 0; copy[i]; i++) {
        v = ngx_http_hangar_get(key, copy[i]);

        ngx_http_hangar_out_printf(out, ",\"%s\":", copy[i]);

        if (v) {
            ngx_http_hangar_json_out(out, v);

        } else {
            ngx_http_hangar_out_lit(out, "null");
        }
    }

    used = id ? ngx_http_hangar_auth_last_used(id) : 0;

    ngx_http_hangar_out_lit(out, ",\"last_used_at\":");

    if (used) {
        p = ngx_http_hangar_iso_time(iso, used);
        ngx_http_hangar_out_str(out, iso, p - iso);

    } else {
        ngx_http_hangar_out_lit(out, "null");
    }

    ngx_http_hangar_out_lit(out, "}");
}


/* ---- DELETE /auth/keys/{key_id} ----------------------------------------- */

ngx_int_t
ngx_http_hangar_keys_revoke(ngx_http_hangar_req_t *hr)
{
    ngx_http_hangar_authbad_t   bad;
    ngx_http_hangar_revoke_t   *rk;

    rk = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_revoke_t));
    if (rk == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rk->key_id = hr->params[0];

    if (!ngx_http_hangar_state_text_valid(&rk->key_id,
                                          NGX_HTTP_HANGAR_NAME_MAX))
    {
        return ngx_http_hangar_authreq_invalid(hr, "key_id",
                   "key_id: must be 1-128 bytes of UTF-8 text without "
                   "control characters");
    }

    switch (ngx_http_hangar_authreq_fields(hr, ngx_http_hangar_revoke_fields,
                                           rk, &bad))
    {
    case NGX_OK:
        break;

    case NGX_DECLINED:
        return ngx_http_hangar_validation_error(hr, &bad.field, &bad.message);

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rk->ao.edit = ngx_http_hangar_keys_revoke_edit;
    rk->ao.reply = ngx_http_hangar_keys_revoke_reply;

    return ngx_http_hangar_authdoc_run(hr, &rk->ao);
}


/* a key not revoked yet is revoked; an unknown one is nothing to do */

static ngx_int_t
ngx_http_hangar_keys_revoke_edit(ngx_http_hangar_authop_t *ao)
{
    ngx_str_t                  now;
    ngx_uint_t                 i;
    ngx_pool_t                *pool;
    ngx_http_hangar_value_t  **k, *v, *rv;
    ngx_http_hangar_revoke_t  *rk;

    rk = (ngx_http_hangar_revoke_t *) ao;
    pool = ao->op.pool;

    if (rk->revoked_by.len == 0) {
        rk->revoked_by = ao->actor;
    }

    k = ao->d.keys->u.arr.elts;

    for (i = 0; i < ao->d.keys->u.arr.nelts; i++) {
        if (ngx_http_hangar_authdoc_is(k[i], "key_id", &rk->key_id)) {
            break;
        }
    }

    if (i == ao->d.keys->u.arr.nelts) {
        return NGX_DONE;
    }

    rv = ngx_http_hangar_get(k[i], "revoked");

    if (ngx_http_hangar_is(rv, NGX_HTTP_HANGAR_BOOL) && rv->u.b) {
        return NGX_DONE;
    }

    v = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_BOOL);
    if (v == NULL || ngx_http_hangar_authdoc_now(pool, &now) != NGX_OK) {
        return NGX_ERROR;
    }

    v->u.b = 1;

    if (ngx_http_hangar_set(pool, k[i], (u_char *) "revoked", 7, v) != NGX_OK
        || ngx_http_hangar_authdoc_set_str(pool, k[i], "revoked_at", &now)
           != NGX_OK
        || ngx_http_hangar_authdoc_set_str(pool, k[i], "revoked_by",
                                           &rk->revoked_by)
           != NGX_OK
        || ngx_http_hangar_authdoc_set_str(pool, k[i], "reason", &rk->reason)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_hangar_authop_event(ao, "ApiKeyRevoked", &rk->key_id,
                                        "key_id", &rk->key_id,
                                        "revoked_by", &rk->revoked_by,
                                        "reason", &rk->reason, NULL);
}


static ngx_int_t
ngx_http_hangar_keys_revoke_reply(ngx_http_hangar_authop_t *ao)
{
    ngx_http_hangar_out_t     *out;
    ngx_http_hangar_revoke_t  *rk;

    rk = (ngx_http_hangar_revoke_t *) ao;
    out = &ao->hr->out;

    if (rk->revoked_by.len == 0) {
        rk->revoked_by = ao->actor;
    }

    ngx_http_hangar_out_lit(out, "{\"key_id\":");
    ngx_http_hangar_out_ngx_str(out, &rk->key_id);
    ngx_http_hangar_out_lit(out, ",\"revoked\":");
    ngx_http_hangar_out_bool(out, ao->changed);
    ngx_http_hangar_out_lit(out, ",\"revoked_by\":");
    ngx_http_hangar_out_ngx_str(out, &rk->revoked_by);
    ngx_http_hangar_out_lit(out, ",\"reason\":");
    ngx_http_hangar_out_ngx_str(out, &rk->reason);
    ngx_http_hangar_out_lit(out, "}");

    return ngx_http_hangar_send(ao->hr, NGX_HTTP_OK);
}


/* a string, or null when empty */

static void
ngx_http_hangar_opt_str_out(ngx_http_hangar_out_t *out, ngx_str_t *s)
{
    if (s->len) {
        ngx_http_hangar_out_ngx_str(out, s);

    } else {
        ngx_http_hangar_out_lit(out, "null");
    }
}
