/**
 * Files and batch jobs made through the gateway (tables `batch_files` and `batch_jobs`, migration 8).
 *
 * Written on the request path, synchronously, like stored responses (response-store.ts): a batch's
 * next call (retrieve, results) may come at once and must find its row, and a batch API call is rare
 * next to model calls (one prepared statement, WAL without fsync). The charge of a batch's cost is
 * claimed by one conditional UPDATE (`charged_at IS NULL`), so two fetches of its results, in one
 * process or several, charge it once. Every statement is prepared once.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

import type { BatchApi, BatchJob } from './batch-view.js';

export type { BatchApi, BatchJob };

export interface BatchFileRecord {
  id: string;
  provider: string;
  virtualKeyId: string | null;
  purpose: string | null;
  filename: string | null;
  bytes: number | null;
  /** `provider/model` of each model the lines name. */
  models: string[];
  createdAt: number;
}

/** What a batch object says of itself (OpenAI's or Anthropic's, read by batch-objects.ts). */
export interface BatchState {
  id: string;
  status: string;
  endpoint?: string | null;
  inputFileId?: string | null;
  outputFileId?: string | null;
  errorFileId?: string | null;
  total: number;
  completed: number;
  failed: number;
  createdAt?: number;
  completedAt?: number | null;
}


/** A row as stored: the models as JSON, the counts in columns. */
type JobRow = Omit<BatchJob, 'models' | 'request_counts'> & {
  models: string | null;
  request_total: number;
  request_completed: number;
  request_failed: number;
};

interface FileRow {
  id: string;
  provider: string;
  virtual_key_id: string | null;
  purpose: string | null;
  filename: string | null;
  bytes: number | null;
  models: string | null;
  created_at: number;
}

export interface BatchListQuery {
  limit?: number;
  /** The next page: rows after this one in the list's order (its created_at and id). */
  after?: { createdAt: number; id: string };
  provider?: string;
  virtualKeyId?: string;
  status?: string;
}

export interface BatchCharge {
  requestId: string;
  costUsd: number | null;
  inputTokens: number;
  outputTokens: number;
}

function models(text: string | null): string[] {
  if (text === null) return [];
  try {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  } catch {
    return [];
  }
}

function jobOf(row: JobRow): BatchJob {
  const { models: names, request_total: total, request_completed: completed, request_failed: failed, ...rest } = row;
  return { ...rest, models: models(names), request_counts: { total, completed, failed } };
}

export class BatchStore {
  readonly #insertFile: Statement<FileRow>;
  readonly #selectFile: Statement<{ id: string }>;
  readonly #insertJob: Statement<JobRow>;
  readonly #update: Statement<Record<string, unknown>>;
  readonly #select: Statement<{ id: string }>;
  readonly #selectByOutput: Statement<{ file: string }>;
  readonly #charge: Statement<Record<string, unknown>>;
  readonly #list: Statement<Record<string, unknown>>;
  readonly #now: () => number;

