
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * What a discovery cycle changes (ngx_http_hangar_discovery_decide.c).
 */


#ifndef _NGX_HTTP_HANGAR_DISCOVERY_DECIDE_H_INCLUDED_
#define _NGX_HTTP_HANGAR_DISCOVERY_DECIDE_H_INCLUDED_


#include "ngx_http_hangar_discovery_view.h"


/* every item found, by name: the winner decided (tracked, pending,
   quarantined, or a change in cy->acts), then what expired */
ngx_int_t ngx_http_hangar_disc_decide_all(ngx_http_hangar_disc_cycle_t *cy);


#endif /* _NGX_HTTP_HANGAR_DISCOVERY_DECIDE_H_INCLUDED_ */
