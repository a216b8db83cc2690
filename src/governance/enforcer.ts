/**
 * The gateway hooks of governance, in request order:
 *
 *   authenticate  which virtual key (if any) calls; 401 when enforcement wants one (or the
 *                 key is unknown, revoked, expired), 403 when its team or customer is disabled
 *   admit         access (403), price policy (403), rate limits (429), budgets (402 when
 *                 spent; 429 when only calls in flight hold what is left); reserves the
 *                 request's estimated cost and tokens (output: max_tokens, else the
 *                 model's typical output, see output-estimate.ts)
 *   settle        the request's real cost from its usage (ctx.costUsd, null when
 *                 unknown), charged to key, team and customer; reservations released
 *
 * Everything reads memory (registry, ledger, price book): no I/O on the request path.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors/gateway-error.js';
import type { FinishedRequest, GatewayHooks } from '../gateway/gateway.js';
import type { PipelineInput } from '../gateway/pipeline.js';
import type { RequestContext } from '../gateway/request-context.js';
import type { Target } from '../gateway/router.js';
import { costOf, estimateCost, tokenCounts, totalTokens, type TokenCounts } from './cost.js';
import { credentialFrom, queryKeyOf } from './credentials.js';
import { formatResetDuration } from './durations.js';
import { KEY_PREFIX } from './key-secret.js';
import type { ModelCatalog } from '../catalog/catalog.js';
import { cap, OutputEstimator, outputLimitWithoutMaxTokens } from './output-estimate.js';
import type { Decision, LimitReading, LimitSpec, SpendAccount, SpendLedger, Ticket } from './ledger.js';
import type { PriceBook, PriceMatch } from './pricing.js';
import { limitSpecs, type KeyState, type Registry } from './registry.js';
import type { EntityType } from './types.js';

const STATE = 'governance';
const QUERY_KEY = 'governance.query-key';
const BODY_BYTES = 'governance.body-bytes';
/** Prompt tokens assumed per request-body byte: JSON and markup make bytes outnumber tokens, so this bounds from above. */
const TOKENS_PER_BYTE = 1 / 3;

export interface EnforcerSettings {
  enforce: boolean;
  defaultMaxOutputTokens: number;
}

/** Rejection counts by reason, for callers without Prometheus (and tests). */
export interface Rejections {
  missing_key: number;
  invalid_key: number;
  /** A valid key whose team or customer is disabled (403). */
  disabled: number;
  forbidden: number;
  unpriced: number;
  rate_limited: number;
  budget_exceeded: number;
  /** Budget not spent, but held by calls in flight (429). */
  budget_in_flight: number;
}

export interface EnforcerDeps {
  registry: Registry;
  ledger: SpendLedger;
  now(): number;
  settings(): EnforcerSettings;
  prices(): PriceBook;
  /** Model facts (the most output tokens a model can write bounds its reservation). */
  catalog(): ModelCatalog;
  metrics: { rateLimited?(scope: string, limit: string, virtualKeyId?: string): void; budgetExceeded?(scope: string, virtualKeyId?: string): void } | undefined;
  rejections: Rejections;
  /** A key was used (last_used_at, written with the next spend batch). */
  touch(keyId: string, now: number): void;
}

interface RequestState {
  key: KeyState;
  ticket?: Ticket;
}

const SCOPE_LABEL: Record<EntityType, string> = { key: 'virtual_key', team: 'team', customer: 'customer' };

function usd(value: number): string {
  return `$${value < 0.01 && value > 0 ? value.toPrecision(2) : value.toFixed(2)}`;
}

/** The reading of this kind with the least remaining. */
function tightest(readings: readonly LimitReading[], kind: LimitSpec['kind']): LimitReading | undefined {
  let found: LimitReading | undefined;
  for (const reading of readings) {
    if (reading.spec.kind !== kind) continue;
    if (found === undefined || reading.state.remaining < found.state.remaining) found = reading;
  }
  return found;
}

/**
 * The text of the last number asked for, kept: a key's limits and reset times repeat request after
 * request (perf profile: converting each number anew was a tenth of admitting a request).
 */
class LastText {
  private value = Number.NaN;
  private text = '';

  constructor(private readonly format: (value: number) => string) {}

  of(value: number): string {
    if (value !== this.value) {
      this.text = this.format(value);
      this.value = value;
    }
    return this.text;
  }
}

const requestLimitText = new LastText(String);
const requestResetText = new LastText(formatResetDuration);
const tokenLimitText = new LastText(String);
const tokenResetText = new LastText(formatResetDuration);

