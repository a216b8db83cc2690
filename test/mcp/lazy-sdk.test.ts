/**
 * The MCP SDK is loaded at first use, not at start: a gateway without MCP servers answers chat
 * requests without it, and the first /mcp request loads it (src/mcp/sdk.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadedMcpSdk } from '../../src/mcp/sdk.js';
import { startGateway, type TestGateway } from '../support/gateway.js';

const KEY = 'hk-mcp-lazy-sdk-test-key-0001';

describe('the MCP SDK, loaded at first use', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ config: { governance: { virtual_keys: { dev: { key: KEY } } } } });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('is not loaded by a start without MCP servers; the first /mcp initialize loads it and is answered', async () => {
    const health = await fetch(`${gw.url}/health`);
    expect(health.status).toBe(200);
    expect(loadedMcpSdk()).toBeUndefined();
    const response = await fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } } }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('mcp-session-id')).toMatch(/.+/);
    expect(await response.text()).toContain('"serverInfo"');
    expect(loadedMcpSdk()?.Server).toBeTypeOf('function');
  });
});
