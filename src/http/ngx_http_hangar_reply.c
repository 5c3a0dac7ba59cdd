
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The plumbing every HTTP surface shares: sending an answer, the error
 * envelopes (REST and JSON-RPC), reading a JSON body, CORS, headers and
 * query arguments.  A function here that answers returns what the answer
 * returned: the caller returns it from its handler.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_reply.h"
#include "ngx_http_hangar_header.h"


#define NGX_HTTP_HANGAR_CORS_METHODS  "GET, POST, PUT, PATCH, DELETE, OPTIONS"
#define NGX_HTTP_HANGAR_CORS_HEADERS                                         \
    "Authorization, Content-Type, X-API-Key, X-Correlation-ID, "             \
    "X-Requested-With"

/* MCP traffic (/mcp and the pass-through): its own headers too */
#define NGX_HTTP_HANGAR_CORS_MCP_METHODS  "GET, POST, DELETE, OPTIONS"
#define NGX_HTTP_HANGAR_CORS_MCP_HEADERS                                     \
    "Authorization, Content-Type, Accept, X-API-Key, Mcp-Session-Id, "        \
    "MCP-Protocol-Version, Last-Event-ID"
#define NGX_HTTP_HANGAR_CORS_MCP_EXPOSE  "Mcp-Session-Id, MCP-Protocol-Version"


static void ngx_http_hangar_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_hangar_body_done(ngx_http_hangar_req_t *hr,
    ngx_int_t rc);
static ngx_int_t ngx_http_hangar_body_read(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_body_take(ngx_http_hangar_req_t *hr);
static ngx_int_t ngx_http_hangar_body_parse(ngx_http_hangar_req_t *hr,
    ngx_str_t *err);
static ngx_int_t ngx_http_hangar_envelope(ngx_http_hangar_req_t *hr,
    ngx_uint_t status, const char *error, ngx_str_t *message,
    ngx_str_t *field, ngx_str_t *details);


/*
 * Reads a JSON body, then runs hr->route->handler with hr->body set.  The
 * body is read unbuffered and copied out as it comes, so that one over
 * hangar_body_limit is refused while it is read, chunked or not; read
 * errors (a malformed chunked body) are answered in the location's own
 * format, never with nginx's HTML pages.
 */

ngx_int_t
ngx_http_hangar_read_json(ngx_http_hangar_req_t *hr)
{
    ngx_int_t                    rc;
    ngx_http_request_t          *r;
    ngx_http_hangar_loc_conf_t  *hlcf;

    r = hr->r;
    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hangar_module);

    if (r->headers_in.content_length_n > (off_t) hlcf->body_limit) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "client intended to send too large body: %O bytes",
                      r->headers_in.content_length_n);

        ngx_http_hangar_discard_body(r);
        return ngx_http_hangar_body_error(hr,
                                          NGX_HTTP_REQUEST_ENTITY_TOO_LARGE);
    }

    r->request_body_no_buffering = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_hangar_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return ngx_http_hangar_body_error(hr, rc);
    }

    return NGX_DONE;
}


/*
 * The body of a request answered without it; one that cannot be read
 * (a malformed chunked body) leaves the connection unusable for another.
 */

void
ngx_http_hangar_discard_body(ngx_http_request_t *r)
{
    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }
}


/*
 * The post handler of the unbuffered read, and the read event handler
 * while more of the body is to come.
 */

static void
ngx_http_hangar_body_handler(ngx_http_request_t *r)
{
    ngx_int_t               rc;
    ngx_http_hangar_req_t  *hr;

    hr = ngx_http_get_module_ctx(r, ngx_http_hangar_module);

    rc = ngx_http_hangar_body_read(hr);

    if (rc == NGX_AGAIN) {
        r->read_event_handler = ngx_http_hangar_body_handler;
        return;
    }

    r->read_event_handler = ngx_http_block_reading;

    ngx_http_finalize_request(r, ngx_http_hangar_body_done(hr, rc));
}


/*
 * The body is read (NGX_OK) or could not be (a code): runs the route's
 * handler, or answers; returns what the handler or the answer returned.
 */

