
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_edge.h"


static ngx_int_t ngx_http_hangar_edge_host(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_edge_json(ngx_http_hangar_req_t *hr);


ngx_int_t
ngx_http_hangar_edge(ngx_http_hangar_req_t *hr)
{
    ngx_int_t  rc;

    rc = ngx_http_hangar_edge_host(hr);

    if (rc != NGX_DECLINED) {
        return rc;
    }

    return ngx_http_hangar_edge_json(hr);
}


/*
 * hangar_trusted_hosts, or by default MCP_TRUSTED_HOSTS as the master
 * read it, or "localhost 127.0.0.1 ::1".  A request without a Host (HTTP/1.0)
 * stands for the address it arrived at: "curl -0 http://127.0.0.1/api/"
 * passes where 127.0.0.1 is trusted, and a request to a public address
 * that names no host passes only where that address (or "*") is trusted.
 */

static ngx_int_t
ngx_http_hangar_edge_host(ngx_http_hangar_req_t *hr)
{
    u_char                        buf[NGX_SOCKADDR_STRLEN];
    ngx_str_t                     host;
    ngx_array_t                  *hosts;
    ngx_http_request_t           *r;
    ngx_http_hangar_loc_conf_t   *hlcf;
    ngx_http_hangar_main_conf_t  *hmcf;

    r = hr->r;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hangar_module);
    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hangar_module);

    hosts = hlcf->trusted_hosts ? hlcf->trusted_hosts : hmcf->trusted_hosts;

    /* r->headers_in.server: the Host without its port, lower-cased */
    host = r->headers_in.server;

    if (host.len == 0) {
        host.data = buf;
        host.len = sizeof(buf);

        if (ngx_connection_local_sockaddr(r->connection, &host, 0)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_hangar_host_match(&host, hosts)) {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "hangar: Host \"%V\" is not trusted", &host);

    ngx_http_hangar_discard_body(r);

    return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST, "InvalidHostError",
                                 "Invalid host header: \"%V\" is not a "
                                 "trusted host of this API; trust it with "
                                 "\"hangar_trusted_hosts\" in nginx.conf or "
                                 "MCP_TRUSTED_HOSTS", &host);
}


/*
 * A write with a body must be "application/json" (parameters allowed):
 * a web page can send text/plain or a form anywhere without a CORS
 * preflight, never JSON.  Answered before the body is read.
 */

static ngx_int_t
ngx_http_hangar_edge_json(ngx_http_hangar_req_t *hr)
{
    u_char              *p, *last;
    ngx_str_t            type;
    ngx_http_request_t  *r;

    r = hr->r;

    if (!(r->method
          & (NGX_HTTP_POST|NGX_HTTP_PUT|NGX_HTTP_PATCH|NGX_HTTP_DELETE))
        || !(r->headers_in.content_length_n > 0 || r->headers_in.chunked))
    {
        return NGX_DECLINED;
    }

    ngx_str_set(&type, "");

    if (r->headers_in.content_type) {
        type = r->headers_in.content_type->value;

        p = type.data;
        last = p + type.len;

        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (last - p >= 16
            && ngx_strncasecmp(p, (u_char *) "application/json", 16) == 0)
        {
            for (p += 16; p < last && (*p == ' ' || *p == '\t'); p++) {
                /* void */
            }

            if (p == last || *p == ';') {
                return NGX_DECLINED;
            }
        }
    }

    ngx_http_hangar_discard_body(r);

    return ngx_http_hangar_error(hr, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                 "UnsupportedMediaTypeError",
                                 "a request body must be JSON: Content-Type "
                                 "\"%V\" is not application/json", &type);
}
