import { describe, expect, it } from 'vitest';
import { scanUsage } from '../../src/gateway/usage-scan.js';

describe('usage scan', () => {
  it('reads the usage object at the end of an answer', () => {
    const body = { id: 'x', choices: [{ message: { content: 'the "usage": {"prompt_tokens": 999} }' } }], usage: { prompt_tokens: 12, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 2 } }, system_fingerprint: 'fp' };
    expect(scanUsage(Buffer.from(JSON.stringify(body)))).toEqual(body.usage);
    expect(scanUsage(Buffer.from(JSON.stringify(body, null, 2)))).toEqual(body.usage);
  });

  it('null when there is none or it is null; undefined when it cannot tell', () => {
    expect(scanUsage(Buffer.from('{"id":"x"}'))).toBeNull();
    expect(scanUsage(Buffer.from('{"usage":null}'))).toBeNull();
    expect(scanUsage(Buffer.from('{"usage":5}'))).toBeUndefined();
    expect(scanUsage(Buffer.from('{"usage":{"a":'))).toBeUndefined();
  });

  it('skips strings holding braces', () => {
    expect(scanUsage(Buffer.from('{"usage":{"note":"}{\\"}","total_tokens":3}}'))).toEqual({ note: '}{"}', total_tokens: 3 });
  });
});
