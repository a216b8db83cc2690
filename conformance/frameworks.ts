/**
 * The agent frameworks as drivers: the AI SDK 7 (OpenAI Responses and chat,
 * Anthropic, Google, OpenAI-compatible providers), LangChain JS (ChatOpenAI,
 * ChatAnthropic with bindTools and withStructuredOutput) and the OpenAI
 * Agents SDK (Responses and Chat Completions models).
 */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatAnthropic } from '@langchain/anthropic';
import { HumanMessage, ToolMessage, type AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { Agent, OpenAIChatCompletionsModel, OpenAIResponsesModel, run, setTracingDisabled, tool as agentTool } from '@openai/agents';
import { generateText, jsonSchema, Output, stepCountIs, streamText, tool, type LanguageModel } from 'ai';
import OpenAI from 'openai';
import { z } from 'zod';
import {
  expectEqual, expectToolAnswer, lookupSecret, STRUCTURED_PROMPT, TEXT_PROMPT, TEXT_REPLY, TOOL_DESCRIPTION,
  TOOL_NAME, TOOL_PARAMETERS, TOOL_PROMPT, WEATHER, WEATHER_SCHEMA, type ClientDriver, type DriverFactory, type Harness,
} from './harness.js';

const KEY = 'conformance';

function aiSdkDriver(client: string, surface: string, modelFor: (id: string) => LanguageModel, pending?: ClientDriver['pending']): ClientDriver {
  const tools = {
    [TOOL_NAME]: tool({
      description: TOOL_DESCRIPTION,
      inputSchema: jsonSchema<{ key: string }>(TOOL_PARAMETERS as any),
      execute: async ({ key }: { key: string }) => lookupSecret(key),
    }),
  };
  /** The streamed text; an error part fails the check (streamText reports errors in the stream, it does not throw). */
  const streamed = async (options: Record<string, unknown>): Promise<string> => {
    const result = streamText({ ...options, onError: () => {} } as any);
    let text = '';
    for await (const part of result.fullStream as AsyncIterable<any>) {
      if (part.type === 'text-delta') text += part.text ?? part.delta ?? '';
      if (part.type === 'error') throw part.error instanceof Error ? part.error : new Error(JSON.stringify(part.error));
    }
    return text;
  };
  return {
    client,
    surface,
    pending,
    checks: {
      text: async (model) => expectEqual((await generateText({ model: modelFor(model), prompt: TEXT_PROMPT, maxRetries: 0 })).text, TEXT_REPLY, 'text'),
      stream: async (model) => expectEqual(await streamed({ model: modelFor(model), prompt: TEXT_PROMPT, maxRetries: 0 }), TEXT_REPLY, 'text'),
      'tool round trip': async (model) => {
        const result = await generateText({ model: modelFor(model), prompt: TOOL_PROMPT, tools, stopWhen: stepCountIs(3), maxRetries: 0 });
        expectToolAnswer(result.text);
      },
      'tool round trip (stream)': async (model) => {
        expectToolAnswer(await streamed({ model: modelFor(model), prompt: TOOL_PROMPT, tools, stopWhen: stepCountIs(3), maxRetries: 0 }));
      },
      'structured output': async (model) => {
        const result = await generateText({
          model: modelFor(model),
          prompt: STRUCTURED_PROMPT,
          output: Output.object({ schema: jsonSchema(WEATHER_SCHEMA as any), name: 'weather' }),
          maxRetries: 0,
        });
        expectEqual(result.output, WEATHER, 'object');
      },
    },
  };
}

export const aiSdkDrivers: DriverFactory[] = [
  (h) => aiSdkDriver('AI SDK 7: @ai-sdk/openai (Responses)', 'OpenAI /v1/responses', (id) => createOpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY })(id)),
  (h) => aiSdkDriver('AI SDK 7: @ai-sdk/openai .chat', 'OpenAI /v1/chat/completions', (id) => createOpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY }).chat(id)),
  (h) => aiSdkDriver('AI SDK 7: @ai-sdk/anthropic', 'Anthropic /anthropic/v1/messages', (id) => createAnthropic({ baseURL: `${h.url}/anthropic/v1`, apiKey: KEY })(id)),
  (h) => aiSdkDriver('AI SDK 7: @ai-sdk/google', 'Gemini /genai/v1beta', (id) => createGoogleGenerativeAI({ baseURL: `${h.url}/genai/v1beta`, apiKey: KEY })(id)),
  (h) => aiSdkDriver('AI SDK 7: @ai-sdk/openai-compatible', 'OpenAI /v1/chat/completions', (id) =>
    createOpenAICompatible({ name: 'heimdall', baseURL: `${h.url}/v1`, apiKey: KEY, supportsStructuredOutputs: true }).chatModel(id)),
];

type ChatModel = ChatOpenAI | ChatAnthropic;

