/**
 * Helpers of the cache tests: the gateway with every native provider pointed at one mock
 * (on a chosen data dir, for restarts), SSE reading, counting the calls that reached the mock.
 */
import type { CacheStore } from '../../src/cache/types.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import { call, startGov, type GovGateway } from '../governance/helpers.js';

export { call, chat } from '../governance/helpers.js';

export interface CacheSuite {
  mock: MockUpstream;
  gw: GovGateway;
  env: Record<string, string>;
  baseConfig: Record<string, unknown>;
}

/** USD per million tokens of openai/gpt-4o-mini here: a prompt word costs $1, an answer word $2. */
export const PRICE = { input: 1_000_000, output: 2_000_000 };

export async function startCacheSuite(cache: Record<string, unknown>, extra: Record<string, unknown> = {}, dataDir?: string, cacheStore?: CacheStore): Promise<CacheSuite> {
  const providers = await startMockProviders();
  const baseConfig = {
    ...providers.config,
    governance: { pricing: { 'openai/gpt-4o-mini': PRICE } },
    cache,
    ...extra,
  };
  const gw = await startGov({ env: providers.env, config: baseConfig, dataDir, build: { cacheStore } });
  return { mock: providers.mock, gw, env: providers.env, baseConfig };
}

/** Calls that reached the mock on a path (the chat endpoints, the embeddings endpoint). */
export function upstreamCalls(mock: MockUpstream, path: RegExp): number {
  return mock.requests.filter((request) => path.test(request.path)).length;
}

export const CHAT_PATHS = /\/chat\/completions$|\/v1\/messages$|:(stream)?generateContent$/;
export const EMBEDDING_PATHS = /\/embeddings$/;

/** The `data:` payloads of an SSE body, `[DONE]` left out, JSON parsed. */
export function sseData(text: string): any[] {
  return text
    .split(/\r?\n\r?\n/)
    .map((block) => block.split(/\r?\n/).filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trimStart()).join('\n'))
    .filter((data) => data !== '' && data !== '[DONE]')
    .map((data) => JSON.parse(data));
}

/** The request log row of request `id` (written behind: polled until it is there). */
export async function logRow(gatewayUrl: string, id: string): Promise<Record<string, any>> {
  for (let i = 0; i < 100; i++) {
    const reply = await call('GET', `${gatewayUrl}/api/logs/${id}`);
    if (reply.status === 200) return reply.json;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no log row for ${id}`);
}
