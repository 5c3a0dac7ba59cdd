
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Processes (ngx_http_hangar_proc.c): bridges and their servers.
 */


#ifndef _NGX_HTTP_HANGAR_PROC_H_INCLUDED_
#define _NGX_HTTP_HANGAR_PROC_H_INCLUDED_


#include "ngx_http_hangar_job.h"


/* the name of a bridge's socket under <state>, as the longest it can be */
#define NGX_HTTP_HANGAR_SOCK_NAME  "/run/0123456789abcdef.sock"


ngx_int_t ngx_http_hangar_proc_check(ngx_conf_t *cf, ngx_str_t *state_dir);
void ngx_http_hangar_terminate(ngx_pid_t bridge, ngx_pid_t server);
ngx_int_t ngx_http_hangar_alive(ngx_pid_t pid);

/* /proc/<pid>/stat */
typedef struct {
    u_char                       state;     /* 'R', 'S', 'Z', ... */
    ngx_pid_t                    ppid;
    ngx_pid_t                    sid;
    char                         name[32];
} ngx_http_hangar_pstat_t;

u_char ngx_http_hangar_proc_stat(ngx_pid_t pid, ngx_http_hangar_pstat_t *st);
void ngx_http_hangar_watch_scan(ngx_http_hangar_registry_t *reg);
void ngx_http_hangar_watch_exit(void);

/*
 * The bridge of a start.  The spawn code learns
 * the bridge's and server's pids into job->bridge_pid and job->server_pid,
 * goes on with ngx_http_hangar_rpc(), and ends the job only through
 * ngx_http_hangar_job_done(), which calls the start's completion.
 */
ngx_int_t ngx_http_hangar_spawn(ngx_http_hangar_job_t *job);


#endif /* _NGX_HTTP_HANGAR_PROC_H_INCLUDED_ */
