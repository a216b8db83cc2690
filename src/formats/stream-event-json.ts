/**
 * The JSON object an SSE event carries, for the stream decoders whose events are JSON objects
 * (Anthropic Messages, OpenAI Responses): undefined for an empty event, `[DONE]` or a value that is
 * not an object (nothing to decode); an event that is not JSON is the provider's failure (502).
 */
import type { SseEvent } from '../gateway/sse.js';
import { UpstreamStreamError } from './types.js';

export function streamEventJson(event: SseEvent, unreadable: string): Record<string, unknown> | undefined {
  if (event.data === '' || event.data === '[DONE]') return undefined;
  let data: unknown;
  try {
    data = JSON.parse(event.data);
  } catch {
    throw new UpstreamStreamError(unreadable, 502);
  }
  return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : undefined;
}
