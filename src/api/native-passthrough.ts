/**
 * Native pass-through: anything a provider offers that Heimdall has no route
 * of its own for, in the provider's own API, with the gateway's key.
 *
 * | route | provider (type) | upstream URL |
 * | --- | --- | --- |
 * | `/openai/v1/{path}` | `openai` (any OpenAI-format provider by `x-heimdall-provider`) | its base URL + `/{path}` |
 * | `/anthropic/v1/{path}` (beyond messages and count_tokens) | `anthropic` | its base URL + `/v1/{path}` |
 * | `/genai/{version}/{path}`, `/genai/upload/...` (beyond generateContent and countTokens) | `gemini` | its host + the same path |
 * | `/bedrock/{path}` | `bedrock` (SigV4 re-signed, or its API key) | its runtime endpoint + `/{path}` |
 * | `/v1/files[/...]`, `/v1/batches[/...]` | as `/openai/v1/...`, or Azure OpenAI (batch-jobs.ts) | the same; Azure: `{resource}/openai/files...` |
 *
 * The method, path, query (but a `key` parameter) and body go upstream unchanged; the caller's
 * credentials and cookies never do (forward-headers.ts `isNeverForwarded`, and the caller's own
 * AWS signature), the provider's key is added. The call is one of the pipeline's: virtual-key
 * authentication, the key's model and provider allow-lists, rate limits and budget (admit), the
 * provider's concurrency limit, retries on another key or after 429/5xx, the request log, metrics
 * and traces. The answer streams back as it comes; its usage, when it has one, is priced.
 *
 * Governance cannot be stepped around here: the model a call uses is read where the provider reads
 * it (the body's `model`, a multipart upload's `model` field, the path's `models/{m}` or
 * `model/{id}`, every `requests[].params.model` of an Anthropic batch, every `requests[].model` of
 * a Gemini batch, every line's `body.model` of an OpenAI batch input file, the input models of a
 * batch or file the gateway made: batch-jobs.ts) and each must be allowed. A call that names no
 * model (listings, objects made elsewhere) is checked as the model `*` of the provider: only a key
 * allowed every model of that provider (`openai/*`) may make it, since such a call can use any of them.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors/gateway-error.js';
import type { ErrorFormat } from '../errors/render.js';
import type { Gateway } from '../gateway/gateway.js';
import { checkModelName } from '../gateway/model-name.js';
import type { KeyRuntime, ProviderRuntime } from '../gateway/provider-runtime.js';
import type { RawCall, RawRequestParts } from '../gateway/raw-attempt.js';
import type { Target } from '../gateway/router.js';
import type { HttpMethod } from '../gateway/upstream.js';
import { anthropicHeaders } from '../providers/anthropic.js';
import { bedrockAuthMode, bedrockBaseUrl } from '../providers/bedrock.js';
import { isNeverForwarded } from '../providers/forward-headers.js';
import { PriceBook } from '../governance/pricing.js';
import { BatchJobs } from './batch-jobs.js';
import { multipartBoundary, multipartTextFields } from './multipart-fields.js';
import { sendRawOutcome } from './raw-reply.js';
import { sendFailure, startContext } from './respond.js';

type Family = 'openai' | 'anthropic' | 'genai' | 'bedrock';

const METHODS: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** The model a model-less call is checked as: only `provider/*` (or `*`) allows it. */
export const ANY_MODEL = '*';

interface FamilySpec {
  /** The route prefix, as the caller's base URL ends. */
  prefix: string;
  surface: ErrorFormat;
  /** The provider type a route of this family reaches (definition id), and its wire format. */
  type: string;
  format: ProviderRuntime['definition']['format'];
  /** The paths of the provider's API (anything else under the prefix is no route: 404). */
  paths: RegExp;
  /** The upstream URL of the path after the prefix (query excluded). */
  url(provider: ProviderRuntime, rest: string): string;
  /** The provider's credentials and defaults for one key. */
  auth(provider: ProviderRuntime, key: KeyRuntime): Record<string, string>;
  /** The models the path names (decoded). */
  pathModels(rest: string): string[];
}

/** `%2F` and its kin decoded once; a malformed escape is left as it is (the provider answers it). */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** `/v1beta/models/gemini-2.5-flash:embedContent` -> `gemini-2.5-flash`; tuned models keep their collection. */
function genaiPathModels(rest: string): string[] {
  const match = /\/(models|tunedModels)\/([^/:]+)(?::[^/]*)?$/.exec(rest) ?? /\/(models|tunedModels)\/([^/:]+)\//.exec(rest);
  if (match === null) return [];
  const id = decoded(match[2]);
  return [match[1] === 'tunedModels' ? `tunedModels/${id}` : id];
}

