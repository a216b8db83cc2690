/**
 * The official SDKs as drivers: openai 7 (Chat Completions and Responses),
 * @anthropic-ai/sdk 1.x (with `role: "system"`, betas and extended thinking
 * with a tool turn) and @google/genai 3.
 */
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import {
  expectContains, expectEqual, expectToolAnswer, lookupSecret, STRUCTURED_PROMPT, TEXT_PROMPT, TEXT_REPLY,
  TOOL_DESCRIPTION, TOOL_NAME, TOOL_PARAMETERS, TOOL_PROMPT, WEATHER, WEATHER_SCHEMA, type ClientDriver, type Harness,
} from './harness.js';

type Json = Record<string, any>;

function secretFor(argumentsJson: string | undefined): string {
  const args = JSON.parse(argumentsJson || '{}') as { key?: string };
  return lookupSecret(String(args.key));
}

export function openaiChatDriver(harness: Harness): ClientDriver {
  const client = new OpenAI({ baseURL: `${harness.url}/v1`, apiKey: 'conformance', maxRetries: 0 });
  const tools = [{ type: 'function' as const, function: { name: TOOL_NAME, description: TOOL_DESCRIPTION, parameters: TOOL_PARAMETERS } }];
  const streamed = async (body: Json): Promise<{ text: string; calls: Json[] }> => {
    const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } } as any);
    let text = '';
    const calls: Json[] = [];
    for await (const chunk of stream as any) {
      const delta = chunk.choices[0]?.delta ?? {};
      text += delta.content ?? '';
      for (const call of delta.tool_calls ?? []) {
        calls[call.index] ??= { id: call.id, type: 'function', function: { name: call.function?.name, arguments: '' } };
        calls[call.index].function.arguments += call.function?.arguments ?? '';
      }
    }
    return { text, calls };
  };
  const roundTrip = async (model: string, stream: boolean): Promise<void> => {
    const messages: Json[] = [{ role: 'user', content: TOOL_PROMPT }];
    const first = stream
      ? await streamed({ model, messages, tools })
      : await client.chat.completions.create({ model, messages: messages as any, tools }).then((r) => ({ text: '', calls: (r.choices[0].message.tool_calls ?? []) as Json[] }));
    if (first.calls.length === 0) throw new Error('no tool call');
    messages.push({ role: 'assistant', content: null, tool_calls: first.calls });
    for (const call of first.calls) messages.push({ role: 'tool', tool_call_id: call.id, content: secretFor(call.function.arguments) });
    const final = stream
      ? (await streamed({ model, messages, tools })).text
      : (await client.chat.completions.create({ model, messages: messages as any, tools })).choices[0].message.content;
    expectToolAnswer(final);
  };
  return {
    client: 'openai 7: chat.completions',
    surface: 'OpenAI /v1/chat/completions',
    checks: {
      text: async (model) => {
        const reply = await client.chat.completions.create({ model, messages: [{ role: 'user', content: TEXT_PROMPT }] });
        expectEqual(reply.choices[0].message.content, TEXT_REPLY, 'text');
      },
      stream: async (model) => expectEqual((await streamed({ model, messages: [{ role: 'user', content: TEXT_PROMPT }] })).text, TEXT_REPLY, 'text'),
      'tool round trip': (model) => roundTrip(model, false),
      'tool round trip (stream)': (model) => roundTrip(model, true),
      'structured output': async (model) => {
        const reply = await client.chat.completions.create({
          model,
          messages: [{ role: 'user', content: STRUCTURED_PROMPT }],
          response_format: { type: 'json_schema', json_schema: { name: 'weather', schema: WEATHER_SCHEMA, strict: true } },
        });
        expectEqual(JSON.parse(reply.choices[0].message.content ?? 'null'), WEATHER, 'parsed JSON');
      },
    },
  };
}

