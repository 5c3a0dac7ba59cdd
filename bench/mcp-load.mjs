// A small MCP load client in Node, for bench/mcp.sh (the kind of client
// most users run).  Same output as mcp-load.pl: "calls/s p50_ms p99_ms errors".
//   node mcp-load.mjs http  <url>       <tool> <args-json> <calls> <concurrency>
//   node mcp-load.mjs stdio '<command>' <tool> <args-json> <calls> <concurrency>
// http: each of <concurrency> loops keeps one keep-alive connection and one
// session, one call at a time.  stdio: <concurrency> requests in flight on
// the pipe of one child process.
import http from 'node:http';
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
            const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
            const r = await post(agent, target, JSON.stringify(init));
            const session = r.headers['mcp-session-id'];
            await post(agent, target, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), session);
            while (next < calls) {
                const id = ++next;
                const t = now();
                try {
                    const res = await post(agent, target, callMsg(id), session);
                    if (ok(res)) lat.push(now() - t); else errors++;
                } catch { errors++; }
            }
            agent.destroy();
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