/** The host root of a Gemini base URL (`.../v1beta` stripped): the caller's path names the version. */
function geminiHost(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/\/v\d+(?:alpha|beta)?\d*$/, '');
}

function credential(name: string, value: string | undefined): Record<string, string> {
  return value === undefined ? {} : { [name]: value };
}

const FAMILIES: Record<Family, FamilySpec> = {
  openai: {
    prefix: '/openai',
    surface: 'openai',
    type: 'openai',
    format: 'openai',
    paths: /^\/v1\/./,
    // The SDK's base URL already names the version: `/openai/v1/x` is `<base_url>/x`.
    url: (provider, rest) => provider.baseUrl + rest.slice(3),
    auth: (_provider, key) => credential('authorization', key.secret === undefined ? undefined : `Bearer ${key.secret}`),
    // A model's own page (`/v1/models/{id}`) reads about it; it does not use it.
    pathModels: () => [],
  },
  anthropic: {
    prefix: '/anthropic',
    surface: 'anthropic',
    type: 'anthropic',
    format: 'anthropic',
    paths: /^\/v1\/./,
    url: (provider, rest) => provider.baseUrl + rest,
    auth: (provider, key) => anthropicHeaders({ baseUrl: provider.baseUrl, apiKey: key.secret, model: '', stream: false, options: provider.options }, false),
    pathModels: () => [],
  },
  genai: {
    prefix: '/genai',
    surface: 'gemini',
    type: 'gemini',
    format: 'gemini',
    paths: /^\/(?:v\d+(?:alpha|beta)?\d*|upload\/v\d+(?:alpha|beta)?\d*)\/./,
    url: (provider, rest) => geminiHost(provider.baseUrl) + rest,
    auth: (_provider, key) => credential('x-goog-api-key', key.secret),
    pathModels: genaiPathModels,
  },
  bedrock: {
    prefix: '/bedrock',
    surface: 'openai',
    type: 'bedrock',
    format: 'bedrock',
    paths: /^\/./,
    url: (provider, rest) => bedrockBaseUrl({ baseUrl: provider.baseUrl, options: provider.options }) + rest,
    // SigV4 is added by the provider's authorizer once the body is known; an API key is a bearer token.
    auth: (provider, key) => credential('authorization', key.secret !== undefined && bedrockAuthMode(key.secret, provider.options) === 'bearer' ? `Bearer ${key.secret}` : undefined),
    pathModels: (rest) => {
      const match = /^\/(?:model|guardrail)\/([^/]+)\//.exec(rest);
      return match === null || !rest.startsWith('/model/') ? [] : [decoded(match[1])];
    },
  },
};

