/**
 * From an identity provider's claims to a Heimdall role and team: pure functions, tested alone.
 * A user in several mapped groups gets the strongest role (admin > operator > viewer > member);
 * the first team_map entry (in the map's order) the user is in gives the team.
 */
import type { Role } from '../store/auth-store.js';

const STRENGTH: Record<Role, number> = { admin: 4, operator: 3, viewer: 2, member: 1 };

/** The values of a claim as strings: a string, a list, or a dotted path into objects (`realm_access.roles`). */
export function claimValues(claims: Record<string, unknown>, path: string): string[] {
  let value: unknown = claims[path];
  if (value === undefined && path.includes('.')) {
    value = claims;
    for (const part of path.split('.')) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  }
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}

export interface MappedIdentity {
  /** null: the user is refused (no mapped group and no default role). */
  role: Role | null;
  /** A team name or id from team_map, or null. */
  team: string | null;
  /** A role_map entry matched (the role comes from the provider, not the default). */
  mapped: boolean;
}

export function mapIdentity(
  groups: readonly string[],
  teamGroups: readonly string[],
  settings: { role_map: Record<string, Role>; team_map: Record<string, string>; default_role: Role | null },
): MappedIdentity {
  let role: Role | null = null;
  for (const group of groups) {
    const mapped = settings.role_map[group];
    if (mapped !== undefined && (role === null || STRENGTH[mapped] > STRENGTH[role])) role = mapped;
  }
  const team = Object.entries(settings.team_map).find(([group]) => teamGroups.includes(group))?.[1] ?? null;
  return { role: role ?? settings.default_role, team, mapped: role !== null };
}

/** A username from the provider's claims, made unique against `taken`. */
export function pickUsername(candidates: ReadonlyArray<string | undefined>, taken: (name: string) => boolean): string {
  const base = (candidates.find((value) => value !== undefined && value !== '') ?? 'user').replace(/[^\w.@+-]/g, '_').slice(0, 90);
  if (!taken(base)) return base;
  for (let index = 2; ; index++) if (!taken(`${base}-${index}`)) return `${base}-${index}`;
}
