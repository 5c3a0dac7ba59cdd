
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * What a record keeps of a held call's arguments.  The redacted copy is
 * what people read (GET /api/approvals): values of sensitive keys and
 * secret-looking strings are replaced, anything deeper than the redaction
 * depth too, so nothing unredacted is ever stored.  The hash is over the
 * raw arguments, as canonical JSON (keys sorted byte-wise at every level,
 * no spaces), and is checked again before the call is dispatched.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <openssl/sha.h>
#include "ngx_http_hangar_approval_args.h"


#define NGX_HTTP_HANGAR_REDACTED  "[REDACTED]"


static int ngx_libc_cdecl ngx_http_hangar_pair_cmp(const void *one,
    const void *two);
static ngx_http_hangar_value_t *ngx_http_hangar_redact(ngx_pool_t *pool,
    ngx_http_hangar_value_t *v, ngx_uint_t depth);
static ngx_uint_t ngx_http_hangar_key_sensitive(ngx_str_t *key);
static ngx_int_t ngx_http_hangar_redact_str(ngx_pool_t *pool, ngx_str_t *s,
    ngx_str_t *out);
static size_t ngx_http_hangar_secret_at(u_char *p, u_char *start,
    u_char *last, size_t *skip);
static ngx_uint_t ngx_http_hangar_token_char(u_char c);


static const char  *ngx_http_hangar_sensitive_keys[] = {
    "password", "token", "secret", "key", "auth", "credential", NULL
};

/* prefixes of well-known key formats: a run of token characters follows */
static const char  *ngx_http_hangar_key_prefixes[] = {
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "AKIA", "ASIA",
    "xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-", "sk-", "mcp_", "glpat-",
    NULL
};


/* ---- canonical JSON ---------------------------------------------------- */

static int ngx_libc_cdecl
ngx_http_hangar_pair_cmp(const void *one, const void *two)
{
    const ngx_http_hangar_pair_t  *a, *b;

    a = *(const ngx_http_hangar_pair_t **) one;
    b = *(const ngx_http_hangar_pair_t **) two;

    return ngx_memn2cmp(a->key.data, b->key.data, a->key.len, b->key.len);
}


void
ngx_http_hangar_canonical_json(ngx_http_hangar_out_t *out,
    ngx_http_hangar_value_t *v)
{
    ngx_uint_t                 i, n;
    ngx_http_hangar_pair_t    *pairs, **sorted;
    ngx_http_hangar_value_t  **items;

    if (v == NULL) {
        ngx_http_hangar_out_lit(out, "null");
        return;
    }

    switch (v->type) {

    case NGX_HTTP_HANGAR_ARR:
        items = v->u.arr.elts;
        ngx_http_hangar_out_lit(out, "[");

        for (i = 0; i < v->u.arr.nelts; i++) {
            if (i) {
                ngx_http_hangar_out_lit(out, ",");
            }

            ngx_http_hangar_canonical_json(out, items[i]);
        }

        ngx_http_hangar_out_lit(out, "]");
        return;

    case NGX_HTTP_HANGAR_OBJ:
        n = v->u.obj.nelts;
        pairs = v->u.obj.elts;

        sorted = ngx_palloc(out->pool, (n + 1) * sizeof(void *));
        if (sorted == NULL) {
            out->failed = 1;
            return;
        }

        for (i = 0; i < n; i++) {
            sorted[i] = &pairs[i];
        }

        ngx_qsort(sorted, n, sizeof(void *), ngx_http_hangar_pair_cmp);

        ngx_http_hangar_out_lit(out, "{");

        for (i = 0; i < n; i++) {
            if (i) {
                ngx_http_hangar_out_lit(out, ",");
            }

            ngx_http_hangar_out_str(out, sorted[i]->key.data,
                                    sorted[i]->key.len);
            ngx_http_hangar_out_lit(out, ":");
            ngx_http_hangar_canonical_json(out, sorted[i]->value);
        }

        ngx_http_hangar_out_lit(out, "}");
        return;

    default:
        /* scalars are written one way only */
        ngx_http_hangar_json_out(out, v);
    }
}


