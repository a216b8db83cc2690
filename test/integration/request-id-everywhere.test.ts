/**
 * Every response carries x-request-id, as the README promises: model routes
 * (the fast lane), health, metrics, the management API, the dashboard, 404s
 * and errors; the caller's own id is echoed when it is a safe one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';

let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startGateway({ env: { OPENAI_API_KEY: 'sk-test-request-id', OPENAI_BASE_URL: mock.openaiBaseUrl } });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});

const chat = JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

const requests: Array<[string, string, RequestInit?]> = [
  ['chat completion (fast lane)', '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: chat }],
  ['a bad request', '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }],
  ['the model list', '/v1/models'],
  ['health', '/health'],
  ['metrics', '/metrics'],
  ['the management API', '/api/providers'],
  ['the dashboard', '/'],
  ['an unknown route', '/no/such/route'],
  ['an unknown /api route', '/api/no-such-thing'],
];

describe('x-request-id on every response', () => {
  for (const [what, path, init] of requests) {
    it(`${what}: ${path}`, async () => {
      const response = await fetch(`${gateway.url}${path}`, init);
      await response.arrayBuffer();
      const id = response.headers.get('x-request-id');
      expect(id, `${path} answered ${response.status} without x-request-id`).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

      const mine = `trace-${path.length}-abc`;
      const echoed = await fetch(`${gateway.url}${path}`, { ...init, headers: { ...(init?.headers as Record<string, string>), 'x-request-id': mine } });
      await echoed.arrayBuffer();
      expect(echoed.headers.get('x-request-id')).toBe(mine);
    });
  }
});
