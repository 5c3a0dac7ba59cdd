
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Processes (ngx_http_hangar_proc.c): bridges and their servers.  The
 * older declarations of this file's functions are still in
 * ngx_http_hangar_lifecycle.h and ngx_http_hangar_job.h.
 */


#ifndef _NGX_HTTP_HANGAR_PROC_H_INCLUDED_
#define _NGX_HTTP_HANGAR_PROC_H_INCLUDED_


#include "ngx_http_hangar.h"


/* the name of a bridge's socket under <state>, as the longest it can be */
#define NGX_HTTP_HANGAR_SOCK_NAME  "/run/0123456789abcdef.sock"


ngx_int_t ngx_http_hangar_proc_check(ngx_conf_t *cf, ngx_str_t *state_dir);


#endif /* _NGX_HTTP_HANGAR_PROC_H_INCLUDED_ */
