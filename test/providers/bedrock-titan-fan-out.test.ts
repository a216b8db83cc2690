/**
 * Bedrock Titan embeds one text per call: an `input` of several texts goes
 * upstream as one InvokeModel call per text (src/gateway/send-parts.ts). Here
 * a mock route answers each call after a delay that depends on the text, so
 * the answers come back out of order, and counts the calls in flight.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PART_CONCURRENCY } from '../../src/gateway/send-parts.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';

let mock: MockUpstream;
let gateway: TestGateway;
let client: OpenAI;
let inFlight = 0;
let maxInFlight = 0;
/** inputText -> the answer's status (default 200). */
const failures = new Map<string, number>();

beforeAll(async () => {
  mock = await startMockUpstream();
  mock.route('POST', /^\/model\/amazon\.titan-embed-text-v2%3A0\/invoke$/, async (context) => {
    const text = (context.request.body as { inputText: string }).inputText;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    // Later texts answer sooner: the merge must follow the input order, not the answer order.
    await new Promise((resolve) => setTimeout(resolve, 40 - Number(text.slice(1)) * 3));
    inFlight--;
    const status = failures.get(text) ?? 200;
    if (status !== 200) {
      await context.json(status, { message: `ValidationException for ${text}` }, { 'x-amzn-errortype': 'ValidationException' });
      return;
    }
    await context.json(200, { embedding: [Number(text.slice(1)), 0.5], inputTextTokenCount: 2 });
  });
  gateway = await startGateway({
    config: { providers: { bedrock: { api_key: 'ABSKbedrock-api-key-123456', base_url: mock.url, max_retries: 0 } } },
  });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => {
  mock.reset();
  failures.clear();
  inFlight = 0;
  maxInFlight = 0;
});

const texts = (count: number): string[] => Array.from({ length: count }, (_, i) => `t${i}`);

describe('Bedrock Titan embeddings with several inputs', () => {
  it('one call per text, at most PART_CONCURRENCY in flight, merged in input order with the usage summed', async () => {
    const input = texts(10);
    const reply = await client.embeddings.create({ model: 'bedrock/amazon.titan-embed-text-v2:0', input, encoding_format: 'float' });
    expect(reply.data.map((item) => [item.index, item.embedding])).toEqual(input.map((_, i) => [i, [i, 0.5]]));
    expect(reply.usage).toEqual({ prompt_tokens: 20, total_tokens: 20 });
    expect(reply.model).toBe('bedrock/amazon.titan-embed-text-v2:0');
    expect(mock.requests.map((r) => (r.body as { inputText: string }).inputText).sort()).toEqual([...input].sort());
    expect(mock.requests.every((r) => r.headers.authorization === 'Bearer ABSKbedrock-api-key-123456')).toBe(true);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(PART_CONCURRENCY);
  });

  it('the SDK default (base64) decodes to the same vectors', async () => {
    const reply = await client.embeddings.create({ model: 'bedrock/amazon.titan-embed-text-v2:0', input: texts(3) });
    expect(reply.data.map((item) => item.embedding)).toEqual([[0, 0.5], [1, 0.5], [2, 0.5]]);
  });

  it('a call that fails fails the request with its status and message; calls not started are not sent', async () => {
    failures.set('t2', 400);
    const error = await client.embeddings.create({ model: 'bedrock/amazon.titan-embed-text-v2:0', input: texts(12) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain('ValidationException for t2');
    expect(mock.requests.length).toBeLessThan(12);
    const log = gateway.logs().find((line) => line.msg === 'request' && line.status === 400);
    expect(log).toMatchObject({ provider: 'bedrock', attempts: 1 });
  });

  it('one text is one call, as before', async () => {
    const reply = await client.embeddings.create({ model: 'bedrock/amazon.titan-embed-text-v2:0', input: ['t7'], encoding_format: 'float' });
    expect(reply.data).toEqual([{ object: 'embedding', index: 0, embedding: [7, 0.5] }]);
    expect(mock.requests).toHaveLength(1);
  });
});
