/**
 * Model facts: what the gateway knows about one (provider, model) target.
 * Prices are USD per million tokens.
 */

export interface PriceTier {
  input?: number;
  cached_input?: number;
  cache_write?: number;
  output?: number;
  reasoning?: number;
  embedding?: number;
}

export interface ModelPrice extends PriceTier {
  /** USD per image generated (models priced per image rather than per token: Imagen). */
  image?: number;
  /** USD per second of audio transcribed or translated (Whisper). */
  audio_second?: number;
  /** USD per million characters of text spoken (text-to-speech models priced per character). */
  characters?: number;
  /** Prices of a request whose prompt is above `threshold` tokens. */
  long_context?: PriceTier & { threshold: number };
  /** The model's own prices in a provider's batch API (else the provider's documented discount: batch-price.ts). */
  batch?: PriceTier;
}

/** A sampling parameter a model refuses; `allowed` is the one value it accepts (o-series temperature 1). */
export interface RefusedParam {
  param: string;
  allowed?: number | boolean;
}

/** Per-model parameter rules that the data packages do not carry (src/catalog/rules.ts). */
export interface ParamRules {
  /** The rules that apply, by family name (e.g. "openai-reasoning"). */
  families: readonly string[];
  /** The output limit travels as `max_completion_tokens` (OpenAI reasoning models refuse `max_tokens`). */
  maxTokensField?: 'max_completion_tokens';
  /** Parameters the model refuses. */
  refuses: readonly RefusedParam[];
  /** Pairs refused together: [kept, dropped] (current Claude: temperature and top_p). */
  exclusive: ReadonlyArray<readonly [string, string]>;
  /** Served by the Responses API only (OpenAI -codex and -pro models). */
  responsesOnly: boolean;
}

export interface Modalities {
  input: readonly string[];
  output: readonly string[];
}

export interface ModelFacts {
  contextWindow?: number;
  maxOutputTokens?: number;
  /** A reasoning (thinking) model. */
  reasoning: boolean;
  /**
   * The catalog knows whether the model reasons (the config file, a rule or the data says so). Only
   * then does a model that does not reason lose the thinking parameters of a translated request.
   */
  reasoningKnown: boolean;
  modalities?: Modalities;
  price?: ModelPrice;
  /** Where the price came from: the config file (catalog.overrides), the catalog data, or a rule (local models are free). */
  priceSource?: 'config' | 'catalog' | 'rule';
  /** The price's entry: "openai/gpt-4o-mini" (catalog), the override's key (config), "ollama/*" (rule). */
  priceKey?: string;
  /** The catalog entries that matched, e.g. "genai-prices:openai/gpt-5-mini", "llm-zoo:openai/gpt-5-mini". */
  matched: readonly string[];
  rules: ParamRules;
}

/** A lookup: the configured provider name, its definition id, and the provider's own model id. */
export interface CatalogTarget {
  provider: string;
  type: string;
  model: string;
}
