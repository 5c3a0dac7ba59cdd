
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * hangar_pass <server>: raw MCP traffic to one server through nginx's own
 * proxy module.  The directive configures proxy_pass (and what SSE and
 * WebSocket need) in its location; an access-phase handler checks the
 * server, starts it if needed (single flight, lazy), and sets
 * $hangar_pass_url to its current address: the bridge's unix socket or
 * the remote endpoint.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_pass.h"
#include "ngx_http_hangar_api_limit.h"
#include "ngx_http_hangar_limit.h"
#include "ngx_http_hangar_catalog.h"
#include "ngx_http_hangar_state.h"
#include "ngx_http_hangar_approval_hold.h"
#include "ngx_http_hangar_edge.h"
#include "ngx_http_hangar_pass_remote.h"
#include "ngx_http_hangar_pass_group.h"


extern ngx_module_t  ngx_http_proxy_module;
extern ngx_module_t  ngx_http_headers_filter_module;




static ngx_int_t ngx_http_hangar_pass_url(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx, ngx_str_t *id);
static void ngx_http_hangar_pass_ready(ngx_http_hangar_waiter_t *w,
    ngx_int_t rc);
static void ngx_http_hangar_pass_cleanup(void *data);
static ngx_int_t ngx_http_hangar_pass_edge(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx);
static ngx_int_t ngx_http_hangar_pass_begin(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx);
static void ngx_http_hangar_pass_wake(void *data);
static ngx_int_t ngx_http_hangar_pass_start(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx);
static ngx_uint_t ngx_http_hangar_pass_restricted(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx);
static void ngx_http_hangar_pass_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_hangar_pass_hold(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx);
static void ngx_http_hangar_pass_approved(void *data, ngx_int_t rc,
    ngx_str_t *text);
static void ngx_http_hangar_pass_go(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx);
static ngx_int_t ngx_http_hangar_pass_check(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx);
static ngx_int_t ngx_http_hangar_pass_message(ngx_http_hangar_pass_ctx_t *ctx,
    ngx_http_hangar_value_t *m, ngx_str_t *refusal);
static ngx_int_t ngx_http_hangar_pass_text(ngx_http_request_t *r,
    ngx_str_t *text);
static void ngx_http_hangar_pass_entry(ngx_http_hangar_pass_ctx_t *ctx,
    ngx_str_t *tool, ngx_http_hangar_entry_t *e);
static ngx_int_t ngx_http_hangar_pass_list(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx);
static ngx_int_t ngx_http_hangar_pass_fail(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx, ngx_uint_t status, const char *error,
    ngx_str_t *id, const char *what);
static ngx_int_t ngx_http_hangar_conf_directive(ngx_conf_t *cf,
    ngx_module_t *m, const char *name, const char *arg1, const char *arg2,
    const char *arg3);
static ngx_int_t ngx_http_hangar_proxy_directive(ngx_conf_t *cf,
    const char *name, const char *arg1, const char *arg2);


static const char  *ngx_http_hangar_pass_hidden[] = {
    "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
    "Access-Control-Expose-Headers", "Access-Control-Max-Age", NULL
};


/* the proxy module's directives, as if written in the location */

static ngx_int_t
ngx_http_hangar_proxy_directive(ngx_conf_t *cf, const char *name,
    const char *arg1, const char *arg2)
{
    return ngx_http_hangar_conf_directive(cf, &ngx_http_proxy_module, name,
                                          arg1, arg2, NULL);
}


