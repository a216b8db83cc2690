/**
 * POST /v1/responses, the OpenAI Responses API, to any provider:
 *
 * - a provider with the Responses API (OpenAI, Azure, OpenAI-compatible servers that have it) gets
 *   the caller's bytes with only the model rewritten, and answers with its own ids and storage;
 * - any other provider (Anthropic, Gemini, Bedrock, Cohere, chat-only servers) is bridged: the
 *   request is decoded to canonical chat (formats/responses), sent to the provider's chat endpoint,
 *   and the answer or stream is encoded back as a Responses `response` or event stream.
 *
 * A bridged response is stored by the gateway (`store`, the default) and can be continued with
 * `previous_response_id`; a pass-through response's id is recorded with its provider
 * (stored-responses.ts). A provider's thinking comes back through the reasoning items' sealed
 * `encrypted_content` (reasoning-seal.ts), on a stateless turn as on a stored one.
 * @see https://platform.openai.com/docs/api-reference/responses
 */
import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  decodeResponsesRequest, encodeResponsesResponse, responseIdFor, ResponsesStreamEncoder,
  type DecodedResponsesRequest, type ReasoningSeal, type ResponsesEncodeContext, type ResponsesRequestFacts,
} from '../formats/responses/index.js';
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from '../formats/openai/types.js';
import type { CodecContext, StreamEncoder } from '../formats/types.js';
import { refuseWarnings } from '../formats/warnings.js';
import type { Gateway } from '../gateway/gateway.js';
import type { RequestContext } from '../gateway/request-context.js';
import { SecretBox } from '../store/secret-box.js';
import type { LaneHandler } from './fast-lane.js';
import { buildInput, readBody } from './openai.js';
import { reasoningSeal } from './reasoning-seal.js';
import { registerInputTokensRoute } from './responses-input-tokens.js';
import { registerStoredResponseRoutes } from './stored-response-routes.js';
import { ResponseMemory, responseIdOfBody, type BackgroundMark } from './stored-responses.js';
import { BackgroundResponses } from './background-responses.js';
import { sendError } from './respond.js';
import { withSharedResponses } from './shared-responses.js';
import type { Logger } from '../telemetry/logger.js';
import { surfaceHandler } from './surface-handler.js';
import type { JsonObject } from './validate.js';

/** The facts of a request never decoded (a pass-through whose stream failed): nothing to map back. */
const NO_FACTS: ResponsesRequestFacts = { tools: new Map(), summaries: false, encryptedReasoning: false, echo: {} };

/** Decodes the body once, on first need: a pass-through never does. */
class ResponsesRequest {
  private decoded: DecodedResponsesRequest | undefined;
  /** The pass-through body when the gateway's items were expanded into it (null: the caller's body). */
  private expanded: JsonObject | null | undefined;

  constructor(
    private readonly body: JsonObject,
    private readonly model: string,
    private readonly ctx: RequestContext,
    private readonly seal: ReasoningSeal,
    private readonly strictParams: boolean,
    readonly memory: ResponseMemory | undefined,
  ) {}

  get id(): string {
    return responseIdFor(this.ctx.id);
  }

  canonical(): ChatRequest {
    if (this.decoded === undefined) {
      const memory = this.memory;
      const body = memory === undefined || memory.idle ? this.body : memory.bridgedBody(this.id);
      const decoded = decodeResponsesRequest(body, { model: this.model, seal: this.seal });
      if (this.strictParams) refuseWarnings(decoded.warnings);
      this.ctx.addWarnings(decoded.warnings);
      memory?.adjustFacts(decoded.facts);
      this.decoded = decoded;
    }
    return this.decoded.request;
  }

  encodeContext(context: CodecContext): ResponsesEncodeContext {
    return { id: this.id, created: context.created, model: context.model, facts: this.decoded?.facts ?? NO_FACTS, seal: this.seal };
  }

  encodeJson(result: ChatCompletion, context: CodecContext): JsonObject {
    const response = encodeResponsesResponse(result, this.encodeContext(context));
    this.memory?.recordBridged(response);
    return response;
  }

  createStreamEncoder(context: CodecContext): StreamEncoder {
    const encoder = new ResponsesStreamEncoder(this.encodeContext(context));
    const memory = this.memory;
    return memory === undefined || !memory.storing ? encoder : new StoringStreamEncoder(encoder, memory);
  }