/**
 * The x-ratelimit-* headers (OpenAI style) of the most constrained limit of each kind, requests first.
 * Built as literals: an object filled under computed names goes megamorphic (perf profile, every request).
 */
export function rateLimitHeaders(readings: readonly LimitReading[]): Record<string, string> | undefined {
  if (readings.length === 0) return undefined;
  const requests = tightest(readings, 'requests');
  const tokens = tightest(readings, 'tokens');
  if (requests === undefined) return tokens === undefined ? {} : tokenHeaders(tokens);
  if (tokens === undefined) return requestHeaders(requests);
  return {
    'x-ratelimit-limit-requests': requestLimitText.of(requests.spec.limit),
    'x-ratelimit-remaining-requests': String(requests.state.remaining),
    'x-ratelimit-reset-requests': requestResetText.of(requests.state.resetMs),
    'x-ratelimit-limit-tokens': tokenLimitText.of(tokens.spec.limit),
    'x-ratelimit-remaining-tokens': String(tokens.state.remaining),
    'x-ratelimit-reset-tokens': tokenResetText.of(tokens.state.resetMs),
  };
}

function requestHeaders(reading: LimitReading): Record<string, string> {
  return {
    'x-ratelimit-limit-requests': requestLimitText.of(reading.spec.limit),
    'x-ratelimit-remaining-requests': String(reading.state.remaining),
    'x-ratelimit-reset-requests': requestResetText.of(reading.state.resetMs),
  };
}

function tokenHeaders(reading: LimitReading): Record<string, string> {
  return {
    'x-ratelimit-limit-tokens': tokenLimitText.of(reading.spec.limit),
    'x-ratelimit-remaining-tokens': String(reading.state.remaining),
    'x-ratelimit-reset-tokens': tokenResetText.of(reading.state.resetMs),
  };
}

function levelName(key: KeyState, account: SpendAccount): string {
  if (account.type === 'key') return `virtual key "${key.record.name}"`;
  if (account.type === 'team') return `team "${key.team?.name ?? account.id}"`;
  return `customer "${key.customer?.name ?? account.id}"`;
}

/**
 * Per key state, computed on first use (a KeyState is rebuilt on every change, so nothing goes stale):
 * the accounts a request is charged to, and the limit specs per requested model and target (perf profile:
 * building them per request was a tenth of governance's time).
 */
interface KeyCache {
  accounts: SpendAccount[];
  specs: Map<string, LimitSpec[]>;
  /** The last specs answered, found again without building their map key (one model, request after request). */
  last: { requested: string; label: string; model: string; specs: LimitSpec[] } | undefined;
}

const perKey = new WeakMap<KeyState, KeyCache>();

function keyCache(key: KeyState): KeyCache {
  let cached = perKey.get(key);
  if (cached === undefined) {
    cached = { accounts: key.levels.map((level) => level.account), specs: new Map(), last: undefined };
    perKey.set(key, cached);
  }
  return cached;
}

function cachedLimitSpecs(key: KeyState, cache: KeyCache, requested: string, label: string, model: string): LimitSpec[] {
  if (key.limits.length === 0) return [];
  const last = cache.last;
  if (last !== undefined && last.requested === requested && last.label === label && last.model === model) return last.specs;
  const specs = cache.specs;
  const id = `${requested}\u0000${label}\u0000${model}`;
  let found = specs.get(id);
  if (found === undefined) {
    found = limitSpecs(key.limits, [requested, label, model], label);
    if (specs.size >= 256) specs.clear(); // bounded: one entry per (model, target) the key is used with
    specs.set(id, found);
  }
  cache.last = { requested, label, model, specs: found };
  return found;
}

/** Retry-After of a call refused because calls in flight hold the rest of a budget: they settle within seconds. */
const IN_FLIGHT_RETRY_S = 1;

export class Enforcer {
  readonly hooks: GatewayHooks;
  /** Typical output per model, for calls that set no max_tokens. */
  readonly outputs = new OutputEstimator();

  constructor(private readonly deps: EnforcerDeps) {
    this.hooks = {
      begin: (ctx, request, body) => this.begin(ctx, request.url, request.headers, body),
      authenticate: (ctx, headers) => this.authenticate(ctx, headers),
      admit: (ctx, input, targets) => this.admit(ctx, input, targets),
      settle: (finished) => this.settle(finished),
    };
  }

  /** Notes what authenticate and admit cannot see: the `?key=` parameter, a body sent without content-length. */
  private begin(ctx: RequestContext, url: string | undefined, headers: IncomingHttpHeaders, body: unknown): void {
    if (ctx.surface === 'gemini') {
      const queryKey = queryKeyOf(url);
      if (queryKey !== undefined) ctx.hookState.set(QUERY_KEY, queryKey);
    }
    if (headers['content-length'] === undefined && Buffer.isBuffer(body)) ctx.hookState.set(BODY_BYTES, body.length);
  }

