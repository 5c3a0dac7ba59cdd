
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The listeners: one GET stream per ready server, kept by the lease
 * holder, on which notifications/tools/list_changed lists a server's
 * tools again and its other messages (notifications, requests outside a
 * call) go to the layer above.  A refused stream rests before it is
 * tried again.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>
#include "ngx_http_hangar_stream.h"
#include "ngx_http_hangar_job.h"
#include "ngx_http_hangar_job_end.h"


static void ngx_http_hangar_stream_open(ngx_http_hangar_job_t *job);
static void ngx_http_hangar_stream_notice(ngx_http_hangar_call_t *call);
static void ngx_http_hangar_stream_line(ngx_http_hangar_call_t *call,
    u_char *data, size_t len);
static void ngx_http_hangar_stream_refuse(ngx_http_hangar_job_t *job,
    ngx_pool_t *pool, ngx_http_hangar_value_t *msg);
static void ngx_http_hangar_stream_end(ngx_http_hangar_call_t *call);
static void ngx_http_hangar_stream_rested(ngx_event_t *ev);
static void ngx_http_hangar_stream_close(ngx_uint_t i);


#define NGX_HTTP_HANGAR_MAX_STREAMS      256
#define NGX_HTTP_HANGAR_STREAM_REST      (5 * 1000)
#define NGX_HTTP_HANGAR_STREAM_REST_405  (10 * 60 * 1000)


/* this worker's list_changed listeners */
static ngx_http_hangar_job_t       *ngx_http_hangar_streams[
                                         NGX_HTTP_HANGAR_MAX_STREAMS];
static ngx_uint_t                   ngx_http_hangar_nstreams;

/* the layer above's: the servers' other notifications and requests */
static ngx_http_hangar_notify_pt    ngx_http_hangar_notify_handler;
static ngx_http_hangar_request_pt   ngx_http_hangar_request_handler;


void
ngx_http_hangar_stream_begin(ngx_http_hangar_registry_t *reg, ngx_str_t *id,
    ngx_atomic_uint_t seq, ngx_log_t *log)
{
    ngx_http_hangar_job_t  *job;

    /* the job's first run is posted: it finds open set */
    job = ngx_http_hangar_job_begin(reg, id, NGX_HTTP_HANGAR_JOB_STREAM, seq,
                                    log);
    if (job) {
        job->open = ngx_http_hangar_stream_open;
    }
}


/*
 * notifications/tools/list_changed: the lease holder keeps a GET stream
 * open to every ready server and lists its tools again on the notice.
 */

ngx_uint_t
ngx_http_hangar_streaming(ngx_http_hangar_node_t *n)
{
    ngx_uint_t              i;
    ngx_http_hangar_job_t  *job;

    for (i = 0; i < ngx_http_hangar_nstreams; i++) {
        job = ngx_http_hangar_streams[i];

        if (job->seq == n->start_seq
            && ngx_memn2cmp(job->id.data, n->id, job->id.len, n->id_len) == 0)
        {
            return 1;
        }
    }

    /* no room: as if streaming, so nothing is opened */
    return ngx_http_hangar_nstreams == NGX_HTTP_HANGAR_MAX_STREAMS;
}


static void
ngx_http_hangar_stream_open(ngx_http_hangar_job_t *job)
{
    u_char                  *p;
    ngx_http_hangar_call_t  *call;

    call = ngx_http_hangar_call_create(job->log);
    if (call == NULL) {
        ngx_http_hangar_job_free(job);
        return;
    }

    call->target = job->target;
    call->name = job->id;
    call->host = job->host;
    call->uri = job->uri;
    call->method = "GET";
    call->background = 1;
    call->read_timeout = 24 * 3600 * 1000;
    call->tls = job->tls;
    call->verify = job->verify;
    call->ca_file = job->ca_file;
    call->guard = job->guard;
    call->remote_allow = job->remote_allow;
    call->handler = ngx_http_hangar_stream_end;
    call->on_notice = ngx_http_hangar_stream_notice;
    call->notice = "notifications/tools/list_changed";
    call->on_line = ngx_http_hangar_stream_line;
    call->data = job;

    call->headers.data = ngx_pnalloc(call->pool, job->headers.len
                                                 + job->session.len + 64);
    if (call->headers.data == NULL) {
        ngx_http_hangar_call_destroy(call);
        ngx_http_hangar_job_free(job);
        return;
    }

    p = ngx_cpymem(call->headers.data, job->headers.data, job->headers.len);

    /*
     * In the module's session: a bridge sends a server's request outside
     * calls to a GET stream of the session that made the last call, and
     * a remote sends them on its session's stream.
     */
    if (job->session.len) {
        p = ngx_sprintf(p, "Mcp-Session-Id: %V\r\n", &job->session);
    }

    call->headers.len = p - call->headers.data;

    job->call = call;
    ngx_http_hangar_streams[ngx_http_hangar_nstreams++] = job;

    (void) ngx_http_hangar_call_start(call);
}


