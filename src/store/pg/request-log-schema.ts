/**
 * The request log in Postgres (cluster mode): the columns of SQLite's request_logs, partitioned by
 * day on `time` (ms since the epoch, UTC days). Partitions are created ahead by the log writer
 * (partitions.ts) and dropped whole by retention, so neither inserts nor retention ever rewrite old
 * rows. A unique key of a partitioned table must hold the partition key: the primary key is
 * (id, time), and a batch written twice after a lost commit is absorbed by ON CONFLICT DO NOTHING.
 *
 * Text is compared byte by byte (COLLATE "C"), as SQLite does: the same order of ids for the list's
 * keyset cursor, the same order of groups.
 *
 * Indexes follow the queries that run at volume (log-queries.ts, usage-queries.ts): the list by time
 * (keyset on (time, id)), its filters by key, team, provider and model, errors first, the sorts by
 * latency and cost, the usage API's key / team / customer filters, and the look-up of one id.
 * Created on the parent, they exist on every partition.
 */
export const PG_REQUEST_LOGS = `
CREATE TABLE IF NOT EXISTS request_logs (
  id                text COLLATE "C" NOT NULL,
  time              bigint NOT NULL,
  surface           text COLLATE "C" NOT NULL,
  route             text COLLATE "C" NOT NULL,
  method            text COLLATE "C" NOT NULL,
  virtual_key_id    text COLLATE "C",
  team_id           text COLLATE "C",
  customer_id       text COLLATE "C",
  provider          text COLLATE "C",
  model             text COLLATE "C",
  requested_model   text COLLATE "C",
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
  cache             text COLLATE "C",
  attempts          text COLLATE "C" NOT NULL DEFAULT '[]',
  error_code        text COLLATE "C",
  error_message     text COLLATE "C",
  metadata          text COLLATE "C",
  request_body      text COLLATE "C",
  response_body     text COLLATE "C",
  PRIMARY KEY (id, time)
) PARTITION BY RANGE (time);
CREATE INDEX IF NOT EXISTS request_logs_time ON request_logs (time, id);
CREATE INDEX IF NOT EXISTS request_logs_provider ON request_logs (provider, time, id);
CREATE INDEX IF NOT EXISTS request_logs_model ON request_logs (model, time, id);
CREATE INDEX IF NOT EXISTS request_logs_errors ON request_logs (time, id) WHERE status >= 400;
CREATE INDEX IF NOT EXISTS request_logs_status ON request_logs (status, time);
CREATE INDEX IF NOT EXISTS request_logs_virtual_key ON request_logs (virtual_key_id, time, id) WHERE virtual_key_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS request_logs_team ON request_logs (team_id, time, id) WHERE team_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS request_logs_customer ON request_logs (customer_id, time) WHERE customer_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS request_logs_latency ON request_logs (latency_ms, id);
CREATE INDEX IF NOT EXISTS request_logs_cost ON request_logs ((COALESCE(cost_usd, -1)), id);
`;
