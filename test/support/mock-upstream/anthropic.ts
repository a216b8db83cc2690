/**
 * The Anthropic Messages wire format of the mock upstream (register with
 * `registerAnthropicRoutes(mock)`). Replies follow echo-plan.ts.
 *
 * POST /v1/messages
 *   - headers: `x-api-key` or `authorization: Bearer` required (401 authentication_error without one or for 'bad-key');
 *     `anthropic-version` required (400 invalid_request_error).
 *   - body: `model` string, `max_tokens` positive integer, `messages` non-empty array (400 naming the field).
 *   - reply `{id:'msg_mock_<k>', type:'message', role:'assistant', model, content, stop_reason, stop_sequence:null, usage}`:
 *     content `[{type:'text', text:'echo: ...'}]` and stop_reason 'end_turn' ('max_tokens' when cut at
 *     max_tokens words), or `tool_use` blocks
 *     `{type:'tool_use', id:'toolu_mock_<i>', name, input:{text}}` and stop_reason 'tool_use'.
 *     usage `{input_tokens, output_tokens, cache_creation_input_tokens:0, cache_read_input_tokens:0}`.
 *     Counted texts: system, and every text block and tool_result text of every message.
 *   - thinking on: the content starts with a signed thinking block, and the thinking rules apply
 *     (anthropic-thinking.ts).
 *   - stream: true -> named SSE events message_start (input_tokens, output_tokens 1), per block
 *     content_block_start / content_block_delta (text_delta per word; input_json_delta '' then the
 *     arguments in 3 pieces) / content_block_stop, a ping after the first block start, message_delta
 *     (stop_reason, usage.output_tokens), message_stop. Stream errors: `event: error`.
 * POST /v1/messages/count_tokens: `{input_tokens}` (same count, no max_tokens needed).
 * Errors: `{type:'error', error:{type, message}}` (anthropicErrorBody).
 *
 * @see https://docs.anthropic.com/en/api/messages
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming
 * @see https://docs.anthropic.com/en/api/errors
 */
import { formatSse } from '../../../src/gateway/sse.js';
import type { MockContext } from './context.js';
import { argumentPieces, planEcho, textPieces, type EchoPlan, type EchoRequest, type EchoToolChoice } from './echo-plan.js';
import type { RouteHandler } from './index.js';
import { contentText, isRecord } from './openai-common.js';
import { anthropicScriptRequest } from './scripted-requests.js';
import { planScripted } from './scripted-turn.js';
import { anthropicModelRefusal } from './model-rules.js';
import { anthropicToolTurnRefusal } from './tool-turns.js';
import { anthropicThinkingRefusal, thinkingBlock, thinkingEnabled } from './anthropic-thinking.js';

interface RouteTarget {
  route(method: string, path: RegExp, handler: RouteHandler): void;
}

const ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

