
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#ifndef _NGX_HTTP_HANGAR_WARMUP_H_INCLUDED_
#define _NGX_HTTP_HANGAR_WARMUP_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


typedef void (*ngx_http_hangar_warmup_pt)(ngx_http_hangar_req_t *hr);


/*
 * With the slab mutex held: _begin() counts the warm-ups in flight in the
 * fleet, _node() warms a server never started if one of the slots is
 * free (else it is noted as pending, for _more()).
 */
ngx_uint_t ngx_http_hangar_warmup_begin(ngx_http_hangar_req_t *hr);
void ngx_http_hangar_warmup_node(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_node_t *node, ngx_uint_t *inflight);

/* the warm-ups still waiting for a slot, when this worker saw some */
void ngx_http_hangar_warmup_more(ngx_http_hangar_req_t *hr);

/*
 * A complete catalog for a tools/list: servers of the fleet whose catalog
 * is not known yet (never started, nothing predefined or kept from an
 * earlier run) are warmed, and the list waits for them, at most "bound"
 * ms, on a timer.  NGX_OK: nothing to wait for, list now; NGX_AGAIN:
 * done() is called once they are there or the bound is over (the caller
 * holds the request meanwhile); a server still missing then is left out
 * with a warning in the error log, and comes later with list_changed.
 */
ngx_int_t ngx_http_hangar_warmup_wait(ngx_http_hangar_req_t *hr,
    ngx_msec_t bound, ngx_http_hangar_warmup_pt done);


#endif /* _NGX_HTTP_HANGAR_WARMUP_H_INCLUDED_ */
