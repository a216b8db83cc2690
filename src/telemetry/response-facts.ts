/**
 * The model a provider says answered and its finish reasons, noted on the
 * request context for the trace (gen_ai.response.model,
 * gen_ai.response.finish_reasons). Reads the canonical (OpenAI) shape and,
 * for bodies forwarded as they came, the Anthropic and Gemini shapes.
 * Work is done only when the request is traced (`ctx.traceId` is set).
 * @see https://platform.openai.com/docs/api-reference/chat/object
 * @see https://docs.anthropic.com/en/api/messages
 * @see https://ai.google.dev/api/generate-content#generatecontentresponse
 */
import type { RequestContext } from '../gateway/request-context.js';

interface ResponseShape {
  model?: unknown;
  modelVersion?: unknown;
  stop_reason?: unknown;
  choices?: unknown;
  candidates?: unknown;
}

function addReason(ctx: RequestContext, reason: unknown): void {
  if (typeof reason === 'string' && reason !== '') (ctx.finishReasons ??= []).push(reason);
}

/** Notes model and finish reasons from a response body or a stream chunk (any of the three shapes). */
export function noteResponse(ctx: RequestContext, body: unknown): void {
  if (ctx.traceId === undefined || body === null || typeof body !== 'object') return;
  const shape = body as ResponseShape;
  const model = shape.model ?? shape.modelVersion;
  if (ctx.responseModel === undefined && typeof model === 'string' && model !== '') ctx.responseModel = model;
  if (Array.isArray(shape.choices)) {
    for (const choice of shape.choices) addReason(ctx, (choice as { finish_reason?: unknown } | null)?.finish_reason);
  } else if (Array.isArray(shape.candidates)) {
    for (const candidate of shape.candidates) addReason(ctx, (candidate as { finishReason?: unknown } | null)?.finishReason);
  } else {
    addReason(ctx, shape.stop_reason);
  }
}

const NULL_REASON = /^"finish_reason"\s*:\s*null/;

/**
 * For an OpenAI stream forwarded byte for byte: parses an event only when it
 * can add something (the first, for the model; one with a finish reason).
 */
export function noteOpenAIStreamEvent(ctx: RequestContext, data: string): void {
  if (ctx.traceId === undefined) return;
  if (ctx.responseModel !== undefined) {
    const at = data.indexOf('"finish_reason"');
    if (at === -1 || NULL_REASON.test(data.slice(at, at + 32))) return;
  }
  try {
    noteResponse(ctx, JSON.parse(data));
  } catch {
    // [DONE] or a malformed event: nothing to note
  }
}
