/**
 * Batch prices: what a request costs when it runs in a provider's batch API
 * (OpenAI and Azure batches, Anthropic message batches, Gemini batch mode).
 *
 * A model's own batch figure (`price.batch`) wins. The catalog's price source
 * (@pydantic/genai-prices) carries none, so a provider whose batch discount is
 * a documented rule gets it from this table: the standard prices scaled by the
 * provider's factor. A provider with no rule here has no known batch price, and
 * its batch results are priced at the standard rate.
 *
 * | provider type | factor | rule |
 * | --- | --- | --- |
 * | `openai` | 0.5 | the Batch API costs 50% less (input and output) |
 * | `azure` | 0.5 | Global Batch deployments cost 50% less than Global Standard |
 * | `anthropic`, `vertex-anthropic` | 0.5 | Message Batches are billed at 50% of standard prices |
 * | `gemini`, `vertex` | 0.5 | Batch Mode costs 50% of the interactive price |
 *
 * @see https://platform.openai.com/docs/guides/batch
 * @see https://learn.microsoft.com/azure/ai-foundry/openai/how-to/batch
 * @see https://docs.anthropic.com/en/docs/build-with-claude/batch-processing#pricing
 * @see https://ai.google.dev/gemini-api/docs/batch-mode
 */
import type { ModelPrice, PriceTier } from './types.js';

export const BATCH_DISCOUNTS: Readonly<Record<string, number>> = Object.freeze({
  openai: 0.5,
  azure: 0.5,
  anthropic: 0.5,
  'vertex-anthropic': 0.5,
  gemini: 0.5,
  vertex: 0.5,
});

const TIER_FIELDS = ['input', 'cached_input', 'cache_write', 'output', 'reasoning', 'embedding'] as const;

function scaled(tier: PriceTier, factor: number): PriceTier {
  const out: PriceTier = {};
  for (const field of TIER_FIELDS) {
    const value = tier[field];
    if (value !== undefined) out[field] = value * factor;
  }
  return out;
}

export interface BatchPrice {
  price: ModelPrice;
  /** `model`: the model's own batch figure; `rule`: the provider's documented discount; `standard`: no batch price known. */
  basis: 'model' | 'rule' | 'standard';
}

/** The price a batch request of this model pays, from its standard price and its provider's type. */
export function batchPriceOf(price: ModelPrice, providerType: string): BatchPrice {
  if (price.batch !== undefined) {
    // The figure replaces the per-token rates it names; long-context tiers do not apply to it.
    const { batch, long_context: _long, ...rest } = price;
    return { price: { ...rest, ...batch }, basis: 'model' };
  }
  const factor = BATCH_DISCOUNTS[providerType];
  if (factor === undefined) return { price, basis: 'standard' };
  const out: ModelPrice = { ...price, ...scaled(price, factor) };
  if (price.long_context !== undefined) out.long_context = { threshold: price.long_context.threshold, ...scaled(price.long_context, factor) };
  return { price: out, basis: 'rule' };
}
