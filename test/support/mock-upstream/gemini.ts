/**
 * The Gemini API (AI Studio) wire format of the mock upstream (register with
 * `registerGeminiRoutes(mock)`). Replies follow echo-plan.ts.
 *
 * Every route: an API key in `x-goog-api-key` or `?key=` (403 PERMISSION_DENIED without one;
 * 'bad-key' -> 400 INVALID_ARGUMENT with ErrorInfo reason API_KEY_INVALID).
 * POST /{v1beta|v1}/models/{model}:generateContent
 *   - body: `contents` non-empty array of {role 'user'|'model', parts non-empty}; unknown top-level
 *     or generationConfig fields -> 400 'Invalid JSON payload received. Unknown name ...' (as Google does).
 *   - reply `{candidates:[{content:{role:'model', parts}, finishReason:'STOP', index:0}], usageMetadata,
 *     (text cut at generationConfig.maxOutputTokens words: finishReason 'MAX_TOKENS')
 *     modelVersion:<model>, responseId:'resp-mock-<k>'}`; parts `[{text:'echo: ...'}]` or one
 *     `{functionCall:{name, args:{text}}}` per call (no ids: the Gemini API gives none).
 *     usageMetadata `{promptTokenCount, candidatesTokenCount, totalTokenCount, promptTokensDetails}`.
 *     Counted texts: systemInstruction and every non-thought text part.
 *     gemini-3* models put a thoughtSignature on the first functionCall part.
 *   - contents are checked as Google checks them (function call and response counts; gemini-3*: the
 *     current turn's function calls carry the thought signatures they were given, unchanged):
 *     400 INVALID_ARGUMENT (conversation-rules.ts).
 *   - contents carrying the scripted-turn marker are answered by scripted-turn.ts instead of the echo rules.
 * POST ...:streamGenerateContent?alt=sse -> `data: <GenerateContentResponse>\r\n\r\n` per word (the
 *   last word's event carries finishReason STOP); function calls all in one event with the finish.
 *   Every event has usageMetadata (candidatesTokenCount so far). Without alt=sse: a streamed JSON array.
 *   Stream errors: `data: {"error":{code,message,status}}`.
 * POST ...:embedContent `{content}` -> `{embedding:{values}}`; ...:batchEmbedContents
 *   `{requests:[{model:'models/<model>', content, outputDimensionality?}]}` -> `{embeddings:[{values}]}`
 *   (mockEmbedding, 8 dimensions by default; a request naming another model -> 400).
 *   - speech (TTS models) and audio parts (transcription): google-audio.ts; image models: google-images.ts.
 * POST ...:countTokens -> `{totalTokens}`.
 * GET /v1beta/models -> `{models:[{name:'models/<id>', displayName, supportedGenerationMethods}]}` (GEMINI_MOCK_MODELS).
 * Errors: google.rpc.Status `{error:{code, message, status, details?}}` (googleErrorBody).
 *
 * @see https://ai.google.dev/api/generate-content
 * @see https://ai.google.dev/api/embeddings
 * @see https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
 */
import { googleAudioAction } from './google-audio.js';
import { googleImageAction } from './google-images.js';
import type { MockContext } from './context.js';
import { planEcho, textPieces, type EchoPlan, type EchoRequest, type EchoToolChoice } from './echo-plan.js';
import type { RouteHandler } from './index.js';
import { geminiConversationError, geminiValidatesSignatures, thoughtSignature } from './conversation-rules.js';
import { geminiModelRuleError } from './model-rules.js';
import { isRecord } from './openai-common.js';
import { geminiScriptRequest } from './scripted-requests.js';
import { planScripted } from './scripted-turn.js';
import { countWords, mockEmbedding } from './text.js';

interface RouteTarget {
  route(method: string, path: RegExp, handler: RouteHandler): void;
}

const STATUS_NAMES: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** A google.rpc.Status error body, with an ErrorInfo detail when `reason` is given. */
export function googleErrorBody(status: number, message?: string, reason?: string): Record<string, unknown> {
  const error: Record<string, unknown> = {
    code: status,
    message: message ?? `Mock upstream error (HTTP ${status})`,
    status: STATUS_NAMES[status] ?? (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION'),
  };
  if (reason !== undefined) {
    error.details = [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason, domain: 'googleapis.com' }];
  }
  return { error };
}

const BODY_FIELDS = new Set([
  'model', 'contents', 'systemInstruction', 'tools', 'toolConfig', 'safetySettings', 'generationConfig', 'cachedContent', 'labels',
]);

const GENERATION_CONFIG_FIELDS = new Set([
  'stopSequences', 'responseMimeType', 'responseSchema', 'responseJsonSchema', 'responseModalities', 'candidateCount',
  'maxOutputTokens', 'temperature', 'topP', 'topK', 'seed', 'presencePenalty', 'frequencyPenalty', 'responseLogprobs',
  'logprobs', 'enableEnhancedCivicAnswers', 'speechConfig', 'thinkingConfig', 'imageConfig', 'mediaResolution',
]);

type Json = Record<string, unknown>;

