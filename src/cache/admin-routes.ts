/**
 * The cache's management API (docs/api.md, docs/caching.md):
 *
 *   GET    /api/cache/stats     counts since start, hit rate, savings per hour, size, the largest entries
 *   GET    /api/cache/shadow    shadow-mode matches: the question, the stored question and answer, the
 *                               real answer, the similarity, the guard that would have refused it
 *   DELETE /api/cache           invalidate: every entry, or those of ?virtual_key=, ?scope=, ?model=, ?id=
 *   DELETE /api/cache/shadow    empties the shadow-mode review
 *
 * The configuration itself is the `cache` section of PATCH /api/settings.
 */
import type { FastifyInstance } from 'fastify';
import { invalidField } from '../errors/gateway-error.js';
import type { CacheFilter } from './types.js';

function text(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw invalidField(name, `${name}: expected a non-empty string.`);
  return value;
}

function count(value: unknown, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > max) throw invalidField(name, `${name}: expected a whole number from 1 to ${max}.`);
  return number;
}

export function registerCacheRoutes(api: FastifyInstance): void {
  if (!api.hasDecorator('responseCache')) return;
  const plugin = api.responseCache;

  api.get('/cache/stats', async (request) => {
    const query = (request.query ?? {}) as Record<string, unknown>;
    const hours = count(query.hours, 'hours', 24, 24 * 90);
    const largest = count(query.largest, 'largest', 10, 100);
    const config = plugin.config();
    const counts = plugin.metrics.counts;
    const served = counts.hit + counts['semantic-hit'];
    const looked = served + counts.miss;
    return {
      enabled: config.enabled,
      scope: config.scope,
      ttl_ms: config.ttlMs,
      semantic: { enabled: config.semantic.enabled, mode: config.semantic.mode, threshold: config.semantic.threshold, embedding_model: config.semantic.embeddingModel },
      requests: { ...counts },
      hit_rate: looked === 0 ? null : served / looked,
      saved_usd: plugin.metrics.savedUsdTotal,
      saved_tokens: plugin.metrics.savedTokensTotal,
      store: { ...plugin.store.stats(), max_entries: config.maxEntries, max_bytes: config.maxBytes },
      savings: plugin.journal.savings(Date.now() - hours * 3_600_000),
      largest: plugin.store.largest(largest),
    };
  });

  api.get('/cache/shadow', async (request) => {
    const query = (request.query ?? {}) as Record<string, unknown>;
    return { data: plugin.journal.shadowMatches(count(query.limit, 'limit', 100, 1000)) };
  });

  api.delete('/cache', async (request) => {
    const query = (request.query ?? {}) as Record<string, unknown>;
    const filter: CacheFilter = { scope: text(query.scope, 'scope'), model: text(query.model, 'model'), id: text(query.id, 'id') };
    const key = text(query.virtual_key, 'virtual_key');
    if (key !== undefined) {
      if (filter.scope !== undefined) throw invalidField('virtual_key', 'virtual_key: give either virtual_key or scope, not both.');
      filter.scope = `vk:${key}`;
    }
    const deleted = await plugin.store.delete(filter);
    api.store.config.appendAudit({ actor: request.adminActor, action: 'cache.invalidate', target: JSON.stringify(filter), after: { deleted } });
    return { deleted };
  });

  api.delete('/cache/shadow', async () => {
    plugin.journal.clearShadow();
    return { deleted: true };
  });
}
