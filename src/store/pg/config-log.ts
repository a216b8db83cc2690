/**
 * The Postgres side of configuration sharing: writing an instance's changed rows (upsert or
 * delete by primary key, each numbered in config_changes), and reading the changes after a version
 * or the whole configuration at one version.
 */
import type pg from 'pg';
import { isRejection } from './pool.js';
import type { Row, RowChange } from './replica.js';
import { APPENDED_TABLES, quote, SHARED_TABLES, sharedTable } from './shared-tables.js';

/** A change to write: the row as the instance holds it now (null: gone). */
export interface LocalChange {
  table: string;
  pk: unknown[];
  row: Row | null;
}

export interface Rejected {
  change: LocalChange;
  error: Error;
}

export interface PushResult {
  /** The version of the last change written (unchanged: nothing written). */
  version: number | undefined;
  rejected: Rejected[];
}

function upsertSql(name: string, columns: readonly string[]): string {
  const table = sharedTable(name);
  const updated = columns.filter((column) => !table.key.includes(column) && !(table.local ?? []).includes(column));
  const placeholders = columns.map((_, index) => `$${index + 1}`).join(', ');
  return `INSERT INTO ${quote(name)} (${columns.map(quote).join(', ')}) VALUES (${placeholders}) ` +
    `ON CONFLICT (${table.key.map(quote).join(', ')}) DO ` +
    (updated.length === 0 ? 'NOTHING' : `UPDATE SET ${updated.map((column) => `${quote(column)} = excluded.${quote(column)}`).join(', ')}`) +
    ' RETURNING *';
}

const keyWhere = (key: readonly string[], from = 1): string => key.map((column, index) => `${quote(column)} = $${index + from}`).join(' AND ');

/**
 * Writes changes in one transaction and numbers them in config_changes under the config_state
 * row's lock, taken last and held for one statement: pushers of every instance queue there, so
 * versions commit in order; `channel` is notified with the last version. A change Postgres refuses
 * (another instance's row holds the same unique value) makes the batch run again with a savepoint
 * per change, so that only the refused ones are left out (returned as rejected).
 */
export async function pushChanges(pool: pg.Pool, changes: readonly LocalChange[], origin: string, channel: string): Promise<PushResult> {
  const client = await pool.connect();
  try {
    try {
      return await pushOnce(client, changes, origin, channel, false);
    } catch (error) {
      if (!isRejection(error)) throw error;
      return await pushOnce(client, changes, origin, channel, true);
    }
  } finally {
    client.release();
  }
}

