/**
 * OpenAI's Files and Batch APIs on the mock upstream (registered by openai.ts), and Azure OpenAI's
 * (registered by azure.ts: `/openai/files`, `/openai/batches`, with `api-version` and `api-key`).
 *
 * POST {files} (multipart): `purpose` (400 `Missing required parameter: 'purpose'.`, one of assistants,
 *   batch, fine-tune, vision, user_data, evals: 400 `Invalid value for purpose.`), a `file` part (400 missing) ->
 *   the File object `{id: 'file-mock-<k>', object: 'file', bytes, created_at, filename, purpose, status: 'processed'}`.
 * GET {files}/{id} -> the object; GET {files}/{id}/content -> its bytes; unknown id: 404 `No such File object: <id>`.
 * POST {batches} `{input_file_id, endpoint, completion_window}`: `completion_window` '24h' (400), `endpoint`
 *   one of the batchable endpoints (400; Azure's dated API names them without `/v1`: `/chat/completions`,
 *   `/embeddings`), the file known (404 as above) -> the Batch object, status 'validating'.
 * GET {batches}/{id} -> the Batch, ended: every line whose `url` is the batch's endpoint and whose model is
 *   known (Azure: a deployment of `deployments`) is answered in the output file (`output_file_id`): one line
 *   `{id, custom_id, response: {status_code: 200, request_id, body}, error: null}` per request, the body a chat
 *   completion (`echo: <last user text>`, usage: prompt = words of every message, completion = words of the
 *   reply) or an embedding list; status 'completed'. Azure fails a batch whose lines name a deployment it does
 *   not have (status 'failed', `errors.data[].code` 'model_not_found', as Azure validates the input file).
 * GET {batches} -> `{object: 'list', data, has_more: false}`; POST {batches}/{id}/cancel -> status 'cancelling'.
 * @see https://platform.openai.com/docs/api-reference/files
 * @see https://platform.openai.com/docs/api-reference/batch
 * @see https://learn.microsoft.com/azure/ai-foundry/openai/how-to/batch
 */
import type { MockContext } from './context.js';
import type { RouteHandler } from './index.js';
import { contentText, isRecord, lastUserText, MOCK_CREATED } from './openai-common.js';
import { openaiErrorBody } from './openai-errors.js';
import { parseForm } from './openai-media.js';
import { countWords, mockEmbedding } from './text.js';

interface RouteTarget {
  route(method: string, path: RegExp, handler: RouteHandler): void;
}

type Json = Record<string, unknown>;

const PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'];
const OPENAI_BATCH_ENDPOINTS = ['/v1/responses', '/v1/chat/completions', '/v1/embeddings', '/v1/completions', '/v1/moderations'];
const AZURE_BATCH_ENDPOINTS = ['/chat/completions', '/embeddings'];

/** How one API spells its files and batches. */
export interface FilesDialect {
  /** `/v1` (OpenAI) or `/openai` (Azure). */
  prefix: string;
  endpoints: readonly string[];
  error(status: number, message: string, fields?: { param?: string; code?: string | null }): Json;
  /** The model a line's `body.model` runs (Azure: the deployment's); undefined: unknown. */
  model(name: string): string | undefined;
}

export const OPENAI_FILES: FilesDialect = {
  prefix: '/v1',
  endpoints: OPENAI_BATCH_ENDPOINTS,
  error: (status, message, fields = {}) => openaiErrorBody(status, message, fields) as unknown as Json,
  model: (name) => name,
};

/** Azure's dialect over a deployment map (deployment -> model; none: any name is its own deployment). */
export function azureFiles(deployments: Readonly<Record<string, string>> | undefined, error: (code: string, message: string) => Json): FilesDialect {
  return {
    prefix: '/openai',
    endpoints: AZURE_BATCH_ENDPOINTS,
    error: (status, message, fields = {}) => error(fields.code ?? String(status), message),
    model: (name) => (deployments === undefined ? name : deployments[name]),
  };
}

