/**
 * Anthropic's Message Batches API on the mock upstream (registered by
 * anthropic.ts). A batch ends at once: created `in_progress`, retrieved
 * `ended`, every request answered by the Messages echo rules.
 *
 * POST /v1/messages/batches `{requests: [{custom_id, params}]}`
 *   - `requests` a non-empty array (400 `requests: Field required` / `requests: List should have at least 1 item after validation, not 0`);
 *     each `custom_id` a string, unique (400 `requests.<i>.custom_id: ...`); each `params` a valid Messages body
 *     without `stream` (400 `requests.<i>.params.<field>: ...`).
 *   - reply: the MessageBatch object (`msgbatch_mock_<k>`, processing_status `in_progress`, request_counts).
 * GET /v1/messages/batches/{id}: the batch, `ended`, `results_url` on this mock; 404 not_found_error for an unknown id.
 * GET /v1/messages/batches/{id}/results: one JSON line per request
 *   `{custom_id, result: {type: 'succeeded', message}}` (content-type application/binary, as Anthropic sends it).
 * @see https://docs.anthropic.com/en/api/creating-message-batches
 * @see https://docs.anthropic.com/en/api/retrieving-message-batch-results
 */
import type { MockContext } from './context.js';
import { planEcho, type EchoRequest } from './echo-plan.js';
import type { RouteHandler } from './index.js';
import { isRecord } from './openai-common.js';

interface RouteTarget {
  route(method: string, path: RegExp, handler: RouteHandler): void;
}

type Json = Record<string, unknown>;

interface StoredBatch {
  id: string;
  createdAt: string;
  requests: Array<{ custom_id: string; params: Json }>;
}

export interface AnthropicBatchHelpers {
  errorBody(status: number, message: string): Json;
  checkHeaders(context: MockContext): Promise<void> | undefined;
  invalidParams(params: Json): string | undefined;
  echoRequest(params: Json): EchoRequest;
}

function batchObject(batch: StoredBatch, ended: boolean, baseUrl: string): Json {
  const count = batch.requests.length;
  return {
    id: batch.id,
    type: 'message_batch',
    processing_status: ended ? 'ended' : 'in_progress',
    request_counts: { processing: ended ? 0 : count, succeeded: ended ? count : 0, errored: 0, canceled: 0, expired: 0 },
    ended_at: ended ? batch.createdAt : null,
    created_at: batch.createdAt,
    expires_at: '2026-12-31T00:00:00Z',
    archived_at: null,
    cancel_initiated_at: null,
    results_url: ended ? `${baseUrl}/v1/messages/batches/${batch.id}/results` : null,
  };
}

export function registerAnthropicBatchRoutes(target: RouteTarget, helpers: AnthropicBatchHelpers): void {
  const batches = new Map<string, StoredBatch>();
  const hostOf = (context: MockContext): string => `http://${String(context.request.headers.host)}`;

  target.route('POST', /^\/v1\/messages\/batches$/, (context) => {
    const refused = helpers.checkHeaders(context);
    if (refused) return refused;
    const body = context.request.body;
    if (!isRecord(body) || !Array.isArray(body.requests)) return context.json(400, helpers.errorBody(400, 'requests: Field required'));
    if (body.requests.length === 0) return context.json(400, helpers.errorBody(400, 'requests: List should have at least 1 item after validation, not 0'));
    const seen = new Set<string>();
    const requests: StoredBatch['requests'] = [];
    for (const [i, item] of body.requests.entries()) {
      if (!isRecord(item) || typeof item.custom_id !== 'string') return context.json(400, helpers.errorBody(400, `requests.${i}.custom_id: Field required`));
      if (seen.has(item.custom_id)) return context.json(400, helpers.errorBody(400, `Duplicate custom_id '${item.custom_id}' found in requests.`));
      seen.add(item.custom_id);
      if (!isRecord(item.params)) return context.json(400, helpers.errorBody(400, `requests.${i}.params: Field required`));
      if (item.params.stream !== undefined) return context.json(400, helpers.errorBody(400, `requests.${i}.params.stream: Extra inputs are not permitted`));
      const invalid = helpers.invalidParams(item.params);
      if (invalid !== undefined) return context.json(400, helpers.errorBody(400, `requests.${i}.params.${invalid}`));
      requests.push({ custom_id: item.custom_id, params: item.params });
    }
    const batch: StoredBatch = { id: context.nextId('msgbatch_mock_'), createdAt: '2026-12-07T00:00:00Z', requests };
    batches.set(batch.id, batch);
    return context.json(200, batchObject(batch, false, hostOf(context)));
  });

  target.route('GET', /^\/v1\/messages\/batches\/([^/]+)$/, (context) => {
    const refused = helpers.checkHeaders(context);
    if (refused) return refused;
    const batch = batches.get(context.match[1]);
    if (batch === undefined) return context.json(404, helpers.errorBody(404, `No batch found with id '${context.match[1]}'`));
    return context.json(200, batchObject(batch, true, hostOf(context)));
  });

  target.route('GET', /^\/v1\/messages\/batches\/([^/]+)\/results$/, (context) => {
    const refused = helpers.checkHeaders(context);
    if (refused) return refused;
    const batch = batches.get(context.match[1]);
    if (batch === undefined) return context.json(404, helpers.errorBody(404, `No batch found with id '${context.match[1]}'`));
    const lines = batch.requests.map((request, i) => {
      const plan = planEcho(helpers.echoRequest(request.params));
      const message = {
        id: `msg_mock_batch_${i + 1}`, type: 'message', role: 'assistant', model: request.params.model,
        content: [{ type: 'text', text: plan.text ?? '' }], stop_reason: plan.truncated ? 'max_tokens' : 'end_turn', stop_sequence: null,
        usage: { input_tokens: plan.promptTokens, output_tokens: plan.completionTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      };
      return JSON.stringify({ custom_id: request.custom_id, result: { type: 'succeeded', message } });
    });
    return context.raw(200, { 'content-type': 'application/binary' }, `${lines.join('\n')}\n`);
  });
}
