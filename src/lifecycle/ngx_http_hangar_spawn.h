
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Spawning bridges (ngx_http_hangar_spawn.c).
 */


#ifndef _NGX_HTTP_HANGAR_SPAWN_H_INCLUDED_
#define _NGX_HTTP_HANGAR_SPAWN_H_INCLUDED_


#include "ngx_http_hangar.h"
#include "ngx_http_hangar_registry.h"


typedef struct ngx_http_hangar_spawn_s  ngx_http_hangar_spawn_t;

/*
 * The outcome of a spawn, told once: NGX_OK the bridge runs its server
 * and listens on its socket; NGX_ERROR it could not be run (text: why);
 * NGX_DECLINED the bridge reports that its server failed to start (text:
 * the bridge's status JSON, with exit code and stderr tail).
 */
typedef void (*ngx_http_hangar_spawned_pt)(ngx_http_hangar_spawn_t *sp,
    ngx_int_t rc, ngx_str_t *text);

struct ngx_http_hangar_spawn_s {
    ngx_pool_t                  *pool;
    ngx_log_t                   *log;
    ngx_str_t                   *state_dir;
    ngx_str_t                    id;        /* null-terminated */
    ngx_uint_t                   seq;       /* of the run: its file names */
    ngx_uint_t                   mode;
    ngx_http_hangar_value_t     *spec;

    ngx_connection_t            *ready;     /* the bridge's status pipe */
    ngx_buf_t                   *status;    /* set once the bridge runs */
    ngx_pid_t                    bridge_pid;
    ngx_pid_t                    server_pid;

    ngx_http_hangar_spawned_pt   handler;
    void                        *data;
};


/*
 * The bridge of a start.  The handler is called with the outcome, from
 * within this call when the bridge could not even be run (NGX_ERROR is
 * returned then; out of memory before anything ran returns it without a
 * call: the start ends by its timeout).  A caller that gives up first
 * closes sp->ready.
 */
ngx_int_t ngx_http_hangar_spawn(ngx_http_hangar_spawn_t *sp);


#endif /* _NGX_HTTP_HANGAR_SPAWN_H_INCLUDED_ */
