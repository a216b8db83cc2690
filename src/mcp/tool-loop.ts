/**
 * The server-side tool loop (`x-heimdall-mcp-execute: true`): call the model
 * through the gateway's own route (so every turn is routed, translated to the
 * provider's format, governed, priced and logged like any request), run the
 * MCP tool calls it asks for through ToolCalls (origin "loop"), feed the
 * results back, until the model answers without tool calls. Bounded by
 * `mcp.tool_loop.max_turns` and `timeout_ms`. A call to a tool the caller
 * declared itself ends the loop: that answer goes back to the caller, who runs
 * it. A streaming caller gets every turn's tokens as they come, in the route's
 * own stream events (tool-loop-turns.ts), with a progress line per tool call
 * (an SSE comment) in between.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { GatewayError, isGatewayError } from '../errors/gateway-error.js';
import { renderError } from '../errors/render.js';
import type { KeyState } from '../governance/registry.js';
import type { McpRuntime } from './plugin.js';
import { formatSse, SseParser } from '../gateway/sse.js';
import { ChatTurnStreamer, ResponsesTurnStreamer, sseComment, type TurnStreamer } from './tool-loop-turns.js';

export type LoopRoute = 'chat' | 'responses';
type JsonObject = Record<string, unknown>;

const PATHS: Record<LoopRoute, string> = { chat: '/v1/chat/completions', responses: '/v1/responses' };
/** Headers of the caller's request not passed to the inner model calls. */
const DROPPED = new Set(['content-length', 'transfer-encoding', 'connection', 'expect', 'x-heimdall-mcp', 'x-heimdall-mcp-execute', 'accept-encoding']);
/** Headers of the last model call passed to the caller. */
const KEPT = ['x-heimdall-provider', 'x-heimdall-model', 'x-heimdall-warnings'];

export interface LoopRequest {
  app: FastifyInstance;
  runtime: McpRuntime;
  request: FastifyRequest;
  reply: FastifyReply;
  route: LoopRoute;
  /** The caller's body with the MCP tools added (and the MCP fields removed). */
  body: JsonObject;
  key: KeyState | undefined;
  /** Namespaced names of the MCP tools the loop runs. */
  tools: Set<string>;
}

interface ToolCallAsk {
  id: string;
  name: string;
  arguments: string;
}

/** A tool result as the text the model reads. */
export function resultText(result: CallToolResult): string {
  const parts: string[] = [];
  for (const part of result.content ?? []) {
    if (part.type === 'text') parts.push(part.text);
    else if (part.type === 'resource' && 'text' in part.resource) parts.push(String(part.resource.text));
    else if (part.type === 'resource_link') parts.push(`[resource ${part.uri}]`);
    else parts.push(`[${part.type}${'mimeType' in part && typeof part.mimeType === 'string' ? ` ${part.mimeType}` : ''}]`);
  }
  if (parts.length === 0 && result.structuredContent !== undefined) parts.push(JSON.stringify(result.structuredContent));
  const text = parts.join('\n');
  return result.isError === true ? `Error: ${text}` : text;
}

function parseArguments(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function addUsage(total: JsonObject | undefined, usage: unknown): JsonObject | undefined {
  if (typeof usage !== 'object' || usage === null) return total;
  const sum: JsonObject = { ...(total ?? {}) };
  for (const [name, value] of Object.entries(usage as JsonObject)) {
    if (typeof value === 'number') sum[name] = (typeof sum[name] === 'number' ? (sum[name] as number) : 0) + value;
    else if (!(name in sum)) sum[name] = value;
  }
  return sum;
}

/** What one turn asked for, per route. */
function toolAsks(route: LoopRoute, answer: JsonObject): ToolCallAsk[] {
  if (route === 'chat') {
    const message = ((answer.choices as JsonObject[] | undefined)?.[0]?.message ?? {}) as JsonObject;
    const calls = (message.tool_calls as JsonObject[] | undefined) ?? [];
    return calls.map((call) => {
      const fn = (call.function ?? {}) as JsonObject;
      return { id: String(call.id ?? ''), name: String(fn.name ?? ''), arguments: typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {}) };
    });
  }
  const output = (answer.output as JsonObject[] | undefined) ?? [];
  return output
    .filter((item) => item.type === 'function_call')
    .map((item) => ({ id: String(item.call_id ?? ''), name: String(item.name ?? ''), arguments: typeof item.arguments === 'string' ? item.arguments : JSON.stringify(item.arguments ?? {}) }));
}

