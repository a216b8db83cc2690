/**
 * Files and batches through the native pass-through (native-passthrough.ts):
 * which provider a call goes to, which models it uses (governance), the
 * records of the jobs (store/batch-store.ts) and the charge of their results.
 *
 * | call | provider | models checked | recorded |
 * | --- | --- | --- | --- |
 * | `POST /v1/files` (a batch input file) | the provider the lines' models name (`azure/gpt-4o-mini`), else `x-heimdall-provider`, else `openai` | every line's `body.model` | the file: provider, key, models |
 * | `POST /v1/batches` | its input file's | the file's | a new job |
 * | `GET /v1/batches/{id}`, `.../cancel`, `GET /v1/files/{id}[/content]` | the job's or file's | the job's or file's | the status answered |
 * | `GET /v1/files/{output_file_id}/content` | the job's | the job's | the results' cost, charged once |
 * | `POST /anthropic/v1/messages/batches` | `anthropic` | every request's model | a new job |
 * | `GET /anthropic/v1/messages/batches/{id}[/results]`, `.../cancel` | `anthropic` | the job's | the status; the results' cost, charged once |
 *
 * A call about an object the gateway did not make (or a listing) names no model: it is checked as
 * the provider's every model (`*`), as any model-less pass-through call.
 *
 * To Azure OpenAI, `/v1/files...` and `/v1/batches...` go to `{resource}/openai/files...` and
 * `/openai/batches...` with the provider's `api-version` and `api-key`; a batch input file's lines
 * get the deployment of their model (`options.deployments`) and Azure's endpoint path
 * (`/chat/completions`, without `/v1`), and so does the batch's `endpoint`.
 * @see https://learn.microsoft.com/azure/ai-foundry/openai/how-to/batch
 */
import { GatewayError, invalidField } from '../errors/gateway-error.js';
import type { KeyRuntime, ProviderRuntime } from '../gateway/provider-runtime.js';
import type { RequestContext } from '../gateway/request-context.js';
import type { HttpMethod } from '../gateway/upstream.js';
import { batchPriceOf } from '../catalog/batch-price.js';
import type { PriceBook } from '../governance/pricing.js';
import { azureApiVersion, azureAuthHeaders, azureResourceUrl, deploymentFor } from '../providers/azure.js';
import type { BatchApi, BatchJob, BatchStore } from '../store/batch-store.js';
import { batchInputLines, batchStatesOf, fileObjectOf, type BatchInputLine } from './batch-objects.js';
import { BatchResultsTap } from './batch-results.js';
import { multipartBoundary, multipartFile, multipartTextFields, replaceFilePart } from './multipart-fields.js';
import type { BodyTap } from './raw-reply.js';

export interface BatchCall {
  family: 'openai' | 'anthropic';
  method: HttpMethod;
  /** The provider's own path (`/v1/batches/batch_abc`). */
  rest: string;
  body: Buffer | undefined;
  contentType: string | undefined;
  ctx: RequestContext;
  /** The provider the call goes to when nothing about it names one (x-heimdall-provider, else the default). */
  named(): ProviderRuntime;
}

/** What the gateway does around one call of a file or batch route. */
export interface BatchPlan {
  provider: ProviderRuntime;
  /** The models the call uses, as the provider's model ids (undefined: read from the body as any call's). */
  models?: string[];
  /** The body to send instead of the caller's (lines rewritten for the provider). */
  body?: Buffer;
  /** The upstream URL and credentials, when the provider's API is not at its base URL + path (Azure). */
  url?: (query: string) => string;
  auth?: (key: KeyRuntime) => Record<string, string>;
  /** A successful JSON answer, whole: the objects it holds are recorded. */
  observe?: (answer: Buffer) => void;
  /** The results of a job the gateway made: read as they pass, their cost charged once. */
  tap?: BodyTap;
}

