
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Failed-authentication lockout (hangar-security.md §1.6) and token-bucket
 * rate limits (§7) in the registry's zone, shared by every worker.
 *
 * Both keep their entries in an rbtree (crc32 of the key, then the key)
 * and an LRU queue, in the manner of ngx_http_limit_req_module: each use
 * drops up to two idle entries from the old end, and the count is bounded
 * (max_trackers, max_buckets).  A full table evicts its oldest entry that
 * may go: any bucket, a tracker only when it is not locked.  When every
 * tracker looked at is locked, a new address is not tracked (fail open:
 * the locked ones stay locked, and an attacker holding that many addresses
 * cannot lock every other client out); an [alert] says so.
 *
 * Under the slab mutex: lookups, bounded updates, slab allocation; events
 * and log lines come after it is released.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_limit.h"
#include "ngx_http_hangar_machine.h"
#include "ngx_http_hangar_lifecycle.h"
#include "ngx_http_hangar_stats.h"


#define NGX_HTTP_HANGAR_LOCKOUT_CAP   3600      /* s, escalation stops */
#define NGX_HTTP_HANGAR_BUCKET_IDLE   60000     /* ms */
#define NGX_HTTP_HANGAR_TOKEN         1000000   /* micro-tokens */
#define NGX_HTTP_HANGAR_EVICT_SCAN    64
#define NGX_HTTP_HANGAR_ADDR_MAX      64
#define NGX_HTTP_HANGAR_LIMIT_KEY     1024


typedef struct {
    ngx_rbtree_t                 rbtree;
    ngx_rbtree_node_t            sentinel;
    ngx_queue_t                  queue;     /* most recent first */
    ngx_uint_t                   count;
} ngx_http_hangar_limit_tree_t;


/*
 * reg->sh->limit_sh is set once, with the slab mutex held, and never
 * freed.  ntrackers mirrors trackers.count so that a worker sees without
 * the mutex that no address has failed (the common case: nothing to look
 * up when a request authenticates).
 */
typedef struct {
    ngx_http_hangar_limit_tree_t  trackers;
    ngx_http_hangar_limit_tree_t  buckets;
    ngx_atomic_t                  ntrackers;
} ngx_http_hangar_limit_sh_t;


/* what trackers and buckets start with */
typedef struct {
    ngx_rbtree_node_t            node;      /* key: crc32 of the key */
    ngx_queue_t                  queue;
    u_short                      len;
    u_char                      *key;
} ngx_http_hangar_limit_node_t;


/* failures of one client address */
typedef struct {
    ngx_http_hangar_limit_node_t  ln;
    ngx_msec_t                   locked_until;  /* monotonic ms; 0: not */
    ngx_uint_t                   lockouts;      /* escalation */
    ngx_msec_t                   last;          /* the last failure */
    ngx_uint_t                   slots;         /* of fails[] */
    ngx_uint_t                   nfails;
    ngx_uint_t                   next;
    u_char                       addr[NGX_HTTP_HANGAR_ADDR_MAX];
    ngx_msec_t                   fails[1];      /* a ring of failures */
} ngx_http_hangar_tracker_t;


typedef struct {
    ngx_http_hangar_limit_node_t  ln;
    ngx_msec_t                   last;      /* monotonic ms of the refill */
    uint64_t                     tokens;    /* micro-tokens */
    uint64_t                     rate;      /* micro-tokens per ms */
    uint64_t                     cap;
    u_char                       key[1];
} ngx_http_hangar_bucket_t;


/* one key of a hangar.yaml section */
typedef struct {
    const char                  *name;
    ngx_uint_t                   type;
    int64_t                      min;
    int64_t                      max;
    size_t                       offset;
} ngx_http_hangar_limit_key_t;

#define NGX_HTTP_HANGAR_KEY_FLAG    0
#define NGX_HTTP_HANGAR_KEY_UINT    1
#define NGX_HTTP_HANGAR_KEY_SECS    2
#define NGX_HTTP_HANGAR_KEY_RATE    3
#define NGX_HTTP_HANGAR_KEY_BUCKET  4


static ngx_int_t ngx_http_hangar_limit_keys(ngx_conf_t *cf,
    ngx_http_hangar_value_t *v, ngx_str_t *file, const char *path,
    ngx_http_hangar_limit_key_t *keys, void *conf);
static ngx_int_t ngx_http_hangar_limit_value(ngx_conf_t *cf,
    ngx_http_hangar_value_t *v, ngx_str_t *file, const char *path,
    ngx_http_hangar_limit_key_t *k, void *conf);
static ngx_int_t ngx_http_hangar_limit_env(ngx_conf_t *cf, const char *name,
    ngx_http_hangar_limit_key_t *k, void *conf);
static ngx_int_t ngx_http_hangar_limit_number(ngx_http_hangar_value_t *v,
    ngx_uint_t type, int64_t *n);
static ngx_http_hangar_limit_sh_t *ngx_http_hangar_limit_sh(
    ngx_http_hangar_registry_t *reg, ngx_uint_t create);
static void ngx_http_hangar_limit_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_hangar_limit_node_t *ngx_http_hangar_limit_find(
    ngx_http_hangar_limit_tree_t *t, uint32_t hash, u_char *key, size_t len);
