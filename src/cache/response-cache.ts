/**
 * The response cache: decides, per request, whether an answer comes from the
 * cache (exact, then semantic), and stores the answers of the requests that
 * missed. It knows nothing of the gateway's plumbing: the plugin
 * (plugin.ts) hands it the canonical request and, later, the canonical
 * answer; embeddings come through a function it is given (Heimdall's own
 * routing).
 *
 *   const lookup = await cache.lookup({ requestId, operation, model, request, controls, identity });
 *   if (lookup.answer) ...serve it...
 *   ...later, with the answer that went to the caller:
 *   cache.complete(lookup, answer, costUsd);
 */
import { performance } from 'node:perf_hooks';
import { GatewayError } from '../errors/gateway-error.js';
import type { ChatCompletion, ChatRequest, EmbeddingResponse } from '../formats/openai/types.js';
import type { CacheConfig, CacheKeyOverride } from './config-schema.js';
import type { CacheControls } from './controls.js';
import { embeddingText, failedGuard, ineligible, semanticFacts, type Guard, type Ineligible, type SemanticFacts } from './guards.js';
import type { CacheJournal } from './journal.js';
import { entryBytes } from './local-store.js';
import { digest, exactKeyOf, requestFacts, type RequestFacts } from './request-key.js';
import type { CacheEntry, CacheStore } from './types.js';
import { normalise } from './vector-index.js';

export type Verdict = 'hit' | 'semantic-hit' | 'miss' | 'bypass';

/** Who asks: the scope is derived from it. */
export interface CacheIdentity {
  virtualKeyId: string | undefined;
  virtualKeyName: string | undefined;
  teamId: string | undefined;
  customerId: string | undefined;
}

export interface LookupInput {
  requestId: string;
  operation: string;
  model: string;
  /** The request in canonical chat form (its facts feed the semantic lookup), or the body of an embeddings or completions request. */
  request: ChatRequest;
  /** The exact key is computed from this body instead of `request` (a Responses request, keyed as the caller wrote it). */
  keyBody?: Readonly<Record<string, unknown>>;
  /** False: the exact cache only (embeddings, legacy completions). Default true. */
  semantic?: boolean;
  controls: CacheControls;
  identity: CacheIdentity;
}

/** What an entry holds: a chat completion (chat, Messages, Gemini, Responses), a legacy completion, or an embeddings list. */
export type CachedAnswer = ChatCompletion | EmbeddingResponse;

/** Complete: every choice finished, or (embeddings) every vector there. */
export function isComplete(answer: CachedAnswer): boolean {
  const choices = (answer as { choices?: unknown }).choices;
  if (Array.isArray(choices)) return choices.length > 0 && choices.every((choice: { finish_reason?: unknown }) => choice.finish_reason !== null && choice.finish_reason !== undefined);
  const data = (answer as { data?: unknown }).data;
  return Array.isArray(data) && data.length > 0;
}

export interface ShadowMatch {
  entry: CacheEntry;
  similarity: number;
  guard: Guard | undefined;
  threshold: number;
}

export interface Lookup {
  verdict: Verdict;
  scope: string;
  controls: CacheControls;
  /** Why the request was not looked up or stored (bypass, or no semantic lookup). */
  reason?: string;
  facts?: RequestFacts;
  /** Served: the entry and its answer. */
  entry?: CacheEntry;
  answer?: CachedAnswer;
  similarity?: number;
  /** The request's own semantic facts and vector: stored with its answer. */
  semantic?: NonNullable<CacheEntry['semantic']>;
  /** Shadow mode: the match that would have been served (or refused by a guard). */
  shadow?: ShadowMatch;
  /** The semantic lookup's embedding call, charged to the caller. */
  embedding?: EmbeddingCharge;
  /** The answer is stored when it comes. */
  store: boolean;
  ttlMs: number;
  startedAt: number;
  lookupMs: number;
}

/** What the embedding call of a lookup cost the caller: charged to its virtual key with the request. */
export interface EmbeddingCharge {
  /** The provider and model that embedded it. */
  provider: string;
  model: string;
  tokens: number;
  /** USD; null when the embedding model has no known price. */
  costUsd: number | null;
}

export interface Embedding {
  vector: Float32Array | undefined;
  /** Undefined when the call was not made or not answered. */
  charge?: EmbeddingCharge;
}

/** Embeds one text with the configured model; no vector when it failed (the lookup goes on without it). */
export type Embedder = (text: string, model: string, dimensions: number | undefined, identity: CacheIdentity) => Promise<Embedding>;

export interface CacheEvents {
  lookedUp?(lookup: Lookup, kind: 'exact' | 'semantic', seconds: number): void;
  guardBlocked?(guard: Guard, mode: 'serve' | 'shadow'): void;
  semanticMatch?(mode: 'serve' | 'shadow', guard: Guard | 'none'): void;
  ineligible?(reason: Ineligible): void;
  embedFailed?(): void;
  stored?(entry: CacheEntry): void;
  /** Writing an entry to the store failed (a shared store's database): the answer was served, not stored. */
  storeFailed?(error: unknown): void;
}

