
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * A small asynchronous HTTP/1.1 client on nginx's event loop, for MCP
 * Streamable HTTP over a bridge's unix socket or a remote http endpoint:
 * one request per connection, JSON or SSE answers, connect and read
 * timeouts.  Modelled on nginx's OCSP client.
 */


#ifndef _NGX_HTTP_HANGAR_CLIENT_H_INCLUDED_
#define _NGX_HTTP_HANGAR_CLIENT_H_INCLUDED_


#include "ngx_http_hangar.h"


#define NGX_HTTP_HANGAR_CALL_MAX  (16 * 1024 * 1024)


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
     * Messages of an SSE answer that arrive before the response itself
     * (progress): on_event is called for each, as they come.
     */
    void                       (*on_event)(ngx_http_hangar_call_t *call,
                                           ngx_http_hangar_value_t *msg);
    size_t                       fed;       /* raw body bytes decoded */
    off_t                        chunk_left;
    ngx_uint_t                   chunk_crlf;
    ngx_buf_t                   *events;    /* decoded, not yet an event */

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
    ngx_buf_t                   *out;
    ngx_buf_t                   *in;
    u_char                      *body_start;
    off_t                        content_length;
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
 * The JSON-RPC response with the given id out of a JSON or SSE body.
 * NGX_OK: *msg is the response object (with "result" or "error").
 * Progress and other messages of an SSE body are skipped.
 */
ngx_int_t ngx_http_hangar_call_message(ngx_http_hangar_call_t *call,
    int64_t id, ngx_http_hangar_value_t **msg);


#endif /* _NGX_HTTP_HANGAR_CLIENT_H_INCLUDED_ */
