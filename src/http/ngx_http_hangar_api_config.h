
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/config (hangar-core.md §1.5, §4.4, §4.5): the effective
 * configuration, its reload, export, backup and diff
 * (ngx_http_hangar_api_config.c).
 */


#ifndef _NGX_HTTP_HANGAR_API_CONFIG_H_INCLUDED_
#define _NGX_HTTP_HANGAR_API_CONFIG_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


/* what a reload changes, by id (arrays of ngx_str_t) */
typedef struct {
    ngx_array_t                  added;
    ngx_array_t                  removed;
    ngx_array_t                  updated;
    ngx_array_t                  unchanged;
} ngx_http_hangar_changes_t;


ngx_int_t ngx_http_hangar_config_get(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_config_reload(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_config_export(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_config_backup(ngx_http_hangar_req_t *hr);
ngx_int_t ngx_http_hangar_config_diff(ngx_http_hangar_req_t *hr);

/*
 * The servers and groups a fleet (hmcf->decls) adds, removes, changes or
 * keeps against the registry; and the one log line of a reload.  Also
 * used by the module for "nginx -s reload".
 */
ngx_int_t ngx_http_hangar_config_changes(ngx_http_hangar_registry_t *reg,
    ngx_pool_t *pool, ngx_array_t *decls, ngx_http_hangar_changes_t *ch);
void ngx_http_hangar_config_log(ngx_log_t *log, const char *by,
    ngx_str_t *file, ngx_http_hangar_changes_t *ch);


#endif /* _NGX_HTTP_HANGAR_API_CONFIG_H_INCLUDED_ */
