
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * The calls held for approval (ngx_http_hangar_approval_hold.c), and the
 * sweep of expired records.
 */


#ifndef _NGX_HTTP_HANGAR_APPROVAL_HOLD_H_INCLUDED_
#define _NGX_HTTP_HANGAR_APPROVAL_HOLD_H_INCLUDED_


#include "ngx_http_hangar_approval.h"
#include "ngx_http_hangar_lifecycle.h"
#include "ngx_http_hangar_policy.h"
#include "ngx_http_hangar_auth.h"


/*
 * The hold's word to its caller: NGX_OK approved and revalidated, go on;
 * NGX_AGAIN text is a notifications/progress message to relay;
 * NGX_DECLINED refused, text is the tool error.
 */
typedef void (*ngx_http_hangar_approval_pt)(void *data, ngx_int_t rc,
    ngx_str_t *text);

/*
 * A tools/call of tool (the server's name for it) on server, allowed with
 * the policy's verdict v (decided for the caller): NGX_DECLINED no
 * approval needed; NGX_AGAIN held, handler is called once with NGX_OK
 * or NGX_DECLINED (and with NGX_AGAIN for progress, when params carry
 * _meta.progressToken); NGX_ERROR refused now, *msg says why (empty: an
 * internal error).
 */
ngx_int_t ngx_http_hangar_approval_hold(ngx_http_request_t *r,
    ngx_str_t *server, ngx_str_t *tool, ngx_http_hangar_value_t *params,
    ngx_http_hangar_policy_verdict_t *v, ngx_http_hangar_approval_pt handler,
    void *data, ngx_str_t *msg);

/* a random (version 4) UUID: 36 characters and a NUL at out */
void ngx_http_hangar_approval_uuid(u_char *out);

/* the sweep of expired pending records, on the lease holder's timer */
ngx_int_t ngx_http_hangar_approval_init_process(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_HANGAR_APPROVAL_HOLD_H_INCLUDED_ */
