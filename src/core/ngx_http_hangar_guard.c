
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <arpa/inet.h>
#include "ngx_http_hangar_guard.h"
#include "ngx_http_hangar_header.h"


typedef struct {
    uint32_t                     net;
    uint32_t                     mask;
    const char                  *name;
} ngx_http_hangar_range_t;




static const char *ngx_http_hangar_in_blocked(uint32_t addr);
#if (NGX_HAVE_INET6)
static const char *ngx_http_hangar_in6_blocked(u_char *a);
#endif
static ngx_uint_t ngx_http_hangar_runtime_never(ngx_cidr_t *cidr);
static ngx_uint_t ngx_http_hangar_ends_with(ngx_str_t *s, const char *tail);
static void ngx_http_hangar_url_host(ngx_str_t *url, ngx_str_t *host);
static ngx_int_t ngx_http_hangar_guard_exec(ngx_pool_t *pool,
    ngx_array_t *allowed, ngx_http_hangar_value_t *spec, ngx_uint_t docker,
    ngx_str_t *field, ngx_str_t *message);
static ngx_int_t ngx_http_hangar_guard_args(ngx_pool_t *pool,
    ngx_http_hangar_value_t *list, const char *name, ngx_uint_t from,
    ngx_str_t *field, ngx_str_t *message);
static ngx_uint_t ngx_http_hangar_touches(ngx_http_hangar_value_t *changed,
    const char **names);
static ngx_int_t ngx_http_hangar_say(ngx_pool_t *pool, ngx_str_t *s,
    const char *fmt, ...);


/* hangar-core.md §1.1, and the shared address space of carrier NAT */
static ngx_http_hangar_range_t  ngx_http_hangar_ranges[] = {
    { 0x0a000000, 0xff000000, "10.0.0.0/8" },
    { 0xac100000, 0xfff00000, "172.16.0.0/12" },
    { 0xc0a80000, 0xffff0000, "192.168.0.0/16" },
    { 0x7f000000, 0xff000000, "127.0.0.0/8" },
    { 0x00000000, 0xff000000, "0.0.0.0/8" },
    { 0xa9fe0000, 0xffff0000, "169.254.0.0/16" },
    { 0x64400000, 0xffc00000, "100.64.0.0/10" },
    { 0, 0, NULL }
};

/* cut out of the environment a server inherits (compared upper-cased) */
static const char  *ngx_http_hangar_secret_words[] = {
    "SECRET", "TOKEN", "PASSWORD", "PASSWD", "PRIVATE_KEY", "API_KEY",
    "APIKEY", "ACCESS_KEY", "CREDENTIAL", NULL
};



const char *
ngx_http_hangar_arg_unsafe(ngx_str_t *arg)
{
    u_char      *p, *last;
    ngx_uint_t   i;

    static const char  *pairs[] = { "$(", "${", "&&", "||", NULL };

    last = arg->data + arg->len;

    for (p = arg->data; p < last; p++) {
        switch (*p) {
        case ';':
            return ";";
        case '|':
            return "|";
        case '`':
            return "`";
        case '>':
            return ">";
        case '<':
            return "<";
        case '\n':
            return "a newline";
        case '\r':
            return "a carriage return";
        case '\0':
            return "a NUL byte";
        }

        for (i = 0; pairs[i]; i++) {
            if (last - p >= 2 && p[0] == pairs[i][0] && p[1] == pairs[i][1]) {
                return pairs[i];
            }
        }
    }

    return NULL;
}


