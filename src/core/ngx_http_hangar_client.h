
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * A small asynchronous HTTP/1.1 client on nginx's event loop, for MCP
 * Streamable HTTP over a bridge's unix socket or a remote http endpoint:
 * keep-alive connections, JSON or SSE answers, connect, send and read
 * timeouts, a retried connect to a unix socket whose backlog is full.
 * Modelled on nginx's OCSP client.
 */


#ifndef _NGX_HTTP_HANGAR_CLIENT_H_INCLUDED_
#define _NGX_HTTP_HANGAR_CLIENT_H_INCLUDED_


#include "ngx_http_hangar.h"


/*
 * What a peer may send: a response body (one JSON message, or an SSE
 * stream whose longest line is then at most this long), the status line
 * and headers, a chunk-size or trailer line.  Every length the peer
 * states is checked against these before it is used.
 */
#define NGX_HTTP_HANGAR_CALL_MAX         (16 * 1024 * 1024)
#define NGX_HTTP_HANGAR_CALL_HEADER_MAX  (32 * 1024)
#define NGX_HTTP_HANGAR_CALL_LINE_MAX    1024

/* a unix socket whose backlog is full: tries, and the pause between */
#define NGX_HTTP_HANGAR_CALL_TRIES       50
#define NGX_HTTP_HANGAR_CALL_RETRY_MS    20


typedef struct ngx_http_hangar_call_s  ngx_http_hangar_call_t;

typedef void (*ngx_http_hangar_call_pt)(ngx_http_hangar_call_t *call);


struct ngx_http_hangar_call_s {
    ngx_pool_t                  *pool;      /* the call lives in it */
    ngx_log_t                   *log;

    /* request */
    ngx_str_t                    target;    /* "unix:/p.sock" or "host:port" */
    ngx_str_t                    host;      /* Host header */
    ngx_str_t                    uri;       /* "/mcp" */
    const char                  *method;    /* "POST" */
    ngx_str_t                    headers;   /* extra "Name: value\r\n" lines */
    ngx_str_t                    body;
    ngx_msec_t                   connect_timeout;
    ngx_msec_t                   read_timeout;

    /* https: TLS with SNI; verify_ssl checks the chain and the host name */
    unsigned                     tls:1;
    unsigned                     verify:1;
    ngx_str_t                    ca_file;   /* empty: the system's CAs */

    ngx_http_hangar_call_pt      handler;   /* called once, when done */
    void                        *data;

    /*
     * A long-lived SSE stream (GET): on_notice is called each time the
     * text "notice" arrives; the body is not kept.
     */
    ngx_http_hangar_call_pt      on_notice;
    const char                  *notice;

    /*
     * With on_notice, instead of the notice: on_line is called with the
     * text of each "data:" line of the stream, as lines complete.
     */
    void                       (*on_line)(ngx_http_hangar_call_t *call,
                                          u_char *data, size_t len);

    /*
     * Messages of an SSE answer that arrive before the response itself
     * (progress): on_event is called for each, as they come; msg lives
     * until on_event returns.
     */
    void                       (*on_event)(ngx_http_hangar_call_t *call,
                                           ngx_http_hangar_value_t *msg);

    ngx_str_t                    name;      /* the server, for log lines */

    /*
     * SSRF (a remote created through the API): the connect is refused,
     * before any packet, when the address (resolved or literal) is in a
     * blocked range of ngx_http_hangar_guard.c and not in remote_allow.
     */
    unsigned                     guard:1;
    ngx_array_t                 *remote_allow;  /* ngx_cidr_t */

    /* result */
    ngx_int_t                    rc;        /* NGX_OK or NGX_ERROR */
    ngx_str_t                    error;     /* transport error, when rc */
    ngx_uint_t                   timedout;
    ngx_uint_t                   status;
    ngx_str_t                    content_type;
    ngx_str_t                    session_id;
    ngx_str_t                    response;  /* the body, de-chunked */

    /* internal */
    ngx_peer_connection_t        peer;
    ngx_resolver_ctx_t          *resolving; /* a host name being resolved */
    ngx_str_t                    resolve_host;
    in_port_t                    port;
    ngx_event_t                  retry;     /* a connect to a full backlog */
    ngx_uint_t                   tries;
    ngx_buf_t                   *out;
    ngx_buf_t                   *in;

    /*
     * The response parser: offsets into "in" (which may move as it
     * grows).  The body starts at in->start + body_off; its first "decoded"
     * bytes are the body without chunk framing, "raw" bytes of what
     * arrived are consumed (decoded <= raw).
     */
    size_t                       head_scan;
    size_t                       body_off;
    size_t                       raw;
    size_t                       decoded;
    size_t                       chunk_left;
    size_t                       trailer;
    size_t                       fed;       /* looked at for SSE events */
    size_t                       line_scan;
    off_t                        content_length;
    ngx_uint_t                   pstate;
    ngx_buf_t                   *events;    /* data of the SSE event */
    ngx_pool_t                  *scratch;   /* for messages not kept */
    unsigned                     head_done:1;
    unsigned                     sse:1;
    unsigned                     http11:1;
    unsigned                     chunked:1;
    unsigned                     done:1;
    unsigned                     connecting:1;
    unsigned                     background:1;  /* may be cut at exit */
    unsigned                     ip:1;
    unsigned                     close:1;       /* "Connection: close" */
    unsigned                     keepalive:1;   /* reusable after this */
    unsigned                     reused:1;
    unsigned                     retried:1;
    ngx_str_t                    key;
    ngx_str_t                    sni;
};


ngx_http_hangar_call_t *ngx_http_hangar_call_create(ngx_log_t *log);
ngx_int_t ngx_http_hangar_call_start(ngx_http_hangar_call_t *call);
void ngx_http_hangar_call_cancel(ngx_http_hangar_call_t *call);
void ngx_http_hangar_call_destroy(ngx_http_hangar_call_t *call);
void ngx_http_hangar_client_exit(void);

/*
 * Host names resolve through nginx's resolver of the http{} level (set
 * in each worker); ngx_http_hangar_client_host() says whether a target
 * ("host:port") needs it, and which host.
 */
void ngx_http_hangar_client_resolver(ngx_resolver_t *r, ngx_msec_t timeout);
ngx_uint_t ngx_http_hangar_client_host(ngx_pool_t *pool, ngx_str_t *target,
    ngx_str_t *host);

/* the parser of its answers */
#include "ngx_http_hangar_parse.h"


#endif /* _NGX_HTTP_HANGAR_CLIENT_H_INCLUDED_ */
