/**
 * The response cache as a built-in plugin on the request lifecycle (one line
 * in app.ts, after governance): the embedded store in the data dir, the live
 * configuration, the metrics, and the last flush on close.
 *
 * On the request path, in stage order:
 *   beforeRouting  after governance admitted the request (the key's request rate limit counts it,
 *                  an exhausted budget refuses it): the lookup; a hit is an early answer, rendered
 *                  in the caller's format (whole, or replayed as a stream); nothing goes upstream
 *   finalAnswer    a miss: its answer (priced by governance) is stored if complete, a shadow match
 *                  recorded beside it; a hit costs $0 and no tokens (governance reads ctx.cache)
 */
import type { FastifyInstance } from 'fastify';
import type { ResolvedConfig } from '../config/load.js';
import type { ChatCompletion, ChatCompletionChunk, ChatRequest, EmbeddingResponse } from '../formats/openai/types.js';
import type { Gateway } from '../gateway/gateway.js';
import type { PipelineInput } from '../gateway/pipeline.js';
import { RequestContext } from '../gateway/request-context.js';
import type { BuiltinPlugin } from '../plugins/lifecycle.js';
import { contextOf } from '../plugins/request-view.js';
import type { RoutingStageImpl } from '../plugins/stages.js';
import type { EarlyAnswer, FinalAnswer, PluginRequest, RoutingStage } from '../plugins/types.js';
import type { CacheConfig } from './config-schema.js';
import { readControls } from './controls.js';
import { CacheMetrics } from './cache-metrics.js';
import { CacheJournal } from './journal.js';
import { LocalCacheStore, openCacheDatabase } from './local-store.js';
import type { CacheStore } from './types.js';
import { GatewayError } from '../errors/gateway-error.js';
import { legacyCompletionOf, replayChunks, replayLegacyChunks, type LegacyCompletion } from './replay.js';
import { ResponseCache, type CacheIdentity, type CachedAnswer, type Embedding, type EmbeddingCharge, type Lookup } from './response-cache.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The response cache (src/cache): GET /api/cache/stats, DELETE /api/cache. */
    responseCache: CachePlugin;
  }
}

const STATE = 'cache';
/** The cache's own embedding calls: never looked up themselves. */
const INTERNAL = 'cache.internal';

interface RequestState {
  lookup: Lookup;
  operation: string;
}

