/** Canonical chunks -> the OpenAI SSE stream a client of /v1/chat/completions reads. */
import { formatSse, SSE_DONE } from '../../gateway/sse.js';
import type { StreamEncoder } from '../types.js';
import type { ChatCompletionChunk } from './types.js';

export class OpenAIStreamEncoder implements StreamEncoder {
  /** @param includeUsage the caller asked for `stream_options.include_usage`. */
  constructor(private readonly includeUsage: boolean) {}

  onChunk(chunk: ChatCompletionChunk): string {
    if (chunk.choices.length === 0) {
      // A usage-only chunk is sent only to a caller that asked for it.
      return this.includeUsage && chunk.usage ? formatSse(JSON.stringify(chunk)) : '';
    }
    if (!this.includeUsage && chunk.usage !== undefined) {
      const { usage: _usage, ...rest } = chunk;
      return formatSse(JSON.stringify(rest));
    }
    return formatSse(JSON.stringify(chunk));
  }

  onEnd(): string {
    return SSE_DONE;
  }

  onError(error: { status: number; message: string; type?: string }): string {
    return formatSse(JSON.stringify({ error: { message: error.message, type: error.type ?? 'api_error', param: null, code: String(error.status) } }));
  }
}
