/**
 * The Cohere v2 wire format of the mock upstream (register with
 * `registerCohereRoutes(mock)`). Chat replies follow echo-plan.ts.
 *
 * Every route: `Authorization: Bearer <key>` (401 `{message:'no api key supplied'}` without one;
 * 'bad-key' -> 401 `{message:'invalid api token'}`).
 * POST /v2/chat
 *   - body: `model` string, `messages` non-empty array of system/user/assistant/tool messages
 *     (400 `{message}` otherwise). tool_choice 'REQUIRED' | 'NONE'.
 *   - reply `{id:'cohere-mock-<k>', finish_reason, message, usage}`: message
 *     `{role:'assistant', content:[{type:'text', text:'echo: ...'}]}` + 'COMPLETE' ('MAX_TOKENS' when cut
 *     at max_tokens words), or
 *     `{role:'assistant', tool_plan:'I will call <names>.', tool_calls:[{id:'<name>_mock_<i>',
 *     type:'function', function:{name, arguments}}]}` + 'TOOL_CALL'. usage
 *     `{billed_units:{input_tokens, output_tokens}, tokens:{input_tokens: billed + 200, output_tokens}}`
 *     (`tokens` counts Cohere's prompt template too).
 *   - stream: true -> SSE with `event: <type>`: message-start; text: content-start, content-delta per
 *     word, content-end; tools: tool-plan-delta per word, then per call tool-call-start (id, name,
 *     arguments ''), tool-call-delta x3, tool-call-end; message-end {finish_reason, usage}.
 *     Stream errors: message-end with finish_reason 'ERROR' and `error`.
 * POST /v2/embed: `{model, texts, input_type, embedding_types?}` (input_type required) ->
 *   `{id, embeddings:{float:[...]}, texts, meta:{api_version:{version:'2'}, billed_units:{input_tokens}},
 *   response_type:'embeddings_by_type'}` (mockEmbedding, 8 dimensions; output_dimension honoured).
 *
 * @see https://docs.cohere.com/v2/reference/chat
 * @see https://docs.cohere.com/v2/docs/streaming
 * @see https://docs.cohere.com/v2/reference/embed
 */
import { formatSse } from '../../../src/gateway/sse.js';
import type { MockContext } from './context.js';
import { argumentPieces, planEcho, textPieces, type EchoRequest, type EchoToolChoice } from './echo-plan.js';
import type { RouteHandler } from './index.js';
import { contentText, isRecord } from './openai-common.js';
import { countWords, mockEmbedding } from './text.js';

interface RouteTarget {
  route(method: string, path: RegExp, handler: RouteHandler): void;
}

type Json = Record<string, unknown>;

/** Cohere's template tokens: `usage.tokens` counts them, `billed_units` does not. */
const TEMPLATE_TOKENS = 200;

/** A Cohere v2 chat body -> what the echo planner needs. */
export function cohereEchoRequest(body: Json): EchoRequest {
  const messages = Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
  const promptTexts = messages.map((message) => contentText(message.content));
  let userText = '';
  for (const message of messages) if (message.role === 'user') userText = contentText(message.content);
  const tools = Array.isArray(body.tools) ? body.tools.filter(isRecord) : [];
  let toolChoice: EchoToolChoice | undefined;
  if (body.tool_choice === 'NONE') toolChoice = 'none';
  else if (body.tool_choice === 'REQUIRED') toolChoice = 'required';
  return {
    userText,
    endsWithUser: messages[messages.length - 1]?.role === 'user',
    promptTexts,
    toolNames: tools.map((tool) => String(isRecord(tool.function) ? tool.function.name : '')),
    toolChoice,
    maxTokens: typeof body.max_tokens === 'number' ? body.max_tokens : undefined,
  };
}

function invalidChatBody(body: unknown): string | undefined {
  if (!isRecord(body)) return 'invalid request: the body must be a JSON object';
  if (typeof body.model !== 'string') return 'invalid request: model must be a string';
  if (!Array.isArray(body.messages) || body.messages.length === 0) return 'invalid request: messages must not be empty';
  for (const [i, message] of body.messages.entries()) {
    if (!isRecord(message) || !['system', 'user', 'assistant', 'tool'].includes(String(message.role))) {
      return `invalid request: messages[${i}].role must be one of system, user, assistant, tool`;
    }
  }
  if (body.tool_choice !== undefined && body.tool_choice !== 'REQUIRED' && body.tool_choice !== 'NONE') {
    return "invalid request: tool_choice must be 'REQUIRED' or 'NONE'";
  }
  return undefined;
}

