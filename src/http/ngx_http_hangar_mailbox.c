
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The front door's mailbox (ngx_http_hangar_mailbox.h): a ring of
 * numbered messages in the zone and the sessions' resource
 * subscriptions.  Under the slab mutex only lookups, copies of bounded
 * size and slab allocations; messages are made and parsed outside it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hangar_mailbox.h"
#include "ngx_http_hangar_session.h"
#include "ngx_http_hangar_mcp_links.h"


typedef struct {
    ngx_atomic_uint_t            seq;       /* 0: empty */
    size_t                       key_len;   /* 0: every session */
    u_char                       key[NGX_HTTP_HANGAR_MAILBOX_KEY];
    ngx_http_hangar_blob_t      *json;
} ngx_http_hangar_slot_t;


/* a session's subscription: key "session\0server\0uri" */
typedef struct {
    ngx_queue_t                  queue;
    size_t                       session_len;
    size_t                       server_len;
    size_t                       uri_len;
    u_char                       data[1];
} ngx_http_hangar_sub_t;


/* the session of the last front-door call to a server */
typedef struct {
    size_t                       server_len;    /* 0: a free slot */
    size_t                       sid_len;       /* 0: a call of no session */
    u_char                       server[NGX_HTTP_HANGAR_ID_MAX];
    u_char                       sid[NGX_HTTP_HANGAR_MAILBOX_KEY];
} ngx_http_hangar_caller_t;


typedef struct {
    ngx_atomic_t                 seq;       /* the newest message */
    size_t                       bytes;     /* in the ring */
    ngx_atomic_uint_t            oldest;    /* the oldest kept */
    ngx_http_hangar_slot_t       ring[NGX_HTTP_HANGAR_MAILBOX_SLOTS];
    ngx_queue_t                  subs;
    ngx_uint_t                   nsubs;
    ngx_http_hangar_caller_t     callers[NGX_HTTP_HANGAR_MAILBOX_CALLERS];
} ngx_http_hangar_mailbox_sh_t;


static ngx_http_hangar_mailbox_sh_t *ngx_http_hangar_mailbox_sh(
    ngx_http_hangar_registry_t *reg);
static void ngx_http_hangar_mailbox_drop(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_mailbox_sh_t *mb);
static ngx_uint_t ngx_http_hangar_mailbox_wants(ngx_http_hangar_slot_t *s,
    ngx_str_t *keys, ngx_uint_t nkeys);
static ngx_uint_t ngx_http_hangar_sub_is(ngx_http_hangar_sub_t *sub,
    ngx_str_t *session, ngx_str_t *server, ngx_str_t *uri);
static ngx_uint_t ngx_http_hangar_sub_expired(ngx_http_hangar_sub_t *sub,
    time_t now);
static void ngx_http_hangar_sub_free(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_mailbox_sh_t *mb, ngx_http_hangar_sub_t *sub);
static void ngx_http_hangar_mailbox_relay(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_str_t *session, ngx_http_hangar_value_t *msg);
static ngx_http_hangar_caller_t *ngx_http_hangar_caller_slot(
    ngx_http_hangar_mailbox_sh_t *mb, ngx_str_t *server);


/* with the slab mutex: the mailbox, made on first use */

static ngx_http_hangar_mailbox_sh_t *
ngx_http_hangar_mailbox_sh(ngx_http_hangar_registry_t *reg)
{
    ngx_http_hangar_mailbox_sh_t  *mb;

    mb = reg->sh->mailbox_sh;

    if (mb) {
        return mb;
    }

    mb = ngx_slab_calloc_locked(reg->shpool,
                                sizeof(ngx_http_hangar_mailbox_sh_t));
    if (mb == NULL) {
        return NULL;
    }

    ngx_queue_init(&mb->subs);
    mb->oldest = 1;
    reg->sh->mailbox_sh = mb;

    return mb;
}


