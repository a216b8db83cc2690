/** The shape of one request log, as the gateway hands it over and as queries return it. */

export type LogSurface = 'openai' | 'anthropic' | 'gemini';

export interface LogAttempt {
  provider: string;
  model: string;
  key_id?: string;
  /** The key's label (never its secret). */
  key_name?: string;
  /** Upstream HTTP status; absent when the call never got one (connect error, timeout). */
  status?: number;
  error?: string;
  latency_ms: number;
}

/** What the gateway enqueues after each request (LogWriter.enqueue). */
export interface RequestLogRecord {
  /** The request id (x-request-id); unique. */
  id: string;
  /** Its number in the order requests were charged (the row's rowid; see spend-watermark.ts); none with --workers. */
  seq?: number;
  /** Start of the request, ms since the epoch. */
  time: number;
  surface: LogSurface;
  /** The route path, e.g. /v1/chat/completions. */
  route: string;
  method: string;
  virtual_key_id?: string | null;
  team_id?: string | null;
  customer_id?: string | null;
  /** The provider and model that answered (the last attempt). */
  provider?: string | null;
  model?: string | null;
  /** The model name the client sent. */
  requested_model?: string | null;
  status: number;
  latency_ms: number;
  upstream_ms?: number | null;
  ttft_ms?: number | null;
  /** Gateway overhead: total time minus upstream time, microseconds. */
  overhead_us?: number | null;
  input_tokens?: number | null;
  output_tokens?: number | null;
  cached_tokens?: number | null;
  reasoning_tokens?: number | null;
  /** null: the price is unknown (never silently 0). */
  cost_usd?: number | null;
  cost_known: boolean;
  stream: boolean;
  attempts: LogAttempt[];
  error_code?: string | null;
  error_message?: string | null;
  /** Raw JSON text; kept only when bodies are enabled, then redacted and capped. */
  request_body?: string | null;
  response_body?: string | null;
  /**
   * Set when the body above is only the head of a longer one (the request path
   * keeps a little more than the cap, never a whole large body): its full size in bytes.
   */
  request_body_bytes?: number;
  response_body_bytes?: number;
  cache?: 'hit' | 'miss' | null;
  metadata?: Record<string, unknown> | null;
}

/** A stored log as getLog() returns it: every field present, null when unset. */
export interface StoredRequestLog {
  id: string;
  time: number;
  surface: LogSurface;
  route: string;
  method: string;
  virtual_key_id: string | null;
  team_id: string | null;
  customer_id: string | null;
  provider: string | null;
  model: string | null;
  requested_model: string | null;
  status: number;
  latency_ms: number;
  upstream_ms: number | null;
  ttft_ms: number | null;
  overhead_us: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cached_tokens: number | null;
  reasoning_tokens: number | null;
  cost_usd: number | null;
  cost_known: boolean;
  stream: boolean;
  cache: 'hit' | 'miss' | null;
  attempts: LogAttempt[];
  error_code: string | null;
  error_message: string | null;
  metadata: Record<string, unknown> | null;
  request_body: string | null;
  response_body: string | null;
}

/** A row of listLogs(): no bodies, no metadata, attempts counted. */
export type RequestLogSummary = Omit<StoredRequestLog, 'attempts' | 'metadata' | 'request_body' | 'response_body'> & {
  attempt_count: number;
};
