
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The registry: servers and groups in one shared-memory zone.  Every
 * worker sees a change at once.  A record's variable parts are "blobs"
 * replaced as a whole (copy on write) under the slab mutex, so a reader
 * holding the mutex always sees a complete record and no request can
 * leave a half-made one.  Hot counters are atomics read without the lock.
 */


#ifndef _NGX_HTTP_HANGAR_REGISTRY_H_INCLUDED_
#define _NGX_HTTP_HANGAR_REGISTRY_H_INCLUDED_


#include "ngx_http_hangar.h"


typedef enum {
    NGX_HTTP_HANGAR_COLD = 0,
    NGX_HTTP_HANGAR_INITIALIZING,
    NGX_HTTP_HANGAR_READY,
    NGX_HTTP_HANGAR_DEGRADED,
    NGX_HTTP_HANGAR_DEAD
} ngx_http_hangar_state_e;

#define NGX_HTTP_HANGAR_NSTATES  5


typedef struct {
    size_t                       len;
    u_char                       data[1];
} ngx_http_hangar_blob_t;


/* the calls in flight to a server that one worker holds */
#define NGX_HTTP_HANGAR_HOLDS  16

typedef struct {
    ngx_atomic_t                 pid;
    ngx_atomic_t                 count;
} ngx_http_hangar_hold_t;


typedef struct {
    ngx_rbtree_node_t            node;      /* key: crc32 of the id */
    ngx_queue_t                  queue;     /* declaration order */

    u_char                       id[NGX_HTTP_HANGAR_ID_MAX];
    size_t                       id_len;
    ngx_uint_t                   mode;
    u_char                       mode_name[16];   /* as configured */

    unsigned                     api:1;       /* in the state file */
    unsigned                     declared:1;  /* hangar.yaml has the id */
    unsigned                     changed:1;   /* spec replaced: restart */
    unsigned                     tools_predefined:1;
    unsigned                     warmed:1;    /* started once for its tools */

    ngx_atomic_t                 state;
    ngx_atomic_t                 total_invocations;
    ngx_atomic_t                 total_failures;
    ngx_atomic_t                 consecutive_failures;
    ngx_atomic_t                 last_success;    /* epoch ms, 0 = never */
    ngx_atomic_t                 last_failure;
    ngx_atomic_t                 last_used;
    ngx_atomic_t                 started;
    ngx_atomic_t                 tools_count;

    /* lifecycle (ngx_http_hangar_lifecycle.c) */
    ngx_atomic_t                 blocked;
    ngx_atomic_t                 bridge_pid;
    ngx_atomic_t                 server_pid;
    ngx_atomic_t                 start_owner;   /* worker pid starting it */
    ngx_atomic_t                 start_deadline; /* monotonic ms */
    ngx_atomic_t                 start_seq;     /* the run, zone-wide */
    ngx_atomic_t                 bridge_seq;    /* names its socket, status */
    ngx_atomic_t                 next_check;    /* monotonic ms */
    ngx_atomic_t                 history_pos;   /* calls recorded */
    ngx_http_hangar_blob_t      *error;     /* last start error, JSON */
    ngx_http_hangar_blob_t      *session;   /* Mcp-Session-Id of a remote */

    ngx_http_hangar_blob_t      *spec;      /* canonical spec, JSON */
    ngx_http_hangar_blob_t      *desc;      /* description, raw text */
    ngx_http_hangar_blob_t      *tools;     /* JSON array of tool objects */
    ngx_http_hangar_blob_t      *meta;      /* JSON object */

    /* the state machine (ngx_http_hangar_machine.c); times: monotonic ms */
    ngx_http_hangar_hold_t       holds[NGX_HTTP_HANGAR_HOLDS];
    ngx_atomic_t                 inflight;      /* the sum of the holds */
    ngx_atomic_t                 idle_since;    /* the last call ended */
    ngx_atomic_t                 failed_at;     /* for the backoff */
    ngx_atomic_t                 drain_until;   /* a stop waits for calls */
    ngx_atomic_t                 max_failures;  /* of the spec; 0: 3 */
    ngx_atomic_t                 idle_ttl;      /* ms, of the spec; 0: none */
} ngx_http_hangar_node_t;


typedef struct {
    ngx_rbtree_t                 rbtree;
    ngx_rbtree_node_t            sentinel;
    ngx_queue_t                  queue;
    ngx_uint_t                   count;
} ngx_http_hangar_tree_t;


/*
 * The event ring (hangar-core.md §5): every event has a zone-wide sequence
 * number.  A writer copies a fixed record into the slot (no formatting,
 * safe under the slab mutex); readers build the JSON from their copy.
 * The ring has a sixteenth of the zone, at least EVENTS_MIN slots.
 */
