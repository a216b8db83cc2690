/**
 * The Gemini surface for the Google Gen AI SDK with its base URL set to
 * `<gateway>/genai` (the AI SDK's Google provider: `<gateway>/genai/v1beta`):
 * POST /genai/{v1beta|v1|v1alpha}/[models/]{model}:generateContent,
 * :streamGenerateContent (?alt=sse) and :countTokens. Any provider can answer;
 * `gemini/...` models get the caller's body as it is.
 * @see https://ai.google.dev/api/generate-content
 */
import { takeCacheControl } from '../cache/controls.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, invalidField } from '../errors/gateway-error.js';
import { geminiSurfaceCodec } from '../formats/gemini/index.js';
import type { ChatRequest } from '../formats/openai/types.js';
import type { Gateway } from '../gateway/gateway.js';
import type { RequestContext } from '../gateway/request-context.js';
import { translating } from '../formats/malformed.js';
import { refuseWarnings } from '../formats/warnings.js';
import { countTokensHandler } from './count-tokens.js';
import { genaiPassthrough, registerNativePassthrough } from './native-passthrough.js';
import { surfaceHandler, type PreparedRequest } from './surface-handler.js';
import { decodePathPart, parseJsonBody, readFallbacks } from './validate.js';

const config = { surface: 'gemini' as const };

/** The methods the Gemini surface serves itself, from any provider (after the path's last `:`, `%3A` too). */
const SURFACE_METHOD = /(?::|%3A)(?:generateContent|streamGenerateContent)$/i;

/**
 * The API versions the Gemini SDKs call: `v1beta` by default, `v1` and `v1alpha` by option;
 * `v1beta1` is the Gen AI SDK's Vertex AI mode (`vertexai: true` with an API key).
 */
export const GENAI_VERSIONS: readonly string[] = ['v1beta', 'v1', 'v1alpha', 'v1beta1'];

/** Vertex AI's model path: `[projects/{p}/locations/{l}/]publishers/{publisher}/models/{model}`. */
const VERTEX_MODEL_PATH = /^(?:projects\/[^/]+\/locations\/[^/]+\/)?publishers\/([^/]+)\/models\/(.+)$/;

/**
 * The model a path names. Vertex mode's publisher is the provider (the SDK turns a
 * `provider/model` id into `publishers/{provider}/models/{model}`); `google` names no provider.
 */
function modelOfPath(path: string): string {
  if (path.startsWith('models/')) return path.slice(7);
  const vertex = VERTEX_MODEL_PATH.exec(path);
  if (vertex === null) return path;
  return vertex[1] === 'google' ? vertex[2] : `${vertex[1]}/${vertex[2]}`;
}

/** Decodes `%2F` and its kin once; malformed percent-encoding is the caller's 400 (decodePathPart). */
function decodePath(path: string): string {
  return path.includes('%') ? decodePathPart(path) : path;
}

/**
 * The path after `/genai/{version}/` -> model and method. Every form the SDKs produce:
 * `models/{model}:{method}` (Gen AI SDKs), `{provider}/{model}:{method}` (the AI SDK's Google
 * provider with a model id holding `/`), `publishers/{provider}/models/{model}:{method}` (the Gen
 * AI SDK's Vertex mode), the model's `/` raw or as `%2F`. The method is after the
 * last `:` (a model id may hold `:` itself, Bedrock's `...-v1:0`).
 */
export function parseModelAction(path: string): { model: string; method: string } {
  const decoded = decodePath(path);
  const colon = decoded.lastIndexOf(':');
  const model = colon <= 0 ? '' : modelOfPath(decoded.slice(0, colon));
  if (model === '') {
    throw new GatewayError('HD_ERR_ROUTE_NOT_FOUND', `No route for "${path}": expected models/{model}:generateContent, :streamGenerateContent or :countTokens.`);
  }
  return { model, method: decoded.slice(colon + 1) };
}

/**
 * What the gateway needs from every generateContent body, pass-through included: `contents` an
 * array of objects, and `generationConfig.maxOutputTokens` (budget reservation) a positive integer
 * when sent. Returns that output cap.
 */
