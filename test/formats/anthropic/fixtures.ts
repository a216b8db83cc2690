/**
 * Fixtures shaped like Anthropic's documented examples.
 * @see https://docs.anthropic.com/en/api/messages-examples
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming
 * @see https://docs.anthropic.com/en/api/errors
 */
import { SseParser, type SseEvent } from '../../../src/gateway/sse.js';
import type { ChatCompletionChunk, Usage } from '../../../src/formats/openai/types.js';
import type { CodecContext, StreamDecoder } from '../../../src/formats/types.js';

export const context: CodecContext = { id: 'chatcmpl-abc123', created: 1_700_000_000, model: 'anthropic/claude-sonnet-4-5' };

/** Non-streaming response with text (documented "basic request" example). */
export const textResponse = {
  id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
  type: 'message',
  role: 'assistant',
  content: [{ type: 'text', text: 'Hello!' }],
  model: 'claude-sonnet-4-5-20250929',
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 12, output_tokens: 6 },
};

/** Response with a tool call (documented tool use example), plus cache usage. */
export const toolUseResponse = {
  id: 'msg_01Aq9w938a90dw8q',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5-20250929',
  stop_reason: 'tool_use',
  stop_sequence: null,
  content: [
    { type: 'text', text: "I'll check the current weather in San Francisco for you." },
    { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: { location: 'San Francisco, CA', unit: 'celsius' } },
  ],
  usage: {
    input_tokens: 472,
    output_tokens: 91,
    cache_creation_input_tokens: 100,
    cache_read_input_tokens: 2048,
    cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 0 },
    service_tier: 'standard',
  },
};

/** Extended thinking response (documented example). */
export const thinkingResponse = {
  id: 'msg_01Thinking',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5-20250929',
  content: [
    {
      type: 'thinking',
      thinking: 'To approach this, let me think about what we know about prime numbers...',
      signature: 'zbbJhbGciOiJFU8zI1NiIsImtpZCI6ImtleS0xMjM0In0.eyJoYXNoIjoiYWJjMTIzIiwiaWF0IjoxNjE0NTM0NTY3fQ....',
    },
    { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP...' },
    { type: 'text', text: 'Yes, there are infinitely many prime numbers such that...' },
  ],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 50, output_tokens: 300, output_tokens_details: { thinking_tokens: 220 } },
};

export const errorBodies = {
  overloaded: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' }, request_id: 'req_011CSHoEeqs5C35K2UUqR7Fy' },
  invalid: { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } },
  rateLimit: { type: 'error', error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' } },
};

/** Documented basic streaming request: every event type but error, including ping. */
export const basicStream = `event: message_start
data: {"type": "message_start", "message": {"id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5-20250929", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 25, "output_tokens": 1, "cache_read_input_tokens": 10, "cache_creation_input_tokens": 0}}}

event: content_block_start
data: {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}}

event: content_block_stop
data: {"type": "content_block_stop", "index": 0}

event: message_delta
data: {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence":null}, "usage": {"output_tokens": 15}}

event: message_stop
data: {"type": "message_stop"}

`;

/** Text, then two parallel tool calls whose argument fragments are split mid-token. */
export const parallelToolStream = `event: message_start
data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},"content":[],"stop_reason":null}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me check both."}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"location\\": \\"San Fra"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ncisco, CA\\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_02Time","name":"get_time","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\\"timezone\\": "}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"\\"America/Los_Angeles\\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

`;

/** Documented extended-thinking stream: thinking_delta, signature_delta, then text. */
export const thinkingStream = `event: message_start
data: {"type": "message_start", "message": {"id": "msg_01ThinkStream", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5-20250929", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 40, "output_tokens": 1}}}

event: content_block_start
data: {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Let me solve this step by step:\\n\\n1. First break down 27 * 453"}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "\\n2. 453 = 400 + 50 + 3"}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds..."}}

event: content_block_stop
data: {"type": "content_block_stop", "index": 0}

event: content_block_start
data: {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "27 * 453 = 12,231"}}

event: content_block_stop
data: {"type": "content_block_stop", "index": 1}

event: message_delta
data: {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 120, "output_tokens_details": {"thinking_tokens": 80}}}

event: message_stop
data: {"type": "message_stop"}

`;

/** A stream that fails midway with the documented error event. */
export const errorStream = `event: message_start
data: {"type": "message_start", "message": {"id": "msg_err", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 5, "output_tokens": 1}}}

event: error
data: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}

`;

/** Parse SSE text, optionally split into pieces of `split` bytes, into events. */
export function sseEvents(text: string, split = 0): SseEvent[] {
  const parser = new SseParser();
  const bytes = new TextEncoder().encode(text);
  const events: SseEvent[] = [];
  if (split <= 0) events.push(...parser.push(bytes));
  else for (let i = 0; i < bytes.length; i += split) events.push(...parser.push(bytes.subarray(i, i + split)));
  events.push(...parser.end());
  return events;
}

export function runDecoder(decoder: StreamDecoder, text: string, split = 0): ChatCompletionChunk[] {
  const chunks: ChatCompletionChunk[] = [];
  for (const event of sseEvents(text, split)) chunks.push(...decoder.onEvent(event));
  chunks.push(...decoder.onEnd());
  return chunks;
}

export interface Assembled {
  role: string | undefined;
  content: string;
  reasoning: string;
  signature: string;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  finish: string | null;
  usage: Usage | undefined;
  finishCount: number;
}

/** Accumulates canonical chunks the way an OpenAI SDK client does. */
export function assemble(chunks: ChatCompletionChunk[]): Assembled {
  const out: Assembled = { role: undefined, content: '', reasoning: '', signature: '', toolCalls: [], finish: null, usage: undefined, finishCount: 0 };
  for (const chunk of chunks) {
    if (chunk.usage) out.usage = chunk.usage;
    for (const choice of chunk.choices) {
      const d = choice.delta;
      if (d.role !== undefined) out.role ??= d.role;
      if (typeof d.content === 'string') out.content += d.content;
      if (typeof d.reasoning_content === 'string') out.reasoning += d.reasoning_content;
      if (typeof d.reasoning_signature === 'string') out.signature += d.reasoning_signature;
      for (const tc of d.tool_calls ?? []) {
        out.toolCalls[tc.index] ??= { id: '', name: '', arguments: '' };
        const call = out.toolCalls[tc.index];
        if (tc.id) call.id = tc.id;
        if (tc.function?.name) call.name += tc.function.name;
        if (tc.function?.arguments) call.arguments += tc.function.arguments;
      }
      if (choice.finish_reason !== null) {
        out.finish = choice.finish_reason;
        out.finishCount++;
      }
    }
  }
  return out;
}
