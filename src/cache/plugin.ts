/**
 * Wires the response cache into the app (one line in app.ts, after
 * governance): the embedded store in the data dir, the gateway hooks, the
 * live configuration, the metrics, and the last flush on close.
 *
 * On the request path, in hook order:
 *   admit (governance)  the key's rate limits count the request, budgets refuse an exhausted key
 *   answer              the lookup: a hit is the request's outcome (the caller's format, whole or
 *                       replayed as a stream); nothing goes upstream
 *   outcome             a miss: its answer is observed on the side (a stream as it is pumped)
 *   settle              after governance priced it: the answer is stored, shadow matches recorded,
 *                       savings counted; a hit costs $0 and no tokens
 */
import type { FastifyInstance } from 'fastify';
import type { ResolvedConfig } from '../config/load.js';
import type { EmbeddingResponse } from '../formats/openai/types.js';
import { codecContextFor } from '../gateway/attempt.js';
import type { FinishedRequest, Gateway, GatewayHooks } from '../gateway/gateway.js';
import type { Outcome, PipelineInput } from '../gateway/pipeline.js';
import { RequestContext } from '../gateway/request-context.js';
import type { Target } from '../gateway/router.js';
import type { CacheConfig } from './config-schema.js';
import { readControls } from './controls.js';
import { CacheMetrics } from './cache-metrics.js';
import { CacheJournal } from './journal.js';
import { LocalCacheStore } from './local-store.js';
import { AnswerCapture, cachedOutcome } from './outcomes.js';
import { ResponseCache, type CacheIdentity, type Lookup } from './response-cache.js';

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
  capture?: AnswerCapture;
  /** Warnings the canonical decode added: a pass-through answer drops them again (nothing was translated). */
  decodeWarnings: number;
}

export interface CacheLogger {
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

export interface CachePlugin {
  cache: ResponseCache;
  store: LocalCacheStore;
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

/** One embedding through Heimdall's own routing (its keys, fallbacks, retries and breakers). */
function embedder(gateway: Gateway, logger: CacheLogger) {
  let calls = 0;
  return async (text: string, model: string, dimensions: number | undefined, identity: CacheIdentity): Promise<Float32Array | undefined> => {
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
      if (outcome.kind !== 'json') return undefined;
      const response = (outcome.result ?? JSON.parse(outcome.raw!.toString('utf8'))) as EmbeddingResponse;
      return vectorOf(response.data?.[0]?.embedding);
    } catch (error) {
      logger.warn({ err: error, embedding_model: model }, 'cache: the embedding call failed; the request goes on without a semantic lookup');
      return undefined;
    }
  };
}

export function registerCache(app: FastifyInstance, config: ResolvedConfig, gateway: Gateway, logger: CacheLogger): CachePlugin {
  const running = app.hasDecorator('configService') ? () => app.configService.config.cache : () => config.cache;
  const memory = app.hasDecorator('store') && app.store.db.memory;
  const initial = running();
  const store = new LocalCacheStore({
    dataDir: memory ? undefined : config.server.dataDir,
    maxEntries: initial.maxEntries,
    maxBytes: initial.maxBytes,
    onError: (error) => logger.error({ err: error }, 'cache: writing entries failed'),
  });
  const journal = new CacheJournal(store.db);
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
    },
  });
  const plugin: CachePlugin = { cache, store, journal, metrics, config: running };
  app.decorate('responseCache', plugin);
  gateway.addHooks(cacheHooks(app, plugin, logger));
  if (app.hasDecorator('configService')) {
    app.configService.onChange((next) => store.setBounds(next.cache.maxEntries, next.cache.maxBytes));
  }
  app.addHook('onClose', async () => {
    try {
      journal.flush();
    } finally {
      store.close();
    }
  });
  return plugin;
}

function identityOf(app: FastifyInstance, ctx: RequestContext): CacheIdentity {
  const id = ctx.virtualKeyId;
  const name = id !== undefined && app.hasDecorator('governance') ? app.governance.registry.keys.get(id)?.name : undefined;
  return { virtualKeyId: id, virtualKeyName: name, teamId: ctx.teamId, customerId: ctx.customerId };
}

/** Only chat answers are cached: OpenAI chat, Anthropic Messages, Gemini generateContent (not the Responses API). */
function cacheable(ctx: RequestContext, input: PipelineInput): boolean {
  return input.operation === 'chat' && !ctx.route.startsWith('/v1/responses');
}

