/** The seal of reasoning items' encrypted_content: opaque, tamper-evident, bound to the gateway's key. */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { reasoningSeal } from '../../src/api/reasoning-seal.js';
import { SecretBox } from '../../src/store/secret-box.js';

const master = new SecretBox(crypto.randomBytes(32));
const state = { reasoning_content: 'secret thoughts', reasoning_signature: 'EqQBCkYIBxgCKkD', redacted_thinking: ['EmwKAhgB'] };

describe('reasoningSeal', () => {
  it('seals and opens the state; the text shows none of it', () => {
    const seal = reasoningSeal(master);
    const sealed = seal.seal(state);
    expect(sealed.startsWith('heimdall.r1.v1:')).toBe(true);
    for (const secret of ['secret thoughts', 'EqQBCkYIBxgCKkD', 'EmwKAhgB']) {
      expect(sealed).not.toContain(secret);
      expect(Buffer.from(sealed.split(':').at(-1)!, 'base64').toString('latin1')).not.toContain(secret);
    }
    expect(seal.open(sealed)).toEqual(state);
    expect(seal.seal(state)).not.toBe(sealed); // a fresh IV each time
  });

  it('another key, an altered text or a foreign value does not open', () => {
    const sealed = reasoningSeal(master).seal(state);
    expect(reasoningSeal(new SecretBox(crypto.randomBytes(32))).open(sealed)).toBeUndefined();
    const last = sealed.at(-2) === 'A' ? 'B' : 'A';
    expect(reasoningSeal(master).open(`${sealed.slice(0, -2)}${last}${sealed.at(-1)}`)).toBeUndefined();
    expect(reasoningSeal(master).open('gAAAAABopenai')).toBeUndefined();
  });

  it('the derived key is not the master key: the master box cannot open it', () => {
    const sealed = reasoningSeal(master).seal(state);
    expect(() => master.decrypt(sealed.slice('heimdall.r1.'.length))).toThrow();
  });
});
