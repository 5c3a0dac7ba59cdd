
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The front door's relay of the rest of MCP (hangar-core.md §7.6):
 * resources, resource templates, prompts, completion and logging,
 * aggregated over the fleet's ready servers; resource URIs projected as
 * hangar://<server>/<upstream uri>; the servers' notifications relayed to
 * the sessions' GET streams through the mailbox.
 */


#ifndef _NGX_HTTP_HANGAR_MCP_RELAY_H_INCLUDED_
#define _NGX_HTTP_HANGAR_MCP_RELAY_H_INCLUDED_


#include "ngx_http_hangar_reply.h"
#include "ngx_http_hangar_session.h"


/*
 * A request of the front door's POST: NGX_DECLINED when the method is not
 * one the relay serves, else what the handler returns.
 */
ngx_int_t ngx_http_hangar_relay(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_sid_t *sid, ngx_http_hangar_value_t *method,
    ngx_http_hangar_value_t *id, ngx_http_hangar_value_t *params);


#endif /* _NGX_HTTP_HANGAR_MCP_RELAY_H_INCLUDED_ */
