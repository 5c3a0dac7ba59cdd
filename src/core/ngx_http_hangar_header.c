
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hangar_header.h"


/* set by the client itself, or framing the message */
static const char  *ngx_http_hangar_reserved_headers[] = {
    "host", "content-length", "transfer-encoding", "connection",
    "keep-alive", "te", "trailer", "upgrade", "proxy-connection",
    "content-type", "accept", "mcp-session-id", "mcp-protocol-version",
    NULL
};


ngx_uint_t
ngx_http_hangar_header_name_ok(u_char *p, size_t len)
{
    u_char  *last;

    static const char  tchar[] = "!#$%&'*+-.^_`|~";

    if (len == 0) {
        return 0;
    }

    for (last = p + len; p < last; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9')
              || (*p != '\0' && ngx_strchr(tchar, *p) != NULL)))
        {
            return 0;
        }
    }

    return 1;
}


ngx_uint_t
ngx_http_hangar_header_value_ok(u_char *p, size_t len)
{
    u_char  *last;

    for (last = p + len; p < last; p++) {
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
            return 0;
        }
    }

    return 1;
}


ngx_uint_t
ngx_http_hangar_header_reserved(u_char *p, size_t len)
{
    ngx_uint_t  i;

    for (i = 0; ngx_http_hangar_reserved_headers[i]; i++) {
        if (ngx_strlen(ngx_http_hangar_reserved_headers[i]) == len
            && ngx_strncasecmp(p, (u_char *) ngx_http_hangar_reserved_headers[i],
                               len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


const char *
ngx_http_hangar_headers_unsafe(ngx_str_t *block)
{
    u_char  *p, *last, *eol, *colon;

    p = block->data;
    last = p + block->len;

    while (p < last) {
        eol = ngx_strlchr(p, last, '\n');

        if (eol == NULL || eol == p || eol[-1] != '\r') {
            return "a header line does not end with CRLF";
        }

        colon = ngx_strlchr(p, eol, ':');

        if (colon == NULL || !ngx_http_hangar_header_name_ok(p, colon - p)) {
            return "a header name is not a token";
        }

        /* the value up to the line's CR: no CR, LF or other control */
        if (!ngx_http_hangar_header_value_ok(colon + 1, eol - 1 - colon - 1)) {
            return "a header value holds CR, LF or another control "
                   "character";
        }

        p = eol + 1;
    }

    return NULL;
}


/* the first header of a list named name (any case), or NULL */

ngx_table_elt_t *
ngx_http_hangar_header_find(ngx_list_t *headers, u_char *name, size_t len)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &headers->part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, name, len) == 0)
        {
            return &h[i];
        }
    }
}
