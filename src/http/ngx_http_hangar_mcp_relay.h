
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

/*
 * The resource_link blocks and embedded resources of a tools/call result,
 * and the contents of a resources/read result, named as the client sees
 * them (hangar://<server>/<uri>); in place.
 */
ngx_int_t ngx_http_hangar_relay_rewrite_links(ngx_pool_t *pool,
    ngx_str_t *server, ngx_http_hangar_value_t *result);

/*
 * hangar://<server>/<uri>: NGX_OK with server and uri pointing into it,
 * NGX_DECLINED when it is not of that form.
 */
ngx_int_t ngx_http_hangar_relay_uri_parse(ngx_str_t *projected,
    ngx_str_t *server, ngx_str_t *uri);

/* a server's notification (the lifecycle's listener hands it over) */
void ngx_http_hangar_relay_notify(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_http_hangar_value_t *msg);


#endif /* _NGX_HTTP_HANGAR_MCP_RELAY_H_INCLUDED_ */
