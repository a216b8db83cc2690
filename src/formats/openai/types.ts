/**
 * The canonical format: OpenAI Chat Completions (and Embeddings).
 * Every client surface decodes into these types and every provider codec
 * encodes from them. Objects keep unknown fields (index signatures) so that a
 * pass-through never loses what a newer SDK sends.
 *
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */

export type Role = 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function';

export interface TextPart {
  type: 'text';
  text: string;
  [extra: string]: unknown;
}

export interface ImagePart {
  type: 'image_url';
  image_url: { url: string; detail?: 'auto' | 'low' | 'high' };
  [extra: string]: unknown;
}

export interface InputAudioPart {
  type: 'input_audio';
  input_audio: { data: string; format: string };
}

export interface FilePart {
  type: 'file';
  file: { file_data?: string; file_id?: string; filename?: string };
}

export type ContentPart = TextPart | ImagePart | InputAudioPart | FilePart;

/** A Gemini thought signature on a tool call, as Google's OpenAI-compatible endpoint writes it. */
export interface ToolCallExtraContent {
  google?: { thought_signature?: string; [extra: string]: unknown };
  [extra: string]: unknown;
}

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
  /**
   * Provider data that must come back with this call on the next turn: Gemini's thought signature
   * (`extra_content.google.thought_signature`, required by Gemini 3 on function calls).
   * @see https://ai.google.dev/gemini-api/docs/thought-signatures
   */
  extra_content?: ToolCallExtraContent;
}

/**
 * One Anthropic thinking block, kept exactly so it can be sent back unchanged (Anthropic checks the
 * signature, and requires the blocks on the last assistant turn of a tool loop while thinking).
 * @see https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#preserving-thinking-blocks
 */
export type ThinkingBlock =
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string };

export interface ChatMessage {
  role: Role;
  content?: string | ContentPart[] | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  /** Reasoning text as several OpenAI-compatible providers return it (DeepSeek, Groq, OpenRouter). */
  reasoning_content?: string | null;
  /** Opaque provider data that must survive a round trip (Anthropic thinking signatures). */
  reasoning_signature?: string;
  /** Every Anthropic thinking / redacted_thinking block of an assistant turn, in order (exact form). */
  thinking_blocks?: ThinkingBlock[];
  /**
   * Anthropic server-tool blocks of an assistant turn (`server_tool_use`, `web_search_tool_result`, ...),
   * exactly as Anthropic sent them, for an Anthropic target; other targets drop them with a warning.
   */
  anthropic_server_blocks?: Array<Record<string, unknown>>;
  refusal?: string | null;
  [extra: string]: unknown;
}

export interface FunctionTool {
  type: 'function';
  function: {
    name: string;
    description?: string;
    parameters?: Record<string, unknown>;
    strict?: boolean | null;
  };
}

export type ToolChoice =
  | 'none'
  | 'auto'
  | 'required'
  | { type: 'function'; function: { name: string } };

export interface ResponseFormat {
  type: 'text' | 'json_object' | 'json_schema';
  json_schema?: { name: string; description?: string; schema?: Record<string, unknown>; strict?: boolean | null };
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  /** Not an OpenAI parameter; Anthropic and Gemini callers send it and several providers take it. */
  top_k?: number | null;
  n?: number | null;
  stop?: string | string[] | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  seed?: number | null;
  logprobs?: boolean | null;
  top_logprobs?: number | null;
  logit_bias?: Record<string, number> | null;
  user?: string;
  tools?: FunctionTool[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean;
  response_format?: ResponseFormat;
  reasoning_effort?: 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh' | 'max' | null;
  /**
   * Extended thinking, as the Anthropic surface receives it (and the Gemini surface's thinkingBudget);
   * codecs map it to their own setting (src/formats/reasoning-effort.ts).
   */
  thinking?: { type: 'enabled'; budget_tokens: number } | { type: 'disabled' } | { type: 'adaptive' };
  [extra: string]: unknown;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number; audio_tokens?: number; [extra: string]: unknown };
  completion_tokens_details?: { reasoning_tokens?: number; [extra: string]: unknown };
  /** Tokens written to a provider's prompt cache (Anthropic cache_creation_input_tokens). */
  cache_creation_input_tokens?: number;
  /** What a media call produced or read, for models priced by it (Heimdall's own fields, never sent to a client). */
  images?: number;
  audio_seconds?: number;
  characters?: number;
  [extra: string]: unknown;
}

export interface ChatChoice {
  index: number;
  message: ChatMessage & { role: 'assistant' };
  finish_reason: FinishReason | null;
  logprobs?: unknown;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: ChatChoice[];
  usage?: Usage;
  system_fingerprint?: string | null;
  [extra: string]: unknown;
}

export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
  extra_content?: ToolCallExtraContent;
}

export interface ChunkDelta {
  role?: 'assistant';
  content?: string | null;
  reasoning_content?: string | null;
  reasoning_signature?: string;
  /** An Anthropic redacted_thinking block's data (a whole block, never split). */
  redacted_thinking?: string;
  tool_calls?: ToolCallDelta[];
  refusal?: string | null;
}

export interface ChunkChoice {
  index: number;
  delta: ChunkDelta;
  finish_reason: FinishReason | null;
  logprobs?: unknown;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: ChunkChoice[];
  usage?: Usage | null;
  system_fingerprint?: string | null;
  [extra: string]: unknown;
}

export interface EmbeddingRequest {
  model: string;
  input: string | string[] | number[] | number[][];
  encoding_format?: 'float' | 'base64';
  dimensions?: number;
  user?: string;
  [extra: string]: unknown;
}

export interface EmbeddingResponse {
  object: 'list';
  data: Array<{ object: 'embedding'; index: number; embedding: number[] | string }>;
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

/** OpenAI error body, the shape every surface's errors are derived from. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}
