/**
 * A bounded, seeded fuzzer over every client route x provider format
 * (docs/security.md, "Input"). From a valid request per route, each case
 * deletes one field or sets it to a hostile value (wrong types, null, huge
 * strings, deep nesting, unicode and control characters, path traversal in
 * the model); raw HTTP cases break the protocol itself (bad percent-encoding,
 * huge headers, Expect, bad Content-Length, truncated bodies). Every answer
 * must come in time, carry no 5xx of the gateway's own (an upstream 5xx is
 * fine when classified), and be an error in the caller's format when it is
 * one; afterwards the gateway is healthy and logged no internal error.
 *
 * Loopback only; the mock upstream answers in each provider's wire format.
 * HEIMDALL_FUZZ_SEED replays another seed (the failing case prints its seed
 * and index); HEIMDALL_FUZZ_CASES changes the number of cases per pair.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors/codes.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { NATIVE_MODELS, startMockProviders } from '../support/mock-upstream/provider-env.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { rawHttp } from './raw-http.js';

const SEED = Number(process.env.HEIMDALL_FUZZ_SEED ?? 20261207);
const CASES_PER_PAIR = Number(process.env.HEIMDALL_FUZZ_CASES ?? 24);
const ANSWER_TIMEOUT_MS = 10_000;
/** What a 5xx of the gateway's own says (src/errors/render.ts). */
const INTERNAL_MESSAGE = ERROR_CODES.HD_ERR_INTERNAL.description.split(';')[0];

/** mulberry32: a small, fast, seeded PRNG (no dependency). */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Format = 'openai' | 'anthropic' | 'gemini';
/** Any JSON value (bodies are built loosely, then mutated by path). */
type Json = unknown;

interface Route {
  name: string;
  format: Format;
  /** The URL path for a model (the Gemini surface puts it in the path). */
  path(model: string): string;
  /** A valid body for a model (the model field included where the format has one). */
  body(model: string): Json;
  /** Which providers the route is fuzzed against, by the model they are called with. */
  models: string[];
}

const CHAT_MODELS = ['openai', 'anthropic', 'gemini', 'bedrock', 'cohere'].map((p) => NATIVE_MODELS[p as keyof typeof NATIVE_MODELS]);
const EMBEDDING_MODELS = ['openai/text-embedding-3-small', 'gemini/gemini-embedding-001', 'bedrock/amazon.titan-embed-text-v2:0', 'cohere/embed-v4.0'];

const tool = { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };

