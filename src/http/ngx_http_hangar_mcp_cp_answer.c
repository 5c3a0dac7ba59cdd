
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * How a control-plane tool answers (hangar-core.md §7.1): its result as
 * the tools/call result (text and structuredContent), an error it found as
 * a normal result {"error","type","details"}, a wait for a start that
 * keeps the request; and the fleet's numbers copied out under the mutex.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_mcp_cp_answer.h"
#include "ngx_http_hangar_mcp_batch.h"


static void ngx_http_hangar_cp_cleanup(void *data);


/* cp->body is the tool's result: sent now, or ending the request */

ngx_int_t
ngx_http_hangar_cp_done(ngx_http_hangar_cp_t *cp)
{
    ngx_int_t   rc;
    ngx_str_t   json;

    if (ngx_http_hangar_out_flatten(&cp->body, &json) != NGX_OK) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else {
        ngx_http_hangar_batch_answer(cp->hr, cp->id, &json, 0);
        rc = ngx_http_hangar_send(cp->hr, NGX_HTTP_OK);
    }

    if (cp->async) {
        ngx_http_finalize_request(cp->hr->r, rc);
    }

    return rc;
}


/* what the tool found wrong: {"error","type","details"} as its result */

ngx_int_t
ngx_http_hangar_cp_error(ngx_http_hangar_cp_t *cp, const char *type,
    ngx_str_t *details, const char *fmt, ...)
{
    u_char   *p, buf[1024];
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    ngx_http_hangar_out_init(&cp->body, cp->hr->r->pool, 512);
    ngx_http_hangar_out_lit(&cp->body, "{\"error\":");
    ngx_http_hangar_out_str(&cp->body, buf, p - buf);
    ngx_http_hangar_out_printf(&cp->body, ",\"type\":\"%s\",\"details\":",
                               type);

    if (details && details->len) {
        ngx_http_hangar_out_raw(&cp->body, details->data, details->len);

    } else {
        ngx_http_hangar_out_lit(&cp->body, "{}");
    }

    ngx_http_hangar_out_lit(&cp->body, "}");

    return ngx_http_hangar_cp_done(cp);
}


ngx_int_t
ngx_http_hangar_cp_unknown(ngx_http_hangar_cp_t *cp)
{
    return ngx_http_hangar_cp_error(cp, "ValueError", NULL,
                                    "unknown_mcp_server: %V", &cp->server);
}


/* the tool waits for a start: the request stays until cp_done() */

ngx_int_t
ngx_http_hangar_cp_wait(ngx_http_hangar_cp_t *cp)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(cp->hr->r->pool, 0);
    if (cln == NULL) {
        ngx_http_hangar_cp_cleanup(cp);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_hangar_cp_cleanup;
    cln->data = cp;

    cp->async = 1;
    cp->hr->r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_hangar_cp_cleanup(void *data)
{
    ngx_http_hangar_cp_t  *cp = data;

    ngx_uint_t  i;

    ngx_http_hangar_waiter_cancel(&cp->hr->waiter);

    for (i = 0; i < cp->nwarm; i++) {
        ngx_http_hangar_waiter_cancel(&cp->warm[i].waiter);
    }
}


/* what inner holds, as a JSON string in out */

ngx_int_t
ngx_http_hangar_cp_string(ngx_http_hangar_out_t *out,
    ngx_http_hangar_out_t *inner)
{
    ngx_str_t  text;

    if (ngx_http_hangar_out_flatten(inner, &text) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_hangar_out_str(out, text.data, text.len);

    return NGX_OK;
}


/* every server's numbers, copied out under the mutex */

ngx_int_t
ngx_http_hangar_cp_fleet(ngx_http_hangar_cp_t *cp, ngx_array_t *servers)
{
    ngx_int_t                     rc;
    ngx_queue_t                  *q;
    ngx_http_hangar_node_t       *n;
    ngx_http_hangar_registry_t   *reg;
    ngx_http_hangar_cp_server_t  *s;

    reg = cp->hr->reg;

    if (ngx_array_init(servers, cp->hr->r->pool, 16,
                       sizeof(ngx_http_hangar_cp_server_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = NGX_OK;

    ngx_http_hangar_lock(reg);

    for (q = ngx_queue_head(&reg->sh->servers.queue);
         q != ngx_queue_sentinel(&reg->sh->servers.queue);
         q = ngx_queue_next(q))
    {
        n = ngx_queue_data(q, ngx_http_hangar_node_t, queue);

        s = ngx_array_push(servers);
        if (s == NULL) {
            rc = NGX_ERROR;
            break;
        }

        s->id_len = n->id_len;
        ngx_memcpy(s->id, n->id, n->id_len);
        s->state = n->state % NGX_HTTP_HANGAR_NSTATES;
        ngx_memcpy(s->mode, n->mode_name, sizeof(s->mode));
        s->mode[sizeof(s->mode) - 1] = '\0';
        s->tools = n->tools_count;
        s->invocations = n->total_invocations;
        s->failures = n->total_failures;
    }

    ngx_http_hangar_unlock(reg);

    return rc;
}