ngx_uint_t
ngx_http_hangar_command_allowed(ngx_array_t *allowed, ngx_str_t *program)
{
    u_char      *p, *base;
    ngx_str_t   *a;
    ngx_uint_t   i;

    base = program->data;

    for (p = program->data; p < program->data + program->len; p++) {
        if (*p == '/') {
            base = p + 1;
        }
    }

    if (allowed == NULL) {
        return 0;
    }

    a = allowed->elts;

    for (i = 0; i < allowed->nelts; i++) {
        if (a[i].len == (size_t) (program->data + program->len - base)
            && ngx_strncmp(a[i].data, base, a[i].len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


ngx_str_t *
ngx_http_hangar_command_list(ngx_pool_t *pool, ngx_array_t *allowed)
{
    u_char      *p;
    size_t       len;
    ngx_str_t   *s, *a;
    ngx_uint_t   i;

    s = ngx_palloc(pool, sizeof(ngx_str_t));
    if (s == NULL) {
        return NULL;
    }

    len = 0;
    a = allowed ? allowed->elts : NULL;

    for (i = 0; allowed && i < allowed->nelts; i++) {
        len += a[i].len + 2;
    }

    s->data = ngx_pnalloc(pool, len + 1);
    if (s->data == NULL) {
        return NULL;
    }

    p = s->data;

    for (i = 0; allowed && i < allowed->nelts; i++) {
        p = ngx_sprintf(p, "%s%V", i ? ", " : "", &a[i]);
    }

    s->len = p - s->data;

    return s;
}


ngx_uint_t
ngx_http_hangar_env_secret(u_char *name, size_t len)
{
    size_t       n, j;
    u_char       up[256];
    ngx_uint_t   i;

    if (len >= sizeof(up)) {
        return 1;
    }

    for (j = 0; j < len; j++) {
        up[j] = ngx_toupper(name[j]);
    }

    if (len >= 7 && ngx_strncmp(up, "HANGAR_", 7) == 0) {
        return 1;
    }

    for (i = 0; ngx_http_hangar_secret_words[i]; i++) {
        n = ngx_strlen(ngx_http_hangar_secret_words[i]);

        for (j = 0; j + n <= len; j++) {
            if (ngx_strncmp(up + j, ngx_http_hangar_secret_words[i], n) == 0) {
                return 1;
            }
        }
    }

    return 0;
}


static const char *
ngx_http_hangar_in_blocked(uint32_t addr)
{
    ngx_http_hangar_range_t  *r;

    for (r = ngx_http_hangar_ranges; r->name; r++) {
        if ((addr & r->mask) == r->net) {
            return r->name;
        }
    }

    return NULL;
}


#if (NGX_HAVE_INET6)

static const char *
ngx_http_hangar_in6_blocked(u_char *a)
{
    uint32_t  v4;

    static const u_char  zero[12] = { 0 };
    static const u_char  mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                        0xff, 0xff };
    static const u_char  nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0,
                                       0, 0, 0, 0 };

    if (ngx_memcmp(a, zero, 12) == 0) {
        if (a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] <= 1) {
            return a[15] ? "::1" : "::";
        }

        /* the deprecated IPv4-compatible form: as the IPv4 address */
        goto v4;
    }

    if (ngx_memcmp(a, mapped, 12) == 0 || ngx_memcmp(a, nat64, 12) == 0) {
        goto v4;
    }

    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) {
        return "fe80::/10";
    }

    if ((a[0] & 0xfe) == 0xfc) {
        return "fc00::/7";
    }

    return NULL;

v4:

    v4 = ((uint32_t) a[12] << 24) | ((uint32_t) a[13] << 16)
         | ((uint32_t) a[14] << 8) | a[15];

    return ngx_http_hangar_in_blocked(v4);
}

#endif


const char *
ngx_http_hangar_addr_blocked(struct sockaddr *sa)
{
    switch (sa->sa_family) {

    case AF_INET:
        return ngx_http_hangar_in_blocked(
                   ntohl(((struct sockaddr_in *) sa)->sin_addr.s_addr));

#if (NGX_HAVE_INET6)
    case AF_INET6:
        return ngx_http_hangar_in6_blocked(
                   ((struct sockaddr_in6 *) sa)->sin6_addr.s6_addr);
#endif

    default:
        return NULL;
    }
}


ngx_uint_t
ngx_http_hangar_addr_allowed(ngx_array_t *cidrs, struct sockaddr *sa)
{
#if (NGX_HAVE_INET6)
    u_char               *a;
    struct sockaddr_in    sin;
#endif

    if (cidrs == NULL || cidrs->nelts == 0) {
        return 0;
    }

#if (NGX_HAVE_INET6)
    if (sa->sa_family == AF_INET6) {
        a = ((struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;

        if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *) a)) {
            ngx_memzero(&sin, sizeof(struct sockaddr_in));
            sin.sin_family = AF_INET;
            ngx_memcpy(&sin.sin_addr.s_addr, a + 12, 4);
            sa = (struct sockaddr *) &sin;
        }
    }
#endif

    return ngx_cidr_match(sa, cidrs) == NGX_OK;
}