static void
ngx_http_hangar_stream_notice(ngx_http_hangar_call_t *call)
{
    ngx_http_hangar_job_t  *job;

    job = call->data;

    ngx_log_error(NGX_LOG_INFO, job->log, 0,
                  "hangar: \"%V\" says its tools changed", &job->id);

    /* of this run only: a job of a stale seq does not begin */
    (void) ngx_http_hangar_job_begin(job->reg, &job->id,
                                     NGX_HTTP_HANGAR_JOB_REFRESH, job->seq,
                                     job->log);
}


/*
 * A message of the stream: tools/list_changed lists the tools again, the
 * other notifications (resources, prompts) go to the layer above.
 */

static void
ngx_http_hangar_stream_line(ngx_http_hangar_call_t *call, u_char *data,
    size_t len)
{
    ngx_str_t                 err;
    ngx_pool_t               *pool;
    ngx_http_hangar_job_t    *job;
    ngx_http_hangar_value_t  *msg, *method;

    job = call->data;

    pool = ngx_create_pool(4096, job->log);
    if (pool == NULL) {
        return;
    }

    msg = ngx_http_hangar_json_parse(pool, data, len, &err);
    method = ngx_http_hangar_get(msg, "method");

    /*
     * The stream's chunk framing is not taken out: a line that a chunk
     * cut does not parse, but the tools' notice in it is still seen.
     */
    if ((msg == NULL
         && ngx_strlcasestrn(data, data + len,
                             (u_char *) "notifications/tools/list_changed",
                             sizeof("notifications/tools/list_changed") - 2)
            != NULL)
        || (ngx_http_hangar_is(method, NGX_HTTP_HANGAR_STR)
            && ngx_http_hangar_str_is(&method->u.s,
                                      "notifications/tools/list_changed")))
    {
        ngx_http_hangar_stream_notice(call);

    } else if (!ngx_http_hangar_is(method, NGX_HTTP_HANGAR_STR)) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, job->log, 0,
                       "hangar: a stream line that is no request or "
                       "notification is skipped");

    } else if (ngx_http_hangar_get(msg, "id")) {
        /* a server's request outside any call: the layer above, or no */
        if (ngx_http_hangar_request_handler == NULL
            || ngx_http_hangar_request_handler(job->reg, &job->id, msg)
               != NGX_OK)
        {
            ngx_http_hangar_stream_refuse(job, pool, msg);
        }

    } else if (ngx_http_hangar_notify_handler) {
        ngx_http_hangar_notify_handler(job->reg, &job->id, msg);
    }

    ngx_destroy_pool(pool);
}


/*
 * A server's request outside any call that the layer above could not
 * hand to a client: the server gets an error at once rather than waiting.
 */

static void
ngx_http_hangar_stream_refuse(ngx_http_hangar_job_t *job, ngx_pool_t *pool,
    ngx_http_hangar_value_t *msg)
{
    ngx_str_t              text;
    ngx_http_hangar_out_t  out;

    ngx_http_hangar_out_init(&out, pool, 256);
    ngx_http_hangar_out_lit(&out, "{\"jsonrpc\":\"2.0\",\"id\":");
    ngx_http_hangar_json_out(&out, ngx_http_hangar_get(msg, "id"));
    ngx_http_hangar_out_lit(&out, ",\"error\":{\"code\":-32601,\"message\":"
                            "\"no client call in progress to ask\"}}");

    if (ngx_http_hangar_out_flatten(&out, &text) == NGX_OK) {
        (void) ngx_http_hangar_server_send(job->reg, &job->id, &text,
                                           job->log);
    }
}


