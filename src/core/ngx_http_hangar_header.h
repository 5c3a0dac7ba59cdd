
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * What a header line the client sends may hold: a name that is a token,
 * a value without CR, LF or another control character (no request
 * smuggling), and not a header the client sets itself.
 */


#ifndef _NGX_HTTP_HANGAR_HEADER_H_INCLUDED_
#define _NGX_HTTP_HANGAR_HEADER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* RFC 9110 token: the name of a header */
ngx_uint_t ngx_http_hangar_header_name_ok(u_char *p, size_t len);

/* a field value: no control character but HTAB (no CR, LF, NUL, DEL) */
ngx_uint_t ngx_http_hangar_header_value_ok(u_char *p, size_t len);

/* a header a client sets itself or that frames the message */
ngx_uint_t ngx_http_hangar_header_reserved(u_char *p, size_t len);

/*
 * A block of "Name: value\r\n" lines as it goes on the wire: NULL when
 * every line is a header, else what is wrong with it.
 */
const char *ngx_http_hangar_headers_unsafe(ngx_str_t *block);


/* the first header of a list named name (any case), or NULL */
ngx_table_elt_t *ngx_http_hangar_header_find(ngx_list_t *headers,
    u_char *name, size_t len);


#endif /* _NGX_HTTP_HANGAR_HEADER_H_INCLUDED_ */