function partsOf(content: unknown): Json[] {
  return isRecord(content) && Array.isArray(content.parts) ? content.parts.filter(isRecord) : [];
}

function texts(parts: Json[]): string[] {
  return parts.filter((part) => typeof part.text === 'string' && part.thought !== true).map((part) => String(part.text));
}

/** A generateContent body -> what the echo planner needs. */
export function geminiEchoRequest(body: Json): EchoRequest {
  const contents = Array.isArray(body.contents) ? body.contents.filter(isRecord) : [];
  const promptTexts = typeof body.systemInstruction === 'string' ? [body.systemInstruction] : texts(partsOf(body.systemInstruction));
  let userText = '';
  for (const content of contents) {
    const parts = partsOf(content);
    promptTexts.push(...texts(parts));
    if (content.role !== 'model' && parts.some((part) => part.functionResponse === undefined)) userText = texts(parts).join(' ');
  }
  const last = contents[contents.length - 1];
  const endsWithUser = last !== undefined && last.role !== 'model' && partsOf(last).some((part) => part.functionResponse === undefined);
  const toolNames: string[] = [];
  for (const tool of Array.isArray(body.tools) ? body.tools.filter(isRecord) : []) {
    for (const declaration of Array.isArray(tool.functionDeclarations) ? tool.functionDeclarations.filter(isRecord) : []) {
      toolNames.push(String(declaration.name));
    }
  }
  const config = isRecord(body.toolConfig) && isRecord(body.toolConfig.functionCallingConfig) ? body.toolConfig.functionCallingConfig : undefined;
  let toolChoice: EchoToolChoice | undefined;
  const allowed = Array.isArray(config?.allowedFunctionNames) ? config.allowedFunctionNames : [];
  if (config?.mode === 'NONE') toolChoice = 'none';
  else if (config?.mode === 'ANY') toolChoice = allowed.length === 1 ? { name: String(allowed[0]) } : 'required';
  const generation = isRecord(body.generationConfig) ? body.generationConfig : {};
  const maxTokens = typeof generation.maxOutputTokens === 'number' ? generation.maxOutputTokens : undefined;
  return { userText, endsWithUser, promptTexts, toolNames, toolChoice, maxTokens };
}

/** Google's wording for a body it cannot read; undefined when the body is fine. */
export function invalidGenerateBody(body: unknown): string | undefined {
  if (!isRecord(body)) return 'Invalid JSON payload received.';
  for (const key of Object.keys(body)) {
    if (!BODY_FIELDS.has(key)) return `Invalid JSON payload received. Unknown name "${key}": Cannot find field.`;
  }
  if (isRecord(body.generationConfig)) {
    for (const key of Object.keys(body.generationConfig)) {
      if (!GENERATION_CONFIG_FIELDS.has(key)) return `Invalid JSON payload received. Unknown name "${key}" at 'generation_config': Cannot find field.`;
    }
  }
  if (!Array.isArray(body.contents) || body.contents.length === 0) return '* GenerateContentRequest.contents: contents is not specified';
  for (const [i, content] of body.contents.entries()) {
    if (!isRecord(content)) return `* GenerateContentRequest.contents[${i}]: must be an object`;
    if (content.role !== undefined && content.role !== 'user' && content.role !== 'model') return 'Please use a valid role: user, model.';
    if (!Array.isArray(content.parts) || content.parts.length === 0) return `* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.`;
  }
  return undefined;
}

function usageMetadata(plan: EchoPlan, candidates: number): Json {
  return {
    promptTokenCount: plan.promptTokens,
    candidatesTokenCount: candidates,
    totalTokenCount: plan.promptTokens + candidates,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: plan.promptTokens }],
  };
}

/** Function call parts; Gemini 3 signs the first call of a step (its thoughtSignature). */
function callParts(plan: EchoPlan, model: string): Json[] {
  return plan.calls.map((call, i) => {
    const part: Json = { functionCall: { name: call.name, args: call.input } };
    if (i === 0 && geminiValidatesSignatures(model)) part.thoughtSignature = thoughtSignature(call.name, call.input);
    return part;
  });
}

export interface GenerateOptions {
  model: string;
  stream: boolean;
  /** `alt=sse` framing (else a streamed JSON array). */
  sse: boolean;
  /** Prefix of response ids. */
  idPrefix?: string;
}

