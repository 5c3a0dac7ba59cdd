
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <yaml.h>
#include "ngx_http_hangar_value.h"


/*
 * YAML configuration files (libyaml event API) and ${VAR} interpolation.
 * Only ngx_http_hangar_yaml_parse() and ngx_http_hangar_interpolate(),
 * declared in ngx_http_hangar_value.h, are exported; the rest is static.
 */


#define NGX_HTTP_HANGAR_YAML_MAX_DEPTH  64
#define NGX_HTTP_HANGAR_YAML_MAX_NODES  1000000
#define NGX_HTTP_HANGAR_YAML_TAG        "tag:yaml.org,2002:"
#define NGX_HTTP_HANGAR_YAML_INT64_MAX  ((uint64_t) 0x7fffffffffffffff)


typedef struct {
    ngx_str_t                    name;
    ngx_str_t                    text;      /* scalars only: the raw text */
    ngx_http_hangar_value_t     *value;
    ngx_uint_t                   height;    /* container levels inside */
    ngx_uint_t                   nodes;     /* values, aliases expanded */
} ngx_http_hangar_yaml_anchor_t;


typedef struct {
    yaml_parser_t                parser;
    ngx_pool_t                  *pool;
    ngx_str_t                   *file;
    ngx_str_t                   *err;
    u_char                      *data;
    size_t                       len;
    ngx_array_t                  anchors;   /* ngx_http_hangar_yaml_anchor_t */
    ngx_uint_t                   depth;
    ngx_uint_t                   height;
    ngx_uint_t                   nodes;
} ngx_http_hangar_yaml_ctx_t;


typedef struct {
    ngx_pool_t                  *pool;
    ngx_str_t                   *err;
    ngx_array_t                  done;      /* ngx_http_hangar_value_t * */
} ngx_http_hangar_yaml_interp_t;


static ngx_int_t ngx_http_hangar_yaml_read(ngx_http_hangar_yaml_ctx_t *ctx);
static ngx_http_hangar_value_t *ngx_http_hangar_yaml_document(
    ngx_http_hangar_yaml_ctx_t *ctx);
static ngx_int_t ngx_http_hangar_yaml_next(ngx_http_hangar_yaml_ctx_t *ctx,
    yaml_event_t *ev);
static ngx_http_hangar_value_t *ngx_http_hangar_yaml_node(
    ngx_http_hangar_yaml_ctx_t *ctx, yaml_event_t *ev, ngx_str_t *text);
static ngx_http_hangar_value_t *ngx_http_hangar_yaml_alias(
    ngx_http_hangar_yaml_ctx_t *ctx, yaml_event_t *ev, ngx_str_t *text);
static ngx_http_hangar_value_t *ngx_http_hangar_yaml_scalar(
    ngx_http_hangar_yaml_ctx_t *ctx, yaml_event_t *ev, ngx_str_t *text);
