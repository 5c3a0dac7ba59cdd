
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * What every /api/auth/ route shares: the state file's "auth" document
 * (keys, custom roles, assignments), read, and changed under the state
 * lock; the checks of a request's fields; the acting principal; the event
 * and the log line of a change; roles as the routes show them.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_api_auth_doc.h"
#include "ngx_http_hangar_state_doc.h"
#include "ngx_http_hangar_api_servers.h"
#include "ngx_http_hangar_state_load.h"


/* an event's JSON must fit the ring's slot, strings are clipped to fit */
#define NGX_HTTP_HANGAR_AUTH_CLIP  64


static ngx_int_t ngx_http_hangar_authfield_check(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_authfield_t *f, ngx_http_hangar_value_t *v, void *base,
    ngx_http_hangar_authbad_t *bad);
static ngx_int_t ngx_http_hangar_authfield_list(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_authfield_t *f, ngx_http_hangar_value_t *v,
    ngx_array_t **list, ngx_http_hangar_authbad_t *bad);
static ngx_int_t ngx_http_hangar_authfield_time(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *v, ngx_str_t *iso, ngx_http_hangar_authbad_t *bad);
static ngx_int_t ngx_http_hangar_authbad(ngx_pool_t *pool,
    ngx_http_hangar_authbad_t *bad, const char *field, const char *fmt, ...);
static ngx_int_t ngx_http_hangar_authdoc_parse(ngx_pool_t *pool,
    ngx_str_t *text, ngx_http_hangar_authdoc_t *d);
