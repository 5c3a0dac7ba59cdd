
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * A call of a control-plane tool (ngx_http_hangar_mcp_cp.c) and how the
 * tools answer: their result, the error result of what they found wrong,
 * a wait for a start; and the fleet's numbers, copied out of shm, for the
 * tools that show them.
 */


#ifndef _NGX_HTTP_HANGAR_MCP_CP_ANSWER_H_INCLUDED_
#define _NGX_HTTP_HANGAR_MCP_CP_ANSWER_H_INCLUDED_


#include "ngx_http_hangar_reply.h"


typedef struct ngx_http_hangar_cp_s  ngx_http_hangar_cp_t;

typedef ngx_int_t (*ngx_http_hangar_cp_pt)(ngx_http_hangar_cp_t *cp);


typedef struct {
    ngx_str_t                    name;
    const char                  *resource;  /* its permission; NULL: */
    const char                  *action;    /* per call (hangar_call) */
    ngx_uint_t                   takes;     /* the id it needs, if any */
    ngx_http_hangar_cp_pt        handler;
    const char                  *doc;       /* the tool object's rest */
} ngx_http_hangar_cp_tool_t;

#define NGX_HTTP_HANGAR_CP_SERVER_ID  1     /* mcp_server */
#define NGX_HTTP_HANGAR_CP_GROUP_ID   2     /* group */


/* a server of hangar_warm */
typedef struct {
    ngx_http_hangar_cp_t        *cp;
    ngx_str_t                    id;
    ngx_http_hangar_waiter_t     waiter;
    ngx_uint_t                   outcome;
    ngx_str_t                    error;
} ngx_http_hangar_cp_warm_t;


/* a server's numbers, copied out of shm */
typedef struct {
    u_char                       id[NGX_HTTP_HANGAR_ID_MAX];
    size_t                       id_len;
    ngx_uint_t                   state;
    u_char                       mode[16];
    ngx_uint_t                   tools;
    ngx_uint_t                   invocations;
    ngx_uint_t                   failures;
} ngx_http_hangar_cp_server_t;


struct ngx_http_hangar_cp_s {
    ngx_http_hangar_req_t       *hr;
    ngx_http_hangar_value_t     *id;
    ngx_http_hangar_value_t     *args;
    ngx_http_hangar_cp_tool_t   *tool;
    ngx_str_t                    server;    /* or the group, as it takes */
    ngx_http_hangar_out_t        body;
    ngx_http_hangar_cp_warm_t   *warm;
    ngx_uint_t                   nwarm;
    ngx_uint_t                   pending;
    ngx_http_hangar_cp_pt        answer;    /* once the server is ready */
    unsigned                     async:1;
    unsigned                     blocked:1;
};


/* cp->body is the tool's result: sent now, or ending the request */
ngx_int_t ngx_http_hangar_cp_done(ngx_http_hangar_cp_t *cp);
/* what the tool found wrong: {"error","type","details"} as its result */
ngx_int_t ngx_http_hangar_cp_error(ngx_http_hangar_cp_t *cp,
    const char *type, ngx_str_t *details, const char *fmt, ...);
/* unknown_mcp_server: <cp->server> */
ngx_int_t ngx_http_hangar_cp_unknown(ngx_http_hangar_cp_t *cp);
/* the tool waits for a start: the request stays until cp_done() */
ngx_int_t ngx_http_hangar_cp_wait(ngx_http_hangar_cp_t *cp);
/* what inner holds, as a JSON string in out */
ngx_int_t ngx_http_hangar_cp_string(ngx_http_hangar_out_t *out,
    ngx_http_hangar_out_t *inner);
/* every server's numbers (ngx_http_hangar_cp_server_t) */
ngx_int_t ngx_http_hangar_cp_fleet(ngx_http_hangar_cp_t *cp,
    ngx_array_t *servers);


#endif /* _NGX_HTTP_HANGAR_MCP_CP_ANSWER_H_INCLUDED_ */
