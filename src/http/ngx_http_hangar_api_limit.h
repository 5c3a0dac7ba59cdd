
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The answers of the rate limits (ngx_http_hangar_limit.c decides): 429
 * with the flat envelope and Retry-After for REST commands, a JSON-RPC
 * error for a tools/call.
 */


#ifndef _NGX_HTTP_HANGAR_API_LIMIT_H_INCLUDED_
#define _NGX_HTTP_HANGAR_API_LIMIT_H_INCLUDED_


#include "ngx_http_hangar_reply.h"
#include "ngx_http_hangar_limit.h"


/*
 * A REST request after its route matched and was authorized: NGX_DECLINED
 * when it may go on (a read, a route that is not limited, a token left),
 * else what the 429 answer returns (the body is discarded).
 */
ngx_int_t ngx_http_hangar_limit_rest(ngx_http_hangar_req_t *hr);

/*
 * A tools/call of server's tool: NGX_DECLINED when it may go on, else
 * what the JSON-RPC error answer returns, sent with the HTTP status given
 * (200 in the front door, 429 in the pass-through) and Retry-After.
 */
ngx_int_t ngx_http_hangar_limit_call(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_str_t *server, ngx_str_t *tool,
    ngx_uint_t status);

/* "Rate limit exceeded: ... retry in Ns", for a refusal */
u_char *ngx_http_hangar_limit_message(u_char *buf, u_char *last,
    ngx_http_hangar_limit_refusal_t *no);

/*
 * The parsed body of a pass-through POST: a token for each tools/call in
 * it; NGX_DECLINED when it may go on, else what the 429 answer returns.
 */
ngx_int_t ngx_http_hangar_limit_pass(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *body);


#endif /* _NGX_HTTP_HANGAR_API_LIMIT_H_INCLUDED_ */
