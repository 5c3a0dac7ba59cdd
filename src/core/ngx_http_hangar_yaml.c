
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <yaml.h>
#include "ngx_http_hangar_yaml.h"
#include "ngx_http_hangar_value.h"


/*
 * YAML configuration files (libyaml events) and ${VAR} interpolation.
 * Exported: ngx_http_hangar_yaml_parse() and ngx_http_hangar_interpolate(),
 * declared in ngx_http_hangar_value.h; everything else is static.
 */


#define NGX_HTTP_HANGAR_YAML_MAX_DEPTH  64
#define NGX_HTTP_HANGAR_YAML_MAX_NODES  1000000

/* what ${VAR} expansion may add up to in one file, in bytes */
#define NGX_HTTP_HANGAR_YAML_MAX_EXPAND  (1024 * 1024)
#define NGX_HTTP_HANGAR_YAML_TAG        "tag:yaml.org,2002:"


typedef struct {
    ngx_str_t                    name;
    ngx_str_t                    text;      /* raw text of a scalar */
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
    ngx_uint_t                   height;    /* deepest level seen */
    ngx_uint_t                   nodes;
} ngx_http_hangar_yaml_ctx_t;


typedef struct {
    ngx_pool_t                  *pool;
    ngx_str_t                   *err;
    ngx_array_t                  done;      /* rewritten string values */
    size_t                       expanded;  /* bytes of rewritten values */
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
static ngx_int_t ngx_http_hangar_yaml_too_big(
    ngx_http_hangar_yaml_interp_t *ic, ngx_http_hangar_value_t *v);


ngx_http_hangar_value_t *
ngx_http_hangar_yaml_parse(ngx_pool_t *pool, ngx_str_t *file, ngx_str_t *err)
{
    ngx_http_hangar_value_t     *root;
    ngx_http_hangar_yaml_ctx_t   ctx;

    ngx_memzero(&ctx, sizeof(ngx_http_hangar_yaml_ctx_t));

    ctx.pool = pool;
    ctx.file = file;
    ctx.err = err;

    ngx_str_null(err);
    root = NULL;

    if (ngx_http_hangar_yaml_read(&ctx) == NGX_OK
        && ngx_array_init(&ctx.anchors, pool, 4,
                          sizeof(ngx_http_hangar_yaml_anchor_t))
           == NGX_OK
        && yaml_parser_initialize(&ctx.parser))
    {
        yaml_parser_set_input_string(&ctx.parser, ctx.data, ctx.len);

        root = ngx_http_hangar_yaml_document(&ctx);

        yaml_parser_delete(&ctx.parser);

        /* scalars are copied: frees the text if it was a large block */
        (void) ngx_pfree(pool, ctx.data);
    }

    /* the failures that left no message are allocation failures */

    if (root == NULL && err->len == 0) {
        ngx_http_hangar_yaml_error(&ctx, NULL, "out of memory");
    }

    return root;
}


static ngx_int_t
ngx_http_hangar_yaml_read(ngx_http_hangar_yaml_ctx_t *ctx)
{
    u_char           *name, *p, buf[NGX_MAX_ERROR_STR];
    size_t            size;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_err_t         e;
    ngx_file_info_t   fi;

    name = ngx_http_hangar_yaml_strdup(ctx->pool, ctx->file->data,
                                       ctx->file->len);
    if (name == NULL) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(name, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        goto failed;
    }

    n = -1;

    if (ngx_fd_info(fd, &fi) != NGX_FILE_ERROR) {
        size = (size_t) ngx_file_size(&fi);

        ctx->data = ngx_pnalloc(ctx->pool, size + 1);
        if (ctx->data == NULL) {
            (void) ngx_close_file(fd);
            return NGX_ERROR;
        }

        do {
            n = ngx_read_fd(fd, ctx->data + ctx->len, size - ctx->len);
            ctx->len += (n > 0) ? n : 0;
        } while (n > 0 && ctx->len < size);
    }

    e = ngx_errno;
    (void) ngx_close_file(fd);

    if (n != -1) {
        return NGX_OK;
    }

    ngx_set_errno(e);

failed:

    p = ngx_strerror(ngx_errno, buf, sizeof(buf));
    ngx_http_hangar_yaml_error(ctx, NULL, "%*s", (size_t) (p - buf), buf);

    return NGX_ERROR;
}


static ngx_http_hangar_value_t *
ngx_http_hangar_yaml_document(ngx_http_hangar_yaml_ctx_t *ctx)
{
    ngx_str_t                 text;
    ngx_uint_t                i, empty;
    yaml_mark_t               mark;
    yaml_event_t              ev;
    yaml_event_type_t         type;
    ngx_http_hangar_value_t  *root;

    /* STREAM-START, then DOCUMENT-START or STREAM-END */

    for (i = 0; i < 2; i++) {
        if (ngx_http_hangar_yaml_next(ctx, &ev) != NGX_OK) {
            return NULL;
        }

        type = ev.type;
        yaml_event_delete(&ev);
    }

    if (type == YAML_STREAM_END_EVENT) {
        return ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_OBJ);
    }

    if (ngx_http_hangar_yaml_next(ctx, &ev) != NGX_OK) {
        return NULL;
    }

    if (ev.type != YAML_MAPPING_START_EVENT) {
        empty = (ev.type == YAML_SCALAR_EVENT
                 && ev.data.scalar.length == 0
                 && ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                 && ev.data.scalar.tag == NULL
                 && ev.data.scalar.anchor == NULL);

        mark = ev.start_mark;
        yaml_event_delete(&ev);

        if (empty) {
            return ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_OBJ);
        }

        ngx_http_hangar_yaml_error(ctx, &mark, "top level must be a mapping");
        return NULL;
    }

    root = ngx_http_hangar_yaml_node(ctx, &ev, &text);

    /* let libyaml check the end of the first document; ignore the rest */

    if (root == NULL || ngx_http_hangar_yaml_next(ctx, &ev) != NGX_OK) {
        return NULL;
    }

    yaml_event_delete(&ev);

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


