/**
 * The usage of raw answers (src/gateway/raw-usage.ts): every provider's shape,
 * a JSON answer too large to parse whole (its tail), and event streams whose
 * counts come in several events, split at awkward byte boundaries.
 */
import { describe, expect, it } from 'vitest';
import { RawUsageReader, usageOfJson } from '../../src/gateway/raw-usage.js';

function read(type: string, chunks: Array<string | Buffer>, headers: Record<string, string> = {}): ReturnType<RawUsageReader['end']> {
  const reader = new RawUsageReader(type, headers);
  for (const chunk of chunks) reader.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return reader.end();
}

describe('usageOfJson', () => {
  it('reads each provider\'s shape', () => {
    expect(usageOfJson({ usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } })).toMatchObject({ prompt_tokens: 3, completion_tokens: 4 });
    expect(usageOfJson({ usage: { input_tokens: 10, output_tokens: 2, total_tokens: 12, input_tokens_details: { text_tokens: 10 } } })).toMatchObject({ prompt_tokens: 10, completion_tokens: 2 });
    expect(usageOfJson({ usage: { input_tokens: 5, output_tokens: 2, cache_read_input_tokens: 3, cache_creation_input_tokens: 1 } }))
      .toMatchObject({ prompt_tokens: 9, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 3 }, cache_creation_input_tokens: 1 });
    expect(usageOfJson({ usage: { inputTokens: 6, outputTokens: 1, totalTokens: 7 } })).toMatchObject({ prompt_tokens: 6, completion_tokens: 1 });
    expect(usageOfJson({ usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 2, thoughtsTokenCount: 3 } })).toMatchObject({ prompt_tokens: 4, completion_tokens: 5 });
    expect(usageOfJson({ data: [] })).toBeUndefined();
  });
});

describe('RawUsageReader', () => {
  it('a JSON answer larger than it parses whole: the usage at its end', () => {
    const image = 'A'.repeat(3 << 20);
    const body = JSON.stringify({ created: 1, data: [{ b64_json: image }], usage: { input_tokens: 12, output_tokens: 4160, total_tokens: 4172 } });
    const chunks: Buffer[] = [];
    for (let i = 0; i < body.length; i += 65_521) chunks.push(Buffer.from(body.slice(i, i + 65_521)));
    expect(read('application/json', chunks)).toMatchObject({ prompt_tokens: 12, completion_tokens: 4160 });
  });

  it('an Anthropic stream: input from message_start, output from message_delta, split mid-event', () => {
    const text = 'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":9,"output_tokens":1,"cache_read_input_tokens":0}}}\n\n'
      + 'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":"hi"}}\n\n'
      + 'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":14}}\n\n';
    expect(read('text/event-stream; charset=utf-8', [text.slice(0, 37), text.slice(37, 150), text.slice(150)])).toMatchObject({ prompt_tokens: 9, completion_tokens: 14, total_tokens: 23 });
  });

  it('Bedrock InvokeModel\'s headers; a file answer has none', () => {
    expect(read('application/json', ['{"embedding":[0.1]}'], { 'x-amzn-bedrock-input-token-count': '7', 'x-amzn-bedrock-output-token-count': '0' })).toMatchObject({ prompt_tokens: 7, completion_tokens: 0 });
    expect(read('audio/mpeg', [Buffer.from([1, 2, 3])])).toBeUndefined();
    expect(read('application/json', ['not json'])).toBeUndefined();
  });
});
