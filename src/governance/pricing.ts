/**
 * The price book: the shipped table (pricing.json, dated) under the
 * per-model overrides of the config file (governance.pricing). A lookup walks
 * from the most to the least specific name and answers undefined when no
 * price is known: such a request's cost is unknown (null), never $0.
 */
import table from './pricing.json' with { type: 'json' };

/** USD per million tokens. */
export interface PriceTier {
  input?: number;
  cached_input?: number;
  cache_write?: number;
  output?: number;
  reasoning?: number;
  embedding?: number;
}

export interface ModelPrice extends PriceTier {
  /** Prices of a request whose prompt is above `threshold` tokens. */
  long_context?: PriceTier & { threshold: number };
}

export interface PriceTable {
  as_of: string;
  currency: string;
  unit: string;
  notes?: readonly string[];
  sources?: Readonly<Record<string, string>>;
  provider_aliases?: Readonly<Record<string, string>>;
  models: Readonly<Record<string, ModelPrice>>;
}

export interface PriceMatch {
  price: ModelPrice;
  /** The entry that matched, e.g. "openai/gpt-4o" or "ollama/*". */
  key: string;
  source: 'config' | 'table';
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

export const SHIPPED_PRICES = table as PriceTable;

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
  readonly asOf: string;
  private readonly overrides: Readonly<Record<string, ModelPrice>>;
  private readonly aliases: Readonly<Record<string, string>>;
  private readonly cache = new Map<string, PriceMatch | null>();
  /** The last lookup (provider '' matches no target: a provider always has a name). */
  private readonly last: PricedTarget & { match: PriceMatch | undefined } = { provider: '', type: '', model: '', match: undefined };

  constructor(
    overrides: Readonly<Record<string, ModelPrice>> = {},
    readonly table: PriceTable = SHIPPED_PRICES,
  ) {
    this.asOf = table.as_of;
    this.overrides = overrides;
    this.aliases = table.provider_aliases ?? {};
  }

  private find(key: string): PriceMatch | undefined {
    const override = this.overrides[key];
    if (override !== undefined) return { price: override, key, source: 'config' };
    const shipped = this.table.models[key];
    if (shipped !== undefined) return { price: shipped, key, source: 'table' };
    return undefined;
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
    const providers = [target.provider];
    if (target.type !== target.provider) providers.push(target.type);
    const alias = this.aliases[target.type];
    if (alias !== undefined) providers.push(alias);
    const models = modelNames(target.model);
    for (const provider of providers) {
      for (const model of models) {
        const found = this.find(`${provider}/${model}`);
        if (found !== undefined) return found;
      }
    }
    for (const provider of providers) {
      const found = this.find(`${provider}/*`);
      if (found !== undefined) return found;
    }
    // A router's ids name their own upstream ("openai/gpt-4o-mini" on OpenRouter).
    if (target.model.includes('/')) {
      for (const model of models) {
        const found = this.find(model);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }

  /** Every priced entry, overrides first, for GET /api/pricing. */
  entries(): Array<{ key: string; price: ModelPrice; source: 'config' | 'table' }> {
    const rows: Array<{ key: string; price: ModelPrice; source: 'config' | 'table' }> = [];
    for (const [key, price] of Object.entries(this.overrides)) rows.push({ key, price, source: 'config' });
    for (const [key, price] of Object.entries(this.table.models)) {
      if (this.overrides[key] === undefined) rows.push({ key, price, source: 'table' });
    }
    return rows;
  }
}
