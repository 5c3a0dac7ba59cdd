
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Counters and histograms for /metrics and /api/system, in the zone so
 * that every worker counts into the same numbers (ngx_http_hangar_stats.c).
 * Increments are atomics; a record is made once, on first use, with the
 * slab mutex (bounded work: a lookup and one allocation).  Nothing is
 * formatted here: the renderer reads the atomics without a lock.
 */


#ifndef _NGX_HTTP_HANGAR_STATS_H_INCLUDED_
#define _NGX_HTTP_HANGAR_STATS_H_INCLUDED_


#include "ngx_http_hangar_registry.h"


/* slots of the servers' table: one per 4k of the zone, 64 .. 4096 */
#define NGX_HTTP_HANGAR_STATS_SLOTS_MIN 64
#define NGX_HTTP_HANGAR_STATS_SLOTS_MAX 4096
#define NGX_HTTP_HANGAR_STATS_TOOLS     32      /* per server, then "other" */
#define NGX_HTTP_HANGAR_STATS_ERRTYPES  4       /* per tool, then "other" */
#define NGX_HTTP_HANGAR_STATS_CODES     8       /* per server, then "other" */
#define NGX_HTTP_HANGAR_STATS_BUCKETS   16
#define NGX_HTTP_HANGAR_STATS_NAME      64


/* histogram bucket sets (hangar-core.md §6) */
typedef enum {
    NGX_HTTP_HANGAR_HIST_LATENCY = 0,
    NGX_HTTP_HANGAR_HIST_COLD_START,
    NGX_HTTP_HANGAR_HIST_HEALTH,
    NGX_HTTP_HANGAR_HIST_GC,
    NGX_HTTP_HANGAR_HIST_BATCH_DURATION,
    NGX_HTTP_HANGAR_HIST_BATCH_SIZE,
    NGX_HTTP_HANGAR_HIST_SIZE
} ngx_http_hangar_hist_e;


/* per-bucket counts (not cumulative); sum in micro-units */
typedef struct {
    ngx_atomic_t                 bucket[NGX_HTTP_HANGAR_STATS_BUCKETS];
    ngx_atomic_t                 sum;
    ngx_atomic_t                 count;
} ngx_http_hangar_hist_t;


/* stop reasons: a fixed set, whatever a caller passes */
#define NGX_HTTP_HANGAR_STOP_REASONS  8

/* health check results: healthy, unhealthy, cold */
#define NGX_HTTP_HANGAR_CHECK_RESULTS  3

/* JSON-RPC methods sent: initialize, tools/list, tools/call, ping, other */
#define NGX_HTTP_HANGAR_RPC_METHODS    5

/* messages received: response, notification, error */
#define NGX_HTTP_HANGAR_RECV_TYPES     3


typedef struct {
    ngx_atomic_t                 ready;     /* name set, visible */
    size_t                       len;
    u_char                       name[32];
    ngx_atomic_t                 count;
} ngx_http_hangar_stats_label_t;


typedef struct {
    size_t                       len;
    u_char                       name[NGX_HTTP_HANGAR_STATS_NAME];
    ngx_atomic_t                 ok;
    ngx_atomic_t                 failed;
    ngx_http_hangar_hist_t       latency;   /* successful calls */
    ngx_http_hangar_stats_label_t  errors[NGX_HTTP_HANGAR_STATS_ERRTYPES];
    ngx_atomic_t                 errors_other;
} ngx_http_hangar_stats_tool_t;


typedef struct {
    ngx_atomic_t                 code;      /* 0: free slot */
    ngx_atomic_t                 count;
} ngx_http_hangar_stats_code_t;


typedef struct {
    size_t                       len;
    u_char                       id[NGX_HTTP_HANGAR_ID_MAX];
    u_char                       mode[16];
    ngx_atomic_t                 starts_ok;
    ngx_atomic_t                 starts_failed;
    ngx_atomic_t                 stops[NGX_HTTP_HANGAR_STOP_REASONS];
    ngx_http_hangar_hist_t       cold_start;
    ngx_atomic_t                 checks[NGX_HTTP_HANGAR_CHECK_RESULTS];
    ngx_http_hangar_hist_t       check_time;
    ngx_atomic_t                 sent[NGX_HTTP_HANGAR_RPC_METHODS];
    ngx_atomic_t                 received[NGX_HTTP_HANGAR_RECV_TYPES];
    ngx_http_hangar_hist_t       sent_size;
    ngx_http_hangar_hist_t       received_size;
    ngx_http_hangar_stats_code_t codes[NGX_HTTP_HANGAR_STATS_CODES];
    ngx_atomic_t                 codes_other;
    ngx_atomic_t                 http_errors[2];    /* timeout, other */
    ngx_atomic_t                 ntools;
    ngx_atomic_t                 tools[NGX_HTTP_HANGAR_STATS_TOOLS];
    ngx_http_hangar_stats_tool_t other;     /* past the cap */
} ngx_http_hangar_stats_server_t;


