
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * What the /api/auth/ routes share: the state file's "auth" document
 * (keys, roles, assignments), read and changed under the state lock, the
 * checks of a request's fields, the acting principal, events.
 */


#ifndef _NGX_HTTP_HANGAR_API_AUTH_DOC_H_INCLUDED_
#define _NGX_HTTP_HANGAR_API_AUTH_DOC_H_INCLUDED_


#include "ngx_http_hangar_reply.h"
#include "ngx_http_hangar_state.h"
#include "ngx_http_hangar_auth.h"


#define NGX_HTTP_HANGAR_AUTH_KEYS_MAX     10000
#define NGX_HTTP_HANGAR_AUTH_ROLES_MAX    1000
#define NGX_HTTP_HANGAR_AUTH_ASSIGN_MAX   10000
#define NGX_HTTP_HANGAR_AUTH_PERMS_MAX    100
#define NGX_HTTP_HANGAR_AUTH_TEXT_MAX     1024    /* description, reason */
#define NGX_HTTP_HANGAR_AUTH_ROLE_MAX     64      /* a role name */


/* the "auth" document, parsed */
typedef struct {
    ngx_http_hangar_value_t     *doc;
    ngx_http_hangar_value_t     *keys;          /* arrays of objects */
    ngx_http_hangar_value_t     *roles;
    ngx_http_hangar_value_t     *assignments;
} ngx_http_hangar_authdoc_t;


/* a role as the routes show it */
typedef struct {
    ngx_str_t                    name;
    ngx_str_t                    description;
    ngx_array_t                 *permissions;   /* ngx_str_t, 3 parts */
    ngx_http_hangar_value_t     *entry;         /* custom: its entry */
    ngx_uint_t                   builtin;
} ngx_http_hangar_authrole_t;


/* a field of a request body, for ngx_http_hangar_authreq_fields() */
#define NGX_HTTP_HANGAR_AUTHF_TEXT       0   /* ngx_str_t */
#define NGX_HTTP_HANGAR_AUTHF_PRINCIPAL  1   /* ngx_str_t */
#define NGX_HTTP_HANGAR_AUTHF_ROLE       2   /* ngx_str_t */
#define NGX_HTTP_HANGAR_AUTHF_SCOPE      3   /* ngx_str_t */
#define NGX_HTTP_HANGAR_AUTHF_TIME       4   /* ngx_str_t, in our form */
#define NGX_HTTP_HANGAR_AUTHF_LIST       5   /* ngx_array_t * of ngx_str_t */
#define NGX_HTTP_HANGAR_AUTHF_PERMS      6   /* the same, three-part */

#define NGX_HTTP_HANGAR_AUTHF_REQUIRED   1
#define NGX_HTTP_HANGAR_AUTHF_EMPTY      2   /* "" is allowed */

typedef struct {
    const char                  *name;
    ngx_uint_t                   kind;
    ngx_uint_t                   flags;
    size_t                       max;           /* bytes, or items */
    size_t                       offset;        /* of the value */
} ngx_http_hangar_authfield_t;

/* why a body was refused: the 422's field and message */
typedef struct {
    ngx_str_t                    field;
    ngx_str_t                    message;
} ngx_http_hangar_authbad_t;


typedef struct ngx_http_hangar_authop_s  ngx_http_hangar_authop_t;

/*
 * edit(): with the state lock held, changes ao->d.  NGX_OK: write it;
 * NGX_DONE: nothing to change; NGX_DECLINED: refused (by
 * ngx_http_hangar_authop_refuse()); NGX_HTTP_HANGAR_STATE_MANY: at a
 * bound (ao->bound, ao->bound_max).  reply(): the answer once the change
 * is written, or was not needed (ao->changed tells).
 */
typedef ngx_int_t (*ngx_http_hangar_authop_pt)(ngx_http_hangar_authop_t *ao);

struct ngx_http_hangar_authop_s {
    ngx_http_hangar_state_op_t   op;            /* first */
    ngx_http_hangar_req_t       *hr;
    ngx_http_hangar_authdoc_t    d;
    ngx_http_hangar_authop_pt    edit;
    ngx_http_hangar_authop_pt    reply;
    ngx_str_t                    actor;         /* who asks */
    ngx_uint_t                   changed;

    /* the event of a change, and its log line */
    const char                  *event;
    ngx_str_t                    event_id;
    ngx_str_t                    event_data;    /* a JSON object */

    /* a refusal */
    ngx_uint_t                   status;
    const char                  *error;
    ngx_str_t                    field;         /* a 422's field */
    ngx_str_t                    message;
    const char                  *bound;         /* a bound's noun */
    ngx_uint_t                   bound_max;
};


/* request fields */
ngx_int_t ngx_http_hangar_authreq_fields(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_authfield_t *fields, void *base,
    ngx_http_hangar_authbad_t *bad);
ngx_uint_t ngx_http_hangar_authprincipal_valid(ngx_str_t *id);
ngx_uint_t ngx_http_hangar_authscope_valid(ngx_str_t *scope);
ngx_int_t ngx_http_hangar_authreq_arg(ngx_http_hangar_req_t *hr,
    const char *name, ngx_str_t *value);
void ngx_http_hangar_authreq_actor(ngx_http_hangar_req_t *hr,
    ngx_str_t *actor);
ngx_int_t ngx_http_hangar_authreq_invalid(ngx_http_hangar_req_t *hr,
    const char *field, const char *message);

/* the document */
ngx_int_t ngx_http_hangar_authdoc_read(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_authdoc_t *d);
ngx_int_t ngx_http_hangar_authdoc_run(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_authop_t *ao);
ngx_int_t ngx_http_hangar_authop_refuse(ngx_http_hangar_authop_t *ao,
    ngx_uint_t status, const char *error, const char *field,
    const char *fmt, ...);
ngx_int_t ngx_http_hangar_authop_event(ngx_http_hangar_authop_t *ao,
    const char *event, ngx_str_t *id, ...);
void ngx_http_hangar_authdoc_remove(ngx_http_hangar_value_t *arr,
    ngx_uint_t i);
ngx_str_t *ngx_http_hangar_authdoc_str(ngx_http_hangar_value_t *obj,
    const char *key);
ngx_uint_t ngx_http_hangar_authdoc_is(ngx_http_hangar_value_t *obj,
    const char *key, ngx_str_t *value);
ngx_int_t ngx_http_hangar_authdoc_set_str(ngx_pool_t *pool,
    ngx_http_hangar_value_t *obj, const char *key, ngx_str_t *s);
ngx_int_t ngx_http_hangar_authdoc_push(ngx_pool_t *pool,
    ngx_http_hangar_value_t *arr, ngx_http_hangar_out_t *out);
ngx_int_t ngx_http_hangar_authdoc_now(ngx_pool_t *pool, ngx_str_t *iso);
void ngx_http_hangar_authdoc_strs_out(ngx_http_hangar_out_t *out,
    ngx_array_t *list);

/* roles */
ngx_int_t ngx_http_hangar_authrole_find(ngx_pool_t *pool,
    ngx_http_hangar_authdoc_t *d, ngx_str_t *name,
    ngx_http_hangar_authrole_t *role);
ngx_int_t ngx_http_hangar_authrole_builtin(ngx_pool_t *pool, ngx_uint_t i,
    ngx_http_hangar_authrole_t *role);


#endif /* _NGX_HTTP_HANGAR_API_AUTH_DOC_H_INCLUDED_ */
