
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Processes of runs (ngx_http_hangar_proc.c): probes, signals, and the
 * names of a run's files.
 */


#ifndef _NGX_HTTP_HANGAR_PROC_H_INCLUDED_
#define _NGX_HTTP_HANGAR_PROC_H_INCLUDED_


#include "ngx_http_hangar.h"
#include "ngx_http_hangar_registry.h"


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

/* SIGKILL to every process in the sessions of these dead bridges */
void ngx_http_hangar_kill_sessions(ngx_pid_t *sids, ngx_uint_t n);

/* where a server's bridge keeps its socket and status */
ngx_int_t ngx_http_hangar_run_path(ngx_pool_t *pool, ngx_str_t *state_dir,
    u_char *id, size_t len, ngx_uint_t seq, const char *ext, ngx_str_t *path);


#endif /* _NGX_HTTP_HANGAR_PROC_H_INCLUDED_ */
