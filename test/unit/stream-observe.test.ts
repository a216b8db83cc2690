import { describe, expect, it } from 'vitest';
import { chunkMentionsUsage, mentionsUsage } from '../../src/gateway/usage-scan.js';

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
    });
  }
});
