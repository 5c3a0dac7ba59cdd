
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Server changes that hangar makes itself, many at once (discovery): the
 * same durable path as one change of the API (ngx_http_hangar_state_run),
 * with every change of the batch read, reserved, written and linked in one
 * state lock section and one state file write.  A failed write links
 * none of them.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_server_batch.h"


typedef struct {
    ngx_http_hangar_state_op_t      op;     /* first */
    ngx_array_t                    *entries;
    ngx_array_t                     changes;
    ngx_http_hangar_batch_done_pt   done;
    void                           *data;
} ngx_http_hangar_batch_t;


static ngx_int_t ngx_http_hangar_batch_prepare(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc);
static ngx_int_t ngx_http_hangar_batch_read(ngx_http_hangar_batch_t *b,
    ngx_http_hangar_batch_entry_t *e);
static ngx_int_t ngx_http_hangar_batch_commit(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc);
static ngx_int_t ngx_http_hangar_batch_ended(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc);
static int ngx_libc_cdecl ngx_http_hangar_batch_cmp(const void *one,
    const void *two);


void
ngx_http_hangar_server_batch(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_log_t *log, ngx_array_t *entries,
    ngx_http_hangar_batch_done_pt done, void *data)
{
    ngx_int_t                       rc;
    ngx_uint_t                      i;
    ngx_http_hangar_batch_t        *b;
    ngx_http_hangar_batch_entry_t  *e;

    e = entries->elts;

    for (i = 0; i < entries->nelts; i++) {
        e[i].rc = NGX_ERROR;
        e[i].skip = 0;
        e[i].restart = 0;
    }

    b = ngx_pcalloc(pool, sizeof(ngx_http_hangar_batch_t));

    if (b == NULL
        || ngx_array_init(&b->changes, pool, entries->nelts + 1,
                          sizeof(ngx_http_hangar_state_change_t))
           != NGX_OK)
    {
        done(data, entries);
        return;
    }

    b->entries = entries;
    b->done = done;
    b->data = data;
    b->op.reg = reg;
    b->op.pool = pool;
    b->op.log = log;
    b->op.prepare = ngx_http_hangar_batch_prepare;
    b->op.commit = ngx_http_hangar_batch_commit;
    b->op.answer = ngx_http_hangar_batch_ended;
    b->op.done = ngx_http_hangar_batch_ended;

    rc = ngx_http_hangar_state_run(&b->op);

    if (rc == NGX_AGAIN) {
        return;
    }

    (void) ngx_http_hangar_batch_ended(&b->op, rc);
}


/* with the state lock held: each entry read and decided, then every
   reserve made at once (all or none) */

static ngx_int_t
ngx_http_hangar_batch_prepare(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_uint_t                       i, k;
    ngx_http_hangar_batch_t         *b;
    ngx_http_hangar_registry_t      *reg;
    ngx_http_hangar_state_change_t  *ch;
    ngx_http_hangar_batch_entry_t   *e;

    b = (ngx_http_hangar_batch_t *) op;
    reg = op->reg;
    e = b->entries->elts;

    for (i = 0; i < b->entries->nelts; i++) {
        if (ngx_http_hangar_batch_read(b, &e[i]) != NGX_OK) {
            e[i].skip = 1;
        }
    }

    ngx_http_hangar_lock(reg);

    for (i = 0; i < b->entries->nelts; i++) {
        if (e[i].skip || e[i].spec == NULL) {
            continue;
        }

        if (ngx_http_hangar_prepare(reg, &e[i].rec, !e[i].replace,
                                    &e[i].prep)
            != NGX_OK)
        {
            for (k = 0; k < i; k++) {
                if (!e[k].skip && e[k].spec) {
                    ngx_http_hangar_discard(reg, &e[k].prep);
                }
            }

            ngx_http_hangar_unlock(reg);
            ngx_http_hangar_zone_full(reg, op->log);

            return NGX_HTTP_HANGAR_STATE_FULL;
        }
    }

    ngx_http_hangar_unlock(reg);

    for (i = 0; i < b->entries->nelts; i++) {
        if (e[i].skip) {
            continue;
        }

        ch = ngx_array_push(&b->changes);
        if (ch == NULL) {
            return NGX_ERROR;       /* cannot: sized in advance */
        }

        ch->id = e[i].id;
        ch->spec = e[i].spec ? &e[i].rec.spec : NULL;
    }

    if (b->changes.nelts == 0) {
        return NGX_DONE;
    }

    ngx_qsort(b->changes.elts, b->changes.nelts,
              sizeof(ngx_http_hangar_state_change_t),
              ngx_http_hangar_batch_cmp);

    op->changes = &b->changes;

    (void) rc;

    return NGX_OK;
}


/* one entry: NGX_OK goes in the batch; else its rc says why not */

