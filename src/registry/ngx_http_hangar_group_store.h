
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The groups' configurations and records (ngx_http_hangar_group_store.c).
 */


#ifndef _NGX_HTTP_HANGAR_GROUP_STORE_H_INCLUDED_
#define _NGX_HTTP_HANGAR_GROUP_STORE_H_INCLUDED_


#include "ngx_http_hangar_group.h"


/* a change of one group, reserved before the state file is written */
typedef struct {
    ngx_http_hangar_group_conf_t    *conf;      /* NULL: delete */
    ngx_str_t                        id;
    void                            *group;     /* a new record */
    ngx_http_hangar_blob_t          *desc;
    ngx_http_hangar_record_t         rec;
    ngx_http_hangar_prep_t           prep;
    unsigned                         create:1;
} ngx_http_hangar_group_change_t;


/* the groups of a reconcile, reserved first, linked at once */
typedef struct {
    ngx_http_hangar_group_conf_t    *confs;
    ngx_http_hangar_group_change_t  *changes;
    ngx_uint_t                       n;
} ngx_http_hangar_group_plan_t;


ngx_int_t ngx_http_hangar_group_strategy(ngx_str_t *name);

/* a canonical group spec into *gc; NGX_DECLINED: too many members */
ngx_int_t ngx_http_hangar_group_conf(ngx_pool_t *pool, ngx_str_t *id,
    ngx_http_hangar_value_t *spec, ngx_http_hangar_group_conf_t *gc);

/* the state file's "groups" document laid over hangar.yaml's groups */
ngx_int_t ngx_http_hangar_group_overlay(ngx_pool_t *pool,
    ngx_http_hangar_main_conf_t *hmcf, ngx_log_t *log);

/* the reconcile's part: plan without the mutex, the rest with it */
ngx_int_t ngx_http_hangar_group_plan(ngx_pool_t *pool,
    ngx_http_hangar_main_conf_t *hmcf, ngx_http_hangar_group_plan_t *plan);
ngx_int_t ngx_http_hangar_group_plan_prepare(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_group_plan_t *plan);
void ngx_http_hangar_group_plan_discard(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_group_plan_t *plan);
void ngx_http_hangar_group_plan_commit(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_group_plan_t *plan);

/* one group's change by the API: reserve, then link or release */
ngx_int_t ngx_http_hangar_group_reserve(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_http_hangar_value_t *spec,
    ngx_http_hangar_group_change_t *ch);
void ngx_http_hangar_group_link(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_group_change_t *ch);
void ngx_http_hangar_group_release(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_group_change_t *ch);



#endif /* _NGX_HTTP_HANGAR_GROUP_STORE_H_INCLUDED_ */
