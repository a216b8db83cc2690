/**
 * Keeps the customers, teams and virtual keys declared in the config file
 * (governance.customers/teams/virtual_keys) in the database, as rows with
 * source "file" and ids derived from their names (cus_file_<name>, ...).
 * Runs at start and when the declarations change. A declared entity that
 * left the file is deleted; a team or customer created through the API under
 * the same name is adopted. A key revoked through the API stays revoked until
 * its secret changes in the file.
 */
import type { DeclaredEntity, DeclaredKey, DeclaredTeam, GovernanceConfig } from './config.js';
import type { Entities, EntityInput } from './entities.js';
import { hashKey } from './key-secret.js';
import type { Registry } from './registry.js';

const ACTOR = 'config-file';

export const fileId = {
  customer: (name: string): string => `cus_file_${name}`,
  team: (name: string): string => `team_file_${name}`,
  key: (name: string): string => `vk_file_${name}`,
};

function entityInput(declared: DeclaredEntity): EntityInput {
  return {
    name: declared.name,
    description: declared.description,
    budget: declared.budget,
    rate_limits: declared.rate_limits,
    metadata: declared.metadata,
  };
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Applies the declarations; returns the number of entities created, changed or deleted. */
export function syncDeclared(config: GovernanceConfig, registry: Registry, entities: Entities): number {
  let changes = 0;
  const customerIds = new Map<string, string>();
  const teamIds = new Map<string, string>();

  const byName = <T extends { id: string; name: string }>(map: Map<string, T>, name: string): T | undefined => {
    for (const record of map.values()) if (record.name === name) return record;
    return undefined;
  };

  for (const declared of config.customers) {
    const existing = byName(registry.customers, declared.name);
    const id = existing?.id ?? fileId.customer(declared.name);
    customerIds.set(declared.name, id);
    const input = entityInput(declared);
    if (existing !== undefined && existing.source === 'file' && same(
      [existing.description, existing.budget, existing.rate_limits, existing.metadata],
      [input.description, input.budget, input.rate_limits, input.metadata],
    )) continue;
    entities.putCustomer(id, input, ACTOR, 'file');
    changes++;
  }

  for (const declared of config.teams as DeclaredTeam[]) {
    const existing = byName(registry.teams, declared.name);
    const id = existing?.id ?? fileId.team(declared.name);
    teamIds.set(declared.name, id);
    const input = {
      ...entityInput(declared),
      customer_id: declared.customer === null ? null : customerIds.get(declared.customer)!,
      allowed_mcp_servers: declared.allowed_mcp_servers,
      allowed_mcp_tools: declared.allowed_mcp_tools,
    };
    if (existing !== undefined && existing.source === 'file' && same(
      [existing.description, existing.budget, existing.rate_limits, existing.metadata, existing.customer_id, existing.allowed_mcp_servers, existing.allowed_mcp_tools],
      [input.description, input.budget, input.rate_limits, input.metadata, input.customer_id, input.allowed_mcp_servers, input.allowed_mcp_tools],
    )) continue;
    entities.putTeam(id, input, ACTOR, 'file');
    changes++;
  }

  const declaredKeys = new Set<string>();
  for (const declared of config.virtualKeys as DeclaredKey[]) {
    const id = fileId.key(declared.name);
    declaredKeys.add(id);
    const input = {
      ...entityInput(declared),
      team_id: declared.team === null ? null : teamIds.get(declared.team)!,
      customer_id: declared.customer === null ? null : customerIds.get(declared.customer)!,
      allowed_providers: declared.allowed_providers,
      allowed_models: declared.allowed_models,
      allowed_mcp_servers: declared.allowed_mcp_servers,
      allowed_mcp_tools: declared.allowed_mcp_tools,
      expires_at: declared.expires_at,
    };
    const existing = registry.keys.get(id);
    if (existing === undefined) {
      entities.createKey(input, ACTOR, { id, secret: declared.key, source: 'file' });
      changes++;
      continue;
    }
    if (existing.key_hash !== hashKey(declared.key)) {
      entities.rotateKey(id, ACTOR, declared.key);
      changes++;
    }
    const current = registry.keys.get(id)!;
    if (!same(
      [current.name, current.description, current.budget, current.rate_limits, current.metadata, current.team_id, current.customer_id, current.allowed_providers, current.allowed_models, current.allowed_mcp_servers, current.allowed_mcp_tools, current.expires_at],
      [input.name, input.description, input.budget, input.rate_limits, input.metadata, input.team_id, input.customer_id, input.allowed_providers, input.allowed_models, input.allowed_mcp_servers, input.allowed_mcp_tools, input.expires_at],
    )) {
      entities.updateKey(id, input, ACTOR, 'file');
      changes++;
    }
  }

  // Declarations that left the file: keys first, then teams, then customers.
  for (const key of [...registry.keys.values()]) {
    if (key.source === 'file' && !declaredKeys.has(key.id)) {
      entities.deleteKey(key.id, ACTOR);
      changes++;
    }
  }
  const declaredTeams = new Set(teamIds.values());
  for (const team of [...registry.teams.values()]) {
    if (team.source === 'file' && !declaredTeams.has(team.id)) {
      entities.deleteTeam(team.id, ACTOR);
      changes++;
    }
  }
  const declaredCustomers = new Set(customerIds.values());
  for (const customer of [...registry.customers.values()]) {
    if (customer.source === 'file' && !declaredCustomers.has(customer.id)) {
      entities.deleteCustomer(customer.id, ACTOR);
      changes++;
    }
  }
  return changes;
}
