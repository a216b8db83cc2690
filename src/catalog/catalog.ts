/**
 * The model catalog: per (provider, model) its context window, output limit,
 * reasoning flag, parameter rules, modalities and price. The data is
 * catalog-data.json, derived from @pydantic/genai-prices and llm-zoo by
 * `npm run catalog` (docs/catalog.md); the parameter rules are rules.ts; the
 * config file's `catalog.overrides` win over both. A lookup is answered once
 * per target and memoised: the request path reads a map.
 */
import data from './catalog-data.json' with { type: 'json' };
import { compileMatch, type Matcher, type MatchLogic } from './match.js';
import { modelNames, type ModelNames } from './model-names.js';
import { MODEL_RULES } from './rules.js';
import type { CatalogTarget, Modalities, ModelFacts, ModelPrice, ParamRules } from './types.js';

export interface CatalogSource {
  package: string;
  version: string;
  /** When that version was published on npm (the data's date). */
  published: string;
  provides: string;
  homepage: string;
}

interface PriceEntry {
  id: string;
  match: MatchLogic;
  context_window?: number;
  prices: Array<{ from?: string; price: ModelPrice }>;
}

interface LimitEntry {
  context_window?: number;
  max_output_tokens?: number;
  reasoning: boolean;
  modalities: Modalities;
}

interface CatalogData {
  sources: CatalogSource[];
  price_providers: Record<string, string[]>;
  prices: Record<string, { fallbacks: string[]; models: PriceEntry[] }>;
  limits: Record<string, Record<string, LimitEntry>>;
}

/** A model's facts set in the config file (`catalog.overrides`), keyed "provider/model". */
export interface CatalogOverride {
  context_window?: number;
  max_output_tokens?: number;
  reasoning?: boolean;
  responses_only?: boolean;
  price?: ModelPrice;
}

const DATA = data as unknown as CatalogData;

export const CATALOG_SOURCES: readonly CatalogSource[] = DATA.sources;

/** The oldest publication date among the sources: how fresh the catalog is. */
export const CATALOG_DATE: string = DATA.sources.map((source) => source.published).sort()[0] ?? 'unknown';

/** Provider definition id -> the limits vendor (llm-zoo) of its models. */
const LIMIT_VENDOR: Readonly<Record<string, string>> = {
  openai: 'openai', azure: 'openai', anthropic: 'anthropic', 'vertex-anthropic': 'anthropic',
  gemini: 'google', vertex: 'google', xai: 'xai', deepseek: 'deepseek', moonshot: 'moonshot',
};

/** A router's or Bedrock's vendor prefix -> limits vendor and price provider. */
const VENDORS: Readonly<Record<string, { limits?: string; prices?: string }>> = {
  openai: { limits: 'openai', prices: 'openai' },
  anthropic: { limits: 'anthropic', prices: 'anthropic' },
  google: { limits: 'google', prices: 'google' },
  'x-ai': { limits: 'xai', prices: 'x-ai' },
  xai: { limits: 'xai', prices: 'x-ai' },
  deepseek: { limits: 'deepseek', prices: 'deepseek' },
  moonshotai: { limits: 'moonshot', prices: 'moonshotai' },
  mistralai: { prices: 'mistral' },
  mistral: { prices: 'mistral' },
  minimax: { limits: 'minimax', prices: 'minimax' },
  cohere: { prices: 'cohere' },
};

/** The price table of one genai-prices provider, its matchers compiled on first use. */
class PriceTable {
  private matchers: Matcher[] | undefined;
  constructor(readonly id: string, readonly entries: readonly PriceEntry[], readonly fallbacks: readonly string[]) {}

  find(name: string): PriceEntry | undefined {
    this.matchers ??= this.entries.map((entry) => compileMatch(entry.match));
    for (let i = 0; i < this.entries.length; i += 1) if (this.matchers[i](name)) return this.entries[i];
    return undefined;
  }
}

let tables: Map<string, PriceTable> | undefined;

function priceTables(): Map<string, PriceTable> {
  if (tables === undefined) {
    tables = new Map();
    for (const [id, table] of Object.entries(DATA.prices)) tables.set(id, new PriceTable(id, table.models, table.fallbacks));
  }
  return tables;
}