static ngx_int_t ngx_http_hangar_yaml_sequence(ngx_http_hangar_yaml_ctx_t *ctx,
    ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_yaml_mapping(ngx_http_hangar_yaml_ctx_t *ctx,
    ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_yaml_merge_add(
    ngx_http_hangar_yaml_ctx_t *ctx, ngx_array_t *merges,
    ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_yaml_merge(ngx_http_hangar_yaml_ctx_t *ctx,
    ngx_http_hangar_value_t *v, ngx_array_t *merges);
static ngx_uint_t ngx_http_hangar_yaml_word(u_char *p, size_t len,
    const char *word);
static ngx_int_t ngx_http_hangar_yaml_bool(u_char *p, size_t len,
    ngx_flag_t *b);
static ngx_int_t ngx_http_hangar_yaml_int(u_char *p, size_t len, int64_t *i);
static ngx_int_t ngx_http_hangar_yaml_float(ngx_pool_t *pool, u_char *p,
    size_t len, double *n);
static u_char *ngx_http_hangar_yaml_strdup(ngx_pool_t *pool, u_char *s,
    size_t len);
static void ngx_http_hangar_yaml_error(ngx_http_hangar_yaml_ctx_t *ctx,
    yaml_mark_t *mark, const char *fmt, ...);
static void ngx_http_hangar_yaml_parser_error(ngx_http_hangar_yaml_ctx_t *ctx);
static ngx_int_t ngx_http_hangar_yaml_interp_value(
    ngx_http_hangar_yaml_interp_t *ic, ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_yaml_interp_str(
    ngx_http_hangar_yaml_interp_t *ic, ngx_http_hangar_value_t *v);
static ngx_int_t ngx_http_hangar_yaml_lookup(ngx_http_hangar_yaml_interp_t *ic,
    ngx_http_hangar_value_t *v, ngx_str_t *name, ngx_str_t *def,
    ngx_str_t *value);
static u_char *ngx_http_hangar_yaml_var(u_char *p, u_char *end,
    ngx_str_t *name, ngx_str_t *def);


ngx_http_hangar_value_t *
ngx_http_hangar_yaml_parse(ngx_pool_t *pool, ngx_str_t *file, ngx_str_t *err)
{
    ngx_http_hangar_value_t     *root;
    ngx_http_hangar_yaml_ctx_t   ctx;

    ngx_memzero(&ctx, sizeof(ngx_http_hangar_yaml_ctx_t));

    ctx.pool = pool;
    ctx.file = file;
    ctx.err = err;

    if (ngx_http_hangar_yaml_read(&ctx) != NGX_OK) {
        return NULL;
    }

    if (ngx_array_init(&ctx.anchors, pool, 4,
                       sizeof(ngx_http_hangar_yaml_anchor_t))
        != NGX_OK)
    {
        ngx_http_hangar_yaml_error(&ctx, NULL, "out of memory");
        return NULL;
    }

    if (!yaml_parser_initialize(&ctx.parser)) {
        ngx_http_hangar_yaml_error(&ctx, NULL, "out of memory");
        return NULL;
    }

    yaml_parser_set_input_string(&ctx.parser, ctx.data, ctx.len);

    root = ngx_http_hangar_yaml_document(&ctx);

    yaml_parser_delete(&ctx.parser);

    /* scalars are copied; this frees the text if it was a large block */
    (void) ngx_pfree(pool, ctx.data);

    return root;
}


static ngx_int_t
ngx_http_hangar_yaml_read(ngx_http_hangar_yaml_ctx_t *ctx)
{
    u_char           *name, *p, *last;
    size_t            size;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_err_t         e;
    ngx_file_info_t   fi;

    name = ngx_http_hangar_yaml_strdup(ctx->pool, ctx->file->data,
                                       ctx->file->len);
    if (name == NULL) {
        ngx_http_hangar_yaml_error(ctx, NULL, "out of memory");
        return NGX_ERROR;
    }

    fd = ngx_open_file(name, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        e = ngx_errno;
        goto failed;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        e = ngx_errno;
        goto close;
    }

    size = (size_t) ngx_file_size(&fi);

    ctx->data = ngx_pnalloc(ctx->pool, size + 1);
    if (ctx->data == NULL) {
        (void) ngx_close_file(fd);
        ngx_http_hangar_yaml_error(ctx, NULL, "out of memory");
        return NGX_ERROR;
    }

    while (ctx->len < size) {
        n = ngx_read_fd(fd, ctx->data + ctx->len, size - ctx->len);

        if (n == -1) {
            e = ngx_errno;
            goto close;
        }

        if (n == 0) {
            break;
        }

        ctx->len += n;
    }

    (void) ngx_close_file(fd);

    return NGX_OK;

close:

    (void) ngx_close_file(fd);

failed:

    size = ctx->file->len + NGX_MAX_ERROR_STR;

    p = ngx_pnalloc(ctx->pool, size);
    if (p == NULL) {
        ngx_str_set(ctx->err, "out of memory");
        return NGX_ERROR;
    }

    last = p + size;
    ctx->err->data = p;

    p = ngx_slprintf(p, last, "%V: ", ctx->file);
    p = ngx_strerror(e, p, last - p);

    ctx->err->len = p - ctx->err->data;

    return NGX_ERROR;
}


static ngx_http_hangar_value_t *
ngx_http_hangar_yaml_document(ngx_http_hangar_yaml_ctx_t *ctx)
{
    ngx_str_t                 text;
    yaml_mark_t               mark;
    yaml_event_t              ev;
    yaml_event_type_t         type;
    ngx_http_hangar_value_t  *root;

    do {
        if (ngx_http_hangar_yaml_next(ctx, &ev) != NGX_OK) {
            return NULL;
        }

        type = ev.type;
        yaml_event_delete(&ev);

    } while (type == YAML_STREAM_START_EVENT);

    if (type == YAML_STREAM_END_EVENT) {
        goto empty;
    }

    /* YAML_DOCUMENT_START_EVENT */

    if (ngx_http_hangar_yaml_next(ctx, &ev) != NGX_OK) {
        return NULL;
    }

    if (ev.type == YAML_SCALAR_EVENT
        && ev.data.scalar.length == 0
        && ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE
        && ev.data.scalar.tag == NULL
        && ev.data.scalar.anchor == NULL)
    {
        yaml_event_delete(&ev);
        goto empty;
    }

    if (ev.type != YAML_MAPPING_START_EVENT) {
        mark = ev.start_mark;
        yaml_event_delete(&ev);
        ngx_http_hangar_yaml_error(ctx, &mark, "top level must be a mapping");
        return NULL;
    }

    root = ngx_http_hangar_yaml_node(ctx, &ev, &text);
    if (root == NULL) {
        return NULL;
    }

    /* let libyaml check the end of the first document; ignore the rest */

    if (ngx_http_hangar_yaml_next(ctx, &ev) != NGX_OK) {
        return NULL;
    }

    yaml_event_delete(&ev);

    return root;

empty:

    root = ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_OBJ);
    if (root == NULL) {
        ngx_http_hangar_yaml_error(ctx, NULL, "out of memory");
    }

    return root;
}


static ngx_int_t
ngx_http_hangar_yaml_next(ngx_http_hangar_yaml_ctx_t *ctx, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&ctx->parser, ev)) {
        ngx_http_hangar_yaml_parser_error(ctx);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* consumes *ev; *text is set to the raw text of a scalar (or alias to one) */

static ngx_http_hangar_value_t *
ngx_http_hangar_yaml_node(ngx_http_hangar_yaml_ctx_t *ctx, yaml_event_t *ev,
    ngx_str_t *text)
{
    ngx_int_t                       rc;
    ngx_str_t                       name;
    ngx_uint_t                      height, nodes;
    yaml_mark_t                     mark;
    yaml_event_type_t               type;
    ngx_http_hangar_value_t        *v;
    ngx_http_hangar_yaml_anchor_t  *a;

    ngx_str_null(text);
    ngx_str_null(&name);

    height = ctx->height;
    nodes = ctx->nodes;
    ctx->height = ctx->depth;

    type = ev->type;
    mark = ev->start_mark;

    switch (type) {

    case YAML_ALIAS_EVENT:
        v = ngx_http_hangar_yaml_alias(ctx, ev, text);
        break;

    case YAML_SCALAR_EVENT:
        name.data = ev->data.scalar.anchor;
        v = ngx_http_hangar_yaml_scalar(ctx, ev, text);
        break;

    case YAML_SEQUENCE_START_EVENT:
        name.data = ev->data.sequence_start.anchor;
        v = ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_ARR);
        break;

    case YAML_MAPPING_START_EVENT:
        name.data = ev->data.mapping_start.anchor;
        v = ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_OBJ);
        break;

    default:
        ngx_http_hangar_yaml_error(ctx, &mark, "unexpected YAML event");
        yaml_event_delete(ev);
        return NULL;
    }

    if (v != NULL && name.data != NULL) {
        name.len = ngx_strlen(name.data);
        name.data = ngx_http_hangar_yaml_strdup(ctx->pool, name.data,
                                                name.len);
    }

    yaml_event_delete(ev);

    if (v == NULL) {
        if (type != YAML_ALIAS_EVENT && type != YAML_SCALAR_EVENT) {
            ngx_http_hangar_yaml_error(ctx, NULL, "out of memory");
        }

        return NULL;
    }

    if (name.len && name.data == NULL) {
        ngx_http_hangar_yaml_error(ctx, NULL, "out of memory");
        return NULL;
    }

    if (type != YAML_ALIAS_EVENT) {
        v->line = mark.line + 1;
        v->col = mark.column + 1;

        if (++ctx->nodes > NGX_HTTP_HANGAR_YAML_MAX_NODES) {
            ngx_http_hangar_yaml_error(ctx, &mark, "too many nodes");
            return NULL;
        }
    }

    if (type == YAML_SEQUENCE_START_EVENT
        || type == YAML_MAPPING_START_EVENT)
    {
        if (++ctx->depth > NGX_HTTP_HANGAR_YAML_MAX_DEPTH) {
            ngx_http_hangar_yaml_error(ctx, &mark, "nesting too deep");
            return NULL;
        }

        if (ctx->depth > ctx->height) {
            ctx->height = ctx->depth;
        }

        if (type == YAML_SEQUENCE_START_EVENT) {
            rc = ngx_http_hangar_yaml_sequence(ctx, v);

        } else {
            rc = ngx_http_hangar_yaml_mapping(ctx, v);
        }

        ctx->depth--;

        if (rc != NGX_OK) {
            return NULL;
        }
    }

    if (name.len) {
        a = ngx_array_push(&ctx->anchors);
        if (a == NULL) {
            ngx_http_hangar_yaml_error(ctx, NULL, "out of memory");
            return NULL;
        }

        a->name = name;
        a->text = *text;
        a->value = v;
        a->height = ctx->height - ctx->depth;
        a->nodes = ctx->nodes - nodes;
    }

    if (height > ctx->height) {
        ctx->height = height;
    }

    return v;
}


static ngx_http_hangar_value_t *
ngx_http_hangar_yaml_alias(ngx_http_hangar_yaml_ctx_t *ctx, yaml_event_t *ev,
    ngx_str_t *text)
{
    u_char                         *name;
    size_t                          len;
    ngx_uint_t                      i;
    ngx_http_hangar_yaml_anchor_t  *a;

    name = ev->data.alias.anchor;
    len = ngx_strlen(name);
    a = ctx->anchors.elts;

    /* an anchor may be redefined: the latest definition counts */

    for (i = ctx->anchors.nelts; i > 0; i--) {
        if (a[i - 1].name.len == len
            && ngx_strncmp(a[i - 1].name.data, name, len) == 0)
        {
            break;
        }
    }

    if (i == 0) {
        ngx_http_hangar_yaml_error(ctx, &ev->start_mark,
                                   "unknown alias \"%s\"", name);
        return NULL;
    }

    a = &a[i - 1];

    if (ctx->depth + a->height > NGX_HTTP_HANGAR_YAML_MAX_DEPTH) {
        ngx_http_hangar_yaml_error(ctx, &ev->start_mark, "nesting too deep");
        return NULL;
    }

    if (ctx->depth + a->height > ctx->height) {
        ctx->height = ctx->depth + a->height;
    }

    ctx->nodes += a->nodes;

    if (ctx->nodes > NGX_HTTP_HANGAR_YAML_MAX_NODES) {
        ngx_http_hangar_yaml_error(ctx, &ev->start_mark,
                                   "too many nodes after alias expansion");
        return NULL;
    }

    *text = a->text;

    return a->value;
}


static ngx_http_hangar_value_t *
ngx_http_hangar_yaml_scalar(ngx_http_hangar_yaml_ctx_t *ctx, yaml_event_t *ev,
    ngx_str_t *text)
{
    u_char                   *p, *tag;
    size_t                    len, n;
    ngx_int_t                 rc;
    ngx_http_hangar_value_t  *v;

    len = ev->data.scalar.length;

    p = ngx_http_hangar_yaml_strdup(ctx->pool, ev->data.scalar.value, len);
    if (p == NULL) {
        goto nomem;
    }

    v = ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_STR);
    if (v == NULL) {
        goto nomem;
    }

    v->u.s.data = p;
    v->u.s.len = len;

    text->data = p;
    text->len = len;

    tag = ev->data.scalar.tag;
    n = sizeof(NGX_HTTP_HANGAR_YAML_TAG) - 1;

    if (tag != NULL && ngx_strncmp(tag, NGX_HTTP_HANGAR_YAML_TAG, n) == 0) {
        tag += n;
        rc = NGX_OK;

        if (ngx_strcmp(tag, "str") == 0) {
            v->quoted = 1;
            return v;
        }

        if (ngx_strcmp(tag, "null") == 0) {
            v->type = NGX_HTTP_HANGAR_NULL;
            return v;
        }

        if (ngx_strcmp(tag, "bool") == 0) {
            rc = ngx_http_hangar_yaml_bool(p, len, &v->u.b);
            v->type = NGX_HTTP_HANGAR_BOOL;

        } else if (ngx_strcmp(tag, "int") == 0) {
            rc = ngx_http_hangar_yaml_int(p, len, &v->u.i);
            v->type = NGX_HTTP_HANGAR_INT;

        } else if (ngx_strcmp(tag, "float") == 0) {
            rc = ngx_http_hangar_yaml_float(ctx->pool, p, len, &v->u.n);

            if (rc == NGX_DECLINED) {
                rc = ngx_http_hangar_yaml_int(p, len, &v->u.i);
                v->u.n = (double) v->u.i;
            }

            v->type = NGX_HTTP_HANGAR_NUM;

        } else {
            /* other standard tags: typed by style as if untagged */
            tag = NULL;
        }

        if (rc == NGX_ERROR) {
            goto nomem;
        }

        if (rc == NGX_DECLINED) {
            ngx_http_hangar_yaml_error(ctx, &ev->start_mark,
                                       "invalid !!%s value \"%V\"",
                                       tag, text);
            return NULL;
        }

        if (tag != NULL) {
            return v;
        }

    } else if (tag != NULL && ngx_strcmp(tag, "!") == 0) {
        /* the non-specific tag "!" makes a string */
        v->quoted = 1;
        return v;
    }

    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        v->quoted = 1;
        return v;
    }

    if (len == 0
        || (len == 1 && p[0] == '~')
        || ngx_http_hangar_yaml_word(p, len, "null"))
    {
        v->type = NGX_HTTP_HANGAR_NULL;
        return v;
    }

    if (ngx_http_hangar_yaml_bool(p, len, &v->u.b) == NGX_OK) {
        v->type = NGX_HTTP_HANGAR_BOOL;
        return v;
    }

    if (ngx_strchr("-+.0123456789", p[0]) == NULL) {
        return v;
    }

    if (ngx_http_hangar_yaml_int(p, len, &v->u.i) == NGX_OK) {
        v->type = NGX_HTTP_HANGAR_INT;
        return v;
    }

    rc = ngx_http_hangar_yaml_float(ctx->pool, p, len, &v->u.n);

    if (rc == NGX_ERROR) {
        goto nomem;
    }

    if (rc == NGX_OK) {
        v->type = NGX_HTTP_HANGAR_NUM;
        return v;
    }

    v->u.s = *text;

    return v;

