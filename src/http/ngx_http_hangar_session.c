
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Front-door sessions.  An id is "hs3-" <expiry><random><capabilities>
 * "-" <HMAC>, in hex, signed with the key in <hangar_state>/session.key;
 * ids compare in their canonical (lower-case) form, so a client that
 * changes the case of an id still names the same session.  An ended
 * session is kept in a shm tree and in <hangar_state>/mcp-sessions-ended.json
 * until its id expires: it stays ended whatever else ends, and across
 * restarts.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/rand.h>
#include "ngx_http_hangar_session.h"
#include "ngx_http_hangar_state.h"
#include "ngx_http_hangar_state_load.h"


/* expired entries dropped per change, as ngx_http_limit_req_module does */
#define NGX_HTTP_HANGAR_ENDED_EXPIRE  8

/*
 * Ended sessions may take an eighth of the zone, no more: clients that
 * end sessions in a loop must not crowd out the servers.
 */
#define ngx_http_hangar_ended_max(reg)                                       \
    ngx_max(64, (size_t) ((u_char *) (reg)->shpool->end                      \
                          - (u_char *) (reg)->shpool)                        \
                / 8 / sizeof(ngx_http_hangar_ended_t))


typedef struct {
    ngx_str_node_t               sn;        /* str: the id's key, hex */
    ngx_queue_t                  queue;     /* in the order they ended */
    time_t                       expires;
    u_char                       key[NGX_HTTP_HANGAR_SID_KEY];
} ngx_http_hangar_ended_t;


typedef struct {
    ngx_str_node_t               sn;        /* str: "s" key or "a" address */
    ngx_uint_t                   count;
    u_char                       data[1];
} ngx_http_hangar_counter_t;


static ngx_int_t ngx_http_hangar_session_secret(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_session_load(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_log_t *log);
static void ngx_http_hangar_session_trees(ngx_http_hangar_shctx_t *sh);
static ngx_int_t ngx_http_hangar_ended_load(ngx_http_hangar_req_t *hr);
static void ngx_http_hangar_ended_add(ngx_http_hangar_registry_t *reg,
    u_char *key, time_t expires, ngx_http_hangar_ended_t *e);
static void ngx_http_hangar_ended_expire(ngx_http_hangar_registry_t *reg,
    time_t now);
static ngx_int_t ngx_http_hangar_ended_save(ngx_http_hangar_req_t *hr,
    ngx_str_t *errmsg);
static ngx_str_node_t *ngx_http_hangar_counter(
    ngx_http_hangar_registry_t *reg, u_char *data, size_t len,
    ngx_uint_t limit, ngx_uint_t *full);
static void ngx_http_hangar_counter_release(ngx_http_hangar_registry_t *reg,
    ngx_str_node_t *sn);


static u_char      ngx_http_hangar_session_key[NGX_HTTP_HANGAR_SID_SECRET];
static ngx_uint_t  ngx_http_hangar_session_have_key;


/* the key the master made; read once per worker */

static ngx_int_t
ngx_http_hangar_session_secret(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_session_load(hr->reg, hr->r->pool,
                                        hr->r->connection->log);
}


static ngx_int_t
ngx_http_hangar_session_load(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_log_t *log)
{
    ssize_t     n;
    ngx_fd_t    fd;
    ngx_str_t   path;

    if (ngx_http_hangar_session_have_key) {
        return NGX_OK;
    }

    path.len = reg->hmcf->state_dir.len + sizeof("/session.key") - 1;
    path.data = ngx_pnalloc(pool, path.len + 1);
    if (path.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(path.data, "%V/session.key%Z", &reg->hmcf->state_dir);

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "hangar: cannot read the session key \"%V\"", &path);
        return NGX_ERROR;
    }

    n = ngx_read_fd(fd, ngx_http_hangar_session_key,
                    sizeof(ngx_http_hangar_session_key));
    (void) ngx_close_file(fd);

    if (n != (ssize_t) sizeof(ngx_http_hangar_session_key)) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "hangar: the session key \"%V\" is short", &path);
        return NGX_ERROR;
    }

    ngx_http_hangar_session_have_key = 1;

    return NGX_OK;
}