/** The price in effect at `today` (YYYY-MM-DD): the last dated change on or before it, else the base price. */
function priceAt(entry: PriceEntry, today: string): ModelPrice {
  for (let i = entry.prices.length - 1; i > 0; i -= 1) {
    const from = entry.prices[i].from;
    if (from !== undefined && from <= today) return entry.prices[i].price;
  }
  return entry.prices[0].price;
}

const NO_RULES: ParamRules = { families: [], refuses: [], exclusive: [], responsesOnly: false };

function rulesFor(type: string, bare: string): { rules: ParamRules; reasoning?: boolean; price?: ModelPrice } {
  let rules = NO_RULES;
  let reasoning: boolean | undefined;
  let price: ModelPrice | undefined;
  for (const rule of MODEL_RULES) {
    if (!rule.providers.includes(type) || !rule.models.test(bare)) continue;
    rules = {
      families: [...rules.families, rule.family],
      maxTokensField: rule.maxTokensField ?? rules.maxTokensField,
      refuses: rule.refuses === undefined ? rules.refuses : [...rules.refuses, ...rule.refuses],
      exclusive: rule.exclusive === undefined ? rules.exclusive : [...rules.exclusive, ...rule.exclusive],
      responsesOnly: rule.responsesOnly ?? rules.responsesOnly,
    };
    if (rule.reasoning !== undefined) reasoning = rule.reasoning;
    if (rule.price !== undefined) price = rule.price;
  }
  return { rules, reasoning, price };
}

function findLimits(target: CatalogTarget, names: readonly string[], vendor: string | undefined, matched: string[]): LimitEntry | undefined {
  const vendors = [LIMIT_VENDOR[target.type], LIMIT_VENDOR[target.provider], vendor === undefined ? undefined : VENDORS[vendor]?.limits];
  for (const id of vendors) {
    const table = id === undefined ? undefined : DATA.limits[id];
    if (table === undefined) continue;
    for (const name of names) {
      const found = table[name];
      if (found !== undefined) {
        matched.push(`llm-zoo:${id}/${name}`);
        return found;
      }
    }
  }
  return undefined;
}

