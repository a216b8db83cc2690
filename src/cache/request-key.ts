/**
 * What identifies a request to the cache, from its canonical (OpenAI Chat)
 * form, so the same question asked through any surface finds the same entry:
 *
 * - the exact key: a hash of everything that changes the answer (the model or
 *   group as the caller named it, messages, tools, tool choice, sampling
 *   parameters, response format, seed, and any field we do not know, since it
 *   may change the answer too), not of what only labels the call (stream
 *   flags, user, metadata, request ids, store);
 * - the semantic facts: the text to embed (the last user turn) and the digests
 *   the guards compare (system prompt, history, tools and response format,
 *   the other parameters), plus whether the request carries tool results.
 */
import { createHash } from 'node:crypto';
import type { ChatMessage, ChatRequest } from '../formats/openai/types.js';

/** Fields that label a call without changing its answer. */
const NOT_IN_KEY = new Set([
  'model', 'stream', 'stream_options', 'user', 'metadata', 'store', 'fallbacks', 'heimdall_cache',
  'safety_identifier', 'prompt_cache_key', 'prompt_cache_retention', 'service_tier', 'request_id',
]);

/** Parameters a near match may differ in (the semantic guards bound temperature on their own). */
const SAMPLING = new Set(['temperature', 'top_p', 'top_k', 'seed']);

/** The tool and output-shape fields: the "same tools and response format" guard. */
const SHAPE = new Set(['tools', 'tool_choice', 'parallel_tool_calls', 'response_format', 'functions', 'function_call']);

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` hash the same. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : stableJson(item))).join(',')}]`;
  const keys = Object.keys(value).filter((key) => (value as Record<string, unknown>)[key] !== undefined).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`).join(',')}}`;
}

export function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 32);
}

export interface RequestFacts {
  /** Hash of the whole request as far as the answer depends on it (and the operation and model asked). */
  exactKey: string;
  /** The model or group as the caller named it. */
  model: string;
  /** Guards of the semantic match. */
  systemDigest: string;
  historyDigest: string;
  shapeDigest: string;
  paramsDigest: string;
  temperature: number | undefined;
  /** The request carries tool results (role "tool"): never answered by a near match. */
  hasToolResults: boolean;
  /** The last user turn as text; undefined when it is not text only (an image, audio...). */
  lastUserText: string | undefined;
  /** Every user turn's text, oldest first (history: embed). */
  userTexts: string[];
}

/** The text of a message's content, or undefined when a part is not text. */
export function textOf(content: ChatMessage['content']): string | undefined {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  const texts: string[] = [];
  for (const part of content) {
    if (part === null || typeof part !== 'object' || (part as { type?: unknown }).type !== 'text') return undefined;
    const text = (part as { text?: unknown }).text;
    if (typeof text !== 'string') return undefined;
    texts.push(text);
  }
  return texts.join('\n');
}

function isSystem(message: ChatMessage): boolean {
  return message.role === 'system' || message.role === 'developer';
}

/** What a request body holds that may change its answer: every field but those that only label the call. */
function keyedFields(body: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const keyed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) {
    if (value !== undefined && !NOT_IN_KEY.has(name)) keyed[name] = value;
  }
  return keyed;
}

/**
 * The exact key of a request body asked as `model` through `operation`: an embeddings request's
 * input, dimensions and encoding format, a legacy completion's prompt and parameters, a Responses
 * request's input, instructions, tools and parameters (as the caller wrote them).
 */
export function exactKeyOf(operation: string, model: string, body: Readonly<Record<string, unknown>>): string {
  return digest(`${operation}\u0000${model}\u0000${stableJson(keyedFields(body))}`);
}

/** Facts of a canonical chat request asked as `model` through `operation`. */
export function requestFacts(operation: string, model: string, request: ChatRequest): RequestFacts {
  const keyed = keyedFields(request as unknown as Record<string, unknown>);
  const shape: Record<string, unknown> = {};
  const params: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(keyed)) {
    if (name === 'messages') continue;
    if (SHAPE.has(name)) shape[name] = value;
    else if (!SAMPLING.has(name)) params[name] = value;
  }
  const messages = Array.isArray(request.messages) ? request.messages : [];
  let lastUser = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === 'user') {
      lastUser = i;
      break;
    }
  }
  const system: ChatMessage[] = [];
  const history: ChatMessage[] = [];
  const userTexts: string[] = [];
  let hasToolResults = false;
  messages.forEach((message, index) => {
    if (message === null || typeof message !== 'object') return;
    if (message.role === 'tool' || message.role === 'function') hasToolResults = true;
    if (isSystem(message)) system.push(message);
    else if (index < lastUser) history.push(message);
    if (message.role === 'user') {
      const text = textOf(message.content);
      if (text !== undefined) userTexts.push(text);
    }
  });
  const temperature = typeof request.temperature === 'number' ? request.temperature : undefined;
  return {
    exactKey: digest(`${operation}\u0000${model}\u0000${stableJson(keyed)}`),
    model,
    systemDigest: digest(stableJson(system)),
    historyDigest: digest(stableJson(history)),
    shapeDigest: digest(stableJson(shape)),
    paramsDigest: digest(stableJson(params)),
    temperature,
    hasToolResults,
    lastUserText: lastUser === -1 ? undefined : textOf(messages[lastUser].content),
    userTexts,
  };
}
