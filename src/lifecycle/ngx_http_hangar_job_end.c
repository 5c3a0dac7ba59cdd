
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The end of each kind of job.  ngx_http_hangar_job_done() closes what a
 * job has open and calls the completion of its kind, which takes the
 * outcome to the state machine: a start makes the run the server's or
 * fails through the failure policy, a health check passes or fails, a
 * refresh replaces the catalog, a client's call that failed in transport
 * is counted.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include "ngx_http_hangar_job_end.h"
#include "ngx_http_hangar_history.h"
#include "ngx_http_hangar_machine.h"
#include "ngx_http_hangar_proc.h"
#include "ngx_http_hangar_state.h"
#include "ngx_http_hangar_stats.h"


static ngx_uint_t ngx_http_hangar_job_same(ngx_http_hangar_blob_t *blob,
    ngx_str_t *text);
static void ngx_http_hangar_start_done(ngx_http_hangar_job_t *job,
    ngx_uint_t ok, ngx_str_t *text);
static ngx_int_t ngx_http_hangar_start_error(ngx_http_hangar_job_t *job,
    ngx_str_t *text, ngx_str_t *errtext);
static void ngx_http_hangar_start_files(ngx_http_hangar_job_t *job,
    ngx_str_t *tools, ngx_uint_t prev);
static void ngx_http_hangar_check_done(ngx_http_hangar_job_t *job,
    ngx_uint_t ok, ngx_str_t *text);
static void ngx_http_hangar_refresh_done(ngx_http_hangar_job_t *job,
    ngx_uint_t ok, ngx_str_t *text);
static void ngx_http_hangar_stream_failed(ngx_http_hangar_job_t *job,
    ngx_uint_t ok, ngx_str_t *text);
static const char *ngx_http_hangar_call_failure(ngx_http_hangar_job_t *job);
static void ngx_http_hangar_call_failed(ngx_http_hangar_job_t *job,
    ngx_uint_t ok, ngx_str_t *text);


/* by NGX_HTTP_HANGAR_JOB_* */
static ngx_http_hangar_job_done_pt  ngx_http_hangar_job_ends[] = {
    ngx_http_hangar_start_done,
    ngx_http_hangar_check_done,
    ngx_http_hangar_refresh_done,
    ngx_http_hangar_stream_failed,
    ngx_http_hangar_call_failed
};


ngx_http_hangar_job_done_pt
ngx_http_hangar_job_end(ngx_uint_t kind)
{
    return ngx_http_hangar_job_ends[kind];
}


/*
 * The end of a job, for its steps: what is open is closed, then the
 * completion of the job's kind runs with the outcome (ok, or the message
 * of what failed; fmt "\x01%V" passes the bridge's status JSON).
 */

void
ngx_http_hangar_job_done(ngx_http_hangar_job_t *job, ngx_uint_t ok,
    const char *fmt, ...)
{
    u_char     *p, buf[8192];
    va_list     args;
    ngx_str_t   text;

    if (job->timer.timer_set) {
        ngx_del_timer(&job->timer);
    }

    if (job->call) {
        ngx_http_hangar_call_cancel(job->call);
        ngx_destroy_pool(job->call->pool);
        job->call = NULL;
    }

    if (job->spawn.ready) {
        ngx_close_connection(job->spawn.ready);
        job->spawn.ready = NULL;
    }

    ngx_str_null(&text);

    if (!ok && fmt) {
        va_start(args, fmt);
        p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
        va_end(args);

        text.data = buf;
        text.len = p - buf;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, job->log, 0,
                   "hangar: job %ui of \"%V\" done, ok: %ui", job->kind,
                   &job->id, ok);

    /* what follows is the outcome, no longer the action */
    job->log->action = NULL;

    job->done(job, ok, &text);
}


void
ngx_http_hangar_job_free(ngx_http_hangar_job_t *job)
{
    if (job->timer.timer_set) {
        ngx_del_timer(&job->timer);
    }

    if (job->timer.posted) {
        ngx_delete_posted_event(&job->timer);
    }

    ngx_destroy_pool(job->pool);
}


