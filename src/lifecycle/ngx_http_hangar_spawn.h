
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Spawning bridges (ngx_http_hangar_spawn.c).
 */


#ifndef _NGX_HTTP_HANGAR_SPAWN_H_INCLUDED_
#define _NGX_HTTP_HANGAR_SPAWN_H_INCLUDED_


#include "ngx_http_hangar_job.h"


/*
 * The bridge of a start.  The spawn code learns
 * the bridge's and server's pids into job->bridge_pid and job->server_pid,
 * goes on with ngx_http_hangar_rpc(), and ends the job only through
 * ngx_http_hangar_job_done(), which calls the start's completion.
 */
ngx_int_t ngx_http_hangar_spawn(ngx_http_hangar_job_t *job);


#endif /* _NGX_HTTP_HANGAR_SPAWN_H_INCLUDED_ */
