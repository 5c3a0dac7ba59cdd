
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The field table of an MCP server (and group) specification, and the
 * one validator that turns YAML or JSON input into a canonical spec:
 * only known keys, typed, with defaults filled in, so that two specs can
 * be compared to decide whether a server changed.
 */


#ifndef _NGX_HTTP_HANGAR_SPEC_H_INCLUDED_
#define _NGX_HTTP_HANGAR_SPEC_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hangar_value.h"
#include "ngx_http_hangar_policy_spec.h"


#define NGX_HTTP_HANGAR_ID_MAX        64

/* where a spec comes from: YAML is lenient (warnings, coercion) */
#define NGX_HTTP_HANGAR_SPEC_CONFIG   1
#define NGX_HTTP_HANGAR_SPEC_API      2
/* hangar's own (discovery, the state file): as strict as the API, and
   the fields only hangar sets (runtime_addresses) */
#define NGX_HTTP_HANGAR_SPEC_OWN      3


typedef enum {
    NGX_HTTP_HANGAR_MODE_SUBPROCESS = 0,
    NGX_HTTP_HANGAR_MODE_DOCKER,
    NGX_HTTP_HANGAR_MODE_REMOTE,
    NGX_HTTP_HANGAR_MODE_GROUP
} ngx_http_hangar_mode_e;


typedef struct {
    ngx_pool_t          *pool;
    ngx_uint_t           source;
    ngx_log_t           *log;        /* warnings (unknown keys) */
    ngx_str_t            prefix;     /* "mcp_servers.math." or "" */
    ngx_str_t            file;       /* for "file:line:col" */

    /* the first error */
    ngx_str_t            field;      /* path of the offending field */
    ngx_str_t            message;    /* "path: problem" (with position) */
} ngx_http_hangar_spec_ctx_t;


ngx_int_t ngx_http_hangar_spec_id_valid(ngx_str_t *id, ngx_uint_t source);
ngx_uint_t ngx_http_hangar_id_chars(ngx_str_t *id, size_t max);

/*
 * Validates in (an object) as the spec of server id; on success *out is a
 * new canonical object.  Groups (mode: group) are validated too.
 */
ngx_int_t ngx_http_hangar_spec_server(ngx_http_hangar_spec_ctx_t *ctx,
    ngx_str_t *id, ngx_http_hangar_value_t *in,
    ngx_http_hangar_value_t **out);

/* hangar.yaml "execution:", validated like a server's spec */
ngx_int_t ngx_http_hangar_spec_execution(ngx_http_hangar_spec_ctx_t *ctx,
    ngx_http_hangar_value_t *in, ngx_http_hangar_value_t **out);

/* in checked against a field table (ngx_http_hangar_field.h); *out is
   the canonical object */
struct ngx_http_hangar_field_s;

ngx_int_t ngx_http_hangar_spec_object(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *in,
    struct ngx_http_hangar_field_s *table, ngx_http_hangar_value_t **out);

ngx_http_hangar_mode_e ngx_http_hangar_spec_mode(ngx_http_hangar_value_t *s);
ngx_int_t ngx_http_hangar_spec_error(ngx_http_hangar_spec_ctx_t *ctx,
    ngx_http_hangar_value_t *at, const char *path, const char *fmt, ...);

/* a tool access policy checked by check (ngx_http_hangar_policy_spec.h) */
typedef ngx_int_t (*ngx_http_hangar_policy_check_pt)(
    ngx_http_hangar_policy_err_t *err, const char *path,
    ngx_http_hangar_value_t *v);

ngx_int_t ngx_http_hangar_spec_policy(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v,
    ngx_http_hangar_policy_check_pt check);


#endif /* _NGX_HTTP_HANGAR_SPEC_H_INCLUDED_ */
