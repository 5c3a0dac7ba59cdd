
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Approvals (hangar-security.md §4).  The records are nodes in the zone
 * (an rbtree by id, a queue oldest first), at most APPROVALS_MAX of them;
 * the oldest decided one makes room for a new one, and when all of them
 * wait for a decision a new gated call is refused.  Every change (create,
 * decision, expiry) is a durable-write op: the approvals document of the
 * state file is rendered with the change and written before the change
 * is linked in, so the zone and the file never disagree.
 *
 * The calls held are in ngx_http_hangar_approval_hold.c.  A new
 * zone (a start, not a reload) loads the document, and whatever was still
 * pending is denied: the calls that waited died with the old processes.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_approval.h"
#include "ngx_http_hangar_state_doc.h"
#include "ngx_http_hangar_approval_args.h"
#include "ngx_http_hangar_lifecycle.h"



/* the strings of a node, in this order, after its fixed part */
#define NGX_HTTP_HANGAR_AF_PROVIDER     0
#define NGX_HTTP_HANGAR_AF_TOOL         1
#define NGX_HTTP_HANGAR_AF_CHANNEL      2
#define NGX_HTTP_HANGAR_AF_CORRELATION  3
#define NGX_HTTP_HANGAR_AF_REQUESTED_BY 4
#define NGX_HTTP_HANGAR_AF_TENANT       5
#define NGX_HTTP_HANGAR_AF_ARGUMENTS    6
#define NGX_HTTP_HANGAR_AF_N            7

/* who decided, when the system did */
#define NGX_HTTP_HANGAR_WHY_PERSON      0
#define NGX_HTTP_HANGAR_WHY_TIMEOUT     1
#define NGX_HTTP_HANGAR_WHY_RESTART     2


typedef struct {
    ngx_rbtree_node_t            node;      /* key: crc32 of the id */
    ngx_queue_t                  queue;     /* oldest first */
    ngx_uint_t                   state;
    ngx_uint_t                   seq;
    ngx_uint_t                   why;
    ngx_msec_t                   requested_at;
    ngx_msec_t                   expires_at;
    ngx_msec_t                   decided_at;
    ngx_http_hangar_blob_t      *decision;  /* decided_by '\0' reason */
    u_char                       id[36];
    u_char                       hash[64];
    uint32_t                     len[NGX_HTTP_HANGAR_AF_N];
    u_char                       data[1];
} ngx_http_hangar_approval_node_t;


typedef struct {
    ngx_rbtree_t                 rbtree;
    ngx_rbtree_node_t            sentinel;
    ngx_queue_t                  queue;
    ngx_uint_t                   count;
    ngx_uint_t                   seq;
    ngx_uint_t                   dirty;     /* the file is behind */
    ngx_uint_t                   gen;       /* every change */
} ngx_http_hangar_approvals_t;


static ngx_http_hangar_approvals_t *ngx_http_hangar_approvals(
    ngx_http_hangar_registry_t *reg, ngx_log_t *log);
static ngx_int_t ngx_http_hangar_approvals_parse(ngx_pool_t *pool,
    ngx_str_t *text, ngx_array_t *list, ngx_uint_t *denied);
static ngx_http_hangar_approval_node_t *ngx_http_hangar_approval_node(
    ngx_http_hangar_registry_t *reg, ngx_http_hangar_approval_t *a);
static void ngx_http_hangar_approval_link(ngx_http_hangar_approvals_t *t,
    ngx_http_hangar_approval_node_t *n);
static void ngx_http_hangar_approval_unlink(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_approvals_t *t, ngx_http_hangar_approval_node_t *n);
static ngx_http_hangar_approval_node_t *ngx_http_hangar_approval_find(
    ngx_http_hangar_approvals_t *t, u_char *id, size_t len);
static void ngx_http_hangar_approval_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static size_t ngx_http_hangar_approval_size(
    ngx_http_hangar_approval_node_t *n);
static u_char *ngx_http_hangar_approval_copy(
    ngx_http_hangar_approval_node_t *n, ngx_http_hangar_approval_t *a,
    u_char *p);
static ngx_int_t ngx_http_hangar_approval_snapshot(
    ngx_http_hangar_registry_t *reg, ngx_pool_t *pool, ngx_log_t *log,
    ngx_array_t *list);
static ngx_int_t ngx_http_hangar_approval_doc(ngx_http_hangar_state_op_t *op,
    ngx_array_t *list, ngx_http_hangar_approval_t *add, ngx_str_t *skip);
static ngx_int_t ngx_http_hangar_approval_newer(const void *one,
    const void *two);
static void ngx_http_hangar_approval_time(ngx_http_hangar_out_t *out,
    ngx_msec_t ms);

