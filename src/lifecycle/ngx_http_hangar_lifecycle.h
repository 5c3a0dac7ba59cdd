
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Lifecycle of MCP servers (hangar-core.md §2.3-§2.8): single-flight
 * start across workers, stdio servers behind hangar-bridge processes,
 * remote servers over HTTP, crash detection, health checks, idle
 * shutdown, and the event ring.
 */


#ifndef _NGX_HTTP_HANGAR_LIFECYCLE_H_INCLUDED_
#define _NGX_HTTP_HANGAR_LIFECYCLE_H_INCLUDED_


#include "ngx_http_hangar.h"
#include "ngx_http_hangar_registry.h"
#include "ngx_http_hangar_machine.h"
#include "ngx_http_hangar_proc.h"


typedef struct ngx_http_hangar_waiter_s  ngx_http_hangar_waiter_t;

/* rc: NGX_OK ready; NGX_ERROR start failed (node->error); NGX_ABORT gone */
typedef void (*ngx_http_hangar_ready_pt)(ngx_http_hangar_waiter_t *w,
    ngx_int_t rc);

/*
 * hold: the caller makes a call to the server once it is ready; the call
 * counts as in flight (a stop drains it, idle time waits for it) until
 * ngx_http_hangar_waiter_cancel(), which every such caller runs at the end
 * of its request.
 */
struct ngx_http_hangar_waiter_s {
    ngx_event_t                  timer;
    ngx_str_t                    id;
    ngx_atomic_uint_t            seq;
    ngx_msec_t                   deadline;  /* monotonic */
    ngx_http_hangar_ready_pt     handler;
    void                        *data;
    ngx_uint_t                   starts;
    unsigned                     hold:1;
    unsigned                     held:1;
    unsigned                     explicit:1;
};


/* ensure_ready results besides NGX_OK (ready now) and NGX_AGAIN (wait) */
#define NGX_HTTP_HANGAR_BLOCKED   -10
#define NGX_HTTP_HANGAR_BACKOFF   -11
#define NGX_HTTP_HANGAR_UNKNOWN   -12


ngx_int_t ngx_http_hangar_lifecycle_init_process(ngx_cycle_t *cycle);
void ngx_http_hangar_lifecycle_exit_process(ngx_cycle_t *cycle);

/*
 * The lazy-start entry point.  NGX_AGAIN: w->handler is called when the
 * server is ready or the start failed.  explicit: a REST start, which
 * also lifts a block.  *retry_ms is set for NGX_HTTP_HANGAR_BACKOFF.
 */
ngx_int_t ngx_http_hangar_ensure_ready(ngx_http_hangar_registry_t *reg,
    ngx_str_t *id, ngx_uint_t explicit, ngx_http_hangar_waiter_t *w,
    ngx_log_t *log, ngx_msec_t *retry_ms);
void ngx_http_hangar_waiter_cancel(ngx_http_hangar_waiter_t *w);

ngx_int_t ngx_http_hangar_stop(ngx_http_hangar_registry_t *reg,
    ngx_str_t *id, const char *reason, ngx_uint_t block, ngx_log_t *log);

/*
 * What the layers above run on every worker's tick (after the lifecycle's
 * own work) and once when the worker is exiting; set by the module glue
 * before ngx_http_hangar_lifecycle_init_process(), so that this layer
 * never names the one above it.
 */
typedef void (*ngx_http_hangar_tick_pt)(ngx_http_hangar_registry_t *reg);
typedef void (*ngx_http_hangar_exit_pt)(void);

void ngx_http_hangar_lifecycle_hooks(ngx_http_hangar_tick_pt tick,
    ngx_http_hangar_exit_pt quit);


#endif /* _NGX_HTTP_HANGAR_LIFECYCLE_H_INCLUDED_ */