/*
 * What a call that got no answer ran into: its timeout, the end of the
 * bridge of a stdio server (the server crashed), or the transport.
 */

static const char *
ngx_http_hangar_call_failure(ngx_http_hangar_job_t *job)
{
    if (job->timer.timedout) {
        return NGX_HTTP_HANGAR_HISTORY_TIMEOUT;
    }

    return (job->mode != NGX_HTTP_HANGAR_MODE_REMOTE)
           ? NGX_HTTP_HANGAR_HISTORY_CRASH : NGX_HTTP_HANGAR_HISTORY_FAILED;
}


/* a transport failure or timeout of a client's call */

static void
ngx_http_hangar_call_failed(ngx_http_hangar_job_t *job, ngx_uint_t ok,
    ngx_str_t *text)
{
    ngx_http_hangar_node_t         *n;
    ngx_http_hangar_registry_t     *reg;
    ngx_http_hangar_record_call_t   rec;

    reg = job->reg;

    (void) ngx_http_hangar_history_record(&rec, job->pool, &job->tool,
                                          job->begun_us, NULL,
                                          ngx_http_hangar_call_failure(job),
                                          text);

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, job->id.data, job->id.len);
    if (n) {
        ngx_http_hangar_machine_fail(reg, n, NGX_HTTP_HANGAR_FAIL_CALL);
        ngx_http_hangar_history_add(reg, n, &rec);
    }

    ngx_http_hangar_unlock(reg);

    ngx_http_hangar_stats_call(reg, &job->id, &job->tool,
                               job->timer.timedout ? "ToolTimeoutError"
                                                   : "ToolInvocationError", 0);

    if (job->result) {
        job->result(job->data, NULL, text);
    }

    ngx_http_hangar_job_free(job);
}


/* a listener ends only through its stream; an early failure frees it */

static void
ngx_http_hangar_stream_failed(ngx_http_hangar_job_t *job, ngx_uint_t ok,
    ngx_str_t *text)
{
    ngx_http_hangar_job_free(job);
}


static void
ngx_http_hangar_refresh_done(ngx_http_hangar_job_t *job, ngx_uint_t ok,
    ngx_str_t *text)
{
    ngx_str_t                    tools;
    ngx_http_hangar_node_t      *n;
    ngx_http_hangar_efield_t     f[1];
    ngx_http_hangar_registry_t  *reg;

    reg = job->reg;

    if (!ok
        || ngx_http_hangar_json_text(job->pool, job->tools, &tools) != NGX_OK)
    {
        ngx_http_hangar_job_free(job);
        return;
    }

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, job->id.data, job->id.len);

    if (n && n->start_seq == job->seq && n->state == NGX_HTTP_HANGAR_READY
        && ngx_http_hangar_job_same(n->tools, &tools))
    {
        ok = 3;

    } else if (n && n->start_seq == job->seq
               && n->state == NGX_HTTP_HANGAR_READY
               && ngx_http_hangar_set_blob(reg, &n->tools, &tools) == NGX_OK)
    {
        n->tools_count = job->tools->u.arr.nelts;
        n->tools_predefined = 0;
        (void) ngx_atomic_fetch_add(&reg->sh->generation, 1);
        f[0].key = "tools_count";
        f[0].str = NULL;
        f[0].num = job->tools->u.arr.nelts;
        ngx_http_hangar_event_fields(reg, "ToolsListChanged", n->id,
                                     n->id_len, f, 1);
        ok = 2;
    }

    ngx_http_hangar_unlock(reg);

    if (ok == 2) {
        ngx_log_error(NGX_LOG_INFO, job->log, 0,
                      "hangar: \"%V\" tools refreshed (%ui tools)",
                      &job->id, job->tools->u.arr.nelts);

    } else if (ok == 3) {
        ngx_log_error(NGX_LOG_INFO, job->log, 0,
                      "hangar: \"%V\" tools listed again, unchanged "
                      "(%ui tools)", &job->id, job->tools->u.arr.nelts);
    }

    ngx_http_hangar_job_free(job);
}


