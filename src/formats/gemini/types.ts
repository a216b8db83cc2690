/**
 * The Gemini generateContent wire format (the subset Heimdall reads and
 * writes), with the exact field names of the REST API (camelCase JSON).
 * Objects keep unknown fields so newer API additions survive a pass-through.
 *
 * @see https://ai.google.dev/api/generate-content
 * @see node_modules/@google/genai/dist/genai.d.ts (GenerateContentResponse, Part, GenerationConfig)
 */

export interface GeminiBlob {
  mimeType: string;
  /** Base64 bytes. */
  data: string;
  displayName?: string;
}

export interface GeminiFileData {
  fileUri: string;
  mimeType?: string;
  displayName?: string;
}

export interface GeminiFunctionCall {
  name: string;
  args?: Record<string, unknown>;
  id?: string;
}

export interface GeminiFunctionResponse {
  name: string;
  response: Record<string, unknown>;
  id?: string;
}

export interface GeminiPart {
  text?: string;
  /** True when the text is the model's thought summary. */
  thought?: boolean;
  /** Opaque base64 signature to send back with the part it came on. */
  thoughtSignature?: string;
  inlineData?: GeminiBlob;
  fileData?: GeminiFileData;
  functionCall?: GeminiFunctionCall;
  functionResponse?: GeminiFunctionResponse;
  [extra: string]: unknown;
}

export type GeminiRole = 'user' | 'model';

export interface GeminiContent {
  role?: GeminiRole | string;
  parts: GeminiPart[];
}

export interface GeminiFunctionDeclaration {
  name: string;
  description?: string;
  /** OpenAPI 3.0 schema subset. */
  parameters?: Record<string, unknown>;
  /** Full JSON Schema; mutually exclusive with `parameters`. */
  parametersJsonSchema?: unknown;
  [extra: string]: unknown;
}

export interface GeminiTool {
  functionDeclarations?: GeminiFunctionDeclaration[];
  /** googleSearch, codeExecution, urlContext, ...: server-side tools. */
  [extra: string]: unknown;
}

export type GeminiFunctionCallingMode = 'AUTO' | 'ANY' | 'NONE' | 'VALIDATED' | 'MODE_UNSPECIFIED';

export interface GeminiToolConfig {
  functionCallingConfig?: { mode?: GeminiFunctionCallingMode; allowedFunctionNames?: string[] };
  [extra: string]: unknown;
}

export type GeminiThinkingLevel = 'MINIMAL' | 'LOW' | 'MEDIUM' | 'HIGH' | 'THINKING_LEVEL_UNSPECIFIED';

export interface GeminiThinkingConfig {
  includeThoughts?: boolean;
  /** 0 disables thinking, -1 lets the model decide. */
  thinkingBudget?: number;
  thinkingLevel?: GeminiThinkingLevel;
}

export interface GeminiGenerationConfig {
  temperature?: number;
  topP?: number;
  topK?: number;
  maxOutputTokens?: number;
  stopSequences?: string[];
  candidateCount?: number;
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  responseMimeType?: string;
  responseSchema?: Record<string, unknown>;
  responseJsonSchema?: unknown;
  responseLogprobs?: boolean;
  /** Number of top log probabilities per token (OpenAI top_logprobs). */
  logprobs?: number;
  thinkingConfig?: GeminiThinkingConfig;
  [extra: string]: unknown;
}

export interface GeminiSafetySetting {
  category: string;
  threshold: string;
  [extra: string]: unknown;
}

export interface GenerateContentRequest {
  contents: GeminiContent[];
  systemInstruction?: GeminiContent | string;
  tools?: GeminiTool[];
  toolConfig?: GeminiToolConfig;
  generationConfig?: GeminiGenerationConfig;
  safetySettings?: GeminiSafetySetting[];
  cachedContent?: string;
  [extra: string]: unknown;
}

export type GeminiFinishReason =
  | 'FINISH_REASON_UNSPECIFIED' | 'STOP' | 'MAX_TOKENS' | 'SAFETY' | 'RECITATION' | 'LANGUAGE' | 'OTHER'
  | 'BLOCKLIST' | 'PROHIBITED_CONTENT' | 'SPII' | 'MALFORMED_FUNCTION_CALL' | 'IMAGE_SAFETY'
  | 'UNEXPECTED_TOOL_CALL' | 'TOO_MANY_TOOL_CALLS' | 'IMAGE_PROHIBITED_CONTENT' | 'NO_IMAGE' | 'IMAGE_RECITATION';

export interface GeminiLogprobsCandidate {
  token?: string;
  logProbability?: number;
  tokenId?: number;
}

export interface GeminiLogprobsResult {
  chosenCandidates?: GeminiLogprobsCandidate[];
  topCandidates?: Array<{ candidates?: GeminiLogprobsCandidate[] }>;
}

export interface GeminiCandidate {
  content?: { role?: string; parts?: GeminiPart[] };
  finishReason?: GeminiFinishReason | string;
  finishMessage?: string;
  index?: number;
  safetyRatings?: unknown[];
  avgLogprobs?: number;
  logprobsResult?: GeminiLogprobsResult;
  [extra: string]: unknown;
}

export interface GeminiUsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  totalTokenCount?: number;
  cachedContentTokenCount?: number;
  thoughtsTokenCount?: number;
  toolUsePromptTokenCount?: number;
  [extra: string]: unknown;
}

export interface GenerateContentResponse {
  candidates?: GeminiCandidate[];
  promptFeedback?: { blockReason?: string; blockReasonMessage?: string; safetyRatings?: unknown[] };
  usageMetadata?: GeminiUsageMetadata;
  modelVersion?: string;
  responseId?: string;
  [extra: string]: unknown;
}

/** Google's error body (google.rpc.Status in JSON). */
export interface GeminiErrorBody {
  error: { code: number; message: string; status: string; details?: unknown[] };
}

/**
 * Fields a Gemini-surface request carries on the canonical request so that a
 * Gemini -> Gemini route can restore what the canonical format cannot say.
 * Encoders of other formats must not forward them: see `dropGeminiOnlyFields`.
 */
export const GEMINI_ONLY_FIELDS = ['gemini_safety_settings', 'gemini_thinking_config', 'gemini_tools'] as const;
