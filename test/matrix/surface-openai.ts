/**
 * The OpenAI surface (`POST /v1/chat/completions`) in the matrix: the request
 * a client sends for each case, and its reply (JSON or chunks) assembled.
 * @see https://platform.openai.com/docs/api-reference/chat-streaming
 */
import type { SseEvent } from '../../src/gateway/sse.js';
import { checkCallIds, emptyAssembled, eventJson, isRecord, type Assembled, type AssembledCall, type SurfaceRequest } from './assembled.js';
import { maxTokensFor, promptFor, SYSTEM_PROMPT, TOOL_RESULTS, TOOLS, type CaseKind, type CaseMode } from './cases.js';

export const OPENAI_FINISH = { stop: 'stop', tool_calls: 'tool_calls', length: 'length' } as const;

export function openaiRequest(model: string, kind: CaseKind, mode: CaseMode): SurfaceRequest {
  const prompt = promptFor(kind);
  const messages: unknown[] = [{ role: 'system', content: SYSTEM_PROMPT }, { role: 'user', content: prompt }];
  if (kind === 'tool-results') {
    const args = JSON.stringify({ text: prompt });
    const ids = TOOLS.map((_, i) => `call_prev_${i}`);
    messages.push({
      role: 'assistant',
      content: null,
      tool_calls: TOOLS.map((tool, i) => ({ id: ids[i], type: 'function', function: { name: tool.name, arguments: args } })),
    });
    TOOLS.forEach((tool, i) => messages.push({ role: 'tool', tool_call_id: ids[i], content: TOOL_RESULTS[tool.name] }));
  }
  const body: Record<string, unknown> = { model, messages, max_tokens: maxTokensFor(kind) };
  if (kind === 'tools' || kind === 'tool-results') {
    body.tools = TOOLS.map((tool) => ({ type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } }));
  }
  if (mode === 'stream') {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return { path: '/v1/chat/completions', headers: { authorization: 'Bearer client-key' }, body };
}

function usageOf(value: unknown): Assembled['usage'] {
  if (!isRecord(value)) return undefined;
  return { input: Number(value.prompt_tokens), output: Number(value.completion_tokens) };
}

export function assembleOpenAIJson(json: unknown): Assembled {
  const out = emptyAssembled();
  const choice = isRecord(json) && Array.isArray(json.choices) ? json.choices[0] : undefined;
  if (!isRecord(choice) || !isRecord(choice.message)) {
    out.problems.push('no choices[0].message');
    return out;
  }
  const message = choice.message;
  out.text = typeof message.content === 'string' ? message.content : '';
  for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
    const fn = isRecord(call) && isRecord(call.function) ? call.function : {};
    out.calls.push({ id: isRecord(call) && typeof call.id === 'string' ? call.id : undefined, name: String(fn.name ?? ''), arguments: String(fn.arguments ?? '') });
  }
  out.finish = typeof choice.finish_reason === 'string' ? choice.finish_reason : undefined;
  out.usage = usageOf(isRecord(json) ? json.usage : undefined);
  checkCallIds(out.calls, out.problems, true);
  return out;
}

/**
 * Chunks -> the message. Checks what OpenAI clients rely on: a tool call's
 * first delta carries its id and name, later deltas only add arguments to
 * their own index, one finish reason, usage in a chunk, `[DONE]` last.
 */
export function assembleOpenAIStream(events: readonly SseEvent[]): Assembled {
  const out = emptyAssembled();
  const calls = new Map<number, AssembledCall>();
  let finishes = 0;
  events.forEach((event, position) => {
    if (event.data === '[DONE]') {
      if (position !== events.length - 1) out.problems.push('[DONE] is not the last event');
      return;
    }
    const chunk = eventJson(event, out.problems);
    if (chunk === undefined) return;
    if (chunk.error !== undefined) out.problems.push(`error event: ${JSON.stringify(chunk.error)}`);
    if (isRecord(chunk.usage)) out.usage = usageOf(chunk.usage);
    for (const choice of Array.isArray(chunk.choices) ? chunk.choices : []) {
      if (!isRecord(choice) || choice.index !== 0) continue;
      const delta = isRecord(choice.delta) ? choice.delta : {};
      if (typeof delta.content === 'string') out.text += delta.content;
      for (const raw of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
        const call = isRecord(raw) ? raw : {};
        const fn = isRecord(call.function) ? call.function : {};
        const index = Number(call.index);
        let known = calls.get(index);
        if (known === undefined) {
          if (typeof call.id !== 'string' || call.id === '') out.problems.push(`tool call ${index}: no id in its first delta`);
          if (typeof fn.name !== 'string' || fn.name === '') out.problems.push(`tool call ${index}: no name in its first delta`);
          known = { id: typeof call.id === 'string' ? call.id : undefined, name: String(fn.name ?? ''), arguments: '' };
          calls.set(index, known);
        } else {
          if (typeof call.id === 'string' && call.id !== known.id) out.problems.push(`tool call ${index}: id changed to ${call.id}`);
          if (typeof fn.name === 'string' && fn.name !== '' && fn.name !== known.name) out.problems.push(`tool call ${index}: name changed to ${fn.name}`);
        }
        if (typeof fn.arguments === 'string') known.arguments += fn.arguments;
      }
      if (typeof choice.finish_reason === 'string') {
        finishes++;
        out.finish = choice.finish_reason;
      }
    }
  });
  if (finishes !== 1) out.problems.push(`${finishes} finish reasons in the stream`);
  if (events[events.length - 1]?.data !== '[DONE]') out.problems.push('the stream does not end with [DONE]');
  out.calls = [...calls.entries()].sort((a, b) => a[0] - b[0]).map(([, call]) => call);
  checkCallIds(out.calls, out.problems, true);
  return out;
}
