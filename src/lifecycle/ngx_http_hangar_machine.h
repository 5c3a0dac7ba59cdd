
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The server state machine (hangar-core.md §2.3): every change of a
 * server's state, the calls in flight to it and the failure policy.
 */


#ifndef _NGX_HTTP_HANGAR_MACHINE_H_INCLUDED_
#define _NGX_HTTP_HANGAR_MACHINE_H_INCLUDED_


#include "ngx_http_hangar.h"
#include "ngx_http_hangar_registry.h"


/* a stop lets calls in flight finish for at most this long */
#define NGX_HTTP_HANGAR_DRAIN_MS     30000
#define NGX_HTTP_HANGAR_START_MS     30000


/* what failed, for the failure policy */
typedef enum {
    NGX_HTTP_HANGAR_FAIL_START = 0,
    NGX_HTTP_HANGAR_FAIL_CHECK,
    NGX_HTTP_HANGAR_FAIL_CALL,
    NGX_HTTP_HANGAR_FAIL_CRASH
} ngx_http_hangar_fail_e;


/* what a run leaves behind: a bridge and its server's process group */
typedef struct {
    ngx_pid_t                    bridge;
    ngx_pid_t                    server;
} ngx_http_hangar_run_t;


/*
 * Milliseconds of CLOCK_MONOTONIC: the same clock in every worker, never
 * stepped.  Times kept in shm for decisions are of this clock and are
 * compared by signed differences only.
 */
ngx_msec_t ngx_http_hangar_mono_ms(void);
#define ngx_http_hangar_since(now, then)  ((ngx_msec_int_t) ((now) - (then)))

/* with the slab mutex held */
ngx_atomic_uint_t ngx_http_hangar_machine_begin(
    ngx_http_hangar_registry_t *reg, ngx_http_hangar_node_t *n,
    ngx_http_hangar_run_t *old);
ngx_int_t ngx_http_hangar_machine_backoff(ngx_http_hangar_node_t *n,
    ngx_msec_t now, ngx_msec_t *retry_ms);
void ngx_http_hangar_machine_ready(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_http_hangar_run_t *run);
void ngx_http_hangar_machine_fail(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_http_hangar_fail_e kind);
void ngx_http_hangar_machine_success(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_http_hangar_fail_e kind);
ngx_uint_t ngx_http_hangar_machine_stop(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n, ngx_uint_t block, ngx_uint_t force,
    ngx_http_hangar_run_t *run);
ngx_uint_t ngx_http_hangar_machine_enter(ngx_http_hangar_node_t *n);
ngx_uint_t ngx_http_hangar_machine_idle(ngx_http_hangar_node_t *n,
    ngx_msec_t now);

/* a crash seen by whoever watches the bridge (ngx_http_hangar_proc.c) */
void ngx_http_hangar_machine_crashed(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_node_t *n);

/* without the mutex */
void ngx_http_hangar_machine_leave(ngx_http_hangar_registry_t *reg,
    ngx_str_t *id);
void ngx_http_hangar_machine_sweep(ngx_http_hangar_registry_t *reg,
    ngx_log_t *log);
void ngx_http_hangar_machine_drains(ngx_http_hangar_registry_t *reg);
void ngx_http_hangar_machine_exit(ngx_http_hangar_registry_t *reg);
ngx_int_t ngx_http_hangar_machine_end_run(ngx_http_hangar_registry_t *reg,
    ngx_str_t *id, ngx_atomic_uint_t seq, ngx_http_hangar_run_t *run,
    ngx_log_t *log);


#endif /* _NGX_HTTP_HANGAR_MACHINE_H_INCLUDED_ */