static void
ngx_http_hangar_check_done(ngx_http_hangar_job_t *job, ngx_uint_t ok,
    ngx_str_t *text)
{
    ngx_uint_t                   old, state;
    ngx_http_hangar_node_t      *n;
    ngx_http_hangar_registry_t  *reg;

    reg = job->reg;
    old = NGX_HTTP_HANGAR_COLD;
    state = NGX_HTTP_HANGAR_COLD;

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, job->id.data, job->id.len);

    /* stopped, deleted or restarted meanwhile: this check is stale */
    if (n && n->start_seq == job->seq
        && (n->state == NGX_HTTP_HANGAR_READY
            || n->state == NGX_HTTP_HANGAR_DEGRADED))
    {
        n->max_failures = job->max_failures;
        old = n->state;

        if (ok) {
            ngx_http_hangar_machine_success(reg, n,
                                            NGX_HTTP_HANGAR_FAIL_CHECK);

        } else {
            ngx_http_hangar_machine_fail(reg, n, NGX_HTTP_HANGAR_FAIL_CHECK);
        }

        state = n->state;
        n->next_check = ngx_http_hangar_mono_ms() + job->interval;
    }

    ngx_http_hangar_unlock(reg);

    ngx_http_hangar_stats_check(reg, &job->id,
                                (old == NGX_HTTP_HANGAR_COLD) ? 2 : !ok,
                                ngx_http_hangar_now_ms() - job->begun);

    if (old == NGX_HTTP_HANGAR_DEGRADED && state == NGX_HTTP_HANGAR_READY) {
        ngx_log_error(NGX_LOG_NOTICE, job->log, 0,
                      "hangar: \"%V\" recovered", &job->id);

    } else if (old == NGX_HTTP_HANGAR_READY
               && state == NGX_HTTP_HANGAR_DEGRADED)
    {
        ngx_log_error(NGX_LOG_WARN, job->log, 0, "hangar: \"%V\" degraded: "
                      "health check failed: %V", &job->id, text);
    }

    ngx_http_hangar_job_free(job);
}


/* the error object of a failed start, for the waiters and GET /logs */

static ngx_int_t
ngx_http_hangar_start_error(ngx_http_hangar_job_t *job, ngx_str_t *text,
    ngx_str_t *errtext)
{
    ngx_str_t                 err;
    ngx_http_hangar_out_t     o;
    ngx_http_hangar_value_t  *st, *v, *code, *tail;

    ngx_http_hangar_out_init(&o, job->pool, 1024);

    if (text->len && text->data[0] == '\x01') {
        /* the bridge's own account: exit code and stderr tail */
        st = ngx_http_hangar_json_parse(job->pool, text->data + 1,
                                        text->len - 1, &err);
        v = ngx_http_hangar_get(st, "error");
        code = ngx_http_hangar_get(st, "exit_code");
        tail = ngx_http_hangar_get(st, "stderr_tail");

        ngx_http_hangar_out_lit(&o, "{\"message\":");
        if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
            ngx_http_hangar_out_str(&o, v->u.s.data, v->u.s.len);

        } else {
            ngx_http_hangar_out_lit(&o, "\"the server failed to start\"");
        }

        ngx_http_hangar_out_lit(&o, ",\"exit_code\":");
        ngx_http_hangar_json_out(&o, code ? code
            : ngx_http_hangar_value_new(job->pool, NGX_HTTP_HANGAR_NULL));
        ngx_http_hangar_out_lit(&o, ",\"stderr\":");
        ngx_http_hangar_json_out(&o, tail ? tail
            : ngx_http_hangar_value_str(job->pool, (u_char *) "", 0));
        ngx_http_hangar_out_printf(&o, ",\"suggestion\":\"%s\"}",
            code && code->type == NGX_HTTP_HANGAR_INT && code->u.i == 127
            ? "check that the command exists and is executable"
            : "check the server's stderr above and its command line");

    } else {
        ngx_http_hangar_out_lit(&o, "{\"message\":");
        ngx_http_hangar_out_str(&o, text->data, text->len);
        ngx_http_hangar_out_lit(&o, ",\"exit_code\":null,\"stderr\":\"\","
                                "\"suggestion\":\"check the server's "
                                "configuration and that it speaks MCP\"}");
    }

    return ngx_http_hangar_out_flatten(&o, errtext);
}


