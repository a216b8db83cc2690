/**
 * A configured provider as the request path uses it: per-provider constants
 * computed once at (re)load, weighted key choice, endpoint building. Each key
 * and provider points straight at its health record and concurrency limiter,
 * which live on the Gateway and outlive this state.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ModelCatalog } from '../catalog/catalog.js';
import type { ResolvedConfig, ResolvedProvider, ResolvedTimeouts } from '../config/load.js';
import { DEFAULT_FORWARD_HEADERS, HeaderForwarding } from '../providers/forward-headers.js';
import type { Endpoint, Operation, ProviderDefinition } from '../providers/types.js';
import { ConcurrencyRegistry, type ConcurrencyLimiter } from './concurrency.js';
import { HealthRegistry, type KeyHealth } from './key-health.js';
import type { Plan } from './router.js';

export interface KeyRuntime {
  id: string;
  name: string;
  secret: string | undefined;
  weight: number;
  /** Models this key may serve; undefined = all. */
  models: ReadonlySet<string> | undefined;
  /** Breaker, adaptive averages, last error (kept across reloads). */
  health: KeyHealth;
}

export class ProviderRuntime {
  readonly name: string;
  readonly definition: ProviderDefinition;
  readonly baseUrl: string;
  readonly timeouts: ResolvedTimeouts;
  readonly maxRetries: number;
  readonly retryBudgetMs: number;
  readonly healthCheck: ResolvedProvider['healthCheck'];
  /** Concurrency limit and in-flight count (kept across reloads). */
  readonly limiter: ConcurrencyLimiter;
  readonly options: Readonly<Record<string, unknown>>;
  readonly extraHeaders: Readonly<Record<string, string>>;
  /** Which caller headers a call in the caller's own format carries upstream. */
  readonly forwarding: HeaderForwarding;
  readonly keys: readonly KeyRuntime[];
  readonly models: ReadonlySet<string>;
  readonly embeddingModels: ReadonlySet<string>;
  private readonly hasExtraHeaders: boolean;

  constructor(config: ResolvedProvider, health: HealthRegistry = new HealthRegistry(), concurrency: ConcurrencyRegistry = new ConcurrencyRegistry()) {
    this.name = config.name;
    this.definition = config.definition;
    this.baseUrl = config.baseUrl;
    this.timeouts = config.timeouts;
    this.maxRetries = config.maxRetries;
    this.retryBudgetMs = config.retryBudgetMs;
    this.healthCheck = config.healthCheck;
    this.limiter = concurrency.configure(config.name, config.concurrency);
    this.options = config.options;
    this.extraHeaders = config.headers;
    this.hasExtraHeaders = Object.keys(config.headers).length > 0;
    const defaults = config.definition.forwardHeaders ?? DEFAULT_FORWARD_HEADERS[config.definition.format];
    this.forwarding = new HeaderForwarding(defaults, config.forwardHeaders.allow, config.forwardHeaders.deny);
    this.keys = config.keys
      .filter((k) => k.enabled && (k.secret !== undefined || !config.definition.keyRequired || config.keyless === true) && k.weight > 0)
      .map((k) => ({
        id: k.id,
        name: k.name,
        secret: k.secret,
        weight: k.weight,
        models: k.models === undefined ? undefined : new Set(k.models),
        health: health.key(config.name, k.id, k.name, k.weight),
      }));
    this.models = new Set(config.models);
    this.embeddingModels = new Set(config.embeddingModels);
  }

  supports(operation: Operation): boolean {
    return this.definition.operations[operation] === true;
  }

  /**
   * The provider can take the operation, natively or bridged: a Responses API request goes to a
   * provider without one through its chat endpoint, translated (src/api/responses.ts).
   */
  serves(operation: Operation): boolean {
    return this.supports(operation) || (operation === 'responses' && this.supports('chat'));
  }

  /**
   * The operation the provider's endpoint is called with: a bridged Responses request is a chat
   * call; a chat call to a model only the Responses API serves (the catalog's `responses_only`,
   * which the config file's `catalog.overrides` may set per model) is a Responses call.
   */
  wireOperation(operation: Operation, model: string, catalog: ModelCatalog): Operation {
    if (operation === 'responses') return this.supports('responses') ? 'responses' : 'chat';
    if (operation === 'chat' && this.supports('responses') && catalog.facts({ provider: this.name, type: this.definition.id, model }).rules.responsesOnly) return 'responses';
    return operation;
  }

