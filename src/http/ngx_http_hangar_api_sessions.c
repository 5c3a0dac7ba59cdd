
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * /api/sessions/{id}/suspend: POST suspends a front-door session, DELETE
 * resumes it; kept in the state file.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_api_sessions.h"
#include "ngx_http_hangar_api_servers.h"
#include "ngx_http_hangar_state.h"


#define NGX_HTTP_HANGAR_RULES_MAX  10000


/* a suspension or a resume, as a durable-write op */
typedef struct {
    ngx_http_hangar_state_op_t   op;        /* first: the op is the rule */
    ngx_uint_t                   on;        /* suspend */
    ngx_str_t                    sid;
    ngx_str_t                    key;       /* sid in lower case */
} ngx_http_hangar_suspension_t;


static ngx_int_t ngx_http_hangar_csrf(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_session_change(ngx_http_hangar_req_t *hr,
    ngx_uint_t suspend);
static ngx_int_t ngx_http_hangar_session_prepare(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);
static ngx_int_t ngx_http_hangar_session_answer(
    ngx_http_hangar_state_op_t *op, ngx_int_t rc);


ngx_int_t
ngx_http_hangar_sessions_suspend(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_session_change(hr, 1);
}


ngx_int_t
ngx_http_hangar_sessions_resume(ngx_http_hangar_req_t *hr)
{
    return ngx_http_hangar_session_change(hr, 0);
}


/*
 * hangar-core §0: a request that looks browser-made (Origin, Referer or
 * Cookie) needs a header a form cannot send.  NGX_DECLINED when it lacks
 * one (the caller answers 403).
 */

static ngx_int_t
ngx_http_hangar_csrf(ngx_http_hangar_req_t *hr)
{
    ngx_str_t           *v;
    ngx_http_request_t  *r;

    r = hr->r;

    if (ngx_http_hangar_header(r, "Origin") == NULL
        && ngx_http_hangar_header(r, "Referer") == NULL
        && ngx_http_hangar_header(r, "Cookie") == NULL)
    {
        return NGX_OK;
    }

    v = ngx_http_hangar_header(r, "Authorization");

    if (ngx_http_hangar_header(r, "X-API-Key")
        || ngx_http_hangar_header(r, "X-Requested-With")
        || (v && v->len > 7 && ngx_strncasecmp(v->data, (u_char *) "Bearer ",
                                               7) == 0))
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_hangar_session_change(ngx_http_hangar_req_t *hr, ngx_uint_t suspend)
{
    ngx_str_t                     *sid;
    ngx_http_hangar_suspension_t  *rule;

    sid = &hr->params[0];

    /* ids as the original accepts them; the front door's fit */
    if (!ngx_http_hangar_id_chars(sid, 128)) {
        return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST,
                                     "InvalidSessionIdError",
                                     "invalid session_id: must be 1-128 "
                                     "alphanumeric, dash, or underscore");
    }

    if (ngx_http_hangar_csrf(hr) != NGX_OK) {
        return ngx_http_hangar_error(hr, NGX_HTTP_FORBIDDEN,
                                     "csrf_header_required",
                                     "X-Requested-With header is required "
                                     "for mutating requests");
    }

    rule = ngx_pcalloc(hr->r->pool, sizeof(ngx_http_hangar_suspension_t));
    if (rule == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rule->on = suspend;
    rule->sid = *sid;
    rule->key.len = sid->len;
    rule->key.data = ngx_pnalloc(hr->r->pool, sid->len);

    if (rule->key.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_strlow(rule->key.data, sid->data, sid->len);
    rule->op.prepare = ngx_http_hangar_session_prepare;
    rule->op.answer = ngx_http_hangar_session_answer;

    return ngx_http_hangar_api_change(hr, &rule->op);
}


/* with the state lock held, from the lookup to the commit */

static ngx_int_t
ngx_http_hangar_session_prepare(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_http_hangar_suspension_t  *rule;

    rule = (ngx_http_hangar_suspension_t *) op;

    if (ngx_http_hangar_state_has(op->reg, &op->reg->sh->suspended,
                                  &rule->key, 0)
        == rule->on)
    {
        return NGX_DONE;
    }

    if (!rule->on) {
        op->set = &op->reg->sh->suspended;
        op->del = rule->key;
        return NGX_OK;
    }

    rc = ngx_http_hangar_state_add(op, &op->reg->sh->suspended, &rule->key,
                                   NGX_HTTP_HANGAR_RULES_MAX);

    /* NGX_HTTP_HANGAR_STATE_MANY: answered 507 */
    return rc;
}


static ngx_int_t
ngx_http_hangar_session_answer(ngx_http_hangar_state_op_t *op, ngx_int_t rc)
{
    ngx_str_t                      data;
    ngx_http_hangar_req_t         *hr;
    ngx_http_hangar_suspension_t  *rule;

    hr = op->data;
    rule = (ngx_http_hangar_suspension_t *) op;

    if (rc == NGX_HTTP_HANGAR_STATE_MANY) {
        return ngx_http_hangar_error(hr, 507, "RegistryFullError",
                                     "at most %d sessions can be "
                                     "suspended",
                                     NGX_HTTP_HANGAR_RULES_MAX);
    }

    if (rc != NGX_OK && rc != NGX_DONE) {
        return ngx_http_hangar_api_change_error(hr, op, rc);
    }

    ngx_http_hangar_out_lit(&hr->out, "{\"session_id\":");
    ngx_http_hangar_out_str(&hr->out, rule->sid.data, rule->sid.len);

    /* the event's members: what the answer has so far, and the source */
    if (ngx_http_hangar_out_flatten(&hr->out, &data) == NGX_OK) {
        ngx_http_hangar_event(hr->reg, rule->on ? "SessionSuspended"
                                                : "SessionUnsuspended",
                              NULL, 0, "%V,\"source\":\"api\"}", &data);
    }

    ngx_http_hangar_out_printf(&hr->out, ",\"suspended\":%s}",
                               rule->on ? "true" : "false");

    return ngx_http_hangar_send(hr, NGX_HTTP_OK);
}