static ngx_int_t ngx_http_hangar_approval_create_prepare(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_approval_create_commit(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_approval_decide_prepare(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_approval_decide_commit(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static void ngx_http_hangar_approval_decided(ngx_http_hangar_approval_op_t *ao,
    ngx_http_hangar_approval_t *a);
static void ngx_http_hangar_approval_nstr(ngx_http_hangar_out_t *out,
    ngx_str_t *s);
static void ngx_http_hangar_approval_event(ngx_http_hangar_registry_t *reg,
    const char *type, ngx_str_t *provider, ngx_str_t *id, ngx_str_t *tool,
    const char *key, ngx_str_t *value);


static const char  *ngx_http_hangar_approval_states[] = {
    "pending", "approved", "denied", "expired", NULL
};



/* ---- states ------------------------------------------------------------ */

const char *
ngx_http_hangar_approval_state_name(ngx_uint_t state)
{
    return ngx_http_hangar_approval_states[state & 3];
}


/* NGX_ERROR: not a state */

ngx_int_t
ngx_http_hangar_approval_state(ngx_str_t *name)
{
    ngx_uint_t  i;

    for (i = 0; ngx_http_hangar_approval_states[i]; i++) {
        if (name->len == ngx_strlen(ngx_http_hangar_approval_states[i])
            && ngx_strncmp(name->data, ngx_http_hangar_approval_states[i],
                           name->len) == 0)
        {
            return i;
        }
    }

    return NGX_ERROR;
}


/* ---- the table in the zone --------------------------------------------- */

/*
 * The table, made on first use in a new zone from the state file's
 * document: pending records are denied then (fail-closed).  The file is
 * brought up to date by the next sweep (t->dirty).
 */

static ngx_http_hangar_approvals_t *
ngx_http_hangar_approvals(ngx_http_hangar_registry_t *reg, ngx_log_t *log)
{
    ngx_str_t                         text;
    ngx_uint_t                        i, denied, lost;
    ngx_pool_t                       *pool;
    ngx_array_t                       list;
    ngx_http_hangar_approval_t       *a;
    ngx_http_hangar_approvals_t      *t;
    ngx_http_hangar_approval_node_t  *n;

    ngx_http_hangar_lock(reg);
    t = reg->sh->approval_sh;
    ngx_http_hangar_unlock(reg);

    if (t) {
        return t;
    }

    pool = ngx_create_pool(4096, log);
    if (pool == NULL) {
        return NULL;
    }

    denied = 0;
    lost = 0;

    if (ngx_array_init(&list, pool, 16, sizeof(ngx_http_hangar_approval_t))
        != NGX_OK
        || ngx_http_hangar_state_doc(reg, NGX_HTTP_HANGAR_DOC_APPROVALS, pool,
                                     &text, NULL)
           != NGX_OK
        || ngx_http_hangar_approvals_parse(pool, &text, &list, &denied)
           != NGX_OK)
    {
        ngx_destroy_pool(pool);
        return NULL;
    }

    ngx_http_hangar_lock(reg);

    t = reg->sh->approval_sh;

    if (t == NULL) {
        t = ngx_slab_calloc_locked(reg->shpool,
                                   sizeof(ngx_http_hangar_approvals_t));
    }

    if (t && reg->sh->approval_sh == NULL) {
        ngx_rbtree_init(&t->rbtree, &t->sentinel,
                        ngx_http_hangar_approval_rbtree_insert);
        ngx_queue_init(&t->queue);

        a = list.elts;

        for (i = 0; i < list.nelts; i++) {
            n = ngx_http_hangar_approval_node(reg, &a[i]);
            if (n == NULL) {
                lost++;
                continue;
            }

            ngx_http_hangar_approval_link(t, n);
        }

        t->dirty = (denied || lost);
        reg->sh->approval_sh = t;
    }

    ngx_http_hangar_unlock(reg);

    if (t == NULL || lost) {
        ngx_http_hangar_zone_full(reg, log);
    }

    if (denied) {
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "hangar: %ui approvals pending at the start denied: "
                      "hangar restarted before a decision", denied);
    }

    ngx_destroy_pool(pool);

    return t;
}


static ngx_int_t
ngx_http_hangar_approvals_parse(ngx_pool_t *pool, ngx_str_t *text,
    ngx_array_t *list, ngx_uint_t *denied)
{
    ngx_str_t                    err, *s[10];
    ngx_uint_t                   i, k, first;
    ngx_http_hangar_value_t     *doc, *arr, **items, *v;
    ngx_http_hangar_approval_t  *a;

    static const char  *fields[] = {
        "approval_id", "provider_id", "tool_name", "arguments_hash",
        "channel", "correlation_id", "requested_by", "tenant_id",
        "decided_by", "reason", NULL
    };

    if (text->len == 0) {
        return NGX_OK;
    }

    doc = ngx_http_hangar_json_parse(pool, text->data, text->len, &err);
    arr = ngx_http_hangar_get(doc, "approvals");

    if (!ngx_http_hangar_is(arr, NGX_HTTP_HANGAR_ARR)) {
        return NGX_OK;
    }

    items = arr->u.arr.elts;

    /* the newest are kept when there are more than the bound */
    first = arr->u.arr.nelts > NGX_HTTP_HANGAR_APPROVALS_MAX
            ? arr->u.arr.nelts - NGX_HTTP_HANGAR_APPROVALS_MAX : 0;

    for (i = first; i < arr->u.arr.nelts; i++) {
        a = ngx_array_push(list);
        if (a == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(a, sizeof(ngx_http_hangar_approval_t));

        s[0] = &a->id;
        s[1] = &a->provider;
        s[2] = &a->tool;
        s[3] = &a->hash;
        s[4] = &a->channel;
        s[5] = &a->correlation;
        s[6] = &a->requested_by;
        s[7] = &a->tenant;
        s[8] = &a->decided_by;
        s[9] = &a->reason;

        for (k = 0; fields[k]; k++) {
            v = ngx_http_hangar_get(items[i], fields[k]);

            if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
                *s[k] = v->u.s;
            }
        }

        v = ngx_http_hangar_get(items[i], "arguments");
        if (v == NULL
            || ngx_http_hangar_json_text(pool, v, &a->arguments) != NGX_OK)
        {
            ngx_str_set(&a->arguments, "{}");
        }

        v = ngx_http_hangar_get(items[i], "state");
        a->state = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)
                   ? (ngx_uint_t) ngx_http_hangar_approval_state(&v->u.s)
                   : (ngx_uint_t) NGX_ERROR;

        v = ngx_http_hangar_get(items[i], "requested_ms");
        a->requested_at = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT)
                          ? (ngx_msec_t) v->u.i : 0;
        v = ngx_http_hangar_get(items[i], "expires_ms");
        a->expires_at = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT)
                        ? (ngx_msec_t) v->u.i : 0;
        v = ngx_http_hangar_get(items[i], "decided_ms");
        a->decided_at = ngx_http_hangar_is(v, NGX_HTTP_HANGAR_INT)
                        ? (ngx_msec_t) v->u.i : 0;

        /* what is not a record of ours is dropped, not guessed at */
        if (a->id.len != 36 || a->hash.len != 64 || a->provider.len == 0
            || a->provider.len > NGX_HTTP_HANGAR_ID_MAX
            || a->tool.len == 0 || a->tool.len > NGX_HTTP_HANGAR_NAME_MAX
            || a->state > NGX_HTTP_HANGAR_APPROVAL_EXPIRED
            || a->arguments.len > NGX_HTTP_HANGAR_APPROVAL_ARGS_MAX
            || a->reason.len > NGX_HTTP_HANGAR_APPROVAL_REASON_MAX
            || a->channel.len > NGX_HTTP_HANGAR_NAME_MAX
            || a->correlation.len > NGX_HTTP_HANGAR_NAME_MAX
            || a->requested_by.len > 256 || a->tenant.len > 256
            || a->decided_by.len > 256)
        {
            list->nelts--;
            continue;
        }

        if (a->state == NGX_HTTP_HANGAR_APPROVAL_PENDING) {
            a->state = NGX_HTTP_HANGAR_APPROVAL_DENIED;
            a->decided_at = ngx_http_hangar_now_ms();
            ngx_str_set(&a->decided_by, "system");
            ngx_str_set(&a->reason, "hangar restarted before a decision");
            (*denied)++;
        }
    }

    return NGX_OK;
}