/* a new id, valid for ttl seconds */

ngx_int_t
ngx_http_hangar_session_new(ngx_http_hangar_req_t *hr, time_t ttl,
    ngx_uint_t caps, ngx_str_t *id)
{
    u_char    raw[NGX_HTTP_HANGAR_SID_RAW];
    uint32_t  expires;

    if (ngx_http_hangar_session_secret(hr) != NGX_OK) {
        return NGX_ERROR;
    }

    id->data = ngx_pnalloc(hr->r->pool, NGX_HTTP_HANGAR_SID_LEN);
    if (id->data == NULL || RAND_bytes(raw + 4, 8) != 1) {
        return NGX_ERROR;
    }

    /* 32 bits of epoch seconds: a huge ttl is cut, never wrapped */
    expires = (uint32_t) ngx_min((uint64_t) ngx_time() + (uint64_t) ttl,
                                 0xffffffff);

    raw[0] = (u_char) (expires >> 24);
    raw[1] = (u_char) (expires >> 16);
    raw[2] = (u_char) (expires >> 8);
    raw[3] = (u_char) expires;
    raw[12] = (u_char) caps;

    if (ngx_http_hangar_wire_sid_encode(ngx_http_hangar_session_key, raw,
                                        id->data)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    id->len = NGX_HTTP_HANGAR_SID_LEN;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, hr->r->connection->log, 0,
                   "hangar session %V until %T", id, (time_t) expires);

    return NGX_OK;
}


/*
 * NGX_OK: a well-formed id of this key, not expired and not ended, with
 * sid set; NGX_DECLINED: none of that; NGX_ERROR: the check itself failed.
 */

ngx_int_t
ngx_http_hangar_session_check(ngx_http_hangar_req_t *hr, ngx_str_t *text,
    ngx_http_hangar_sid_t *sid)
{
    u_char                     raw[NGX_HTTP_HANGAR_SID_RAW];
    u_char                     mac[NGX_HTTP_HANGAR_SID_MAC];
    uint32_t                   hash;
    ngx_int_t                  rc;
    ngx_str_t                  key;
    ngx_uint_t                 ended;
    ngx_http_hangar_shctx_t   *sh;

    if (ngx_http_hangar_wire_sid_decode(text, raw, mac) != NGX_OK) {
        return NGX_DECLINED;
    }

    if (ngx_http_hangar_session_secret(hr) != NGX_OK) {
        return NGX_ERROR;
    }

    /* signed with our key; compared in the canonical form */
    rc = ngx_http_hangar_wire_sid_verify(ngx_http_hangar_session_key, raw, mac,
                                         sid->data);
    if (rc != NGX_OK) {
        return rc;
    }

    sid->text.data = sid->data;
    sid->text.len = NGX_HTTP_HANGAR_SID_LEN;
    sid->expires = ((time_t) raw[0] << 24) | (raw[1] << 16) | (raw[2] << 8)
                   | raw[3];
    sid->caps = raw[12];

    if (sid->expires <= ngx_time()) {
        return NGX_DECLINED;
    }

    if (ngx_http_hangar_ended_load(hr) != NGX_OK) {
        return NGX_ERROR;
    }

    sh = hr->reg->sh;

    if (sh->ended_count == 0) {
        return NGX_OK;
    }

    key.data = sid->data + 4;
    key.len = NGX_HTTP_HANGAR_SID_KEY;
    hash = ngx_crc32_short(key.data, key.len);

    ngx_http_hangar_lock(hr->reg);
    ended = ngx_str_rbtree_lookup(&sh->ended_tree, &key, hash) != NULL;
    ngx_http_hangar_unlock(hr->reg);

    return ended ? NGX_DECLINED : NGX_OK;
}


/*
 * The session a front-door request names.  NGX_OK: a valid session, sid
 * set; else why not, for ngx_http_hangar_session_refuse(): 400 (no session
 * id), 403 (suspended), 404 (unknown or ended), or 500.
 */

