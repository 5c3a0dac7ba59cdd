
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <math.h>
#include "ngx_http_hangar_jwt.h"
#include "ngx_http_hangar_header.h"
#include "ngx_http_hangar_guard.h"
#include "ngx_http_hangar_jwks.h"


#define NGX_HTTP_HANGAR_JWT_STR    0    /* a non-empty string */
#define NGX_HTTP_HANGAR_JWT_URL    1    /* an http(s) URL */
#define NGX_HTTP_HANGAR_JWT_BOOL   2
#define NGX_HTTP_HANGAR_JWT_SECS   3    /* seconds, >= 0 */
#define NGX_HTTP_HANGAR_JWT_MAP    4    /* tenant -> audience */
#define NGX_HTTP_HANGAR_JWT_LIST   5    /* issuers[] */

#define NGX_HTTP_HANGAR_JWT_SECS_MAX   (10 * 365 * 86400)


typedef struct {
    const char                  *name;
    ngx_uint_t                   type;
    ngx_uint_t                   top;       /* not in an issuers[] entry */
} ngx_http_hangar_jwt_key_t;


typedef struct {
    ngx_str_t                    issuer;
    ngx_array_t                  audiences;   /* ngx_str_t, any of them */
    ngx_str_t                    subject_claim;
    ngx_str_t                    groups_claim;
    ngx_str_t                    tenant_claim;
    ngx_str_t                    email_claim;
    time_t                       max_lifetime;    /* 0: unchecked */
    time_t                       leeway;
    ngx_flag_t                   require_tenant;
    ngx_flag_t                   strict_tenant;
    ngx_http_hangar_value_t     *tenants;     /* object: tenant -> aud */
    ngx_http_hangar_jwks_t       jwks;
} ngx_http_hangar_jwt_issuer_t;


struct ngx_http_hangar_jwt_conf_s {
    ngx_array_t                  issuers;     /* ngx_http_hangar_jwt_issuer_t */
    ngx_str_t                    resource_uri;
};


/* what auth.oidc of hangar.yaml holds */
typedef struct {
    ngx_conf_t                  *cf;
    ngx_str_t                   *file;
    ngx_http_hangar_jwt_conf_t  *jc;
    ngx_http_hangar_value_t     *top;
    time_t                       max_lifetime;    /* the default */
} ngx_http_hangar_jwt_ctx_t;


static ngx_int_t ngx_http_hangar_jwt_error(ngx_http_hangar_jwt_ctx_t *ctx,
    ngx_http_hangar_value_t *v, const char *path, const char *key,
    const char *fmt, ...);
static ngx_int_t ngx_http_hangar_jwt_check(ngx_http_hangar_jwt_ctx_t *ctx,
    ngx_http_hangar_value_t *obj, const char *path, ngx_uint_t top);
static ngx_int_t ngx_http_hangar_jwt_check_value(
    ngx_http_hangar_jwt_ctx_t *ctx, ngx_http_hangar_jwt_key_t *k,
    ngx_http_hangar_value_t *v, const char *path);
static ngx_http_hangar_value_t *ngx_http_hangar_jwt_get(
    ngx_http_hangar_value_t *entry, ngx_http_hangar_value_t *top,
    const char *key);
static ngx_int_t ngx_http_hangar_jwt_issuer(ngx_http_hangar_jwt_ctx_t *ctx,
    ngx_http_hangar_value_t *entry, ngx_http_hangar_value_t *top,
    const char *path);
static ngx_int_t ngx_http_hangar_jwt_audiences(
    ngx_http_hangar_jwt_ctx_t *ctx, ngx_http_hangar_jwt_issuer_t *is,
    ngx_http_hangar_value_t *entry, ngx_http_hangar_value_t *top,
    const char *path);
static ngx_int_t ngx_http_hangar_jwt_keys(ngx_http_hangar_jwt_ctx_t *ctx,
    ngx_http_hangar_jwt_issuer_t *is, ngx_http_hangar_value_t *entry,
    ngx_http_hangar_value_t *top, const char *path);
static void ngx_http_hangar_jwt_str(ngx_http_hangar_value_t *entry,
    ngx_http_hangar_value_t *top, const char *key, ngx_str_t *s,
    const char *def);

static ngx_int_t ngx_http_hangar_jwt_fail(ngx_pool_t *pool, ngx_str_t *err,
    const char *fmt, ...);
static ngx_http_hangar_jwt_issuer_t *ngx_http_hangar_jwt_find(
    ngx_http_hangar_jwt_conf_t *jc, ngx_http_hangar_value_t *claims);
static ngx_int_t ngx_http_hangar_jwt_time(ngx_http_hangar_value_t *claims,
    const char *name, time_t *t);
static ngx_int_t ngx_http_hangar_jwt_times(ngx_http_hangar_jwt_issuer_t *is,
    ngx_http_hangar_value_t *claims, ngx_pool_t *pool, ngx_str_t *err);
static ngx_uint_t ngx_http_hangar_jwt_aud_has(ngx_http_hangar_value_t *aud,
    ngx_str_t *want);
static ngx_int_t ngx_http_hangar_jwt_aud(ngx_http_hangar_jwt_issuer_t *is,
    ngx_http_hangar_value_t *claims, ngx_pool_t *pool, ngx_str_t *err);
static ngx_int_t ngx_http_hangar_jwt_lifetime(
    ngx_http_hangar_jwt_issuer_t *is, ngx_http_hangar_value_t *claims,
    ngx_pool_t *pool, ngx_str_t *err, ngx_str_t *details);
static ngx_int_t ngx_http_hangar_jwt_principal(
    ngx_http_hangar_jwt_issuer_t *is, ngx_http_hangar_value_t *claims,
    ngx_pool_t *pool, ngx_http_hangar_principal_t *p, ngx_str_t *err);
