// The official TypeScript SDK client as a full peer, for the tests of
// server-to-client requests: it declares the capabilities it is given and
// answers sampling, elicitation and roots requests.
//   node sdk-peer.mjs <url> '<capabilities JSON>' '<json array of steps>'
// A step is {call, arguments, cancelAfterMs, timeoutMs}, {setLevel} or
// {list} (prints {"tools":[names]}).
// Prints one JSON line per step: {"call":name,"result":...,"logs":[...],
// "asked":[methods],"ms":elapsed} or {"call":name,"error":message,...},
// and {"session":id} at the start.
import path from 'node:path';

const sdk = path.resolve(process.env.SDK_DIR);
const { Client } = await import(`${sdk}/dist/esm/client/index.js`);
const { StreamableHTTPClientTransport } =
    await import(`${sdk}/dist/esm/client/streamableHttp.js`);
const types = await import(`${sdk}/dist/esm/types.js`);

const [url, capsJson, stepsJson] = process.argv.slice(2);
const capabilities = JSON.parse(capsJson || '{}');
const steps = JSON.parse(stepsJson || '[]');
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

let logs = [];
let asked = [];

const transport = new StreamableHTTPClientTransport(new URL(url));
const client = new Client({ name: 'hangar-peer', version: '1.0.0' },
                          { capabilities });

if (capabilities.sampling) {
    client.setRequestHandler(types.CreateMessageRequestSchema, async (req) => {
        asked.push(req.method);
        const m = req.params.messages?.[0]?.content?.text ?? '';
        return { role: 'assistant', model: 'hangar-test-model',
                 content: { type: 'text', text: `client sampled: ${m}` } };
    });
}

if (capabilities.elicitation) {
    client.setRequestHandler(types.ElicitRequestSchema, async (req) => {
        asked.push(`${req.method}:${req.params.mode ?? 'form'}`);
        if (req.params.mode === 'url') {
            return { action: 'accept' };
        }
        return { action: 'accept', content: { name: 'Hangar Tester' } };
    });
}

if (capabilities.roots) {
    client.setRequestHandler(types.ListRootsRequestSchema, async (req) => {
        asked.push(req.method);
        return { roots: [{ uri: 'file:///srv/hangar-root', name: 'hangar-root' }] };
    });
}

client.setNotificationHandler(types.LoggingMessageNotificationSchema, (n) => {
    logs.push(n.params);
});

await client.connect(transport);
out({ session: transport.sessionId });

for (const s of steps) {
    if (s.list) {
        const { tools } = await client.listTools();
        out({ tools: tools.map((t) => t.name) });
        continue;
    }

    if (s.setLevel) {
        try {
            await client.setLoggingLevel(s.setLevel);
            out({ setLevel: s.setLevel, ok: true });
        } catch (e) {
            out({ setLevel: s.setLevel, error: String(e.message || e) });
        }
        continue;
    }

    logs = [];
    asked = [];
    const t0 = Date.now();
    const ac = new AbortController();
    if (s.cancelAfterMs) {
        setTimeout(() => ac.abort('the test cancels it'), s.cancelAfterMs);
    }
    try {
        const result = await client.callTool(
            { name: s.call, arguments: s.arguments || {} }, undefined,
            { signal: ac.signal, timeout: s.timeoutMs || 60000 });
        out({ call: s.call, result, logs, asked, ms: Date.now() - t0 });
    } catch (e) {
        out({ call: s.call, error: String(e.message || e), code: e.code,
              logs, asked, ms: Date.now() - t0 });
    }
}

await transport.terminateSession().catch(() => {});
await client.close();