nomem:

    ngx_http_hangar_yaml_error(ctx, NULL, "out of memory");
    return NULL;
}


static ngx_int_t
ngx_http_hangar_yaml_sequence(ngx_http_hangar_yaml_ctx_t *ctx,
    ngx_http_hangar_value_t *v)
{
    ngx_str_t                 text;
    yaml_event_t              ev;
    ngx_http_hangar_value_t  *item;

    for ( ;; ) {
        if (ngx_http_hangar_yaml_next(ctx, &ev) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return NGX_OK;
        }

        item = ngx_http_hangar_yaml_node(ctx, &ev, &text);
        if (item == NULL) {
            return NGX_ERROR;
        }

        if (ngx_http_hangar_push(v, item) != NGX_OK) {
            ngx_http_hangar_yaml_error(ctx, NULL, "out of memory");
            return NGX_ERROR;
        }
    }
}


static ngx_int_t
ngx_http_hangar_yaml_mapping(ngx_http_hangar_yaml_ctx_t *ctx,
    ngx_http_hangar_value_t *v)
{
    u_char                   *tag;
    ngx_str_t                 key, text;
    ngx_uint_t                merge;
    yaml_mark_t               mark;
    ngx_array_t               merges;
    yaml_event_t              ev;
    ngx_http_hangar_value_t  *val;

    ngx_memzero(&merges, sizeof(ngx_array_t));

    for ( ;; ) {
        if (ngx_http_hangar_yaml_next(ctx, &ev) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }

        mark = ev.start_mark;

        if (ev.type != YAML_SCALAR_EVENT && ev.type != YAML_ALIAS_EVENT) {
            yaml_event_delete(&ev);
            goto not_scalar;
        }

        /* a plain "<<" key is a merge key (YAML 1.1) */

        tag = (ev.type == YAML_SCALAR_EVENT) ? ev.data.scalar.tag : NULL;

        merge = (ev.type == YAML_SCALAR_EVENT
                 && ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                 && ev.data.scalar.length == 2
                 && ngx_strncmp(ev.data.scalar.value, "<<", 2) == 0
                 && (tag == NULL
                     || ngx_strcmp(tag, NGX_HTTP_HANGAR_YAML_TAG "merge")
                        == 0));

        if (ngx_http_hangar_yaml_node(ctx, &ev, &key) == NULL) {
            return NGX_ERROR;
        }

        if (key.data == NULL) {
            goto not_scalar;
        }

        if (ngx_http_hangar_yaml_next(ctx, &ev) != NGX_OK) {
            return NGX_ERROR;
        }

        val = ngx_http_hangar_yaml_node(ctx, &ev, &text);
        if (val == NULL) {
            return NGX_ERROR;
        }

        if (merge) {
            if (ngx_http_hangar_yaml_merge_add(ctx, &merges, val) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        if (ngx_http_hangar_set(ctx->pool, v, key.data, key.len, val)
            != NGX_OK)
        {
            ngx_http_hangar_yaml_error(ctx, NULL, "out of memory");
            return NGX_ERROR;
        }
    }

    if (merges.nelts) {
        return ngx_http_hangar_yaml_merge(ctx, v, &merges);
    }

    return NGX_OK;

not_scalar:

    ngx_http_hangar_yaml_error(ctx, &mark, "mapping keys must be scalars");
    return NGX_ERROR;
}


/*
 * Collects merge sources in the order they take effect (later ones win):
 * a sequence is added in reverse, so that its first mapping wins.
 */

static ngx_int_t
ngx_http_hangar_yaml_merge_add(ngx_http_hangar_yaml_ctx_t *ctx,
    ngx_array_t *merges, ngx_http_hangar_value_t *v)
{
    ngx_uint_t                 i, n;
    yaml_mark_t                mark;
    ngx_http_hangar_value_t  **items, *src, **p;

    if (merges->elts == NULL
        && ngx_array_init(merges, ctx->pool, 2,
                          sizeof(ngx_http_hangar_value_t *))
           != NGX_OK)
    {
        goto nomem;
    }

    if (v->type == NGX_HTTP_HANGAR_OBJ) {
        n = 1;
        items = &v;

    } else if (v->type == NGX_HTTP_HANGAR_ARR) {
        n = v->u.arr.nelts;
        items = v->u.arr.elts;

    } else {
        goto invalid;
    }

    for (i = n; i > 0; i--) {
        src = items[i - 1];

        if (src == NULL || src->type != NGX_HTTP_HANGAR_OBJ) {
            v = src ? src : v;
            goto invalid;
        }

        p = ngx_array_push(merges);
        if (p == NULL) {
            goto nomem;
        }

        *p = src;
    }

    return NGX_OK;

invalid:

    ngx_memzero(&mark, sizeof(yaml_mark_t));
    mark.line = v->line ? v->line - 1 : 0;
    mark.column = v->col ? v->col - 1 : 0;

    ngx_http_hangar_yaml_error(ctx, &mark,
                            "expected a mapping or list of mappings for merging");
    return NGX_ERROR;

nomem:

    ngx_http_hangar_yaml_error(ctx, NULL, "out of memory");
    return NGX_ERROR;
}


/* merged keys first, then the explicit ones, which win regardless of order */

static ngx_int_t
ngx_http_hangar_yaml_merge(ngx_http_hangar_yaml_ctx_t *ctx,
    ngx_http_hangar_value_t *v, ngx_array_t *merges)
{
    ngx_uint_t                 i, j;
    ngx_http_hangar_pair_t    *pair;
    ngx_http_hangar_value_t   *m, *o, **src;

    m = ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_OBJ);
    if (m == NULL) {
        goto nomem;
    }

    src = merges->elts;

    for (i = 0; i <= merges->nelts; i++) {
        o = (i < merges->nelts) ? src[i] : v;
        pair = o->u.obj.elts;

        for (j = 0; j < o->u.obj.nelts; j++) {
            if (ngx_http_hangar_set(ctx->pool, m, pair[j].key.data,
                                    pair[j].key.len, pair[j].value)
                != NGX_OK)
            {
                goto nomem;
            }
        }
    }

    v->u.obj = m->u.obj;

    return NGX_OK;

nomem:

    ngx_http_hangar_yaml_error(ctx, NULL, "out of memory");
    return NGX_ERROR;
}


/* "word", "Word" or "WORD" */

static ngx_uint_t
ngx_http_hangar_yaml_word(u_char *p, size_t len, const char *word)
{
    size_t      i;
    ngx_uint_t  lower, upper;

    if (len != ngx_strlen(word)
        || ngx_strncasecmp(p, (u_char *) word, len) != 0)
    {
        return 0;
    }

    lower = 1;
    upper = 1;

    for (i = 1; i < len; i++) {
        if (p[i] >= 'a' && p[i] <= 'z') {
            upper = 0;

        } else {
            lower = 0;
        }
    }

    return lower || (upper && p[0] >= 'A' && p[0] <= 'Z');
}


static ngx_int_t
ngx_http_hangar_yaml_bool(u_char *p, size_t len, ngx_flag_t *b)
{
    ngx_uint_t           i;
    static const char   *words[] = { "yes", "true", "on", "no", "false",
                                     "off" };

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (ngx_http_hangar_yaml_word(p, len, words[i])) {
            *b = (i < 3);
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/* [-+]? then 0|[1-9][0-9_]*, 0x[0-9a-fA-F_]+, 0o[0-7_]+, 0[0-7_]+, 0b[01_]+ */

static ngx_int_t
ngx_http_hangar_yaml_int(u_char *p, size_t len, int64_t *i)
{
    u_char      *end;
    uint64_t     n, base, d, limit;
    ngx_uint_t   neg, digits;

    end = p + len;
    neg = 0;

    if (p < end && (*p == '-' || *p == '+')) {
        neg = (*p++ == '-');
    }

    if (p == end) {
        return NGX_DECLINED;
    }

    base = 10;

    if (*p == '0' && end - p > 1) {
        p++;
        base = 8;

        if (*p == 'x' || *p == 'o' || *p == 'b') {
            base = (*p == 'x') ? 16 : (*p == 'o') ? 8 : 2;
            p++;
        }

    } else if (*p < '0' || *p > '9') {
        return NGX_DECLINED;
    }

    limit = neg ? NGX_HTTP_HANGAR_YAML_INT64_MAX + 1
                : NGX_HTTP_HANGAR_YAML_INT64_MAX;
    n = 0;
    digits = (base == 8 && p[-1] == '0');

    for ( /* void */ ; p < end; p++) {
        if (*p == '_') {
            continue;
        }

        if (*p >= '0' && *p <= '9') {
            d = *p - '0';

        } else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f') {
            d = (*p | 0x20) - 'a' + 10;

        } else {
            return NGX_DECLINED;
        }

        if (d >= base) {
            return NGX_DECLINED;
        }

        if (n > (limit - d) / base) {
            /* out of int64 range: left as a string */
            return NGX_DECLINED;
        }

        n = n * base + d;
        digits++;
    }

    if (digits == 0) {
        return NGX_DECLINED;
    }

    *i = neg ? (n ? -(int64_t) (n - 1) - 1 : 0) : (int64_t) n;

    return NGX_OK;
}


/*
 * [-+]?([0-9][0-9_]*(\.[0-9_]*)?|\.[0-9][0-9_]*)([eE][-+]?[0-9]+)? with a
 * dot or an exponent, [-+]?.inf and .nan (YAML 1.1 and 1.2 spellings)
 */

static ngx_int_t
ngx_http_hangar_yaml_float(ngx_pool_t *pool, u_char *p, size_t len,
    double *n)
{
    u_char      *s, *end, *buf, *d;
    ngx_uint_t   mark;

    s = p;
    end = p + len;

    if (p < end && (*p == '-' || *p == '+')) {
        p++;
    }

    if (end - p == 4 && p[0] == '.'
        && ngx_http_hangar_yaml_word(p + 1, 3, "inf"))
    {
        *n = strtod(*s == '-' ? "-inf" : "inf", NULL);
        return NGX_OK;
    }

    if (len == 4 && p == s && p[0] == '.'
        && (ngx_strncmp(p, ".nan", 4) == 0 || ngx_strncmp(p, ".NaN", 4) == 0
            || ngx_strncmp(p, ".NAN", 4) == 0))
    {
        *n = strtod("nan", NULL);
        return NGX_OK;
    }

    mark = 0;

    if (p < end && *p >= '0' && *p <= '9') {
        while (p < end && ((*p >= '0' && *p <= '9') || *p == '_')) {
            p++;
        }

        if (p < end && *p == '.') {
            mark = 1;

            do {
                p++;
            } while (p < end && ((*p >= '0' && *p <= '9') || *p == '_'));
        }

    } else if (end - p > 1 && *p == '.' && p[1] >= '0' && p[1] <= '9') {
        mark = 1;

        do {
            p++;
        } while (p < end && ((*p >= '0' && *p <= '9') || *p == '_'));

    } else {
        return NGX_DECLINED;
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        mark = 1;

        if (++p < end && (*p == '-' || *p == '+')) {
            p++;
        }

        if (p == end) {
            return NGX_DECLINED;
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p != end || !mark) {
        return NGX_DECLINED;
    }

    buf = ngx_pnalloc(pool, len + 1);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    for (d = buf, p = s; p < end; p++) {
        if (*p != '_') {
            *d++ = *p;
        }
    }

    *d = '\0';

    *n = strtod((char *) buf, (char **) &p);

    return (p == d) ? NGX_OK : NGX_DECLINED;
}


static u_char *
ngx_http_hangar_yaml_strdup(ngx_pool_t *pool, u_char *s, size_t len)
{
    u_char  *p;

    p = ngx_pnalloc(pool, len + 1);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s, len);
    p[len] = '\0';

    return p;
}


static void
ngx_http_hangar_yaml_error(ngx_http_hangar_yaml_ctx_t *ctx, yaml_mark_t *mark,
    const char *fmt, ...)
{
    u_char   *p, *last;
    size_t    size;
    va_list   args;

    size = ctx->file->len + NGX_MAX_ERROR_STR;

    p = ngx_pnalloc(ctx->pool, size);
    if (p == NULL) {
        ngx_str_set(ctx->err, "out of memory");
        return;
    }

    last = p + size;
    ctx->err->data = p;

    if (mark) {
        p = ngx_slprintf(p, last, "%V:%uz:%uz: ", ctx->file,
                         mark->line + 1, mark->column + 1);

    } else {
        p = ngx_slprintf(p, last, "%V: ", ctx->file);
    }

    va_start(args, fmt);
    p = ngx_vslprintf(p, last, fmt, args);
    va_end(args);

    ctx->err->len = p - ctx->err->data;
}


static void
ngx_http_hangar_yaml_parser_error(ngx_http_hangar_yaml_ctx_t *ctx)
{
    u_char         *p, *end;
    yaml_mark_t     mark;
    yaml_parser_t  *parser;

    parser = &ctx->parser;

    if (parser->error == YAML_MEMORY_ERROR || parser->problem == NULL) {
        ngx_http_hangar_yaml_error(ctx, NULL, "out of memory");
        return;
    }

    mark = parser->problem_mark;

    if (parser->error == YAML_READER_ERROR) {

        /* the reader reports a byte offset only */

        ngx_memzero(&mark, sizeof(yaml_mark_t));

        end = ctx->data + ngx_min(parser->problem_offset, ctx->len);

        for (p = ctx->data; p < end; p++) {
            if (*p == '\n') {
                mark.line++;
                mark.column = 0;

            } else if ((*p & 0xc0) != 0x80) {
                mark.column++;
            }
        }
    }

    if (parser->context) {
        ngx_http_hangar_yaml_error(ctx, &mark, "%s %s", parser->problem,
                                   parser->context);

    } else {
        ngx_http_hangar_yaml_error(ctx, &mark, "%s", parser->problem);
    }
}


ngx_int_t
ngx_http_hangar_interpolate(ngx_pool_t *pool, ngx_http_hangar_value_t *v,
    ngx_str_t *err)
{
    ngx_http_hangar_yaml_interp_t  ic;

    ic.pool = pool;
    ic.err = err;

    if (ngx_array_init(&ic.done, pool, 4, sizeof(ngx_http_hangar_value_t *))
        != NGX_OK)
    {
        ngx_str_set(err, "out of memory");
        return NGX_ERROR;
    }

    return ngx_http_hangar_yaml_interp_value(&ic, v);
}


static ngx_int_t
ngx_http_hangar_yaml_interp_value(ngx_http_hangar_yaml_interp_t *ic,
    ngx_http_hangar_value_t *v)
{
    ngx_uint_t                 i;
    ngx_http_hangar_pair_t    *pair;
    ngx_http_hangar_value_t  **item;

    if (v == NULL) {
        return NGX_OK;
    }

    switch (v->type) {

    case NGX_HTTP_HANGAR_STR:
        return ngx_http_hangar_yaml_interp_str(ic, v);

    case NGX_HTTP_HANGAR_ARR:
        item = v->u.arr.elts;

        for (i = 0; i < v->u.arr.nelts; i++) {
            if (ngx_http_hangar_yaml_interp_value(ic, item[i]) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        return NGX_OK;

    case NGX_HTTP_HANGAR_OBJ:
        pair = v->u.obj.elts;

        for (i = 0; i < v->u.obj.nelts; i++) {
            if (ngx_http_hangar_yaml_interp_value(ic, pair[i].value)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        return NGX_OK;

    default:
        return NGX_OK;
    }
}


static ngx_int_t
ngx_http_hangar_yaml_interp_str(ngx_http_hangar_yaml_interp_t *ic,
    ngx_http_hangar_value_t *v)
{
    u_char                    *p, *end, *next, *data, *d;
    size_t                     len;
    ngx_str_t                  name, def, value;
    ngx_uint_t                 i, found;
    ngx_http_hangar_value_t  **done;

    /* aliases share values: one that was already rewritten is left alone */

    done = ic->done.elts;

    for (i = 0; i < ic->done.nelts; i++) {
        if (done[i] == v) {
            return NGX_OK;
        }
    }

    len = 0;
    found = 0;
    end = v->u.s.data + v->u.s.len;

    for (p = v->u.s.data; p < end; p = next) {
        next = ngx_http_hangar_yaml_var(p, end, &name, &def);

        if (next == NULL) {
            next = p + 1;
            len++;
            continue;
        }

        if (ngx_http_hangar_yaml_lookup(ic, v, &name, &def, &value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        len += value.len;
        found = 1;
    }

    if (!found) {
        return NGX_OK;
    }

    data = ngx_pnalloc(ic->pool, len + 1);
    if (data == NULL) {
        ngx_str_set(ic->err, "out of memory");
        return NGX_ERROR;
    }

    d = data;

    for (p = v->u.s.data; p < end; p = next) {
        next = ngx_http_hangar_yaml_var(p, end, &name, &def);

        if (next == NULL) {
            next = p + 1;

            if (d < data + len) {
                *d++ = *p;
            }

            continue;
        }

        if (ngx_http_hangar_yaml_lookup(ic, v, &name, &def, &value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        d = ngx_cpymem(d, value.data, ngx_min(value.len, len - (d - data)));
    }

    *d = '\0';

    v->u.s.data = data;
    v->u.s.len = d - data;

    done = ngx_array_push(&ic->done);
    if (done == NULL) {
        ngx_str_set(ic->err, "out of memory");
        return NGX_ERROR;
    }

    *done = v;

    return NGX_OK;
}


/* as in the shell, ":-" uses the default when unset or empty */

static ngx_int_t
ngx_http_hangar_yaml_lookup(ngx_http_hangar_yaml_interp_t *ic,
    ngx_http_hangar_value_t *v, ngx_str_t *name, ngx_str_t *def,
    ngx_str_t *value)
{
    u_char  *p, *last, buf[128];
    char    *env;
    size_t   size;

    p = (name->len < sizeof(buf)) ? buf : ngx_pnalloc(ic->pool, name->len + 1);
    if (p == NULL) {
        ngx_str_set(ic->err, "out of memory");
        return NGX_ERROR;
    }

    ngx_memcpy(p, name->data, name->len);
    p[name->len] = '\0';

    env = getenv((char *) p);

    if (env != NULL && (*env != '\0' || def->data == NULL)) {
        value->data = (u_char *) env;
        value->len = ngx_strlen(env);
        return NGX_OK;
    }

    if (def->data != NULL) {
        *value = *def;
        return NGX_OK;
    }

    size = name->len + 2 * NGX_INT_T_LEN
           + sizeof(": required environment variable '${}'"
                    " is not set and has no default");

    p = ngx_pnalloc(ic->pool, size);
    if (p == NULL) {
        ngx_str_set(ic->err, "out of memory");
        return NGX_ERROR;
    }

    last = ngx_slprintf(p, p + size, "%ui:%ui: required environment variable "
                        "'${%V}' is not set and has no default",
                        v->line, v->col, name);

    ic->err->data = p;
    ic->err->len = last - p;

    return NGX_ERROR;
}


/* "${NAME}" or "${NAME:-default}" at p: returns the end, or NULL */

static u_char *
ngx_http_hangar_yaml_var(u_char *p, u_char *end, ngx_str_t *name,
    ngx_str_t *def)
{
    if (end - p < 4 || p[0] != '$' || p[1] != '{') {
        return NULL;
    }

    p += 2;
    name->data = p;

    if (*p != '_' && ((*p | 0x20) < 'a' || (*p | 0x20) > 'z')) {
        return NULL;
    }

    while (p < end
           && (*p == '_' || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')
               || (*p >= '0' && *p <= '9')))
    {
        p++;
    }

    name->len = p - name->data;

    if (p < end && *p == '}') {
        ngx_str_null(def);
        return p + 1;
    }

    if (end - p < 2 || p[0] != ':' || p[1] != '-') {
        return NULL;
    }

    p += 2;
    def->data = p;

    while (p < end && *p != '}') {
        p++;
    }

    if (p == end) {
        return NULL;
    }

    def->len = p - def->data;

    return p + 1;
}
