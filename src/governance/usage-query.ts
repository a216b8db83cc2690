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

const WHERE = `time >= @from AND time < @to
  AND (@key IS NULL OR virtual_key_id = @key)
  AND (@team IS NULL OR team_id = @team)
  AND (@customer IS NULL OR customer_id = @customer)`;

function finish<T extends Omit<UsageRow, 'group' | 'tokens'>>(row: T): T & { tokens: number } {
  return { ...row, cost_usd: Math.round(row.cost_usd * 1e8) / 1e8, tokens: row.input_tokens + row.output_tokens };
}

export class UsageQueries {
  private readonly grouped: Record<UsageGroup, Statement>;
  private readonly totals: Statement;
  /** The groups and the totals in one read transaction, so both count the same requests (the log thread commits in between otherwise). */
  private readonly inSnapshot: (params: UsageParams) => UsageReport;

  constructor(db: SqliteDatabase) {
    const build = (group: UsageGroup): Statement =>
      db.prepare(`SELECT ${GROUP_SQL[group]} AS "group", ${SUMS} FROM request_logs WHERE ${WHERE}
        GROUP BY 1 ORDER BY ${group === 'day' ? '1' : 'cost_usd DESC, requests DESC, 1'} LIMIT @limit`);
    this.grouped = Object.fromEntries((Object.keys(GROUP_SQL) as UsageGroup[]).map((group) => [group, build(group)])) as Record<UsageGroup, Statement>;
    this.totals = db.prepare(`SELECT ${SUMS} FROM request_logs WHERE ${WHERE}`);
    this.inSnapshot = db.transaction((params: UsageParams) => this.read(params));
  }

  report(params: UsageParams): UsageReport {
    return this.inSnapshot(params);
  }

  private read(params: UsageParams): UsageReport {
    const from = periodStart(params.period, params.now);
    const values = { from, to: params.now + 1, key: params.key ?? null, team: params.team ?? null, customer: params.customer ?? null };
    const limit = params.limit ?? 1000;
    const rows = (this.grouped[params.group_by].all({ ...values, limit: limit + 1 }) as UsageRow[]).map((row) => finish(row));
    const truncated = rows.length > limit;
    if (truncated) rows.length = limit;
    const totals = finish(this.totals.get(values) as Omit<UsageRow, 'group'>);
    return { period: params.period, group_by: params.group_by, from, to: params.now, data: rows, truncated, totals };
  }
}
