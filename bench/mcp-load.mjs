// A small MCP load client in Node, for bench/mcp.sh (the kind of client
// most users run).  Same output as mcp-load.pl: "calls/s p50_ms p99_ms errors".
//   node mcp-load.mjs http  <url>       <tool> <args-json> <calls> <concurrency>
//   node mcp-load.mjs stdio '<command>' <tool> <args-json> <calls> <concurrency>
// http: each of <concurrency> loops keeps one keep-alive connection and one
// session, one call at a time.  stdio: <concurrency> requests in flight on
// the pipe of one child process.
// The HTTP client is a lean keep-alive HTTP/1.1 client over node:net (one
// write per request, Content-Length and chunked answers, JSON or SSE), as
// wrk and mcp-load.pl are: node:http's Agent costs more per request than
// what is measured.  HANGAR_BENCH_NODE_HTTP=agent uses node:http instead.
import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import readline from 'node:readline';

const [kind, target, tool, argsJson, callsArg, concArg] = process.argv.slice(2);
const calls = Number(callsArg), conc = Number(concArg);
const args = JSON.parse(argsJson);
const init = {
    jsonrpc: '2.0', id: 0, method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {},
              clientInfo: { name: 'bench', version: '1' } },
};
const callMsg = (id) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call',
                                         params: { name: tool, arguments: args } });
const pct = (l, p) => { const s = [...l].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) * p)] : 0; };
const now = () => Number(process.hrtime.bigint()) / 1e6;

function report(lat, errors, ms) {
    console.log(`${(lat.length / (ms / 1000)).toFixed(1)} ${pct(lat, 0.5).toFixed(3)} ${pct(lat, 0.99).toFixed(3)} ${errors}`);
}

function post(agent, url, body, session) {
    return new Promise((resolve, reject) => {
        const headers = { 'content-type': 'application/json',
                          accept: 'application/json, text/event-stream',
                          'mcp-protocol-version': '2025-06-18' };
        if (session) headers['mcp-session-id'] = session;
        if (process.env.HANGAR_BENCH_KEY) headers['x-api-key'] = process.env.HANGAR_BENCH_KEY;
        const req = http.request(url, { method: 'POST', agent, headers }, (res) => {
            let data = '';
            res.setEncoding('utf8');
            res.on('data', (c) => { data += c; });
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, data }));
        });
        req.on('error', reject);
        req.end(body);
    });
}

// one keep-alive connection; requests one at a time
class LeanConn {
    constructor(url) {
        const u = new URL(url);
        this.host = u.host;
        this.path = u.pathname + u.search;
        this.port = Number(u.port || 80);
        this.hostname = u.hostname;
        this.sock = null;
        this.buf = Buffer.alloc(0);
        this.waiting = null;
    }

    connect() {
        return new Promise((resolve, reject) => {
            const s = net.createConnection({ host: this.hostname, port: this.port }, () => resolve());
            s.setNoDelay(true);
            // events of a connection given up (Connection: close) are old news
            s.on('data', (d) => {
                if (s !== this.sock) return;
                this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
                this.parse();
            });
            s.on('error', (e) => { if (s === this.sock) this.fail(e); reject(e); });
            s.on('close', () => {
                if (s !== this.sock) return;
                this.closed = true;
                this.parse();
                this.sock = null;
                this.fail(new Error('closed'));
            });
            this.sock = s;
            this.closed = false;
        });
    }

    fail(e) {
        const w = this.waiting;
        if (w) { this.waiting = null; w.reject(e); }
    }

