/**
 * /api/mcp: servers added, changed, reconnected and removed through the management API (kept
 * encrypted in the store, audited without their secrets), the config file's servers protected,
 * the tool-call log, and MCP allow-lists edited on a virtual key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { connectClient, EVERYTHING, FLAKY, stdioServer, textOf, waitFor, waitForStatus } from './support.js';

const KEY = 'hk-mcp-admin-test-key-000001';
const SECRET = 'very-secret-value-for-mcp-env-0042';

describe('/api/mcp', () => {
  let gw: TestGateway;
  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    const response = await fetch(`${gw.url}/api${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, json: text === '' ? null : JSON.parse(text) };
  };

  beforeAll(async () => {
    gw = await startGateway({
      config: {
        governance: { virtual_keys: { dev: { key: KEY } } },
        mcp: { servers: { flaky: stdioServer(FLAKY) } },
      },
    });
    await waitForStatus(gw.app, 'flaky', 'ready');
  }, 60_000);

  afterAll(async () => gw?.close());

  it('adds a stdio server; it starts and its tools are served at /mcp', async () => {
    const created = await api('POST', '/mcp/servers', { name: 'everything', ...stdioServer(EVERYTHING, ['stdio'], { env: { EXTRA_TOKEN: SECRET }, price_per_call: 0.001 }) });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'everything', transport: 'stdio', source: 'store', env_names: ['EXTRA_TOKEN'] });
    await waitForStatus(gw.app, 'everything', 'ready');
    const listed = await api('GET', '/mcp/servers');
    const view = listed.json.data.find((server: { name: string }) => server.name === 'everything');
    expect(view.health.status).toBe('ready');
    expect(view.health.pid).toBeGreaterThan(0);
    expect(view.tools.map((tool: { namespaced: string }) => tool.namespaced)).toContain('everything__echo');
    expect(JSON.stringify(listed.json)).not.toContain(SECRET);
    const client = await connectClient(gw.url, KEY);
    expect(textOf(await client.callTool({ name: 'everything__echo', arguments: { message: 'via api' } }))).toBe('Echo: via api');
    await client.close();
    // Stored encrypted: the secret is not in the database in clear.
    const row = gw.app.store.db.prepare("SELECT definition FROM mcp_servers WHERE name = 'everything'").get() as { definition: string };
    expect(row.definition.startsWith('v1:')).toBe(true);
    expect(row.definition).not.toContain(SECRET);
  }, 60_000);

  it('validates a new server and names the field', async () => {
    const bad = await api('POST', '/mcp/servers', { name: 'nourl', transport: 'http' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.param).toBe('url');
    const badName = await api('POST', '/mcp/servers', { name: 'two__parts', transport: 'stdio', command: 'x' });
    expect(badName.status).toBe(400);
    expect(badName.json.error.param).toBe('name');
    const taken = await api('POST', '/mcp/servers', { name: 'flaky', transport: 'stdio', command: 'x' });
    expect(taken.status).toBe(409);
  });

  it('changes, reconnects and removes a stored server; file servers are changed in the file', async () => {
    const patched = await api('PATCH', '/mcp/servers/everything', { enabled: false });
    expect(patched.status).toBe(200);
    expect(patched.json.enabled).toBe(false);
    expect(patched.json.health.status).toBe('disabled');
    expect((await api('PATCH', '/mcp/servers/everything', { enabled: null })).json.enabled).toBe(true);
    await waitForStatus(gw.app, 'everything', 'ready');
    const restarted = await api('POST', '/mcp/servers/flaky/restart');
    expect(restarted.status).toBe(200);
    await waitFor('flaky to reconnect', () => (gw.app.mcp.hub.server('flaky')!.health().restarts >= 1 && gw.app.mcp.hub.server('flaky')!.status === 'ready') || undefined);
    expect((await api('PATCH', '/mcp/servers/flaky', { enabled: false })).status).toBe(409);
    expect((await api('DELETE', '/mcp/servers/flaky')).status).toBe(409);
    expect((await api('DELETE', '/mcp/servers/everything')).status).toBe(204);
    expect((await api('GET', '/mcp/servers/everything')).status).toBe(404);
    expect(gw.app.mcp.hub.server('everything')).toBeUndefined();
  }, 60_000);

  it('audits server changes without their secrets', async () => {
    const audit = await api('GET', '/audit?limit=50');
    const actions = audit.json.data.map((entry: { action: string }) => entry.action);
    expect(actions).toEqual(expect.arrayContaining(['mcp_server.create', 'mcp_server.update', 'mcp_server.restart', 'mcp_server.delete']));
    expect(JSON.stringify(audit.json)).not.toContain(SECRET);
    const create = audit.json.data.find((entry: { action: string }) => entry.action === 'mcp_server.create');
    expect(create.after.env).toEqual({ EXTRA_TOKEN: '[REDACTED]' });
  });

  it('edits the MCP allow-lists of a virtual key (audited, enforced at once)', async () => {
    const created = await api('POST', '/virtual-keys', { name: 'scoped', allowed_mcp_tools: ['flaky__ok'] });
    expect(created.status).toBe(201);
    expect(created.json.allowed_mcp_tools).toEqual(['flaky__ok']);
    const client = await connectClient(gw.url, created.json.key);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['flaky__ok']);
    const id = created.json.id;
    const patched = await api('PATCH', `/virtual-keys/${id}`, { allowed_mcp_tools: null, allowed_mcp_servers: ['none'] });
    expect(patched.json.allowed_mcp_servers).toEqual(['none']);
    expect((await client.listTools()).tools).toEqual([]);
    await client.close();
    const audit = await api('GET', `/audit?target=${id}`);
    expect(audit.json.data.some((entry: { action: string; after: { allowed_mcp_servers?: string[] } }) => entry.action === 'virtual_key.update' && entry.after.allowed_mcp_servers?.[0] === 'none')).toBe(true);
  });

  it('lists the tool calls', async () => {
    const calls = await api('GET', '/mcp/calls?server=everything&limit=5');
    expect(calls.status).toBe(200);
    expect(calls.json.data[0]).toMatchObject({ server: 'everything', tool: 'echo', origin: 'mcp', arguments: { message: 'via api' }, cost_usd: 0.001 });
    expect((await api('GET', '/mcp/calls?limit=0')).status).toBe(400);
  });
});
