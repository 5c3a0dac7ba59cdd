
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Weak stand-ins for the auth core's principal and RBAC accessors, so that
 * this branch loads before the auth core is merged: auth off, everything
 * allowed.  The auth core's definitions replace them; this file goes when
 * it lands.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_auth_stub.h"
#include "ngx_http_hangar_auth.h"


__attribute__((weak)) ngx_http_hangar_principal_t *
ngx_http_hangar_auth_principal(ngx_http_request_t *r)
{
    return NULL;
}


__attribute__((weak)) ngx_uint_t
ngx_http_hangar_auth_allowed(ngx_http_request_t *r, const char *resource,
    const char *action, ngx_str_t *id)
{
    return 1;
}
