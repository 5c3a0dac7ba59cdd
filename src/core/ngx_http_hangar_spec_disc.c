
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * hangar.yaml "discovery:" and its sources (hangar-security.md §5.1-5.2),
 * checked by the field table; also a source's keys given through the API.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hangar_spec_disc.h"
#include "ngx_http_hangar_field.h"


static ngx_int_t ngx_http_hangar_check_disc_sources(
    ngx_http_hangar_spec_ctx_t *ctx, const char *path,
    ngx_http_hangar_value_t *v);


static const char  *ngx_http_hangar_disc_types[] = {
    "filesystem", "docker", "kubernetes", NULL
};

static const char  *ngx_http_hangar_disc_modes[] = {
    "additive", "authoritative", NULL
};

static ngx_http_hangar_field_t  ngx_http_hangar_disc_source_fields[] = {
    F_ENUM("type", ngx_http_hangar_disc_types),
    F_ENUM("mode", ngx_http_hangar_disc_modes),
    F_BOOL("enabled"),
    F_INT("ttl_s", 1, 86400),
    /* filesystem */
    F_STR("path", 4096),
    F_STR("pattern", 256),
    F_BOOL("watch"),
    /* docker */
    F_STR("socket_path", 4096),
    /* kubernetes */
    { "namespaces", NGX_HTTP_HANGAR_F_STRLIST, 0, 1000, NULL, NULL, NULL,
      NULL },
    F_STR("label_selector", 1024),
    F_BOOL("in_cluster"),
    F_STR("kubeconfig", 4096),
    F_STR("api_server", 4096),
    F_STR("token_path", 4096),
    F_STR("ca_path", 4096),
    { "allowed_namespaces", NGX_HTTP_HANGAR_F_STRLIST, 0, 1000, NULL, NULL,
      NULL, NULL },
    { "denied_namespaces", NGX_HTTP_HANGAR_F_STRLIST, 0, 1000, NULL, NULL,
      NULL, NULL },
    F_END
};

static ngx_http_hangar_field_t  ngx_http_hangar_disc_security_fields[] = {
    F_BOOL("require_health_check"),
    F_BOOL("require_mcp_schema"),
    F_INT("max_mcp_servers_per_source", 0, 100000),
    F_INT("max_registration_rate", 0, 100000),
    F_NUM("health_check_timeout_s", 0, 300),
    F_BOOL("quarantine_on_failure"),
    { "allowed_namespaces", NGX_HTTP_HANGAR_F_STRLIST, 0, 1000, NULL, NULL,
      NULL, NULL },
    { "denied_namespaces", NGX_HTTP_HANGAR_F_STRLIST, 0, 1000, NULL, NULL,
      NULL, NULL },
    F_END
};

static ngx_http_hangar_field_t  ngx_http_hangar_disc_lifecycle_fields[] = {
    F_INT("default_ttl_s", 1, 86400),
    F_INT("check_interval_s", 1, 3600),
    F_INT("drain_timeout_s", 0, 3600),
    F_END
};

static ngx_http_hangar_field_t  ngx_http_hangar_disc_fields[] = {
    F_BOOL("enabled"),
    F_INT("refresh_interval_s", 1, 86400),
    F_BOOL("auto_register"),
    { "sources", NGX_HTTP_HANGAR_F_ANY, 0, 0, NULL, NULL,
      ngx_http_hangar_check_disc_sources, NULL },
    F_OBJ("security", ngx_http_hangar_disc_security_fields),
    F_OBJ("lifecycle", ngx_http_hangar_disc_lifecycle_fields),
    F_END
};


/* hangar.yaml "discovery:" (hangar-security.md §5.1) */

ngx_int_t
ngx_http_hangar_spec_discovery(ngx_http_hangar_spec_ctx_t *ctx,
    ngx_http_hangar_value_t *in, ngx_http_hangar_value_t **out)
{
    if (!ngx_http_hangar_is(in, NGX_HTTP_HANGAR_OBJ)) {
        return ngx_http_hangar_spec_error(ctx, in, "", "must be a mapping");
    }

    return ngx_http_hangar_spec_object(ctx, "", in,
                                       ngx_http_hangar_disc_fields, out);
}


/* one discovery source: its type and mode are required */

ngx_int_t
ngx_http_hangar_spec_disc_source(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *in,
    ngx_http_hangar_value_t **out)
{
    if (!ngx_http_hangar_is(in, NGX_HTTP_HANGAR_OBJ)) {
        return ngx_http_hangar_spec_error(ctx, in, path, "must be a mapping");
    }

    if (ngx_http_hangar_spec_object(ctx, path, in,
                                    ngx_http_hangar_disc_source_fields, out)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_hangar_get(*out, "type") == NULL) {
        return ngx_http_hangar_spec_error(ctx, in, path,
                                          "type: is required (filesystem, "
                                          "docker or kubernetes)");
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_check_disc_sources(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v)
{
    char                      sub[NGX_HTTP_HANGAR_PATH_MAX];
    ngx_uint_t                i, k;
    ngx_http_hangar_value_t  *item, *src, *type, *other;

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_ARR)) {
        return ngx_http_hangar_spec_error(ctx, v, path, "must be a list");
    }

    if (v->u.arr.nelts > 16) {
        return ngx_http_hangar_spec_error(ctx, v, path,
                                          "at most 16 sources");
    }

    for (i = 0; i < v->u.arr.nelts; i++) {
        item = ((ngx_http_hangar_value_t **) v->u.arr.elts)[i];
        ngx_snprintf((u_char *) sub, sizeof(sub), "%s[%ui]%Z", path, i);

        if (ngx_http_hangar_spec_disc_source(ctx, sub, item, &src)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        ((ngx_http_hangar_value_t **) v->u.arr.elts)[i] = src;

        /* one live source per type (hangar-security.md §5.1) */
        type = ngx_http_hangar_get(src, "type");

        for (k = 0; k < i; k++) {
            other = ngx_http_hangar_get(
                        ((ngx_http_hangar_value_t **) v->u.arr.elts)[k],
                        "type");

            if (other && type
                && ngx_memn2cmp(other->u.s.data, type->u.s.data,
                                other->u.s.len, type->u.s.len) == 0)
            {
                return ngx_http_hangar_spec_error(ctx, item, sub,
                                                  "a second source of "
                                                  "type %V", &type->u.s);
            }
        }
    }

    return NGX_OK;
}