const OPENAI_BATCHES = /^\/v1\/batches(?:\/([^/]+)(\/cancel)?)?$/;
const OPENAI_FILES = /^\/v1\/files(?:\/([^/]+)(\/content)?)?$/;
const ANTHROPIC_BATCHES = /^\/v1\/messages\/batches(?:\/([^/]+)(\/cancel|\/results)?)?$/;

function labelsOf(provider: string, models: readonly string[]): string[] {
  return models.map((model) => `${provider}/${model}`);
}

function modelsOf(provider: string, labels: readonly string[]): string[] {
  const prefix = `${provider}/`;
  return labels.map((label) => (label.startsWith(prefix) ? label.slice(prefix.length) : label));
}

function decodedId(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

export class BatchJobs {
  constructor(
    private readonly providers: () => ReadonlyMap<string, ProviderRuntime>,
    private readonly store: BatchStore,
    private readonly prices: () => PriceBook,
  ) {}

  /** The plan of a call on a files or batches route; undefined for any other call. */
  plan(call: BatchCall): BatchPlan | undefined {
    if (call.family === 'anthropic') return this.anthropic(call);
    const batches = OPENAI_BATCHES.exec(call.rest);
    if (batches !== null) return this.withAzure(call, this.openaiBatches(call, batches[1] === undefined ? undefined : decodedId(batches[1])));
    const files = OPENAI_FILES.exec(call.rest);
    if (files !== null) return this.withAzure(call, this.openaiFiles(call, files[1] === undefined ? undefined : decodedId(files[1]), files[2] !== undefined));
    return undefined;
  }

  private provider(name: string, call: BatchCall): ProviderRuntime {
    const provider = this.providers().get(name);
    if (provider === undefined) throw new GatewayError('HD_ERR_PROVIDER_NOT_CONFIGURED', `Provider "${name}", where this ${call.rest.includes('/files') ? 'file' : 'batch'} lives, is no longer configured.`);
    return provider;
  }

  /** A job the gateway recorded: its provider and models. */
  private ofJob(call: BatchCall, job: BatchJob): BatchPlan {
    return { provider: this.provider(job.provider, call), models: modelsOf(job.provider, job.models) };
  }

  private openaiBatches(call: BatchCall, id: string | undefined): BatchPlan {
    const ctx = call.ctx;
    if (id !== undefined) {
      const job = this.store.get(id);
      const plan = job === undefined ? { provider: call.named() } : this.ofJob(call, job);
      return { ...plan, observe: (answer) => this.update(answer) };
    }
    if (call.method !== 'POST') return { provider: call.named(), observe: (answer) => this.update(answer) };
    // A new batch: the provider and models of its input file, when the gateway uploaded it.
    const fileId = inputFileIdOf(call.body);
    const file = fileId === undefined ? undefined : this.store.file(fileId);
    const provider = file === undefined ? call.named() : this.provider(file.provider, call);
    const models = file === undefined ? undefined : modelsOf(file.provider, file.models);
    return {
      provider,
      models,
      observe: (answer) => this.created(answer, 'openai', provider, models ?? [], ctx),
    };
  }

  private openaiFiles(call: BatchCall, id: string | undefined, content: boolean): BatchPlan {
    const ctx = call.ctx;
    if (id !== undefined) {
      const job = content ? this.store.byOutputFile(id) : undefined;
      if (job !== undefined) return { ...this.ofJob(call, job), tap: call.method === 'GET' ? this.resultsTap(job, ctx) : undefined };
      const file = this.store.file(id);
      return file === undefined ? { provider: call.named() } : { provider: this.provider(file.provider, call), models: modelsOf(file.provider, file.models) };
    }
    if (call.method !== 'POST') return { provider: call.named() };
    const upload = uploadOf(call);
    if (upload === undefined) return { provider: call.named() };
    const { provider, models } = this.uploadTarget(call, upload.lines);
    const body = rewrittenUpload(call, upload, provider);
    return {
      provider,
      models,
      body,
      observe: (answer) => {
        const file = fileObjectOf(answer);
        if (file === undefined) return;
        this.store.putFile({ ...file, provider: provider.name, virtualKeyId: ctx.virtualKeyId ?? null, models: labelsOf(provider.name, models), createdAt: Date.now() });
      },
    };
  }

  /** The provider the lines' models name (`azure/gpt-4o-mini`), and the models as that provider's ids. */
  private uploadTarget(call: BatchCall, lines: readonly BatchInputLine[]): { provider: ProviderRuntime; models: string[] } {
    const providers = this.providers();
    const named = new Set<string>();
    for (const line of lines) {
      const slash = line.model?.indexOf('/') ?? -1;
      const prefix = slash > 0 ? line.model!.slice(0, slash) : undefined;
      if (prefix !== undefined && providers.get(prefix)?.definition.format === 'openai') named.add(prefix);
    }
    if (named.size > 1) throw invalidField('file', `The batch file's lines name models of several providers (${[...named].join(', ')}); a batch runs on one provider.`);
    const provider = named.size === 1 ? providers.get([...named][0])! : call.named();
    const prefix = `${provider.name}/`;
    const models = new Set<string>();
    for (const line of lines) if (line.model !== undefined) models.add(line.model.startsWith(prefix) ? line.model.slice(prefix.length) : line.model);
    return { provider, models: [...models] };
  }

  private anthropic(call: BatchCall): BatchPlan | undefined {
    const match = ANTHROPIC_BATCHES.exec(call.rest);
    if (match === null) return undefined;
    const ctx = call.ctx;
    const id = match[1] === undefined ? undefined : decodedId(match[1]);
    if (id === undefined) {
      const provider = call.named();
      if (call.method !== 'POST') return { provider, observe: (answer) => this.update(answer) };
      // The models are every request's (native-passthrough.ts reads them for governance).
      return { provider, observe: (answer) => this.created(answer, 'anthropic', provider, anthropicModels(call.body), ctx) };
    }
    const job = this.store.get(id);
    const plan = job === undefined ? { provider: call.named() } : this.ofJob(call, job);
    if (match[2] === '/results') return { ...plan, tap: job !== undefined && call.method === 'GET' ? this.resultsTap(job, ctx) : undefined };
    return { ...plan, observe: (answer) => this.update(answer) };
  }

  private created(answer: Buffer, api: BatchApi, provider: ProviderRuntime, models: readonly string[], ctx: RequestContext): void {
    const [state] = batchStatesOf(answer);
    if (state === undefined) return;
    this.store.create({ provider: provider.name, api, virtualKeyId: ctx.virtualKeyId ?? null, models: labelsOf(provider.name, models), requestId: ctx.id }, state);
  }

  private update(answer: Buffer): void {
    for (const state of batchStatesOf(answer)) this.store.update(state);
  }

  private resultsTap(job: BatchJob, ctx: RequestContext): BodyTap {
    const runtime = this.providers().get(job.provider);
    const type = runtime?.definition.id ?? job.provider;
    const book = this.prices();
    return new BatchResultsTap({
      price: (model) => {
        const match = book.lookup({ provider: job.provider, type, model });
        return match === undefined ? undefined : batchPriceOf(match.price, type).price;
      },
      fallbackModel: modelsOf(job.provider, job.models)[0],
      embeddings: job.endpoint?.includes('embeddings') === true,
      done: (totals) => {
        if (totals === undefined) return; // cut short: nothing is charged, a later fetch will be
        const claimed = this.store.claimCharge(job.id, { requestId: ctx.id, costUsd: totals.costUsd, inputTokens: totals.inputTokens, outputTokens: totals.outputTokens });
        // Fetched again: the batch was charged by the fetch that first read it whole.
        ctx.costUsd = claimed ? totals.costUsd : 0;
        if (claimed) ctx.usage = BatchResultsTap.usageOf(totals);
      },
    });
  }

  /** Azure's files and batches: its own paths, api-version and api-key; the batch's endpoint without `/v1`. */
  private withAzure(call: BatchCall, plan: BatchPlan): BatchPlan {
    const provider = plan.provider;
    if (provider.definition.id !== 'azure') return plan;
    const options = provider.options;
    const path = `${azureResourceUrl(provider.baseUrl)}/openai${call.rest.slice(3)}`;
    const url = (query: string): string => {
      const params = new URLSearchParams(query.startsWith('?') ? query.slice(1) : query);
      if (!params.has('api-version')) params.set('api-version', azureApiVersion(options));
      return `${path}?${params.toString()}`;
    };
    const auth = (key: KeyRuntime): Record<string, string> => azureAuthHeaders(key.secret, options);
    let body = plan.body;
    if (call.method === 'POST' && call.rest === '/v1/batches' && call.body !== undefined) body = azureBatchBody(call.body);
    return { ...plan, url, auth, body };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parsed(body: Buffer | undefined): Record<string, unknown> | undefined {
  if (body === undefined) return undefined;
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown;
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function inputFileIdOf(body: Buffer | undefined): string | undefined {
  const id = parsed(body)?.input_file_id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

function anthropicModels(body: Buffer | undefined): string[] {
  const requests = parsed(body)?.requests;
  if (!Array.isArray(requests)) return [];
  const models = new Set<string>();
  for (const item of requests) if (isRecord(item) && isRecord(item.params) && typeof item.params.model === 'string') models.add(item.params.model);
  return [...models];
}

/** `/v1/chat/completions` as Azure's dated API names it: `/chat/completions`. */
function azurePath(path: unknown): unknown {
  return typeof path === 'string' && path.startsWith('/v1/') ? path.slice(3) : path;
}

function azureBatchBody(body: Buffer): Buffer | undefined {
  const value = parsed(body);
  if (value === undefined || typeof value.endpoint !== 'string' || !value.endpoint.startsWith('/v1/')) return undefined;
  return Buffer.from(JSON.stringify({ ...value, endpoint: azurePath(value.endpoint) }), 'utf8');
}

interface Upload {
  boundary: string;
  file: Buffer;
  lines: BatchInputLine[];
}

/** A batch input file uploaded (`purpose=batch`), held in memory as the pass-through holds every body. */
function uploadOf(call: BatchCall): Upload | undefined {
  const boundary = multipartBoundary(call.contentType);
  if (call.body === undefined || boundary === undefined) return undefined;
  if (multipartTextFields(call.body, boundary).get('purpose')?.[0] !== 'batch') return undefined;
  const file = multipartFile(call.body, boundary, ['file'])?.bytes;
  return file === undefined ? undefined : { boundary, file, lines: batchInputLines(file) };
}

/**
 * The upload with each line's model as the provider takes it (`azure/gpt-4o-mini` -> the Azure
 * deployment, `openai/gpt-4o` -> `gpt-4o`) and, to Azure, its url without `/v1`; unchanged lines keep
 * their bytes. Undefined when no line changes.
 */
function rewrittenUpload(call: BatchCall, upload: Upload, provider: ProviderRuntime): Buffer | undefined {
  const azure = provider.definition.id === 'azure';
  const prefix = `${provider.name}/`;
  let changed = false;
  const out = upload.lines.map((line) => {
    const value = line.value;
    if (value === undefined || !isRecord(value.body) || line.model === undefined) return line.raw;
    const own = line.model.startsWith(prefix) ? line.model.slice(prefix.length) : line.model;
    const model = azure ? deploymentFor(own, provider.options) : own;
    const url = azure ? azurePath(value.url) : value.url;
    if (model === line.model && url === value.url) return line.raw;
    changed = true;
    return JSON.stringify({ ...value, url, body: { ...value.body, model } });
  });
  if (!changed) return undefined;
  return replaceFilePart(call.body!, upload.boundary, 'file', Buffer.from(`${out.join('\n')}\n`, 'utf8'));
}