static void ngx_http_hangar_limit_insert(ngx_http_hangar_limit_tree_t *t,
    ngx_http_hangar_limit_node_t *ln, uint32_t hash, u_char *key,
    size_t len);
static void ngx_http_hangar_limit_delete(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_limit_tree_t *t, ngx_http_hangar_limit_node_t *ln);
static void ngx_http_hangar_limit_touch(ngx_http_hangar_limit_tree_t *t,
    ngx_http_hangar_limit_node_t *ln);
static ngx_uint_t ngx_http_hangar_lockout_none(
    ngx_http_hangar_registry_t *reg);
static void ngx_http_hangar_lockout_expire(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_limit_sh_t *sh, ngx_http_hangar_lockout_conf_t *lc,
    ngx_msec_t now);
static ngx_uint_t ngx_http_hangar_lockout_idle(ngx_http_hangar_tracker_t *t,
    ngx_http_hangar_lockout_conf_t *lc, ngx_msec_t now);
static ngx_http_hangar_tracker_t *ngx_http_hangar_tracker_new(
    ngx_http_hangar_registry_t *reg, ngx_http_hangar_limit_sh_t *sh,
    ngx_http_hangar_lockout_conf_t *lc, uint32_t hash, ngx_str_t *addr,
    ngx_msec_t now);
static ngx_uint_t ngx_http_hangar_tracker_count(ngx_http_hangar_tracker_t *t,
    ngx_msec_t now, ngx_msec_t window);
static void ngx_http_hangar_lockout_addr(ngx_connection_t *c,
    ngx_str_t *addr);
static void ngx_http_hangar_lockout_events(ngx_http_hangar_registry_t *reg,
    ngx_connection_t *c, ngx_str_t *addr, ngx_uint_t unlocked,
    ngx_uint_t lockouts, time_t locked);
static ngx_http_hangar_bucket_t *ngx_http_hangar_bucket_get(
    ngx_http_hangar_registry_t *reg, ngx_http_hangar_limit_sh_t *sh,
    ngx_http_hangar_limit_conf_t *lc, ngx_str_t *key,
    ngx_http_hangar_bucket_conf_t *bc, ngx_msec_t now);
static uint64_t ngx_http_hangar_bucket_fill(ngx_http_hangar_bucket_t *b,
    ngx_msec_t now);
static void ngx_http_hangar_bucket_expire(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_limit_sh_t *sh, ngx_msec_t now);
static ngx_int_t ngx_http_hangar_limit_keys_of(ngx_http_request_t *r,
    ngx_str_t *principal, ngx_str_t *server, ngx_str_t *tool,
    ngx_str_t *keys);


static ngx_msec_t  ngx_http_hangar_lockout_alerted;


static ngx_http_hangar_limit_key_t  ngx_http_hangar_lockout_keys[] = {

    { "enabled", NGX_HTTP_HANGAR_KEY_FLAG, 0, 1,
      offsetof(ngx_http_hangar_lockout_conf_t, enabled) },

    { "max_attempts", NGX_HTTP_HANGAR_KEY_UINT, 1, 1000,
      offsetof(ngx_http_hangar_lockout_conf_t, max_attempts) },

    { "window_seconds", NGX_HTTP_HANGAR_KEY_SECS, 1, 86400,
      offsetof(ngx_http_hangar_lockout_conf_t, window) },

    { "lockout_seconds", NGX_HTTP_HANGAR_KEY_SECS, 1, 86400,
      offsetof(ngx_http_hangar_lockout_conf_t, lockout) },

    { "max_trackers", NGX_HTTP_HANGAR_KEY_UINT, 1, 1000000,
      offsetof(ngx_http_hangar_lockout_conf_t, max_trackers) },

    { NULL, 0, 0, 0, 0 }
};


static ngx_http_hangar_limit_key_t  ngx_http_hangar_bucket_keys[] = {

    { "rps", NGX_HTTP_HANGAR_KEY_RATE, 1, 1000000000,
      offsetof(ngx_http_hangar_bucket_conf_t, rate) },

    { "burst", NGX_HTTP_HANGAR_KEY_UINT, 1, 1000000,
      offsetof(ngx_http_hangar_bucket_conf_t, burst) },

    { NULL, 0, 0, 0, 0 }
};


static ngx_http_hangar_limit_key_t  ngx_http_hangar_rate_keys[] = {

    { "enabled", NGX_HTTP_HANGAR_KEY_FLAG, 0, 1,
      offsetof(ngx_http_hangar_limit_conf_t, enabled) },

    { "rps", NGX_HTTP_HANGAR_KEY_RATE, 1, 1000000000,
      offsetof(ngx_http_hangar_limit_conf_t, rest.rate) },

    { "burst", NGX_HTTP_HANGAR_KEY_UINT, 1, 1000000,
      offsetof(ngx_http_hangar_limit_conf_t, rest.burst) },

    { "calls", NGX_HTTP_HANGAR_KEY_BUCKET, 0, 0,
      offsetof(ngx_http_hangar_limit_conf_t, calls) },

    { "tools", NGX_HTTP_HANGAR_KEY_BUCKET, 0, 0,
      offsetof(ngx_http_hangar_limit_conf_t, tool) },

    { "max_buckets", NGX_HTTP_HANGAR_KEY_UINT, 1, 1000000,
      offsetof(ngx_http_hangar_limit_conf_t, max_buckets) },

    { NULL, 0, 0, 0, 0 }
};


