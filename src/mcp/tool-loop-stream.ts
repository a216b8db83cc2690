/**
 * The tool loop's final answer as the stream a streaming caller expects: Chat
 * Completions chunks (`data: {...}` then `data: [DONE]`) or Responses events
 * (`event: response.created` ... `response.completed`), built from the
 * answer of the last turn. Progress notes are SSE comments, which SDKs skip.
 * @see https://platform.openai.com/docs/api-reference/chat-streaming
 * @see https://platform.openai.com/docs/api-reference/responses-streaming
 */
type JsonObject = Record<string, unknown>;

export function sseData(data: string): string {
  return `data: ${data}\n\n`;
}

export function sseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}

export function finalChatEvents(answer: JsonObject, includeUsage: boolean): string[] {
  const base = { id: answer.id, object: 'chat.completion.chunk', created: answer.created, model: answer.model, system_fingerprint: answer.system_fingerprint ?? null };
  const events: string[] = [];
  for (const choice of (answer.choices as JsonObject[] | undefined) ?? []) {
    const message = (choice.message ?? {}) as JsonObject;
    const delta: JsonObject = { role: 'assistant', content: message.content ?? null };
    if (message.refusal != null) delta.refusal = message.refusal;
    if (Array.isArray(message.tool_calls)) delta.tool_calls = (message.tool_calls as JsonObject[]).map((call, index) => ({ index, ...call }));
    events.push(sseData(JSON.stringify({ ...base, choices: [{ index: choice.index ?? 0, delta, logprobs: null, finish_reason: null }] })));
    events.push(sseData(JSON.stringify({ ...base, choices: [{ index: choice.index ?? 0, delta: {}, logprobs: null, finish_reason: choice.finish_reason ?? 'stop' }] })));
  }
  if (includeUsage && answer.usage !== undefined) events.push(sseData(JSON.stringify({ ...base, choices: [], usage: answer.usage })));
  events.push(sseData('[DONE]'));
  return events;
}

export function finalResponsesEvents(answer: JsonObject): string[] {
  let sequence = 0;
  const events: string[] = [];
  const emit = (type: string, fields: JsonObject): void => {
    events.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`);
  };
  const output = (answer.output as JsonObject[] | undefined) ?? [];
  emit('response.created', { response: { ...answer, status: 'in_progress', output: [] } });
  emit('response.in_progress', { response: { ...answer, status: 'in_progress', output: [] } });
  output.forEach((item, outputIndex) => {
    const itemId = item.id;
    if (item.type === 'message') {
      emit('response.output_item.added', { output_index: outputIndex, item: { ...item, status: 'in_progress', content: [] } });
      ((item.content as JsonObject[] | undefined) ?? []).forEach((part, contentIndex) => {
        const text = typeof part.text === 'string' ? part.text : '';
        emit('response.content_part.added', { item_id: itemId, output_index: outputIndex, content_index: contentIndex, part: { ...part, text: '' } });
        if (part.type === 'output_text') {
          emit('response.output_text.delta', { item_id: itemId, output_index: outputIndex, content_index: contentIndex, delta: text, logprobs: [] });
          emit('response.output_text.done', { item_id: itemId, output_index: outputIndex, content_index: contentIndex, text, logprobs: [] });
        }
        emit('response.content_part.done', { item_id: itemId, output_index: outputIndex, content_index: contentIndex, part });
      });
    } else {
      emit('response.output_item.added', { output_index: outputIndex, item });
      if (item.type === 'function_call') {
        emit('response.function_call_arguments.done', { item_id: itemId, output_index: outputIndex, arguments: item.arguments });
      }
    }
    emit('response.output_item.done', { output_index: outputIndex, item });
  });
  emit(answer.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: answer });
  return events;
}
