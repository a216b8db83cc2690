/**
 * POST /v1/responses of the mock: the Responses API by the echo rules (echo-plan.ts).
 *
 * - text `echo: <text of the last user message>` in a `message` item (`msg_mock_<k>`);
 * - function tools declared, a choice that is not 'none' and the input ending with a user message:
 *   `function_call` items (`fc_mock_<i>`, call_id `call_mock_<i>`, arguments `{"text":"<user text>"}`);
 * - a text longer than `max_output_tokens` words is cut there: status 'incomplete',
 *   incomplete_details `{reason:'max_output_tokens'}`;
 * - usage `{input_tokens, input_tokens_details, output_tokens, output_tokens_details, total_tokens}`;
 *   counted texts: instructions, every item's text, every function_call_output.
 * - a conversation carrying the scripted-turn marker is planned by scripted-turn.ts instead (a call to
 *   the `local_shell` tool is a `local_shell_call` item, action `{type:'exec', command}`);
 * - stream: true -> the documented events, each with its sequence_number; errors as an `error` event.
 * - stored unless `store: false`, as OpenAI does: GET /v1/responses/{id}, DELETE /v1/responses/{id},
 *   GET /v1/responses/{id}/input_items and POST /v1/responses/{id}/cancel serve them (storedResponseRoutes);
 *   an unknown `previous_response_id` is refused with OpenAI's 400 `previous_response_not_found`.
 * - POST /v1/responses/input_tokens: `{object: 'response.input_tokens', input_tokens}` (the same count as usage).
 * @see https://platform.openai.com/docs/api-reference/responses/create
 * @see https://platform.openai.com/docs/api-reference/responses-streaming
 */
import { formatSse } from '../../../src/gateway/sse.js';
import type { MockContext } from './context.js';
import { argumentPieces, planEcho, type EchoPlan, type EchoRequest, type EchoToolChoice } from './echo-plan.js';
import { contentText, isRecord, lastUserText, MOCK_CREATED, requireBody } from './openai-common.js';
import { splitWords } from './text.js';
import { openaiErrorBody } from './openai-errors.js';

interface StoredMockResponse {
  response: Record<string, unknown>;
  input: Array<Record<string, unknown>>;
  background: boolean;
}

/** Responses the mock stored (`store` not false), by id; shared by every mock of the process (ids carry a counter). */
const storedResponses = new Map<string, StoredMockResponse>();

function storedInput(body: Record<string, unknown>, id: string): Array<Record<string, unknown>> {
  const items = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : Array.isArray(body.input) ? body.input.filter(isRecord) : [];
  return items.map((item, i) => ({ id: `msg_in_${id}_${i}`, type: 'message', ...item }));
}
import { responsesScriptRequest } from './scripted-requests.js';
import { planScripted } from './scripted-turn.js';

/** The text of the request's last user input: the whole `input` when it is a string. */
export function responsesUserText(input: unknown): string {
  if (typeof input === 'string') return input;
  return Array.isArray(input) ? lastUserText(input) : '';
}

/** A Responses body -> what the echo planner needs. */
export function responsesEchoRequest(body: Record<string, unknown>): EchoRequest {
  const items = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : Array.isArray(body.input) ? body.input.filter(isRecord) : [];
  const promptTexts: string[] = typeof body.instructions === 'string' ? [body.instructions] : [];
  for (const item of items) {
    if (item.type === 'function_call_output') promptTexts.push(typeof item.output === 'string' ? item.output : contentText(item.output));
    else promptTexts.push(contentText(item.content));
  }
  const last = items[items.length - 1];
  const tools = Array.isArray(body.tools) ? body.tools.filter(isRecord) : [];
  const choice = body.tool_choice;
  let toolChoice: EchoToolChoice | undefined;
  if (choice === 'none' || choice === 'required' || choice === 'auto') toolChoice = choice;
  else if (isRecord(choice) && choice.type === 'function' && typeof choice.name === 'string') toolChoice = { name: choice.name };
  return {
    userText: responsesUserText(body.input),
    endsWithUser: last !== undefined && last.role === 'user',
    promptTexts,
    toolNames: tools.filter((tool) => tool.type === 'function').map((tool) => String(tool.name)),
    toolChoice,
    parallel: body.parallel_tool_calls !== false,
    maxTokens: typeof body.max_output_tokens === 'number' ? body.max_output_tokens : undefined,
  };
}

function usageOf(plan: EchoPlan): Record<string, unknown> {
  return {
    input_tokens: plan.promptTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: plan.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: plan.promptTokens + plan.completionTokens,
  };
}