/* ---- configuration ----------------------------------------------------- */

ngx_int_t
ngx_http_hangar_lockout_conf(ngx_conf_t *cf, ngx_http_hangar_value_t *v,
    ngx_str_t *file, ngx_http_hangar_lockout_conf_t *lc)
{
    lc->enabled = 1;
    lc->max_attempts = 10;
    lc->window = 60;
    lc->lockout = 300;
    lc->max_trackers = 10000;

    return ngx_http_hangar_limit_keys(cf, v, file, "auth.rate_limit",
                                      ngx_http_hangar_lockout_keys, lc);
}


ngx_int_t
ngx_http_hangar_limit_conf(ngx_conf_t *cf, ngx_http_hangar_value_t *v,
    ngx_str_t *file, ngx_http_hangar_limit_conf_t *lc)
{
    ngx_uint_t                    i;
    ngx_http_hangar_limit_key_t  *k;

    ngx_memzero(lc, sizeof(ngx_http_hangar_limit_conf_t));

    lc->enabled = 1;
    lc->rest.rate = 10000;
    lc->rest.burst = 20;
    lc->max_buckets = 10000;

    /* rate_limit.rps and .burst, else the environment, else 10 and 20 */
    for (i = 1; i < 3; i++) {
        k = &ngx_http_hangar_rate_keys[i];

        if (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_OBJ)
            && ngx_http_hangar_get(v, k->name) != NULL)
        {
            continue;
        }

        if (ngx_http_hangar_limit_env(cf, i == 1 ? "MCP_RATE_LIMIT_RPS"
                                                 : "MCP_RATE_LIMIT_BURST",
                                      k, lc)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ngx_http_hangar_limit_keys(cf, v, file, "rate_limit",
                                   ngx_http_hangar_rate_keys, lc)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* calls default to rps and burst, tools to calls */
    if (lc->calls.rate == 0) {
        lc->calls.rate = lc->rest.rate;
    }

    if (lc->calls.burst == 0) {
        lc->calls.burst = lc->rest.burst;
    }

    if (lc->tool.rate == 0) {
        lc->tool.rate = lc->calls.rate;
    }

    if (lc->tool.burst == 0) {
        lc->tool.burst = lc->calls.burst;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_limit_keys(ngx_conf_t *cf, ngx_http_hangar_value_t *v,
    ngx_str_t *file, const char *path, ngx_http_hangar_limit_key_t *keys,
    void *conf)
{
    ngx_uint_t                    i;
    ngx_http_hangar_pair_t       *pair;
    ngx_http_hangar_limit_key_t  *k;

    if (v == NULL || v->type == NGX_HTTP_HANGAR_NULL) {
        return NGX_OK;
    }

    if (v->type != NGX_HTTP_HANGAR_OBJ) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hangar_config: %V:%ui:%ui: %s: must be a mapping",
                           file, v->line, v->col, path);
        return NGX_ERROR;
    }

    pair = v->u.obj.elts;

    for (i = 0; i < v->u.obj.nelts; i++) {

        for (k = keys; k->name; k++) {
            if (ngx_strlen(k->name) == pair[i].key.len
                && ngx_strncmp(k->name, pair[i].key.data, pair[i].key.len)
                   == 0)
            {
                break;
            }
        }

        if (k->name == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hangar_config: %V:%ui:%ui: %s.%V: unknown "
                               "key", file, pair[i].value->line,
                               pair[i].value->col, path, &pair[i].key);
            return NGX_ERROR;
        }

        if (ngx_http_hangar_limit_value(cf, pair[i].value, file, path, k,
                                        conf)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_limit_value(ngx_conf_t *cf, ngx_http_hangar_value_t *v,
    ngx_str_t *file, const char *path, ngx_http_hangar_limit_key_t *k,
    void *conf)
{
    u_char      *p, buf[128];
    int64_t      n;
    const char  *want;

    p = (u_char *) conf + k->offset;

    switch (k->type) {

    case NGX_HTTP_HANGAR_KEY_BUCKET:
        *ngx_snprintf(buf, sizeof(buf) - 1, "%s.%s", path, k->name) = '\0';

        if (v->type != NGX_HTTP_HANGAR_OBJ) {
            want = "must be a mapping of rps and burst";
            break;
        }

        return ngx_http_hangar_limit_keys(cf, v, file, (char *) buf,
                                          ngx_http_hangar_bucket_keys, p);

    case NGX_HTTP_HANGAR_KEY_FLAG:
        if (v->type == NGX_HTTP_HANGAR_BOOL) {
            *(ngx_flag_t *) p = v->u.b ? 1 : 0;
            return NGX_OK;
        }

        want = "must be true or false";
        break;

    default:
        if (ngx_http_hangar_limit_number(v, k->type, &n) == NGX_OK
            && n >= k->min && n <= k->max)
        {
            if (k->type == NGX_HTTP_HANGAR_KEY_SECS) {
                *(time_t *) p = (time_t) n;

            } else if (k->type == NGX_HTTP_HANGAR_KEY_RATE) {
                *(uint64_t *) p = (uint64_t) n;

            } else {
                *(ngx_uint_t *) p = (ngx_uint_t) n;
            }

            return NGX_OK;
        }

        want = NULL;
    }

    if (want) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hangar_config: %V:%ui:%ui: %s.%s: %s",
                           file, v->line, v->col, path, k->name, want);

    } else if (k->type == NGX_HTTP_HANGAR_KEY_RATE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hangar_config: %V:%ui:%ui: %s.%s: must be a "
                           "number from 0.001 to 1000000",
                           file, v->line, v->col, path, k->name);

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hangar_config: %V:%ui:%ui: %s.%s: must be an "
                           "integer from %L to %L",
                           file, v->line, v->col, path, k->name,
                           k->min, k->max);
    }

    return NGX_ERROR;
}