function escaped(prefix: string): string {
  return prefix.replace(/\//g, '\\/');
}

/** One request of a batch answered as its endpoint would. */
function answer(endpoint: string, body: Json, model: string, n: number): Json {
  if (endpoint.endsWith('/embeddings')) {
    const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? '')];
    const tokens = inputs.reduce((sum, text) => sum + countWords(text), 0);
    return { object: 'list', model, data: inputs.map((text, index) => ({ object: 'embedding', index, embedding: mockEmbedding(text) })), usage: { prompt_tokens: tokens, total_tokens: tokens } };
  }
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const text = `echo: ${lastUserText(messages)}`;
  const prompt = messages.reduce<number>((sum, message) => sum + (isRecord(message) ? countWords(contentText(message.content)) : 0), 0);
  const completion = countWords(text);
  return {
    id: `chatcmpl-mock-batch-${n}`, object: 'chat.completion', created: MOCK_CREATED, model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
  };
}

export function registerFileRoutes(target: RouteTarget, wrap: (handler: RouteHandler) => RouteHandler, dialect: FilesDialect): void {
  const files = new Map<string, { object: Json; data: Buffer }>();
  const batches = new Map<string, Json>();
  const at = escaped(dialect.prefix);
  const noFile = (context: MockContext, id: string): Promise<void> => context.json(404, dialect.error(404, `No such File object: ${id}`, { param: 'id', code: null }));
  const noBatch = (context: MockContext, id: string): Promise<void> => context.json(404, dialect.error(404, `No batch found with id '${id}'.`, { code: null }));

  target.route('POST', new RegExp(`^${at}\\/files$`), wrap((context) => {
    const parts = parseForm(context);
    if (parts === undefined) return context.json(400, dialect.error(400, 'Invalid Content-Type header (application/json), expected multipart/form-data.', { code: null }));
    const purpose = parts.find((p) => p.name === 'purpose' && p.filename === undefined)?.data.toString();
    if (purpose === undefined) return context.json(400, dialect.error(400, "Missing required parameter: 'purpose'.", { param: 'purpose', code: 'missing_required_parameter' }));
    if (!PURPOSES.includes(purpose)) return context.json(400, dialect.error(400, 'Invalid value for purpose.', { param: 'purpose', code: 'invalid_value' }));
    const file = parts.find((p) => p.name === 'file' && p.filename !== undefined);
    if (file === undefined) return context.json(400, dialect.error(400, "Missing required parameter: 'file'.", { param: 'file', code: 'missing_required_parameter' }));
    const id = context.nextId('file-mock-');
    const object = { id, object: 'file', bytes: file.data.length, created_at: MOCK_CREATED, filename: file.filename, purpose, status: 'processed', expires_at: null, status_details: null };
    files.set(id, { object, data: Buffer.from(file.data) });
    return context.json(200, object);
  }));
  target.route('GET', new RegExp(`^${at}\\/files\\/([^/]+)$`), wrap((context) => {
    const file = files.get(context.match[1]);
    return file === undefined ? noFile(context, context.match[1]) : context.json(200, file.object);
  }));
  target.route('GET', new RegExp(`^${at}\\/files\\/([^/]+)\\/content$`), wrap((context) => {
    const file = files.get(context.match[1]);
    return file === undefined ? noFile(context, context.match[1]) : context.raw(200, { 'content-type': 'application/octet-stream' }, file.data);
  }));

  target.route('POST', new RegExp(`^${at}\\/batches$`), wrap((context) => {
    const body = context.request.body as Json | undefined;
    if (body === undefined || typeof body.input_file_id !== 'string') return context.json(400, dialect.error(400, "Missing required parameter: 'input_file_id'.", { param: 'input_file_id', code: 'missing_required_parameter' }));
    if (body.completion_window !== '24h') return context.json(400, dialect.error(400, `Invalid value: '${String(body.completion_window)}'. Supported values are: '24h'.`, { param: 'completion_window', code: 'invalid_value' }));
    if (!dialect.endpoints.includes(String(body.endpoint))) return context.json(400, dialect.error(400, `Invalid value: '${String(body.endpoint)}'. Supported values are: ${dialect.endpoints.map((e) => `'${e}'`).join(', ')}.`, { param: 'endpoint', code: 'invalid_value' }));
    const file = files.get(body.input_file_id);
    if (file === undefined) return noFile(context, body.input_file_id);
    const lines = file.data.toString('utf8').split('\n').filter((line) => line.trim() !== '').length;
    const batch: Json = {
      id: context.nextId('batch_mock_'), object: 'batch', endpoint: body.endpoint, errors: null, input_file_id: body.input_file_id,
      completion_window: '24h', status: 'validating', output_file_id: null, error_file_id: null, created_at: MOCK_CREATED,
      in_progress_at: null, expires_at: MOCK_CREATED + 86400, finalizing_at: null, completed_at: null, failed_at: null, expired_at: null,
      cancelling_at: null, cancelled_at: null, request_counts: { total: lines, completed: 0, failed: 0 }, metadata: body.metadata ?? null,
    };
    batches.set(batch.id as string, batch);
    return context.json(200, batch);
  }));
  target.route('GET', new RegExp(`^${at}\\/batches$`), wrap((context) => context.json(200, { object: 'list', data: [...batches.values()], first_id: null, last_id: null, has_more: false })));
  target.route('GET', new RegExp(`^${at}\\/batches\\/([^/]+)$`), wrap((context) => {
    const batch = batches.get(context.match[1]);
    if (batch === undefined) return noBatch(context, context.match[1]);
    if (batch.status === 'validating') run(context, batch);
    return context.json(200, batch);
  }));
  target.route('POST', new RegExp(`^${at}\\/batches\\/([^/]+)\\/cancel$`), wrap((context) => {
    const batch = batches.get(context.match[1]);
    if (batch === undefined) return noBatch(context, context.match[1]);
    if (batch.status === 'validating' || batch.status === 'in_progress') Object.assign(batch, { status: 'cancelling', cancelling_at: MOCK_CREATED + 30 });
    return context.json(200, batch);
  }));

  /** Runs a batch at once: its output file, or Azure's validation failure. */
  function run(context: MockContext, batch: Json): void {
    const input = files.get(batch.input_file_id as string)!.data.toString('utf8').split('\n').filter((line) => line.trim() !== '');
    const endpoint = batch.endpoint as string;
    const out: string[] = [];
    let failed = 0;
    for (const [i, text] of input.entries()) {
      let line: Json;
      try {
        line = JSON.parse(text) as Json;
      } catch {
        failed++;
        continue;
      }
      const body = isRecord(line.body) ? line.body : {};
      const model = dialect.model(String(body.model ?? ''));
      if (model === undefined) {
        Object.assign(batch, {
          status: 'failed', failed_at: MOCK_CREATED + 60, request_counts: { total: input.length, completed: 0, failed: 0 },
          errors: { object: 'list', data: [{ code: 'model_not_found', message: `The provided model deployment '${String(body.model)}' does not exist in the AOAI resource.`, param: 'body.model', line: i + 1 }] },
        });
        return;
      }
      if (line.url !== endpoint) {
        failed++;
        continue;
      }
      out.push(JSON.stringify({ id: `batch_req_mock_${i + 1}`, custom_id: line.custom_id, response: { status_code: 200, request_id: `req_mock_${i + 1}`, body: answer(endpoint, body, model, i + 1) }, error: null }));
    }
    const id = context.nextId('file-mock-');
    const data = Buffer.from(out.map((line) => `${line}\n`).join(''), 'utf8');
    files.set(id, { object: { id, object: 'file', bytes: data.length, created_at: MOCK_CREATED + 60, filename: 'batch_output.jsonl', purpose: 'batch_output', status: 'processed', expires_at: null, status_details: null }, data });
    Object.assign(batch, { status: 'completed', output_file_id: id, in_progress_at: MOCK_CREATED + 1, finalizing_at: MOCK_CREATED + 59, completed_at: MOCK_CREATED + 60, request_counts: { total: input.length, completed: out.length, failed } });
  }
}

export function registerOpenAIFileRoutes(target: RouteTarget, wrap: (handler: RouteHandler) => RouteHandler): void {
  registerFileRoutes(target, wrap, OPENAI_FILES);
}