/* the root, in the zone (sh->stats_sh), with its table of servers */
typedef struct {
    ngx_uint_t                   nslots;
    ngx_atomic_t                 nservers;
    ngx_atomic_t                 gc_cycles;
    ngx_http_hangar_hist_t       gc_time;
    ngx_atomic_t                 gc_collected;
    ngx_atomic_t                 limit_allowed;
    ngx_atomic_t                 limit_rejected;
    ngx_atomic_t                 batch[4];  /* success, partial, failure,
                                               validation_error */
    ngx_http_hangar_hist_t       batch_size;
    ngx_http_hangar_hist_t       batch_time;
    ngx_atomic_t                 batch_active;
    ngx_atomic_t                 reloads[2];    /* success, failure */
    ngx_http_hangar_stats_label_t  errors[8];   /* "component\0type" */
    ngx_atomic_t                 errors_other;
    ngx_atomic_t                 servers[1];    /* nslots of them */
} ngx_http_hangar_stats_sh_t;


/* the totals of /api/system */
typedef struct {
    ngx_uint_t                   tool_calls;
    ngx_uint_t                   tool_errors;
    ngx_uint_t                   starts;
    ngx_uint_t                   start_failures;
    ngx_uint_t                   stops;
    ngx_uint_t                   health_checks;
    ngx_uint_t                   health_failures;
    ngx_uint_t                   rate_limited;
    double                       call_seconds;
} ngx_http_hangar_stats_totals_t;


extern const char  *ngx_http_hangar_stop_reasons[];
extern const char  *ngx_http_hangar_check_results[];
extern const char  *ngx_http_hangar_rpc_methods[];
extern const char  *ngx_http_hangar_recv_types[];

/* the bounds of a bucket set, ending with 0 (for +Inf); micro-units */
const uint64_t *ngx_http_hangar_stats_bounds(ngx_http_hangar_hist_e set);

/* NULL until the first count (or when the zone was full) */
ngx_http_hangar_stats_sh_t *ngx_http_hangar_stats(
    ngx_http_hangar_registry_t *reg);

/* the increments; each may be called with or without the slab mutex */
void ngx_http_hangar_stats_call(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_str_t *tool, const char *error_type,
    ngx_msec_t ms);
void ngx_http_hangar_stats_start(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, const char *mode, ngx_int_t ok, ngx_msec_t ms);
void ngx_http_hangar_stats_stop(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, const char *reason);
void ngx_http_hangar_stats_check(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_uint_t result, ngx_msec_t ms);
void ngx_http_hangar_stats_sent(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, const char *method, size_t size);
void ngx_http_hangar_stats_http(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_uint_t status, ngx_int_t rc, ngx_uint_t timedout);
void ngx_http_hangar_stats_received(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_uint_t type, size_t size);
void ngx_http_hangar_stats_limit(ngx_http_hangar_registry_t *reg,
    ngx_uint_t rejected);
void ngx_http_hangar_stats_gc(ngx_http_hangar_registry_t *reg,
    ngx_msec_t ms);
void ngx_http_hangar_stats_batch(ngx_http_hangar_registry_t *reg,
    ngx_uint_t result, ngx_uint_t size, ngx_msec_t ms);
void ngx_http_hangar_stats_batch_active(ngx_http_hangar_registry_t *reg,
    ngx_int_t delta);
void ngx_http_hangar_stats_reload(ngx_http_hangar_registry_t *reg,
    ngx_uint_t ok);
void ngx_http_hangar_stats_error(ngx_http_hangar_registry_t *reg,
    const char *component, const char *type);

void ngx_http_hangar_stats_totals(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_stats_totals_t *t);


#endif /* _NGX_HTTP_HANGAR_STATS_H_INCLUDED_ */
