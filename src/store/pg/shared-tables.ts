/**
 * The configuration every instance of a cluster shares through Postgres (docs/cluster.md), in the
 * order their foreign keys allow (a table after those it references). Spend, rate-limit counters,
 * request logs and stored responses are not in it: counters are Redis's, logs are written apart.
 */
import { SPEND_WATERMARK_SETTING } from '../spend-watermark.js';

export interface SharedTable {
  name: string;
  /** The primary key's columns. */
  key: readonly string[];
  /**
   * Columns each instance keeps for itself (written on every use: shared they would turn each
   * request into a cluster-wide change): a local write of only these is not pushed, and a row
   * that arrives from Postgres leaves the local values as they are.
   */
  local?: readonly string[];
  /** Rows that belong to each instance (by their first key column's value): never pushed, pulled or replaced. */
  localRows?: readonly string[];
}

export const SHARED_TABLES: readonly SharedTable[] = [
  { name: 'providers', key: ['id'] },
  { name: 'provider_keys', key: ['id'] },
  { name: 'model_groups', key: ['id'] },
  { name: 'aliases', key: ['alias'] },
  // The spend watermark numbers this instance's own request log (spend-watermark.ts).
  { name: 'settings', key: ['key'], localRows: [SPEND_WATERMARK_SETTING] },
  { name: 'customers', key: ['id'] },
  { name: 'teams', key: ['id'] },
  { name: 'virtual_keys', key: ['id'], local: ['last_used_at'] },
  { name: 'users', key: ['id'] },
  { name: 'sessions', key: ['id'], local: ['last_seen_at'] },
  { name: 'api_tokens', key: ['id'], local: ['last_used_at'] },
  { name: 'auth_state', key: ['key'] },
  { name: 'mcp_servers', key: ['name'] },
  { name: 'mcp_oauth_tokens', key: ['server'] },
  // Batch jobs: a batch made through one instance may be read, and its results charged, through another.
  { name: 'batch_files', key: ['id'] },
  { name: 'batch_jobs', key: ['id'] },
];

/**
 * Append-only tables: each instance's new rows are added to Postgres (numbered there), never read
 * back into the replica. Postgres holds the whole cluster's audit log; each instance's own view
 * shows what was done through it.
 */
export const APPENDED_TABLES: readonly string[] = ['audit_log'];

const byName = new Map(SHARED_TABLES.map((table) => [table.name, table]));

export function sharedTable(name: string): SharedTable {
  const table = byName.get(name);
  if (table === undefined) throw new Error(`${name} is not a shared configuration table`);
  return table;
}

/** Whether a row is shared (not one of the table's per-instance rows). */
export function isSharedRow(table: SharedTable, firstKey: unknown): boolean {
  return table.localRows === undefined || !table.localRows.includes(String(firstKey));
}

/** SQL: the row (NEW or OLD in a trigger, nothing for a plain statement) is shared; 'TRUE' for a table without per-instance rows. */
export function sharedRowSql(table: SharedTable, row?: 'NEW' | 'OLD'): string {
  if (table.localRows === undefined) return 'TRUE';
  const column = `${row === undefined ? '' : `${row}.`}"${table.key[0]}"`;
  return `${column} NOT IN (${table.localRows.map((value) => `'${value.replaceAll("'", "''")}'`).join(', ')})`;
}

/** A table or column name from the list above, quoted for SQL (both dialects). */
export const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;
