
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Authentication and authorization (hangar-security.md §1, §3): the auth:
 * section of hangar.yaml, who a request comes from (an nginx variable, an
 * API key, a bearer JWT), the loopback-only rule while auth is off, and
 * RBAC over built-in roles, custom roles and assignments.  This layer
 * decides; the HTTP layer sends the answers it decides on.
 */


#ifndef _NGX_HTTP_HANGAR_AUTH_H_INCLUDED_
#define _NGX_HTTP_HANGAR_AUTH_H_INCLUDED_


#include "ngx_http_hangar_principal.h"
#include "ngx_http_hangar_registry.h"
#include "ngx_http_hangar_rbac.h"
#include "ngx_http_hangar_jwt.h"


/*
 * The request context of every hangar request (ngx_http_hangar_req_t)
 * starts with this, so that this layer finds it from the request alone.
 */
typedef struct {
    ngx_http_hangar_principal_t *principal;   /* NULL: auth is off */
    ngx_uint_t                   state;       /* 0, 1 authenticated */
    ngx_event_t                 *wake;        /* unused by callers */
} ngx_http_hangar_auth_ctx_t;


/* what to answer when a request is refused */
typedef struct {
    ngx_uint_t                   status;      /* 401 or 403 */
    const char                  *error;       /* the error's class */
    ngx_str_t                    message;
    ngx_str_t                    details;     /* a JSON object, or empty */
    ngx_str_t                    challenge;   /* WWW-Authenticate, for 401 */
    time_t                       retry_after; /* 0: no Retry-After */
} ngx_http_hangar_refusal_t;


typedef void (*ngx_http_hangar_auth_wake_pt)(void *data);


/* configuration time, after hangar.yaml is loaded */
ngx_int_t ngx_http_hangar_auth_conf(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf);

ngx_uint_t ngx_http_hangar_auth_enabled(void);

/*
 * Who the request comes from.  NGX_OK: go on (a principal is set, or auth
 * is off and the client may pass); NGX_DECLINED: refused as *no says;
 * NGX_AGAIN: a key set is being fetched, wake(data) is called once, then
 * call again; NGX_ERROR.
 */
ngx_int_t ngx_http_hangar_auth_authenticate(ngx_http_request_t *r,
    ngx_http_hangar_refusal_t *no, ngx_http_hangar_auth_wake_pt wake,
    void *data);

/* the route's permission ("resource:action", "authenticated"; NULL: none) */
ngx_int_t ngx_http_hangar_auth_authorize(ngx_http_request_t *r,
    const char *permission, ngx_http_hangar_refusal_t *no);

/* the request's principal: NULL when auth is off (everything allowed) */
/* the bearer JWT issuers (auth.oidc); NULL: none, or auth is off */
ngx_http_hangar_jwt_conf_t *ngx_http_hangar_auth_jwt(void);

ngx_http_hangar_principal_t *ngx_http_hangar_auth_principal(
    ngx_http_request_t *r);

/* RBAC for the request's principal; always 1 when auth is off */
ngx_uint_t ngx_http_hangar_auth_allowed(ngx_http_request_t *r,
    const char *resource, const char *action, ngx_str_t *id);

/* log an authentication or authorization decision and record its event */
void ngx_http_hangar_auth_record(ngx_http_request_t *r, const char *event,
    ngx_http_hangar_principal_t *p, const char *fmt, ...);


#endif /* _NGX_HTTP_HANGAR_AUTH_H_INCLUDED_ */