static ngx_int_t
ngx_http_hangar_body_done(ngx_http_hangar_req_t *hr, ngx_int_t rc)
{
    ngx_str_t                    err;
    ngx_http_hangar_loc_conf_t  *hlcf;

    if (rc != NGX_OK) {
        return ngx_http_hangar_body_error(hr, rc);
    }

    ngx_str_null(&err);

    if (ngx_http_hangar_body_parse(hr, &err) == NGX_OK) {
        return hr->route->handler(hr);
    }

    hlcf = ngx_http_get_module_loc_conf(hr->r, ngx_http_hangar_module);

    if (hlcf->handler == NGX_HTTP_HANGAR_MCP) {
        return ngx_http_hangar_mcp_error(hr, NGX_HTTP_BAD_REQUEST, NULL,
                                         -32700, &err);
    }

    return ngx_http_hangar_error(hr, NGX_HTTP_BAD_REQUEST, "InvalidJSONError",
                                 "%V", &err);
}


/*
 * NGX_OK when the whole body is in hr->raw, NGX_AGAIN while more is to
 * come, or the code of an error for ngx_http_hangar_body_error() (which
 * does not answer a timed out or closed connection).
 */

static ngx_int_t
ngx_http_hangar_body_read(ngx_http_hangar_req_t *hr)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = hr->r;

    for ( ;; ) {
        rc = ngx_http_hangar_body_take(hr);
        if (rc != NGX_OK) {
            return rc;
        }

        if (!r->reading_body) {
            return NGX_OK;
        }

        rc = ngx_http_read_unbuffered_request_body(r);

        if (rc == NGX_ERROR || rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        if (rc == NGX_AGAIN && r->request_body->bufs == NULL) {
            return NGX_AGAIN;
        }
    }
}


/*
 * What nginx has read so far goes to hr->raw, up to hangar_body_limit:
 * NGX_OK, or the code of an error (413 for a body over the limit).
 */

static ngx_int_t
ngx_http_hangar_body_take(ngx_http_hangar_req_t *hr)
{
    size_t                       size, used, cap;
    ngx_buf_t                   *b, *raw;
    ngx_chain_t                 *cl;
    ngx_http_request_t          *r;
    ngx_http_hangar_loc_conf_t  *hlcf;

    r = hr->r;

    if (r->request_body == NULL) {
        return NGX_OK;
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hangar_module);

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "hangar: an unbuffered request body in a file");
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        size = b->last - b->pos;
        if (size == 0) {
            continue;
        }

        raw = hr->raw;
        used = raw ? (size_t) (raw->last - raw->pos) : 0;

        if (size > hlcf->body_limit - used) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "client intended to send too large body: more "
                          "than %uz bytes", hlcf->body_limit);

            return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        }

        if (raw == NULL || (size_t) (raw->end - raw->last) < size) {
            /* the whole body when its length is known, else doubling */
            cap = raw ? 2 * (size_t) (raw->end - raw->pos) : 4096;

            if (r->headers_in.content_length_n > 0 && !r->headers_in.chunked)
            {
                cap = (size_t) r->headers_in.content_length_n;
            }

            cap = ngx_min(ngx_max(cap, used + size), hlcf->body_limit);

            hr->raw = ngx_create_temp_buf(r->pool, cap + 1);
            if (hr->raw == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            if (raw) {
                hr->raw->last = ngx_cpymem(hr->raw->last, raw->pos, used);
            }

            hr->raw->end--;     /* room for the parser's NUL */
        }

        hr->raw->last = ngx_cpymem(hr->raw->last, b->pos, size);
        b->pos = b->last;
    }

    r->request_body->bufs = NULL;

    return NGX_OK;
}


/*
 * A body that cannot be read is answered in the location's format: the
 * REST envelope, or a JSON-RPC error at the front door.  Returns what the
 * answer returned, or the code itself when there is nobody to answer.
 */