ngx_int_t
ngx_http_hangar_session_find(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_sid_t *id)
{
    ngx_int_t    rc;
    ngx_str_t   *sid;
    ngx_uint_t   suspended;

    sid = ngx_http_hangar_header(hr->r, "Mcp-Session-Id");

    if (sid == NULL) {
        return NGX_HTTP_BAD_REQUEST;
    }

    /* signed, not expired, not ended; compared in canonical form */
    rc = ngx_http_hangar_session_check(hr, sid, id);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc != NGX_OK) {
        goto unknown;
    }

    /* POST /api/sessions/{id}/suspend: kept in canonical (lower) case */
    suspended = ngx_http_hangar_state_suspended(hr->reg, &id->text);

    if (suspended) {
        return NGX_HTTP_FORBIDDEN;
    }

    return NGX_OK;

unknown:

    return NGX_HTTP_NOT_FOUND;
}


/* the answer to a request without a valid session */

ngx_int_t
ngx_http_hangar_session_refuse(ngx_http_hangar_req_t *hr, ngx_int_t rc)
{
    ngx_str_t  msg;

    switch (rc) {

    case NGX_HTTP_BAD_REQUEST:
        ngx_str_set(&msg, "Bad Request: Mcp-Session-Id header is required");
        return ngx_http_hangar_mcp_error(hr, rc, NULL, -32000, &msg);

    case NGX_HTTP_FORBIDDEN:
        ngx_str_set(&msg, "Session suspended");
        return ngx_http_hangar_mcp_error(hr, rc, NULL, -32002, &msg);

    case NGX_HTTP_NOT_FOUND:
        ngx_str_set(&msg, "Session not found");
        return ngx_http_hangar_mcp_error(hr, rc, NULL, -32001, &msg);

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


/* the capabilities a client declares at initialize, as session id bits */

ngx_uint_t
ngx_http_hangar_session_caps(ngx_http_hangar_value_t *caps)
{
    ngx_uint_t                m;
    ngx_http_hangar_value_t  *e, *v;

    m = 0;

    v = ngx_http_hangar_get(caps, "sampling");
    if (v && v->type != NGX_HTTP_HANGAR_NULL) {
        m |= NGX_HTTP_HANGAR_CAP_SAMPLING;
    }

    v = ngx_http_hangar_get(caps, "roots");
    if (v && v->type != NGX_HTTP_HANGAR_NULL) {
        m |= NGX_HTTP_HANGAR_CAP_ROOTS;
    }

    e = ngx_http_hangar_get(caps, "elicitation");

    if (ngx_http_hangar_is(e, NGX_HTTP_HANGAR_OBJ)) {
        v = ngx_http_hangar_get(e, "url");
        if (v && v->type != NGX_HTTP_HANGAR_NULL) {
            m |= NGX_HTTP_HANGAR_CAP_URL;
        }

        /* an empty object is form mode, as before modes existed */
        if (ngx_http_hangar_get(e, "form") || v == NULL) {
            m |= NGX_HTTP_HANGAR_CAP_FORM;
        }
    }

    return m;
}


/*
 * The key that signs session ids and the ids that hangar gives a session
 * (server requests relayed to it, checked when they come back on any
 * worker); NULL when it cannot be read.
 */

u_char *
ngx_http_hangar_session_key_get(ngx_http_hangar_req_t *hr)
{
    if (ngx_http_hangar_session_secret(hr) != NGX_OK) {
        return NULL;
    }

    return ngx_http_hangar_session_key;
}


/* the same outside a request (a server's request outside calls) */

u_char *
ngx_http_hangar_session_key_in(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_log_t *log)
{
    if (ngx_http_hangar_session_load(reg, pool, log) != NGX_OK) {
        return NULL;
    }

    return ngx_http_hangar_session_key;
}


/* with the slab mutex held: the trees exist from the first use */

static void
ngx_http_hangar_session_trees(ngx_http_hangar_shctx_t *sh)
{
    if (sh->sessions_init) {
        return;
    }

    ngx_rbtree_init(&sh->ended_tree, &sh->ended_sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&sh->ended_queue);
    ngx_rbtree_init(&sh->streams_tree, &sh->streams_sentinel,
                    ngx_str_rbtree_insert_value);

    sh->sessions_init = 1;
}


/*
 * The ended sessions of the last nginx, once per zone: read under the
 * state lock, so that no save runs meanwhile.  A damaged file is logged
 * and ignored.
 */

static ngx_int_t
ngx_http_hangar_ended_load(ngx_http_hangar_req_t *hr)
{
    u_char                      *k, raw[4 + 8];
    time_t                       now, expires;
    ngx_int_t                    rc;
    ngx_uint_t                   i, n, full;
    ngx_array_t                  keys;
    ngx_http_hangar_value_t     *doc, **items;
    ngx_http_hangar_ended_t     *e;
    ngx_http_hangar_registry_t  *reg;

    reg = hr->reg;

    if (reg->sh->ended_loaded) {
        return NGX_OK;
    }

    if (ngx_http_hangar_state_lock(reg, hr->r->connection->log) != NGX_OK) {
        return NGX_ERROR;
    }

    doc = NULL;
    rc = NGX_DECLINED;

    if (!reg->sh->ended_loaded) {
        rc = ngx_http_hangar_file_read(hr->r->pool, &reg->hmcf->state_dir,
                                       NGX_HTTP_HANGAR_ENDED_FILE,
                                       hr->r->connection->log, &doc);
    }

    n = (rc == NGX_OK && ngx_http_hangar_is(doc, NGX_HTTP_HANGAR_ARR))
        ? doc->u.arr.nelts : 0;

    if (ngx_array_init(&keys, hr->r->pool, n + 1, NGX_HTTP_HANGAR_SID_KEY)
        != NGX_OK)
    {
        ngx_http_hangar_state_unlock(reg);
        return NGX_ERROR;
    }

    now = ngx_time();
    items = n ? doc->u.arr.elts : NULL;

    for (i = 0; i < n; i++) {
        if (!ngx_http_hangar_is(items[i], NGX_HTTP_HANGAR_STR)
            || items[i]->u.s.len != NGX_HTTP_HANGAR_SID_KEY
            || ngx_http_hangar_wire_hex(raw, items[i]->u.s.data,
                                        NGX_HTTP_HANGAR_SID_KEY)
               != NGX_OK)
        {
            continue;
        }

        expires = ((time_t) raw[0] << 24) | (raw[1] << 16) | (raw[2] << 8)
                  | raw[3];

        if (expires <= now) {
            continue;
        }

        k = ngx_array_push(&keys);
        if (k == NULL) {
            ngx_http_hangar_state_unlock(reg);
            return NGX_ERROR;
        }

        ngx_memcpy(k, items[i]->u.s.data, NGX_HTTP_HANGAR_SID_KEY);
        ngx_strlow(k, k, NGX_HTTP_HANGAR_SID_KEY);
    }

    full = 0;
    k = keys.elts;

    ngx_http_hangar_lock(reg);

    ngx_http_hangar_session_trees(reg->sh);

    for (i = 0; !reg->sh->ended_loaded && i < keys.nelts; i++) {
        if (reg->sh->ended_count >= ngx_http_hangar_ended_max(reg)) {
            full = 1;
            break;
        }

        e = ngx_slab_alloc_locked(reg->shpool,
                                  sizeof(ngx_http_hangar_ended_t));
        if (e == NULL) {
            full = 1;
            break;
        }

        (void) ngx_http_hangar_wire_hex(raw, k + i * NGX_HTTP_HANGAR_SID_KEY,
                                        8);
        expires = ((time_t) raw[0] << 24) | (raw[1] << 16) | (raw[2] << 8)
                  | raw[3];

        ngx_http_hangar_ended_add(reg, k + i * NGX_HTTP_HANGAR_SID_KEY,
                                  expires, e);
    }

    reg->sh->ended_loaded = 1;

    ngx_http_hangar_unlock(reg);

    ngx_http_hangar_state_unlock(reg);

    if (full) {
        ngx_log_error(NGX_LOG_WARN, hr->r->connection->log, 0,
                      "hangar: not every ended front-door session of "
                      "\"%s\" fits in zone \"%V\"",
                      NGX_HTTP_HANGAR_ENDED_FILE, &reg->name);
    }

    return NGX_OK;
}


/* with the slab mutex held */

static void
ngx_http_hangar_ended_add(ngx_http_hangar_registry_t *reg, u_char *key,
    time_t expires, ngx_http_hangar_ended_t *e)
{
    ngx_memcpy(e->key, key, NGX_HTTP_HANGAR_SID_KEY);
    e->expires = expires;
    e->sn.str.data = e->key;
    e->sn.str.len = NGX_HTTP_HANGAR_SID_KEY;
    e->sn.node.key = ngx_crc32_short(e->key, NGX_HTTP_HANGAR_SID_KEY);

    ngx_rbtree_insert(&reg->sh->ended_tree, &e->sn.node);
    ngx_queue_insert_tail(&reg->sh->ended_queue, &e->queue);
    reg->sh->ended_count++;
}


/* with the slab mutex held: a few expired ones go, oldest ended first */

static void
ngx_http_hangar_ended_expire(ngx_http_hangar_registry_t *reg, time_t now)
{
    ngx_uint_t                n;
    ngx_queue_t              *q, *next;
    ngx_http_hangar_ended_t  *e;

    n = 0;

    for (q = ngx_queue_head(&reg->sh->ended_queue);
         q != ngx_queue_sentinel(&reg->sh->ended_queue)
         && n < NGX_HTTP_HANGAR_ENDED_EXPIRE;
         q = next)
    {
        next = ngx_queue_next(q);
        e = ngx_queue_data(q, ngx_http_hangar_ended_t, queue);

        if (e->expires > now) {
            continue;
        }

        ngx_queue_remove(q);
        ngx_rbtree_delete(&reg->sh->ended_tree, &e->sn.node);
        ngx_slab_free_locked(reg->shpool, e);
        reg->sh->ended_count--;
        n++;
    }
}


/*
 * The session ends for good: NGX_OK, NGX_DECLINED when no more ended
 * sessions fit in the zone, NGX_ERROR when it could not be made durable
 * (then nothing changed).
 */

ngx_int_t
ngx_http_hangar_session_end(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_sid_t *sid, ngx_str_t *errmsg)
{
    time_t                       now;
    uint32_t                     hash;
    ngx_int_t                    rc;
    ngx_str_t                    key;
    ngx_http_hangar_ended_t     *e;
    ngx_http_hangar_registry_t  *reg;

    reg = hr->reg;
    now = ngx_time();

    key.data = sid->data + 4;
    key.len = NGX_HTTP_HANGAR_SID_KEY;
    hash = ngx_crc32_short(key.data, key.len);

    if (ngx_http_hangar_ended_load(hr) != NGX_OK
        || ngx_http_hangar_state_lock(reg, hr->r->connection->log) != NGX_OK)
    {
        ngx_str_set(errmsg, "the state lock is not available");
        return NGX_ERROR;
    }

    ngx_http_hangar_lock(reg);

    ngx_http_hangar_session_trees(reg->sh);
    ngx_http_hangar_ended_expire(reg, now);

    if (ngx_str_rbtree_lookup(&reg->sh->ended_tree, &key, hash) != NULL) {
        /* another request ended it meanwhile */
        ngx_http_hangar_unlock(reg);
        ngx_http_hangar_state_unlock(reg);
        return NGX_OK;
    }

    e = NULL;

    if (reg->sh->ended_count < ngx_http_hangar_ended_max(reg)) {
        e = ngx_slab_alloc_locked(reg->shpool,
                                  sizeof(ngx_http_hangar_ended_t));
    }

    if (e == NULL) {
        ngx_http_hangar_unlock(reg);
        ngx_http_hangar_state_unlock(reg);

        ngx_log_error(NGX_LOG_WARN, hr->r->connection->log, 0,
                      "hangar: too many ended front-door sessions are "
                      "remembered in zone \"%V\"; this one stays valid "
                      "until it expires", &reg->name);
        return NGX_DECLINED;
    }

    ngx_http_hangar_ended_add(reg, key.data, sid->expires, e);

    ngx_http_hangar_unlock(reg);

    rc = ngx_http_hangar_ended_save(hr, errmsg);

    if (rc != NGX_OK) {
        ngx_http_hangar_lock(reg);
        ngx_queue_remove(&e->queue);
        ngx_rbtree_delete(&reg->sh->ended_tree, &e->sn.node);
        ngx_slab_free_locked(reg->shpool, e);
        reg->sh->ended_count--;
        ngx_http_hangar_unlock(reg);
    }

    ngx_http_hangar_state_unlock(reg);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, hr->r->connection->log, 0,
                   "hangar session %V ended: %i", &sid->text, rc);

    return rc;
}


/*
 * With the state lock held: the ended sessions that have not expired, as
 * a JSON array of their keys, written whole to the state directory.  The
 * one place that makes them durable.
 */

static ngx_int_t
ngx_http_hangar_ended_save(ngx_http_hangar_req_t *hr, ngx_str_t *errmsg)
{
    u_char                      *p;
    time_t                       now;
    ngx_str_t                    text;
    ngx_uint_t                   n;
    ngx_queue_t                 *q;
    ngx_http_hangar_ended_t     *e;
    ngx_http_hangar_registry_t  *reg;

    reg = hr->reg;
    now = ngx_time();

    /* the set changes only under the state lock, which the caller holds */
    n = reg->sh->ended_count;

    text.data = ngx_pnalloc(hr->r->pool,
                            2 + n * (NGX_HTTP_HANGAR_SID_KEY + 3));
    if (text.data == NULL) {
        return NGX_ERROR;
    }

    p = text.data;
    *p++ = '[';

    ngx_http_hangar_lock(reg);

    for (q = ngx_queue_head(&reg->sh->ended_queue);
         q != ngx_queue_sentinel(&reg->sh->ended_queue) && n;
         q = ngx_queue_next(q), n--)
    {
        e = ngx_queue_data(q, ngx_http_hangar_ended_t, queue);

        if (e->expires <= now) {
            continue;
        }

        if (p != text.data + 1) {
            *p++ = ',';
        }

        *p++ = '"';
        p = ngx_cpymem(p, e->key, NGX_HTTP_HANGAR_SID_KEY);
        *p++ = '"';
    }

    ngx_http_hangar_unlock(reg);

    *p++ = ']';
    text.len = p - text.data;

    return ngx_http_hangar_file_write(hr->r->pool, &reg->hmcf->state_dir,
                                      NGX_HTTP_HANGAR_ENDED_FILE, &text,
                                      hr->r->connection->log, errmsg);
}


/*
 * A GET stream takes one of its session's and one of its client
 * address's: NGX_OK, NGX_BUSY when a limit is reached (which names it),
 * NGX_ERROR when the zone is full.
 */

ngx_int_t
ngx_http_hangar_streams_enter(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_sid_t *sid, ngx_uint_t per_session, ngx_uint_t per_client,
    ngx_http_hangar_streams_t *st, const char **which)
{
    u_char                      *p, *skey, *ckey;
    size_t                       clen;
    ngx_str_t                   *addr;
    ngx_uint_t                   full;
    ngx_http_hangar_registry_t  *reg;

    reg = hr->reg;
    addr = &hr->r->connection->addr_text;

    skey = ngx_pnalloc(hr->r->pool, 1 + NGX_HTTP_HANGAR_SID_KEY);
    ckey = ngx_pnalloc(hr->r->pool, 1 + addr->len);
    if (skey == NULL || ckey == NULL) {
        return NGX_ERROR;
    }

    p = skey;
    *p++ = 's';
    ngx_memcpy(p, sid->data + 4, NGX_HTTP_HANGAR_SID_KEY);

    p = ckey;
    *p++ = 'a';
    ngx_memcpy(p, addr->data, addr->len);
    clen = 1 + addr->len;

    st->reg = reg;
    st->session = NULL;
    st->client = NULL;

    ngx_http_hangar_lock(reg);

    ngx_http_hangar_session_trees(reg->sh);

    st->session = ngx_http_hangar_counter(reg, skey,
                                          1 + NGX_HTTP_HANGAR_SID_KEY,
                                          per_session, &full);
    if (st->session == NULL) {
        *which = "session";
        goto failed;
    }

    st->client = ngx_http_hangar_counter(reg, ckey, clen, per_client, &full);
    if (st->client == NULL) {
        *which = "client address";
        ngx_http_hangar_counter_release(reg, st->session);
        st->session = NULL;
        goto failed;
    }

    ngx_http_hangar_unlock(reg);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, hr->r->connection->log, 0,
                   "hangar session %V: GET stream taken", &sid->text);

    return NGX_OK;

failed:

    ngx_http_hangar_unlock(reg);

    if (full) {
        ngx_http_hangar_zone_full(reg, hr->r->connection->log);
        return NGX_ERROR;
    }

    return NGX_BUSY;
}


