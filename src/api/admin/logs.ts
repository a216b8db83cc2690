/**
 * /api/logs (filtered, sorted, cursor-paginated), /api/logs/stats (totals,
 * latency percentiles, tokens and cost in time buckets), /api/logs/{id}
 * (one request in full), and /api/audit (configuration changes, newest first).
 * Reads flush the log queue first, so a request that just finished is listed. In cluster mode the
 * queries read Postgres (every instance's requests) and return promises; SQLite's return values.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { notFound, parseQuery, parseTime } from './http.js';
import { requireOwnTeam, scopedTeam } from './team-scope.js';

const time = z.string().transform((value, ctx) => {
  const parsed = parseTime(value);
  if (parsed === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected milliseconds since the epoch or an ISO 8601 date' });
    return z.NEVER;
  }
  return parsed;
});
const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const text = z.string().min(1).max(512);

const listQuery = z.strictObject({
  from: time.optional(),
  to: time.optional(),
  provider: text.optional(),
  model: text.optional(),
  status_class: z.enum(['2xx', '3xx', '4xx', '5xx']).optional(),
  virtual_key_id: text.optional(),
  q: z.string().max(512).optional(),
  sort: z.enum(['time', 'latency', 'cost']).optional(),
  order: z.enum(['asc', 'desc']).optional(),
  limit: count(1, 500).optional(),
  cursor: z.string().max(1024).optional(),
});

const statsQuery = z.strictObject({
  from: time.optional(),
  to: time.optional(),
  bucket_ms: count(1, 365 * 24 * 3600 * 1000).optional(),
  top: count(1, 100).optional(),
});

const auditQuery = z.strictObject({
  actor: text.optional(),
  user_id: text.optional(),
  action: text.optional(),
  target: text.optional(),
  from: time.optional(),
  to: time.optional(),
  limit: count(1, 500).optional(),
  cursor: z.string().max(1024).optional(),
});

export function registerLogRoutes(api: FastifyInstance): void {
  const store = api.store;

  api.get('/logs', async (request) => {
    const query = parseQuery(listQuery, request.query);
    store.logs.flush();
    const page = await store.logReader.listLogs({ ...query, team_id: scopedTeam(request, undefined, 'team_id') ?? undefined });
    return { data: page.items, next_cursor: page.next_cursor };
  });

  api.get('/logs/stats', async (request) => {
    const query = parseQuery(statsQuery, request.query);
    store.logs.flush();
    return await store.logReader.logStats({ ...query, team_id: scopedTeam(request, undefined, 'team_id') ?? undefined });
  });

  api.get<{ Params: { id: string } }>('/logs/:id', async (request) => {
    store.logs.flush();
    const log = await store.logReader.getLog(request.params.id);
    if (log === undefined) throw notFound(`No request log has id "${request.params.id}" (it may have expired).`, 'id');
    requireOwnTeam(request, log.team_id, `request log with id "${request.params.id}"`);
    // Bodies are for admins, operators and users granted view_bodies.
    if (!request.principal.viewBodies && (log.request_body !== null || log.response_body !== null)) {
      return { ...log, request_body: null, response_body: null, bodies_hidden: true };
    }
    return log;
  });

  api.get('/audit', async (request) => {
    const query = parseQuery(auditQuery, request.query);
    const page = store.config.listAudit(query);
    return { data: page.items, next_cursor: page.next_cursor };
  });
}