/* MCP_RATE_LIMIT_RPS, MCP_RATE_LIMIT_BURST: read by the master */

static ngx_int_t
ngx_http_hangar_limit_env(ngx_conf_t *cf, const char *name,
    ngx_http_hangar_limit_key_t *k, void *conf)
{
    char                     *env, *end;
    double                    d;
    int64_t                   n;
    ngx_http_hangar_value_t   v;

    env = getenv(name);

    if (env == NULL || *env == '\0') {
        return NGX_OK;
    }

    errno = 0;
    d = strtod(env, &end);

    ngx_memzero(&v, sizeof(ngx_http_hangar_value_t));
    v.type = NGX_HTTP_HANGAR_NUM;
    v.u.n = d;

    if (*end == '\0' && errno == 0
        && ngx_http_hangar_limit_number(&v, k->type, &n) == NGX_OK
        && n >= k->min && n <= k->max)
    {
        if (k->type == NGX_HTTP_HANGAR_KEY_RATE) {
            *(uint64_t *) ((u_char *) conf + k->offset) = (uint64_t) n;

        } else {
            *(ngx_uint_t *) ((u_char *) conf + k->offset) = (ngx_uint_t) n;
        }

        return NGX_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "%s: \"%s\" must be %s", name, env,
                       k->type == NGX_HTTP_HANGAR_KEY_RATE
                       ? "a number from 0.001 to 1000000"
                       : "an integer from 1 to 1000000");

    return NGX_ERROR;
}


/* an integer, or a rate in thousandths; a whole number may be written 5.0 */

static ngx_int_t
ngx_http_hangar_limit_number(ngx_http_hangar_value_t *v, ngx_uint_t type,
    int64_t *n)
{
    double  d;

    if (v->type == NGX_HTTP_HANGAR_INT) {
        if (v->u.i < 0 || v->u.i > 1000000000) {
            return NGX_DECLINED;
        }

        *n = (type == NGX_HTTP_HANGAR_KEY_RATE) ? v->u.i * 1000 : v->u.i;
        return NGX_OK;
    }

    if (v->type != NGX_HTTP_HANGAR_NUM || !(v->u.n >= 0 && v->u.n <= 1e9)) {
        return NGX_DECLINED;
    }

    d = (type == NGX_HTTP_HANGAR_KEY_RATE) ? v->u.n * 1000 : v->u.n;

    if (d != (double) (int64_t) d) {
        return NGX_DECLINED;
    }

    *n = (int64_t) d;

    return NGX_OK;
}


/* ---- the zone ---------------------------------------------------------- */

/* with the slab mutex held; NULL: not made yet (create 0) or no room */

static ngx_http_hangar_limit_sh_t *
ngx_http_hangar_limit_sh(ngx_http_hangar_registry_t *reg, ngx_uint_t create)
{
    ngx_http_hangar_limit_sh_t  *sh;

    sh = reg->sh->limit_sh;

    if (sh || !create) {
        return sh;
    }

    sh = ngx_slab_calloc_locked(reg->shpool,
                                sizeof(ngx_http_hangar_limit_sh_t));
    if (sh == NULL) {
        return NULL;
    }

    ngx_rbtree_init(&sh->trackers.rbtree, &sh->trackers.sentinel,
                    ngx_http_hangar_limit_insert_value);
    ngx_queue_init(&sh->trackers.queue);
    ngx_rbtree_init(&sh->buckets.rbtree, &sh->buckets.sentinel,
                    ngx_http_hangar_limit_insert_value);
    ngx_queue_init(&sh->buckets.queue);

    ngx_memory_barrier();
    reg->sh->limit_sh = sh;

    return sh;
}


/* ordered by the hash, then by the key (as ngx_str_rbtree_insert_value) */

