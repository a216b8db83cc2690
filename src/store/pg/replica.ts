/**
 * The local SQLite side of configuration sharing: the outbox the triggers fill (sqlite-outbox.ts),
 * and the replica of what Postgres holds, written with recording off so that what comes from
 * Postgres is not pushed back. Synchronous, like every repository on the request path.
 */
import type { SqliteDatabase } from '../database.js';
import { isSharedRow, quote, SHARED_TABLES, sharedRowSql, sharedTable } from './shared-tables.js';

export type Row = Record<string, unknown>;

/** One row as Postgres holds it now; `row` null: deleted. */
export interface RowChange {
  table: string;
  pk: unknown[];
  row: Row | null;
}

export interface OutboxEntry {
  seq: number;
  table: string;
  pk: unknown[];
}

type Statement = import('better-sqlite3').Statement<unknown[]>;

export class Replica {
  readonly #db: SqliteDatabase;
  readonly #columns = new Map<string, string[]>();
  readonly #statements = new Map<string, Statement>();

  constructor(db: SqliteDatabase) {
    this.#db = db;
  }

  #sql(text: string): Statement {
    let statement = this.#statements.get(text);
    if (statement === undefined) {
      statement = this.#db.prepare<unknown[]>(text);
      this.#statements.set(text, statement);
    }
    return statement;
  }

  columns(table: string): string[] {
    let columns = this.#columns.get(table);
    if (columns === undefined) {
      columns = (this.#db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as Array<{ name: string }>).map((column) => column.name);
      this.#columns.set(table, columns);
    }
    return columns;
  }

  /** The Postgres version the replica holds. */
  get version(): number {
    return (this.#sql('SELECT version FROM config_sync WHERE id = 1').get() as { version: number }).version;
  }

  /** Turns recording on; says whether it was on already (off: local writes since were not recorded). */
  enable(): boolean {
    const was = (this.#sql('SELECT enabled FROM config_sync WHERE id = 1').get() as { enabled: number }).enabled === 1;
    if (!was) this.#sql('UPDATE config_sync SET enabled = 1 WHERE id = 1').run();
    return was;
  }

  /** No database URL: nothing is recorded, and what was waiting to be pushed is dropped. */
  disable(): void {
    this.#db.transaction(() => {
      this.#sql('UPDATE config_sync SET enabled = 0 WHERE id = 1').run();
      this.#sql('DELETE FROM config_outbox').run();
    })();
  }

  hasPending(): boolean {
    return this.#sql('SELECT 1 FROM config_outbox LIMIT 1').get() !== undefined;
  }

  pendingCount(): number {
    return (this.#sql('SELECT count(*) AS n FROM config_outbox').get() as { n: number }).n;
  }

  /** The oldest recorded changes, each row once (at its first place: a row is created before those that reference it). */
  pending(limit: number): { entries: OutboxEntry[]; lastSeq: number } {
    const rows = this.#sql('SELECT seq, table_name, pk FROM config_outbox ORDER BY seq LIMIT ?').all(limit) as Array<{ seq: number; table_name: string; pk: string }>;
    const seen = new Set<string>();
    const entries: OutboxEntry[] = [];
    for (const row of rows) {
      const id = `${row.table_name}\u0000${row.pk}`;
      if (seen.has(id)) continue;
      seen.add(id);
      entries.push({ seq: row.seq, table: row.table_name, pk: JSON.parse(row.pk) as unknown[] });
    }
    return { entries, lastSeq: rows.length === 0 ? 0 : rows[rows.length - 1].seq };
  }

  /** Drops what was pushed. */
  acknowledge(lastSeq: number): void {
    this.#sql('DELETE FROM config_outbox WHERE seq <= ?').run(lastSeq);
  }

  /** A row by primary key (key: the table's key columns; for an appended table, its id). */
  read(table: string, pk: unknown[], key: readonly string[] = sharedTable(table).key): Row | undefined {
    const where = key.map((column) => `${quote(column)} IS ?`).join(' AND ');
    return this.#sql(`SELECT * FROM ${quote(table)} WHERE ${where}`).get(...pk) as Row | undefined;
  }

  /** A table's rows; of a shared table, only the shared ones. */
  rows(table: string): Row[] {
    const spec = SHARED_TABLES.find((shared) => shared.name === table);
    return this.#sql(`SELECT * FROM ${quote(table)} WHERE ${spec === undefined ? 'TRUE' : sharedRowSql(spec)}`).all() as Row[];
  }

  /** Any shared configuration at all (moving from one node: Postgres is seeded from it). */
  hasConfiguration(): boolean {
    return SHARED_TABLES.some((table) => this.#sql(`SELECT 1 FROM ${quote(table.name)} WHERE ${sharedRowSql(table)} LIMIT 1`).get() !== undefined);
  }

  /**
   * Applies changes from Postgres in order, with recording off. `versions[i]` numbers changes[i];
   * those at or below the replica's version are skipped (another process on this data dir applied
   * them). The replica's version becomes `upTo`. Returns how many were applied.
   */
  applyChanges(changes: readonly RowChange[], versions: readonly number[], upTo: number): number {
    return this.#applying(() => {
      const current = this.version;
      let applied = 0;
      changes.forEach((change, index) => {
        if (versions[index] <= current) return;
        this.#put(change);
        applied++;
      });
      if (upTo > current) this.#sql('UPDATE config_sync SET version = ? WHERE id = 1').run(upTo);
      return applied;
    });
  }

  /** Puts rows back as Postgres has them (a local write Postgres refused), recording off, version unchanged. */
  restore(changes: readonly RowChange[]): void {
    this.#applying(() => {
      for (const change of changes) this.#put(change);
    });
  }

  /** Replaces every shared table with Postgres's rows (a new or far-behind replica) at `version`. */
  replaceAll(tables: ReadonlyMap<string, Row[]>, version: number): void {
    this.#applying(() => {
      this.#db.pragma('defer_foreign_keys = ON');
      for (const table of [...SHARED_TABLES].reverse()) this.#sql(`DELETE FROM ${quote(table.name)} WHERE ${sharedRowSql(table)}`).run();
      for (const table of SHARED_TABLES) {
        for (const row of tables.get(table.name) ?? []) if (isSharedRow(table, row[table.key[0]])) this.#insert(table.name, row);
      }
      this.#sql('UPDATE config_sync SET version = ? WHERE id = 1').run(version);
    });
  }

  #applying<T>(work: () => T): T {
    return this.#db.transaction(() => {
      this.#sql('UPDATE config_sync SET applying = 1 WHERE id = 1').run();
      const result = work();
      this.#sql('UPDATE config_sync SET applying = 0 WHERE id = 1').run();
      return result;
    })();
  }

  #put(change: RowChange): void {
    const table = sharedTable(change.table);
    if (!isSharedRow(table, change.pk[0])) return;
    if (change.row === null) {
      const where = table.key.map((column) => `${quote(column)} = ?`).join(' AND ');
      this.#sql(`DELETE FROM ${quote(table.name)} WHERE ${where}`).run(...change.pk);
      return;
    }
    this.#upsert(table.name, change.row, true);
  }

  #insert(table: string, row: Row): void {
    const columns = this.columns(table);
    this.#sql(`INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`)
      .run(...columns.map((column) => row[column] ?? null));
  }

  /**
   * Insert or update by primary key. Postgres is the truth: a local row that holds one of this
   * row's unique values under another key (a local write that lost to another instance's) goes.
   */
  #upsert(name: string, row: Row, retry: boolean): void {
    const table = sharedTable(name);
    const columns = this.columns(name);
    const updated = columns.filter((column) => !table.key.includes(column) && !(table.local ?? []).includes(column));
    const sql = `INSERT INTO ${quote(name)} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ` +
      `ON CONFLICT (${table.key.map(quote).join(', ')}) DO ` +
      (updated.length === 0 ? 'NOTHING' : `UPDATE SET ${updated.map((column) => `${quote(column)} = excluded.${quote(column)}`).join(', ')}`);
    try {
      this.#sql(sql).run(...columns.map((column) => row[column] ?? null));
    } catch (error) {
      const conflict = /^UNIQUE constraint failed: (.+)$/.exec((error as Error).message);
      if (!retry || conflict === null || (error as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw error;
      const unique = conflict[1].split(', ').map((qualified) => qualified.slice(qualified.indexOf('.') + 1));
      const where = unique.map((column) => `${quote(column)} = ?`).join(' AND ');
      const sameKey = table.key.map((column) => `${quote(column)} IS ?`).join(' AND ');
      this.#sql(`DELETE FROM ${quote(name)} WHERE ${where} AND NOT (${sameKey})`)
        .run(...unique.map((column) => row[column] ?? null), ...table.key.map((column) => row[column] ?? null));
      this.#upsert(name, row, false);
    }
  }
}
