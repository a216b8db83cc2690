/**
 * The token-count routes (Anthropic count_tokens, Responses input_tokens, Gemini countTokens) and the
 * stored-response routes (GET, input_items, DELETE, cancel) run the request lifecycle like a model
 * call: a plugin sees them at received, beforeAttempt (when they call a provider), finalAnswer (with
 * the status and the gateway's headers) or error, and afterResponse; each is in the request log.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Plugin } from '../../src/index.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { get, post } from '../integration/helpers.js';

let mock: MockUpstream;
let gateway: TestGateway;
/** What the plugin saw, per request id: the stages in order, and the final status. */
const seen = new Map<string, { stages: string[]; status?: number; route?: string; requestHeader?: string }>();

function note(id: string, stage: string): { stages: string[]; status?: number } {
  let entry = seen.get(id);
  if (entry === undefined) seen.set(id, (entry = { stages: [] }));
  entry.stages.push(stage);
  return entry;
}

const observer: Plugin = {
  name: 'observer',
  received: (request) => void note(request.id, 'received'),
  beforeAttempt: (request) => void note(request.id, 'beforeAttempt'),
  finalAnswer: (request, answer) => {
    const entry = note(request.id, 'finalAnswer');
    entry.status = answer.status;
    expect(answer.headers['x-request-id']).toBe(request.id);
  },
  error: (request, error) => {
    note(request.id, 'error').status = error.status;
  },
  afterResponse: (request) => void note(request.id, 'afterResponse'),
};

async function logOf(id: string): Promise<Record<string, unknown>> {
  const response = await gateway.app.inject({ method: 'GET', url: `/api/logs/${id}` });
  expect(response.statusCode).toBe(200);
  return response.json() as Record<string, unknown>;
}

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  gateway = await startGateway({ env: providers.env, config: providers.config });
  // A configured (user) plugin, as from the config file.
  gateway.app.gateway.lifecycle.setConfigured([{ plugin: observer }]);
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});
beforeEach(() => seen.clear());

describe('token counts run the lifecycle', () => {
  it.each([
    ['/anthropic/v1/messages/count_tokens', { model: 'anthropic/claude-sonnet-4-5', messages: [{ role: 'user', content: 'count these' }] }],
    ['/v1/responses/input_tokens', { model: 'anthropic/claude-sonnet-4-5', input: 'count these' }],
    ['/genai/v1beta/models/gemini/gemini-2.5-flash:countTokens', { contents: [{ role: 'user', parts: [{ text: 'count these' }] }] }],
  ])('%s: received, beforeAttempt, finalAnswer, afterResponse; logged', async (route, body) => {
    const id = `count-${route.length}`;
    const answer = await post(`${gateway.url}${route}`, body, { 'x-request-id': id });
    expect(answer.status).toBe(200);
    expect(seen.get(id)).toEqual({ stages: ['received', 'beforeAttempt', 'finalAnswer', 'afterResponse'], status: 200 });
    const log = await logOf(id);
    expect(log).toMatchObject({ status: 200, route: route.startsWith('/genai') ? expect.stringContaining('/genai/') : route });
  });

  it('a failing count: the error stage, then afterResponse; logged with its status', async () => {
    const answer = await post(`${gateway.url}/anthropic/v1/messages/count_tokens`, { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }, { 'x-request-id': 'count-refused' });
    expect(answer.status).toBe(400);
    expect(seen.get('count-refused')).toEqual({ stages: ['received', 'error', 'afterResponse'], status: 400 });
    expect(await logOf('count-refused')).toMatchObject({ status: 400 });
  });

  it('a plugin may refuse a count at finalAnswer', async () => {
    const refusing: Plugin = {
      name: 'count-refuser',
      finalAnswer: (request) => {
        if (request.headers['x-refuse'] === '1') throw Object.assign(new Error('counts are closed'), { refusal: true, status: 403 });
      },
    };
    const lifecycle = gateway.app.gateway.lifecycle;
    lifecycle.setConfigured([{ plugin: observer }, { plugin: refusing }]);
    try {
      const answer = await post(`${gateway.url}/anthropic/v1/messages/count_tokens`, { model: 'anthropic/claude-sonnet-4-5', messages: [{ role: 'user', content: 'x' }] }, { 'x-refuse': '1' });
      expect(answer.status).toBe(403);
      expect(answer.json).toMatchObject({ type: 'error', error: { message: expect.stringContaining('counts are closed') } });
    } finally {
      lifecycle.setConfigured([{ plugin: observer }]);
    }
  });
});

describe('stored-response routes run the lifecycle', () => {
  it('GET, input_items, cancel (refused) and DELETE of a stored response: each seen by the plugin and logged', async () => {
    const created = await post(`${gateway.url}/v1/responses`, { model: 'anthropic/claude-sonnet-4-5', input: 'keep this' });
    expect(created.status).toBe(200);
    const responseId = (created.json as { id: string }).id;
    const base = `${gateway.url}/v1/responses/${responseId}`;

    const retrieved = await get(base, { 'x-request-id': 'stored-get' });
    expect(retrieved.status).toBe(200);
    expect(retrieved.json).toMatchObject({ id: responseId, object: 'response' });
    expect(seen.get('stored-get')).toEqual({ stages: ['received', 'finalAnswer', 'afterResponse'], status: 200 });

    const items = await get(`${base}/input_items`, { 'x-request-id': 'stored-items' });
    expect(items.json).toMatchObject({ object: 'list' });
    expect(seen.get('stored-items')?.stages).toEqual(['received', 'finalAnswer', 'afterResponse']);

    const cancel = await post(`${base}/cancel`, {}, { 'x-request-id': 'stored-cancel' });
    expect(cancel.status).toBe(400);
    expect(seen.get('stored-cancel')).toEqual({ stages: ['received', 'error', 'afterResponse'], status: 400 });

    const { request } = await import('undici');
    const deleted = await request(base, { method: 'DELETE', headers: { 'x-request-id': 'stored-delete' } });
    expect(deleted.statusCode).toBe(200);
    expect(await deleted.body.json()).toMatchObject({ id: responseId, deleted: true });
    expect(seen.get('stored-delete')?.stages).toEqual(['received', 'finalAnswer', 'afterResponse']);

    for (const [id, status] of [['stored-get', 200], ['stored-items', 200], ['stored-cancel', 400], ['stored-delete', 200]] as const) {
      expect(await logOf(id)).toMatchObject({ status, method: id === 'stored-delete' ? 'DELETE' : expect.any(String) });
    }
  });
});
