/**
 * What the gateway reads of the Batch APIs' objects and files, as they pass
 * through the native pass-through (batch-jobs.ts): pure functions, no I/O.
 *
 * | shape | read |
 * | --- | --- |
 * | OpenAI / Azure Batch (`object: "batch"`) | id, status, endpoint, file ids, `request_counts {total, completed, failed}`, `created_at` and the time it ended (Unix seconds) |
 * | Anthropic MessageBatch (`type: "message_batch"`) | id, `processing_status`, `request_counts {processing, succeeded, errored, canceled, expired}`, `created_at`, `ended_at` (RFC 3339) |
 * | a list (`data: [...]`) | each batch in it |
 * | OpenAI batch input file (JSONL) | each line's `body.model` |
 * @see https://platform.openai.com/docs/api-reference/batch/object
 * @see https://platform.openai.com/docs/guides/batch#1-prepare-your-batch-file
 * @see https://docs.anthropic.com/en/api/creating-message-batches
 */
import type { BatchState } from '../store/batch-store.js';

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** Unix seconds (OpenAI) or an RFC 3339 string (Anthropic) as milliseconds. */
function time(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return Math.round(value * 1000);
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? null : parsed;
  }
  return null;
}

/** One batch object of either API; undefined for anything else. */
export function batchStateOf(value: unknown): BatchState | undefined {
  if (!isRecord(value) || typeof value.id !== 'string') return undefined;
  const counts = isRecord(value.request_counts) ? value.request_counts : {};
  if (value.object === 'batch') {
    return {
      id: value.id,
      status: text(value.status) ?? 'unknown',
      endpoint: text(value.endpoint),
      inputFileId: text(value.input_file_id),
      outputFileId: text(value.output_file_id),
      errorFileId: text(value.error_file_id),
      total: count(counts.total),
      completed: count(counts.completed),
      failed: count(counts.failed),
      createdAt: time(value.created_at) ?? undefined,
      completedAt: time(value.completed_at) ?? time(value.failed_at) ?? time(value.expired_at) ?? time(value.cancelled_at),
    };
  }
  if (value.type === 'message_batch') {
    const succeeded = count(counts.succeeded);
    const failed = count(counts.errored) + count(counts.canceled) + count(counts.expired);
    return {
      id: value.id,
      status: text(value.processing_status) ?? 'unknown',
      total: count(counts.processing) + succeeded + failed,
      completed: succeeded,
      failed,
      createdAt: time(value.created_at) ?? undefined,
      completedAt: time(value.ended_at),
    };
  }
  return undefined;
}

/** Every batch an answer holds: one object, or a list's `data`. */
export function batchStatesOf(answer: Buffer): BatchState[] {
  let value: unknown;
  try {
    value = JSON.parse(answer.toString('utf8'));
  } catch {
    return [];
  }
  const one = batchStateOf(value);
  if (one !== undefined) return [one];
  if (!isRecord(value) || !Array.isArray(value.data)) return [];
  return value.data.map(batchStateOf).filter((state): state is BatchState => state !== undefined);
}

/** An OpenAI File object (`object: "file"`), as an upload answers it. */
export function fileObjectOf(answer: Buffer): { id: string; purpose: string | null; filename: string | null; bytes: number | null } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(answer.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(value) || value.object !== 'file' || typeof value.id !== 'string') return undefined;
  return { id: value.id, purpose: text(value.purpose), filename: text(value.filename), bytes: typeof value.bytes === 'number' ? value.bytes : null };
}

/** One line of a batch input file: its request's model, and the line parsed (undefined when it is not a JSON object). */
export interface BatchInputLine {
  /** The line as it was written. */
  raw: string;
  value: Json | undefined;
  model: string | undefined;
}

/** The lines of a batch input file (JSONL), blank lines left out. */
export function batchInputLines(file: Buffer): BatchInputLine[] {
  const lines: BatchInputLine[] = [];
  for (const raw of file.toString('utf8').split('\n')) {
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      lines.push({ raw, value: undefined, model: undefined });
      continue;
    }
    const body = isRecord(value) && isRecord(value.body) ? value.body : undefined;
    lines.push({ raw, value: isRecord(value) ? value : undefined, model: typeof body?.model === 'string' && body.model !== '' ? body.model : undefined });
  }
  return lines;
}
