/**
 * OpenAI's Files and Batch APIs on the mock upstream (registered by openai.ts).
 *
 * POST /v1/files (multipart): `purpose` (400 `Missing required parameter: 'purpose'.`, one of assistants,
 *   batch, fine-tune, vision, user_data, evals: 400 `Invalid value for purpose.`), a `file` part (400 missing) ->
 *   the File object `{id: 'file-mock-<k>', object: 'file', bytes, created_at, filename, purpose, status: 'processed'}`.
 * GET /v1/files/{id} -> the object; GET /v1/files/{id}/content -> its bytes; unknown id: 404 `No such File object: <id>`.
 * POST /v1/batches `{input_file_id, endpoint, completion_window}`: `completion_window` '24h' (400), `endpoint`
 *   one of the batchable endpoints (400), the file known (404 as above) -> the Batch object, status 'validating'.
 * GET /v1/batches/{id} -> the Batch, status 'completed' with `request_counts` from the file's lines.
 * @see https://platform.openai.com/docs/api-reference/files
 * @see https://platform.openai.com/docs/api-reference/batch
 */
import type { MockContext } from './context.js';
import type { RouteHandler } from './index.js';
import { MOCK_CREATED } from './openai-common.js';
import { openaiErrorBody } from './openai-errors.js';
import { parseForm } from './openai-media.js';

interface RouteTarget {
  route(method: string, path: RegExp, handler: RouteHandler): void;
}

type Json = Record<string, unknown>;

const PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'];
const BATCH_ENDPOINTS = ['/v1/responses', '/v1/chat/completions', '/v1/embeddings', '/v1/completions', '/v1/moderations'];

export function registerOpenAIFileRoutes(target: RouteTarget, wrap: (handler: RouteHandler) => RouteHandler): void {
  const files = new Map<string, { object: Json; data: Buffer }>();
  const batches = new Map<string, Json>();
  const noFile = (context: MockContext, id: string): Promise<void> => context.json(404, openaiErrorBody(404, `No such File object: ${id}`, { param: 'id', code: null }));

  target.route('POST', /^\/v1\/files$/, wrap((context) => {
    const parts = parseForm(context);
    if (parts === undefined) return context.json(400, openaiErrorBody(400, 'Invalid Content-Type header (application/json), expected multipart/form-data.', { code: null }));
    const purpose = parts.find((p) => p.name === 'purpose' && p.filename === undefined)?.data.toString();
    if (purpose === undefined) return context.json(400, openaiErrorBody(400, "Missing required parameter: 'purpose'.", { param: 'purpose', code: 'missing_required_parameter' }));
    if (!PURPOSES.includes(purpose)) return context.json(400, openaiErrorBody(400, 'Invalid value for purpose.', { param: 'purpose', code: 'invalid_value' }));
    const file = parts.find((p) => p.name === 'file' && p.filename !== undefined);
    if (file === undefined) return context.json(400, openaiErrorBody(400, "Missing required parameter: 'file'.", { param: 'file', code: 'missing_required_parameter' }));
    const id = context.nextId('file-mock-');
    const object = { id, object: 'file', bytes: file.data.length, created_at: MOCK_CREATED, filename: file.filename, purpose, status: 'processed', expires_at: null, status_details: null };
    files.set(id, { object, data: Buffer.from(file.data) });
    return context.json(200, object);
  }));
  target.route('GET', /^\/v1\/files\/([^/]+)$/, wrap((context) => {
    const file = files.get(context.match[1]);
    return file === undefined ? noFile(context, context.match[1]) : context.json(200, file.object);
  }));
  target.route('GET', /^\/v1\/files\/([^/]+)\/content$/, wrap((context) => {
    const file = files.get(context.match[1]);
    return file === undefined ? noFile(context, context.match[1]) : context.raw(200, { 'content-type': 'application/octet-stream' }, file.data);
  }));

  target.route('POST', /^\/v1\/batches$/, wrap((context) => {
    const body = context.request.body as Json | undefined;
    if (body === undefined || typeof body.input_file_id !== 'string') return context.json(400, openaiErrorBody(400, "Missing required parameter: 'input_file_id'.", { param: 'input_file_id', code: 'missing_required_parameter' }));
    if (body.completion_window !== '24h') return context.json(400, openaiErrorBody(400, `Invalid value: '${String(body.completion_window)}'. Supported values are: '24h'.`, { param: 'completion_window', code: 'invalid_value' }));
    if (!BATCH_ENDPOINTS.includes(String(body.endpoint))) return context.json(400, openaiErrorBody(400, `Invalid value: '${String(body.endpoint)}'. Supported values are: ${BATCH_ENDPOINTS.map((e) => `'${e}'`).join(', ')}.`, { param: 'endpoint', code: 'invalid_value' }));
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
  target.route('GET', /^\/v1\/batches\/([^/]+)$/, wrap((context) => {
    const batch = batches.get(context.match[1]);
    if (batch === undefined) return context.json(404, openaiErrorBody(404, `No batch found with id '${context.match[1]}'.`, { code: null }));
    const total = (batch.request_counts as { total: number }).total;
    return context.json(200, { ...batch, status: 'completed', completed_at: MOCK_CREATED + 60, request_counts: { total, completed: total, failed: 0 } });
  }));
}
