
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_edge.h"


static ngx_int_t ngx_http_hangar_edge_host(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_edge_json(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_mcp_origin(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_mcp_host(ngx_http_hangar_req_t *hr);
static ngx_uint_t ngx_http_hangar_mcp_local(u_char *host, size_t len);


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


/*
 * The edge of MCP traffic, the front door's and the pass-through's alike:
 * DNS rebinding (the Host) and a browser page of a foreign site (the
 * Origin) are refused with 403 and a JSON-RPC error.
 */

ngx_int_t
ngx_http_hangar_edge_mcp(ngx_http_hangar_req_t *hr)
{
    ngx_str_t  msg;

    if (ngx_http_hangar_mcp_host(hr) != NGX_OK) {
        ngx_str_set(&msg, "Forbidden: Host not allowed");

    } else if (ngx_http_hangar_mcp_origin(hr) != NGX_OK) {
        ngx_str_set(&msg, "Forbidden: Origin not allowed");

    } else {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_INFO, hr->r->connection->log, 0, "hangar: %V", &msg);

    ngx_http_hangar_discard_body(hr->r);

    return ngx_http_hangar_mcp_error(hr, NGX_HTTP_FORBIDDEN, NULL, -32000,
                                     &msg);
}


/*
 * An Origin: one of hangar_mcp_origins where they are set; else a local
 * page (localhost, 127.0.0.1, [::1]) or an origin MCP_CORS_ORIGINS names
 * (never through its "*"): the origins CORS lets a browser call from.
 */

static ngx_int_t
ngx_http_hangar_mcp_origin(ngx_http_hangar_req_t *hr)
{
    u_char                       *p, *host, *last;
    ngx_str_t                    *origin, *o;
    ngx_uint_t                    i;
    ngx_http_hangar_loc_conf_t   *hlcf;
    ngx_http_hangar_main_conf_t  *hmcf;

    origin = ngx_http_hangar_header(hr->r, "Origin");
    if (origin == NULL) {
        return NGX_OK;
    }

    hlcf = ngx_http_get_module_loc_conf(hr->r, ngx_http_hangar_module);

    if (hlcf->origins) {
        o = hlcf->origins->elts;

        for (i = 0; i < hlcf->origins->nelts; i++) {
            if ((o[i].len == 1 && o[i].data[0] == '*')
                || (o[i].len == origin->len
                    && ngx_strncasecmp(o[i].data, origin->data, o[i].len)
                       == 0))
            {
                return NGX_OK;
            }
        }

        return NGX_DECLINED;
    }

    hmcf = ngx_http_get_module_main_conf(hr->r, ngx_http_hangar_module);
    o = hmcf->cors_origins.elts;

    for (i = 0; i < hmcf->cors_origins.nelts; i++) {
        if (o[i].len == origin->len
            && ngx_strncasecmp(o[i].data, origin->data, o[i].len) == 0)
        {
            return NGX_OK;
        }
    }

    p = origin->data;
    last = p + origin->len;

    if (origin->len > 7 && ngx_strncasecmp(p, (u_char *) "http://", 7) == 0) {
        host = p + 7;

    } else if (origin->len > 8
               && ngx_strncasecmp(p, (u_char *) "https://", 8) == 0)
    {
        host = p + 8;

    } else {
        return NGX_DECLINED;
    }

    for (p = host; p < last && *p != ':' && *p != '/'; p++) {
        if (*p == '[') {
            p = ngx_strlchr(p, last, ']');
            if (p == NULL) {
                return NGX_DECLINED;
            }
        }
    }

    return ngx_http_hangar_mcp_local(host, p - host) ? NGX_OK : NGX_DECLINED;
}


static ngx_uint_t
ngx_http_hangar_mcp_local(u_char *host, size_t len)
{
    return (len == 9 && ngx_strncasecmp(host, (u_char *) "localhost", 9) == 0)
           || (len == 9 && ngx_strncmp(host, "127.0.0.1", 9) == 0)
           || (len == 5 && ngx_strncmp(host, "[::1]", 5) == 0);
}


/*
 * The Host a request names: hangar_mcp_hosts, or by default the local
 * host's names and the server's own server_name.
 */

static ngx_int_t
ngx_http_hangar_mcp_host(ngx_http_hangar_req_t *hr)
{
    ngx_str_t                    host;
    ngx_http_connection_t       *hc;
    ngx_http_core_srv_conf_t    *cscf;
    ngx_http_hangar_loc_conf_t  *hlcf;

    /* r->headers_in.server: the Host without its port, lower-cased */
    host = hr->r->headers_in.server;

    if (host.len == 0) {
        return NGX_OK;
    }

    hlcf = ngx_http_get_module_loc_conf(hr->r, ngx_http_hangar_module);

    if (hlcf->hosts) {
        return ngx_http_hangar_host_match(&host, hlcf->hosts)
               ? NGX_OK : NGX_DECLINED;
    }

    if (ngx_http_hangar_mcp_local(host.data, host.len)
        || (host.len == 3 && ngx_strncmp(host.data, "::1", 3) == 0))
    {
        return NGX_OK;
    }

    cscf = ngx_http_get_module_srv_conf(hr->r, ngx_http_core_module);

    if (cscf->server_name.len == host.len
        && ngx_strncasecmp(cscf->server_name.data, host.data, host.len)
           == 0)
    {
        return NGX_OK;
    }

    /*
     * The other server_names: the array lives in the configuration's
     * temporary pool, gone at run time, so ask nginx's hash of them, which
     * exists when more than one server shares the address.
     */
    hc = hr->r->http_connection;

    if (hc && hc->addr_conf && hc->addr_conf->virtual_names
        && ngx_hash_find_combined(&hc->addr_conf->virtual_names->names,
                                  ngx_hash_key(host.data, host.len),
                                  host.data, host.len)
           == cscf)
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}
