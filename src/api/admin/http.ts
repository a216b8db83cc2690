/**
 * Small helpers every management API area shares: zod validation that names
 * the field at fault, coded 404/409 errors, query parsing, the JSON merge patch.
 */
import { z } from 'zod';
import { GatewayError, invalidField } from '../../errors/gateway-error.js';

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`))
    .join('');
}

/** The first zod issue as a 400 naming the field: `{"param": "deployments[0].model"}`. */
export function zodError(error: z.ZodError, prefix = ''): GatewayError {
  const issue = error.issues[0];
  const at = (path: string) => (prefix === '' ? path : path === '' ? prefix : `${prefix}.${path}`);
  if (issue === undefined) return invalidField(prefix, 'Invalid request body.');
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    const field = at(path === '' ? keys[0] : `${path}.${keys[0]}`);
    return invalidField(field, `${field}: unknown field${keys.length > 1 ? ` (also ${keys.slice(1).join(', ')})` : ''}.`);
  }
  const field = at(path);
  if (field === '') return invalidField('body', `The request body: ${issue.message}.`);
  return invalidField(field, `${field}: ${issue.message}.`);
}

/** Validates a JSON body; a missing body counts as `{}`. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body === undefined ? {} : body);
  if (!result.success) throw zodError(result.error);
  return result.data;
}

/** Validates a query string object (values are strings). */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.infer<S> {
  const result = schema.safeParse(query ?? {});
  if (!result.success) throw zodError(result.error);
  return result.data;
}

export function notFound(message: string, param: string | null = null): GatewayError {
  return new GatewayError('HD_ERR_ADMIN_NOT_FOUND', message, { param });
}

export function conflict(message: string, param: string | null = null): GatewayError {
  return new GatewayError('HD_ERR_ADMIN_CONFLICT', message, { param });
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * RFC 7396 JSON merge patch: objects merge key by key, null removes a key,
 * anything else replaces. Returns a new value.
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: Json = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** A time bound in a query: milliseconds since the epoch, or an ISO 8601 date. */
export function parseTime(value: string): number | undefined {
  if (/^\d{1,16}$/.test(value)) return Number(value);
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** `limit` and `cursor` of a list in memory (virtual keys, teams, customers). */
export const pageFields = {
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  cursor: z.string().max(512).optional(),
};

/** Default page size of the lists in memory: big enough for a dashboard table, bounded. */
export const DEFAULT_PAGE = 500;

export interface Page<T> {
  data: T[];
  /** Pass back as `cursor` for the next page; null on the last one. */
  next_cursor: string | null;
}

/**
 * One page of records ordered by (created_at, id), after the record the cursor
 * names; `select` maps a record to its answer row, or undefined to skip it (a filter).
 */
export function pageOf<R extends { id: string; created_at: number }, T>(
  records: Iterable<R>,
  query: { limit?: number; cursor?: string },
  select: (record: R) => T | undefined,
): Page<T> {
  let after: [number, string] | undefined;
  if (query.cursor !== undefined) {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(query.cursor, 'base64url').toString('utf8'));
      if (Array.isArray(parsed) && typeof parsed[0] === 'number' && typeof parsed[1] === 'string') after = [parsed[0], parsed[1]];
    } catch {
      // reported below
    }
    if (after === undefined) throw invalidField('cursor', 'cursor: not a value returned as next_cursor.');
  }
  const sorted = [...records].sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const limit = query.limit ?? DEFAULT_PAGE;
  const data: T[] = [];
  let last: R | undefined;
  for (const record of sorted) {
    if (after !== undefined && (record.created_at < after[0] || (record.created_at === after[0] && record.id <= after[1]))) continue;
    const row = select(record);
    if (row === undefined) continue;
    if (data.length === limit) {
      return { data, next_cursor: Buffer.from(JSON.stringify([last!.created_at, last!.id])).toString('base64url') };
    }
    data.push(row);
    last = record;
  }
  return { data, next_cursor: null };
}
