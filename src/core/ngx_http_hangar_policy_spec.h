
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The shape of a tool access policy (hangar-security.md §3.7), checked
 * where it comes in: a server's "tools:" in its dict form, a server's
 * "tool_access.member.<tenant>", a group member's "tools:", the API.
 * Nothing unknown or malformed is accepted.
 */


#ifndef _NGX_HTTP_HANGAR_POLICY_SPEC_H_INCLUDED_
#define _NGX_HTTP_HANGAR_POLICY_SPEC_H_INCLUDED_


#include "ngx_http_hangar_value.h"


#define NGX_HTTP_HANGAR_POLICY_PATTERNS     1000    /* per list */
#define NGX_HTTP_HANGAR_POLICY_PATTERN_MAX  256     /* bytes */
#define NGX_HTTP_HANGAR_POLICY_TIMEOUT      300     /* default, seconds */
#define NGX_HTTP_HANGAR_POLICY_TIMEOUT_MAX  86400
#define NGX_HTTP_HANGAR_POLICY_CHANNEL_MAX  256

/* top-level tool_access.mode */
#define NGX_HTTP_HANGAR_ACCESS_EGRESS       0
#define NGX_HTTP_HANGAR_ACCESS_FRONT_DOOR   1


/* why a policy is refused: the value, its path, the problem */
typedef struct {
    ngx_http_hangar_value_t     *at;
    char                         path[256];
    const char                  *message;
} ngx_http_hangar_policy_err_t;


/* {allow_list, deny_list, approval_list, approval_timeout_seconds,
 * approval_channel} */
ngx_int_t ngx_http_hangar_policy_spec(ngx_http_hangar_policy_err_t *err,
    const char *path, ngx_http_hangar_value_t *v);

/* a server's tool_access: {member: {"<tenant>": policy}} */
ngx_int_t ngx_http_hangar_policy_spec_access(ngx_http_hangar_policy_err_t *err,
    const char *path, ngx_http_hangar_value_t *v);

/* a server's access: {tool|prompt|resource: policy} */
ngx_int_t ngx_http_hangar_policy_spec_kinds(ngx_http_hangar_policy_err_t *err,
    const char *path, ngx_http_hangar_value_t *v);

/* hangar.yaml's top-level tool_access: {mode: egress|front_door} */
ngx_int_t ngx_http_hangar_policy_spec_mode(ngx_http_hangar_policy_err_t *err,
    ngx_http_hangar_value_t *v, ngx_uint_t *mode);


#endif /* _NGX_HTTP_HANGAR_POLICY_SPEC_H_INCLUDED_ */
