/**
 * GET /api/usage: requests, tokens and cost from the request logs, for a key,
 * team or customer (or everything), over a period, grouped by model,
 * provider, key, team, customer or day (UTC). Costs of requests whose price is unknown are
 * not in cost_usd: unknown_cost_requests counts them.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from '../store/database.js';

export type UsagePeriod = 'today' | '7d' | '30d' | 'month';
export type UsageGroup = 'model' | 'provider' | 'key' | 'team' | 'customer' | 'day';

export interface UsageParams {
  key?: string;
  team?: string;
  customer?: string;
  period: UsagePeriod;
  group_by: UsageGroup;
  now: number;
  /** Most groups returned (the costliest first; days in order). Default 1000. */
  limit?: number;
}

export interface UsageRow {
  /**
   * The group's value: "provider/model", a provider name, a virtual key, team or customer id, or a day
   * "2026-11-29"; null for the requests without one (refused before routing, no key, no team, no customer).
   */
  group: string | null;
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  tokens: number;
  cost_usd: number;
  unknown_cost_requests: number;
}

export interface UsageReport {
  period: UsagePeriod;
  group_by: UsageGroup;
  from: number;
  to: number;
  data: UsageRow[];
  /** True when there were more groups than `limit` (totals still count them all). */
  truncated: boolean;
  totals: Omit<UsageRow, 'group'>;
}

const DAY_MS = 86_400_000;

export function periodStart(period: UsagePeriod, now: number): number {
  const date = new Date(now);
  const today = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  switch (period) {
    case 'today': return today;
    case '7d': return now - 7 * DAY_MS;
    case '30d': return now - 30 * DAY_MS;
    case 'month': return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
  }
}

const GROUP_SQL: Record<UsageGroup, string> = {
  model: "CASE WHEN model IS NULL THEN NULL ELSE COALESCE(provider, 'none') || '/' || model END",
  provider: 'provider',
  key: 'virtual_key_id',
  team: 'team_id',
  customer: 'customer_id',
  day: "strftime('%Y-%m-%d', time / 1000, 'unixepoch')",
};

const SUMS = `COUNT(*) AS requests,
  COALESCE(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), 0) AS errors,
  COALESCE(SUM(input_tokens), 0) AS input_tokens,
  COALESCE(SUM(output_tokens), 0) AS output_tokens,
  COALESCE(SUM(cached_tokens), 0) AS cached_tokens,
  COALESCE(SUM(reasoning_tokens), 0) AS reasoning_tokens,
  COALESCE(SUM(cost_usd), 0) AS cost_usd,
  COALESCE(SUM(CASE WHEN cost_known = 0 AND (input_tokens IS NOT NULL OR output_tokens IS NOT NULL) THEN 1 ELSE 0 END), 0) AS unknown_cost_requests`;

// The casts say the parameters' type to Postgres (cluster mode: src/store/pg/usage-queries.ts); SQLite ignores them.
const WHERE = `time >= @from AND time < @to
  AND (CAST(@key AS TEXT) IS NULL OR virtual_key_id = @key)
  AND (CAST(@team AS TEXT) IS NULL OR team_id = @team)
  AND (CAST(@customer AS TEXT) IS NULL OR customer_id = @customer)`;

function finish<T extends Omit<UsageRow, 'group' | 'tokens'>>(row: T): T & { tokens: number } {
  return { ...row, cost_usd: Math.round(row.cost_usd * 1e8) / 1e8, tokens: row.input_tokens + row.output_tokens };
}

/** The statements of a report, with named parameters; `day` is the dialect's "YYYY-MM-DD" of `time` (UTC). */
export function usageStatements(day: string = GROUP_SQL.day): { grouped: Record<UsageGroup, string>; totals: string } {
  const expressions: Record<UsageGroup, string> = { ...GROUP_SQL, day };
  // Groups without a value (null) first on ties, as SQLite orders them.
  const build = (group: UsageGroup): string => `SELECT ${expressions[group]} AS "group", ${SUMS} FROM request_logs WHERE ${WHERE}
        GROUP BY 1 ORDER BY ${group === 'day' ? '1' : 'cost_usd DESC, requests DESC, 1 NULLS FIRST'} LIMIT @limit`;
  const grouped = Object.fromEntries((Object.keys(GROUP_SQL) as UsageGroup[]).map((group) => [group, build(group)])) as Record<UsageGroup, string>;
  return { grouped, totals: `SELECT ${SUMS} FROM request_logs WHERE ${WHERE}` };
}

/** The named parameters of a report's statements (the grouped one also takes `limit`). */
export function usageValues(params: UsageParams): { from: number; to: number; key: string | null; team: string | null; customer: string | null } {
  const from = periodStart(params.period, params.now);
  return { from, to: params.now + 1, key: params.key ?? null, team: params.team ?? null, customer: params.customer ?? null };
}

/** The report from the grouped rows (at most `limit` + 1) and the totals row. */
export function usageReport(params: UsageParams, grouped: UsageRow[], totals: Omit<UsageRow, 'group'>): UsageReport {
  const limit = usageLimit(params);
  const rows = grouped.map((row) => finish(row));
  const truncated = rows.length > limit;
  if (truncated) rows.length = limit;
  return { period: params.period, group_by: params.group_by, from: periodStart(params.period, params.now), to: params.now, data: rows, truncated, totals: finish(totals) };
}

export function usageLimit(params: UsageParams): number {
  return params.limit ?? 1000;
}

export class UsageQueries {
  private readonly grouped: Record<UsageGroup, Statement>;
  private readonly totals: Statement;
  /** The groups and the totals in one read transaction, so both count the same requests (the log thread commits in between otherwise). */
  private readonly inSnapshot: (params: UsageParams) => UsageReport;

  constructor(db: SqliteDatabase) {
    const statements = usageStatements();
    this.grouped = Object.fromEntries(Object.entries(statements.grouped).map(([group, sql]) => [group, db.prepare(sql)])) as Record<UsageGroup, Statement>;
    this.totals = db.prepare(statements.totals);
    this.inSnapshot = db.transaction((params: UsageParams) => this.read(params));
  }

  report(params: UsageParams): UsageReport {
    return this.inSnapshot(params);
  }

  private read(params: UsageParams): UsageReport {
    const values = usageValues(params);
    const rows = this.grouped[params.group_by].all({ ...values, limit: usageLimit(params) + 1 }) as UsageRow[];
    return usageReport(params, rows, this.totals.get(values) as Omit<UsageRow, 'group'>);
  }
}
