
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Tool invocation history (hangar-core §1.1, §2.13): a ring in shm of
 * the calls that completed or failed, and GET
 * /api/mcp_servers/{id}/tools/history?limit=N&from_position=P.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/rand.h>
#include "ngx_http_hangar_api.h"


static void ngx_http_hangar_uuid(u_char *out);


/* the ring takes about a sixteenth of the zone, 16 records at least */

ngx_int_t
ngx_http_hangar_history_init(ngx_http_hangar_registry_t *reg, size_t size)
{
    ngx_uint_t  n;

    n = ngx_max(16, size / 16 / sizeof(ngx_http_hangar_record_call_t));

    reg->sh->history = ngx_slab_calloc(reg->shpool,
                           n * sizeof(ngx_http_hangar_record_call_t));
    if (reg->sh->history == NULL) {
        return NGX_ERROR;
    }

    reg->sh->history_size = n;

    return NGX_OK;
}


static void
ngx_http_hangar_uuid(u_char *out)
{
    u_char  r[16];

    if (RAND_bytes(r, sizeof(r)) != 1) {
        ngx_memzero(r, sizeof(r));
    }

    r[6] = (r[6] & 0x0f) | 0x40;
    r[8] = (r[8] & 0x3f) | 0x80;

    ngx_sprintf(out, "%*xs-%*xs-%*xs-%*xs-%*xs%Z", 4, r, 2, r + 4, 2, r + 6,
                2, r + 8, 6, r + 10);
}


/* with the slab mutex held: n is the server's node */

void
ngx_http_hangar_history_add(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_str_t *tool, ngx_msec_t begun,
    ngx_msec_t now, size_t size, const char *error_type, ngx_str_t *error)
{
    ngx_atomic_uint_t               seq;
    ngx_http_hangar_record_call_t  *h;

    if (reg->sh->history_size == 0) {
        return;
    }

    seq = ++reg->sh->history_seq;
    h = &reg->sh->history[seq % reg->sh->history_size];

    h->seq = seq;
    h->position = n->history_pos++;
    h->time = now;
    h->duration = now - begun;
    h->size = size;

    *ngx_cpymem(h->server, n->id, n->id_len) = '\0';
    *ngx_cpymem(h->tool, tool->data, ngx_min(tool->len, sizeof(h->tool) - 1))
        = '\0';

    ngx_http_hangar_uuid(h->event_id);
    ngx_http_hangar_uuid(h->correlation_id);

    h->failed = (error_type != NULL);

    if (error_type) {
        ngx_cpystrn(h->error_type, (u_char *) error_type,
                    sizeof(h->error_type));
        *ngx_cpymem(h->error, error->data,
                    ngx_min(error->len, sizeof(h->error) - 1)) = '\0';
    }
}


/*
 * GET /api/mcp_servers/{id}/tools/history: an unknown server is a 404,
 * limit (1..500, default 100) and from_position (0 or more) out of their
 * ranges a 422 naming them.
 */

ngx_int_t
ngx_http_hangar_servers_history(ngx_http_hangar_req_t *hr)
{
    ngx_int_t                       limit, from;
    ngx_str_t                      *id;
    ngx_uint_t                      i, count, size, known;
    ngx_atomic_uint_t               seq;
    ngx_http_hangar_out_t          *out;
    ngx_http_hangar_registry_t     *reg;
    ngx_http_hangar_record_call_t  *h;

    reg = hr->reg;
    id = &hr->params[0];
    out = &hr->out;

    ngx_http_hangar_lock(reg);
    known = ngx_http_hangar_find(&reg->sh->servers, id->data, id->len)
            != NULL;
    ngx_http_hangar_unlock(reg);

    if (!known) {
        return ngx_http_hangar_not_found(hr, id);
    }

    if (ngx_http_hangar_int_arg(hr, "limit", 100, 1, 500, &limit) != NGX_OK
        || ngx_http_hangar_int_arg(hr, "from_position", 0, 0,
                                   NGX_MAX_INT_T_VALUE, &from)
           != NGX_OK)
    {
        return hr->rc;
    }

    ngx_http_hangar_out_lit(out, "{\"mcp_server_id\":");
    ngx_http_hangar_out_str(out, id->data, id->len);
    ngx_http_hangar_out_lit(out, ",\"history\":[");

    count = 0;

    ngx_http_hangar_lock(reg);

    size = reg->sh->history_size;
    seq = reg->sh->history_seq;

    /* oldest first: the ring from the slot after the newest */
    for (i = (seq > size) ? seq - size + 1 : 1;
         i <= seq && count < (ngx_uint_t) limit;
         i++)
    {
        h = &reg->sh->history[i % size];

        if (h->seq != i || h->position < (ngx_uint_t) from
            || ngx_strlen(h->server) != id->len
            || ngx_strncmp(h->server, id->data, id->len) != 0)
        {
            continue;
        }

        if (count++) {
            ngx_http_hangar_out_lit(out, ",");
        }

        ngx_http_hangar_out_printf(out,
            "{\"event_type\":\"%s\",\"event_id\":\"%s\",\"occurred_at\":",
            h->failed ? "ToolInvocationFailed" : "ToolInvocationCompleted",
            h->event_id);
        ngx_http_hangar_out_num(out, (double) h->time / 1000);
        ngx_http_hangar_out_printf(out, ",\"produced_by\":\"%s\","
                                   "\"mcp_server_id\":", reg->sh->instance_id);
        ngx_http_hangar_out_str(out, h->server, ngx_strlen(h->server));
        ngx_http_hangar_out_lit(out, ",\"tool_name\":");
        ngx_http_hangar_out_str(out, h->tool, ngx_strlen(h->tool));
        ngx_http_hangar_out_printf(out, ",\"correlation_id\":\"%s\","
                                   "\"duration_ms\":", h->correlation_id);
        ngx_http_hangar_out_num(out, (double) h->duration);

        if (h->failed) {
            ngx_http_hangar_out_lit(out, ",\"error_message\":");
            ngx_http_hangar_out_str(out, h->error, ngx_strlen(h->error));
            ngx_http_hangar_out_lit(out, ",\"error_type\":");
            ngx_http_hangar_out_str(out, h->error_type,
                                    ngx_strlen(h->error_type));

        } else {
            ngx_http_hangar_out_printf(out, ",\"result_size_bytes\":%uz",
                                       h->size);
        }

        ngx_http_hangar_out_printf(out, ",\"position\":%ui,"
                                   "\"identity_context\":null}",
                                   h->position);
    }

    ngx_http_hangar_unlock(reg);

    ngx_http_hangar_out_printf(out, "],\"total\":%ui}", count);

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}