export interface CacheLogger {
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

export interface CachePlugin {
  cache: ResponseCache;
  store: CacheStore;
  journal: CacheJournal;
  metrics: CacheMetrics;
  config(): CacheConfig;
}

/** Floats of an embedding as a Float32Array (base64 float32 too, as some servers send it regardless). */
function vectorOf(embedding: number[] | string | undefined): Float32Array | undefined {
  if (Array.isArray(embedding)) return Float32Array.from(embedding);
  if (typeof embedding === 'string') {
    const bytes = Buffer.from(embedding, 'base64');
    const vector = new Float32Array(bytes.length / 4);
    for (let i = 0; i < vector.length; i++) vector[i] = bytes.readFloatLE(i * 4);
    return vector;
  }
  return undefined;
}

/**
 * One embedding through Heimdall's own routing (its keys, fallbacks, retries and breakers), priced
 * like an embeddings request (governance's prices): the caller is charged for it with its request.
 */
function embedder(gateway: Gateway, logger: CacheLogger) {
  let calls = 0;
  return async (text: string, model: string, dimensions: number | undefined, identity: CacheIdentity): Promise<Embedding> => {
    const ctx = new RequestContext(`cache-embedding-${++calls}`, 'openai', '/v1/embeddings');
    ctx.hookState.set(INTERNAL, true);
    ctx.virtualKeyId = identity.virtualKeyId;
    const body: Record<string, unknown> = { model, input: text, encoding_format: 'float' };
    if (dimensions !== undefined) body.dimensions = dimensions;
    const input: PipelineInput = {
      operation: 'embeddings',
      model,
      fallbacks: undefined,
      stream: false,
      nativeFormat: 'openai',
      passthroughBody: (target) => JSON.stringify({ ...body, model: target }),
      canonical: () => ({ ...body, model } as never),
    };
    try {
      const outcome = await gateway.pipeline.execute(ctx, input);
      if (outcome.kind !== 'json') return { vector: undefined };
      const charge = chargeOf(gateway, ctx, outcome.target.provider.name, outcome.target.model);
      const response = (outcome.result ?? JSON.parse(outcome.raw!.toString('utf8'))) as EmbeddingResponse;
      return { vector: vectorOf(response.data?.[0]?.embedding), charge };
    } catch (error) {
      logger.warn({ err: error, embedding_model: model }, 'cache: the embedding call failed; the request goes on without a semantic lookup');
      return { vector: undefined };
    }
  };
}

/** What an answered embedding call costs: its tokens, priced as an embeddings request (null: no known price). */
function chargeOf(gateway: Gateway, ctx: RequestContext, provider: string, model: string): EmbeddingCharge {
  const usage = ctx.usage as { prompt_tokens?: number; total_tokens?: number } | undefined;
  const tokens = usage?.total_tokens ?? usage?.prompt_tokens ?? 0;
  const costOf = gateway.lifecycle.costOf;
  return { provider, model, tokens, costUsd: costOf === undefined ? null : costOf(ctx) };
}

/**
 * `shared`: a store shared by the gateways of a cluster (postgres-store.ts), opened by the caller;
 * without it, the embedded store in the data dir. The savings and shadow-mode journal stay in the
 * instance's own cache.db either way.
 */
export function registerCache(app: FastifyInstance, config: ResolvedConfig, gateway: Gateway, logger: CacheLogger, shared?: CacheStore): CachePlugin {
  const running = app.hasDecorator('configService') ? () => app.configService.config.cache : () => config.cache;
  const memory = app.hasDecorator('store') && app.store.db.memory;
  const dataDir = memory ? undefined : config.server.dataDir;
  const initial = running();
  const local = shared === undefined
    ? new LocalCacheStore({ dataDir, maxEntries: initial.maxEntries, maxBytes: initial.maxBytes, onError: (error) => logger.error({ err: error }, 'cache: writing entries failed') })
    : undefined;
  const store: CacheStore = local ?? shared!;
  const journalDb = local?.db ?? openCacheDatabase(dataDir);
  const journal = new CacheJournal(journalDb);
  const metrics = new CacheMetrics(gateway.metrics.registry, () => store.stats());
  const cache = new ResponseCache({
    config: running,
    store,
    journal,
    embed: embedder(gateway, logger),
    events: {
      lookedUp: (_lookup, kind, seconds) => metrics.lookup.with(kind).observe(seconds),
      guardBlocked: (guard, mode) => metrics.matches.with(mode, guard).inc(),
      semanticMatch: (mode, guard) => metrics.matches.with(mode, guard).inc(),
      ineligible: (reason) => metrics.skipped.with(reason).inc(),
      embedFailed: () => metrics.skipped.with('embedding_failed').inc(),
      storeFailed: (error) => logger.error({ err: error }, 'cache: storing an entry failed'),
    },
  });
  const plugin: CachePlugin = { cache, store, journal, metrics, config: running };
  app.decorate('responseCache', plugin);
  // On the lifecycle only while some key may use it: a finalAnswer plugin makes every stream decode.
  const stages = cachePlugin(app, gateway, plugin, logger);
  let registered = false;
  const place = (next: CacheConfig): void => {
    const wanted = next.enabled || Object.values(next.virtualKeys).some((override) => override.enabled === true);
    if (wanted && !registered) gateway.lifecycle.use(stages);
    else if (!wanted && registered) gateway.lifecycle.unuse(stages.name);
    registered = wanted;
  };
  place(initial);
  if (app.hasDecorator('configService')) {
    app.configService.onChange((next) => {
      store.setBounds(next.cache.maxEntries, next.cache.maxBytes);
      place(next.cache);
    });
  }
  app.addHook('onClose', async () => {
    try {
      journal.flush();
    } finally {
      await store.close();
      if (local === undefined) journalDb.close();
    }
  });
  return plugin;
}

function identityOf(app: FastifyInstance, ctx: RequestContext): CacheIdentity {
  const id = ctx.virtualKeyId;
  const name = id !== undefined && app.hasDecorator('governance') ? app.governance.registry.keys.get(id)?.name : undefined;
  return { virtualKeyId: id, virtualKeyName: name, teamId: ctx.teamId, customerId: ctx.customerId };
}

/**
 * What is cached: chat answers (OpenAI chat, Anthropic Messages, Gemini generateContent), Responses API
 * answers, legacy completions and embeddings; not media, nor native pass-through (raw) calls, nor the
 * Responses API's token counts (a chat call on a /v1/responses route).
 */
function cacheable(ctx: RequestContext, input: PipelineInput | undefined): input is PipelineInput {
  if (input === undefined || input.raw !== undefined) return false;
  switch (input.operation) {
    case 'chat':
      return !ctx.route.startsWith('/v1/responses');
    case 'responses':
    case 'completions':
    case 'embeddings':
      return true;
    default:
      return false;
  }
}

/** Operations whose conversation can be matched semantically (the others use the exact cache only). */
const SEMANTIC_OPERATIONS = new Set(['chat', 'responses']);

/**
 * Why a Responses request depends on state stored outside it (and so is never cached), or undefined:
 * a previous response or a conversation it continues, items it references by id, a stored prompt
 * without a fixed version, or a background run (its answer is polled, not returned).
 */
export function responsesStateDependence(body: Readonly<Record<string, unknown>>): string | undefined {
  if (body.previous_response_id !== undefined && body.previous_response_id !== null) return 'previous_response_id';
  if (body.conversation !== undefined && body.conversation !== null) return 'conversation';
  if (body.background === true) return 'background';
  const prompt = body.prompt as { version?: unknown } | null | undefined;
  if (typeof prompt === 'object' && prompt !== null && (prompt.version === undefined || prompt.version === null)) return 'prompt_without_version';
  const items = body.input;
  if (Array.isArray(items) && items.some((item) => typeof item === 'object' && item !== null && (item as { type?: unknown }).type === 'item_reference')) return 'item_reference';
  return undefined;
}

/** A stored answer replayed as a stream in the canonical form (replay.ts); a legacy completion in its own chunks. */
async function* replay(answer: CachedAnswer, operation: string): AsyncIterable<ChatCompletionChunk> {
  if (operation === 'completions') yield* replayLegacyChunks(legacyCompletionOf(answer as ChatCompletion | LegacyCompletion));
  else yield* replayChunks(answer as ChatCompletion);
}

/** The answer as the cache keeps it: a legacy completion in its own shape, even when it was streamed. */
function storedAnswer(answer: ChatCompletion | EmbeddingResponse | undefined, operation: string): CachedAnswer | undefined {
  if (answer === undefined || operation !== 'completions') return answer;
  return legacyCompletionOf(answer as ChatCompletion | LegacyCompletion) as unknown as CachedAnswer;
}

/**
 * The request in canonical form for the key. A provider that speaks the caller's format gets the
 * caller's own bytes, so what decoding it would drop (warnings) is not dropped: those warnings go.
 */
function canonicalRequest(gateway: Gateway, ctx: RequestContext, request: PluginRequest, routing: RoutingStage, input: PipelineInput): ChatRequest | undefined {
  const before = ctx.warnings?.length ?? 0;
  let canonical: ChatRequest;
  try {
    canonical = request.canonical() as ChatRequest;
  } catch {
    return undefined; // strict mode refuses its translation; a pass-through may still serve it
  }
  const added = (ctx.warnings?.length ?? 0) - before;
  const primary = (routing as RoutingStageImpl).plan().targets[0];
  const passthrough = primary !== undefined && primary.provider.definition.format === input.nativeFormat && !input.rewritten
    && primary.provider.wireOperation(input.operation, primary.model, gateway.state.catalog) === input.operation;
  if (added > 0 && passthrough) {
    ctx.warnings!.splice(before, added);
    if (ctx.warnings!.length === 0) ctx.warnings = undefined;
  }
  return canonical;
}

function cachePlugin(app: FastifyInstance, gateway: Gateway, plugin: CachePlugin, logger: CacheLogger): BuiltinPlugin {
  const { cache, metrics } = plugin;
  const builtin: BuiltinPlugin = {
    name: 'cache',
    after: ['governance'],
    // Synchronous when the cache does not take part: no promise on the request path with the cache off.
    beforeRouting(request: PluginRequest, routing: RoutingStage): Promise<EarlyAnswer | void> | void {
      const ctx = contextOf(request);
      const input = ctx.input;
      if (ctx.hookState.has(INTERNAL) || !cacheable(ctx, input)) return;
      const identity = identityOf(app, ctx);
      if (!cache.enabledFor(identity) || routing.targets.length === 0) return;
      return lookUp(request, routing, ctx, input, identity);
    },
    finalAnswer(request: PluginRequest, answer: FinalAnswer): void {
      const ctx = contextOf(request);
      const state = ctx.hookState.get(STATE) as RequestState | undefined;
      if (state === undefined || answer.source === 'plugin' || state.lookup.answer !== undefined) return;
      try {
        const complete = answer.status === 200 && answer.completed && ctx.error === undefined && ctx.errorMessage === undefined;
        const response = complete ? storedAnswer(answer.response(), state.operation) : undefined;
        const target = request.target;
        cache.complete(state.lookup, response, answer.costUsd, { requestId: ctx.id, provider: target?.provider ?? null, model: target?.model ?? null });
      } catch (error) {
        logger.error({ err: error }, 'cache: storing an answer failed');
      }
    },
  };
  return builtin;

  /** The lookup; a hit is the request's early answer. */
  async function lookUp(request: PluginRequest, routing: RoutingStage, ctx: RequestContext, input: PipelineInput, identity: CacheIdentity): Promise<EarlyAnswer | void> {
    const controls = readControls(request.headers, input.cacheControl);
    const operation = input.operation;
    const bypass = (reason: string): void => {
      if (controls.mode === 'only') throw new GatewayError('HD_ERR_CACHE_MISS', `x-heimdall-cache: only was asked, but this request is not cached (${reason}).`);
      metrics.counted('bypass');
      request.setResponseHeader('x-heimdall-cache', 'bypass');
      ctx.cacheFacts = { result: 'bypass', reason };
    };
    const keyBody = operation === 'responses' ? input.requestBody : undefined;
    if (operation === 'responses') {
      const stateful = keyBody === undefined ? 'not_translatable' : responsesStateDependence(keyBody);
      if (stateful !== undefined) return bypass(stateful);
    }
    // Embeddings and legacy completions are OpenAI's own shapes: their body is their canonical form.
    const canonical = SEMANTIC_OPERATIONS.has(operation) ? canonicalRequest(gateway, ctx, request, routing, input) : (request.canonical() as ChatRequest);
    if (canonical === undefined) return bypass('not_translatable');
    const semantic = SEMANTIC_OPERATIONS.has(operation);
    const lookup = await cache.lookup({ requestId: ctx.id, operation, model: input.model, request: canonical, keyBody, semantic, controls, identity });
    ctx.hookState.set(STATE, { lookup, operation } satisfies RequestState);
    metrics.counted(lookup.verdict);
    request.setResponseHeader('x-heimdall-cache', lookup.verdict);
    const facts: Record<string, unknown> = { result: lookup.verdict };
    ctx.cacheFacts = facts;
    if (lookup.reason !== undefined) facts.reason = lookup.reason;
    const charge = lookup.embedding;
    if (charge !== undefined) {
      // The embedding call is the caller's: its cost and tokens are settled with the request (governance).
      ctx.sideCharge = { costUsd: charge.costUsd, tokens: charge.tokens };
      facts.embedding = { provider: charge.provider, model: charge.model, tokens: charge.tokens, cost_usd: charge.costUsd };
    }
    if (lookup.shadow !== undefined) {
      facts.shadow = { entry_id: lookup.shadow.entry.id, similarity: round(lookup.shadow.similarity), guard: lookup.shadow.guard ?? null };
    }
    const entry = lookup.entry;
    const answer = lookup.answer;
    if (entry === undefined || answer === undefined) {
      request.cache = lookup.verdict === 'miss' ? 'miss' : 'none';
      return;
    }
    const ageSeconds = Math.max(0, Math.floor((Date.now() - entry.createdAt) / 1000));
    request.setResponseHeader('x-heimdall-cache-age', String(ageSeconds));
    request.setResponseHeader('x-heimdall-cache-entry', entry.id);
    if (lookup.similarity !== undefined) request.setResponseHeader('x-heimdall-cache-similarity', round(lookup.similarity).toFixed(4));
    Object.assign(facts, { entry_id: entry.id, age_s: ageSeconds, similarity: lookup.similarity === undefined ? undefined : round(lookup.similarity), saved_usd: entry.costUsd });
    request.cache = 'hit';
    metrics.saved(entry.costUsd ?? 0, entry.inputTokens ?? 0, entry.outputTokens ?? 0);
    return request.stream ? { stream: replay(answer, operation) } : { response: answer };
  }
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
