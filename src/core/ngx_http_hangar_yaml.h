
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * hangar.yaml: YAML text into a value tree, and ${VAR} interpolation
 * (ngx_http_hangar_yaml.c).
 */


#ifndef _NGX_HTTP_HANGAR_YAML_H_INCLUDED_
#define _NGX_HTTP_HANGAR_YAML_H_INCLUDED_


#include "ngx_http_hangar_value.h"


/*
 * YAML file -> tree (libyaml).  Returns NULL on error with
 * "<file>:<line>:<col>: <problem>" in *err.  Anchors, aliases and "<<"
 * merge keys are resolved; duplicate keys keep the last value.  Plain
 * scalars are typed like YAML 1.1 (PyYAML safe_load): null, bool, int,
 * float, else string; quoted scalars are always strings.
 */
ngx_http_hangar_value_t *ngx_http_hangar_yaml_parse(ngx_pool_t *pool,
    ngx_str_t *file, ngx_str_t *err);

/*
 * ${VAR} and ${VAR:-default} in every string value (not in keys),
 * recursively.  Uses getenv().  An unset variable without a default is an
 * error: "<line>:<col>: required environment variable '${VAR}' is not set
 * and has no default".  The result of a substitution is not re-scanned.
 */
ngx_int_t ngx_http_hangar_interpolate(ngx_pool_t *pool,
    ngx_http_hangar_value_t *v, ngx_str_t *err);


#endif /* _NGX_HTTP_HANGAR_YAML_H_INCLUDED_ */