/** The caller's headers that go upstream: all but credentials, cookies, framing, the caller's own AWS signature and billing routing. */
function forwardedHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (lower !== 'content-type' && isNeverForwarded(lower)) continue;
    if (lower.startsWith('x-amz-') || lower === 'openai-organization' || lower === 'openai-project' || lower === 'origin' || lower === 'referer') continue;
    out[lower] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** The query as the caller wrote it, without an API key parameter (Gemini's `key`). */
function forwardedQuery(url: string): string {
  const at = url.indexOf('?');
  if (at === -1) return '';
  const query = url.slice(at + 1);
  if (!/(^|&)key=/.test(query)) return `?${query}`;
  const params = new URLSearchParams(query);
  params.delete('key');
  const rest = params.toString();
  return rest === '' ? '' : `?${rest}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The models a body names, where each family's APIs put them. */
function bodyModels(family: Family, body: Buffer | undefined, contentType: string | undefined): string[] {
  if (body === undefined || body.length === 0) return [];
  const boundary = multipartBoundary(contentType);
  if (boundary !== undefined) return multipartTextFields(body, boundary).get('model') ?? [];
  if (contentType !== undefined && !/json/i.test(contentType)) return [];
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return []; // the provider refuses it in its own words
  }
  if (!isRecord(value)) return [];
  const models: unknown[] = [value.model];
  if (Array.isArray(value.requests)) {
    for (const item of value.requests) {
      if (!isRecord(item)) continue;
      if (family === 'anthropic' && isRecord(item.params)) models.push(item.params.model);
      if (family === 'genai') models.push(item.model);
    }
  }
  if (family === 'bedrock') models.push(value.modelId);
  return models.filter((model): model is string => typeof model === 'string' && model !== '')
    .map((model) => (family === 'genai' && model.startsWith('models/') ? model.slice(7) : model));
}

/** The provider a call of the family goes to: `x-heimdall-provider`, else the one named like the type, else the first of the type. */
function providerFor(gateway: Gateway, spec: FamilySpec, headers: IncomingHttpHeaders): ProviderRuntime {
  const providers = gateway.state.providers;
  const asked = headers['x-heimdall-provider'];
  const name = Array.isArray(asked) ? asked[0] : asked;
  if (name !== undefined && name !== '') {
    const chosen = providers.get(name);
    if (chosen === undefined) throw new GatewayError('HD_ERR_PROVIDER_NOT_CONFIGURED', `Provider "${name}" (x-heimdall-provider) is not configured.`);
    if (chosen.definition.format !== spec.format || (spec.type !== 'openai' && chosen.definition.id !== spec.type)) {
      throw new GatewayError('HD_ERR_PROVIDER_UNSUPPORTED_OPERATION', `Provider "${name}" does not speak the API of ${spec.prefix}/ (x-heimdall-provider).`);
    }
    return chosen;
  }
  const named = providers.get(spec.type);
  if (named !== undefined && named.definition.id === spec.type) return named;
  for (const provider of providers.values()) if (provider.definition.id === spec.type) return provider;
  throw new GatewayError('HD_ERR_PROVIDER_NOT_CONFIGURED', `No ${spec.type} provider is configured for ${spec.prefix}/ (set its API key, or add it to the config file).`);
}

/** Anthropic's batch objects (create, retrieve, list, cancel): their `results_url` names the provider. */
const BATCH_OBJECT = /^\/v1\/messages\/batches(?:\/[^/]+(?:\/cancel)?)?$/;

/** The gateway's own base for the family, as the caller reached it. */
function gatewayBase(request: FastifyRequest, prefix: string): string {
  return `${request.protocol}://${request.headers.host ?? 'localhost'}${prefix}`;
}

/**
 * A batch's `results_url` points at the provider, where the caller's virtual key means nothing:
 * it is rewritten to the gateway, so the SDK's `batches.results()` fetches them through it.
 */
function gatewayResultsUrl(answer: Buffer, providerBase: string, gateway: string): Buffer {
  const text = answer.toString('utf8');
  const from = JSON.stringify(providerBase).slice(1, -1);
  const rewritten = text.split(`"results_url":"${from}`).join(`"results_url":"${JSON.stringify(gateway).slice(1, -1)}`);
  return rewritten === text ? answer : Buffer.from(rewritten, 'utf8');
}

function targetOf(provider: ProviderRuntime, model: string, tier: number): Target {
  return { provider, model, label: `${provider.name}/${model}`, weight: 1, keyWeight: provider.keyWeightFor(model), tier };
}

/**
 * `prefix`: what the route adds before the provider's own path (`/openai`; none for the `/v1/files` aliases).
 * `batches`: files and batches (batch-jobs.ts): their provider, models, records and results' cost.
 */
function nativeHandler(gateway: Gateway, family: Family, batches: BatchJobs | undefined, prefix = FAMILIES[family].prefix) {
  const spec = FAMILIES[family];
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const url = request.url;
    const path = url.split('?', 1)[0];
    const ctx = startContext(gateway, request, reply, spec.surface, path);
    try {
      // received: who is calling (governance's virtual key), before the body is read.
      const received = gateway.lifecycle.runReceived(ctx);
      if (received !== undefined) await received;
      const rest = path.slice(prefix.length);
      if (prefix !== '' && !spec.paths.test(rest)) {
        throw new GatewayError('HD_ERR_ROUTE_NOT_FOUND', `No route for ${request.method} ${path}: ${spec.prefix}/ forwards the paths of the provider's own API only.`);
      }
      const sent = Buffer.isBuffer(request.body) && request.body.length > 0 ? request.body : undefined;
      const contentType = request.headers['content-type'];
      const method = request.method as HttpMethod;
      const named = (): ProviderRuntime => providerFor(gateway, spec, request.headers);
      const batch = family === 'openai' || family === 'anthropic' ? batches?.plan({ family, method, rest, body: sent, contentType, ctx, named }) : undefined;
      const provider = batch?.provider ?? named();
      const body = batch?.body ?? sent;
      const models = [...new Set([...spec.pathModels(rest), ...(batch?.models ?? bodyModels(family, sent, contentType))])];
      models.forEach((model, i) => checkModelName(model, i === 0 ? 'model' : `model (${model})`));
      const primary = targetOf(provider, models[0] ?? ANY_MODEL, 0);
      const others = models.slice(1).map((model) => targetOf(provider, model, 1));
      const upstreamUrl = batch?.url?.(forwardedQuery(url)) ?? spec.url(provider, rest) + forwardedQuery(url);
      const caller = forwardedHeaders(request.headers);
      const raw: RawCall = {
        method,
        targets: [primary],
        alsoNamed: others.length > 0 ? others : undefined,
        forwardErrors: true,
        prepare(target: Target, key: KeyRuntime): RawRequestParts {
          // The caller's credential headers were never taken (isNeverForwarded): its protocol headers win over the defaults.
          const headers = { ...(batch?.auth ?? ((k: KeyRuntime) => spec.auth(target.provider, k)))(key), ...caller };
          target.provider.finishHeaders(headers, undefined);
          const parts: RawRequestParts = { url: upstreamUrl, headers, body };
          const rewrite = family === 'anthropic' && BATCH_OBJECT.test(rest);
          const observe = batch?.observe;
          if (rewrite || observe !== undefined) {
            parts.decode = (answer) => {
              observe?.(answer);
              return { body: rewrite ? gatewayResultsUrl(answer, target.provider.baseUrl, gatewayBase(request, spec.prefix)) : answer };
            };
          }
          return parts;
        },
      };
      ctx.requestedModel = primary.label;
      // Uploads, batch objects and listings are free: a batch is charged when its results are read (the tap).
      if (batch !== undefined && batch.tap === undefined) ctx.costUsd = 0;
      const outcome = await gateway.pipeline.execute(ctx, {
        operation: 'chat',
        model: primary.label,
        fallbacks: others.length > 0 ? [] : undefined,
        stream: false,
        nativeFormat: spec.format,
        // A GET or DELETE writes nothing; a generation's output is estimated as any call's.
        maxOutputTokens: method === 'GET' || method === 'DELETE' || batch !== undefined ? 0 : undefined,
        passthroughBody: () => body?.toString('utf8') ?? '',
        canonical: () => {
          throw new GatewayError('HD_ERR_INTERNAL', 'A native pass-through has no canonical request.');
        },
        raw,
      });
      if (outcome.kind !== 'raw') throw new GatewayError('HD_ERR_INTERNAL', 'A native pass-through answered in another form.');
      await sendRawOutcome(reply, ctx, outcome, undefined, { tap: batch?.tap });
    } catch (error) {
      sendFailure(reply, ctx, error, spec.surface);
    }
  };
}

