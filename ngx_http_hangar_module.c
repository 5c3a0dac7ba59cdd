
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * MCP Hangar for nginx: directives, configuration and init hooks.  The
 * work is done in src/ (one concern per file).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/rand.h>
#include <dlfcn.h>
#include <grp.h>
#include <pwd.h>
#include "ngx_http_hangar.h"
#include "ngx_http_hangar_registry.h"
#include "ngx_http_hangar_api.h"
#include "ngx_http_hangar_pass.h"
#include "ngx_http_hangar_mcp.h"
#include "ngx_http_hangar_mailbox.h"
#include "ngx_http_hangar_mcp_sreq.h"
#include "ngx_http_hangar_job.h"
#include "ngx_http_hangar_stream.h"
#include "ngx_http_hangar_discovery.h"
#include "ngx_http_hangar_lifecycle.h"
#include "ngx_http_hangar_proc.h"
#include "ngx_http_hangar_config.h"
#include "ngx_http_hangar_run.h"
#include "ngx_http_hangar_state_load.h"
#include "ngx_http_hangar_reconcile.h"
#include "ngx_http_hangar_stats.h"
#include "ngx_http_hangar_client.h"
#include "ngx_http_hangar_auth.h"
#include "ngx_http_hangar_limit.h"
#include "ngx_http_hangar_wellknown.h"
#include "ngx_http_hangar_guard.h"
#include "ngx_http_hangar_approval_hold.h"
#include "ngx_http_hangar_api_config.h"
#include "ngx_http_hangar_ws.h"
#include "ngx_http_hangar_audit.h"


