import { describe, expect, it } from 'vitest';
import { bedrockChatCodec } from '../../../src/formats/bedrock/codec.js';
import { bedrockModelFamily } from '../../../src/formats/bedrock/request.js';
import { GatewayError } from '../../../src/errors/gateway-error.js';
import type { ChatRequest } from '../../../src/formats/openai/types.js';

const NOVA = { model: 'amazon.nova-pro-v1:0', stream: false };
const CLAUDE = { model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', stream: true };
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

function encode(request: Partial<ChatRequest>, options = NOVA) {
  return bedrockChatCodec.encodeRequest({ model: 'x', messages: [], ...request } as ChatRequest, options);
}

function thrown(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a GatewayError');
}

describe('bedrockChatCodec.encodeRequest', () => {
  it('maps system, messages and inference parameters; no model in the body', () => {
    const { body, warnings } = encode({
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in English.' }] },
        { role: 'user', content: 'Hi' },
      ],
      max_tokens: 512,
      temperature: 0.2,
      top_p: 0.9,
      stop: 'END',
    });
    expect(body).toEqual({
      messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
      system: [{ text: 'You are terse.' }, { text: 'Answer in English.' }],
      inferenceConfig: { maxTokens: 512, temperature: 0.2, topP: 0.9, stopSequences: ['END'] },
    });
    expect(warnings).toEqual([]);
  });

  it('prefers max_completion_tokens and falls back to defaultMaxTokens', () => {
    expect((encode({ messages: [{ role: 'user', content: 'a' }], max_tokens: 5, max_completion_tokens: 7 }).body as any).inferenceConfig).toEqual({ maxTokens: 7 });
    const { body } = bedrockChatCodec.encodeRequest({ model: 'x', messages: [{ role: 'user', content: 'a' }] }, { ...NOVA, defaultMaxTokens: 4096 });
    expect((body as any).inferenceConfig).toEqual({ maxTokens: 4096 });
  });

  it('turns tool calls and tool results into toolUse/toolResult, merging consecutive user turns', () => {
    const { body } = encode({
      messages: [
        { role: 'user', content: 'What is the most popular song on WZPZ and WKRP?' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [
            { id: 'tooluse_1', type: 'function', function: { name: 'top_song', arguments: '{"sign":"WZPZ"}' } },
            { id: 'tooluse_2', type: 'function', function: { name: 'top_song', arguments: '{"sign":"WKRP"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'tooluse_1', content: 'Elemental Hotel' },
        { role: 'tool', tool_call_id: 'tooluse_2', content: [{ type: 'text', text: 'Bad Moon' }] },
        { role: 'user', content: 'Thanks. Which is older?' },
      ],
      tools: [{ type: 'function', function: { name: 'top_song', description: 'Most popular song on a station.', parameters: { type: 'object', properties: { sign: { type: 'string' } }, required: ['sign'] } } }],
      tool_choice: 'auto',
    });
    expect((body as any).messages).toEqual([
      { role: 'user', content: [{ text: 'What is the most popular song on WZPZ and WKRP?' }] },
      {
        role: 'assistant',
        content: [
          { toolUse: { toolUseId: 'tooluse_1', name: 'top_song', input: { sign: 'WZPZ' } } },
          { toolUse: { toolUseId: 'tooluse_2', name: 'top_song', input: { sign: 'WKRP' } } },
        ],
      },
      {
        role: 'user',
        content: [
          { toolResult: { toolUseId: 'tooluse_1', content: [{ text: 'Elemental Hotel' }] } },
          { toolResult: { toolUseId: 'tooluse_2', content: [{ text: 'Bad Moon' }] } },
          { text: 'Thanks. Which is older?' },
        ],
      },
    ]);
    expect((body as any).toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'top_song', description: 'Most popular song on a station.', inputSchema: { json: { type: 'object', properties: { sign: { type: 'string' } }, required: ['sign'] } } } }],
      toolChoice: { auto: {} },
    });
  });

  it('maps tool_choice required/function, and none by leaving tools out when the history has no tool blocks', () => {
    const tools = [{ type: 'function' as const, function: { name: 'f', strict: true } }];
    const messages = [{ role: 'user' as const, content: 'x' }];
    expect((encode({ messages, tools, tool_choice: 'required' }).body as any).toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'f', inputSchema: { json: { type: 'object', properties: {} } }, strict: true } }],
      toolChoice: { any: {} },
    });
    expect((encode({ messages, tools, tool_choice: { type: 'function', function: { name: 'f' } } }).body as any).toolConfig.toolChoice).toEqual({ tool: { name: 'f' } });
    const none = encode({ messages, tools, tool_choice: 'none' });
    expect((none.body as any).toolConfig).toBeUndefined();
    expect(none.warnings).toEqual([]);
  });

  it('keeps tools with a warning for tool_choice none when the history uses tools', () => {
    const { body, warnings } = encode({
      messages: [
        { role: 'assistant', content: null, tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 't', content: 'ok' },
      ],
      tools: [{ type: 'function', function: { name: 'f' } }],
      tool_choice: 'none',
    });
    expect((body as any).toolConfig.tools).toHaveLength(1);
    expect((body as any).toolConfig.toolChoice).toBeUndefined();
    expect(warnings.map((w) => w.param)).toEqual(['tool_choice']);
  });

  it('sends data-URL images as bytes and refuses http image URLs naming the field', () => {
    const { body } = encode({
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] }],
    });
    expect((body as any).messages[0].content[1]).toEqual({ image: { format: 'png', source: { bytes: PNG } } });
    const error = thrown(() => encode({
      messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } }] }],
    }));
    expect(error.code).toBe('HD_ERR_REQUEST_INVALID_FIELD');
    expect(error.status).toBe(400);
    expect(error.param).toBe('messages[0].content[1].image_url.url');
  });

  it('sends s3:// images as s3Location and PDFs as document blocks', () => {
    const { body } = encode({
      messages: [{
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 's3://my-bucket/photos/cat.JPG' } },
          { type: 'file', file: { filename: 'Q3 report (final).pdf', file_data: 'data:application/pdf;base64,JVBERi0x' } },
        ],
      }],
    });
    expect((body as any).messages[0].content).toEqual([
      { image: { format: 'jpeg', source: { s3Location: { uri: 's3://my-bucket/photos/cat.JPG' } } } },
      { document: { format: 'pdf', name: 'Q3 report (final)', source: { bytes: 'JVBERi0x' } } },
    ]);
  });

  it('puts top_k and thinking where each model family takes them', () => {
    const claude = encode({ messages: [{ role: 'user', content: 'x' }], top_k: 40, thinking: { type: 'disabled' } }, CLAUDE);
    expect((claude.body as any).additionalModelRequestFields).toEqual({ top_k: 40, thinking: { type: 'disabled' } });
    expect(claude.warnings).toEqual([]);
    const thinking = encode({ messages: [{ role: 'user', content: 'x' }], top_k: 40, temperature: 0.5, top_p: 0.99, thinking: { type: 'enabled', budget_tokens: 2048 } }, CLAUDE);
    expect((thinking.body as any).additionalModelRequestFields).toEqual({ thinking: { type: 'enabled', budget_tokens: 2048 } });
    expect((thinking.body as any).inferenceConfig).toEqual({ topP: 0.99 });
    expect(thinking.warnings.map((w) => w.param)).toEqual(['temperature', 'top_k']);
    const nova = encode({ messages: [{ role: 'user', content: 'x' }], top_k: 20 });
    expect((nova.body as any).additionalModelRequestFields).toEqual({ inferenceConfig: { topK: 20 } });
    const llama = encode({ messages: [{ role: 'user', content: 'x' }], top_k: 20, thinking: { type: 'enabled', budget_tokens: 1024 } }, { model: 'meta.llama3-3-70b-instruct-v1:0', stream: false });
    expect((llama.body as any).additionalModelRequestFields).toBeUndefined();
    expect(llama.warnings.map((w) => w.param)).toEqual(['top_k', 'thinking']);
  });

  it('drops what Converse cannot take, each with a warning', () => {
    const { body, warnings } = encode({
      messages: [{ role: 'user', content: 'x' }],
      n: 2, presence_penalty: 0.5, frequency_penalty: 0.1, seed: 7, logprobs: true, logit_bias: { '1': 2 }, user: 'u-1',
      parallel_tool_calls: false, response_format: { type: 'json_object' },
    });
    expect(warnings.map((w) => w.param).sort()).toEqual(
      ['frequency_penalty', 'logit_bias', 'logprobs', 'n', 'parallel_tool_calls', 'presence_penalty', 'response_format', 'seed', 'user'],
    );
    expect(Object.keys(body as object)).toEqual(['messages']);
  });

  it('does not warn for default values, warns for unknown extras, passes Converse-native fields through', () => {
    const { body, warnings } = encode({
      messages: [{ role: 'user', content: 'x' }],
      n: 1, logprobs: false, presence_penalty: 0, frequency_penalty: 0, logit_bias: {}, parallel_tool_calls: true, stream_options: { include_usage: true },
      store: true,
      guardrailConfig: { guardrailIdentifier: 'gr-1', guardrailVersion: '1' },
      additionalModelRequestFields: { anthropic_beta: ['context-1m-2025-08-07'] },
      top_k: 10,
    }, CLAUDE);
    expect(warnings).toEqual([{ param: 'store', message: "Bedrock Converse does not take 'store'; it was dropped." }]);
    expect((body as any).guardrailConfig).toEqual({ guardrailIdentifier: 'gr-1', guardrailVersion: '1' });
    expect((body as any).additionalModelRequestFields).toEqual({ top_k: 10, anthropic_beta: ['context-1m-2025-08-07'] });
  });

  it('maps a json_schema response_format to outputConfig.textFormat with the schema as a string', () => {
    const schema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
    const { body } = encode({ messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 'person', schema } } });
    expect((body as any).outputConfig).toEqual({
      textFormat: { type: 'json_schema', structure: { jsonSchema: { schema: JSON.stringify(schema), name: 'person' } } },
    });
  });

  it('replays signed reasoning and adds cache points after cache_control parts', () => {
    const { body } = encode({
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Long context', cache_control: { type: 'ephemeral' } }] },
        { role: 'user', content: 'q1' },
        { role: 'assistant', content: 'a1', reasoning_content: 'thought', reasoning_signature: 'sig' },
        { role: 'user', content: 'q2' },
      ],
    }, CLAUDE);
    expect((body as any).system).toEqual([{ text: 'Long context' }, { cachePoint: { type: 'default' } }]);
    expect((body as any).messages[1]).toEqual({
      role: 'assistant',
      content: [{ reasoningContent: { reasoningText: { text: 'thought', signature: 'sig' } } }, { text: 'a1' }],
    });
  });

  it('refuses bad tool call arguments and unknown roles with the field named', () => {
    expect(thrown(() => encode({
      messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{oops' } }] }],
    })).param).toBe('messages[0].tool_calls[0].function.arguments');
    expect(thrown(() => encode({ messages: [{ role: 'function', content: 'x' }] })).param).toBe('messages[0].role');
  });
});

