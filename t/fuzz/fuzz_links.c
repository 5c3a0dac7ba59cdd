
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Resource URIs of the front door (ngx_http_hangar_mcp_links.c): any bytes
 * parse as hangar://<server>/<uri> or are refused; what parses projects
 * back to the same bytes.  As JSON, a tools/call or resources/read result
 * is rewritten without fault, and every uri it rewrote parses back to the
 * server it was given.
 */


#include "ngx_fuzz.h"
#include "ngx_http_hangar_mcp_links.h"


static void
ngx_fuzz_links_check(ngx_http_hangar_value_t *obj, ngx_str_t *server)
{
    ngx_str_t                 s, u;
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_get(obj, "uri");

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        return;
    }

    /* projected from a non-empty uri: it parses back */
    if (v->u.s.len > sizeof(NGX_HTTP_HANGAR_URI_SCHEME) + server->len
        && (ngx_http_hangar_links_parse(&v->u.s, &s, &u) != NGX_OK
            || s.len != server->len
            || ngx_strncmp(s.data, server->data, s.len) != 0))
    {
        __builtin_trap();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_str_t                  in, server, uri, err, srv = ngx_string("srv");
    ngx_uint_t                 i;
    ngx_pool_t                *pool;
    ngx_http_hangar_value_t   *obj, *v, *arr, **items;

    pool = ngx_create_pool(4096, ngx_fuzz_log_new());
    if (pool == NULL) {
        return 0;
    }

    in.data = (u_char *) data;
    in.len = size;

    if (ngx_http_hangar_links_parse(&in, &server, &uri) == NGX_OK) {
        if (server.data < in.data || uri.data + uri.len != in.data + in.len
            || server.len == 0 || uri.len == 0
            || ngx_strlchr(server.data, server.data + server.len, '/'))
        {
            __builtin_trap();
        }

        obj = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
        v = ngx_http_hangar_value_str(pool, uri.data, uri.len);

        if (obj && v
            && ngx_http_hangar_set(pool, obj, (u_char *) "uri", 3, v) == NGX_OK
            && ngx_http_hangar_links_project(pool, &server, obj, "uri")
               == NGX_OK)
        {
            v = ngx_http_hangar_get(obj, "uri");

            if (v->u.s.len != in.len
                || ngx_memcmp(v->u.s.data, in.data, in.len) != 0)
            {
                __builtin_trap();
            }
        }
    }

    obj = ngx_http_hangar_json_parse(pool, (u_char *) data, size, &err);

    if (obj && ngx_http_hangar_links_rewrite(pool, &srv, obj) == NGX_OK) {
        arr = ngx_http_hangar_get(obj, "contents");

        if (ngx_http_hangar_is(arr, NGX_HTTP_HANGAR_ARR)) {
            items = arr->u.arr.elts;

            for (i = 0; i < arr->u.arr.nelts; i++) {
                ngx_fuzz_links_check(items[i], &srv);
            }
        }
    }

    ngx_destroy_pool(pool);

    return 0;
}
