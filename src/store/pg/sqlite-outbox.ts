/**
 * SQLite migration 11: the local side of configuration sharing (docs/cluster.md). Triggers on the
 * shared tables record each changed row's key in `config_outbox`, which the pusher drains to
 * Postgres. `config_sync` (one row) says whether recording is on (an instance with a database URL),
 * whether changes from Postgres are being applied (recording is off then: they are not pushed back)
 * and the Postgres version the replica holds. Without a database URL nothing is recorded.
 */
import type { SqliteDatabase } from '../database.js';
import { APPENDED_TABLES, quote, SHARED_TABLES, sharedRowSql, type SharedTable } from './shared-tables.js';

const RECORDING = '(SELECT enabled = 1 AND applying = 0 FROM config_sync WHERE id = 1)';

function keyArray(table: SharedTable, row: 'NEW' | 'OLD'): string {
  return `json_array(${table.key.map((column) => `${row}.${quote(column)}`).join(', ')})`;
}

function record(table: string, pk: string): string {
  return `INSERT INTO config_outbox (table_name, pk) VALUES ('${table}', ${pk});`;
}

/** The triggers of one shared table (exported: a later migration that adds a column to one drops and makes them again). */
export function outboxTriggers(db: SqliteDatabase, table: SharedTable): string {
  const name = table.name;
  const columns = (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(name) as Array<{ name: string }>).map((column) => column.name);
  const watched = table.local === undefined ? '' : ` OF ${columns.filter((column) => !table.local!.includes(column)).map(quote).join(', ')}`;
  const keyChanged = table.key.map((column) => `OLD.${quote(column)} IS NOT NEW.${quote(column)}`).join(' OR ');
  const when = (row: 'NEW' | 'OLD'): string => `${RECORDING} AND ${sharedRowSql(table, row)}`;
  return `
CREATE TRIGGER config_outbox_${name}_insert AFTER INSERT ON ${quote(name)} WHEN ${when('NEW')} BEGIN
  ${record(name, keyArray(table, 'NEW'))}
END;
CREATE TRIGGER config_outbox_${name}_update AFTER UPDATE${watched} ON ${quote(name)} WHEN ${when('NEW')} BEGIN
  ${record(name, keyArray(table, 'NEW'))}
  INSERT INTO config_outbox (table_name, pk) SELECT '${name}', ${keyArray(table, 'OLD')} WHERE ${keyChanged};
END;
CREATE TRIGGER config_outbox_${name}_delete AFTER DELETE ON ${quote(name)} WHEN ${when('OLD')} BEGIN
  ${record(name, keyArray(table, 'OLD'))}
END;`;
}

export function createConfigOutbox(db: SqliteDatabase): void {
  db.exec(`
CREATE TABLE config_sync (
  id        INTEGER PRIMARY KEY CHECK (id = 1),
  enabled   INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
  applying  INTEGER NOT NULL DEFAULT 0 CHECK (applying IN (0, 1)),
  version   INTEGER NOT NULL DEFAULT 0                -- the Postgres config version the replica holds
);
INSERT INTO config_sync (id) VALUES (1);
CREATE TABLE config_outbox (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  table_name  TEXT NOT NULL,
  pk          TEXT NOT NULL                           -- JSON array of the row's primary key
);`);
  for (const table of SHARED_TABLES) db.exec(outboxTriggers(db, table));
  for (const name of APPENDED_TABLES) {
    db.exec(`CREATE TRIGGER config_outbox_${name}_insert AFTER INSERT ON ${quote(name)} WHEN ${RECORDING} BEGIN
  ${record(name, 'json_array(NEW.id)')}
END;`);
  }
}
