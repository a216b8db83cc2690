import { GatewayError } from '../../errors/gateway-error.js';
import type { ChatCompletion, ChatMessage, ToolCall } from '../openai/types.js';
import type { CodecContext } from '../types.js';
import { finishReasonFromAnthropic } from './stop-reason.js';
import { thinkingBlocksOf, thinkingFields } from './thinking.js';
import type { AnthropicMessage, AnthropicUsage } from './types.js';
import { usageFromAnthropic } from './usage.js';

/**
 * Anthropic Message -> canonical ChatCompletion.
 * - text blocks are joined into `content`; `tool_use` blocks become `tool_calls`;
 * - `thinking` and `redacted_thinking` blocks are kept exactly in `thinking_blocks`
 *   (so a later Anthropic request sends them back unchanged), and summed up in
 *   `reasoning_content` + `reasoning_signature` (and `redacted_thinking`) for
 *   OpenAI-style clients;
 * - server-tool blocks (`server_tool_use`, `web_search_tool_result`, ...) are
 *   kept exactly in `anthropic_server_blocks`; web search citations on text become
 *   OpenAI `annotations` (`url_citation` over the cited block's span);
 * - the matched stop sequence is kept in the extra `stop_sequence` field, so the
 *   Anthropic surface can report `stop_reason: "stop_sequence"`.
 * @see https://docs.anthropic.com/en/api/messages#response
 */

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function badResponse(message: string): GatewayError {
  return new GatewayError('HD_ERR_UPSTREAM_BAD_RESPONSE', `Anthropic returned an unexpected response: ${message}`);
}

function stringifyInput(input: unknown): string {
  if (input === undefined || input === null) return '{}';
  return JSON.stringify(input);
}

/** OpenAI's web-search citation: a span of the message text and the page it came from. */
interface UrlCitation {
  type: 'url_citation';
  url_citation: { start_index: number; end_index: number; url: string; title: string };
}

/**
 * Web search citations on a text block -> OpenAI `annotations` over that block's span of the joined
 * text. Document citations (char, page, block locations) have no OpenAI form.
 * @see https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices-message-annotations
 * @see https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/web-search-tool#response
 */
function urlCitations(citations: unknown, start: number, end: number): UrlCitation[] {
  if (!Array.isArray(citations)) return [];
  return citations
    .filter((citation): citation is Record<string, unknown> => isRecord(citation) && citation.type === 'web_search_result_location' && typeof citation.url === 'string')
    .map((citation) => ({
      type: 'url_citation',
      url_citation: { start_index: start, end_index: end, url: String(citation.url), title: typeof citation.title === 'string' ? citation.title : '' },
    }));
}

export function decodeAnthropicResponse(body: unknown, context: CodecContext): ChatCompletion {
  if (!isRecord(body)) throw badResponse('the body is not a JSON object.');
  if (!Array.isArray(body.content)) throw badResponse('`content` is not an array.');
  const message = body as unknown as AnthropicMessage;

  const texts: string[] = [];
  const toolCalls: ToolCall[] = [];
  const serverBlocks: Array<Record<string, unknown>> = [];
  const annotations: UrlCitation[] = [];
  let offset = 0;
  for (const block of message.content) {
    if (!isRecord(block)) continue;
    if (block.type === 'text') {
      if (typeof block.text !== 'string') continue;
      texts.push(block.text);
      annotations.push(...urlCitations(block.citations, offset, offset + block.text.length));
      offset += block.text.length;
    } else if (block.type === 'tool_use') {
      toolCalls.push({
        id: String(block.id),
        type: 'function',
        function: { name: String(block.name), arguments: stringifyInput(block.input) },
      });
    } else if (typeof block.type === 'string' && (block.type === 'server_tool_use' || block.type.endsWith('_tool_result'))) {
      serverBlocks.push(block);
    }
  }

  const assistant: ChatMessage & { role: 'assistant' } = {
    role: 'assistant',
    content: texts.length > 0 ? texts.join('') : toolCalls.length > 0 ? null : '',
    ...thinkingFields(thinkingBlocksOf(message.content)),
  };
  if (toolCalls.length > 0) assistant.tool_calls = toolCalls;
  if (serverBlocks.length > 0) assistant.anthropic_server_blocks = serverBlocks;
  if (annotations.length > 0) assistant.annotations = annotations;

  const completion: ChatCompletion = {
    id: typeof message.id === 'string' && message.id !== '' ? message.id : context.id,
    object: 'chat.completion',
    created: context.created,
    model: context.model,
    choices: [{ index: 0, message: assistant, finish_reason: finishReasonFromAnthropic(message.stop_reason) ?? 'stop', logprobs: null }],
    usage: usageFromAnthropic(isRecord(message.usage) ? (message.usage as AnthropicUsage) : undefined),
  };
  if (message.stop_reason === 'stop_sequence' && typeof message.stop_sequence === 'string') {
    completion.stop_sequence = message.stop_sequence;
  }
  return completion;
}