ngx_int_t
ngx_http_hangar_mailbox_post(ngx_http_hangar_registry_t *reg,
    ngx_str_t *session, ngx_str_t *json)
{
    ngx_atomic_uint_t              seq;
    ngx_http_hangar_slot_t        *s;
    ngx_http_hangar_blob_t        *b;
    ngx_http_hangar_mailbox_sh_t  *mb;

    if (json->len == 0 || json->len > NGX_HTTP_HANGAR_MAILBOX_MSG
        || (session && (session->len == 0
                        || session->len > NGX_HTTP_HANGAR_MAILBOX_KEY)))
    {
        return NGX_ERROR;
    }

    ngx_http_hangar_lock(reg);

    mb = ngx_http_hangar_mailbox_sh(reg);
    if (mb == NULL) {
        goto failed;
    }

    seq = mb->seq + 1;
    s = &mb->ring[seq % NGX_HTTP_HANGAR_MAILBOX_SLOTS];

    /* the message whose slot it takes is dropped */
    while (mb->oldest + NGX_HTTP_HANGAR_MAILBOX_SLOTS <= seq) {
        ngx_http_hangar_mailbox_drop(reg, mb);
    }

    while (mb->bytes + json->len > NGX_HTTP_HANGAR_MAILBOX_BYTES
           && mb->oldest <= mb->seq)
    {
        ngx_http_hangar_mailbox_drop(reg, mb);
    }

    for ( ;; ) {
        b = ngx_http_hangar_blob(reg, json->data, json->len);
        if (b || mb->oldest > mb->seq) {
            break;
        }

        /* the zone is tight: older messages make room */
        ngx_http_hangar_mailbox_drop(reg, mb);
    }

    if (b == NULL) {
        goto failed;
    }

    s->json = b;
    s->key_len = session ? session->len : 0;

    if (session) {
        ngx_memcpy(s->key, session->data, session->len);
    }

    mb->bytes += json->len;
    s->seq = seq;
    mb->seq = seq;

    ngx_http_hangar_unlock(reg);

    return NGX_OK;

failed:

    ngx_http_hangar_unlock(reg);

    return NGX_ERROR;
}


/* with the slab mutex: the oldest message goes */

static void
ngx_http_hangar_mailbox_drop(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_mailbox_sh_t *mb)
{
    ngx_http_hangar_slot_t  *s;

    s = &mb->ring[mb->oldest % NGX_HTTP_HANGAR_MAILBOX_SLOTS];

    if (s->seq == mb->oldest && s->json) {
        mb->bytes -= s->json->len;
        ngx_http_hangar_blob_free(reg, s->json);
        s->json = NULL;
        s->seq = 0;
    }

    mb->oldest++;
}


/*
 * Without the lock, on every worker's tick: the mailbox, once made, lives
 * as long as the zone, and its newest number is an atomic.
 */

ngx_atomic_uint_t
ngx_http_hangar_mailbox_last(ngx_http_hangar_registry_t *reg)
{
    ngx_http_hangar_mailbox_sh_t  *mb;

    mb = reg->sh->mailbox_sh;

    return mb ? mb->seq : 0;
}


