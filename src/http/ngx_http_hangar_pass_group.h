
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * hangar_pass to a group (ngx_http_hangar_pass_group.c): session affinity
 * by a key in the session id hangar hands out.
 */


#ifndef _NGX_HTTP_HANGAR_PASS_GROUP_H_INCLUDED_
#define _NGX_HTTP_HANGAR_PASS_GROUP_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


/*
 * *id is a group: the member the request goes to, in *id; *group is the
 * group and *sid the upstream's session id without its key.  NGX_DECLINED:
 * not a group; NGX_ABORT: the session's member is gone (answer 404, the
 * client initializes again); NGX_BUSY: no member in rotation.
 */
ngx_int_t ngx_http_hangar_pass_member(ngx_http_request_t *r,
    ngx_http_hangar_registry_t *reg, ngx_str_t *id, ngx_str_t *group,
    ngx_str_t *sid);

/* Mcp-Session-Id to the server (out 0) and to the client (out 1) */
ngx_int_t ngx_http_hangar_pass_sid(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, ngx_uint_t out, ngx_str_t *group,
    ngx_str_t *member, ngx_str_t *sid);


#endif /* _NGX_HTTP_HANGAR_PASS_GROUP_H_INCLUDED_ */
