
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The front door's wire formats as pure functions (no request, no zone,
 * no file): what a POSTed message is, session ids, the ids of server
 * requests relayed to a client, the JSON-RPC envelope written around any
 * id.  Whoever holds the session key calls them; t/fuzz/fuzz_mcp.c
 * drives them with hostile input.
 */


#ifndef _NGX_HTTP_HANGAR_MCP_WIRE_H_INCLUDED_
#define _NGX_HTTP_HANGAR_MCP_WIRE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hangar_value.h"


/*
 * A session id: "hs3-" <8 hex expiry><16 hex random><2 hex capabilities>
 * "-" <32 hex HMAC of what precedes>; the key of an ended session is the
 * first 24.  Its raw part is the 13 bytes the first 26 digits encode.
 */
#define NGX_HTTP_HANGAR_SID_KEY    24
#define NGX_HTTP_HANGAR_SID_CAPS   2
#define NGX_HTTP_HANGAR_SID_MAC    16
#define NGX_HTTP_HANGAR_SID_RAW    ((NGX_HTTP_HANGAR_SID_KEY                 \
                                     + NGX_HTTP_HANGAR_SID_CAPS) / 2)
#define NGX_HTTP_HANGAR_SID_BODY   (4 + NGX_HTTP_HANGAR_SID_KEY              \
                                    + NGX_HTTP_HANGAR_SID_CAPS)
#define NGX_HTTP_HANGAR_SID_LEN    (NGX_HTTP_HANGAR_SID_BODY + 1             \
                                    + 2 * NGX_HTTP_HANGAR_SID_MAC)

/* the session key: 32 bytes */
#define NGX_HTTP_HANGAR_SID_SECRET  32

/* a server request's id as the client sees it, at most */
#define NGX_HTTP_HANGAR_SREQ_ID_MAX  4096


/* what a message POSTed to the front door is */
#define NGX_HTTP_HANGAR_MSG_NOT_ONE   0   /* not one object: a batch, ... */
#define NGX_HTTP_HANGAR_MSG_INVALID   1   /* -32600, with its id */
#define NGX_HTTP_HANGAR_MSG_REQUEST   2   /* a method, an int or string id */
#define NGX_HTTP_HANGAR_MSG_OTHER     3   /* a notification or a response */


typedef struct {
    ngx_http_hangar_value_t     *id;
    ngx_http_hangar_value_t     *method;
    ngx_http_hangar_value_t     *params;
} ngx_http_hangar_mcp_msg_t;


ngx_uint_t ngx_http_hangar_wire_classify(ngx_http_hangar_value_t *body,
    ngx_http_hangar_mcp_msg_t *m);

/* {"jsonrpc":"2.0","id":<id or null>, */
void ngx_http_hangar_mcp_open(ngx_http_hangar_out_t *out,
    ngx_http_hangar_value_t *id);
/* a whole JSON-RPC error into out (made anew), its message valid UTF-8 */
ngx_int_t ngx_http_hangar_wire_error(ngx_http_hangar_out_t *out,
    ngx_pool_t *pool, ngx_http_hangar_value_t *id, ngx_int_t code,
    ngx_str_t *message);
ngx_int_t ngx_http_hangar_utf8_clean(ngx_pool_t *pool, ngx_str_t *s);

/* len hex digits of either case to len / 2 bytes; NGX_ERROR on others */
ngx_int_t ngx_http_hangar_wire_hex(u_char *dst, u_char *src, size_t len);

/*
 * Session ids.  _encode writes the canonical id (SID_LEN bytes) of a raw
 * part; _decode takes one apart (either case of hex): NGX_DECLINED when it
 * is malformed; _verify checks its HMAC and writes its canonical form:
 * NGX_DECLINED when the HMAC is not the key's.
 */
ngx_int_t ngx_http_hangar_wire_sid_encode(u_char *key, u_char *raw,
    u_char *text);
ngx_int_t ngx_http_hangar_wire_sid_decode(ngx_str_t *text, u_char *raw,
    u_char *mac);
ngx_int_t ngx_http_hangar_wire_sid_verify(u_char *key, u_char *raw,
    u_char *mac, u_char *text);

/* the first SID_MAC bytes of the HMAC of "<sid>.<data>" */
ngx_int_t ngx_http_hangar_wire_sign(ngx_pool_t *pool, u_char *key,
    ngx_str_t *sid, ngx_str_t *data, u_char *mac);

/*
 * The id of a server's request relayed to a session's client:
 * "hangar1." <base64url server> "." <base64url id JSON> "." <hex HMAC>.
 * _decode: NGX_OK with the server and the id's JSON text; NGX_DECLINED
 * when it is not one of this session's; NGX_ERROR.
 */
ngx_int_t ngx_http_hangar_wire_sreq_encode(ngx_pool_t *pool, u_char *key,
    ngx_str_t *sid, ngx_str_t *server, ngx_str_t *id, ngx_str_t *out);
ngx_int_t ngx_http_hangar_wire_sreq_decode(ngx_pool_t *pool, u_char *key,
    ngx_str_t *sid, ngx_str_t *text, ngx_str_t *server, ngx_str_t *id);


#endif /* _NGX_HTTP_HANGAR_MCP_WIRE_H_INCLUDED_ */