/* consumes *ev; *text is the raw text of a scalar (or of an alias to one) */

static ngx_http_hangar_value_t *
ngx_http_hangar_yaml_node(ngx_http_hangar_yaml_ctx_t *ctx, yaml_event_t *ev,
    ngx_str_t *text)
{
    u_char                         *anchor;
    ngx_int_t                       rc;
    ngx_str_t                       name;
    ngx_uint_t                      height, nodes;
    yaml_mark_t                     mark;
    yaml_event_type_t               type;
    ngx_http_hangar_value_t        *v;
    ngx_http_hangar_yaml_anchor_t  *a;

    ngx_str_null(text);
    ngx_str_null(&name);

    if (ev->type == YAML_ALIAS_EVENT) {
        v = ngx_http_hangar_yaml_alias(ctx, ev, text);
        yaml_event_delete(ev);
        return v;
    }

    type = ev->type;
    mark = ev->start_mark;

    if (type == YAML_SCALAR_EVENT) {
        anchor = ev->data.scalar.anchor;
        v = ngx_http_hangar_yaml_scalar(ctx, ev, text);

    } else if (type == YAML_SEQUENCE_START_EVENT) {
        anchor = ev->data.sequence_start.anchor;
        v = ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_ARR);

    } else {
        anchor = ev->data.mapping_start.anchor;
        v = ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_OBJ);
    }

    if (v != NULL && anchor != NULL) {
        name.len = ngx_strlen(anchor);
        name.data = ngx_http_hangar_yaml_strdup(ctx->pool, anchor, name.len);
        v = name.data ? v : NULL;
    }

    yaml_event_delete(ev);

    if (v == NULL) {
        return NULL;
    }

    v->line = mark.line + 1;
    v->col = mark.column + 1;

    height = ctx->height;
    nodes = ctx->nodes++;
    ctx->depth += (type != YAML_SCALAR_EVENT);
    ctx->height = ctx->depth;

    if (ctx->nodes > NGX_HTTP_HANGAR_YAML_MAX_NODES
        || ctx->depth > NGX_HTTP_HANGAR_YAML_MAX_DEPTH)
    {
        ngx_http_hangar_yaml_error(ctx, &mark,
                                   (ctx->nodes > NGX_HTTP_HANGAR_YAML_MAX_NODES)
                                   ? "too many nodes" : "nesting too deep");
        return NULL;
    }

    if (type != YAML_SCALAR_EVENT) {
        rc = (type == YAML_SEQUENCE_START_EVENT)
             ? ngx_http_hangar_yaml_sequence(ctx, v)
             : ngx_http_hangar_yaml_mapping(ctx, v);

        if (rc != NGX_OK) {
            return NULL;
        }

        ctx->depth--;
    }

    if (name.len) {
        a = ngx_array_push(&ctx->anchors);
        if (a == NULL) {
            return NULL;
        }

        a->name = name;
        a->text = *text;
        a->value = v;
        a->height = ctx->height - ctx->depth;
        a->nodes = ctx->nodes - nodes;
    }

    ctx->height = ngx_max(ctx->height, height);

    return v;
}