  /**
   * The key a request presents, resolved; throws 401 per the enforcement rules (no, unknown, revoked or
   * expired key) and 403 for a key whose team or customer is disabled. Used by the /v1/models guard too.
   */
  resolve(headers: IncomingHttpHeaders, queryKey: string | undefined): KeyState | undefined {
    const { enforce } = this.deps.settings();
    const presented = credentialFrom(headers, queryKey);
    if (presented === undefined) {
      if (!enforce) return undefined;
      this.deps.rejections.missing_key++;
      throw new GatewayError('HD_ERR_AUTH_MISSING_KEY', 'A virtual key is required: send it as "Authorization: Bearer hk-...", x-api-key, x-goog-api-key or x-heimdall-key.');
    }
    // Zero config: no key exists and none is required, so a provider-style key is just ignored.
    if (!enforce && this.deps.registry.keyCount === 0 && !presented.startsWith(KEY_PREFIX)) return undefined;
    const key = this.deps.registry.bySecret(presented);
    if (key === undefined) {
      if (!enforce && !presented.startsWith(KEY_PREFIX)) return undefined;
      this.deps.rejections.invalid_key++;
      throw new GatewayError('HD_ERR_AUTH_INVALID_KEY', 'The virtual key is not valid.');
    }
    const problem = this.inactive(key, this.deps.now());
    if (problem !== undefined) {
      this.deps.rejections.invalid_key++;
      throw new GatewayError('HD_ERR_AUTH_INVALID_KEY', `The virtual key "${key.record.name}" ${problem}.`);
    }
    // A valid key held back by policy: 403, not 401 (the key itself is fine; enabling its team or customer lets it through).
    if (key.team?.status === 'disabled') {
      this.deps.rejections.disabled++;
      throw new GatewayError('HD_ERR_AUTH_TEAM_DISABLED', `The virtual key "${key.record.name}" belongs to the disabled team "${key.team.name}".`);
    }
    if (key.customer?.status === 'disabled') {
      this.deps.rejections.disabled++;
      throw new GatewayError('HD_ERR_AUTH_CUSTOMER_DISABLED', `The virtual key "${key.record.name}" belongs to the disabled customer "${key.customer.name}".`);
    }
    return key;
  }

  /** Why a key is no longer a valid key (401): revoked or expired. */
  private inactive(key: KeyState, now: number): string | undefined {
    if (key.record.status === 'revoked') return 'was revoked';
    if (key.record.expires_at !== null && key.record.expires_at <= now) return 'has expired';
    return undefined;
  }

  private authenticate(ctx: RequestContext, headers: IncomingHttpHeaders): void {
    const queryKey = ctx.surface === 'gemini' ? (ctx.hookState.get(QUERY_KEY) as string | undefined) : undefined;
    const key = this.resolve(headers, queryKey);
    if (key === undefined) return;
    ctx.virtualKeyId = key.record.id;
    ctx.teamId = key.team?.id;
    ctx.customerId = key.customer?.id;
    const state: RequestState = { key };
    ctx.hookState.set(STATE, state);
    this.deps.touch(key.record.id, this.deps.now());
    const length = Number(headers['content-length']);
    if (Number.isFinite(length)) ctx.hookState.set(BODY_BYTES, length);
  }

  private allowedModel(key: KeyState, target: Target, requestedAllowed: boolean, fromRequest: boolean): boolean {
    if (key.providers !== undefined && !key.providers.matches(target.provider.name)) return false;
    if (key.models === undefined) return true;
    if (key.models.matches(target.label) || key.models.matches(target.model)) return true;
    // A public name (alias, model group) grants the deployments and fallbacks the configuration gives it.
    return requestedAllowed && (target.tier === 0 || !fromRequest);
  }

  private price(target: Target): PriceMatch | undefined {
    return this.deps.prices().lookup({ provider: target.provider.name, type: target.provider.definition.id, model: target.model });
  }