function findPrice(target: CatalogTarget, names: readonly string[], vendor: string | undefined, matched: string[]): PriceEntry | undefined {
  const all = priceTables();
  const ids: string[] = [];
  for (const provider of [target.type, target.provider]) for (const id of DATA.price_providers[provider] ?? []) if (!ids.includes(id)) ids.push(id);
  const search = (id: string, seen: Set<string>): PriceEntry | undefined => {
    const table = all.get(id);
    if (table === undefined || seen.has(id)) return undefined;
    seen.add(id);
    for (const name of names) {
      const found = table.find(name);
      if (found !== undefined) {
        matched.push(`genai-prices:${id}/${found.id}`);
        return found;
      }
    }
    for (const fallback of table.fallbacks) {
      const found = search(fallback, seen);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  for (const id of ids) {
    const found = search(id, new Set());
    if (found !== undefined) return found;
  }
  // A router's ids name their upstream ("openai/gpt-4o-mini"): that vendor's list price.
  const upstream = vendor === undefined ? undefined : VENDORS[vendor]?.prices;
  return upstream === undefined || ids.includes(upstream) ? undefined : search(upstream, new Set());
}

/** What the data says about a target, before overrides: found once per process (reloads keep it). */
interface DataMatch {
  names: ModelNames;
  limits: LimitEntry | undefined;
  priced: PriceEntry | undefined;
  ruled: ReturnType<typeof rulesFor>;
  matched: readonly string[];
}

const dataMatches = new Map<string, DataMatch>();

function searchData(target: CatalogTarget, key: string): DataMatch {
  let found = dataMatches.get(key);
  if (found === undefined) {
    const names = modelNames(target.model);
    const matched: string[] = [];
    const limits = findLimits(target, names.all, names.vendor, matched);
    const priced = findPrice(target, names.all, names.vendor, matched);
    found = { names, limits, priced, ruled: rulesFor(target.type, names.bare), matched };
    if (dataMatches.size < 10_000) dataMatches.set(key, found);
  }
  return found;
}

export class ModelCatalog {
  private readonly cache = new Map<string, ModelFacts>();
  private readonly last: CatalogTarget & { facts: ModelFacts | undefined } = { provider: '', type: '', model: '', facts: undefined };
  private readonly today: string;

  constructor(
    readonly overrides: Readonly<Record<string, CatalogOverride>> = {},
    now: number = Date.now(),
  ) {
    this.today = new Date(now).toISOString().slice(0, 10);
  }

  get sources(): readonly CatalogSource[] {
    return CATALOG_SOURCES;
  }

  /** The facts of a target (an empty record when nothing is known), memoised. */
  facts(target: CatalogTarget): ModelFacts {
    const last = this.last;
    if (last.facts !== undefined && last.provider === target.provider && last.type === target.type && last.model === target.model) return last.facts;
    const key = `${target.provider}\u0000${target.type}\u0000${target.model}`;
    let facts = this.cache.get(key);
    if (facts === undefined) {
      facts = this.build(target, key);
      if (this.cache.size < 10_000) this.cache.set(key, facts);
    }
    last.provider = target.provider;
    last.type = target.type;
    last.model = target.model;
    last.facts = facts;
    return facts;
  }

  private build(target: CatalogTarget, key: string): ModelFacts {
    const { names, limits, priced, ruled, matched } = searchData(target, key);
    const found = this.findOverride(target, names.all);
    const override = found?.[1];
    const facts: ModelFacts = {
      contextWindow: override?.context_window ?? limits?.context_window ?? priced?.context_window,
      maxOutputTokens: override?.max_output_tokens ?? limits?.max_output_tokens,
      reasoning: override?.reasoning ?? ruled.reasoning ?? limits?.reasoning ?? false,
      reasoningKnown: override?.reasoning !== undefined || ruled.reasoning !== undefined || limits !== undefined,
      modalities: limits?.modalities,
      matched,
      rules: override?.responses_only === undefined ? ruled.rules : { ...ruled.rules, responsesOnly: override.responses_only },
    };
    if (override?.price !== undefined) {
      facts.price = override.price;
      facts.priceSource = 'config';
      facts.priceKey = found![0];
    } else if (priced !== undefined) {
      facts.price = priceAt(priced, this.today);
      facts.priceSource = 'catalog';
      facts.priceKey = `${target.type}/${priced.id}`;
    } else if (ruled.price !== undefined) {
      facts.price = ruled.price;
      facts.priceSource = 'rule';
      facts.priceKey = `${target.type}/*`;
    }
    return facts;
  }

  /** The config file's entry for the target, and its key. */
  private findOverride(target: CatalogTarget, names: readonly string[]): [string, CatalogOverride] | undefined {
    const overrides = this.overrides;
    for (const provider of target.type === target.provider ? [target.provider] : [target.provider, target.type]) {
      for (const name of [target.model, ...names]) {
        const key = `${provider}/${name}`;
        const found = overrides[key];
        if (found !== undefined) return [key, found];
      }
    }
    return undefined;
  }

  /** Every priced catalog entry of the providers asked for (GET /api/pricing), at today's prices. */
  priceRows(providers: readonly string[]): Array<{ provider: string; name: string; price: ModelPrice; contextWindow?: number }> {
    const rows: Array<{ provider: string; name: string; price: ModelPrice; contextWindow?: number }> = [];
    const all = priceTables();
    for (const provider of providers) {
      const seen = new Set<string>();
      for (const id of DATA.price_providers[provider] ?? []) {
        const table = all.get(id);
        if (table === undefined) continue;
        for (const entry of table.entries) {
          if (seen.has(entry.id)) continue;
          seen.add(entry.id);
          rows.push({ provider, name: entry.id, price: priceAt(entry, this.today), contextWindow: entry.context_window });
        }
      }
    }
    return rows;
  }

  /** The provider definition ids the catalog has prices for. */
  get pricedProviders(): readonly string[] {
    return Object.keys(DATA.price_providers);
  }
}