ngx_int_t
ngx_http_hangar_body_error(ngx_http_hangar_req_t *hr, ngx_int_t rc)
{
    u_char                      *p, buf[128];
    ngx_str_t                    msg;
    ngx_http_request_t          *r;
    ngx_http_hangar_loc_conf_t  *hlcf;

    r = hr->r;

    if (rc == NGX_ERROR || rc == NGX_HTTP_REQUEST_TIME_OUT
        || r->connection->error)
    {
        return rc;
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hangar_module);

    if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
        /* whatever of the body is still to come is read and dropped */
        r->keepalive = 0;
        r->lingering_close = 1;

        if (hlcf->handler == NGX_HTTP_HANGAR_MCP) {
            p = ngx_snprintf(buf, sizeof(buf),
                             "Request body is larger than %uz bytes",
                             hlcf->body_limit);
            msg.data = buf;
            msg.len = p - buf;

            return ngx_http_hangar_mcp_error(hr, rc, NULL, -32600, &msg);
        }

        return ngx_http_hangar_error(hr, rc, "PayloadTooLargeError",
                                     "request body is larger than %uz bytes",
                                     hlcf->body_limit);
    }

    r->keepalive = 0;

    if (rc == NGX_HTTP_BAD_REQUEST) {
        if (hlcf->handler == NGX_HTTP_HANGAR_MCP) {
            ngx_str_set(&msg, "Parse error: invalid chunked request body");
            return ngx_http_hangar_mcp_error(hr, rc, NULL, -32700, &msg);
        }

        return ngx_http_hangar_error(hr, rc, "BadRequestError",
                                     "the request body is not valid "
                                     "(invalid chunked encoding)");
    }

    if (hlcf->handler == NGX_HTTP_HANGAR_MCP) {
        ngx_str_set(&msg, "Internal error: the request body could not be "
                          "read");
        return ngx_http_hangar_mcp_error(hr, rc, NULL, -32603, &msg);
    }

    return ngx_http_hangar_error(hr, rc, "InternalServerError",
                                 "the request body could not be read");
}


/*
 * NGX_OK with hr->body set (NULL for an empty body), or NGX_DECLINED with
 * err set: the body is not JSON.
 */

static ngx_int_t
ngx_http_hangar_body_parse(ngx_http_hangar_req_t *hr, ngx_str_t *err)
{
    u_char  *p, *data;

    if (hr->raw == NULL) {
        return NGX_OK;
    }

    data = hr->raw->pos;
    p = hr->raw->last;

    while (p > data && (p[-1] == ' ' || p[-1] == '\n' || p[-1] == '\r'
                        || p[-1] == '\t'))
    {
        p--;
    }

    if (p == data) {
        return NGX_OK;
    }

    hr->body = ngx_http_hangar_json_parse(hr->r->pool, data, p - data, err);

    return hr->body ? NGX_OK : NGX_DECLINED;
}


/*
 * CORS as the REST guide describes it: MCP_CORS_ORIGINS and
 * MCP_CORS_CREDENTIALS; a preflight is answered here, before any auth.
 * MCP traffic allows and exposes the headers of the MCP transport.
 */

