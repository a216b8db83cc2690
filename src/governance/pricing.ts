/**
 * The price book: the model catalog's prices (src/catalog/, docs/catalog.md)
 * under the per-model overrides of the config file (governance.pricing). A
 * lookup walks from the most to the least specific name and answers undefined
 * when no price is known: such a request's cost is unknown (null), never $0.
 */
import { CATALOG_DATE, ModelCatalog } from '../catalog/catalog.js';
import type { ModelPrice } from '../catalog/types.js';

export type { ModelPrice, PriceTier } from '../catalog/types.js';

export interface PriceMatch {
  price: ModelPrice;
  /** The entry that matched, e.g. "openai/gpt-4o", "ollama/*" or a config override's key. */
  key: string;
  source: 'config' | 'catalog';
}

/** What a lookup needs to know about the target. */
export interface PricedTarget {
  /** The configured provider name (e.g. "openai-eu"). */
  provider: string;
  /** The provider definition id (e.g. "openai"). */
  type: string;
  /** The provider's own model id. */
  model: string;
}

/** A governance.pricing entry written for the provider whose models another one serves (an Azure deployment of an OpenAI model). */
export const PROVIDER_ALIASES: Readonly<Record<string, string>> = { azure: 'openai', vertex: 'gemini', 'vertex-anthropic': 'anthropic' };

const DATE_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{8})$/;
const REGION_PREFIX = /^(us|eu|apac|global|us-gov|jp|au)\./;

/** The model id, then the same without a version or region decoration. */
function modelNames(model: string): string[] {
  const names = [model];
  let bare = model.startsWith('models/') ? model.slice(7) : model;
  const at = bare.indexOf('@');
  if (at > 0) bare = bare.slice(0, at);
  bare = bare.replace(REGION_PREFIX, '').replace(DATE_SUFFIX, '');
  if (bare !== model) names.push(bare);
  return names;
}

export class PriceBook {
  /** The date of the catalog's price data. */
  readonly asOf = CATALOG_DATE;
  private readonly overrides: Readonly<Record<string, ModelPrice>>;
  private readonly cache = new Map<string, PriceMatch | null>();
  /** The last lookup (provider '' matches no target: a provider always has a name). */
  private readonly last: PricedTarget & { match: PriceMatch | undefined } = { provider: '', type: '', model: '', match: undefined };

  constructor(
    overrides: Readonly<Record<string, ModelPrice>> = {},
    readonly catalog: ModelCatalog = new ModelCatalog(),
  ) {
    this.overrides = overrides;
  }

  /** The price of a target, memoised (the book is rebuilt when the config changes). */
  lookup(target: PricedTarget): PriceMatch | undefined {
    // The last target asked about, answered without building the cache key (perf: a request asks twice, admit and settle).
    const last = this.last;
    if (last.provider === target.provider && last.type === target.type && last.model === target.model) return last.match;
    const cacheKey = `${target.provider}\u0000${target.type}\u0000${target.model}`;
    const cached = this.cache.get(cacheKey);
    const found = cached !== undefined ? (cached ?? undefined) : this.search(target);
    if (cached === undefined && this.cache.size < 10_000) this.cache.set(cacheKey, found ?? null);
    last.provider = target.provider;
    last.type = target.type;
    last.model = target.model;
    last.match = found;
    return found;
  }

  private search(target: PricedTarget): PriceMatch | undefined {
    const override = this.searchOverrides(target);
    if (override !== undefined) return override;
    const facts = this.catalog.facts(target);
    if (facts.price === undefined) return undefined;
    return { price: facts.price, key: facts.priceKey ?? `${target.type}/${target.model}`, source: facts.priceSource === 'config' ? 'config' : 'catalog' };
  }

  /** governance.pricing: provider/model under the configured name, the type, its alias; then provider/*. */
  private searchOverrides(target: PricedTarget): PriceMatch | undefined {
    const overrides = this.overrides;
    const providers = [target.provider];
    if (target.type !== target.provider) providers.push(target.type);
    const alias = PROVIDER_ALIASES[target.type];
    if (alias !== undefined) providers.push(alias);
    const models = modelNames(target.model);
    const find = (key: string): PriceMatch | undefined => {
      const price = overrides[key];
      return price === undefined ? undefined : { price, key, source: 'config' };
    };
    for (const provider of providers) {
      for (const model of models) {
        const found = find(`${provider}/${model}`);
        if (found !== undefined) return found;
      }
    }
    for (const provider of providers) {
      const found = find(`${provider}/*`);
      if (found !== undefined) return found;
    }
    // A router's ids name their own upstream ("openai/gpt-4o-mini" on OpenRouter).
    if (target.model.includes('/')) {
      for (const model of models) {
        const found = find(model);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }

  /** Every priced entry, overrides first, then the catalog's for each provider it prices (GET /api/pricing). */
  entries(): Array<{ key: string; price: ModelPrice; source: 'config' | 'catalog'; context_window?: number }> {
    const rows: Array<{ key: string; price: ModelPrice; source: 'config' | 'catalog'; context_window?: number }> = [];
    for (const [key, price] of Object.entries(this.overrides)) rows.push({ key, price, source: 'config' });
    for (const [key, override] of Object.entries(this.catalog.overrides)) {
      if (override.price !== undefined && this.overrides[key] === undefined) rows.push({ key, price: override.price, source: 'config' });
    }
    for (const row of this.catalog.priceRows(this.catalog.pricedProviders)) {
      const key = `${row.provider}/${row.name}`;
      if (this.overrides[key] !== undefined || this.catalog.overrides[key]?.price !== undefined) continue;
      rows.push({ key, price: row.price, source: 'catalog', ...(row.contextWindow === undefined ? {} : { context_window: row.contextWindow }) });
    }
    return rows;
  }
}