  /**
   * A pass-through body: the caller's, or with a response the gateway stored expanded into input items
   * (stored-responses.ts); the answer's id is recorded.
   */
  passthroughBody(original: (model: string) => string, model: string): string {
    const memory = this.memory;
    if (memory === undefined) return original(model);
    if (memory.storing) this.ctx.onUpstreamResponseId = (id) => memory.recordProvider(id);
    this.expanded ??= memory.passthroughBody() ?? null;
    return this.expanded === null ? original(model) : JSON.stringify({ ...this.expanded, model });
  }

  /** A pass-through JSON answer: its id is recorded before the caller gets it. */
  observeRaw(raw: Buffer): Buffer {
    const memory = this.memory;
    if (memory !== undefined && memory.storing) {
      const id = responseIdOfBody(raw);
      if (id !== undefined) memory.recordProvider(id);
    }
    return raw;
  }
}

/** Keeps the response when the stream's final event is written, so it is stored before the caller reads that event. */
class StoringStreamEncoder implements StreamEncoder {
  constructor(private readonly inner: ResponsesStreamEncoder, private readonly memory: ResponseMemory) {}

  onChunk(chunk: ChatCompletionChunk): string {
    return this.kept(this.inner.onChunk(chunk));
  }

  onEnd(): string {
    return this.kept(this.inner.onEnd());
  }

  onError(error: { status: number; message: string; type?: string }): string {
    return this.inner.onError(error);
  }

  private kept(text: string): string {
    if (this.inner.final !== undefined) this.memory.recordBridged(this.inner.final);
    return text;
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
  const responses = app.hasDecorator('store') ? app.store.responses : undefined;
  const serve = surfaceHandler(gateway, {
    surface: 'openai',
    errorFormat: 'openai',
    prepare(request, _gateway, ctx) {
      const { body, text } = readBody(request.body);
      const input = buildInput(gateway, 'responses', body, false, text);
      // A background response the gateway runs (background-responses.ts) is stored as one.
      const job = (request as unknown as { backgroundJob?: BackgroundMark }).backgroundJob;
      const memory = responses === undefined ? undefined : new ResponseMemory(responses, ctx, body, Date.now, job);
      const bridge = new ResponsesRequest(body, input.model, ctx, seal, gateway.state.routing.strictParams, memory);
      const original = input.passthroughBody;
      return {
        input: { ...input, canonical: () => bridge.canonical(), passthroughBody: (model) => bridge.passthroughBody(original, model) },
        encodeJson: (result, context) => bridge.encodeJson(result as ChatCompletion, context),
        createStreamEncoder: (context) => bridge.createStreamEncoder(context),
        encodeRaw: (raw) => bridge.observeRaw(raw),
      };
    },
  });
  const jobs = responses === undefined ? undefined : new BackgroundResponses(gateway, responses, serve, app.log as unknown as Logger);
  const local = jobs === undefined ? serve : withBackground(serve, jobs);
  // Cluster mode: a previous response stored through another instance is read from Postgres first.
  const create = responses !== undefined && app.store.shared !== undefined ? withSharedResponses(local, responses) : local;
  if (jobs !== undefined) {
    gateway.lifecycle.use(jobs.plugin);
    // Background responses have no connection to close: they may run for the shutdown's drain time, then
    // they are stopped and marked failed (before the upstream pools and the store close).
    app.addHook('preClose', (done) => {
      jobs.closeAfter(gateway.config.server.shutdownTimeoutMs);
      done();
    });
    app.addHook('onClose', (_instance, done) => {
      jobs.close();
      done();
    });
  }
  // A client surface of the runtime: mounted over HTTP (in the fast lane too), called in-process by the library.
  app.runtime.addSurface('/v1/responses', 'openai', create, { lane: true });
  registerInputTokensRoute(app, gateway, responses, seal);
  if (responses !== undefined) registerStoredResponseRoutes(app, gateway, responses, jobs);
  return serve;
}

const BACKGROUND_KEY = Buffer.from('"background"');

/** POST /v1/responses: a background request to a bridged model is run by the gateway; any other as usual. */
function withBackground(serve: LaneHandler, jobs: BackgroundResponses): LaneHandler {
  return async (request, reply) => {
    const raw = request.body;
    // Most requests never say "background": one byte search, nothing parsed twice.
    if (!Buffer.isBuffer(raw) || raw.indexOf(BACKGROUND_KEY) === -1) return serve(request, reply);
    let body: JsonObject;
    try {
      body = readBody(raw).body;
    } catch {
      return serve(request, reply); // answered there, in the usual way
    }
    if (!jobs.wants(body)) return serve(request, reply);
    try {
      await jobs.start(request, reply, body);
    } catch (error) {
      sendError(reply, undefined, error, 'openai');
    }
  };
}
