
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The state file's documents (ngx_http_hangar_state_doc.c).
 */


#ifndef _NGX_HTTP_HANGAR_STATE_DOC_H_INCLUDED_
#define _NGX_HTTP_HANGAR_STATE_DOC_H_INCLUDED_


#include "ngx_http_hangar_state.h"


extern const char  *ngx_http_hangar_doc_names[NGX_HTTP_HANGAR_DOCS];

/* documents: a copy of one (empty: none) and its generation */
ngx_int_t ngx_http_hangar_state_doc(ngx_http_hangar_registry_t *reg,
    ngx_uint_t doc, ngx_pool_t *pool, ngx_str_t *text, ngx_atomic_uint_t *gen);
ngx_atomic_uint_t ngx_http_hangar_state_doc_gen(
    ngx_http_hangar_registry_t *reg, ngx_uint_t doc);
/* in prepare(): the op replaces a document (empty text: removes it) */
ngx_int_t ngx_http_hangar_state_set_doc(ngx_http_hangar_state_op_t *op,
    ngx_uint_t doc, ngx_str_t *text);

/* for the state file's writer: the op's document linked in (or freed),
   and every document rendered, the op's pending one in place */
void ngx_http_hangar_state_doc_commit(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc);
ngx_int_t ngx_http_hangar_state_docs_out(ngx_http_hangar_state_op_t *op,
    ngx_http_hangar_out_t *out);


#endif /* _NGX_HTTP_HANGAR_STATE_DOC_H_INCLUDED_ */
