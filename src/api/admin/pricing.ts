/**
 * GET /api/pricing: the price book in use, USD per million tokens: the model
 * catalog's prices (with the packages and dates they come from) under the
 * config overrides. `?provider=openai` narrows it to one provider.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Governance } from '../../governance/governance.js';
import { PROVIDER_ALIASES } from '../../governance/pricing.js';
import { parseQuery } from './http.js';

const pricingQuery = z.strictObject({ provider: z.string().min(1).optional() });

export function registerPricingRoutes(api: FastifyInstance): void {
  api.get('/pricing', async (request) => {
    const query = parseQuery(pricingQuery, request.query);
    const book = (api.governance as Governance).prices;
    const data = book
      .entries()
      .filter((entry) => query.provider === undefined || entry.key.startsWith(`${query.provider}/`))
      .map(({ key, price, source, context_window }) => {
        const slash = key.indexOf('/');
        return { model: key, provider: key.slice(0, slash), name: key.slice(slash + 1), ...price, ...(context_window === undefined ? {} : { context_window }), source };
      });
    const sources = book.catalog.sources;
    return {
      as_of: book.asOf,
      currency: 'USD',
      unit: 'per 1M tokens',
      catalog: {
        sources: sources.map((source) => ({ package: source.package, version: source.version, published: source.published, provides: source.provides, homepage: source.homepage })),
      },
      sources: Object.fromEntries(sources.map((source) => [source.package, source.homepage])),
      provider_aliases: PROVIDER_ALIASES,
      data,
    };
  });
}