ngx_int_t
ngx_http_hangar_runtime_add(ngx_pool_t *pool, ngx_http_hangar_value_t *list,
    ngx_str_t *addr)
{
    ngx_uint_t                 i;
    ngx_cidr_t                 cidr;
    ngx_http_hangar_value_t  **items;

    if (list->u.arr.nelts >= NGX_HTTP_HANGAR_RUNTIME_MAX
        || ngx_http_hangar_runtime_addr(addr, &cidr) != NGX_OK)
    {
        return NGX_OK;
    }

    items = list->u.arr.elts;

    for (i = 0; i < list->u.arr.nelts; i++) {
        if (ngx_memn2cmp(items[i]->u.s.data, addr->data, items[i]->u.s.len,
                         addr->len) == 0)
        {
            return NGX_OK;
        }
    }

    return ngx_http_hangar_push(list,
               ngx_http_hangar_value_str(pool, addr->data, addr->len));
}


ngx_array_t *
ngx_http_hangar_runtime_allow(ngx_pool_t *pool, ngx_array_t *remote_allow,
    ngx_http_hangar_value_t *spec)
{
    ngx_uint_t                 i, n;
    ngx_cidr_t                 cidr, *c;
    ngx_array_t               *allow;
    ngx_http_hangar_value_t  **items, *list;

    list = ngx_http_hangar_get(spec, "runtime_addresses");

    if (!ngx_http_hangar_is(list, NGX_HTTP_HANGAR_ARR)
        || list->u.arr.nelts == 0)
    {
        return remote_allow;
    }

    n = remote_allow ? remote_allow->nelts : 0;

    allow = ngx_array_create(pool, n + list->u.arr.nelts,
                             sizeof(ngx_cidr_t));
    if (allow == NULL) {
        return NULL;
    }

    /* room for all was made: the pushes below do not allocate */
    if (n) {
        c = ngx_array_push_n(allow, n);
        ngx_memcpy(c, remote_allow->elts, n * sizeof(ngx_cidr_t));
    }

    items = list->u.arr.elts;

    for (i = 0; i < list->u.arr.nelts && i < NGX_HTTP_HANGAR_RUNTIME_MAX;
         i++)
    {
        if (!ngx_http_hangar_is(items[i], NGX_HTTP_HANGAR_STR)
            || ngx_http_hangar_runtime_addr(&items[i]->u.s, &cidr) != NGX_OK
            || ngx_http_hangar_runtime_never(&cidr))
        {
            continue;
        }

        c = ngx_array_push(allow);
        *c = cidr;
    }

    return allow;
}


/* link-local, 0.0.0.0/8 and "::", in any form: never a runtime exemption */