static void
ngx_http_hangar_limit_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t            **p;
    ngx_http_hangar_limit_node_t  *n, *t;

    for ( ;; ) {

        n = (ngx_http_hangar_limit_node_t *) node;
        t = (ngx_http_hangar_limit_node_t *) temp;

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            p = (ngx_memn2cmp(n->key, t->key, n->len, t->len) < 0)
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


static ngx_http_hangar_limit_node_t *
ngx_http_hangar_limit_find(ngx_http_hangar_limit_tree_t *t, uint32_t hash,
    u_char *key, size_t len)
{
    ngx_int_t                      rc;
    ngx_rbtree_node_t             *node, *sentinel;
    ngx_http_hangar_limit_node_t  *ln;

    node = t->rbtree.root;
    sentinel = t->rbtree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        ln = (ngx_http_hangar_limit_node_t *) node;

        rc = ngx_memn2cmp(key, ln->key, len, ln->len);

        if (rc == 0) {
            return ln;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_http_hangar_limit_insert(ngx_http_hangar_limit_tree_t *t,
    ngx_http_hangar_limit_node_t *ln, uint32_t hash, u_char *key, size_t len)
{
    ln->node.key = hash;
    ln->len = (u_short) len;
    ngx_memcpy(ln->key, key, len);

    ngx_rbtree_insert(&t->rbtree, &ln->node);
    ngx_queue_insert_head(&t->queue, &ln->queue);
    t->count++;
}


static void
ngx_http_hangar_limit_delete(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_limit_tree_t *t, ngx_http_hangar_limit_node_t *ln)
{
    ngx_rbtree_delete(&t->rbtree, &ln->node);
    ngx_queue_remove(&ln->queue);
    t->count--;

    ngx_slab_free_locked(reg->shpool, ln);
}


static void
ngx_http_hangar_limit_touch(ngx_http_hangar_limit_tree_t *t,
    ngx_http_hangar_limit_node_t *ln)
{
    ngx_queue_remove(&ln->queue);
    ngx_queue_insert_head(&t->queue, &ln->queue);
}


/* ---- lockout ----------------------------------------------------------- */

ngx_int_t
ngx_http_hangar_lockout_check(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_lockout_conf_t *lc, ngx_connection_t *c,
    time_t *retry_after)
{
    time_t                       dur, cap;
    ngx_msec_t                   now;
    uint32_t                     hash;
    ngx_str_t                    addr;
    ngx_uint_t                   unlocked, lockouts, i;
    ngx_http_hangar_tracker_t   *t;
    ngx_http_hangar_limit_sh_t  *sh;

    *retry_after = 0;

    if (reg == NULL || lc == NULL || !lc->enabled
        || ngx_http_hangar_lockout_none(reg))
    {
        return NGX_OK;
    }

    ngx_http_hangar_lockout_addr(c, &addr);
    hash = ngx_crc32_short(addr.data, addr.len);
    now = ngx_http_hangar_mono_ms();
    unlocked = 0;
    lockouts = 0;
    dur = 0;

    ngx_http_hangar_lock(reg);

    sh = ngx_http_hangar_limit_sh(reg, 0);

    if (sh == NULL) {
        ngx_http_hangar_unlock(reg);
        return NGX_OK;
    }

    ngx_http_hangar_lockout_expire(reg, sh, lc, now);
    sh->ntrackers = sh->trackers.count;

    t = (ngx_http_hangar_tracker_t *)
            ngx_http_hangar_limit_find(&sh->trackers, hash, addr.data,
                                       addr.len);
    if (t == NULL) {
        ngx_http_hangar_unlock(reg);
        return NGX_OK;
    }

    if (t->locked_until) {
        if (now < t->locked_until) {
            *retry_after = (time_t) ((t->locked_until - now + 999) / 1000);
            ngx_http_hangar_unlock(reg);
            return NGX_BUSY;
        }

        t->locked_until = 0;
        unlocked = 1;
    }

    if (ngx_http_hangar_tracker_count(t, now, (ngx_msec_t) lc->window * 1000)
        >= lc->max_attempts)
    {
        /* 300, 600, 1200 ... up to an hour (or lockout_seconds if more) */
        t->lockouts++;
        cap = ngx_max(lc->lockout, NGX_HTTP_HANGAR_LOCKOUT_CAP);
        dur = lc->lockout;

        for (i = 1; i < t->lockouts && dur < cap; i++) {
            dur *= 2;
        }

        dur = ngx_min(dur, cap);

        t->locked_until = now + (ngx_msec_t) dur * 1000;
        t->nfails = 0;
        t->next = 0;
        lockouts = t->lockouts;
        ngx_http_hangar_limit_touch(&sh->trackers, &t->ln);
    }

    ngx_http_hangar_unlock(reg);

    ngx_http_hangar_lockout_events(reg, c, &addr, unlocked, lockouts, dur);

    if (lockouts) {
        *retry_after = dur;
        return NGX_BUSY;
    }

    return NGX_OK;
}


void
ngx_http_hangar_lockout_failed(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_lockout_conf_t *lc, ngx_connection_t *c)
{
    uint32_t                     hash;
    ngx_str_t                    addr;
    ngx_uint_t                   full;
    ngx_msec_t                   now;
    ngx_http_hangar_tracker_t   *t;
    ngx_http_hangar_limit_sh_t  *sh;

    if (reg == NULL || lc == NULL || !lc->enabled) {
        return;
    }

    ngx_http_hangar_lockout_addr(c, &addr);
    hash = ngx_crc32_short(addr.data, addr.len);
    now = ngx_http_hangar_mono_ms();
    full = 0;

    ngx_http_hangar_lock(reg);

    sh = ngx_http_hangar_limit_sh(reg, 1);
    t = NULL;

    if (sh) {
        ngx_http_hangar_lockout_expire(reg, sh, lc, now);

        t = (ngx_http_hangar_tracker_t *)
                ngx_http_hangar_limit_find(&sh->trackers, hash, addr.data,
                                           addr.len);

        if (t && t->slots < lc->max_attempts) {
            /* max_attempts grew with a reload: a larger ring */
            ngx_http_hangar_limit_delete(reg, &sh->trackers, &t->ln);
            t = NULL;
        }

        if (t == NULL) {
            t = ngx_http_hangar_tracker_new(reg, sh, lc, hash, &addr, now);
        }
    }

    if (t) {
        t->fails[t->next] = now;
        t->next = (t->next + 1) % t->slots;
        t->nfails = ngx_min(t->nfails + 1, t->slots);
        t->last = now;
        ngx_http_hangar_limit_touch(&sh->trackers, &t->ln);

    } else {
        full = 1;
    }

    if (sh) {
        sh->ntrackers = sh->trackers.count;
    }

    ngx_http_hangar_unlock(reg);

    /* once a minute per worker: a flood of addresses is one line */
    if (full && now - ngx_http_hangar_lockout_alerted >= 60000) {
        ngx_http_hangar_lockout_alerted = now;
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "hangar: failed authentication from %V not counted: "
                      "the lockout table of zone \"%V\" is full of locked "
                      "addresses or the zone is full", &addr, &reg->name);
    }
}


void
ngx_http_hangar_lockout_passed(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_lockout_conf_t *lc, ngx_connection_t *c)
{
    uint32_t                      hash;
    ngx_str_t                     addr;
    ngx_http_hangar_limit_sh_t   *sh;
    ngx_http_hangar_limit_node_t *ln;

    if (reg == NULL || lc == NULL || !lc->enabled
        || ngx_http_hangar_lockout_none(reg))
    {
        return;
    }

    ngx_http_hangar_lockout_addr(c, &addr);
    hash = ngx_crc32_short(addr.data, addr.len);

    ngx_http_hangar_lock(reg);

    sh = ngx_http_hangar_limit_sh(reg, 0);

    if (sh) {
        ln = ngx_http_hangar_limit_find(&sh->trackers, hash, addr.data,
                                        addr.len);
        if (ln) {
            ngx_http_hangar_limit_delete(reg, &sh->trackers, ln);
        }

        sh->ntrackers = sh->trackers.count;
    }

    ngx_http_hangar_unlock(reg);
}


/* no address has a tracker: read without the mutex (see limit_sh_t) */

static ngx_uint_t
ngx_http_hangar_lockout_none(ngx_http_hangar_registry_t *reg)
{
    ngx_http_hangar_limit_sh_t  *sh;

    sh = reg->sh->limit_sh;
    ngx_memory_barrier();

    return sh == NULL || sh->ntrackers == 0;
}


/* housekeeping: up to two trackers from the old end */

static void
ngx_http_hangar_lockout_expire(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_limit_sh_t *sh, ngx_http_hangar_lockout_conf_t *lc,
    ngx_msec_t now)
{
    ngx_uint_t                  n;
    ngx_queue_t                *q;
    ngx_http_hangar_tracker_t  *t;

    for (n = 0; n < 2 && !ngx_queue_empty(&sh->trackers.queue); n++) {
        q = ngx_queue_last(&sh->trackers.queue);
        t = ngx_queue_data(q, ngx_http_hangar_tracker_t, ln.queue);

        if (!ngx_http_hangar_lockout_idle(t, lc, now)) {
            return;
        }

        ngx_http_hangar_limit_delete(reg, &sh->trackers, &t->ln);
    }
}


/* not locked, and no failure in the window */

static ngx_uint_t
ngx_http_hangar_lockout_idle(ngx_http_hangar_tracker_t *t,
    ngx_http_hangar_lockout_conf_t *lc, ngx_msec_t now)
{
    return now >= t->locked_until
           && now - t->last >= (ngx_msec_t) lc->window * 1000;
}


static ngx_http_hangar_tracker_t *
ngx_http_hangar_tracker_new(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_limit_sh_t *sh, ngx_http_hangar_lockout_conf_t *lc,
    uint32_t hash, ngx_str_t *addr, ngx_msec_t now)
{
    ngx_uint_t                  n;
    ngx_queue_t                *q;
    ngx_http_hangar_tracker_t  *t;

    /* full: the oldest tracker that is not locked makes room */
    if (sh->trackers.count >= lc->max_trackers) {
        q = ngx_queue_last(&sh->trackers.queue);

        for (n = 0; n < NGX_HTTP_HANGAR_EVICT_SCAN; n++) {
            if (q == ngx_queue_sentinel(&sh->trackers.queue)) {
                return NULL;
            }

            t = ngx_queue_data(q, ngx_http_hangar_tracker_t, ln.queue);

            if (now >= t->locked_until) {
                ngx_http_hangar_limit_delete(reg, &sh->trackers, &t->ln);
                break;
            }

            q = ngx_queue_prev(q);
        }

        if (n == NGX_HTTP_HANGAR_EVICT_SCAN) {
            return NULL;
        }
    }

    t = ngx_slab_calloc_locked(reg->shpool,
                               sizeof(ngx_http_hangar_tracker_t)
                               + (lc->max_attempts - 1)
                                 * sizeof(ngx_msec_t));
    if (t == NULL) {
        return NULL;
    }

    t->slots = lc->max_attempts;
    t->last = now;
    t->ln.key = t->addr;

    ngx_http_hangar_limit_insert(&sh->trackers, &t->ln, hash, addr->data,
                                 addr->len);

    return t;
}


static ngx_uint_t
ngx_http_hangar_tracker_count(ngx_http_hangar_tracker_t *t, ngx_msec_t now,
    ngx_msec_t window)
{
    ngx_uint_t  i, n;

    n = 0;

    for (i = 0; i < t->nfails; i++) {
        if (now - t->fails[i] < window) {
            n++;
        }
    }

    return n;
}


/* the address nginx sees (after realip), without the port */

static void
ngx_http_hangar_lockout_addr(ngx_connection_t *c, ngx_str_t *addr)
{
    addr->data = c->addr_text.data;
    addr->len = ngx_min(c->addr_text.len, NGX_HTTP_HANGAR_ADDR_MAX);
}


static void
ngx_http_hangar_lockout_events(ngx_http_hangar_registry_t *reg,
    ngx_connection_t *c, ngx_str_t *addr, ngx_uint_t unlocked,
    ngx_uint_t lockouts, time_t locked)
{
    if (unlocked) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "hangar: authentication lockout of %V ended", addr);
        ngx_http_hangar_event(reg, "RateLimitUnlock", NULL, 0,
                              "{\"ip\":\"%V\"}", addr);
    }

    if (lockouts) {
        ngx_log_error(NGX_LOG_WARN, c->log, 0,
                      "hangar: %V locked out of authentication for %T s "
                      "after too many failures (lockout %ui)",
                      addr, locked, lockouts);
        ngx_http_hangar_event(reg, "RateLimitLockout", NULL, 0,
                              "{\"ip\":\"%V\",\"lockout_seconds\":%T,"
                              "\"lockout_count\":%ui}",
                              addr, locked, lockouts);
    }
}