ngx_int_t
ngx_http_hangar_args_hash(ngx_pool_t *pool, ngx_http_hangar_value_t *args,
    u_char *hex)
{
    u_char                 md[SHA256_DIGEST_LENGTH];
    ngx_str_t              text;
    ngx_http_hangar_out_t  out;

    ngx_http_hangar_out_init(&out, pool, 512);

    if (args == NULL) {
        ngx_http_hangar_out_lit(&out, "{}");

    } else {
        ngx_http_hangar_canonical_json(&out, args);
    }

    if (ngx_http_hangar_out_flatten(&out, &text) != NGX_OK) {
        return NGX_ERROR;
    }

    SHA256(text.data, text.len, md);
    ngx_hex_dump(hex, md, sizeof(md));

    return NGX_OK;
}


/* ---- redaction --------------------------------------------------------- */

ngx_int_t
ngx_http_hangar_args_redact(ngx_pool_t *pool, ngx_http_hangar_value_t *args,
    ngx_str_t *text)
{
    size_t                    len;
    ngx_http_hangar_value_t  *copy;

    if (args == NULL) {
        ngx_str_set(text, "{}");
        return NGX_OK;
    }

    copy = ngx_http_hangar_redact(pool, args, 0);
    if (copy == NULL
        || ngx_http_hangar_json_text(pool, copy, text) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (text->len <= NGX_HTTP_HANGAR_APPROVAL_ARGS_MAX) {
        return NGX_OK;
    }

    /* too big to keep: what it was, not what it said */
    len = text->len;

    text->data = ngx_pnalloc(pool, sizeof("{\"_truncated\":true,\"_bytes\":}")
                                   + NGX_SIZE_T_LEN);
    if (text->data == NULL) {
        return NGX_ERROR;
    }

    text->len = ngx_sprintf(text->data, "{\"_truncated\":true,\"_bytes\":%uz}",
                            len)
                - text->data;

    return NGX_OK;
}


static ngx_http_hangar_value_t *
ngx_http_hangar_redact(ngx_pool_t *pool, ngx_http_hangar_value_t *v,
    ngx_uint_t depth)
{
    ngx_str_t                  s;
    ngx_uint_t                 i;
    ngx_http_hangar_pair_t    *pairs;
    ngx_http_hangar_value_t   *copy, *item, **items;

    if (depth > NGX_HTTP_HANGAR_REDACT_DEPTH) {
        return ngx_http_hangar_value_str(pool,
                                         (u_char *) NGX_HTTP_HANGAR_REDACTED,
                                         sizeof(NGX_HTTP_HANGAR_REDACTED) - 1);
    }

    switch (v->type) {

    case NGX_HTTP_HANGAR_STR:
        if (ngx_http_hangar_redact_str(pool, &v->u.s, &s) != NGX_OK) {
            return NULL;
        }

        return ngx_http_hangar_value_str(pool, s.data, s.len);

    case NGX_HTTP_HANGAR_ARR:
        copy = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_ARR);
        if (copy == NULL) {
            return NULL;
        }

        items = v->u.arr.elts;

        for (i = 0; i < v->u.arr.nelts; i++) {
            item = ngx_http_hangar_redact(pool, items[i], depth + 1);

            if (item == NULL || ngx_http_hangar_push(copy, item) != NGX_OK) {
                return NULL;
            }
        }

        return copy;

    case NGX_HTTP_HANGAR_OBJ:
        copy = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
        if (copy == NULL) {
            return NULL;
        }

        pairs = v->u.obj.elts;

        for (i = 0; i < v->u.obj.nelts; i++) {
            if (ngx_http_hangar_key_sensitive(&pairs[i].key)) {
                item = ngx_http_hangar_value_str(pool,
                           (u_char *) NGX_HTTP_HANGAR_REDACTED,
                           sizeof(NGX_HTTP_HANGAR_REDACTED) - 1);

            } else {
                item = ngx_http_hangar_redact(pool, pairs[i].value, depth + 1);
            }

            if (item == NULL
                || ngx_http_hangar_set(pool, copy, pairs[i].key.data,
                                       pairs[i].key.len, item)
                   != NGX_OK)
            {
                return NULL;
            }
        }

        return copy;

    default:
        return v;
    }
}


