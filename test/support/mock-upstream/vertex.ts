/**
 * The Google Vertex AI wire format of the mock upstream (register with
 * `registerVertexRoutes(mock, options)`), with the Google OAuth token endpoint
 * that Vertex callers get their access tokens from. Replies follow echo-plan.ts
 * (through the Gemini and Anthropic modules).
 *
 * POST /token (application/x-www-form-urlencoded), the token_uri of a service-account file:
 *   - grant_type `urn:ietf:params:oauth:grant-type:jwt-bearer` with an RS256 `assertion` whose claims
 *     carry iss, scope, aud, iat and exp (exp - iat <= 3600); with `options.serviceAccounts` the
 *     issuer must be listed and the signature must verify with its public key;
 *   - grant_type `refresh_token` (authorized_user files) with client_id, client_secret, refresh_token;
 *   - reply `{access_token:'ya29.mock-<k>', expires_in:3599, token_type:'Bearer'}`; refusals
 *     400/401 `{error, error_description}` as Google sends them (invalid_grant, invalid_client...).
 * Every Vertex route needs `Authorization: Bearer <a token this mock issued>` (401 UNAUTHENTICATED).
 * POST /v1/projects/{project}/locations/{location}/publishers/google/models/{model}:{generateContent |
 *   streamGenerateContent | countTokens}: as gemini.ts (responseId `vertex-resp-<k>`).
 * POST .../publishers/google/models/{model}:predict (text embeddings): `{instances: [{content, task_type?, title?}],
 *   parameters?: {outputDimensionality?, autoTruncate?}}` -> `{predictions: [{embeddings: {values, statistics:
 *   {token_count, truncated}}}], metadata: {billableCharacterCount}}` (mockEmbedding, 8 dimensions by default);
 *   gemini-embedding-001 takes one instance per request, the others up to 250 (400 otherwise, as Vertex does).
 * POST /v1/projects/{p}/locations/{l}/publishers/anthropic/models/{model}:{rawPredict | streamRawPredict}:
 *   the Anthropic Messages body with `anthropic_version: 'vertex-2023-10-16'` and no `model` (the model is
 *   in the URL; 400 otherwise), answered as anthropic.ts with that model; streamRawPredict streams when
 *   the body says `stream: true`.
 * POST .../publishers/anthropic/models/count-tokens:rawPredict: `{model, messages, ...}` -> `{input_tokens}`.
 *
 * @see https://developers.google.com/identity/protocols/oauth2/service-account#httprest
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude/use-claude
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude/count-tokens
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api
 */
import { googleAudioAction } from './google-audio.js';
import { googleImageAction } from './google-images.js';
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { anthropicEchoRequest, anthropicErrorBody, anthropicReply, invalidMessagesField } from './anthropic.js';
import { geminiModelRuleError, refuseByModelRules } from './model-rules.js';
import type { MockContext } from './context.js';
import { planEcho } from './echo-plan.js';
import { anthropicConversationError, anthropicOutputFormatError, geminiConversationError } from './conversation-rules.js';
import { geminiEchoRequest, geminiReply, googleErrorBody, invalidGenerateBody } from './gemini.js';
import type { RouteHandler } from './index.js';
import { isRecord } from './openai-common.js';
import { countWords, mockEmbedding } from './text.js';

interface RouteTarget {
  route(method: string, path: RegExp, handler: RouteHandler): void;
}

export interface VertexMockOptions {
  /**
   * Service accounts the token endpoint knows: client_email -> public key (PEM or KeyObject).
   * When set, assertions from other issuers or with a bad signature are refused.
   */
  serviceAccounts?: Readonly<Record<string, KeyObject | string>>;
}

export const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

type Json = Record<string, unknown>;

