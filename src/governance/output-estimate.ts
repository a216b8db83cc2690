/**
 * How many output tokens to reserve budget for when a request sets no
 * max_tokens. Reserving the model's whole output window refuses requests
 * that fit (a $1 budget holds only ~24 gpt-4o calls at 4,096 tokens each, while
 * a chat answer is usually a few hundred); reserving too little lets calls in
 * flight overspend. The estimate is the model's typical output seen in this
 * process (a decaying mean plus twice the decaying mean deviation, as TCP
 * estimates a retransmission timeout), the configured prior until a completion
 * of that model was seen, and never more than the model's maximum output.
 */

import { DEFAULT_MAX_TOKENS } from '../formats/anthropic/index.js';
import type { WireFormat } from '../formats/types.js';

/** Weight of the newest completion in the running mean and deviation. */
const ALPHA = 0.1;
/** Deviations above the mean that the estimate reserves for. */
const DEVIATIONS = 2;
/** Models tracked; the least recently updated are dropped above it. */
const MAX_MODELS = 10_000;

interface Running {
  mean: number;
  deviation: number;
  /** The estimator's update count when this model was last updated. */
  updated: number;
}

export class OutputEstimator {
  /** By provider, then model: a lookup builds no key string (every request looks up once or twice). */
  private readonly providers = new Map<string, Map<string, Running>>();
  private size = 0;
  private updates = 0;

  /**
   * Output tokens to reserve for a call to `provider/model` that sets no max_tokens: the typical
   * output seen, else `prior`, capped by the model's maximum (`max`, from the model catalog).
   */
  estimate(provider: string, model: string, prior: number, max?: number): number {
    const running = this.providers.get(provider)?.get(model);
    const typical = running === undefined ? prior : Math.ceil(running.mean + DEVIATIONS * running.deviation);
    return cap(max, Math.max(1, typical));
  }

  /** A completion of `provider/model` wrote `outputTokens`. */
  observe(provider: string, model: string, outputTokens: number): void {
    if (!Number.isFinite(outputTokens) || outputTokens < 0) return;
    let models = this.providers.get(provider);
    const running = models?.get(model);
    const updated = ++this.updates;
    if (running === undefined) {
      if (this.size >= MAX_MODELS) this.dropLeastRecentlyUpdated();
      if (models === undefined) {
        models = new Map();
        this.providers.set(provider, models);
      }
      // One sample says little about the spread: start the deviation at the mean itself.
      models.set(model, { mean: outputTokens, deviation: outputTokens, updated });
      this.size++;
      return;
    }
    const error = outputTokens - running.mean;
    running.mean += ALPHA * error;
    running.deviation += ALPHA * (Math.abs(error) - running.deviation);
    // Stamped, not moved to the end of the map: a delete and set per request would rebuild the
    // map's table again and again, in the old generation (docs/performance.md, Memory).
    running.updated = updated;
  }

  /** Only when a model beyond MAX_MODELS is first seen: one pass over the map. */
  private dropLeastRecentlyUpdated(): void {
    let oldest: { provider: string; models: Map<string, Running>; model: string } | undefined;
    let oldestUpdate = Infinity;
    for (const [provider, models] of this.providers) {
      for (const [model, running] of models) {
        if (running.updated < oldestUpdate) {
          oldest = { provider, models, model };
          oldestUpdate = running.updated;
        }
      }
    }
    if (oldest === undefined) return;
    oldest.models.delete(oldest.model);
    this.size--;
    if (oldest.models.size === 0) this.providers.delete(oldest.provider);
  }
}

/**
 * The most a call that sets no max_tokens can write at a provider of this wire format, when the
 * gateway sets the limit itself: the Anthropic format requires max_tokens, and the gateway sends
 * DEFAULT_MAX_TOKENS for the caller. Undefined: the provider's own default applies.
 */
export function outputLimitWithoutMaxTokens(format: WireFormat): number | undefined {
  return format === 'anthropic' ? DEFAULT_MAX_TOKENS : undefined;
}

/** A request's own max_tokens, or an estimate, never above what the model can write (`max`, when the catalog knows it). */
export function cap(max: number | undefined, outputTokens: number): number {
  return max === undefined ? outputTokens : Math.min(outputTokens, max);
}
