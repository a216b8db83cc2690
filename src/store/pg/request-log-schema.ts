/**
 * The Postgres request-log table and its indexes (migration 1's Postgres variant includes it):
 * the columns of the SQLite table, times as BIGINT milliseconds, JSON as TEXT.
 */
export const PG_REQUEST_LOGS = `
CREATE TABLE request_logs (
  id                TEXT PRIMARY KEY,
  time              BIGINT NOT NULL,
  surface           TEXT NOT NULL,
  route             TEXT NOT NULL,
  method            TEXT NOT NULL,
  virtual_key_id    TEXT,
  team_id           TEXT,
  customer_id       TEXT,
  provider          TEXT,
  model             TEXT,
  requested_model   TEXT,
  status            INTEGER NOT NULL,
  latency_ms        DOUBLE PRECISION NOT NULL,
  upstream_ms       DOUBLE PRECISION,
  ttft_ms           DOUBLE PRECISION,
  overhead_us       BIGINT,
  input_tokens      BIGINT,
  output_tokens     BIGINT,
  cached_tokens     BIGINT,
  reasoning_tokens  BIGINT,
  cost_usd          DOUBLE PRECISION,
  cost_known        INTEGER NOT NULL DEFAULT 0 CHECK (cost_known IN (0, 1)),
  stream            INTEGER NOT NULL DEFAULT 0 CHECK (stream IN (0, 1)),
  cache             TEXT,
  attempts          TEXT NOT NULL DEFAULT '[]',
  error_code        TEXT,
  error_message     TEXT,
  metadata          TEXT,
  request_body      TEXT,
  response_body     TEXT
);
CREATE INDEX request_logs_time ON request_logs (time, id);
CREATE INDEX request_logs_provider ON request_logs (provider, time, id);
CREATE INDEX request_logs_model ON request_logs (model, time, id);
CREATE INDEX request_logs_status ON request_logs (status, time);
CREATE INDEX request_logs_virtual_key ON request_logs (virtual_key_id, time, id) WHERE virtual_key_id IS NOT NULL;
`;
