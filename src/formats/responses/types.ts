/**
 * The parts of the OpenAI Responses wire format the bridge reads and writes,
 * and the options that tie a request's decoding to its answer's encoding.
 * @see https://platform.openai.com/docs/api-reference/responses/create
 */
import type { ChatRequest } from '../openai/types.js';
import type { CodecWarning } from '../types.js';

/**
 * The provider's reasoning state that must come back on the next turn (an Anthropic thinking block's
 * signature, Gemini's thought signature, redacted thinking): the canonical assistant message's
 * reasoning fields, as they were.
 */
export interface ReasoningState {
  reasoning_content?: string;
  reasoning_signature?: string;
  redacted_thinking?: string[];
}

/**
 * Seals reasoning state into a reasoning item's `encrypted_content` and opens it again. Supplied by
 * the gateway (it holds the key and the randomness): codecs stay pure.
 */
export interface ReasoningSeal {
  seal(state: ReasoningState): string;
  /** The state, or undefined when the text was not sealed by this gateway (or was altered). */
  open(text: string): ReasoningState | undefined;
}

/** How a canonical function name maps back to the tool the caller declared. */
export interface DeclaredTool {
  kind: 'function' | 'custom';
  name: string;
  namespace?: string;
}

/** What the answer's encoding needs from the request. */
export interface ResponsesRequestFacts {
  /** Canonical function name -> the caller's tool (custom tools and namespaced ones differ from plain functions). */
  tools: ReadonlyMap<string, DeclaredTool>;
  /** The caller asked for reasoning summaries (`reasoning.summary`). */
  summaries: boolean;
  /** The caller listed `reasoning.encrypted_content` in `include`. */
  encryptedReasoning: boolean;
  /** Request fields the response object echoes (instructions, tools, metadata, ...). */
  echo: Record<string, unknown>;
}

export interface DecodedResponsesRequest {
  request: ChatRequest;
  warnings: CodecWarning[];
  facts: ResponsesRequestFacts;
}

/** The values an encoded answer needs from outside (ids and time come in, codecs stay pure). */
export interface ResponsesEncodeContext {
  /** `resp_...`: the response id; item ids are derived from it. */
  id: string;
  created: number;
  model: string;
  facts: ResponsesRequestFacts;
  seal?: ReasoningSeal;
}

export type JsonRecord = Record<string, unknown>;
