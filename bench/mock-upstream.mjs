#!/usr/bin/env node
// A fast mock upstream for the benchmark: node:http, pre-serialised bodies, no JSON parsing. OpenAI's chat
// completions (POST /v1/chat/completions) and Anthropic's messages (POST /v1/messages), non-stream and stream.
//   node bench/mock-upstream.mjs [--port 0] [--latency-ms 0] [--chunks 10] [--chunk-delay-ms 0]
// Environment equivalents: MOCK_PORT, MOCK_LATENCY_MS, MOCK_CHUNKS, MOCK_CHUNK_DELAY_MS.
// --latency-ms delays the response headers (and, for a stream, the first chunk); --chunk-delay-ms spaces the
// stream's content chunks. Prints `READY <port>` once listening on 127.0.0.1.
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.MOCK_PORT ?? '0' },
    'latency-ms': { type: 'string', default: process.env.MOCK_LATENCY_MS ?? '0' },
    chunks: { type: 'string', default: process.env.MOCK_CHUNKS ?? '10' },
    'chunk-delay-ms': { type: 'string', default: process.env.MOCK_CHUNK_DELAY_MS ?? '0' },
  },
});
const latencyMs = Number(values['latency-ms']);
const chunkCount = Math.max(1, Number(values.chunks));
const chunkDelayMs = Number(values['chunk-delay-ms']);

const CREATED = 1_700_000_000;
const ID = 'chatcmpl-bench0000000000000000000000';
const MODEL = 'gpt-4o-mini-2024-07-18';
const CONTENT_WORDS = ['Hello', '!', ' How', ' can', ' I', ' help', ' you', ' today', '?', ' Ask', ' away', '.'];
const USAGE = { prompt_tokens: 12, completion_tokens: chunkCount, total_tokens: 12 + chunkCount };

const completionBody = Buffer.from(
  JSON.stringify({
    id: ID,
    object: 'chat.completion',
    created: CREATED,
    model: MODEL,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Hello! How can I help you today?', refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: USAGE,
    service_tier: 'default',
    system_fingerprint: 'fp_bench',
  }),
);
const completionHeaders = {
  'content-type': 'application/json',
  'content-length': String(completionBody.length),
  'x-request-id': 'req_bench',
  'openai-processing-ms': String(latencyMs),
};

const sse = (payload) => Buffer.from(`data: ${JSON.stringify(payload)}\n\n`);
const chunk = (delta, finishReason = null) => ({
  id: ID,
  object: 'chat.completion.chunk',
  created: CREATED,
  model: MODEL,
  system_fingerprint: 'fp_bench',
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
});
/**
 * The stream, event by event: role, N content deltas, finish, then (when asked for) usage, then [DONE].
 * With include_usage every chunk carries `"usage":null`, as OpenAI's do.
 */
const buildStreamEvents = (withUsage) => [
  chunk({ role: 'assistant', content: '', refusal: null }),
  ...Array.from({ length: chunkCount }, (_, index) => chunk({ content: CONTENT_WORDS[index % CONTENT_WORDS.length] })),
  chunk({}, 'stop'),
].map((body) => sse(withUsage ? { ...body, usage: null } : body));
const streamEvents = buildStreamEvents(false);
const streamEventsWithUsage = buildStreamEvents(true);
const usageEvent = sse({ ...chunk({}), choices: [], usage: USAGE });
const doneEvent = Buffer.from('data: [DONE]\n\n');
const streamHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-request-id': 'req_bench',
};

/**
 * Anthropic's messages API, the same answer: message_start and content_block_start leave with the first
 * delta, then N text deltas, content_block_stop, message_delta (stop reason and output tokens), message_stop:
 * as many writes as the OpenAI stream with usage.
 * @see https://docs.anthropic.com/en/api/messages-streaming
 */