/*
 * The end of a start: the run becomes the server's, or the failure goes
 * to the policy.  A start that is no longer the server's (stopped,
 * deleted, re-created meanwhile) stops what it started.
 */

static void
ngx_http_hangar_start_done(ngx_http_hangar_job_t *job, ngx_uint_t ok,
    ngx_str_t *text)
{
    ngx_str_t                    tools, meta, errtext;
    ngx_uint_t                   prev, keep, stale;
    ngx_msec_t                   now;
    ngx_http_hangar_out_t        o;
    ngx_http_hangar_run_t        run;
    ngx_http_hangar_node_t      *n;
    ngx_http_hangar_efield_t     f[3];
    ngx_http_hangar_registry_t  *reg;

    reg = job->reg;
    now = ngx_http_hangar_now_ms();
    keep = 0;
    prev = 0;
    stale = 0;
    ngx_str_null(&errtext);
    ngx_str_null(&tools);
    ngx_str_null(&meta);

    if (ok) {
        ngx_http_hangar_out_init(&o, job->pool, 1024);
        ngx_http_hangar_out_lit(&o, "{\"init_result\":");
        ngx_http_hangar_json_out(&o, job->init_result);
        ngx_http_hangar_out_printf(&o, ",\"tools_count\":%ui,\"started_at\":",
                                   job->tools->u.arr.nelts);
        ngx_http_hangar_out_num(&o, (double) now / 1000);
        ngx_http_hangar_out_printf(&o, ",\"bridge_pid\":%P,\"server_pid\":%P}",
                                   job->bridge_pid, job->server_pid);

        if (ngx_http_hangar_json_text(job->pool, job->tools, &tools) != NGX_OK
            || ngx_http_hangar_out_flatten(&o, &meta) != NGX_OK)
        {
            ok = 0;
            ngx_str_set(text, "out of memory");
        }
    }

    if (!ok && ngx_http_hangar_start_error(job, text, &errtext) != NGX_OK) {
        ngx_str_null(&errtext);
    }

    run.bridge = job->bridge_pid;
    run.server = job->server_pid;

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, job->id.data, job->id.len);

    if (n == NULL || n->start_seq != job->seq
        || n->state != NGX_HTTP_HANGAR_INITIALIZING)
    {
        stale = 1;

    } else if (ok
               && ngx_http_hangar_set_blob(reg, &n->meta, &meta) == NGX_OK
               && (job->session.len == 0
                   || ngx_http_hangar_set_blob(reg, &n->session,
                                               &job->session)
                      == NGX_OK))
    {
        if ((!n->tools_predefined || job->tools->u.arr.nelts)
            && !ngx_http_hangar_job_same(n->tools, &tools))
        {
            (void) ngx_http_hangar_set_blob(reg, &n->tools, &tools);
            n->tools_count = job->tools->u.arr.nelts;
            n->tools_predefined = 0;
            keep = 1;

            /* the front door's catalog changed (not on every start) */
            (void) ngx_atomic_fetch_add(&reg->sh->generation, 1);
        }

        prev = n->bridge_seq;
        n->bridge_seq = job->bridge_seq;
        n->max_failures = job->max_failures;
        n->idle_ttl = job->idle_ttl;
        n->next_check = ngx_http_hangar_mono_ms() + job->interval;
        ngx_http_hangar_machine_ready(reg, n, &run);

        f[0].key = "mode";
        f[0].str = (char *) n->mode_name;
        f[1].key = "tools_count";
        f[1].str = NULL;
        f[1].num = job->tools->u.arr.nelts;
        f[2].key = "startup_duration_ms";
        f[2].str = NULL;
        f[2].num = now - job->begun;
        ngx_http_hangar_event_fields(reg, "McpServerStarted", n->id,
                                     n->id_len, f, 3);

        ngx_http_hangar_stats_start(reg, &job->id, (char *) n->mode_name, 1,
                                    now - job->begun);

    } else {
        if (errtext.len == 0) {
            ngx_str_set(&errtext, "{\"message\":\"the registry is full\","
                                  "\"exit_code\":null,\"stderr\":\"\","
                                  "\"suggestion\":\"increase hangar_zone\"}");
        }

        (void) ngx_http_hangar_set_blob(reg, &n->error, &errtext);
        n->max_failures = job->max_failures;
        n->bridge_seq = job->bridge_seq;    /* GET /logs shows this attempt */
        ngx_http_hangar_machine_fail(reg, n, NGX_HTTP_HANGAR_FAIL_START);
        ngx_http_hangar_stats_start(reg, &job->id, NULL, 0, 0);
        ok = 0;
    }

    ngx_http_hangar_unlock(reg);

    if (stale) {
        ngx_log_error(NGX_LOG_INFO, job->log, 0, "hangar: \"%V\" was stopped "
                      "or removed during its start", &job->id);

        if (job->spawn.status) {
            /* spawned: the bridge goes, found by its status if need be */
            (void) ngx_http_hangar_machine_end_run(reg, &job->id,
                                                   job->bridge_seq, &run,
                                                   job->log);
        }

        ngx_http_hangar_job_free(job);
        return;
    }

    if (!ok) {
        ngx_log_error(NGX_LOG_ERR, job->log, 0, "hangar: \"%V\" failed to "
                      "start: %V", &job->id, &errtext);

        if (run.bridge) {
            ngx_http_hangar_terminate(run.bridge, run.server);
        }

        ngx_http_hangar_job_free(job);
        return;
    }

    ngx_log_error(NGX_LOG_INFO, job->log, 0,
                  "hangar: \"%V\" is ready (%ui tools, %M ms)", &job->id,
                  job->tools->u.arr.nelts, now - job->begun);

    ngx_http_hangar_start_files(job, keep ? &tools : NULL, prev);
    ngx_http_hangar_job_free(job);
}