export function openaiResponsesDriver(harness: Harness): ClientDriver {
  const client = new OpenAI({ baseURL: `${harness.url}/v1`, apiKey: 'conformance', maxRetries: 0 });
  const tools = [{ type: 'function' as const, name: TOOL_NAME, description: TOOL_DESCRIPTION, parameters: TOOL_PARAMETERS as any, strict: true }];
  const streamed = async (body: Json): Promise<{ text: string; output: Json[] }> => {
    const stream = await client.responses.create({ ...body, stream: true } as any);
    let text = '';
    let output: Json[] = [];
    for await (const event of stream as any) {
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') output = event.response.output;
      if (event.type === 'error' || event.type === 'response.failed') throw new Error(`stream error: ${JSON.stringify(event)}`);
    }
    return { text, output };
  };
  const roundTrip = async (model: string, stream: boolean): Promise<void> => {
    const input: Json[] = [{ role: 'user', content: TOOL_PROMPT }];
    const first = stream ? (await streamed({ model, input, tools })).output : ((await client.responses.create({ model, input: input as any, tools })).output as Json[]);
    const calls = first.filter((item) => item.type === 'function_call');
    if (calls.length === 0) throw new Error(`no function_call in ${JSON.stringify(first)}`);
    input.push(...calls);
    for (const call of calls) input.push({ type: 'function_call_output', call_id: call.call_id, output: secretFor(call.arguments) });
    const final = stream ? (await streamed({ model, input, tools })).text : (await client.responses.create({ model, input: input as any, tools })).output_text;
    expectToolAnswer(final);
  };
  return {
    client: 'openai 7: responses',
    surface: 'OpenAI /v1/responses',
    checks: {
      text: async (model) => expectEqual((await client.responses.create({ model, input: TEXT_PROMPT })).output_text, TEXT_REPLY, 'text'),
      stream: async (model) => expectEqual((await streamed({ model, input: TEXT_PROMPT })).text, TEXT_REPLY, 'text'),
      'tool round trip': (model) => roundTrip(model, false),
      'tool round trip (stream)': (model) => roundTrip(model, true),
      'structured output': async (model) => {
        const reply = await client.responses.create({
          model,
          input: STRUCTURED_PROMPT,
          text: { format: { type: 'json_schema', name: 'weather', schema: WEATHER_SCHEMA as any, strict: true } },
        });
        expectEqual(JSON.parse(reply.output_text), WEATHER, 'parsed JSON');
      },
    },
  };
}

export function anthropicDriver(harness: Harness): ClientDriver {
  const client = new Anthropic({ baseURL: `${harness.url}/anthropic`, apiKey: 'conformance', maxRetries: 0 });
  const tools = [{ name: TOOL_NAME, description: TOOL_DESCRIPTION, input_schema: TOOL_PARAMETERS as any }];
  const textOf = (content: Json[]): string => content.filter((block) => block.type === 'text').map((block) => block.text).join('');
  const send = async (body: Json, stream: boolean): Promise<Json[]> => {
    if (!stream) return (await client.messages.create({ max_tokens: 1024, ...body } as any) as any).content;
    return (await client.messages.stream({ max_tokens: 1024, ...body } as any).finalMessage()).content as Json[];
  };
  const roundTrip = async (model: string, stream: boolean, extra: Json = {}): Promise<void> => {
    const messages: Json[] = [{ role: 'user', content: TOOL_PROMPT }];
    const first = await send({ model, messages, tools, ...extra }, stream);
    const uses = first.filter((block) => block.type === 'tool_use');
    if (uses.length === 0) throw new Error(`no tool_use in ${JSON.stringify(first)}`);
    messages.push({ role: 'assistant', content: first });
    messages.push({ role: 'user', content: uses.map((use) => ({ type: 'tool_result', tool_use_id: use.id, content: lookupSecret(String(use.input.key)) })) });
    expectToolAnswer(textOf(await send({ model, messages, tools, ...extra }, stream)));
  };
  return {
    client: '@anthropic-ai/sdk 1.x',
    surface: 'Anthropic /anthropic/v1/messages',
    checks: {
      text: async (model) => expectEqual(textOf(await send({ model, messages: [{ role: 'user', content: TEXT_PROMPT }] }, false)), TEXT_REPLY, 'text'),
      stream: async (model) => expectEqual(textOf(await send({ model, messages: [{ role: 'user', content: TEXT_PROMPT }] }, true)), TEXT_REPLY, 'text'),
      'tool round trip': (model) => roundTrip(model, false),
      'tool round trip (stream)': (model) => roundTrip(model, true),
      'structured output': async (model) => {
        const content = await send({
          model,
          messages: [{ role: 'user', content: STRUCTURED_PROMPT }],
          output_config: { format: { type: 'json_schema', schema: WEATHER_SCHEMA } },
        }, false);
        expectEqual(JSON.parse(textOf(content)), WEATHER, 'parsed JSON');
      },
      'role: "system" in messages': async (model) => {
        const content = await send({ model, messages: [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: TEXT_PROMPT }] }, false);
        expectEqual(textOf(content), TEXT_REPLY, 'text');
      },
      'betas (anthropic-beta header)': async (model) => {
        const before = harness.mock.requests.length;
        const reply = await client.beta.messages.create({
          model, max_tokens: 1024, betas: ['context-management-2025-06-27'],
          messages: [{ role: 'user', content: TEXT_PROMPT }],
        } as any) as any;
        expectEqual(textOf(reply.content), TEXT_REPLY, 'text');
        if (model.startsWith('anthropic/')) {
          const upstream = harness.mock.requests.slice(before).find((request) => request.path === '/v1/messages');
          expectContains(String(upstream?.headers['anthropic-beta']), 'context-management-2025-06-27', 'upstream anthropic-beta header');
        }
      },
      'extended thinking with a tool turn': (model) => roundTrip(model, false, { max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 } }),
    },
  };
}

