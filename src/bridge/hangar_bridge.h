
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * hangar-bridge, split by concern:
 *
 *   hangar_bridge.c        options, the server process (spawn, signals,
 *                          stop, exit status), the status file, the log
 *                          ring, the poll() loop;
 *   hangar_bridge_mcp.c    JSON, the stdio session with the server and the
 *                          JSON-RPC routing between it and the clients (id
 *                          remapping, pending requests, server requests,
 *                          the handshake);
 *   hangar_bridge_http.c   the HTTP server on the unix socket: connections,
 *                          request parsing, responses, SSE streams.
 *
 * All state is in the one struct "hb", defined in hangar_bridge.c.
 */


#ifndef _HANGAR_BRIDGE_H_INCLUDED_
#define _HANGAR_BRIDGE_H_INCLUDED_


#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>


#define HB_MAX_MSG       (16 * 1024 * 1024)
#define HB_MAX_HEADER    (64 * 1024)
#define HB_MAX_OUT       (64 * 1024 * 1024)
#define HB_MAX_LOG_LINE  8192
#define HB_MAX_DEPTH     512
#define HB_MAX_CONNS     4096
#define HB_TAIL_LINES    20
#define HB_TAIL_CHARS    2000
#define HB_READ_CHUNK    16384
#define HB_BUCKETS       256
#define HB_BACKLOG       4096           /* the kernel caps it at somaxconn */
#define HB_KEEP_MAX      (256 * 1024)   /* a kept log file, then rotated */
#define HB_KEEP_READ     (1024 * 1024)  /* read back at most this much */
#define HB_MAX_SESSIONS  1024           /* the least recently used goes */
#define HB_SID_MAX       64             /* an Mcp-Session-Id we hand out */

/* what a client session declared at initialize */
#define HB_CAP_SAMPLING  0x01
#define HB_CAP_FORM      0x02           /* elicitation, form mode */
#define HB_CAP_URL       0x04           /* elicitation, url mode */
#define HB_CAP_ROOTS     0x08

enum { HB_STARTING, HB_READY, HB_FAILED, HB_EXITED, HB_STOPPED };

/* connection states: reading a request, a request in flight, GET stream */
enum { HB_C_READ, HB_C_WAIT, HB_C_GET };

enum { HB_M_OTHER, HB_M_GET, HB_M_POST, HB_M_DELETE };


typedef struct {
    char    *data;
    size_t   pos;               /* first byte not yet consumed */
    size_t   len;
    size_t   cap;
} hb_buf_t;

typedef struct {
    int       fd;
    int       is_stdout;
    int       skipping;         /* dropping the rest of an overlong line */
    size_t    max;
    size_t    scanned;          /* bytes after pos known to hold no '\n' */
    hb_buf_t  buf;
} hb_reader_t;

typedef struct {
    const char  *stream;
    char        *content;
    double       at;
    int          old;           /* kept from an earlier run */
} hb_log_t;

typedef struct hb_conn_s  hb_conn_t;

struct hb_conn_s {
    int          fd;
    int          state;
    unsigned     keepalive:1;
    unsigned     closing:1;     /* close once the output is written */
    unsigned     dead:1;        /* freed by the sweep after this round */
    unsigned     eof:1;
    unsigned     sse:1;         /* Accept has text/event-stream */
    unsigned     sse_head:1;    /* SSE head due with the first event */
    unsigned     chunked:1;
    unsigned     expect:1;
    unsigned     continued:1;

    int          method;
    uint64_t     sess;          /* its session (GET stream), 0 if none */
    char         sid[HB_SID_MAX];   /* the request's Mcp-Session-Id */
    size_t       hdr_len;       /* 0 until the header block is complete */
    size_t       clen;
    int          cstate;        /* chunked decoder, see hb_dechunk() */
    size_t       cleft;
    size_t       craw;          /* raw body bytes decoded so far */
    size_t       cbody;         /* decoded body length */
    char         target[512];

    hb_buf_t     in;
    hb_buf_t     out;
    hb_conn_t   *next;
};

typedef struct hb_pending_s  hb_pending_t;

struct hb_pending_s {
    uint64_t       bid;
    hb_conn_t     *conn;        /* NULL once the client went away */
    char          *id;          /* the client's id, raw JSON */
    char          *token;       /* the client's progressToken, raw JSON */
    int            sse;
    uint64_t       sess;        /* the client's session, 0 if none */
    hb_pending_t  *next;
};

typedef struct hb_sreq_s  hb_sreq_t;

struct hb_sreq_s {
    uint64_t    n;              /* the bridge id "s-<n>" */
    char       *id;             /* the server's id, raw JSON */
    uint64_t    sess;           /* the session it went to */
    int64_t     deadline;       /* ms: answered with an error then */
    hb_sreq_t  *next;
};

