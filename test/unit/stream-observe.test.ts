import { describe, expect, it } from 'vitest';
import { chunkMentionsUsage, mentionsUsage, quietChunk } from '../../src/gateway/usage-scan.js';

describe('mentionsUsage (which pass-through stream chunks must be parsed for usage)', () => {
  const cases: Array<[string, boolean]> = [
    ['data: {"choices":[{"delta":{"content":"hi"}}]}\n\n', false],
    ['data: {"choices":[],"usage":null}\n\n', false],
    ['data: {"choices":[], "usage" :  null }\n\n', false],
    ['data: {"usage":null}\n\ndata: {"usage":null}\n\n', false],
    ['data: {"choices":[],"usage":{"prompt_tokens":3}}\n\n', true],
    ['data: {"usage":null}\n\ndata: {"usage":{"total_tokens":9}}\n\n', true],
    ['data: {"type":"response.completed","response":{"usage":{"input_tokens":1}}}\n\n', true],
    ['data: {"choices":[{"delta":{"content":"héllo ✓"}}],"usage":null}\n\n', false], // read as bytes, not text
    ['data: {"usage":\tnull}\n\ndata: {"usage":\n{"total_tokens":9}}\n\n', true],
    ['data: {"usage":nulls}\n\n', false], // not JSON anyway: the parse would fail on it too
    ['data: {"usage":nul', true], // cut short: parse to be sure
    ['data: {"usage"', true],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} -> ${expected}`, () => {
      expect(chunkMentionsUsage(Buffer.from(text))).toBe(expected);
      expect(mentionsUsage(text)).toBe(expected);
      expect(quietChunk(Buffer.from(text))).toBe(!expected);
    });
  }
});

describe('quietChunk (pass-through chunks forwarded without being parsed)', () => {
  const cases: Array<[string, boolean]> = [
    ['data: {"choices":[{"delta":{"content":"hi"}}],"usage":null}\n\n', true],
    ['data: {"error":{"message":"overloaded"}}\n\n', false],
    ['data: {"choices":[],"usage":null}\n\ndata: {"error" : {"message":"x"}}\n\n', false],
    ['data: {"usage":null,"error":null}\n\n', false], // an error key, whatever its value: parsed to see
    ['data: {"choices":[{"delta":{"content":"an \\"error\\" in the text"}}]}\n\n', true], // escaped quotes: not a key
    ['data: {"choices":[{"delta":{"content":"Error: errors"}}]}\n\n', true],
    ['data: {"choices":[{"delta":{"content":"usage"}}],"usage":null}\n\n', false], // the word as a whole string: parsed to be sure
    ['data: {"usage":null}\n\ndata: {"usage":{"total_tokens":9}}\n\n', false],
    ['data: {"usage":null', true],
    ['data: {"usage":nu', false], // cut short: parsed to be sure
    ['data: {"err', true],
    ['', true],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} -> ${expected}`, () => {
      expect(quietChunk(Buffer.from(text))).toBe(expected);
      const bytes = Buffer.from(text);
      expect(quietChunk(bytes)).toBe(bytes.indexOf('"error"') === -1 && !chunkMentionsUsage(bytes));
    });
  }
});
