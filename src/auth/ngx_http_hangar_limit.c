
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Failed-authentication lockout (hangar-security.md §1.6): not built
 * yet; the defaults are taken and nothing is locked.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_limit.h"


ngx_int_t
ngx_http_hangar_lockout_conf(ngx_conf_t *cf, ngx_http_hangar_value_t *v,
    ngx_str_t *file, ngx_http_hangar_lockout_conf_t *lc)
{
    lc->enabled = 1;
    lc->max_attempts = 10;
    lc->window = 60;
    lc->lockout = 300;

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_lockout_check(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_lockout_conf_t *lc, ngx_connection_t *c,
    time_t *retry_after)
{
    return NGX_OK;
}


void
ngx_http_hangar_lockout_failed(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_lockout_conf_t *lc, ngx_connection_t *c)
{
}


void
ngx_http_hangar_lockout_passed(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_lockout_conf_t *lc, ngx_connection_t *c)
{
}
