
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The state file's documents: JSON objects that a higher layer owns (keys
 * and roles, tool policies, approvals), kept as blobs in the zone with a
 * generation each, replaced by a state op and written with the file.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_state_doc.h"


/* the state file's keys of the documents, by NGX_HTTP_HANGAR_DOC_* */
const char  *ngx_http_hangar_doc_names[NGX_HTTP_HANGAR_DOCS] = {
    "auth", "tool_policies", "approvals", "groups", "discovery"
};


ngx_int_t
ngx_http_hangar_state_doc(ngx_http_hangar_registry_t *reg, ngx_uint_t doc,
    ngx_pool_t *pool, ngx_str_t *text, ngx_atomic_uint_t *gen)
{
    size_t                   len;
    u_char                  *p;
    ngx_http_hangar_blob_t  *b;

    len = 0;
    p = NULL;

    for ( ;; ) {
        if (p == NULL && len) {
            p = ngx_pnalloc(pool, len);
            if (p == NULL) {
                return NGX_ERROR;
            }
        }

        ngx_http_hangar_lock(reg);

        b = reg->sh->docs[doc];

        if (b == NULL || (p && b->len <= len)) {
            if (b) {
                ngx_memcpy(p, b->data, b->len);
                len = b->len;
            }

            if (gen) {
                *gen = reg->sh->doc_gen[doc];
            }

            ngx_http_hangar_unlock(reg);

            text->data = b ? p : NULL;
            text->len = b ? len : 0;

            return NGX_OK;
        }

        /* the size is read under the lock, the copy made the next time */
        len = b->len;
        p = NULL;

        ngx_http_hangar_unlock(reg);
    }
}


ngx_atomic_uint_t
ngx_http_hangar_state_doc_gen(ngx_http_hangar_registry_t *reg, ngx_uint_t doc)
{
    return reg->sh->doc_gen[doc];
}


ngx_int_t
ngx_http_hangar_state_set_doc(ngx_http_hangar_state_op_t *op, ngx_uint_t doc,
    ngx_str_t *text)
{
    op->doc = doc + 1;
    op->doc_text = *text;
    op->doc_blob = NULL;

    if (text->len == 0) {
        return NGX_OK;
    }

    ngx_http_hangar_lock(op->reg);
    op->doc_blob = ngx_http_hangar_blob(op->reg, text->data, text->len);
    ngx_http_hangar_unlock(op->reg);

    if (op->doc_blob == NULL) {
        ngx_http_hangar_zone_full(op->reg, op->log);
        op->doc = 0;
        return NGX_HTTP_HANGAR_STATE_FULL;
    }

    return NGX_OK;
}


/* the op's document, once the file is written (or not) */

void
ngx_http_hangar_state_doc_commit(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc)
{
    ngx_uint_t                   doc;
    ngx_http_hangar_registry_t  *reg;

    if (op->doc == 0) {
        return;
    }

    reg = op->reg;
    doc = op->doc - 1;
    op->doc = 0;

    ngx_http_hangar_lock(reg);

    if (rc == NGX_OK) {
        ngx_http_hangar_blob_free(reg, reg->sh->docs[doc]);
        reg->sh->docs[doc] = op->doc_blob;
        (void) ngx_atomic_fetch_add(&reg->sh->doc_gen[doc], 1);

    } else {
        ngx_http_hangar_blob_free(reg, op->doc_blob);
    }

    op->doc_blob = NULL;

    ngx_http_hangar_unlock(reg);
}


/* every document, the op's pending one in place of the current one */

ngx_int_t
ngx_http_hangar_state_docs_out(ngx_http_hangar_state_op_t *op,
    ngx_http_hangar_out_t *out)
{
    ngx_str_t   text;
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_HANGAR_DOCS; i++) {

        if (op->doc == i + 1) {
            text = op->doc_text;

        } else if (ngx_http_hangar_state_doc(op->reg, i, op->pool, &text, NULL)
                   != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (text.len == 0) {
            continue;
        }

        ngx_http_hangar_out_lit(out, ",\"");
        ngx_http_hangar_out_raw(out, (u_char *) ngx_http_hangar_doc_names[i],
                                ngx_strlen(ngx_http_hangar_doc_names[i]));
        ngx_http_hangar_out_lit(out, "\":");
        ngx_http_hangar_out_raw(out, text.data, text.len);
    }

    return NGX_OK;
}