  /** Picks an eligible key by weight, skipping `exclude` while another is left. */
  pickKey(model: string, exclude: ReadonlySet<string> | undefined, random: number = Math.random()): KeyRuntime | undefined {
    const keys = this.keys;
    if (keys.length === 1) {
      const only = keys[0];
      if (only.models !== undefined && !only.models.has(model)) return undefined;
      return exclude?.has(only.id) ? undefined : only;
    }
    let total = 0;
    for (const key of keys) {
      if ((key.models === undefined || key.models.has(model)) && !exclude?.has(key.id)) total += key.weight;
    }
    if (total === 0) return undefined;
    let point = random * total;
    for (const key of keys) {
      if ((key.models === undefined || key.models.has(model)) && !exclude?.has(key.id)) {
        point -= key.weight;
        if (point < 0) return key;
      }
    }
    return undefined;
  }

  /** True when some key may serve the model (key model lists restrict routing). */
  servesWithKey(model: string): boolean {
    return this.keys.some((k) => k.models === undefined || k.models.has(model));
  }

  /** The summed weight of the keys that may serve the model (0: none may). */
  keyWeightFor(model: string): number {
    let total = 0;
    for (const key of this.keys) if (key.models === undefined || key.models.has(model)) total += key.weight;
    return total;
  }

  /**
   * `client`: the caller's headers, when the caller speaks this provider's wire format; its
   * protocol headers are forwarded (forward-headers.ts) before the configured `headers` apply.
   */
  endpoint(operation: Operation, key: KeyRuntime | undefined, model: string, stream: boolean, client?: IncomingHttpHeaders): Endpoint {
    const endpoint = this.definition.endpoint(operation, {
      baseUrl: this.baseUrl,
      apiKey: key?.secret,
      model,
      stream,
      options: this.options,
    });
    this.finishHeaders(endpoint.headers, client);
    return endpoint;
  }

  /** Adds the caller's forwarded headers (when given), then the configured extra headers. */
  finishHeaders(headers: Record<string, string>, client: IncomingHttpHeaders | undefined): Record<string, string> {
    if (client !== undefined) this.forwarding.apply(client, headers);
    if (this.hasExtraHeaders) Object.assign(headers, this.extraHeaders);
    return headers;
  }
}

/** The routing view of a whole configuration, swapped atomically on reload. */
export class GatewayState {
  readonly providers: ReadonlyMap<string, ProviderRuntime>;
  /** Every provider mentioned anywhere, enabled or not (for helpful errors). */
  readonly known: ReadonlyMap<string, ResolvedProvider>;
  /** Bare model name -> providers that list it, in configuration order. */
  readonly modelIndex: ReadonlyMap<string, readonly ProviderRuntime[]>;
  readonly routing: ResolvedConfig['routing'];
  readonly limits: ResolvedConfig['limits'];
  /** Plans of requests without request-level fallbacks, by operation and requested model (router.ts). */
  readonly plans: Readonly<Record<Operation, Map<string, Plan>>> = {
    chat: new Map(), completions: new Map(), embeddings: new Map(), responses: new Map(), models: new Map(),
    images: new Map(), image_edits: new Map(), speech: new Map(), transcriptions: new Map(), translations: new Map(), rerank: new Map(), moderations: new Map(),
  };
  /** Model facts (limits, parameter rules, prices) with the config file's overrides (src/catalog/). */
  readonly catalog: ModelCatalog;

  /**
   * `health` and `concurrency` are the Gateway's registries (they outlive this state); a state built
   * alone (tests) gets fresh ones. Keys and providers no longer configured are dropped from them.
   */
  constructor(readonly config: ResolvedConfig, health: HealthRegistry = new HealthRegistry(), concurrency: ConcurrencyRegistry = new ConcurrencyRegistry()) {
    const providers = new Map<string, ProviderRuntime>();
    const known = new Map<string, ResolvedProvider>();
    const index = new Map<string, ProviderRuntime[]>();
    const liveKeys = new Set<KeyHealth>();
    for (const provider of config.providers) {
      known.set(provider.name, provider);
      if (!provider.enabled) continue;
      const runtime = new ProviderRuntime(provider, health, concurrency);
      for (const key of runtime.keys) liveKeys.add(key.health);
      providers.set(provider.name, runtime);
      for (const model of [...runtime.models, ...runtime.embeddingModels]) {
        const list = index.get(model);
        if (list === undefined) index.set(model, [runtime]);
        else list.push(runtime);
      }
    }
    // Order is configuration order: the definitions table lists native providers before aggregators.
    this.providers = providers;
    this.known = known;
    this.modelIndex = index;
    this.routing = config.routing;
    this.limits = config.limits;
    // A state built from a hand-made config (tests) may have no catalog section.
    this.catalog = new ModelCatalog(config.catalog?.overrides ?? {});
    health.retain(liveKeys);
    concurrency.retain(new Set(providers.keys()));
  }
}
