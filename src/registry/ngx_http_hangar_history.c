
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Tool invocation history (hangar-core §1.1, §2.13): a ring in shm of
 * the calls that completed or failed (read by GET
 * /api/mcp_servers/{id}/tools/history, ngx_http_hangar_api_server_ops.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/rand.h>
#include "ngx_http_hangar_history.h"
#include "ngx_http_hangar_registry.h"


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


/* the call's event for the stream: a fixed record, copied */

static void
ngx_http_hangar_history_event(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_record_call_t *h)
{
    ngx_http_hangar_efield_t  f[4];

    f[0].key = "tool_name";
    f[0].str = (char *) h->tool;
    f[1].key = "correlation_id";
    f[1].str = (char *) h->correlation_id;
    f[2].key = "duration_ms";
    f[2].str = NULL;
    f[2].num = h->duration;
    f[3].key = h->failed ? "error_type" : "result_size_bytes";
    f[3].str = h->failed ? (char *) h->error_type : NULL;
    f[3].num = h->size;

    ngx_http_hangar_event_fields(reg, h->failed ? "ToolInvocationFailed"
                                                : "ToolInvocationCompleted",
                                 h->server, ngx_strlen(h->server), f, 4);
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

    ngx_http_hangar_history_event(reg, h);
}
