// client.mjs - drives `gpuctl mcp` with the official MCP SDK client
// (@modelcontextprotocol/sdk, Client + StdioClientTransport) for the
// integration tests (tests/integration/test_mcp.py).
//
// argv[2] is a JSON plan: {"command": path, "args": [...], or "url" and
// "token" for StreamableHTTPClientTransport, "calls":
// [{"name", "arguments"}], "reads": [uri, ...], "all_resources": bool}.
// It connects (initialize, negotiated by the SDK), lists tools, resources
// and templates, makes each call (the SDK validates structuredContent
// against the tool's outputSchema), reads each resource (with
// all_resources, every listed one too), closes, and prints one JSON report
// on stdout.  A protocol error is reported as {"error": {code, message}}.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const plan = JSON.parse(process.argv[2]);
const transport = plan.url
  ? new StreamableHTTPClientTransport(new URL(plan.url), {
    requestInit: plan.token ? { headers: { Authorization: `Bearer ${plan.token}` } } : {},
  })
  : new StdioClientTransport({
    command: plan.command, args: plan.args || ['mcp'], env: process.env, stderr: 'inherit',
  });
const client = new Client({ name: 'gpuctl-tests', version: '1.0.0' });

function failure(e) {
  return { error: { code: e.code ?? null, message: String(e.message || e) } };
}

const report = {};
await client.connect(transport);
report.server = client.getServerVersion();
report.capabilities = client.getServerCapabilities();
report.instructions = client.getInstructions();
report.tools = (await client.listTools()).tools;
report.resources = (await client.listResources()).resources;
report.templates = (await client.listResourceTemplates()).resourceTemplates;
report.calls = [];
for (const c of plan.calls || []) {
  try {
    report.calls.push({ name: c.name, result: await client.callTool(c) });
  } catch (e) {
    report.calls.push({ name: c.name, ...failure(e) });
  }
}
const uris = [...(plan.reads || [])];
if (plan.all_resources)
  uris.push(...report.resources.map((r) => r.uri));
report.reads = [];
for (const uri of uris) {
  try {
    report.reads.push({ uri, result: await client.readResource({ uri }) });
  } catch (e) {
    report.reads.push({ uri, ...failure(e) });
  }
}
report.ping = await client.ping();
if (plan.url) {
  report.sessionId = transport.sessionId;
  report.protocolVersion = transport.protocolVersion;
  await transport.terminateSession();
}
await client.close();
process.stdout.write(JSON.stringify(report) + '\n');
