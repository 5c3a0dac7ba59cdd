
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Discovery (hangar-security.md §5): MCP servers found by sources (a
 * directory of YAML files, Docker, Kubernetes), validated, then registered
 * through the same durable path as the API's, or held pending or
 * quarantined.  One worker at a time runs a cycle
 * (ngx_http_hangar_discovery.c); what it found is published in the zone,
 * where every worker reads it (ngx_http_hangar_discovery_state.c).
 */


#ifndef _NGX_HTTP_HANGAR_DISCOVERY_H_INCLUDED_
#define _NGX_HTTP_HANGAR_DISCOVERY_H_INCLUDED_


#include "ngx_http_hangar_discovery_state.h"


/* on every worker's tick; and when the worker exits */
void ngx_http_hangar_discovery_tick(ngx_http_hangar_registry_t *reg);
void ngx_http_hangar_discovery_exit(void);


#endif /* _NGX_HTTP_HANGAR_DISCOVERY_H_INCLUDED_ */
