
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_registry.h"
#include "ngx_http_hangar_history.h"


static void ngx_http_hangar_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_http_hangar_tree_init(ngx_http_hangar_tree_t *tree);


static ngx_http_hangar_registry_t  *ngx_http_hangar_current;


static const char  *ngx_http_hangar_state_names[] = {
    "cold", "initializing", "ready", "degraded", "dead"
};

static const char  *ngx_http_hangar_mode_names[] = {
    "subprocess", "docker", "remote", "group"
};


const char *
ngx_http_hangar_state_name(ngx_uint_t state)
{
    return ngx_http_hangar_state_names[state % NGX_HTTP_HANGAR_NSTATES];
}


const char *
ngx_http_hangar_mode_name(ngx_uint_t mode)
{
    return ngx_http_hangar_mode_names[mode & 3];
}


ngx_http_hangar_registry_t *
ngx_http_hangar_registry(void)
{
    return ngx_http_hangar_current;
}


static void
ngx_http_hangar_tree_init(ngx_http_hangar_tree_t *tree)
{
    ngx_rbtree_init(&tree->rbtree, &tree->sentinel,
                    ngx_http_hangar_rbtree_insert);
    ngx_queue_init(&tree->queue);
    tree->count = 0;
}


/*
 * Like ngx_http_limit_req_init_zone(): the data of the previous cycle's
 * zone is reused on reload, so the registry and every counter survive
 * "nginx -s reload".  Nothing else happens here: the cycle may still fail
 * (a listen socket that cannot be bound, say), so the declared fleet is
 * reconciled into the zone only once the cycle is committed, from
 * init_module (ngx_http_hangar_module.c), and only then is this registry
 * the one that ngx_http_hangar_registry() returns.
 */

