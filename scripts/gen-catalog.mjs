// `npm run catalog`: derives src/catalog/catalog-data.json, the compact model catalog the gateway loads,
// from two maintained packages (docs/catalog.md says why these two):
//   @pydantic/genai-prices  prices (with their dated changes and long-context tiers) and context windows;
//   llm-zoo                 output limits, reasoning, modalities, context windows.
// Run it after upgrading either package; test/catalog/catalog-data.test.ts fails until the file matches them.
// `--check` prints nothing and exits 1 when the file is out of date.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { findProvider } from '@pydantic/genai-prices';
import { MODEL_CONFIGS } from 'llm-zoo';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = `${root}src/catalog/catalog-data.json`;
const require = createRequire(import.meta.url);

/**
 * Heimdall provider id -> the genai-prices providers whose models it serves, in lookup order. Providers
 * missing here (deepinfra, sambanova, nvidia, huggingface) have no list prices in the package.
 */
export const PRICE_PROVIDERS = {
  openai: ['openai'],
  azure: ['azure'],
  anthropic: ['anthropic'],
  gemini: ['google'],
  vertex: ['google'],
  'vertex-anthropic': ['google', 'anthropic'],
  bedrock: ['aws'],
  mistral: ['mistral'],
  groq: ['groq'],
  deepseek: ['deepseek'],
  xai: ['x-ai'],
  cohere: ['cohere'],
  together: ['together'],
  fireworks: ['fireworks'],
  perplexity: ['perplexity'],
  cerebras: ['cerebras'],
  openrouter: ['openrouter'],
  novita: ['novita'],
  moonshot: ['moonshotai'],
  minimax: ['minimax'],
};

/** genai-prices price keys -> Heimdall's (USD per million tokens). */
const PRICE_KEYS = {
  input_mtok: 'input',
  cache_read_mtok: 'cached_input',
  cache_write_mtok: 'cache_write',
  output_mtok: 'output',
  output_reasoning_mtok: 'reasoning',
};

function packageVersion(name) {
  // The package.json next to the resolved entry point (genai-prices does not export ./package.json).
  const entry = require.resolve(name, { paths: [root] });
  let dir = entry.slice(0, entry.lastIndexOf('/'));
  for (;;) {
    try {
      const json = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8'));
      if (json.name === name) return json.version;
    } catch { /* keep climbing */ }
    const up = dir.slice(0, dir.lastIndexOf('/'));
    if (up === dir || up === '') throw new Error(`package.json of ${name} not found`);
    dir = up;
  }
}