static void *ngx_http_hangar_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_hangar_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_hangar_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_hangar_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hangar_path(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hangar_handler_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hangar_trusted_hosts(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_hangar_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_hangar_postconfiguration(ngx_conf_t *cf);
static void ngx_http_hangar_cors_env(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf);
static ngx_int_t ngx_http_hangar_fleet(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf);
static ngx_int_t ngx_http_hangar_resolver_check(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf);
static ngx_int_t ngx_http_hangar_bridge_check(ngx_conf_t *cf);
static ngx_uint_t ngx_http_hangar_may(ngx_file_info_t *fi, uid_t uid,
    gid_t *groups, int ngroups);
static ngx_int_t ngx_http_hangar_init_module(ngx_cycle_t *cycle);
static void ngx_http_hangar_started(ngx_cycle_t *cycle,
    ngx_http_hangar_main_conf_t *hmcf, ngx_http_hangar_registry_t *reg);
static ngx_int_t ngx_http_hangar_state_dirs(ngx_cycle_t *cycle,
    ngx_http_hangar_main_conf_t *hmcf);
static ngx_int_t ngx_http_hangar_apply(ngx_cycle_t *cycle,
    ngx_http_hangar_main_conf_t *hmcf, ngx_http_hangar_registry_t *reg,
    ngx_uint_t start);
static void ngx_http_hangar_refleet(ngx_cycle_t *cycle,
    ngx_http_hangar_main_conf_t *hmcf);
static void ngx_http_hangar_stop_stale(ngx_cycle_t *cycle,
    ngx_http_hangar_registry_t *reg, ngx_array_t *stale);
static ngx_int_t ngx_http_hangar_init_process(ngx_cycle_t *cycle);
static void ngx_http_hangar_http_tick(ngx_http_hangar_registry_t *reg);
static void ngx_http_hangar_http_exit(void);
static ngx_int_t ngx_http_hangar_session_key(ngx_cycle_t *cycle,
    ngx_http_hangar_main_conf_t *hmcf, ngx_core_conf_t *ccf);
static void ngx_http_hangar_exit_process(ngx_cycle_t *cycle);
static void ngx_http_hangar_exit_master(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_hangar_naming[] = {
    { ngx_string("auto"), NGX_HTTP_HANGAR_NAMING_AUTO },
    { ngx_string("prefixed"), NGX_HTTP_HANGAR_NAMING_PREFIXED },
    { ngx_string("flat"), NGX_HTTP_HANGAR_NAMING_FLAT },
    { ngx_null_string, 0 }
};


/* distinct tools per server in /metrics before "other" */
static ngx_conf_num_bounds_t  ngx_http_hangar_metrics_tools_bounds = {
    ngx_conf_check_num_bounds, 1, NGX_HTTP_HANGAR_STATS_TOOLS
};


static ngx_command_t  ngx_http_hangar_commands[] = {

    { ngx_string("hangar_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_hangar_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hangar_config"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hangar_path,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hangar_main_conf_t, config_file),
      NULL },

    { ngx_string("hangar_state"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hangar_path,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hangar_main_conf_t, state_dir),
      NULL },

    { ngx_string("hangar_metrics_tools"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hangar_main_conf_t, metrics_tools),
      &ngx_http_hangar_metrics_tools_bounds },

    { ngx_string("hangar_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hangar_handler_set,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_HANGAR_API,
      NULL },

    { ngx_string("hangar_health"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hangar_handler_set,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_HANGAR_HEALTH,
      NULL },

    { ngx_string("hangar_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hangar_handler_set,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_HANGAR_METRICS,
      NULL },

    { ngx_string("hangar_mcp"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hangar_handler_set,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_HANGAR_MCP,
      NULL },

    { ngx_string("hangar_protected_resource"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hangar_handler_set,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_HANGAR_PROTECTED_RESOURCE,
      NULL },

    { ngx_string("hangar_pass"),
      NGX_HTTP_LOC_CONF|NGX_HTTP_LIF_CONF|NGX_CONF_TAKE1,
      ngx_http_hangar_pass,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hangar_mcp_naming"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hangar_loc_conf_t, naming),
      &ngx_http_hangar_naming },

    { ngx_string("hangar_mcp_origins"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_array_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hangar_loc_conf_t, origins),
      NULL },

    { ngx_string("hangar_mcp_hosts"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_array_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hangar_loc_conf_t, hosts),
      NULL },

    { ngx_string("hangar_trusted_hosts"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_hangar_trusted_hosts,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hangar_mcp_page_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hangar_loc_conf_t, page_size),
      NULL },

    { ngx_string("hangar_mcp_control_tools"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hangar_loc_conf_t, control_tools),
      NULL },

    { ngx_string("hangar_body_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hangar_loc_conf_t, body_limit),
      NULL },

    { ngx_string("hangar_mcp_session_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hangar_loc_conf_t, session_ttl),
      NULL },

    { ngx_string("hangar_mcp_list_wait"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hangar_loc_conf_t, list_wait),
      NULL },

    { ngx_string("hangar_mcp_streams_per_session"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hangar_loc_conf_t, streams_per_session),
      NULL },

    { ngx_string("hangar_mcp_streams_per_client"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hangar_loc_conf_t, streams_per_client),
      NULL },

    { ngx_string("hangar_audit_log"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_hangar_audit_log,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hangar_events_ping"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hangar_ws_ping_set,
      0,
      0,
      NULL },

    { ngx_string("hangar_unsafe_no_auth"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hangar_main_conf_t, unsafe_no_auth),
      NULL },

    { ngx_string("hangar_auth_principal"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hangar_loc_conf_t, principal),
      NULL },

      ngx_null_command
};


static ngx_http_variable_t  ngx_http_hangar_vars[] = {

    { ngx_string("hangar_pass_url"), NULL, ngx_http_hangar_pass_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hangar_pass_connection"), NULL,
      ngx_http_hangar_pass_variable, 1, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hangar_pass_ssl_name"), NULL,
      ngx_http_hangar_pass_variable, 2, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hangar_pass_session_in"), NULL,
      ngx_http_hangar_pass_variable, 4, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hangar_pass_session_out"), NULL,
      ngx_http_hangar_pass_variable, 5, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_http_module_t  ngx_http_hangar_module_ctx = {
    ngx_http_hangar_preconfiguration,      /* preconfiguration */
    ngx_http_hangar_postconfiguration,     /* postconfiguration */

    ngx_http_hangar_create_main_conf,      /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_hangar_create_loc_conf,       /* create location configuration */
    ngx_http_hangar_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_hangar_module = {
    NGX_MODULE_V1,
    &ngx_http_hangar_module_ctx,           /* module context */
    ngx_http_hangar_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_hangar_init_module,           /* init module */
    ngx_http_hangar_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_hangar_exit_process,          /* exit process */
    ngx_http_hangar_exit_master,           /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_hangar_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_hangar_main_conf_t  *hmcf;

    hmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hangar_main_conf_t));
    if (hmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     hmcf->shm_zone = NULL;
     *     hmcf->config_file = { 0, NULL };
     *     hmcf->state_dir = { 0, NULL };
     */

    hmcf->log = cf->log;
    hmcf->unsafe_no_auth = NGX_CONF_UNSET;
    hmcf->metrics_tools = NGX_CONF_UNSET;

    return hmcf;
}


static void *
ngx_http_hangar_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_hangar_loc_conf_t  *hlcf;

    hlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hangar_loc_conf_t));
    if (hlcf == NULL) {
        return NULL;
    }

    hlcf->body_limit = NGX_CONF_UNSET_SIZE;
    hlcf->naming = NGX_CONF_UNSET_UINT;
    hlcf->origins = NGX_CONF_UNSET_PTR;
    hlcf->hosts = NGX_CONF_UNSET_PTR;
    hlcf->trusted_hosts = NGX_CONF_UNSET_PTR;
    hlcf->page_size = NGX_CONF_UNSET;
    hlcf->session_ttl = NGX_CONF_UNSET;
    hlcf->streams_per_session = NGX_CONF_UNSET_UINT;
    hlcf->streams_per_client = NGX_CONF_UNSET_UINT;
    hlcf->principal = NGX_CONF_UNSET_PTR;
    hlcf->control_tools = NGX_CONF_UNSET;
    hlcf->list_wait = NGX_CONF_UNSET_MSEC;

    return hlcf;
}


static char *
ngx_http_hangar_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_hangar_loc_conf_t *prev = parent;
    ngx_http_hangar_loc_conf_t *conf = child;

    ngx_http_core_loc_conf_t  *clcf;

    ngx_conf_merge_size_value(conf->body_limit, prev->body_limit,
                              1024 * 1024);
    ngx_conf_merge_uint_value(conf->naming, prev->naming,
                              NGX_HTTP_HANGAR_NAMING_AUTO);
    ngx_conf_merge_ptr_value(conf->origins, prev->origins, NULL);
    ngx_conf_merge_ptr_value(conf->hosts, prev->hosts, NULL);
    /* NULL: MCP_TRUSTED_HOSTS or its default (hmcf->trusted_hosts) */
    ngx_conf_merge_ptr_value(conf->trusted_hosts, prev->trusted_hosts, NULL);
    ngx_conf_merge_value(conf->page_size, prev->page_size, 500);
    ngx_conf_merge_sec_value(conf->session_ttl, prev->session_ttl, 86400);
    ngx_conf_merge_uint_value(conf->streams_per_session,
                              prev->streams_per_session, 4);
    ngx_conf_merge_uint_value(conf->streams_per_client,
                              prev->streams_per_client, 32);
    ngx_conf_merge_ptr_value(conf->principal, prev->principal, NULL);
    ngx_conf_merge_value(conf->control_tools, prev->control_tools, 0);
    ngx_conf_merge_msec_value(conf->list_wait, prev->list_wait, 10000);

    if (conf->page_size < 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hangar_mcp_page_size\" must be at least 1");
        return NGX_CONF_ERROR;
    }

    /*
     * The API answers an oversized body itself, with a JSON 413, so
     * nginx's own client_max_body_size check (an HTML page, before the
     * handler runs) is turned off in API locations.
     */

    if (conf->handler == NGX_HTTP_HANGAR_API
        || conf->handler == NGX_HTTP_HANGAR_MCP)
    {
        clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
        clcf->client_max_body_size = 0;
    }

    if (conf->pass && ngx_http_hangar_pass_merge(cf, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* hangar_zone name size; */

static char *
ngx_http_hangar_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hangar_main_conf_t *hmcf = conf;

    ssize_t                      size;
    ngx_str_t                   *value;
    ngx_http_hangar_registry_t  *reg;

    if (hmcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\", at least %uz bytes",
                           &value[2], 8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    reg = ngx_pcalloc(cf->pool, sizeof(ngx_http_hangar_registry_t));
    if (reg == NULL) {
        return NGX_CONF_ERROR;
    }

    reg->name = value[1];
    reg->hmcf = hmcf;

    hmcf->shm_zone = ngx_shared_memory_add(cf, &value[1], size,
                                           &ngx_http_hangar_module);
    if (hmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (hmcf->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", &value[1]);
        return NGX_CONF_ERROR;
    }

    hmcf->shm_zone->init = ngx_http_hangar_registry_init_zone;
    hmcf->shm_zone->data = reg;

    return NGX_CONF_OK;
}


/* hangar_config file; hangar_state dir; -- relative to the prefix */

static char *
ngx_http_hangar_path(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t  *field, *value;

    field = (ngx_str_t *) (p + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    *field = value[1];

    while (field->len > 1 && field->data[field->len - 1] == '/') {
        field->data[--field->len] = '\0';
    }

    if (ngx_conf_full_name(cf->cycle, field, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_hangar_handler_set(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hangar_loc_conf_t *hlcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (hlcf->handler) {
        return "is duplicate";
    }

    hlcf->handler = cmd->offset;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_hangar_handler;

    return NGX_CONF_OK;
}


/* hangar_trusted_hosts name|*.domain|* ...; */

static char *
ngx_http_hangar_trusted_hosts(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hangar_loc_conf_t *hlcf = conf;

    ngx_str_t   *value, *s;
    ngx_uint_t   i;

    if (hlcf->trusted_hosts != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    hlcf->trusted_hosts = ngx_array_create(cf->pool, cf->args->nelts,
                                           sizeof(ngx_str_t));
    if (hlcf->trusted_hosts == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0
            || (value[i].data[0] == '*'
                && !(value[i].len == 1
                     || (value[i].len > 2 && value[i].data[1] == '.'))))
        {
            return "takes host names, \"*.domain\" or \"*\"";
        }

        s = ngx_array_push(hlcf->trusted_hosts);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = value[i];
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_hangar_preconfiguration(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_hangar_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt          *h;
    ngx_http_core_main_conf_t    *cmcf;
    ngx_http_hangar_main_conf_t  *hmcf;

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hangar_module);

    /* hangar_pass: checks and lazy start before the proxy runs */
    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_hangar_pass_handler;

    if (ngx_http_hangar_audit_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (hmcf->shm_zone == NULL) {
        if (hmcf->config_file.len || hmcf->state_dir.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"hangar_config\" and \"hangar_state\" need "
                               "a \"hangar_zone\"");
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    if (hmcf->state_dir.len == 0) {
        /* a copy: paths are made in place (ngx_create_full_path) */
        ngx_str_set(&hmcf->state_dir, "/var/lib/hangar");

        hmcf->state_dir.data = ngx_pstrdup(cf->pool, &hmcf->state_dir);
        if (hmcf->state_dir.data == NULL) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_hangar_proc_check(cf, &hmcf->state_dir) != NGX_OK
        || ngx_http_hangar_bridge_check(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_hangar_cors_env(cf, hmcf);

    if (ngx_http_hangar_config_load(cf, hmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    /* rate_limit: of hangar.yaml */
    hmcf->limit = ngx_palloc(cf->pool, sizeof(ngx_http_hangar_limit_conf_t));

    if (hmcf->limit == NULL
        || ngx_http_hangar_limit_conf(cf,
                                      ngx_http_hangar_get(hmcf->doc,
                                                          "rate_limit"),
                                      &hmcf->config_file, hmcf->limit)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (hmcf->unsafe_no_auth == NGX_CONF_UNSET) {
        hmcf->unsafe_no_auth = 0;
    }

#if (NGX_THREADS)
    /* state file writes run on nginx's "default" thread pool */
    hmcf->thread_pool = ngx_thread_pool_add(cf, NULL);
    if (hmcf->thread_pool == NULL) {
        return NGX_ERROR;
    }
#endif

    if (ngx_http_hangar_fleet(cf, hmcf) != NGX_OK
        || ngx_http_hangar_auth_conf(cf, hmcf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_hangar_resolver_check(cf, hmcf);
}


/* the declared fleet: hangar.yaml, the state file over it, cached tools */

static ngx_int_t
ngx_http_hangar_fleet(ngx_conf_t *cf, ngx_http_hangar_main_conf_t *hmcf)
{
    if (ngx_http_hangar_config_fleet(cf->pool, hmcf) != NGX_OK
        || ngx_http_hangar_state_merge(cf, hmcf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_hangar_catalog_load(cf, hmcf);
}


/*
 * The bridge (hangar-bridge beside the module's .so, as the lifecycle
 * looks for it) must be there and the workers' user must be able to run
 * it: execute on the file, search on every directory above it.  A
 * checkout under a private home directory fails here, naming the path
 * and the user, not at the first start of a server.
 */

static ngx_int_t
ngx_http_hangar_bridge_check(ngx_conf_t *cf)
{
    int               ngroups;
    char             *user;
    size_t            len;
    u_char           *p, *path;
    uid_t             uid;
    gid_t             gid, groups[64];
    Dl_info           info;
    struct group     *gr;
    struct passwd    *pw;
    ngx_file_info_t   fi;
    ngx_core_conf_t  *ccf;

    if (dladdr(&ngx_http_hangar_module, &info) == 0
        || info.dli_fname == NULL)
    {
        return NGX_OK;
    }

    p = (u_char *) ngx_strchr(info.dli_fname, '\0');
    while (p > (u_char *) info.dli_fname && p[-1] != '/') {
        p--;
    }

    len = p - (u_char *) info.dli_fname;

    path = ngx_pnalloc(cf->temp_pool, len + sizeof("./hangar-bridge"));
    if (path == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(path, "%*s%shangar-bridge%Z", len, info.dli_fname,
                len ? "" : "./");

    /* the workers' user: "user", else nobody when the master is root */
    ccf = (ngx_core_conf_t *) ngx_get_conf(cf->cycle->conf_ctx,
                                           ngx_core_module);

    if (geteuid() != 0) {
        uid = geteuid();
        gid = getegid();
        pw = getpwuid(uid);
        user = pw ? pw->pw_name : "(this user)";

    } else if (ccf && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT) {
        uid = ccf->user;
        gid = ccf->group;
        user = ccf->username;

    } else {
        pw = getpwnam(NGX_USER);
        gr = getgrnam(NGX_GROUP);

        if (pw == NULL) {
            return NGX_OK;      /* nginx itself says so */
        }

        uid = pw->pw_uid;
        gid = gr ? gr->gr_gid : pw->pw_gid;
        user = NGX_USER;
    }

    ngroups = 64;
    groups[0] = gid;

    if (user == NULL || getgrouplist(user, gid, groups, &ngroups) == -1) {
        ngroups = 1;
    }

    if (ngx_file_info(path, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "hangar: the bridge \"%s\" is missing: it is "
                           "built beside the module (make build) and "
                           "installed with it (make install)", path);
        return NGX_ERROR;
    }

    if (!ngx_is_file(&fi)
        || !ngx_http_hangar_may(&fi, uid, groups, ngroups))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hangar: the workers' user \"%s\" cannot run "
                           "the bridge \"%s\": it is not executable for "
                           "that user", user, path);
        return NGX_ERROR;
    }

    /* every directory above it, from the top */
    for (p = path + 1; *p; p++) {
        if (*p != '/') {
            continue;
        }

        *p = '\0';

        if (ngx_file_info(path, &fi) == NGX_FILE_ERROR
            || !ngx_http_hangar_may(&fi, uid, groups, ngroups))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hangar: the workers' user \"%s\" cannot "
                               "run the bridge: no search (x) permission "
                               "on the directory \"%s\"; install the "
                               "module elsewhere (make install) or let "
                               "that user through", user, path);
            return NGX_ERROR;
        }

        *p = '/';
    }

    return NGX_OK;
}


/* execute (search) permission of a file (directory) for a user */

static ngx_uint_t
ngx_http_hangar_may(ngx_file_info_t *fi, uid_t uid, gid_t *groups,
    int ngroups)
{
    int  i;

    if (uid == 0) {
        return (fi->st_mode & (S_IXUSR|S_IXGRP|S_IXOTH)) != 0;
    }

    if (fi->st_uid == uid) {
        return (fi->st_mode & S_IXUSR) != 0;
    }

    for (i = 0; i < ngroups; i++) {
        if (fi->st_gid == groups[i]) {
            return (fi->st_mode & S_IXGRP) != 0;
        }
    }

    return (fi->st_mode & S_IXOTH) != 0;
}


/*
 * A remote endpoint with a host name resolves through nginx's resolver:
 * without a "resolver" in http{}, nginx -t fails naming the server.
 */

static ngx_int_t
ngx_http_hangar_resolver_check(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf)
{
    u_char                    *p, *last;
    ngx_str_t                  target, host;
    ngx_uint_t                 i;
    ngx_http_hangar_decl_t    *decl;
    ngx_http_hangar_value_t   *ep;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->resolver && clcf->resolver->connections.nelts) {
        return NGX_OK;
    }

    decl = hmcf->decls.elts;

    for (i = 0; i < hmcf->decls.nelts; i++) {
        ep = decl[i].group ? NULL : ngx_http_hangar_get(decl[i].spec,
                                                        "endpoint");
        if (!ngx_http_hangar_is(ep, NGX_HTTP_HANGAR_STR)) {
            continue;
        }

        p = ep->u.s.data;
        last = p + ep->u.s.len;

        if (ngx_strncasecmp(p, (u_char *) "http://", 7) == 0) {
            p += 7;

        } else if (ngx_strncasecmp(p, (u_char *) "https://", 8) == 0) {
            p += 8;

        } else {
            continue;
        }

        target.data = p;

        while (p < last && *p != '/' && *p != '?' && *p != '#') {
            p++;
        }

        target.len = p - target.data;

        if (ngx_http_hangar_client_host(cf->pool, &target, &host)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hangar: server \"%V\": the host \"%V\" of "
                               "its endpoint needs a \"resolver\" in http{}",
                               &decl[i].id, &host);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * MCP_CORS_ORIGINS (comma list, each http(s)://host...; default
 * http://localhost:5173) and MCP_CORS_CREDENTIALS, read by the master.
 */

static void
ngx_http_hangar_cors_env(ngx_conf_t *cf, ngx_http_hangar_main_conf_t *hmcf)
{
    char         *env;
    ngx_str_t    *o, *item;
    ngx_uint_t    i;
    ngx_array_t   items;

    if (ngx_array_init(&hmcf->cors_origins, cf->pool, 4, sizeof(ngx_str_t))
        != NGX_OK
        || ngx_array_init(&items, cf->pool, 4, sizeof(ngx_str_t)) != NGX_OK)
    {
        return;
    }

    env = getenv("MCP_CORS_CREDENTIALS");
    hmcf->cors_credentials = env && (ngx_strcasecmp((u_char *) env,
                                                    (u_char *) "true") == 0
                                     || ngx_strcmp(env, "1") == 0);

    env = getenv("MCP_CORS_ORIGINS");
    if (env == NULL || *env == '\0') {
        env = "http://localhost:5173";
    }

    if (ngx_http_hangar_split_list(cf->pool, (u_char *) env, &items)
        != NGX_OK)
    {
        return;
    }

    item = items.elts;

    for (i = 0; i < items.nelts; i++) {

        /* "*" is allowed only without credentials; others need a scheme */
        if (!(item[i].len == 1 && item[i].data[0] == '*')
            && !((item[i].len > 7
                  && ngx_strncmp(item[i].data, "http://", 7) == 0)
                 || (item[i].len > 8
                     && ngx_strncmp(item[i].data, "https://", 8) == 0)))
        {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "MCP_CORS_ORIGINS: \"%V\" ignored", &item[i]);
            continue;
        }

        if (item[i].data[0] == '*' && hmcf->cors_credentials) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "MCP_CORS_ORIGINS: \"*\" ignored because "
                               "MCP_CORS_CREDENTIALS is on");
            continue;
        }

        o = ngx_array_push(&hmcf->cors_origins);
        if (o == NULL) {
            return;
        }

        *o = item[i];
    }
}


/*
 * Runs once the new cycle is committed (its listening sockets are open,
 * nothing can fail it any more), in the master, before workers of the new
 * cycle start: the registry of this cycle becomes the one in use and the
 * declared fleet is applied to it.  An error here ends the master, so on
 * reload nothing does.
 */

static ngx_int_t
ngx_http_hangar_init_module(ngx_cycle_t *cycle)
{
    ngx_uint_t                    start;
    ngx_http_hangar_registry_t   *reg, *old;
    ngx_http_hangar_main_conf_t  *hmcf;

    /* ngx_cycle is still the running cycle: none at a start, "nginx -t" */
    start = ngx_is_init_cycle((ngx_cycle_t *) ngx_cycle);
    old = ngx_http_hangar_registry();

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hangar_module);

    if (hmcf == NULL || hmcf->shm_zone == NULL) {

        /* hangar is gone from the configuration, and so are its servers */
        if (old && !ngx_test_config) {
            ngx_http_hangar_lifecycle_stop_all(cycle);
        }

        ngx_http_hangar_registry_commit(NULL);

        return NGX_OK;
    }

    /* on reload the master runs on with what it has */
    if (ngx_http_hangar_state_dirs(cycle, hmcf) != NGX_OK && start) {
        return NGX_ERROR;
    }

    reg = hmcf->shm_zone->data;

    ngx_http_hangar_registry_commit(reg);

    if (ngx_http_hangar_apply(cycle, hmcf, reg, start) != NGX_OK) {
        return NGX_ERROR;
    }

    if (reg->fresh && !ngx_test_config) {
        reg->fresh = 0;
        ngx_http_hangar_lifecycle_reap(reg, cycle->log);
    }

    if (!ngx_test_config) {
        ngx_http_hangar_started(cycle, hmcf, reg);
    }

    return NGX_OK;
}


/* one line at every start and reload: the fleet, the zone, the state */

static void
ngx_http_hangar_started(ngx_cycle_t *cycle,
    ngx_http_hangar_main_conf_t *hmcf, ngx_http_hangar_registry_t *reg)
{
    size_t                   size, used;
    ngx_uint_t               i, groups;
    ngx_http_hangar_decl_t  *d;

    d = hmcf->decls.elts;
    groups = 0;

    for (i = 0; i < hmcf->decls.nelts; i++) {
        groups += d[i].group;
    }

    size = hmcf->shm_zone->shm.size;

    ngx_shmtx_lock(&reg->shpool->mutex);
    used = size - reg->shpool->pfree * ngx_pagesize;
    ngx_shmtx_unlock(&reg->shpool->mutex);

    ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                  "hangar: %ui servers declared (%ui groups), zone \"%V\" "
                  "%uz of %uz bytes used, state directory \"%V\"",
                  hmcf->decls.nelts - groups, groups, &reg->name, used, size,
                  &hmcf->state_dir);
}


/* the master (still root) creates the state directory for the workers */

static ngx_int_t
ngx_http_hangar_state_dirs(ngx_cycle_t *cycle,
    ngx_http_hangar_main_conf_t *hmcf)
{
    ngx_str_t         path;
    ngx_uint_t        i;
    ngx_core_conf_t  *ccf;
    ngx_file_info_t   fi;

    static const char  *subdirs[] = { "", "/run", "/servers", "/logs",
                                      "/catalog" };

    if (ngx_create_full_path(hmcf->state_dir.data, 0700) != 0
        && ngx_errno != NGX_EEXIST)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "hangar: cannot create the state directory \"%V\"",
                      &hmcf->state_dir);
        return NGX_ERROR;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
        path.len = hmcf->state_dir.len + ngx_strlen(subdirs[i]);
        path.data = ngx_pnalloc(cycle->pool, path.len + 1);
        if (path.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(path.data, "%V%s%Z", &hmcf->state_dir, subdirs[i]);

        if (ngx_create_dir(path.data, 0700) == NGX_FILE_ERROR
            && ngx_errno != NGX_EEXIST)
        {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          ngx_create_dir_n " \"%V\" failed", &path);
            return NGX_ERROR;
        }

        if (geteuid() == 0 && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT
            && ngx_file_info(path.data, &fi) != NGX_FILE_ERROR
            && fi.st_uid != ccf->user
            && chown((char *) path.data, ccf->user, ccf->group) == -1)
        {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          "chown(\"%V\", %d) failed", &path, ccf->user);
            return NGX_ERROR;
        }
    }

    return ngx_http_hangar_session_key(cycle, hmcf, ccf);
}


/*
 * The declared fleet into the registry, all or nothing.  At a start a
 * fleet that does not fit fails the start, as it fails "nginx -t"; on a
 * reload the old workers run on (and a failure here would end the
 * master), so a fleet that cannot be applied leaves the registry as it
 * was, with an [alert] that says so.
 */

static ngx_int_t
ngx_http_hangar_apply(ngx_cycle_t *cycle, ngx_http_hangar_main_conf_t *hmcf,
    ngx_http_hangar_registry_t *reg, ngx_uint_t start)
{
    ngx_int_t                   rc;
    ngx_array_t                 stale;
    ngx_http_hangar_changes_t   ch;

    /* an API change in an old worker is either before this or after */
    if (ngx_http_hangar_state_lock(reg, cycle->log) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "hangar: the state lock stays busy; the servers of "
                      "the new configuration were not applied, reload "
                      "again");
        return start ? NGX_ERROR : NGX_OK;
    }

    if (!reg->fresh) {
        ngx_http_hangar_refleet(cycle, hmcf);
    }

    /* what the reload changes, for its one log line */
    if (ngx_http_hangar_config_changes(reg, cycle->pool, &hmcf->decls, &ch)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = ngx_http_hangar_reconcile(reg, cycle->pool, cycle->log, &stale);

    ngx_http_hangar_state_unlock(reg);

    if (rc != NGX_OK) {
        if (start) {
            return NGX_ERROR;
        }

        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "hangar: the servers of the new configuration were "
                      "not applied; the registry is as it was");
        return NGX_OK;
    }

    ngx_http_hangar_stop_stale(cycle, reg, &stale);

    if (!start) {
        ngx_http_hangar_config_log(cycle->log, "nginx", &hmcf->config_file,
                                   &ch);
    }

    return NGX_OK;
}


/*
 * On reload, the state file is read again under the state lock: an API
 * change made by an old worker since the configuration was read is kept.
 * If the file cannot be read now, the fleet read with the configuration
 * is applied.
 */

static void
ngx_http_hangar_refleet(ngx_cycle_t *cycle, ngx_http_hangar_main_conf_t *hmcf)
{
    ngx_conf_t                   cf;
    ngx_http_hangar_main_conf_t  saved;

    ngx_memzero(&cf, sizeof(ngx_conf_t));
    cf.pool = cycle->pool;
    cf.temp_pool = cycle->pool;
    cf.cycle = cycle;
    cf.log = cycle->log;

    saved = *hmcf;

    if (ngx_http_hangar_fleet(&cf, hmcf) != NGX_OK) {
        *hmcf = saved;
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "hangar: the state file as read with the "
                      "configuration is applied");
    }
}


/* servers that the reload removed are stopped; changed ones restart */

static void
ngx_http_hangar_stop_stale(ngx_cycle_t *cycle,
    ngx_http_hangar_registry_t *reg, ngx_array_t *stale)
{
    ngx_uint_t                i;
    ngx_http_hangar_stale_t  *s;

    s = stale->elts;

    for (i = 0; i < stale->nelts; i++) {

        if (!s[i].removed) {
            ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                          "hangar: \"%V\" was changed by the reload, "
                          "stopped; its next use starts it with the new "
                          "spec", &s[i].id);
            (void) ngx_http_hangar_stop(reg, &s[i].id, "config_changed",
                                        s[i].blocked, cycle->log);
            continue;
        }

        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "hangar: \"%V\" is no longer declared, removed%s",
                      &s[i].id, s[i].bridge ? " and stopped" : "");

        if (s[i].bridge) {
            ngx_http_hangar_terminate(s[i].bridge, s[i].server);
            ngx_http_hangar_stats_stop(reg, &s[i].id, "removed");
        }
    }
}


/*
 * The key that signs MCP session ids, so that any worker can check an id
 * without a lookup: made once, kept in the state directory.
 */

static ngx_int_t
ngx_http_hangar_session_key(ngx_cycle_t *cycle,
    ngx_http_hangar_main_conf_t *hmcf, ngx_core_conf_t *ccf)
{
    u_char           key[32];
    ngx_fd_t         fd;
    ngx_str_t        path;

    path.len = hmcf->state_dir.len + sizeof("/session.key") - 1;
    path.data = ngx_pnalloc(cycle->pool, path.len + 1);
    if (path.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(path.data, "%V/session.key%Z", &hmcf->state_dir);

    fd = ngx_open_file(path.data, NGX_FILE_WRONLY, NGX_FILE_CREATE_OR_OPEN
                       | O_EXCL, 0600);
    if (fd == NGX_INVALID_FILE) {
        /* there already */
        return NGX_OK;
    }

    if (RAND_bytes(key, sizeof(key)) != 1
        || ngx_write_fd(fd, key, sizeof(key)) != (ssize_t) sizeof(key))
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "hangar: cannot make \"%V\"", &path);
        (void) ngx_close_file(fd);
        (void) ngx_delete_file(path.data);
        return NGX_ERROR;
    }

    (void) ngx_close_file(fd);

    if (geteuid() == 0 && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT
        && chown((char *) path.data, ccf->user, ccf->group) == -1)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "chown(\"%V\") failed", &path);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the HTTP layer's periodic and exit work, on the lifecycle's tick */

static void
ngx_http_hangar_http_tick(ngx_http_hangar_registry_t *reg)
{
    ngx_http_hangar_mcp_tick(reg);
    ngx_http_hangar_discovery_tick(reg);
}


static void
ngx_http_hangar_http_exit(void)
{
    ngx_http_hangar_mcp_exit();
    ngx_http_hangar_discovery_exit();
}


static ngx_int_t
ngx_http_hangar_init_process(ngx_cycle_t *cycle)
{
    ngx_http_conf_ctx_t       *ctx;
    ngx_http_core_loc_conf_t  *clcf;

    /* the front door's periodic and exit work, on the lifecycle's tick */
    ngx_http_hangar_lifecycle_hooks(ngx_http_hangar_http_tick,
                                    ngx_http_hangar_http_exit);
    ngx_http_hangar_job_notify(ngx_http_hangar_mailbox_notify);
    ngx_http_hangar_job_request(ngx_http_hangar_sreq_idle);

    /* remote host names: the resolver of the http{} level */
    ctx = (ngx_http_conf_ctx_t *) ngx_get_conf(cycle->conf_ctx,
                                               ngx_http_module);
    if (ctx) {
        clcf = ctx->loc_conf[ngx_http_core_module.ctx_index];
        ngx_http_hangar_client_resolver(clcf->resolver,
                                        clcf->resolver_timeout);
    }

    /* expired approvals, swept by the worker holding the lease */
    if (ngx_http_hangar_approval_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    /* bridges are nobody's children in nginx (ngx_http_hangar_proc.c) */
    return ngx_http_hangar_lifecycle_init_process(cycle);
}


static void
ngx_http_hangar_exit_process(ngx_cycle_t *cycle)
{
    /* the inotify watch is a connection: closed before nginx counts */
    ngx_http_hangar_discovery_exit();

    if (ngx_http_hangar_registry()) {
        ngx_http_hangar_lifecycle_exit_process(cycle);
    }
}


static void
ngx_http_hangar_exit_master(ngx_cycle_t *cycle)
{
    ngx_http_hangar_lifecycle_stop_all(cycle);
}
