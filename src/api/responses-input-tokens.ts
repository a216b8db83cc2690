/**
 * POST /v1/responses/input_tokens: how many input tokens a Responses request would use, counted by
 * the provider that would serve it.
 *
 * | provider | how |
 * | --- | --- |
 * | OpenAI-format providers with the Responses API | forwarded to their `/responses/input_tokens`, the model rewritten |
 * | Anthropic, Claude on Vertex | translated (formats/responses, then the provider's codec) to a `count_tokens` call |
 * | Gemini, Gemini on Vertex | translated to a `countTokens` call with a `generateContentRequest` |
 * | any other | 400: a count from another tokenizer would be a guess |
 *
 * The answer is OpenAI's `{object: "response.input_tokens", input_tokens}`; a provider's error comes
 * back in OpenAI's form. `previous_response_id` counts the stored conversation too. Governance sees
 * the count as count_tokens does (authentication, model access, request rate limits; settled at $0).
 * @see https://platform.openai.com/docs/api-reference/responses/input-tokens
 * @see https://docs.anthropic.com/en/api/messages-count-tokens
 * @see https://ai.google.dev/api/tokens#method:-models.counttokens
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, invalidField } from '../errors/gateway-error.js';
import type { ChatRequest } from '../formats/openai/types.js';
import { decodeResponsesRequest, type ReasoningSeal } from '../formats/responses/index.js';
import { chatCodecFor } from '../formats/registry.js';
import type { Gateway } from '../gateway/gateway.js';
import type { RequestContext } from '../gateway/request-context.js';
import { resolveTarget, type Target } from '../gateway/router.js';
import { maskSecretsInBody } from '../gateway/secret-guard.js';
import { pickAvailableKey } from '../gateway/upstream-call.js';
import type { Endpoint } from '../providers/types.js';
import type { ResponseStore } from '../store/response-store.js';
import { admitCount } from './count-tokens.js';
import { readBody } from './openai.js';
import { recordedCall } from './recorded-call.js';
import { startContext } from './respond.js';
import { failRequest, sendFinalAnswer } from './surface-handler.js';
import { ResponseMemory } from './stored-responses.js';
import { checkJsonContentType, type JsonObject } from './validate.js';

/** Fields Anthropic's count_tokens takes (it refuses the others, max_tokens included). */
const ANTHROPIC_COUNT_FIELDS = ['model', 'messages', 'system', 'tools', 'tool_choice', 'thinking'] as const;
/** Fields of a Gemini generateContentRequest that hold input. */
const GEMINI_COUNT_FIELDS = ['contents', 'systemInstruction', 'tools', 'toolConfig'] as const;

interface CountCall {
  endpoint: Endpoint;
  body: string;
  /** The provider's answer -> OpenAI's; undefined when the provider's answer is passed on as it is. */
  answer?(raw: Record<string, unknown>): number | undefined;
}

function pick(body: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) if (body[field] !== undefined) out[field] = body[field];
  return out;
}