typedef struct hb_session_s  hb_session_t;

struct hb_session_s {
    uint64_t       n;
    unsigned       caps;
    uint64_t       used;        /* hb.tick of its last request */
    char           id[HB_SID_MAX];
    hb_session_t  *next;
};

typedef struct {
    const char    *id;
    const char    *socket;
    const char    *status;
    const char    *cwd;
    const char    *keep;        /* prefix of the files kept across runs */
    char         **argv;
    int            ready_fd;
    long           init_ms;
    long           grace_ms;
    long           log_lines;
    long           req_ms;      /* a server request waits this long */

    int            state;
    pid_t          pid;         /* the server, also its process group */
    int            reaped;
    int            exit_code;
    int            exit_signal;
    char          *error;
    char          *fail;        /* handshake failure seen by the reader */
    char          *proto;
    yajl_val       init_msg;
    yajl_val       init_result;
    double         started_at;
    double         ready_at;
    int            stop_req;

    int            sigfd;
    int            lfd;
    ino_t          sock_ino;
    int            in_fd;
    hb_buf_t       in_buf;
    hb_reader_t    out;
    hb_reader_t    err;

    uint64_t       next_id;
    uint64_t       next_sid;
    hb_conn_t     *conns;
    unsigned       nconns;
    unsigned       npending;
    hb_pending_t  *pend[HB_BUCKETS];
    hb_sreq_t     *sreqs;
    hb_session_t  *sessions[HB_BUCKETS];
    unsigned       nsessions;
    uint64_t       next_sess;
    uint64_t       last_call;   /* the session of the last tools/call */
    uint64_t       tick;

    hb_log_t      *ring;
    size_t         ring_next;
    size_t         ring_count;
    int            keep_fd;     /* <keep>.log, appended to */
    size_t         keep_size;
} hb_bridge_t;


extern hb_bridge_t  hb;


/* hangar_bridge.c: buffers, the log ring, the status */

int hb_buf_reserve(hb_buf_t *b, size_t n);
int hb_buf_add(hb_buf_t *b, const void *p, size_t n);
void hb_buf_idle(hb_buf_t *b);
void hb_buf_free(hb_buf_t *b);
int64_t hb_msec(void);
void hb_log(const char *stream, const char *p, size_t n);
void hb_logf(const char *fmt, ...);
hb_log_t *hb_ring_at(size_t i);
void hb_gen_log(yajl_gen g, hb_log_t *e);
void hb_gen_num(yajl_gen g, const char *key, double v, int decimals, int ok);
int hb_status_json(hb_buf_t *out, int extra);

/* hangar_bridge_mcp.c: JSON, the server's stdio, JSON-RPC routing */

void hb_gen_str(yajl_gen g, const char *s);
void hb_gen_val(yajl_gen g, yajl_val v);
int hb_gen_done(yajl_gen g, hb_buf_t *out);
int hb_rpc_error(hb_buf_t *out, const char *id, int code, const char *msg);
void hb_server_flush(void);
void hb_server_send_str(const char *s);
void hb_pending_free(hb_pending_t *p);
void hb_deliver(hb_pending_t *p, const char *json, size_t len, int final);
void hb_reader_read(hb_reader_t *r);
void hb_mcp_post(hb_conn_t *c, char *body, size_t len);
uint64_t hb_session_of(hb_conn_t *c);
void hb_session_end(hb_conn_t *c);
int hb_sreq_expire(void);
unsigned hb_sreq_count(void);
void hb_mcp_forget(void);

/* hangar_bridge_http.c: connections, responses, requests */

void hb_conn_flush(hb_conn_t *c);
void hb_conn_send(hb_conn_t *c, const char *p, size_t n);
void hb_reply(hb_conn_t *c, int status, const char *type, const char *extra,
    const char *body, size_t len);
void hb_reply_buf(hb_conn_t *c, int status, const char *extra, hb_buf_t *b);
void hb_reply_error(hb_conn_t *c, int status, const char *id, int code,
    const char *msg);
void hb_sse_start(hb_conn_t *c);
void hb_sse_defer(hb_conn_t *c);
void hb_sse_event(hb_conn_t *c, const char *json, size_t len);
void hb_sse_last(hb_conn_t *c, const char *json, size_t len);
void hb_sse_end(hb_conn_t *c);
void hb_sweep(void);
void hb_conn_process(hb_conn_t *c);
void hb_conn_read(hb_conn_t *c);
void hb_accept(void);


#endif /* _HANGAR_BRIDGE_H_INCLUDED_ */
