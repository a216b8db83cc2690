/**
 * GET /api/usage in cluster mode: the usage report (src/governance/usage-query.ts) from the request
 * logs in Postgres, every instance's requests. The same statements as SQLite's but for the day of a
 * time (UTC), read in one snapshot.
 */
import type pg from 'pg';
import {
  usageLimit, usageReport, usageStatements, usageValues,
  type UsageParams, type UsageReport, type UsageRow,
} from '../../governance/usage-query.js';
import { inSnapshot } from './log-queries.js';
import { positional } from './sql.js';

const STATEMENTS = usageStatements("to_char(to_timestamp(time / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')");

export class PgUsageQueries {
  constructor(private readonly pool: pg.Pool) {}

  report(params: UsageParams): Promise<UsageReport> {
    const values = usageValues(params);
    return inSnapshot(this.pool, async (client) => {
      const grouped = positional(STATEMENTS.grouped[params.group_by], { ...values, limit: usageLimit(params) + 1 });
      const totals = positional(STATEMENTS.totals, values);
      const rows = (await client.query(grouped.text, grouped.values)).rows as UsageRow[];
      const sums = (await client.query(totals.text, totals.values)).rows[0] as Omit<UsageRow, 'group'>;
      return usageReport(params, rows, sums);
    });
  }
}
