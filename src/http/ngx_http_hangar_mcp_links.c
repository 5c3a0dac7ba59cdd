
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Resource URIs as the front door's clients see them (hangar-core.md
 * §7.6): hangar://<server>/<upstream uri verbatim>.  The server id has no
 * "/", so the first one after the scheme ends it and the rest is the
 * server's uri, whatever it holds.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hangar_mcp_links.h"


static ngx_int_t ngx_http_hangar_links_block(ngx_pool_t *pool,
    ngx_str_t *server, ngx_http_hangar_value_t *obj, const char *field);


/* obj.field (a uri) becomes hangar://<server>/<uri> */

ngx_int_t
ngx_http_hangar_links_project(ngx_pool_t *pool, ngx_str_t *server,
    ngx_http_hangar_value_t *obj, const char *field)
{
    u_char                   *p, *text;
    size_t                    len;
    ngx_http_hangar_value_t  *v, *nv;

    v = ngx_http_hangar_get(obj, field);

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        return NGX_OK;
    }

    len = sizeof(NGX_HTTP_HANGAR_URI_SCHEME) - 1 + server->len + 1
          + v->u.s.len;

    text = ngx_pnalloc(pool, len);
    if (text == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(text, NGX_HTTP_HANGAR_URI_SCHEME,
                   sizeof(NGX_HTTP_HANGAR_URI_SCHEME) - 1);
    p = ngx_cpymem(p, server->data, server->len);
    *p++ = '/';
    ngx_memcpy(p, v->u.s.data, v->u.s.len);

    nv = ngx_http_hangar_value_str(pool, text, len);
    if (nv == NULL) {
        return NGX_ERROR;
    }

    /* a peer's key given twice: get() read the last, set() replaces the
       first; none may stay unprojected */
    ngx_http_hangar_del(obj, field);

    return ngx_http_hangar_set(pool, obj, (u_char *) field,
                               ngx_strlen(field), nv);
}


ngx_int_t
ngx_http_hangar_links_parse(ngx_str_t *projected, ngx_str_t *server,
    ngx_str_t *uri)
{
    u_char  *p, *last, *slash;
    size_t   len;

    len = sizeof(NGX_HTTP_HANGAR_URI_SCHEME) - 1;

    if (projected->len <= len
        || ngx_strncmp(projected->data, NGX_HTTP_HANGAR_URI_SCHEME, len) != 0)
    {
        return NGX_DECLINED;
    }

    p = projected->data + len;
    last = projected->data + projected->len;

    slash = ngx_strlchr(p, last, '/');

    /* a server id: ^[A-Za-z][A-Za-z0-9_-]{0,63}$; the uri is not empty */
    if (slash == NULL || slash == p || slash - p > NGX_HTTP_HANGAR_ID_MAX
        || slash + 1 == last)
    {
        return NGX_DECLINED;
    }

    server->data = p;
    server->len = slash - p;
    uri->data = slash + 1;
    uri->len = last - slash - 1;

    return NGX_OK;
}


/*
 * Links in a result: a tools/call's content[] (resource_link blocks, the
 * uri of embedded resources), a resources/read's contents[].
 */

ngx_int_t
ngx_http_hangar_links_rewrite(ngx_pool_t *pool, ngx_str_t *server,
    ngx_http_hangar_value_t *result)
{
    ngx_uint_t                i;
    ngx_http_hangar_value_t  *arr, **items, *type;

    arr = ngx_http_hangar_get(result, "contents");

    if (ngx_http_hangar_is(arr, NGX_HTTP_HANGAR_ARR)) {
        items = arr->u.arr.elts;

        for (i = 0; i < arr->u.arr.nelts; i++) {
            if (ngx_http_hangar_links_block(pool, server, items[i], "uri")
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    arr = ngx_http_hangar_get(result, "content");

    if (!ngx_http_hangar_is(arr, NGX_HTTP_HANGAR_ARR)) {
        return NGX_OK;
    }

    items = arr->u.arr.elts;

    for (i = 0; i < arr->u.arr.nelts; i++) {
        type = ngx_http_hangar_get(items[i], "type");

        if (!ngx_http_hangar_is(type, NGX_HTTP_HANGAR_STR)) {
            continue;
        }

        if (ngx_http_hangar_str_is(&type->u.s, "resource_link")) {
            if (ngx_http_hangar_links_block(pool, server, items[i], "uri")
                != NGX_OK)
            {
                return NGX_ERROR;
            }

        } else if (ngx_http_hangar_str_is(&type->u.s, "resource")) {
            if (ngx_http_hangar_links_block(pool, server,
                                   ngx_http_hangar_get(items[i], "resource"),
                                   "uri")
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_links_block(ngx_pool_t *pool, ngx_str_t *server,
    ngx_http_hangar_value_t *obj, const char *field)
{
    if (!ngx_http_hangar_is(obj, NGX_HTTP_HANGAR_OBJ)) {
        return NGX_OK;
    }

    return ngx_http_hangar_links_project(pool, server, obj, field);
}
