/**
 * The request log in Postgres (cluster mode): the columns of SQLite's request_logs, partitioned by
 * day on `time` (ms since the epoch, UTC days). Partitions are created ahead by the log writer
 * (partitions.ts) and dropped whole by retention, so neither inserts nor retention ever rewrite old
 * rows. A unique key of a partitioned table must hold the partition key: the primary key is
 * (id, time), and a batch written twice after a lost commit is absorbed by ON CONFLICT DO NOTHING.
 *
 * Indexes follow the queries that run at volume (log-queries.ts, usage-queries.ts): the list by time
 * (keyset on (time, id)), its filters by key, team, provider and model, errors first, the sorts by
 * latency and cost, the usage API's key / team / customer filters, and the look-up of one id.
 * Created on the parent, they exist on every partition.
 */
export const PG_REQUEST_LOGS = `
CREATE TABLE IF NOT EXISTS request_logs (
  id                text NOT NULL,
  time              bigint NOT NULL,
  surface           text NOT NULL,
  route             text NOT NULL,
  method            text NOT NULL,
  virtual_key_id    text,
  team_id           text,
  customer_id       text,
  provider          text,
  model             text,
  requested_model   text,
  status            integer NOT NULL,
  latency_ms        double precision NOT NULL,
  upstream_ms       double precision,
  ttft_ms           double precision,
  overhead_us       bigint,
  input_tokens      bigint,
  output_tokens     bigint,
  cached_tokens     bigint,
  reasoning_tokens  bigint,
  cost_usd          double precision,
  cost_known        smallint NOT NULL DEFAULT 0 CHECK (cost_known IN (0, 1)),
  stream            smallint NOT NULL DEFAULT 0 CHECK (stream IN (0, 1)),
  cache             text,
  attempts          text NOT NULL DEFAULT '[]',
  error_code        text,
  error_message     text,
  metadata          text,
  request_body      text,
  response_body     text,
  PRIMARY KEY (id, time)
) PARTITION BY RANGE (time);
CREATE INDEX IF NOT EXISTS request_logs_time ON request_logs (time, id);
CREATE INDEX IF NOT EXISTS request_logs_provider ON request_logs (provider, time, id);
CREATE INDEX IF NOT EXISTS request_logs_model ON request_logs (model, time, id);
CREATE INDEX IF NOT EXISTS request_logs_errors ON request_logs (time, id) WHERE status >= 400;
CREATE INDEX IF NOT EXISTS request_logs_virtual_key ON request_logs (virtual_key_id, time, id) WHERE virtual_key_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS request_logs_team ON request_logs (team_id, time, id) WHERE team_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS request_logs_customer ON request_logs (customer_id, time) WHERE customer_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS request_logs_latency ON request_logs (latency_ms, id);
CREATE INDEX IF NOT EXISTS request_logs_cost ON request_logs ((COALESCE(cost_usd, -1)), id);
`;
