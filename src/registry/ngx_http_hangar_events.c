
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hangar_registry.h"
#include "ngx_http_hangar_events.h"


static ngx_http_hangar_event_t *ngx_http_hangar_event_begin(
    ngx_http_hangar_registry_t *reg, const char *type, u_char *id,
    size_t id_len);
static void ngx_http_hangar_event_end(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_event_t *e);


/*
 * The event ring (hangar-core.md §5).  Writers are serialised by a
 * spinlock held only to copy a fixed record into the next slot; the seq
 * of a slot is 0 while it is written and event_seq moves after it, so a
 * reader (lock-free) sees only whole events, in order.  Nothing here
 * formats, allocates or logs: a caller may hold the slab mutex.
 */

ngx_int_t
ngx_http_hangar_events_init(ngx_http_hangar_registry_t *reg, size_t size)
{
    ngx_uint_t  n;

    n = ngx_max(NGX_HTTP_HANGAR_EVENTS_MIN,
                size / 16 / sizeof(ngx_http_hangar_event_t));

    reg->sh->events = ngx_slab_calloc(reg->shpool,
                                      n * sizeof(ngx_http_hangar_event_t));
    if (reg->sh->events == NULL) {
        return NGX_ERROR;
    }

    reg->sh->events_size = n;
    reg->sh->event_salt = (uint32_t) (ngx_random() ^ (ngx_pid << 8));

    return NGX_OK;
}


static ngx_http_hangar_event_t *
ngx_http_hangar_event_begin(ngx_http_hangar_registry_t *reg,
    const char *type, u_char *id, size_t id_len)
{
    ngx_http_hangar_event_t  *e;

    ngx_spinlock(&reg->sh->event_lock, 1, 1024);

    e = &reg->sh->events[(reg->sh->event_seq + 1) % reg->sh->events_size];

    e->seq = 0;
    ngx_memory_barrier();

    e->time = ngx_http_hangar_now_ms();
    ngx_cpystrn(e->type, (u_char *) type, sizeof(e->type));
    *ngx_cpymem(e->id, id, ngx_min(id_len, NGX_HTTP_HANGAR_ID_MAX)) = '\0';
    e->nfields = 0;
    e->data[0] = '\0';

    return e;
}


static void
ngx_http_hangar_event_end(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_event_t *e)
{
    ngx_atomic_uint_t  seq;

    seq = reg->sh->event_seq + 1;

    ngx_memory_barrier();
    e->seq = seq;
    ngx_memory_barrier();
    reg->sh->event_seq = seq;

    ngx_unlock(&reg->sh->event_lock);
}


void
ngx_http_hangar_event(ngx_http_hangar_registry_t *reg, const char *type,
    u_char *id, size_t id_len, const char *fmt, ...)
{
    u_char                   *p, data[NGX_HTTP_HANGAR_EVENT_DATA];
    va_list                   args;
    ngx_http_hangar_event_t  *e;

    if (reg->sh->events_size == 0) {
        return;
    }

    /* formatted before the ring is touched */
    va_start(args, fmt);
    p = ngx_vslprintf(data, data + sizeof(data) - 1, fmt, args);
    va_end(args);

    e = ngx_http_hangar_event_begin(reg, type, id, id_len);
    *ngx_cpymem(e->data, data, p - data) = '\0';
    ngx_http_hangar_event_end(reg, e);
}


void
ngx_http_hangar_event_fields(ngx_http_hangar_registry_t *reg,
    const char *type, u_char *id, size_t id_len, ngx_http_hangar_efield_t *f,
    ngx_uint_t n)
{
    ngx_uint_t                      i;
    ngx_http_hangar_event_t        *e;
    ngx_http_hangar_event_field_t  *ef;

    if (reg->sh->events_size == 0) {
        return;
    }

    e = ngx_http_hangar_event_begin(reg, type, id, id_len);

    for (i = 0; i < n && i < NGX_HTTP_HANGAR_EVENT_FIELDS; i++) {
        ef = &e->fields[i];

        ngx_cpystrn(ef->key, (u_char *) f[i].key, sizeof(ef->key));
        ef->is_num = (f[i].str == NULL);
        ef->num = f[i].num;
        ef->str[0] = '\0';

        if (f[i].str) {
            ngx_cpystrn(ef->str, (u_char *) f[i].str, sizeof(ef->str));
        }
    }

    e->nfields = i;

    ngx_http_hangar_event_end(reg, e);
}


ngx_uint_t
ngx_http_hangar_events_read(ngx_http_hangar_registry_t *reg,
    ngx_atomic_uint_t from, ngx_http_hangar_event_t *out, ngx_uint_t max,
    ngx_atomic_uint_t *oldest)
{
    ngx_uint_t                n, size;
    ngx_atomic_uint_t         last, first, seq;
    ngx_http_hangar_event_t  *e;

    size = reg->sh->events_size;
    last = reg->sh->event_seq;
    ngx_memory_barrier();

    first = (last > size) ? last - size + 1 : 1;
    *oldest = first;

    if (from < first) {
        from = first;
    }

    for (n = 0, seq = from; seq <= last && n < max; seq++) {
        e = &reg->sh->events[seq % size];

        ngx_memcpy(&out[n], e, sizeof(ngx_http_hangar_event_t));
        ngx_memory_barrier();

        if (out[n].seq != seq || e->seq != seq) {
            /* overwritten by a writer lapping the reader: gone */
            *oldest = seq + 1;
            continue;
        }

        n++;
    }

    return n;
}
