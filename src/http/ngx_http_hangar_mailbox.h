
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The front door's mailbox: messages for the GET stream of a session (or
 * of every session) whichever worker holds it, in a bounded ring in the
 * zone, numbered; each worker's tick takes what is new for its own
 * streams.  Also the sessions' resource subscriptions, bounded, so that
 * notifications/resources/updated reaches the sessions that asked.
 */


#ifndef _NGX_HTTP_HANGAR_MAILBOX_H_INCLUDED_
#define _NGX_HTTP_HANGAR_MAILBOX_H_INCLUDED_


#include "ngx_http_hangar.h"
#include "ngx_http_hangar_registry.h"


#define NGX_HTTP_HANGAR_MAILBOX_SLOTS   256
#define NGX_HTTP_HANGAR_MAILBOX_KEY     64      /* a session id's text */
#define NGX_HTTP_HANGAR_MAILBOX_MSG     (1024 * 1024)       /* one message */
#define NGX_HTTP_HANGAR_MAILBOX_BYTES   (4 * 1024 * 1024)   /* all of them */
#define NGX_HTTP_HANGAR_MAILBOX_SUBS    1024    /* subscriptions, in all */
#define NGX_HTTP_HANGAR_MAILBOX_URI     2048    /* a subscribed uri */
#define NGX_HTTP_HANGAR_MAILBOX_CALLERS 256     /* servers' last callers */


/* a message taken out of the ring, for a worker's streams */
typedef struct {
    ngx_str_t                    session;   /* empty: every session */
    ngx_str_t                    json;
} ngx_http_hangar_letter_t;


/*
 * Queue one JSON-RPC message for the GET stream of a session (key = the
 * session id text), or of every session when key is NULL; NGX_OK or
 * NGX_ERROR (full ring: the oldest is dropped, never blocking; NGX_ERROR:
 * too large, or no room at all in the zone).
 */
ngx_int_t ngx_http_hangar_mailbox_post(ngx_http_hangar_registry_t *reg,
    ngx_str_t *session, ngx_str_t *json);

/*
 * The messages after *cursor for the sessions in keys (or for every
 * session), copied into pool (an array of ngx_http_hangar_letter_t);
 * *cursor (the last one taken; start it at ngx_http_hangar_mailbox_last())
 * moves on.  *lost counts the messages the ring dropped before this
 * worker took them.
 */
ngx_int_t ngx_http_hangar_mailbox_take(ngx_http_hangar_registry_t *reg,
    ngx_atomic_uint_t *cursor, ngx_pool_t *pool, ngx_str_t *keys,
    ngx_uint_t nkeys, ngx_array_t **letters, ngx_uint_t *lost);

/* the newest message's number (no lock) */
ngx_atomic_uint_t ngx_http_hangar_mailbox_last(
    ngx_http_hangar_registry_t *reg);

/*
 * A session's subscription to a server's uri, added (on) or removed;
 * *others: how many other sessions hold the same one afterwards.
 * NGX_DECLINED: the table is full.
 */
ngx_int_t ngx_http_hangar_mailbox_subscribe(ngx_http_hangar_registry_t *reg,
    ngx_str_t *session, ngx_str_t *server, ngx_str_t *uri, ngx_uint_t on,
    ngx_uint_t *others);

/* the sessions subscribed to a server's uri (an array of ngx_str_t) */
ngx_int_t ngx_http_hangar_mailbox_subscribers(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_str_t *server, ngx_str_t *uri,
    ngx_array_t **sessions);

/* a session ended: its subscriptions go */
void ngx_http_hangar_mailbox_forget(ngx_http_hangar_registry_t *reg,
    ngx_str_t *session);

/*
 * A server's notification (the lifecycle's listener hands it over, in
 * the worker that listens): resources/updated to the sessions subscribed,
 * resources and prompts list_changed to every session.
 */
void ngx_http_hangar_mailbox_notify(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_http_hangar_value_t *msg);


/*
 * The session (its canonical id; empty: none) of the last front-door call
 * to a server, for the requests it sends outside calls; bounded (a fixed
 * table, servers that share a slot take turns).
 */
void ngx_http_hangar_mailbox_caller(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_str_t *sid);

/* NGX_OK with it copied to sid->data (MAILBOX_KEY bytes), or NGX_DECLINED */
ngx_int_t ngx_http_hangar_mailbox_last_caller(ngx_http_hangar_registry_t *reg,
    ngx_str_t *server, ngx_str_t *sid);


#endif /* _NGX_HTTP_HANGAR_MAILBOX_H_INCLUDED_ */
