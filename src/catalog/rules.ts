/**
 * The parameter rules the data packages do not carry, in one table keyed by
 * model family. A rule applies to a target whose provider definition is in
 * `providers` and whose model name (without region, vendor prefix, version or
 * date: see model-names.ts) matches `models`. Every rule links the vendor
 * document it follows.
 */
import type { ModelPrice, RefusedParam } from './types.js';

export interface ModelRule {
  family: string;
  /** Provider definition ids (src/providers/) serving this family. */
  providers: readonly string[];
  models: RegExp;
  reasoning?: boolean;
  maxTokensField?: 'max_completion_tokens';
  refuses?: readonly RefusedParam[];
  exclusive?: ReadonlyArray<readonly [string, string]>;
  responsesOnly?: boolean;
  price?: ModelPrice;
  see: string;
}

const OPENAI = ['openai', 'azure'];
const CLAUDE = ['anthropic', 'vertex-anthropic', 'bedrock'];

/**
 * Models priced per unit, not per token (the catalog's data has per-token prices only):
 * [family, providers, models, price].
 */
const OPENAI_PRICING = 'https://platform.openai.com/docs/pricing#transcription-and-speech';
const GOOGLE_PRICING = 'https://ai.google.dev/gemini-api/docs/pricing#imagen-4';
const BEDROCK_PRICING = 'https://aws.amazon.com/bedrock/pricing/';
const UNIT_PRICED: readonly ModelRule[] = ([
  ['openai-whisper', OPENAI, /^whisper-1$/, { audio_second: 0.006 / 60 }, OPENAI_PRICING],
  ['openai-tts', OPENAI, /^tts-1$/, { characters: 15 }, OPENAI_PRICING],
  ['openai-tts-hd', OPENAI, /^tts-1-hd$/, { characters: 30 }, OPENAI_PRICING],
  ['groq-whisper', ['groq'], /^whisper-large-v3$/, { audio_second: 0.111 / 3600 }, 'https://groq.com/pricing'],
  ['groq-whisper-turbo', ['groq'], /^whisper-large-v3-turbo$/, { audio_second: 0.04 / 3600 }, 'https://groq.com/pricing'],
  ['imagen-4', ['gemini', 'vertex'], /^imagen-4\.0-generate/, { image: 0.04 }, GOOGLE_PRICING],
  ['imagen-4-fast', ['gemini', 'vertex'], /^imagen-4\.0-fast-generate/, { image: 0.02 }, GOOGLE_PRICING],
  ['imagen-4-ultra', ['gemini', 'vertex'], /^imagen-4\.0-ultra-generate/, { image: 0.06 }, GOOGLE_PRICING],
  ['imagen-3', ['gemini', 'vertex'], /^imagen-3\.0-generate/, { image: 0.03 }, 'https://ai.google.dev/gemini-api/docs/pricing#imagen-3'],
  // Bedrock's image models at their standard quality and 1024x1024 (premium and larger sizes cost more:
  // catalog.overrides prices them).
  ['bedrock-titan-image', ['bedrock'], /^titan-image-generator$/, { image: 0.01 }, BEDROCK_PRICING],
  ['bedrock-nova-canvas', ['bedrock'], /^nova-canvas$/, { image: 0.04 }, BEDROCK_PRICING],
  ['bedrock-stability-large', ['bedrock'], /^sd3(-5)?-large$/, { image: 0.08 }, BEDROCK_PRICING],
  ['bedrock-stable-image-core', ['bedrock'], /^stable-image-core$/, { image: 0.04 }, BEDROCK_PRICING],
  ['bedrock-stable-image-ultra', ['bedrock'], /^stable-image-ultra$/, { image: 0.14 }, BEDROCK_PRICING],
] as const).map(([family, providers, models, price, see]) => ({ family, providers, models, price, see }));

export const MODEL_RULES: readonly ModelRule[] = [
  {
    // o1, o3, o4-mini, gpt-5 and later (not the gpt-5 "chat" models): reasoning models.
    family: 'openai-reasoning',
    providers: OPENAI,
    models: /^(o[1-9]|gpt-5|gpt-6|codex-)(?!.*-chat)/,
    reasoning: true,
    maxTokensField: 'max_completion_tokens',
    refuses: [
      { param: 'temperature', allowed: 1 },
      { param: 'top_p' },
      { param: 'presence_penalty' },
      { param: 'frequency_penalty' },
      { param: 'logprobs' },
      { param: 'top_logprobs' },
    ],
    see: 'https://platform.openai.com/docs/guides/reasoning',
  },
  {
    // gpt-5-codex, gpt-5.1-codex-mini, codex-mini-latest, o1-pro, o3-pro, gpt-5-pro, o3-deep-research,
    // computer-use-preview, ...: not on Chat Completions (each model page lists the endpoints that serve it).
    family: 'openai-responses-only',
    providers: OPENAI,
    models: /(^codex-|-codex(-|$)|-pro(-|$)|-deep-research(-|$)|^computer-use(-|$))/,
    responsesOnly: true,
    see: 'https://platform.openai.com/docs/models/gpt-5-pro',
  },
  {
    // Claude Opus 4.1+, Sonnet 4.5+, Haiku 4.5+ and later families refuse temperature and top_p together.
    family: 'claude-sampling-exclusive',
    providers: CLAUDE,
    models: /^claude-((opus-4-([1-9]|[1-9]\d)|sonnet-4-([5-9]|[1-9]\d)|haiku-4-([5-9]|[1-9]\d))(-|$)|[a-z]+-([5-9]|[1-9]\d)(-|$))/,
    exclusive: [['temperature', 'top_p']],
    see: 'https://docs.claude.com/en/docs/about-claude/models/migrating-to-claude-4',
  },
  {
    // GPT-3.5, GPT-4, GPT-4o, GPT-4.1, GPT-4.5 and ChatGPT-4o do not reason: they refuse reasoning_effort.
    family: 'openai-no-reasoning',
    providers: OPENAI,
    models: /^(gpt-3\.5|gpt-4($|-|o|\.1|\.5)|chatgpt-4o)/,
    reasoning: false,
    see: 'https://platform.openai.com/docs/guides/reasoning',
  },
  {
    // Claude 3 and 3.5 (not 3.7) have no extended thinking: "'claude-3-5-haiku-20241022' does not support thinking."
    family: 'claude-no-thinking',
    providers: CLAUDE,
    models: /^claude-(3-(opus|sonnet|haiku)|3-5-(sonnet|haiku)|2|instant)(-|$)/,
    reasoning: false,
    see: 'https://docs.claude.com/en/docs/build-with-claude/extended-thinking#supported-models',
  },
  {
    // Gemini 1.x and 2.0 (but the 2.0 "thinking" previews) and 2.5 Flash Image do not think: they refuse a thinkingConfig.
    family: 'gemini-no-thinking',
    providers: ['gemini', 'vertex'],
    models: /^gemini-((1\.\d|2\.0)-(?!.*thinking)|2\.5-flash-image)/,
    reasoning: false,
    see: 'https://ai.google.dev/gemini-api/docs/thinking#supported-models',
  },
  ...UNIT_PRICED,
  {
    // Models run on the caller's own machine: no per-token price.
    family: 'local',
    providers: ['ollama'],
    models: /./,
    price: { input: 0, output: 0, embedding: 0 },
    see: 'https://github.com/ollama/ollama/blob/main/docs/api.md',
  },
];
