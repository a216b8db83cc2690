/**
 * Cost of one request from its usage and the model's price. Usage arrives in
 * the canonical (OpenAI Chat) shape, where prompt_tokens includes cache reads
 * and writes and completion_tokens includes reasoning, or, from a Responses
 * API pass-through, as input_tokens/output_tokens with the same inclusions.
 * @see https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage
 * @see https://platform.openai.com/docs/api-reference/responses/object#responses/object-usage
 */
import type { ModelPrice, PriceTier } from './pricing.js';

export interface TokenCounts {
  /** Every prompt token: fresh, cache reads and cache writes. */
  input: number;
  cachedInput: number;
  cacheWrite: number;
  /** Every output token, reasoning included. */
  output: number;
  reasoning: number;
  /** Media units (images generated, seconds of audio, characters spoken), for per-unit prices. */
  images: number;
  audioSeconds: number;
  characters: number;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * Reads either usage shape (and a media call's units); undefined when there is none. One object per call, built
 * whole: on Node 20 an object spread followed by more properties (`{ ...tokens, images }`) makes a new hidden
 * class per call, allocated in the old generation, which grows by it under load (docs/performance.md, Memory).
 */
export function tokenCounts(usage: unknown): TokenCounts | undefined {
  if (!isObject(usage)) return undefined;
  let input = 0;
  let cachedInput = 0;
  let cacheWrite = 0;
  let output = 0;
  let reasoning = 0;
  if (typeof usage.prompt_tokens === 'number' || typeof usage.completion_tokens === 'number') {
    const prompt = usage.prompt_tokens_details;
    const completion = usage.completion_tokens_details;
    input = count(usage.prompt_tokens);
    cachedInput = isObject(prompt) ? count(prompt.cached_tokens) : 0;
    cacheWrite = count(usage.cache_creation_input_tokens);
    output = count(usage.completion_tokens);
    reasoning = isObject(completion) ? count(completion.reasoning_tokens) : 0;
  } else if (typeof usage.input_tokens === 'number' || typeof usage.output_tokens === 'number') {
    const inputDetails = usage.input_tokens_details;
    const outputDetails = usage.output_tokens_details;
    input = count(usage.input_tokens);
    cachedInput = isObject(inputDetails) ? count(inputDetails.cached_tokens) : 0;
    output = count(usage.output_tokens);
    reasoning = isObject(outputDetails) ? count(outputDetails.reasoning_tokens) : 0;
  } else if (usage.images === undefined && usage.audio_seconds === undefined && usage.characters === undefined) {
    return undefined;
  }
  return {
    input,
    cachedInput,
    cacheWrite,
    output,
    reasoning,
    images: count(usage.images),
    audioSeconds: count(usage.audio_seconds),
    characters: count(usage.characters),
  };
}

export function totalTokens(tokens: TokenCounts): number {
  return tokens.input + tokens.output;
}

/** Rounds away float noise (1e-12 USD), keeping every real digit of a price. */
export function roundUsd(value: number): number {
  return Math.round(value * 1e12) / 1e12;
}

function tierFor(price: ModelPrice, prompt: number): PriceTier {
  const long = price.long_context;
  return long !== undefined && prompt > long.threshold ? { ...price, ...long } : price;
}

/**
 * USD for these tokens, or null when the price lacks a rate the usage needs
 * (e.g. an embeddings-only entry asked to price output tokens).
 */
export function costOf(price: ModelPrice, tokens: TokenCounts, embeddings: boolean): number | null {
  const tier = tierFor(price, tokens.input);
  if (embeddings) {
    const rate = tier.embedding ?? tier.input;
    return rate === undefined ? null : roundUsd((tokens.input * rate) / 1e6);
  }
  const cached = Math.min(tokens.cachedInput, tokens.input);
  const written = Math.min(tokens.cacheWrite, tokens.input - cached);
  const fresh = tokens.input - cached - written;
  const reasoning = Math.min(tokens.reasoning, tokens.output);
  const visible = tokens.output - reasoning;
  // Each kind of token at its rate; a kind that was used but has no rate makes the cost unknown.
  const freshRate = tier.input;
  const cachedRate = tier.cached_input ?? tier.input;
  const writtenRate = tier.cache_write ?? tier.input;
  const visibleRate = tier.output;
  const reasoningRate = tier.reasoning ?? tier.output;
  if ((fresh !== 0 && freshRate === undefined) || (cached !== 0 && cachedRate === undefined) || (written !== 0 && writtenRate === undefined)
    || (visible !== 0 && visibleRate === undefined) || (reasoning !== 0 && reasoningRate === undefined)) return null;
  let micro = (fresh === 0 ? 0 : fresh * freshRate!) + (cached === 0 ? 0 : cached * cachedRate!) + (written === 0 ? 0 : written * writtenRate!)
    + (visible === 0 ? 0 : visible * visibleRate!) + (reasoning === 0 ? 0 : reasoning * reasoningRate!);
  // Media units: priced when the model has a unit price (Imagen, Whisper, TTS); a model billed by
  // tokens (gpt-image-1) reports both, and its tokens carry the cost. Units alone without a price: unknown.
  let unpricedUnits = false;
  if (tokens.images !== 0) {
    if (price.image === undefined) unpricedUnits = true;
    else micro += tokens.images * (price.image * 1e6);
  }
  if (tokens.audioSeconds !== 0) {
    if (price.audio_second === undefined) unpricedUnits = true;
    else micro += tokens.audioSeconds * (price.audio_second * 1e6);
  }
  if (tokens.characters !== 0) {
    if (price.characters === undefined) unpricedUnits = true;
    else micro += tokens.characters * price.characters;
  }
  if (unpricedUnits && tokens.input + tokens.output === 0) return null;
  return roundUsd(micro / 1e6);
}

/** Upper-bound cost of a request before it runs. */
export function estimateCost(price: ModelPrice, inputTokens: number, outputTokens: number, embeddings: boolean): number | null {
  const tier = tierFor(price, inputTokens);
  if (embeddings) {
    const rate = tier.embedding ?? tier.input;
    return rate === undefined ? null : (inputTokens * rate) / 1e6;
  }
  if (tier.input === undefined && inputTokens > 0) return null;
  if (tier.output === undefined && outputTokens > 0) return null;
  // The dearest rate each token could be billed at: a cache write, a reasoning token.
  const inputRate = Math.max(tier.input ?? 0, tier.cache_write ?? 0);
  const outputRate = Math.max(tier.output ?? 0, tier.reasoning ?? 0);
  return (inputTokens * inputRate + outputTokens * outputRate) / 1e6;
}