/** The conversation after a turn, per route: the model's turn, then one result per call. */
function nextTurn(route: LoopRoute, conversation: unknown[], answer: JsonObject, results: Array<{ ask: ToolCallAsk; text: string }>): void {
  if (route === 'chat') {
    const message = ((answer.choices as JsonObject[])[0].message ?? {}) as JsonObject;
    conversation.push(message);
    for (const { ask, text } of results) conversation.push({ role: 'tool', tool_call_id: ask.id, content: text });
    return;
  }
  for (const item of (answer.output as JsonObject[] | undefined) ?? []) {
    // Output items go back without their ids (not stored upstream); a reasoning summary without its encrypted content cannot.
    if (item.type === 'reasoning' && item.encrypted_content === undefined) continue;
    const { id: _id, status: _status, ...rest } = item;
    conversation.push(rest);
  }
  for (const { ask, text } of results) conversation.push({ type: 'function_call_output', call_id: ask.id, output: text });
}

function initialConversation(route: LoopRoute, body: JsonObject): unknown[] {
  if (route === 'chat') return Array.isArray(body.messages) ? [...(body.messages as unknown[])] : [];
  if (typeof body.input === 'string') return [{ role: 'user', content: body.input }];
  return Array.isArray(body.input) ? [...(body.input as unknown[])] : [];
}

class Progress {
  private started = false;
  constructor(
    private readonly raw: ServerResponse,
    private readonly streaming: boolean,
    private readonly requestId: string,
  ) {}

  /** Starts the SSE answer (streaming callers), headers from the first model call. */
  start(headers: Record<string, string>): void {
    if (!this.streaming || this.started) return;
    this.started = true;
    this.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': this.requestId, ...headers });
    this.raw.flushHeaders();
  }

  note(text: string): void {
    if (this.started && !this.raw.destroyed) this.raw.write(sseComment(text));
  }

  get isStreaming(): boolean {
    return this.started;
  }
}

export async function runToolLoop(loop: LoopRequest): Promise<void> {
  const { app, runtime, request, reply, route, body, key, tools } = loop;
  reply.hijack();
  const raw = reply.raw;
  const settings = runtime.hub.settings.toolLoop;
  const deadline = Date.now() + settings.timeoutMs;
  const streaming = body.stream === true;
  const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const abort = new AbortController();
  raw.on('close', () => abort.abort());
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) if (!DROPPED.has(name) && value !== undefined) headers[name] = value;
  headers['content-type'] = 'application/json';
  const progress = new Progress(raw, streaming, request.id);
  // A streaming caller gets every turn's tokens as they come.
  const streamer: TurnStreamer | undefined = !streaming ? undefined : route === 'chat' ? new ChatTurnStreamer() : new ResponsesTurnStreamer();
  const conversation = initialConversation(route, body);
  let usage: JsonObject | undefined;
  let calls = 0;
  const kept: Record<string, string> = {};
  try {
    for (let turn = 1; ; turn++) {
      if (turn > settings.maxTurns || Date.now() >= deadline) {
        throw new GatewayError('HD_ERR_MCP_TOOL_LOOP_LIMIT', `The tool loop made ${turn - 1} model calls and ${calls} tool calls in ${Math.round((Date.now() - (deadline - settings.timeoutMs)) / 1000)} s without a final answer (mcp.tool_loop.max_turns ${settings.maxTurns}, timeout_ms ${settings.timeoutMs}).`);
      }
      const answer = streamer === undefined
        ? await modelTurn(app, route, headers, { ...body, stream: false, [route === 'chat' ? 'messages' : 'input']: conversation }, kept, raw, progress)
        : await streamedTurn(app, route, headers, { ...body, [route === 'chat' ? 'messages' : 'input']: conversation }, kept, raw, progress, streamer, abort.signal);
      if (answer === undefined) return;
      usage = addUsage(usage, answer.usage);
      const asks = toolAsks(route, answer);
      progress.start({ ...kept });
      // No call, or a call of a tool the caller declared itself: the answer is the caller's.
      if (asks.length === 0 || asks.some((ask) => !tools.has(ask.name))) {
        if (usage !== undefined) answer.usage = usage;
        finish(raw, streamer, answer, usage, { ...kept, 'x-heimdall-mcp-turns': String(turn), 'x-heimdall-mcp-tool-calls': String(calls), 'x-request-id': request.id }, includeUsage);
        return;
      }
      const results: Array<{ ask: ToolCallAsk; text: string }> = [];
      for (const ask of asks) {
        calls++;
        results.push({ ask, text: await runOne(runtime, key, request.id, ask, deadline, abort.signal, progress) });
      }
      nextTurn(route, conversation, answer, results);
    }
  } catch (error) {
    const coded = isGatewayError(error) ? error : new GatewayError('HD_ERR_INTERNAL', 'The tool loop failed.', { cause: error });
    if (coded.code === 'HD_ERR_INTERNAL') request.log.error({ err: error }, 'mcp: tool loop failed');
    const rendered = renderError(coded, 'openai');
    sendInnerError(raw, progress, rendered.status, { 'content-type': 'application/json', ...(coded.retryAfter === undefined ? {} : { 'retry-after': String(Math.ceil(coded.retryAfter)) }) }, JSON.stringify(rendered.body));
  }
}