static ngx_uint_t
ngx_http_hangar_key_sensitive(ngx_str_t *key)
{
    size_t       n;
    const char **k;

    for (k = ngx_http_hangar_sensitive_keys; *k; k++) {
        n = ngx_strlen(*k);

        if (key->len >= n
            && ngx_strlcasestrn(key->data, key->data + key->len,
                                (u_char *) *k, n - 1)
               != NULL)
        {
            return 1;
        }
    }

    return 0;
}


/* the string with every secret-looking run replaced */

static ngx_int_t
ngx_http_hangar_redact_str(ngx_pool_t *pool, ngx_str_t *s, ngx_str_t *out)
{
    u_char  *p, *last, *d;
    size_t   run, skip;

    last = s->data + s->len;

    /* a redacted run grows by 9 bytes at most, and takes 7 or more */
    d = ngx_pnalloc(pool, s->len * 3 + 16);
    if (d == NULL) {
        return NGX_ERROR;
    }

    out->data = d;

    for (p = s->data; p < last; /* void */) {
        run = ngx_http_hangar_secret_at(p, s->data, last, &skip);

        if (run == 0) {
            *d++ = *p++;
            continue;
        }

        d = ngx_cpymem(d, p, skip);
        d = ngx_cpymem(d, NGX_HTTP_HANGAR_REDACTED,
                       sizeof(NGX_HTTP_HANGAR_REDACTED) - 1);
        p += skip + run;
    }

    out->len = d - out->data;

    return NGX_OK;
}


/*
 * A secret starting at p: its length (0: none) and how many bytes before
 * it stay (the "Bearer " of a header value, the user of a URL).  JWTs,
 * bearer tokens, well-known key formats, passwords in URLs.
 */

static size_t
ngx_http_hangar_secret_at(u_char *p, u_char *start, u_char *last,
    size_t *skip)
{
    u_char       *q, *colon;
    size_t        n, dots;
    const char  **k;

    *skip = 0;

    if (p > start && ngx_http_hangar_token_char(p[-1]) && *p != ':') {
        return 0;
    }

    /* a JWT: three base64url parts */
    if (last - p > 10 && ngx_strncmp(p, "eyJ", 3) == 0) {
        dots = 0;

        for (q = p; q < last && (ngx_http_hangar_token_char(*q) || *q == '.');
             q++)
        {
            dots += (*q == '.');
        }

        if (dots >= 2 && q - p >= 16) {
            return q - p;
        }
    }

    if (last - p > 7 && ngx_strncasecmp(p, (u_char *) "bearer ", 7) == 0) {
        for (q = p + 7; q < last && (ngx_http_hangar_token_char(*q)
                                     || *q == '.' || *q == '+' || *q == '/'
                                     || *q == '='); q++)
        {
            /* void */
        }

        if (q - p > 7 + 4) {
            *skip = 7;
            return q - p - 7;
        }
    }

    for (k = ngx_http_hangar_key_prefixes; *k; k++) {
        n = ngx_strlen(*k);

        if ((size_t) (last - p) < n + 8 || ngx_strncmp(p, *k, n) != 0) {
            continue;
        }

        for (q = p + n; q < last && ngx_http_hangar_token_char(*q); q++) {
            /* void */
        }

        if ((size_t) (q - p) >= n + 8) {
            return q - p;
        }
    }

    /* scheme://user:password@host: the password */
    if (*p == ':' && last - p > 3 && p[1] == '/' && p[2] == '/') {
        colon = NULL;

        for (q = p + 3; q < last && *q != '/' && *q != '@' && *q != ' '; q++) {
            if (*q == ':' && colon == NULL) {
                colon = q;
            }
        }

        if (q < last && *q == '@' && colon && q - colon > 1) {
            *skip = colon + 1 - p;
            return q - colon - 1;
        }
    }

    return 0;
}


static ngx_uint_t
ngx_http_hangar_token_char(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '-';
}