/*
 * With the slab mutex held: the counter named by data, one more taken
 * unless it is at limit.  NULL with *full set when the zone is full.
 */

static ngx_str_node_t *
ngx_http_hangar_counter(ngx_http_hangar_registry_t *reg, u_char *data,
    size_t len, ngx_uint_t limit, ngx_uint_t *full)
{
    uint32_t                    hash;
    ngx_str_t                   name;
    ngx_str_node_t             *sn;
    ngx_http_hangar_counter_t  *c;

    *full = 0;
    name.data = data;
    name.len = len;
    hash = ngx_crc32_short(data, len);

    sn = ngx_str_rbtree_lookup(&reg->sh->streams_tree, &name, hash);

    if (sn) {
        c = (ngx_http_hangar_counter_t *) sn;

        if (c->count >= limit) {
            return NULL;
        }

        c->count++;
        return sn;
    }

    if (limit == 0) {
        return NULL;
    }

    c = ngx_slab_alloc_locked(reg->shpool,
                              offsetof(ngx_http_hangar_counter_t, data) + len);
    if (c == NULL) {
        *full = 1;
        return NULL;
    }

    ngx_memcpy(c->data, data, len);
    c->sn.str.data = c->data;
    c->sn.str.len = len;
    c->sn.node.key = hash;
    c->count = 1;

    ngx_rbtree_insert(&reg->sh->streams_tree, &c->sn.node);

    return &c->sn;
}