function langchainDriver(client: string, surface: string, make: (model: string) => ChatModel): ClientDriver {
  const toolSpec = { type: 'function' as const, function: { name: TOOL_NAME, description: TOOL_DESCRIPTION, parameters: TOOL_PARAMETERS } };
  const roundTrip = async (model: string, stream: boolean): Promise<void> => {
    const bound = make(model).bindTools([toolSpec]);
    const call = async (messages: BaseMessage[]): Promise<AIMessageChunk> => {
      if (!stream) return (await bound.invoke(messages)) as AIMessageChunk;
      let full: AIMessageChunk | undefined;
      for await (const chunk of await bound.stream(messages)) full = full === undefined ? chunk : full.concat(chunk);
      if (full === undefined) throw new Error('empty stream');
      return full;
    };
    const messages: BaseMessage[] = [new HumanMessage(TOOL_PROMPT)];
    const first = await call(messages);
    const calls = first.tool_calls ?? [];
    if (calls.length === 0) throw new Error(`no tool call in ${JSON.stringify(first.content)}`);
    messages.push(first);
    for (const c of calls) messages.push(new ToolMessage({ tool_call_id: String(c.id), content: lookupSecret(String(c.args.key)) }));
    expectToolAnswer((await call(messages)).text);
  };
  return {
    client,
    surface,
    checks: {
      text: async (model) => expectEqual((await make(model).invoke(TEXT_PROMPT)).text, TEXT_REPLY, 'text'),
      stream: async (model) => {
        let text = '';
        for await (const chunk of await make(model).stream(TEXT_PROMPT)) text += chunk.text;
        expectEqual(text, TEXT_REPLY, 'text');
      },
      'tool round trip': (model) => roundTrip(model, false),
      'tool round trip (stream)': (model) => roundTrip(model, true),
      'structured output': async (model) => {
        const structured = make(model).withStructuredOutput({ title: 'weather', ...WEATHER_SCHEMA } as Record<string, unknown>, { name: 'weather' });
        expectEqual(await structured.invoke(STRUCTURED_PROMPT), WEATHER, 'object');
      },
    },
  };
}

export const langchainDrivers: DriverFactory[] = [
  (h) => langchainDriver('LangChain: ChatOpenAI', 'OpenAI /v1/chat/completions', (model) =>
    new ChatOpenAI({ model, apiKey: KEY, configuration: { baseURL: `${h.url}/v1` }, maxRetries: 0 })),
  (h) => langchainDriver('LangChain: ChatAnthropic', 'Anthropic /anthropic/v1/messages', (model) =>
    new ChatAnthropic({ model, apiKey: KEY, anthropicApiUrl: `${h.url}/anthropic`, maxRetries: 0 })),
];

setTracingDisabled(true);

function agentsDriver(h: Harness, client: string, surface: string, mode: 'responses' | 'chat', pending?: ClientDriver['pending']): ClientDriver {
  const openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY, maxRetries: 0 });
  const modelOf = (id: string) => (mode === 'responses' ? new OpenAIResponsesModel(openai as any, id) : new OpenAIChatCompletionsModel(openai as any, id));
  const lookup = agentTool({
    name: TOOL_NAME,
    description: TOOL_DESCRIPTION,
    parameters: z.object({ key: z.string() }),
    execute: async ({ key }) => lookupSecret(key),
  });
  const agent = (id: string, extra: Record<string, unknown> = {}) => new Agent({ name: 'conformance', instructions: 'Answer briefly.', model: modelOf(id), ...extra });
  const streamed = async (a: Agent<any, any>, input: string): Promise<unknown> => {
    const result = await run(a, input, { stream: true });
    for await (const _event of result) { /* drain */ }
    await result.completed;
    if (result.error) throw result.error;
    return result.finalOutput;
  };
  return {
    client,
    surface,
    pending,
    checks: {
      text: async (model) => expectEqual((await run(agent(model), TEXT_PROMPT)).finalOutput, TEXT_REPLY, 'final output'),
      stream: async (model) => expectEqual(await streamed(agent(model), TEXT_PROMPT), TEXT_REPLY, 'final output'),
      'tool round trip': async (model) => expectToolAnswer((await run(agent(model, { tools: [lookup] }), TOOL_PROMPT)).finalOutput),
      'tool round trip (stream)': async (model) => expectToolAnswer(await streamed(agent(model, { tools: [lookup] }), TOOL_PROMPT)),
      'structured output': async (model) => {
        const outputType = z.object({ city: z.string(), temperature: z.number() });
        expectEqual((await run(agent(model, { outputType }), STRUCTURED_PROMPT)).finalOutput, WEATHER, 'final output');
      },
    },
  };
}

export const agentsSdkDrivers: DriverFactory[] = [
  (h) => agentsDriver(h, 'OpenAI Agents SDK: OpenAIResponsesModel', 'OpenAI /v1/responses', 'responses'),
  (h) => agentsDriver(h, 'OpenAI Agents SDK: OpenAIChatCompletionsModel', 'OpenAI /v1/chat/completions', 'chat'),
];