/* an alias shares the anchored value */

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

    /* an anchor may be redefined: the latest definition counts */

    for (i = ctx->anchors.nelts; i > 0; i--) {
        a = (ngx_http_hangar_yaml_anchor_t *) ctx->anchors.elts + i - 1;

        if (a->name.len == len && ngx_strncmp(a->name.data, name, len) == 0) {
            goto found;
        }
    }

    ngx_http_hangar_yaml_error(ctx, &ev->start_mark, "unknown alias \"%s\"",
                               name);
    return NULL;

found:

    ctx->nodes += a->nodes;

    if (ctx->depth + a->height > NGX_HTTP_HANGAR_YAML_MAX_DEPTH
        || ctx->nodes > NGX_HTTP_HANGAR_YAML_MAX_NODES)
    {
        ngx_http_hangar_yaml_error(ctx, &ev->start_mark,
                                   (ctx->nodes > NGX_HTTP_HANGAR_YAML_MAX_NODES)
                                   ? "too many nodes" : "nesting too deep");
        return NULL;
    }

    ctx->height = ngx_max(ctx->height, ctx->depth + a->height);
    *text = a->text;

    return a->value;
}


static ngx_http_hangar_value_t *
ngx_http_hangar_yaml_scalar(ngx_http_hangar_yaml_ctx_t *ctx, yaml_event_t *ev,
    ngx_str_t *text)
{
    u_char                   *p;
    size_t                    len, n;
    ngx_int_t                 rc;
    ngx_uint_t                k;
    ngx_http_hangar_value_t  *v;

    /* k: 0 "!!str" .. 4 "!!float", 5 for an implicit (or other) tag */
    static const char        *tags[] = { "str", "null", "bool", "int",
                                         "float" };

    len = ev->data.scalar.length;

    p = ngx_http_hangar_yaml_strdup(ctx->pool, ev->data.scalar.value, len);
    v = ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_STR);

    if (p == NULL || v == NULL) {
        return NULL;
    }

    v->u.s.data = p;
    v->u.s.len = len;
    *text = v->u.s;

    n = sizeof(NGX_HTTP_HANGAR_YAML_TAG) - 1;
    k = 5;

    if (ev->data.scalar.tag != NULL
        && ngx_strncmp(ev->data.scalar.tag, NGX_HTTP_HANGAR_YAML_TAG, n) == 0)
    {
        for (k = 0; k < 5; k++) {
            if (ngx_strcmp(ev->data.scalar.tag + n, tags[k]) == 0) {
                break;
            }
        }
    }

    if (k == 0
        || (k == 5 && ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE))
    {
        v->quoted = 1;
        return v;
    }

    if (k == 1
        || (k == 5 && (len == 0 || (len == 1 && p[0] == '~')
                       || ngx_http_hangar_yaml_word(p, len, "null"))))
    {
        v->type = NGX_HTTP_HANGAR_NULL;
        return v;
    }

    if ((k == 2 || k == 5)
        && ngx_http_hangar_yaml_bool(p, len, &v->u.b) == NGX_OK)
    {
        v->type = NGX_HTTP_HANGAR_BOOL;
        return v;
    }

    if (k >= 3 && ngx_http_hangar_yaml_int(p, len, &v->u.i) == NGX_OK) {
        if (k == 4) {
            v->u.n = (double) v->u.i;
        }

        v->type = (k == 4) ? NGX_HTTP_HANGAR_NUM : NGX_HTTP_HANGAR_INT;
        return v;
    }

    rc = (k >= 4) ? ngx_http_hangar_yaml_float(ctx->pool, p, len, &v->u.n)
                  : NGX_DECLINED;

    if (rc == NGX_OK) {
        v->type = NGX_HTTP_HANGAR_NUM;
        return v;
    }

    if (rc == NGX_ERROR) {
        return NULL;
    }

    if (k != 5) {
        ngx_http_hangar_yaml_error(ctx, &ev->start_mark,
                                   "invalid !!%s value \"%V\"", tags[k], text);
        return NULL;
    }

    v->u.s = *text;

    return v;
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

        if (item == NULL || ngx_http_hangar_push(v, item) != NGX_OK) {
            return NGX_ERROR;
        }
    }
}


