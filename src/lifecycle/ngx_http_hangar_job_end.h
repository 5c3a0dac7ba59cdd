
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * A job's record, and the end of each kind of job: how its outcome moves
 * the state machine (the jobs themselves: ngx_http_hangar_job.c, above).
 */


#ifndef _NGX_HTTP_HANGAR_JOB_END_H_INCLUDED_
#define _NGX_HTTP_HANGAR_JOB_END_H_INCLUDED_


#include "ngx_http_hangar.h"
#include "ngx_http_hangar_registry.h"
#include "ngx_http_hangar_client.h"
#include "ngx_http_hangar_spawn.h"


typedef struct ngx_http_hangar_job_s  ngx_http_hangar_job_t;

typedef void (*ngx_http_hangar_step_pt)(ngx_http_hangar_job_t *job,
    ngx_http_hangar_value_t *msg);

/* the answer (or progress) of a client's call to a server */
typedef void (*ngx_http_hangar_result_pt)(void *data,
    ngx_http_hangar_value_t *msg, ngx_str_t *error);

/* the completion of a kind of job: ok, or the text of what failed */
typedef void (*ngx_http_hangar_job_done_pt)(ngx_http_hangar_job_t *job,
    ngx_uint_t ok, ngx_str_t *text);

/* a start, or a health check: a chain of JSON-RPC calls to one server */
struct ngx_http_hangar_job_s {
    ngx_pool_t                  *pool;
    ngx_log_t                   *log;
    ngx_http_hangar_registry_t  *reg;
    ngx_uint_t                   kind;      /* NGX_HTTP_HANGAR_JOB_* */
    ngx_http_hangar_job_done_pt  done;
    ngx_str_t                    id;
    ngx_atomic_uint_t            seq;
    ngx_uint_t                   bridge_seq;   /* of the socket to talk to */
    ngx_http_hangar_value_t     *spec;
    ngx_uint_t                   mode;
    ngx_msec_t                   begun;
    uint64_t                     begun_us;  /* history's clock */
    ngx_msec_t                   timeout;

    ngx_http_hangar_spawn_t      spawn;     /* of a stdio server's start */
    ngx_event_t                  timer;
    ngx_pid_t                    bridge_pid;
    ngx_pid_t                    server_pid;

    ngx_http_hangar_call_t      *call;
    ngx_str_t                    target;
    ngx_str_t                    host;
    ngx_str_t                    uri;
    ngx_str_t                    headers;
    ngx_str_t                    session;
    ngx_str_t                    protocol;
    ngx_str_t                    ca_file;
    ngx_msec_t                   connect_timeout;
    ngx_uint_t                   max_failures;  /* of the spec */
    ngx_msec_t                   idle_ttl;
    ngx_msec_t                   interval;      /* of health checks */
    unsigned                     tls:1;
    unsigned                     verify:1;
    unsigned                     guard:1;   /* SSRF: not hangar.yaml's */
    ngx_array_t                 *remote_allow;  /* + runtime addresses */
    int64_t                      rpc_id;
    ngx_http_hangar_step_pt      step;
    /* a listener sets out on its own (ngx_http_hangar_stream_begin()) */
    void                       (*open)(ngx_http_hangar_job_t *job);

    ngx_http_hangar_value_t     *init_result;
    ngx_http_hangar_value_t     *tools;
    unsigned                     check:1;    /* a health check, not a start */
    unsigned                     refresh:1;  /* tools/list again */
    unsigned                     calling:1;  /* a call for a client */

    const char                  *method;
    u_char                      *params;
    ngx_http_hangar_result_pt    result;
    ngx_http_hangar_result_pt    progress;   /* messages before the result */
    ngx_str_t                    tool;       /* for the history */
    void                        *data;
    unsigned                     pinged:1;
};


/* what a job does */
#define NGX_HTTP_HANGAR_JOB_START    0
#define NGX_HTTP_HANGAR_JOB_CHECK    1
#define NGX_HTTP_HANGAR_JOB_REFRESH  2
#define NGX_HTTP_HANGAR_JOB_STREAM   3
#define NGX_HTTP_HANGAR_JOB_CALL     4


/* the completion of a kind of job (NGX_HTTP_HANGAR_JOB_*) */
ngx_http_hangar_job_done_pt ngx_http_hangar_job_end(ngx_uint_t kind);

/*
 * The end of a job: what it has open is closed, then its completion runs
 * with the outcome (ok, or the message of what failed); the completion
 * frees the job.
 */
void ngx_http_hangar_job_done(ngx_http_hangar_job_t *job, ngx_uint_t ok,
    const char *fmt, ...);
void ngx_http_hangar_job_free(ngx_http_hangar_job_t *job);


#endif /* _NGX_HTTP_HANGAR_JOB_END_H_INCLUDED_ */
