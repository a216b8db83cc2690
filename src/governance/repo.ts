/**
 * SQLite access for governance (tables of migrations 2 and 3): customers,
 * teams, virtual keys, spend and rate-limit counters. Statements are prepared once; the request path
 * never calls this (it reads the in-memory registry and ledger); the
 * management API writes through it, and the spend writer flushes batches.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from '../store/database.js';
import { readSpendWatermark, SPEND_WATERMARK_SETTING } from '../store/spend-watermark.js';
import type { CounterChanges, CounterRow, SpendRow } from './ledger.js';
import type { CounterSnapshot } from './rate-limiter.js';
import type { AnyRecord, CustomerRecord, EntityType, TeamRecord, VirtualKeyRecord } from './types.js';

type Row = Record<string, unknown>;
export type Table = 'customers' | 'teams' | 'virtual_keys';

const COLUMNS: Record<Table, readonly string[]> = {
  customers: ['id', 'name', 'description', 'budget', 'rate_limits', 'metadata', 'status', 'source', 'created_at', 'updated_at'],
  teams: ['id', 'name', 'description', 'customer_id', 'budget', 'rate_limits', 'metadata', 'status', 'source', 'created_at', 'updated_at', 'allowed_mcp_servers', 'allowed_mcp_tools'],
  virtual_keys: [
    'id', 'name', 'description', 'key_hash', 'key_prefix', 'team_id', 'customer_id', 'allowed_providers', 'allowed_models',
    'budget', 'rate_limits', 'metadata', 'status', 'expires_at', 'last_used_at', 'rotated_at', 'source', 'created_at', 'updated_at',
    'allowed_mcp_servers', 'allowed_mcp_tools',
  ],
};
const JSON_COLUMNS = new Set(['budget', 'rate_limits', 'metadata', 'allowed_providers', 'allowed_models', 'allowed_mcp_servers', 'allowed_mcp_tools']);

function toRow(record: AnyRecord, table: Table): Row {
  const row: Row = {};
  const source = record as unknown as Row;
  for (const column of COLUMNS[table]) {
    const value = source[column];
    if (column === 'rate_limits') row[column] = Array.isArray(value) && value.length > 0 ? JSON.stringify(value) : null;
    else if (column === 'metadata') row[column] = JSON.stringify(value ?? {});
    else if (JSON_COLUMNS.has(column)) row[column] = value === null || value === undefined ? null : JSON.stringify(value);
    else row[column] = value ?? null;
  }
  return row;
}

function parse(text: unknown, fallback: unknown): unknown {
  if (typeof text !== 'string') return fallback;
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}

function fromRow<T extends AnyRecord>(row: Row, table: Table): T {
  const record: Row = {};
  for (const column of COLUMNS[table]) {
    const value = row[column];
    if (column === 'rate_limits') record[column] = parse(value, []) ?? [];
    else if (column === 'metadata') record[column] = parse(value, {}) ?? {};
    else if (JSON_COLUMNS.has(column)) record[column] = parse(value, null);
    else record[column] = value;
  }
  return record as T;
}

function upsertSql(table: Table): string {
  const columns = COLUMNS[table];
  const updates = columns.filter((c) => c !== 'id' && c !== 'created_at').map((c) => `${c} = excluded.${c}`);
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})
    ON CONFLICT (id) DO UPDATE SET ${updates.join(', ')}`;
}

export class GovernanceRepo {
  private readonly upserts: Record<Table, Statement>;
  private readonly lists: Record<Table, Statement>;
  private readonly deletes: Record<Table, Statement>;
  private readonly putSpend: Statement;
  private readonly getSpend: Statement;
  private readonly touchKey: Statement;
  private readonly putCounter: Statement;
  private readonly dropCounter: Statement;
  private readonly liveCounters: Statement;
  private readonly expireCounters: Statement;
  private readonly loggedSpendStatements = new Map<string, Statement>();
  private readonly writeSpendBatch: (rows: readonly SpendRow[], touched: ReadonlyArray<[string, number]>, counters: CounterChanges, watermark: number | undefined) => void;
  private readonly putWatermark: Statement;
  private readonly loggedAfterStatements = new Map<string, Statement>();

  constructor(readonly db: SqliteDatabase) {
    const tables: Table[] = ['customers', 'teams', 'virtual_keys'];
    const build = (make: (table: Table) => string): Record<Table, Statement> =>
      Object.fromEntries(tables.map((table) => [table, db.prepare(make(table))])) as Record<Table, Statement>;
    this.upserts = build(upsertSql);
    this.lists = build((table) => `SELECT * FROM ${table} ORDER BY created_at, id`);
    this.deletes = build((table) => `DELETE FROM ${table} WHERE id = ?`);
    this.putSpend = db.prepare(`INSERT INTO spend (entity_type, entity_id, period_start, spend_usd, tokens, requests, updated_at)
      VALUES (@entity_type, @entity_id, @period_start, @spend_usd, @tokens, @requests, @updated_at)
      ON CONFLICT (entity_type, entity_id, period_start) DO UPDATE SET spend_usd = excluded.spend_usd,
        tokens = excluded.tokens, requests = excluded.requests, updated_at = excluded.updated_at`);
    this.getSpend = db.prepare('SELECT * FROM spend WHERE entity_type = ? AND entity_id = ? AND period_start = ?');
    this.touchKey = db.prepare('UPDATE virtual_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)');
    this.putCounter = db.prepare(`INSERT INTO rate_limit_counters (id, algorithm, limit_value, window_ms, state, expires_at, updated_at)
      VALUES (@id, @algorithm, @limit_value, @window_ms, @state, @expires_at, @updated_at)
      ON CONFLICT (id) DO UPDATE SET algorithm = excluded.algorithm, limit_value = excluded.limit_value,
        window_ms = excluded.window_ms, state = excluded.state, expires_at = excluded.expires_at, updated_at = excluded.updated_at`);
    this.dropCounter = db.prepare('DELETE FROM rate_limit_counters WHERE id = ?');
    this.liveCounters = db.prepare('SELECT * FROM rate_limit_counters WHERE expires_at > ?');
    this.expireCounters = db.prepare('DELETE FROM rate_limit_counters WHERE expires_at <= ?');
    this.putWatermark = db.prepare(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`);
    this.writeSpendBatch = db.transaction((rows: readonly SpendRow[], touched: ReadonlyArray<[string, number]>, counters: CounterChanges, watermark: number | undefined) => {
      if (watermark !== undefined) this.putWatermark.run(SPEND_WATERMARK_SETTING, JSON.stringify(watermark), Date.now());
      for (const row of rows) this.putSpend.run(row);
      for (const [id, time] of touched) this.touchKey.run(time, id, time);
      for (const row of counters.put) this.putCounter.run({ ...row, state: JSON.stringify(row.state) });
      for (const id of counters.drop) this.dropCounter.run(id);
    });
  }

  list<T extends AnyRecord>(table: Table): T[] {
    return (this.lists[table].all() as Row[]).map((row) => fromRow<T>(row, table));
  }

  customers(): CustomerRecord[] {
    return this.list<CustomerRecord>('customers');
  }

  teams(): TeamRecord[] {
    return this.list<TeamRecord>('teams');
  }

  keys(): VirtualKeyRecord[] {
    return this.list<VirtualKeyRecord>('virtual_keys');
  }

  put(table: Table, record: AnyRecord): void {
    this.upserts[table].run(toRow(record, table));
  }

  delete(table: Table, id: string): boolean {
    return this.deletes[table].run(id).changes > 0;
  }

  /** One write transaction; BEGIN IMMEDIATE for the reason ConfigRepo.transaction gives. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  spend(type: EntityType, id: string, periodStart: number): SpendRow | undefined {
    return this.getSpend.get(type, id, periodStart) as SpendRow | undefined;
  }

  /** Sum of logged costs in [from, to) for one entity (a budget's period changed: the part between the two window starts). */
  loggedSpend(type: EntityType, id: string, from: number, to: number): { spend_usd: number; tokens: number; requests: number } {
    const column = type === 'key' ? 'virtual_key_id' : type === 'team' ? 'team_id' : 'customer_id';
    let statement = this.loggedSpendStatements.get(column);
    if (statement === undefined) {
      statement = this.db.prepare(`SELECT COALESCE(SUM(cost_usd), 0) AS spend_usd,
          COALESCE(SUM(COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0)), 0) AS tokens, COUNT(*) AS requests
        FROM request_logs WHERE ${column} = ? AND time >= ? AND time < ?`);
      this.loggedSpendStatements.set(column, statement);
    }
    return statement.get(id, from, to) as { spend_usd: number; tokens: number; requests: number };
  }

  /** The last request log number the saved spend covers (store/spend-watermark.ts); undefined when none is kept. */
  spendWatermark(): number | undefined {
    return readSpendWatermark(this.db);
  }

  /** Forgets the watermark (--workers N keeps none: a later single process must not trust an old one). */
  dropSpendWatermark(): void {
    this.db.prepare('DELETE FROM settings WHERE key = ?').run(SPEND_WATERMARK_SETTING);
  }

  /**
   * Logged costs of one entity's requests numbered above `watermark` (not covered by the saved
   * spend) that started in the window from `from`. Requests counts what reached a provider or the cache.
   */
  loggedSpendAfter(type: EntityType, id: string, from: number, watermark: number): { spend_usd: number; tokens: number; requests: number } {
    const column = type === 'key' ? 'virtual_key_id' : type === 'team' ? 'team_id' : 'customer_id';
    let statement = this.loggedAfterStatements.get(column);
    if (statement === undefined) {
      statement = this.db.prepare(`SELECT COALESCE(SUM(cost_usd), 0) AS spend_usd,
          COALESCE(SUM(COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0)), 0) AS tokens,
          COALESCE(SUM(CASE WHEN upstream_ms IS NOT NULL OR cache = 'hit' THEN 1 ELSE 0 END), 0) AS requests
        FROM request_logs WHERE ${column} = ? AND rowid > ? AND time >= ?`);
      this.loggedAfterStatements.set(column, statement);
    }
    return statement.get(id, watermark, from) as { spend_usd: number; tokens: number; requests: number };
  }

  /**
   * Writes spend rows, last-used times and counters in one transaction. `wait: false` does not wait
   * for another connection's write lock (the request-log writer thread's): false when the database
   * was busy and nothing was written. Waiting means SQLite's busy handler sleeping on this thread.
   */
  writeSpend(rows: readonly SpendRow[], touched: ReadonlyArray<[string, number]>, counters: CounterChanges = { put: [], drop: [] }, wait = true, watermark?: number): boolean {
    if (rows.length === 0 && touched.length === 0 && counters.put.length === 0 && counters.drop.length === 0 && watermark === undefined) return true;
    if (wait) {
      this.writeSpendBatch(rows, touched, counters, watermark);
      return true;
    }
    const timeout = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma('busy_timeout = 0');
    try {
      this.writeSpendBatch(rows, touched, counters, watermark);
      return true;
    } catch (error) {
      if (typeof (error as { code?: unknown }).code === 'string' && (error as { code: string }).code.startsWith('SQLITE_BUSY')) return false;
      throw error;
    } finally {
      this.db.pragma(`busy_timeout = ${timeout}`);
    }
  }

  /** Saved counters not yet expired at `now` (a row whose state does not parse is skipped). */
  counters(now: number): CounterRow[] {
    const rows: CounterRow[] = [];
    for (const row of this.liveCounters.all(now) as Array<Omit<CounterRow, 'state'> & { state: string }>) {
      const state = parse(row.state, undefined) as CounterSnapshot | undefined;
      if (state !== undefined && typeof state === 'object' && state !== null) rows.push({ ...row, state });
    }
    return rows;
  }

  /** Deletes counter rows that expired (the sweep, at most once a minute). */
  deleteExpiredCounters(now: number): number {
    return this.expireCounters.run(now).changes;
  }
}
