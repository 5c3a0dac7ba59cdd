
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * What runs of stdio servers leave behind (ngx_http_hangar_run.c).  The
 * older declarations of this file's functions (stop_all, reap,
 * run_status) are still in ngx_http_hangar_lifecycle.h.
 */


#ifndef _NGX_HTTP_HANGAR_RUN_H_INCLUDED_
#define _NGX_HTTP_HANGAR_RUN_H_INCLUDED_


#include "ngx_http_hangar.h"


/* SIGKILL to every process in the sessions of these dead bridges */
void ngx_http_hangar_kill_sessions(ngx_pid_t *sids, ngx_uint_t n);


#endif /* _NGX_HTTP_HANGAR_RUN_H_INCLUDED_ */
