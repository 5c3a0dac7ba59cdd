
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_wellknown.h"
#include "ngx_http_hangar_auth.h"
#include "ngx_http_hangar_jwt.h"


/*
 * 200 {"resource": resource_uri or scheme://Host, "authorization_servers":
 * [issuers]}; 404 {"error":"not_found", ...} when no issuer is configured
 * (hangar-security.md §1.4).
 */

ngx_int_t
ngx_http_hangar_wellknown_handler(ngx_http_hangar_req_t *hr)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = hr->r;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        if (ngx_http_hangar_header_out(r, "Allow", (u_char *) "GET, HEAD",
                                       sizeof("GET, HEAD") - 1)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_hangar_error(hr, NGX_HTTP_NOT_ALLOWED,
                                     "MethodNotAllowedError",
                                     "method %V is not allowed here; "
                                     "allowed: GET, HEAD", &r->method_name);
    }

    rc = ngx_http_hangar_jwt_metadata(ngx_http_hangar_auth_jwt(), r,
                                      &hr->out);

    if (rc == NGX_DECLINED) {
        ngx_http_hangar_out_raw(&hr->out, "{\"error\":\"not_found\","
                                "\"message\":\"No OIDC issuer configured\"}",
                                sizeof("{\"error\":\"not_found\","
                                       "\"message\":\"No OIDC issuer "
                                       "configured\"}") - 1);

        return ngx_http_hangar_send(hr, NGX_HTTP_NOT_FOUND);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}
