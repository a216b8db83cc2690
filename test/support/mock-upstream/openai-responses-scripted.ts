/**
 * POST /v1/responses for a scripted conversation (scripted-turn.ts): the
 * plan's text as a `message` item, or its calls as `function_call` items
 * (`local_shell` calls for the local_shell tool), plain or streamed with the
 * Responses events (`response.output_item.added`,
 * `response.function_call_arguments.delta` / `.done`, ...).
 * @see https://platform.openai.com/docs/api-reference/responses/object
 * @see https://platform.openai.com/docs/api-reference/responses-streaming
 */
import { formatSse } from '../../../src/gateway/sse.js';
import type { MockContext } from './context.js';
import type { EchoCall, EchoPlan } from './echo-plan.js';
import { MOCK_CREATED } from './openai-common.js';
import { splitEvenly, splitWords } from './text.js';

type Item = Record<string, unknown>;

function callItem(context: MockContext, call: EchoCall, index: number): Item {
  const callId = `call_mock_${index}`;
  if (call.name === 'local_shell') {
    const command = call.input.command;
    return { id: context.nextId('lsh_mock_'), type: 'local_shell_call', status: 'completed', call_id: callId, action: { type: 'exec', command, env: {} } };
  }
  return { id: context.nextId('fc_mock_'), type: 'function_call', status: 'completed', call_id: callId, name: call.name, arguments: call.arguments };
}

export function scriptedResponse(context: MockContext, body: Record<string, unknown>, plan: EchoPlan): Promise<void> {
  const id = context.nextId('resp_mock_');
  const items: Item[] = plan.text !== undefined
    ? [{ id: context.nextId('msg_mock_'), type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: plan.text, annotations: [] }] }]
    : plan.calls.map((call, i) => callItem(context, call, i));
  const base = { id, object: 'response', created_at: MOCK_CREATED, model: body.model, error: null, incomplete_details: null, instructions: body.instructions ?? null };
  const usage = { input_tokens: plan.promptTokens, output_tokens: plan.completionTokens, total_tokens: plan.promptTokens + plan.completionTokens };
  const completed = { ...base, status: 'completed', output: items, usage };
  if (body.stream !== true) return context.json(200, completed);

  const events: string[] = [];
  const emit = (type: string, fields: Record<string, unknown>): void => {
    events.push(formatSse(JSON.stringify({ type, sequence_number: events.length, ...fields }), type));
  };
  const inProgress = { ...base, status: 'in_progress', output: [], usage: null };
  emit('response.created', { response: inProgress });
  emit('response.in_progress', { response: inProgress });
  items.forEach((item, outputIndex) => {
    if (item.type === 'message') {
      const part = (item.content as Item[])[0];
      const at = { item_id: item.id, output_index: outputIndex, content_index: 0 };
      emit('response.output_item.added', { output_index: outputIndex, item: { ...item, status: 'in_progress', content: [] } });
      emit('response.content_part.added', { ...at, part: { ...part, text: '' } });
      for (const delta of splitWords(String(part.text))) emit('response.output_text.delta', { ...at, delta, logprobs: [] });
      emit('response.output_text.done', { ...at, text: part.text, logprobs: [] });
      emit('response.content_part.done', { ...at, part });
    } else if (item.type === 'function_call') {
      const at = { item_id: item.id, output_index: outputIndex };
      emit('response.output_item.added', { output_index: outputIndex, item: { ...item, status: 'in_progress', arguments: '' } });
      for (const delta of splitEvenly(String(item.arguments), 3)) emit('response.function_call_arguments.delta', { ...at, delta });
      emit('response.function_call_arguments.done', { ...at, arguments: item.arguments });
    } else {
      emit('response.output_item.added', { output_index: outputIndex, item });
    }
    emit('response.output_item.done', { output_index: outputIndex, item });
  });
  emit('response.completed', { response: completed });
  return context.stream(events);
}
