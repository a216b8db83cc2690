/**
 * The Gemini surface (`/genai/v1beta/models/{model}:generateContent` and
 * `:streamGenerateContent?alt=sse`) in the matrix: the request the Google Gen
 * AI SDK sends for each case, and the GenerateContentResponse (or its
 * stream) assembled the way the SDK reads it.
 * @see https://ai.google.dev/api/generate-content
 */
import type { SseEvent } from '../../src/gateway/sse.js';
import { checkCallIds, emptyAssembled, eventJson, isRecord, type Assembled, type SurfaceRequest } from './assembled.js';
import { maxTokensFor, promptFor, SYSTEM_PROMPT, TOOL_RESULTS, TOOLS, type CaseKind, type CaseMode } from './cases.js';

/** Gemini has no tool-call finish reason: a turn that calls functions ends with STOP too. */
export const GEMINI_FINISH = { stop: 'STOP', tool_calls: 'STOP', length: 'MAX_TOKENS' } as const;

export function geminiRequest(model: string, kind: CaseKind, mode: CaseMode): SurfaceRequest {
  const prompt = promptFor(kind);
  const contents: unknown[] = [{ role: 'user', parts: [{ text: prompt }] }];
  if (kind === 'tool-results') {
    // As the Gemini API gives them: calls without ids, answered by name.
    contents.push({ role: 'model', parts: TOOLS.map((tool) => ({ functionCall: { name: tool.name, args: { text: prompt } } })) });
    contents.push({ role: 'user', parts: TOOLS.map((tool) => ({ functionResponse: { name: tool.name, response: { result: TOOL_RESULTS[tool.name] } } })) });
  }
  const body: Record<string, unknown> = {
    contents,
    systemInstruction: { parts: [{ text: SYSTEM_PROMPT }] },
    generationConfig: { maxOutputTokens: maxTokensFor(kind) },
  };
  if (kind === 'tools' || kind === 'tool-results') {
    body.tools = [{ functionDeclarations: TOOLS.map((tool) => ({ name: tool.name, description: tool.description, parameters: tool.parameters })) }];
  }
  const path = mode === 'stream' ? `/genai/v1beta/models/${model}:streamGenerateContent?alt=sse` : `/genai/v1beta/models/${model}:generateContent`;
  return { path, headers: { 'x-goog-api-key': 'client-key' }, body };
}

/** Adds one response's first candidate to `out`; returns whether it carried a finish reason. */
function addResponse(response: Record<string, unknown>, out: Assembled): boolean {
  if (isRecord(response.error)) out.problems.push(`error: ${JSON.stringify(response.error)}`);
  const metadata = isRecord(response.usageMetadata) ? response.usageMetadata : undefined;
  if (metadata !== undefined) out.usage = { input: Number(metadata.promptTokenCount ?? 0), output: Number(metadata.candidatesTokenCount ?? 0) };
  const candidate = Array.isArray(response.candidates) ? response.candidates.find((c) => isRecord(c) && (c.index ?? 0) === 0) : undefined;
  if (!isRecord(candidate)) return false;
  const parts = isRecord(candidate.content) && Array.isArray(candidate.content.parts) ? candidate.content.parts : [];
  for (const part of parts) {
    if (!isRecord(part)) continue;
    if (typeof part.text === 'string' && part.thought !== true) out.text += part.text;
    if (isRecord(part.functionCall)) {
      const call = part.functionCall;
      if (typeof call.name !== 'string' || call.name === '') out.problems.push('a functionCall part has no name');
      if (!isRecord(call.args)) out.problems.push(`functionCall ${String(call.name)}: args is not an object`);
      out.calls.push({ id: typeof call.id === 'string' ? call.id : undefined, name: String(call.name ?? ''), arguments: JSON.stringify(call.args) });
    }
  }
  if (typeof candidate.finishReason !== 'string') return false;
  out.finish = candidate.finishReason;
  return true;
}

export function assembleGeminiJson(json: unknown): Assembled {
  const out = emptyAssembled();
  if (!isRecord(json) || !Array.isArray(json.candidates)) {
    out.problems.push(`not a GenerateContentResponse: ${JSON.stringify(json).slice(0, 200)}`);
    return out;
  }
  addResponse(json, out);
  checkCallIds(out.calls, out.problems, false);
  return out;
}

/**
 * `data:` events -> the response. A function call is never split in Gemini's
 * stream: each functionCall part must be whole (name and args); the finish
 * reason comes once, in the last event, which also has the usage.
 */
export function assembleGeminiStream(events: readonly SseEvent[]): Assembled {
  const out = emptyAssembled();
  let finishes = 0;
  events.forEach((event, position) => {
    const response = eventJson(event, out.problems);
    if (response === undefined) return;
    if (addResponse(response, out)) {
      finishes++;
      if (position !== events.length - 1) out.problems.push('an event follows the one with the finish reason');
    }
  });
  if (finishes !== 1) out.problems.push(`${finishes} events with a finish reason`);
  const last = events[events.length - 1];
  if (last === undefined || !last.data.includes('"usageMetadata"')) out.problems.push('the last event has no usageMetadata');
  checkCallIds(out.calls, out.problems, false);
  return out;
}
