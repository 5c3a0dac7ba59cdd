
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * A discovery cycle's data (ngx_http_hangar_discovery_view.c): what the
 * cycle reads, decides and changes, the sets of the view it builds (with
 * name indexes, so a cycle over n servers costs O(n), not O(n^2)), and
 * the one place where a discovered server's entry is built.
 */


#ifndef _NGX_HTTP_HANGAR_DISCOVERY_VIEW_H_INCLUDED_
#define _NGX_HTTP_HANGAR_DISCOVERY_VIEW_H_INCLUDED_


#include "ngx_http_hangar_discovery_state.h"
#include "ngx_http_hangar_client.h"


#define NGX_HTTP_HANGAR_DISC_CREATE     0
#define NGX_HTTP_HANGAR_DISC_REPLACE    1
#define NGX_HTTP_HANGAR_DISC_DELETE     2


/* names to values, in a cycle's pool (open addressing) */
typedef struct {
    ngx_str_t                    key;
    void                        *value;
} ngx_http_hangar_disc_slot_t;

typedef struct {
    ngx_http_hangar_disc_slot_t *slots;
    ngx_uint_t                   size;      /* a power of two */
    ngx_uint_t                   used;
    ngx_pool_t                  *pool;
} ngx_http_hangar_disc_index_t;


/* a set of the view (an object) and its index */
typedef struct {
    ngx_http_hangar_value_t     *obj;
    ngx_http_hangar_disc_index_t index;
} ngx_http_hangar_disc_set_t;


/* a change a cycle makes */
typedef struct {
    ngx_uint_t                   kind;
    ngx_uint_t                   type;      /* the source's, of a delete */
    ngx_str_t                    name;
    ngx_http_hangar_disc_item_t *item;
    ngx_http_hangar_value_t     *spec;
    ngx_http_hangar_value_t     *entry;     /* its discovered object */
    unsigned                     checked:1; /* its health check passed */
    unsigned                     failed:1;  /* ... failed: quarantined */
    unsigned                     single:1;  /* not for a batch */
    unsigned                     done:1;
} ngx_http_hangar_disc_act_t;


typedef struct ngx_http_hangar_disc_cycle_s  ngx_http_hangar_disc_cycle_t;

typedef void (*ngx_http_hangar_disc_finish_pt)(
    ngx_http_hangar_disc_cycle_t *cy);

struct ngx_http_hangar_disc_cycle_s {
    ngx_pool_t                  *pool;
    ngx_log_t                   *log;
    ngx_http_hangar_registry_t  *reg;
    ngx_http_hangar_value_t     *conf;      /* hangar.yaml "discovery:" */
    ngx_http_hangar_value_t     *doc;
    ngx_http_hangar_value_t     *prev;      /* the view it starts from */
    ngx_array_t                 *sources;
    /* the last view's sets, by name */
    ngx_http_hangar_disc_index_t prev_tracked;
    ngx_http_hangar_disc_index_t prev_pending;
    ngx_http_hangar_disc_index_t prev_quarantined;
    /* the new view */
    ngx_http_hangar_value_t     *status;    /* per source */
    ngx_http_hangar_disc_set_t   tracked;
    ngx_http_hangar_disc_set_t   pending;
    ngx_http_hangar_disc_set_t   quarantined;
    ngx_uint_t                   per_type[4];   /* tracked, by source */
    uint32_t                     edge;      /* the edge rules' stamp */
    ngx_http_hangar_value_t     *attempts;  /* per source type: [ms] */
    ngx_http_hangar_value_t     *fresh[4];  /* the attempts, pruned */
    ngx_array_t                 *items;     /* found by the sources */
    ngx_uint_t                   src_next;
    ngx_uint_t                   src_before;
    ngx_uint_t                   failed;    /* types whose scan failed */
    ngx_event_t                  scan;      /* the next source */
    ngx_array_t                  acts;
    ngx_http_hangar_disc_index_t act_names;
    ngx_uint_t                   next;
    ngx_uint_t                   checking;  /* health checks done */
    ngx_uint_t                   writes;    /* state file writes */
    ngx_http_hangar_call_t      *check;
    ngx_event_t                  resume;
    ngx_msec_t                   now;       /* epoch ms */
    ngx_uint_t                   found;
    ngx_uint_t                   registered;
    ngx_uint_t                   updated;
    ngx_uint_t                   removed;
    ngx_uint_t                   exiting;
    ngx_http_hangar_disc_finish_pt  finish; /* the changes are made */
};


ngx_int_t ngx_http_hangar_disc_index_init(ngx_http_hangar_disc_index_t *idx,
    ngx_pool_t *pool, ngx_uint_t hint);
void *ngx_http_hangar_disc_index_get(ngx_http_hangar_disc_index_t *idx,
    u_char *key, size_t len);
ngx_int_t ngx_http_hangar_disc_index_put(ngx_http_hangar_disc_index_t *idx,
    u_char *key, size_t len, void *value);
/* an object's members into an index */
ngx_int_t ngx_http_hangar_disc_index_obj(ngx_http_hangar_disc_index_t *idx,
    ngx_pool_t *pool, ngx_http_hangar_value_t *obj);

ngx_int_t ngx_http_hangar_disc_set_init(ngx_http_hangar_disc_set_t *set,
    ngx_pool_t *pool);
ngx_int_t ngx_http_hangar_disc_set_put(ngx_http_hangar_disc_set_t *set,
    ngx_str_t *name, ngx_http_hangar_value_t *v);
ngx_http_hangar_value_t *ngx_http_hangar_disc_set_get(
    ngx_http_hangar_disc_set_t *set, ngx_str_t *name);

/* the discovered-server object of §5.3, plus its spec (for approve) */
ngx_http_hangar_value_t *ngx_http_hangar_disc_entry(
    ngx_http_hangar_disc_cycle_t *cy, ngx_http_hangar_disc_item_t *item);
/* a registered server of this source, seen now */
ngx_int_t ngx_http_hangar_disc_track(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_item_t *item);
ngx_int_t ngx_http_hangar_disc_quarantine(ngx_http_hangar_disc_cycle_t *cy,
    ngx_http_hangar_disc_item_t *item, const char *reason,
    ngx_str_t *detail);


#endif /* _NGX_HTTP_HANGAR_DISCOVERY_VIEW_H_INCLUDED_ */
