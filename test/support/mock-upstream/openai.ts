/**
 * The OpenAI wire format of the mock upstream. Every reply is deterministic,
 * so a test can compute what to expect (helpers: countWords, splitWords,
 * mockEmbedding, float32Base64 from text.ts). "Words" are whitespace-separated.
 *
 * Every route: `Authorization: Bearer bad-key` -> 401
 *   {"error":{"message":"Incorrect API key provided: bad-key.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}.
 * POST routes: a body that is not a JSON object -> 400; no string `model` -> 400 with param 'model'.
 *
 * POST /v1/chat/completions (also POST /openai/v1/chat/completions, Groq's path)
 *   - `-codex` / `-pro` / deep-research models: 400 "This model is only supported in v1/responses ..." (as OpenAI).
 *   - Text of a message: string content, or its `text` parts joined with ' '.
 *   - Reply content `echo: <text of the last user message>` ('' when there is none), finish_reason 'stop';
 *     cut to max_completion_tokens (else max_tokens) words when longer, finish_reason 'length'.
 *   - Tool calls instead when `tools` is non-empty, tool_choice !== 'none' and the LAST message is the
 *     user's: a named tool_choice -> one call to it; else user text containing 'parallel' (and
 *     parallel_tool_calls !== false) -> one call per tool, first two tools; else one call to the first tool.
 *     ids `call_mock_0`, `call_mock_1`; arguments `{"text":"<user text>"}`; content null; finish 'tool_calls'.
 *   - usage: prompt_tokens = words over the text of all messages; completion_tokens = words of the
 *     content (or 5 per tool call) times n; total_tokens = the sum.
 *   - id `chatcmpl-mock-<k>` (k counts from 1 per mock, reset() restarts it), created MOCK_CREATED,
 *     model = request model, system_fingerprint 'fp_mock', `n` identical choices, message.refusal null.
 *   - stream: true -> text/event-stream, per choice: delta {role:'assistant', content:''}; then one
 *     chunk per word of the content (splitWords: whitespace kept, pieces concatenate to the content);
 *     or per tool call a delta {index, id, type, function:{name, arguments:''}} then the arguments in
 *     3 near-equal pieces (splitEvenly); then delta {} with finish_reason. Then, with
 *     stream_options.include_usage, a chunk with choices [] and usage (every other chunk has
 *     usage: null); then `data: [DONE]`. Stream errors: `data: {"error":{...}}`.
 * POST /v1/completions (legacy): per prompt (string or string[]) and per `n`, a choice
 *   {text:'echo: <prompt>', index, logprobs:null, finish_reason:'stop'}; id `cmpl-mock-<k>`; usage as above.
 *   Stream: one chunk per word, a chunk {text:'', finish_reason:'stop'} per choice, usage chunk, [DONE].
 * POST /v1/embeddings: per input (string, string[], token array(s) joined with ' ') the vector
 *   mockEmbedding(text, dimensions ?? 8); encoding_format 'base64' -> float32Base64(vector) (what the
 *   openai SDK asks for by default). usage.prompt_tokens = total_tokens = words over all inputs.
 * GET /v1/models: {object:'list', data:[{id, object:'model', created:0, owned_by:'mock'}]} for
 *   options.models (DEFAULT_MODELS); GET /v1/models/{id}: that object, or 404 code 'model_not_found'.
 * POST /v1/responses: {id:'resp_mock_<k>', object:'response', created_at, status:'completed', model,
 *   output:[{id:'msg_mock_<k>', type:'message', status:'completed', role:'assistant',
 *   content:[{type:'output_text', text:'echo: <last user input text>', annotations:[]}]}],
 *   usage:{input_tokens (words of instructions + all input), output_tokens, total_tokens}}.
 *   Stream: named events response.created, response.in_progress, response.output_item.added,
 *   response.content_part.added, response.output_text.delta (one per word), response.output_text.done,
 *   response.content_part.done, response.output_item.done, response.completed (no [DONE]);
 *   stream errors: `event: error` {type:'error', code, message, param, sequence_number}.
 * POST /v1/images/generations, /v1/images/edits, /v1/audio/speech, /v1/audio/transcriptions,
 *   /v1/audio/translations (also under /openai/v1, Groq's path): openai-media.ts.
 * /v1/files, /v1/batches: openai-files.ts.
 * Anything else: 404 {"error":{"message":"Invalid URL (<METHOD> <path>)","type":"invalid_request_error",...}}.
 *
 * @see https://platform.openai.com/docs/api-reference
 */
import type { MockContext } from './context.js';
import type { RouteHandler } from './index.js';
import { chatCompletions, legacyCompletions } from './openai-chat.js';
import { embeddings } from './openai-embeddings.js';
import { openaiErrorBody } from './openai-errors.js';
import { responses, storedResponseRoutes } from './openai-responses.js';
import { registerOpenAIMediaRoutes } from './openai-media.js';
import { registerOpenAIFileRoutes } from './openai-files.js';

export { MOCK_CREATED } from './openai-common.js';

export const DEFAULT_MODELS: readonly string[] = Object.freeze(['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small']);

interface RouteTarget {
  route(method: string, path: RegExp, handler: RouteHandler): void;
}

/** Rejects the key 'bad-key' the way api.openai.com rejects a wrong key, so tests can check pass-through. */
function withAuth(handler: RouteHandler): RouteHandler {
  return (context: MockContext) => {
    if (context.request.headers.authorization === 'Bearer bad-key') {
      const body = openaiErrorBody(401, 'Incorrect API key provided: bad-key.', { code: 'invalid_api_key' });
      return context.json(401, body);
    }
    return handler(context);
  };
}

function modelObject(id: string): Record<string, unknown> {
  return { id, object: 'model', created: 0, owned_by: 'mock' };
}

export function registerOpenAIRoutes(target: RouteTarget, models: readonly string[]): void {
  target.route('POST', /^\/v1\/chat\/completions$/, withAuth(chatCompletions));
  // Groq serves the same API under /openai/v1 (https://api.groq.com/openai/v1).
  target.route('POST', /^\/openai\/v1\/chat\/completions$/, withAuth(chatCompletions));
  target.route('POST', /^\/v1\/completions$/, withAuth(legacyCompletions));
  target.route('POST', /^\/v1\/embeddings$/, withAuth(embeddings));
  target.route('POST', /^\/v1\/responses$/, withAuth(responses));
  registerOpenAIMediaRoutes(target, withAuth);
  registerOpenAIFileRoutes(target, withAuth);
  for (const route of storedResponseRoutes) target.route(route.method, route.path, withAuth(route.handler));
  target.route('GET', /^\/v1\/models$/, withAuth((context) => context.json(200, { object: 'list', data: models.map(modelObject) })));
  target.route(
    'GET',
    /^\/v1\/models\/(.+)$/,
    withAuth((context) => {
      const id = decodeURIComponent(context.match[1]);
      if (models.includes(id)) return context.json(200, modelObject(id));
      const message = `The model '${id}' does not exist or you do not have access to it.`;
      return context.json(404, openaiErrorBody(404, message, { code: 'model_not_found' }));
    }),
  );
}
