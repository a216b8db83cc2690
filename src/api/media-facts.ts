/**
 * What the request log keeps of a media call for the dashboard's preview (in the log's `metadata`,
 * under `media`): taken from the request when it is read, and from the answer once it is sent. Only
 * sizes, counts and names: never the image or audio bytes (those are in the logged bodies when body
 * logging is on).
 *
 * | kind | from the request | from the answer |
 * | --- | --- | --- |
 * | `images`, `image_edits` | n, size, quality, response_format; an edit's files and upload size | images made, response bytes |
 * | `speech` | format, voice, characters | response bytes, seconds (PCM, WAV and Gemini's audio) |
 * | `transcriptions`, `translations` | files (names, types), upload size, response_format, language | seconds of audio (when the answer says) |
 * | `rerank` | documents, top_n, query characters | |
 * | `moderations` | inputs, their types | |
 */
import type { RequestContext } from '../gateway/request-context.js';
import type { MediaOperation } from '../providers/types.js';
import type { UploadPartScan } from './upload-parts.js';
import type { JsonObject } from './validate.js';

type Facts = Record<string, unknown>;

/** OpenAI's pcm and wav speech, and Gemini's: 24 kHz, 16-bit, mono. */
const PCM_BYTES_PER_SECOND = 48_000;
const WAV_HEADER_BYTES = 44;

export function noteMedia(ctx: RequestContext, facts: Facts): void {
  const defined = Object.fromEntries(Object.entries(facts).filter(([, value]) => value !== undefined));
  ctx.mediaFacts = { ...ctx.mediaFacts, ...defined };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function count(value: unknown): number {
  return Array.isArray(value) ? value.length : value === undefined || value === null ? 0 : 1;
}

/** The kinds of a moderation input: `text`, `image_url` (a string is text). */
function inputTypes(input: unknown): string[] {
  const items = Array.isArray(input) ? input : [input];
  const types = new Set<string>();
  for (const item of items) types.add(typeof item === 'string' ? 'text' : typeof (item as JsonObject | null)?.type === 'string' ? String((item as JsonObject).type) : 'unknown');
  return [...types];
}

/** What a JSON body, or an upload's text fields, say that the preview shows. */
export function requestFacts(operation: MediaOperation, json: JsonObject | undefined, fields: ReadonlyMap<string, readonly string[]> | undefined): Facts {
  const field = (name: string): unknown => json?.[name] ?? fields?.get(name)?.[0];
  switch (operation) {
    case 'images':
    case 'image_edits':
      return { kind: operation, n: Number(field('n') ?? 1), size: text(field('size')), quality: text(field('quality')), response_format: text(field('response_format')) };
    case 'speech':
      return { kind: operation, format: text(field('response_format')), voice: text(field('voice')), characters: typeof json?.input === 'string' ? [...json.input].length : undefined };
    case 'transcriptions':
    case 'translations':
      return { kind: operation, response_format: text(field('response_format')), language: text(field('language')) };
    case 'rerank':
      return { kind: operation, documents: count(json?.documents), top_n: typeof json?.top_n === 'number' ? json.top_n : undefined, query_characters: typeof json?.query === 'string' ? json.query.length : undefined };
    case 'moderations':
      return { kind: operation, inputs: count(json?.input), input_types: inputTypes(json?.input) };
  }
}

/** An upload's files and size. */
export function uploadFacts(scan: UploadPartScan): Facts {
  return { files: scan.files.map((file) => ({ ...file })), upload_bytes: scan.bytes };
}

/** The answer's facts, once it was sent (a failed call keeps only what the request said). */
export function answerFacts(ctx: RequestContext, operation: MediaOperation, sentBytes: number): Facts {
  if (ctx.status >= 400) return {};
  const facts: Facts = { response_bytes: sentBytes };
  if ((operation === 'images' || operation === 'image_edits') && ctx.usage?.images !== undefined) facts.images = ctx.usage.images;
  if (operation === 'transcriptions' || operation === 'translations') facts.seconds = ctx.usage?.audio_seconds;
  if (operation === 'speech' && ctx.mediaFacts?.seconds === undefined) {
    const format = ctx.mediaFacts?.format;
    if (format === 'pcm') facts.seconds = sentBytes / PCM_BYTES_PER_SECOND;
    else if (format === 'wav' && sentBytes > WAV_HEADER_BYTES) facts.seconds = (sentBytes - WAV_HEADER_BYTES) / PCM_BYTES_PER_SECOND;
  }
  if (typeof facts.seconds === 'number') facts.seconds = Math.round(facts.seconds * 1000) / 1000;
  return facts;
}