export interface ResponseCacheOptions {
  config: () => CacheConfig;
  store: CacheStore;
  journal?: CacheJournal;
  embed: Embedder;
  events?: CacheEvents;
  now?: () => number;
}

/** Near matches looked at past the best one (the best may fail a guard). */
const CANDIDATES = 4;
/** Shadow mode also records matches this far below the threshold: they show where it could go. */
const SHADOW_MARGIN = 0.1;

export class ResponseCache {
  readonly store: CacheStore;
  private readonly now: () => number;

  constructor(private readonly options: ResponseCacheOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
  }

  get config(): CacheConfig {
    return this.options.config();
  }

  /** The override of a virtual key, by id or name. */
  private override(identity: CacheIdentity): CacheKeyOverride | undefined {
    const overrides = this.config.virtualKeys;
    if (identity.virtualKeyId !== undefined && Object.hasOwn(overrides, identity.virtualKeyId)) return overrides[identity.virtualKeyId];
    if (identity.virtualKeyName !== undefined && Object.hasOwn(overrides, identity.virtualKeyName)) return overrides[identity.virtualKeyName];
    return undefined;
  }

  /** True when the cache takes part in this request at all. */
  enabledFor(identity: CacheIdentity): boolean {
    const config = this.config;
    return this.override(identity)?.enabled ?? config.enabled;
  }

  /**
   * Who shares entries. A team or customer scope falls back to the key's own when the key has no
   * team or customer: entries are never shared further than configured.
   */
  scopeOf(identity: CacheIdentity): string {
    const own = identity.virtualKeyId === undefined ? 'anonymous' : `vk:${identity.virtualKeyId}`;
    switch (this.config.scope) {
      case 'global':
        return 'global';
      case 'team':
        return identity.teamId === undefined ? own : `team:${identity.teamId}`;
      case 'customer':
        return identity.customerId === undefined ? own : `customer:${identity.customerId}`;
      default:
        return own;
    }
  }

  async lookup(input: LookupInput): Promise<Lookup> {
    const startedAt = performance.now();
    const config = this.config;
    const override = this.override(input.identity);
    const controls = input.controls;
    const scope = this.scopeOf(input.identity);
    const ttlMs = controls.ttlMs ?? override?.ttlMs ?? config.ttlMs;
    const lookup: Lookup = { verdict: 'miss', scope, controls, store: true, ttlMs, startedAt, lookupMs: 0 };
    if (controls.mode === 'bypass') return this.bypass(lookup, 'requested');
    const request = input.request;
    if (typeof request.n === 'number' && request.n > 1) return this.bypass(lookup, 'n');
    const facts = requestFacts(input.operation, input.model, request);
    if (input.keyBody !== undefined) facts.exactKey = exactKeyOf(input.operation, input.model, input.keyBody);
    lookup.facts = facts;
    const now = this.now();
    if (controls.mode !== 'refresh') {
      const entry = await this.store.get(entryId(scope, facts.exactKey), now);
      if (entry !== undefined) {
        this.serve(lookup, entry, 'hit', now);
        this.finishLookup(lookup, 'exact');
        return lookup;
      }
    }
    const semantic = config.semantic;
    if (semantic.enabled && input.semantic !== false) await this.semanticLookup(lookup, input, facts, override, now);
    this.finishLookup(lookup, lookup.verdict === 'semantic-hit' || lookup.semantic !== undefined ? 'semantic' : 'exact');
    if (controls.mode === 'only' && lookup.answer === undefined) {
      throw new GatewayError('HD_ERR_CACHE_MISS', 'x-heimdall-cache: only was asked, and the cache holds no answer to this request.');
    }
    return lookup;
  }

  private bypass(lookup: Lookup, reason: string): Lookup {
    lookup.verdict = 'bypass';
    lookup.reason = reason;
    lookup.store = false;
    if (lookup.controls.mode === 'only') throw new GatewayError('HD_ERR_CACHE_MISS', `x-heimdall-cache: only was asked, but this request is not cached (${reason}).`);
    return lookup;
  }

  private finishLookup(lookup: Lookup, kind: 'exact' | 'semantic'): void {
    lookup.lookupMs = performance.now() - lookup.startedAt;
    this.options.events?.lookedUp?.(lookup, kind, lookup.lookupMs / 1000);
  }

  private serve(lookup: Lookup, entry: CacheEntry, verdict: 'hit' | 'semantic-hit', now: number, similarity?: number): void {
    lookup.verdict = verdict;
    lookup.entry = entry;
    lookup.answer = JSON.parse(entry.response) as CachedAnswer;
    lookup.similarity = similarity;
    lookup.store = false;
    this.store.touch(entry, now);
    this.options.journal?.count(now, verdict, entry.costUsd ?? 0, (entry.inputTokens ?? 0) + (entry.outputTokens ?? 0));
  }

