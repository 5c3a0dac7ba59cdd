// The other operations of bench/mcp.sh: resources/read, and a tool call
// that raises one elicitation the client answers at once.  Same output as
// mcp-load.mjs: "calls/s p50_ms p99_ms errors".
//   node mcp-load-extra.mjs http  <url>       read   <uri>  <calls> <concurrency>
//   node mcp-load-extra.mjs http  <url>       elicit <tool> <calls> <concurrency>
//   node mcp-load-extra.mjs http  <url>       call   echo   <calls> <concurrency>
//   node mcp-load-extra.mjs stdio '<command>' read|elicit ...
// (call: a plain tools/call of server-everything's echo, the baseline.)
// With calls in flight at once, stdio cannot tell which call a server's
// request is for: the bridge sends it to the most recent one (README), so
// an operation counts when its result is good, whoever answered.
// http: each of <concurrency> loops keeps one session and two keep-alive
// connections (the call's, and one for the answer to the server's
// request, POSTed while the call's stream is open).  stdio:
// <concurrency> operations in flight on the pipe of one child process.
import http from 'node:http';
import { spawn } from 'node:child_process';
import readline from 'node:readline';

const [kind, target, op, what, callsArg, concArg] = process.argv.slice(2);
const calls = Number(callsArg), conc = Number(concArg);
const init = {
    jsonrpc: '2.0', id: 0, method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: { elicitation: {} },
              clientInfo: { name: 'bench-extra', version: '1' } },
};
const opMsg = (id) => JSON.stringify(op === 'read'
    ? { jsonrpc: '2.0', id, method: 'resources/read', params: { uri: what } }
    : { jsonrpc: '2.0', id, method: 'tools/call',
        params: { name: what, arguments: op === 'call' ? { message: 'hello' } : {} } });
const answer = (id) => JSON.stringify({ jsonrpc: '2.0', id,
    result: { action: 'accept', content: { name: 'bench' } } });
const pct = (l, p) => { const s = [...l].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) * p)] : 0; };
const now = () => Number(process.hrtime.bigint()) / 1e6;
const good = (m) => m && m.result && !m.result.isError
    && (op !== 'read' || (m.result.contents && m.result.contents.length > 0));

function report(lat, errors, ms) {
    console.log(`${(lat.length / (ms / 1000)).toFixed(1)} ${pct(lat, 0.5).toFixed(3)} ${pct(lat, 0.99).toFixed(3)} ${errors}`);
}

// a POST; onMessage sees each JSON-RPC message of an SSE answer as it comes
function post(agent, body, session, onMessage) {
    return new Promise((resolve, reject) => {
        const headers = { 'content-type': 'application/json',
                          accept: 'application/json, text/event-stream',
                          'mcp-protocol-version': '2025-06-18' };
        if (session) headers['mcp-session-id'] = session;
        if (process.env.HANGAR_BENCH_KEY) headers['x-api-key'] = process.env.HANGAR_BENCH_KEY;
        const req = http.request(target, { method: 'POST', agent, headers }, (res) => {
            let data = '', buf = '', last;
            const sse = (res.headers['content-type'] || '').startsWith('text/event-stream');
            res.setEncoding('utf8');
            res.on('data', (c) => {
                if (!sse) { data += c; return; }
                buf += c;
                let i;
                while ((i = buf.indexOf('\n\n')) >= 0) {
                    const ev = buf.slice(0, i);
                    buf = buf.slice(i + 2);
                    const line = ev.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5)).join('');
                    let m; try { m = JSON.parse(line); } catch { continue; }
                    last = m;
                    if (onMessage) onMessage(m);
                }
            });
            res.on('end', () => {
                if (!sse) { try { last = JSON.parse(data); } catch { last = undefined; } }
                resolve({ status: res.statusCode, headers: res.headers, msg: last });
            });
        });
        req.on('error', reject);
        req.end(body);
    });
}

async function runHttp() {
    let next = 0, errors = 0;
    const lat = [];
    const loops = [];
    const t0 = now();
    for (let i = 0; i < conc; i++) {
        loops.push((async () => {
            const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
            const side = new http.Agent({ keepAlive: true, maxSockets: 1 });
            const r = await post(agent, JSON.stringify(init));
            const session = r.headers['mcp-session-id'];
            await post(agent, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), session);
            while (next < calls) {
                const id = ++next;
                const t = now();
                const answers = [];
                try {
                    const res = await post(agent, opMsg(id), session, (m) => {
                        if (m.method === 'elicitation/create' && m.id !== undefined) {
                            answers.push(post(side, answer(m.id), session));
                        }
                    });
                    const sent = await Promise.all(answers);
                    if (good(res.msg)
                        && sent.every((a) => a.status === 202 || a.status === 200))
                    {
                        lat.push(now() - t);
                    } else {
                        errors++;
                    }
                } catch { errors++; }
            }
            agent.destroy();
            side.destroy();
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
        if (m.method === 'elicitation/create' && m.id !== undefined) {
            child.stdin.write(answer(m.id) + '\n');
            return;
        }
        const w = waiting.get(m.id);
        if (w) { waiting.delete(m.id); w(m); }
    });
    const send = (text, id) => new Promise((resolve) => { waiting.set(id, resolve); child.stdin.write(text + '\n'); });
    await send(JSON.stringify(init), 0);
    child.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
    let next = 0, errors = 0;
    const lat = [];
    const t0 = now();
    const loops = [];
    for (let i = 0; i < conc; i++) {
        loops.push((async () => {
            while (next < calls) {
                const id = `b${++next}`;
                const t = now();
                const m = await send(opMsg(id), id);
                if (good(m)) lat.push(now() - t); else errors++;
            }
        })());
    }
    await Promise.all(loops);
    report(lat, errors, now() - t0);
    child.kill();
}

await (kind === 'stdio' ? runStdio() : runHttp());