void
ngx_http_hangar_job_notify(ngx_http_hangar_notify_pt handler)
{
    ngx_http_hangar_notify_handler = handler;
}


void
ngx_http_hangar_job_request(ngx_http_hangar_request_pt handler)
{
    ngx_http_hangar_request_handler = handler;
}


static void
ngx_http_hangar_stream_end(ngx_http_hangar_call_t *call)
{
    ngx_msec_t              rest;
    ngx_http_hangar_job_t  *job;

    job = call->data;

    /*
     * A stream refused rests before it is tried again (the lifecycle
     * would open it again within a second): a server that answers 405
     * offers no GET stream (MCP, Streamable HTTP) and is asked again
     * after 10 minutes or at its next start; any other refusal or failed
     * connect, after 5 s.  The job stays in the table meanwhile.
     */
    rest = (call->head_done && call->status == NGX_HTTP_NOT_ALLOWED)
           ? NGX_HTTP_HANGAR_STREAM_REST_405
           : (call->rc != NGX_OK || !call->head_done || call->status != 200)
           ? NGX_HTTP_HANGAR_STREAM_REST : 0;

    if (rest && !ngx_exiting && !ngx_terminate && !ngx_quit) {
        job->call = NULL;
        ngx_destroy_pool(call->pool);

        job->timer.handler = ngx_http_hangar_stream_rested;
        ngx_add_timer(&job->timer, rest);
        return;
    }

    ngx_http_hangar_stream_rested(&job->timer);
}


/* a stream's job leaves the table: the lifecycle may open it again */

static void
ngx_http_hangar_stream_rested(ngx_event_t *ev)
{
    ngx_uint_t  i;

    for (i = 0; i < ngx_http_hangar_nstreams; i++) {
        if (ngx_http_hangar_streams[i] == ev->data) {
            ngx_http_hangar_stream_close(i);
            return;
        }
    }
}


/* the listener in slot i closes: its call ends, its job is freed */

static void
ngx_http_hangar_stream_close(ngx_uint_t i)
{
    ngx_http_hangar_job_t  *job;

    job = ngx_http_hangar_streams[i];
    ngx_http_hangar_streams[i] =
        ngx_http_hangar_streams[--ngx_http_hangar_nstreams];

    if (job->call) {
        ngx_http_hangar_call_destroy(job->call);
        job->call = NULL;
    }

    ngx_http_hangar_job_free(job);
}


/*
 * Every tick: a listener of a run that is over (stopped, restarted,
 * deleted) closes; a remote server would otherwise keep its GET stream
 * open for ever, and one served by this very nginx would keep a worker
 * from exiting.
 */

void
ngx_http_hangar_streams_prune(ngx_http_hangar_registry_t *reg)
{
    ngx_uint_t               i, stale;
    ngx_http_hangar_job_t   *job;
    ngx_http_hangar_node_t  *n;

    for (i = 0; i < ngx_http_hangar_nstreams; /* void */) {
        job = ngx_http_hangar_streams[i];

        ngx_http_hangar_lock(reg);

        n = ngx_http_hangar_find(&reg->sh->servers, job->id.data,
                                 job->id.len);
        stale = (n == NULL || n->start_seq != job->seq
                 || n->state != NGX_HTTP_HANGAR_READY);

        ngx_http_hangar_unlock(reg);

        if (!stale) {
            i++;
            continue;
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, job->log, 0,
                       "hangar: \"%V\" listener of a past run closes",
                       &job->id);

        ngx_http_hangar_stream_close(i);
    }
}


/* exit_process: the listeners close (nginx checks for open sockets) */

void
ngx_http_hangar_streams_exit(void)
{
    while (ngx_http_hangar_nstreams) {
        ngx_http_hangar_stream_close(ngx_http_hangar_nstreams - 1);
    }
}