function cacheHooks(app: FastifyInstance, plugin: CachePlugin, logger: CacheLogger): GatewayHooks {
  const { cache, metrics } = plugin;
  return {
    async answer(ctx: RequestContext, input: PipelineInput, targets: readonly Target[]): Promise<Outcome | undefined> {
      if (ctx.hookState.has(INTERNAL) || targets.length === 0 || !cacheable(ctx, input)) return undefined;
      const identity = identityOf(app, ctx);
      if (!cache.enabledFor(identity)) return undefined;
      const controls = readControls(input.clientHeaders, input.cacheControl);
      const before = ctx.warnings?.length ?? 0;
      let request;
      try {
        request = input.canonical();
      } catch {
        // A body only a pass-through forwards (strict mode refuses its translation): not cached.
        ctx.cache = 'none';
        metrics.counted('bypass');
        ctx.responseHeaders = { ...ctx.responseHeaders, 'x-heimdall-cache': 'bypass' };
        return undefined;
      }
      const lookup = await cache.lookup({ requestId: ctx.id, operation: input.operation, model: input.model, request: request as never, controls, identity });
      ctx.hookState.set(STATE, { lookup, decodeWarnings: (ctx.warnings?.length ?? 0) - before } satisfies RequestState);
      metrics.counted(lookup.verdict);
      const headers: Record<string, string> = { 'x-heimdall-cache': lookup.verdict };
      const facts: Record<string, unknown> = { result: lookup.verdict };
      if (lookup.reason !== undefined) facts.reason = lookup.reason;
      if (lookup.shadow !== undefined) {
        facts.shadow = { entry_id: lookup.shadow.entry.id, similarity: round(lookup.shadow.similarity), guard: lookup.shadow.guard ?? null };
      }
      const entry = lookup.entry;
      if (entry !== undefined && lookup.answer !== undefined) {
        const ageSeconds = Math.max(0, Math.floor((Date.now() - entry.createdAt) / 1000));
        headers['x-heimdall-cache-age'] = String(ageSeconds);
        headers['x-heimdall-cache-entry'] = entry.id;
        if (lookup.similarity !== undefined) headers['x-heimdall-cache-similarity'] = round(lookup.similarity).toFixed(4);
        Object.assign(facts, { entry_id: entry.id, age_s: ageSeconds, similarity: lookup.similarity === undefined ? undefined : round(lookup.similarity), saved_usd: entry.costUsd });
        ctx.cache = 'hit';
        ctx.usage = lookup.answer.usage;
        ctx.cacheFacts = facts;
        ctx.responseHeaders = { ...ctx.responseHeaders, ...headers };
        metrics.saved(entry.costUsd ?? 0, entry.inputTokens ?? 0, entry.outputTokens ?? 0);
        return cachedOutcome(lookup.answer, input.stream, targets[0]);
      }
      ctx.cache = lookup.verdict === 'miss' ? 'miss' : 'none';
      ctx.cacheFacts = facts;
      ctx.responseHeaders = { ...ctx.responseHeaders, ...headers };
      return undefined;
    },
    outcome(ctx: RequestContext, input: PipelineInput, outcome: Outcome): void {
      const state = ctx.hookState.get(STATE) as RequestState | undefined;
      if (state === undefined) return;
      if (outcome.passthrough && state.decodeWarnings > 0 && ctx.warnings !== undefined) {
        // The provider got the caller's own bytes: what the canonical decode would drop was not dropped.
        ctx.warnings.splice(ctx.warnings.length - state.decodeWarnings, state.decodeWarnings);
        if (ctx.warnings.length === 0) ctx.warnings = undefined;
      }
      if (!state.lookup.store && state.lookup.shadow === undefined) return;
      state.capture = new AnswerCapture(input, outcome, codecContextFor(ctx, input.model));
    },
    settle(finished: FinishedRequest): void {
      const ctx = finished.ctx;
      const state = ctx.hookState.get(STATE) as RequestState | undefined;
      if (state === undefined || state.lookup.answer !== undefined) return;
      try {
        const answer = ctx.status === 200 && ctx.error === undefined && ctx.errorMessage === undefined ? state.capture?.result() : undefined;
        cache.complete(state.lookup, answer, ctx.costUsd, { requestId: ctx.id, provider: ctx.target?.provider.name ?? null, model: ctx.target?.model ?? null });
      } catch (error) {
        logger.error({ err: error }, 'cache: storing an answer failed');
      }
    },
  };
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
