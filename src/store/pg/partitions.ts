/**
 * The request log's day partitions (request-log-schema.ts): `request_logs_pYYYYMMDD` holds the
 * requests of one UTC day. The writer creates today's and the next days' ahead, and any other day a
 * batch needs (a clock behind, a record replayed after an outage); retention drops whole days.
 *
 * Creation is idempotent and safe with several instances: each runs under one transaction-level
 * advisory lock, and `CREATE TABLE IF NOT EXISTS` is a no-op for a day another instance made.
 */
import type pg from 'pg';
import type { PgQueryable } from './connection.js';

export const DAY_MS = 24 * 60 * 60 * 1000;
/** Days created ahead of today by the writer. */
export const DAYS_AHEAD = 3;
/** The advisory lock key of partition changes (any 64-bit number no other lock uses). */
const PARTITION_LOCK = 0x4864_6c67; // "Hdlg"

const NAME = /^request_logs_p(\d{4})(\d{2})(\d{2})$/;

export function dayStart(time: number): number {
  return Math.floor(time / DAY_MS) * DAY_MS;
}

export function partitionName(day: number): string {
  const date = new Date(day);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `request_logs_p${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}`;
}

/** The day a partition name stands for, or undefined (not one of ours). */
export function partitionDay(name: string): number | undefined {
  const match = NAME.exec(name);
  return match === null ? undefined : Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
}

export interface PartitionInfo {
  name: string;
  /** Start of its UTC day, ms. */
  day: number;
  /** pg_total_relation_size: table, indexes and TOAST. */
  bytes: number;
}

/** The request log's day partitions, oldest first. */
export async function listPartitions(db: PgQueryable): Promise<PartitionInfo[]> {
  const result = await db.query<{ name: string; bytes: number }>(`SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'request_logs'::regclass`);
  const partitions: PartitionInfo[] = [];
  for (const row of result.rows) {
    const day = partitionDay(row.name);
    if (day !== undefined) partitions.push({ name: row.name, day, bytes: Number(row.bytes) });
  }
  return partitions.sort((a, b) => a.day - b.day);
}

/**
 * Creates the partitions of these days that do not exist yet (one transaction, under the advisory
 * lock). `client` is a dedicated connection (a transaction), not a pool.
 */
export async function ensurePartitions(client: pg.ClientBase, days: Iterable<number>): Promise<string[]> {
  const wanted = [...new Set([...days].map(dayStart))].sort((a, b) => a - b);
  if (wanted.length === 0) return [];
  const created: string[] = [];
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
    const existing = await client.query<{ name: string }>(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'request_logs'::regclass`);
    const have = new Set(existing.rows.map((row) => row.name));
    for (const day of wanted) {
      const name = partitionName(day);
      if (have.has(name)) continue;
      await client.query(`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF request_logs FOR VALUES FROM (${day}) TO (${day + DAY_MS})`);
      created.push(name);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return created;
}

/** Today's partition and the next DAYS_AHEAD days'. */
export function daysAhead(now: number): number[] {
  const today = dayStart(now);
  return Array.from({ length: DAYS_AHEAD + 1 }, (_, index) => today + index * DAY_MS);
}

/** Drops one day partition; waits at most `lockTimeoutMs` for the table lock (inserts hold it briefly). */
export async function dropPartition(client: pg.ClientBase, name: string, lockTimeoutMs = 5000): Promise<void> {
  if (partitionDay(name) === undefined) throw new Error(`not a request log partition: ${name}`);
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}`);
    await client.query(`DROP TABLE IF EXISTS ${name}`);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