const ROUTES: Route[] = [
  {
    name: 'openai chat',
    format: 'openai',
    path: () => '/v1/chat/completions',
    body: (model) => ({
      model,
      temperature: 0.5,
      max_tokens: 50,
      tools: [tool],
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Weather?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      ],
    }),
    models: CHAT_MODELS,
  },
  {
    name: 'openai completions',
    format: 'openai',
    path: () => '/v1/completions',
    body: (model) => ({ model, prompt: 'Say hi', max_tokens: 20, stop: ['\n'] }),
    models: [NATIVE_MODELS.openai, NATIVE_MODELS.anthropic],
  },
  {
    name: 'openai embeddings',
    format: 'openai',
    path: () => '/v1/embeddings',
    body: (model) => ({ model, input: ['one', 'two'], encoding_format: 'float' }),
    models: EMBEDDING_MODELS,
  },
  {
    name: 'openai responses',
    format: 'openai',
    path: () => '/v1/responses',
    body: (model) => ({ model, input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }] }], instructions: 'Be brief.', max_output_tokens: 30 }),
    models: [NATIVE_MODELS.openai, NATIVE_MODELS.anthropic],
  },
  {
    name: 'anthropic messages',
    format: 'anthropic',
    path: () => '/anthropic/v1/messages',
    body: (model) => ({
      model,
      max_tokens: 50,
      system: [{ type: 'text', text: 'Be brief.' }],
      tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'tu_1', name: 'get_weather', input: { city: 'Oslo' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_1', content: 'sunny' }] },
      ],
    }),
    models: CHAT_MODELS,
  },
  {
    name: 'gemini generateContent',
    format: 'gemini',
    path: (model) => `/genai/v1beta/models/${encodeURIComponent(model)}:generateContent`,
    body: () => ({
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      generationConfig: { temperature: 0.2, maxOutputTokens: 50 },
      tools: [{ functionDeclarations: [{ name: 'get_weather', parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' } } } }] }],
      contents: [
        { role: 'user', parts: [{ text: 'Weather?' }, { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } }] },
        { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Oslo' } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { result: 'sunny' } } }] },
      ],
    }),
    models: CHAT_MODELS,
  },
];

function nested(levels: number): Json {
  let value: Json = 'x';
  for (let i = 0; i < levels; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

const HOSTILE: Json[] = [
  null, true, false, 0, -1, 1.5, 1e308, -1e308, '', 'x', '0', 'NaN', [], {}, [null], [[]], { '': null }, [1, 'a', null, {}],
  'x'.repeat(65_536), '\u0000\u0001\n\r\t\u007f', 'emoji \u{1F600} rtl \u202E bom \uFEFF sep \u2028\u2029', '\ud800 lone surrogate',
  '../../../etc/passwd', '%2e%2e/%2e%2e/x', '{"nested":"json"}', nested(40), nested(200),
  { constructor: 'x', toString: 1 }, ['x'.repeat(10_000)],
];

const HOSTILE_MODELS: Json[] = [
  'gemini/gemini-2.5-flash/../gemini-2.5-pro', 'gemini/../../x', 'openai/gpt-4o-mini\n', 'openai/gpt-4o-mini-编码', 'openai/gpt\u2028x',
  'bedrock/..', 'vertex/./x', 'openai/', '/', 'nope/unknown', 'openai/' + 'm'.repeat(5000), 'openai/gpt-4o-mini?x=1#y', 'openai/a\\..\\b',
];

/** Every path into a JSON value (object keys and array indices), the root excluded. */
function paths(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [];
  if (Array.isArray(value)) value.forEach((item, i) => out.push([...prefix, i], ...paths(item, [...prefix, i])));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) out.push([...prefix, key], ...paths(item, [...prefix, key]));
  }
  return out;
}

function mutate(body: Json, path: Array<string | number>, action: 'delete' | Json): Json {
  const copy = structuredClone(body);
  let parent: any = copy;
  for (const step of path.slice(0, -1)) parent = parent[step];
  const last = path[path.length - 1];
  if (action === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else {
    parent[last] = action === undefined ? null : structuredClone(action);
  }
  return copy;
}

interface Case {
  route: Route;
  model: string;
  path: string;
  body: string;
  what: string;
}

/** The cases of one route and provider, from the seeded generator. */
function casesFor(route: Route, model: string, random: () => number): Case[] {
  const base = route.body(model);
  const all = paths(base);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const cases: Case[] = [];
  for (let i = 0; i < CASES_PER_PAIR; i++) {
    const roll = random();
    let caseModel = model;
    let body = base;
    let what: string;
    if (roll < 0.15) {
      caseModel = pick(HOSTILE_MODELS) as string;
      if (route.format !== 'gemini') body = mutate(base, ['model'], caseModel);
      what = `model=${JSON.stringify(caseModel).slice(0, 60)}`;
    } else if (roll < 0.4) {
      const path = pick(all);
      body = mutate(base, path, 'delete');
      what = `delete ${path.join('.')}`;
    } else {
      const path = pick(all);
      const value = pick(HOSTILE);
      body = mutate(base, path, value);
      what = `set ${path.join('.')}=${JSON.stringify(value)?.slice(0, 40)}`;
    }
    if (random() < 0.2 && route.format !== 'gemini' && !route.name.includes('embeddings')) {
      body = mutate(body, ['stream'], true);
      what += ' +stream';
    }
    cases.push({ route, model, path: route.path(caseModel), body: JSON.stringify(body), what });
  }
  return cases;
}

/** The caller's error format, checked on an error answer. */
function isCallerFormat(format: Format, status: number, body: any): boolean {
  if (body === null || typeof body !== 'object') return false;
  switch (format) {
    case 'openai':
      return typeof body.error?.message === 'string' && typeof body.error?.type === 'string' && 'param' in body.error && 'code' in body.error;
    case 'anthropic':
      return body.type === 'error' && typeof body.error?.type === 'string' && typeof body.error?.message === 'string';
    case 'gemini':
      return body.error?.code === status && typeof body.error?.status === 'string' && typeof body.error?.message === 'string';
  }
}

let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  gateway = await startGateway({
    env: providers.env,
    config: { ...providers.config, limits: { max_body_bytes: 1_000_000 }, routing: { circuit_breaker: { enabled: false } } },
    logLevel: 'warn',
  });
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

describe(`fuzz (seed ${SEED}, ${CASES_PER_PAIR} cases per route and provider)`, () => {
  const random = prng(SEED);
  for (const route of ROUTES) {
    for (const model of route.models) {
      const cases = casesFor(route, model, random);
      it(`${route.name} -> ${model.split('/')[0]}`, async () => {
        const failures: string[] = [];
        for (const [index, item] of cases.entries()) {
          const label = `#${index} ${item.what}`;
          let status: number;
          let text: string;
          let contentType: string;
          try {
            const response = await request(`${gateway.url}${item.path}`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: item.body,
              headersTimeout: ANSWER_TIMEOUT_MS,
              bodyTimeout: ANSWER_TIMEOUT_MS,
            });
            status = response.statusCode;
            contentType = String(response.headers['content-type'] ?? '');
            text = await response.body.text();
          } catch (error) {
            failures.push(`${label}: no answer (${(error as Error).message})`);
            continue;
          }
          // The gateway's own 5xx says so (render.ts); an upstream 5xx carries the provider's words.
          if (status >= 500 && (text.includes(INTERNAL_MESSAGE) || !/upstream|mock/i.test(text))) {
            failures.push(`${label}: gateway ${status}: ${text.slice(0, 200)}`);
            continue;
          }
          if (status >= 400) {
            let body: unknown;
            try {
              body = JSON.parse(text);
            } catch {
              body = undefined;
            }
            if (!contentType.startsWith('application/json') || !isCallerFormat(item.route.format, status, body)) {
              failures.push(`${label}: ${status} not in ${item.route.format} format: ${text.slice(0, 200)}`);
            }
          }
        }
        expect(failures, `seed ${SEED}`).toEqual([]);
      }, 60_000);
    }
  }
});

describe('raw HTTP', () => {
  const prefixes = ['/v1/chat/completions', '/anthropic/v1/messages', '/genai/v1beta/models/openai%2Fgpt-4o-mini:generateContent'];
  const body = '{"model":"openai/gpt-4o-mini","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"contents":[{"parts":[{"text":"hi"}]}]}';

  it('protocol-level breakage is answered with a 4xx (or the connection closed), never a 5xx or a hang', async () => {
    const random = prng(SEED + 1);
    const statuses: number[] = [];
    for (const prefix of prefixes) {
      const cases: Array<[string, Buffer | string, boolean]> = [
        ['bad percent-encoding', `POST ${prefix}%E0%A4%A HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`, false],
        ['huge header', `POST ${prefix} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-big: ${'b'.repeat(40_000 + Math.floor(random() * 1000))}\r\n\r\n`, false],
        ['many headers', `POST ${prefix} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Array.from({ length: 3000 }, (_, i) => `x-h${i}: v`).join('\r\n')}\r\n\r\n`, false],
        ['Expect other', `POST ${prefix} HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 200-ok\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`, false],
        ['Expect 100-continue', `POST ${prefix} HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`, false],
        ['bad content-length', `POST ${prefix} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: -5\r\n\r\n{}`, false],
        ['two content-lengths', `POST ${prefix} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}`, false],
        ['truncated body', `POST ${prefix} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, Math.floor(random() * body.length))}`, true],
        ['truncated chunked body', `POST ${prefix} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n10\r\n{"model":"opena`, true],
        ['garbage request line', `\u0000\u0001GARBAGE ${prefix}\r\n\r\n`, false],
        ['non-UTF-8 body', Buffer.concat([Buffer.from(`POST ${prefix} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 6\r\n\r\n`), Buffer.from([0x7b, 0xff, 0xfe, 0x22, 0x7d, 0x7d])]), false],
      ];
      for (const [what, payload, endAfterWrite] of cases) {
        const { status } = await rawHttp(gateway.url, payload, { endAfterWrite, timeoutMs: ANSWER_TIMEOUT_MS }).catch((error: Error) => {
          throw new Error(`${prefix} ${what}: ${error.message}`);
        });
        statuses.push(status);
        expect(status === 0 || (status >= 200 && status < 500), `${prefix} ${what}: ${status}`).toBe(true);
      }
    }
    // Most of them were answered, not just dropped.
    expect(statuses.filter((status) => status >= 400).length).toBeGreaterThan(prefixes.length * 6);
  });
});

describe('afterwards', () => {
  it('the gateway is healthy, serves a normal request, and logged no internal error', async () => {
    const health = await request(`${gateway.url}/health`);
    expect(health.statusCode).toBe(200);
    await health.body.text();
    const reply = await request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'still here' }] }),
    });
    expect(reply.statusCode).toBe(200);
    await reply.body.text();
    const internal = gateway.logs().filter((line) => String(line.msg).includes('internal error'));
    expect(internal.map((line) => JSON.stringify(line).slice(0, 300))).toEqual([]);
  });
});