    // a complete response at the start of this.buf, or null
    take() {
        const b = this.buf;
        const he = b.indexOf('\r\n\r\n');
        if (he < 0) return null;
        const lines = b.subarray(0, he).toString('latin1').split('\r\n');
        const status = Number(lines[0].split(' ')[1]);
        const headers = {};
        for (const l of lines.slice(1)) {
            const i = l.indexOf(':');
            if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        let pos = he + 4;
        if (/chunked/i.test(headers['transfer-encoding'] || '')) {
            const parts = [];
            for (;;) {
                const le = b.indexOf('\r\n', pos);
                if (le < 0) return null;
                const size = parseInt(b.subarray(pos, le).toString('latin1'), 16);
                if (Number.isNaN(size)) throw new Error('bad chunk size');
                if (size === 0) {
                    // trailers, up to an empty line
                    let t = le + 2;
                    for (;;) {
                        const te = b.indexOf('\r\n', t);
                        if (te < 0) return null;
                        if (te === t) { pos = te + 2; break; }
                        t = te + 2;
                    }
                    break;
                }
                if (b.length < le + 2 + size + 2) return null;
                parts.push(b.subarray(le + 2, le + 2 + size));
                pos = le + 2 + size + 2;
            }
            this.buf = b.subarray(pos);
            return { status, headers, data: Buffer.concat(parts).toString('utf8') };
        }
        if (headers['content-length'] !== undefined) {
            const n = Number(headers['content-length']);
            if (b.length < pos + n) return null;
            this.buf = b.subarray(pos + n);
            return { status, headers, data: b.subarray(pos, pos + n).toString('utf8') };
        }
        // neither: the body ends with the connection
        if (!this.closed) return null;
        this.buf = Buffer.alloc(0);
        return { status, headers, data: b.subarray(pos).toString('utf8') };
    }

    parse() {
        if (!this.waiting) return;
        let r;
        try { r = this.take(); } catch (e) { this.fail(e); return; }
        if (r) {
            const w = this.waiting;
            this.waiting = null;
            if (/close/i.test(r.headers.connection || '')) { this.sock?.destroy(); this.sock = null; }
            w.resolve(r);
        }
    }

    async post(body, session) {
        if (!this.sock) { this.buf = Buffer.alloc(0); await this.connect(); }
        let head = `POST ${this.path} HTTP/1.1\r\nHost: ${this.host}\r\n`
            + 'Content-Type: application/json\r\n'
            + 'Accept: application/json, text/event-stream\r\n'
            + 'MCP-Protocol-Version: 2025-06-18\r\n';
        if (session) head += `Mcp-Session-Id: ${session}\r\n`;
        if (process.env.HANGAR_BENCH_KEY) head += `X-API-Key: ${process.env.HANGAR_BENCH_KEY}\r\n`;
        const b = Buffer.from(body);
        head += `Content-Length: ${b.length}\r\n\r\n`;
        return new Promise((resolve, reject) => {
            this.waiting = { resolve, reject };
            this.sock.write(Buffer.concat([Buffer.from(head), b]));
        });
    }

    destroy() { this.sock?.destroy(); }
}

const lean = process.env.HANGAR_BENCH_NODE_HTTP !== 'agent';

function client(url) {
    if (lean) {
        const c = new LeanConn(url);
        return { post: (body, session) => c.post(body, session), destroy: () => c.destroy() };
    }
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    return { post: (body, session) => post(agent, url, body, session), destroy: () => agent.destroy() };
}

function ok(res) {
    if (res.status !== 200) return false;
    const text = res.data.startsWith('data:') || res.data.includes('\ndata:')
        ? res.data.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5)).pop()
        : res.data;
    try { const m = JSON.parse(text); return m.result && !m.result.isError; } catch { return false; }
}

async function runHttp() {
    let next = 0, errors = 0;
    const lat = [];
    const loops = [];
    const t0 = now();
    for (let i = 0; i < conc; i++) {
        loops.push((async () => {
            const cl = client(target);
            const r = await cl.post(JSON.stringify(init));
            const session = r.headers['mcp-session-id'];
            await cl.post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), session);
            while (next < calls) {
                const id = ++next;
                const t = now();
                try {
                    const res = await cl.post(callMsg(id), session);
                    if (ok(res)) lat.push(now() - t); else errors++;
                } catch { errors++; }
            }
            cl.destroy();
        })());
    }
    await Promise.all(loops);
    report(lat, errors, now() - t0);
}

async function runStdio() {
    const child = spawn('sh', ['-c', `exec ${target}`], { stdio: ['pipe', 'pipe', 'ignore'] });
    const rl = readline.createInterface({ input: child.stdout });
    const waiting = new Map();
    rl.on('line', (line) => {
        let m; try { m = JSON.parse(line); } catch { return; }
        const w = waiting.get(m.id);
        if (w) { waiting.delete(m.id); w(m); }
    });
    const send = (msg) => new Promise((resolve) => { waiting.set(msg.id, resolve); child.stdin.write(JSON.stringify(msg) + '\n'); });
    await send(init);
    child.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
    let next = 0, errors = 0;
    const lat = [];
    const t0 = now();
    const loops = [];
    for (let i = 0; i < conc; i++) {
        loops.push((async () => {
            while (next < calls) {
                const id = ++next;
                const t = now();
                const m = await send(JSON.parse(callMsg(id)));
                if (m.result && !m.result.isError) lat.push(now() - t); else errors++;
            }
        })());
    }
    await Promise.all(loops);
    report(lat, errors, now() - t0);
    child.kill();
}

await (kind === 'stdio' ? runStdio() : runHttp());
