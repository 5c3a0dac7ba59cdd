
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <arpa/inet.h>
#include "ngx_http_hangar_addr.h"


void
ngx_http_hangar_unbracket(ngx_str_t *s)
{
    if (s->len >= 2 && s->data[0] == '[' && s->data[s->len - 1] == ']') {
        s->data++;
        s->len -= 2;
    }
}


ngx_int_t
ngx_http_hangar_runtime_addr(ngx_str_t *addr, ngx_cidr_t *cidr)
{
    u_char     buf[NGX_INET6_ADDRSTRLEN + 1];
    ngx_str_t  h;
#if (NGX_HAVE_INET6)
    u_char    *a;
#endif

    h = *addr;
    ngx_http_hangar_unbracket(&h);

    if (h.len == 0 || h.len >= sizeof(buf)) {
        return NGX_DECLINED;
    }

    *ngx_cpymem(buf, h.data, h.len) = '\0';
    ngx_memzero(cidr, sizeof(ngx_cidr_t));

    /* dotted quads only: a runtime reports addresses, not "127.1" */
    if (inet_pton(AF_INET, (char *) buf, &cidr->u.in.addr) == 1) {
        cidr->family = AF_INET;
        cidr->u.in.mask = 0xffffffff;
        return NGX_OK;
    }

#if (NGX_HAVE_INET6)
    a = cidr->u.in6.addr.s6_addr;

    /* no zone ("fe80::1%eth0"): it names an interface, not an address */
    if (inet_pton(AF_INET6, (char *) buf, a) == 1) {
        if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *) a)) {
            cidr->family = AF_INET;
            ngx_memcpy(&cidr->u.in.addr, a + 12, 4);
            ngx_memzero(a + 4, 12);
            cidr->u.in.mask = 0xffffffff;
            return NGX_OK;
        }

        cidr->family = AF_INET6;
        ngx_memset(cidr->u.in6.mask.s6_addr, 0xff, 16);
        return NGX_OK;
    }
#endif

    return NGX_DECLINED;
}
