/**
 * Heimdall's /mcp in front of the real `@modelcontextprotocol/server-everything`, started by the
 * tests over stdio (Heimdall supervises the process), streamable HTTP and SSE, with the SDK's
 * client: namespaced tools, prompts and resources, a virtual key required, sessions per key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { connectClient, EVERYTHING, startEverythingHttp, stdioServer, textOf, waitForStatus } from './support.js';

const KEY = 'hk-mcp-endpoint-test-key-0001';
const REMOTE_ONLY = 'hk-mcp-endpoint-test-key-0002';

describe('/mcp aggregates server-everything over stdio, HTTP and SSE', () => {
  let gw: TestGateway;
  let http: Awaited<ReturnType<typeof startEverythingHttp>>;
  let sse: Awaited<ReturnType<typeof startEverythingHttp>>;
  let client: Client;

  beforeAll(async () => {
    [http, sse] = await Promise.all([startEverythingHttp('streamableHttp'), startEverythingHttp('sse')]);
    gw = await startGateway({
      config: {
        governance: { virtual_keys: { dev: { key: KEY }, 'remote-only': { key: REMOTE_ONLY, allowed_mcp_servers: ['remote'] } } },
        mcp: {
          servers: {
            everything: stdioServer(EVERYTHING, ['stdio']),
            remote: { transport: 'http', url: `http://127.0.0.1:${http.port}/mcp`, headers: { 'x-team': 'tests' } },
            legacy: { transport: 'sse', url: `http://127.0.0.1:${sse.port}/sse` },
          },
        },
      },
    });
    await Promise.all(['everything', 'remote', 'legacy'].map((name) => waitForStatus(gw.app, name, 'ready')));
    client = await connectClient(gw.url, KEY);
  }, 90_000);

  afterAll(async () => {
    await client?.close();
    await gw?.close();
    await Promise.all([http?.stop(), sse?.stop()]);
  });

  it('speaks the current protocol revision with a session id', async () => {
    expect(client.getServerVersion()?.name).toBe('heimdall');
    const transport = (client as unknown as { transport: { sessionId?: string; protocolVersion?: string } }).transport;
    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(transport.protocolVersion).toBe('2025-11-25');
  });

  it('lists every server\'s tools under namespaced names and calls them', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((tool) => tool.name);
    for (const server of ['everything', 'remote', 'legacy']) {
      expect(names).toContain(`${server}__echo`);
      expect(names).toContain(`${server}__get-sum`);
    }
    const echo = tools.find((tool) => tool.name === 'remote__echo')!;
    expect(echo.inputSchema.properties).toHaveProperty('message');
    for (const server of ['everything', 'remote', 'legacy']) {
      const result = await client.callTool({ name: `${server}__echo`, arguments: { message: `hello ${server}` } });
      expect(textOf(result)).toBe(`Echo: hello ${server}`);
    }
    const sum = await client.callTool({ name: 'everything__get-sum', arguments: { a: 2, b: 40 } });
    expect(textOf(sum)).toContain('42');
  });

  it('serves prompts and resources under namespaced names', async () => {
    const { prompts } = await client.listPrompts();
    expect(prompts.map((prompt) => prompt.name)).toContain('everything__simple-prompt');
    const prompt = await client.getPrompt({ name: 'everything__simple-prompt' });
    expect(prompt.messages.length).toBeGreaterThan(0);
    const { resources } = await client.listResources();
    const first = resources.find((resource) => resource.uri.startsWith('everything+'))!;
    expect(first).toBeDefined();
    const read = await client.readResource({ uri: first.uri });
    expect(read.contents[0].uri).toBe(first.uri);
  });

  it('serves resource templates under namespaced URI templates, and reads a URI expanded from one', async () => {
    const { resourceTemplates } = await client.listResourceTemplates();
    const templates = resourceTemplates.map((template) => template.uriTemplate);
    for (const server of ['everything', 'remote', 'legacy']) expect(templates).toContain(`${server}+demo://resource/dynamic/text/{resourceId}`);
    const text = resourceTemplates.find((template) => template.uriTemplate === 'everything+demo://resource/dynamic/text/{resourceId}')!;
    expect(text.name).toBe('Dynamic Text Resource');
    expect(text.mimeType).toBe('text/plain');
    const read = await client.readResource({ uri: 'remote+demo://resource/dynamic/text/7' });
    expect(read.contents[0].uri).toBe('remote+demo://resource/dynamic/text/7');
    expect(String((read.contents[0] as { text?: string }).text)).toMatch(/\b7\b/);
    // A key limited to one server sees that server's templates only, and cannot read the others'.
    const limited = await connectClient(gw.url, REMOTE_ONLY);
    const own = (await limited.listResourceTemplates()).resourceTemplates.map((template) => template.uriTemplate);
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((uriTemplate) => uriTemplate.startsWith('remote+'))).toBe(true);
    await expect(limited.readResource({ uri: 'everything+demo://resource/dynamic/text/7' })).rejects.toThrow(/No resource has the URI/);
    await limited.close();
  });

  it('refuses an unknown tool as a protocol error', async () => {
    await expect(client.callTool({ name: 'everything__no-such-tool', arguments: {} })).rejects.toThrow(/No MCP tool is named "everything__no-such-tool"/);
    await expect(client.callTool({ name: 'nosuchserver__echo', arguments: {} })).rejects.toThrow(/No MCP tool/);
  });

  it('needs a valid virtual key (401), and a session belongs to its key', async () => {
    await expect(connectClient(gw.url, undefined)).rejects.toThrow(/401|virtual key/);
    await expect(connectClient(gw.url, 'hk-not-a-valid-key-000000000')).rejects.toThrow(/401|not valid/);
    const raw = await fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(raw.status).toBe(401);
    expect(raw.headers.get('www-authenticate')).toContain('Bearer');
    expect(((await raw.json()) as { error: { message: string } }).error.message).toMatch(/virtual key is required/);
    // A request without a session id that is not an initialize.
    const noSession = await fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(noSession.status).toBe(400);
    const badJson = await fetch(`${gw.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: '{nope' });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { error: { code: number } }).error.code).toBe(-32700);
  });

  it('counts the calls in the metrics and logs them', async () => {
    await client.callTool({ name: 'everything__echo', arguments: { message: 'metered', api_key: 'sk-abcdefghijklmnopqrstuvwx' } });
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/heimdall_mcp_tool_calls_total\{server="everything",tool="echo",status="ok"\} [1-9]/);
    expect(metrics).toMatch(/heimdall_mcp_server_up\{server="remote"\} 1/);
    const line = gw.logs().find((entry) => entry.msg === 'mcp tool call' && (entry.arguments as { message?: string })?.message === 'metered');
    expect(line).toMatchObject({ mcp_server: 'everything', mcp_tool: 'echo', status: 'ok', origin: 'mcp' });
    expect((line!.arguments as Record<string, unknown>).api_key).toMatch(/^\[redacted\]$/i);
    expect(gw.logText()).not.toContain('sk-abcdefghijklmnopqrstuvwx');
    // The tool-call table: the same call, arguments masked.
    const rows = gw.app.mcp.store!.calls({ server: 'everything', tool: 'echo', limit: 10 });
    const row = rows.find((candidate) => (candidate.arguments as { message?: string }).message === 'metered')!;
    expect(row).toMatchObject({ origin: 'mcp', is_error: false, error: null });
    expect(row.result_bytes).toBeGreaterThan(10);
    expect((row.arguments as Record<string, unknown>).api_key).toBe('[REDACTED]');
    expect(row.session_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