ngx_int_t
ngx_http_hangar_registry_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_hangar_registry_t  *oreg = data;

    size_t                        len;
    u_char                        host[64];
    ngx_http_hangar_registry_t   *reg;

    reg = shm_zone->data;
    reg->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (oreg) {
        reg->sh = oreg->sh;

    } else if (shm_zone->shm.exists) {
        reg->sh = reg->shpool->data;

    } else {
        reg->sh = ngx_slab_calloc(reg->shpool,
                                  sizeof(ngx_http_hangar_shctx_t));
        if (reg->sh == NULL) {
            return NGX_ERROR;
        }

        reg->shpool->data = reg->sh;
        reg->fresh = 1;

        if (ngx_http_hangar_events_init(reg, shm_zone->shm.size) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ngx_http_hangar_history_init(reg, shm_zone->shm.size) != NGX_OK)
        {
            return NGX_ERROR;
        }

        ngx_http_hangar_tree_init(&reg->sh->servers);
        ngx_http_hangar_tree_init(&reg->sh->groups);

        reg->sh->boot_ms = ngx_http_hangar_now_ms();

        if (gethostname((char *) host, sizeof(host) - 1) != 0) {
            ngx_cpystrn(host, (u_char *) "hangar", sizeof(host));
        }
        host[sizeof(host) - 1] = '\0';

        ngx_sprintf(reg->sh->instance_id, "%s-%08xD%Z",
                    getenv("HANGAR_INSTANCE_LABEL")
                    ? getenv("HANGAR_INSTANCE_LABEL") : (char *) host,
                    (uint32_t) (ngx_random() ^ (ngx_pid << 16)));

        len = sizeof(" in hangar zone \"\"") + shm_zone->shm.name.len;

        reg->shpool->log_ctx = ngx_slab_alloc(reg->shpool, len);
        if (reg->shpool->log_ctx == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(reg->shpool->log_ctx, " in hangar zone \"%V\"%Z",
                    &shm_zone->shm.name);
    }

    /* we report a full zone ourselves: one [alert] and a 507 */
    reg->shpool->log_nomem = 0;

    if (ngx_shmtx_create(&reg->state_mutex, &reg->sh->state_lock, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the cycle of reg is committed: its registry is the one in use */

void
ngx_http_hangar_registry_commit(ngx_http_hangar_registry_t *reg)
{
    ngx_http_hangar_current = reg;
}


static void
ngx_http_hangar_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t       **p;
    ngx_http_hangar_node_t   *n, *t;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            n = (ngx_http_hangar_node_t *) node;
            t = (ngx_http_hangar_node_t *) temp;

            p = (ngx_memn2cmp(n->id, t->id, n->id_len, t->id_len) < 0)
                ? &temp->left : &temp->right;
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


ngx_http_hangar_node_t *
ngx_http_hangar_find(ngx_http_hangar_tree_t *tree, u_char *id, size_t len)
{
    ngx_int_t                rc;
    uint32_t                 hash;
    ngx_rbtree_node_t       *node, *sentinel;
    ngx_http_hangar_node_t  *n;

    hash = ngx_crc32_short(id, len);

    node = tree->rbtree.root;
    sentinel = tree->rbtree.sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        n = (ngx_http_hangar_node_t *) node;
        rc = ngx_memn2cmp(id, n->id, len, n->id_len);

        if (rc == 0) {
            return n;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/* a record's parts, rendered from a canonical spec in a pool */

ngx_int_t
ngx_http_hangar_record(ngx_pool_t *pool, ngx_str_t *id,
    ngx_http_hangar_value_t *spec, ngx_http_hangar_record_t *rec)
{
    ngx_http_hangar_value_t  *desc, *tools;

    ngx_memzero(rec, sizeof(ngx_http_hangar_record_t));

    rec->id = *id;
    rec->mode = ngx_http_hangar_spec_mode(spec);
    rec->mode_name = ngx_http_hangar_get(spec, "mode")->u.s;

    if (ngx_http_hangar_json_text(pool, spec, &rec->spec) != NGX_OK) {
        return NGX_ERROR;
    }

    desc = ngx_http_hangar_get(spec, "description");
    if (ngx_http_hangar_is(desc, NGX_HTTP_HANGAR_STR)) {
        rec->desc = desc->u.s;
    }

    /* a list under "tools" is a predefined catalog (a map is a policy) */
    tools = ngx_http_hangar_get(spec, "tools");
    if (ngx_http_hangar_is(tools, NGX_HTTP_HANGAR_ARR)) {
        rec->tools_count = tools->u.arr.nelts;

        if (ngx_http_hangar_json_text(pool, tools, &rec->tools) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


ngx_http_hangar_blob_t *
ngx_http_hangar_blob(ngx_http_hangar_registry_t *reg, u_char *data,
    size_t len)
{
    ngx_http_hangar_blob_t  *b;

    b = ngx_slab_alloc_locked(reg->shpool,
                              offsetof(ngx_http_hangar_blob_t, data) + len);
    if (b == NULL) {
        return NULL;
    }

    b->len = len;
    ngx_memcpy(b->data, data, len);

    return b;
}


void
ngx_http_hangar_blob_free(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_blob_t *blob)
{
    if (blob) {
        ngx_slab_free_locked(reg->shpool, blob);
    }
}


/* a blob slot gets a copy of text (NULL: none); with the slab mutex */

ngx_int_t
ngx_http_hangar_set_blob(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_blob_t **slot, ngx_str_t *text)
{
    ngx_http_hangar_blob_t  *b;

    b = NULL;

    if (text) {
        b = ngx_http_hangar_blob(reg, text->data, text->len);
        if (b == NULL) {
            return NGX_ERROR;
        }
    }

    ngx_http_hangar_blob_free(reg, *slot);
    *slot = b;

    return NGX_OK;
}


void
ngx_http_hangar_zone_full(ngx_http_hangar_registry_t *reg, ngx_log_t *log)
{
    ngx_log_error(NGX_LOG_ALERT, log, 0,
                  "hangar zone \"%V\" is full, the change was refused; "
                  "increase the size in \"hangar_zone\"", &reg->name);
}


ngx_int_t
ngx_http_hangar_prepare(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_record_t *rec, ngx_uint_t create,
    ngx_http_hangar_prep_t *prep)
{
    ngx_memzero(prep, sizeof(ngx_http_hangar_prep_t));

    if (create) {
        prep->node = ngx_slab_calloc_locked(reg->shpool,
                                            sizeof(ngx_http_hangar_node_t));
        if (prep->node == NULL) {
            goto full;
        }
    }

    prep->spec = ngx_http_hangar_blob(reg, rec->spec.data, rec->spec.len);
    if (prep->spec == NULL) {
        goto full;
    }

    if (rec->desc.len) {
        prep->desc = ngx_http_hangar_blob(reg, rec->desc.data, rec->desc.len);
        if (prep->desc == NULL) {
            goto full;
        }
    }

    if (rec->tools.len) {
        prep->tools = ngx_http_hangar_blob(reg, rec->tools.data,
                                           rec->tools.len);
        if (prep->tools == NULL) {
            goto full;
        }
    }

    return NGX_OK;

full:

    ngx_http_hangar_discard(reg, prep);

    return NGX_DECLINED;
}


void
ngx_http_hangar_discard(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_prep_t *prep)
{
    if (prep->node) {
        ngx_slab_free_locked(reg->shpool, prep->node);
    }

    ngx_http_hangar_blob_free(reg, prep->spec);
    ngx_http_hangar_blob_free(reg, prep->desc);
    ngx_http_hangar_blob_free(reg, prep->tools);

    ngx_memzero(prep, sizeof(ngx_http_hangar_prep_t));
}


/*
 * Links prepared blobs into node (or into the new node of prep); the old
 * blobs are freed.  Runtime state and counters of an existing node stay.
 */

ngx_http_hangar_node_t *
ngx_http_hangar_commit(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_tree_t *tree, ngx_http_hangar_node_t *node,
    ngx_http_hangar_record_t *rec, ngx_http_hangar_prep_t *prep)
{
    if (node == NULL) {
        node = prep->node;

        ngx_memcpy(node->id, rec->id.data, rec->id.len);
        node->id_len = rec->id.len;
        node->node.key = ngx_crc32_short(rec->id.data, rec->id.len);
        node->state = NGX_HTTP_HANGAR_COLD;

        ngx_rbtree_insert(&tree->rbtree, &node->node);
        ngx_queue_insert_tail(&tree->queue, &node->queue);
        tree->count++;

    } else {
        node->changed = 1;

        ngx_http_hangar_blob_free(reg, node->spec);
        ngx_http_hangar_blob_free(reg, node->desc);

        /* a live catalog is kept; a predefined one is replaced */
        if (node->tools_predefined || prep->tools) {
            ngx_http_hangar_blob_free(reg, node->tools);
            node->tools = NULL;
            node->tools_count = 0;
            node->tools_predefined = 0;
        }
    }

    node->mode = rec->mode;
    *ngx_cpymem(node->mode_name, rec->mode_name.data,
                ngx_min(rec->mode_name.len, sizeof(node->mode_name) - 1))
        = '\0';
    node->spec = prep->spec;
    node->desc = prep->desc;

    if (prep->tools) {
        node->tools = prep->tools;
        node->tools_count = rec->tools_count;
        node->tools_predefined = 1;
    }

    ngx_memzero(prep, sizeof(ngx_http_hangar_prep_t));

    (void) ngx_atomic_fetch_add(&reg->sh->generation, 1);

    return node;
}


void
ngx_http_hangar_remove(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_tree_t *tree, ngx_http_hangar_node_t *node)
{
    ngx_rbtree_delete(&tree->rbtree, &node->node);
    ngx_queue_remove(&node->queue);
    tree->count--;

    ngx_http_hangar_blob_free(reg, node->spec);
    ngx_http_hangar_blob_free(reg, node->desc);
    ngx_http_hangar_blob_free(reg, node->tools);
    ngx_http_hangar_blob_free(reg, node->meta);
    ngx_http_hangar_blob_free(reg, node->error);
    ngx_http_hangar_blob_free(reg, node->session);
    ngx_slab_free_locked(reg->shpool, node);

    (void) ngx_atomic_fetch_add(&reg->sh->generation, 1);
}


/*
 * The state mutex serialises durable changes across workers: it is held
 * while the state file is written, the slab mutex only for memory work.
 * A worker that died holding it is detected by its pid and the lock freed.
 */

ngx_int_t
ngx_http_hangar_state_lock(ngx_http_hangar_registry_t *reg, ngx_log_t *log)
{
    ngx_uint_t        i;
    ngx_atomic_int_t  pid;

    for (i = 0; i < 10000; i++) {
        if (ngx_shmtx_trylock(&reg->state_mutex)) {
            return NGX_OK;
        }

        pid = (ngx_atomic_int_t) *reg->state_mutex.lock;

        if (pid && kill((ngx_pid_t) pid, 0) == -1 && ngx_errno == NGX_ESRCH) {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "hangar: state lock held by dead process %A, "
                          "freed", pid);
            (void) ngx_shmtx_force_unlock(&reg->state_mutex, (ngx_pid_t) pid);
            continue;
        }

        ngx_msleep(1);
    }

    return NGX_ERROR;
}


void
ngx_http_hangar_state_unlock(ngx_http_hangar_registry_t *reg)
{
    ngx_shmtx_unlock(&reg->state_mutex);
}
