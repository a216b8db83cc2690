/**
 * /api/virtual-keys: list, create (the secret is in the answer once), read
 * (with live spend, remaining budget and rate-limit state), update, rotate,
 * revoke, delete. Keys declared in the config file (source "file") can be
 * revoked here but are otherwise changed in the file.
 * Also the one registrar of the governance areas (teams, customers, usage, pricing).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { budgetSchema, rateLimitSchema } from '../../governance/config-schema.js';
import type { Governance } from '../../governance/governance.js';
import type { KeyInput } from '../../governance/entities.js';
import type { VirtualKeyRecord } from '../../governance/types.js';
import { keyDetailView, keyView } from '../../governance/views.js';
import { conflict, notFound, pageFields, pageOf, parseBody, parseQuery } from './http.js';
import { registerCustomerRoutes, registerTeamRoutes } from './teams.js';
import { registerPricingRoutes } from './pricing.js';
import { registerUsageRoutes } from './usage.js';
import { requireOwnTeam, scopedTeam } from './team-scope.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Virtual keys, teams, customers, budgets, rate limits, prices (src/governance). */
    governance: Governance;
  }
}

const patterns = z.array(z.string().min(1).max(200)).max(200);

/** An instant as ms since the epoch or an ISO 8601 string. */
const instant = z.union([
  z.number().int().positive(),
  z.string().datetime({ offset: true }).transform((value) => Date.parse(value)),
]);

const keyFields = {
  name: z.string().min(1).max(200),
  description: z.string().max(1000).nullable().optional(),
  team_id: z.string().min(1).nullable().optional(),
  customer_id: z.string().min(1).nullable().optional(),
  allowed_providers: patterns.nullable().optional(),
  allowed_models: patterns.nullable().optional(),
  allowed_mcp_servers: patterns.nullable().optional(),
  allowed_mcp_tools: patterns.nullable().optional(),
  budget: budgetSchema.nullable().optional(),
  rate_limits: z.array(rateLimitSchema).max(32).nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
  expires_at: instant.nullable().optional(),
};

const createBody = z.strictObject(keyFields);
const patchBody = z.strictObject({ ...keyFields, name: keyFields.name.optional() });
const listQuery = z.strictObject({
  team_id: z.string().optional(),
  customer_id: z.string().optional(),
  status: z.enum(['active', 'revoked', 'expired']).optional(),
  ...pageFields,
});

type Params = { id: string };

function toInput(body: z.infer<typeof patchBody>): KeyInput {
  const { rate_limits: limits, ...rest } = body;
  const input: KeyInput = rest;
  if (limits !== undefined) {
    input.rate_limits = limits === null ? null : limits.map((limit) => ({ ...limit, requests: limit.requests ?? null, tokens: limit.tokens ?? null }));
  }
  return input;
}

export function requireKey(governance: Governance, id: string, request?: FastifyRequest): VirtualKeyRecord {
  const record = governance.registry.keys.get(id);
  if (record === undefined) throw notFound(`No virtual key with id "${id}".`, 'id');
  if (request !== undefined) requireOwnTeam(request, record.team_id, `virtual key with id "${id}"`);
  return record;
}

function fileOwned(record: VirtualKeyRecord, what: string): void {
  if (record.source === 'file') {
    throw conflict(`The virtual key "${record.name}" is declared in the config file (governance.virtual_keys.${record.name}); ${what} it there.`, 'id');
  }
}

export function registerVirtualKeyRoutes(api: FastifyInstance): void {
  const governance = (): Governance => api.governance;

  api.get('/virtual-keys', async (request) => {
    const query = parseQuery(listQuery, request.query);
    const teamId = scopedTeam(request, query.team_id, 'team_id');
    const g = governance();
    const now = g.now();
    return pageOf(g.registry.keys.values(), query, (record) => {
      if (teamId !== undefined && record.team_id !== teamId) return undefined;
      if (query.customer_id !== undefined && record.customer_id !== query.customer_id) return undefined;
      const view = keyView(record, g.ledger, now);
      return query.status === undefined || view.status === query.status ? view : undefined;
    });
  });

  api.post('/virtual-keys', async (request, reply) => {
    const body = parseBody(createBody, request.body);
    const g = governance();
    const { record, secret } = g.entities.createKey(toInput({ ...body, team_id: scopedTeam(request, body.team_id, 'team_id') }), request.adminActor);
    reply.code(201);
    return { ...keyView(record, g.ledger, g.now()), key: secret };
  });

  api.get<{ Params: Params }>('/virtual-keys/:id', async (request) => {
    const g = governance();
    return keyDetailView(requireKey(g, request.params.id, request), g.registry, g.ledger, g.now());
  });

  api.patch<{ Params: Params }>('/virtual-keys/:id', async (request) => {
    const g = governance();
    const record = requireKey(g, request.params.id, request);
    fileOwned(record, 'change');
    const body = parseBody(patchBody, request.body);
    if (body.team_id !== undefined) body.team_id = scopedTeam(request, body.team_id, 'team_id');
    const updated = g.entities.updateKey(record.id, toInput(body), request.adminActor);
    return keyDetailView(updated, g.registry, g.ledger, g.now());
  });

  api.post<{ Params: Params }>('/virtual-keys/:id/rotate', async (request) => {
    const g = governance();
    const record = requireKey(g, request.params.id, request);
    fileOwned(record, 'change its secret');
    const { record: rotated, secret } = g.entities.rotateKey(record.id, request.adminActor);
    return { ...keyView(rotated, g.ledger, g.now()), key: secret };
  });

  api.post<{ Params: Params }>('/virtual-keys/:id/revoke', async (request) => {
    const g = governance();
    const record = requireKey(g, request.params.id, request);
    const revoked = record.status === 'revoked' ? record : g.entities.revokeKey(record.id, request.adminActor);
    return keyView(revoked, g.ledger, g.now());
  });

  api.delete<{ Params: Params }>('/virtual-keys/:id', async (request) => {
    const g = governance();
    const record = requireKey(g, request.params.id, request);
    fileOwned(record, 'remove');
    g.entities.deleteKey(record.id, request.adminActor);
    return { deleted: true, id: record.id };
  });
}

/** Every governance area of the management API: one line in src/api/admin/index.ts. */
export function registerGovernanceRoutes(api: FastifyInstance): void {
  registerVirtualKeyRoutes(api);
  registerTeamRoutes(api);
  registerCustomerRoutes(api);
  registerUsageRoutes(api);
  registerPricingRoutes(api);
}
