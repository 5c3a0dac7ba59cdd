
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * RFC 6455 frames, with no nginx request plumbing: the header parser of
 * a client's frame (fuzzed: t/fuzz/fuzz_ws.c), unmasking, UTF-8 and close
 * payload checks, and the header of a server's frame.
 */


#ifndef _NGX_HTTP_HANGAR_WS_FRAME_H_INCLUDED_
#define _NGX_HTTP_HANGAR_WS_FRAME_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_HANGAR_WS_CONT    0x0
#define NGX_HTTP_HANGAR_WS_TEXT    0x1
#define NGX_HTTP_HANGAR_WS_BINARY  0x2
#define NGX_HTTP_HANGAR_WS_CLOSE   0x8
#define NGX_HTTP_HANGAR_WS_PING    0x9
#define NGX_HTTP_HANGAR_WS_PONG    0xa

#define NGX_HTTP_HANGAR_WS_NORMAL       1000
#define NGX_HTTP_HANGAR_WS_GOING_AWAY   1001
#define NGX_HTTP_HANGAR_WS_PROTOCOL     1002
#define NGX_HTTP_HANGAR_WS_UNSUPPORTED  1003
#define NGX_HTTP_HANGAR_WS_BAD_DATA     1007
#define NGX_HTTP_HANGAR_WS_POLICY       1008
#define NGX_HTTP_HANGAR_WS_TOO_BIG      1009

/* the longest header of a frame */
#define NGX_HTTP_HANGAR_WS_HEADER  14


typedef struct {
    ngx_uint_t                   fin;
    ngx_uint_t                   opcode;
    uint64_t                     len;       /* of the payload */
    size_t                       header;    /* bytes before the payload */
    u_char                       mask[4];
} ngx_http_hangar_ws_frame_t;


/*
 * NGX_OK: a whole header is in p..p+n (the payload may still be coming);
 * NGX_AGAIN: more bytes are needed; NGX_ERROR: *code says why (1002, or
 * 1009 for a payload over max).
 */
ngx_int_t ngx_http_hangar_ws_parse(u_char *p, size_t n, size_t max,
    ngx_http_hangar_ws_frame_t *f, ngx_uint_t *code);
void ngx_http_hangar_ws_unmask(u_char *p, size_t n, u_char *mask,
    uint64_t offset);
ngx_uint_t ngx_http_hangar_ws_utf8(u_char *p, size_t n);
/* a close frame's payload: 0 when it is valid, else the code to answer */
ngx_uint_t ngx_http_hangar_ws_close_check(u_char *p, size_t n);
/* writes the header of an unmasked server frame; returns its end */
u_char *ngx_http_hangar_ws_header(u_char *p, ngx_uint_t opcode, size_t len);


#endif /* _NGX_HTTP_HANGAR_WS_FRAME_H_INCLUDED_ */
