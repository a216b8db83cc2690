/**
 * The Amazon Bedrock runtime wire format of the mock upstream (register with
 * `registerBedrockRoutes(mock, options)`). Chat replies follow echo-plan.ts.
 *
 * Every route needs `Authorization`: `Bearer <key>` (a Bedrock API key; 'bad-key' -> 403), or a
 * SigV4 `AWS4-HMAC-SHA256 Credential=<id>/<date>/<region>/bedrock/aws4_request, SignedHeaders=..., Signature=...`
 * with `x-amz-date`. With `options.credentials` the signature is recomputed with the same key and
 * date (@smithy/signature-v4) and must match. Refusals: 403 `{message}` with `x-amzn-errortype`
 * (MissingAuthenticationTokenException, UnrecognizedClientException, InvalidSignatureException).
 * POST /model/{id}/converse
 *   - body: `messages` non-empty, starting with user, roles alternating; toolUse/toolResult blocks
 *     need `toolConfig`; unknown top-level keys -> 400 ValidationException.
 *   - reply `{output:{message:{role:'assistant', content}}, stopReason, usage:{inputTokens, outputTokens,
 *     totalTokens}, metrics:{latencyMs}}`; content `[{text}]` + 'end_turn' ('max_tokens' when cut at
 *     inferenceConfig.maxTokens words), or one
 *     `{toolUse:{toolUseId:'tooluse_mock_<i>', name, input:{text}}}` per call + 'tool_use'.
 * POST /model/{id}/converse-stream -> `application/vnd.amazon.eventstream` binary frames
 *   (encodeEventStreamMessage): messageStart; text: contentBlockDelta {text} per word, contentBlockStop;
 *   per call: contentBlockStart {toolUse:{toolUseId, name}}, contentBlockDelta {toolUse:{input}} x3
 *   (the JSON arguments in pieces), contentBlockStop; then messageStop {stopReason} and metadata
 *   {usage, metrics}. Every payload carries Bedrock's `p` padding field. Stream errors: an exception
 *   frame `modelStreamErrorException`.
 *   A conversation carrying the scripted-turn marker is answered by scripted-turn.ts (tool calls of the
 *   client's own tools, structured output from `outputConfig`), as on the other formats.
 * POST /model/{id}/invoke (embeddings): amazon.titan-embed-text-v2 `{inputText, dimensions?, normalize?}`
 *   (v1: `{inputText}` only) -> `{embedding, inputTextTokenCount}`; cohere.embed-* `{texts, input_type}`
 *   -> `{id, embeddings, texts, response_type:'embeddings_floats'}`. 8 dimensions by default.
 *   Rerank models: rerank.ts; image models (Titan Image Generator, Nova Canvas, Stability): bedrock-images.ts.
 *
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html
 */
import { bedrockImageInvoke } from './bedrock-images.js';
import { bedrockRerank } from './rerank.js';
import { createHash } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { encodeEventStreamMessage } from '../../../src/formats/bedrock/event-stream.js';
import type { MockContext } from './context.js';
import { argumentPieces, planEcho, textPieces, type EchoRequest, type EchoToolChoice } from './echo-plan.js';
import { bedrockScriptRequest } from './scripted-requests.js';
import { planScripted } from './scripted-turn.js';
import type { RouteHandler } from './index.js';
import { isRecord } from './openai-common.js';
import { countWords, mockEmbedding } from './text.js';

interface RouteTarget {
  route(method: string, path: RegExp, handler: RouteHandler): void;
}

