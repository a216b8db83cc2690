/**
 * GET /api/pricing: the price book in use, USD per million tokens: the
 * shipped table (with its date and sources) under the config overrides.
 * `?provider=openai` narrows it to one provider.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Governance } from '../../governance/governance.js';
import { parseQuery } from './http.js';

const pricingQuery = z.strictObject({ provider: z.string().min(1).optional() });

export function registerPricingRoutes(api: FastifyInstance): void {
  api.get('/pricing', async (request) => {
    const query = parseQuery(pricingQuery, request.query);
    const book = (api.governance as Governance).prices;
    const table = book.table;
    const data = book
      .entries()
      .filter((entry) => query.provider === undefined || entry.key.startsWith(`${query.provider}/`))
      .map(({ key, price, source }) => {
        const slash = key.indexOf('/');
        return { model: key, provider: key.slice(0, slash), name: key.slice(slash + 1), ...price, source };
      });
    return {
      as_of: table.as_of,
      currency: table.currency,
      unit: table.unit,
      sources: table.sources ?? {},
      provider_aliases: table.provider_aliases ?? {},
      data,
    };
  });
}
