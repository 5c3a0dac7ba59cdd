
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The answers of the rate limits (hangar-security.md §7).  REST: 429
 * RateLimitExceeded in the flat envelope with details and a Retry-After
 * header.  tools/call: a JSON-RPC error (code -32029) with the same
 * message and details as its data; the front door sends it with 200,
 * which every MCP client reads as the call's error, the pass-through
 * with 429; both carry Retry-After.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_api_limit.h"
#include "ngx_http_hangar_limit.h"
#include "ngx_http_hangar_auth.h"


#define NGX_HTTP_HANGAR_LIMIT_CODE  -32029


static ngx_uint_t ngx_http_hangar_limit_exempt(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_limit_pay(ngx_http_hangar_req_t *hr,
    ngx_str_t *server, ngx_str_t *tool, ngx_http_hangar_limit_refusal_t *no);
static u_char *ngx_http_hangar_limit_details(u_char *buf, u_char *last,
    ngx_http_hangar_limit_refusal_t *no);
static ngx_int_t ngx_http_hangar_limit_header(ngx_http_request_t *r,
    ngx_http_hangar_limit_refusal_t *no);


ngx_int_t
ngx_http_hangar_limit_rest(ngx_http_hangar_req_t *hr)
{
    u_char                           msg[256], det[128], *p;
    ngx_str_t                        details;
    ngx_http_hangar_limit_refusal_t  no;

    if (ngx_http_hangar_limit_exempt(hr)) {
        return NGX_DECLINED;
    }

    if (ngx_http_hangar_limit_pay(hr, NULL, NULL, &no) != NGX_BUSY) {
        return NGX_DECLINED;
    }

    ngx_http_hangar_discard_body(hr->r);

    p = ngx_http_hangar_limit_message(msg, msg + sizeof(msg), &no);

    details.data = det;
    details.len = ngx_http_hangar_limit_details(det, det + sizeof(det), &no)
                  - det;

    ngx_log_error(NGX_LOG_INFO, hr->r->connection->log, 0,
                  "hangar: %V %V refused: %*s", &hr->r->method_name,
                  &hr->r->uri, p - msg, msg);

    if (ngx_http_hangar_limit_header(hr->r, &no) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hangar_error_details(hr, NGX_HTTP_TOO_MANY_REQUESTS,
                                         "RateLimitExceeded", &details,
                                         "%*s", p - msg, msg);
}


ngx_int_t
ngx_http_hangar_limit_call(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *id, ngx_str_t *server, ngx_str_t *tool,
    ngx_uint_t status)
{
    u_char                           msg[256], det[128], *p, *d;
    ngx_http_hangar_limit_refusal_t  no;

    if (ngx_http_hangar_limit_pay(hr, server, tool, &no) != NGX_BUSY) {
        return NGX_DECLINED;
    }

    p = ngx_http_hangar_limit_message(msg, msg + sizeof(msg), &no);
    d = ngx_http_hangar_limit_details(det, det + sizeof(det), &no);

    ngx_log_error(NGX_LOG_INFO, hr->r->connection->log, 0,
                  "hangar: tools/call of \"%V\" on \"%V\" refused: %*s",
                  tool, server, p - msg, msg);

    if (ngx_http_hangar_limit_header(hr->r, &no) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_hangar_out_init(&hr->out, hr->r->pool, 512);
    ngx_http_hangar_mcp_open(&hr->out, id);
    ngx_http_hangar_out_printf(&hr->out, "\"error\":{\"code\":%i,\"message\":",
                               (ngx_int_t) NGX_HTTP_HANGAR_LIMIT_CODE);
    ngx_http_hangar_out_str(&hr->out, msg, p - msg);
    ngx_http_hangar_out_lit(&hr->out, ",\"data\":");
    ngx_http_hangar_out_raw(&hr->out, det, d - det);
    ngx_http_hangar_out_lit(&hr->out, "}}");

    return ngx_http_hangar_send(hr, status);
}


/*
 * The pass-through's body, parsed: a token for each tools/call in it (one
 * message or a batch).  The first refused answers for the whole body, 429
 * with the JSON-RPC error (the id of a single message; null for a batch).
 */

ngx_int_t
ngx_http_hangar_limit_pass(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_value_t *body)
{
    ngx_int_t                  rc;
    ngx_uint_t                 i, n;
    ngx_http_hangar_value_t  **items, *m, *method, *name, *id;

    if (body == NULL || !ngx_http_hangar_limit_enabled(hr->reg)) {
        return NGX_DECLINED;
    }

    if (body->type == NGX_HTTP_HANGAR_ARR) {
        items = body->u.arr.elts;
        n = body->u.arr.nelts;

    } else {
        items = &body;
        n = 1;
    }

    for (i = 0; i < n; i++) {
        m = items[i];
        method = ngx_http_hangar_get(m, "method");
        name = ngx_http_hangar_get(ngx_http_hangar_get(m, "params"), "name");

        if (!ngx_http_hangar_is(method, NGX_HTTP_HANGAR_STR)
            || !ngx_http_hangar_str_is(&method->u.s, "tools/call")
            || !ngx_http_hangar_is(name, NGX_HTTP_HANGAR_STR))
        {
            continue;
        }

        id = (body->type == NGX_HTTP_HANGAR_ARR)
             ? NULL : ngx_http_hangar_get(m, "id");

        rc = ngx_http_hangar_limit_call(hr, id, &hr->params[0], &name->u.s,
                                        NGX_HTTP_TOO_MANY_REQUESTS);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    return NGX_DECLINED;
}


/* a token of the request's principal, or of its address with auth off */

static ngx_int_t
ngx_http_hangar_limit_pay(ngx_http_hangar_req_t *hr, ngx_str_t *server,
    ngx_str_t *tool, ngx_http_hangar_limit_refusal_t *no)
{
    ngx_http_hangar_principal_t  *p;

    p = ngx_http_hangar_auth_principal(hr->r);

    return ngx_http_hangar_limit_take(hr->reg, hr->r, p ? &p->id : NULL,
                                      server, tool, no);
}


/*
 * As the original's command bus: reads are not limited, nor are approval
 * decisions, session suspension and the admin tool routes (a limit must
 * not stop an operator from stopping an abuse).
 */

static ngx_uint_t
ngx_http_hangar_limit_exempt(ngx_http_hangar_req_t *hr)
{
    size_t       len;
    const char  *p;

    if (!(hr->r->method
          & (NGX_HTTP_POST|NGX_HTTP_PUT|NGX_HTTP_PATCH|NGX_HTTP_DELETE)))
    {
        return 1;
    }

    p = hr->route->pattern;
    len = ngx_strlen(p);

    return ngx_strncmp(p, "/sessions/", 10) == 0
           || ngx_strncmp(p, "/admin/tools/", 13) == 0
           || (ngx_strstr(p, "approvals/") != NULL && len > 8
               && ngx_strcmp(p + len - 8, "/resolve") == 0);
}


/* "Rate limit exceeded: more than 20 requests (10 per second) ..." */

u_char *
ngx_http_hangar_limit_message(u_char *buf, u_char *last,
    ngx_http_hangar_limit_refusal_t *no)
{
    u_char  *p;

    p = ngx_slprintf(buf, last, "Rate limit exceeded: more than %ui "
                     "requests at once (%uL", no->limit, no->rate / 1000);

    if (no->rate % 1000) {
        p = ngx_slprintf(p, last, ".%03uL", no->rate % 1000);

        while (p[-1] == '0') {
            p--;
        }
    }

    return ngx_slprintf(p, last, " per second) for this %s; retry in %Ts",
                        no->scope, no->retry_after);
}


static u_char *
ngx_http_hangar_limit_details(u_char *buf, u_char *last,
    ngx_http_hangar_limit_refusal_t *no)
{
    return ngx_slprintf(buf, last, "{\"limit\":%ui,\"retry_after\":%T,"
                        "\"scope\":\"%s\"}", no->limit, no->retry_after,
                        no->scope);
}


static ngx_int_t
ngx_http_hangar_limit_header(ngx_http_request_t *r,
    ngx_http_hangar_limit_refusal_t *no)
{
    u_char  buf[NGX_TIME_T_LEN], *p;

    p = ngx_sprintf(buf, "%T", ngx_max(no->retry_after, 1));

    return ngx_http_hangar_header_out(r, "Retry-After", buf, p - buf);
}
