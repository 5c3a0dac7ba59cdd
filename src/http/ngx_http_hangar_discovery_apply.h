
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * A discovery cycle's changes made (ngx_http_hangar_discovery_apply.c).
 */


#ifndef _NGX_HTTP_HANGAR_DISCOVERY_APPLY_H_INCLUDED_
#define _NGX_HTTP_HANGAR_DISCOVERY_APPLY_H_INCLUDED_


#include "ngx_http_hangar_discovery_view.h"


/* cy->acts made, on the event loop; cy->finish(cy) when they are */
void ngx_http_hangar_disc_apply(ngx_event_t *ev);


#endif /* _NGX_HTTP_HANGAR_DISCOVERY_APPLY_H_INCLUDED_ */