/* ---- rate limits ------------------------------------------------------- */

ngx_int_t
ngx_http_hangar_limit_take(ngx_http_hangar_registry_t *reg,
    ngx_http_request_t *r, ngx_str_t *principal, ngx_str_t *server,
    ngx_str_t *tool, ngx_http_hangar_limit_refusal_t *no)
{
    uint64_t                        have, need, wait, worst;
    ngx_str_t                       keys[2];
    ngx_uint_t                      i, n;
    ngx_msec_t                      now;
    ngx_http_hangar_bucket_t       *b[2];
    ngx_http_hangar_limit_sh_t     *sh;
    ngx_http_hangar_limit_conf_t   *lc;
    ngx_http_hangar_bucket_conf_t  *bc[2];

    lc = (reg && reg->hmcf) ? reg->hmcf->limit : NULL;

    if (lc == NULL || !lc->enabled) {
        return NGX_OK;
    }

    if (ngx_http_hangar_limit_keys_of(r, principal, server, tool, keys)
        != NGX_OK)
    {
        return NGX_OK;
    }

    n = (tool == NULL) ? 1 : 2;
    bc[0] = (tool == NULL) ? &lc->rest : &lc->calls;
    bc[1] = &lc->tool;
    now = ngx_http_hangar_mono_ms();
    worst = 0;

    ngx_http_hangar_lock(reg);

    sh = ngx_http_hangar_limit_sh(reg, 1);

    if (sh) {
        ngx_http_hangar_bucket_expire(reg, sh, now);
    }

    for (i = 0; i < n; i++) {
        b[i] = sh ? ngx_http_hangar_bucket_get(reg, sh, lc, &keys[i], bc[i],
                                                now)
                  : NULL;

        if (b[i] == NULL) {
            /* no room in the zone: not limited (an [alert] says so) */
            ngx_http_hangar_unlock(reg);
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "hangar zone \"%V\" is full: no rate limit was "
                          "applied; increase the size in \"hangar_zone\"",
                          &reg->name);
            return NGX_OK;
        }

        have = ngx_http_hangar_bucket_fill(b[i], now);

        if (have >= NGX_HTTP_HANGAR_TOKEN) {
            continue;
        }

        need = NGX_HTTP_HANGAR_TOKEN - have;
        wait = (need + b[i]->rate - 1) / b[i]->rate;    /* ms */

        if (wait > worst) {
            worst = wait;
            no->limit = bc[i]->burst;
            no->rate = bc[i]->rate;
            no->scope = (i == 0) ? "principal" : "tool";
        }
    }

    /* both buckets pay, or neither */
    if (worst == 0) {
        for (i = 0; i < n; i++) {
            b[i]->tokens -= NGX_HTTP_HANGAR_TOKEN;
        }
    }

    ngx_http_hangar_unlock(reg);

    ngx_http_hangar_stats_limit(reg, worst != 0);

    if (worst == 0) {
        return NGX_OK;
    }

    no->retry_after = (time_t) ((worst + 999) / 1000);

    return NGX_BUSY;
}