  /** Synchronous with the in-process ledger: a request without a key pays one Map lookup, no promise. */
  private admit(ctx: RequestContext, input: PipelineInput, targets: readonly Target[]): void | Promise<void> {
    const state = ctx.hookState.get(STATE) as RequestState | undefined;
    if (state === undefined) return;
    const key = state.key;
    const { primary, priced } = this.access(ctx, key, input, targets);
    const embeddings = input.operation === 'embeddings';
    const bytes = (ctx.hookState.get(BODY_BYTES) as number | undefined) ?? 0;
    const inputTokens = Math.ceil(bytes * TOKENS_PER_BYTE);
    const prior = this.deps.settings().defaultMaxOutputTokens;
    // The dearest target the request may end on bounds its cost.
    let estimateUsd = 0;
    let outputTokens = 0;
    for (const { target, price } of priced.length > 0 ? priced : [{ target: primary, price: undefined }]) {
      const provider = target.provider.name;
      const max = embeddings ? undefined : this.deps.catalog().facts({ provider, type: target.provider.definition.id, model: target.model }).maxOutputTokens;
      const output = embeddings ? 0 : input.maxOutputTokens !== undefined
        ? cap(max, input.maxOutputTokens)
        : Math.min(this.outputs.estimate(provider, target.model, prior, max), outputLimitWithoutMaxTokens(target.provider.definition.format) ?? Infinity);
      if (output > outputTokens) outputTokens = output;
      const estimate = price === undefined ? null : estimateCost(price.price, inputTokens, output, embeddings);
      if (estimate !== null && estimate > estimateUsd) estimateUsd = estimate;
    }
    const now = this.deps.now();
    const cache = keyCache(key);
    const decision = this.deps.ledger.admit({
      now,
      accounts: cache.accounts,
      estimateUsd,
      limits: cachedLimitSpecs(key, cache, input.model, primary.label, primary.model),
      estimateTokens: inputTokens + outputTokens,
    });
    if (decision instanceof Promise) return decision.then((settled) => this.apply(ctx, state, settled, now));
    this.apply(ctx, state, decision, now);
  }

  /**
   * Which targets the key may use (403 when none of the primary tier), with their prices
   * (403 for an unpriced primary when a budget refuses those). Sets ctx.targetFilter when
   * the key is restricted, so refused fallbacks are never attempted.
   */
  private access(ctx: RequestContext, key: KeyState, input: PipelineInput, targets: readonly Target[]): { primary: Target; priced: Array<{ target: Target; price: PriceMatch }> } {
    const requestedAllowed = key.models === undefined || key.models.matches(input.model);
    const fromRequest = input.fallbacks !== undefined;
    const refuseUnpriced = key.refuseUnpriced;
    const priced: Array<{ target: Target; price: PriceMatch }> = [];
    let primary: Target | undefined;
    let primaryAllowed = false;
    for (const target of targets) {
      if (!this.allowedModel(key, target, requestedAllowed, fromRequest)) continue;
      if (target.tier === 0) primaryAllowed = true;
      const price = this.price(target);
      if (price === undefined && refuseUnpriced) continue;
      if (target.tier === 0) primary ??= target;
      if (price !== undefined) priced.push({ target, price });
    }
    const name = targets[0]?.label ?? input.model;
    if (!primaryAllowed) {
      this.deps.rejections.forbidden++;
      throw new GatewayError('HD_ERR_AUTH_FORBIDDEN', `The virtual key "${key.record.name}" may not use the model "${input.model}" (${name}).`, { param: 'model' });
    }
    if (primary === undefined) {
      this.deps.rejections.unpriced++;
      throw new GatewayError('HD_ERR_BUDGET_PRICE_UNKNOWN', `The model "${name}" has no known price, and the budget of the virtual key "${key.record.name}" refuses unpriced models; add its price under governance.pricing.`, { param: 'model' });
    }
    if (key.providers !== undefined || key.models !== undefined || refuseUnpriced) {
      // By rule, not identity: the context-window and content-policy fallback plans are built later.
      ctx.targetFilter = (target) => this.allowedModel(key, target, requestedAllowed, fromRequest) && (!refuseUnpriced || this.price(target) !== undefined);
    }
    return { primary, priced };
  }

  private apply(ctx: RequestContext, state: RequestState, decision: Decision, now: number): void {
    if (!decision.ok) throw this.refusal(state.key, decision, now);
    state.ticket = decision.ticket;
    const headers = rateLimitHeaders(decision.limits);
    if (headers !== undefined) ctx.responseHeaders = ctx.responseHeaders === undefined ? headers : { ...ctx.responseHeaders, ...headers };
  }

