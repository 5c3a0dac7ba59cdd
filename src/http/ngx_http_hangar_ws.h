
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * GET /api/ws/events: the event stream over a WebSocket (RFC 6455) that
 * the module serves itself (hangar-core.md §5).
 */


#ifndef _NGX_HTTP_HANGAR_WS_H_INCLUDED_
#define _NGX_HTTP_HANGAR_WS_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


ngx_int_t ngx_http_hangar_ws_events(ngx_http_hangar_req_t *hr);
/*
 * Before authentication: on /ws/events, with neither Authorization nor
 * X-API-Key, "?token=<t>" becomes "Authorization: Bearer <t>"; the token
 * is blanked in the request line (logs never see it).  NGX_ERROR: no
 * memory.
 */
ngx_int_t ngx_http_hangar_ws_token(ngx_http_request_t *r);
/* "hangar_events_ping <time>": the keep-alive interval (default 55s) */
char *ngx_http_hangar_ws_ping_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_HANGAR_WS_H_INCLUDED_ */
