
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#ifndef _NGX_HTTP_HANGAR_H_INCLUDED_
#define _NGX_HTTP_HANGAR_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_value.h"
#include "ngx_http_hangar_out.h"
#include "ngx_http_hangar_spec.h"


#define NGX_HTTP_HANGAR_VERSION       "0.1.0"
#define NGX_HTTP_HANGAR_STATE_FILE    "hangar-state.json"
#define NGX_HTTP_HANGAR_ENDED_FILE    "mcp-sessions-ended.json"

/*
 * Documents kept in the state file beside the servers: JSON objects that a
 * higher layer owns (keys and roles, tool policies, approvals, groups).  The
 * registry stores, versions and writes them; it never looks inside.
 */
#define NGX_HTTP_HANGAR_DOC_AUTH       0
#define NGX_HTTP_HANGAR_DOC_POLICIES   1
#define NGX_HTTP_HANGAR_DOC_APPROVALS  2
#define NGX_HTTP_HANGAR_DOC_GROUPS     3
#define NGX_HTTP_HANGAR_DOC_DISCOVERY  4
#define NGX_HTTP_HANGAR_DOCS           5

/* wall clock in milliseconds (cached time) */
#define ngx_http_hangar_now_ms()                                             \
    ((ngx_msec_t) (ngx_timeofday())->sec * 1000                              \
     + (ngx_timeofday())->msec)


/* a server or group declared in hangar.yaml or kept in the state file */
typedef struct {
    ngx_str_t                    id;
    ngx_http_hangar_value_t     *spec;      /* canonical */
    ngx_str_t                    catalog;   /* cached tools, JSON array */
    ngx_uint_t                   catalog_count;
    ngx_http_hangar_value_t     *yaml;      /* as hangar.yaml declares it */
    ngx_http_hangar_value_t     *base;      /* API-changed fields: their
                                               YAML value at the change */
    unsigned                     group:1;
    unsigned                     api:1;
    unsigned                     declared:1;
} ngx_http_hangar_decl_t;


typedef struct {
    ngx_shm_zone_t              *shm_zone;
    ngx_str_t                    config_file;
    ngx_str_t                    state_dir;
    ngx_array_t                  decls;     /* ngx_http_hangar_decl_t */
    ngx_array_t                  yaml_decls;    /* hangar.yaml alone */
    /* from the state file: keys of the sets (ngx_http_hangar_item_t) */
    ngx_array_t                  deleted;   /* ngx_str_t */
    ngx_http_hangar_value_t     *blocked;   /* array of ids */
    ngx_array_t                  suspended; /* ngx_str_t */
    ngx_array_t                  withdrawn; /* ngx_str_t */
    ngx_str_t                    docs[NGX_HTTP_HANGAR_DOCS];    /* JSON */
    ngx_http_hangar_value_t     *doc;       /* hangar.yaml, interpolated */
    void                        *auth;      /* the auth layer's */
    void                        *rbac;
    void                        *limit;     /* the rate limits' */
    ngx_array_t                  cors_origins;  /* ngx_str_t */
    ngx_flag_t                   cors_credentials;
    ngx_flag_t                   unsafe_no_auth;
    /* the edge (ngx_http_hangar_guard.c): execution.*, MCP_* defaults */
    ngx_array_t                 *allowed_commands;  /* ngx_str_t */
    ngx_array_t                 *remote_allow;      /* ngx_cidr_t */
    ngx_array_t                 *trusted_hosts;     /* ngx_str_t */
    /* hangar.yaml "discovery:", validated; NULL without the block */
    void                        *discovery;         /* value_t */
    ngx_log_t                   *log;
    void                        *thread_pool;   /* state writes; or NULL */
    ngx_int_t                    metrics_tools; /* hangar_metrics_tools */
    ngx_uint_t                   tool_access;   /* ..._ACCESS_EGRESS or
                                                   _FRONT_DOOR */
    void                        *audit;     /* hangar_audit_log; NULL: off */
} ngx_http_hangar_main_conf_t;


#define NGX_HTTP_HANGAR_NAMING_AUTO      0
#define NGX_HTTP_HANGAR_NAMING_PREFIXED  1
#define NGX_HTTP_HANGAR_NAMING_FLAT      2


typedef struct {
    ngx_uint_t                   handler;   /* what the location serves */
    size_t                       body_limit;
    ngx_uint_t                   naming;    /* front door tool names */
    ngx_array_t                 *origins;   /* hangar_mcp_origins */
    ngx_array_t                 *hosts;     /* hangar_mcp_hosts */
    ngx_array_t                 *trusted_hosts; /* hangar_trusted_hosts */
    ngx_int_t                    page_size; /* tools/list page */
    ngx_http_complex_value_t    *pass;      /* hangar_pass */
    time_t                       session_ttl;
    ngx_uint_t                   streams_per_session;
    ngx_uint_t                   streams_per_client;
    ngx_http_complex_value_t    *principal;     /* hangar_auth_principal */
    ngx_flag_t                   control_tools; /* hangar_mcp_control_tools */
    ngx_msec_t                   list_wait;     /* hangar_mcp_list_wait */
} ngx_http_hangar_loc_conf_t;


extern ngx_module_t  ngx_http_hangar_module;


#endif /* _NGX_HTTP_HANGAR_H_INCLUDED_ */