/** The date a version was published (the packages carry no date of their own): the npm registry's record. */
function publishedDate(name, version, previous) {
  const known = previous?.sources.find((source) => source.package === name && source.version === version)?.published;
  if (known !== undefined) return known;
  try {
    const times = JSON.parse(execFileSync('npm', ['view', `${name}@${version}`, 'time', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    const at = times[version];
    if (typeof at === 'string') return at.slice(0, 10);
  } catch { /* offline: unknown */ }
  return 'unknown';
}

/** A genai-prices price object as Heimdall's ModelPrice; tiered prices become long_context (first tier). */
function convertPrice(prices) {
  const price = {};
  let long;
  for (const [from, to] of Object.entries(PRICE_KEYS)) {
    const value = prices[from];
    if (typeof value === 'number') price[to] = value;
    else if (value !== null && typeof value === 'object' && typeof value.base === 'number') {
      price[to] = value.base;
      const tier = value.tiers?.[0];
      if (tier !== undefined) {
        long ??= { threshold: tier.start };
        long[to] = tier.price;
      }
    }
  }
  if (long !== undefined) price.long_context = long;
  return price;
}

/** The model's price variants: the base one, then each dated change (time-of-day discounts are left out: the base price is the upper bound). */
function priceVariants(model) {
  if (!Array.isArray(model.prices)) return [{ price: convertPrice(model.prices) }];
  const variants = [];
  for (const entry of model.prices) {
    if (entry.constraint === undefined) variants.push({ price: convertPrice(entry.prices) });
    else if (entry.constraint.type === 'start_date') variants.push({ from: entry.constraint.start_date, price: convertPrice(entry.prices) });
  }
  if (variants.length === 0 || variants[0].from !== undefined) variants.unshift({ price: convertPrice(model.prices[0].prices) });
  return variants;
}

/** Each genai-prices provider once: its models in match order, and the providers it falls back to. */
function priceTables() {
  const tables = {};
  const visit = (id) => {
    if (tables[id] !== undefined) return;
    const provider = findProvider({ providerId: id });
    if (provider === undefined || provider.id !== id) return;
    const models = [];
    tables[id] = { fallbacks: provider.fallback_model_providers ?? [], models };
    for (const model of provider.models) {
      const variants = priceVariants(model);
      if (variants.every((variant) => Object.keys(variant.price).length === 0)) continue; // priced per image, second, ...
      const entry = { id: model.id, match: model.match };
      if (model.context_window !== undefined) entry.context_window = model.context_window;
      entry.prices = variants;
      models.push(entry);
    }
    for (const fallback of tables[id].fallbacks) visit(fallback);
  };
  for (const ids of Object.values(PRICE_PROVIDERS)) for (const id of ids) visit(id);
  return tables;
}

/** llm-zoo provider -> Heimdall catalog vendor. */
const LIMIT_VENDORS = { openai: 'openai', anthropic: 'anthropic', google: 'google', xai: 'xai', deepseek: 'deepseek', moonshot: 'moonshot', dashscope: 'dashscope', minimax: 'minimax', glm: 'glm', meta: 'meta' };

function limitEntries() {
  const vendors = {};
  const configs = Object.values(MODEL_CONFIGS).sort((a, b) => Number(a.deprecated === true) - Number(b.deprecated === true));
  for (const config of configs) {
    const vendor = LIMIT_VENDORS[config.provider];
    if (vendor === undefined) continue;
    const caps = config.capabilities ?? {};
    const input = ['text'];
    if (caps.supportsVision) input.push('image');
    if (caps.supportsNativePdf) input.push('pdf');
    if (caps.supportsNativeAudio) input.push('audio');
    const facts = {
      context_window: config.contextWindow,
      max_output_tokens: config.maxOutputTokens,
      reasoning: caps.supportsReasoning === true,
      modalities: { input, output: ['text'] },
    };
    const table = (vendors[vendor] ??= {});
    for (const name of [config.fullName, config.shortName]) {
      if (typeof name === 'string' && name !== '' && table[name] === undefined) table[name] = facts;
    }
  }
  return vendors;
}

export function buildCatalogData(previous) {
  const sources = [
    { package: '@pydantic/genai-prices', version: packageVersion('@pydantic/genai-prices'), provides: 'prices (with dated changes and long-context tiers), context windows', homepage: 'https://github.com/pydantic/genai-prices' },
    { package: 'llm-zoo', version: packageVersion('llm-zoo'), provides: 'output limits, context windows, reasoning, modalities', homepage: 'https://github.com/texra-ai/llm-zoo' },
  ];
  for (const source of sources) source.published = publishedDate(source.package, source.version, previous);
  return { sources, price_providers: PRICE_PROVIDERS, prices: priceTables(), limits: limitEntries() };
}

function readPrevious() {
  try {
    return JSON.parse(readFileSync(target, 'utf8'));
  } catch {
    return undefined;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const previous = readPrevious();
  const text = `${JSON.stringify(buildCatalogData(previous))}\n`;
  if (process.argv.includes('--check')) {
    process.exit(previous !== undefined && `${JSON.stringify(previous)}\n` === text ? 0 : 1);
  }
  writeFileSync(target, text);
  const data = JSON.parse(text);
  const priced = Object.values(data.prices).reduce((sum, table) => sum + table.models.length, 0);
  const limited = Object.values(data.limits).reduce((sum, table) => sum + Object.keys(table).length, 0);
  console.log(`${target.slice(root.length)}: ${priced} priced entries, ${limited} model names with limits (${data.sources.map((s) => `${s.package}@${s.version} of ${s.published}`).join(', ')})`);
}
