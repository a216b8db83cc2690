/**
 * A contract over every provider codec (STYLE.md rule 7): a parameter the
 * target cannot take is dropped WITH a warning naming it, never silently, and
 * a value is never changed (clamped) without a warning either.
 *
 * For each codec and each OpenAI chat parameter (plus top_k, thinking and an
 * unknown one), the request is encoded with and without the parameter: when
 * the two bodies are the same, the parameter was dropped and a warning must
 * name it; when a number went in, it must come out unchanged somewhere in the
 * body, or a warning must name it.
 */
import { describe, expect, it } from 'vitest';
import { anthropicChatCodec } from '../../src/formats/anthropic/index.js';
import { bedrockChatCodec } from '../../src/formats/bedrock/index.js';
import { cohereChatCodec } from '../../src/formats/cohere/index.js';
import { geminiChatCodec } from '../../src/formats/gemini/index.js';
import { openaiChatCodec } from '../../src/formats/openai/codec.js';
import type { ChatRequest } from '../../src/formats/openai/types.js';
import { bedrockEmbeddingCodec } from '../../src/formats/bedrock/index.js';
import { cohereEmbeddingCodec } from '../../src/formats/cohere/index.js';
import { geminiEmbeddingCodec, vertexEmbeddingCodec } from '../../src/formats/gemini/index.js';
import type { EmbeddingRequest } from '../../src/formats/openai/types.js';
import type { CodecWarning, ProviderChatCodec, ProviderEmbeddingCodec } from '../../src/formats/types.js';

const CODECS: Array<[name: string, codec: ProviderChatCodec, model: string]> = [
  ['openai', openaiChatCodec, 'gpt-4o-mini'],
  ['anthropic', anthropicChatCodec, 'claude-sonnet-4-5'],
  ['gemini', geminiChatCodec, 'gemini-2.5-flash'],
  ['bedrock (Claude)', bedrockChatCodec, 'anthropic.claude-sonnet-4-5-20250929-v1:0'],
  ['bedrock (Llama)', bedrockChatCodec, 'meta.llama3-3-70b-instruct-v1:0'],
  ['cohere', cohereChatCodec, 'command-a-03-2025'],
];

const tools: ChatRequest['tools'] = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }];

/** Every parameter of the openai SDK's ChatCompletionCreateParams, with a value that is not its default. */
const PARAMS: ReadonlyArray<[param: string, value: unknown, extra?: Partial<ChatRequest>]> = [
  ['audio', { voice: 'alloy', format: 'mp3' }],
  ['frequency_penalty', 0.5],
  ['function_call', 'auto'],
  ['functions', [{ name: 'legacy', parameters: { type: 'object', properties: {} } }]],
  ['logit_bias', { 50256: -100 }],
  ['logprobs', true],
  ['max_completion_tokens', 77],
  ['max_tokens', 77],
  ['metadata', { purpose: 'test' }],
  ['modalities', ['text', 'audio']],
  ['n', 2],
  ['parallel_tool_calls', false, { tools }],
  ['prediction', { type: 'content', content: 'predicted' }],
  ['presence_penalty', 0.5],
  ['prompt_cache_key', 'cache-key'],
  ['prompt_cache_retention', '24h'],
  ['reasoning_effort', 'low'],
  ['response_format', { type: 'json_object' }],
  ['safety_identifier', 'user-1'],
  ['seed', 7],
  ['service_tier', 'flex'],
  ['stop', ['END']],
  ['store', true],
  ['temperature', 0.3],
  ['temperature', 1.7],
  ['tool_choice', 'required', { tools }],
  ['top_logprobs', 3, { logprobs: true }],
  ['top_p', 0.5],
  ['user', 'user-1'],
  ['verbosity', 'low'],
  ['web_search_options', { search_context_size: 'low' }],
  ['web_search_options', {}],
  ['top_k', 5],
  ['thinking', { type: 'enabled', budget_tokens: 2048 }],
  ['x_custom_param', 1],
];

function named(warnings: readonly CodecWarning[], param: string): boolean {
  return warnings.some((w) => w.param === param || w.param.startsWith(`${param}.`) || w.param.startsWith(`${param}[`));
}

