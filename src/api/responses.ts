/**
 * POST /v1/responses, the OpenAI Responses API, to any provider:
 *
 * - a provider with the Responses API (OpenAI, Azure, OpenAI-compatible servers that have it) gets
 *   the caller's bytes with only the model rewritten, and answers with its own ids and storage;
 * - any other provider (Anthropic, Gemini, Bedrock, Cohere, chat-only servers) is bridged: the
 *   request is decoded to canonical chat (formats/responses), sent to the provider's chat endpoint,
 *   and the answer or stream is encoded back as a Responses `response` or event stream.
 *
 * The bridge is stateless: the caller sends the whole conversation as input items (as Codex does
 * with `store: false`); a provider's thinking comes back through the reasoning items' sealed
 * `encrypted_content` (reasoning-seal.ts).
 * @see https://platform.openai.com/docs/api-reference/responses
 */
import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  decodeResponsesRequest, encodeResponsesResponse, responseIdFor, ResponsesStreamEncoder,
  type DecodedResponsesRequest, type ReasoningSeal, type ResponsesEncodeContext, type ResponsesRequestFacts,
} from '../formats/responses/index.js';
import type { ChatCompletion, ChatRequest } from '../formats/openai/types.js';
import type { CodecContext } from '../formats/types.js';
import { refuseWarnings } from '../formats/warnings.js';
import type { Gateway } from '../gateway/gateway.js';
import type { RequestContext } from '../gateway/request-context.js';
import { SecretBox } from '../store/secret-box.js';
import type { LaneHandler } from './fast-lane.js';
import { buildInput, readBody } from './openai.js';
import { reasoningSeal } from './reasoning-seal.js';
import { surfaceHandler } from './surface-handler.js';
import type { JsonObject } from './validate.js';

/** The facts of a request never decoded (a pass-through whose stream failed): nothing to map back. */
const NO_FACTS: ResponsesRequestFacts = { tools: new Map(), summaries: false, encryptedReasoning: false, echo: {} };

/** Decodes the body once, on first need: a pass-through never does. */
class ResponsesRequest {
  private decoded: DecodedResponsesRequest | undefined;

  constructor(
    private readonly body: JsonObject,
    private readonly model: string,
    private readonly ctx: RequestContext,
    private readonly seal: ReasoningSeal,
    private readonly strictParams: boolean,
  ) {}

  canonical(): ChatRequest {
    if (this.decoded === undefined) {
      const decoded = decodeResponsesRequest(this.body, { model: this.model, seal: this.seal });
      if (this.strictParams) refuseWarnings(decoded.warnings);
      this.ctx.addWarnings(decoded.warnings);
      this.decoded = decoded;
    }
    return this.decoded.request;
  }

  encodeContext(context: CodecContext): ResponsesEncodeContext {
    return { id: responseIdFor(this.ctx.id), created: context.created, model: context.model, facts: this.decoded?.facts ?? NO_FACTS, seal: this.seal };
  }
}

/** The seal of reasoning items: keyed from the store's encryption key (a random one without a store). */
function sealFor(app: FastifyInstance): ReasoningSeal {
  const master = app.hasDecorator('store') ? app.store.secrets : new SecretBox(crypto.randomBytes(32));
  return reasoningSeal(master);
}

/** Registers POST /v1/responses; returns its handler (the WebSocket mode runs each message through it). */
export function registerResponsesRoutes(app: FastifyInstance, gateway: Gateway): LaneHandler {
  const seal = sealFor(app);
  const serve = surfaceHandler(gateway, {
    surface: 'openai',
    errorFormat: 'openai',
    prepare(request, _gateway, ctx) {
      const { body, text } = readBody(request.body);
      const input = buildInput(gateway, 'responses', body, false, text);
      const bridge = new ResponsesRequest(body, input.model, ctx, seal, gateway.state.routing.strictParams);
      return {
        input: { ...input, canonical: () => bridge.canonical() },
        encodeJson: (result, context) => encodeResponsesResponse(result as ChatCompletion, bridge.encodeContext(context)),
        createStreamEncoder: (context) => new ResponsesStreamEncoder(bridge.encodeContext(context)),
      };
    },
  });
  app.post('/v1/responses', { config: { surface: 'openai' as const } }, serve);
  // The same handler, served from node:http without Fastify's per-request work (src/api/fast-lane.ts).
  if (app.hasDecorator('fastLane')) app.fastLane.add('/v1/responses', 'openai', serve);
  return serve;
}