ngx_int_t
ngx_http_hangar_mailbox_take(ngx_http_hangar_registry_t *reg,
    ngx_atomic_uint_t *cursor, ngx_pool_t *pool, ngx_str_t *keys,
    ngx_uint_t nkeys, ngx_array_t **letters, ngx_uint_t *lost)
{
    u_char                        *p;
    ngx_int_t                      rc;
    ngx_atomic_uint_t              seq, from;
    ngx_http_hangar_slot_t        *s;
    ngx_http_hangar_letter_t      *l;
    ngx_http_hangar_mailbox_sh_t  *mb;

    *lost = 0;
    *letters = ngx_array_create(pool, 8, sizeof(ngx_http_hangar_letter_t));
    if (*letters == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_OK;

    ngx_http_hangar_lock(reg);

    mb = reg->sh->mailbox_sh;

    if (mb == NULL || *cursor >= mb->seq) {
        goto done;
    }

    from = *cursor + 1;

    if (from < mb->oldest) {
        *lost = mb->oldest - from;
        from = mb->oldest;
    }

    for (seq = from; seq <= mb->seq; seq++) {
        s = &mb->ring[seq % NGX_HTTP_HANGAR_MAILBOX_SLOTS];

        if (s->seq != seq || s->json == NULL
            || !ngx_http_hangar_mailbox_wants(s, keys, nkeys))
        {
            continue;
        }

        /* a copy of bounded size (the ring's), out of the zone */
        l = ngx_array_push(*letters);
        p = ngx_pnalloc(pool, s->key_len + s->json->len);

        if (l == NULL || p == NULL) {
            rc = NGX_ERROR;
            break;
        }

        l->session.data = p;
        l->session.len = s->key_len;
        p = ngx_cpymem(p, s->key, s->key_len);
        l->json.data = p;
        l->json.len = s->json->len;
        ngx_memcpy(p, s->json->data, s->json->len);
    }

    *cursor = mb->seq;

done:

    ngx_http_hangar_unlock(reg);

    return rc;
}


static ngx_uint_t
ngx_http_hangar_mailbox_wants(ngx_http_hangar_slot_t *s, ngx_str_t *keys,
    ngx_uint_t nkeys)
{
    ngx_uint_t  i;

    if (s->key_len == 0) {
        return 1;
    }

    for (i = 0; i < nkeys; i++) {
        if (keys[i].len == s->key_len
            && ngx_memcmp(keys[i].data, s->key, s->key_len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* ---- subscriptions ----------------------------------------------------- */

ngx_int_t
ngx_http_hangar_mailbox_subscribe(ngx_http_hangar_registry_t *reg,
    ngx_str_t *session, ngx_str_t *server, ngx_str_t *uri, ngx_uint_t on,
    ngx_uint_t *others)
{
    u_char                        *p;
    time_t                         now;
    ngx_int_t                      rc;
    ngx_queue_t                   *q, *next;
    ngx_http_hangar_sub_t         *sub, *mine;
    ngx_http_hangar_mailbox_sh_t  *mb;

    *others = 0;

    if (session->len > NGX_HTTP_HANGAR_MAILBOX_KEY
        || uri->len > NGX_HTTP_HANGAR_MAILBOX_URI)
    {
        return NGX_DECLINED;
    }

    now = ngx_time();
    mine = NULL;
    rc = NGX_OK;

    ngx_http_hangar_lock(reg);

    mb = ngx_http_hangar_mailbox_sh(reg);
    if (mb == NULL) {
        rc = NGX_DECLINED;
        goto done;
    }

    for (q = ngx_queue_head(&mb->subs);
         q != ngx_queue_sentinel(&mb->subs);
         q = next)
    {
        next = ngx_queue_next(q);
        sub = ngx_queue_data(q, ngx_http_hangar_sub_t, queue);

        /* the sessions that expired leave their subscriptions here */
        if (ngx_http_hangar_sub_expired(sub, now)) {
            ngx_http_hangar_sub_free(reg, mb, sub);
            continue;
        }

        if (!ngx_http_hangar_sub_is(sub, NULL, server, uri)) {
            continue;
        }

        if (ngx_http_hangar_sub_is(sub, session, server, uri)) {
            mine = sub;

        } else {
            (*others)++;
        }
    }

    if (!on) {
        if (mine) {
            ngx_http_hangar_sub_free(reg, mb, mine);
        }

        goto done;
    }

    if (mine) {
        goto done;
    }

    if (mb->nsubs >= NGX_HTTP_HANGAR_MAILBOX_SUBS) {
        rc = NGX_DECLINED;
        goto done;
    }

    sub = ngx_slab_alloc_locked(reg->shpool,
                                offsetof(ngx_http_hangar_sub_t, data)
                                + session->len + server->len + uri->len);
    if (sub == NULL) {
        rc = NGX_DECLINED;
        goto done;
    }

    sub->session_len = session->len;
    sub->server_len = server->len;
    sub->uri_len = uri->len;
    p = ngx_cpymem(sub->data, session->data, session->len);
    p = ngx_cpymem(p, server->data, server->len);
    ngx_memcpy(p, uri->data, uri->len);

    ngx_queue_insert_tail(&mb->subs, &sub->queue);
    mb->nsubs++;

done:

    ngx_http_hangar_unlock(reg);

    return rc;
}


ngx_int_t
ngx_http_hangar_mailbox_subscribers(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_str_t *server, ngx_str_t *uri,
    ngx_array_t **sessions)
{
    ngx_int_t                      rc;
    ngx_str_t                     *s;
    ngx_queue_t                   *q;
    ngx_http_hangar_sub_t         *sub;
    ngx_http_hangar_mailbox_sh_t  *mb;

    *sessions = ngx_array_create(pool, 4, sizeof(ngx_str_t));
    if (*sessions == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_OK;

    ngx_http_hangar_lock(reg);

    mb = reg->sh->mailbox_sh;

    for (q = mb ? ngx_queue_head(&mb->subs) : NULL;
         q && q != ngx_queue_sentinel(&mb->subs);
         q = ngx_queue_next(q))
    {
        sub = ngx_queue_data(q, ngx_http_hangar_sub_t, queue);

        if (!ngx_http_hangar_sub_is(sub, NULL, server, uri)) {
            continue;
        }

        s = ngx_array_push(*sessions);
        if (s == NULL) {
            rc = NGX_ERROR;
            break;
        }

        s->len = sub->session_len;
        s->data = ngx_pnalloc(pool, s->len);
        if (s->data == NULL) {
            rc = NGX_ERROR;
            break;
        }

        ngx_memcpy(s->data, sub->data, s->len);
    }

    ngx_http_hangar_unlock(reg);

    return rc;
}


void
ngx_http_hangar_mailbox_forget(ngx_http_hangar_registry_t *reg,
    ngx_str_t *session)
{
    ngx_queue_t                   *q, *next;
    ngx_http_hangar_sub_t         *sub;
    ngx_http_hangar_mailbox_sh_t  *mb;

    ngx_http_hangar_lock(reg);

    mb = reg->sh->mailbox_sh;

    for (q = mb ? ngx_queue_head(&mb->subs) : NULL;
         q && q != ngx_queue_sentinel(&mb->subs);
         q = next)
    {
        next = ngx_queue_next(q);
        sub = ngx_queue_data(q, ngx_http_hangar_sub_t, queue);

        if (sub->session_len == session->len
            && ngx_memcmp(sub->data, session->data, session->len) == 0)
        {
            ngx_http_hangar_sub_free(reg, mb, sub);
        }
    }

    ngx_http_hangar_unlock(reg);
}


/* session NULL: any session's */

static ngx_uint_t
ngx_http_hangar_sub_is(ngx_http_hangar_sub_t *sub, ngx_str_t *session,
    ngx_str_t *server, ngx_str_t *uri)
{
    u_char  *p;

    p = sub->data;

    if (session
        && (sub->session_len != session->len
            || ngx_memcmp(p, session->data, session->len) != 0))
    {
        return 0;
    }

    p += sub->session_len;

    if (sub->server_len != server->len
        || ngx_memcmp(p, server->data, server->len) != 0)
    {
        return 0;
    }

    p += sub->server_len;

    return sub->uri_len == uri->len && ngx_memcmp(p, uri->data, uri->len) == 0;
}


/* a session id carries its expiry ("hs2-" and 8 hex digits) */

static ngx_uint_t
ngx_http_hangar_sub_expired(ngx_http_hangar_sub_t *sub, time_t now)
{
    ngx_int_t  expires;

    if (sub->session_len != NGX_HTTP_HANGAR_SID_LEN) {
        return 0;
    }

    expires = ngx_hextoi(sub->data + 4, 8);

    return expires != NGX_ERROR && (time_t) expires < now;
}


static void
ngx_http_hangar_sub_free(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_mailbox_sh_t *mb, ngx_http_hangar_sub_t *sub)
{
    ngx_queue_remove(&sub->queue);
    ngx_slab_free_locked(reg->shpool, sub);
    mb->nsubs--;
}


/* ---- the servers' notifications ----------------------------------------- */

/*
 * A server's notification, in the worker that listens to it: a resource
 * update goes to the sessions subscribed to it, the list changes of
 * resources and prompts to every session.
 */

void
ngx_http_hangar_mailbox_notify(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_http_hangar_value_t *msg)
{
    ngx_str_t                *sessions, uri;
    ngx_uint_t                i;
    ngx_pool_t               *pool;
    ngx_array_t              *subs;
    ngx_http_hangar_value_t  *method, *params, *v;

    method = ngx_http_hangar_get(msg, "method");

    if (ngx_http_hangar_get(msg, "id") != NULL
        || !ngx_http_hangar_is(method, NGX_HTTP_HANGAR_STR))
    {
        return;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    if (ngx_http_hangar_str_is(&method->u.s,
                               "notifications/resources/list_changed")
        || ngx_http_hangar_str_is(&method->u.s,
                                  "notifications/prompts/list_changed"))
    {
        ngx_http_hangar_mailbox_relay(reg, pool, NULL, msg);
        goto done;
    }

    if (!ngx_http_hangar_str_is(&method->u.s,
                                "notifications/resources/updated"))
    {
        goto done;
    }

    params = ngx_http_hangar_get(msg, "params");
    v = ngx_http_hangar_get(params, "uri");

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR)) {
        goto done;
    }

    uri = v->u.s;

    if (ngx_http_hangar_mailbox_subscribers(reg, pool, server, &uri, &subs)
        != NGX_OK
        || subs->nelts == 0)
    {
        goto done;
    }

    msg = ngx_http_hangar_value_copy(pool, msg);

    if (msg == NULL
        || ngx_http_hangar_links_project(pool, server,
                                         ngx_http_hangar_get(msg, "params"),
                                         "uri")
           != NGX_OK)
    {
        goto done;
    }

    sessions = subs->elts;

    for (i = 0; i < subs->nelts; i++) {
        ngx_http_hangar_mailbox_relay(reg, pool, &sessions[i], msg);
    }

done:

    ngx_destroy_pool(pool);
}


static void
ngx_http_hangar_mailbox_relay(ngx_http_hangar_registry_t *reg, ngx_pool_t *pool,
    ngx_str_t *session, ngx_http_hangar_value_t *msg)
{
    ngx_str_t  json;

    if (ngx_http_hangar_json_text(pool, msg, &json) != NGX_OK
        || ngx_http_hangar_mailbox_post(reg, session, &json) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "hangar: a notification for the front door's "
                      "sessions was dropped");
    }
}


/* ---- the last caller of each server -------------------------------------- */

static ngx_http_hangar_caller_t *
ngx_http_hangar_caller_slot(ngx_http_hangar_mailbox_sh_t *mb,
    ngx_str_t *server)
{
    return &mb->callers[ngx_crc32_short(server->data, server->len)
                        % NGX_HTTP_HANGAR_MAILBOX_CALLERS];
}


/*
 * On every front-door call: without the lock when the slot already says
 * so (the usual case: the same session calls again), else a bounded copy
 * under it.  Two servers that share a slot take turns in it; the one that
 * lost it answers requests outside calls with an error, never to another
 * server's caller.
 */

void
ngx_http_hangar_mailbox_caller(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_str_t *sid)
{
    ngx_http_hangar_caller_t      *c;
    ngx_http_hangar_mailbox_sh_t  *mb;

    if (server->len == 0 || server->len > NGX_HTTP_HANGAR_ID_MAX
        || sid->len > NGX_HTTP_HANGAR_MAILBOX_KEY)
    {
        return;
    }

    mb = reg->sh->mailbox_sh;

    if (mb) {
        c = ngx_http_hangar_caller_slot(mb, server);

        if (c->server_len == server->len && c->sid_len == sid->len
            && ngx_memcmp(c->server, server->data, server->len) == 0
            && ngx_memcmp(c->sid, sid->data, sid->len) == 0)
        {
            return;
        }
    }

    ngx_http_hangar_lock(reg);

    mb = ngx_http_hangar_mailbox_sh(reg);

    if (mb) {
        c = ngx_http_hangar_caller_slot(mb, server);

        ngx_memcpy(c->server, server->data, server->len);
        c->server_len = server->len;
        ngx_memcpy(c->sid, sid->data, sid->len);
        c->sid_len = sid->len;
    }

    ngx_http_hangar_unlock(reg);
}


ngx_int_t
ngx_http_hangar_mailbox_last_caller(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_str_t *sid)
{
    ngx_int_t                      rc;
    ngx_http_hangar_caller_t      *c;
    ngx_http_hangar_mailbox_sh_t  *mb;

    rc = NGX_DECLINED;
    sid->len = 0;

    ngx_http_hangar_lock(reg);

    mb = reg->sh->mailbox_sh;

    if (mb) {
        c = ngx_http_hangar_caller_slot(mb, server);

        if (c->server_len == server->len && c->sid_len
            && ngx_memcmp(c->server, server->data, server->len) == 0)
        {
            ngx_memcpy(sid->data, c->sid, c->sid_len);
            sid->len = c->sid_len;
            rc = NGX_OK;
        }
    }

    ngx_http_hangar_unlock(reg);

    return rc;
}