static ngx_int_t ngx_http_hangar_authdoc_prepare(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_authdoc_answer(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_authrole_perms(ngx_pool_t *pool,
    ngx_http_hangar_authrole_t *role, const char **perms);


/* ---- request fields ----------------------------------------------------- */

/*
 * The body's fields by a table, into base: NGX_OK; NGX_DECLINED with
 * *bad set (the field and the message of the 422); NGX_ERROR.  No body
 * is an empty object.
 */

ngx_int_t
ngx_http_hangar_authreq_fields(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_authfield_t *fields, void *base,
    ngx_http_hangar_authbad_t *bad)
{
    ngx_int_t                     rc;
    ngx_http_hangar_value_t      *v;
    ngx_http_hangar_authfield_t  *f;

    if (hr->body && hr->body->type != NGX_HTTP_HANGAR_OBJ) {
        return ngx_http_hangar_authbad(hr->r->pool, bad, "body",
                                       "request body must be a JSON object");
    }

    for (f = fields; f->name; f++) {
        v = ngx_http_hangar_get(hr->body, f->name);

        if (v == NULL || v->type == NGX_HTTP_HANGAR_NULL) {
            if (f->flags & NGX_HTTP_HANGAR_AUTHF_REQUIRED) {
                return ngx_http_hangar_authbad(hr->r->pool, bad, f->name,
                                               "%s: required", f->name);
            }

            continue;
        }

        rc = ngx_http_hangar_authfield_check(hr, f, v, base, bad);

        if (rc != NGX_OK) {
            return rc;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_authfield_check(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_authfield_t *f, ngx_http_hangar_value_t *v, void *base,
    ngx_http_hangar_authbad_t *bad)
{
    ngx_str_t   *s;
    ngx_pool_t  *pool;

    pool = hr->r->pool;
    s = (ngx_str_t *) ((u_char *) base + f->offset);

    if (f->kind == NGX_HTTP_HANGAR_AUTHF_LIST
        || f->kind == NGX_HTTP_HANGAR_AUTHF_PERMS)
    {
        return ngx_http_hangar_authfield_list(hr, f, v,
                                              (ngx_array_t **) s, bad);
    }

    if (v->type != NGX_HTTP_HANGAR_STR) {
        return ngx_http_hangar_authbad(pool, bad, f->name,
                                       "%s: must be a string", f->name);
    }

    *s = v->u.s;

    switch (f->kind) {

    case NGX_HTTP_HANGAR_AUTHF_PRINCIPAL:
        if (!ngx_http_hangar_authprincipal_valid(s)) {
            return ngx_http_hangar_authbad(pool, bad, f->name,
                       "%s: must be 1-256 letters, digits or \"-_:@.\"",
                       f->name);
        }

        return NGX_OK;

    case NGX_HTTP_HANGAR_AUTHF_ROLE:
        if (s->len > NGX_HTTP_HANGAR_AUTH_ROLE_MAX
            || !ngx_http_hangar_role_name_valid(s))
        {
            return ngx_http_hangar_authbad(pool, bad, f->name,
                       "%s: must be 1-%d letters, digits, \"-\" or \"_\"",
                       f->name, NGX_HTTP_HANGAR_AUTH_ROLE_MAX);
        }

        return NGX_OK;

    case NGX_HTTP_HANGAR_AUTHF_SCOPE:
        if (!ngx_http_hangar_authscope_valid(s)) {
            return ngx_http_hangar_authbad(pool, bad, f->name,
                       "%s: must be \"global\" or \"tenant:<id>\"", f->name);
        }

        return NGX_OK;

    case NGX_HTTP_HANGAR_AUTHF_TIME:
        return ngx_http_hangar_authfield_time(hr, v, s, bad);

    default: /* NGX_HTTP_HANGAR_AUTHF_TEXT */
        if (s->len == 0 && (f->flags & NGX_HTTP_HANGAR_AUTHF_EMPTY)) {
            return NGX_OK;
        }

        if (!ngx_http_hangar_state_text_valid(s, f->max)) {
            return ngx_http_hangar_authbad(pool, bad, f->name,
                       "%s: must be %s1-%uz bytes of UTF-8 text without "
                       "control characters", f->name,
                       (f->flags & NGX_HTTP_HANGAR_AUTHF_EMPTY) ? "empty or "
                                                                 : "",
                       f->max);
        }

        return NGX_OK;
    }
}


/*
 * An array of strings: group names, or permissions (kept in their
 * three-part form, each once).
 */

static ngx_int_t
ngx_http_hangar_authfield_list(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_authfield_t *f, ngx_http_hangar_value_t *v,
    ngx_array_t **list, ngx_http_hangar_authbad_t *bad)
{
    u_char                    *p;
    ngx_str_t                  s, parts[3], *item, *have;
    ngx_uint_t                 i, j;
    ngx_pool_t                *pool;
    ngx_array_t               *a;
    ngx_http_hangar_value_t  **e;

    pool = hr->r->pool;

    if (v->type != NGX_HTTP_HANGAR_ARR || v->u.arr.nelts > f->max) {
        return ngx_http_hangar_authbad(pool, bad, f->name,
                   "%s: must be an array of at most %uz strings",
                   f->name, f->max);
    }

    a = ngx_array_create(pool, v->u.arr.nelts + 1, sizeof(ngx_str_t));
    if (a == NULL) {
        return NGX_ERROR;
    }

    e = v->u.arr.elts;

    for (i = 0; i < v->u.arr.nelts; i++) {

        if (e[i]->type != NGX_HTTP_HANGAR_STR
            || !ngx_http_hangar_state_text_valid(&e[i]->u.s, 512))
        {
            return ngx_http_hangar_authbad(pool, bad, f->name,
                       "%s[%ui]: must be 1-512 bytes of UTF-8 text without "
                       "control characters", f->name, i);
        }

        s = e[i]->u.s;

        if (f->kind == NGX_HTTP_HANGAR_AUTHF_PERMS) {
            if (ngx_http_hangar_permission_parse(&s, parts) != NGX_OK) {
                return ngx_http_hangar_authbad(pool, bad, f->name,
                           "%s[%ui]: must be \"resource:action[:id]\" with "
                           "no empty part", f->name, i);
            }

            s.len = parts[0].len + parts[1].len + parts[2].len + 2;
            s.data = ngx_pnalloc(pool, s.len);
            if (s.data == NULL) {
                return NGX_ERROR;
            }

            p = ngx_sprintf(s.data, "%V:%V:%V", &parts[0], &parts[1],
                            &parts[2]);
            s.len = p - s.data;
        }

        have = a->elts;

        for (j = 0; j < a->nelts; j++) {
            if (have[j].len == s.len
                && ngx_memcmp(have[j].data, s.data, s.len) == 0)
            {
                break;
            }
        }

        if (j < a->nelts) {
            continue;
        }

        item = ngx_array_push(a);
        if (item == NULL) {
            return NGX_ERROR;
        }

        *item = s;
    }

    *list = a;

    return NGX_OK;
}


/* an ISO 8601 time in the future (naive is UTC), kept in our form */

static ngx_int_t
ngx_http_hangar_authfield_time(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *v, ngx_str_t *iso, ngx_http_hangar_authbad_t *bad)
{
    time_t   t;
    u_char  *p;

    if (v->u.s.len > 64 || ngx_http_hangar_iso_parse(&v->u.s, &t) != NGX_OK) {
        return ngx_http_hangar_authbad(hr->r->pool, bad, "expires_at",
                   "expires_at: must be an ISO 8601 time, such as "
                   "\"2026-08-08T09:22:56+00:00\"");
    }

    if (t <= ngx_time()) {
        return ngx_http_hangar_authbad(hr->r->pool, bad, "expires_at",
                                       "expires_at: must be in the future");
    }

    iso->data = ngx_pnalloc(hr->r->pool, NGX_HTTP_HANGAR_ISO_LEN);
    if (iso->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_http_hangar_iso_time(iso->data, (ngx_msec_t) t * 1000);
    iso->len = p - iso->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_authbad(ngx_pool_t *pool, ngx_http_hangar_authbad_t *bad,
    const char *field, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    bad->field.data = (u_char *) field;
    bad->field.len = ngx_strlen(field);

    p = ngx_pnalloc(pool, 256);
    if (p == NULL) {
        return NGX_ERROR;
    }

    va_start(args, fmt);
    bad->message.data = p;
    bad->message.len = ngx_vslprintf(p, p + 256, fmt, args) - p;
    va_end(args);

    return NGX_DECLINED;
}


/* §1.5: 1-256 of letters, digits and "-_:@." */

ngx_uint_t
ngx_http_hangar_authprincipal_valid(ngx_str_t *id)
{
    u_char  c;
    size_t  i;

    if (id->len == 0 || id->len > NGX_HTTP_HANGAR_PRINCIPAL_ID_MAX) {
        return 0;
    }

    for (i = 0; i < id->len; i++) {
        c = id->data[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || c == '-' || c == '_' || c == ':' || c == '@' || c == '.')
        {
            continue;
        }

        return 0;
    }

    return 1;
}


/* "global" or "tenant:<id>" (§3.5) */

ngx_uint_t
ngx_http_hangar_authscope_valid(ngx_str_t *scope)
{
    ngx_str_t  tenant;

    if (ngx_http_hangar_str_is(scope, "global")) {
        return 1;
    }

    if (scope->len <= sizeof("tenant:") - 1
        || ngx_strncmp(scope->data, "tenant:", sizeof("tenant:") - 1) != 0)
    {
        return 0;
    }

    tenant.data = scope->data + sizeof("tenant:") - 1;
    tenant.len = scope->len - (sizeof("tenant:") - 1);

    return ngx_http_hangar_state_text_valid(&tenant, NGX_HTTP_HANGAR_NAME_MAX);
}


/* a query argument, unescaped; empty when absent */

ngx_int_t
ngx_http_hangar_authreq_arg(ngx_http_hangar_req_t *hr, const char *name,
    ngx_str_t *value)
{
    u_char     *dst, *src;
    ngx_str_t   raw;

    ngx_str_null(value);

    if (ngx_http_arg(hr->r, (u_char *) name, ngx_strlen(name), &raw)
        != NGX_OK || raw.len == 0)
    {
        return NGX_OK;
    }

    dst = ngx_pnalloc(hr->r->pool, raw.len);
    if (dst == NULL) {
        return NGX_ERROR;
    }

    value->data = dst;
    src = raw.data;

    ngx_unescape_uri(&dst, &src, raw.len, NGX_UNESCAPE_URI);

    value->len = dst - value->data;

    return NGX_OK;
}


/* who acts: the request's principal, "system" while auth is off */

void
ngx_http_hangar_authreq_actor(ngx_http_hangar_req_t *hr, ngx_str_t *actor)
{
    ngx_http_hangar_principal_t  *p;

    p = ngx_http_hangar_auth_principal(hr->r);

    if (p && p->id.len) {
        *actor = p->id;
        return;
    }

    ngx_str_set(actor, "system");
}


ngx_int_t
ngx_http_hangar_authreq_invalid(ngx_http_hangar_req_t *hr, const char *field,
    const char *message)
{
    ngx_str_t  f, m;

    f.data = (u_char *) field;
    f.len = ngx_strlen(field);
    m.data = (u_char *) message;
    m.len = ngx_strlen(message);

    return ngx_http_hangar_validation_error(hr, &f, &m);
}


/* ---- the document ------------------------------------------------------- */

/* a copy of the document, for a route that only reads it */

ngx_int_t
ngx_http_hangar_authdoc_read(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_authdoc_t *d)
{
    ngx_str_t  text;

    if (ngx_http_hangar_state_doc(hr->reg, NGX_HTTP_HANGAR_DOC_AUTH,
                                  hr->r->pool, &text, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_hangar_authdoc_parse(hr->r->pool, &text, d);
}


static ngx_int_t
ngx_http_hangar_authdoc_parse(ngx_pool_t *pool, ngx_str_t *text,
    ngx_http_hangar_authdoc_t *d)
{
    ngx_str_t                  err;
    ngx_uint_t                 i;
    ngx_http_hangar_value_t   *v, **slot[3];
    static const char         *names[] = { "keys", "roles", "assignments" };

    if (text->len) {
        d->doc = ngx_http_hangar_json_parse(pool, text->data, text->len,
                                            &err);
    } else {
        d->doc = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_OBJ);
    }

    if (!ngx_http_hangar_is(d->doc, NGX_HTTP_HANGAR_OBJ)) {
        return NGX_ERROR;
    }

    slot[0] = &d->keys;
    slot[1] = &d->roles;
    slot[2] = &d->assignments;

    for (i = 0; i < 3; i++) {
        v = ngx_http_hangar_get(d->doc, names[i]);

        if (v == NULL) {
            v = ngx_http_hangar_value_new(pool, NGX_HTTP_HANGAR_ARR);

            if (v == NULL
                || ngx_http_hangar_set(pool, d->doc, (u_char *) names[i],
                                       ngx_strlen(names[i]), v)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        if (v->type != NGX_HTTP_HANGAR_ARR) {
            return NGX_ERROR;
        }

        *slot[i] = v;
    }

    return NGX_OK;
}


/*
 * Runs a change of the document for a request: ao->edit() runs with the
 * state lock held, on the document as it is then, so that two changes
 * made at once by two workers both land.
 */

ngx_int_t
ngx_http_hangar_authdoc_run(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_authop_t *ao)
{
    ao->hr = hr;
    ao->op.prepare = ngx_http_hangar_authdoc_prepare;
    ao->op.answer = ngx_http_hangar_authdoc_answer;

    ngx_http_hangar_authreq_actor(hr, &ao->actor);

    return ngx_http_hangar_api_change(hr, &ao->op);
}


static ngx_int_t
ngx_http_hangar_authdoc_prepare(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_str_t                  text;
    ngx_http_hangar_authop_t  *ao;

    ao = (ngx_http_hangar_authop_t *) op;

    if (ngx_http_hangar_state_doc(op->reg, NGX_HTTP_HANGAR_DOC_AUTH,
                                  op->pool, &text, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_hangar_authdoc_parse(op->pool, &text, &ao->d) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, op->log, 0,
                      "hangar: the \"auth\" document in the zone is not "
                      "valid");
        return NGX_ERROR;
    }

    rc = ao->edit(ao);

    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_hangar_json_text(op->pool, ao->d.doc, &text) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_hangar_state_set_doc(op, NGX_HTTP_HANGAR_DOC_AUTH, &text);
}


static ngx_int_t
ngx_http_hangar_authdoc_answer(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_http_hangar_req_t     *hr;
    ngx_http_hangar_authop_t  *ao;

    ao = (ngx_http_hangar_authop_t *) op;
    hr = ao->hr;

    if (rc == NGX_DECLINED) {
        if (ao->field.len) {
            return ngx_http_hangar_validation_error(hr, &ao->field,
                                                    &ao->message);
        }

        return ngx_http_hangar_error(hr, ao->status, ao->error, "%V",
                                     &ao->message);
    }

    if (rc == NGX_HTTP_HANGAR_STATE_MANY) {
        return ngx_http_hangar_error(hr, 507, "RegistryFullError",
                                     "at most %ui %s can be kept",
                                     ao->bound_max, ao->bound);
    }

    if (rc != NGX_OK && rc != NGX_DONE) {
        return ngx_http_hangar_api_change_error(hr, op, rc);
    }

    ao->changed = (rc == NGX_OK);

    if (ao->changed && ao->event) {
        ngx_http_hangar_event(hr->reg, ao->event, ao->event_id.data,
                              ao->event_id.len, "%V", &ao->event_data);

        ngx_log_error(NGX_LOG_INFO, hr->r->connection->log, 0,
                      "hangar: %s %V %V by \"%V\"", ao->event,
                      &ao->event_id, &ao->event_data, &ao->actor);
    }

    return ao->reply(ao);
}


/* in edit(): a refusal; field: a 422 naming it */

ngx_int_t
ngx_http_hangar_authop_refuse(ngx_http_hangar_authop_t *ao,
    ngx_uint_t status, const char *error, const char *field,
    const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    p = ngx_pnalloc(ao->op.pool, 512);
    if (p == NULL) {
        return NGX_ERROR;
    }

    va_start(args, fmt);
    ao->message.data = p;
    ao->message.len = ngx_vslprintf(p, p + 512, fmt, args) - p;
    va_end(args);

    ao->status = status;
    ao->error = error;

    if (field) {
        ao->field.data = (u_char *) field;
        ao->field.len = ngx_strlen(field);
    }

    return NGX_DECLINED;
}


/*
 * The event of a change: pairs of a key and an ngx_str_t *, NULL ended,
 * rendered as a JSON object that fits an event's slot.
 */

ngx_int_t
ngx_http_hangar_authop_event(ngx_http_hangar_authop_t *ao, const char *event,
    ngx_str_t *id, ...)
{
    size_t                  clip, n;
    va_list                 args;
    ngx_str_t              *v;
    const char             *key;
    ngx_uint_t              first;
    ngx_http_hangar_out_t   out;

    ao->event = event;
    ao->event_id = *id;

    for (clip = NGX_HTTP_HANGAR_AUTH_CLIP; /* void */; clip /= 2) {

        ngx_http_hangar_out_init(&out, ao->op.pool, 256);
        ngx_http_hangar_out_lit(&out, "{");
        first = 1;

        va_start(args, id);

        for ( ;; ) {
            key = va_arg(args, const char *);
            if (key == NULL) {
                break;
            }

            v = va_arg(args, ngx_str_t *);

            /* clipped on a character's first byte */
            n = ngx_min(v->len, clip);

            while (n < v->len && n && (v->data[n] & 0xc0) == 0x80) {
                n--;
            }

            ngx_http_hangar_out_printf(&out, "%s\"%s\":", first ? "" : ",",
                                       key);
            ngx_http_hangar_out_str(&out, v->data, n);
            first = 0;
        }

        va_end(args);

        ngx_http_hangar_out_lit(&out, "}");

        if (ngx_http_hangar_out_flatten(&out, &ao->event_data) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ao->event_data.len < NGX_HTTP_HANGAR_EVENT_DATA || clip < 8) {
            break;
        }
    }

    if (ao->event_data.len >= NGX_HTTP_HANGAR_EVENT_DATA) {
        ngx_str_set(&ao->event_data, "{}");
    }

    return NGX_OK;
}


/* ---- helpers of the document's entries ---------------------------------- */

/* removes an array's item i, keeping the order */

void
ngx_http_hangar_authdoc_remove(ngx_http_hangar_value_t *arr, ngx_uint_t i)
{
    ngx_http_hangar_value_t  **e;

    e = arr->u.arr.elts;

    ngx_memmove(&e[i], &e[i + 1], (arr->u.arr.nelts - i - 1) * sizeof(*e));
    arr->u.arr.nelts--;
}


ngx_str_t *
ngx_http_hangar_authdoc_str(ngx_http_hangar_value_t *obj, const char *key)
{
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_get(obj, key);

    return ngx_http_hangar_is(v, NGX_HTTP_HANGAR_STR) ? &v->u.s : NULL;
}


ngx_uint_t
ngx_http_hangar_authdoc_is(ngx_http_hangar_value_t *obj, const char *key,
    ngx_str_t *value)
{
    ngx_str_t  *s;

    s = ngx_http_hangar_authdoc_str(obj, key);

    return s && s->len == value->len
           && ngx_memcmp(s->data, value->data, s->len) == 0;
}


/* obj[key] = the string s */

ngx_int_t
ngx_http_hangar_authdoc_set_str(ngx_pool_t *pool,
    ngx_http_hangar_value_t *obj, const char *key, ngx_str_t *s)
{
    ngx_http_hangar_value_t  *v;

    v = ngx_http_hangar_value_str(pool, s->data, s->len);
    if (v == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_hangar_set(pool, obj, (u_char *) key, ngx_strlen(key), v);
}


/* an entry rendered in out, appended to the array */

ngx_int_t
ngx_http_hangar_authdoc_push(ngx_pool_t *pool, ngx_http_hangar_value_t *arr,
    ngx_http_hangar_out_t *out)
{
    ngx_str_t                 text, err;
    ngx_http_hangar_value_t  *v;

    if (ngx_http_hangar_out_flatten(out, &text) != NGX_OK) {
        return NGX_ERROR;
    }

    v = ngx_http_hangar_json_parse(pool, text.data, text.len, &err);
    if (v == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_hangar_push(arr, v);
}


ngx_int_t
ngx_http_hangar_authdoc_now(ngx_pool_t *pool, ngx_str_t *iso)
{
    u_char  *p;

    iso->data = ngx_pnalloc(pool, NGX_HTTP_HANGAR_ISO_LEN);
    if (iso->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_http_hangar_iso_time(iso->data, ngx_http_hangar_now_ms());
    iso->len = p - iso->data;

    return NGX_OK;
}


/* a list of strings as a JSON array */

void
ngx_http_hangar_authdoc_strs_out(ngx_http_hangar_out_t *out,
    ngx_array_t *list)
{
    ngx_str_t   *s;
    ngx_uint_t   i;

    ngx_http_hangar_out_lit(out, "[");

    if (list) {
        s = list->elts;

        for (i = 0; i < list->nelts; i++) {
            if (i) {
                ngx_http_hangar_out_lit(out, ",");
            }

            ngx_http_hangar_out_ngx_str(out, &s[i]);
        }
    }

    ngx_http_hangar_out_lit(out, "]");
}


/* ---- roles -------------------------------------------------------------- */

/* a role by name: built in, or custom; NGX_DECLINED: none */

ngx_int_t
ngx_http_hangar_authrole_find(ngx_pool_t *pool, ngx_http_hangar_authdoc_t *d,
    ngx_str_t *name, ngx_http_hangar_authrole_t *role)
{
    ngx_str_t                 *s;
    ngx_uint_t                 i;
    ngx_http_hangar_value_t  **e, *perms, **pe;

    for (i = 0; ngx_http_hangar_builtin_roles[i].name; i++) {
        if (ngx_strlen(ngx_http_hangar_builtin_roles[i].name) == name->len
            && ngx_strncmp(ngx_http_hangar_builtin_roles[i].name, name->data,
                           name->len)
               == 0)
        {
            return ngx_http_hangar_authrole_builtin(pool, i, role);
        }
    }

    e = d->roles->u.arr.elts;

    for (i = 0; i < d->roles->u.arr.nelts; i++) {
        if (ngx_http_hangar_authdoc_is(e[i], "name", name)) {
            break;
        }
    }

    if (i == d->roles->u.arr.nelts) {
        return NGX_DECLINED;
    }

    ngx_memzero(role, sizeof(ngx_http_hangar_authrole_t));

    role->name = *name;
    role->entry = e[i];

    s = ngx_http_hangar_authdoc_str(e[i], "description");
    if (s) {
        role->description = *s;
    }

    role->permissions = ngx_array_create(pool, 8, sizeof(ngx_str_t));
    if (role->permissions == NULL) {
        return NGX_ERROR;
    }

    perms = ngx_http_hangar_get(e[i], "permissions");

    if (ngx_http_hangar_is(perms, NGX_HTTP_HANGAR_ARR)) {
        pe = perms->u.arr.elts;

        for (i = 0; i < perms->u.arr.nelts; i++) {
            if (pe[i]->type != NGX_HTTP_HANGAR_STR) {
                continue;
            }

            s = ngx_array_push(role->permissions);
            if (s == NULL) {
                return NGX_ERROR;
            }

            *s = pe[i]->u.s;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_authrole_builtin(ngx_pool_t *pool, ngx_uint_t i,
    ngx_http_hangar_authrole_t *role)
{
    ngx_http_hangar_role_def_t  *def;

    def = &ngx_http_hangar_builtin_roles[i];

    ngx_memzero(role, sizeof(ngx_http_hangar_authrole_t));

    role->name.data = (u_char *) def->name;
    role->name.len = ngx_strlen(def->name);
    role->description.data = (u_char *) def->description;
    role->description.len = ngx_strlen(def->description);
    role->builtin = 1;

    return ngx_http_hangar_authrole_perms(pool, role, def->permissions);
}


/* a built-in role's permissions in their three-part form */

static ngx_int_t
ngx_http_hangar_authrole_perms(ngx_pool_t *pool,
    ngx_http_hangar_authrole_t *role, const char **perms)
{
    u_char      *p;
    ngx_str_t    s, parts[3], *item;
    ngx_uint_t   i;

    role->permissions = ngx_array_create(pool, 8, sizeof(ngx_str_t));
    if (role->permissions == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; perms && perms[i]; i++) {
        s.data = (u_char *) perms[i];
        s.len = ngx_strlen(perms[i]);

        if (ngx_http_hangar_permission_parse(&s, parts) != NGX_OK) {
            continue;
        }

        item = ngx_array_push(role->permissions);
        if (item == NULL) {
            return NGX_ERROR;
        }

        item->data = ngx_pnalloc(pool, s.len + 3);
        if (item->data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_sprintf(item->data, "%V:%V:%V", &parts[0], &parts[1],
                        &parts[2]);
        item->len = p - item->data;
    }

    return NGX_OK;
}