#define NGX_HTTP_HANGAR_EVENTS_MIN    16
#define NGX_HTTP_HANGAR_EVENT_FIELDS  4
#define NGX_HTTP_HANGAR_EVENT_DATA    320

typedef struct {
    u_char                       key[24];
    u_char                       str[64];
    ngx_uint_t                   num;
    ngx_uint_t                   is_num;
} ngx_http_hangar_event_field_t;


typedef struct {
    ngx_atomic_t                 seq;       /* 0 while being written */
    ngx_msec_t                   time;      /* epoch ms */
    u_char                       type[40];
    u_char                       id[NGX_HTTP_HANGAR_ID_MAX + 1];
    ngx_uint_t                   nfields;
    ngx_http_hangar_event_field_t  fields[NGX_HTTP_HANGAR_EVENT_FIELDS];
    u_char                       data[NGX_HTTP_HANGAR_EVENT_DATA];  /* JSON */
} ngx_http_hangar_event_t;


/* what a caller holding the slab mutex hands over: copied, not formatted */
typedef struct {
    const char                  *key;
    const char                  *str;       /* NULL: num is the value */
    ngx_uint_t                   num;
} ngx_http_hangar_efield_t;


/* one tool call, for GET .../tools/history */
typedef struct {
    ngx_atomic_uint_t            seq;
    ngx_uint_t                   position;      /* in the server's stream */
    ngx_msec_t                   time;
    uint64_t                     duration_us;
    size_t                       size;
    unsigned                     failed:1;
    u_char                       server[NGX_HTTP_HANGAR_ID_MAX + 1];
    u_char                       tool[128];
    u_char                       event_id[37];
    u_char                       correlation_id[37];
    u_char                       error_type[32];
    u_char                       error[160];
} ngx_http_hangar_record_call_t;


/*
 * A set of keys in the zone (deleted ids, suspended sessions, withdrawn
 * tools): an rbtree for lookups, a queue for the order of the state file.
 * A key of several fields has them separated by '\0'.
 */

typedef struct {
    ngx_str_node_t               sn;        /* sn.str points at data */
    ngx_queue_t                  queue;
    u_char                       data[1];
} ngx_http_hangar_item_t;


typedef struct {
    ngx_rbtree_t                 rbtree;
    ngx_rbtree_node_t            sentinel;
    ngx_queue_t                  queue;
    ngx_uint_t                   count;
} ngx_http_hangar_set_t;


typedef struct {
    ngx_http_hangar_tree_t       servers;
    ngx_http_hangar_tree_t       groups;
    ngx_http_hangar_set_t        deleted;   /* server ids */
    ngx_http_hangar_set_t        suspended; /* session ids */
    ngx_http_hangar_set_t        withdrawn; /* server \0 tool \0 tenant */
    ngx_uint_t                   sets_ready;
    ngx_atomic_t                 generation;
    ngx_shmtx_sh_t               state_lock;
    ngx_msec_t                   boot_ms;   /* epoch ms of the first start */
    ngx_atomic_t                 lease_pid;     /* worker doing the duties */
    ngx_atomic_t                 lease_until;   /* monotonic ms */
    ngx_atomic_t                 event_seq;     /* the last published */
    ngx_atomic_t                 event_lock;    /* serialises writers */
    ngx_http_hangar_event_t     *events;
    ngx_uint_t                   events_size;
    uint32_t                     event_salt;    /* names events: event_id */
    ngx_http_hangar_record_call_t *history;
    ngx_uint_t                   history_size;
    ngx_atomic_uint_t            history_seq;
    u_char                       instance_id[96];

    /* front-door sessions (ngx_http_hangar_session.c), made on first use */
    ngx_rbtree_t                 ended_tree;    /* ended, until they expire */
    ngx_rbtree_node_t            ended_sentinel;
    ngx_queue_t                  ended_queue;
    ngx_uint_t                   ended_count;
    ngx_uint_t                   ended_loaded;  /* from the state dir */
    ngx_rbtree_t                 streams_tree;  /* GET streams held */
    ngx_rbtree_node_t            streams_sentinel;
    ngx_uint_t                   sessions_init;
    ngx_atomic_t                 run_seq;   /* names every start, zone-wide */

    /* the state file's documents (ngx_http_hangar_state_doc()) */
    ngx_http_hangar_blob_t      *docs[NGX_HTTP_HANGAR_DOCS];
    ngx_atomic_t                 doc_gen[NGX_HTTP_HANGAR_DOCS];

    /* the roots of higher layers' shared structures, made on first use
       with the slab mutex held: auth (keys' use), limits (lockouts and
       token buckets), approvals */
    void                        *auth_sh;
    void                        *limit_sh;
    void                        *approval_sh;
    void                        *stats_sh;      /* ngx_http_hangar_stats.c */
    void                        *names_sh;  /* front-door names retired */
    void                        *group_sh;  /* ngx_http_hangar_group.c */
    void                        *mailbox_sh;    /* the front door's */
    u_char                       mcp_log_level[16]; /* logging/setLevel */
    void                        *discovery_sh;
} ngx_http_hangar_shctx_t;


