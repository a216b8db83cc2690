import { describe, expect, it } from 'vitest';
import { readBody } from '../../src/api/openai.js';
import { MAX_JSON_DEPTH, parseJsonBody } from '../../src/api/validate.js';

const nested = (depth: number, inner = ''): string => '['.repeat(depth) + inner + ']'.repeat(depth);

describe('request body depth', () => {
  it('takes a body nested exactly as deep as the limit and refuses one level more, at the shortest such text', () => {
    expect(() => parseJsonBody(Buffer.from(`{"":${nested(MAX_JSON_DEPTH - 1)}}`))).not.toThrow();
    // The shortest object text one level too deep: an opening and a closing bracket per level.
    const shortest = `{"":${nested(MAX_JSON_DEPTH)}}`;
    expect(shortest.length).toBe(2 * (MAX_JSON_DEPTH + 1) + 3);
    expect(() => parseJsonBody(Buffer.from(shortest))).toThrow(expect.objectContaining({ code: 'HD_ERR_REQUEST_TOO_DEEP' }));
    expect(() => parseJsonBody(Buffer.from(`{"":${nested(MAX_JSON_DEPTH, '{}')}}`))).toThrow(expect.objectContaining({ code: 'HD_ERR_REQUEST_TOO_DEEP' }));
  });

  it('refuses a deep body however long it is', () => {
    const padded = `{"pad":"${'x'.repeat(5000)}","a":${nested(200)}}`;
    expect(() => parseJsonBody(Buffer.from(padded))).toThrow(expect.objectContaining({ code: 'HD_ERR_REQUEST_TOO_DEEP' }));
    expect(() => parseJsonBody(padded)).toThrow(expect.objectContaining({ code: 'HD_ERR_REQUEST_TOO_DEEP' }));
  });

  it('reads the bytes as UTF-8', () => {
    expect(parseJsonBody(Buffer.from('{"content":"é€😀"}', 'utf8'))).toEqual({ content: 'é€😀' });
    expect(readBody(Buffer.from('{"content":"é€😀"}', 'utf8'))).toEqual({ body: { content: 'é€😀' }, text: '{"content":"é€😀"}' });
  });

  it('parses a short body as before', () => {
    expect(parseJsonBody(Buffer.from('{"model":"m","messages":[{"role":"user","content":"hi"}]}'))).toEqual({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
  });
});
