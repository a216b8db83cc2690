/**
 * The MCP tables (migration 7): servers added through the management API
 * (their entry sealed: headers, env and OAuth secrets are credentials), OAuth
 * tokens (sealed), and the tool-call log. Tool calls are queued in memory on
 * the call path and written in batches, one transaction each, off it.
 */
import type { Statement } from 'better-sqlite3';
import type { OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { SqliteDatabase } from '../store/database.js';
import type { SecretBox } from '../store/secret-box.js';
import type { OAuthRecord, OAuthTokenStore } from './oauth.js';

export interface StoredServer {
  name: string;
  /** The entry in config-file shape (`mcp.servers.<name>`), secrets included. */
  entry: Record<string, unknown>;
  created_at: number;
  updated_at: number;
}

export interface ToolCallRecord {
  time: number;
  server: string;
  tool: string;
  origin: 'mcp' | 'loop';
  session_id: string | null;
  request_id: string | null;
  virtual_key_id: string | null;
  team_id: string | null;
  /** Masked already. */
  arguments: unknown;
  duration_ms: number;
  result_bytes: number;
  is_error: boolean;
  error: string | null;
  cost_usd: number | null;
}

export interface ToolCallQuery {
  server?: string;
  tool?: string;
  virtual_key_id?: string;
  limit: number;
  before_id?: number;
}

/** Calls queued beyond this are dropped (and counted): the log never grows memory without bound. */
const MAX_QUEUED = 10_000;

export class McpStore implements OAuthTokenStore {
  private readonly listServersStatement: Statement;
  private readonly putServerStatement: Statement;
  private readonly deleteServerStatement: Statement;
  private readonly getTokens: Statement;
  private readonly putTokens: Statement;
  private readonly deleteTokens: Statement;
  private readonly insertCall: Statement;
  private readonly writeCalls: (records: readonly ToolCallRecord[]) => void;
  private queue: ToolCallRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  dropped = 0;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly box: SecretBox,
    private readonly onError: (error: unknown) => void,
    flushIntervalMs = 1000,
  ) {
    this.listServersStatement = db.prepare('SELECT * FROM mcp_servers ORDER BY created_at, name');
    this.putServerStatement = db.prepare(`INSERT INTO mcp_servers (name, transport, definition, created_at, updated_at)
      VALUES (@name, @transport, @definition, @now, @now)
      ON CONFLICT (name) DO UPDATE SET transport = excluded.transport, definition = excluded.definition, updated_at = excluded.updated_at`);
    this.deleteServerStatement = db.prepare('DELETE FROM mcp_servers WHERE name = ?');
    this.getTokens = db.prepare('SELECT tokens FROM mcp_oauth_tokens WHERE server = ?');
    this.putTokens = db.prepare(`INSERT INTO mcp_oauth_tokens (server, tokens, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (server) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`);
    this.deleteTokens = db.prepare('DELETE FROM mcp_oauth_tokens WHERE server = ?');
    this.insertCall = db.prepare(`INSERT INTO mcp_tool_calls (time, server, tool, origin, session_id, request_id, virtual_key_id, team_id,
      arguments, duration_ms, result_bytes, is_error, error, cost_usd)
      VALUES (@time, @server, @tool, @origin, @session_id, @request_id, @virtual_key_id, @team_id,
      @arguments, @duration_ms, @result_bytes, @is_error, @error, @cost_usd)`);
    this.writeCalls = db.transaction((records: readonly ToolCallRecord[]) => {
      for (const record of records) {
        this.insertCall.run({
          ...record,
          arguments: record.arguments === undefined ? null : JSON.stringify(record.arguments),
          is_error: record.is_error ? 1 : 0,
        });
      }
    });
    this.timer = setInterval(() => this.flush(), flushIntervalMs);
    this.timer.unref();
  }

  // ── servers ────────────────────────────────────────────────────────────────

  servers(): StoredServer[] {
    return (this.listServersStatement.all() as Array<{ name: string; definition: string; created_at: number; updated_at: number }>).map((row) => ({
      name: row.name,
      entry: JSON.parse(this.box.decrypt(row.definition)) as Record<string, unknown>,
      created_at: row.created_at,
      updated_at: row.updated_at,
    }));
  }

  putServer(name: string, entry: Record<string, unknown>, now = Date.now()): void {
    this.putServerStatement.run({ name, transport: String(entry.transport), definition: this.box.encrypt(JSON.stringify(entry)), now });
  }

  deleteServer(name: string): boolean {
    return this.deleteServerStatement.run(name).changes > 0;
  }

  // ── OAuth tokens ───────────────────────────────────────────────────────────

  /** A server's OAuth state: tokens, their expiry, a dynamically registered client. */
  record(server: string): OAuthRecord | undefined {
    const row = this.getTokens.get(server) as { tokens: string } | undefined;
    if (row === undefined) return undefined;
    try {
      const value = JSON.parse(this.box.decrypt(row.tokens)) as OAuthRecord & { access_token?: string };
      // A row of the first format held the tokens alone.
      return typeof value.access_token === 'string' ? { tokens: value as OAuthTokens } : value;
    } catch (error) {
      // A changed encryption key: a new token is fetched (or the server connected again).
      this.onError(error);
      return undefined;
    }
  }

  putRecord(server: string, record: OAuthRecord): void {
    this.putTokens.run(server, this.box.encrypt(JSON.stringify(record)), Date.now());
  }

  removeRecord(server: string): boolean {
    return this.deleteTokens.run(server).changes > 0;
  }

  get(server: string): OAuthTokens | undefined {
    return this.record(server)?.tokens;
  }

  save(server: string, tokens: OAuthTokens): void {
    this.putRecord(server, { ...this.record(server), tokens });
  }

  // ── tool-call log ──────────────────────────────────────────────────────────

  enqueue(record: ToolCallRecord): void {
    if (this.queue.length >= MAX_QUEUED) {
      this.dropped++;
      return;
    }
    this.queue.push(record);
  }

  flush(): void {
    if (this.queue.length === 0 || !this.db.open) return;
    const records = this.queue;
    this.queue = [];
    try {
      this.writeCalls(records);
    } catch (error) {
      this.onError(error);
      if (this.queue.length + records.length <= MAX_QUEUED) this.queue = [...records, ...this.queue];
      else this.dropped += records.length;
    }
  }

  calls(query: ToolCallQuery): Array<ToolCallRecord & { id: number }> {
    this.flush();
    const rows = this.db
      .prepare(`SELECT * FROM mcp_tool_calls WHERE (@server IS NULL OR server = @server) AND (@tool IS NULL OR tool = @tool)
        AND (@virtual_key_id IS NULL OR virtual_key_id = @virtual_key_id) AND (@before_id IS NULL OR id < @before_id)
        ORDER BY id DESC LIMIT @limit`)
      .all({ server: query.server ?? null, tool: query.tool ?? null, virtual_key_id: query.virtual_key_id ?? null, before_id: query.before_id ?? null, limit: query.limit }) as Array<Record<string, unknown>>;
    return rows.map((row) => ({
      ...(row as unknown as ToolCallRecord & { id: number }),
      arguments: typeof row.arguments === 'string' ? JSON.parse(row.arguments) : null,
      is_error: row.is_error === 1,
    }));
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