static ngx_uint_t
ngx_http_hangar_runtime_never(ngx_cidr_t *cidr)
{
    ngx_uint_t            i;
    const char           *range;
    struct sockaddr_in    sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6   sin6;
#endif

    static const char  *never[] = { "169.254.0.0/16", "0.0.0.0/8", "::",
                                    "fe80::/10", NULL };

    range = NULL;

    if (cidr->family == AF_INET) {
        ngx_memzero(&sin, sizeof(struct sockaddr_in));
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = cidr->u.in.addr;
        range = ngx_http_hangar_addr_blocked((struct sockaddr *) &sin);
    }

#if (NGX_HAVE_INET6)
    if (cidr->family == AF_INET6) {
        ngx_memzero(&sin6, sizeof(struct sockaddr_in6));
        sin6.sin6_family = AF_INET6;
        ngx_memcpy(sin6.sin6_addr.s6_addr, cidr->u.in6.addr.s6_addr, 16);
        range = ngx_http_hangar_addr_blocked((struct sockaddr *) &sin6);
    }
#endif

    for (i = 0; range && never[i]; i++) {
        if (ngx_strcmp(range, never[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


static ngx_uint_t
ngx_http_hangar_ends_with(ngx_str_t *s, const char *tail)
{
    size_t  n;

    n = ngx_strlen(tail);

    return s->len >= n
           && ngx_strncasecmp(s->data + s->len - n, (u_char *) tail, n) == 0;
}


/*
 * The host of a URL: after "scheme://" and any "user@", before the port,
 * path, query or fragment; brackets of an IPv6 address taken off.
 */

static void
ngx_http_hangar_url_host(ngx_str_t *url, ngx_str_t *host)
{
    u_char  *p, *last, *start, *at;

    p = url->data;
    last = p + url->len;

    start = ngx_strlcasestrn(p, last, (u_char *) "://", 3 - 1);
    start = start ? start + 3 : p;

    for (p = start; p < last && *p != '/' && *p != '?' && *p != '#'; p++) {
        /* void */
    }

    last = p;

    at = NULL;
    for (p = start; p < last; p++) {
        if (*p == '@') {
            at = p;
        }
    }

    if (at) {
        start = at + 1;
    }

    if (start < last && *start == '[') {
        p = ngx_strlchr(start, last, ']');
        host->data = start + 1;
        host->len = p ? (size_t) (p - start - 1) : (size_t) (last - start - 1);
        return;
    }

    p = ngx_strlchr(start, last, ':');

    host->data = start;
    host->len = (p ? p : last) - start;
}


const char *
ngx_http_hangar_endpoint_blocked(ngx_str_t *endpoint, ngx_array_t *allow,
    ngx_str_t *host)
{
    u_char                buf[64];
    ngx_str_t             h;
    const char           *range;
    struct in_addr        in;
    struct sockaddr_in    sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6   sin6;
#endif

    ngx_http_hangar_url_host(endpoint, host);

    h = *host;

    /* "metadata.google.internal." is the same name */
    if (h.len && h.data[h.len - 1] == '.') {
        h.len--;
    }

    if (h.len == 0) {
        return "it has no host";
    }

    /* names no allow-list opens: cloud metadata, internal zones */
    if (ngx_http_hangar_ends_with(&h, ".internal")
        || (h.len == 8 && ngx_strncasecmp(h.data, (u_char *) "metadata", 8)
                          == 0)
        || (h.len == 8 && ngx_strncasecmp(h.data, (u_char *) "internal", 8)
                          == 0))
    {
        return "an internal or cloud metadata host name";
    }

    if (ngx_strlchr(h.data, h.data + h.len, '%')) {
        return "an address with a zone index";
    }

    if ((h.len == 9 && ngx_strncasecmp(h.data, (u_char *) "localhost", 9)
                       == 0)
        || ngx_http_hangar_ends_with(&h, ".localhost"))
    {
        ngx_str_set(&h, "127.0.0.1");
    }

    if (h.len >= sizeof(buf)) {
        return NULL;
    }

    *ngx_cpymem(buf, h.data, h.len) = '\0';

    /* every form the C library takes: "127.1", "0x7f000001", "2130706433" */
    if (inet_aton((char *) buf, &in)) {
        ngx_memzero(&sin, sizeof(struct sockaddr_in));
        sin.sin_family = AF_INET;
        sin.sin_addr = in;

        range = ngx_http_hangar_addr_blocked((struct sockaddr *) &sin);

        if (range && !ngx_http_hangar_addr_allowed(allow,
                                                   (struct sockaddr *) &sin))
        {
            return range;
        }

        return NULL;
    }

#if (NGX_HAVE_INET6)
    ngx_memzero(&sin6, sizeof(struct sockaddr_in6));
    sin6.sin6_family = AF_INET6;

    if (ngx_inet6_addr(h.data, h.len, sin6.sin6_addr.s6_addr) == NGX_OK) {
        range = ngx_http_hangar_addr_blocked((struct sockaddr *) &sin6);

        if (range && !ngx_http_hangar_addr_allowed(allow,
                                                   (struct sockaddr *) &sin6))
        {
            return range;
        }
    }
#endif

    /* a name: its addresses are checked when the client connects */
    return NULL;
}


ngx_int_t
ngx_http_hangar_split_list(ngx_pool_t *pool, u_char *p, ngx_array_t *items)
{
    u_char     *start, *end, *last;
    ngx_str_t  *s;

    last = p + ngx_strlen(p);

    while (p < last) {
        start = p;
        end = ngx_strlchr(p, last, ',');
        if (end == NULL) {
            end = last;
        }
        p = end + 1;

        while (start < end && (*start == ' ' || *start == '\t')) {
            start++;
        }

        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }

        if (start == end) {
            continue;
        }

        s = ngx_array_push(items);
        if (s == NULL) {
            return NGX_ERROR;
        }

        s->len = end - start;
        s->data = ngx_pnalloc(pool, s->len);
        if (s->data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(s->data, start, s->len);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_guard_server(ngx_pool_t *pool, ngx_array_t *allowed,
    ngx_array_t *remote_allow, ngx_http_hangar_value_t *spec,
    ngx_http_hangar_value_t *changed, ngx_str_t *field, ngx_str_t *message)
{
    ngx_str_t                 host;
    const char               *why;
    ngx_array_t              *allow;
    ngx_http_hangar_value_t  *mode, *ep, *ra;

    static const char  *run[] = { "mode", "command", "args", "image", NULL };
    static const char  *reach[] = { "mode", "endpoint", NULL };

    mode = ngx_http_hangar_get(spec, "mode");

    if (!ngx_http_hangar_is(mode, NGX_HTTP_HANGAR_STR)
        || ngx_http_hangar_str_is(&mode->u.s, "group"))
    {
        return NGX_OK;
    }

    if (ngx_http_hangar_str_is(&mode->u.s, "remote")) {
        ep = ngx_http_hangar_get(spec, "endpoint");

        if (!ngx_http_hangar_touches(changed, reach)
            || !ngx_http_hangar_is(ep, NGX_HTTP_HANGAR_STR))
        {
            return NGX_OK;
        }

        /* a discovered one: its container's or pod's own addresses too */
        ra = ngx_http_hangar_get(spec, "runtime_addresses");
        allow = ngx_http_hangar_runtime_allow(pool, remote_allow, spec);
        if (allow == NULL) {
            return NGX_ERROR;
        }

        why = ngx_http_hangar_endpoint_blocked(&ep->u.s, allow, &host);
        if (why == NULL) {
            return NGX_OK;
        }

        ngx_str_set(field, "endpoint");

        if (ra) {
            return (ngx_http_hangar_say(pool, message,
                        "endpoint: the host \"%V\" is refused (%s): a "
                        "discovered endpoint may be private only when it "
                        "is one of the runtime addresses its source reports "
                        "for that container or pod, never link-local; an "
                        "operator opens a network with "
                        "execution.remote_allow in hangar.yaml",
                        &host, why)
                    == NGX_OK) ? NGX_ABORT : NGX_ERROR;
        }

        if (ngx_http_hangar_say(pool, message,
                "endpoint: the host \"%V\" is refused (%s): remotes "
                "created through the API may not reach loopback, private, "
                "link-local or metadata addresses; an operator opens a "
                "network with execution.remote_allow in hangar.yaml",
                &host, why)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_ABORT;
    }

    if (!ngx_http_hangar_touches(changed, run)) {
        return NGX_OK;
    }

    return ngx_http_hangar_guard_exec(pool, allowed, spec,
                     !ngx_http_hangar_str_is(&mode->u.s, "subprocess"),
                     field, message);
}


/* the program (or the container runtime) and its arguments */

static ngx_int_t
ngx_http_hangar_guard_exec(ngx_pool_t *pool, ngx_array_t *allowed,
    ngx_http_hangar_value_t *spec, ngx_uint_t docker, ngx_str_t *field,
    ngx_str_t *message)
{
    ngx_int_t                  rc;
    ngx_str_t                  program, *list;
    ngx_uint_t                 n;
    ngx_http_hangar_value_t   *cmd, *args, *mode, **items;

    cmd = ngx_http_hangar_get(spec, "command");
    args = ngx_http_hangar_get(spec, "args");

    if (!ngx_http_hangar_is(cmd, NGX_HTTP_HANGAR_ARR)) {
        cmd = NULL;
    }

    if (!ngx_http_hangar_is(args, NGX_HTTP_HANGAR_ARR)) {
        args = NULL;
    }

    /* a container's command runs inside it; the host runs its runtime */
    if (docker) {
        mode = ngx_http_hangar_get(spec, "mode");

        if (ngx_http_hangar_is(mode, NGX_HTTP_HANGAR_STR)
            && ngx_http_hangar_str_is(&mode->u.s, "podman"))
        {
            ngx_str_set(&program, "podman");

        } else {
            ngx_str_set(&program, "docker");
        }

    } else if (cmd && cmd->u.arr.nelts) {
        items = cmd->u.arr.elts;
        program = items[0]->u.s;

    } else {
        return NGX_OK;
    }

    if (!ngx_http_hangar_command_allowed(allowed, &program)) {
        list = ngx_http_hangar_command_list(pool, allowed);
        if (list == NULL) {
            return NGX_ERROR;
        }

        if (docker) {
            ngx_str_set(field, "mode");

        } else {
            ngx_str_set(field, "command[0]");
        }

        if (ngx_http_hangar_say(pool, message,
                "%V: \"%V\" is not an allowed command%s; allowed: %V "
                "(an operator adds programs with "
                "execution.allowed_commands in hangar.yaml or "
                "MCP_ALLOWED_COMMANDS)", field, &program,
                docker ? " (containers run through it)" : "", list)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_DECLINED;
    }

    n = (cmd ? cmd->u.arr.nelts - (docker ? 0 : 1) : 0)
        + (args ? args->u.arr.nelts : 0);

    if (n > 100) {
        ngx_str_set(field, "args");

        return ngx_http_hangar_say(pool, message,
                                   "args: at most 100 arguments, %ui given",
                                   n) == NGX_OK
               ? NGX_DECLINED : NGX_ERROR;
    }

    rc = ngx_http_hangar_guard_args(pool, cmd, "command", docker ? 0 : 1,
                                    field, message);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_hangar_guard_args(pool, args, "args", 0, field, message);
}


static ngx_int_t
ngx_http_hangar_guard_args(ngx_pool_t *pool, ngx_http_hangar_value_t *list,
    const char *name, ngx_uint_t from, ngx_str_t *field, ngx_str_t *message)
{
    u_char                    *p;
    const char                *bad, *q;
    ngx_uint_t                 i;
    ngx_http_hangar_value_t  **items;

    if (list == NULL) {
        return NGX_OK;
    }

    items = list->u.arr.elts;

    for (i = from; i < list->u.arr.nelts; i++) {
        bad = ngx_http_hangar_arg_unsafe(&items[i]->u.s);
        if (bad == NULL) {
            continue;
        }

        p = ngx_pnalloc(pool, ngx_strlen(name) + NGX_INT_T_LEN + 2);
        if (p == NULL) {
            return NGX_ERROR;
        }

        field->data = p;
        field->len = ngx_sprintf(p, "%s[%ui]", name, i) - p;

        /* quote a metacharacter, not "a newline" */
        q = (ngx_strlen(bad) <= 2) ? "\"" : "";

        if (ngx_http_hangar_say(pool, message,
                "%V: must not contain %s%s%s (arguments are refused when "
                "they hold ; | ` $( ${ && || > < or a newline)", field,
                q, bad, q)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* the request set one of names (null is "unchanged") */

static ngx_uint_t
ngx_http_hangar_touches(ngx_http_hangar_value_t *changed, const char **names)
{
    ngx_http_hangar_value_t  *v;

    for ( /* void */ ; *names; names++) {
        v = ngx_http_hangar_get(changed, *names);

        if (v && v->type != NGX_HTTP_HANGAR_NULL) {
            return 1;
        }
    }

    return 0;
}


static ngx_int_t
ngx_http_hangar_say(ngx_pool_t *pool, ngx_str_t *s, const char *fmt, ...)
{
    u_char   buf[1024], *p;
    va_list  args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    s->len = p - buf;
    s->data = ngx_pnalloc(pool, s->len);
    if (s->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(s->data, buf, s->len);

    return NGX_OK;
}


ngx_uint_t
ngx_http_hangar_host_match(ngx_str_t *host, ngx_array_t *patterns)
{
    ngx_str_t   h, p, *pat;
    ngx_uint_t  i;

    if (patterns == NULL) {
        return 0;
    }

    h = *host;
    ngx_http_hangar_unbracket(&h);

    /* "example.com." is "example.com" */
    if (h.len > 1 && h.data[h.len - 1] == '.') {
        h.len--;
    }

    pat = patterns->elts;

    for (i = 0; i < patterns->nelts; i++) {
        p = pat[i];
        ngx_http_hangar_unbracket(&p);

        if (p.len == 1 && p.data[0] == '*') {
            return 1;
        }

        /* "*.example.com": any name below example.com */
        if (p.len > 2 && p.data[0] == '*' && p.data[1] == '.') {
            if (h.len > p.len - 1
                && ngx_strncasecmp(h.data + h.len - (p.len - 1), p.data + 1,
                                   p.len - 1) == 0)
            {
                return 1;
            }

            continue;
        }

        if (p.len == h.len && ngx_strncasecmp(p.data, h.data, h.len) == 0) {
            return 1;
        }
    }

    return 0;
}