export async function responses(context: MockContext): Promise<void> {
  const body = await requireBody(context);
  if (body === undefined) return;
  const previousId = body.previous_response_id;
  if (typeof previousId === 'string' && !storedResponses.has(previousId)) {
    const error = openaiErrorBody(400, `Previous response with id '${previousId}' not found.`, { param: 'previous_response_id', code: 'previous_response_not_found' });
    return context.json(400, error);
  }
  const plan = planScripted(responsesScriptRequest(body)) ?? planEcho(responsesEchoRequest(body));
  const id = context.nextId('resp_mock_');
  const status = plan.truncated ? 'incomplete' : 'completed';
  const base = {
    id,
    object: 'response',
    created_at: MOCK_CREATED,
    model: body.model,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
  };
  const items: Array<Record<string, unknown>> = [];
  if (plan.text !== undefined) {
    const part = { type: 'output_text', text: plan.text, annotations: [] };
    items.push({ id: context.nextId('msg_mock_'), type: 'message', status, role: 'assistant', content: [part] });
  }
  plan.calls.forEach((call, i) => {
    if (call.name === 'local_shell') {
      const action = { type: 'exec', command: call.input.command, env: {} };
      items.push({ id: `lsh_mock_${i}`, type: 'local_shell_call', status: 'completed', call_id: `call_mock_${i}`, action });
    } else {
      items.push({ id: `fc_mock_${i}`, type: 'function_call', status: 'completed', call_id: `call_mock_${i}`, name: call.name, arguments: call.arguments });
    }
  });
  const done = {
    ...base,
    status,
    incomplete_details: plan.truncated ? { reason: 'max_output_tokens' } : null,
    output: items,
    usage: usageOf(plan),
    previous_response_id: typeof previousId === 'string' ? previousId : null,
    store: body.store !== false,
    background: body.background === true,
  };
  if (body.store !== false) storedResponses.set(id, { response: done, input: storedInput(body, id), background: body.background === true });
  if (body.stream !== true) return context.json(200, done);

  const events: string[] = [];
  const emit = (type: string, fields: Record<string, unknown>): void => {
    events.push(formatSse(JSON.stringify({ type, sequence_number: events.length, ...fields }), type));
  };
  const inProgress = { ...base, status: 'in_progress', output: [], usage: null };
  emit('response.created', { response: inProgress });
  emit('response.in_progress', { response: inProgress });
  items.forEach((item, index) => {
    if (item.type === 'message') {
      const part = (item.content as Array<Record<string, unknown>>)[0];
      const text = String(part.text);
      const at = { item_id: item.id, output_index: index, content_index: 0 };
      emit('response.output_item.added', { output_index: index, item: { ...item, status: 'in_progress', content: [] } });
      emit('response.content_part.added', { ...at, part: { ...part, text: '' } });
      for (const delta of splitWords(text)) emit('response.output_text.delta', { ...at, delta, logprobs: [] });
      emit('response.output_text.done', { ...at, text, logprobs: [] });
      emit('response.content_part.done', { ...at, part });
    } else if (item.type === 'local_shell_call') {
      emit('response.output_item.added', { output_index: index, item });
    } else {
      const call = plan.calls[index - (plan.text === undefined ? 0 : 1)];
      const at = { item_id: item.id, output_index: index };
      emit('response.output_item.added', { output_index: index, item: { ...item, status: 'in_progress', arguments: '' } });
      for (const delta of argumentPieces(call)) emit('response.function_call_arguments.delta', { ...at, delta });
      emit('response.function_call_arguments.done', { ...at, name: item.name, arguments: item.arguments });
    }
    emit('response.output_item.done', { output_index: index, item });
  });
  emit(status === 'completed' ? 'response.completed' : 'response.incomplete', { response: done });
  return context.stream(events, {
    errorEvent: (error, position) => {
      const event = { type: 'error', code: error.code ?? null, message: error.message, param: error.param ?? null, sequence_number: position };
      return formatSse(JSON.stringify(event), 'error');
    },
  });
}

function notFound(context: MockContext, id: string): Promise<void> {
  return context.json(404, openaiErrorBody(404, `Response with id '${id}' not found.`));
}

/** GET/DELETE /v1/responses/{id}, GET .../input_items, POST .../cancel, POST /v1/responses/input_tokens, as OpenAI answers them. */
export const storedResponseRoutes: ReadonlyArray<{ method: string; path: RegExp; handler: (context: MockContext) => Promise<void> }> = [
  {
    method: 'POST',
    path: /^\/v1\/responses\/input_tokens$/,
    handler: async (context) => {
      const body = await requireBody(context);
      if (body === undefined) return;
      return context.json(200, { object: 'response.input_tokens', input_tokens: planEcho(responsesEchoRequest(body)).promptTokens });
    },
  },
  {
    method: 'GET',
    path: /^\/v1\/responses\/([^/]+)$/,
    handler: (context) => {
      const id = decodeURIComponent(context.match[1]);
      const stored = storedResponses.get(id);
      return stored === undefined ? notFound(context, id) : context.json(200, stored.response);
    },
  },
  {
    method: 'DELETE',
    path: /^\/v1\/responses\/([^/]+)$/,
    handler: (context) => {
      const id = decodeURIComponent(context.match[1]);
      if (!storedResponses.delete(id)) return notFound(context, id);
      return context.json(200, { id, object: 'response', deleted: true });
    },
  },
  {
    method: 'GET',
    path: /^\/v1\/responses\/([^/]+)\/input_items$/,
    handler: (context) => {
      const id = decodeURIComponent(context.match[1]);
      const stored = storedResponses.get(id);
      if (stored === undefined) return notFound(context, id);
      const data = [...stored.input].reverse();
      return context.json(200, { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false });
    },
  },
  {
    method: 'POST',
    path: /^\/v1\/responses\/([^/]+)\/cancel$/,
    handler: (context) => {
      const id = decodeURIComponent(context.match[1]);
      const stored = storedResponses.get(id);
      if (stored === undefined) return notFound(context, id);
      if (!stored.background) return context.json(400, openaiErrorBody(400, 'Only responses created with background=true can be cancelled'));
      return context.json(200, { ...stored.response, status: 'cancelled' });
    },
  },
];
