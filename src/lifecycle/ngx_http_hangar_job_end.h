
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The end of each kind of job: how its outcome moves the state machine.
 */


#ifndef _NGX_HTTP_HANGAR_JOB_END_H_INCLUDED_
#define _NGX_HTTP_HANGAR_JOB_END_H_INCLUDED_


#include "ngx_http_hangar_job.h"


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
