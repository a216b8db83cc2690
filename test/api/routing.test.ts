/**
 * /api/routing: default model, aliases, fallbacks, model groups, the other
 * routing fields; file entries shown with their source and overridable but not
 * deletable; bad input naming the field.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { apiError, call, chat, startAdminGateway, type AdminGateway } from './helpers.js';

let mock: MockUpstream;
let gw: AdminGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startAdminGateway({
    env: { OPENAI_API_KEY: 'sk-routing-key-0123456789abcd', OPENAI_BASE_URL: mock.openaiBaseUrl },
    config: {
      providers: { openai: { max_retries: 0 } },
      routing: {
        aliases: { fast: 'openai/gpt-4o-mini' },
        fallbacks: { 'openai/o3': ['openai/gpt-4.1'] },
        model_groups: { 'file-group': { deployments: [{ provider: 'openai', model: 'gpt-4o' }] } },
      },
    },
  });
});
afterAll(async () => {
  await gw.close();
  await mock.close();
});
beforeEach(() => mock.reset());

describe('GET and PATCH /api/routing', () => {
  it('shows the effective routing with the source of each entry', async () => {
    const reply = await call(gw.url, 'GET', '/api/routing');
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({
      default_provider: null,
      default_model: null,
      aliases: { fast: 'openai/gpt-4o-mini' },
      fallbacks: { 'openai/o3': ['openai/gpt-4.1'] },
      strict_params: false,
      model_groups: [{ id: 'file-group', name: 'file-group', deployments: [{ provider: 'openai', model: 'gpt-4o', weight: 1 }], fallbacks: [], enabled: true, source: 'file' }],
      sources: { 'aliases.fast': 'file', 'fallbacks.openai/o3': 'file', 'model_groups.file-group': 'file' },
    });
  });

  it('PATCH sets the default model and other routing fields; null reverts', async () => {
    const patched = await call(gw.url, 'PATCH', '/api/routing', {
      default_model: 'openai/gpt-4o-mini', strict_params: true, circuit_breaker: { failure_threshold: 9 }, aliases: { cheap: 'openai/gpt-4.1-nano' },
    });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({
      default_model: 'openai/gpt-4o-mini', strict_params: true, aliases: { fast: 'openai/gpt-4o-mini', cheap: 'openai/gpt-4.1-nano' },
      sources: { default_model: 'store', strict_params: 'store', circuit_breaker: 'store', 'aliases.cheap': 'store' },
    });
    expect(patched.json.circuit_breaker).toMatchObject({ failure_threshold: 9, enabled: true });
    expect(gw.app.gateway.state.routing.defaultModel).toBe('openai/gpt-4o-mini');

    // A request without a model takes the default at once.
    const reply = await call(gw.url, 'POST', '/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }] });
    expect(reply.status).toBe(200);
    expect(mock.requests.at(-1)!.body).toMatchObject({ model: 'gpt-4o-mini' });

    const reverted = await call(gw.url, 'PATCH', '/api/routing', { default_model: null, strict_params: null, circuit_breaker: null, aliases: { cheap: null } });
    expect(reverted.json).toMatchObject({ default_model: null, strict_params: false, aliases: { fast: 'openai/gpt-4o-mini' } });
    expect(reverted.json.aliases).not.toHaveProperty('cheap');
    expect(gw.app.store.config.getSetting('routing')).toBeUndefined();
  });

  it('bad input names the field', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ strict_params: 'yes' }, 'strict_params', /^strict_params: /],
      [{ aliases: { x: '' } }, 'aliases.x', /^aliases\.x: /],
      [{ fallbacks: { m: 'openai/gpt-4o' } }, 'fallbacks.m', /^fallbacks\.m: /],
      [{ retry: { max_retries: 50 } }, 'retry.max_retries', /retry\.max_retries: /],
      [{ colour: 'red' }, 'colour', /colour: unknown key/],
      [{ model_groups: {} }, 'model_groups', /\/api\/routing\/model-groups/],
      [{ aliases: { fast: null } }, 'aliases.fast', /declared in the config file/],
    ];
    for (const [body, param, message] of cases) {
      const reply = await call(gw.url, 'PATCH', '/api/routing', body);
      expect(reply.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(apiError(reply).param, JSON.stringify(body)).toBe(param);
      expect(apiError(reply).message, JSON.stringify(body)).toMatch(message);
    }
  });
});

describe('aliases and fallbacks', () => {
  it('PUT overrides a file alias; DELETE reverts to it; a file-only alias cannot be deleted', async () => {
    const put = await call(gw.url, 'PUT', '/api/routing/aliases/fast', { target: 'openai/gpt-4.1-mini' });
    expect(put.json).toEqual({ alias: 'fast', target: 'openai/gpt-4.1-mini', source: 'store' });
    await chat(gw.url, 'fast');
    expect(mock.requests.at(-1)!.body).toMatchObject({ model: 'gpt-4.1-mini' });
    expect((await call(gw.url, 'DELETE', '/api/routing/aliases/fast')).json).toEqual({ deleted: true, alias: 'fast', reverted_to: 'openai/gpt-4o-mini' });
    const again = await call(gw.url, 'DELETE', '/api/routing/aliases/fast');
    expect(again.status).toBe(409);
    expect(apiError(again)).toMatchObject({ code: 'conflict', param: 'alias' });
    expect((await call(gw.url, 'DELETE', '/api/routing/aliases/none')).status).toBe(404);
    const bad = await call(gw.url, 'PUT', '/api/routing/aliases/x', { target: 42 });
    expect(apiError(bad)).toMatchObject({ param: 'target' });
  });

  it('PUT and DELETE fallbacks of a model whose name has a slash', async () => {
    const path = `/api/routing/fallbacks/${encodeURIComponent('openai/gpt-4o')}`;
    const put = await call(gw.url, 'PUT', path, { fallbacks: ['openai/gpt-4o-mini'] });
    expect(put.json).toEqual({ model: 'openai/gpt-4o', fallbacks: ['openai/gpt-4o-mini'], source: 'store' });
    mock.enqueue({ kind: 'error', status: 500 });
    const reply = await chat(gw.url, 'openai/gpt-4o');
    expect(reply.status).toBe(200);
    expect(reply.headers['x-heimdall-model']).toBe('gpt-4o-mini');
    expect((await call(gw.url, 'DELETE', path)).json).toEqual({ deleted: true, model: 'openai/gpt-4o', reverted_to: null });
    expect((await call(gw.url, 'DELETE', `/api/routing/fallbacks/${encodeURIComponent('openai/o3')}`)).status).toBe(409);
    expect(apiError(await call(gw.url, 'PUT', path, { fallbacks: [''] })).param).toBe('fallbacks[0]');
  });
});

describe('model groups', () => {
  it('create, read, update, rename, delete; the change is audited', async () => {
    const created = await call(gw.url, 'POST', '/api/routing/model-groups', {
      name: 'chat-default',
      deployments: [{ provider: 'openai', model: 'gpt-4o-mini', weight: 3 }, { provider: 'openai', model: 'gpt-4.1-mini' }],
      fallbacks: ['openai/gpt-4o'],
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name: 'chat-default', source: 'store', enabled: true, fallbacks: ['openai/gpt-4o'],
      deployments: [{ provider: 'openai', model: 'gpt-4o-mini', weight: 3 }, { provider: 'openai', model: 'gpt-4.1-mini', weight: 1 }],
    });
    expect(created.json.id).not.toBe('chat-default');
    expect(gw.app.gateway.config.routing.modelGroups['chat-default']?.deployments).toHaveLength(2);

    expect((await call(gw.url, 'GET', '/api/routing/model-groups/chat-default')).json.name).toBe('chat-default');
    const list = await call(gw.url, 'GET', '/api/routing/model-groups');
    expect(list.json.data.map((g: { name: string }) => g.name)).toEqual(['chat-default', 'file-group']);

    const disabled = await call(gw.url, 'PATCH', '/api/routing/model-groups/chat-default', { enabled: false, name: 'chat-main' });
    expect(disabled.json).toMatchObject({ name: 'chat-main', enabled: false, id: created.json.id });
    expect(gw.app.gateway.config.routing.modelGroups['chat-main']).toBeUndefined();

    const audit = await call(gw.url, 'GET', '/api/audit?action=model_group.update');
    expect(audit.json.data[0]).toMatchObject({ target: 'chat-default', before: { name: 'chat-default', enabled: true }, after: { name: 'chat-main', enabled: false } });

    expect((await call(gw.url, 'DELETE', '/api/routing/model-groups/chat-main')).json).toEqual({ deleted: true, name: 'chat-main', reverted_to: null });
    expect((await call(gw.url, 'GET', '/api/routing/model-groups/chat-main')).status).toBe(404);
  });

  it('a file group is overridden by PATCH and reverts on DELETE; it cannot be renamed', async () => {
    const patched = await call(gw.url, 'PATCH', '/api/routing/model-groups/file-group', { fallbacks: ['openai/gpt-4.1'] });
    expect(patched.json).toMatchObject({ source: 'store', fallbacks: ['openai/gpt-4.1'], deployments: [{ provider: 'openai', model: 'gpt-4o', weight: 1 }] });
    expect(apiError(await call(gw.url, 'PATCH', '/api/routing/model-groups/file-group', { name: 'renamed' }))).toMatchObject({ code: 'conflict', param: 'name' });
    expect((await call(gw.url, 'DELETE', '/api/routing/model-groups/file-group')).json).toEqual({ deleted: true, name: 'file-group', reverted_to: 'file' });
    expect((await call(gw.url, 'DELETE', '/api/routing/model-groups/file-group')).status).toBe(409);
  });

  it('bad input names the field', async () => {
    const cases: Array<[unknown, number, string, RegExp]> = [
      [{ name: 'g1', deployments: [] }, 400, 'deployments', /at least one deployment/],
      [{ name: 'g1' }, 400, 'deployments', /^deployments: /],
      [{ name: 'g1', deployments: [{ provider: 'openai' }] }, 400, 'deployments[0].model', /^deployments\[0\]\.model: /],
      [{ name: 'g1', deployments: [{ provider: 'openai', model: 'm', weight: -2 }] }, 400, 'deployments[0].weight', /weight/],
      [{ name: 'file-group', deployments: [{ provider: 'openai', model: 'm' }] }, 409, 'name', /already exists \(file\)/],
      [{ deployments: [{ provider: 'openai', model: 'm' }] }, 400, 'name', /^name: /],
    ];
    for (const [body, status, param, message] of cases) {
      const reply = await call(gw.url, 'POST', '/api/routing/model-groups', body);
      expect(reply.status, JSON.stringify(body)).toBe(status);
      expect(apiError(reply).param, JSON.stringify(body)).toBe(param);
      expect(apiError(reply).message, JSON.stringify(body)).toMatch(message);
    }
  });
});
