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
 * @see https://platform.openai.com/docs/api-reference/responses/create
 * @see https://platform.openai.com/docs/api-reference/responses-streaming
 */
import { formatSse } from '../../../src/gateway/sse.js';
import type { MockContext } from './context.js';
import { argumentPieces, planEcho, type EchoPlan, type EchoRequest, type EchoToolChoice } from './echo-plan.js';
import { contentText, isRecord, lastUserText, MOCK_CREATED, requireBody } from './openai-common.js';
import { splitWords } from './text.js';
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
  };
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
