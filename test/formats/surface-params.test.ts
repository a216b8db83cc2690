/**
 * The same contract as unsupported-params.test.ts, end to end through a
 * drop-in surface: a field an Anthropic or Gemini SDK sends either reaches the
 * provider's body (in that provider's spelling) or is named by a warning, from
 * the surface decoder or from the provider codec. Pass-through pairs (the
 * provider speaks the surface's format) forward the bytes and are not here.
 */
import { describe, expect, it } from 'vitest';
import { anthropicChatCodec, anthropicSurfaceCodec } from '../../src/formats/anthropic/index.js';
import { bedrockChatCodec } from '../../src/formats/bedrock/index.js';
import { cohereChatCodec } from '../../src/formats/cohere/index.js';
import { dropGeminiOnlyFields, geminiChatCodec, geminiSurfaceCodec } from '../../src/formats/gemini/index.js';
import { openaiChatCodec } from '../../src/formats/openai/codec.js';
import type { ChatRequest } from '../../src/formats/openai/types.js';
import type { CodecWarning, ProviderChatCodec, SurfaceCodec } from '../../src/formats/types.js';

const PROVIDERS: Array<[name: string, codec: ProviderChatCodec, model: string]> = [
  ['openai', openaiChatCodec, 'gpt-4o-mini'],
  ['anthropic', anthropicChatCodec, 'claude-sonnet-4-5'],
  ['gemini', geminiChatCodec, 'gemini-2.5-flash'],
  ['bedrock', bedrockChatCodec, 'anthropic.claude-sonnet-4-5-20250929-v1:0'],
  ['cohere', cohereChatCodec, 'command-a-03-2025'],
];

type Body = Record<string, unknown>;

interface SurfaceCase {
  surface: 'anthropic' | 'gemini';
  codec: SurfaceCodec;
  base: Body;
  /** [path of the field, value, names a warning may use for it, extra fields the value needs] */
  fields: ReadonlyArray<[path: string, value: unknown, aliases: readonly string[], extra?: Body]>;
}

const anthropicTools = [{ name: 'lookup', input_schema: { type: 'object', properties: { q: { type: 'string' } } } }];
const geminiTools = [{ functionDeclarations: [{ name: 'lookup', parameters: { type: 'OBJECT', properties: { q: { type: 'STRING' } } } }] }];

const SURFACES: SurfaceCase[] = [
  {
    surface: 'anthropic',
    codec: anthropicSurfaceCodec,
    base: { model: 'm', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] },
    fields: [
      ['system', 'be brief', ['messages']],
      ['stop_sequences', ['END'], ['stop']],
      ['temperature', 0.3, []],
      ['top_p', 0.5, []],
      ['top_k', 5, []],
      ['metadata', { user_id: 'u-1' }, ['user']],
      ['metadata', { session: 's-1' }, []],
      ['thinking', { type: 'enabled', budget_tokens: 2048 }, []],
      ['tool_choice', { type: 'any' }, [], { tools: anthropicTools }],
      ['tool_choice', { type: 'auto', disable_parallel_tool_use: true }, ['parallel_tool_calls'], { tools: anthropicTools }],
      ['tools', [{ type: 'web_search_20250305', name: 'web_search' }], []],
      ['service_tier', 'standard_only', []],
      ['container', 'container-1', []],
      ['inference_geo', 'us', []],
      ['output_config', { effort: 'low' }, ['reasoning_effort']],
      ['speed', 'fast', []],
      ['cache_control', { type: 'ephemeral' }, []],
      ['context_management', { edits: [] }, []],
      ['mcp_servers', [{ type: 'url', url: 'https://mcp.example', name: 'x' }], []],
      ['x_custom_param', 1, []],
    ],
  },
  {
    surface: 'gemini',
    codec: geminiSurfaceCodec,
    base: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] },
    fields: [
      ['systemInstruction', { parts: [{ text: 'be brief' }] }, ['messages']],
      ['generationConfig.stopSequences', ['END'], ['stop']],
      ['generationConfig.responseMimeType', 'application/json', ['response_format']],
      ['generationConfig.responseSchema', { type: 'OBJECT', properties: { a: { type: 'STRING' } } }, ['response_format']],
      ['generationConfig.responseJsonSchema', { type: 'object', properties: { a: { type: 'string' } } }, ['response_format']],
      ['generationConfig.responseModalities', ['TEXT', 'IMAGE'], []],
      ['generationConfig.candidateCount', 2, ['n']],
      ['generationConfig.maxOutputTokens', 77, ['max_tokens']],
      ['generationConfig.temperature', 0.3, ['temperature']],
      ['generationConfig.topP', 0.5, ['top_p']],
      ['generationConfig.topK', 5, ['top_k']],
      ['generationConfig.seed', 7, ['seed']],
      ['generationConfig.presencePenalty', 0.5, ['presence_penalty']],
      ['generationConfig.frequencyPenalty', 0.5, ['frequency_penalty']],
      ['generationConfig.responseLogprobs', true, ['logprobs']],
      ['generationConfig.logprobs', 3, ['top_logprobs'], { generationConfig: { responseLogprobs: true } }],
      ['generationConfig.enableEnhancedCivicAnswers', true, []],
      ['generationConfig.speechConfig', { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Kore' } } }, []],
      ['generationConfig.thinkingConfig', { thinkingBudget: 1024 }, ['reasoning_effort', 'thinking']],
      ['generationConfig.imageConfig', { aspectRatio: '1:1' }, []],
      ['generationConfig.mediaResolution', 'MEDIA_RESOLUTION_LOW', []],
      ['safetySettings', [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }], []],
      ['toolConfig', { functionCallingConfig: { mode: 'ANY' } }, ['tool_choice'], { tools: geminiTools }],
      ['tools', [{ googleSearch: {} }], []],
      ['cachedContent', 'cachedContents/abc', []],
      ['labels', { team: 'a' }, []],
    ],
  },
];