ngx_uint_t
ngx_http_hangar_limit_enabled(ngx_http_hangar_registry_t *reg)
{
    ngx_http_hangar_limit_conf_t  *lc;

    lc = (reg && reg->hmcf) ? reg->hmcf->limit : NULL;

    return lc != NULL && lc->enabled;
}


/*
 * The keys: "r" principal (REST commands), "c" principal (tools/call),
 * "t" principal \0 server \0 tool.  The principal is the authenticated id,
 * or "@" and the client address when auth is off.
 */

static ngx_int_t
ngx_http_hangar_limit_keys_of(ngx_http_request_t *r, ngx_str_t *principal,
    ngx_str_t *server, ngx_str_t *tool, ngx_str_t *keys)
{
    u_char      *p, *last;
    ngx_str_t    who;
    const char  *at;

    if (principal) {
        who = *principal;
        at = "";

    } else {
        who = r->connection->addr_text;
        at = "@";
    }

    p = ngx_pnalloc(r->pool, 2 * NGX_HTTP_HANGAR_LIMIT_KEY);
    if (p == NULL) {
        return NGX_ERROR;
    }

    last = p + NGX_HTTP_HANGAR_LIMIT_KEY;
    keys[0].data = p;
    keys[0].len = ngx_slprintf(p, last, "%c%s%V", tool ? 'c' : 'r', at, &who)
                  - p;

    if (tool) {
        p = last;
        last = p + NGX_HTTP_HANGAR_LIMIT_KEY;
        keys[1].data = p;
        keys[1].len = ngx_slprintf(p, last, "t%s%V%Z%V%Z%V", at, &who,
                                   server, tool)
                      - p;
    }

    return NGX_OK;
}