function decodeJwtPart(part: string | undefined): Json | undefined {
  if (part === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function oauthError(context: MockContext, status: number, error: string, description: string): Promise<void> {
  return context.json(status, { error, error_description: description });
}

/** Why an assertion is refused, or undefined when it is good. */
function refuseAssertion(assertion: string, tokenUrl: string, options: VertexMockOptions): string | undefined {
  const [headerPart, claimsPart, signature] = assertion.split('.');
  const header = decodeJwtPart(headerPart);
  const claims = decodeJwtPart(claimsPart);
  if (header === undefined || claims === undefined || signature === undefined) return 'Invalid JWT: malformed assertion.';
  if (header.alg !== 'RS256') return 'Invalid JWT: the algorithm must be RS256.';
  if (typeof claims.iss !== 'string' || claims.iss === '') return 'Invalid JWT: no issuer.';
  if (claims.aud !== tokenUrl) return `Invalid JWT audience: expected ${tokenUrl}.`;
  if (typeof claims.scope !== 'string' || !claims.scope.split(' ').includes(CLOUD_PLATFORM_SCOPE)) return 'Invalid JWT: the scope must include cloud-platform.';
  if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number' || claims.exp <= claims.iat || claims.exp - claims.iat > 3600) {
    return 'Invalid JWT: iat and exp must be numbers at most one hour apart.';
  }
  const known = options.serviceAccounts;
  if (known === undefined) return undefined;
  const key = known[claims.iss];
  if (key === undefined) return 'Invalid JWT Signature.';
  const publicKey = typeof key === 'string' ? createPublicKey(key) : key;
  const valid = verify('sha256', Buffer.from(`${headerPart}.${claimsPart}`), publicKey, Buffer.from(signature, 'base64url'));
  return valid ? undefined : 'Invalid JWT Signature.';
}

export function registerVertexRoutes(target: RouteTarget, options: VertexMockOptions = {}): void {
  const issued = new Set<string>();
  let counter = 0;

  target.route('POST', /^\/token$/, (context) => {
    const form = new URLSearchParams(context.request.rawBody.toString('utf8'));
    const grant = form.get('grant_type');
    if (grant === JWT_BEARER) {
      const host = context.request.headers.host ?? '';
      const refusal = refuseAssertion(form.get('assertion') ?? '', `http://${host}/token`, options);
      if (refusal !== undefined) return oauthError(context, 400, 'invalid_grant', refusal);
    } else if (grant === 'refresh_token') {
      if (!form.get('client_id') || !form.get('client_secret')) return oauthError(context, 401, 'invalid_client', 'The OAuth client was not found.');
      if (!form.get('refresh_token') || form.get('refresh_token') === 'bad-token') return oauthError(context, 400, 'invalid_grant', 'Bad Request');
    } else {
      return oauthError(context, 400, 'unsupported_grant_type', `Invalid grant_type: ${grant ?? ''}`);
    }
    const token = `ya29.mock-${++counter}`;
    issued.add(token);
    return context.json(200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
  });

  /** 401 as Vertex sends it, unless the call carries a token this mock issued. */
  const refuseToken = (context: MockContext): Promise<void> | undefined => {
    const authorization = context.request.headers.authorization ?? '';
    if (authorization.startsWith('Bearer ') && issued.has(authorization.slice(7))) return undefined;
    const message = 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.';
    return context.json(401, googleErrorBody(401, message));
  };

  const models = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/(google|anthropic)\/models\/([^/:]+):([A-Za-z]+)$/;
  target.route('POST', models, (context) => {
    const refused = refuseToken(context);
    if (refused) return refused;
    const [, , , publisher, rawModel, method] = context.match;
    const model = decodeURIComponent(rawModel);
    const body = context.request.body;
    if (publisher === 'google') return google(context, body, model, method);
    return anthropic(context, body, model, method);
  });
}

function google(context: MockContext, body: unknown, model: string, method: string): Promise<void> {
  if (!isRecord(body)) return context.json(400, googleErrorBody(400, 'Invalid JSON payload received.'));
  const image = googleImageAction(context, body, model, method);
  if (image !== undefined) return image;
  switch (method) {
    case 'generateContent':
    case 'streamGenerateContent': {
      const invalid = invalidGenerateBody(body) ?? geminiConversationError(body, model) ?? geminiModelRuleError(body, model, 'vertex');
      if (invalid !== undefined) return context.json(400, googleErrorBody(400, invalid));
      const audio = googleAudioAction(context, body, model, method);
      if (audio !== undefined) return audio;
      const stream = method === 'streamGenerateContent';
      return geminiReply(context, body, { model, stream, sse: context.request.query.get('alt') === 'sse', idPrefix: 'vertex-resp-' });
    }
    case 'countTokens':
      return context.json(200, { totalTokens: planEcho(geminiEchoRequest(body)).promptTokens });
    case 'predict':
      return predictEmbeddings(context, body, model);
    default:
      return context.json(404, googleErrorBody(404, `Method ${method} not found.`));
  }
}

/** Text embeddings as Vertex answers them, with its per-model instance limits. */
function predictEmbeddings(context: MockContext, body: Record<string, unknown>, model: string): Promise<void> {
  const instances = body.instances;
  if (!Array.isArray(instances) || instances.length === 0) return context.json(400, googleErrorBody(400, 'instances: at least one instance is required.'));
  const limit = model.startsWith('gemini-embedding') ? 1 : 250;
  if (instances.length > limit) {
    return context.json(400, googleErrorBody(400, `Unable to submit request because ${model} supports at most ${limit} instance(s) per request, got ${instances.length}.`));
  }
  const texts: string[] = [];
  for (const instance of instances as unknown[]) {
    if (!isRecord(instance) || typeof instance.content !== 'string') return context.json(400, googleErrorBody(400, 'instances[].content: a string is required.'));
    const extra = Object.keys(instance).find((key) => !['content', 'task_type', 'title'].includes(key));
    if (extra !== undefined) return context.json(400, googleErrorBody(400, `Invalid JSON payload received. Unknown name "${extra}".`));
    texts.push(instance.content);
  }
  const parameters = isRecord(body.parameters) ? body.parameters : {};
  const dimensions = typeof parameters.outputDimensionality === 'number' ? parameters.outputDimensionality : 8;
  return context.json(200, {
    predictions: texts.map((text) => ({ embeddings: { values: mockEmbedding(text, dimensions), statistics: { token_count: countWords(text), truncated: false } } })),
    metadata: { billableCharacterCount: texts.reduce((sum, text) => sum + text.length, 0) },
  });
}

function anthropic(context: MockContext, body: unknown, model: string, method: string): Promise<void> {
  if (method !== 'rawPredict' && method !== 'streamRawPredict') {
    return context.json(404, googleErrorBody(404, `Method ${method} not found.`));
  }
  if (!isRecord(body)) return context.json(400, anthropicErrorBody(400, 'The request body is not valid JSON.'));
  if (model === 'count-tokens') {
    const invalid = invalidMessagesField(body, { requireModel: true, requireMaxTokens: false });
    if (invalid !== undefined) return context.json(400, anthropicErrorBody(400, invalid));
    return context.json(200, { input_tokens: planEcho(anthropicEchoRequest(body as Json)).promptTokens });
  }
  if (body.anthropic_version !== VERTEX_ANTHROPIC_VERSION) {
    return context.json(400, anthropicErrorBody(400, `anthropic_version: Input should be '${VERTEX_ANTHROPIC_VERSION}'`));
  }
  if (body.model !== undefined) return context.json(400, anthropicErrorBody(400, 'model: Extra inputs are not permitted'));
  const invalid = invalidMessagesField(body, { requireModel: false, requireMaxTokens: true }) ?? anthropicConversationError(body) ?? anthropicOutputFormatError(body);
  if (invalid !== undefined) return context.json(400, anthropicErrorBody(400, invalid));
  const ruled = refuseByModelRules(context, 'anthropic', body, model); if (ruled) return ruled;
  return anthropicReply(context, body, { model, stream: method === 'streamRawPredict' && body.stream === true });
}
