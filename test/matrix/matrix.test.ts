/**
 * The round-trip matrix over real sockets: one gateway and one mock upstream
 * (every provider format, SigV4 and OAuth checked) for every case. Each case
 * asserts the assembled text, the tool calls (in streams: id and name in the
 * first delta, arguments assembled exactly, parallel calls kept apart), the
 * finish reason and the usage. Streamed replies are written by the mock in
 * pieces of 1-13 bytes (`chop`), so the gateway reads SSE and AWS event-stream
 * frames cut inside UTF-8 sequences, field names and frame headers.
 *
 * The last test writes test-results/compatibility-matrix.json and checks that
 * docs/compatibility.md is what scripts/gen-compatibility.mjs makes of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { MOCK_AZURE_DEPLOYMENTS, startMockProviders } from '../support/mock-upstream/provider-env.js';
import { send, type Assembled, type SurfaceRequest } from './assembled.js';
import { allCases, caseName, expectedFor, modelFor, type CaseKind, type CaseMode, type MatrixCase, type ProviderName, type SurfaceName } from './cases.js';
import { compare, isPassthrough, writeResultsAndCheckDoc, type CaseResult } from './results.js';
import { ANTHROPIC_FINISH, anthropicRequest, assembleAnthropicJson, assembleAnthropicStream } from './surface-anthropic.js';
import { assembleGeminiJson, assembleGeminiStream, GEMINI_FINISH, geminiRequest } from './surface-gemini.js';
import { assembleOpenAIJson, assembleOpenAIStream, OPENAI_FINISH, openaiRequest } from './surface-openai.js';
import { assembleResponsesJson, assembleResponsesStream, RESPONSES_FINISH, responsesRequest } from './surface-responses.js';
import type { SseEvent } from '../../src/gateway/sse.js';

interface SurfaceDriver {
  request(model: string, kind: CaseKind, mode: CaseMode): SurfaceRequest;
  json(json: unknown): Assembled;
  stream(events: readonly SseEvent[]): Assembled;
  finish: { stop: string; tool_calls: string; length: string };
}

const DRIVERS: Record<SurfaceName, SurfaceDriver> = {
  openai: { request: openaiRequest, json: assembleOpenAIJson, stream: assembleOpenAIStream, finish: OPENAI_FINISH },
  anthropic: { request: anthropicRequest, json: assembleAnthropicJson, stream: assembleAnthropicStream, finish: ANTHROPIC_FINISH },
  gemini: { request: geminiRequest, json: assembleGeminiJson, stream: assembleGeminiStream, finish: GEMINI_FINISH },
  responses: { request: responsesRequest, json: assembleResponsesJson, stream: assembleResponsesStream, finish: RESPONSES_FINISH },
};

/** The upstream route each provider must have been called on. */
const UPSTREAM_ROUTES: Record<ProviderName, RegExp> = {
  openai: /^\/v1\/chat\/completions$/,
  anthropic: /^\/v1\/messages$/,
  gemini: /^\/v1beta\/models\/[^/]+:(generateContent|streamGenerateContent)$/,
  bedrock: /^\/model\/[^/]+\/(converse|converse-stream)$/,
  azure: new RegExp(`^/openai/deployments/${Object.keys(MOCK_AZURE_DEPLOYMENTS)[0]}/chat/completions$`),
  vertex: /^\/v1\/projects\/mock-project\/locations\/us-east5\/publishers\/google\/models\/[^/]+:(generateContent|streamGenerateContent)$/,
  'vertex-anthropic': /^\/v1\/projects\/mock-project\/locations\/us-east5\/publishers\/anthropic\/models\/[^/]+:(rawPredict|streamRawPredict)$/,
  cohere: /^\/v2\/chat$/,
};

/** The Responses API passes through to the providers that have it: their own Responses route. */
const RESPONSES_ROUTES: Partial<Record<ProviderName, RegExp>> = {
  openai: /^\/v1\/responses$/,
  azure: /^\/openai\/v1\/responses$/,
};

function upstreamRoute(surface: SurfaceName, provider: ProviderName): RegExp {
  return (surface === 'responses' ? RESPONSES_ROUTES[provider] : undefined) ?? UPSTREAM_ROUTES[provider];
}

let mock: MockUpstream;
let gateway: TestGateway;
const results: CaseResult[] = [];

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  gateway = await startGateway({ env: providers.env, config: providers.config });
});

afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

async function runCase(c: MatrixCase): Promise<string[]> {
  const driver = DRIVERS[c.surface];
  mock.reset();
  // Every streamed reply arrives in 1-13 byte pieces; the token endpoint is left alone.
  if (c.mode === 'stream') mock.enqueue({ kind: 'chop' }, { path: /^(?!\/token$)/ });
  const reply = await send(gateway.url, driver.request(modelFor(c.provider), c.kind, c.mode));
  if (reply.status !== 200) return [`HTTP ${reply.status}: ${reply.text.slice(0, 500)}`];
  const failures: string[] = [];
  if (reply.headers['x-heimdall-provider'] !== c.provider) failures.push(`served by ${String(reply.headers['x-heimdall-provider'])}`);
  const upstream = mock.requests.filter((r) => r.path !== '/token');
  if (upstream.length !== 1 || !upstreamRoute(c.surface, c.provider).test(upstream[0].path)) {
    failures.push(`upstream calls: ${upstream.map((r) => r.path).join(', ')}`);
  }
  const warnings = reply.headers['x-heimdall-warnings'];
  if (warnings !== undefined) failures.push(`unexpected warnings: ${String(warnings)}`);
  const expected = expectedFor(c.kind);
  const assembled = c.mode === 'stream' ? driver.stream(reply.events) : driver.json(reply.json);
  failures.push(...compare(assembled, expected, driver.finish[expected.finish]));
  // The gateway's own accounting (log line, metrics, cost) must see the same usage, pass-through or not.
  const logged = await requestLog(String(reply.headers['x-request-id']));
  const inputOk = expected.inputExact ? logged?.input_tokens === expected.inputTokens : Number(logged?.input_tokens) >= expected.inputTokens;
  if (!inputOk || logged?.output_tokens !== expected.outputTokens) {
    failures.push(`logged usage: ${JSON.stringify({ input_tokens: logged?.input_tokens, output_tokens: logged?.output_tokens })}`);
  }
  return failures;
}

/** The gateway's log line of a request, once written (it is written when the response closes). */
async function requestLog(requestId: string): Promise<Record<string, unknown> | undefined> {
  for (let waited = 0; waited < 2000; waited += 10) {
    const line = gateway.logs().find((entry) => entry.msg === 'request' && entry.request_id === requestId);
    if (line !== undefined) return line;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return undefined;
}

describe('round-trip matrix: surface x provider format x mode x content', () => {
  for (const c of allCases()) {
    it(caseName(c), async () => {
      let failures: string[];
      try {
        failures = await runCase(c);
      } catch (error) {
        failures = [`threw: ${(error as Error).message}`];
      }
      results.push({ ...c, passthrough: isPassthrough(c), passed: failures.length === 0, failures });
      expect(failures).toEqual([]);
    });
  }

  it('docs/compatibility.md is generated from these results', () => {
    expect(results).toHaveLength(allCases().length);
    expect(writeResultsAndCheckDoc(results)).toBeUndefined();
  });
});
