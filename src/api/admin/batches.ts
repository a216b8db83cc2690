/**
 * /api/batches: the batch jobs created through the gateway (OpenAI, Azure and
 * Anthropic batches), newest first, with their status as last seen, request
 * counts and the cost charged when their results were fetched
 * (store/batch-store.ts). Pages: `next_cursor` goes back as `cursor`.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { invalidField } from '../../errors/gateway-error.js';
import { parseQuery } from './http.js';

const text = z.string().min(1).max(512);

const listQuery = z.strictObject({
  provider: text.optional(),
  virtual_key_id: text.optional(),
  status: text.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  cursor: z.string().max(1024).optional(),
});

/** `<created_at>.<id>` of the last row of a page. */
function cursorOf(value: string | undefined): { createdAt: number; id: string } | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{1,16})\.(.+)$/.exec(value);
  if (match === null) throw invalidField('cursor', 'The cursor is not one this API gave (next_cursor).');
  return { createdAt: Number(match[1]), id: match[2] };
}

export function registerBatchRoutes(api: FastifyInstance): void {
  const store = api.store;
  api.get('/batches', async (request) => {
    const query = parseQuery(listQuery, request.query);
    const limit = query.limit ?? 50;
    const data = store.batches.list({ limit, after: cursorOf(query.cursor), provider: query.provider, virtualKeyId: query.virtual_key_id, status: query.status });
    const last = data[data.length - 1];
    return { data, next_cursor: data.length === limit && last !== undefined ? `${last.created_at}.${last.id}` : null };
  });
}
