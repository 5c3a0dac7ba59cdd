
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The response parser of the asynchronous client, apart from the
 * connection (the fuzz targets drive it too).  call_input_init() prepares
 * call->in; after each read into it, call_process(): NGX_OK complete
 * (call->response), NGX_AGAIN more, NGX_ERROR with call->error set,
 * NGX_DONE when on_event ended the call.  call_space() makes room for the
 * next read (NGX_ERROR: the answer is too large).  call_eof(): the peer
 * closed; NGX_OK if what came is a whole answer.
 */


#ifndef _NGX_HTTP_HANGAR_PARSE_H_INCLUDED_
#define _NGX_HTTP_HANGAR_PARSE_H_INCLUDED_


#include "ngx_http_hangar_value.h"


/* the call of ngx_http_hangar_client.h, which includes this header */
struct ngx_http_hangar_call_s;


ngx_int_t ngx_http_hangar_call_input_init(struct ngx_http_hangar_call_s *call);
ngx_int_t ngx_http_hangar_call_space(struct ngx_http_hangar_call_s *call);
ngx_int_t ngx_http_hangar_call_process(struct ngx_http_hangar_call_s *call);
ngx_int_t ngx_http_hangar_call_eof(struct ngx_http_hangar_call_s *call);

/*
 * The JSON-RPC response with the given id out of a JSON or SSE body.
 * NGX_OK: *msg is the response object (with "result" or "error").
 * Progress and other messages of an SSE body are skipped.  A body with no
 * such response is logged, naming the server.
 */
ngx_int_t ngx_http_hangar_call_message(struct ngx_http_hangar_call_s *call,
    int64_t id, ngx_http_hangar_value_t **msg);


#endif /* _NGX_HTTP_HANGAR_PARSE_H_INCLUDED_ */
