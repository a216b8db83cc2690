/**
 * POST /v1/chat/completions and POST /v1/completions (legacy) of the mock.
 * The reply rules are documented at the top of openai.ts. Tool calls must be answered by tool
 * messages, as OpenAI requires (conversation-rules.ts).
 * @see https://platform.openai.com/docs/api-reference/chat/create
 * @see https://platform.openai.com/docs/api-reference/chat-streaming
 * @see https://platform.openai.com/docs/api-reference/completions/create
 */
import { refuseByModelRules } from './model-rules.js';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatMessage,
  ChatRequest,
  ChunkChoice,
  FinishReason,
  ToolCall,
  Usage,
} from '../../../src/formats/openai/types.js';
import { formatSse, SSE_DONE } from '../../../src/gateway/sse.js';
import type { MockContext } from './context.js';
import { openaiConversationError } from './conversation-rules.js';
import {
  contentText,
  invalidParam,
  lastUserText,
  MOCK_CREATED,
  MOCK_SYSTEM_FINGERPRINT,
  requireBody,
} from './openai-common.js';
import { countWords, limitText, splitEvenly, splitWords } from './text.js';
import { chatScriptRequest } from './scripted-requests.js';
import { planScripted } from './scripted-turn.js';

/** Completion tokens the mock reports for each tool call. */
export const TOOL_CALL_TOKENS = 5;

/** The tool calls the mock makes for a request, or undefined when it replies with text. */
export function plannedToolCalls(request: ChatRequest, userText: string): ToolCall[] | undefined {
  const tools = request.tools ?? [];
  const last = request.messages[request.messages.length - 1];
  if (tools.length === 0 || request.tool_choice === 'none' || last?.role !== 'user') return undefined;
  const choice: unknown = request.tool_choice;
  const named = typeof choice === 'object' && choice !== null ? (choice as { function?: { name?: unknown } }).function?.name : undefined;
  let names: string[];
  if (typeof named === 'string') names = [named];
  else if (userText.includes('parallel') && request.parallel_tool_calls !== false) {
    names = tools.slice(0, 2).map((tool) => tool.function.name);
  } else names = [tools[0].function.name];
  const args = JSON.stringify({ text: userText });
  return names.map((name, i) => ({ id: `call_mock_${i}`, type: 'function', function: { name, arguments: args } }));
}

/** Models OpenAI serves only through the Responses API. */
const RESPONSES_ONLY = /(^|-)codex|-pro($|-)|deep-research|^computer-use/;