/* with the slab mutex held: the key's bucket, made full when new */

static ngx_http_hangar_bucket_t *
ngx_http_hangar_bucket_get(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_limit_sh_t *sh, ngx_http_hangar_limit_conf_t *lc,
    ngx_str_t *key, ngx_http_hangar_bucket_conf_t *bc, ngx_msec_t now)
{
    uint32_t                   hash;
    ngx_queue_t               *q;
    ngx_http_hangar_bucket_t  *b;

    hash = ngx_crc32_short(key->data, key->len);

    b = (ngx_http_hangar_bucket_t *)
            ngx_http_hangar_limit_find(&sh->buckets, hash, key->data,
                                       key->len);

    if (b == NULL) {
        /*
         * Full: the least recently used bucket makes room, unless it is
         * the one just touched (the other bucket of this call).
         */
        if (sh->buckets.count >= lc->max_buckets
            && !ngx_queue_empty(&sh->buckets.queue)
            && ngx_queue_last(&sh->buckets.queue)
               != ngx_queue_head(&sh->buckets.queue))
        {
            q = ngx_queue_last(&sh->buckets.queue);
            b = ngx_queue_data(q, ngx_http_hangar_bucket_t, ln.queue);
            ngx_http_hangar_limit_delete(reg, &sh->buckets, &b->ln);
        }

        b = ngx_slab_alloc_locked(reg->shpool,
                                  offsetof(ngx_http_hangar_bucket_t, key)
                                  + key->len);
        if (b == NULL) {
            return NULL;
        }

        b->ln.key = b->key;
        b->last = now;
        b->tokens = (uint64_t) bc->burst * NGX_HTTP_HANGAR_TOKEN;

        ngx_http_hangar_limit_insert(&sh->buckets, &b->ln, hash, key->data,
                                     key->len);

    } else {
        ngx_http_hangar_limit_touch(&sh->buckets, &b->ln);
    }

    /* as configured now (a reload may have changed it) */
    b->rate = bc->rate;
    b->cap = (uint64_t) bc->burst * NGX_HTTP_HANGAR_TOKEN;

    return b;
}


/* refill for the time since the last refill; the tokens now */

static uint64_t
ngx_http_hangar_bucket_fill(ngx_http_hangar_bucket_t *b, ngx_msec_t now)
{
    uint64_t  elapsed, room;

    if (b->tokens >= b->cap) {
        b->tokens = b->cap;
        b->last = now;
        return b->tokens;
    }

    if (now <= b->last) {
        return b->tokens;
    }

    elapsed = now - b->last;
    room = b->cap - b->tokens;

    if (elapsed >= (room + b->rate - 1) / b->rate) {
        b->tokens = b->cap;

    } else {
        b->tokens += elapsed * b->rate;
    }

    b->last = now;

    return b->tokens;
}


/* housekeeping: up to two buckets idle for a minute and full again */

static void
ngx_http_hangar_bucket_expire(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_limit_sh_t *sh, ngx_msec_t now)
{
    ngx_uint_t                 n;
    ngx_queue_t               *q;
    ngx_http_hangar_bucket_t  *b;

    for (n = 0; n < 2 && !ngx_queue_empty(&sh->buckets.queue); n++) {
        q = ngx_queue_last(&sh->buckets.queue);
        b = ngx_queue_data(q, ngx_http_hangar_bucket_t, ln.queue);

        if (ngx_http_hangar_since(now, b->last) < NGX_HTTP_HANGAR_BUCKET_IDLE
            || ngx_http_hangar_bucket_fill(b, now) < b->cap)
        {
            return;
        }

        ngx_http_hangar_limit_delete(reg, &sh->buckets, &b->ln);
    }
}


ngx_uint_t
ngx_http_hangar_limit_buckets(ngx_http_hangar_registry_t *reg)
{
    ngx_uint_t                   n;
    ngx_http_hangar_limit_sh_t  *sh;

    ngx_http_hangar_lock(reg);

    sh = ngx_http_hangar_limit_sh(reg, 0);
    n = sh ? sh->buckets.count : 0;

    ngx_http_hangar_unlock(reg);

    return n;
}