const ANTHROPIC_MODEL = 'claude-3-5-haiku-20241022';
const anthropicEvent = (payload) => Buffer.from(`event: ${payload.type}\ndata: ${JSON.stringify(payload)}\n\n`);
const anthropicStreamEvents = [
  Buffer.concat([
    anthropicEvent({
      type: 'message_start',
      message: { id: 'msg_bench', type: 'message', role: 'assistant', model: ANTHROPIC_MODEL, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: USAGE.prompt_tokens, output_tokens: 1 } },
    }),
    anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
  ]),
  ...Array.from({ length: chunkCount }, (_, index) => anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: CONTENT_WORDS[index % CONTENT_WORDS.length] } })),
  anthropicEvent({ type: 'content_block_stop', index: 0 }),
  anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: USAGE.completion_tokens } }),
  anthropicEvent({ type: 'message_stop' }),
];
const anthropicBody = Buffer.from(
  JSON.stringify({
    id: 'msg_bench',
    type: 'message',
    role: 'assistant',
    model: ANTHROPIC_MODEL,
    content: [{ type: 'text', text: 'Hello! How can I help you today?' }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: USAGE.prompt_tokens, output_tokens: USAGE.completion_tokens },
  }),
);
const anthropicHeaders = { 'content-type': 'application/json', 'content-length': String(anthropicBody.length), 'request-id': 'req_bench' };

const modelsBody = Buffer.from(
  JSON.stringify({
    object: 'list',
    data: ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small'].map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'system' })),
  }),
);
const embeddingBody = Buffer.from(
  JSON.stringify({
    object: 'list',
    data: [{ object: 'embedding', index: 0, embedding: [0.0023, -0.0091, 0.0152, 0.0044] }],
    model: 'text-embedding-3-small',
    usage: { prompt_tokens: 4, total_tokens: 4 },
  }),
);

const STREAM_TRUE = /"stream"\s*:\s*true/;
const INCLUDE_USAGE = /"include_usage"\s*:\s*true/;

function sendJson(response, status, body) {
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': String(body.length) });
  response.end(body);
}

function writeStream(response, events) {
  response.writeHead(200, streamHeaders);
  if (chunkDelayMs <= 0) {
    for (let index = 0; index < events.length - 1; index += 1) response.write(events[index]);
    response.end(events[events.length - 1]);
    return;
  }
  let index = 0;
  const next = () => {
    if (response.destroyed) return;
    if (index === events.length - 1) {
      response.end(events[index]);
      return;
    }
    response.write(events[index]);
    index += 1;
    // The role event and the first content delta leave together; deltas are spaced by chunkDelayMs.
    if (index === 1) next();
    else setTimeout(next, chunkDelayMs);
  };
  next();
}

const openaiStream = (withUsage) => (withUsage ? [...streamEventsWithUsage, usageEvent, doneEvent] : [...streamEvents, doneEvent]);

function handleChat(request, response, anthropic) {
  const parts = [];
  request.on('data', (part) => parts.push(part));
  request.on('end', () => {
    const text = parts.length === 1 ? parts[0].toString('latin1') : Buffer.concat(parts).toString('latin1');
    const respond = STREAM_TRUE.test(text)
      ? () => writeStream(response, anthropic ? anthropicStreamEvents : openaiStream(INCLUDE_USAGE.test(text)))
      : () => {
          response.writeHead(200, anthropic ? anthropicHeaders : completionHeaders);
          response.end(anthropic ? anthropicBody : completionBody);
        };
    if (latencyMs > 0) setTimeout(respond, latencyMs);
    else respond();
  });
}

const server = http.createServer((request, response) => {
  const url = request.url ?? '/';
  if (request.method === 'POST' && url.startsWith('/v1/chat/completions')) return handleChat(request, response, false);
  if (request.method === 'POST' && url.startsWith('/v1/messages')) return handleChat(request, response, true);
  request.resume();
  if (url.startsWith('/v1/models')) return sendJson(response, 200, modelsBody);
  if (request.method === 'POST' && url.startsWith('/v1/embeddings')) return sendJson(response, 200, embeddingBody);
  if (url === '/health') return sendJson(response, 200, Buffer.from('{"status":"ok"}'));
  return sendJson(response, 404, Buffer.from('{"error":{"message":"not found","type":"invalid_request_error"}}'));
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.requestTimeout = 0;
server.maxRequestsPerSocket = 0;
server.listen(Number(values.port), '127.0.0.1', () => {
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  process.stdout.write(`READY ${address.port}\n`);
});

// Exit with the parent: run.mjs keeps our stdin open as a pipe.
if (process.env.BENCH_EXIT_WITH_PARENT === '1') process.stdin.on('end', () => process.exit(0)).resume();
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