/** The count call for the target: the provider's own Responses count, or its native count of the translated request. */
function countCall(target: Target, key: ReturnType<typeof pickAvailableKey>, body: JsonObject, canonical: () => ChatRequest): CountCall {
  const provider = target.provider;
  const definition = provider.definition;
  if (definition.format === 'openai' && provider.supports('responses')) {
    const base = provider.endpoint('responses', key, target.model, false);
    const [path, query] = base.url.split('?', 2);
    return { endpoint: { ...base, url: `${path}/input_tokens${query === undefined ? '' : `?${query}`}` }, body: JSON.stringify({ ...body, model: target.model }) };
  }
  const context = { baseUrl: provider.baseUrl, apiKey: key?.secret, model: target.model, stream: false, options: provider.options };
  const endpoint = definition.countTokens?.(context);
  const codec = chatCodecFor(definition.format);
  if (endpoint === undefined || codec === undefined) {
    throw new GatewayError('HD_ERR_PROVIDER_UNSUPPORTED_OPERATION', `Provider "${provider.name}" cannot count input tokens (it has no token-count call); a count from another tokenizer would be a guess.`, { param: 'model' });
  }
  provider.finishHeaders(endpoint.headers, undefined);
  const encoded = codec.encodeRequest({ ...canonical(), stream: false }, { model: target.model, stream: false }).body as Record<string, unknown>;
  if (endpoint.format === 'anthropic') {
    return {
      endpoint,
      body: JSON.stringify({ ...pick(encoded, ANTHROPIC_COUNT_FIELDS), model: target.model, ...endpoint.bodyPatch }),
      answer: (raw) => (typeof raw.input_tokens === 'number' ? raw.input_tokens : undefined),
    };
  }
  return {
    endpoint,
    body: JSON.stringify({ generateContentRequest: { model: `models/${target.model}`, ...pick(encoded, GEMINI_COUNT_FIELDS) } }),
    answer: (raw) => (typeof raw.totalTokens === 'number' ? raw.totalTokens : undefined),
  };
}

async function count(gateway: Gateway, store: ResponseStore | undefined, seal: ReasoningSeal, ctx: RequestContext, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  checkJsonContentType(request.headers['content-type']);
  const received = gateway.lifecycle.runReceived(ctx);
  if (received !== undefined) await received;
  const { body } = readBody(request.body);
  if (typeof body.model !== 'string' || body.model === '') throw invalidField('model', 'model: Field required.');
  const model = body.model;
  const target = resolveTarget(gateway.state, model, 'chat');
  const provider = target.provider;
  const canonical = (): ChatRequest => {
    // Counting stores nothing; a previous response is read as on a turn.
    const memory = store === undefined ? undefined : new ResponseMemory(store, ctx, { ...body, store: false });
    const decodable = memory === undefined || memory.idle ? body : memory.bridgedBody('resp_count');
    return decodeResponsesRequest({ input: [], ...decodable }, { model: target.model, seal }).request;
  };
  await admitCount(gateway, ctx, { model, body: () => '' }, target, 'openai');
  ctx.target = target;
  const key = pickAvailableKey(provider, target.model, gateway.state.routing.breaker);
  if (key === undefined && provider.keys.length > 0) {
    throw new GatewayError('HD_ERR_UPSTREAM_UNAVAILABLE', `Every key of "${provider.name}" is cooling down after repeated failures (circuit open).`, { retryAfter: 1 });
  }
  const call = countCall(target, key, body, canonical);
  const answer = await recordedCall(gateway, ctx, target, key, { endpoint: call.endpoint, method: 'POST', body: call.body });
  if (answer.failure !== undefined && call.answer !== undefined) throw answer.failure.toGatewayError(provider.name);
  let payload: Buffer | string = maskSecretsInBody(answer.raw);
  if (call.answer !== undefined) {
    const tokens = call.answer(JSON.parse(answer.raw.toString('utf8')) as Record<string, unknown>);
    if (tokens === undefined) throw new GatewayError('HD_ERR_UPSTREAM_BAD_RESPONSE', `Provider "${provider.name}" answered the token count without a count.`);
    payload = JSON.stringify({ object: 'response.input_tokens', input_tokens: tokens });
  }
  await sendFinalAnswer(reply, ctx, answer.status, payload, gateway.lifecycle);
}

export function registerInputTokensRoute(app: FastifyInstance, gateway: Gateway, store: ResponseStore | undefined, seal: ReasoningSeal): void {
  app.post('/v1/responses/input_tokens', { config: { surface: 'openai' as const } }, async (request, reply) => {
    const ctx = startContext(gateway, request, reply, 'openai');
    try {
      await count(gateway, store, seal, ctx, request, reply);
    } catch (error) {
      await failRequest(reply, ctx, error, 'openai', gateway.lifecycle);
    }
  });
}
