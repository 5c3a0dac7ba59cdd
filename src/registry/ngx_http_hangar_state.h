
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Durable state (ngx_http_hangar_state.c): the state file written with
 * every change, and the sets it keeps in the zone.
 */


#ifndef _NGX_HTTP_HANGAR_STATE_H_INCLUDED_
#define _NGX_HTTP_HANGAR_STATE_H_INCLUDED_


#include "ngx_http_hangar_registry.h"


/*
 * The durable overlay: one path for every change of durable state.  An
 * op runs with the state lock held from the read to the commit: prepare()
 * reads what it changes and reserves memory, the state file is rendered
 * with the pending change and written (on a thread pool when there is
 * one), then commit() links or releases the reserve.
 */

typedef struct ngx_http_hangar_state_op_s  ngx_http_hangar_state_op_t;

/* one of a batch of server changes written at once (sorted by id) */
typedef struct {
    ngx_str_t                    id;
    ngx_str_t                   *spec;      /* NULL: dropped */
} ngx_http_hangar_state_change_t;

typedef ngx_int_t (*ngx_http_hangar_state_pt)(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc);

/* prepare(): NGX_OK write, NGX_DONE nothing to write, else no change */

struct ngx_http_hangar_state_op_s {
    ngx_http_hangar_registry_t  *reg;
    ngx_pool_t                  *pool;
    ngx_log_t                   *log;
    ngx_http_request_t          *r;         /* held while the file is written */
    void                        *data;

    ngx_http_hangar_state_pt     prepare;   /* state lock held, rc unused */
    ngx_http_hangar_state_pt     commit;    /* state lock held, rc of write */
    ngx_http_hangar_state_pt     done;      /* an op that went async ended */
    ngx_http_hangar_state_pt     answer;    /* for the caller */

    /* the pending change, rendered over the registry */
    ngx_str_t                    id;        /* a server whose spec changes */
    ngx_str_t                   *spec;      /* NULL with an id: dropped */
    ngx_str_t                    blocked;   /* a server to render blocked */
    ngx_array_t                 *changes;   /* more, of ..._change_t */
    ngx_http_hangar_set_t       *set;       /* a set it changes: */
    ngx_http_hangar_item_t      *add;       /* reserved, added in commit */
    ngx_str_t                    del;       /* a key removed in commit */
    unsigned                     del_prefix:1;  /* every key from del */
    ngx_uint_t                   doc;       /* a document it replaces, +1 */
    ngx_str_t                    doc_text;
    ngx_http_hangar_blob_t      *doc_blob;  /* reserved, linked in commit */

    ngx_str_t                    text;      /* the file */
    void                        *task;      /* the write, in a thread */
    ngx_str_t                    errmsg;
    ngx_event_t                  wait;      /* for the state lock */
    ngx_msec_t                   deadline;
    unsigned                     async:1;
    unsigned                     locked:1;
};


/* tool names and tenant ids kept in the state file */
#define NGX_HTTP_HANGAR_NAME_MAX    128

#define NGX_HTTP_HANGAR_STATE_BUSY  -20     /* the lock was not had */
#define NGX_HTTP_HANGAR_STATE_FULL  -21     /* the zone is full */
#define NGX_HTTP_HANGAR_STATE_MANY  -22     /* a set is at its bound */

ngx_int_t ngx_http_hangar_state_run(ngx_http_hangar_state_op_t *op);
ngx_int_t ngx_http_hangar_state_add(ngx_http_hangar_state_op_t *op,
    ngx_http_hangar_set_t *set, ngx_str_t *key, ngx_uint_t max);
ngx_uint_t ngx_http_hangar_state_has(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_set_t *set, ngx_str_t *key, ngx_uint_t prefix);
/* the state file's lists into the zone's sets, for the reconcile */
typedef struct {
    ngx_queue_t                  fresh[3];  /* deleted, suspended, withdrawn */
    ngx_http_hangar_blob_t      *docs[NGX_HTTP_HANGAR_DOCS];
} ngx_http_hangar_adopt_t;

ngx_int_t ngx_http_hangar_state_adopt_prepare(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_adopt_t *ad);
void ngx_http_hangar_state_adopt_discard(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_adopt_t *ad);
void ngx_http_hangar_state_adopt_commit(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_adopt_t *ad);
ngx_uint_t ngx_http_hangar_state_suspended(ngx_http_hangar_registry_t *reg,
    ngx_str_t *sid);
ngx_uint_t ngx_http_hangar_state_withdrawn(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_str_t *tool);
ngx_int_t ngx_http_hangar_withdrawal_key(ngx_pool_t *pool, ngx_str_t *server,
    ngx_str_t *tool, ngx_str_t *tenant, ngx_str_t *key);
void ngx_http_hangar_state_flags(ngx_http_hangar_registry_t *reg,
    ngx_log_t *log);
ngx_uint_t ngx_http_hangar_state_same(ngx_http_hangar_value_t *a,
    ngx_http_hangar_value_t *b);
ngx_int_t ngx_http_hangar_state_path(ngx_pool_t *pool, ngx_str_t *dir,
    const char *name, ngx_str_t *path);
ngx_int_t ngx_http_hangar_file_write(ngx_pool_t *pool, ngx_str_t *dir,
    const char *name, ngx_str_t *text, ngx_log_t *log, ngx_str_t *errmsg);


#endif /* _NGX_HTTP_HANGAR_STATE_H_INCLUDED_ */