/** The native pass-through handler of `/genai/*` POSTs that the Gemini surface does not serve itself (genai.ts). */
export function genaiPassthrough(gateway: Gateway): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return nativeHandler(gateway, 'genai', undefined);
}

export function registerNativePassthrough(app: FastifyInstance, gateway: Gateway, genai: (request: FastifyRequest, reply: FastifyReply) => Promise<void>): void {
  // Files and batch jobs are recorded in the store, and results priced from the governance's price book.
  const batches = app.hasDecorator('store')
    ? new BatchJobs(() => gateway.state.providers, app.store.batches, () => (app.hasDecorator('governance') ? app.governance.prices : new PriceBook({}, gateway.state.catalog)))
    : undefined;
  for (const family of ['openai', 'anthropic', 'bedrock'] as const) {
    const spec = FAMILIES[family];
    app.route({ method: METHODS, url: `${spec.prefix}/*`, config: { surface: spec.surface }, handler: nativeHandler(gateway, family, batches) });
  }
  // POST /genai/{version}/* is the Gemini surface's (genai.ts), which hands it the methods it does not serve.
  app.route({ method: METHODS, url: '/genai/*', config: { surface: 'gemini' }, handler: genai });
  // OpenAI's files and batches at the SDK's default paths: OpenAI's own, through the same pass-through.
  const openai = nativeHandler(gateway, 'openai', batches, '');
  for (const url of ['/v1/files', '/v1/files/*', '/v1/batches', '/v1/batches/*']) {
    app.route({ method: METHODS, url, config: { surface: 'openai' }, handler: openai });
  }
}
