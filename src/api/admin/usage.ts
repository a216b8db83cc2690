/**
 * GET /api/usage?key=&team=&customer=&period=today|7d|30d|month&group_by=model|provider|key|team|customer|day&limit=
 * Requests, tokens and cost from the request logs. `key`, `team` and
 * `customer` take an id (or, for teams and customers, a name). Grouped by
 * key, team or customer, each row also has the entity's `name` (null for the
 * row of requests without one, and for an entity deleted since).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { GatewayError } from '../../errors/gateway-error.js';
import type { Governance } from '../../governance/governance.js';
import type { UsageGroup } from '../../governance/usage-query.js';
import { parseQuery } from './http.js';
import { scopedTeam } from './team-scope.js';

const usageQuery = z.strictObject({
  key: z.string().min(1).optional(),
  team: z.string().min(1).optional(),
  customer: z.string().min(1).optional(),
  period: z.enum(['today', '7d', '30d', 'month']).default('30d'),
  group_by: z.enum(['model', 'provider', 'key', 'team', 'customer', 'day']).default('model'),
  limit: z.coerce.number().int().min(1).max(1000).default(1000),
});

function idOf(map: Map<string, { id: string; name: string }>, value: string | undefined): string | undefined {
  if (value === undefined || map.has(value)) return value;
  for (const record of map.values()) if (record.name === value) return record.id;
  return value;
}

/** The groups whose rows also carry the entity's name (a key, team or customer deleted since has none). */
const NAMED: Partial<Record<UsageGroup, (governance: Governance) => ReadonlyMap<string, { name: string }>>> = {
  key: (governance) => governance.registry.keys,
  team: (governance) => governance.registry.teams,
  customer: (governance) => governance.registry.customers,
};

export function registerUsageRoutes(api: FastifyInstance): void {
  api.get('/usage', async (request) => {
    const query = parseQuery(usageQuery, request.query);
    const governance: Governance = api.governance;
    // Cluster mode: every instance's requests, from Postgres.
    const usage = (api.hasDecorator('store') ? api.store.shared?.usage : undefined) ?? governance.usage;
    if (usage === undefined) throw new GatewayError('HD_ERR_INTERNAL', 'Usage needs the store.');
    const report = await usage.report({
      key: query.key,
      team: scopedTeam(request, idOf(governance.registry.teams, query.team), 'team') ?? undefined,
      customer: idOf(governance.registry.customers, query.customer),
      period: query.period,
      group_by: query.group_by,
      now: governance.now(),
      limit: query.limit,
    });
    const names = NAMED[query.group_by]?.(governance);
    if (names === undefined) return report;
    return { ...report, data: report.data.map((row) => ({ ...row, name: row.group === null ? null : (names.get(row.group)?.name ?? null) })) };
  });
}
