
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * hangar-bridge's HTTP request parser (hangar_bridge_http.c) and what it
 * hands the requests to (/mcp, /status, /logs): the input is what a
 * worker sends on one connection, cut into reads of varying sizes (the
 * first byte picks them).  The server's stdin is /dev/null.  What follows
 * a line "#server" is what the server writes on its stdout while those
 * requests are in flight (responses, notifications, its own requests,
 * which are routed by the sessions the client made); without it the
 * server never answers, so a forwarded request stays pending until the
 * connection goes.  Built with the bridge's main() renamed.
 */


#include "hangar_bridge.h"
#include <fcntl.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static int  hb_fuzz_pipe[2] = { -1, -1 };


static void
hb_fuzz_init(void)
{
    static int  done;

    if (done) {
        return;
    }

    done = 1;

    hb.id = "fuzz";
    hb.socket = "/nonexistent/fuzz.sock";
    hb.status = "/nonexistent/fuzz.status";
    hb.log_lines = 100;
    hb.ring = calloc(hb.log_lines, sizeof(hb_log_t));
    hb.lfd = -1;
    hb.sigfd = -1;
    hb.in_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    hb.out.is_stdout = 1;
    hb.out.max = HB_MAX_MSG;
    hb.err.fd = -1;
    hb.err.max = 2 * HB_MAX_LOG_LINE;
    hb.exit_code = -1;
    hb.exit_signal = -1;
    hb.next_id = 2;
    hb.state = HB_READY;
    hb.pid = 1;
    hb.proto = "2025-11-25";
    hb.init_result = yajl_tree_parse("{\"protocolVersion\":\"2025-11-25\","
                                     "\"capabilities\":{\"tools\":{}}}",
                                     NULL, 0);

    hb.req_ms = 60000;

    /* the server's stdout */
    if (pipe2(hb_fuzz_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        abort();
    }

    hb.out.fd = hb_fuzz_pipe[0];

    if (hb.ring == NULL || hb.in_fd == -1 || hb.init_result == NULL) {
        abort();
    }

    hb_log("stderr", "a line", 6);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t         i, n, step, out_size;
    ssize_t        w;
    uint32_t       seed;
    const uint8_t *out;
    hb_conn_t     *c;
    hb_pending_t  *p, *next;

    hb_fuzz_init();

    if (size < 1) {
        return 0;
    }

    seed = data[0] | 1;
    data++;
    size--;

    out = memmem(data, size, "\n#server\n", 9);
    out_size = 0;
    if (out) {
        out_size = data + size - (out + 9);
        size = out - data;
        out += 9;
    }

    c = calloc(1, sizeof(hb_conn_t));
    if (c == NULL) {
        return 0;
    }

    c->fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    c->state = HB_C_READ;
    c->keepalive = 1;
    c->next = hb.conns;
    hb.conns = c;
    hb.nconns++;

    while (size && !c->dead) {
        seed = seed * 1103515245 + 12345;
        step = 1 + (seed >> 16) % ((seed & 0x100) ? 4096 : 16);
        n = step < size ? step : size;

        if (hb_buf_add(&c->in, data, n) != 0) {
            break;
        }

        data += n;
        size -= n;

        if (c->state == HB_C_GET) {
            c->in.pos = c->in.len;
            hb_buf_idle(&c->in);
        }

        hb_conn_process(c);

        if (c->in.len - c->in.pos > HB_MAX_MSG + HB_MAX_HEADER + 16384) {
            abort();        /* the reader would have stopped reading */
        }
    }

    /* the server's output, while the requests are in flight */
    while (out_size && !c->dead) {
        w = write(hb_fuzz_pipe[1], out, out_size);
        if (w <= 0) {
            break;
        }

        out += w;
        out_size -= w;
        hb_reader_read(&hb.out);
    }

    (void) hb_sreq_expire();

    c->dead = 1;
    hb_sweep();

    for (i = 0; i < HB_BUCKETS; i++) {
        for (p = hb.pend[i]; p; p = next) {
            next = p->next;
            hb_pending_free(p);
        }

        hb.pend[i] = NULL;
    }

    hb.npending = 0;
    hb_mcp_forget();
    hb_reader_read(&hb.out);
    hb.out.buf.pos = hb.out.buf.len;
    hb.out.scanned = 0;
    hb.out.skipping = 0;
    hb_buf_idle(&hb.out.buf);
    hb.in_buf.pos = hb.in_buf.len;
    hb_buf_idle(&hb.in_buf);
    hb.stop_req = 0;

    return 0;
}