typedef struct {
    ngx_str_t                    name;
    ngx_slab_pool_t             *shpool;
    ngx_http_hangar_shctx_t     *sh;
    ngx_shmtx_t                  state_mutex;
    ngx_http_hangar_main_conf_t *hmcf;
    ngx_uint_t                   fresh;     /* zone new: not a reload */
} ngx_http_hangar_registry_t;


/* what a record is made of, computed in a pool before touching shm */
typedef struct {
    ngx_str_t                    id;
    ngx_uint_t                   mode;
    ngx_str_t                    mode_name;
    ngx_str_t                    spec;
    ngx_str_t                    desc;
    ngx_str_t                    tools;     /* empty: no predefined tools */
    ngx_uint_t                   tools_count;
} ngx_http_hangar_record_t;


/* blobs allocated ahead of a change, linked by commit (which cannot fail) */
typedef struct {
    ngx_http_hangar_node_t      *node;      /* a new node, when creating */
    ngx_http_hangar_blob_t      *spec;
    ngx_http_hangar_blob_t      *desc;
    ngx_http_hangar_blob_t      *tools;
} ngx_http_hangar_prep_t;


/* a running server that a reload removed (stop it) or changed (restart) */
typedef struct {
    ngx_str_t                    id;
    u_char                       idbuf[NGX_HTTP_HANGAR_ID_MAX];
    ngx_pid_t                    bridge;
    ngx_pid_t                    server;
    unsigned                     removed:1;
    unsigned                     blocked:1;
} ngx_http_hangar_stale_t;


ngx_int_t ngx_http_hangar_registry_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
ngx_http_hangar_registry_t *ngx_http_hangar_registry(void);
void ngx_http_hangar_registry_commit(ngx_http_hangar_registry_t *reg);

#define ngx_http_hangar_lock(reg)    ngx_shmtx_lock(&(reg)->shpool->mutex)
#define ngx_http_hangar_unlock(reg)  ngx_shmtx_unlock(&(reg)->shpool->mutex)

ngx_int_t ngx_http_hangar_state_lock(ngx_http_hangar_registry_t *reg,
    ngx_log_t *log);
void ngx_http_hangar_state_unlock(ngx_http_hangar_registry_t *reg);

ngx_http_hangar_node_t *ngx_http_hangar_find(ngx_http_hangar_tree_t *tree,
    u_char *id, size_t len);

ngx_int_t ngx_http_hangar_record(ngx_pool_t *pool, ngx_str_t *id,
    ngx_http_hangar_value_t *spec, ngx_http_hangar_record_t *rec);

/* with the slab mutex held; NGX_DECLINED when the zone is full */
ngx_int_t ngx_http_hangar_prepare(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_record_t *rec, ngx_uint_t create,
    ngx_http_hangar_prep_t *prep);
void ngx_http_hangar_discard(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_prep_t *prep);
ngx_http_hangar_node_t *ngx_http_hangar_commit(
    ngx_http_hangar_registry_t *reg, ngx_http_hangar_tree_t *tree,
    ngx_http_hangar_node_t *node, ngx_http_hangar_record_t *rec,
    ngx_http_hangar_prep_t *prep);
void ngx_http_hangar_remove(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_tree_t *tree, ngx_http_hangar_node_t *node);
ngx_http_hangar_blob_t *ngx_http_hangar_blob(ngx_http_hangar_registry_t *reg,
    u_char *data, size_t len);
void ngx_http_hangar_blob_free(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_blob_t *blob);
ngx_int_t ngx_http_hangar_set_blob(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_blob_t **slot, ngx_str_t *text);
void ngx_http_hangar_zone_full(ngx_http_hangar_registry_t *reg,
    ngx_log_t *log);

const char *ngx_http_hangar_state_name(ngx_uint_t state);
const char *ngx_http_hangar_mode_name(ngx_uint_t mode);


/* the event ring's functions, for every user of the registry */
#include "ngx_http_hangar_events.h"


#endif /* _NGX_HTTP_HANGAR_REGISTRY_H_INCLUDED_ */
