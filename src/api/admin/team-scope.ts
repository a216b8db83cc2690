/**
 * A team member's calls see and change only their team's records (the access table's "+team"
 * levels set `request.teamScope`). Records of other teams answer 404, as if they did not exist.
 */
import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../../errors/gateway-error.js';
import { notFound } from './http.js';

/** Throws 404 when the request is limited to a team and the record belongs to another (or none). */
export function requireOwnTeam(request: FastifyRequest, teamId: string | null | undefined, what: string): void {
  if (request.teamScope !== undefined && teamId !== request.teamScope) throw notFound(`No ${what}.`, 'id');
}

/** The team a limited request must name: its own. A filter naming another team is refused. */
export function scopedTeam(request: FastifyRequest, asked: string | null | undefined, param: string): string | null | undefined {
  const scope = request.teamScope;
  if (scope === undefined) return asked;
  if (asked !== undefined && asked !== null && asked !== scope) {
    throw new GatewayError('HD_ERR_ADMIN_ROLE_FORBIDDEN', 'A team member sees and changes only their own team\'s records.', { param });
  }
  return scope;
}