static ngx_int_t
ngx_http_hangar_conf_directive(ngx_conf_t *cf, ngx_module_t *m,
    const char *name, const char *arg1, const char *arg2, const char *arg3)
{
    char               *rv;
    void               *conf;
    ngx_str_t          *v;
    ngx_array_t         args, *saved;
    ngx_command_t      *cmd;
    ngx_http_conf_ctx_t *ctx;

    for (cmd = m->commands; cmd->name.len; cmd++) {
        if (ngx_strcmp(cmd->name.data, name) == 0) {
            break;
        }
    }

    if (cmd->name.len == 0
        || ngx_array_init(&args, cf->pool, 3, sizeof(ngx_str_t)) != NGX_OK)
    {
        return NGX_ERROR;
    }

    v = ngx_array_push_n(&args, arg3 ? 4 : arg2 ? 3 : 2);
    if (v == NULL) {
        return NGX_ERROR;
    }

    if (arg3) {
        v[3].data = (u_char *) arg3;
        v[3].len = ngx_strlen(arg3);
    }

    v[0].data = (u_char *) name;
    v[0].len = ngx_strlen(name);
    v[1].data = (u_char *) arg1;
    v[1].len = ngx_strlen(arg1);

    if (arg2) {
        v[2].data = (u_char *) arg2;
        v[2].len = ngx_strlen(arg2);
    }

    ctx = cf->ctx;
    conf = ctx->loc_conf[m->ctx_index];

    saved = cf->args;
    cf->args = &args;
    rv = cmd->set(cf, cmd, conf);
    cf->args = saved;

    if (rv != NGX_CONF_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "hangar_pass: \"%s %s\": %s",
                           name, arg1,
                           rv == NGX_CONF_ERROR ? "error" : rv);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* hangar_pass <server id, variables allowed>; */

char *
ngx_http_hangar_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hangar_loc_conf_t *hlcf = conf;

    const char                       **h;
    ngx_str_t                         *value;
    ngx_http_compile_complex_value_t   ccv;

    if (hlcf->pass) {
        return "is duplicate";
    }

    hlcf->pass = ngx_pcalloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (hlcf->pass == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = hlcf->pass;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* SSE unbuffered, WebSocket upgrades, HTTP/1.1 keep-alive upstream */
    /* CORS is hangar's (ngx_http_hangar_cors()), never the server's too */
    for (h = ngx_http_hangar_pass_hidden; *h; h++) {
        if (ngx_http_hangar_proxy_directive(cf, "proxy_hide_header", *h, NULL)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_hangar_proxy_directive(cf, "proxy_pass", "$hangar_pass_url",
                                        NULL) != NGX_OK
        || ngx_http_hangar_proxy_directive(cf, "proxy_http_version", "1.1",
                                           NULL) != NGX_OK
        || ngx_http_hangar_proxy_directive(cf, "proxy_buffering", "off",
                                           NULL) != NGX_OK
        || ngx_http_hangar_proxy_directive(cf, "proxy_request_buffering",
                                           "off", NULL) != NGX_OK
        || ngx_http_hangar_proxy_directive(cf, "proxy_read_timeout", "1h",
                                           NULL) != NGX_OK
#if (NGX_HTTP_SSL)
        || ngx_http_hangar_proxy_directive(cf, "proxy_ssl_server_name", "on",
                                           NULL) != NGX_OK
        || ngx_http_hangar_proxy_directive(cf, "proxy_ssl_name",
                                           "$hangar_pass_ssl_name", NULL)
           != NGX_OK
        || ngx_http_hangar_proxy_directive(cf, "proxy_ssl_session_reuse",
                                           "off", NULL) != NGX_OK
#endif
        || ngx_http_hangar_proxy_directive(cf, "proxy_set_header", "Upgrade",
                                           "$http_upgrade") != NGX_OK
        || ngx_http_hangar_proxy_directive(cf, "proxy_set_header",
                                           "Connection",
                                           "$hangar_pass_connection")
           != NGX_OK
        /* a group's sessions carry their member (pass_group.c) */
        || ngx_http_hangar_proxy_directive(cf, "proxy_set_header",
                                           "Mcp-Session-Id",
                                           "$hangar_pass_session_in")
           != NGX_OK
        || ngx_http_hangar_proxy_directive(cf, "proxy_hide_header",
                                           "Mcp-Session-Id", NULL)
           != NGX_OK
        || ngx_http_hangar_conf_directive(cf, &ngx_http_headers_filter_module,
                                          "add_header", "Mcp-Session-Id",
                                          "$hangar_pass_session_out",
                                          "always")
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_hangar_pass_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_hangar_pass_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hangar_module);

    if (data >= 4) {
        return ngx_http_hangar_pass_sid(r, v, data == 5,
                                        ctx ? &ctx->group : NULL,
                                        ctx ? &ctx->hr.params[0] : NULL,
                                        ctx ? &ctx->sid : NULL);
    }

    if (data == 0) {
        if (ctx == NULL || ctx->phase != 2) {
            v->not_found = 1;
            return NGX_OK;
        }

        v->data = ctx->url.data;
        v->len = ctx->url.len;

    } else if (data == 2) {
        /* SNI: an https remote's host name (none for an address) */
        if (ctx && ctx->phase == 2 && ctx->tls_host && !ctx->tls_ip) {
            v->data = ctx->tls_host;
            v->len = ngx_strlen(ctx->tls_host);

        } else {
            v->len = 0;
            v->data = (u_char *) "";
        }

    } else {
        /* "upgrade" for a WebSocket handshake, else keep-alive */
        if (r->headers_in.upgrade) {
            ngx_str_set(v, "upgrade");

        } else {
            v->len = 0;
            v->data = (u_char *) "";
        }
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* the access phase: the server must exist; it is started on demand */

ngx_int_t
ngx_http_hangar_pass_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_str_t                    id;
    ngx_pool_cleanup_t          *cln;
    ngx_http_hangar_pass_ctx_t  *ctx;
    ngx_http_hangar_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hangar_module);

    if (hlcf->pass == NULL || r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_hangar_module);

    if (ctx) {
        /* back from waiting: the address is set, or the start failed */
        return ctx->phase == 2 ? NGX_DECLINED : NGX_DONE;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_hangar_pass_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->hr.r = r;
    ctx->hr.reg = ngx_http_hangar_registry();
    ngx_http_hangar_out_init(&ctx->hr.out, r->pool, 512);
    ngx_http_set_ctx(r, ctx, ngx_http_hangar_module);

    if (ctx->hr.reg == NULL
        || ngx_http_complex_value(r, hlcf->pass, &id) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a group: the session's member, or the strategy's for a new one */
    switch (ngx_http_hangar_pass_member(r, ctx->hr.reg, &id, &ctx->group,
                                        &ctx->sid))
    {
    case NGX_OK:
    case NGX_DECLINED:
        break;
    case NGX_ABORT:
        return ngx_http_hangar_pass_fail(r, ctx, NGX_HTTP_NOT_FOUND,
                                         "SessionNotFoundError", &id,
                                         "has no such session");
    case NGX_BUSY:
        return ngx_http_hangar_pass_fail(r, ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "NoAvailableMemberError", &id,
                                         "has no member in rotation");
    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->hr.params[0] = id;
    ctx->hr.waiter.id = id;
    ctx->hr.waiter.handler = ngx_http_hangar_pass_ready;
    ctx->hr.waiter.data = ctx;
    /* a POST is a call, in flight until it ends; GET streams only listen */
    ctx->hr.waiter.hold = (r->method == NGX_HTTP_POST);

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_hangar_pass_cleanup;
    cln->data = ctx;

    rc = ngx_http_hangar_pass_edge(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    return ngx_http_hangar_pass_begin(r, ctx);
}


/*
 * The edge, as at the front door: CORS (a preflight is answered here,
 * before any auth), then Host and Origin (403).
 */

static ngx_int_t
ngx_http_hangar_pass_edge(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx)
{
    ngx_int_t   rc;
    ngx_uint_t  preflight;

    if (ngx_http_hangar_cors(&ctx->hr, &preflight) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (preflight) {
        ngx_http_hangar_discard_body(r);
        rc = ngx_http_hangar_send(&ctx->hr, NGX_HTTP_NO_CONTENT);

    } else {
        rc = ngx_http_hangar_edge_mcp(&ctx->hr);

        if (rc == NGX_DECLINED) {
            return NGX_DECLINED;
        }
    }

    ctx->phase = 3;
    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


/* who is asking (MCP traffic: authenticated is enough), then the start */

static ngx_int_t
ngx_http_hangar_pass_begin(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx)
{
    ngx_int_t                   rc;
    ngx_http_hangar_refusal_t   no;

    rc = ngx_http_hangar_auth_authenticate(r, &no, ngx_http_hangar_pass_wake,
                                           ctx);

    if (rc == NGX_AGAIN) {
        ctx->phase = 1;
        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        (void) ngx_http_discard_request_body(r);
        ctx->phase = 3;

        rc = (rc == NGX_DECLINED) ? ngx_http_hangar_refuse(&ctx->hr, &no)
                                  : NGX_HTTP_INTERNAL_SERVER_ERROR;

        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    /*
     * A call is checked as the front door checks it (RBAC tool:invoke, the
     * policy, the withdrawals) when anything restricts it: its body is read
     * here, before the proxy sends it on.
     */
    if (r->method == NGX_HTTP_POST && !ctx->checked
        && ngx_http_hangar_pass_restricted(r, ctx))
    {
        ctx->checked = 1;
        ctx->phase = 4;

        rc = ngx_http_read_client_request_body(r, ngx_http_hangar_pass_body);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            ctx->phase = 3;
            return rc;
        }

        ngx_http_finalize_request(r, NGX_DONE);
        return NGX_DONE;
    }

    return ngx_http_hangar_pass_start(r, ctx);
}


/* the server is started if needed (single flight), then its address */

static ngx_int_t
ngx_http_hangar_pass_start(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx)
{
    ngx_int_t    rc;
    ngx_str_t    id;
    ngx_msec_t   retry;

    id = ctx->hr.params[0];

    rc = ngx_http_hangar_ensure_ready(ctx->hr.reg, &id, 0, &ctx->hr.waiter,
                                      r->connection->log, &retry);

    switch (rc) {

    case NGX_OK:
        return ngx_http_hangar_pass_url(r, ctx, &id);

    case NGX_AGAIN:
        ctx->phase = 1;

        return NGX_DONE;

    case NGX_HTTP_HANGAR_UNKNOWN:
        return ngx_http_hangar_pass_fail(r, ctx, NGX_HTTP_NOT_FOUND,
                                         "McpServerNotFoundError", &id,
                                         "not found");

    case NGX_HTTP_HANGAR_BLOCKED:
        return ngx_http_hangar_pass_fail(r, ctx, NGX_HTTP_CONFLICT,
                                         "McpServerBlockedError", &id,
                                         "is blocked");

    default:
        return ngx_http_hangar_pass_fail(r, ctx, NGX_HTTP_BAD_GATEWAY,
                                         "McpServerStartError", &id,
                                         "could not be started");
    }
}


static void
ngx_http_hangar_pass_ready(ngx_http_hangar_waiter_t *w, ngx_int_t rc)
{
    ngx_connection_t            *c;
    ngx_http_request_t          *r;
    ngx_http_hangar_pass_ctx_t  *ctx = w->data;

    r = ctx->hr.r;
    c = r->connection;

    if (rc == NGX_OK) {
        rc = ngx_http_hangar_pass_url(r, ctx, &ctx->hr.params[0]);

    } else {
        rc = ngx_http_hangar_pass_fail(r, ctx, NGX_HTTP_BAD_GATEWAY,
                                       "McpServerStartError",
                                       &ctx->hr.params[0],
                                       "could not be started");
    }

    if (rc == NGX_DECLINED) {
        ngx_http_core_run_phases(r);

    } else if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_hangar_pass_wake(void *data)
{
    ngx_http_hangar_pass_ctx_t  *ctx = data;

    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->hr.r;
    c = r->connection;

    rc = ngx_http_hangar_pass_begin(r, ctx);

    if (rc == NGX_DECLINED) {
        ngx_http_core_run_phases(r);

    } else if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }

    ngx_http_run_posted_requests(c);
}


/* the current address: the bridge's socket, or the remote endpoint */

static ngx_int_t
ngx_http_hangar_pass_url(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx, ngx_str_t *id)
{
    ngx_str_t                sock, err, text;
    ngx_uint_t               mode, seq;
    ngx_http_hangar_node_t  *n;
    ngx_http_hangar_value_t *spec;

    ngx_http_hangar_lock(ctx->hr.reg);

    n = ngx_http_hangar_find(&ctx->hr.reg->sh->servers, id->data, id->len);
    mode = n ? n->mode : 0;
    seq = n ? n->bridge_seq : 0;
    text.len = 0;

    if (n && mode == NGX_HTTP_HANGAR_MODE_REMOTE) {
        text.len = n->spec->len;
        text.data = ngx_pnalloc(r->pool, text.len);
        if (text.data) {
            ngx_memcpy(text.data, n->spec->data, text.len);
        }
    }

    ngx_http_hangar_unlock(ctx->hr.reg);

    if (n == NULL) {
        return ngx_http_hangar_pass_fail(r, ctx, NGX_HTTP_NOT_FOUND,
                                         "McpServerNotFoundError", id,
                                         "not found");
    }

    if (mode == NGX_HTTP_HANGAR_MODE_REMOTE) {
        spec = text.data ? ngx_http_hangar_json_parse(r->pool, text.data,
                                                      text.len, &err)
                         : NULL;

        if (ngx_http_hangar_pass_remote(r, ctx, spec) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else {
        if (ngx_http_hangar_run_path(r->pool, &ctx->hr.reg->hmcf->state_dir,
                                     id->data, id->len, seq, "sock", &sock)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->url.data = ngx_pnalloc(r->pool, sock.len + 32);
        if (ctx->url.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->url.len = ngx_sprintf(ctx->url.data, "http://unix:%V:/mcp", &sock)
                       - ctx->url.data;
    }

    ctx->phase = 2;

    if (ctx->list) {
        return ngx_http_hangar_pass_list(r, ctx);
    }

    return NGX_DECLINED;
}


/*
 * Whether a call may be refused at all: auth is on (RBAC), a policy is in
 * force, or a tool is withdrawn.  Otherwise the body streams through
 * unread, as before.
 */

static ngx_uint_t
ngx_http_hangar_pass_restricted(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx)
{
    ngx_uint_t                   n;
    ngx_http_hangar_registry_t  *reg;

    reg = ctx->hr.reg;

    if (ngx_http_hangar_auth_principal(r) != NULL
        || ngx_http_hangar_policy_active(reg)
        || ngx_http_hangar_limit_enabled(reg))
    {
        return 1;
    }

    ngx_http_hangar_lock(reg);
    n = reg->sh->withdrawn.count;
    ngx_http_hangar_unlock(reg);

    return n != 0;
}


/* the body is read: checked, then the start and the proxy, or a refusal */

static void
ngx_http_hangar_pass_body(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_http_hangar_pass_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hangar_module);

    rc = ngx_http_hangar_pass_check(r, ctx);

    /* approvals (hangar-security.md §4): a held call goes on in _approved */
    if (rc == NGX_OK && ctx->held) {
        rc = ngx_http_hangar_pass_hold(r, ctx);

        if (rc == NGX_DONE) {
            return;
        }
    }

    if (rc != NGX_OK) {
        ctx->phase = 3;
        ngx_http_finalize_request(r, rc);
        return;
    }

    ngx_http_hangar_pass_go(r, ctx);
}


/* the server is started if need be, and the request proxied */

static void
ngx_http_hangar_pass_go(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx)
{
    ngx_int_t  rc;

    ctx->phase = 0;
    r->preserve_body = 1;

    rc = ngx_http_hangar_pass_start(r, ctx);

    if (rc == NGX_DECLINED) {
        r->write_event_handler = ngx_http_core_run_phases;
        ngx_http_core_run_phases(r);

    } else if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/*
 * A call the policy gates waits for its approval: NGX_DONE held, NGX_OK
 * go on, or what was answered.  No progress is relayed: the response's
 * headers are the server's, sent once the call is proxied.
 */

static ngx_int_t
ngx_http_hangar_pass_hold(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx)
{
    ngx_int_t                 rc;
    ngx_str_t                 msg;
    ngx_http_hangar_value_t  *params, *name;

    params = ngx_http_hangar_get(ctx->held, "params");
    name = ngx_http_hangar_get(params, "name");

    rc = ngx_http_hangar_approval_hold(r, &ctx->hr.params[0], &name->u.s,
                                       params, &ctx->verdict,
                                       ngx_http_hangar_pass_approved, r, &msg);

    switch (rc) {

    case NGX_DECLINED:
        return NGX_OK;

    case NGX_AGAIN:
        ctx->phase = 1;
        return NGX_DONE;

    default:
        if (msg.len == 0) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_hangar_pass_approved(r, NGX_DECLINED, &msg);
        return NGX_DONE;
    }
}


/* the gate's word: the call is proxied, or answered as a tool error */

static void
ngx_http_hangar_pass_approved(void *data, ngx_int_t rc, ngx_str_t *text)
{
    ngx_http_request_t          *r = data;
    ngx_http_hangar_out_t       *out;
    ngx_http_hangar_pass_ctx_t  *ctx;

    if (rc == NGX_AGAIN) {
        return;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_hangar_module);

    if (rc == NGX_OK) {
        ngx_http_hangar_pass_go(r, ctx);
        return;
    }

    ctx->phase = 3;
    out = &ctx->hr.out;

    ngx_http_hangar_out_init(out, r->pool, 512);
    ngx_http_hangar_mcp_open(out, ngx_http_hangar_get(ctx->held, "id"));
    ngx_http_hangar_out_lit(out, "\"result\":{\"content\":[{\"type\":\"text\","
                                 "\"text\":");
    ngx_http_hangar_out_str(out, text->data, text->len);
    ngx_http_hangar_out_lit(out, "}],\"isError\":true}}");

    ngx_http_finalize_request(r, ngx_http_hangar_send(&ctx->hr, NGX_HTTP_OK));
}


/*
 * NGX_OK: the request goes on; else what was answered: a JSON-RPC error
 * for a refused tools/call (one of a batch refuses the batch).
 */

static ngx_int_t
ngx_http_hangar_pass_check(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx)
{
    ngx_int_t                  rc;
    ngx_str_t                  text, err, refusal;
    ngx_uint_t                 i;
    ngx_http_hangar_value_t   *body, **items, *id;

    if (ngx_http_hangar_pass_text(r, &text) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = NGX_OK;

    /* what is not JSON is the server's to refuse */
    body = ngx_http_hangar_json_parse(r->pool, text.data, text.len, &err);
    if (body == NULL) {
        return NGX_OK;
    }

    id = NULL;

    if (body->type == NGX_HTTP_HANGAR_ARR) {
        items = body->u.arr.elts;

        for (i = 0; i < body->u.arr.nelts; i++) {
            rc = ngx_http_hangar_pass_message(ctx, items[i], &refusal);
            if (rc != NGX_OK) {
                break;
            }
        }

        /* a batch is never answered from the catalog */
        ctx->list = NULL;

    } else {
        id = ngx_http_hangar_get(body, "id");
        rc = ngx_http_hangar_pass_message(ctx, body, &refusal);
    }

    if (rc == NGX_OK) {
        /* the calls it carries take their tokens (rate limits) */
        rc = ngx_http_hangar_limit_pass(&ctx->hr, body);
        return rc == NGX_DECLINED ? NGX_OK : rc;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hangar_mcp_error(&ctx->hr, NGX_HTTP_OK, id, -32003,
                                     &refusal);
}


/* one JSON-RPC message: NGX_OK, NGX_DECLINED (refused), NGX_ERROR */

static ngx_int_t
ngx_http_hangar_pass_message(ngx_http_hangar_pass_ctx_t *ctx,
    ngx_http_hangar_value_t *m, ngx_str_t *refusal)
{
    ngx_int_t                          rc;
    ngx_http_hangar_entry_t            e;
    ngx_http_hangar_value_t           *method, *name;
    ngx_http_hangar_policy_verdict_t   v;

    method = ngx_http_hangar_get(m, "method");

    if (!ngx_http_hangar_is(method, NGX_HTTP_HANGAR_STR)) {
        return NGX_OK;
    }

    /* the list a caller sees is made from hangar's catalog of the server */
    if (ngx_http_hangar_str_is(&method->u.s, "tools/list")) {
        ctx->list = ngx_http_hangar_get(m, "id");
        return NGX_OK;
    }

    if (!ngx_http_hangar_str_is(&method->u.s, "tools/call")) {
        return NGX_OK;
    }

    name = ngx_http_hangar_get(ngx_http_hangar_get(m, "params"), "name");

    if (!ngx_http_hangar_is(name, NGX_HTTP_HANGAR_STR)) {
        return NGX_OK;
    }

    ngx_http_hangar_pass_entry(ctx, &name->u.s, &e);

    rc = ngx_http_hangar_catalog_check(&ctx->hr, &e, &v, refusal);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    /* held for approval in ngx_http_hangar_pass_body(); one per request */
    if (rc == NGX_HTTP_HANGAR_ACCESS_OK && v.approval) {
        if (ctx->held) {
            ngx_str_set(refusal, "a batch may hold one call that needs "
                                 "approval");
            return NGX_DECLINED;
        }

        ctx->held = m;
        ctx->verdict = v;
    }

    return (rc == NGX_HTTP_HANGAR_ACCESS_OK) ? NGX_OK : NGX_DECLINED;
}


/* the tool as a catalog entry: the client sees the server's own name */

static void
ngx_http_hangar_pass_entry(ngx_http_hangar_pass_ctx_t *ctx, ngx_str_t *tool,
    ngx_http_hangar_entry_t *e)
{
    u_char     buf[NGX_HTTP_HANGAR_ID_MAX + NGX_HTTP_HANGAR_NAME_MAX + 2];
    ngx_str_t  key;

    ngx_memzero(e, sizeof(ngx_http_hangar_entry_t));

    e->server = ctx->hr.params[0];
    e->tool = *tool;
    e->name = *tool;
    e->tenants = 1;

    if (e->server.len <= NGX_HTTP_HANGAR_ID_MAX
        && tool->len <= NGX_HTTP_HANGAR_NAME_MAX)
    {
        key.data = buf;
        key.len = ngx_sprintf(buf, "%V%Z%V%Z", &e->server, tool) - buf;
        e->withdrawn = ngx_http_hangar_state_has(ctx->hr.reg,
                                                 &ctx->hr.reg->sh->withdrawn,
                                                 &key, 0);
    }
}


/* the body read, from memory or from its temporary file */

static ngx_int_t
ngx_http_hangar_pass_text(ngx_http_request_t *r, ngx_str_t *text)
{
    off_t         size;
    u_char       *p;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(text);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    size = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        size += ngx_buf_size(cl->buf);
    }

    if (size == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    text->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                          b->file_pos);
        if (n != b->file_last - b->file_pos) {
            return NGX_ERROR;
        }

        p += n;
    }

    text->len = p - text->data;

    return NGX_OK;
}


/*
 * tools/list while something restricts the caller: answered from hangar's
 * catalog of the server, with exactly the tools the caller may call (the
 * same decision as tools/call), in one page.
 */

static ngx_int_t
ngx_http_hangar_pass_list(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx)
{
    ngx_str_t                          text, err;
    ngx_int_t                          rc;
    ngx_uint_t                         i, n;
    ngx_http_hangar_out_t             *out;
    ngx_http_hangar_node_t            *node;
    ngx_http_hangar_entry_t            e;
    ngx_http_hangar_value_t           *tools, **items, *name;
    ngx_http_hangar_policy_verdict_t   v;

    ngx_str_null(&text);

    ngx_http_hangar_lock(ctx->hr.reg);

    node = ngx_http_hangar_find(&ctx->hr.reg->sh->servers,
                                ctx->hr.params[0].data,
                                ctx->hr.params[0].len);

    if (node && node->tools) {
        text.data = ngx_pnalloc(r->pool, node->tools->len);
        if (text.data) {
            text.len = node->tools->len;
            ngx_memcpy(text.data, node->tools->data, text.len);
        }
    }

    ngx_http_hangar_unlock(ctx->hr.reg);

    tools = text.len ? ngx_http_hangar_json_parse(r->pool, text.data,
                                                  text.len, &err)
                     : NULL;

    out = &ctx->hr.out;
    ngx_http_hangar_mcp_open(out, ctx->list);
    ngx_http_hangar_out_lit(out, "\"result\":{\"tools\":[");

    n = 0;
    items = ngx_http_hangar_is(tools, NGX_HTTP_HANGAR_ARR)
            ? tools->u.arr.elts : NULL;

    for (i = 0; items && i < tools->u.arr.nelts; i++) {
        name = ngx_http_hangar_get(items[i], "name");

        if (!ngx_http_hangar_is(name, NGX_HTTP_HANGAR_STR)) {
            continue;
        }

        ngx_http_hangar_pass_entry(ctx, &name->u.s, &e);

        if (ngx_http_hangar_catalog_access(&ctx->hr, &e, &v)
            != NGX_HTTP_HANGAR_ACCESS_OK)
        {
            continue;
        }

        if (n++) {
            ngx_http_hangar_out_lit(out, ",");
        }

        ngx_http_hangar_json_out(out, items[i]);
    }

    ngx_http_hangar_out_lit(out, "]}}");

    ctx->phase = 3;

    rc = ngx_http_hangar_send(&ctx->hr, NGX_HTTP_OK);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


static ngx_int_t
ngx_http_hangar_pass_fail(ngx_http_request_t *r,
    ngx_http_hangar_pass_ctx_t *ctx, ngx_uint_t status, const char *error,
    ngx_str_t *id, const char *what)
{
    ngx_int_t  rc;

    (void) ngx_http_discard_request_body(r);

    ctx->phase = 3;

    rc = ngx_http_hangar_error(&ctx->hr, status, error, "MCP Server '%*s' %s",
                               ngx_min(id->len, 128), id->data, what);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


static void
ngx_http_hangar_pass_cleanup(void *data)
{
    ngx_http_hangar_pass_ctx_t  *ctx = data;

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    ngx_http_hangar_waiter_cancel(&ctx->hr.waiter);
}