export interface BedrockMockOptions {
  /** When set, SigV4 signatures are recomputed with this key and must match. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

type Json = Record<string, unknown>;

const CONVERSE_FIELDS = new Set([
  'messages', 'system', 'inferenceConfig', 'toolConfig', 'guardrailConfig', 'additionalModelRequestFields',
  'promptVariables', 'additionalModelResponseFieldPaths', 'requestMetadata', 'performanceConfig', 'serviceTier', 'outputConfig',
]);

/** Bedrock's padding field, sent with every stream event to hide payload sizes. */
const PADDING = 'abcdefghijklmnopqrstuvwxyzABCDEFGH';

/** A Bedrock error: `{message}` with the exception name in `x-amzn-errortype`. */
export function bedrockError(context: MockContext, status: number, type: string, message: string): Promise<void> {
  return context.json(status, { message }, { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` });
}

function blocksOf(message: Json): Json[] {
  return Array.isArray(message.content) ? message.content.filter(isRecord) : [];
}

function blockTexts(blocks: Json[]): string[] {
  const texts: string[] = [];
  for (const block of blocks) {
    if (typeof block.text === 'string') texts.push(block.text);
    else if (isRecord(block.toolResult)) {
      const content = Array.isArray(block.toolResult.content) ? block.toolResult.content.filter(isRecord) : [];
      for (const item of content) if (typeof item.text === 'string') texts.push(item.text);
    }
  }
  return texts;
}

/** A Converse body -> what the echo planner needs. */
export function bedrockEchoRequest(body: Json): EchoRequest {
  const messages = Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
  const promptTexts = blockTexts(Array.isArray(body.system) ? body.system.filter(isRecord) : []);
  let userText = '';
  const isUserTurn = (message: Json): boolean => message.role === 'user' && blocksOf(message).some((block) => block.toolResult === undefined);
  for (const message of messages) {
    promptTexts.push(...blockTexts(blocksOf(message)));
    if (isUserTurn(message)) userText = blocksOf(message).filter((block) => typeof block.text === 'string').map((block) => String(block.text)).join(' ');
  }
  const last = messages[messages.length - 1];
  const config = isRecord(body.toolConfig) ? body.toolConfig : {};
  const tools = Array.isArray(config.tools) ? config.tools.filter(isRecord) : [];
  const choice = isRecord(config.toolChoice) ? config.toolChoice : {};
  let toolChoice: EchoToolChoice | undefined;
  if (isRecord(choice.any)) toolChoice = 'required';
  else if (isRecord(choice.tool) && typeof choice.tool.name === 'string') toolChoice = { name: choice.tool.name };
  return {
    userText,
    endsWithUser: last !== undefined && isUserTurn(last),
    promptTexts,
    toolNames: tools.filter((tool) => isRecord(tool.toolSpec)).map((tool) => String((tool.toolSpec as Json).name)),
    toolChoice,
    maxTokens: isRecord(body.inferenceConfig) && typeof body.inferenceConfig.maxTokens === 'number' ? body.inferenceConfig.maxTokens : undefined,
  };
}

/** Bedrock's wording for a Converse body it refuses; undefined when fine. */
/**
 * The Anthropic betas Claude on Bedrock takes in `additionalModelRequestFields.anthropic_beta`; any
 * other name is refused, as Bedrock does.
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html
 */
const CLAUDE_BETAS: ReadonlySet<string> = new Set([
  'computer-use-2024-10-22', 'computer-use-2025-01-24', 'computer-use-2025-11-24', 'token-efficient-tools-2025-02-19',
  'interleaved-thinking-2025-05-14', 'output-128k-2025-02-19', 'dev-full-thinking-2025-05-14', 'context-1m-2025-08-07',
  'context-management-2025-06-27', 'effort-2025-11-24', 'tool-search-tool-2025-10-19', 'tool-examples-2025-10-29',
]);

function invalidBeta(body: Record<string, unknown>): string | undefined {
  const additional = body.additionalModelRequestFields as { anthropic_beta?: unknown } | undefined;
  const betas = additional?.anthropic_beta;
  if (betas === undefined) return undefined;
  if (!Array.isArray(betas) || betas.some((beta) => typeof beta !== 'string' || !CLAUDE_BETAS.has(beta))) return 'The model returned the following errors: invalid beta flag';
  return undefined;
}

export function invalidConverseBody(body: unknown): string | undefined {
  if (!isRecord(body)) return 'Malformed input request, please reformat your input and try again.';
  for (const key of Object.keys(body)) {
    if (!CONVERSE_FIELDS.has(key)) return `1 validation error detected: extraneous key [${key}] is not permitted`;
  }
  const messages = Array.isArray(body.messages) ? body.messages : [];
  if (messages.length === 0 || !isRecord(messages[0]) || messages[0].role !== 'user') {
    return 'A conversation must start with a user message. Try again with a conversation that starts with a user message.';
  }
  let usesTools = false;
  for (const [i, message] of messages.entries()) {
    if (!isRecord(message) || (i > 0 && isRecord(messages[i - 1]) && (messages[i - 1] as Json).role === message.role)) {
      return 'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.';
    }
    const blocks = blocksOf(message);
    if (blocks.length === 0) return `The content field in the Message object at messages.${i} is empty. Add a ContentBlock object to the content field and try again.`;
    if (blocks.some((block) => block.toolUse !== undefined || block.toolResult !== undefined)) usesTools = true;
  }
  if (usesTools && !isRecord(body.toolConfig)) {
    return 'The toolConfig field must be defined when using toolUse and toolResult content blocks.';
  }
  return undefined;
}

function frame(eventType: string, payload: Json): Uint8Array {
  return encodeEventStreamMessage(
    { ':event-type': eventType, ':content-type': 'application/json', ':message-type': 'event' },
    JSON.stringify({ ...payload, p: PADDING }),
  );
}

function converse(context: MockContext, body: Json, stream: boolean): Promise<void> {
  // A conversation carrying the scripted-turn marker is answered by scripted-turn.ts (the conformance suite).
  const plan = planScripted(bedrockScriptRequest(body)) ?? planEcho(bedrockEchoRequest(body));
  const stopReason = plan.calls.length > 0 ? 'tool_use' : plan.truncated ? 'max_tokens' : 'end_turn';
  const usage = { inputTokens: plan.promptTokens, outputTokens: plan.completionTokens, totalTokens: plan.promptTokens + plan.completionTokens };
  const requestId = context.nextId('bedrock-request-');
  if (!stream) {
    const content = plan.text !== undefined
      ? [{ text: plan.text }]
      : plan.calls.map((call, i) => ({ toolUse: { toolUseId: `tooluse_mock_${i}`, name: call.name, input: call.input } }));
    return context.json(200, { output: { message: { role: 'assistant', content } }, stopReason, usage, metrics: { latencyMs: 1 } }, { 'x-amzn-requestid': requestId });
  }
  const frames: Uint8Array[] = [frame('messageStart', { role: 'assistant' })];
  if (plan.text !== undefined) {
    for (const piece of textPieces(plan.text)) frames.push(frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: piece } }));
    frames.push(frame('contentBlockStop', { contentBlockIndex: 0 }));
  } else {
    plan.calls.forEach((call, index) => {
      frames.push(frame('contentBlockStart', { contentBlockIndex: index, start: { toolUse: { toolUseId: `tooluse_mock_${index}`, name: call.name } } }));
      for (const piece of argumentPieces(call)) frames.push(frame('contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: piece } } }));
      frames.push(frame('contentBlockStop', { contentBlockIndex: index }));
    });
  }
  frames.push(frame('messageStop', { stopReason }));
  frames.push(frame('metadata', { usage, metrics: { latencyMs: 1 } }));
  return context.stream(frames, {
    headers: { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': requestId },
    errorEvent: (error) => encodeEventStreamMessage(
      { ':exception-type': 'modelStreamErrorException', ':content-type': 'application/json', ':message-type': 'exception' },
      JSON.stringify({ message: String(error.message), originalStatusCode: 500 }),
    ),
  });
}

function invoke(context: MockContext, model: string, body: Json): Promise<void> {
  const reranked = bedrockRerank(context, model, body, (message) => bedrockError(context, 400, 'ValidationException', message));
  if (reranked !== undefined) return reranked;
  const image = bedrockImageInvoke(context, model, body, (message) => bedrockError(context, 400, 'ValidationException', message));
  if (image !== undefined) return image;
  if (model.startsWith('amazon.titan-embed-text')) {
    const allowed = model.includes('-v1') ? ['inputText'] : ['inputText', 'dimensions', 'normalize', 'embeddingTypes'];
    const extra = Object.keys(body).find((key) => !allowed.includes(key));
    if (extra !== undefined) return bedrockError(context, 400, 'ValidationException', `Malformed input request: extraneous key [${extra}] is not permitted, please reformat your input and try again.`);
    if (typeof body.inputText !== 'string') return bedrockError(context, 400, 'ValidationException', 'Malformed input request: #: required key [inputText] not found, please reformat your input and try again.');
    const embedding = mockEmbedding(body.inputText, typeof body.dimensions === 'number' ? body.dimensions : 8);
    return context.json(200, { embedding, embeddingsByType: { float: embedding }, inputTextTokenCount: countWords(body.inputText) });
  }
  if (model.startsWith('cohere.embed')) {
    if (!Array.isArray(body.texts) || !body.texts.every((text) => typeof text === 'string')) {
      return bedrockError(context, 400, 'ValidationException', 'Malformed input request: #: required key [texts] not found, please reformat your input and try again.');
    }
    if (typeof body.input_type !== 'string') {
      return bedrockError(context, 400, 'ValidationException', 'Malformed input request: #: required key [input_type] not found, please reformat your input and try again.');
    }
    const texts = body.texts as string[];
    return context.json(200, { id: context.nextId('embed-mock-'), embeddings: texts.map((text) => mockEmbedding(text, 8)), texts, response_type: 'embeddings_floats' });
  }
  return bedrockError(context, 400, 'ValidationException', `The mock upstream has no InvokeModel body for ${model}.`);
}

const SIGV4 = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/bedrock\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

function header(context: MockContext, name: string): string | undefined {
  const value = context.request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** Checks the caller's authorization; returns a refusal, or undefined when it is accepted. */
async function refuseAuth(context: MockContext, options: BedrockMockOptions): Promise<string | undefined> {
  const authorization = header(context, 'authorization');
  if (authorization === undefined) return 'MissingAuthenticationTokenException:Missing Authentication Token';
  if (authorization.startsWith('Bearer ')) {
    return authorization === 'Bearer bad-key' ? 'UnrecognizedClientException:The security token included in the request is invalid.' : undefined;
  }
  const match = SIGV4.exec(authorization);
  const amzDate = header(context, 'x-amz-date');
  if (match === null || amzDate === undefined) return 'IncompleteSignatureException:Authorization header requires Credential, SignedHeaders and Signature, and x-amz-date.';
  const credentials = options.credentials;
  if (credentials === undefined) return undefined;
  const [, accessKeyId, , region, signedHeaders, signature] = match;
  if (accessKeyId !== credentials.accessKeyId) return 'UnrecognizedClientException:The security token included in the request is invalid.';
  const bodyHash = createHash('sha256').update(context.request.rawBody).digest('hex');
  const declaredHash = header(context, 'x-amz-content-sha256');
  if (declaredHash !== undefined && declaredHash !== bodyHash) return 'InvalidSignatureException:The provided x-amz-content-sha256 header does not match what was computed.';
  const headers: Record<string, string> = {};
  for (const name of signedHeaders.split(';')) headers[name] = header(context, name) ?? '';
  const host = header(context, 'host') ?? '';
  const [hostname, port] = host.split(':');
  const signer = new SignatureV4({ service: 'bedrock', region, credentials, sha256: Hash.bind(null, 'sha256') });
  const signingDate = new Date(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  const query: Record<string, string> = {};
  context.request.query.forEach((value, name) => { query[name] = value; });
  const signed = await signer.sign(
    { method: context.request.method, protocol: 'http:', hostname, port: port === undefined ? undefined : Number(port), path: context.request.path, query, headers, body: context.request.rawBody.toString('utf8') },
    { signingDate },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1];
  if (expected !== signature) {
    return 'InvalidSignatureException:The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.';
  }
  return undefined;
}

export function registerBedrockRoutes(target: RouteTarget, options: BedrockMockOptions = {}): void {
  target.route('POST', /^\/model\/([^/]+)\/(converse|converse-stream|invoke)$/, async (context) => {
    const refusal = await refuseAuth(context, options);
    if (refusal !== undefined) {
      const colon = refusal.indexOf(':');
      return bedrockError(context, 403, refusal.slice(0, colon), refusal.slice(colon + 1));
    }
    const model = decodeURIComponent(context.match[1]);
    const body = context.request.body;
    if (!isRecord(body)) return bedrockError(context, 400, 'ValidationException', 'Malformed input request, please reformat your input and try again.');
    if (context.match[2] === 'invoke') return invoke(context, model, body);
    const invalid = invalidConverseBody(body) ?? invalidBeta(body);
    if (invalid !== undefined) return bedrockError(context, 400, 'ValidationException', invalid);
    return converse(context, body, context.match[2] === 'converse-stream');
  });
}
