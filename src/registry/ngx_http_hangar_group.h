
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Groups (hangar-core.md §3): load-balanced pools of servers, kept in the
 * zone so that every worker routes against the same members, counters,
 * rotation and circuit breaker (ngx_http_hangar_group.c).
 */


#ifndef _NGX_HTTP_HANGAR_GROUP_H_INCLUDED_
#define _NGX_HTTP_HANGAR_GROUP_H_INCLUDED_


#include "ngx_http_hangar_registry.h"


#define NGX_HTTP_HANGAR_GROUP_MEMBERS  32
#define NGX_HTTP_HANGAR_GROUP_PINS     16

/* strategies, in the order of their names */
#define NGX_HTTP_HANGAR_RR             0
#define NGX_HTTP_HANGAR_WRR            1
#define NGX_HTTP_HANGAR_LEAST          2
#define NGX_HTTP_HANGAR_RANDOM         3
#define NGX_HTTP_HANGAR_PRIORITY       4

/* group states (hangar-core §3.1) */
#define NGX_HTTP_HANGAR_G_INACTIVE     0
#define NGX_HTTP_HANGAR_G_PARTIAL      1
#define NGX_HTTP_HANGAR_G_HEALTHY      2
#define NGX_HTTP_HANGAR_G_DEGRADED     3

/* the group's circuit breaker */
#define NGX_HTTP_HANGAR_CLOSED         0
#define NGX_HTTP_HANGAR_OPEN           1
#define NGX_HTTP_HANGAR_HALF_OPEN      2


typedef struct {
    u_char                       id[NGX_HTTP_HANGAR_ID_MAX];
    size_t                       id_len;
    ngx_uint_t                   weight;
    ngx_uint_t                   priority;
} ngx_http_hangar_gmember_conf_t;


typedef struct {
    u_char                       tenant[NGX_HTTP_HANGAR_ID_MAX];
    size_t                       tenant_len;
    ngx_uint_t                   member;    /* index */
} ngx_http_hangar_gpin_t;


typedef struct {
    u_char                       id[NGX_HTTP_HANGAR_ID_MAX];
    size_t                       id_len;
    ngx_uint_t                   weight;
    ngx_uint_t                   priority;
    ngx_uint_t                   in_rotation;
    ngx_uint_t                   failures;      /* consecutive */
    ngx_uint_t                   successes;
    ngx_int_t                    current;       /* smooth WRR */
    ngx_uint_t                   selected;      /* the pick's sequence */
    ngx_msec_t                   left;          /* epoch ms, left rotation */
} ngx_http_hangar_gmember_t;


typedef struct {
    ngx_str_node_t               sn;        /* sn.str points at id */
    ngx_queue_t                  queue;
    u_char                       id[NGX_HTTP_HANGAR_ID_MAX];
    ngx_http_hangar_blob_t      *desc;

    ngx_uint_t                   strategy;
    ngx_uint_t                   min_healthy;
    ngx_uint_t                   auto_start;
    ngx_uint_t                   unhealthy;
    ngx_uint_t                   healthy;
    ngx_uint_t                   failures;
    ngx_msec_t                   reset;
    ngx_int_t                    canary;
    ngx_uint_t                   split;
    ngx_uint_t                   npins;
    ngx_http_hangar_gpin_t       pins[NGX_HTTP_HANGAR_GROUP_PINS];

    ngx_uint_t                   rr;            /* round robin counter */
    ngx_uint_t                   seq;           /* picks */
    ngx_uint_t                   breaker;
    ngx_uint_t                   breaker_failures;
    ngx_msec_t                   opened;        /* epoch ms */
    ngx_uint_t                   state;

    ngx_uint_t                   nmembers;
    ngx_http_hangar_gmember_t    members[NGX_HTTP_HANGAR_GROUP_MEMBERS];
} ngx_http_hangar_group_t;


typedef struct {
    ngx_rbtree_t                 rbtree;
    ngx_rbtree_node_t            sentinel;
    ngx_queue_t                  queue;
    ngx_uint_t                   count;
} ngx_http_hangar_group_sh_t;


/* what changed under the mutex, published after it */

#define NGX_HTTP_HANGAR_N_MEMBER   0
#define NGX_HTTP_HANGAR_N_STATE    1
#define NGX_HTTP_HANGAR_N_BREAKER  2

typedef struct {
    ngx_uint_t                   kind;
    u_char                       member[NGX_HTTP_HANGAR_ID_MAX];
    size_t                       member_len;
    const char                  *reason;
    ngx_uint_t                   in;
    ngx_uint_t                   from;
    ngx_uint_t                   to;
    ngx_uint_t                   count;
    ngx_uint_t                   total;
} ngx_http_hangar_gnote_t;


typedef struct {
    u_char                       gid[NGX_HTTP_HANGAR_ID_MAX];
    size_t                       gid_len;
    ngx_uint_t                   n;
    ngx_http_hangar_gnote_t      notes[NGX_HTTP_HANGAR_GROUP_MEMBERS + 8];
} ngx_http_hangar_gnotes_t;


