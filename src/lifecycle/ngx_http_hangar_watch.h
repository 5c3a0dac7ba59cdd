
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Watching bridges (ngx_http_hangar_watch.c): every worker sees a bridge
 * exit at once.
 */


#ifndef _NGX_HTTP_HANGAR_WATCH_H_INCLUDED_
#define _NGX_HTTP_HANGAR_WATCH_H_INCLUDED_


#include "ngx_http_hangar.h"
#include "ngx_http_hangar_registry.h"


/* every tick: bridges of the registry not watched yet are */
void ngx_http_hangar_watch_scan(ngx_http_hangar_registry_t *reg);
void ngx_http_hangar_watch_exit(void);


#endif /* _NGX_HTTP_HANGAR_WATCH_H_INCLUDED_ */