export function genaiDriver(harness: Harness): ClientDriver {
  const ai = new GoogleGenAI({ apiKey: 'conformance', httpOptions: { baseUrl: `${harness.url}/genai` } });
  const tools = [{ functionDeclarations: [{ name: TOOL_NAME, description: TOOL_DESCRIPTION, parametersJsonSchema: TOOL_PARAMETERS }] }];
  const send = async (model: string, contents: any, config: Json, stream: boolean): Promise<{ text: string; content?: Json; calls: Json[] }> => {
    if (!stream) {
      const reply = await ai.models.generateContent({ model, contents, config });
      return { text: reply.text ?? '', content: reply.candidates?.[0]?.content as Json, calls: (reply.functionCalls ?? []) as Json[] };
    }
    let text = '';
    const parts: Json[] = [];
    for await (const chunk of await ai.models.generateContentStream({ model, contents, config })) {
      text += chunk.text ?? '';
      parts.push(...((chunk.candidates?.[0]?.content?.parts ?? []) as Json[]));
    }
    return { text, content: { role: 'model', parts }, calls: parts.filter((part) => part.functionCall).map((part) => part.functionCall) };
  };
  const roundTrip = async (model: string, stream: boolean): Promise<void> => {
    const contents: Json[] = [{ role: 'user', parts: [{ text: TOOL_PROMPT }] }];
    const first = await send(model, contents, { tools }, stream);
    if (first.calls.length === 0) throw new Error('no functionCall');
    contents.push(first.content!);
    contents.push({ role: 'user', parts: first.calls.map((call) => ({ functionResponse: { name: call.name, response: { result: lookupSecret(String(call.args.key)) } } })) });
    expectToolAnswer((await send(model, contents, { tools }, stream)).text);
  };
  return {
    client: '@google/genai 3',
    surface: 'Gemini /genai/v1beta',
    checks: {
      text: async (model) => expectEqual((await send(model, TEXT_PROMPT, {}, false)).text, TEXT_REPLY, 'text'),
      stream: async (model) => expectEqual((await send(model, TEXT_PROMPT, {}, true)).text, TEXT_REPLY, 'text'),
      'tool round trip': (model) => roundTrip(model, false),
      'tool round trip (stream)': (model) => roundTrip(model, true),
      'structured output': async (model) => {
        const reply = await send(model, STRUCTURED_PROMPT, { responseMimeType: 'application/json', responseJsonSchema: WEATHER_SCHEMA }, false);
        expectEqual(JSON.parse(reply.text), WEATHER, 'parsed JSON');
      },
    },
  };
}