static ngx_int_t
ngx_http_hangar_batch_read(ngx_http_hangar_batch_t *b,
    ngx_http_hangar_batch_entry_t *e)
{
    ngx_str_t                    text, err;
    ngx_uint_t                   declared;
    ngx_http_hangar_node_t      *n;
    ngx_http_hangar_value_t     *cur;
    ngx_http_hangar_registry_t  *reg;

    reg = b->op.reg;
    ngx_str_null(&text);

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_find(&reg->sh->servers, e->id.data, e->id.len);
    declared = n ? n->declared : 0;

    if (n && e->replace && e->spec) {
        text.len = n->spec->len;
        text.data = ngx_pnalloc(b->op.pool, text.len);
        if (text.data) {
            ngx_memcpy(text.data, n->spec->data, text.len);
        }
    }

    ngx_http_hangar_unlock(reg);

    if ((n && e->spec && !e->replace)
        || (n == NULL && (e->replace || e->spec == NULL)))
    {
        e->rc = NGX_DECLINED;       /* exists, or missing */
        return NGX_DECLINED;
    }

    /* a declared server's name (its overlay, the deleted set): the single
       path knows those */
    if (declared
        || ngx_http_hangar_state_has(reg, &reg->sh->deleted, &e->id, 0))
    {
        e->rc = NGX_BUSY;
        return NGX_DECLINED;
    }

    e->rc = NGX_ERROR;

    if (e->spec == NULL) {
        e->rc = NGX_OK;
        return NGX_OK;
    }

    if (ngx_http_hangar_record(b->op.pool, &e->id, e->spec, &e->rec)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (e->replace) {
        if (text.data == NULL) {
            return NGX_ERROR;
        }

        cur = ngx_http_hangar_json_parse(b->op.pool, text.data, text.len,
                                         &err);
        if (cur == NULL) {
            return NGX_ERROR;
        }

        e->restart = !ngx_http_hangar_runs_same(b->op.pool, cur, e->spec);
    }

    e->rc = NGX_OK;

    return NGX_OK;
}


/* with the state lock held: the written changes linked in, or dropped */

static ngx_int_t
ngx_http_hangar_batch_commit(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_uint_t                      i;
    ngx_http_hangar_node_t         *n;
    ngx_http_hangar_batch_t        *b;
    ngx_http_hangar_registry_t     *reg;
    ngx_http_hangar_batch_entry_t  *e;

    b = (ngx_http_hangar_batch_t *) op;
    reg = op->reg;
    e = b->entries->elts;

    if (rc != NGX_OK) {
        ngx_http_hangar_lock(reg);

        for (i = 0; i < b->entries->nelts; i++) {
            if (!e[i].skip && e[i].spec && op->changes) {
                ngx_http_hangar_discard(reg, &e[i].prep);
            }
        }

        ngx_http_hangar_unlock(reg);

        return rc;
    }

    /* stopped first, as the original does (hangar-core §1.1) */
    for (i = 0; i < b->entries->nelts; i++) {
        if (!e[i].skip && (e[i].spec == NULL || e[i].restart)) {
            (void) ngx_http_hangar_stop(reg, &e[i].id,
                                        e[i].restart ? "spec_changed"
                                                     : "shutdown",
                                        0, op->log);
        }
    }

    ngx_http_hangar_lock(reg);

    for (i = 0; i < b->entries->nelts; i++) {
        if (e[i].skip) {
            continue;
        }

        n = ngx_http_hangar_find(&reg->sh->servers, e[i].id.data,
                                 e[i].id.len);

        if (e[i].spec) {
            n = ngx_http_hangar_commit(reg, &reg->sh->servers, n, &e[i].rec,
                                       &e[i].prep);
            n->api = 1;
            n->declared = 0;

            if (!e[i].restart) {
                n->changed = 0;
            }

        } else if (n) {
            ngx_http_hangar_remove(reg, &reg->sh->servers, n);
        }
    }

    ngx_http_hangar_unlock(reg);

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_batch_ended(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_uint_t                      i;
    ngx_http_hangar_batch_t        *b;
    ngx_http_hangar_batch_entry_t  *e;

    b = (ngx_http_hangar_batch_t *) op;
    e = b->entries->elts;

    if (rc != NGX_OK && rc != NGX_DONE) {
        ngx_log_error(NGX_LOG_ERR, op->log, 0,
                      "hangar: a batch of %ui server changes was not "
                      "written: %V", b->changes.nelts, &op->errmsg);

        for (i = 0; i < b->entries->nelts; i++) {
            if (!e[i].skip) {
                e[i].rc = NGX_ERROR;
            }
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, op->log, 0,
                   "hangar: a batch of %ui server changes, rc %i",
                   b->changes.nelts, rc);

    b->done(b->data, b->entries);

    return rc;
}


static int ngx_libc_cdecl
ngx_http_hangar_batch_cmp(const void *one, const void *two)
{
    ngx_http_hangar_state_change_t  *a, *b;

    a = (ngx_http_hangar_state_change_t *) one;
    b = (ngx_http_hangar_state_change_t *) two;

    return ngx_memn2cmp(a->id.data, b->id.data, a->id.len, b->id.len);
}
