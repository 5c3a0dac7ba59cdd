
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The field table that validates YAML and JSON alike (the machinery of
 * ngx_http_hangar_spec.c), for the tables kept in files of their own.
 */


#ifndef _NGX_HTTP_HANGAR_FIELD_H_INCLUDED_
#define _NGX_HTTP_HANGAR_FIELD_H_INCLUDED_


#include "ngx_http_hangar_spec.h"


#define NGX_HTTP_HANGAR_PATH_MAX  256


typedef enum {
    NGX_HTTP_HANGAR_F_STR = 0,    /* string */
    NGX_HTTP_HANGAR_F_INT,        /* integer in [min, max] */
    NGX_HTTP_HANGAR_F_NUM,        /* number in [min, max] */
    NGX_HTTP_HANGAR_F_BOOL,
    NGX_HTTP_HANGAR_F_ENUM,       /* one of enums */
    NGX_HTTP_HANGAR_F_STRLIST,    /* list of strings, at most max items */
    NGX_HTTP_HANGAR_F_STRMAP,     /* object of strings */
    NGX_HTTP_HANGAR_F_OBJ,        /* object checked against sub */
    NGX_HTTP_HANGAR_F_ANYOBJ,     /* any object, kept as given */
    NGX_HTTP_HANGAR_F_ANY         /* any value, kept as given */
} ngx_http_hangar_ftype_e;


typedef struct ngx_http_hangar_field_s  ngx_http_hangar_field_t;

typedef ngx_int_t (*ngx_http_hangar_check_pt)(ngx_http_hangar_spec_ctx_t *ctx,
    const char *path, ngx_http_hangar_value_t *v);

struct ngx_http_hangar_field_s {
    const char                  *name;
    ngx_http_hangar_ftype_e      type;
    int64_t                      min;
    int64_t                      max;
    const char                 **enums;
    ngx_http_hangar_field_t     *sub;
    ngx_http_hangar_check_pt     check;
    const char                  *canonical;   /* alias: stored under this */
};


#define F_STR(n, max)      { n, NGX_HTTP_HANGAR_F_STR, 0, max, NULL, NULL,   \
                             NULL, NULL }
#define F_INT(n, lo, hi)   { n, NGX_HTTP_HANGAR_F_INT, lo, hi, NULL, NULL,   \
                             NULL, NULL }
#define F_NUM(n, lo, hi)   { n, NGX_HTTP_HANGAR_F_NUM, lo, hi, NULL, NULL,   \
                             NULL, NULL }
#define F_BOOL(n)          { n, NGX_HTTP_HANGAR_F_BOOL, 0, 0, NULL, NULL,    \
                             NULL, NULL }
#define F_ENUM(n, e)       { n, NGX_HTTP_HANGAR_F_ENUM, 0, 0, e, NULL, NULL, \
                             NULL }
#define F_OBJ(n, t)        { n, NGX_HTTP_HANGAR_F_OBJ, 0, 0, NULL, t, NULL,  \
                             NULL }
#define F_ANYOBJ(n)        { n, NGX_HTTP_HANGAR_F_ANYOBJ, 0, 0, NULL, NULL,  \
                             NULL, NULL }
#define F_END              { NULL, 0, 0, 0, NULL, NULL, NULL, NULL }


#endif /* _NGX_HTTP_HANGAR_FIELD_H_INCLUDED_ */
