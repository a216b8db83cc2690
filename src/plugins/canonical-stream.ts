/**
 * A canonical answer in the other shape: a whole response as the chunks a
 * stream of it would carry (an early answer to a caller that streams), and
 * chunks collected into one response (the final answer of a stream, an early
 * stream for a caller that does not stream). OpenAI Chat Completions shapes.
 * @see https://platform.openai.com/docs/api-reference/chat-streaming
 */
import type { ChatChoice, ChatCompletion, ChatCompletionChunk, ChunkDelta, ToolCall, Usage } from '../formats/openai/types.js';

/** The chunks of `completion`: per choice its content, then its finish; usage last, in a chunk of its own. */
export function chunksOfCompletion(completion: ChatCompletion): ChatCompletionChunk[] {
  const base = { id: completion.id, object: 'chat.completion.chunk' as const, created: completion.created, model: completion.model };
  const chunks: ChatCompletionChunk[] = [];
  for (const choice of completion.choices) {
    const message = choice.message;
    const delta: ChunkDelta = { role: 'assistant' };
    if (typeof message.reasoning_content === 'string') delta.reasoning_content = message.reasoning_content;
    if (typeof message.content === 'string') delta.content = message.content;
    else if (Array.isArray(message.content)) {
      delta.content = message.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
    }
    if (typeof message.refusal === 'string') delta.refusal = message.refusal;
    if (message.tool_calls !== undefined && message.tool_calls.length > 0) {
      delta.tool_calls = message.tool_calls.map((call, index) => ({ index, id: call.id, type: 'function' as const, function: { name: call.function.name, arguments: call.function.arguments } }));
    }
    chunks.push({ ...base, choices: [{ index: choice.index, delta, finish_reason: null }] });
    chunks.push({ ...base, choices: [{ index: choice.index, delta: {}, finish_reason: choice.finish_reason ?? 'stop' }] });
  }
  if (completion.usage !== undefined) chunks.push({ ...base, choices: [], usage: completion.usage });
  return chunks;
}

interface ChoiceState {
  content: string | undefined;
  reasoning: string | undefined;
  refusal: string | undefined;
  tools: ToolCall[];
  finish: ChatChoice['finish_reason'];
}

/** Collects a stream's chunks into the response they add up to. */
export class ChunkCollector {
  private id = '';
  private created = 0;
  private model = '';
  private usage: Usage | undefined;
  private readonly choices = new Map<number, ChoiceState>();
  private count = 0;

  get empty(): boolean {
    return this.count === 0;
  }

  add(chunk: ChatCompletionChunk): void {
    if (this.count++ === 0) {
      this.id = chunk.id;
      this.created = chunk.created;
      this.model = chunk.model;
    }
    if (chunk.usage) this.usage = chunk.usage;
    for (const choice of chunk.choices) {
      let state = this.choices.get(choice.index);
      if (state === undefined) {
        state = { content: undefined, reasoning: undefined, refusal: undefined, tools: [], finish: null };
        this.choices.set(choice.index, state);
      }
      // A legacy completion's chunk (POST /v1/completions) carries `text` where a chat chunk has a delta.
      const delta = choice.delta ?? {};
      const text = (choice as { text?: unknown }).text;
      if (typeof text === 'string') state.content = (state.content ?? '') + text;
      if (typeof delta.content === 'string') state.content = (state.content ?? '') + delta.content;
      if (typeof delta.reasoning_content === 'string') state.reasoning = (state.reasoning ?? '') + delta.reasoning_content;
      if (typeof delta.refusal === 'string') state.refusal = (state.refusal ?? '') + delta.refusal;
      for (const call of delta.tool_calls ?? []) {
        let tool = state.tools[call.index];
        if (tool === undefined) {
          tool = { id: call.id ?? '', type: 'function', function: { name: call.function?.name ?? '', arguments: '' } };
          state.tools[call.index] = tool;
        } else if (call.id !== undefined && tool.id === '') tool.id = call.id;
        if (call.function?.name !== undefined && tool.function.name === '') tool.function.name = call.function.name;
        if (call.function?.arguments !== undefined) tool.function.arguments += call.function.arguments;
      }
      if (choice.finish_reason !== null && choice.finish_reason !== undefined) state.finish = choice.finish_reason;
    }
  }

  /** The response so far (partial when the stream was cut). */
  response(): ChatCompletion {
    const choices: ChatChoice[] = [...this.choices.entries()].sort((a, b) => a[0] - b[0]).map(([index, state]) => {
      const message: ChatChoice['message'] = { role: 'assistant', content: state.content ?? null };
      if (state.reasoning !== undefined) message.reasoning_content = state.reasoning;
      if (state.refusal !== undefined) message.refusal = state.refusal;
      const tools = state.tools.filter((tool) => tool !== undefined);
      if (tools.length > 0) message.tool_calls = tools;
      return { index, message, finish_reason: state.finish };
    });
    const completion: ChatCompletion = { id: this.id, object: 'chat.completion', created: this.created, model: this.model, choices };
    if (this.usage !== undefined) completion.usage = this.usage;
    return completion;
  }
}