/** `a.b` = v -> `{ a: { ...base.a, b: v } }` merged into a copy of base. */
function withField(base: Body, path: string, value: unknown, extra: Body = {}): Body {
  const body: Body = structuredClone({ ...base, ...extra });
  const keys = path.split('.');
  let target = body;
  for (const key of keys.slice(0, -1)) {
    target[key] = { ...(target[key] as Body | undefined) };
    target = target[key] as Body;
  }
  target[keys[keys.length - 1]] = value;
  return body;
}

function warned(warnings: readonly CodecWarning[], names: readonly string[]): boolean {
  return warnings.some((w) => names.some((name) => w.param === name || w.param.startsWith(`${name}.`) || w.param.startsWith(`${name}[`)));
}

/** Decodes on the surface, then encodes for the provider, as the pipeline does. */
function encode(surface: SurfaceCase, body: Body, codec: ProviderChatCodec, model: string): { body: unknown; warnings: CodecWarning[] } {
  const decoded = surface.codec.decodeRequest(body, { model: 'client-name' });
  const request: ChatRequest = { ...decoded.request };
  const warnings = [...decoded.warnings];
  if (codec.format !== 'gemini') warnings.push(...dropGeminiOnlyFields(request));
  const encoded = codec.encodeRequest(request, { model, stream: false });
  return { body: encoded.body, warnings: [...warnings, ...encoded.warnings] };
}

for (const surface of SURFACES) {
  for (const [providerName, provider, model] of PROVIDERS) {
    if (provider.format === surface.surface) continue; // pass-through: the bytes go as they are
    describe(`${surface.surface} surface -> ${providerName}: nothing dropped without a warning`, () => {
      it.each(surface.fields.map(([path, value, aliases, extra]) => [`${path}=${JSON.stringify(value)}`, path, value, aliases, extra] as const))(
        '%s',
        (_label, path, value, aliases, extra) => {
          const without = encode(surface, withField(surface.base, '__none', undefined, extra), provider, model);
          const withValue = encode(surface, withField(surface.base, path, value, extra), provider, model);
          if (JSON.stringify(withValue.body) === JSON.stringify(without.body)) {
            const names = [path, path.split('.').pop() as string, ...aliases];
            expect(warned(withValue.warnings, names), `${path} was dropped without a warning (warnings: ${JSON.stringify(withValue.warnings)})`).toBe(true);
          }
        },
      );
    });
  }
}