/* with the slab mutex held */

static void
ngx_http_hangar_counter_release(ngx_http_hangar_registry_t *reg,
    ngx_str_node_t *sn)
{
    ngx_http_hangar_counter_t  *c;

    c = (ngx_http_hangar_counter_t *) sn;

    if (--c->count == 0) {
        ngx_rbtree_delete(&reg->sh->streams_tree, &c->sn.node);
        ngx_slab_free_locked(reg->shpool, c);
    }
}


/* how many GET streams a session (its canonical id) holds, in all workers */

ngx_uint_t
ngx_http_hangar_streams_held(ngx_http_hangar_registry_t *reg, ngx_str_t *sid)
{
    u_char           key[1 + NGX_HTTP_HANGAR_SID_KEY];
    uint32_t         hash;
    ngx_str_t        name;
    ngx_uint_t       n;
    ngx_str_node_t  *sn;

    if (sid->len != NGX_HTTP_HANGAR_SID_LEN) {
        return 0;
    }

    key[0] = 's';
    ngx_memcpy(key + 1, sid->data + 4, NGX_HTTP_HANGAR_SID_KEY);
    name.data = key;
    name.len = sizeof(key);
    hash = ngx_crc32_short(key, sizeof(key));

    ngx_http_hangar_lock(reg);

    ngx_http_hangar_session_trees(reg->sh);

    sn = ngx_str_rbtree_lookup(&reg->sh->streams_tree, &name, hash);
    n = sn ? ((ngx_http_hangar_counter_t *) sn)->count : 0;

    ngx_http_hangar_unlock(reg);

    return n;
}


void
ngx_http_hangar_streams_leave(ngx_http_hangar_streams_t *st)
{
    if (st->reg == NULL || (st->session == NULL && st->client == NULL)) {
        return;
    }

    ngx_http_hangar_lock(st->reg);

    if (st->session) {
        ngx_http_hangar_counter_release(st->reg, st->session);
        st->session = NULL;
    }

    if (st->client) {
        ngx_http_hangar_counter_release(st->reg, st->client);
        st->client = NULL;
    }

    ngx_http_hangar_unlock(st->reg);
}
