/**
 * /api/teams and /api/customers: the same CRUD for both levels, with each
 * one's live spend and remaining budget. Entities declared in the config
 * file (source "file") are changed there. Deleting a team or customer
 * detaches its keys (and teams); it never deletes them.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { budgetSchema, rateLimitSchema } from '../../governance/config-schema.js';
import type { EntityInput, TeamInput } from '../../governance/entities.js';
import type { Governance } from '../../governance/governance.js';
import type { CustomerRecord, TeamRecord } from '../../governance/types.js';
import { customerView, teamView } from '../../governance/views.js';
import { conflict, notFound, pageFields, pageOf, parseBody, parseQuery } from './http.js';
import { requireOwnTeam } from './team-scope.js';

const entityName = z.string().min(1).max(200);

const common = {
  name: entityName,
  description: z.string().max(1000).nullable().optional(),
  budget: budgetSchema.nullable().optional(),
  rate_limits: z.array(rateLimitSchema).max(32).nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
  status: z.enum(['active', 'disabled']).optional(),
};

const mcpPatterns = z.array(z.string().min(1).max(200)).max(200).nullable().optional();
const teamOnly = { customer_id: z.string().min(1).nullable().optional(), allowed_mcp_servers: mcpPatterns, allowed_mcp_tools: mcpPatterns };
const teamCreate = z.strictObject({ ...common, ...teamOnly });
const teamPatch = z.strictObject({ ...common, name: entityName.optional(), ...teamOnly });
const customerCreate = z.strictObject(common);
const customerPatch = z.strictObject({ ...common, name: entityName.optional() });

const listQuery = z.strictObject(pageFields);

type Params = { id: string };

function toInput<T extends { rate_limits?: Array<{ requests?: number | null; tokens?: number | null }> | null }>(body: T): T & EntityInput {
  if (body.rate_limits === undefined || body.rate_limits === null) return body as T & EntityInput;
  return { ...body, rate_limits: body.rate_limits.map((limit) => ({ ...limit, requests: limit.requests ?? null, tokens: limit.tokens ?? null })) } as T & EntityInput;
}

function fileOwned(record: TeamRecord | CustomerRecord, section: string, what: string): void {
  if (record.source === 'file') {
    throw conflict(`"${record.name}" is declared in the config file (governance.${section}.${record.name}); ${what} it there.`, 'id');
  }
}

export function registerTeamRoutes(api: FastifyInstance): void {
  const g = (): Governance => api.governance;
  const find = (id: string): TeamRecord => {
    const record = g().registry.teams.get(id);
    if (record === undefined) throw notFound(`No team with id "${id}".`, 'id');
    return record;
  };

  api.get('/teams', async (request) => {
    const query = parseQuery(listQuery, request.query);
    const gov = g();
    const now = gov.now();
    return pageOf(gov.registry.teams.values(), query, (team) =>
      request.teamScope === undefined || team.id === request.teamScope ? teamView(team, gov.registry, gov.ledger, now) : undefined);
  });

  api.post('/teams', async (request, reply) => {
    const gov = g();
    const team = gov.entities.putTeam(undefined, toInput(parseBody(teamCreate, request.body)) as TeamInput, request.adminActor);
    reply.code(201);
    return teamView(team, gov.registry, gov.ledger, gov.now());
  });

  api.get<{ Params: Params }>('/teams/:id', async (request) => {
    const gov = g();
    const team = find(request.params.id);
    requireOwnTeam(request, team.id, `team with id "${request.params.id}"`);
    return teamView(team, gov.registry, gov.ledger, gov.now());
  });

  api.patch<{ Params: Params }>('/teams/:id', async (request) => {
    const gov = g();
    const record = find(request.params.id);
    fileOwned(record, 'teams', 'change');
    const team = gov.entities.putTeam(record.id, toInput(parseBody(teamPatch, request.body)) as TeamInput, request.adminActor);
    return teamView(team, gov.registry, gov.ledger, gov.now());
  });

  api.delete<{ Params: Params }>('/teams/:id', async (request) => {
    const record = find(request.params.id);
    fileOwned(record, 'teams', 'remove');
    g().entities.deleteTeam(record.id, request.adminActor);
    return { deleted: true, id: record.id };
  });
}

export function registerCustomerRoutes(api: FastifyInstance): void {
  const g = (): Governance => api.governance;
  const find = (id: string): CustomerRecord => {
    const record = g().registry.customers.get(id);
    if (record === undefined) throw notFound(`No customer with id "${id}".`, 'id');
    return record;
  };

  api.get('/customers', async (request) => {
    const query = parseQuery(listQuery, request.query);
    const gov = g();
    const now = gov.now();
    return pageOf(gov.registry.customers.values(), query, (customer) => customerView(customer, gov.registry, gov.ledger, now));
  });

  api.post('/customers', async (request, reply) => {
    const gov = g();
    const customer = gov.entities.putCustomer(undefined, toInput(parseBody(customerCreate, request.body)), request.adminActor);
    reply.code(201);
    return customerView(customer, gov.registry, gov.ledger, gov.now());
  });

  api.get<{ Params: Params }>('/customers/:id', async (request) => {
    const gov = g();
    return customerView(find(request.params.id), gov.registry, gov.ledger, gov.now());
  });

  api.patch<{ Params: Params }>('/customers/:id', async (request) => {
    const gov = g();
    const record = find(request.params.id);
    fileOwned(record, 'customers', 'change');
    const customer = gov.entities.putCustomer(record.id, toInput(parseBody(customerPatch, request.body)), request.adminActor);
    return customerView(customer, gov.registry, gov.ledger, gov.now());
  });

  api.delete<{ Params: Params }>('/customers/:id', async (request) => {
    const record = find(request.params.id);
    fileOwned(record, 'customers', 'remove');
    g().entities.deleteCustomer(record.id, request.adminActor);
    return { deleted: true, id: record.id };
  });
}
