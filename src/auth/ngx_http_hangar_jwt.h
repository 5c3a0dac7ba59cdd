
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Bearer JWT / OIDC authentication (hangar-security.md §1.4): auth.oidc
 * of hangar.yaml, the checks of a token in their order, the issuers' key
 * sets (a file, or fetched through the async client, with discovery,
 * a per-worker cache and a refetch on an unknown "kid"), the
 * WWW-Authenticate challenge and the RFC 9728 metadata.
 */


#ifndef _NGX_HTTP_HANGAR_JWT_H_INCLUDED_
#define _NGX_HTTP_HANGAR_JWT_H_INCLUDED_


#include "ngx_http_hangar.h"
#include "ngx_http_hangar_principal.h"


typedef struct ngx_http_hangar_jwt_conf_s  ngx_http_hangar_jwt_conf_t;

typedef void (*ngx_http_hangar_jwt_wake_pt)(void *data);


/*
 * Configuration time: validates auth.oidc (every key of §1.4, issuers[]
 * inheriting the top-level keys, and jwks_file, read now).  *jcp = NULL
 * when oidc is absent or enabled is not true.
 */
ngx_int_t ngx_http_hangar_jwt_conf(ngx_conf_t *cf,
    ngx_http_hangar_value_t *oidc, ngx_str_t *file,
    ngx_http_hangar_jwt_conf_t **jcp);

/*
 * token: what follows "Bearer ".  NGX_OK: *p filled; NGX_DECLINED: *err
 * is the 401 message, *details a JSON object or empty; NGX_AGAIN: a key
 * set is being fetched, wake(data) is called once when that ends (never
 * from inside this call), then verify is called again; NGX_ERROR.
 * Strings of *p, *err and *details live in pool.
 */
ngx_int_t ngx_http_hangar_jwt_verify(ngx_http_hangar_jwt_conf_t *jc,
    ngx_str_t *token, ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_hangar_principal_t *p, ngx_str_t *err, ngx_str_t *details,
    ngx_http_hangar_jwt_wake_pt wake, void *data);

/* the WWW-Authenticate value of a 401; jc may be NULL */
ngx_int_t ngx_http_hangar_jwt_challenge(ngx_http_hangar_jwt_conf_t *jc,
    ngx_http_request_t *r, ngx_str_t *value);

/*
 * RFC 9728 protected resource metadata, {"resource", "authorization_
 * servers"} appended to out; NGX_DECLINED when there is no issuer.
 */
ngx_int_t ngx_http_hangar_jwt_metadata(ngx_http_hangar_jwt_conf_t *jc,
    ngx_http_request_t *r, ngx_http_hangar_out_t *out);


#endif /* _NGX_HTTP_HANGAR_JWT_H_INCLUDED_ */