/* with the slab mutex held: a node of a record; NULL: the zone is full */

static ngx_http_hangar_approval_node_t *
ngx_http_hangar_approval_node(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_approval_t *a)
{
    u_char                           *p;
    size_t                            size;
    ngx_uint_t                        i;
    ngx_str_t                        *s[NGX_HTTP_HANGAR_AF_N];
    ngx_http_hangar_approval_node_t  *n;

    s[NGX_HTTP_HANGAR_AF_PROVIDER] = &a->provider;
    s[NGX_HTTP_HANGAR_AF_TOOL] = &a->tool;
    s[NGX_HTTP_HANGAR_AF_CHANNEL] = &a->channel;
    s[NGX_HTTP_HANGAR_AF_CORRELATION] = &a->correlation;
    s[NGX_HTTP_HANGAR_AF_REQUESTED_BY] = &a->requested_by;
    s[NGX_HTTP_HANGAR_AF_TENANT] = &a->tenant;
    s[NGX_HTTP_HANGAR_AF_ARGUMENTS] = &a->arguments;

    size = offsetof(ngx_http_hangar_approval_node_t, data);

    for (i = 0; i < NGX_HTTP_HANGAR_AF_N; i++) {
        size += s[i]->len;
    }

    n = ngx_slab_calloc_locked(reg->shpool, size);
    if (n == NULL) {
        return NULL;
    }

    p = n->data;

    for (i = 0; i < NGX_HTTP_HANGAR_AF_N; i++) {
        n->len[i] = s[i]->len;
        p = ngx_cpymem(p, s[i]->data, s[i]->len);
    }

    ngx_memcpy(n->id, a->id.data, 36);
    ngx_memcpy(n->hash, a->hash.data, 64);
    n->node.key = ngx_crc32_short(n->id, 36);
    n->state = a->state;
    n->requested_at = a->requested_at;
    n->expires_at = a->expires_at;
    n->decided_at = a->decided_at;

    if (a->state != NGX_HTTP_HANGAR_APPROVAL_PENDING && a->decided_by.len) {
        if (ngx_http_hangar_str_is(&a->decided_by, "system")
            && ngx_http_hangar_str_is(&a->reason,
                                      "hangar restarted before a decision"))
        {
            n->why = NGX_HTTP_HANGAR_WHY_RESTART;

        } else if (ngx_http_hangar_str_is(&a->decided_by, "system")
                   && ngx_http_hangar_str_is(&a->reason,
                                             "No response within timeout"))
        {
            n->why = NGX_HTTP_HANGAR_WHY_TIMEOUT;

        } else {
            n->decision = ngx_slab_alloc_locked(reg->shpool,
                              offsetof(ngx_http_hangar_blob_t, data)
                              + a->decided_by.len + 1 + a->reason.len);
            if (n->decision == NULL) {
                ngx_slab_free_locked(reg->shpool, n);
                return NULL;
            }

            n->decision->len = a->decided_by.len + 1 + a->reason.len;
            p = ngx_cpymem(n->decision->data, a->decided_by.data,
                           a->decided_by.len);
            *p++ = '\0';
            ngx_memcpy(p, a->reason.data, a->reason.len);
        }
    }

    return n;
}


/* with the slab mutex held */

static void
ngx_http_hangar_approval_link(ngx_http_hangar_approvals_t *t,
    ngx_http_hangar_approval_node_t *n)
{
    n->seq = ++t->seq;
    ngx_rbtree_insert(&t->rbtree, &n->node);
    ngx_queue_insert_tail(&t->queue, &n->queue);
    t->count++;
    t->gen++;
}


static void
ngx_http_hangar_approval_unlink(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_approvals_t *t, ngx_http_hangar_approval_node_t *n)
{
    ngx_rbtree_delete(&t->rbtree, &n->node);
    ngx_queue_remove(&n->queue);
    t->count--;
    t->gen++;

    ngx_http_hangar_blob_free(reg, n->decision);
    ngx_slab_free_locked(reg->shpool, n);
}


static void
ngx_http_hangar_approval_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t                **p;
    ngx_http_hangar_approval_node_t   *n, *t;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            n = (ngx_http_hangar_approval_node_t *) node;
            t = (ngx_http_hangar_approval_node_t *) temp;

            p = (ngx_memcmp(n->id, t->id, 36) < 0) ? &temp->left
                                                   : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_http_hangar_approval_node_t *