/* a group's configuration, from its canonical spec, made in a pool */
typedef struct {
    ngx_str_t                    id;
    ngx_str_t                    desc;      /* empty: none */
    ngx_uint_t                   strategy;
    ngx_uint_t                   min_healthy;
    ngx_uint_t                   auto_start;
    ngx_uint_t                   unhealthy;     /* thresholds */
    ngx_uint_t                   healthy;
    ngx_uint_t                   failures;      /* breaker threshold */
    ngx_msec_t                   reset;         /* breaker, ms */
    ngx_int_t                    canary;        /* member index, or -1 */
    ngx_uint_t                   split;         /* percent */
    ngx_uint_t                   npins;
    ngx_http_hangar_gpin_t       pins[NGX_HTTP_HANGAR_GROUP_PINS];
    ngx_uint_t                   nmembers;
    ngx_http_hangar_gmember_conf_t  members[NGX_HTTP_HANGAR_GROUP_MEMBERS];
} ngx_http_hangar_group_conf_t;


/* a member as the status shows it (a copy made under the lock) */
typedef struct {
    ngx_str_t                    id;
    ngx_uint_t                   weight;
    ngx_uint_t                   priority;
    ngx_uint_t                   in_rotation;
    ngx_uint_t                   failures;
    ngx_int_t                    state;     /* of its server; -1: none */
    ngx_uint_t                   inflight;
} ngx_http_hangar_gmember_info_t;


typedef struct {
    ngx_str_t                    id;
    ngx_str_t                    desc;
    ngx_uint_t                   strategy;
    ngx_uint_t                   min_healthy;
    ngx_uint_t                   auto_start;
    ngx_uint_t                   state;
    ngx_uint_t                   healthy;   /* members in rotation */
    ngx_uint_t                   breaker;
    ngx_uint_t                   breaker_failures;
    ngx_uint_t                   available;
    ngx_uint_t                   nmembers;
    ngx_http_hangar_gmember_info_t  *members;
} ngx_http_hangar_group_info_t;


extern const char  *ngx_http_hangar_group_strategies[];
extern const char  *ngx_http_hangar_group_states[];
extern const char  *ngx_http_hangar_breaker_states[];

/* with the slab mutex held: the zone's groups (NULL: the zone is full) */
ngx_http_hangar_group_sh_t *ngx_http_hangar_group_root(
    ngx_http_hangar_registry_t *reg);
ngx_http_hangar_group_t *ngx_http_hangar_group_find(
    ngx_http_hangar_registry_t *reg, u_char *id, size_t len);
ngx_http_hangar_gmember_t *ngx_http_hangar_group_member(
    ngx_http_hangar_group_t *g, ngx_str_t *id);
void ngx_http_hangar_group_refresh(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_group_t *g, ngx_http_hangar_gnotes_t *notes);
void ngx_http_hangar_group_state(ngx_http_hangar_group_t *g,
    ngx_http_hangar_gnotes_t *notes);
/* without it: the changes collected as events and log lines */
void ngx_http_hangar_group_publish(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_gnotes_t *notes);

ngx_uint_t ngx_http_hangar_group_exists(ngx_http_hangar_registry_t *reg,
    ngx_str_t *gid);
/* NGX_DECLINED: no such group */
ngx_int_t ngx_http_hangar_group_info(ngx_http_hangar_registry_t *reg,
    ngx_str_t *gid, ngx_pool_t *pool, ngx_http_hangar_group_info_t *info);
/* every group, in declaration order (ngx_http_hangar_group_info_t) */
ngx_int_t ngx_http_hangar_group_all(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_array_t *infos);
ngx_int_t ngx_http_hangar_group_rebalance(ngx_http_hangar_registry_t *reg,
    ngx_str_t *gid);
/* a member's rotation set from outside (a start through the group) */
void ngx_http_hangar_group_rotation(ngx_http_hangar_registry_t *reg,
    ngx_str_t *gid, ngx_str_t *member, ngx_uint_t in, const char *reason);

/*
 * Picks an in-rotation member of group gid for a call; NGX_OK with its
 * server id copied to *member (pool), NGX_DECLINED when none is in
 * rotation (NoAvailableMemberError), NGX_ERROR; exclude (may be NULL) is
 * a member to avoid (failover).  tenant (may be NULL) is for the canary.
 */
ngx_int_t ngx_http_hangar_group_select(ngx_http_hangar_registry_t *reg,
    ngx_str_t *gid, ngx_str_t *exclude, ngx_pool_t *pool, ngx_str_t *member);
ngx_int_t ngx_http_hangar_group_select_for(ngx_http_hangar_registry_t *reg,
    ngx_str_t *gid, ngx_str_t *exclude, ngx_str_t *tenant, ngx_pool_t *pool,
    ngx_str_t *member);
/* a call's outcome: connection-level failure (ok 0) or success */
void ngx_http_hangar_group_report(ngx_http_hangar_registry_t *reg,
    ngx_str_t *gid, ngx_str_t *member, ngx_uint_t ok);
/* the first group that has member; NGX_DECLINED: none */
ngx_int_t ngx_http_hangar_group_of(ngx_http_hangar_registry_t *reg,
    ngx_str_t *member, ngx_pool_t *pool, ngx_str_t *gid);
/* whether member is one of gid's members now (pass-through affinity) */
ngx_uint_t ngx_http_hangar_group_member_live(ngx_http_hangar_registry_t *reg,
    ngx_str_t *gid, ngx_str_t *member);


#endif /* _NGX_HTTP_HANGAR_GROUP_H_INCLUDED_ */
