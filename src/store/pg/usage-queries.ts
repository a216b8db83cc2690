/**
 * GET /api/usage in cluster mode: the usage report (src/governance/usage-query.ts) from the request
 * logs in Postgres, every instance's requests, read in one snapshot. The whole hours of the period
 * come from request_log_rollups (request-log-rollups.ts), its edges (the start of "7d" and "30d", the
 * current hour) from the rows, added up in one statement; the same answers as reading every row
 * (test/cluster/pg-rollups.test.ts). `rollups: false` reads every row (the reference).
 */
import type pg from 'pg';
import {
  usageLimit, usageReport, usageStatements, usageValues,
  type UsageGroup, type UsageParams, type UsageReport, type UsageRow,
} from '../../governance/usage-query.js';
import { inSnapshot } from './log-queries.js';
import { hourPlan } from './rollup-plan.js';
import { positional } from './sql.js';

const dayOf = (column: string) => `to_char(to_timestamp(${column} / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
const STATEMENTS = usageStatements(dayOf('time'));

const GROUPS: Record<UsageGroup, string> = {
  model: "CASE WHEN model IS NULL THEN NULL ELSE COALESCE(provider, 'none') || '/' || model END",
  provider: 'provider',
  key: 'virtual_key_id',
  team: 'team_id',
  customer: 'customer_id',
  day: dayOf('hour'),
};

const FILTERS = `(CAST(@key AS TEXT) IS NULL OR virtual_key_id = @key)
  AND (CAST(@team AS TEXT) IS NULL OR team_id = @team)
  AND (CAST(@customer AS TEXT) IS NULL OR customer_id = @customer)`;

const COLUMNS = ['requests', 'errors', 'input_tokens', 'output_tokens', 'cached_tokens', 'reasoning_tokens', 'cost_usd', 'unknown_cost_requests'];
const ROLLUP_SUMS = COLUMNS.map((column) => `sum(${column === 'unknown_cost_requests' ? 'unpriced_requests' : column}) AS ${column}`).join(', ');
const OUTER_SUMS = COLUMNS.map((column) => `sum(${column}) AS ${column}`).join(', ');
const RAW_SUMS = `count(*), count(*) FILTER (WHERE status >= 400), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
  coalesce(sum(cached_tokens), 0), coalesce(sum(reasoning_tokens), 0), coalesce(sum(cost_usd), 0),
  count(*) FILTER (WHERE cost_known = 0 AND (input_tokens IS NOT NULL OR output_tokens IS NOT NULL))`;
const RAW_RANGE = '((time >= @raw1_from AND time < @raw1_to) OR (time >= @raw2_from AND time < @raw2_to))';

/** The rollups' rows of the whole hours and the rows of the edges, grouped by `group` (null: one total). */
function parts(group: UsageGroup | null): string {
  const rollupGroup = group === null ? '' : `${GROUPS[group]} AS "group", `;
  const rawGroup = group === null ? '' : `${group === 'day' ? dayOf('time') : GROUPS[group]}, `;
  const by = group === null ? '' : 'GROUP BY 1';
  return `SELECT ${rollupGroup}${ROLLUP_SUMS} FROM request_log_rollups WHERE hour >= @hours_from AND hour < @hours_to AND ${FILTERS} ${by}
    UNION ALL
    SELECT ${rawGroup}${RAW_SUMS} FROM request_logs WHERE ${RAW_RANGE} AND ${FILTERS} ${by}`;
}

const ROLLUP_STATEMENTS = {
  grouped: Object.fromEntries((Object.keys(GROUPS) as UsageGroup[]).map((group) => [group,
    `SELECT "group", ${OUTER_SUMS} FROM (${parts(group)}) parts
      GROUP BY 1 ORDER BY ${group === 'day' ? '1' : 'cost_usd DESC, requests DESC, 1 NULLS FIRST'} LIMIT @limit`])) as Record<UsageGroup, string>,
  // Sums over no rows are null: zero, as count(*) and coalesce(sum()) give over the rows.
  totals: `SELECT ${COLUMNS.map((column) => `coalesce(sum(${column}), 0) AS ${column}`).join(', ')} FROM (${parts(null)}) parts`,
};

export class PgUsageQueries {
  readonly #pool: pg.Pool;
  readonly #rollups: boolean;

  constructor(pool: pg.Pool, options: { rollups?: boolean } = {}) {
    this.#pool = pool;
    this.#rollups = options.rollups ?? true;
  }

  report(params: UsageParams): Promise<UsageReport> {
    const values: Record<string, unknown> = usageValues(params);
    const statements = this.#rollups ? ROLLUP_STATEMENTS : STATEMENTS;
    if (this.#rollups) {
      const plan = hourPlan(values.from as number, values.to as number);
      Object.assign(values, {
        hours_from: plan.hours[0], hours_to: plan.hours[1],
        raw1_from: plan.raw[0][0], raw1_to: plan.raw[0][1], raw2_from: plan.raw[1][0], raw2_to: plan.raw[1][1],
      });
      delete values.from;
      delete values.to;
    }
    return inSnapshot(this.#pool, async (client) => {
      const grouped = positional(statements.grouped[params.group_by], { ...values, limit: usageLimit(params) + 1 });
      const totals = positional(statements.totals, values);
      const rows = (await client.query(grouped.text, grouped.values)).rows as UsageRow[];
      const sums = (await client.query(totals.text, totals.values)).rows[0] as Omit<UsageRow, 'group'>;
      return usageReport(params, rows, sums);
    });
  }
}
