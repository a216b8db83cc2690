/**
 * Numbered schema migrations. `PRAGMA user_version` holds the number of the
 * last one applied; openDatabase() applies the pending ones in one transaction.
 *
 * Rules: never edit a migration that has shipped — add a new one. Times are
 * integer milliseconds since the epoch; JSON columns are TEXT checked with
 * json_valid(); booleans are 0/1 integers.
 */
import type { SqliteDatabase } from './database.js';
import { PG_AUTH, PG_BATCHES, PG_CONFIG_SYNC, PG_CORE, PG_GOVERNANCE, PG_MCP, PG_RATE_LIMIT_COUNTERS, PG_RESPONSE_ITEMS_AND_BACKGROUND, PG_STORED_RESPONSES } from './pg/pg-migrations.js';
import { PG_REQUEST_LOG_ROLLUPS, SQLITE_REQUEST_LOG_ROLLUPS } from './pg/request-log-rollups.js';
import { createConfigOutbox } from './pg/sqlite-outbox.js';

export interface Migration {
  version: number;
  name: string;
  /** SQLite. */
  up: string | ((db: SqliteDatabase) => void);
  /** The same change in Postgres (src/store/pg/); a Postgres store refuses to migrate past a migration without one. */
  pg?: string;
}

/** Configuration (providers, keys, routing, settings), request logs and audit log. */
const CORE = `
CREATE TABLE providers (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  type        TEXT NOT NULL,                          -- provider definition id: openai, anthropic, ...
  base_url    TEXT,                                   -- null: the definition's default
  enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  options     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(options)),
  source      TEXT NOT NULL DEFAULT 'store',          -- store | file | env: who wrote it last
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE provider_keys (
  id                TEXT PRIMARY KEY,
  provider_id       TEXT NOT NULL REFERENCES providers(id) ON DELETE CASCADE,
  name              TEXT NOT NULL,
  secret_encrypted  TEXT NOT NULL,                    -- secret-box format v1:<iv>:<tag>:<ciphertext>
  last4             TEXT NOT NULL,
  weight            REAL NOT NULL DEFAULT 1 CHECK (weight >= 0),
  models            TEXT CHECK (models IS NULL OR json_valid(models)),  -- null: every model
  enabled           INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  source            TEXT NOT NULL DEFAULT 'store',
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  UNIQUE (provider_id, name)
);

CREATE TABLE model_groups (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,                  -- the public model name clients send
  deployments  TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(deployments)),  -- [{provider, model, weight}]
  fallbacks    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(fallbacks)),    -- ["provider/model" | group name]
  options      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(options)),
  enabled      INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  source       TEXT NOT NULL DEFAULT 'store',
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);

CREATE TABLE aliases (
  alias       TEXT PRIMARY KEY,
  target      TEXT NOT NULL,
  source      TEXT NOT NULL DEFAULT 'store',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE settings (
  key         TEXT PRIMARY KEY,
  value       TEXT NOT NULL CHECK (json_valid(value)),
  updated_at  INTEGER NOT NULL
);

CREATE TABLE audit_log (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  time    INTEGER NOT NULL,
  actor   TEXT NOT NULL,
  action  TEXT NOT NULL,
  target  TEXT,
  before  TEXT CHECK (before IS NULL OR json_valid(before)),
  after   TEXT CHECK (after IS NULL OR json_valid(after))
);
CREATE INDEX audit_log_time ON audit_log (time);
CREATE INDEX audit_log_target ON audit_log (target, id);

-- Bodies are the last columns: list queries never read them, and SQLite stops
-- reading a row at the last column a query needs.
CREATE TABLE request_logs (
  id                TEXT PRIMARY KEY,
  time              INTEGER NOT NULL,
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
  latency_ms        REAL NOT NULL,
  upstream_ms       REAL,
  ttft_ms           REAL,
  overhead_us       INTEGER,
  input_tokens      INTEGER,
  output_tokens     INTEGER,
  cached_tokens     INTEGER,
  reasoning_tokens  INTEGER,
  cost_usd          REAL,                             -- null: unknown price
  cost_known        INTEGER NOT NULL DEFAULT 0 CHECK (cost_known IN (0, 1)),
  stream            INTEGER NOT NULL DEFAULT 0 CHECK (stream IN (0, 1)),
  cache             TEXT,                             -- hit | miss | null
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

/**
 * Governance (issue 6): customers > teams > virtual keys, and spend per budget
 * window. Budgets and rate limits are JSON so their shape can grow without a
 * migration, e.g. budget {"max_usd": 10, "period": "monthly" | "1h" | null,
 * "refuse_unpriced": true}, rate_limits [{"model": "*", "requests": 60,
 * "tokens": 100000, "window": "1m", "algorithm": "sliding"}].
 */
const GOVERNANCE = `
CREATE TABLE customers (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  description  TEXT,
  budget       TEXT CHECK (budget IS NULL OR json_valid(budget)),
  rate_limits  TEXT CHECK (rate_limits IS NULL OR json_valid(rate_limits)),
  metadata     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
  status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  source       TEXT NOT NULL DEFAULT 'store',
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);