  private refusal(key: KeyState, decision: Exclude<Decision, { ok: true }>, now: number): GatewayError {
    const keyId = key.record.id;
    if (decision.kind === 'budget') {
      const account = decision.account;
      const limitUsd = account.limitUsd ?? 0;
      if (decision.spendUsd < limitUsd) {
        // Not spent: calls in flight hold what is left. They settle within seconds, usually for less.
        this.deps.rejections.budget_in_flight++;
        this.deps.metrics?.rateLimited?.(SCOPE_LABEL[account.type], 'budget_in_flight', key.record.id);
        return new GatewayError(
          'HD_ERR_BUDGET_IN_FLIGHT',
          `The ${levelName(key, account)} has spent ${usd(decision.spendUsd)} of ${usd(limitUsd)}; calls in flight hold the rest (${usd(decision.reservedUsd)} reserved) until they finish. Retry in ${IN_FLIGHT_RETRY_S} s.`,
          { retryAfter: IN_FLIGHT_RETRY_S },
        );
      }
      this.deps.rejections.budget_exceeded++;
      this.deps.metrics?.budgetExceeded?.(SCOPE_LABEL[account.type], keyId);
      const window = this.deps.ledger.account(account, now).window;
      const resets = Number.isFinite(window.end) ? `; it resets at ${new Date(window.end).toISOString()}` : '';
      const period = account.period === null ? '' : ` (${account.period})`;
      return new GatewayError(
        'HD_ERR_BUDGET_EXCEEDED',
        `Budget exceeded: the ${levelName(key, account)} may spend ${usd(account.limitUsd ?? 0)}${period} and has spent ${usd(decision.spendUsd)}${resets}.`,
      );
    }
    this.deps.rejections.rate_limited++;
    this.deps.metrics?.rateLimited?.(SCOPE_LABEL[decision.spec.scope], decision.spec.kind, keyId);
    const headers = rateLimitHeaders(decision.limits) ?? {};
    headers['retry-after-ms'] = String(Math.ceil(decision.retryAfterMs));
    const owner = decision.spec.scope === 'key' ? `virtual key "${key.record.name}"` : decision.spec.scope === 'team' ? `team "${key.team?.name}"` : `customer "${key.customer?.name}"`;
    return new GatewayError(
      'HD_ERR_RATE_LIMITED',
      `Rate limit reached: the ${owner} may send ${decision.spec.limit} ${decision.spec.kind} per ${formatResetDuration(decision.spec.windowMs)}; retry in ${formatResetDuration(decision.retryAfterMs)}.`,
      { retryAfter: decision.retryAfterMs / 1000, headers },
    );
  }

  /** The request's cost: a number, null when unknown (no price, or billed without usage), 0 when nothing was billed. */
  cost(ctx: RequestContext): number | null {
    return this.costOfTokens(ctx, tokenCounts(ctx.usage), ctx.route.endsWith('/embeddings'));
  }

  /** cost() with the request's token counts read already. */
  private costOfTokens(ctx: RequestContext, tokens: TokenCounts | undefined, embeddings: boolean): number | null {
    if (ctx.cache === 'hit') return 0;
    const target = ctx.target;
    if (tokens === undefined) return target === undefined ? 0 : null;
    if (target === undefined) return null;
    const price = this.price(target);
    if (price === undefined) return null;
    return costOf(price.price, tokens, embeddings);
  }

  private settle(finished: FinishedRequest): void {
    const ctx = finished.ctx;
    const tokens = tokenCounts(ctx.usage);
    const embeddings = ctx.route.endsWith('/embeddings');
    const own = ctx.costUsd !== undefined ? ctx.costUsd : this.costOfTokens(ctx, tokens, embeddings);
    // Calls made on the request's behalf (the semantic cache's embedding call) are part of its cost.
    const side = ctx.sideCharge;
    const sideUsd = side?.costUsd ?? 0;
    const cost = own === null ? null : own + sideUsd;
    ctx.costUsd = cost;
    // Every completion teaches the typical output of its model, with or without a virtual key.
    if (tokens !== undefined && ctx.target !== undefined && ctx.cache !== 'hit' && !embeddings) {
      this.outputs.observe(ctx.target.provider.name, ctx.target.model, tokens.output);
    }
    const state = ctx.hookState.get(STATE) as RequestState | undefined;
    const ticket = state?.ticket;
    if (ticket === undefined) return;
    // Billed but not measurable (a stream cut before its usage): charge the reservation, an upper bound.
    const charged = cost ?? (ctx.target !== undefined ? ticket.reservedUsd : 0) + sideUsd;
    // A cache hit sent no tokens upstream: it counts as a request, not as tokens.
    const ownTokens = ctx.cache === 'hit' ? 0 : tokens === undefined ? (ctx.target === undefined ? 0 : ticket.reservedTokens) : totalTokens(tokens);
    this.deps.ledger.settle(ticket, { now: this.deps.now(), costUsd: charged, tokens: ownTokens + (side?.tokens ?? 0) });
  }
}