  private async semanticLookup(lookup: Lookup, input: LookupInput, facts: RequestFacts, override: CacheKeyOverride | undefined, now: number): Promise<void> {
    const semantic = this.config.semantic;
    const events = this.options.events;
    const why = ineligible(facts, semantic.maxTemperature);
    if (why !== undefined) {
      lookup.reason = why;
      events?.ineligible?.(why);
      return;
    }
    const text = embeddingText(facts, semantic.history)!;
    const embedded = await this.options.embed(text, semantic.embeddingModel, semantic.dimensions, input.identity);
    lookup.embedding = embedded.charge;
    const vector = embedded.vector;
    if (vector === undefined || !normalise(vector)) {
      lookup.reason = 'embedding_failed';
      events?.embedFailed?.();
      return;
    }
    const asked = semanticFacts(facts, text);
    const partition = `${lookup.scope}\u0000${semantic.embeddingModel}\u0000${vector.length}`;
    lookup.semantic = { partition, vector, facts: asked };
    if (lookup.controls.mode === 'refresh') return;
    const threshold = lookup.controls.threshold ?? override?.threshold ?? semantic.threshold;
    const shadow = semantic.mode === 'shadow';
    const floor = shadow ? Math.max(0, threshold - SHADOW_MARGIN) : threshold;
    const matches = await this.store.nearest(partition, vector, CANDIDATES, floor, now);
    for (const match of matches) {
      const stored = match.entry.semantic?.facts;
      if (stored === undefined) continue;
      const guard = failedGuard(stored, asked, semantic.history);
      const passes = guard === undefined && match.similarity >= threshold;
      if (shadow) {
        // The nearest match is what serving would have looked at first: record it, serve nothing.
        lookup.shadow = { entry: match.entry, similarity: match.similarity, guard, threshold };
        if (match.similarity >= threshold) events?.semanticMatch?.('shadow', guard ?? 'none');
        return;
      }
      if (guard !== undefined) {
        events?.guardBlocked?.(guard, 'serve');
        continue;
      }
      if (passes) {
        events?.semanticMatch?.('serve', 'none');
        this.serve(lookup, match.entry, 'semantic-hit', now, match.similarity);
        return;
      }
    }
  }

  /**
   * The answer the caller got (on a miss or a refresh): stored when it is complete; in shadow mode
   * the real answer goes beside the match that would have been served. `costUsd`: what it cost.
   */
  complete(lookup: Lookup, answer: CachedAnswer | undefined, costUsd: number | null | undefined, served: { requestId: string; provider: string | null; model: string | null }): void {
    const now = this.now();
    if (lookup.verdict === 'miss') this.options.journal?.count(now, 'miss', 0, 0);
    if (lookup.shadow !== undefined) this.recordShadow(lookup, answer, served.requestId, now);
    if (!lookup.store || answer === undefined || lookup.facts === undefined) return;
    if (!isComplete(answer)) return;
    const config = this.config;
    const response = JSON.stringify(answer);
    const bytes = entryBytes(response, lookup.semantic);
    if (bytes > config.maxEntryBytes) return;
    const entry: CacheEntry = {
      id: entryId(lookup.scope, lookup.facts.exactKey),
      scope: lookup.scope,
      key: lookup.facts.exactKey,
      model: lookup.facts.model,
      provider: served.provider,
      servedModel: served.model,
      response,
      bytes,
      createdAt: now,
      expiresAt: now + lookup.ttlMs,
      usedAt: now,
      hits: 0,
      inputTokens: answer.usage?.prompt_tokens ?? null,
      outputTokens: (answer.usage as { completion_tokens?: number } | undefined)?.completion_tokens ?? null,
      costUsd: typeof costUsd === 'number' ? costUsd : null,
      semantic: lookup.semantic,
    };
    const events = this.options.events;
    void Promise.resolve()
      .then(() => this.store.put(entry, now))
      .then(() => events?.stored?.(entry), (error: unknown) => events?.storeFailed?.(error));
  }

  private recordShadow(lookup: Lookup, answer: CachedAnswer | undefined, requestId: string, now: number): void {
    const shadow = lookup.shadow!;
    const cached = shadow.entry;
    this.options.journal?.shadow({
      time: now,
      request_id: requestId,
      scope: lookup.scope,
      model: lookup.facts?.model ?? cached.model,
      entry_id: cached.id,
      similarity: shadow.similarity,
      threshold: shadow.threshold,
      guard: shadow.guard ?? null,
      question: lookup.semantic?.facts.text ?? '',
      cached_question: cached.semantic?.facts.text ?? '',
      cached_answer: answerText(JSON.parse(cached.response) as ChatCompletion),
      real_answer: answer === undefined ? null : answerText(answer as ChatCompletion),
    });
  }
}

/** One entry per question per scope. */
export function entryId(scope: string, exactKey: string): string {
  return digest(`${scope}\u0000${exactKey}`);
}

/** An answer's text for the review (first choice: content, else its tool calls). */
export function answerText(answer: ChatCompletion): string {
  const message = answer.choices?.[0]?.message;
  if (message === undefined) return '';
  if (typeof message.content === 'string' && message.content !== '') return message.content;
  if (message.tool_calls !== undefined) return message.tool_calls.map((call) => `${call.function.name}(${call.function.arguments})`).join('\n');
  return typeof message.content === 'string' ? message.content : JSON.stringify(message.content ?? '');
}

export type { SemanticFacts };