describe('bedrockModelFamily', () => {
  it('reads the vendor from ids, inference profiles and ARNs', () => {
    expect(bedrockModelFamily('anthropic.claude-3-5-haiku-20241022-v1:0')).toBe('anthropic');
    expect(bedrockModelFamily('global.anthropic.claude-sonnet-4-5-20250929-v1:0')).toBe('anthropic');
    expect(bedrockModelFamily('apac.amazon.nova-lite-v1:0')).toBe('amazon');
    expect(bedrockModelFamily('arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-3-70b-instruct-v1:0')).toBe('meta');
    expect(bedrockModelFamily('arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3')).toBe('');
  });
});

describe('an Anthropic caller\'s betas (EncodeOptions.anthropicBetas)', () => {
  const messages: ChatRequest['messages'] = [{ role: 'user', content: 'hi' }];
  const betas = ['interleaved-thinking-2025-05-14', 'context-1m-2025-08-07'];

  it('reach Claude as additionalModelRequestFields.anthropic_beta, next to its thinking', () => {
    const { body, warnings } = encode({ messages, thinking: { type: 'enabled', budget_tokens: 2048 } }, { ...CLAUDE, anthropicBetas: betas } as typeof CLAUDE);
    expect((body as Record<string, unknown>).additionalModelRequestFields).toEqual({ thinking: { type: 'enabled', budget_tokens: 2048 }, anthropic_beta: betas });
    expect(warnings).toEqual([]);
  });

  it('a beta Bedrock does not take is dropped with a warning (Bedrock refuses it: "invalid beta flag")', () => {
    const { body, warnings } = encode({ messages }, { ...CLAUDE, anthropicBetas: ['claude-code-20250219', 'interleaved-thinking-2025-05-14'] } as typeof CLAUDE);
    expect((body as Record<string, unknown>).additionalModelRequestFields).toEqual({ anthropic_beta: ['interleaved-thinking-2025-05-14'] });
    expect(warnings).toEqual([{ param: 'anthropic-beta', message: "Claude on Bedrock does not take the beta 'claude-code-20250219'; dropped." }]);
    const none = encode({ messages }, { ...CLAUDE, anthropicBetas: ['oauth-2025-04-20'] } as typeof CLAUDE);
    expect(none.body).not.toHaveProperty('additionalModelRequestFields');
    expect(none.warnings.map((warning) => warning.param)).toEqual(['anthropic-beta']);
  });

  it('are left out, without a warning, for a model that is not Claude; none given, nothing is added', () => {
    const nova = encode({ messages }, { ...NOVA, anthropicBetas: betas } as typeof NOVA);
    expect(nova.body).not.toHaveProperty('additionalModelRequestFields');
    expect(nova.warnings).toEqual([]);
    expect(encode({ messages }, { ...CLAUDE, anthropicBetas: [] } as typeof CLAUDE).body).not.toHaveProperty('additionalModelRequestFields');
  });
});