CREATE TABLE teams (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  description  TEXT,
  customer_id  TEXT REFERENCES customers(id) ON DELETE SET NULL,
  budget       TEXT CHECK (budget IS NULL OR json_valid(budget)),
  rate_limits  TEXT CHECK (rate_limits IS NULL OR json_valid(rate_limits)),
  metadata     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
  status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  source       TEXT NOT NULL DEFAULT 'store',
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE INDEX teams_customer ON teams (customer_id);

CREATE TABLE virtual_keys (
  id                 TEXT PRIMARY KEY,
  name               TEXT NOT NULL,
  description        TEXT,
  key_hash           TEXT NOT NULL UNIQUE,            -- hash of the secret; the secret is shown once
  key_prefix         TEXT NOT NULL,                   -- e.g. "hk-AbC1" to recognise a key in lists
  team_id            TEXT REFERENCES teams(id) ON DELETE SET NULL,
  customer_id        TEXT REFERENCES customers(id) ON DELETE SET NULL,
  allowed_providers  TEXT CHECK (allowed_providers IS NULL OR json_valid(allowed_providers)),  -- null: all
  allowed_models     TEXT CHECK (allowed_models IS NULL OR json_valid(allowed_models)),        -- ["openai/*", ...]; null: all
  budget             TEXT CHECK (budget IS NULL OR json_valid(budget)),
  rate_limits        TEXT CHECK (rate_limits IS NULL OR json_valid(rate_limits)),
  metadata           TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
  status             TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  expires_at         INTEGER,                         -- null: never
  last_used_at       INTEGER,
  rotated_at         INTEGER,
  source             TEXT NOT NULL DEFAULT 'store',
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL
);
CREATE INDEX virtual_keys_team ON virtual_keys (team_id);
CREATE INDEX virtual_keys_customer ON virtual_keys (customer_id);

-- One row per entity and budget window; period_start 0 is the lifetime window
-- of a budget without reset. Written in batches by the spend tracker.
CREATE TABLE spend (
  entity_type   TEXT NOT NULL CHECK (entity_type IN ('key', 'team', 'customer')),
  entity_id     TEXT NOT NULL,
  period_start  INTEGER NOT NULL,
  spend_usd     REAL NOT NULL DEFAULT 0,
  tokens        INTEGER NOT NULL DEFAULT 0,
  requests      INTEGER NOT NULL DEFAULT 0,
  updated_at    INTEGER NOT NULL,
  PRIMARY KEY (entity_type, entity_id, period_start)
) WITHOUT ROWID;
`;

/**
 * Rate-limit counters saved with each spend batch, so a key at its limit stays
 * limited across a restart. One row per counter (the LimitSpec id, e.g.
 * "key:vk_1:0:requests"); `state` is the counter's snapshot: a sliding
 * window's [time, amount] entries or a token bucket's level. A row is useless
 * once `expires_at` (the counter full again) has passed and is deleted then.
 */
const RATE_LIMIT_COUNTERS = `
CREATE TABLE rate_limit_counters (
  id           TEXT PRIMARY KEY,
  algorithm    TEXT NOT NULL CHECK (algorithm IN ('sliding', 'token_bucket')),
  limit_value  REAL NOT NULL,
  window_ms    INTEGER NOT NULL,
  state        TEXT NOT NULL CHECK (json_valid(state)),
  expires_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX rate_limit_counters_expires ON rate_limit_counters (expires_at);
`;

/**
 * Stored responses of the Responses API (`store: true`, `previous_response_id`). A bridged
 * response is kept here whole: `response` is the response object as the caller got it and
 * `input_items` every item it was produced from (the earlier turns' included), each with an id. A
 * response of a provider that keeps its own (OpenAI pass-through) is only a row that says which
 * provider (and key) holds it: `response` and `input_items` are null. `scope` is the virtual key
 * that made it ('' without virtual keys): no other key can read, continue or delete it. Deleted
 * with the request logs' retention.
 */
const STORED_RESPONSES = `
CREATE TABLE stored_responses (
  id           TEXT PRIMARY KEY,
  scope        TEXT NOT NULL,                         -- virtual key id; '' when none was used
  mode         TEXT NOT NULL CHECK (mode IN ('stored', 'provider')),
  provider     TEXT NOT NULL,                         -- the provider that answered (by name)
  model        TEXT NOT NULL,                         -- the provider's own model id
  key_id       TEXT,                                  -- provider mode: the provider key that holds it
  created_at   INTEGER NOT NULL,
  response     TEXT CHECK (response IS NULL OR json_valid(response)),
  input_items  TEXT CHECK (input_items IS NULL OR json_valid(input_items))
);
CREATE INDEX stored_responses_created ON stored_responses (created_at);
`;

/**
 * Background responses and item references. `status` is set for a background response only
 * (`queued`, `in_progress`, then `completed`, `incomplete`, `failed` or `cancelled`) and `runner`
 * names the process that runs it (`<pid>/<boot id>`): at start, a running row whose runner is gone
 * is marked failed. `stored_response_items` indexes the items of stored (bridged) responses by id,
 * so an `item_reference` can be resolved within the same scope; a response's items go with it.
 */
const RESPONSE_ITEMS_AND_BACKGROUND = `
ALTER TABLE stored_responses ADD COLUMN status TEXT;   -- background responses only
ALTER TABLE stored_responses ADD COLUMN runner TEXT;   -- background responses: '<pid>/<boot id>' of the process running it
CREATE INDEX stored_responses_running ON stored_responses (status) WHERE status IN ('queued', 'in_progress');
CREATE TABLE stored_response_items (
  scope        TEXT NOT NULL,
  item_id      TEXT NOT NULL,
  response_id  TEXT NOT NULL,
  item         TEXT NOT NULL CHECK (json_valid(item)),
  PRIMARY KEY (scope, item_id)
) WITHOUT ROWID;
CREATE INDEX stored_response_items_response ON stored_response_items (response_id);
CREATE TRIGGER stored_response_items_gone AFTER DELETE ON stored_responses BEGIN
  DELETE FROM stored_response_items WHERE response_id = OLD.id;
END;
`;

/**
 * Accounts of the dashboard and management API. A user has one role (admin, operator, viewer,
 * member) and, as a member, one team. `password_hash` is scrypt (src/auth/password.ts); null for a
 * single-sign-on account. `external_id` is "<provider>:<subject>" of an SSO account. A session row is
 * keyed by the SHA-256 of the cookie's secret (the secret itself is only in the browser); one opened
 * with the admin token has no user and `token_digest` says which token. Personal API tokens are kept
 * as SHA-256 digests of high-entropy secrets. `auth_state` holds short-lived secrets shared by every
 * process on the database: the setup token's digest, SSO login transactions (state, nonce, PKCE
 * verifier). The audit log gains the acting user and the source address.
 */
const AUTH = `
CREATE TABLE users (
  id               TEXT PRIMARY KEY,
  username         TEXT NOT NULL UNIQUE COLLATE NOCASE,
  display_name     TEXT,
  email            TEXT,
  password_hash    TEXT,                              -- null: single sign-on only
  role             TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer', 'member')),
  team_id          TEXT,                              -- a member's team (teams.id)
  view_bodies      INTEGER NOT NULL DEFAULT 0 CHECK (view_bodies IN (0, 1)),
  disabled         INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  source           TEXT NOT NULL DEFAULT 'store',     -- store | file | cli | setup | oidc | github
  external_id      TEXT UNIQUE,                       -- "oidc:<issuer>#<sub>" or "github:<id>"
  failed_logins    INTEGER NOT NULL DEFAULT 0,
  locked_until     INTEGER,
  last_login_at    INTEGER,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
);

CREATE TABLE sessions (
  id            TEXT PRIMARY KEY,                     -- sha256 hex of the cookie secret
  label         TEXT NOT NULL UNIQUE,                 -- short public id (audit log, revocation)
  user_id       TEXT REFERENCES users(id) ON DELETE CASCADE,
  token_digest  TEXT,                                 -- opened with the admin token: sha256 of it
  method        TEXT NOT NULL,                        -- password | admin_token | setup | oidc | github
  address       TEXT,
  user_agent    TEXT,
  created_at    INTEGER NOT NULL,
  last_seen_at  INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  id_token      TEXT                                  -- OIDC: the hint for the provider's logout
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
  id            TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  digest        TEXT NOT NULL UNIQUE,                 -- sha256 hex of the token
  prefix        TEXT NOT NULL,                        -- the first characters, to recognise it in a list
  scopes        TEXT NOT NULL CHECK (json_valid(scopes)),
  expires_at    INTEGER,                              -- null: never
  last_used_at  INTEGER,
  created_at    INTEGER NOT NULL,
  UNIQUE (user_id, name)
);

CREATE TABLE auth_state (
  key         TEXT PRIMARY KEY,
  value       TEXT NOT NULL CHECK (json_valid(value)),
  expires_at  INTEGER NOT NULL
) WITHOUT ROWID;

ALTER TABLE audit_log ADD COLUMN user_id TEXT;
ALTER TABLE audit_log ADD COLUMN address TEXT;
CREATE INDEX audit_log_user ON audit_log (user_id, id);
`;

/**
 * The MCP gateway (docs/mcp.md). `mcp_servers`: upstream MCP servers added through the management
 * API (the config file's are not stored); `definition` is the entry in config-file shape, sealed
 * with the secret box (headers, env and OAuth secrets are credentials). `mcp_oauth_tokens`: OAuth
 * tokens of upstream servers, sealed. `mcp_tool_calls`: one row per tool call through Heimdall,
 * arguments with secrets masked, written in batches, deleted with the request logs' retention.
 * Virtual keys and teams get MCP allow-lists (JSON arrays of patterns; null: all).
 */
const MCP = `
CREATE TABLE mcp_servers (
  name         TEXT PRIMARY KEY,
  transport    TEXT NOT NULL CHECK (transport IN ('http', 'sse', 'stdio')),
  definition   TEXT NOT NULL,                         -- sealed JSON entry
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);

CREATE TABLE mcp_oauth_tokens (
  server       TEXT PRIMARY KEY,
  tokens       TEXT NOT NULL,                         -- sealed JSON
  updated_at   INTEGER NOT NULL
);

CREATE TABLE mcp_tool_calls (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  time            INTEGER NOT NULL,
  server          TEXT NOT NULL,
  tool            TEXT NOT NULL,
  origin          TEXT NOT NULL,                      -- 'mcp' (the /mcp endpoint) or 'loop' (server-side tool loop)
  session_id      TEXT,
  request_id      TEXT,
  virtual_key_id  TEXT,
  team_id         TEXT,
  arguments       TEXT,                               -- JSON, secrets masked
  duration_ms     REAL NOT NULL,
  result_bytes    INTEGER NOT NULL DEFAULT 0,
  is_error        INTEGER NOT NULL DEFAULT 0,         -- the tool answered isError: true
  error           TEXT,                               -- the call failed (refused, timeout, server down)
  cost_usd        REAL
);
CREATE INDEX mcp_tool_calls_time ON mcp_tool_calls (time);
CREATE INDEX mcp_tool_calls_key ON mcp_tool_calls (virtual_key_id, time);

ALTER TABLE virtual_keys ADD COLUMN allowed_mcp_servers TEXT CHECK (allowed_mcp_servers IS NULL OR json_valid(allowed_mcp_servers));
ALTER TABLE virtual_keys ADD COLUMN allowed_mcp_tools TEXT CHECK (allowed_mcp_tools IS NULL OR json_valid(allowed_mcp_tools));
ALTER TABLE teams ADD COLUMN allowed_mcp_servers TEXT CHECK (allowed_mcp_servers IS NULL OR json_valid(allowed_mcp_servers));
ALTER TABLE teams ADD COLUMN allowed_mcp_tools TEXT CHECK (allowed_mcp_tools IS NULL OR json_valid(allowed_mcp_tools));
`;

/**
 * Files and batch jobs made through the gateway (docs/native-passthrough.md#batch-jobs). `batch_files`:
 * an uploaded file, the provider it went to and the models its lines name (governance of a batch made
 * from it; the provider of later calls on it). `batch_jobs`: one row per batch job created, updated
 * with the status each retrieve, list or cancel answers; `charged_at` is set once, by the results
 * fetch that charged the batch's cost. Postgres: PG_BATCHES, the same columns.
 */
const BATCHES = `
CREATE TABLE batch_files (
  id              TEXT PRIMARY KEY,                   -- the provider's file id
  provider        TEXT NOT NULL,                      -- configured provider name
  virtual_key_id  TEXT,
  purpose         TEXT,
  filename        TEXT,
  bytes           INTEGER,
  models          TEXT,                               -- JSON array of provider/model named by the lines
  created_at      INTEGER NOT NULL
);

CREATE TABLE batch_jobs (
  id                 TEXT PRIMARY KEY,                -- the provider's batch id
  provider           TEXT NOT NULL,                   -- configured provider name
  api                TEXT NOT NULL,                   -- openai (OpenAI and Azure batches) | anthropic (message batches)
  virtual_key_id     TEXT,
  models             TEXT,                            -- JSON array of provider/model
  endpoint           TEXT,
  status             TEXT NOT NULL,                   -- as last seen from the provider
  input_file_id      TEXT,
  output_file_id     TEXT,
  error_file_id      TEXT,
  request_total      INTEGER NOT NULL DEFAULT 0,
  request_completed  INTEGER NOT NULL DEFAULT 0,
  request_failed     INTEGER NOT NULL DEFAULT 0,
  created_at         INTEGER NOT NULL,
  completed_at       INTEGER,
  updated_at         INTEGER NOT NULL,
  request_id         TEXT,                            -- the request that created it (request log)
  input_tokens       INTEGER,
  output_tokens      INTEGER,
  cost_usd           REAL,                            -- charged when its results were fetched
  charged_at         INTEGER,
  charged_request_id TEXT
);
CREATE INDEX batch_jobs_created ON batch_jobs (created_at);
CREATE INDEX batch_jobs_output ON batch_jobs (output_file_id);
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'core: providers, keys, routing, settings, request logs, audit log', up: CORE, pg: PG_CORE },
  { version: 2, name: 'governance: customers, teams, virtual keys, spend', up: GOVERNANCE, pg: PG_GOVERNANCE },
  { version: 3, name: 'governance: rate-limit counters', up: RATE_LIMIT_COUNTERS, pg: PG_RATE_LIMIT_COUNTERS },
  { version: 4, name: 'responses: stored responses and pass-through response ids', up: STORED_RESPONSES, pg: PG_STORED_RESPONSES },
  { version: 5, name: 'responses: background responses and stored items by id', up: RESPONSE_ITEMS_AND_BACKGROUND, pg: PG_RESPONSE_ITEMS_AND_BACKGROUND },
  { version: 6, name: 'auth: users, sessions, personal API tokens, audit actor and address', up: AUTH, pg: PG_AUTH },
  { version: 7, name: 'mcp: upstream servers, OAuth tokens, tool call log, key and team allow-lists', up: MCP, pg: PG_MCP },
  { version: 8, name: 'batches: files and batch jobs made through the gateway', up: BATCHES, pg: PG_BATCHES },
  // Configuration shared through Postgres (docs/cluster.md): SQLite records local changes, Postgres numbers them.
  { version: 11, name: 'cluster: configuration outbox and change log', up: createConfigOutbox, pg: PG_CONFIG_SYNC },
  // Filled and read in Postgres only (src/store/pg/request-log-rollups.ts).
  { version: 12, name: 'cluster: request log rollups by hour and minute', up: SQLITE_REQUEST_LOG_ROLLUPS, pg: PG_REQUEST_LOG_ROLLUPS },
];

/** The schema version this code writes; a database above it is refused. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
