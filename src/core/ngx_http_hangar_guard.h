
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The rules at the edge, free of request plumbing: what a header name and
 * value may hold, which programs and arguments a server created through
 * the API may run, which environment variables are secrets, and which
 * hosts and addresses a remote created through the API may not reach
 * (SSRF).  The callers decide when a rule applies.
 */


#ifndef _NGX_HTTP_HANGAR_GUARD_H_INCLUDED_
#define _NGX_HTTP_HANGAR_GUARD_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hangar_value.h"
#include "ngx_http_hangar_addr.h"


/* the shell metacharacter an argument holds, or NULL */
const char *ngx_http_hangar_arg_unsafe(ngx_str_t *arg);

/* basename(program) is in allowed (ngx_str_t) */
ngx_uint_t ngx_http_hangar_command_allowed(ngx_array_t *allowed,
    ngx_str_t *program);

/* the list of allowed as "a, b, c" for a message */
ngx_str_t *ngx_http_hangar_command_list(ngx_pool_t *pool,
    ngx_array_t *allowed);

/* an environment variable a server does not inherit (a secret) */
ngx_uint_t ngx_http_hangar_env_secret(u_char *name, size_t len);

/*
 * SSRF: why the host of a remote's endpoint URL is refused (a metadata
 * name, or a literal address in a blocked range not in allow), or NULL;
 * *host is set to the host.  A name that is not refused is checked
 * again, on its address, when the client connects.
 */
const char *ngx_http_hangar_endpoint_blocked(ngx_str_t *endpoint,
    ngx_array_t *allow, ngx_str_t *host);

/* the blocked range an address is in, or NULL (IPv4-mapped unwrapped) */
const char *ngx_http_hangar_addr_blocked(struct sockaddr *sa);

/* the address is in one of cidrs (ngx_cidr_t; IPv4-mapped unwrapped) */
ngx_uint_t ngx_http_hangar_addr_allowed(ngx_array_t *cidrs,
    struct sockaddr *sa);

/*
 * Runtime addresses (hangar-security §5.4): the addresses a Docker or
 * Kubernetes source reports as a container's or pod's own, kept in a
 * discovered server's spec ("runtime_addresses", at most
 * NGX_HTTP_HANGAR_RUNTIME_MAX, not settable through the API).  Such a
 * server may reach them although private, except link-local, 0.0.0.0/8
 * and "::", which they never open.
 */
#define NGX_HTTP_HANGAR_RUNTIME_MAX  8

/* addr added to list (an array) once, if literal and the list not full */
ngx_int_t ngx_http_hangar_runtime_add(ngx_pool_t *pool,
    ngx_http_hangar_value_t *list, ngx_str_t *addr);

/*
 * What a server of that spec (or NULL) may reach although private:
 * remote_allow and its runtime addresses (ngx_cidr_t); remote_allow
 * itself when it has none; NULL when out of memory.
 */
ngx_array_t *ngx_http_hangar_runtime_allow(ngx_pool_t *pool,
    ngx_array_t *remote_allow, ngx_http_hangar_value_t *spec);

/*
 * The rules for a server created or changed through the API (hangar-core
 * §2.1 and §1.1), on its new spec; changed holds the fields the request
 * set, and only the rules of those apply.  NGX_OK; NGX_DECLINED with
 * *field and *message (a validation error); NGX_ABORT with *message (an
 * endpoint refused: ssrf_blocked); NGX_ERROR.
 */
ngx_int_t ngx_http_hangar_guard_server(ngx_pool_t *pool,
    ngx_array_t *allowed, ngx_array_t *remote_allow,
    ngx_http_hangar_value_t *spec, ngx_http_hangar_value_t *changed,
    ngx_str_t *field, ngx_str_t *message);

/* "a,b , c" -> ngx_str_t items (empty ones dropped) */
/*
 * host (no port; IPv6 with or without brackets) matches one of patterns
 * (ngx_str_t): the name itself, "*.example.com" (any name below it) or
 * "*" (any); case-insensitive.
 */
ngx_uint_t ngx_http_hangar_host_match(ngx_str_t *host,
    ngx_array_t *patterns);

ngx_int_t ngx_http_hangar_split_list(ngx_pool_t *pool, u_char *p,
    ngx_array_t *items);


#endif /* _NGX_HTTP_HANGAR_GUARD_H_INCLUDED_ */