function containsNumber(value: unknown, wanted: number): boolean {
  if (value === wanted) return true;
  if (Array.isArray(value)) return value.some((item) => containsNumber(item, wanted));
  if (typeof value === 'object' && value !== null) return Object.values(value).some((item) => containsNumber(item, wanted));
  return false;
}

describe.each(CODECS)('%s codec: nothing dropped or changed without a warning', (_name, codec, model) => {
  const base = (extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: 'client-name', messages: [{ role: 'user', content: 'hi' }], ...extra });

  it.each(PARAMS.map(([param, value, extra]) => [`${param}=${JSON.stringify(value)}`, param, value, extra] as const))('%s', (_label, param, value, extra) => {
    const without = codec.encodeRequest(base(extra), { model, stream: false });
    let withParam: ReturnType<ProviderChatCodec['encodeRequest']>;
    try {
      withParam = codec.encodeRequest(base({ ...extra, [param]: value }), { model, stream: false });
    } catch (error) {
      // Refusing a value outright (400 naming the field) is not a silent drop either.
      expect((error as { param?: string }).param ?? '').toContain(param);
      return;
    }
    const dropped = JSON.stringify(withParam.body) === JSON.stringify(without.body);
    if (dropped) expect(named(withParam.warnings, param), `${param} was dropped without a warning`).toBe(true);
    if (typeof value === 'number' && !containsNumber(withParam.body, value)) {
      expect(named(withParam.warnings, param), `${param} ${value} was changed without a warning`).toBe(true);
    }
  });
});

const EMBEDDING_CODECS: Array<[name: string, codec: ProviderEmbeddingCodec, model: string]> = [
  ['gemini', geminiEmbeddingCodec, 'gemini-embedding-001'],
  ['vertex (gemini-embedding-001)', vertexEmbeddingCodec, 'gemini-embedding-001'],
  ['vertex (text-embedding-005)', vertexEmbeddingCodec, 'text-embedding-005'],
  ['cohere (v3)', cohereEmbeddingCodec, 'embed-english-v3.0'],
  ['cohere (v4)', cohereEmbeddingCodec, 'embed-v4.0'],
  ['bedrock (Titan v2)', bedrockEmbeddingCodec, 'amazon.titan-embed-text-v2:0'],
  ['bedrock (Titan v1)', bedrockEmbeddingCodec, 'amazon.titan-embed-text-v1'],
  ['bedrock (Cohere)', bedrockEmbeddingCodec, 'cohere.embed-english-v3'],
];

const EMBEDDING_PARAMS: ReadonlyArray<[param: string, value: unknown]> = [
  ['dimensions', 4],
  ['user', 'user-1'],
  ['input_type', 'search_query'],
  ['input_type', 'not-a-type'],
  ['task_type', 'RETRIEVAL_DOCUMENT'],
  ['task_type', 7],
  ['x_custom_param', 1],
];

describe.each(EMBEDDING_CODECS)('%s embedding codec: nothing dropped without a warning', (_name, codec, model) => {
  const base = (extra: Record<string, unknown> = {}): EmbeddingRequest => ({ model: 'client-name', input: 'alpha', ...extra });

  it.each(EMBEDDING_PARAMS.map(([param, value]) => [`${param}=${JSON.stringify(value)}`, param, value] as const))('%s', (_label, param, value) => {
    const without = codec.encodeRequest(base(), { model });
    const withParam = codec.encodeRequest(base({ [param]: value }), { model });
    const unchanged = JSON.stringify(withParam.body) === JSON.stringify(without.body);
    if (unchanged || (typeof value === 'string' && !JSON.stringify(withParam.body).includes(value))) {
      expect(named(withParam.warnings, param), `${param} was dropped or replaced without a warning`).toBe(true);
    }
  });

  it('encoding_format is honoured by the gateway (floats encoded on the way out): no warning', () => {
    expect(codec.encodeRequest(base({ encoding_format: 'base64' }), { model }).warnings).toEqual([]);
  });
});