async function pushOnce(client: pg.PoolClient, changes: readonly LocalChange[], origin: string, channel: string, savepoints: boolean): Promise<PushResult> {
  const rejected: Rejected[] = [];
  const written: Array<{ change: LocalChange; row: Row | null }> = [];
  let version: number | undefined;
  await client.query('BEGIN');
  try {
    for (const change of changes) {
      if (savepoints) await client.query('SAVEPOINT change');
      try {
        const result = await writeChange(client, change);
        if (result !== undefined) written.push({ change, row: result.row });
        if (savepoints) await client.query('RELEASE SAVEPOINT change');
      } catch (error) {
        if (!savepoints || !isRejection(error)) throw error;
        await client.query('ROLLBACK TO SAVEPOINT change');
        rejected.push({ change, error: error as Error });
      }
    }
    if (written.length > 0) {
      const numbered = await client.query<{ version: number }>(
        `WITH next AS (UPDATE config_state SET version = version + $1 WHERE id = 1 RETURNING version),
         logged AS (
           INSERT INTO config_changes (version, time, table_name, pk, row_data, origin)
           SELECT next.version - $1 + u.n, $2, u.t, u.k, u.r, $3
           FROM next, unnest($4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS u(t, k, r, n)
         )
         SELECT version, pg_notify($7, version::text) FROM next`,
        [
          written.length, Date.now(), origin,
          written.map((entry) => entry.change.table),
          written.map((entry) => JSON.stringify(entry.change.pk)),
          written.map((entry) => (entry.row === null ? null : JSON.stringify(entry.row))),
          channel,
        ],
      );
      version = Number(numbered.rows[0].version);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return { version, rejected };
}

/** Writes one change; undefined when there was nothing to record (an appended row, a delete of a row Postgres never had). */
async function writeChange(client: pg.PoolClient, change: LocalChange): Promise<{ row: Row | null } | undefined> {
  if (APPENDED_TABLES.includes(change.table)) {
    if (change.row === null) return undefined;
    const columns = Object.keys(change.row).filter((column) => column !== 'id');
    await client.query(
      `INSERT INTO ${quote(change.table)} (${columns.map(quote).join(', ')}) VALUES (${columns.map((_, index) => `$${index + 1}`).join(', ')})`,
      columns.map((column) => change.row![column]),
    );
    return undefined;
  }
  const table = sharedTable(change.table);
  if (change.row === null) {
    const deleted = await client.query(`DELETE FROM ${quote(table.name)} WHERE ${keyWhere(table.key)}`, change.pk);
    return deleted.rowCount === 0 ? undefined : { row: null };
  }
  const columns = Object.keys(change.row);
  const result = await client.query<Row>(upsertSql(table.name, columns), columns.map((column) => change.row![column]));
  return { row: result.rows[0] ?? change.row };
}

export interface ChangeRecord extends RowChange {
  version: number;
  origin: string;
}

/** The changes after `after`, oldest first. */
export async function changesAfter(pool: pg.Pool, after: number, limit: number): Promise<ChangeRecord[]> {
  const result = await pool.query<{ version: number; table_name: string; pk: string; row_data: string | null; origin: string }>(
    'SELECT version, table_name, pk, row_data, origin FROM config_changes WHERE version > $1 ORDER BY version LIMIT $2',
    [after, limit],
  );
  return result.rows.map((row) => ({
    version: Number(row.version),
    table: row.table_name,
    pk: JSON.parse(row.pk) as unknown[],
    row: row.row_data === null ? null : (JSON.parse(row.row_data) as Row),
    origin: row.origin,
  }));
}

export async function currentVersion(pool: pg.Pool): Promise<number> {
  return Number((await pool.query<{ version: number }>('SELECT version FROM config_state WHERE id = 1')).rows[0].version);
}

/** Every shared table's rows and the version they are at, read in one snapshot. */
export async function snapshot(pool: pg.Pool): Promise<{ version: number; tables: Map<string, Row[]> }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const version = Number((await client.query<{ version: number }>('SELECT version FROM config_state WHERE id = 1')).rows[0].version);
    const tables = new Map<string, Row[]>();
    for (const table of SHARED_TABLES) tables.set(table.name, (await client.query<Row>(`SELECT * FROM ${quote(table.name)}`)).rows);
    await client.query('COMMIT');
    return { version, tables };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Rows as Postgres holds them now (to put back a local write it refused). */
export async function currentRows(pool: pg.Pool, keys: ReadonlyArray<{ table: string; pk: unknown[] }>): Promise<RowChange[]> {
  const rows: RowChange[] = [];
  for (const { table, pk } of keys) {
    const spec = sharedTable(table);
    const result = await pool.query<Row>(`SELECT * FROM ${quote(table)} WHERE ${keyWhere(spec.key)}`, pk);
    rows.push({ table, pk, row: result.rows[0] ?? null });
  }
  return rows;
}

/** No configuration and no change yet: a new cluster (an instance moving from one node seeds it). */
export async function isEmpty(pool: pg.Pool): Promise<boolean> {
  if ((await currentVersion(pool)) > 0) return false;
  for (const table of SHARED_TABLES) {
    if ((await pool.query(`SELECT 1 FROM ${quote(table.name)} LIMIT 1`)).rowCount !== 0) return false;
  }
  return true;
}

/** Drops changes older than `before` (ms), keeping the last one: a replica behind them takes a snapshot. */
export async function pruneChanges(pool: pg.Pool, before: number): Promise<number> {
  const result = await pool.query('DELETE FROM config_changes WHERE time < $1 AND version < (SELECT version FROM config_state WHERE id = 1)', [before]);
  return result.rowCount ?? 0;
}
