
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#ifndef _NGX_HTTP_HANGAR_NAMES_H_INCLUDED_
#define _NGX_HTTP_HANGAR_NAMES_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


/* a tool of the catalog and the name it is exported under */
typedef struct {
    ngx_str_t                    server;
    ngx_str_t                    tool;
    ngx_str_t                    name;      /* empty: not exported */
} ngx_http_hangar_name_t;


/*
 * After a catalog build (stamp: the registry's and the policies'
 * generations): the names that the previous build gave and this one does
 * not, while their tool is still offered, are remembered with the time
 * they were retired.
 */
void ngx_http_hangar_names_publish(ngx_http_hangar_req_t *hr,
    ngx_uint_t naming, ngx_atomic_uint_t stamp, ngx_array_t *names);

/*
 * A name the request's session may have been given before it was
 * retired: NGX_OK and the server and tool it named; NGX_DECLINED.
 */
ngx_int_t ngx_http_hangar_names_retired(ngx_http_hangar_req_t *hr,
    ngx_uint_t naming, time_t ttl, ngx_str_t *name, ngx_str_t *server,
    ngx_str_t *tool);


#endif /* _NGX_HTTP_HANGAR_NAMES_H_INCLUDED_ */
