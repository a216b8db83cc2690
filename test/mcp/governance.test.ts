/**
 * MCP governance against real servers: `@modelcontextprotocol/server-filesystem` on a temp folder
 * and a small flaky stdio server of our own. Per-key and per-team allow-lists, tool-call rate
 * limits, prices charged to budgets, and upstream servers that crash or hang.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { connectClient, FILESYSTEM, FLAKY, stdioServer, textOf, waitFor, waitForStatus } from './support.js';

const keys = {
  full: 'hk-mcp-gov-full-000000000001',
  fsOnly: 'hk-mcp-gov-fsonly-0000000001',
  readonly: 'hk-mcp-gov-readonly-00000001',
  limited: 'hk-mcp-gov-limited-000000001',
  budgeted: 'hk-mcp-gov-budgeted-00000001',
};

/** The processes whose command line holds `tag` (read from /proc). */
function processesTagged(tag: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(tag)) found.push(Number(entry));
    } catch {
      // ended while we looked
    }
  }
  return found;
}

describe('MCP allow-lists, limits, prices and failing servers', () => {
  // Names the mute server's processes (node ignores arguments after the -e script).
  const muteTag = `heimdall-mute-${process.pid}-${Date.now()}`;
  let closed = false;
  let gw: TestGateway;
  let folder: string;
  let marker: string;
  const clients: Client[] = [];
  const connect = async (key: string): Promise<Client> => {
    const client = await connectClient(gw.url, key);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'heimdall-mcp-fs-'));
    writeFileSync(join(folder, 'notes.txt'), 'the eagle has landed');
    marker = join(folder, 'flaky-starts.log');
    gw = await startGateway({
      config: {
        governance: {
          teams: { readers: { allowed_mcp_servers: ['filesystem', 'flaky'] } },
          virtual_keys: {
            full: { key: keys.full },
            'fs-only': { key: keys.fsOnly, allowed_mcp_servers: ['filesystem'] },
            readonly: { key: keys.readonly, team: 'readers', allowed_mcp_tools: ['filesystem__read_*', 'filesystem__list_*', 'everything__*'] },
            limited: { key: keys.limited, rate_limits: [{ model: 'mcp/flaky__*', requests: 2, window: '1h' }] },
            budgeted: { key: keys.budgeted, budget: { max_usd: 0.05 } },
          },
        },
        mcp: {
          restart_min_ms: 100,
          restart_max_ms: 1000,
          connect_timeout_ms: 5000,
          servers: {
            filesystem: stdioServer(FILESYSTEM, [folder]),
            flaky: stdioServer(FLAKY, [], { env: { FLAKY_MARKER: marker }, tool_timeout_ms: 1500, price_per_call: 0.02, tool_prices: { fail: 0 } }),
            mute: { transport: 'stdio', command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)', muteTag] },
          },
        },
      },
    });
    await Promise.all([waitForStatus(gw.app, 'filesystem', 'ready'), waitForStatus(gw.app, 'flaky', 'ready')]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    if (!closed) await gw?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('reads a file through server-filesystem', async () => {
    const client = await connect(keys.full);
    const result = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: join(folder, 'notes.txt') } });
    expect(textOf(result)).toBe('the eagle has landed');
    const outside = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: '/etc/hostname' } });
    expect(outside.isError).toBe(true);
  });

  it('a key limited to a server sees and calls only its tools', async () => {
    const client = await connect(keys.fsOnly);
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toContain('filesystem__list_directory');
    expect(names.some((name) => name.startsWith('flaky__'))).toBe(false);
    await expect(client.callTool({ name: 'flaky__ok', arguments: {} })).rejects.toThrow(/may not call the MCP tool "flaky__ok"/);
  });

  it('tool patterns of the key and the team\'s servers both apply', async () => {
    const client = await connect(keys.readonly);
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toContain('filesystem__read_text_file');
    expect(names).toContain('filesystem__list_directory');
    expect(names).not.toContain('filesystem__write_file');
    expect(names.some((name) => name.startsWith('flaky__'))).toBe(false);
    await expect(client.callTool({ name: 'filesystem__write_file', arguments: { path: join(folder, 'x.txt'), content: 'no' } })).rejects.toThrow(/may not call/);
    const listing = await client.callTool({ name: 'filesystem__list_directory', arguments: { path: folder } });
    expect(textOf(listing)).toContain('notes.txt');
  });

  it('rate-limits tool calls by the key\'s "mcp/..." rules', async () => {
    const client = await connect(keys.limited);
    expect(textOf(await client.callTool({ name: 'flaky__ok', arguments: {} }))).toBe('ok');
    expect(textOf(await client.callTool({ name: 'flaky__ok', arguments: {} }))).toBe('ok');
    const third = await client.callTool({ name: 'flaky__ok', arguments: {} });
    expect(third.isError).toBe(true);
    expect(textOf(third)).toMatch(/Rate limit reached: .* 2 MCP tool calls per 1h/);
    expect((third._meta as Record<string, unknown>)['heimdall/error']).toBe('rate_limit_exceeded');
    // Other servers' tools are not counted by an "mcp/flaky__*" rule.
    expect((await client.callTool({ name: 'filesystem__list_allowed_directories', arguments: {} })).isError).toBeFalsy();
  });

  it('charges the price per call to the budget and refuses once it is spent', async () => {
    const client = await connect(keys.budgeted);
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await client.callTool({ name: 'flaky__ok', arguments: {} }));
    expect(results.slice(0, 2).map((result) => textOf(result))).toEqual(['ok', 'ok']);
    const refused = results.find((result) => result.isError === true);
    expect(textOf(refused!)).toMatch(/Budget exceeded: the virtual key "budgeted" may spend \$0\.05/);
    const key = gw.app.governance.registry.byKeyHash((await import('../../src/governance/key-secret.js')).hashKey(keys.budgeted))!;
    const spent = gw.app.governance.ledger.account(key.levels[0].account, Date.now()).spendUsd;
    expect(spent).toBeCloseTo(results.filter((result) => !result.isError).length * 0.02, 6);
    // A spent budget refuses every tool call, free ones too (as it refuses every model call).
    expect(textOf(await client.callTool({ name: 'flaky__fail', arguments: {} }))).toMatch(/Budget exceeded/);
    const free = await connect(keys.full);
    expect(textOf(await free.callTool({ name: 'flaky__fail', arguments: {} }))).toBe('it failed');
  });

  it('a call to a hung tool times out; the server stays up', async () => {
    const client = await connect(keys.full);
    const result = await client.callTool({ name: 'flaky__hang', arguments: {} });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/did not answer within 1500 ms/);
    expect(textOf(await client.callTool({ name: 'flaky__ok', arguments: {} }))).toBe('ok');
    const row = gw.app.mcp.store!.calls({ server: 'flaky', tool: 'hang', limit: 1 })[0];
    expect(row.error).toMatch(/^mcp_tool_timeout: /);
    expect(row.duration_ms).toBeGreaterThanOrEqual(1400);
  });

  it('a crashed stdio server is restarted, and its tools work again', async () => {
    const client = await connect(keys.full);
    const pids = () => readFileSync(marker, 'utf8').trim().split('\n');
    const before = pids().length;
    const crashed = await client.callTool({ name: 'flaky__crash', arguments: {} });
    expect(crashed.isError).toBe(true);
    expect(textOf(crashed)).toMatch(/closed the connection|not available/);
    await waitFor('the flaky server to restart', () => pids().length > before || undefined);
    await waitForStatus(gw.app, 'flaky', 'ready');
    expect(gw.app.mcp.hub.server('flaky')!.health().restarts).toBeGreaterThanOrEqual(1);
    expect(textOf(await client.callTool({ name: 'flaky__ok', arguments: {} }))).toBe('ok');
  });

  it('a server that never answers initialize is failed and retried, and lists no tools', async () => {
    await waitFor('the mute server to fail', () => (gw.app.mcp.hub.server('mute')!.health().failures >= 1 ? true : undefined), 20_000);
    const health = gw.app.mcp.hub.server('mute')!.health();
    expect(health.error).toMatch(/timed out|timeout/i);
    const client = await connect(keys.full);
    expect((await client.listTools()).tools.some((tool) => tool.name.startsWith('mute__'))).toBe(false);
  });

  it('closing the gateway ends every server process it started, one that ignores its closed stdin included', async () => {
    expect(processesTagged(muteTag).length).toBeGreaterThan(0);
    await Promise.all(clients.splice(0).map((client) => client.close()));
    closed = true;
    await gw.close();
    expect(processesTagged(muteTag)).toEqual([]);
  });
});
