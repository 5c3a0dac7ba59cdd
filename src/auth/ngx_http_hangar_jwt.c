
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Bearer JWT / OIDC (hangar-security.md §1.4): not built yet; a
 * configuration that enables it fails.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_jwt.h"


ngx_int_t
ngx_http_hangar_jwt_conf(ngx_conf_t *cf, ngx_http_hangar_value_t *oidc,
    ngx_str_t *file, ngx_http_hangar_jwt_conf_t **jcp)
{
    ngx_http_hangar_value_t  *v;

    *jcp = NULL;

    v = ngx_http_hangar_get(oidc, "enabled");

    if (oidc == NULL || !ngx_http_hangar_is(v, NGX_HTTP_HANGAR_BOOL)
        || !v->u.b)
    {
        return NGX_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "hangar_config: %V:%ui:%ui: auth.oidc: bearer JWT "
                       "authentication is not available in this build",
                       file, oidc->line, oidc->col);
    return NGX_ERROR;
}


ngx_int_t
ngx_http_hangar_jwt_verify(ngx_http_hangar_jwt_conf_t *jc, ngx_str_t *token,
    ngx_pool_t *pool, ngx_log_t *log, ngx_http_hangar_principal_t *p,
    ngx_str_t *err, ngx_str_t *details, ngx_http_hangar_jwt_wake_pt wake,
    void *data)
{
    ngx_str_set(err, "Invalid JWT token");
    return NGX_DECLINED;
}


ngx_int_t
ngx_http_hangar_jwt_challenge(ngx_http_hangar_jwt_conf_t *jc,
    ngx_http_request_t *r, ngx_str_t *value)
{
    ngx_str_set(value, "Bearer, ApiKey");
    return NGX_OK;
}