static ngx_int_t ngx_http_hangar_jwt_tenant(ngx_http_hangar_jwt_issuer_t *is,
    ngx_http_hangar_value_t *claims, ngx_str_t *tenant, ngx_pool_t *pool,
    ngx_str_t *err);
static ngx_uint_t ngx_http_hangar_jwt_principal_id(ngx_str_t *id);
static void ngx_http_hangar_jwt_base(ngx_http_request_t *r, ngx_str_t *base);


static ngx_http_hangar_jwt_key_t  ngx_http_hangar_jwt_keys_table[] = {
    { "enabled", NGX_HTTP_HANGAR_JWT_BOOL, 0 },
    { "issuer", NGX_HTTP_HANGAR_JWT_STR, 0 },
    { "audience", NGX_HTTP_HANGAR_JWT_STR, 0 },
    { "jwks_uri", NGX_HTTP_HANGAR_JWT_URL, 0 },
    { "jwks_file", NGX_HTTP_HANGAR_JWT_STR, 0 },
    { "client_id", NGX_HTTP_HANGAR_JWT_STR, 0 },
    { "resource_uri", NGX_HTTP_HANGAR_JWT_STR, 0 },
    { "subject_claim", NGX_HTTP_HANGAR_JWT_STR, 0 },
    { "groups_claim", NGX_HTTP_HANGAR_JWT_STR, 0 },
    { "tenant_claim", NGX_HTTP_HANGAR_JWT_STR, 0 },
    { "email_claim", NGX_HTTP_HANGAR_JWT_STR, 0 },
    { "max_token_lifetime_seconds", NGX_HTTP_HANGAR_JWT_SECS, 0 },
    { "clock_skew_leeway_seconds", NGX_HTTP_HANGAR_JWT_SECS, 0 },
    { "require_tenant", NGX_HTTP_HANGAR_JWT_BOOL, 0 },
    { "strict_tenant_audience", NGX_HTTP_HANGAR_JWT_BOOL, 0 },
    { "tenant_audiences", NGX_HTTP_HANGAR_JWT_MAP, 0 },
    { "issuers", NGX_HTTP_HANGAR_JWT_LIST, 1 },
    { NULL, 0, 0 }
};


/* ---- configuration ------------------------------------------------- */


