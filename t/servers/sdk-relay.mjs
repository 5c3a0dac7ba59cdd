// The official TypeScript SDK client against the front door: resources,
// templates, prompts, completion and logging, for the tests.
//   node sdk-relay.mjs <url> '<json array of steps>'
// A step is {op, ...}; one JSON line is printed per step:
//   {op:"resources"}            every resource, following nextCursor
//                               ({op, items:[uri], pages})
//   {op:"templates"}            the same for resource templates
//   {op:"prompts"}              the same for prompts ({items:[name]})
//   {op:"read", uri}            {op, contents}
//   {op:"get", name, arguments} {op, messages}
//   {op:"complete", ref, argument, context}  {op, completion}
//   {op:"level", level}         {op, result}
//   {op:"subscribe", uri}       {op, result}
//   {op:"unsubscribe", uri}     {op, result}
//   {op:"call", name, arguments} {op, result}
//   {op:"wait", uri, seconds}   waits for notifications/resources/updated
//                               of uri ({op, updated:[uris]})
//   {op:"changed", seconds}     waits for prompts/list_changed and
//                               resources/list_changed ({op, changed:[methods]})
//   {op:"caps"}                 the server's capabilities
// A step that fails prints {op, error, code}.
import path from 'node:path';

const sdk = path.resolve(process.env.SDK_DIR);
const { Client } = await import(`${sdk}/dist/esm/client/index.js`);
const { StreamableHTTPClientTransport } =
    await import(`${sdk}/dist/esm/client/streamableHttp.js`);
const { ResourceUpdatedNotificationSchema,
        PromptListChangedNotificationSchema,
        ResourceListChangedNotificationSchema } =
    await import(`${sdk}/dist/esm/types.js`);

const [url, stepsJson] = process.argv.slice(2);
const steps = JSON.parse(stepsJson || '[]');
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const transport = new StreamableHTTPClientTransport(new URL(url));
const client = new Client({ name: 'hangar-relay-test', version: '1.0.0' });

const updated = [];
client.setNotificationHandler(ResourceUpdatedNotificationSchema,
    (n) => updated.push(n.params.uri));
const changed = new Set();
client.setNotificationHandler(PromptListChangedNotificationSchema,
    (n) => changed.add(n.method));
client.setNotificationHandler(ResourceListChangedNotificationSchema,
    (n) => changed.add(n.method));

await client.connect(transport);
// READY=1: a line once connected (and one round trip made), for a test
// that makes something happen while this session listens
if (process.env.READY) {
    await client.ping();
    out({ ready: true });
}

async function all(list, key, pick) {
    const items = [];
    let cursor, pages = 0;
    do {
        const r = await list(cursor ? { cursor } : undefined);
        pages++;
        for (const i of r[key]) items.push(pick(i));
        cursor = r.nextCursor;
    } while (cursor && pages < 1000);
    return { items, pages };
}

for (const s of steps) {
    try {
        switch (s.op) {
        case 'caps':
            out({ op: s.op, caps: client.getServerCapabilities() });
            break;
        case 'resources':
            out({ op: s.op, ...await all((p) => client.listResources(p),
                                          'resources', (i) => i.uri) });
            break;
        case 'templates':
            out({ op: s.op,
                  ...await all((p) => client.listResourceTemplates(p),
                               'resourceTemplates', (i) => i.uriTemplate) });
            break;
        case 'prompts':
            out({ op: s.op, ...await all((p) => client.listPrompts(p),
                                          'prompts', (i) => i.name) });
            break;
        case 'read':
            out({ op: s.op, ...await client.readResource({ uri: s.uri }) });
            break;
        case 'get':
            out({ op: s.op, ...await client.getPrompt(
                { name: s.name, arguments: s.arguments || {} }) });
            break;
        case 'complete':
            out({ op: s.op, ...await client.complete(
                { ref: s.ref, argument: s.argument,
                  ...(s.context ? { context: s.context } : {}) }) });
            break;
        case 'level':
            out({ op: s.op, result: await client.setLoggingLevel(s.level) });
            break;
        case 'subscribe':
            out({ op: s.op,
                  result: await client.subscribeResource({ uri: s.uri }) });
            break;
        case 'unsubscribe':
            out({ op: s.op,
                  result: await client.unsubscribeResource({ uri: s.uri }) });
            break;
        case 'call':
            out({ op: s.op, result: await client.callTool(
                { name: s.name, arguments: s.arguments || {} }) });
            break;
        case 'wait': {
            const until = Date.now() + (s.seconds || 10) * 1000;
            updated.length = 0;
            while (!updated.includes(s.uri) && Date.now() < until) {
                await new Promise((r) => setTimeout(r, 100));
            }
            out({ op: s.op, updated: [...new Set(updated)] });
            break;
        }
        case 'changed': {
            const until = Date.now() + (s.seconds || 10) * 1000;
            while (changed.size < 2 && Date.now() < until) {
                await new Promise((r) => setTimeout(r, 100));
            }
            out({ op: s.op, changed: [...changed].sort() });
            break;
        }
        default:
            out({ op: s.op, error: 'unknown step' });
        }
    } catch (e) {
        out({ op: s.op, error: String(e.message || e), code: e.code });
    }
}

await transport.terminateSession();
await client.close();
