/**
 * The round-trip matrix: every client surface x every provider format x
 * {non-stream, stream} x {text, tools, tool results, output limit}, and what each case must
 * give back. The mock upstream answers every format by the same rules
 * (test/support/mock-upstream/echo-plan.ts), so one expectation holds for all.
 */
import { countWords, limitText, TOOL_CALL_TOKENS } from '../support/mock-upstream/index.js';
import { NATIVE_MODELS } from '../support/mock-upstream/provider-env.js';

export const SURFACES = ['openai', 'anthropic', 'gemini', 'responses'] as const;
export type SurfaceName = (typeof SURFACES)[number];

/** Provider columns: the wire formats, with Vertex's two paths apart. */
export const PROVIDERS = ['openai', 'anthropic', 'gemini', 'bedrock', 'azure', 'vertex', 'vertex-anthropic', 'cohere'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export const KINDS = ['text', 'tools', 'tool-results', 'length'] as const;
export type CaseKind = (typeof KINDS)[number];

export const MODES = ['non-stream', 'stream'] as const;
export type CaseMode = (typeof MODES)[number];

/** The wire format each surface speaks (the Responses API is OpenAI's). */
export const SURFACE_FORMATS: Readonly<Record<SurfaceName, string>> = { openai: 'openai', anthropic: 'anthropic', gemini: 'gemini', responses: 'openai' };

/** The wire format each provider speaks: equal to the surface's, the caller's bytes pass through. */
export const PROVIDER_FORMATS: Readonly<Record<ProviderName, string>> = {
  openai: 'openai',
  anthropic: 'anthropic',
  gemini: 'gemini',
  bedrock: 'bedrock',
  azure: 'openai',
  vertex: 'gemini',
  'vertex-anthropic': 'anthropic',
  cohere: 'cohere',
};

export function modelFor(provider: ProviderName): string {
  return NATIVE_MODELS[provider];
}

export const SYSTEM_PROMPT = 'be brief';
/** Non-ASCII on purpose: chopped streams then cut inside UTF-8 sequences. */
export const TEXT_PROMPT = 'héllo wörld 🌍 ünïcode';
/** The output limit of the `length` cases: the reply is cut there and finishes for length. */
export const LENGTH_LIMIT = 3;
/** "parallel" makes the mock call both tools. */
export const TOOLS_PROMPT = 'run parallel lookups for Zürich ☀';

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments. */
  parameters: Record<string, unknown>;
}

export const TOOLS: readonly ToolSpec[] = [
  { name: 'lookup', description: 'Looks a word up.', parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } },
  { name: 'search', description: 'Searches the web.', parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } },
];

/** The results a caller sends back after the tool calls of the previous turn, by tool name. */
export const TOOL_RESULTS: Readonly<Record<string, string>> = { lookup: 'a greeting', search: 'sunny skies' };

export interface ExpectedCall {
  name: string;
  /** The arguments exactly as the mock writes them. */
  arguments: string;
}

export interface Expected {
  text: string;
  calls: ExpectedCall[];
  /** Canonical finish reason; each surface spells it its own way. */
  finish: 'stop' | 'tool_calls' | 'length';
  /** Exact prompt tokens, or the least expected when providers count tool results differently. */
  inputTokens: number;
  inputExact: boolean;
  outputTokens: number;
}

export function promptFor(kind: CaseKind): string {
  return kind === 'text' || kind === 'length' ? TEXT_PROMPT : TOOLS_PROMPT;
}

/** The output token limit a case's request sets. */
export function maxTokensFor(kind: CaseKind): number {
  return kind === 'length' ? LENGTH_LIMIT : 256;
}

export function expectedFor(kind: CaseKind): Expected {
  const prompt = promptFor(kind);
  const inputTokens = countWords(SYSTEM_PROMPT) + countWords(prompt);
  if (kind === 'tools') {
    const args = JSON.stringify({ text: prompt });
    return {
      text: '',
      calls: TOOLS.map((tool) => ({ name: tool.name, arguments: args })),
      finish: 'tool_calls',
      inputTokens,
      inputExact: true,
      outputTokens: TOOL_CALL_TOKENS * TOOLS.length,
    };
  }
  if (kind === 'length') {
    const text = limitText(`echo: ${prompt}`, LENGTH_LIMIT).text;
    return { text, calls: [], finish: 'length', inputTokens, inputExact: true, outputTokens: LENGTH_LIMIT };
  }
  const text = `echo: ${prompt}`;
  return { text, calls: [], finish: 'stop', inputTokens, inputExact: kind === 'text', outputTokens: countWords(text) };
}

export interface MatrixCase {
  surface: SurfaceName;
  provider: ProviderName;
  mode: CaseMode;
  kind: CaseKind;
}

export function allCases(): MatrixCase[] {
  const cases: MatrixCase[] = [];
  for (const surface of SURFACES) {
    for (const provider of PROVIDERS) {
      for (const kind of KINDS) {
        for (const mode of MODES) cases.push({ surface, provider, mode, kind });
      }
    }
  }
  return cases;
}

export function caseName(c: MatrixCase): string {
  return `${c.surface} -> ${c.provider}, ${c.kind}, ${c.mode}`;
}
