/**
 * Gemini GenerateContentResponse -> canonical chat completion.
 *
 * @see https://ai.google.dev/api/generate-content#generatecontentresponse
 */
import { GatewayError } from '../../errors/gateway-error.js';
import type { ChatChoice, ChatCompletion, ToolCall, ToolCallDelta } from '../openai/types.js';
import type { CodecContext } from '../types.js';
import { mapGeminiFinishReason } from './finish-reason.js';
import type { GeminiCandidate, GeminiLogprobsCandidate, GeminiLogprobsResult, GeminiPart, GenerateContentResponse } from './types.js';
import { usageFromGemini } from './usage.js';

/**
 * Gemini gives function calls no id (the Gemini API) or an id of its own
 * (Vertex, newer models). Ids we make are derived from the response id so that
 * they are unique within a conversation and the same for stream and non-stream.
 */
export function toolCallId(contextId: string, candidateIndex: number, callIndex: number): string {
  const base = contextId.replace(/^chatcmpl-/, '').replace(/[^A-Za-z0-9_-]/g, '');
  return candidateIndex === 0 ? `call_${base}_${callIndex}` : `call_${base}_${candidateIndex}_${callIndex}`;
}

/**
 * A function call's thought signature rides on its canonical tool call, where Google's own
 * OpenAI-compatible endpoint puts it (`extra_content.google.thought_signature`), so a caller that sends
 * the assistant message back as it got it gives Gemini 3 the signature it requires.
 * @see https://ai.google.dev/gemini-api/docs/thought-signatures
 */
export function withThoughtSignature<T extends ToolCall | ToolCallDelta>(call: T, signature: unknown): T {
  if (typeof signature === 'string' && signature !== '') call.extra_content = { google: { thought_signature: signature } };
  return call;
}

/** The thought signature a canonical tool call carries, if any. */
export function thoughtSignatureOf(call: { extra_content?: unknown }): string | undefined {
  const extra = call.extra_content;
  if (typeof extra !== 'object' || extra === null) return undefined;
  const google = (extra as { google?: unknown }).google;
  if (typeof google !== 'object' || google === null) return undefined;
  const signature = (google as { thought_signature?: unknown }).thought_signature;
  return typeof signature === 'string' && signature !== '' ? signature : undefined;
}

/** What the parts of one candidate say, split into the canonical fields. */
export interface DecodedParts {
  text: string;
  reasoning: string;
  toolCalls: ToolCall[];
  /** The thought signature to echo back: the first function call's, else the last one seen. */
  signature?: string;
}

export function decodeParts(parts: readonly GeminiPart[], contextId: string, candidateIndex: number, firstCallIndex = 0): DecodedParts {
  const decoded: DecodedParts = { text: '', reasoning: '', toolCalls: [] };
  let callSignature: string | undefined;
  let lastSignature: string | undefined;
  for (const part of parts) {
    if (typeof part.thoughtSignature === 'string') lastSignature = part.thoughtSignature;
    if (part.functionCall !== undefined) {
      const call = part.functionCall;
      if (decoded.toolCalls.length === 0 && typeof part.thoughtSignature === 'string') callSignature = part.thoughtSignature;
      decoded.toolCalls.push(withThoughtSignature({
        id: typeof call.id === 'string' && call.id !== '' ? call.id : toolCallId(contextId, candidateIndex, firstCallIndex + decoded.toolCalls.length),
        type: 'function',
        function: { name: call.name, arguments: JSON.stringify(call.args ?? {}) },
      }, part.thoughtSignature));
    } else if (typeof part.text === 'string') {
      if (part.thought === true) decoded.reasoning += part.text;
      else decoded.text += part.text;
    }
  }
  const signature = callSignature ?? lastSignature;
  if (signature !== undefined) decoded.signature = signature;
  return decoded;
}

/** logprobsResult -> OpenAI choice.logprobs. @see https://ai.google.dev/api/generate-content#LogprobsResult */
export function decodeLogprobs(result: GeminiLogprobsResult | undefined): unknown {
  if (result?.chosenCandidates === undefined) return undefined;
  const entry = (c: GeminiLogprobsCandidate) => ({ token: c.token ?? '', logprob: c.logProbability ?? 0, bytes: null });
  return {
    content: result.chosenCandidates.map((chosen, i) => ({
      ...entry(chosen),
      top_logprobs: (result.topCandidates?.[i]?.candidates ?? []).map(entry),
    })),
    refusal: null,
  };
}

function decodeCandidate(candidate: GeminiCandidate, position: number, contextId: string): ChatChoice {
  const index = typeof candidate.index === 'number' ? candidate.index : position;
  const parts = decodeParts(candidate.content?.parts ?? [], contextId, index);
  const message: ChatChoice['message'] = {
    role: 'assistant',
    content: parts.text !== '' || parts.toolCalls.length === 0 ? parts.text : null,
  };
  if (parts.reasoning !== '') message.reasoning_content = parts.reasoning;
  if (parts.toolCalls.length > 0) message.tool_calls = parts.toolCalls;
  if (parts.signature !== undefined) message.reasoning_signature = parts.signature;
  const choice: ChatChoice = {
    index,
    message,
    finish_reason: mapGeminiFinishReason(candidate.finishReason, parts.toolCalls.length > 0),
  };
  const logprobs = decodeLogprobs(candidate.logprobsResult);
  if (logprobs !== undefined) choice.logprobs = logprobs;
  return choice;
}

export function decodeGeminiResponse(body: unknown, context: CodecContext): ChatCompletion {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GatewayError('HD_ERR_UPSTREAM_BAD_RESPONSE', 'Gemini answered with a body that is not a GenerateContentResponse object.');
  }
  const response = body as GenerateContentResponse;
  const id = typeof response.responseId === 'string' && response.responseId !== '' ? response.responseId : context.id;
  const candidates = Array.isArray(response.candidates) ? response.candidates : [];
  const choices = candidates.map((candidate, position) => decodeCandidate(candidate, position, context.id));
  if (choices.length === 0) {
    // The prompt itself was blocked (promptFeedback.blockReason): no candidates at all.
    const blocked = response.promptFeedback?.blockReason !== undefined;
    choices.push({ index: 0, message: { role: 'assistant', content: '' }, finish_reason: blocked ? 'content_filter' : 'stop' });
  }
  return {
    id,
    object: 'chat.completion',
    created: context.created,
    model: context.model,
    choices,
    usage: usageFromGemini(response.usageMetadata),
  };
}
