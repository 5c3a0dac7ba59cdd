
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Literal addresses, as a runtime reports them and as a URL writes them:
 * parsed with the C library alone, so that the spec checks (and their
 * fuzz target) need nothing of nginx's resolver code.
 */


#ifndef _NGX_HTTP_HANGAR_ADDR_H_INCLUDED_
#define _NGX_HTTP_HANGAR_ADDR_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* "[::1]" as "::1"; anything else as it is */
void ngx_http_hangar_unbracket(ngx_str_t *s);

/* a literal IPv4 or IPv6 address as a host cidr: NGX_OK, NGX_DECLINED */
ngx_int_t ngx_http_hangar_runtime_addr(ngx_str_t *addr, ngx_cidr_t *cidr);


#endif /* _NGX_HTTP_HANGAR_ADDR_H_INCLUDED_ */
