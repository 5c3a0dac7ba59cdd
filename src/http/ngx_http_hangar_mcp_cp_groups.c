
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The groups' control-plane tools (hangar-core.md §7.2): hangar_group_list
 * answers what GET /api/groups does, with its writer; hangar_group_rebalance
 * is POST /api/groups/{id}/rebalance followed by the group as it is then.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_hangar_mcp_cp_groups.h"
#include "ngx_http_hangar_api_groups.h"


static ngx_int_t ngx_http_hangar_cp_group_unknown(ngx_http_hangar_cp_t *cp);


/* hangar_group_list: {groups:[<group status>]} */

ngx_int_t
ngx_http_hangar_cp_group_list(ngx_http_hangar_cp_t *cp)
{
    if (ngx_http_hangar_groups_out(cp->hr->reg, cp->hr->r->pool, &cp->body)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hangar_cp_done(cp);
}


/*
 * hangar_group_rebalance:
 * {group_id,state,healthy_count,total_members,members_in_rotation:[ids]}
 */

ngx_int_t
ngx_http_hangar_cp_group_rebalance(ngx_http_hangar_cp_t *cp)
{
    ngx_int_t                        rc;
    ngx_uint_t                       i, first;
    ngx_http_hangar_out_t           *out;
    ngx_http_hangar_gmember_info_t  *m;
    ngx_http_hangar_group_info_t     info;

    if (ngx_http_hangar_group_rebalance(cp->hr->reg, &cp->server) != NGX_OK) {
        return ngx_http_hangar_cp_group_unknown(cp);
    }

    ngx_log_error(NGX_LOG_NOTICE, cp->hr->r->connection->log, 0,
                  "hangar: group \"%V\" rebalanced", &cp->server);

    rc = ngx_http_hangar_group_info(cp->hr->reg, &cp->server,
                                    cp->hr->r->pool, &info);

    if (rc == NGX_DECLINED) {
        /* deleted since */
        return ngx_http_hangar_cp_group_unknown(cp);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = &cp->body;

    ngx_http_hangar_out_lit(out, "{\"group_id\":");
    ngx_http_hangar_out_ngx_str(out, &info.id);
    ngx_http_hangar_out_printf(out, ",\"state\":\"%s\",\"healthy_count\":%ui,"
                               "\"total_members\":%ui,"
                               "\"members_in_rotation\":[",
                               ngx_http_hangar_group_states[info.state],
                               info.healthy, info.nmembers);

    first = 1;

    for (i = 0; i < info.nmembers; i++) {
        m = &info.members[i];

        if (!m->in_rotation) {
            continue;
        }

        if (!first) {
            ngx_http_hangar_out_lit(out, ",");
        }

        first = 0;
        ngx_http_hangar_out_ngx_str(out, &m->id);
    }

    ngx_http_hangar_out_lit(out, "]}");

    return ngx_http_hangar_cp_done(cp);
}


static ngx_int_t
ngx_http_hangar_cp_group_unknown(ngx_http_hangar_cp_t *cp)
{
    return ngx_http_hangar_cp_error(cp, "ValueError", NULL,
                                    "unknown_group: %V", &cp->server);
}
