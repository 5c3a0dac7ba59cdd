
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The YAML loader with the field table (ngx_http_hangar_yaml.c and
 * ngx_http_hangar_spec.c), as "hangar_config" runs them: the file parses
 * or fails with a message; ${VAR} expansion; each entry under
 * mcp_servers and groups is validated as from the file and as from the
 * API; a valid spec renders to JSON that parses again.
 */


#include "ngx_fuzz.h"
#include "ngx_http_hangar_value.h"
#include "ngx_http_hangar_yaml.h"
#include "ngx_http_hangar_spec.h"


static void
ngx_fuzz_section(ngx_pool_t *pool, ngx_http_hangar_value_t *map,
    const char *section)
{
    ngx_str_t                    text, err;
    ngx_uint_t                   i, source;
    ngx_http_hangar_pair_t      *pair;
    ngx_http_hangar_value_t     *in, *spec;
    ngx_http_hangar_spec_ctx_t   ctx;

    if (!ngx_http_hangar_is(map, NGX_HTTP_HANGAR_OBJ)) {
        return;
    }

    pair = map->u.obj.elts;

    for (i = 0; i < map->u.obj.nelts; i++) {
        if (!ngx_http_hangar_spec_id_valid(&pair[i].key,
                                           NGX_HTTP_HANGAR_SPEC_CONFIG))
        {
            continue;
        }

        for (source = NGX_HTTP_HANGAR_SPEC_CONFIG;
             source <= NGX_HTTP_HANGAR_SPEC_API;
             source++)
        {
            in = ngx_http_hangar_value_copy(pool, pair[i].value);
            if (in == NULL) {
                return;
            }

            ngx_memzero(&ctx, sizeof(ngx_http_hangar_spec_ctx_t));
            ctx.pool = pool;
            ctx.log = pool->log;
            ctx.source = source;
            ngx_str_set(&ctx.file, "fuzz.yaml");
            ctx.prefix.data = (u_char *) section;
            ctx.prefix.len = ngx_strlen(section);

            if (ngx_http_hangar_spec_server(&ctx, &pair[i].key, in, &spec)
                != NGX_OK)
            {
                if (ctx.message.len == 0) {
                    __builtin_trap();
                }

                continue;
            }

            if (ngx_http_hangar_json_text(pool, spec, &text) != NGX_OK
                || ngx_http_hangar_json_parse(pool, text.data, text.len,
                                              &err)
                   == NULL)
            {
                __builtin_trap();
            }
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                       fd;
    char                      name[64];
    ngx_str_t                 file, err;
    ngx_pool_t               *pool;
    ngx_http_hangar_value_t  *doc;

    /* the loader reads a file, as nginx -t does */
    snprintf(name, sizeof(name), "/tmp/hangar-fuzz-yaml.%d", (int) getpid());

    fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd == -1 || write(fd, data, size) != (ssize_t) size) {
        __builtin_trap();
    }

    close(fd);

    pool = ngx_create_pool(4096, ngx_fuzz_log_new());
    if (pool == NULL) {
        return 0;
    }

    file.data = (u_char *) name;
    file.len = ngx_strlen(name);

    doc = ngx_http_hangar_yaml_parse(pool, &file, &err);

    if (doc == NULL) {
        if (err.len == 0) {
            __builtin_trap();
        }

    } else if (ngx_http_hangar_interpolate(pool, doc, &err) == NGX_OK
               && ngx_http_hangar_is(doc, NGX_HTTP_HANGAR_OBJ))
    {
        ngx_fuzz_section(pool, ngx_http_hangar_get(doc, "mcp_servers"),
                         "mcp_servers.");
        ngx_fuzz_section(pool, ngx_http_hangar_get(doc, "groups"),
                         "groups.");
    }

    ngx_destroy_pool(pool);

    return 0;
}
