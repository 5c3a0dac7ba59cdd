
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * hangar.yaml -> declarations.  Runs at configuration time in the master
 * (and for "nginx -t"), so every error carries file, line and column.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_config.h"
#include "ngx_http_hangar.h"
#include "ngx_http_hangar_yaml.h"
#include "ngx_http_hangar_guard.h"
#include "ngx_http_hangar_spec_disc.h"


static ngx_int_t ngx_http_hangar_config_servers(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf, ngx_http_hangar_value_t *map,
    const char *section, ngx_uint_t groups);
static ngx_int_t ngx_http_hangar_config_decl(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf, ngx_str_t *id,
    ngx_http_hangar_value_t *in, const char *section, ngx_uint_t group);
static ngx_int_t ngx_http_hangar_config_members(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf, ngx_str_t *gid,
    ngx_http_hangar_value_t *in);
static ngx_http_hangar_decl_t *ngx_http_hangar_config_find(
    ngx_http_hangar_main_conf_t *hmcf, ngx_str_t *id, ngx_uint_t group);
static ngx_int_t ngx_http_hangar_config_access(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf, ngx_http_hangar_value_t *doc);
static ngx_int_t ngx_http_hangar_config_execution(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf, ngx_http_hangar_value_t *in);
static ngx_int_t ngx_http_hangar_config_discovery(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf, ngx_http_hangar_value_t *in);
static ngx_int_t ngx_http_hangar_config_k8s(ngx_conf_t *cf,
    ngx_http_hangar_value_t *disc);


/* hangar-core.md §4.1; "groups" is our addition (a map of groups) */
static const char  *ngx_http_hangar_sections[] = {
    "mcp_servers", "groups", "execution", "rate_limit", "tool_access",
    "config_reload", "logging", "auth", "discovery", "event_store",
    "persistence", "coordination", "approvals", "interceptors",
    "hot_loading", "observability", "retry", "startup_checks", "truncation",
    "relay_tasks_enabled", "catalog", NULL
};

/* member keys that belong to the membership, not to a server */
static const char  *ngx_http_hangar_member_keys[] = {
    "id", "weight", "priority", "tools", NULL
};