/** Replies to a validated generateContent body. */
export function geminiReply(context: MockContext, body: Json, options: GenerateOptions): Promise<void> {
  const plan = planScripted(geminiScriptRequest(body)) ?? planEcho(geminiEchoRequest(body));
  const responseId = context.nextId(options.idPrefix ?? 'resp-mock-');
  const envelope = (parts: Json[], finish: boolean, candidatesSoFar: number): Json => {
    const candidate: Json = { content: { role: 'model', parts }, index: 0 };
    if (finish) candidate.finishReason = plan.truncated ? 'MAX_TOKENS' : 'STOP';
    return { candidates: [candidate], usageMetadata: usageMetadata(plan, candidatesSoFar), modelVersion: options.model, responseId };
  };
  if (!options.stream) {
    const parts = plan.text !== undefined ? [{ text: plan.text }] : callParts(plan, options.model);
    return context.json(200, envelope(parts, true, plan.completionTokens));
  }
  const responses: Json[] = [];
  if (plan.text !== undefined) {
    const pieces = textPieces(plan.text);
    let sent = '';
    pieces.forEach((piece, i) => {
      sent += piece;
      const last = i === pieces.length - 1;
      responses.push(envelope([{ text: piece }], last, countWords(sent)));
    });
  } else {
    responses.push(envelope(callParts(plan, options.model), true, plan.completionTokens));
  }
  if (options.sse) {
    return context.stream(responses.map((response) => `data: ${JSON.stringify(response)}\r\n\r\n`), {
      errorEvent: (error) => `data: ${JSON.stringify(googleErrorBody(500, String(error.message)))}\r\n\r\n`,
    });
  }
  const pieces = responses.map((response, i) => `${i === 0 ? '[' : ',\r\n'}${JSON.stringify(response)}`);
  pieces.push(']');
  return context.stream(pieces, {
    headers: { 'content-type': 'application/json; charset=UTF-8' },
    errorEvent: (error) => `,\r\n${JSON.stringify(googleErrorBody(500, String(error.message)))}]`,
  });
}

/** Checks the API key the way the Gemini API does; undefined when it is accepted. */
function refuseKey(context: MockContext): Promise<void> | undefined {
  const header = context.request.headers['x-goog-api-key'];
  const key = (typeof header === 'string' ? header : undefined) ?? context.request.query.get('key') ?? undefined;
  if (key === undefined || key === '') {
    const message = "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.";
    return context.json(403, googleErrorBody(403, message));
  }
  if (key === 'bad-key') return context.json(400, googleErrorBody(400, 'API key not valid. Please pass a valid API key.', 'API_KEY_INVALID'));
  return undefined;
}

function embedValues(content: unknown, dimensions: unknown): number[] {
  return mockEmbedding(texts(partsOf(content)).join(' '), typeof dimensions === 'number' ? dimensions : 8);
}

function batchEmbed(context: MockContext, body: Json, model: string): Promise<void> {
  if (!Array.isArray(body.requests) || body.requests.length === 0) {
    return context.json(400, googleErrorBody(400, '* BatchEmbedContentsRequest.requests: requests is not specified'));
  }
  const embeddings: Json[] = [];
  for (const [i, request] of body.requests.entries()) {
    if (!isRecord(request) || request.model !== `models/${model}`) {
      const message = `* BatchEmbedContentsRequest.requests[${i}].model: the model must be "models/${model}" as in the URL.`;
      return context.json(400, googleErrorBody(400, message));
    }
    embeddings.push({ values: embedValues(request.content, request.outputDimensionality) });
  }
  return context.json(200, { embeddings });
}

async function modelAction(context: MockContext): Promise<void> {
  const refused = refuseKey(context);
  if (refused) return refused;
  const model = decodeURIComponent(context.match[2]);
  const method = context.match[3];
  const body = context.request.body;
  if (!isRecord(body)) return context.json(400, googleErrorBody(400, 'Invalid JSON payload received.'));
  const image = googleImageAction(context, body, model, method);
  if (image !== undefined) return image;
  switch (method) {
    case 'generateContent':
    case 'streamGenerateContent': {
      const invalid = invalidGenerateBody(body) ?? geminiConversationError(body, model) ?? geminiModelRuleError(body, model, 'gemini');
      if (invalid !== undefined) return context.json(400, googleErrorBody(400, invalid));
      const audio = googleAudioAction(context, body, model, method);
      if (audio !== undefined) return audio;
      const stream = method === 'streamGenerateContent';
      return geminiReply(context, body, { model, stream, sse: context.request.query.get('alt') === 'sse' });
    }
    case 'countTokens':
      return context.json(200, { totalTokens: planEcho(geminiEchoRequest(isRecord(body.generateContentRequest) ? body.generateContentRequest : body)).promptTokens });
    case 'embedContent':
      return context.json(200, { embedding: { values: embedValues(body.content, body.outputDimensionality) } });
    case 'batchEmbedContents':
      return batchEmbed(context, body, model);
    default:
      return context.json(404, googleErrorBody(404, `Method ${method} not found.`));
  }
}

/** The models GET /{version}/models lists. */
export const GEMINI_MOCK_MODELS: readonly string[] = Object.freeze(['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-embedding-001']);

function listModels(context: MockContext): Promise<void> {
  const refused = refuseKey(context);
  if (refused) return refused;
  const models = GEMINI_MOCK_MODELS.map((id) => ({
    name: `models/${id}`,
    displayName: id,
    supportedGenerationMethods: id.includes('embedding') ? ['embedContent', 'batchEmbedContents'] : ['generateContent', 'countTokens'],
  }));
  return context.json(200, { models });
}

export function registerGeminiRoutes(target: RouteTarget): void {
  target.route('POST', /^\/(v1beta|v1|v1alpha)\/models\/(.+):([A-Za-z]+)$/, modelAction);
  // Not /v1/models: that one is OpenAI's list on this mock.
  target.route('GET', /^\/(v1beta|v1alpha)\/models$/, listModels);
}
