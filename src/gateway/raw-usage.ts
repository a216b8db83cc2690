/**
 * The usage of an answer the gateway forwards as raw bytes (native pass-through,
 * images, audio), read on the side while the bytes go to the caller. Every
 * provider shape is recognised by its fields, so one reader serves every route:
 *
 * | shape | where |
 * | --- | --- |
 * | `usage.prompt_tokens` | OpenAI chat, completions, embeddings |
 * | `usage.input_tokens` (+ `input_tokens_details`) | OpenAI Responses, images, transcriptions |
 * | `usage.input_tokens` + `cache_read_input_tokens` | Anthropic (also `message.usage` of message_start) |
 * | `usage.inputTokens` | Bedrock Converse |
 * | `usageMetadata` | Gemini, Vertex |
 * | `x-amzn-bedrock-input-token-count` header | Bedrock InvokeModel |
 * | `usage: {type: "duration", seconds}`, or `duration` of verbose_json | transcriptions priced by the second |
 *
 * A JSON answer up to JSON_WHOLE_BYTES is parsed whole at its end; a larger one (base64 images)
 * keeps only its last TAIL_BYTES, where every provider writes its usage. An SSE answer is read
 * event by event; counts only grow within a stream, so the largest seen of each is the answer's.
 */
import { usageFromAnthropic } from '../formats/anthropic/usage.js';
import { mapUsage as usageFromBedrock } from '../formats/bedrock/response.js';
import { usageFromGemini } from '../formats/gemini/usage.js';
import type { Usage } from '../formats/openai/types.js';
import { canonicalUsage } from '../formats/responses/usage.js';
import { SseParser } from './sse.js';
import { scanLastObject } from './usage-scan.js';

const JSON_WHOLE_BYTES = 1 << 20;
const TAIL_BYTES = 64 * 1024;

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One usage object in any provider's shape -> canonical usage. */
function canonicalOf(usage: Json): Usage | undefined {
  if (typeof usage.prompt_tokens === 'number') return usage as Usage;
  // A transcription billed by duration (whisper-1): `{type: "duration", seconds}`.
  if (usage.type === 'duration' && typeof usage.seconds === 'number') return { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, audio_seconds: usage.seconds };
  if (typeof usage.inputTokens === 'number' || typeof usage.outputTokens === 'number') return usageFromBedrock(usage as never);
  if ('cache_read_input_tokens' in usage || 'cache_creation_input_tokens' in usage || 'server_tool_use' in usage || 'service_tier' in usage) {
    return usageFromAnthropic(usage as never);
  }
  if (typeof usage.input_tokens === 'number' || typeof usage.output_tokens === 'number') return canonicalUsage(usage);
  // Embedding and rerank services that count input only (Jina, Voyage): `{total_tokens}`.
  if (typeof usage.total_tokens === 'number') return { prompt_tokens: usage.total_tokens, completion_tokens: 0, total_tokens: usage.total_tokens };
  return undefined;
}

/** The usage an answer (or one stream event) carries, in whichever place its provider puts it. */
export function usageOfJson(value: unknown): Usage | undefined {
  if (!isRecord(value)) return undefined;
  if (isRecord(value.usage)) return canonicalOf(value.usage);
  if (isRecord(value.usageMetadata)) return usageFromGemini(value.usageMetadata as never);
  if (isRecord(value.response) && isRecord(value.response.usage)) return canonicalOf(value.response.usage);
  if (isRecord(value.message) && isRecord(value.message.usage)) return canonicalOf(value.message.usage);
  // A verbose_json transcription without usage (Groq, older servers) still says how long the audio was.
  if (typeof value.duration === 'number' && typeof value.text === 'string') return { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, audio_seconds: value.duration };
  return undefined;
}

/** Bedrock InvokeModel reports its counts in headers, whatever the model's body looks like. */
export function usageOfHeaders(headers: Record<string, string | string[] | undefined>): Usage | undefined {
  const input = Number(headers['x-amzn-bedrock-input-token-count']);
  const output = Number(headers['x-amzn-bedrock-output-token-count']);
  if (!Number.isFinite(input) && !Number.isFinite(output)) return undefined;
  const prompt = Number.isFinite(input) ? input : 0;
  const completion = Number.isFinite(output) ? output : 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** Of two readings of one stream, each count at its largest. */
function larger(a: Usage | undefined, b: Usage): Usage {
  if (a === undefined) return b;
  const prompt = Math.max(a.prompt_tokens ?? 0, b.prompt_tokens ?? 0);
  const completion = Math.max(a.completion_tokens ?? 0, b.completion_tokens ?? 0);
  return { ...a, ...b, prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

const USAGE_MARKERS = ['"usage"', '"usageMetadata"'];

const USAGE_KEY = Buffer.from('"usage"');
const METADATA_KEY = Buffer.from('"usageMetadata"');

/** Reads the usage of one raw answer from its chunks, as they pass. */
export class RawUsageReader {
  private readonly kind: 'json' | 'sse' | 'none';
  private chunks: Buffer[] = [];
  private length = 0;
  private tail = false;
  private parser: SseParser | undefined;
  private usage: Usage | undefined;

  constructor(contentType: string | undefined, headers: Record<string, string | string[] | undefined>) {
    const type = (contentType ?? '').toLowerCase();
    this.kind = type.includes('json') ? 'json' : type.includes('text/event-stream') ? 'sse' : 'none';
    this.usage = usageOfHeaders(headers);
    if (this.kind === 'sse') this.parser = new SseParser();
  }

  push(chunk: Buffer): void {
    if (this.kind === 'sse') {
      for (const event of this.parser!.push(chunk)) this.event(event.data);
      return;
    }
    if (this.kind !== 'json') return;
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.length > (this.tail ? TAIL_BYTES * 2 : JSON_WHOLE_BYTES)) {
      // Too large to parse whole (base64 images): only the end is kept, where the usage is.
      const all = Buffer.concat(this.chunks, this.length);
      this.chunks = [all.subarray(all.length - TAIL_BYTES)];
      this.length = TAIL_BYTES;
      this.tail = true;
    }
  }

  /** The answer's usage, once it is over (undefined: it carried none). */
  end(): Usage | undefined {
    if (this.kind === 'sse') {
      for (const event of this.parser!.end()) this.event(event.data);
      return this.usage;
    }
    if (this.kind !== 'json' || this.length === 0) return this.usage;
    const raw = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.length);
    this.chunks = [];
    if (!this.tail) {
      try {
        return usageOfJson(JSON.parse(raw.toString('utf8'))) ?? this.usage;
      } catch {
        return this.usage;
      }
    }
    const usage = scanLastObject(raw, USAGE_KEY);
    if (usage) return canonicalOf(usage) ?? this.usage;
    const metadata = scanLastObject(raw, METADATA_KEY);
    return metadata ? usageFromGemini(metadata as never) : this.usage;
  }

  private event(data: string): void {
    if (!USAGE_MARKERS.some((marker) => data.includes(marker))) return;
    try {
      const usage = usageOfJson(JSON.parse(data));
      if (usage !== undefined) this.usage = larger(this.usage, usage);
    } catch {
      // observation only: the bytes went to the caller as they came
    }
  }
}