export async function chatCompletions(context: MockContext): Promise<void> {
  const body = await requireBody(context);
  if (body === undefined) return;
  if (!Array.isArray(body.messages)) return invalidParam(context, 'messages', "Missing required parameter: 'messages'.");
  // The -codex and -pro families are served by /v1/responses only, as at OpenAI.
  if (typeof body.model === 'string' && RESPONSES_ONLY.test(body.model)) {
    return invalidParam(context, 'model', 'This model is only supported in v1/responses and not in v1/chat/completions.');
  }
  const refused = refuseByModelRules(context, 'openai', body); if (refused) return refused;
  const conversation = openaiConversationError(body.messages);
  if (conversation !== undefined) return invalidParam(context, conversation.param, conversation.message);
  const request = body as ChatRequest;
  const userText = lastUserText(request.messages);
  const scripted = planScripted(chatScriptRequest(body));
  const scriptedCalls = scripted?.calls.map((call, i): ToolCall => ({ id: `call_mock_${i}`, type: 'function', function: { name: call.name, arguments: call.arguments } }));
  const toolCalls = scripted ? (scriptedCalls?.length ? scriptedCalls : undefined) : plannedToolCalls(request, userText);
  const limited = scripted?.text !== undefined
    ? { text: scripted.text, truncated: false }
    : limitText(`echo: ${userText}`, request.max_completion_tokens ?? request.max_tokens);
  const content = toolCalls ? null : limited.text;
  const finishReason: FinishReason = toolCalls ? 'tool_calls' : limited.truncated ? 'length' : 'stop';
  const n = request.n ?? 1;
  const promptTokens = request.messages.reduce((sum, message) => sum + countWords(contentText(message?.content)), 0);
  const perChoice = toolCalls ? TOOL_CALL_TOKENS * toolCalls.length : countWords(content ?? '');
  const usage: Usage = { prompt_tokens: promptTokens, completion_tokens: perChoice * n, total_tokens: promptTokens + perChoice * n };
  const id = context.nextId('chatcmpl-mock-');

  if (request.stream === true) {
    const includeUsage = request.stream_options?.include_usage === true;
    const base = {
      id,
      object: 'chat.completion.chunk',
      created: MOCK_CREATED,
      model: request.model,
      system_fingerprint: MOCK_SYSTEM_FINGERPRINT,
    } as const;
    const event = (choices: ChunkChoice[], chunkUsage?: Usage): string => {
      const chunk: ChatCompletionChunk = { ...base, choices };
      if (includeUsage) chunk.usage = chunkUsage ?? null;
      return formatSse(JSON.stringify(chunk));
    };
    const events: string[] = [];
    for (let index = 0; index < n; index++) {
      const delta = (d: ChunkChoice['delta'], finish: FinishReason | null = null): ChunkChoice[] => [
        { index, delta: d, logprobs: null, finish_reason: finish },
      ];
      events.push(event(delta({ role: 'assistant', content: '' })));
      for (const [i, call] of (toolCalls ?? []).entries()) {
        const head = { index: i, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } } as const;
        events.push(event(delta({ tool_calls: [head] })));
        for (const piece of splitEvenly(call.function.arguments, 3)) {
          events.push(event(delta({ tool_calls: [{ index: i, function: { arguments: piece } }] })));
        }
      }
      for (const piece of content === null ? [] : splitWords(content)) events.push(event(delta({ content: piece })));
      events.push(event(delta({}, finishReason)));
    }
    if (includeUsage) events.push(event([], usage));
    events.push(SSE_DONE);
    return context.stream(events);
  }

  const message: ChatMessage & { role: 'assistant' } = { role: 'assistant', content, refusal: null };
  if (toolCalls) message.tool_calls = toolCalls;
  const completion: ChatCompletion = {
    id,
    object: 'chat.completion',
    created: MOCK_CREATED,
    model: request.model,
    choices: Array.from({ length: n }, (_, index) => ({ index, message, logprobs: null, finish_reason: finishReason })),
    usage,
    system_fingerprint: MOCK_SYSTEM_FINGERPRINT,
  };
  return context.json(200, completion);
}

export async function legacyCompletions(context: MockContext): Promise<void> {
  const body = await requireBody(context);
  if (body === undefined) return;
  const prompt = body.prompt ?? '';
  const prompts = Array.isArray(prompt) ? prompt.map(String) : [String(prompt)];
  const n = typeof body.n === 'number' ? body.n : 1;
  const texts = prompts.flatMap((p) => Array.from({ length: n }, () => `echo: ${p}`));
  const promptTokens = prompts.reduce((sum, p) => sum + countWords(p), 0);
  const completionTokens = texts.reduce((sum, text) => sum + countWords(text), 0);
  const usage: Usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
  const base = { id: context.nextId('cmpl-mock-'), object: 'text_completion', created: MOCK_CREATED, model: body.model };

  if (body.stream === true) {
    const includeUsage = (body.stream_options as ChatRequest['stream_options'])?.include_usage === true;
    const event = (choices: unknown[], chunkUsage?: Usage): string =>
      formatSse(JSON.stringify(includeUsage ? { ...base, choices, usage: chunkUsage ?? null } : { ...base, choices }));
    const events: string[] = [];
    texts.forEach((text, index) => {
      for (const piece of splitWords(text)) events.push(event([{ text: piece, index, logprobs: null, finish_reason: null }]));
      events.push(event([{ text: '', index, logprobs: null, finish_reason: 'stop' }]));
    });
    if (includeUsage) events.push(event([], usage));
    events.push(SSE_DONE);
    return context.stream(events);
  }

  const choices = texts.map((text, index) => ({ text, index, logprobs: null, finish_reason: 'stop' }));
  return context.json(200, { ...base, choices, usage });
}
