
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Approvals (hangar-security.md §4): a tool call that a policy gates is
 * held, without blocking, until someone resolves its record through the
 * API on any worker, or its timeout denies it.  The records live in the
 * zone and are kept in the state file as a document.
 */


#ifndef _NGX_HTTP_HANGAR_APPROVAL_H_INCLUDED_
#define _NGX_HTTP_HANGAR_APPROVAL_H_INCLUDED_


#include "ngx_http_hangar.h"
#include "ngx_http_hangar_registry.h"
#include "ngx_http_hangar_state.h"


#define NGX_HTTP_HANGAR_APPROVALS_MAX       1000
#define NGX_HTTP_HANGAR_APPROVAL_REASON_MAX 1024

#define NGX_HTTP_HANGAR_APPROVAL_PENDING    0
#define NGX_HTTP_HANGAR_APPROVAL_APPROVED   1
#define NGX_HTTP_HANGAR_APPROVAL_DENIED     2
#define NGX_HTTP_HANGAR_APPROVAL_EXPIRED    3
#define NGX_HTTP_HANGAR_APPROVAL_ANY        4


/* a copy of a record, its strings in a pool; times: epoch ms */
typedef struct {
    ngx_str_t                    id;
    ngx_str_t                    provider;
    ngx_str_t                    tool;
    ngx_str_t                    arguments;     /* redacted, JSON */
    ngx_str_t                    hash;
    ngx_str_t                    channel;
    ngx_str_t                    correlation;
    ngx_str_t                    requested_by;  /* len 0: null */
    ngx_str_t                    tenant;        /* len 0: null */
    ngx_str_t                    decided_by;    /* len 0: null */
    ngx_str_t                    reason;        /* len 0: null */
    ngx_uint_t                   state;
    ngx_uint_t                   seq;           /* order of creation */
    ngx_msec_t                   requested_at;
    ngx_msec_t                   expires_at;
    ngx_msec_t                   decided_at;    /* 0: null */
} ngx_http_hangar_approval_t;


/* the outcome of a resolve's prepare */
#define NGX_HTTP_HANGAR_APPROVAL_DONE       0
#define NGX_HTTP_HANGAR_APPROVAL_NOT_FOUND  1
#define NGX_HTTP_HANGAR_APPROVAL_RESOLVED   2   /* already; see state */
#define NGX_HTTP_HANGAR_APPROVAL_TOO_LATE   3   /* expired now */

/* a decision as a durable-write op; the caller sets answer and runs it */
typedef struct {
    ngx_http_hangar_state_op_t   op;        /* first */
    ngx_str_t                    id;        /* len 0: the sweep */
    ngx_uint_t                   decision;  /* the state it sets */
    ngx_str_t                    decided_by;
    ngx_str_t                    reason;
    ngx_str_t                   *tenant;    /* the caller's; NULL: none */
    ngx_uint_t                   scoped;    /* a caller: tenants apply */
    ngx_uint_t                   outcome;
    ngx_uint_t                   state;     /* the record's, after */
    ngx_msec_t                   now;
    ngx_http_hangar_blob_t      *blob;      /* reserved: who and why */
    ngx_str_t                    tool;      /* for the log line */
    ngx_str_t                    provider;
} ngx_http_hangar_approval_op_t;


/* a create as a durable-write op: rec is the record to keep */
typedef struct {
    ngx_http_hangar_state_op_t   op;        /* first */
    ngx_http_hangar_approval_t   rec;
    void                        *node;      /* reserved by prepare */
    void                        *victim;    /* goes at commit */
} ngx_http_hangar_approval_create_t;


/* copies of the records of a state (or ANY) and provider (NULL: any) */
ngx_int_t ngx_http_hangar_approval_list(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_log_t *log, ngx_uint_t state, ngx_str_t *provider,
    ngx_array_t *list);
void ngx_http_hangar_approval_json(ngx_http_hangar_out_t *out,
    ngx_http_hangar_approval_t *a, ngx_msec_t now);
ngx_int_t ngx_http_hangar_approval_state(ngx_str_t *name);
const char *ngx_http_hangar_approval_state_name(ngx_uint_t state);

/* op->prepare and op->commit of a resolve; the caller runs the op */
void ngx_http_hangar_approval_resolve_init(ngx_http_hangar_approval_op_t *ao);

/* op->prepare and op->commit of a create */
void ngx_http_hangar_approval_create_init(
    ngx_http_hangar_approval_create_t *c);
/* a record's state (ANY: none), expiry, hash and a person's reason */
ngx_uint_t ngx_http_hangar_approval_peek(ngx_http_hangar_registry_t *reg,
    ngx_str_t *id, ngx_msec_t *expires, u_char *hash, ngx_str_t *reason,
    size_t reason_max);
ngx_uint_t ngx_http_hangar_approval_due(ngx_http_hangar_registry_t *reg,
    ngx_log_t *log);


#endif /* _NGX_HTTP_HANGAR_APPROVAL_H_INCLUDED_ */