ngx_int_t
ngx_http_hangar_cors(ngx_http_hangar_req_t *hr, ngx_uint_t *preflight)
{
    ngx_str_t                    *o;
    ngx_str_t                     methods, headers;
    ngx_uint_t                    i, wildcard, mcp;
    ngx_str_t                    *origin;
    ngx_http_request_t           *r;
    ngx_http_hangar_loc_conf_t   *hlcf;
    ngx_http_hangar_main_conf_t  *hmcf;

    r = hr->r;
    *preflight = 0;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hangar_module);
    mcp = (hlcf->handler == NGX_HTTP_HANGAR_MCP || hlcf->pass != NULL);

    origin = ngx_http_hangar_header(r, "Origin");
    if (origin == NULL) {
        return NGX_OK;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hangar_module);

    o = hmcf->cors_origins.elts;
    wildcard = 0;

    for (i = 0; i < hmcf->cors_origins.nelts; i++) {
        if (o[i].len == 1 && o[i].data[0] == '*') {
            wildcard = 1;
            break;
        }

        if (o[i].len == origin->len
            && ngx_strncasecmp(o[i].data, origin->data, o[i].len) == 0)
        {
            break;
        }
    }

    if (ngx_http_hangar_header_out(r, "Vary", (u_char *) "Origin", 6)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (i == hmcf->cors_origins.nelts) {
        return NGX_OK;
    }

    /* credentials are never combined with a wildcard (checked at start) */
    if (ngx_http_hangar_header_out(r, "Access-Control-Allow-Origin",
                                   wildcard ? (u_char *) "*"
                                            : origin->data,
                                   wildcard ? 1 : origin->len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (hmcf->cors_credentials
        && ngx_http_hangar_header_out(r, "Access-Control-Allow-Credentials",
                                      (u_char *) "true", 4)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (r->method != NGX_HTTP_OPTIONS
        || ngx_http_hangar_header(r, "Access-Control-Request-Method")
           == NULL)
    {
        if (mcp
            && ngx_http_hangar_header_out(r, "Access-Control-Expose-Headers",
                                 (u_char *) NGX_HTTP_HANGAR_CORS_MCP_EXPOSE,
                                 sizeof(NGX_HTTP_HANGAR_CORS_MCP_EXPOSE) - 1)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    *preflight = 1;

    if (mcp) {
        ngx_str_set(&methods, NGX_HTTP_HANGAR_CORS_MCP_METHODS);
        ngx_str_set(&headers, NGX_HTTP_HANGAR_CORS_MCP_HEADERS);

    } else {
        ngx_str_set(&methods, NGX_HTTP_HANGAR_CORS_METHODS);
        ngx_str_set(&headers, NGX_HTTP_HANGAR_CORS_HEADERS);
    }

    if (ngx_http_hangar_header_out(r, "Access-Control-Allow-Methods",
                                   methods.data, methods.len)
        != NGX_OK
        || ngx_http_hangar_header_out(r, "Access-Control-Allow-Headers",
                                      headers.data, headers.len)
           != NGX_OK
        || ngx_http_hangar_header_out(r, "Access-Control-Max-Age",
                                      (u_char *) "600", 3)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_str_t *
ngx_http_hangar_header(ngx_http_request_t *r, const char *name)
{
    ngx_table_elt_t  *h;

    h = ngx_http_hangar_header_find(&r->headers_in.headers, (u_char *) name,
                                    ngx_strlen(name));

    return h ? &h->value : NULL;
}


ngx_int_t
ngx_http_hangar_header_out(ngx_http_request_t *r, const char *name,
    u_char *value, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = ngx_pnalloc(r->pool, len);
    if (h->value.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(h->value.data, value, len);
    h->value.len = len;

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_send(ngx_http_hangar_req_t *hr, ngx_uint_t status)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = hr->r;

    if (hr->out.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = hr->out.size;

    if (r->headers_out.content_type.len == 0
        && (hr->out.size || status != NGX_HTTP_NO_CONTENT))
    {
        ngx_str_set(&r->headers_out.content_type, "application/json");
        r->headers_out.content_type_len = r->headers_out.content_type.len;
    }

    if (hr->out.size == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    hr->out.b->last_buf = (r == r->main) ? 1 : 0;
    hr->out.b->last_in_chain = 1;

    return ngx_http_output_filter(r, hr->out.first);
}


static ngx_int_t
ngx_http_hangar_envelope(ngx_http_hangar_req_t *hr, ngx_uint_t status,
    const char *error, ngx_str_t *message, ngx_str_t *field,
    ngx_str_t *details)
{
    ngx_str_t               m, f;
    ngx_http_hangar_out_t  *out;

    out = &hr->out;

    /* a message or field may echo bytes of the path: keep the JSON UTF-8 */
    m = *message;

    if (ngx_http_hangar_utf8_clean(hr->r->pool, &m) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    message = &m;

    if (field) {
        f = *field;

        if (ngx_http_hangar_utf8_clean(hr->r->pool, &f) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        field = &f;
    }

    /* drop anything a handler rendered before it failed */
    ngx_http_hangar_out_init(out, hr->r->pool, 512);

    ngx_http_hangar_out_lit(out, "{\"error\":");
    ngx_http_hangar_out_str(out, (u_char *) error, ngx_strlen(error));
    ngx_http_hangar_out_lit(out, ",\"message\":");
    ngx_http_hangar_out_ngx_str(out, message);
    ngx_http_hangar_out_printf(out, ",\"status_code\":%ui", status);

    if (field) {
        ngx_http_hangar_out_lit(out, ",\"details\":{\"field\":");
        ngx_http_hangar_out_ngx_str(out, field);
        ngx_http_hangar_out_lit(out, "}");

    } else if (details) {
        ngx_http_hangar_out_lit(out, ",\"details\":");
        ngx_http_hangar_out_raw(out, details->data, details->len);
    }

    ngx_http_hangar_out_lit(out, "}");

    return ngx_http_hangar_send(hr, status);
}


/* {"error":"<Class>","message":"...","status_code":N} */

ngx_int_t
ngx_http_hangar_error(ngx_http_hangar_req_t *hr, ngx_uint_t status,
    const char *error, const char *fmt, ...)
{
    u_char     buf[1024];
    va_list    args;
    ngx_str_t  message;

    va_start(args, fmt);
    message.data = buf;
    message.len = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args) - buf;
    va_end(args);

    return ngx_http_hangar_envelope(hr, status, error, &message, NULL, NULL);
}


/* the same, with a details object (raw JSON) */

ngx_int_t
ngx_http_hangar_error_details(ngx_http_hangar_req_t *hr, ngx_uint_t status,
    const char *error, ngx_str_t *details, const char *fmt, ...)
{
    u_char     buf[2048];
    va_list    args;
    ngx_str_t  message;

    va_start(args, fmt);
    message.data = buf;
    message.len = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args) - buf;
    va_end(args);

    return ngx_http_hangar_envelope(hr, status, error, &message, NULL,
                                    details);
}


/* a request the auth layer refused: 401 or 403, with its headers */

ngx_int_t
ngx_http_hangar_refuse(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_refusal_t *no)
{
    u_char  buf[NGX_TIME_T_LEN];

    if (no->challenge.len
        && ngx_http_hangar_header_out(hr->r, "WWW-Authenticate",
                                      no->challenge.data, no->challenge.len)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (no->retry_after
        && ngx_http_hangar_header_out(hr->r, "Retry-After", buf,
                                      ngx_sprintf(buf, "%T", no->retry_after)
                                      - buf)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hangar_envelope(hr, no->status, no->error, &no->message,
                                    NULL, no->details.len ? &no->details
                                                          : NULL);
}


ngx_int_t
ngx_http_hangar_validation_error(ngx_http_hangar_req_t *hr, ngx_str_t *field,
    ngx_str_t *message)
{
    return ngx_http_hangar_envelope(hr, 422, "ValidationError", message,
                                    field, NULL);
}


/* a JSON-RPC error: the front door's envelope */

ngx_int_t
ngx_http_hangar_mcp_error(ngx_http_hangar_req_t *hr, ngx_uint_t status,
    ngx_http_hangar_value_t *id, ngx_int_t code, ngx_str_t *message)
{
    if (ngx_http_hangar_wire_error(&hr->out, hr->r->pool, id, code, message)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hangar_send(hr, status);
}


/*
 * Ids in messages are cut, so a long path cannot make a long answer; the
 * cut does not split a UTF-8 character.
 */

ngx_int_t
ngx_http_hangar_not_found(ngx_http_hangar_req_t *hr, ngx_str_t *id)
{
    size_t  len;

    len = id->len;

    if (len > 128) {
        len = 128;

        while (len > 125 && (id->data[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    return ngx_http_hangar_error(hr, NGX_HTTP_NOT_FOUND,
                                 "McpServerNotFoundError",
                                 "MCP Server '%*s' not found",
                                 len, id->data);
}


/*
 * An integer query argument: arg->def when absent, else it must be in
 * arg->min..arg->max.  NGX_OK, or NGX_DECLINED when it is not: the caller
 * answers with ngx_http_hangar_arg_error().
 */

ngx_int_t
ngx_http_hangar_int_arg(ngx_http_request_t *r, ngx_http_hangar_arg_t *arg,
    ngx_int_t *value)
{
    ngx_int_t  n;
    ngx_str_t  text;

    *value = arg->def;

    if (ngx_http_arg(r, (u_char *) arg->name, ngx_strlen(arg->name), &text)
        != NGX_OK)
    {
        return NGX_OK;
    }

    n = ngx_atoi(text.data, text.len);

    if (n == NGX_ERROR || n < arg->min || n > arg->max) {
        return NGX_DECLINED;
    }

    *value = n;

    return NGX_OK;
}


/* the 422 naming a query argument out of its range */

ngx_int_t
ngx_http_hangar_arg_error(ngx_http_hangar_req_t *hr,
    ngx_http_hangar_arg_t *arg)
{
    u_char     buf[128];
    ngx_str_t  field, msg;

    field.data = (u_char *) arg->name;
    field.len = ngx_strlen(arg->name);

    msg.data = buf;

    if (arg->max == NGX_MAX_INT_T_VALUE) {
        msg.len = ngx_snprintf(buf, sizeof(buf),
                               "%V must be an integer of %i or more",
                               &field, arg->min)
                  - buf;

    } else {
        msg.len = ngx_snprintf(buf, sizeof(buf),
                               "%V must be an integer from %i to %i",
                               &field, arg->min, arg->max)
                  - buf;
    }

    return ngx_http_hangar_validation_error(hr, &field, &msg);
}