static ngx_int_t
ngx_http_hangar_yaml_mapping(ngx_http_hangar_yaml_ctx_t *ctx,
    ngx_http_hangar_value_t *v)
{
    ngx_str_t                  key, text;
    ngx_uint_t                 merge;
    yaml_mark_t                mark;
    ngx_array_t                merges;
    yaml_event_t               ev;
    ngx_http_hangar_value_t   *val, **m;

    merges.nelts = 0;

    for ( ;; ) {
        if (ngx_http_hangar_yaml_next(ctx, &ev) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }

        mark = ev.start_mark;

        /* a plain "<<" key merges mappings in (YAML 1.1 merge key) */

        merge = (ev.type == YAML_SCALAR_EVENT
                 && ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                 && ev.data.scalar.tag == NULL
                 && ev.data.scalar.length == 2
                 && ngx_strncmp(ev.data.scalar.value, "<<", 2) == 0);

        if (ev.type == YAML_SEQUENCE_START_EVENT
            || ev.type == YAML_MAPPING_START_EVENT)
        {
            yaml_event_delete(&ev);
            ngx_str_null(&key);

        } else if (ngx_http_hangar_yaml_node(ctx, &ev, &key) == NULL) {
            return NGX_ERROR;
        }

        if (key.data == NULL) {
            ngx_http_hangar_yaml_error(ctx, &mark,
                                       "mapping keys must be scalars");
            return NGX_ERROR;
        }

        if (ngx_http_hangar_yaml_next(ctx, &ev) != NGX_OK) {
            return NGX_ERROR;
        }

        val = ngx_http_hangar_yaml_node(ctx, &ev, &text);
        if (val == NULL) {
            return NGX_ERROR;
        }

        if (!merge) {
            if (ngx_http_hangar_set(ctx->pool, v, key.data, key.len, val)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            continue;
        }

        if (merges.nelts == 0
            && ngx_array_init(&merges, ctx->pool, 2,
                              sizeof(ngx_http_hangar_value_t *))
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        m = ngx_array_push(&merges);
        if (m == NULL) {
            return NGX_ERROR;
        }

        *m = val;
    }

    return merges.nelts ? ngx_http_hangar_yaml_merge(ctx, v, &merges) : NGX_OK;
}


/*
 * Merged keys go first and the mapping's own keys last, so these win
 * regardless of order; within a "<<" sequence the first mapping wins.
 */

static ngx_int_t
ngx_http_hangar_yaml_merge(ngx_http_hangar_yaml_ctx_t *ctx,
    ngx_http_hangar_value_t *v, ngx_array_t *merges)
{
    ngx_uint_t                 i, j, k, arr;
    yaml_mark_t                mark;
    ngx_http_hangar_pair_t    *pair;
    ngx_http_hangar_value_t   *m, *src, *o, **list;

    m = ngx_http_hangar_value_new(ctx->pool, NGX_HTTP_HANGAR_OBJ);
    if (m == NULL) {
        return NGX_ERROR;
    }

    list = merges->elts;

    for (i = 0; i <= merges->nelts; i++) {
        src = (i < merges->nelts) ? list[i] : v;
        arr = (src->type == NGX_HTTP_HANGAR_ARR);

        for (j = arr ? src->u.arr.nelts : 1; j > 0; j--) {
            o = arr ? ((ngx_http_hangar_value_t **) src->u.arr.elts)[j - 1]
                    : src;

            if (o == NULL || o->type != NGX_HTTP_HANGAR_OBJ) {
                o = o ? o : src;

                ngx_memzero(&mark, sizeof(yaml_mark_t));
                mark.line = o->line - 1;
                mark.column = o->col - 1;

                ngx_http_hangar_yaml_error(ctx, &mark, "expected a mapping "
                                           "or list of mappings for merging");
                return NGX_ERROR;
            }

            pair = o->u.obj.elts;

            for (k = 0; k < o->u.obj.nelts; k++) {
                if (ngx_http_hangar_set(ctx->pool, m, pair[k].key.data,
                                        pair[k].key.len, pair[k].value)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }
            }
        }
    }

    v->u.obj = m->u.obj;

    return NGX_OK;
}


/* "word", "Word" or "WORD" */

static ngx_uint_t
ngx_http_hangar_yaml_word(u_char *p, size_t len, const char *word)
{
    size_t  i, upper;

    if (len != ngx_strlen(word)
        || ngx_strncasecmp(p, (u_char *) word, len) != 0)
    {
        return 0;
    }

    for (i = 1, upper = 0; i < len; i++) {
        upper += (p[i] >= 'A' && p[i] <= 'Z');
    }

    return upper == 0 || (upper == len - 1 && p[0] >= 'A' && p[0] <= 'Z');
}


static ngx_int_t
ngx_http_hangar_yaml_bool(u_char *p, size_t len, ngx_flag_t *b)
{
    ngx_uint_t          i;
    static const char  *words[] = { "yes", "true", "on", "no", "false", "off" };

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (ngx_http_hangar_yaml_word(p, len, words[i])) {
            *b = (i < 3);
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/* [-+]? 0|[1-9][0-9_]*, 0x[0-9a-fA-F_]+, 0o[0-7_]+, 0[0-7_]+, 0b[01_]+ */

static ngx_int_t
ngx_http_hangar_yaml_int(u_char *p, size_t len, int64_t *i)
{
    u_char      *end;
    uint64_t     n, d, base, limit;
    ngx_uint_t   neg, digits;

    end = p + len;
    neg = (len && *p == '-');
    p += (len && (*p == '-' || *p == '+'));

    if (p == end || *p < '0' || *p > '9') {
        return NGX_DECLINED;
    }

    base = 10;
    digits = 0;

    if (*p == '0' && end - p > 1) {
        base = (p[1] == 'x') ? 16 : (p[1] == 'b') ? 2 : 8;
        p += (p[1] == 'x' || p[1] == 'o' || p[1] == 'b') ? 2 : 1;
        digits = (p[-1] == '0');
    }

    limit = (uint64_t) 0x7fffffffffffffff + neg;

    for (n = 0; p < end; p++) {
        if (*p == '_') {
            continue;
        }

        d = (*p >= '0' && *p <= '9') ? (uint64_t) (*p - '0')
            : ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
              ? (uint64_t) ((*p | 0x20) - 'a' + 10) : 16;

        /* out of the int64 range: left a string */

        if (d >= base || n > (limit - d) / base) {
            return NGX_DECLINED;
        }

        n = n * base + d;
        digits++;
    }

    if (digits == 0) {
        return NGX_DECLINED;
    }

    *i = neg ? (int64_t) (0 - n) : (int64_t) n;

    return NGX_OK;
}


/*
 * [-+]?([0-9][0-9_]*)?(\.[0-9_]*)?([eE][-+]?[0-9]+)? with a dot or an
 * exponent (YAML 1.1 and 1.2 spellings), [-+]?.inf, .nan
 */

static ngx_int_t
ngx_http_hangar_yaml_float(ngx_pool_t *pool, u_char *p, size_t len,
    double *n)
{
    u_char      *s, *end, *d, *q, buf[64];
    ngx_uint_t   digits, dot, exp;

    end = p + len;
    s = p + (len && (*p == '-' || *p == '+'));

    if (end - s == 4 && s[0] == '.') {
        if (ngx_http_hangar_yaml_word(s + 1, 3, "inf")) {
            *n = strtod((*p == '-') ? "-inf" : "inf", NULL);
            return NGX_OK;
        }

        if (s == p
            && (ngx_strncmp(s, ".nan", 4) == 0 || ngx_strncmp(s, ".NaN", 4) == 0
                || ngx_strncmp(s, ".NAN", 4) == 0))
        {
            *n = strtod("nan", NULL);
            return NGX_OK;
        }
    }

    d = (len < sizeof(buf)) ? buf : ngx_pnalloc(pool, len + 1);
    if (d == NULL) {
        return NGX_ERROR;
    }

    digits = 0;
    dot = 0;
    exp = 0;

    for (q = d; p < end; p++) {
        if (*p >= '0' && *p <= '9') {
            digits = 1;

        } else if (*p == '_' && digits && !exp) {
            continue;

        } else if (*p == '.' && !dot && !exp) {
            dot = 1;

        } else if ((*p == 'e' || *p == 'E') && digits && !exp) {
            exp = 1;

        } else if ((*p != '-' && *p != '+')
                   || (q != d && q[-1] != 'e' && q[-1] != 'E'))
        {
            return NGX_DECLINED;
        }

        *q++ = *p;
    }

    *q = '\0';

    if (!dot && !exp) {
        return NGX_DECLINED;
    }

    *n = strtod((char *) d, (char **) &p);

    return (p == q) ? NGX_OK : NGX_DECLINED;
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

    ngx_http_hangar_yaml_error(ctx, &mark, "%s%s%s", parser->problem,
                               parser->context ? " " : "",
                               parser->context ? parser->context : "");
}


ngx_int_t
ngx_http_hangar_interpolate(ngx_pool_t *pool, ngx_http_hangar_value_t *v,
    ngx_str_t *err)
{
    ngx_int_t                      rc;
    ngx_http_hangar_yaml_interp_t  ic;

    ic.pool = pool;
    ic.err = err;
    ic.expanded = 0;

    ngx_str_null(err);

    rc = ngx_array_init(&ic.done, pool, 4, sizeof(ngx_http_hangar_value_t *));

    if (rc == NGX_OK) {
        rc = ngx_http_hangar_yaml_interp_value(&ic, v);
    }

    if (rc != NGX_OK && err->len == 0) {
        ngx_str_set(err, "out of memory");
    }

    return rc;
}


static ngx_int_t
ngx_http_hangar_yaml_interp_value(ngx_http_hangar_yaml_interp_t *ic,
    ngx_http_hangar_value_t *v)
{
    ngx_uint_t                i, n;
    ngx_http_hangar_value_t  *item;

    if (v == NULL) {
        return NGX_OK;
    }

    if (v->type == NGX_HTTP_HANGAR_STR) {
        return ngx_http_hangar_yaml_interp_str(ic, v);
    }

    n = (v->type == NGX_HTTP_HANGAR_ARR) ? v->u.arr.nelts
        : (v->type == NGX_HTTP_HANGAR_OBJ) ? v->u.obj.nelts : 0;

    for (i = 0; i < n; i++) {
        item = (v->type == NGX_HTTP_HANGAR_ARR)
               ? ((ngx_http_hangar_value_t **) v->u.arr.elts)[i]
               : ((ngx_http_hangar_pair_t *) v->u.obj.elts)[i].value;

        if (ngx_http_hangar_yaml_interp_value(ic, item) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
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

    /* aliases share values: a string rewritten once is not scanned again */

    done = ic->done.elts;

    for (i = 0; i < ic->done.nelts; i++) {
        if (done[i] == v) {
            return NGX_OK;
        }
    }

    data = NULL;
    len = 0;
    end = v->u.s.data + v->u.s.len;

    /* the first pass counts the length, the second one copies */

    for ( ;; ) {
        d = data;
        found = 0;

        for (p = v->u.s.data; p < end; p = next) {
            next = ngx_http_hangar_yaml_var(p, end, &name, &def);

            if (next == NULL) {
                next = p + 1;
                value.data = p;
                value.len = 1;

            } else if (ngx_http_hangar_yaml_lookup(ic, v, &name, &def, &value)
                       != NGX_OK)
            {
                return NGX_ERROR;

            } else {
                found = 1;
            }

            if (data == NULL) {
                len += value.len;

                /* counted before anything is allocated */
                if (len > NGX_HTTP_HANGAR_YAML_MAX_EXPAND - ic->expanded) {
                    return ngx_http_hangar_yaml_too_big(ic, v);
                }

            } else {
                d = ngx_cpymem(d, value.data,
                               ngx_min(value.len, len - (size_t) (d - data)));
            }
        }

        if (!found || data != NULL) {
            break;
        }

        data = ngx_pnalloc(ic->pool, len + 1);
        if (data == NULL) {
            return NGX_ERROR;
        }
    }

    if (!found) {
        return NGX_OK;
    }

    *d = '\0';

    v->u.s.data = data;
    v->u.s.len = d - data;
    ic->expanded += len;

    done = ngx_array_push(&ic->done);
    if (done == NULL) {
        return NGX_ERROR;
    }

    *done = v;

    return NGX_OK;
}


/* as in the shell, ":-" also replaces a variable that is set but empty */

static ngx_int_t
ngx_http_hangar_yaml_lookup(ngx_http_hangar_yaml_interp_t *ic,
    ngx_http_hangar_value_t *v, ngx_str_t *name, ngx_str_t *def,
    ngx_str_t *value)
{
    u_char  *p, buf[128];
    char    *env;
    size_t   size;

    p = (name->len < sizeof(buf)) ? buf : ngx_pnalloc(ic->pool, name->len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem(p, name->data, name->len) = '\0';

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
        return NGX_ERROR;
    }

    ic->err->data = p;
    ic->err->len = ngx_slprintf(p, p + size, "%ui:%ui: required environment "
                                "variable '${%V}' is not set and has no "
                                "default", v->line, v->col, name)
                   - p;

    return NGX_ERROR;
}


/*
 * A few references to a big variable would otherwise make gigabytes
 * (inside "nginx -t" too): the values ${VAR} rewrites add up to at most
 * NGX_HTTP_HANGAR_YAML_MAX_EXPAND bytes.
 */

static ngx_int_t
ngx_http_hangar_yaml_too_big(ngx_http_hangar_yaml_interp_t *ic,
    ngx_http_hangar_value_t *v)
{
    u_char  *p;
    size_t   size;

    size = 2 * NGX_INT_T_LEN + NGX_SIZE_T_LEN
           + sizeof(": ${VAR} interpolation makes more than  bytes of values");

    p = ngx_pnalloc(ic->pool, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ic->err->data = p;
    ic->err->len = ngx_slprintf(p, p + size, "%ui:%ui: ${VAR} interpolation "
                                "makes more than %uz bytes of values",
                                v->line, v->col,
                                (size_t) NGX_HTTP_HANGAR_YAML_MAX_EXPAND)
                   - p;

    return NGX_ERROR;
}


/* "${NAME}" or "${NAME:-default}" at p: returns the end, or NULL */

static u_char *
ngx_http_hangar_yaml_var(u_char *p, u_char *end, ngx_str_t *name,
    ngx_str_t *def)
{
    if (end - p < 4 || p[0] != '$' || p[1] != '{'
        || (p[2] != '_' && ((p[2] | 0x20) < 'a' || (p[2] | 0x20) > 'z')))
    {
        return NULL;
    }

    for (p += 2, name->data = p; p < end; p++) {
        if (*p != '_' && ((*p | 0x20) < 'a' || (*p | 0x20) > 'z')
            && (*p < '0' || *p > '9'))
        {
            break;
        }
    }

    name->len = p - name->data;

    if (p < end && *p == '}') {
        ngx_str_null(def);
        return p + 1;
    }

    if (end - p < 2 || p[0] != ':' || p[1] != '-') {
        return NULL;
    }

    for (p += 2, def->data = p; p < end && *p != '}'; p++) {
        /* void */
    }

    def->len = p - def->data;

    return (p < end) ? p + 1 : NULL;
}
