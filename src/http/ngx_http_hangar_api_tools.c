
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/tools: the tools of the whole fleet.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_api_tools.h"
#include "ngx_http_hangar_catalog.h"


/*
 * GET /api/tools: every server's cached catalog (never a start);
 * input_schema is the schema as JSON text (hangar-core §1.3, §8.3).
 */

ngx_int_t
ngx_http_hangar_tools_all(ngx_http_hangar_req_t *hr)
{
    ngx_str_t                  err, text, schema;
    ngx_uint_t                 i, n, first;
    ngx_pool_t                *pool;
    ngx_array_t               *copies;
    ngx_http_hangar_out_t     *out;
    ngx_http_hangar_copy_t    *cp;
    ngx_http_hangar_value_t   *tools, **items, *name, *desc, *in;

    pool = hr->r->pool;
    out = &hr->out;

    copies = ngx_http_hangar_catalog_copy(hr, pool, 0);
    if (copies == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cp = copies->elts;

    ngx_http_hangar_out_lit(out, "{\"tools\":[");
    first = 1;

    for (n = 0; n < copies->nelts; n++) {
        tools = ngx_http_hangar_json_parse(pool, cp[n].tools.data,
                                           cp[n].tools.len, &err);
        if (!ngx_http_hangar_is(tools, NGX_HTTP_HANGAR_ARR)) {
            continue;
        }

        items = tools->u.arr.elts;

        for (i = 0; i < tools->u.arr.nelts; i++) {
            name = ngx_http_hangar_get(items[i], "name");
            desc = ngx_http_hangar_get(items[i], "description");
            in = ngx_http_hangar_get(items[i], "inputSchema");

            if (!ngx_http_hangar_is(name, NGX_HTTP_HANGAR_STR)) {
                continue;
            }

            ngx_str_set(&schema, "{}");
            if (in && ngx_http_hangar_json_text(pool, in, &text) == NGX_OK) {
                schema = text;
            }

            if (!first) {
                ngx_http_hangar_out_lit(out, ",");
            }

            first = 0;
            ngx_http_hangar_out_lit(out, "{");
            ngx_http_hangar_out_lit(out, "\"mcp_server_id\":");
            ngx_http_hangar_out_str(out, cp[n].id.data, cp[n].id.len);
            ngx_http_hangar_out_lit(out, ",\"tool_name\":");
            ngx_http_hangar_out_str(out, name->u.s.data, name->u.s.len);
            ngx_http_hangar_out_lit(out, ",\"description\":");

            if (ngx_http_hangar_is(desc, NGX_HTTP_HANGAR_STR)) {
                ngx_http_hangar_out_str(out, desc->u.s.data, desc->u.s.len);

            } else {
                ngx_http_hangar_out_lit(out, "\"\"");
            }

            ngx_http_hangar_out_lit(out, ",\"input_schema\":");
            ngx_http_hangar_out_str(out, schema.data, schema.len);
            ngx_http_hangar_out_lit(out, "}");
        }
    }

    ngx_http_hangar_out_lit(out, "]}");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}