/** An Anthropic error body for a status. */
export function anthropicErrorBody(status: number, message?: string, type?: string): Record<string, unknown> {
  return {
    type: 'error',
    error: { type: type ?? ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'), message: message ?? `Mock upstream error (HTTP ${status})` },
  };
}

type Block = Record<string, unknown>;

function blocksOf(content: unknown): Block[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? content.filter(isRecord) : [];
}

function blockTexts(blocks: Block[]): string[] {
  const texts: string[] = [];
  for (const block of blocks) {
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
    else if (block.type === 'tool_result') texts.push(contentText(block.content));
  }
  return texts;
}

/** An Anthropic Messages body -> what the echo planner needs. */
export function anthropicEchoRequest(body: Record<string, unknown>): EchoRequest {
  const messages = Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
  const promptTexts: string[] = blockTexts(blocksOf(body.system));
  let userText = '';
  for (const message of messages) {
    const blocks = blocksOf(message.content);
    promptTexts.push(...blockTexts(blocks));
    if (message.role === 'user' && blocks.some((block) => block.type !== 'tool_result')) {
      userText = blocks.filter((block) => block.type === 'text').map((block) => String(block.text)).join(' ');
    }
  }
  const last = messages[messages.length - 1];
  const endsWithUser = last?.role === 'user' && blocksOf(last.content).some((block) => block.type !== 'tool_result');
  const tools = Array.isArray(body.tools) ? body.tools.filter(isRecord) : [];
  const choice = isRecord(body.tool_choice) ? body.tool_choice : undefined;
  let toolChoice: EchoToolChoice | undefined;
  if (choice?.type === 'none') toolChoice = 'none';
  else if (choice?.type === 'any') toolChoice = 'required';
  else if (choice?.type === 'tool' && typeof choice.name === 'string') toolChoice = { name: choice.name };
  return {
    userText,
    endsWithUser,
    promptTexts,
    toolNames: tools.filter((tool) => tool.type === undefined || tool.type === 'custom').map((tool) => String(tool.name)),
    toolChoice,
    parallel: choice?.disable_parallel_tool_use !== true,
    maxTokens: typeof body.max_tokens === 'number' ? body.max_tokens : undefined,
  };
}

export interface AnthropicReplyOptions {
  /** The model to report (Vertex: from the URL). Default: body.model. */
  model?: string;
  /** Stream or not. Default: body.stream === true. */
  stream?: boolean;
}

function usageOf(plan: EchoPlan, output: number): Record<string, number> {
  return { input_tokens: plan.promptTokens, output_tokens: output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
}

/** Replies to a validated Messages body, as JSON or as the event stream. */
export function anthropicReply(context: MockContext, body: Record<string, unknown>, options: AnthropicReplyOptions = {}): Promise<void> {
  const plan = planScripted(anthropicScriptRequest(body)) ?? planEcho(anthropicEchoRequest(body));
  const model = options.model ?? String(body.model);
  const id = context.nextId('msg_mock_');
  const stopReason = plan.calls.length > 0 ? 'tool_use' : plan.truncated ? 'max_tokens' : 'end_turn';
  // With thinking on, the reply starts with a signed thinking block (anthropic-thinking.ts).
  const thinking = thinkingEnabled(body) ? thinkingBlock() : undefined;
  const content: Block[] = [
    ...(thinking ? [thinking] : []),
    ...(plan.text !== undefined
      ? [{ type: 'text', text: plan.text }]
      : plan.calls.map((call, i) => ({ type: 'tool_use', id: `toolu_mock_${i}`, name: call.name, input: call.input }))),
  ];
  if (!(options.stream ?? body.stream === true)) {
    return context.json(200, {
      id, type: 'message', role: 'assistant', model, content,
      stop_reason: stopReason, stop_sequence: null, usage: usageOf(plan, plan.completionTokens),
    });
  }
  const events: string[] = [];
  const emit = (type: string, fields: Record<string, unknown>): void => {
    events.push(formatSse(JSON.stringify({ type, ...fields }), type));
  };
  emit('message_start', {
    message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: usageOf(plan, 1) },
  });
  if (thinking) {
    emit('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } });
    emit('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: thinking.thinking } });
    emit('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: thinking.signature } });
    emit('content_block_stop', { index: 0 });
  }
  const first = thinking ? 1 : 0;
  if (plan.text !== undefined) {
    emit('content_block_start', { index: first, content_block: { type: 'text', text: '' } });
    emit('ping', {});
    for (const piece of textPieces(plan.text)) emit('content_block_delta', { index: first, delta: { type: 'text_delta', text: piece } });
    emit('content_block_stop', { index: first });
  } else {
    plan.calls.forEach((call, i) => {
      const index = first + i;
      emit('content_block_start', { index, content_block: { type: 'tool_use', id: `toolu_mock_${i}`, name: call.name, input: {} } });
      if (i === 0) emit('ping', {});
      emit('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } });
      for (const piece of argumentPieces(call)) emit('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } });
      emit('content_block_stop', { index });
    });
  }
  emit('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: plan.completionTokens } });
  emit('message_stop', {});
  return context.stream(events, {
    errorEvent: (error) => formatSse(JSON.stringify(anthropicErrorBody(500, String(error.message), 'overloaded_error')), 'error'),
  });
}

/** 400 naming the first invalid field of a Messages body, as Anthropic words it; undefined when valid. */
export function invalidMessagesField(body: Record<string, unknown>, options: { requireModel: boolean; requireMaxTokens: boolean }): string | undefined {
  if (options.requireModel && typeof body.model !== 'string') return 'model: Field required';
  if (options.requireMaxTokens && (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens) || body.max_tokens < 1)) {
    return 'max_tokens: Field required';
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) return 'messages: Field required';
  for (const [i, message] of body.messages.entries()) {
    if (!isRecord(message) || (message.role !== 'user' && message.role !== 'assistant')) {
      return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    }
  }
  return undefined;
}

function checkHeaders(context: MockContext): Promise<void> | undefined {
  const headers = context.request.headers;
  // @anthropic-ai/sdk 1.x sends its key as `authorization: Bearer <key>`; older clients send `x-api-key`.
  const bearer = /^Bearer (.+)$/i.exec(String(headers.authorization ?? ''))?.[1];
  const key = headers['x-api-key'] ?? bearer;
  if (key === undefined || key === '' || key === 'bad-key') {
    return context.json(401, anthropicErrorBody(401, 'invalid x-api-key'));
  }
  if (headers['anthropic-version'] === undefined) {
    return context.json(400, anthropicErrorBody(400, 'anthropic-version: header is required'));
  }
  return undefined;
}

function bodyOf(context: MockContext): Record<string, unknown> | undefined {
  return isRecord(context.request.body) ? context.request.body : undefined;
}

async function messages(context: MockContext): Promise<void> {
  const refused = checkHeaders(context);
  if (refused) return refused;
  const body = bodyOf(context);
  if (body === undefined) return context.json(400, anthropicErrorBody(400, 'The request body is not valid JSON.'));
  const invalid = invalidMessagesField(body, { requireModel: true, requireMaxTokens: true });
  if (invalid !== undefined) return context.json(400, anthropicErrorBody(400, invalid));
  const modelRefusal = anthropicModelRefusal(body);
  if (modelRefusal !== undefined) return context.json(400, anthropicErrorBody(400, modelRefusal));
  const toolTurnRefusal = anthropicToolTurnRefusal(body.messages as unknown[]);
  if (toolTurnRefusal !== undefined) return context.json(400, anthropicErrorBody(400, toolTurnRefusal));
  const thinkingRefusal = anthropicThinkingRefusal(body);
  if (thinkingRefusal !== undefined) return context.json(400, anthropicErrorBody(400, thinkingRefusal));
  return anthropicReply(context, body);
}

async function countTokens(context: MockContext): Promise<void> {
  const refused = checkHeaders(context);
  if (refused) return refused;
  const body = bodyOf(context);
  if (body === undefined) return context.json(400, anthropicErrorBody(400, 'The request body is not valid JSON.'));
  const invalid = invalidMessagesField(body, { requireModel: true, requireMaxTokens: false });
  if (invalid !== undefined) return context.json(400, anthropicErrorBody(400, invalid));
  return context.json(200, { input_tokens: planEcho(anthropicEchoRequest(body)).promptTokens });
}

export function registerAnthropicRoutes(target: RouteTarget): void {
  target.route('POST', /^\/v1\/messages$/, messages);
  target.route('POST', /^\/v1\/messages\/count_tokens$/, countTokens);
}