  constructor(db: SqliteDatabase, options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
    // Upserts as Postgres writes them too (ON CONFLICT ... DO UPDATE, `excluded`): an id seen again is the provider's same object.
    this.#insertFile = db.prepare(`INSERT INTO batch_files (id, provider, virtual_key_id, purpose, filename, bytes, models, created_at)
      VALUES (@id, @provider, @virtual_key_id, @purpose, @filename, @bytes, @models, @created_at)
      ON CONFLICT (id) DO UPDATE SET provider = excluded.provider, virtual_key_id = excluded.virtual_key_id, purpose = excluded.purpose,
        filename = excluded.filename, bytes = excluded.bytes, models = excluded.models, created_at = excluded.created_at`);
    this.#selectFile = db.prepare('SELECT * FROM batch_files WHERE id = @id');
    this.#insertJob = db.prepare(`INSERT INTO batch_jobs (id, provider, api, virtual_key_id, models, endpoint, status, input_file_id, output_file_id,
        error_file_id, request_total, request_completed, request_failed, created_at, completed_at, updated_at, request_id, input_tokens, output_tokens,
        cost_usd, charged_at, charged_request_id)
      VALUES (@id, @provider, @api, @virtual_key_id, @models, @endpoint, @status, @input_file_id, @output_file_id, @error_file_id, @request_total,
        @request_completed, @request_failed, @created_at, @completed_at, @updated_at, @request_id, @input_tokens, @output_tokens, @cost_usd, @charged_at,
        @charged_request_id)
      ON CONFLICT (id) DO UPDATE SET provider = excluded.provider, api = excluded.api, virtual_key_id = excluded.virtual_key_id, models = excluded.models,
        endpoint = excluded.endpoint, status = excluded.status, input_file_id = excluded.input_file_id, output_file_id = excluded.output_file_id,
        error_file_id = excluded.error_file_id, request_total = excluded.request_total, request_completed = excluded.request_completed,
        request_failed = excluded.request_failed, created_at = excluded.created_at, completed_at = excluded.completed_at, updated_at = excluded.updated_at,
        request_id = excluded.request_id, input_tokens = NULL, output_tokens = NULL, cost_usd = NULL, charged_at = NULL, charged_request_id = NULL`);
    this.#update = db.prepare(`UPDATE batch_jobs SET status = @status,
        output_file_id = COALESCE(@output_file_id, output_file_id), error_file_id = COALESCE(@error_file_id, error_file_id),
        request_total = @request_total, request_completed = @request_completed, request_failed = @request_failed,
        completed_at = COALESCE(@completed_at, completed_at), updated_at = @updated_at
      WHERE id = @id`);
    this.#select = db.prepare('SELECT * FROM batch_jobs WHERE id = @id');
    this.#selectByOutput = db.prepare('SELECT * FROM batch_jobs WHERE output_file_id = @file');
    this.#charge = db.prepare(`UPDATE batch_jobs SET charged_at = @now, charged_request_id = @request_id, cost_usd = @cost_usd,
        input_tokens = @input_tokens, output_tokens = @output_tokens, updated_at = @now
      WHERE id = @id AND charged_at IS NULL`);
    this.#list = db.prepare(`SELECT * FROM batch_jobs
      WHERE (@after_time IS NULL OR created_at < @after_time OR (created_at = @after_time AND id < @after_id)) AND (@provider IS NULL OR provider = @provider)
        AND (@virtual_key_id IS NULL OR virtual_key_id = @virtual_key_id) AND (@status IS NULL OR status = @status)
      ORDER BY created_at DESC, id DESC LIMIT @limit`);
  }

  putFile(file: BatchFileRecord): void {
    this.#insertFile.run({
      id: file.id, provider: file.provider, virtual_key_id: file.virtualKeyId, purpose: file.purpose, filename: file.filename,
      bytes: file.bytes, models: JSON.stringify(file.models), created_at: file.createdAt,
    });
  }

  file(id: string): BatchFileRecord | undefined {
    const row = this.#selectFile.get({ id }) as FileRow | undefined;
    if (row === undefined) return undefined;
    return { id: row.id, provider: row.provider, virtualKeyId: row.virtual_key_id, purpose: row.purpose, filename: row.filename, bytes: row.bytes, models: models(row.models), createdAt: row.created_at };
  }

  /** A batch job created through the gateway. */
  create(job: { provider: string; api: BatchApi; virtualKeyId: string | null; models: readonly string[]; requestId: string }, state: BatchState): void {
    const now = this.#now();
    this.#insertJob.run({
      id: state.id, provider: job.provider, api: job.api, virtual_key_id: job.virtualKeyId, models: JSON.stringify(job.models),
      endpoint: state.endpoint ?? null, status: state.status, input_file_id: state.inputFileId ?? null, output_file_id: state.outputFileId ?? null,
      error_file_id: state.errorFileId ?? null, request_total: state.total, request_completed: state.completed, request_failed: state.failed,
      created_at: state.createdAt ?? now, completed_at: state.completedAt ?? null, updated_at: now, request_id: job.requestId,
      input_tokens: null, output_tokens: null, cost_usd: null, charged_at: null, charged_request_id: null,
    });
  }

  /** The state a provider answered for a batch: recorded when the gateway knows the batch (true), else ignored. */
  update(state: BatchState): boolean {
    return this.#update.run({
      id: state.id, status: state.status, output_file_id: state.outputFileId ?? null, error_file_id: state.errorFileId ?? null,
      request_total: state.total, request_completed: state.completed, request_failed: state.failed,
      completed_at: state.completedAt ?? null, updated_at: this.#now(),
    }).changes > 0;
  }

  get(id: string): BatchJob | undefined {
    const row = this.#select.get({ id }) as JobRow | undefined;
    return row === undefined ? undefined : jobOf(row);
  }

  /** The batch whose output file this is (OpenAI and Azure results are a file). */
  byOutputFile(fileId: string): BatchJob | undefined {
    const row = this.#selectByOutput.get({ file: fileId }) as JobRow | undefined;
    return row === undefined ? undefined : jobOf(row);
  }

  /** Records the batch's cost as charged by this request; false when another fetch charged it already. */
  claimCharge(id: string, charge: BatchCharge): boolean {
    return this.#charge.run({
      id, now: this.#now(), request_id: charge.requestId, cost_usd: charge.costUsd, input_tokens: charge.inputTokens, output_tokens: charge.outputTokens,
    }).changes > 0;
  }

  list(query: BatchListQuery = {}): BatchJob[] {
    const rows = this.#list.all({
      limit: Math.min(Math.max(query.limit ?? 50, 1), 500), after_time: query.after?.createdAt ?? null, after_id: query.after?.id ?? null, provider: query.provider ?? null,
      virtual_key_id: query.virtualKeyId ?? null, status: query.status ?? null,
    }) as JobRow[];
    return rows.map(jobOf);
  }
}
