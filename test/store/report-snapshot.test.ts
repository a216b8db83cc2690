/**
 * The usage report and the log stats read several statements each. The request-log thread writes
 * through its own connection and can commit between two of them; each report must still count the
 * same requests everywhere (its rows and its totals). Here a second connection commits a log right
 * after the report's first statement, every time, which is the race a busy gateway hits by chance.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Statement } from 'better-sqlite3';
import { UsageQueries } from '../../src/governance/usage-query.js';
import type { SqliteDatabase } from '../../src/store/database.js';
import { LogQueries } from '../../src/store/log-queries.js';
import type { LogWriter } from '../../src/store/log-writer.js';
import { logRecord, mainAndLogConnections } from './helpers.js';

const NOW = Date.UTC(2026, 10, 29, 12, 0, 0);

describe('reports read one snapshot while the log thread commits', () => {
  let connections: ReturnType<typeof mainAndLogConnections>;
  let reader: SqliteDatabase;
  let writer: LogWriter;
  /** Called once after the reader's first statement ran, then cleared. */
  let afterFirstRead: (() => void) | undefined;

  const log = (id: string) => {
    writer.enqueue(logRecord({ id, time: NOW - 60_000, virtual_key_id: 'vk-1', cost_usd: 0.5 }));
    writer.flush();
  };

  beforeEach(() => {
    connections = mainAndLogConnections();
    ({ main: reader, logs: writer } = connections);
    log('before');
    // Every statement the reader prepares from here on commits the pending write after its first run.
    const prepare = reader.prepare.bind(reader);
    reader.prepare = ((sql: string) => {
      const statement = prepare(sql) as Statement;
      for (const method of ['all', 'get'] as const) {
        const run = statement[method].bind(statement) as (...args: unknown[]) => unknown;
        (statement as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
          const result = run(...args);
          const hook = afterFirstRead;
          afterFirstRead = undefined;
          hook?.();
          return result;
        };
      }
      return statement;
    }) as typeof reader.prepare;
  });
  afterEach(() => connections.close());

  it('the usage report: its rows and its totals count the same requests', () => {
    const usage = new UsageQueries(reader);
    afterFirstRead = () => log('during');
    const report = usage.report({ period: 'today', group_by: 'key', now: NOW });
    expect(afterFirstRead).toBeUndefined();
    expect(report.data).toEqual([expect.objectContaining({ group: 'vk-1', requests: 1, cost_usd: 0.5 })]);
    expect(report.totals).toMatchObject({ requests: 1, cost_usd: 0.5 });
    // The next report sees the log committed during the last one.
    const next = usage.report({ period: 'today', group_by: 'key', now: NOW });
    expect(next.data).toEqual([expect.objectContaining({ group: 'vk-1', requests: 2, cost_usd: 1 })]);
    expect(next.totals).toMatchObject({ requests: 2, cost_usd: 1 });
  });

  it('the log stats: totals, buckets and top lists count the same requests', () => {
    const queries = new LogQueries(reader, { now: () => NOW });
    afterFirstRead = () => log('during');
    const stats = queries.logStats({ from: NOW - 3_600_000, to: NOW });
    expect(afterFirstRead).toBeUndefined();
    expect(stats.totals.requests).toBe(1);
    expect(stats.buckets.reduce((sum, bucket) => sum + bucket.requests, 0)).toBe(1);
    expect(stats.top_keys).toEqual([expect.objectContaining({ virtual_key_id: 'vk-1', requests: 1 })]);
    expect(queries.logStats({ from: NOW - 3_600_000, to: NOW }).totals.requests).toBe(2);
  });
});
