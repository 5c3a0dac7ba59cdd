
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Tool access policies as hangar.yaml and the API give them: only known
 * keys, lists of non-empty patterns, a positive timeout.  An unknown key
 * such as "denylist" is an error, never a warning: a policy that is not
 * what its author meant must not load.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hangar_policy_spec.h"


#define NGX_HTTP_HANGAR_POLICY_PATH  256


static ngx_int_t ngx_http_hangar_policy_spec_list(
    ngx_http_hangar_policy_err_t *err, const char *path,
    ngx_http_hangar_value_t *v);


static ngx_int_t ngx_http_hangar_policy_fail(ngx_http_hangar_policy_err_t *err,
    ngx_http_hangar_value_t *at, const char *path, const char *message);


static const char  *ngx_http_hangar_policy_lists[] = {
    "allow_list", "deny_list", "approval_list", NULL
};


ngx_int_t
ngx_http_hangar_policy_spec(ngx_http_hangar_policy_err_t *err,
    const char *path, ngx_http_hangar_value_t *v)
{
    char                     sub[NGX_HTTP_HANGAR_POLICY_PATH];
    ngx_uint_t               i, k;
    ngx_http_hangar_pair_t  *pair;
    ngx_http_hangar_value_t *x;

    if (!ngx_http_hangar_is(v, NGX_HTTP_HANGAR_OBJ)) {
        return ngx_http_hangar_policy_fail(err, v, path,
                                           "a tool access policy must be an "
                                           "object");
    }

    pair = v->u.obj.elts;

    for (i = 0; i < v->u.obj.nelts; i++) {
        x = pair[i].value;

        /* the API's body has no path: its keys are the fields */
        *ngx_snprintf((u_char *) sub, sizeof(sub) - 1,
                      path[0] ? "%s.%V" : "%s%V", path, &pair[i].key)
            = '\0';

        for (k = 0; ngx_http_hangar_policy_lists[k]; k++) {
            if (pair[i].key.len == ngx_strlen(ngx_http_hangar_policy_lists[k])
                && ngx_strncmp(pair[i].key.data,
                               ngx_http_hangar_policy_lists[k],
                               pair[i].key.len)
                   == 0)
            {
                break;
            }
        }

        if (ngx_http_hangar_policy_lists[k]) {
            if (ngx_http_hangar_policy_spec_list(err, sub, x) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        if (ngx_http_hangar_str_is(&pair[i].key,
                                   "approval_timeout_seconds"))
        {
            if (x->type != NGX_HTTP_HANGAR_INT || x->quoted
                || x->u.i < 1 || x->u.i > NGX_HTTP_HANGAR_POLICY_TIMEOUT_MAX)
            {
                return ngx_http_hangar_policy_fail(err, x, sub,
                                   "must be an integer of seconds, "
                                   "1..86400");
            }

            continue;
        }

        if (ngx_http_hangar_str_is(&pair[i].key, "approval_channel")) {
            if (x->type != NGX_HTTP_HANGAR_STR
                || x->u.s.len > NGX_HTTP_HANGAR_POLICY_CHANNEL_MAX)
            {
                return ngx_http_hangar_policy_fail(err, x, sub,
                                   "must be a string of at most 256 "
                                   "bytes");
            }

            continue;
        }

        return ngx_http_hangar_policy_fail(err, x, sub,
                           "unknown key of a tool access policy (allowed: "
                           "allow_list, deny_list, approval_list, "
                           "approval_timeout_seconds, approval_channel)");
    }

    return NGX_OK;
}


/* a list of 1..256-byte patterns without control characters */

static ngx_int_t
ngx_http_hangar_policy_spec_list(ngx_http_hangar_policy_err_t *err,
    const char *path, ngx_http_hangar_value_t *v)
{
    char                       sub[NGX_HTTP_HANGAR_POLICY_PATH];
    size_t                     j;
    ngx_uint_t                 i;
    ngx_http_hangar_value_t  **items;

    if (v->type != NGX_HTTP_HANGAR_ARR) {
        return ngx_http_hangar_policy_fail(err, v, path,
                                           "must be a list of patterns");
    }

    if (v->u.arr.nelts > NGX_HTTP_HANGAR_POLICY_PATTERNS) {
        return ngx_http_hangar_policy_fail(err, v, path,
                                           "at most 1000 patterns");
    }

    items = v->u.arr.elts;

    for (i = 0; i < v->u.arr.nelts; i++) {
        *ngx_snprintf((u_char *) sub, sizeof(sub) - 1, "%s[%ui]", path, i)
            = '\0';

        if (items[i]->type != NGX_HTTP_HANGAR_STR
            || items[i]->u.s.len == 0
            || items[i]->u.s.len > NGX_HTTP_HANGAR_POLICY_PATTERN_MAX)
        {
            return ngx_http_hangar_policy_fail(err, items[i], sub,
                               "a pattern must be a non-empty string of at "
                               "most 256 bytes");
        }

        for (j = 0; j < items[i]->u.s.len; j++) {
            if (items[i]->u.s.data[j] < 0x20 || items[i]->u.s.data[j] == 0x7f)
            {
                return ngx_http_hangar_policy_fail(err, items[i], sub,
                                   "a pattern must not contain control "
                                   "characters");
            }
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_policy_spec_access(ngx_http_hangar_policy_err_t *err,
    const char *path, ngx_http_hangar_value_t *v)
{
    char                     sub[NGX_HTTP_HANGAR_POLICY_PATH];
    ngx_uint_t               i, k;
    ngx_http_hangar_pair_t  *pair, *tenant;

    pair = v->u.obj.elts;

    for (i = 0; i < v->u.obj.nelts; i++) {
        *ngx_snprintf((u_char *) sub, sizeof(sub) - 1, "%s.%V", path,
                      &pair[i].key) = '\0';

        if (!ngx_http_hangar_str_is(&pair[i].key, "member")) {
            return ngx_http_hangar_policy_fail(err, pair[i].value, sub,
                               "unknown key (a server's tool_access takes "
                               "\"member\": per-tenant policies)");
        }

        if (pair[i].value->type != NGX_HTTP_HANGAR_OBJ) {
            return ngx_http_hangar_policy_fail(err, pair[i].value, sub,
                               "must map tenant ids to policies");
        }

        tenant = pair[i].value->u.obj.elts;

        for (k = 0; k < pair[i].value->u.obj.nelts; k++) {
            *ngx_snprintf((u_char *) sub, sizeof(sub) - 1, "%s.member.%V",
                          path, &tenant[k].key) = '\0';

            if (tenant[k].key.len == 0 || tenant[k].key.len > 128) {
                return ngx_http_hangar_policy_fail(err, tenant[k].value, sub,
                                   "a tenant id must be 1..128 bytes");
            }

            if (ngx_http_hangar_policy_spec(err, sub, tenant[k].value)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_policy_spec_kinds(ngx_http_hangar_policy_err_t *err,
    const char *path, ngx_http_hangar_value_t *v)
{
    char                     sub[NGX_HTTP_HANGAR_POLICY_PATH];
    ngx_uint_t               i;
    ngx_http_hangar_pair_t  *pair;

    pair = v->u.obj.elts;

    for (i = 0; i < v->u.obj.nelts; i++) {
        *ngx_snprintf((u_char *) sub, sizeof(sub) - 1, "%s.%V", path,
                      &pair[i].key) = '\0';

        if (!ngx_http_hangar_str_is(&pair[i].key, "tool")
            && !ngx_http_hangar_str_is(&pair[i].key, "prompt")
            && !ngx_http_hangar_str_is(&pair[i].key, "resource"))
        {
            return ngx_http_hangar_policy_fail(err, pair[i].value, sub,
                               "unknown kind (allowed: tool, prompt, "
                               "resource)");
        }

        if (ngx_http_hangar_policy_spec(err, sub, pair[i].value) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_policy_spec_mode(ngx_http_hangar_policy_err_t *err,
    ngx_http_hangar_value_t *v, ngx_uint_t *mode)
{
    ngx_uint_t               i;
    ngx_http_hangar_pair_t  *pair;
    ngx_http_hangar_value_t *m;

    *mode = NGX_HTTP_HANGAR_ACCESS_EGRESS;

    if (v == NULL || v->type == NGX_HTTP_HANGAR_NULL) {
        return NGX_OK;
    }

    if (v->type != NGX_HTTP_HANGAR_OBJ) {
        return ngx_http_hangar_policy_fail(err, v, "tool_access",
                                           "must be an object");
    }

    pair = v->u.obj.elts;

    for (i = 0; i < v->u.obj.nelts; i++) {
        m = pair[i].value;

        if (ngx_http_hangar_str_is(&pair[i].key, "mode")) {
            if (ngx_http_hangar_is(m, NGX_HTTP_HANGAR_STR)
                && ngx_http_hangar_str_is(&m->u.s, "egress"))
            {
                continue;
            }

            if (ngx_http_hangar_is(m, NGX_HTTP_HANGAR_STR)
                && ngx_http_hangar_str_is(&m->u.s, "front_door"))
            {
                *mode = NGX_HTTP_HANGAR_ACCESS_FRONT_DOOR;
                continue;
            }

            return ngx_http_hangar_policy_fail(err, m, "tool_access.mode",
                                               "must be \"egress\" or "
                                               "\"front_door\"");
        }

        if (ngx_http_hangar_str_is(&pair[i].key, "rules")) {
            return ngx_http_hangar_policy_fail(err, m, "tool_access.rules",
                               "is not supported: give allow_list, "
                               "deny_list and approval_list in a server's "
                               "\"tools:\" (or \"tool_access.member\") "
                               "instead");
        }

        *ngx_snprintf((u_char *) err->path, sizeof(err->path) - 1,
                      "tool_access.%V", &pair[i].key) = '\0';

        return ngx_http_hangar_policy_fail(err, m, err->path,
                                           "unknown key (allowed: mode)");
    }

    return NGX_OK;
}


/* the first error: where, and what */

static ngx_int_t
ngx_http_hangar_policy_fail(ngx_http_hangar_policy_err_t *err,
    ngx_http_hangar_value_t *at, const char *path, const char *message)
{
    err->at = at;
    err->message = message;

    if (path != err->path) {
        ngx_cpystrn((u_char *) err->path, (u_char *) path, sizeof(err->path));
    }

    return NGX_ERROR;
}