function refuseKey(context: MockContext): Promise<void> | undefined {
  const authorization = context.request.headers.authorization;
  if (authorization === undefined || !authorization.startsWith('Bearer ') || authorization === 'Bearer ') {
    return context.json(401, { message: 'no api key supplied' });
  }
  if (authorization === 'Bearer bad-key') return context.json(401, { message: 'invalid api token' });
  return undefined;
}

function chat(context: MockContext, body: Json): Promise<void> {
  const plan = planEcho(cohereEchoRequest(body));
  const id = context.nextId('cohere-mock-');
  const finishReason = plan.calls.length > 0 ? 'TOOL_CALL' : plan.truncated ? 'MAX_TOKENS' : 'COMPLETE';
  const usage = {
    billed_units: { input_tokens: plan.promptTokens, output_tokens: plan.completionTokens },
    tokens: { input_tokens: plan.promptTokens + TEMPLATE_TOKENS, output_tokens: plan.completionTokens },
  };
  const toolPlan = `I will call ${plan.calls.map((call) => call.name).join(' and ')}.`;
  const calls = plan.calls.map((call, i) => ({ id: `${call.name}_mock_${i}`, type: 'function', function: { name: call.name, arguments: call.arguments } }));
  if (body.stream !== true) {
    const message = plan.text !== undefined
      ? { role: 'assistant', content: [{ type: 'text', text: plan.text }] }
      : { role: 'assistant', tool_plan: toolPlan, tool_calls: calls };
    return context.json(200, { id, finish_reason: finishReason, message, usage });
  }
  const events: string[] = [];
  const emit = (type: string, fields: Json): void => {
    events.push(formatSse(JSON.stringify({ type, ...fields }), type));
  };
  emit('message-start', { id, delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } } });
  if (plan.text !== undefined) {
    emit('content-start', { index: 0, delta: { message: { content: { type: 'text', text: '' } } } });
    for (const piece of textPieces(plan.text)) emit('content-delta', { index: 0, delta: { message: { content: { text: piece } } } });
    emit('content-end', { index: 0 });
  } else {
    for (const piece of textPieces(toolPlan)) emit('tool-plan-delta', { delta: { message: { tool_plan: piece } } });
    plan.calls.forEach((call, index) => {
      const head = { id: calls[index].id, type: 'function', function: { name: call.name, arguments: '' } };
      emit('tool-call-start', { index, delta: { message: { tool_calls: head } } });
      for (const piece of argumentPieces(call)) emit('tool-call-delta', { index, delta: { message: { tool_calls: { function: { arguments: piece } } } } });
      emit('tool-call-end', { index });
    });
  }
  emit('message-end', { delta: { finish_reason: finishReason, usage } });
  return context.stream(events, {
    errorEvent: (error) => formatSse(JSON.stringify({ type: 'message-end', delta: { finish_reason: 'ERROR', error: String(error.message) } }), 'message-end'),
  });
}

function embed(context: MockContext, body: Json): Promise<void> {
  if (typeof body.model !== 'string') return context.json(400, { message: 'invalid request: model must be a string' });
  if (!Array.isArray(body.texts) || !body.texts.every((text) => typeof text === 'string')) {
    return context.json(400, { message: 'invalid request: texts must be an array of strings' });
  }
  if (typeof body.input_type !== 'string') {
    return context.json(400, { message: 'invalid request: valid input_type must be provided with the provided model' });
  }
  const texts = body.texts as string[];
  const dimensions = typeof body.output_dimension === 'number' ? body.output_dimension : 8;
  const tokens = texts.reduce((sum, text) => sum + countWords(text), 0);
  return context.json(200, {
    id: context.nextId('embed-mock-'),
    embeddings: { float: texts.map((text) => mockEmbedding(text, dimensions)) },
    texts,
    meta: { api_version: { version: '2' }, billed_units: { input_tokens: tokens } },
    response_type: 'embeddings_by_type',
  });
}

export function registerCohereRoutes(target: RouteTarget): void {
  target.route('POST', /^\/v2\/chat$/, (context) => {
    const refused = refuseKey(context);
    if (refused) return refused;
    const invalid = invalidChatBody(context.request.body);
    if (invalid !== undefined) return context.json(400, { message: invalid });
    return chat(context, context.request.body as Json);
  });
  target.route('POST', /^\/v2\/embed$/, (context) => {
    const refused = refuseKey(context);
    if (refused) return refused;
    if (!isRecord(context.request.body)) return context.json(400, { message: 'invalid request: the body must be a JSON object' });
    return embed(context, context.request.body);
  });
}
