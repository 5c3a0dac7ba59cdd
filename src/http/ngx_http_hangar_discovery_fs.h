
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The filesystem discovery source (ngx_http_hangar_discovery_fs.c).
 */


#ifndef _NGX_HTTP_HANGAR_DISCOVERY_FS_H_INCLUDED_
#define _NGX_HTTP_HANGAR_DISCOVERY_FS_H_INCLUDED_


#include "ngx_http_hangar_discovery_state.h"


/* the filesystem source: the items of its directory, read on the thread
   pool; NGX_AGAIN, then done() once (NGX_ERROR: nothing was started) */
ngx_int_t ngx_http_hangar_disc_fs_scan(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_disc_source_t *src, ngx_array_t *items,
    ngx_http_hangar_disc_done_pt done, void *data);
/* inotify on its directory (once per worker): handler on a change */
ngx_int_t ngx_http_hangar_disc_fs_watch(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_disc_source_t *src, ngx_event_handler_pt handler);
void ngx_http_hangar_disc_fs_unwatch(void);


#endif /* _NGX_HTTP_HANGAR_DISCOVERY_FS_H_INCLUDED_ */