/** One model call, not streamed: its answer, or undefined once its error went to the caller. */
async function modelTurn(app: FastifyInstance, route: LoopRoute, headers: IncomingHttpHeaders, payload: JsonObject, kept: Record<string, string>, raw: ServerResponse, progress: Progress): Promise<JsonObject | undefined> {
  delete payload.stream_options;
  const inner = await app.inject({ method: 'POST', url: PATHS[route], headers: headers as Record<string, string>, payload: JSON.stringify(payload) });
  keep(kept, inner.headers);
  if (inner.statusCode >= 400) {
    sendInnerError(raw, progress, inner.statusCode, inner.headers, inner.body);
    return undefined;
  }
  return JSON.parse(inner.body) as JsonObject;
}

/**
 * One model call, streamed: its events go to the caller as they come (TurnStreamer), and its
 * answer is rebuilt for the loop; undefined once an error went to the caller.
 */
async function streamedTurn(
  app: FastifyInstance, route: LoopRoute, headers: IncomingHttpHeaders, payload: JsonObject, kept: Record<string, string>,
  raw: ServerResponse, progress: Progress, streamer: TurnStreamer, signal: AbortSignal,
): Promise<JsonObject | undefined> {
  payload.stream = true;
  if (route === 'chat') payload.stream_options = { include_usage: true };
  const inner = await app.inject({ method: 'POST', url: PATHS[route], headers: headers as Record<string, string>, payload: JSON.stringify(payload), payloadAsStream: true, signal });
  keep(kept, inner.headers);
  const stream = inner.stream();
  if (inner.statusCode >= 400) {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    sendInnerError(raw, progress, inner.statusCode, inner.headers, Buffer.concat(chunks).toString('utf8'));
    return undefined;
  }
  progress.start({ ...kept });
  const parser = new SseParser();
  for await (const chunk of stream) {
    for (const event of parser.push(chunk as Buffer)) {
      for (const out of streamer.onEvent(event)) if (!raw.destroyed) raw.write(out);
    }
  }
  const answer = streamer.endTurn();
  if (answer === undefined && !raw.destroyed) raw.end();
  return answer;
}

function keep(kept: Record<string, string>, headers: Record<string, unknown>): void {
  for (const name of KEPT) {
    const value = headers[name];
    if (typeof value === 'string') kept[name] = value;
  }
}

async function runOne(runtime: McpRuntime, key: KeyState | undefined, requestId: string, ask: ToolCallAsk, deadline: number, signal: AbortSignal, progress: Progress): Promise<string> {
  const args = parseArguments(ask.arguments);
  if (args === undefined) return `Error: the arguments of ${ask.name} are not a JSON object.`;
  const started = Date.now();
  try {
    const remaining = Math.max(1, deadline - Date.now());
    const result = await runtime.calls.call({ key, origin: 'loop', requestId }, ask.name, args, AbortSignal.any([signal, AbortSignal.timeout(remaining)]));
    progress.note(`mcp ${ask.name} ${result.isError === true ? 'tool_error' : 'ok'} ${Date.now() - started}ms`);
    return resultText(result);
  } catch (error) {
    // A refused or failed call is a result the model can read; the loop goes on.
    const message = isGatewayError(error) ? error.message : 'The tool call failed.';
    progress.note(`mcp ${ask.name} failed ${Date.now() - started}ms`);
    return `Error: ${message}`;
  }
}

function finish(raw: ServerResponse, streamer: TurnStreamer | undefined, answer: JsonObject, usage: JsonObject | undefined, headers: Record<string, string>, includeUsage: boolean): void {
  if (raw.destroyed) return;
  if (streamer !== undefined) {
    for (const event of streamer.finish(answer, usage, includeUsage)) raw.write(event);
    raw.end();
    return;
  }
  const text = JSON.stringify(answer);
  raw.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  raw.end(text);
}

/** A model call's (or the loop's) error: as it is, or as the stream's error event once streaming. */
function sendInnerError(raw: ServerResponse, progress: Progress, status: number, headers: Record<string, unknown>, body: string): void {
  if (raw.destroyed) return;
  if (progress.isStreaming) {
    raw.write(formatSse(body));
    raw.end();
    return;
  }
  const out: Record<string, string> = { 'content-type': 'application/json' };
  for (const name of ['retry-after', 'retry-after-ms', 'x-request-id', ...KEPT]) {
    const value = headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  raw.writeHead(status, out);
  raw.end(body);
}
