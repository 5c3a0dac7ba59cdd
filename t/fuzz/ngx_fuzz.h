
/*
 * Copyright (C) the ngx_http_hangar_module authors
 */


#ifndef _NGX_FUZZ_H_INCLUDED_
#define _NGX_FUZZ_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* a log that drops what it is given (FUZZ_LOG=1 prints it) */
ngx_log_t *ngx_fuzz_log_new(void);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#endif /* _NGX_FUZZ_H_INCLUDED_ */
