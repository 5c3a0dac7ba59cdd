
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The arguments of a held call (hangar-security.md §4.2): the redacted
 * copy a record shows, and the hash of the raw ones that the dispatch
 * checks again.
 */


#ifndef _NGX_HTTP_HANGAR_APPROVAL_ARGS_H_INCLUDED_
#define _NGX_HTTP_HANGAR_APPROVAL_ARGS_H_INCLUDED_


#include "ngx_http_hangar.h"


/* the redacted copy is cut to this (a record's size is bounded) */
#define NGX_HTTP_HANGAR_APPROVAL_ARGS_MAX  8192
#define NGX_HTTP_HANGAR_REDACT_DEPTH       5


/* args as JSON: keys sorted byte-wise, compact, at any depth */
void ngx_http_hangar_canonical_json(ngx_http_hangar_out_t *out,
    ngx_http_hangar_value_t *v);
/* sha256 hex (64 bytes) of the canonical JSON of args (NULL: {}) */
ngx_int_t ngx_http_hangar_args_hash(ngx_pool_t *pool,
    ngx_http_hangar_value_t *args, u_char *hex);
/* the redacted copy of args as JSON text, bounded */
ngx_int_t ngx_http_hangar_args_redact(ngx_pool_t *pool,
    ngx_http_hangar_value_t *args, ngx_str_t *text);


#endif /* _NGX_HTTP_HANGAR_APPROVAL_ARGS_H_INCLUDED_ */