ngx_int_t
ngx_http_hangar_config_load(ngx_conf_t *cf, ngx_http_hangar_main_conf_t *hmcf)
{
    ngx_str_t                 err;
    ngx_uint_t                i, k;
    ngx_http_hangar_pair_t   *pair;
    ngx_http_hangar_value_t  *doc, *servers, *groups;

    if (ngx_array_init(&hmcf->decls, cf->pool, 16,
                       sizeof(ngx_http_hangar_decl_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    hmcf->yaml_decls = hmcf->decls;

    if (hmcf->config_file.len == 0) {
        return ngx_http_hangar_config_execution(cf, hmcf, NULL);
    }

    ngx_str_null(&err);

    doc = ngx_http_hangar_yaml_parse(cf->pool, &hmcf->config_file, &err);

    if (doc == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "hangar_config: %V", &err);
        return NGX_ERROR;
    }

    /* interpolation errors start with "line:col: " (but "out of memory") */
    if (ngx_http_hangar_interpolate(cf->pool, doc, &err) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "hangar_config: %V:%s%V",
                           &hmcf->config_file,
                           (err.len && err.data[0] >= '0' && err.data[0] <= '9')
                           ? "" : " ", &err);
        return NGX_ERROR;
    }

    pair = doc->u.obj.elts;

    for (i = 0; i < doc->u.obj.nelts; i++) {
        for (k = 0; ngx_http_hangar_sections[k]; k++) {
            if (ngx_strlen(ngx_http_hangar_sections[k]) == pair[i].key.len
                && ngx_strncmp(ngx_http_hangar_sections[k], pair[i].key.data,
                               pair[i].key.len) == 0)
            {
                break;
            }
        }

        if (ngx_http_hangar_sections[k] == NULL) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "hangar_config: %V:%ui:%ui: unknown key "
                               "\"%V\", ignored", &hmcf->config_file,
                               pair[i].value->line, pair[i].value->col,
                               &pair[i].key);
        }
    }

    if (ngx_http_hangar_config_access(cf, hmcf, doc) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_hangar_config_execution(cf, hmcf,
                                         ngx_http_hangar_get(doc, "execution"))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_hangar_config_discovery(cf, hmcf,
                                         ngx_http_hangar_get(doc, "discovery"))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    hmcf->doc = doc;

    servers = ngx_http_hangar_get(doc, "mcp_servers");
    groups = ngx_http_hangar_get(doc, "groups");

    if (ngx_http_hangar_config_servers(cf, hmcf, servers, "mcp_servers", 0)
        != NGX_OK
        || ngx_http_hangar_config_servers(cf, hmcf, groups, "groups", 1)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    hmcf->yaml_decls = hmcf->decls;

    return NGX_OK;
}


/* the top-level tool_access: {mode: egress|front_door} */

static ngx_int_t
ngx_http_hangar_config_access(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf, ngx_http_hangar_value_t *doc)
{
    ngx_http_hangar_spec_ctx_t    ctx;
    ngx_http_hangar_policy_err_t  err;

    ngx_memzero(&ctx, sizeof(ngx_http_hangar_spec_ctx_t));
    ctx.pool = cf->pool;
    ctx.log = cf->log;
    ctx.source = NGX_HTTP_HANGAR_SPEC_CONFIG;
    ctx.file = hmcf->config_file;

    if (ngx_http_hangar_policy_spec_mode(&err,
                                         ngx_http_hangar_get(doc,
                                                             "tool_access"),
                                         &hmcf->tool_access)
        != NGX_OK)
    {
        (void) ngx_http_hangar_spec_error(&ctx, err.at, err.path, "%s",
                                          err.message);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "hangar_config: %V",
                           &ctx.message);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The fleet starts over from hangar.yaml alone, for the state file to be
 * laid over it: at configuration time, and again when the configuration
 * is committed (the file may have changed in between).  The declarations
 * of hangar.yaml are kept as they were parsed.
 */

ngx_int_t
ngx_http_hangar_config_fleet(ngx_pool_t *pool,
    ngx_http_hangar_main_conf_t *hmcf)
{
    ngx_uint_t  n;

    n = hmcf->yaml_decls.nelts;

    if (ngx_array_init(&hmcf->decls, pool, n ? n : 1,
                       sizeof(ngx_http_hangar_decl_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (n) {
        ngx_memcpy(hmcf->decls.elts, hmcf->yaml_decls.elts,
                   n * sizeof(ngx_http_hangar_decl_t));
    }

    hmcf->decls.nelts = n;

    /* the state file's lists are read again by ngx_http_hangar_state_merge */
    hmcf->blocked = NULL;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_config_servers(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf, ngx_http_hangar_value_t *map,
    const char *section, ngx_uint_t groups)
{
    ngx_uint_t                i;
    ngx_http_hangar_pair_t   *pair;

    if (map == NULL || map->type == NGX_HTTP_HANGAR_NULL) {
        return NGX_OK;
    }

    if (map->type != NGX_HTTP_HANGAR_OBJ) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hangar_config: %V:%ui:%ui: %s: must be a mapping "
                           "of ids to entries", &hmcf->config_file,
                           map->line, map->col, section);
        return NGX_ERROR;
    }

    pair = map->u.obj.elts;

    for (i = 0; i < map->u.obj.nelts; i++) {

        if (!ngx_http_hangar_spec_id_valid(&pair[i].key,
                                           NGX_HTTP_HANGAR_SPEC_CONFIG))
        {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "hangar_config: %V:%ui:%ui: %s.%V: invalid id "
                               "(letters, digits, \"_\" and \"-\", starting "
                               "with a letter, at most 64), entry ignored",
                               &hmcf->config_file, pair[i].value->line,
                               pair[i].value->col, section, &pair[i].key);
            continue;
        }

        if (ngx_http_hangar_config_decl(cf, hmcf, &pair[i].key,
                                        pair[i].value, section, groups)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hangar_config_decl(ngx_conf_t *cf, ngx_http_hangar_main_conf_t *hmcf,
    ngx_str_t *id, ngx_http_hangar_value_t *in, const char *section,
    ngx_uint_t group)
{
    u_char                      *p;
    ngx_http_hangar_decl_t      *d;
    ngx_http_hangar_value_t     *spec, *mode;
    ngx_http_hangar_spec_ctx_t   ctx;

    /* an entry under "groups:" is a group whether it says so or not */
    if (group && ngx_http_hangar_is(in, NGX_HTTP_HANGAR_OBJ)
        && ngx_http_hangar_get(in, "mode") == NULL)
    {
        mode = ngx_http_hangar_value_str(cf->pool, (u_char *) "group", 5);
        if (mode == NULL
            || ngx_http_hangar_set(cf->pool, in, (u_char *) "mode", 4, mode)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    ngx_memzero(&ctx, sizeof(ngx_http_hangar_spec_ctx_t));
    ctx.pool = cf->pool;
    ctx.log = cf->log;
    ctx.source = NGX_HTTP_HANGAR_SPEC_CONFIG;
    ctx.file = hmcf->config_file;

    p = ngx_pnalloc(cf->pool, ngx_strlen(section) + id->len + 2);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx.prefix.data = p;
    ctx.prefix.len = ngx_sprintf(p, "%s.%V.", section, id) - p;

    if (ngx_http_hangar_spec_server(&ctx, id, in, &spec) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "hangar_config: %V",
                           &ctx.message);
        return NGX_ERROR;
    }

    group = (ngx_http_hangar_spec_mode(spec) == NGX_HTTP_HANGAR_MODE_GROUP);

    if (ngx_http_hangar_config_find(hmcf, id, group)) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "hangar_config: %V:%ui:%ui: %s.%V: declared "
                           "twice, the last one wins", &hmcf->config_file,
                           in->line, in->col, section, id);
    }

    d = ngx_http_hangar_config_find(hmcf, id, group);
    if (d == NULL) {
        d = ngx_array_push(&hmcf->decls);
        if (d == NULL) {
            return NGX_ERROR;
        }
    }

    ngx_memzero(d, sizeof(ngx_http_hangar_decl_t));
    d->id = *id;
    d->spec = spec;
    d->group = group;
    d->declared = 1;

    if (group) {
        return ngx_http_hangar_config_members(cf, hmcf, id, in);
    }

    return NGX_OK;
}


/*
 * A member entry with server keys (mode, command, endpoint, ...) declares
 * that server too, unless it was declared before (hangar-core §3.1).
 */

static ngx_int_t
ngx_http_hangar_config_members(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf, ngx_str_t *gid,
    ngx_http_hangar_value_t *in)
{
    u_char                    *p;
    ngx_uint_t                 i, k, j, server;
    ngx_http_hangar_pair_t    *pair;
    ngx_http_hangar_value_t   *members, **items, *id, *s;

    members = ngx_http_hangar_get(in, "members");
    if (!ngx_http_hangar_is(members, NGX_HTTP_HANGAR_ARR)) {
        return NGX_OK;
    }

    items = members->u.arr.elts;

    for (i = 0; i < members->u.arr.nelts; i++) {
        if (items[i]->type != NGX_HTTP_HANGAR_OBJ) {
            continue;
        }

        id = ngx_http_hangar_get(items[i], "id");

        if (ngx_http_hangar_config_find(hmcf, &id->u.s, 0)) {
            continue;
        }

        s = ngx_http_hangar_value_new(cf->pool, NGX_HTTP_HANGAR_OBJ);
        if (s == NULL) {
            return NGX_ERROR;
        }

        s->line = items[i]->line;
        s->col = items[i]->col;

        server = 0;
        pair = items[i]->u.obj.elts;

        for (j = 0; j < items[i]->u.obj.nelts; j++) {
            for (k = 0; ngx_http_hangar_member_keys[k]; k++) {
                if (ngx_strlen(ngx_http_hangar_member_keys[k])
                    == pair[j].key.len
                    && ngx_strncmp(ngx_http_hangar_member_keys[k],
                                   pair[j].key.data, pair[j].key.len) == 0)
                {
                    break;
                }
            }

            if (ngx_http_hangar_member_keys[k]) {
                continue;
            }

            server = 1;

            if (ngx_http_hangar_set(cf->pool, s, pair[j].key.data,
                                    pair[j].key.len, pair[j].value)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        if (!server) {
            continue;
        }

        p = ngx_pnalloc(cf->pool, gid->len + sizeof(".members"));
        if (p == NULL) {
            return NGX_ERROR;
        }

        *ngx_sprintf(p, "%V.members", gid) = '\0';

        if (ngx_http_hangar_config_decl(cf, hmcf, &id->u.s, s, (char *) p, 0)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_http_hangar_decl_t *
ngx_http_hangar_config_find(ngx_http_hangar_main_conf_t *hmcf, ngx_str_t *id,
    ngx_uint_t group)
{
    ngx_uint_t               i;
    ngx_http_hangar_decl_t  *d;

    d = hmcf->decls.elts;

    for (i = 0; i < hmcf->decls.nelts; i++) {
        if (d[i].group == group
            && ngx_memn2cmp(d[i].id.data, id->data, d[i].id.len, id->len) == 0)
        {
            return &d[i];
        }
    }

    return NULL;
}


/*
 * The rules for servers created through the API, and the hosts /api/
 * answers to: hangar.yaml "execution:" over the environment the master
 * was started with (MCP_ALLOWED_COMMANDS, MCP_TRUSTED_HOSTS), over the
 * defaults of hangar-core §2.1 and hangar-security §1.7.
 */

static ngx_int_t
ngx_http_hangar_config_execution(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf, ngx_http_hangar_value_t *in)
{
    char                        *env;
    ngx_uint_t                   i;
    ngx_cidr_t                  *cidr;
    ngx_str_t                   *s;
    ngx_http_hangar_value_t     *exec, *list, **items;
    ngx_http_hangar_spec_ctx_t   ctx;

    static char  commands[] = "bun,deno,docker,node,npx,podman,python,"
                              "python3,python3.11,python3.12,python3.13,"
                              "python3.14,uv,uvx";

    hmcf->allowed_commands = ngx_array_create(cf->pool, 16,
                                              sizeof(ngx_str_t));
    hmcf->remote_allow = ngx_array_create(cf->pool, 4, sizeof(ngx_cidr_t));
    hmcf->trusted_hosts = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));

    if (hmcf->allowed_commands == NULL || hmcf->remote_allow == NULL
        || hmcf->trusted_hosts == NULL)
    {
        return NGX_ERROR;
    }

    env = getenv("MCP_TRUSTED_HOSTS");

    if (ngx_http_hangar_split_list(cf->pool,
                                   (u_char *) (env && *env
                                               ? env
                                               : "localhost,127.0.0.1,::1"),
                                   hmcf->trusted_hosts)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    exec = NULL;

    if (in && in->type != NGX_HTTP_HANGAR_NULL) {
        ngx_memzero(&ctx, sizeof(ngx_http_hangar_spec_ctx_t));
        ctx.pool = cf->pool;
        ctx.log = cf->log;
        ctx.source = NGX_HTTP_HANGAR_SPEC_CONFIG;
        ctx.file = hmcf->config_file;
        ngx_str_set(&ctx.prefix, "execution.");

        if (in->type != NGX_HTTP_HANGAR_OBJ) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hangar_config: %V:%ui:%ui: execution: must "
                               "be a mapping", &hmcf->config_file, in->line,
                               in->col);
            return NGX_ERROR;
        }

        if (ngx_http_hangar_spec_execution(&ctx, in, &exec) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "hangar_config: %V",
                               &ctx.message);
            return NGX_ERROR;
        }
    }

    /* the YAML wins over the environment */
    list = ngx_http_hangar_get(exec, "allowed_commands");

    if (list) {
        items = list->u.arr.elts;

        for (i = 0; i < list->u.arr.nelts; i++) {
            s = ngx_array_push(hmcf->allowed_commands);
            if (s == NULL) {
                return NGX_ERROR;
            }

            *s = items[i]->u.s;
        }

    } else {
        env = getenv("MCP_ALLOWED_COMMANDS");

        if (ngx_http_hangar_split_list(cf->pool,
                                       (u_char *) (env && *env ? env
                                                               : commands),
                                       hmcf->allowed_commands)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    list = ngx_http_hangar_get(exec, "remote_allow");
    items = list ? list->u.arr.elts : NULL;

    for (i = 0; list && i < list->u.arr.nelts; i++) {
        cidr = ngx_array_push(hmcf->remote_allow);
        if (cidr == NULL) {
            return NGX_ERROR;
        }

        /* NGX_DONE: bits right of the prefix, ignored as nginx does */
        if (items[i]->u.s.len == 0
            || ngx_ptocidr(&items[i]->u.s, cidr) == NGX_ERROR)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hangar_config: %V:%ui:%ui: "
                               "execution.remote_allow[%ui]: \"%V\" is not "
                               "an address or a network (CIDR)",
                               &hmcf->config_file, items[i]->line,
                               items[i]->col, i, &items[i]->u.s);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * hangar.yaml "discovery:" (hangar-security.md §5.1): validated here, so
 * that an unknown source type or mode fails nginx -t; kept only when it
 * is enabled (the block is off unless "enabled: true").
 */

static ngx_int_t
ngx_http_hangar_config_discovery(ngx_conf_t *cf,
    ngx_http_hangar_main_conf_t *hmcf, ngx_http_hangar_value_t *in)
{
    ngx_http_hangar_value_t     *disc, *on;
    ngx_http_hangar_spec_ctx_t   ctx;

    hmcf->discovery = NULL;

    if (in == NULL || in->type == NGX_HTTP_HANGAR_NULL) {
        return NGX_OK;
    }

    ngx_memzero(&ctx, sizeof(ngx_http_hangar_spec_ctx_t));
    ctx.pool = cf->pool;
    ctx.log = cf->log;
    ctx.source = NGX_HTTP_HANGAR_SPEC_CONFIG;
    ctx.file = hmcf->config_file;
    ngx_str_set(&ctx.prefix, "discovery.");

    if (ngx_http_hangar_spec_discovery(&ctx, in, &disc) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "hangar_config: %V",
                           ctx.message.len ? &ctx.message
                                           : &hmcf->config_file);
        return NGX_ERROR;
    }

    on = ngx_http_hangar_get(disc, "enabled");

    if (!ngx_http_hangar_is(on, NGX_HTTP_HANGAR_BOOL) || !on->u.b) {
        return NGX_OK;
    }

    if (ngx_http_hangar_config_k8s(cf, disc) != NGX_OK) {
        return NGX_ERROR;
    }

    hmcf->discovery = disc;

    return NGX_OK;
}


/*
 * Kubernetes sources: the API server of the cluster nginx runs in, read
 * from the environment here (workers do not inherit it); the namespace
 * lists of the deprecated place (security.*) when the source has none.
 */

static ngx_int_t
ngx_http_hangar_config_k8s(ngx_conf_t *cf, ngx_http_hangar_value_t *disc)
{
    u_char                   *p;
    char                     *host, *port;
    ngx_uint_t                i, k;
    ngx_http_hangar_value_t  *list, **src, *type, *v, *sec;

    static const char  *lists[] = { "allowed_namespaces", "denied_namespaces",
                                    NULL };

    list = ngx_http_hangar_get(disc, "sources");
    sec = ngx_http_hangar_get(disc, "security");

    if (!ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)) {
        return NGX_OK;
    }

    src = list->u.arr.elts;

    for (i = 0; i < list->u.arr.nelts; i++) {
        type = ngx_http_hangar_get(src[i], "type");

        if (!ngx_http_hangar_str_is(&type->u.s, "kubernetes")) {
            continue;
        }

        for (k = 0; lists[k]; k++) {
            v = ngx_http_hangar_get(sec, lists[k]);

            if (v && ngx_http_hangar_get(src[i], lists[k]) == NULL
                && ngx_http_hangar_set(cf->pool, src[i], (u_char *) lists[k],
                                       ngx_strlen(lists[k]), v)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        v = ngx_http_hangar_get(src[i], "in_cluster");
        host = getenv("KUBERNETES_SERVICE_HOST");
        port = getenv("KUBERNETES_SERVICE_PORT");

        if (ngx_http_hangar_get(src[i], "api_server")
            || (ngx_http_hangar_is(v, NGX_HTTP_HANGAR_BOOL) && !v->u.b)
            || host == NULL || *host == '\0')
        {
            continue;
        }

        p = ngx_pnalloc(cf->pool, ngx_strlen(host) + 32);
        v = ngx_http_hangar_value_new(cf->pool, NGX_HTTP_HANGAR_STR);
        if (p == NULL || v == NULL) {
            return NGX_ERROR;
        }

        v->u.s.data = p;
        v->u.s.len = ngx_sprintf(p, ngx_strchr(host, ':') ? "https://[%s]:%s"
                                                          : "https://%s:%s",
                                 host, port && *port ? port : "443")
                     - p;

        if (ngx_http_hangar_set(cf->pool, src[i], (u_char *) "api_server",
                                10, v)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
