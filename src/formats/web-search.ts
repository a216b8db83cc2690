/**
 * OpenAI's built-in web search for chat (`web_search_options`, search models)
 * -> the provider's own server-side search tool: Anthropic's `web_search`
 * tool, Gemini's `googleSearch`. Settings the target has no place for are
 * dropped with a warning.
 *
 * @see https://platform.openai.com/docs/api-reference/chat/create#chat-create-web_search_options
 * @see https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/web-search-tool
 * @see https://ai.google.dev/gemini-api/docs/google-search
 */
import type { ChatRequest } from './openai/types.js';
import type { CodecWarning } from './types.js';

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The caller's web_search_options, or undefined when it did not ask for web search. */
function options(request: ChatRequest): Json | undefined {
  const value = request.web_search_options;
  return isRecord(value) ? value : undefined;
}

function warnContextSize(settings: Json, target: string, warnings: CodecWarning[]): void {
  if (settings.search_context_size !== undefined && settings.search_context_size !== null) {
    warnings.push({ param: 'web_search_options.search_context_size', message: `${target} web search has no search_context_size; it was dropped.` });
  }
}

/** web_search_options -> Anthropic's web search server tool (user_location kept). */
export function anthropicWebSearchTool(request: ChatRequest, warnings: CodecWarning[]): Json | undefined {
  const settings = options(request);
  if (settings === undefined) return undefined;
  warnContextSize(settings, 'Anthropic', warnings);
  const tool: Json = { type: 'web_search_20250305', name: 'web_search' };
  const location = isRecord(settings.user_location) && isRecord(settings.user_location.approximate) ? settings.user_location.approximate : undefined;
  if (location !== undefined) {
    const fields = Object.fromEntries(['city', 'region', 'country', 'timezone'].filter((key) => typeof location[key] === 'string').map((key) => [key, location[key]]));
    if (Object.keys(fields).length > 0) tool.user_location = { type: 'approximate', ...fields };
  }
  return tool;
}

/** web_search_options -> Gemini's Google Search grounding tool (no location setting). */
export function geminiWebSearchTool(request: ChatRequest, warnings: CodecWarning[]): Json | undefined {
  const settings = options(request);
  if (settings === undefined) return undefined;
  warnContextSize(settings, 'Gemini', warnings);
  if (settings.user_location !== undefined && settings.user_location !== null) {
    warnings.push({ param: 'web_search_options.user_location', message: 'Gemini Google Search takes no user location; it was dropped.' });
  }
  return { googleSearch: {} };
}