ngx_int_t
ngx_http_hangar_jwt_conf(ngx_conf_t *cf, ngx_http_hangar_value_t *oidc,
    ngx_str_t *file, ngx_http_hangar_jwt_conf_t **jcp)
{
    char                       path[64];
    u_char                    *env;
    ngx_int_t                  n;
    ngx_uint_t                 i;
    ngx_http_hangar_value_t   *v, *list, **entry;
    ngx_http_hangar_jwt_ctx_t  ctx;

    *jcp = NULL;

    if (oidc == NULL || oidc->type == NGX_HTTP_HANGAR_NULL) {
        return NGX_OK;
    }

    ngx_memzero(&ctx, sizeof(ngx_http_hangar_jwt_ctx_t));
    ctx.cf = cf;
    ctx.file = file;
    ctx.top = oidc;
    ctx.max_lifetime = 3600;

    if (oidc->type != NGX_HTTP_HANGAR_OBJ) {
        return ngx_http_hangar_jwt_error(&ctx, oidc, "auth.oidc", NULL,
                                         "must be a mapping");
    }

    /* every key is checked, even when OIDC is off */
    if (ngx_http_hangar_jwt_check(&ctx, oidc, "auth.oidc", 1) != NGX_OK) {
        return NGX_ERROR;
    }

    list = ngx_http_hangar_get(oidc, "issuers");

    if (ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)) {
        entry = list->u.arr.elts;

        for (i = 0; i < list->u.arr.nelts; i++) {
            (void) ngx_snprintf((u_char *) path, sizeof(path),
                                "auth.oidc.issuers[%ui]%Z", i);

            if (ngx_http_hangar_jwt_check(&ctx, entry[i], path, 0) != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    v = ngx_http_hangar_get(oidc, "enabled");

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_BOOL) || !v->u.b) {
        return NGX_OK;
    }

    /* the original: the environment overrides the top-level default */
    env = (u_char *) getenv("MCP_JWT_MAX_TOKEN_LIFETIME");

    if (env) {
        n = ngx_atoi(env, ngx_strlen(env));
        if (n == NGX_ERROR || n > NGX_HTTP_HANGAR_JWT_SECS_MAX) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hangar_config: MCP_JWT_MAX_TOKEN_LIFETIME "
                               "\"%s\" is not a number of seconds", env);
            return NGX_ERROR;
        }

        ctx.max_lifetime = n;
    }

    ctx.jc = ngx_pcalloc(cf->pool, sizeof(ngx_http_hangar_jwt_conf_t));
    if (ctx.jc == NULL
        || ngx_array_init(&ctx.jc->issuers, cf->pool, 2,
                          sizeof(ngx_http_hangar_jwt_issuer_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_hangar_jwt_str(oidc, NULL, "resource_uri", &ctx.jc->resource_uri,
                            NULL);

    if (ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR) && list->u.arr.nelts) {
        /* a non-empty issuers[] replaces the single issuer */
        entry = list->u.arr.elts;

        for (i = 0; i < list->u.arr.nelts; i++) {
            v = ngx_http_hangar_get(entry[i], "enabled");
            if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_BOOL) && !v->u.b) {
                continue;
            }

            (void) ngx_snprintf((u_char *) path, sizeof(path),
                                "auth.oidc.issuers[%ui]%Z", i);

            if (ngx_http_hangar_jwt_issuer(&ctx, entry[i], oidc, path)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

    } else if (ngx_http_hangar_jwt_issuer(&ctx, oidc, NULL, "auth.oidc")
               != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx.jc->issuers.nelts == 0) {
        return ngx_http_hangar_jwt_error(&ctx, list, "auth.oidc", "issuers",
                                         "no issuer is enabled");
    }

    *jcp = ctx.jc;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_jwt_error(ngx_http_hangar_jwt_ctx_t *ctx,
    ngx_http_hangar_value_t *v, const char *path, const char *key,
    const char *fmt, ...)
{
    u_char   *p, what[NGX_MAX_CONF_ERRSTR];
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(what, what + sizeof(what), fmt, args);
    va_end(args);

    if (v == NULL) {
        v = ctx->top;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, ctx->cf, 0,
                       "hangar_config: %V:%ui:%ui: %s%s%s: %*s",
                       ctx->file, v->line, v->col, path, key ? "." : "",
                       key ? key : "", (size_t) (p - what), what);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_hangar_jwt_check(ngx_http_hangar_jwt_ctx_t *ctx,
    ngx_http_hangar_value_t *obj, const char *path, ngx_uint_t top)
{
    u_char                     name[64];
    ngx_uint_t                 i;
    ngx_http_hangar_pair_t    *pair;
    ngx_http_hangar_jwt_key_t *k;

    if (!ngx_http_hangar_is(obj, NGX_HTTP_HANGAR_OBJ)) {
        return ngx_http_hangar_jwt_error(ctx, obj, path, NULL,
                                         "must be a mapping");
    }

    pair = obj->u.obj.elts;

    for (i = 0; i < obj->u.obj.nelts; i++) {
        for (k = ngx_http_hangar_jwt_keys_table; k->name; k++) {
            if (pair[i].key.len == ngx_strlen(k->name)
                && ngx_strncmp(pair[i].key.data, k->name, pair[i].key.len)
                   == 0
                && (top || !k->top))
            {
                break;
            }
        }

        if (k->name == NULL) {
            (void) ngx_snprintf(name, sizeof(name), "%*s%Z",
                                ngx_min(pair[i].key.len, sizeof(name) - 1),
                                pair[i].key.data);

            return ngx_http_hangar_jwt_error(ctx, pair[i].value, path,
                                             (char *) name, "unknown key");
        }

        if (pair[i].value->type == NGX_HTTP_HANGAR_NULL) {
            continue;
        }

        if (ngx_http_hangar_jwt_check_value(ctx, k, pair[i].value, path)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_jwt_check_value(ngx_http_hangar_jwt_ctx_t *ctx,
    ngx_http_hangar_jwt_key_t *k, ngx_http_hangar_value_t *v,
    const char *path)
{
    ngx_str_t                *s;
    ngx_uint_t                i;
    ngx_http_hangar_pair_t   *pair;

    switch (k->type) {

    case NGX_HTTP_HANGAR_JWT_BOOL:
        if (v->type != NGX_HTTP_HANGAR_BOOL) {
            return ngx_http_hangar_jwt_error(ctx, v, path, k->name,
                                             "must be true or false");
        }
        return NGX_OK;

    case NGX_HTTP_HANGAR_JWT_SECS:
        if (v->type != NGX_HTTP_HANGAR_INT || v->u.i < 0
            || v->u.i > NGX_HTTP_HANGAR_JWT_SECS_MAX)
        {
            return ngx_http_hangar_jwt_error(ctx, v, path, k->name,
                                             "must be a number of seconds "
                                             "(0 to %d)",
                                             NGX_HTTP_HANGAR_JWT_SECS_MAX);
        }
        return NGX_OK;

    case NGX_HTTP_HANGAR_JWT_MAP:
        if (v->type != NGX_HTTP_HANGAR_OBJ) {
            return ngx_http_hangar_jwt_error(ctx, v, path, k->name,
                                             "must be a mapping of tenant "
                                             "to audience");
        }

        pair = v->u.obj.elts;

        for (i = 0; i < v->u.obj.nelts; i++) {
            if (!ngx_http_hangar_is(pair[i].value, NGX_HTTP_HANGAR_STR)
                || pair[i].value->u.s.len == 0 || pair[i].key.len == 0)
            {
                return ngx_http_hangar_jwt_error(ctx, pair[i].value, path,
                                                 k->name, "the audience of "
                                                 "tenant \"%V\" must be a "
                                                 "string", &pair[i].key);
            }
        }
        return NGX_OK;

    case NGX_HTTP_HANGAR_JWT_LIST:
        if (v->type != NGX_HTTP_HANGAR_ARR) {
            return ngx_http_hangar_jwt_error(ctx, v, path, k->name,
                                             "must be a list of issuers");
        }
        return NGX_OK;

    default:  /* a string */
        if (v->type != NGX_HTTP_HANGAR_STR || v->u.s.len == 0) {
            return ngx_http_hangar_jwt_error(ctx, v, path, k->name,
                                             "must be a non-empty string");
        }

        s = &v->u.s;

        if (k->type == NGX_HTTP_HANGAR_JWT_URL
            && !(s->len > 7 && ngx_strncasecmp(s->data, (u_char *) "http://",
                                               7) == 0)
            && !(s->len > 8 && ngx_strncasecmp(s->data,
                                               (u_char *) "https://", 8)
                               == 0))
        {
            return ngx_http_hangar_jwt_error(ctx, v, path, k->name,
                                             "must be an http:// or "
                                             "https:// URL");
        }

        return NGX_OK;
    }
}


/* a key of an issuers[] entry, else of the top level; null is absent */

static ngx_http_hangar_value_t *
ngx_http_hangar_jwt_get(ngx_http_hangar_value_t *entry,
    ngx_http_hangar_value_t *top, const char *key)
{
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_get(entry, key);

    if (v == NULL || v->type == NGX_HTTP_HANGAR_NULL) {
        v = top ? ngx_http_hangar_get(top, key) : NULL;
    }

    if (v && v->type == NGX_HTTP_HANGAR_NULL) {
        v = NULL;
    }

    return v;
}


static void
ngx_http_hangar_jwt_str(ngx_http_hangar_value_t *entry,
    ngx_http_hangar_value_t *top, const char *key, ngx_str_t *s,
    const char *def)
{
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_jwt_get(entry, top, key);

    if (v) {
        *s = v->u.s;

    } else if (def) {
        s->data = (u_char *) def;
        s->len = ngx_strlen(def);

    } else {
        ngx_str_null(s);
    }
}


static ngx_int_t
ngx_http_hangar_jwt_issuer(ngx_http_hangar_jwt_ctx_t *ctx,
    ngx_http_hangar_value_t *entry, ngx_http_hangar_value_t *top,
    const char *path)
{
    ngx_uint_t                     i;
    ngx_http_hangar_value_t       *v;
    ngx_http_hangar_jwt_issuer_t  *is, *other;

    v = ngx_http_hangar_jwt_get(entry, top, "issuer");
    if (v == NULL) {
        return ngx_http_hangar_jwt_error(ctx, entry, path, "issuer",
                                         "is required");
    }

    other = ctx->jc->issuers.elts;

    for (i = 0; i < ctx->jc->issuers.nelts; i++) {
        if (other[i].issuer.len == v->u.s.len
            && ngx_strncmp(other[i].issuer.data, v->u.s.data, v->u.s.len)
               == 0)
        {
            return ngx_http_hangar_jwt_error(ctx, v, path, "issuer",
                                             "\"%V\" is given twice",
                                             &v->u.s);
        }
    }

    is = ngx_array_push(&ctx->jc->issuers);
    if (is == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(is, sizeof(ngx_http_hangar_jwt_issuer_t));

    is->issuer = v->u.s;
    is->jwks.issuer = v->u.s;

    ngx_http_hangar_jwt_str(entry, top, "subject_claim", &is->subject_claim,
                            "sub");
    ngx_http_hangar_jwt_str(entry, top, "groups_claim", &is->groups_claim,
                            "groups");
    ngx_http_hangar_jwt_str(entry, top, "tenant_claim", &is->tenant_claim,
                            "tenant_id");
    ngx_http_hangar_jwt_str(entry, top, "email_claim", &is->email_claim,
                            "email");

    v = ngx_http_hangar_jwt_get(entry, top, "max_token_lifetime_seconds");
    is->max_lifetime = v ? (time_t) v->u.i : ctx->max_lifetime;

    v = ngx_http_hangar_jwt_get(entry, top, "clock_skew_leeway_seconds");
    is->leeway = v ? (time_t) v->u.i : 60;

    v = ngx_http_hangar_jwt_get(entry, top, "require_tenant");
    is->require_tenant = v ? v->u.b : 0;

    v = ngx_http_hangar_jwt_get(entry, top, "strict_tenant_audience");
    is->strict_tenant = v ? v->u.b : 0;

    is->tenants = ngx_http_hangar_jwt_get(entry, top, "tenant_audiences");

    if (ngx_http_hangar_jwt_audiences(ctx, is, entry, top, path) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_hangar_jwt_keys(ctx, is, entry, top, path);
}


/*
 * The audiences a token's "aud" must name one of: resource_uri when set
 * (it overrides audience), else audience; with strict_tenant_audience,
 * any mapped tenant audience (the exact tenant binding is checked later).
 */

static ngx_int_t
ngx_http_hangar_jwt_audiences(ngx_http_hangar_jwt_ctx_t *ctx,
    ngx_http_hangar_jwt_issuer_t *is, ngx_http_hangar_value_t *entry,
    ngx_http_hangar_value_t *top, const char *path)
{
    ngx_str_t                *aud;
    ngx_uint_t                i;
    ngx_http_hangar_pair_t   *pair;
    ngx_http_hangar_value_t  *v;

    if (ngx_array_init(&is->audiences, ctx->cf->pool, 2, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (is->strict_tenant) {
        if (is->tenants == NULL || is->tenants->u.obj.nelts == 0) {
            return ngx_http_hangar_jwt_error(ctx, entry, path,
                                             "tenant_audiences",
                                             "is required with "
                                             "strict_tenant_audience");
        }

        pair = is->tenants->u.obj.elts;

        for (i = 0; i < is->tenants->u.obj.nelts; i++) {
            aud = ngx_array_push(&is->audiences);
            if (aud == NULL) {
                return NGX_ERROR;
            }

            *aud = pair[i].value->u.s;
        }

        return NGX_OK;
    }

    v = ngx_http_hangar_jwt_get(entry, top, "resource_uri");

    if (v == NULL) {
        v = ngx_http_hangar_jwt_get(entry, top, "audience");
    }

    if (v == NULL) {
        return ngx_http_hangar_jwt_error(ctx, entry, path, "audience",
                                         "is required (or resource_uri)");
    }

    aud = ngx_array_push(&is->audiences);
    if (aud == NULL) {
        return NGX_ERROR;
    }

    *aud = v->u.s;

    return NGX_OK;
}


/*
 * Where the keys come from: jwks_file, jwks_uri, or discovery from the
 * issuer.  An entry that names either takes neither from the top level.
 */

static ngx_int_t
ngx_http_hangar_jwt_keys(ngx_http_hangar_jwt_ctx_t *ctx,
    ngx_http_hangar_jwt_issuer_t *is, ngx_http_hangar_value_t *entry,
    ngx_http_hangar_value_t *top, const char *path)
{
    ngx_str_t                 name, err;
    ngx_http_hangar_value_t  *src, *file, *uri;

    src = entry;
    file = ngx_http_hangar_jwt_get(entry, NULL, "jwks_file");
    uri = ngx_http_hangar_jwt_get(entry, NULL, "jwks_uri");

    if (file == NULL && uri == NULL && top) {
        src = top;
        file = ngx_http_hangar_jwt_get(top, NULL, "jwks_file");
        uri = ngx_http_hangar_jwt_get(top, NULL, "jwks_uri");
    }

    if (file && uri) {
        return ngx_http_hangar_jwt_error(ctx, uri, path, "jwks_uri",
                                         "jwks_file and jwks_uri exclude "
                                         "each other");
    }

    if (uri) {
        is->jwks.uri = uri->u.s;
        return NGX_OK;
    }

    if (file == NULL) {
        if (!(is->issuer.len > 7
              && ngx_strncasecmp(is->issuer.data, (u_char *) "http://", 7)
                 == 0)
            && !(is->issuer.len > 8
                 && ngx_strncasecmp(is->issuer.data, (u_char *) "https://",
                                    8) == 0))
        {
            return ngx_http_hangar_jwt_error(ctx, entry, path, "issuer",
                                             "is not an http(s) URL, so its "
                                             "keys cannot be discovered: set "
                                             "jwks_uri or jwks_file");
        }

        return NGX_OK;
    }

    /* relative to nginx's configuration directory, like nginx's files */
    name = file->u.s;

    if (ngx_conf_full_name(ctx->cf->cycle, &name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_str_null(&err);

    switch (ngx_http_hangar_jwks_file(ctx->cf, &is->jwks, &name, &err)) {

    case NGX_OK:
        return NGX_OK;

    case NGX_DECLINED:
        return ngx_http_hangar_jwt_error(ctx, file,
                                         src == entry ? path : "auth.oidc",
                                         "jwks_file", "%V: %V", &name, &err);

    default:
        return NGX_ERROR;
    }
}


/* ---- a token --------------------------------------------------------- */


static ngx_int_t
ngx_http_hangar_jwt_fail(ngx_pool_t *pool, ngx_str_t *err, const char *fmt,
    ...)
{
    u_char   *p;
    va_list   args;

    p = ngx_pnalloc(pool, 512);
    if (p == NULL) {
        return NGX_ERROR;
    }

    va_start(args, fmt);
    err->len = ngx_vslprintf(p, p + 512, fmt, args) - p;
    va_end(args);

    err->data = p;

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_hangar_jwt_verify(ngx_http_hangar_jwt_conf_t *jc, ngx_str_t *token,
    ngx_pool_t *pool, ngx_log_t *log, ngx_http_hangar_principal_t *p,
    ngx_str_t *err, ngx_str_t *details, ngx_http_hangar_jwt_wake_pt wake,
    void *data)
{
    ngx_int_t                      rc;
    ngx_str_t                      why;
    ngx_http_hangar_jws_t          jws;
    ngx_http_hangar_jwk_t         *key;
    ngx_http_hangar_jwt_issuer_t  *is;

    ngx_str_null(err);
    ngx_str_null(details);

    if (token->len == 0) {
        ngx_str_set(err, "Empty Bearer token");
        return NGX_DECLINED;
    }

    ngx_str_null(&why);

    /* 1. decoded, not verified, to find the issuer */
    rc = ngx_http_hangar_jws_parse(pool, token, &jws, &why);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "hangar: bearer token refused: %V", &why);
        ngx_str_set(err, "Invalid JWT token");
        return NGX_DECLINED;
    }

    is = jc ? ngx_http_hangar_jwt_find(jc, jws.claims) : NULL;

    if (is == NULL) {
        /* never says which issuers are trusted */
        ngx_str_set(err, "Untrusted JWT issuer");
        return NGX_DECLINED;
    }

    /* 2. the signature, with a key of that issuer */
    if (jws.alg == NGX_HTTP_HANGAR_JWS_NONE) {
        return ngx_http_hangar_jwt_fail(pool, err,
                                        "JWT signing key resolution failed: "
                                        "the algorithm \"%V\" is not allowed "
                                        "(RS256 and ES256 are)",
                                        &jws.alg_name);
    }

    rc = ngx_http_hangar_jwks_key(&is->jwks, &jws, pool, log, &key, &why,
                                  wake, data);

    if (rc == NGX_DECLINED) {
        return ngx_http_hangar_jwt_fail(pool, err,
                                        "JWT signing key resolution failed: "
                                        "%V", &why);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_hangar_jws_verify(&jws, key);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc != NGX_OK) {
        ngx_str_set(err, "Invalid JWT token: Signature verification failed");
        return NGX_DECLINED;
    }

    /* the registered claims, in the original's order */
    rc = ngx_http_hangar_jwt_times(is, jws.claims, pool, err);

    if (rc == NGX_OK) {
        rc = ngx_http_hangar_jwt_aud(is, jws.claims, pool, err);
    }

    /* 3. lifetime; 4-6. the principal */
    if (rc == NGX_OK) {
        rc = ngx_http_hangar_jwt_lifetime(is, jws.claims, pool, err, details);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_hangar_jwt_principal(is, jws.claims, pool, p, err);
    }

    return rc;
}


static ngx_http_hangar_jwt_issuer_t *
ngx_http_hangar_jwt_find(ngx_http_hangar_jwt_conf_t *jc,
    ngx_http_hangar_value_t *claims)
{
    ngx_uint_t                     i;
    ngx_http_hangar_value_t       *iss;
    ngx_http_hangar_jwt_issuer_t  *is;

    iss = ngx_http_hangar_get(claims, "iss");

    if (!ngx_http_hangar_is(iss, NGX_HTTP_HANGAR_STR) || iss->u.s.len == 0) {
        return NULL;
    }

    is = jc->issuers.elts;

    for (i = 0; i < jc->issuers.nelts; i++) {
        if (is[i].issuer.len == iss->u.s.len
            && ngx_strncmp(is[i].issuer.data, iss->u.s.data, iss->u.s.len)
               == 0)
        {
            return &is[i];
        }
    }

    return NULL;
}


/* NGX_OK, NGX_DECLINED (absent), NGX_ERROR (not a number of seconds) */

static ngx_int_t
ngx_http_hangar_jwt_time(ngx_http_hangar_value_t *claims, const char *name,
    time_t *t)
{
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_get(claims, name);

    if (v == NULL) {
        return NGX_DECLINED;
    }

    if (v->type == NGX_HTTP_HANGAR_INT && v->u.i >= 0
        && v->u.i <= NGX_MAX_TIME_T_VALUE / 2)
    {
        *t = (time_t) v->u.i;
        return NGX_OK;
    }

    /* a float is truncated, as int() does */
    if (v->type == NGX_HTTP_HANGAR_NUM && isfinite(v->u.n) && v->u.n >= 0
        && v->u.n <= (double) (NGX_MAX_TIME_T_VALUE / 2))
    {
        *t = (time_t) v->u.n;
        return NGX_OK;
    }

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_hangar_jwt_times(ngx_http_hangar_jwt_issuer_t *is,
    ngx_http_hangar_value_t *claims, ngx_pool_t *pool, ngx_str_t *err)
{
    time_t     now, t;
    ngx_int_t  rc;

    now = ngx_time();

    rc = ngx_http_hangar_jwt_time(claims, "iat", &t);
    if (rc == NGX_ERROR) {
        ngx_str_set(err, "Invalid JWT token: Issued At claim (iat) must be "
                         "an integer.");
        return NGX_DECLINED;
    }

    if (rc == NGX_OK && t > now + is->leeway) {
        ngx_str_set(err, "Invalid JWT token: The token is not yet valid "
                         "(iat)");
        return NGX_DECLINED;
    }

    rc = ngx_http_hangar_jwt_time(claims, "nbf", &t);
    if (rc == NGX_ERROR) {
        ngx_str_set(err, "Invalid JWT token: Not Before claim (nbf) must be "
                         "an integer.");
        return NGX_DECLINED;
    }

    if (rc == NGX_OK && t > now + is->leeway) {
        ngx_str_set(err, "Invalid JWT token: The token is not yet valid "
                         "(nbf)");
        return NGX_DECLINED;
    }

    rc = ngx_http_hangar_jwt_time(claims, "exp", &t);
    if (rc == NGX_ERROR) {
        ngx_str_set(err, "Invalid JWT token: Expiration Time claim (exp) "
                         "must be an integer.");
        return NGX_DECLINED;
    }

    if (rc == NGX_OK && t <= now - is->leeway) {
        ngx_str_set(err, "JWT token has expired");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_hangar_jwt_aud_has(ngx_http_hangar_value_t *aud, ngx_str_t *want)
{
    ngx_uint_t                 i, n;
    ngx_http_hangar_value_t  **a, *one;

    if (aud->type == NGX_HTTP_HANGAR_STR) {
        one = aud;
        a = &one;
        n = 1;

    } else {
        a = aud->u.arr.elts;
        n = aud->u.arr.nelts;
    }

    for (i = 0; i < n; i++) {
        if (a[i]->type == NGX_HTTP_HANGAR_STR && a[i]->u.s.len == want->len
            && ngx_strncmp(a[i]->u.s.data, want->data, want->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* "aud": a string or a list of strings naming one expected audience */

static ngx_int_t
ngx_http_hangar_jwt_aud(ngx_http_hangar_jwt_issuer_t *is,
    ngx_http_hangar_value_t *claims, ngx_pool_t *pool, ngx_str_t *err)
{
    ngx_str_t                 *want;
    ngx_uint_t                 i;
    ngx_http_hangar_value_t   *aud, **a;

    aud = ngx_http_hangar_get(claims, "aud");

    if (aud == NULL || aud->type == NGX_HTTP_HANGAR_NULL
        || (aud->type == NGX_HTTP_HANGAR_STR && aud->u.s.len == 0)
        || (aud->type == NGX_HTTP_HANGAR_ARR && aud->u.arr.nelts == 0))
    {
        ngx_str_set(err, "Invalid JWT token: Token is missing the \"aud\" "
                         "claim");
        return NGX_DECLINED;
    }

    if (aud->type != NGX_HTTP_HANGAR_STR && aud->type != NGX_HTTP_HANGAR_ARR) {
        ngx_str_set(err, "Invalid JWT audience");
        return NGX_DECLINED;
    }

    if (aud->type == NGX_HTTP_HANGAR_ARR) {
        a = aud->u.arr.elts;

        for (i = 0; i < aud->u.arr.nelts; i++) {
            if (a[i]->type != NGX_HTTP_HANGAR_STR) {
                ngx_str_set(err, "Invalid JWT audience");
                return NGX_DECLINED;
            }
        }
    }

    want = is->audiences.elts;

    for (i = 0; i < is->audiences.nelts; i++) {
        if (ngx_http_hangar_jwt_aud_has(aud, &want[i])) {
            return NGX_OK;
        }
    }

    ngx_str_set(err, "Invalid JWT audience");

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_hangar_jwt_lifetime(ngx_http_hangar_jwt_issuer_t *is,
    ngx_http_hangar_value_t *claims, ngx_pool_t *pool, ngx_str_t *err,
    ngx_str_t *details)
{
    time_t  iat, exp;

    if (is->max_lifetime == 0) {
        return NGX_OK;
    }

    if (ngx_http_hangar_jwt_time(claims, "iat", &iat) != NGX_OK) {
        ngx_str_set(err, "JWT token missing required 'iat' claim for "
                         "lifetime validation");
        return NGX_DECLINED;
    }

    if (ngx_http_hangar_jwt_time(claims, "exp", &exp) != NGX_OK) {
        ngx_str_set(err, "JWT token missing required 'exp' claim for "
                         "lifetime validation");
        return NGX_DECLINED;
    }

    if (exp - iat <= is->max_lifetime) {
        return NGX_OK;
    }

    details->data = ngx_pnalloc(pool, 2 * NGX_TIME_T_LEN + 96);
    if (details->data == NULL) {
        return NGX_ERROR;
    }

    details->len = ngx_sprintf(details->data,
                               "{\"auth_method\":\"jwt\","
                               "\"actual_lifetime\":%T,"
                               "\"max_lifetime\":%T}",
                               exp - iat, is->max_lifetime)
                   - details->data;

    return ngx_http_hangar_jwt_fail(pool, err, "Token lifetime %Ts exceeds "
                                    "the maximum allowed %Ts",
                                    exp - iat, is->max_lifetime);
}


static ngx_int_t
ngx_http_hangar_jwt_principal(ngx_http_hangar_jwt_issuer_t *is,
    ngx_http_hangar_value_t *claims, ngx_pool_t *pool,
    ngx_http_hangar_principal_t *p, ngx_str_t *err)
{
    ngx_int_t                  rc;
    ngx_str_t                  tenant, *g;
    ngx_uint_t                 i;
    ngx_http_hangar_value_t   *sub, *groups, *v, **a;

    /* 4. the subject, then the groups */
    sub = ngx_http_hangar_get_n(claims, is->subject_claim.data,
                                is->subject_claim.len);

    if (sub == NULL || sub->type == NGX_HTTP_HANGAR_NULL
        || (sub->type == NGX_HTTP_HANGAR_STR && sub->u.s.len == 0))
    {
        return ngx_http_hangar_jwt_fail(pool, err, "Missing %V claim in JWT",
                                        &is->subject_claim);
    }

    if (sub->type != NGX_HTTP_HANGAR_STR
        || !ngx_http_hangar_jwt_principal_id(&sub->u.s))
    {
        return ngx_http_hangar_jwt_fail(pool, err, "Invalid JWT token: the "
                                        "%V claim is not a principal id",
                                        &is->subject_claim);
    }

    ngx_memzero(p, sizeof(ngx_http_hangar_principal_t));

    p->id = sub->u.s;
    p->type = NGX_HTTP_HANGAR_PRINCIPAL_USER;
    p->method = "jwt";
    p->issuer = is->issuer;

    groups = ngx_http_hangar_get_n(claims, is->groups_claim.data,
                                   is->groups_claim.len);

    if (ngx_http_hangar_is(groups, NGX_HTTP_HANGAR_STR)) {
        p->groups = ngx_array_create(pool, 1, sizeof(ngx_str_t));
        g = p->groups ? ngx_array_push(p->groups) : NULL;
        if (g == NULL) {
            return NGX_ERROR;
        }

        *g = groups->u.s;

    } else if (ngx_http_hangar_is(groups, NGX_HTTP_HANGAR_ARR)
               && groups->u.arr.nelts)
    {
        p->groups = ngx_array_create(pool, groups->u.arr.nelts,
                                     sizeof(ngx_str_t));
        if (p->groups == NULL) {
            return NGX_ERROR;
        }

        a = groups->u.arr.elts;

        for (i = 0; i < groups->u.arr.nelts; i++) {
            if (a[i]->type == NGX_HTTP_HANGAR_STR && a[i]->u.s.len) {
                g = ngx_array_push(p->groups);
                *g = a[i]->u.s;
            }
        }
    }

    /* 5, 6. the tenant */
    rc = ngx_http_hangar_jwt_tenant(is, claims, &tenant, pool, err);
    if (rc != NGX_OK) {
        return rc;
    }

    p->tenant = tenant;

    v = ngx_http_hangar_get_n(claims, is->email_claim.data,
                              is->email_claim.len);
    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        p->email = v->u.s;
    }

    v = ngx_http_hangar_get(claims, "sid");
    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        p->session = v->u.s;
    }

    (void) ngx_http_hangar_jwt_time(claims, "iat", &p->issued_at);
    (void) ngx_http_hangar_jwt_time(claims, "exp", &p->expires_at);

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_jwt_tenant(ngx_http_hangar_jwt_issuer_t *is,
    ngx_http_hangar_value_t *claims, ngx_str_t *tenant, ngx_pool_t *pool,
    ngx_str_t *err)
{
    size_t                    i;
    ngx_http_hangar_value_t  *v, *want;

    ngx_str_null(tenant);

    v = ngx_http_hangar_get_n(claims, is->tenant_claim.data,
                              is->tenant_claim.len);

    if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        *tenant = v->u.s;
    }

    if (is->require_tenant) {
        for (i = 0; i < tenant->len; i++) {
            if (!isspace(tenant->data[i])) {
                break;
            }
        }

        if (i == tenant->len) {
            ngx_str_set(err, "Missing required tenant claim");
            return NGX_DECLINED;
        }
    }

    if (!is->strict_tenant) {
        return NGX_OK;
    }

    want = tenant->len ? ngx_http_hangar_get_n(is->tenants, tenant->data,
                                               tenant->len)
                       : NULL;

    if (want == NULL) {
        ngx_str_set(err, "No audience mapping for tenant");
        return NGX_DECLINED;
    }

    v = ngx_http_hangar_get(claims, "aud");

    if (v == NULL
        || (v->type != NGX_HTTP_HANGAR_STR && v->type != NGX_HTTP_HANGAR_ARR)
        || !ngx_http_hangar_jwt_aud_has(v, &want->u.s))
    {
        ngx_str_set(err, "Token audience does not match tenant resource");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * hangar-security.md §1.5: 1 to 256 characters, each a letter or digit
 * (any non-ASCII UTF-8 character counts as one) or one of "-_:@.".
 */

static ngx_uint_t
ngx_http_hangar_jwt_principal_id(ngx_str_t *id)
{
    u_char      c;
    size_t      i;
    ngx_uint_t  chars;

    chars = 0;

    for (i = 0; i < id->len; i++) {
        c = id->data[i];

        if (c >= 0x80) {
            if ((c & 0xc0) != 0x80) {
                chars++;
            }

            continue;
        }

        chars++;

        if (!(isalnum(c) || c == '-' || c == '_' || c == ':' || c == '@'
              || c == '.'))
        {
            return 0;
        }
    }

    return chars >= 1 && chars <= NGX_HTTP_HANGAR_PRINCIPAL_ID_MAX;
}


/* ---- what clients are told ------------------------------------------ */


/*
 * scheme://host of the request: the scheme from X-Forwarded-Proto when it
 * is http or https; a Host with anything but host name characters is not
 * echoed (the server's name is used).
 */

static void
ngx_http_hangar_jwt_base(ngx_http_request_t *r, ngx_str_t *base)
{
    u_char                       *p, c;
    size_t                        i;
    ngx_str_t                     host, scheme, *trusted;
    ngx_array_t                  *hosts;
    ngx_table_elt_t              *h;
    ngx_http_core_srv_conf_t     *cscf;
    ngx_http_hangar_loc_conf_t   *hlcf;
    ngx_http_hangar_main_conf_t  *hmcf;

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        ngx_str_set(&scheme, "https");
    } else
#endif
    {
        ngx_str_set(&scheme, "http");
    }

    h = ngx_http_hangar_header_find(&r->headers_in.headers,
                                    (u_char *) "X-Forwarded-Proto",
                                    sizeof("X-Forwarded-Proto") - 1);
    if (h) {
        if (h->value.len == 4
            && ngx_strncasecmp(h->value.data, (u_char *) "http", 4) == 0)
        {
            ngx_str_set(&scheme, "http");

        } else if (h->value.len == 5
                   && ngx_strncasecmp(h->value.data, (u_char *) "https", 5)
                      == 0)
        {
            ngx_str_set(&scheme, "https");
        }
    }

    ngx_str_null(&host);

    if (r->headers_in.host) {
        host = r->headers_in.host->value;

        for (i = 0; i < host.len; i++) {
            c = host.data[i];

            if (!(isalnum(c) || c == '.' || c == '-' || c == ':' || c == '['
                  || c == ']' || c == '_'))
            {
                ngx_str_null(&host);
                break;
            }
        }
    }

    /*
     * A Host that is not trusted (hangar_trusted_hosts) is not echoed: the
     * first trusted name stands for it (hangar-security.md §1.4)
     */
    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hangar_module);
    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hangar_module);
    hosts = hlcf->trusted_hosts ? hlcf->trusted_hosts : hmcf->trusted_hosts;

    if (host.len && hosts && !ngx_http_hangar_host_match(&r->headers_in.server,
                                                         hosts))
    {
        ngx_str_null(&host);

        trusted = hosts->elts;

        for (i = 0; i < hosts->nelts; i++) {
            if (trusted[i].len && trusted[i].data[0] != '*') {
                host = trusted[i];
                break;
            }
        }
    }

    if (host.len == 0) {
        cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);
        host = cscf->server_name.len ? cscf->server_name
                                     : (ngx_str_t) ngx_string("localhost");
    }

    p = ngx_pnalloc(r->pool, scheme.len + 3 + host.len);
    if (p == NULL) {
        ngx_str_null(base);
        return;
    }

    base->data = p;
    base->len = ngx_sprintf(p, "%V://%V", &scheme, &host) - p;
}


ngx_int_t
ngx_http_hangar_jwt_challenge(ngx_http_hangar_jwt_conf_t *jc,
    ngx_http_request_t *r, ngx_str_t *value)
{
    u_char     *p;
    ngx_str_t   base;

    if (jc == NULL || jc->issuers.nelts == 0) {
        ngx_str_set(value, "Bearer, ApiKey");
        return NGX_OK;
    }

    ngx_http_hangar_jwt_base(r, &base);

    p = ngx_pnalloc(r->pool, base.len + 128);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value->data = p;
    value->len = ngx_sprintf(p, "Bearer resource_metadata=\"%V/.well-known/"
                             "oauth-protected-resource\", ApiKey", &base)
                 - p;

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_jwt_metadata(ngx_http_hangar_jwt_conf_t *jc,
    ngx_http_request_t *r, ngx_http_hangar_out_t *out)
{
    ngx_str_t                      resource;
    ngx_uint_t                     i;
    ngx_http_hangar_jwt_issuer_t  *is;

    if (jc == NULL || jc->issuers.nelts == 0) {
        return NGX_DECLINED;
    }

    resource = jc->resource_uri;

    if (resource.len == 0) {
        ngx_http_hangar_jwt_base(r, &resource);
    }

    ngx_http_hangar_out_raw(out, "{\"resource\":", 12);
    ngx_http_hangar_out_str(out, resource.data, resource.len);
    ngx_http_hangar_out_raw(out, ",\"authorization_servers\":[", 26);

    is = jc->issuers.elts;

    for (i = 0; i < jc->issuers.nelts; i++) {
        if (i) {
            ngx_http_hangar_out_raw(out, ",", 1);
        }

        ngx_http_hangar_out_str(out, is[i].issuer.data, is[i].issuer.len);
    }

    ngx_http_hangar_out_raw(out, "]}", 2);

    return out->failed ? NGX_ERROR : NGX_OK;
}