/*
 * After a start: the catalog is kept for the next nginx, the previous
 * run's status file is of no more use.
 */

static void
ngx_http_hangar_start_files(ngx_http_hangar_job_t *job, ngx_str_t *tools,
    ngx_uint_t prev)
{
    u_char                      *p;
    ngx_str_t                    path;
    ngx_http_hangar_registry_t  *reg;

    reg = job->reg;

    if (tools) {
        p = ngx_pnalloc(job->pool, job->id.len + sizeof("catalog/.json"));

        if (p) {
            ngx_sprintf(p, "catalog/%V.json%Z", &job->id);
            (void) ngx_http_hangar_file_write(job->pool, &reg->hmcf->state_dir,
                                              (char *) p, tools, job->log,
                                              &path);
        }
    }

    if (prev != job->bridge_seq
        && ngx_http_hangar_run_path(job->pool, &reg->hmcf->state_dir,
                                    job->id.data, job->id.len, prev, "json",
                                    &path)
           == NGX_OK)
    {
        (void) ngx_delete_file(path.data);
    }
}


/* the catalog a server answered is the one it has (slab mutex held) */

static ngx_uint_t
ngx_http_hangar_job_same(ngx_http_hangar_blob_t *blob, ngx_str_t *text)
{
    return blob != NULL && blob->len == text->len
           && ngx_memcmp(blob->data, text->data, text->len) == 0;
}
