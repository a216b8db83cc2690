/**
 * POST /v1/responses of the mock: a minimal Responses API echo (text only, no tools).
 * @see https://platform.openai.com/docs/api-reference/responses/create
 * @see https://platform.openai.com/docs/api-reference/responses-streaming
 */
import { formatSse } from '../../../src/gateway/sse.js';
import type { MockContext } from './context.js';
import { contentText, isRecord, lastUserText, MOCK_CREATED, requireBody } from './openai-common.js';
import { countWords, splitWords } from './text.js';
import { scriptedResponse } from './openai-responses-scripted.js';
import { responsesScriptRequest } from './scripted-requests.js';
import { planScripted } from './scripted-turn.js';

/** The text of the request's last user input: the whole `input` when it is a string. */
export function responsesUserText(input: unknown): string {
  if (typeof input === 'string') return input;
  return Array.isArray(input) ? lastUserText(input) : '';
}

/** Words of `instructions` plus of every input item's text. */
function inputTokens(body: Record<string, unknown>): number {
  const instructions = typeof body.instructions === 'string' ? countWords(body.instructions) : 0;
  if (typeof body.input === 'string') return instructions + countWords(body.input);
  const items = Array.isArray(body.input) ? body.input : [];
  return items.reduce<number>((sum, item) => sum + (isRecord(item) ? countWords(contentText(item.content)) : 0), instructions);
}

export async function responses(context: MockContext): Promise<void> {
  const body = await requireBody(context);
  if (body === undefined) return;
  const scripted = planScripted(responsesScriptRequest(body));
  if (scripted) return scriptedResponse(context, body, scripted);
  const text = `echo: ${responsesUserText(body.input)}`;
  const input = inputTokens(body);
  const output = countWords(text);
  const id = context.nextId('resp_mock_');
  const itemId = context.nextId('msg_mock_');
  const base = {
    id,
    object: 'response',
    created_at: MOCK_CREATED,
    model: body.model,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
  };
  const part = { type: 'output_text', text, annotations: [] };
  const item = { id: itemId, type: 'message', status: 'completed', role: 'assistant', content: [part] };
  const completed = {
    ...base,
    status: 'completed',
    output: [item],
    usage: { input_tokens: input, output_tokens: output, total_tokens: input + output },
  };
  if (body.stream !== true) return context.json(200, completed);

  const events: string[] = [];
  const emit = (type: string, fields: Record<string, unknown>): void => {
    events.push(formatSse(JSON.stringify({ type, sequence_number: events.length, ...fields }), type));
  };
  const inProgress = { ...base, status: 'in_progress', output: [], usage: null };
  const at = { item_id: itemId, output_index: 0, content_index: 0 };
  emit('response.created', { response: inProgress });
  emit('response.in_progress', { response: inProgress });
  emit('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } });
  emit('response.content_part.added', { ...at, part: { ...part, text: '' } });
  for (const delta of splitWords(text)) emit('response.output_text.delta', { ...at, delta, logprobs: [] });
  emit('response.output_text.done', { ...at, text, logprobs: [] });
  emit('response.content_part.done', { ...at, part });
  emit('response.output_item.done', { output_index: 0, item });
  emit('response.completed', { response: completed });
  return context.stream(events, {
    errorEvent: (error, position) => {
      const event = { type: 'error', code: error.code ?? null, message: error.message, param: error.param ?? null, sequence_number: position };
      return formatSse(JSON.stringify(event), 'error');
    },
  });
}
