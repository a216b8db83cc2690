/**
 * Over real sockets: who may call (enforcement on and off, each SDK's way of
 * sending the key) and what (allowed providers and models).
 */
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { call, chat, startGov, type GovGateway } from './helpers.js';

let mock: MockUpstream;
let gw: GovGateway;
let key: string;
let keyId: string;

function openai(apiKey: string): OpenAI {
  return new OpenAI({ baseURL: `${gw.url}/v1`, apiKey, maxRetries: 0, timeout: 10_000 });
}

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startGov({
    config: {
      providers: {
        openai: { api_key: 'sk-upstream-0000', base_url: mock.openaiBaseUrl, max_retries: 0 },
        other: { type: 'openai-compatible', api_key: 'sk-other-0000', base_url: mock.openaiBaseUrl, models: ['other-model'] },
      },
      routing: { aliases: { smart: 'openai/gpt-4o' }, fallbacks: { 'openai/gpt-4o-mini': ['other/other-model'] } },
    },
  });
  const created = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'app' });
  expect(created.status).toBe(201);
  key = created.json.key;
  keyId = created.json.id;
});

afterAll(async () => {
  await gw.close();
  await mock.close();
});

async function setEnforce(enforce: boolean): Promise<void> {
  const reply = await call('PATCH', `${gw.url}/api/settings`, { governance: { enforce } });
  expect(reply.status).toBe(200);
  expect(gw.app.governance.settings.enforce).toBe(enforce);
}

describe('enforcement off (the default)', () => {
  it('a call without a key, or with a provider-style key, passes', async () => {
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('hi'))).status).toBe(200);
    const completion = await openai('sk-not-a-virtual-key').chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0].message.content).toBe('echo: hi');
  });

  it('a presented virtual key is checked and applied', async () => {
    const before = (await call('GET', `${gw.url}/api/virtual-keys/${keyId}`)).json.requests;
    await openai(key).chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'a b' }] });
    const after = await call('GET', `${gw.url}/api/virtual-keys/${keyId}`);
    expect(after.json.requests).toBe(before + 1);
    expect(after.json.last_used_at).toBeTypeOf('number');
    const bad = await call('POST', `${gw.url}/v1/chat/completions`, chat('hi'), { authorization: 'Bearer hk-not-issued-by-this-gateway' });
    expect(bad.status).toBe(401);
    expect(bad.json.error).toMatchObject({ code: 'invalid_api_key', type: 'authentication_error' });
  });
});

describe('enforcement on', () => {
  beforeAll(() => setEnforce(true));
  afterAll(() => setEnforce(false));

  it('refuses a call without a key (401 missing_api_key) or with a foreign one (401 invalid_api_key)', async () => {
    const missing = await call('POST', `${gw.url}/v1/chat/completions`, chat('hi'));
    expect(missing.status).toBe(401);
    expect(missing.json.error.code).toBe('missing_api_key');
    await expect(openai('sk-not-a-virtual-key').chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }))
      .rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    const anthropic = await call('POST', `${gw.url}/anthropic/v1/messages`, { model: 'openai/gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    expect(anthropic.status).toBe(401);
    expect(anthropic.json).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const gemini = await call('POST', `${gw.url}/genai/v1beta/models/openai%2Fgpt-4o-mini:generateContent`, { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
    expect(gemini.status).toBe(401);
    expect(gemini.json.error.status).toBe('UNAUTHENTICATED');
  });

  it('guards the routes outside the pipeline too (models list, count_tokens)', async () => {
    expect((await call('GET', `${gw.url}/v1/models`)).status).toBe(401);
    expect((await call('GET', `${gw.url}/v1/models`, undefined, { authorization: `Bearer ${key}` })).status).toBe(200);
    const models = await openai(key).models.list();
    expect(models.data.length).toBeGreaterThan(0);
    expect((await call('POST', `${gw.url}/anthropic/v1/messages/count_tokens`, { model: 'x', messages: [] })).status).toBe(401);
    expect((await call('GET', `${gw.url}/health`)).status).toBe(200);
  });

  it('the OpenAI SDK sends the key as a Bearer token', async () => {
    const completion = await openai(key).chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'via openai' }] });
    expect(completion.choices[0].message.content).toBe('echo: via openai');
  });

  it('the Anthropic SDK sends it as x-api-key', async () => {
    const client = new Anthropic({ baseURL: `${gw.url}/anthropic`, apiKey: key, maxRetries: 0 });
    const message = await client.messages.create({ model: 'openai/gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'via anthropic' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'echo: via anthropic' }]);
    const refused = new Anthropic({ baseURL: `${gw.url}/anthropic`, apiKey: 'sk-ant-foreign', maxRetries: 0 });
    await expect(refused.messages.create({ model: 'openai/gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 401 });
  });

  it('the Google Gen AI SDK sends it as x-goog-api-key; Gemini REST may use ?key=', async () => {
    const ai = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: `${gw.url}/genai` } });
    const response = await ai.models.generateContent({ model: 'openai/gpt-4o-mini', contents: 'via genai' });
    expect(response.text).toBe('echo: via genai');
    const viaQuery = await call('POST', `${gw.url}/genai/v1beta/models/openai%2Fgpt-4o-mini:generateContent?key=${encodeURIComponent(key)}`, { contents: [{ role: 'user', parts: [{ text: 'q' }] }] });
    expect(viaQuery.status).toBe(200);
    const foreign = new GoogleGenAI({ apiKey: 'AIza-foreign', httpOptions: { baseUrl: `${gw.url}/genai` } });
    await expect(foreign.models.generateContent({ model: 'openai/gpt-4o-mini', contents: 'x' })).rejects.toThrow(/401|not valid/);
  });

  it('x-heimdall-key works on any surface and wins over a provider-style Authorization', async () => {
    const reply = await call('POST', `${gw.url}/v1/chat/completions`, chat('hk'), { 'x-heimdall-key': key, authorization: 'Bearer sk-provider' });
    expect(reply.status).toBe(200);
  });

  it('a revoked or expired key is refused (401)', async () => {
    const temp = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'temp', expires_at: Date.now() + 60_000 });
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), { authorization: `Bearer ${temp.json.key}` })).status).toBe(200);
    await call('POST', `${gw.url}/api/virtual-keys/${temp.json.id}/revoke`);
    const revoked = await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), { authorization: `Bearer ${temp.json.key}` });
    expect(revoked.status).toBe(401);
    expect(revoked.json.error.message).toMatch(/revoked/);
    const old = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'old', expires_at: '2020-01-01T00:00:00Z' });
    const expired = await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), { authorization: `Bearer ${old.json.key}` });
    expect(expired.status).toBe(401);
    expect(expired.json.error.message).toMatch(/expired/);
  });
});