function checkGeminiEnvelope(body: Record<string, unknown>): number | undefined {
  const contents = body.contents;
  if (!Array.isArray(contents)) throw invalidField('contents', 'contents must be an array of Content objects.');
  contents.forEach((item: unknown, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw invalidField(`contents[${i}]`, `contents[${i}] must be an object.`);
  });
  const config = body.generationConfig;
  if (config === undefined || config === null) return undefined;
  if (typeof config !== 'object' || Array.isArray(config)) throw invalidField('generationConfig', 'generationConfig must be an object.');
  const cap = (config as Record<string, unknown>).maxOutputTokens;
  if (cap === undefined || cap === null) return undefined;
  if (typeof cap !== 'number' || !Number.isInteger(cap) || cap < 1) {
    throw invalidField('generationConfig.maxOutputTokens', 'generationConfig.maxOutputTokens must be a positive integer.');
  }
  return cap;
}

function prepare(request: FastifyRequest, ctx: RequestContext, strictParams: boolean): PreparedRequest {
  const { model, method } = parseModelAction((request.params as { '*': string })['*']);
  if (method !== 'generateContent' && method !== 'streamGenerateContent') {
    throw new GatewayError('HD_ERR_ROUTE_NOT_FOUND', `The method "${method}" is not supported; use generateContent, streamGenerateContent or countTokens.`);
  }
  const body = parseJsonBody(request.body);
  const fallbacks = readFallbacks(body);
  if (body.fallbacks !== undefined) delete body.fallbacks;
  const cacheControl = takeCacheControl(body);
  // Only what routing and budgets need: a pass-through forwards parts, roles and fields Heimdall
  // does not know; a translation checks what it reads when it decodes (naming the field).
  const maxOutputTokens = checkGeminiEnvelope(body);
  let canonical: ChatRequest | undefined;
  return {
    input: {
      operation: 'chat',
      model,
      fallbacks,
      stream: method === 'streamGenerateContent',
      nativeFormat: 'gemini',
      maxOutputTokens,
      cacheControl,
      passthroughBody: () => JSON.stringify(body),
      canonical(): ChatRequest {
        if (canonical === undefined) {
          const decoded = translating('a Gemini generateContent request', () => geminiSurfaceCodec.decodeRequest(body, { model }));
          if (strictParams) refuseWarnings(decoded.warnings);
          ctx.addWarnings(decoded.warnings);
          canonical = decoded.request;
        }
        return canonical;
      },
    },
    encodeJson: (result, context) => geminiSurfaceCodec.encodeResponse(result as never, context),
    createStreamEncoder: (context) => geminiSurfaceCodec.createStreamEncoder(context),
  };
}

export function registerGenAIRoutes(app: FastifyInstance, gateway: Gateway): void {
  const handler = surfaceHandler(gateway, {
    surface: 'gemini',
    errorFormat: 'gemini',
    prepare: (request, gw, ctx) => prepare(request, ctx, gw.state.routing.strictParams),
  });
  // countTokens goes to providers that count in Gemini's format (Gemini, Gemini on Vertex).
  const count = countTokensHandler(gateway, {
    surface: 'gemini',
    operation: 'countTokens',
    read(request) {
      const { model } = parseModelAction((request.params as { '*': string })['*']);
      const body = parseJsonBody(request.body);
      const inner = body.generateContentRequest as Record<string, unknown> | undefined;
      return {
        model,
        body: (target) => JSON.stringify(typeof inner?.model === 'string' ? { ...body, generateContentRequest: { ...inner, model: `models/${target}` } } : body),
      };
    },
  });
  // Any other method (embedContent, predict, files, cachedContents...) goes to Gemini as it is (native-passthrough.ts).
  const native = genaiPassthrough(gateway);
  const route = (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const path = (request.params as { '*': string })['*'];
    if (path.endsWith(':countTokens')) return count(request, reply);
    return SURFACE_METHOD.test(path) ? handler(request, reply) : native(request, reply);
  };
  // `models/{model}:...` and the bare `{provider}/{model}:...` form alike (parseModelAction).
  for (const version of GENAI_VERSIONS) app.post(`/genai/${version}/*`, { config }, route);
  registerNativePassthrough(app, gateway, native);
}
