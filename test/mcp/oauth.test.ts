/**
 * An upstream MCP server behind OAuth 2.1 (client credentials): a small streamable HTTP server of
 * our own that answers 401 with its protected-resource metadata until it gets a token from its
 * authorization server. Heimdall discovers it, gets a token, keeps it encrypted, reuses it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { connectClient, textOf, waitFor, waitForStatus } from './support.js';

const KEY = 'hk-mcp-oauth-test-key-000001';
const CLIENT_SECRET = 'client-secret-for-the-oauth-test';

describe('an upstream MCP server behind OAuth client credentials', () => {
  let server: Server;
  let base: string;
  let gw: TestGateway;
  const issued: string[] = [];
  const refused: string[] = [];

  const json = (response: ServerResponse, status: number, body: unknown): void => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  const readBody = async (request: IncomingMessage): Promise<string> => {
    let text = '';
    for await (const chunk of request) text += chunk;
    return text;
  };

  beforeAll(async () => {
    server = createServer(async (request, response) => {
      const path = (request.url ?? '').split('?')[0];
      if (path.startsWith('/.well-known/oauth-protected-resource')) return json(response, 200, { resource: `${base}/mcp`, authorization_servers: [base] });
      if (path === '/.well-known/oauth-authorization-server') {
        return json(response, 200, {
          issuer: base, token_endpoint: `${base}/token`, authorization_endpoint: `${base}/authorize`,
          response_types_supported: ['code'], grant_types_supported: ['client_credentials'], token_endpoint_auth_methods_supported: ['client_secret_basic'],
        });
      }
      if (path === '/token') {
        const form = new URLSearchParams(await readBody(request));
        const basic = Buffer.from(`heimdall:${CLIENT_SECRET}`).toString('base64');
        if (request.headers.authorization !== `Basic ${basic}` || form.get('grant_type') !== 'client_credentials') return json(response, 401, { error: 'invalid_client' });
        const token = `tok-${issued.length + 1}-${'x'.repeat(16)}`;
        issued.push(token);
        return json(response, 200, { access_token: token, token_type: 'Bearer', expires_in: 3600, scope: form.get('scope') ?? undefined });
      }
      if (path === '/mcp') {
        const token = request.headers.authorization?.replace(/^Bearer /, '');
        if (token === undefined || !issued.includes(token)) {
          refused.push(request.headers.authorization ?? '');
          response.writeHead(401, { 'www-authenticate': `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"` }).end();
          return;
        }
        const mcp = new McpServer({ name: 'secured', version: '1.0.0' });
        mcp.registerTool('whoami', { description: 'Which token called.' }, async () => ({ content: [{ type: 'text', text: `token ${token.split('-')[1]}` }] }));
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
        response.on('close', () => void transport.close());
        await mcp.connect(transport);
        const body = request.method === 'POST' ? JSON.parse(await readBody(request)) : undefined;
        await transport.handleRequest(request, response, body);
        return;
      }
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    gw = await startGateway({
      config: {
        governance: { virtual_keys: { dev: { key: KEY } } },
        mcp: { servers: { secured: { transport: 'http', url: `${base}/mcp`, oauth: { client_id: 'heimdall', client_secret: CLIENT_SECRET, scope: 'mcp:tools', issuer: base } },
          // Names another issuer than the one the server points to: the secret must not be sent.
          misdirected: { transport: 'http', url: `${base}/mcp`, oauth: { client_id: 'heimdall', client_secret: CLIENT_SECRET, issuer: 'https://auth.elsewhere.example' } },
        } },
      },
    });
    await waitForStatus(gw.app, 'secured', 'ready');
    await waitFor('the misdirected server to fail', () => (gw.app.mcp.hub.server('misdirected')!.health().failures >= 1 ? true : undefined));
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it('gets a token, calls the tool with it, and keeps it encrypted', async () => {
    expect(refused.length).toBeGreaterThanOrEqual(2);
    // One token, for "secured": "misdirected" never sent its secret to this authorization server.
    expect(issued).toHaveLength(1);
    expect(gw.app.mcp.hub.server('misdirected')!.health().error).toMatch(/issuer/i);
    const client = await connectClient(gw.url, KEY);
    expect(textOf(await client.callTool({ name: 'secured__whoami', arguments: {} }))).toBe('token 1');
    await client.close();
    const row = gw.app.store.db.prepare("SELECT tokens FROM mcp_oauth_tokens WHERE server = 'secured'").get() as { tokens: string };
    expect(row.tokens.startsWith('v1:')).toBe(true);
    expect(row.tokens).not.toContain('tok-1');
    expect(gw.app.mcp.store!.get('secured')?.access_token).toBe(issued[0]);
    // The secret never reaches the API or the logs.
    const listed = await (await fetch(`${gw.url}/api/mcp/servers/secured`)).text();
    expect(listed).toContain('"client_id":"heimdall"');
    expect(listed).not.toContain(CLIENT_SECRET);
    expect(gw.logText()).not.toContain(CLIENT_SECRET);
  });

  it('reuses the stored token after a reconnect, and gets a new one when it is refused', async () => {
    await fetch(`${gw.url}/api/mcp/servers/secured/restart`, { method: 'POST' });
    await waitFor('the reconnect', () => (gw.app.mcp.hub.server('secured')!.health().restarts >= 1 && gw.app.mcp.hub.server('secured')!.status === 'ready') || undefined);
    expect(issued).toHaveLength(1);
    issued.splice(0); // the server forgets its tokens
    const client = await connectClient(gw.url, KEY);
    const result = await client.callTool({ name: 'secured__whoami', arguments: {} });
    await client.close();
    // The refused token fails the call; the reconnect that follows gets a new token.
    if (result.isError === true) {
      await waitFor('a new token', () => issued.length === 1 || undefined);
      await waitForStatus(gw.app, 'secured', 'ready');
      const again = await connectClient(gw.url, KEY);
      expect(textOf(await again.callTool({ name: 'secured__whoami', arguments: {} }))).toMatch(/^token \d$/);
      await again.close();
    } else {
      expect(textOf(result)).toMatch(/^token \d$/);
    }
    expect(issued.length).toBe(1);
  });
});