describe('access control', () => {
  it('a key without access to a model gets 403 (model_not_allowed), and the call never reaches the provider', async () => {
    const limited = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'limited', allowed_models: ['openai/gpt-4o'] });
    const before = mock.requests.length;
    const client = openai(limited.json.key);
    await expect(client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }))
      .rejects.toMatchObject({ status: 403, code: 'model_not_allowed' });
    expect(mock.requests.length).toBe(before);
    const ok = await client.chat.completions.create({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'y' }] });
    expect(ok.choices[0].message.content).toBe('echo: y');
    // A public name (alias) the key may use grants its target.
    const aliased = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'aliased', allowed_models: ['smart'] });
    expect((await call('POST', `${gw.url}/v1/chat/completions`, { ...chat('z'), model: 'smart' }, { authorization: `Bearer ${aliased.json.key}` })).status).toBe(200);
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('z'), { authorization: `Bearer ${aliased.json.key}` })).status).toBe(403);
  });

  it('wildcards, allowed providers, and fallbacks the key may not use are skipped', async () => {
    const scoped = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'scoped', allowed_models: ['openai/*'], allowed_providers: ['openai'] });
    const headers = { authorization: `Bearer ${scoped.json.key}` };
    expect((await call('POST', `${gw.url}/v1/chat/completions`, { ...chat('x'), model: 'openai/gpt-4o' }, headers)).status).toBe(200);
    expect((await call('POST', `${gw.url}/v1/chat/completions`, { ...chat('x'), model: 'other/other-model' }, headers)).status).toBe(403);
    // gpt-4o-mini falls back to other/other-model (configured); the key may not use it: never attempted.
    mock.enqueue({ kind: 'error', status: 500 });
    const before = mock.requests.length;
    const failed = await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), headers);
    expect(failed.status).toBe(500);
    const models = mock.requests.slice(before).map((request) => (request.body as { model: string }).model);
    expect(models.every((model) => model === 'gpt-4o-mini')).toBe(true);
    mock.reset();
  });

  it('a fallback named in the request that the key may not use is never tried', async () => {
    const scoped = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'scoped2', allowed_models: ['openai/gpt-4o-mini'] });
    const headers = { authorization: `Bearer ${scoped.json.key}` };
    expect((await call('POST', `${gw.url}/v1/chat/completions`, { ...chat('x'), fallbacks: ['other/other-model'] }, headers)).status).toBe(200);
    mock.enqueue({ kind: 'error', status: 503 });
    const before = mock.requests.length;
    const reply = await call('POST', `${gw.url}/v1/chat/completions`, { ...chat('x'), fallbacks: ['other/other-model'] }, headers);
    expect(reply.status).toBe(503);
    expect(mock.requests.slice(before).map((request) => (request.body as { model: string }).model)).toEqual(['gpt-4o-mini']);
    mock.reset();
  });
});
