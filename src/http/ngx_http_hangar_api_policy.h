
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/auth/policies/{scope}/{target_id} (GET, POST, DELETE) and POST
 * /api/agent/policy: the tool access policies kept in the state file.
 */


#ifndef _NGX_HTTP_HANGAR_API_POLICY_H_INCLUDED_
#define _NGX_HTTP_HANGAR_API_POLICY_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


ngx_int_t ngx_http_hangar_policies_get(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_policies_set(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_policies_clear(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_agent_policy(ngx_http_hangar_req_t *hr);


#endif /* _NGX_HTTP_HANGAR_API_POLICY_H_INCLUDED_ */