ngx_http_hangar_approval_find(ngx_http_hangar_approvals_t *t, u_char *id,
    size_t len)
{
    ngx_int_t                         rc;
    uint32_t                          hash;
    ngx_rbtree_node_t                *node, *sentinel;
    ngx_http_hangar_approval_node_t  *n;

    if (t == NULL || len != 36) {
        return NULL;
    }

    hash = ngx_crc32_short(id, len);

    node = t->rbtree.root;
    sentinel = t->rbtree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        n = (ngx_http_hangar_approval_node_t *) node;
        rc = ngx_memcmp(id, n->id, 36);

        if (rc == 0) {
            return n;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/* ---- copies ------------------------------------------------------------ */

static size_t
ngx_http_hangar_approval_size(ngx_http_hangar_approval_node_t *n)
{
    size_t      size;
    ngx_uint_t  i;

    size = 36 + 64;

    for (i = 0; i < NGX_HTTP_HANGAR_AF_N; i++) {
        size += n->len[i];
    }

    if (n->decision) {
        size += n->decision->len;
    }

    return size;
}


/* with the slab mutex held: the node into a, its strings at p */

static u_char *
ngx_http_hangar_approval_copy(ngx_http_hangar_approval_node_t *n,
    ngx_http_hangar_approval_t *a, u_char *p)
{
    u_char      *s, *end;
    ngx_uint_t   i;
    ngx_str_t   *f[NGX_HTTP_HANGAR_AF_N];

    ngx_memzero(a, sizeof(ngx_http_hangar_approval_t));

    f[NGX_HTTP_HANGAR_AF_PROVIDER] = &a->provider;
    f[NGX_HTTP_HANGAR_AF_TOOL] = &a->tool;
    f[NGX_HTTP_HANGAR_AF_CHANNEL] = &a->channel;
    f[NGX_HTTP_HANGAR_AF_CORRELATION] = &a->correlation;
    f[NGX_HTTP_HANGAR_AF_REQUESTED_BY] = &a->requested_by;
    f[NGX_HTTP_HANGAR_AF_TENANT] = &a->tenant;
    f[NGX_HTTP_HANGAR_AF_ARGUMENTS] = &a->arguments;

    a->id.data = p;
    a->id.len = 36;
    p = ngx_cpymem(p, n->id, 36);

    a->hash.data = p;
    a->hash.len = 64;
    p = ngx_cpymem(p, n->hash, 64);

    s = n->data;

    for (i = 0; i < NGX_HTTP_HANGAR_AF_N; i++) {
        f[i]->data = p;
        f[i]->len = n->len[i];
        p = ngx_cpymem(p, s, n->len[i]);
        s += n->len[i];
    }

    a->state = n->state;
    a->seq = n->seq;
    a->requested_at = n->requested_at;
    a->expires_at = n->expires_at;
    a->decided_at = n->decided_at;

    switch (n->why) {

    case NGX_HTTP_HANGAR_WHY_TIMEOUT:
        ngx_str_set(&a->decided_by, "system");
        ngx_str_set(&a->reason, "No response within timeout");
        break;

    case NGX_HTTP_HANGAR_WHY_RESTART:
        ngx_str_set(&a->decided_by, "system");
        ngx_str_set(&a->reason, "hangar restarted before a decision");
        break;

    default:
        if (n->decision == NULL) {
            break;
        }

        s = n->decision->data;
        end = s + n->decision->len;

        a->decided_by.data = p;
        while (s < end && *s) {
            *p++ = *s++;
        }
        a->decided_by.len = p - a->decided_by.data;

        s++;
        a->reason.data = p;
        a->reason.len = (s < end) ? (size_t) (end - s) : 0;
        p = ngx_cpymem(p, s, a->reason.len);
    }

    return p;
}


/*
 * Copies of every record, oldest first.  The size is read under the
 * mutex, the memory allocated after it, and the copy made under it again
 * if nothing changed meanwhile (the table's generation).
 */

static ngx_int_t
ngx_http_hangar_approval_snapshot(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_log_t *log, ngx_array_t *list)
{
    u_char                           *p;
    size_t                            size;
    ngx_uint_t                        gen, count;
    ngx_queue_t                      *q;
    ngx_http_hangar_approval_t       *a;
    ngx_http_hangar_approvals_t      *t;
    ngx_http_hangar_approval_node_t  *n;

    t = ngx_http_hangar_approvals(reg, log);
    if (t == NULL) {
        return NGX_ERROR;
    }

    for ( ;; ) {
        size = 0;

        ngx_http_hangar_lock(reg);

        for (q = ngx_queue_head(&t->queue);
             q != ngx_queue_sentinel(&t->queue);
             q = ngx_queue_next(q))
        {
            n = ngx_queue_data(q, ngx_http_hangar_approval_node_t, queue);
            size += ngx_http_hangar_approval_size(n);
        }

        gen = t->gen;
        count = t->count;

        ngx_http_hangar_unlock(reg);

        if (ngx_array_init(list, pool, count + 1,
                           sizeof(ngx_http_hangar_approval_t))
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        p = ngx_pnalloc(pool, size + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_http_hangar_lock(reg);

        if (t->gen != gen) {
            ngx_http_hangar_unlock(reg);
            continue;
        }

        for (q = ngx_queue_head(&t->queue);
             q != ngx_queue_sentinel(&t->queue);
             q = ngx_queue_next(q))
        {
            n = ngx_queue_data(q, ngx_http_hangar_approval_node_t, queue);

            /* reserved above: count + 1 elements */
            a = ngx_array_push(list);
            p = ngx_http_hangar_approval_copy(n, a, p);
        }

        ngx_http_hangar_unlock(reg);

        return NGX_OK;
    }
}


static ngx_int_t
ngx_http_hangar_approval_newer(const void *one, const void *two)
{
    const ngx_http_hangar_approval_t  *a = one, *b = two;

    return (b->requested_at > a->requested_at)
           - (b->requested_at < a->requested_at);
}


ngx_int_t
ngx_http_hangar_approval_list(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_log_t *log, ngx_uint_t state, ngx_str_t *provider,
    ngx_array_t *list)
{
    ngx_uint_t                   i, k;
    ngx_array_t                  all;
    ngx_http_hangar_approval_t  *a, *b;

    if (ngx_http_hangar_approval_snapshot(reg, pool, log, &all) != NGX_OK
        || ngx_array_init(list, pool, all.nelts + 1,
                          sizeof(ngx_http_hangar_approval_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    a = all.elts;

    /* newest first */
    for (i = all.nelts; i > 0; i--) {
        k = i - 1;

        if (state != NGX_HTTP_HANGAR_APPROVAL_ANY && a[k].state != state) {
            continue;
        }

        if (provider
            && (provider->len != a[k].provider.len
                || ngx_strncmp(provider->data, a[k].provider.data,
                               provider->len) != 0))
        {
            continue;
        }

        b = ngx_array_push(list);
        *b = a[k];
    }

    /*
     * by requested_at: records are linked when their state file write is
     * done, which two workers may finish in another order
     */
    ngx_sort(list->elts, list->nelts, sizeof(ngx_http_hangar_approval_t),
             ngx_http_hangar_approval_newer);

    return NGX_OK;
}


/* ---- JSON -------------------------------------------------------------- */

/* "2026-08-12T09:10:00.000001+00:00", as the original writes them */

static void
ngx_http_hangar_approval_time(ngx_http_hangar_out_t *out, ngx_msec_t ms)
{
    ngx_tm_t  tm;

    if (ms == 0) {
        ngx_http_hangar_out_lit(out, "null");
        return;
    }

    ngx_gmtime((time_t) (ms / 1000), &tm);

    ngx_http_hangar_out_printf(out, "\"%4d-%02d-%02dT%02d:%02d:%02d.%06ui"
                               "+00:00\"",
                               tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                               tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec,
                               (ngx_uint_t) (ms % 1000) * 1000);
}


static void
ngx_http_hangar_approval_nstr(ngx_http_hangar_out_t *out, ngx_str_t *s)
{
    if (s->len == 0) {
        ngx_http_hangar_out_lit(out, "null");
        return;
    }

    ngx_http_hangar_out_str(out, s->data, s->len);
}


/*
 * The record as the API shows it (hangar-security.md §4.3), with its
 * arguments_hash and correlation_id; now == 0: as the state file keeps it
 * (times in epoch ms, no expires_in_seconds).
 */

void
ngx_http_hangar_approval_json(ngx_http_hangar_out_t *out,
    ngx_http_hangar_approval_t *a, ngx_msec_t now)
{
    ngx_http_hangar_out_lit(out, "{\"approval_id\":");
    ngx_http_hangar_out_str(out, a->id.data, a->id.len);
    ngx_http_hangar_out_lit(out, ",\"provider_id\":");
    ngx_http_hangar_out_str(out, a->provider.data, a->provider.len);
    ngx_http_hangar_out_lit(out, ",\"tool_name\":");
    ngx_http_hangar_out_str(out, a->tool.data, a->tool.len);
    ngx_http_hangar_out_lit(out, ",\"arguments\":");
    ngx_http_hangar_out_raw(out, a->arguments.data, a->arguments.len);
    ngx_http_hangar_out_lit(out, ",\"arguments_hash\":");
    ngx_http_hangar_out_str(out, a->hash.data, a->hash.len);
    ngx_http_hangar_out_printf(out, ",\"state\":\"%s\",\"channel\":",
                               ngx_http_hangar_approval_state_name(a->state));
    ngx_http_hangar_out_str(out, a->channel.data, a->channel.len);

    if (now) {
        ngx_http_hangar_out_lit(out, ",\"requested_at\":");
        ngx_http_hangar_approval_time(out, a->requested_at);
        ngx_http_hangar_out_lit(out, ",\"expires_at\":");
        ngx_http_hangar_approval_time(out, a->expires_at);
        ngx_http_hangar_out_printf(out, ",\"expires_in_seconds\":%M",
                                   a->expires_at > now
                                   ? (a->expires_at - now) / 1000 : 0);
        ngx_http_hangar_out_lit(out, ",\"decided_at\":");
        ngx_http_hangar_approval_time(out, a->decided_at);

    } else {
        ngx_http_hangar_out_printf(out, ",\"requested_ms\":%M,"
                                   "\"expires_ms\":%M,\"decided_ms\":%M",
                                   a->requested_at, a->expires_at,
                                   a->decided_at);
    }

    ngx_http_hangar_out_lit(out, ",\"decided_by\":");
    ngx_http_hangar_approval_nstr(out, &a->decided_by);
    ngx_http_hangar_out_lit(out, ",\"reason\":");
    ngx_http_hangar_approval_nstr(out, &a->reason);
    ngx_http_hangar_out_lit(out, ",\"correlation_id\":");
    ngx_http_hangar_approval_nstr(out, &a->correlation);
    ngx_http_hangar_out_lit(out, ",\"requested_by\":");
    ngx_http_hangar_approval_nstr(out, &a->requested_by);
    ngx_http_hangar_out_lit(out, ",\"tenant_id\":");
    ngx_http_hangar_approval_nstr(out, &a->tenant);
    ngx_http_hangar_out_lit(out, "}");
}


/* in a prepare(): the document with the change, set on the op */

static ngx_int_t
ngx_http_hangar_approval_doc(ngx_http_hangar_state_op_t *op,
    ngx_array_t *list, ngx_http_hangar_approval_t *add, ngx_str_t *skip)
{
    ngx_int_t                    rc;
    ngx_str_t                    text;
    ngx_uint_t                   i, first;
    ngx_http_hangar_out_t        out;
    ngx_http_hangar_approval_t  *a;

    ngx_http_hangar_out_init(&out, op->pool, 8192);
    ngx_http_hangar_out_lit(&out, "{\"version\":1,\"approvals\":[");

    a = list->elts;
    first = 1;

    for (i = 0; i < list->nelts; i++) {
        if (skip && skip->len == a[i].id.len
            && ngx_memcmp(skip->data, a[i].id.data, skip->len) == 0)
        {
            continue;
        }

        if (!first) {
            ngx_http_hangar_out_lit(&out, ",");
        }

        first = 0;
        ngx_http_hangar_approval_json(&out, &a[i], 0);
    }

    if (add) {
        if (!first) {
            ngx_http_hangar_out_lit(&out, ",");
        }

        ngx_http_hangar_approval_json(&out, add, 0);
    }

    ngx_http_hangar_out_lit(&out, "]}");

    if (ngx_http_hangar_out_flatten(&out, &text) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = ngx_http_hangar_state_set_doc(op, NGX_HTTP_HANGAR_DOC_APPROVALS,
                                       &text);

    return rc;
}


/* ---- create ------------------------------------------------------------ */

/*
 * With the state lock held (the table changes only under it): room is
 * made by the oldest decided record, the node is reserved, the document
 * rendered with it.
 */

static ngx_int_t
ngx_http_hangar_approval_create_prepare(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc)
{
    ngx_str_t                         skip;
    ngx_array_t                       list;
    ngx_queue_t                      *q;
    ngx_http_hangar_approval_create_t  *h;
    ngx_http_hangar_approvals_t      *t;
    ngx_http_hangar_approval_node_t  *n;

    h = (ngx_http_hangar_approval_create_t *) op;

    t = ngx_http_hangar_approvals(op->reg, op->log);
    if (t == NULL) {
        return NGX_HTTP_HANGAR_STATE_FULL;
    }

    ngx_http_hangar_lock(op->reg);

    h->victim = NULL;

    if (t->count >= NGX_HTTP_HANGAR_APPROVALS_MAX) {
        for (q = ngx_queue_head(&t->queue);
             q != ngx_queue_sentinel(&t->queue);
             q = ngx_queue_next(q))
        {
            n = ngx_queue_data(q, ngx_http_hangar_approval_node_t, queue);

            if (n->state != NGX_HTTP_HANGAR_APPROVAL_PENDING) {
                h->victim = n;
                break;
            }
        }

        if (h->victim == NULL) {
            ngx_http_hangar_unlock(op->reg);
            return NGX_HTTP_HANGAR_STATE_MANY;
        }
    }

    h->node = ngx_http_hangar_approval_node(op->reg, &h->rec);

    if (h->victim) {
        /* the state lock keeps it */
        skip.data = ((ngx_http_hangar_approval_node_t *) h->victim)->id;
        skip.len = 36;
    }

    ngx_http_hangar_unlock(op->reg);

    if (h->node == NULL) {
        ngx_http_hangar_zone_full(op->reg, op->log);
        return NGX_HTTP_HANGAR_STATE_FULL;
    }

    if (ngx_http_hangar_approval_snapshot(op->reg, op->pool, op->log, &list)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_hangar_approval_doc(op, &list, &h->rec,
                                        h->victim ? &skip : NULL);
}


static ngx_int_t
ngx_http_hangar_approval_create_commit(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc)
{
    ngx_http_hangar_approval_create_t  *h;
    ngx_http_hangar_approvals_t  *t;

    h = (ngx_http_hangar_approval_create_t *) op;

    if (h->node == NULL) {
        return rc;
    }

    ngx_http_hangar_lock(op->reg);

    t = op->reg->sh->approval_sh;

    if (rc == NGX_OK) {
        if (h->victim) {
            ngx_http_hangar_approval_unlink(op->reg, t, h->victim);
        }

        ngx_http_hangar_approval_link(t, h->node);

    } else {
        ngx_slab_free_locked(op->reg->shpool, h->node);
    }

    h->node = NULL;
    h->victim = NULL;

    ngx_http_hangar_unlock(op->reg);

    if (rc == NGX_OK) {
        ngx_http_hangar_approval_event(op->reg, "ToolApprovalRequested",
                                       &h->rec.provider, &h->rec.id,
                                       &h->rec.tool, "arguments_hash",
                                       &h->rec.hash);
    }

    return rc;
}


/* ---- decisions --------------------------------------------------------- */

void
ngx_http_hangar_approval_resolve_init(ngx_http_hangar_approval_op_t *ao)
{
    ao->op.prepare = ngx_http_hangar_approval_decide_prepare;
    ao->op.commit = ngx_http_hangar_approval_decide_commit;
}


/*
 * With the state lock held.  One record (ao->id): a person's decision,
 * or an expiry; a record found past its time is expired instead (and the
 * resolve told so).  No id: the sweep expires every pending record past
 * its time, and writes what a start changed.
 */

static ngx_int_t
ngx_http_hangar_approval_decide_prepare(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc)
{
    u_char                           *p;
    size_t                            size;
    ngx_uint_t                        i, changed;
    ngx_array_t                       list;
    ngx_http_hangar_approval_t       *a;
    ngx_http_hangar_approvals_t      *t;
    ngx_http_hangar_approval_op_t    *ao;

    ao = (ngx_http_hangar_approval_op_t *) op;

    t = ngx_http_hangar_approvals(op->reg, op->log);
    if (t == NULL) {
        return NGX_HTTP_HANGAR_STATE_FULL;
    }

    ao->now = ngx_http_hangar_now_ms();
    ao->blob = NULL;

    if (ngx_http_hangar_approval_snapshot(op->reg, op->pool, op->log, &list)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    a = list.elts;
    changed = 0;

    for (i = 0; i < list.nelts; i++) {

        if (ao->id.len == 0) {
            if (a[i].state == NGX_HTTP_HANGAR_APPROVAL_PENDING
                && a[i].expires_at <= ao->now)
            {
                a[i].state = NGX_HTTP_HANGAR_APPROVAL_EXPIRED;
                a[i].decided_at = ao->now;
                ngx_str_set(&a[i].decided_by, "system");
                ngx_str_set(&a[i].reason, "No response within timeout");
                changed++;
            }

            continue;
        }

        if (ao->id.len != 36 || ngx_memcmp(a[i].id.data, ao->id.data, 36)) {
            continue;
        }

        /* a record of another tenant is not there for this caller */
        if (ao->scoped && a[i].tenant.len
            && (ao->tenant == NULL || ao->tenant->len != a[i].tenant.len
                || ngx_memcmp(ao->tenant->data, a[i].tenant.data,
                              a[i].tenant.len) != 0))
        {
            break;
        }

        ao->tool = a[i].tool;
        ao->provider = a[i].provider;

        if (a[i].state != NGX_HTTP_HANGAR_APPROVAL_PENDING) {
            ao->outcome = NGX_HTTP_HANGAR_APPROVAL_RESOLVED;
            ao->state = a[i].state;
            return NGX_DONE;
        }

        if (ao->decision != NGX_HTTP_HANGAR_APPROVAL_EXPIRED
            && a[i].expires_at <= ao->now)
        {
            ao->decision = NGX_HTTP_HANGAR_APPROVAL_EXPIRED;
            ao->outcome = NGX_HTTP_HANGAR_APPROVAL_TOO_LATE;

        } else {
            ao->outcome = NGX_HTTP_HANGAR_APPROVAL_DONE;
        }

        ao->state = ao->decision;
        a[i].state = ao->decision;
        a[i].decided_at = ao->now;

        if (ao->decision == NGX_HTTP_HANGAR_APPROVAL_EXPIRED) {
            ngx_str_set(&a[i].decided_by, "system");
            ngx_str_set(&a[i].reason, "No response within timeout");

        } else {
            a[i].decided_by = ao->decided_by;
            a[i].reason = ao->reason;
        }

        changed = 1;
        break;
    }

    if (ao->id.len) {
        if (!changed) {
            ao->outcome = NGX_HTTP_HANGAR_APPROVAL_NOT_FOUND;
            return NGX_DONE;
        }

        if (ao->decision != NGX_HTTP_HANGAR_APPROVAL_EXPIRED) {
            size = ao->decided_by.len + 1 + ao->reason.len;

            ngx_http_hangar_lock(op->reg);
            ao->blob = ngx_slab_alloc_locked(op->reg->shpool,
                           offsetof(ngx_http_hangar_blob_t, data) + size);
            ngx_http_hangar_unlock(op->reg);

            if (ao->blob == NULL) {
                ngx_http_hangar_zone_full(op->reg, op->log);
                return NGX_HTTP_HANGAR_STATE_FULL;
            }

            ao->blob->len = size;
            p = ngx_cpymem(ao->blob->data, ao->decided_by.data,
                           ao->decided_by.len);
            *p++ = '\0';
            ngx_memcpy(p, ao->reason.data, ao->reason.len);
        }

    } else {
        ngx_http_hangar_lock(op->reg);
        changed += t->dirty;
        ngx_http_hangar_unlock(op->reg);

        if (!changed) {
            return NGX_DONE;
        }
    }

    return ngx_http_hangar_approval_doc(op, &list, NULL, NULL);
}


static ngx_int_t
ngx_http_hangar_approval_decide_commit(ngx_http_hangar_state_op_t *op,
    ngx_int_t rc)
{
    ngx_uint_t                        i, k;
    ngx_queue_t                      *q;
    ngx_http_hangar_approval_t        list[16];
    ngx_http_hangar_approvals_t      *t;
    u_char                            names[16][36 + NGX_HTTP_HANGAR_ID_MAX
                                                 + NGX_HTTP_HANGAR_NAME_MAX];
    ngx_http_hangar_approval_op_t    *ao;
    ngx_http_hangar_approval_node_t  *n;

    ao = (ngx_http_hangar_approval_op_t *) op;

    if (rc != NGX_OK) {
        if (ao->blob) {
            ngx_http_hangar_lock(op->reg);
            ngx_slab_free_locked(op->reg->shpool, ao->blob);
            ngx_http_hangar_unlock(op->reg);
            ao->blob = NULL;
        }

        return rc;
    }

    k = 0;

    ngx_http_hangar_lock(op->reg);

    t = op->reg->sh->approval_sh;

    if (ao->id.len) {
        n = ngx_http_hangar_approval_find(t, ao->id.data, ao->id.len);

        /* the state lock was held since prepare found it pending */
        if (n) {
            n->state = ao->decision;
            n->decided_at = ao->now;
            n->decision = ao->blob;
            n->why = ao->blob ? NGX_HTTP_HANGAR_WHY_PERSON
                              : NGX_HTTP_HANGAR_WHY_TIMEOUT;
            t->gen++;
            ao->blob = NULL;
        }

    } else {
        for (q = ngx_queue_head(&t->queue);
             q != ngx_queue_sentinel(&t->queue);
             q = ngx_queue_next(q))
        {
            n = ngx_queue_data(q, ngx_http_hangar_approval_node_t, queue);

            if (n->state != NGX_HTTP_HANGAR_APPROVAL_PENDING
                || n->expires_at > ao->now)
            {
                continue;
            }

            n->state = NGX_HTTP_HANGAR_APPROVAL_EXPIRED;
            n->decided_at = ao->now;
            n->why = NGX_HTTP_HANGAR_WHY_TIMEOUT;
            t->gen++;

            /* the first few are told of by name, copied to the stack */
            if (k < 16) {
                ngx_memzero(&list[k], sizeof(ngx_http_hangar_approval_t));
                list[k].id.data = names[k];
                list[k].id.len = 36;
                ngx_memcpy(names[k], n->id, 36);
                list[k].provider.data = names[k] + 36;
                list[k].provider.len = ngx_min(n->len[0],
                                               NGX_HTTP_HANGAR_ID_MAX);
                ngx_memcpy(list[k].provider.data, n->data,
                           list[k].provider.len);
                list[k].tool.data = list[k].provider.data
                                    + list[k].provider.len;
                list[k].tool.len = ngx_min(n->len[1],
                                           NGX_HTTP_HANGAR_NAME_MAX);
                ngx_memcpy(list[k].tool.data, n->data + n->len[0],
                           list[k].tool.len);
                k++;
            }
        }

        t->dirty = 0;
    }

    ngx_http_hangar_unlock(op->reg);

    if (ao->id.len) {
        ngx_http_hangar_approval_decided(ao, NULL);
    }

    for (i = 0; i < k; i++) {
        ngx_http_hangar_approval_decided(ao, &list[i]);
    }

    return rc;
}


/* the event and the log line of a decision (never the arguments) */

static void
ngx_http_hangar_approval_decided(ngx_http_hangar_approval_op_t *ao,
    ngx_http_hangar_approval_t *a)
{
    ngx_str_t    id, tool, provider, by;
    ngx_uint_t   decision;
    const char  *type;

    if (a) {
        id = a->id;
        tool = a->tool;
        provider = a->provider;
        decision = NGX_HTTP_HANGAR_APPROVAL_EXPIRED;

    } else {
        id = ao->id;
        tool = ao->tool;
        provider = ao->provider;
        decision = ao->decision;
    }

    if (decision == NGX_HTTP_HANGAR_APPROVAL_EXPIRED) {
        ngx_str_set(&by, "system");

    } else {
        by = ao->decided_by;
    }

    type = (decision == NGX_HTTP_HANGAR_APPROVAL_APPROVED)
           ? "ToolApprovalGranted"
           : (decision == NGX_HTTP_HANGAR_APPROVAL_DENIED)
             ? "ToolApprovalDenied" : "ToolApprovalExpired";

    ngx_http_hangar_approval_event(ao->op.reg, type, &provider, &id, &tool,
                                   "decided_by", &by);

    ngx_log_error(NGX_LOG_INFO, ao->op.log, 0,
                  "hangar: approval %V of \"%V\" on \"%V\" %s by \"%V\"",
                  &id, &tool, &provider,
                  ngx_http_hangar_approval_state_name(decision), &by);
}




/*
 * An event of the ring (its data is bounded): the approval, the tool and
 * one more field, the strings cut and escaped for JSON.
 */

static void
ngx_http_hangar_approval_event(ngx_http_hangar_registry_t *reg,
    const char *type, ngx_str_t *provider, ngx_str_t *id, ngx_str_t *tool,
    const char *key, ngx_str_t *value)
{
    u_char     t[40 * 6], v[64 * 6];
    ngx_str_t  et, ev;

    et.data = t;
    et.len = (u_char *) ngx_escape_json(t, tool->data,
                                         ngx_min(tool->len, 40)) - t;
    ev.data = v;
    ev.len = (u_char *) ngx_escape_json(v, value->data,
                                         ngx_min(value->len, 64)) - v;

    ngx_http_hangar_event(reg, type, provider->data, provider->len,
                          "{\"approval_id\":\"%V\",\"tool_name\":\"%V\","
                          "\"%s\":\"%V\"}", id, &et, key, &ev);
}


/* ---- for the hold and the sweep ---------------------------------------- */

void
ngx_http_hangar_approval_create_init(ngx_http_hangar_approval_create_t *c)
{
    c->op.prepare = ngx_http_hangar_approval_create_prepare;
    c->op.commit = ngx_http_hangar_approval_create_commit;
}


/*
 * The record's state (ANY: gone), expiry and hash, and the reason of a
 * person's decision copied into reason (its data: reason_max bytes).
 */

ngx_uint_t
ngx_http_hangar_approval_peek(ngx_http_hangar_registry_t *reg, ngx_str_t *id,
    ngx_msec_t *expires, u_char *hash, ngx_str_t *reason, size_t reason_max)
{
    u_char                           *p, *end;
    ngx_uint_t                        state;
    ngx_http_hangar_approval_node_t  *n;

    state = NGX_HTTP_HANGAR_APPROVAL_ANY;
    reason->len = 0;

    ngx_http_hangar_lock(reg);

    n = ngx_http_hangar_approval_find(reg->sh->approval_sh, id->data, id->len);

    if (n) {
        state = n->state;
        *expires = n->expires_at;
        ngx_memcpy(hash, n->hash, 64);

        if (n->decision) {
            p = n->decision->data;
            end = p + n->decision->len;

            while (p < end && *p) {
                p++;
            }

            if (p < end) {
                p++;
                reason->len = ngx_min((size_t) (end - p), reason_max);
                ngx_memcpy(reason->data, p, reason->len);
            }
        }
    }

    ngx_http_hangar_unlock(reg);

    return state;
}


/* the sweep has something to do: a pending record past its time, or a
 * start's denial not yet written */

ngx_uint_t
ngx_http_hangar_approval_due(ngx_http_hangar_registry_t *reg, ngx_log_t *log)
{
    ngx_uint_t                        due;
    ngx_msec_t                        now;
    ngx_queue_t                      *q;
    ngx_http_hangar_approvals_t      *t;
    ngx_http_hangar_approval_node_t  *n;

    t = ngx_http_hangar_approvals(reg, log);
    if (t == NULL) {
        return 0;
    }

    now = ngx_http_hangar_now_ms();

    ngx_http_hangar_lock(reg);

    due = t->dirty;

    for (q = ngx_queue_head(&t->queue);
         q != ngx_queue_sentinel(&t->queue) && !due;
         q = ngx_queue_next(q))
    {
        n = ngx_queue_data(q, ngx_http_hangar_approval_node_t, queue);
        due = (n->state == NGX_HTTP_HANGAR_APPROVAL_PENDING
               && n->expires_at <= now);
    }

    ngx_http_hangar_unlock(reg);

    return due;
}
