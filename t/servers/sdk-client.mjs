// The official TypeScript SDK client against an MCP endpoint, for the tests.
//   node sdk-client.mjs <url> '<json array of {name, arguments}>'
// Prints one JSON line per step: {"tools":[names]}, then per call
// {"call":name,"result":...} or {"call":name,"error":message}, then
// {"session":id,"terminated":true}.
import path from 'node:path';

const sdk = path.resolve(process.env.SDK_DIR);
const { Client } = await import(`${sdk}/dist/esm/client/index.js`);
const { StreamableHTTPClientTransport } =
    await import(`${sdk}/dist/esm/client/streamableHttp.js`);

const [url, callsJson] = process.argv.slice(2);
const calls = JSON.parse(callsJson || '[]');
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

// SDK_HEADERS: a JSON object of headers sent with every request
// (Authorization, X-API-Key)
const headers = JSON.parse(process.env.SDK_HEADERS || '{}');
const transport = new StreamableHTTPClientTransport(new URL(url),
    { requestInit: { headers } });
const client = new Client({ name: 'hangar-test', version: '1.0.0' });
await client.connect(transport);
out({ server: client.getServerVersion(), protocol: transport.protocolVersion });

const { tools } = await client.listTools();
out({ tools: tools.map((t) => t.name) });

for (const c of calls) {
    try {
        const progress = [];
        const result = await client.callTool(
            { name: c.name, arguments: c.arguments || {} }, undefined,
            c.progress ? { onprogress: (p) => progress.push(p.progress) } : {});
        out({ call: c.name, result, progress });
    } catch (e) {
        out({ call: c.name, error: String(e.message || e), code: e.code });
    }
}

const session = transport.sessionId;
await transport.terminateSession();
out({ session, terminated: true });
await client.close();
