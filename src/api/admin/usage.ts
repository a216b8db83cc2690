/**
 * GET /api/usage?key=&team=&customer=&period=today|7d|30d|month&group_by=model|provider|key|day
 * Requests, tokens and cost from the request logs. `key`, `team` and
 * `customer` take an id (or, for teams and customers, a name).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { GatewayError } from '../../errors/gateway-error.js';
import type { Governance } from '../../governance/governance.js';
import { parseQuery } from './http.js';

const usageQuery = z.strictObject({
  key: z.string().min(1).optional(),
  team: z.string().min(1).optional(),
  customer: z.string().min(1).optional(),
  period: z.enum(['today', '7d', '30d', 'month']).default('30d'),
  group_by: z.enum(['model', 'provider', 'key', 'day']).default('model'),
});

function idOf(map: Map<string, { id: string; name: string }>, value: string | undefined): string | undefined {
  if (value === undefined || map.has(value)) return value;
  for (const record of map.values()) if (record.name === value) return record.id;
  return value;
}

export function registerUsageRoutes(api: FastifyInstance): void {
  api.get('/usage', async (request) => {
    const query = parseQuery(usageQuery, request.query);
    const governance: Governance = api.governance;
    const usage = governance.usage;
    if (usage === undefined) throw new GatewayError('HD_ERR_INTERNAL', 'Usage needs the store.');
    const report = usage.report({
      key: query.key,
      team: idOf(governance.registry.teams, query.team),
      customer: idOf(governance.registry.customers, query.customer),
      period: query.period,
      group_by: query.group_by,
      now: governance.now(),
    });
    if (query.group_by === 'key') {
      return { ...report, data: report.data.map((row) => ({ ...row, name: row.group === null ? null : (governance.registry.keys.get(row.group)?.name ?? null) })) };
    }
    return report;
  });
}
