
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * hangar_pass to a group: each MCP session is pinned to one member by a
 * key in the session id hangar hands out ("<member>~<the member's id>"),
 * so that any worker routes it the same way without a table.  A session
 * whose member has left the rotation is answered 404, which makes an MCP
 * client initialize again, onto a live member (the transport's rule for
 * an unknown session).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_pass_group.h"
#include "ngx_http_hangar_group.h"


#define NGX_HTTP_HANGAR_SID_MARK  '~'


ngx_int_t
ngx_http_hangar_pass_member(ngx_http_request_t *r,
    ngx_http_hangar_registry_t *reg, ngx_str_t *id, ngx_str_t *group,
    ngx_str_t *sid)
{
    u_char     *p;
    ngx_int_t   rc;
    ngx_str_t  *h, member;

    if (!ngx_http_hangar_group_exists(reg, id)) {
        return NGX_DECLINED;
    }

    *group = *id;
    ngx_str_null(sid);

    h = ngx_http_hangar_header(r, "Mcp-Session-Id");

    if (h == NULL || h->len == 0) {
        /* a new session: the strategy's member */
        rc = ngx_http_hangar_group_select(reg, group, NULL, r->pool, id);

        return (rc == NGX_OK) ? NGX_OK
               : (rc == NGX_DECLINED) ? NGX_BUSY : NGX_ERROR;
    }

    p = ngx_strlchr(h->data, h->data + h->len, NGX_HTTP_HANGAR_SID_MARK);

    if (p == NULL) {
        return NGX_ABORT;
    }

    member.data = h->data;
    member.len = p - h->data;

    if (!ngx_http_hangar_group_member_live(reg, group, &member)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "hangar: group \"%V\": the session's member \"%V\" is "
                      "out of rotation, 404 for the client to initialize "
                      "again", group, &member);
        return NGX_ABORT;
    }

    *id = member;
    sid->data = p + 1;
    sid->len = h->data + h->len - sid->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_pass_sid(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    ngx_uint_t out, ngx_str_t *group, ngx_str_t *member, ngx_str_t *sid)
{
    u_char           *p;
    ngx_str_t         value, *h;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *e;

    ngx_str_null(&value);

    if (!out) {
        if (group && group->len) {
            value = *sid;

        } else {
            h = ngx_http_hangar_header(r, "Mcp-Session-Id");
            if (h) {
                value = *h;
            }
        }

    } else if (r->upstream) {
        part = &r->upstream->headers_in.headers.part;
        e = part->elts;

        for (i = 0; /* void */; i++) {
            if (i >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }

                part = part->next;
                e = part->elts;
                i = 0;
            }

            if (e[i].hash && e[i].key.len == sizeof("Mcp-Session-Id") - 1
                && ngx_strncasecmp(e[i].key.data, (u_char *) "Mcp-Session-Id",
                                   e[i].key.len) == 0)
            {
                value = e[i].value;
                break;
            }
        }

        if (value.len && group && group->len) {
            p = ngx_pnalloc(r->pool, member->len + 1 + value.len);
            if (p == NULL) {
                return NGX_ERROR;
            }

            value.data = ngx_cpymem(ngx_cpymem(p, member->data, member->len),
                                    "~", 1);
            ngx_memcpy(value.data, e[i].value.data, e[i].value.len);
            value.len += member->len + 1;
            value.data = p;
        }
    }

    if (value.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = value.data;
    v->len = value.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}
