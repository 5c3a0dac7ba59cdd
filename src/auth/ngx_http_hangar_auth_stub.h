
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Nothing of its own: ngx_http_hangar_auth_stub.c only stands in for two
 * functions of ngx_http_hangar_auth.h until the auth core is merged.
 */


#ifndef _NGX_HTTP_HANGAR_AUTH_STUB_H_INCLUDED_
#define _NGX_HTTP_HANGAR_AUTH_STUB_H_INCLUDED_


#include "ngx_http_hangar_auth.h"


#endif /* _NGX_HTTP_HANGAR_AUTH_STUB_H_INCLUDED_ */
