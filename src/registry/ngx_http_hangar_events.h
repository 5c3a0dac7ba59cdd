
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The event ring in the zone (hangar-core.md §5).  Its records are in
 * ngx_http_hangar_registry.h with the zone's other shared structures, and
 * that header includes this one at its end (include it, not this).
 */


#ifndef _NGX_HTTP_HANGAR_EVENTS_H_INCLUDED_
#define _NGX_HTTP_HANGAR_EVENTS_H_INCLUDED_


/* from init_zone, for a new zone: a sixteenth of its size */
ngx_int_t ngx_http_hangar_events_init(ngx_http_hangar_registry_t *reg,
    size_t size);
/* formats first: never with the slab mutex held */
void ngx_http_hangar_event(ngx_http_hangar_registry_t *reg, const char *type,
    u_char *id, size_t id_len, const char *fmt, ...);
/* copies fixed fields: safe with the slab mutex held */
void ngx_http_hangar_event_fields(ngx_http_hangar_registry_t *reg,
    const char *type, u_char *id, size_t id_len,
    ngx_http_hangar_efield_t *f, ngx_uint_t n);
/* copies up to max events after seq "from"; *oldest: the first in the ring */
ngx_uint_t ngx_http_hangar_events_read(ngx_http_hangar_registry_t *reg,
    ngx_atomic_uint_t from, ngx_http_hangar_event_t *out, ngx_uint_t max,
    ngx_atomic_uint_t *oldest);


#endif /* _NGX_HTTP_HANGAR_EVENTS_H_INCLUDED_ */
