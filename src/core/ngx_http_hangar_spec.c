
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hangar_spec.h"
#include "ngx_http_hangar_field.h"
#include "ngx_http_hangar_header.h"
#include "ngx_http_hangar_guard.h"


static ngx_int_t ngx_http_hangar_spec_value(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_field_t *f, ngx_http_hangar_value_t *in,
    ngx_http_hangar_value_t **out);
static ngx_int_t ngx_http_hangar_spec_string(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *in, int64_t max,
    ngx_http_hangar_value_t **out);
static ngx_int_t ngx_http_hangar_spec_integer(
    ngx_http_hangar_spec_ctx_t *ctx, const char *path,
    ngx_http_hangar_field_t *f, ngx_http_hangar_value_t *in,
    ngx_http_hangar_value_t **out);
static ngx_int_t ngx_http_hangar_spec_number(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_field_t *f, ngx_http_hangar_value_t *in,
    ngx_http_hangar_value_t **out);
static ngx_int_t ngx_http_hangar_spec_list(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_field_t *f, ngx_http_hangar_value_t *in,
    ngx_http_hangar_value_t **out);
static ngx_int_t ngx_http_hangar_spec_map(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *in,
    ngx_http_hangar_value_t **out);
static ngx_int_t ngx_http_hangar_check_runtime(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_check_endpoint(
    ngx_http_hangar_spec_ctx_t *ctx, const char *path,
    ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_check_image(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_check_env(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_check_volumes(
    ngx_http_hangar_spec_ctx_t *ctx, const char *path,
    ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_check_memory(
    ngx_http_hangar_spec_ctx_t *ctx, const char *path,
    ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_check_cpu(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_check_user(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_check_build_path(
    ngx_http_hangar_spec_ctx_t *ctx, const char *path,
    ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_check_command(
    ngx_http_hangar_spec_ctx_t *ctx, const char *path,
    ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_check_tools(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_check_header_value(
    ngx_http_hangar_spec_ctx_t *ctx, const char *path,
    ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_check_header_name(
    ngx_http_hangar_spec_ctx_t *ctx, const char *path,
    ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_check_username(
    ngx_http_hangar_spec_ctx_t *ctx, const char *path,
    ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_check_headers(
    ngx_http_hangar_spec_ctx_t *ctx, const char *path,
    ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_check_programs(
    ngx_http_hangar_spec_ctx_t *ctx, const char *path,
    ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_check_members(
    ngx_http_hangar_spec_ctx_t *ctx, const char *path,
    ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_check_access(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_check_kinds(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_spec_defaults(
    ngx_http_hangar_spec_ctx_t *ctx, ngx_http_hangar_value_t *in,
    ngx_http_hangar_value_t *spec);


static const char  *ngx_http_hangar_modes[] = {
    "subprocess", "docker", "container", "podman", "remote", "group", NULL
};

static const char  *ngx_http_hangar_networks[] = {
    "none", "bridge", "host", NULL
};

static const char  *ngx_http_hangar_auth_types[] = {
    "none", "api_key", "bearer", "basic", NULL
};

static const char  *ngx_http_hangar_strategies[] = {
    "round_robin", "weighted_round_robin", "least_connections", "random",
    "priority", NULL
};




/* a string checked by a function of its own */
#define F_CHK(n, max, check)                                                 \
                           { n, NGX_HTTP_HANGAR_F_STR, 0, max, NULL, NULL,   \
                             check, NULL }

static ngx_http_hangar_field_t  ngx_http_hangar_build_fields[] = {
    F_CHK("dockerfile", 4096, ngx_http_hangar_check_build_path),
    F_CHK("context", 4096, ngx_http_hangar_check_build_path),
    F_CHK("tag", 256, ngx_http_hangar_check_image),
    F_END
};

static ngx_http_hangar_field_t  ngx_http_hangar_resources_fields[] = {
    F_CHK("memory", 32, ngx_http_hangar_check_memory),
    F_CHK("cpu", 32, ngx_http_hangar_check_cpu),
    F_END
};

/* what goes into a header: no CR or LF (request smuggling), no control */
#define F_HDR(n, max, check)                                                 \
                           { n, NGX_HTTP_HANGAR_F_STR, 0, max, NULL, NULL,   \
                             check, NULL }

static ngx_http_hangar_field_t  ngx_http_hangar_auth_fields[] = {
    F_ENUM("type", ngx_http_hangar_auth_types),
    F_HDR("api_key", 4096, ngx_http_hangar_check_header_value),
    F_HDR("api_key_header", 256, ngx_http_hangar_check_header_name),
    F_HDR("bearer_token", 8192, ngx_http_hangar_check_header_value),
    F_HDR("username", 1024, ngx_http_hangar_check_username),
    F_HDR("password", 4096, ngx_http_hangar_check_header_value),
    F_END
};

static ngx_http_hangar_field_t  ngx_http_hangar_tls_fields[] = {
    F_BOOL("verify_ssl"),
    F_STR("ca_cert_path", 4096),
    F_END
};

static ngx_http_hangar_field_t  ngx_http_hangar_http_fields[] = {
    F_NUM("connect_timeout", 0, 3600),
    F_NUM("read_timeout", 0, 86400),
    F_INT("max_retries", 0, 10),
    F_NUM("retry_backoff_factor", 0, 60),
    F_BOOL("keep_alive"),
    { "headers", NGX_HTTP_HANGAR_F_STRMAP, 0, 100, NULL, NULL,
      ngx_http_hangar_check_headers, NULL },
    F_END
};

static ngx_http_hangar_field_t  ngx_http_hangar_health_fields[] = {
    F_INT("unhealthy_threshold", 1, 1000),
    F_INT("healthy_threshold", 1, 1000),
    F_END
};

static ngx_http_hangar_field_t  ngx_http_hangar_breaker_fields[] = {
    F_INT("failure_threshold", 1, 100000),
    F_NUM("reset_timeout_s", 1, 86400),
    F_END
};


/* hangar-core.md §2.2 and §4.2: every key a server or group entry takes */

static ngx_http_hangar_field_t  ngx_http_hangar_server_fields[] = {
    F_ENUM("mode", ngx_http_hangar_modes),
    { "command", NGX_HTTP_HANGAR_F_STRLIST, 1, 100, NULL, NULL,
      ngx_http_hangar_check_command, NULL },
    { "args", NGX_HTTP_HANGAR_F_STRLIST, 0, 100, NULL, NULL, NULL, NULL },
    { "image", NGX_HTTP_HANGAR_F_STR, 0, 512, NULL, NULL,
      ngx_http_hangar_check_image, NULL },
    { "endpoint", NGX_HTTP_HANGAR_F_STR, 0, 4096, NULL, NULL,
      ngx_http_hangar_check_endpoint, NULL },
    { "runtime_addresses", NGX_HTTP_HANGAR_F_STRLIST, 0,
      NGX_HTTP_HANGAR_RUNTIME_MAX, NULL, NULL,
      ngx_http_hangar_check_runtime, NULL },
    { "env", NGX_HTTP_HANGAR_F_STRMAP, 0, 100, NULL, NULL,
      ngx_http_hangar_check_env, NULL },
    F_INT("idle_ttl_s", 1, 86400),
    F_INT("health_check_interval_s", 5, 3600),
    F_INT("max_consecutive_failures", 1, 100),
    F_INT("max_concurrency", 0, 100000),
    F_STR("description", 4096),
    { "volumes", NGX_HTTP_HANGAR_F_STRLIST, 0, 100, NULL, NULL,
      ngx_http_hangar_check_volumes, NULL },
    F_OBJ("build", ngx_http_hangar_build_fields),
    F_OBJ("resources", ngx_http_hangar_resources_fields),
    F_ENUM("network", ngx_http_hangar_networks),
    { "network_mode", NGX_HTTP_HANGAR_F_ENUM, 0, 0, ngx_http_hangar_networks,
      NULL, NULL, "network" },
    F_BOOL("read_only"),
    F_CHK("user", 256, ngx_http_hangar_check_user),
    { "tools", NGX_HTTP_HANGAR_F_ANY, 0, 0, NULL, NULL,
      ngx_http_hangar_check_tools, NULL },
    F_OBJ("auth", ngx_http_hangar_auth_fields),
    F_OBJ("tls", ngx_http_hangar_tls_fields),
    F_OBJ("http", ngx_http_hangar_http_fields),
    F_ANYOBJ("capabilities"),
    { "tool_access", NGX_HTTP_HANGAR_F_ANYOBJ, 0, 0, NULL, NULL,
      ngx_http_hangar_check_access, NULL },
    F_ANYOBJ("tool_projection"),
    { "access", NGX_HTTP_HANGAR_F_ANYOBJ, 0, 0, NULL, NULL,
      ngx_http_hangar_check_kinds, NULL },
    { "transport", NGX_HTTP_HANGAR_F_ANY, 0, 0, NULL, NULL, NULL, NULL },

    /* groups */
    F_ENUM("strategy", ngx_http_hangar_strategies),
    F_INT("min_healthy", 1, 10000),
    F_BOOL("auto_start"),
    F_OBJ("health", ngx_http_hangar_health_fields),
    F_OBJ("circuit_breaker", ngx_http_hangar_breaker_fields),
    F_ANYOBJ("canary"),
    { "members", NGX_HTTP_HANGAR_F_ANY, 0, 0, NULL, NULL,
      ngx_http_hangar_check_members, NULL },
    F_END
};


/* hangar.yaml "execution:" (hangar-core §4.1, and the edge's own keys) */

static ngx_http_hangar_field_t  ngx_http_hangar_execution_fields[] = {
    F_INT("max_concurrency", 0, 1000000),
    F_INT("default_mcp_server_concurrency", 0, 1000000),
    { "allowed_commands", NGX_HTTP_HANGAR_F_STRLIST, 0, 1000, NULL, NULL,
      ngx_http_hangar_check_programs, NULL },
    /* networks: parsed (and refused) by ngx_http_hangar_config.c */
    { "remote_allow", NGX_HTTP_HANGAR_F_STRLIST, 0, 1000, NULL, NULL, NULL,
      NULL },
    F_END
};


/* 1..max of [A-Za-z0-9_-] */

ngx_uint_t
ngx_http_hangar_id_chars(ngx_str_t *id, size_t max)
{
    size_t  i;
    u_char  c;

    if (id->len == 0 || id->len > max) {
        return 0;
    }

    for (i = 0; i < id->len; i++) {
        c = id->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-'))
        {
            return 0;
        }
    }

    return 1;
}


ngx_int_t
ngx_http_hangar_spec_id_valid(ngx_str_t *id, ngx_uint_t source)
{
    /* the config loader also wants a leading letter (hangar-core §2.2) */
    if (source == NGX_HTTP_HANGAR_SPEC_CONFIG && id->len
        && !((id->data[0] | 0x20) >= 'a' && (id->data[0] | 0x20) <= 'z'))
    {
        return 0;
    }

    return ngx_http_hangar_id_chars(id, NGX_HTTP_HANGAR_ID_MAX);
}


/* records the first error as "[file:line:col: ]<prefix><path>: <text>" */

ngx_int_t
ngx_http_hangar_spec_error(ngx_http_hangar_spec_ctx_t *ctx,
    ngx_http_hangar_value_t *at, const char *path, const char *fmt, ...)
{
    u_char   *p, *last, buf[NGX_MAX_ERROR_STR];
    va_list   args;

    if (ctx->message.len) {
        return NGX_ERROR;
    }

    p = buf;
    last = buf + sizeof(buf);

    if (ctx->file.len && at && at->line) {
        p = ngx_slprintf(p, last, "%V:%ui:%ui: ", &ctx->file, at->line,
                         at->col);
    }

    p = ngx_slprintf(p, last, "%V%s: ", &ctx->prefix, path);

    va_start(args, fmt);
    p = ngx_vslprintf(p, last, fmt, args);
    va_end(args);

    ctx->message.data = ngx_pnalloc(ctx->pool, p - buf);
    if (ctx->message.data != NULL) {
        ctx->message.len = p - buf;
        ngx_memcpy(ctx->message.data, buf, p - buf);
    }

    ctx->field.len = ngx_strlen(path);
    ctx->field.data = ngx_pnalloc(ctx->pool, ctx->field.len);
    if (ctx->field.data != NULL) {
        ngx_memcpy(ctx->field.data, path, ctx->field.len);
    }

    return NGX_ERROR;
}


static void
ngx_http_hangar_spec_path(char *buf, const char *path, ngx_str_t *name)
{
    *ngx_snprintf((u_char *) buf, NGX_HTTP_HANGAR_PATH_MAX - 1, "%s%s%V",
                  path, path[0] ? "." : "", name) = '\0';
}


ngx_int_t
ngx_http_hangar_spec_server(ngx_http_hangar_spec_ctx_t *ctx, ngx_str_t *id,
    ngx_http_hangar_value_t *in, ngx_http_hangar_value_t **out)
{
    if (!ngx_http_hangar_is(in, NGX_HTTP_HANGAR_OBJ)) {
        return ngx_http_hangar_spec_error(ctx, in, "", "must be a mapping");
    }

    if (ngx_http_hangar_spec_object(ctx, "", in, ngx_http_hangar_server_fields,
                                    out)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_hangar_spec_defaults(ctx, in, *out);
}


ngx_int_t
ngx_http_hangar_spec_execution(ngx_http_hangar_spec_ctx_t *ctx,
    ngx_http_hangar_value_t *in, ngx_http_hangar_value_t **out)
{
    if (!ngx_http_hangar_is(in, NGX_HTTP_HANGAR_OBJ)) {
        return ngx_http_hangar_spec_error(ctx, in, "", "must be a mapping");
    }

    return ngx_http_hangar_spec_object(ctx, "", in,
                                       ngx_http_hangar_execution_fields, out);
}


ngx_int_t
ngx_http_hangar_spec_object(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *in,
    ngx_http_hangar_field_t *table, ngx_http_hangar_value_t **out)
{
    char                      sub[NGX_HTTP_HANGAR_PATH_MAX];
    const char               *name;
    ngx_uint_t                i;
    ngx_http_hangar_pair_t   *pair;
    ngx_http_hangar_field_t  *f;
    ngx_http_hangar_value_t  *obj, *v;

    obj = ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_OBJ);
    if (obj == NULL) {
        return NGX_ERROR;
    }

    pair = in->u.obj.elts;

    for (i = 0; i < in->u.obj.nelts; i++) {

        for (f = table; f->name; f++) {
            if (ngx_strlen(f->name) == pair[i].key.len
                && ngx_strncmp(f->name, pair[i].key.data, pair[i].key.len)
                   == 0)
            {
                break;
            }
        }

        if (pair[i].key.len >= NGX_HTTP_HANGAR_PATH_MAX / 2) {
            return ngx_http_hangar_spec_error(ctx, pair[i].value, path,
                                              "key too long");
        }

        ngx_http_hangar_spec_path(sub, path, &pair[i].key);

        if (f->name == NULL) {
            if (ctx->source != NGX_HTTP_HANGAR_SPEC_CONFIG) {
                return ngx_http_hangar_spec_error(ctx, pair[i].value, sub,
                                                  "unknown field");
            }

            ngx_log_error(NGX_LOG_WARN, ctx->log, 0,
                          "hangar: %V:%ui:%ui: %V%s: unknown key, ignored",
                          &ctx->file, pair[i].value->line,
                          pair[i].value->col, &ctx->prefix, sub);
            continue;
        }

        /* null means "not set" in both YAML and JSON */
        if (pair[i].value->type == NGX_HTTP_HANGAR_NULL) {
            continue;
        }

        if (ngx_http_hangar_spec_value(ctx, sub, f, pair[i].value, &v)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (f->check && f->check(ctx, sub, v) != NGX_OK) {
            return NGX_ERROR;
        }

        name = f->canonical ? f->canonical : f->name;

        if (ngx_http_hangar_set(ctx->pool, obj, (u_char *) name,
                                ngx_strlen(name), v)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    *out = obj;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_spec_value(ngx_http_hangar_spec_ctx_t *ctx, const char *path,
    ngx_http_hangar_field_t *f, ngx_http_hangar_value_t *in,
    ngx_http_hangar_value_t **out)
{
    const char  **e;

    switch (f->type) {

    case NGX_HTTP_HANGAR_F_STR:
        return ngx_http_hangar_spec_string(ctx, path, in, f->max, out);

    case NGX_HTTP_HANGAR_F_INT:
        return ngx_http_hangar_spec_integer(ctx, path, f, in, out);

    case NGX_HTTP_HANGAR_F_NUM:
        return ngx_http_hangar_spec_number(ctx, path, f, in, out);

    case NGX_HTTP_HANGAR_F_BOOL:
        if (in->type == NGX_HTTP_HANGAR_STR
            && ctx->source == NGX_HTTP_HANGAR_SPEC_CONFIG
            && (ngx_http_hangar_str_is(&in->u.s, "true")
                || ngx_http_hangar_str_is(&in->u.s, "false")))
        {
            *out = ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_BOOL);
            if (*out == NULL) {
                return NGX_ERROR;
            }
            (*out)->u.b = (in->u.s.data[0] == 't');
            return NGX_OK;
        }

        if (in->type != NGX_HTTP_HANGAR_BOOL) {
            return ngx_http_hangar_spec_error(ctx, in, path,
                                              "must be a boolean");
        }

        *out = in;
        return NGX_OK;

    case NGX_HTTP_HANGAR_F_ENUM:
        if (in->type == NGX_HTTP_HANGAR_STR) {
            for (e = f->enums; *e; e++) {
                if (ngx_strlen(*e) == in->u.s.len
                    && ngx_strncmp(*e, in->u.s.data, in->u.s.len) == 0)
                {
                    *out = in;
                    return NGX_OK;
                }
            }
        }

        return ngx_http_hangar_spec_error(ctx, in, path, "must be one of %s%s",
                                          f->enums[0], f->enums[1] ? ", ..."
                                                                   : "");

    case NGX_HTTP_HANGAR_F_STRLIST:
        return ngx_http_hangar_spec_list(ctx, path, f, in, out);

    case NGX_HTTP_HANGAR_F_STRMAP:
        if (ngx_http_hangar_spec_map(ctx, path, in, out) != NGX_OK) {
            return NGX_ERROR;
        }

        if ((int64_t) (*out)->u.obj.nelts > f->max) {
            return ngx_http_hangar_spec_error(ctx, in, path,
                                              "at most %L entries", f->max);
        }

        return NGX_OK;

    case NGX_HTTP_HANGAR_F_OBJ:
        if (in->type != NGX_HTTP_HANGAR_OBJ) {
            return ngx_http_hangar_spec_error(ctx, in, path,
                                              "must be an object");
        }

        return ngx_http_hangar_spec_object(ctx, path, in, f->sub, out);

    case NGX_HTTP_HANGAR_F_ANYOBJ:
        if (in->type != NGX_HTTP_HANGAR_OBJ) {
            return ngx_http_hangar_spec_error(ctx, in, path,
                                              "must be an object");
        }

        *out = in;
        return NGX_OK;

    default: /* NGX_HTTP_HANGAR_F_ANY */
        *out = in;
        return NGX_OK;
    }
}


/* YAML scalars may stand for strings ("cpu: 1.0", "${PORT}") */

static ngx_int_t
ngx_http_hangar_spec_string(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *in, int64_t max,
    ngx_http_hangar_value_t **out)
{
    ngx_str_t               s;
    ngx_http_hangar_out_t   o;

    if (in->type != NGX_HTTP_HANGAR_STR) {

        if (ctx->source != NGX_HTTP_HANGAR_SPEC_CONFIG
            || in->type == NGX_HTTP_HANGAR_ARR
            || in->type == NGX_HTTP_HANGAR_OBJ)
        {
            return ngx_http_hangar_spec_error(ctx, in, path,
                                              "must be a string");
        }

        ngx_http_hangar_out_init(&o, ctx->pool, 64);
        ngx_http_hangar_json_out(&o, in);

        if (ngx_http_hangar_out_flatten(&o, &s) != NGX_OK) {
            return NGX_ERROR;
        }

        *out = ngx_http_hangar_value_str(ctx->pool, s.data, s.len);
        return *out ? NGX_OK : NGX_ERROR;
    }

    if ((int64_t) in->u.s.len > max) {
        return ngx_http_hangar_spec_error(ctx, in, path,
                                          "at most %L bytes", max);
    }

    /* strings end up in argv, environ and file names */
    if (ngx_strlchr(in->u.s.data, in->u.s.data + in->u.s.len, '\0')) {
        return ngx_http_hangar_spec_error(ctx, in, path,
                                          "must not contain NUL bytes");
    }

    *out = in;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_spec_integer(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_field_t *f, ngx_http_hangar_value_t *in,
    ngx_http_hangar_value_t **out)
{
    ngx_int_t  n;

    if (in->type == NGX_HTTP_HANGAR_INT) {
        *out = in;

    } else if (in->type == NGX_HTTP_HANGAR_STR
               && ctx->source == NGX_HTTP_HANGAR_SPEC_CONFIG
               && (n = ngx_atoi(in->u.s.data, in->u.s.len)) != NGX_ERROR)
    {
        /* "${TTL:-300}" interpolates to a string */
        *out = ngx_http_hangar_value_int(ctx->pool, n);
        if (*out == NULL) {
            return NGX_ERROR;
        }

    } else {
        return ngx_http_hangar_spec_error(ctx, in, path,
                                          "must be an integer %L..%L",
                                          f->min, f->max);
    }

    if ((*out)->u.i < f->min || (*out)->u.i > f->max) {
        return ngx_http_hangar_spec_error(ctx, in, path, "must be %L..%L",
                                          f->min, f->max);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_spec_number(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_field_t *f, ngx_http_hangar_value_t *in,
    ngx_http_hangar_value_t **out)
{
    char     buf[64], *end;
    double   d;

    if (in->type == NGX_HTTP_HANGAR_INT) {
        d = (double) in->u.i;

    } else if (in->type == NGX_HTTP_HANGAR_NUM) {
        d = in->u.n;

    } else if (in->type == NGX_HTTP_HANGAR_STR
               && ctx->source == NGX_HTTP_HANGAR_SPEC_CONFIG
               && in->u.s.len > 0 && in->u.s.len < sizeof(buf))
    {
        *ngx_cpymem(buf, in->u.s.data, in->u.s.len) = '\0';
        d = strtod(buf, &end);
        if (*end != '\0') {
            goto invalid;
        }

    } else {
        goto invalid;
    }

    if (!(d >= (double) f->min && d <= (double) f->max)) {
        return ngx_http_hangar_spec_error(ctx, in, path, "must be %L..%L",
                                          f->min, f->max);
    }

    *out = ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_NUM);
    if (*out == NULL) {
        return NGX_ERROR;
    }

    (*out)->u.n = d;

    return NGX_OK;

invalid:

    return ngx_http_hangar_spec_error(ctx, in, path, "must be a number");
}


static ngx_int_t
ngx_http_hangar_spec_list(ngx_http_hangar_spec_ctx_t *ctx, const char *path,
    ngx_http_hangar_field_t *f, ngx_http_hangar_value_t *in,
    ngx_http_hangar_value_t **out)
{
    char                       sub[NGX_HTTP_HANGAR_PATH_MAX];
    ngx_uint_t                 i;
    ngx_http_hangar_value_t   *list, *s, **items;

    if (in->type != NGX_HTTP_HANGAR_ARR) {
        return ngx_http_hangar_spec_error(ctx, in, path,
                                          "must be a list of strings");
    }

    if ((int64_t) in->u.arr.nelts < f->min) {
        return ngx_http_hangar_spec_error(ctx, in, path, "must not be empty");
    }

    if ((int64_t) in->u.arr.nelts > f->max) {
        return ngx_http_hangar_spec_error(ctx, in, path, "at most %L items",
                                          f->max);
    }

    list = ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_ARR);
    if (list == NULL) {
        return NGX_ERROR;
    }

    items = in->u.arr.elts;

    for (i = 0; i < in->u.arr.nelts; i++) {
        *ngx_snprintf((u_char *) sub, sizeof(sub) - 1, "%s[%ui]", path, i)
            = '\0';

        if (ngx_http_hangar_spec_string(ctx, sub, items[i], 32768, &s)
            != NGX_OK
            || ngx_http_hangar_push(list, s) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    *out = list;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_spec_map(ngx_http_hangar_spec_ctx_t *ctx, const char *path,
    ngx_http_hangar_value_t *in, ngx_http_hangar_value_t **out)
{
    char                       sub[NGX_HTTP_HANGAR_PATH_MAX];
    ngx_uint_t                 i;
    ngx_http_hangar_pair_t    *pair;
    ngx_http_hangar_value_t   *map, *s;

    if (in->type != NGX_HTTP_HANGAR_OBJ) {
        return ngx_http_hangar_spec_error(ctx, in, path,
                                          "must be an object of strings");
    }

    map = ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_OBJ);
    if (map == NULL) {
        return NGX_ERROR;
    }

    pair = in->u.obj.elts;

    for (i = 0; i < in->u.obj.nelts; i++) {
        if (pair[i].key.len > 256) {
            return ngx_http_hangar_spec_error(ctx, in, path,
                                              "keys are at most 256 bytes");
        }

        ngx_http_hangar_spec_path(sub, path, &pair[i].key);

        if (ngx_http_hangar_spec_string(ctx, sub, pair[i].value, 32768, &s)
            != NGX_OK
            || ngx_http_hangar_set(ctx->pool, map, pair[i].key.data,
                                   pair[i].key.len, s)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    *out = map;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_check_command(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    ngx_http_hangar_value_t  **items;

    items = v->u.arr.elts;

    if (items[0]->u.s.len == 0) {
        return ngx_http_hangar_spec_error(ctx, items[0], path,
                                          "the program name is empty");
    }

    return NGX_OK;
}


/*
 * A discovered server's runtime addresses (ngx_http_hangar_guard.h): set
 * by hangar, literal addresses; unknown to the API (hangar.yaml takes
 * them, as /api/config/export writes them)
 */

static ngx_int_t
ngx_http_hangar_check_runtime(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    ngx_uint_t                 i;
    ngx_cidr_t                 cidr;
    ngx_http_hangar_value_t  **a;

    if (ctx->source == NGX_HTTP_HANGAR_SPEC_API) {
        return ngx_http_hangar_spec_error(ctx, v, path, "unknown field");
    }

    a = v->u.arr.elts;

    for (i = 0; i < v->u.arr.nelts; i++) {
        if (ngx_http_hangar_runtime_addr(&a[i]->u.s, &cidr) != NGX_OK) {
            return ngx_http_hangar_spec_error(ctx, a[i], path,
                                              "must be IP addresses");
        }
    }

    return NGX_OK;
}


/* scheme://host[:port][/path], scheme one of http, https, ws, wss */

static ngx_int_t
ngx_http_hangar_check_endpoint(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    u_char      *p, *last, *host;
    ngx_uint_t   i;

    static const char  *schemes[] = { "http://", "https://", "ws://",
                                      "wss://", NULL };

    p = v->u.s.data;
    last = p + v->u.s.len;

    for (i = 0; schemes[i]; i++) {
        if (ngx_strncasecmp(p, (u_char *) schemes[i],
                            ngx_strlen(schemes[i])) == 0)
        {
            break;
        }
    }

    if (schemes[i] == NULL) {
        return ngx_http_hangar_spec_error(ctx, v, path,
                                    "must be an http, https, ws or wss URL");
    }

    host = p + ngx_strlen(schemes[i]);

    for (p = host; p < last && *p != '/' && *p != '?' && *p != '#'; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            return ngx_http_hangar_spec_error(ctx, v, path,
                                              "must not contain spaces");
        }
    }

    if (p == host || *host == ':' || *host == '@') {
        return ngx_http_hangar_spec_error(ctx, v, path, "has no host");
    }

    for ( /* void */ ; p < last; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            return ngx_http_hangar_spec_error(ctx, v, path,
                                              "must not contain spaces");
        }
    }

    return NGX_OK;
}


/* registry/name:tag@digest, as the original's value object allows */

static ngx_int_t
ngx_http_hangar_check_image(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    u_char  *p, *last;

    p = v->u.s.data;
    last = p + v->u.s.len;

    if (p == last || *p == '-') {
        return ngx_http_hangar_spec_error(ctx, v, path,
                                          "is not a valid image name");
    }

    for ( /* void */ ; p < last; p++) {
        if (!(isalnum(*p) || *p == '_' || *p == '.' || *p == '-'
              || *p == '/' || *p == ':' || *p == '@'))
        {
            return ngx_http_hangar_spec_error(ctx, v, path,
                                              "is not a valid image name");
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_check_env(ngx_http_hangar_spec_ctx_t *ctx, const char *path,
    ngx_http_hangar_value_t *v)
{
    char                     sub[NGX_HTTP_HANGAR_PATH_MAX];
    u_char                  *k;
    size_t                   j;
    ngx_uint_t               i;
    ngx_http_hangar_pair_t  *pair;

    pair = v->u.obj.elts;

    for (i = 0; i < v->u.obj.nelts; i++) {
        k = pair[i].key.data;

        for (j = 0; j < pair[i].key.len; j++) {
            if (!(k[j] == '_' || (k[j] >= 'A' && k[j] <= 'Z')
                  || (k[j] >= 'a' && k[j] <= 'z')
                  || (j > 0 && k[j] >= '0' && k[j] <= '9')))
            {
                break;
            }
        }

        if (pair[i].key.len == 0 || j < pair[i].key.len) {
            ngx_http_hangar_spec_path(sub, path, &pair[i].key);
            return ngx_http_hangar_spec_error(ctx, pair[i].value, sub,
                         "variable names must match [A-Za-z_][A-Za-z0-9_]*");
        }
    }

    return NGX_OK;
}


/*
 * A container's volume: "host:container[:ro|rw]", the host side an
 * absolute path or a named volume, the container side an absolute path;
 * no "..", no comma, no control character.
 */

static ngx_int_t
ngx_http_hangar_check_volumes(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    char                      sub[NGX_HTTP_HANGAR_PATH_MAX];
    u_char                   *p, *last, *part[4];
    ngx_uint_t                i, n;
    ngx_http_hangar_value_t **items;

    items = v->u.arr.elts;

    for (i = 0; i < v->u.arr.nelts; i++) {
        p = items[i]->u.s.data;
        last = p + items[i]->u.s.len;
        n = 0;
        part[n++] = p;

        for ( /* void */ ; p < last; p++) {
            if (*p < 0x20 || *p == 0x7f || *p == ',') {
                break;
            }

            if (*p == ':') {
                if (n == 3) {
                    break;
                }

                part[n++] = p + 1;
            }
        }

        part[n] = last + 1;

        if (p == last && n >= 2
            && part[1] - part[0] > 1
            && (*part[0] == '/' || isalnum(*part[0]))
            && part[2] - part[1] > 2 && *part[1] == '/'
            && (n == 2
                || (last - part[2] == 2
                    && (ngx_strncmp(part[2], "ro", 2) == 0
                        || ngx_strncmp(part[2], "rw", 2) == 0)))
            && ngx_strnstr(items[i]->u.s.data, "..", items[i]->u.s.len)
               == NULL)
        {
            continue;
        }

        ngx_snprintf((u_char *) sub, sizeof(sub), "%s[%ui]%Z", path, i);

        return ngx_http_hangar_spec_error(ctx, items[i], sub,
                   "must be \"host:container[:ro|rw]\" with absolute "
                   "paths (or a named volume on the host side), no \"..\"");
    }

    return NGX_OK;
}


/* a size for --memory: digits and one of b, k, m, g */

static ngx_int_t
ngx_http_hangar_check_memory(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    u_char  *p, *last;

    p = v->u.s.data;
    last = p + v->u.s.len;

    while (p < last && *p >= '0' && *p <= '9') {
        p++;
    }

    if (p > v->u.s.data
        && (p == last
            || (p + 1 == last && ngx_strchr("bkmgBKMG", *p) != NULL)))
    {
        return NGX_OK;
    }

    return ngx_http_hangar_spec_error(ctx, v, path,
                                      "must be a size such as \"512m\"");
}


/* a number of CPUs for --cpus: "1", "0.5" */

static ngx_int_t
ngx_http_hangar_check_cpu(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    u_char      *p, *last;
    ngx_uint_t   digits, dot;

    p = v->u.s.data;
    last = p + v->u.s.len;
    digits = 0;
    dot = 0;

    for ( /* void */ ; p < last; p++) {
        if (*p >= '0' && *p <= '9') {
            digits += (*p != '0');
            continue;
        }

        if (*p != '.' || dot++) {
            break;
        }
    }

    if (p == last && digits && v->u.s.data[0] != '.' && last[-1] != '.') {
        return NGX_OK;
    }

    return ngx_http_hangar_spec_error(ctx, v, path,
                                      "must be a number of CPUs above 0 "
                                      "such as \"1.0\" or \"0.5\"");
}


/* "current", or a user and an optional group: name or number */

static ngx_int_t
ngx_http_hangar_check_user(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    u_char      *p, *last;
    ngx_uint_t   colon;

    p = v->u.s.data;
    last = p + v->u.s.len;
    colon = 0;

    if (p < last && *p != '-' && *p != ':' && last[-1] != ':') {
        for ( /* void */ ; p < last; p++) {
            if (!(isalnum(*p) || *p == '_' || *p == '.' || *p == '-'
                  || (*p == ':' && colon++ == 0)))
            {
                break;
            }
        }

        if (p == last) {
            return NGX_OK;
        }
    }

    return ngx_http_hangar_spec_error(ctx, v, path,
                                      "must be \"current\", a user or "
                                      "\"user:group\" (names or ids)");
}


/* a path of build: not an option of docker build, no control character */

static ngx_int_t
ngx_http_hangar_check_build_path(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    u_char  *p, *last;

    p = v->u.s.data;
    last = p + v->u.s.len;

    if (p < last && *p != '-') {
        while (p < last && *p >= 0x20 && *p != 0x7f) {
            p++;
        }

        if (p == last) {
            return NGX_OK;
        }
    }

    return ngx_http_hangar_spec_error(ctx, v, path,
                                      "must be a path, not starting with "
                                      "\"-\"");
}


static ngx_int_t
ngx_http_hangar_check_header_value(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    if (!ngx_http_hangar_header_value_ok(v->u.s.data, v->u.s.len)) {
        return ngx_http_hangar_spec_error(ctx, v, path,
                     "must not contain CR, LF or other control characters");
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_check_header_name(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    if (!ngx_http_hangar_header_name_ok(v->u.s.data, v->u.s.len)) {
        return ngx_http_hangar_spec_error(ctx, v, path,
                     "a header name must be a token (letters, digits and "
                     "!#$%%&'*+-.^_`|~)");
    }

    if (ngx_http_hangar_header_reserved(v->u.s.data, v->u.s.len)) {
        return ngx_http_hangar_spec_error(ctx, v, path,
                     "the header \"%V\" is set by hangar itself", &v->u.s);
    }

    return NGX_OK;
}


/* basic authentication: "user:password", so no ":" in the user */

static ngx_int_t
ngx_http_hangar_check_username(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    if (ngx_strlchr(v->u.s.data, v->u.s.data + v->u.s.len, ':')) {
        return ngx_http_hangar_spec_error(ctx, v, path,
                                          "must not contain \":\"");
    }

    return ngx_http_hangar_check_header_value(ctx, path, v);
}


static ngx_int_t
ngx_http_hangar_check_headers(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    char                     sub[NGX_HTTP_HANGAR_PATH_MAX];
    ngx_uint_t               i;
    ngx_http_hangar_pair_t  *pair;
    ngx_http_hangar_value_t  name;

    pair = v->u.obj.elts;

    for (i = 0; i < v->u.obj.nelts; i++) {
        ngx_http_hangar_spec_path(sub, path, &pair[i].key);

        name = *pair[i].value;
        name.type = NGX_HTTP_HANGAR_STR;
        name.u.s = pair[i].key;

        if (ngx_http_hangar_check_header_name(ctx, sub, &name) != NGX_OK
            || ngx_http_hangar_check_header_value(ctx, sub, pair[i].value)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* execution.allowed_commands: program names, compared with a basename */

static ngx_int_t
ngx_http_hangar_check_programs(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    char                       sub[NGX_HTTP_HANGAR_PATH_MAX];
    ngx_uint_t                 i;
    ngx_http_hangar_value_t  **items;

    items = v->u.arr.elts;

    for (i = 0; i < v->u.arr.nelts; i++) {
        if (items[i]->u.s.len == 0
            || ngx_strlchr(items[i]->u.s.data,
                           items[i]->u.s.data + items[i]->u.s.len, '/'))
        {
            *ngx_snprintf((u_char *) sub, sizeof(sub) - 1, "%s[%ui]", path,
                          i) = '\0';
            return ngx_http_hangar_spec_error(ctx, items[i], sub,
                         "a program name without a directory (\"python3\")");
        }
    }

    return NGX_OK;
}


/* a list of tool schemas (predefined tools) or an access policy object */

static ngx_int_t
ngx_http_hangar_check_tools(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    char                       sub[NGX_HTTP_HANGAR_PATH_MAX];
    ngx_uint_t                 i;
    ngx_http_hangar_value_t  **items, *name;

    if (v->type == NGX_HTTP_HANGAR_OBJ) {
        return ngx_http_hangar_spec_policy(ctx, path, v,
                                           ngx_http_hangar_policy_spec);
    }

    if (v->type != NGX_HTTP_HANGAR_ARR) {
        return ngx_http_hangar_spec_error(ctx, v, path,
                           "must be a list of tools or an access policy");
    }

    items = v->u.arr.elts;

    for (i = 0; i < v->u.arr.nelts; i++) {
        *ngx_snprintf((u_char *) sub, sizeof(sub) - 1, "%s[%ui].name",
                      path, i) = '\0';

        name = ngx_http_hangar_get(items[i], "name");

        if (!ngx_http_hangar_is(name, NGX_HTTP_HANGAR_STR)
            || name->u.s.len == 0)
        {
            return ngx_http_hangar_spec_error(ctx, items[i], sub,
                                              "a tool needs a name");
        }
    }

    return NGX_OK;
}


/* members: [{id, weight, priority, ...}] or [id, ...] */

static ngx_int_t
ngx_http_hangar_check_members(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    char                       sub[NGX_HTTP_HANGAR_PATH_MAX];
    ngx_uint_t                 i, k;
    ngx_http_hangar_value_t  **items, *id, *n;

    static const char  *ranged[] = { "weight", "priority", NULL };

    if (v->type != NGX_HTTP_HANGAR_ARR) {
        return ngx_http_hangar_spec_error(ctx, v, path, "must be a list");
    }

    /* NGX_HTTP_HANGAR_GROUP_MEMBERS: a group's record in the zone */
    if (v->u.arr.nelts > 32) {
        return ngx_http_hangar_spec_error(ctx, v, path,
                                          "at most 32 members");
    }

    items = v->u.arr.elts;

    for (i = 0; i < v->u.arr.nelts; i++) {
        *ngx_snprintf((u_char *) sub, sizeof(sub) - 1, "%s[%ui]", path, i)
            = '\0';

        id = items[i]->type == NGX_HTTP_HANGAR_STR
             ? items[i] : ngx_http_hangar_get(items[i], "id");

        if (!ngx_http_hangar_is(id, NGX_HTTP_HANGAR_STR)
            || !ngx_http_hangar_spec_id_valid(&id->u.s,
                                              NGX_HTTP_HANGAR_SPEC_API))
        {
            return ngx_http_hangar_spec_error(ctx, items[i], sub,
                                    "a member needs a valid id");
        }

        for (k = 0; ranged[k]; k++) {
            n = ngx_http_hangar_get(items[i], ranged[k]);

            if (n && !(n->type == NGX_HTTP_HANGAR_INT
                       && n->u.i >= 1 && n->u.i <= 100))
            {
                *ngx_snprintf((u_char *) sub, sizeof(sub) - 1, "%s[%ui].%s",
                              path, i, ranged[k]) = '\0';
                return ngx_http_hangar_spec_error(ctx, n, sub,
                                                  "must be 1..100");
            }
        }

        n = ngx_http_hangar_get(items[i], "tools");

        if (n) {
            *ngx_snprintf((u_char *) sub, sizeof(sub) - 1, "%s[%ui].tools",
                          path, i) = '\0';

            if (ngx_http_hangar_spec_policy(ctx, sub, n,
                                            ngx_http_hangar_policy_spec)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* tool access policies (ngx_http_hangar_policy_spec.c): their error */

ngx_int_t
ngx_http_hangar_spec_policy(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v,
    ngx_http_hangar_policy_check_pt check)
{
    ngx_http_hangar_policy_err_t  err;

    if (check(&err, path, v) == NGX_OK) {
        return NGX_OK;
    }

    return ngx_http_hangar_spec_error(ctx, err.at, err.path, "%s",
                                      err.message);
}


static ngx_int_t
ngx_http_hangar_check_access(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    return ngx_http_hangar_spec_policy(ctx, path, v,
                                       ngx_http_hangar_policy_spec_access);
}


static ngx_int_t
ngx_http_hangar_check_kinds(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    return ngx_http_hangar_spec_policy(ctx, path, v,
                                       ngx_http_hangar_policy_spec_kinds);
}


ngx_http_hangar_mode_e
ngx_http_hangar_spec_mode(ngx_http_hangar_value_t *spec)
{
    ngx_http_hangar_value_t  *m;

    m = ngx_http_hangar_get(spec, "mode");

    if (m == NULL || ngx_http_hangar_str_is(&m->u.s, "subprocess")) {
        return NGX_HTTP_HANGAR_MODE_SUBPROCESS;
    }

    if (ngx_http_hangar_str_is(&m->u.s, "remote")) {
        return NGX_HTTP_HANGAR_MODE_REMOTE;
    }

    if (ngx_http_hangar_str_is(&m->u.s, "group")) {
        return NGX_HTTP_HANGAR_MODE_GROUP;
    }

    return NGX_HTTP_HANGAR_MODE_DOCKER;
}


static ngx_int_t
ngx_http_hangar_spec_default(ngx_http_hangar_spec_ctx_t *ctx,
    ngx_http_hangar_value_t *spec, const char *key,
    ngx_http_hangar_value_t *v)
{
    if (v == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_hangar_get(spec, key) != NULL) {
        return NGX_OK;
    }

    return ngx_http_hangar_set(ctx->pool, spec, (u_char *) key,
                               ngx_strlen(key), v);
}


/* what each mode requires, and the defaults of hangar-core §2.2 and §3.1 */

static ngx_int_t
ngx_http_hangar_spec_defaults(ngx_http_hangar_spec_ctx_t *ctx,
    ngx_http_hangar_value_t *in, ngx_http_hangar_value_t *spec)
{
    ngx_pool_t               *pool;
    ngx_http_hangar_value_t  *b, *build;

    pool = ctx->pool;

    if (ngx_http_hangar_spec_default(ctx, spec, "mode",
            ngx_http_hangar_value_str(pool, (u_char *) "subprocess", 10))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    switch (ngx_http_hangar_spec_mode(spec)) {

    case NGX_HTTP_HANGAR_MODE_SUBPROCESS:
        if (ngx_http_hangar_get(spec, "command") == NULL) {
            return ngx_http_hangar_spec_error(ctx, in, "command",
                                 "is required for mode subprocess");
        }
        break;

    case NGX_HTTP_HANGAR_MODE_REMOTE:
        if (ngx_http_hangar_get(spec, "endpoint") == NULL) {
            return ngx_http_hangar_spec_error(ctx, in, "endpoint",
                                 "is required for mode remote");
        }
        break;

    case NGX_HTTP_HANGAR_MODE_DOCKER:
        build = ngx_http_hangar_get(spec, "build");

        if (ngx_http_hangar_get(spec, "image") == NULL
            && ngx_http_hangar_get(build, "dockerfile") == NULL)
        {
            return ngx_http_hangar_spec_error(ctx, in, "image",
                    "is required for mode %V (or build.dockerfile)",
                    &ngx_http_hangar_get(spec, "mode")->u.s);
        }
        break;

    case NGX_HTTP_HANGAR_MODE_GROUP:
        b = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_BOOL);
        if (b == NULL) {
            return NGX_ERROR;
        }

        b->u.b = 1;

        if (ngx_http_hangar_spec_default(ctx, spec, "strategy",
                ngx_http_hangar_value_str(pool, (u_char *) "round_robin", 11))
            != NGX_OK
            || ngx_http_hangar_spec_default(ctx, spec, "min_healthy",
                   ngx_http_hangar_value_int(pool, 1)) != NGX_OK
            || ngx_http_hangar_spec_default(ctx, spec, "auto_start", b)
               != NGX_OK
            || ngx_http_hangar_spec_default(ctx, spec, "members",
                   ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_ARR))
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    if (ngx_http_hangar_spec_default(ctx, spec, "idle_ttl_s",
            ngx_http_hangar_value_int(pool, 300)) != NGX_OK
        || ngx_http_hangar_spec_default(ctx, spec, "health_check_interval_s",
               ngx_http_hangar_value_int(pool, 60)) != NGX_OK
        || ngx_http_hangar_spec_default(ctx, spec, "max_consecutive_failures",
               ngx_http_hangar_value_int(pool, 3)) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}
