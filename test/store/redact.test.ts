import { describe, expect, it } from 'vitest';
import {
  REDACTED, isSecretKey, prepareBody, redactJsonText, redactText, redactValue, truncateUtf8,
} from '../../src/store/redact.js';

const OPENAI_KEY = 'sk-proj-abcdefghijklmnopqrstuvwxyz012345';
const VIRTUAL_KEY = 'hk-0123456789abcdefghijKLMNOP';

describe('redaction', () => {
  it('recognises secret-sounding keys but not token counts', () => {
    for (const key of ['api_key', 'apiKey', 'Authorization', 'x-api-key', 'x-goog-api-key', 'password', 'secret',
      'token', 'access_token', 'client_secret', 'aws_secret_access_key', 'secret_encrypted']) {
      expect(isSecretKey(key), key).toBe(true);
    }
    for (const key of ['max_tokens', 'input_tokens', 'model', 'messages', 'tokenizer', 'last4', 'key_id']) {
      expect(isSecretKey(key), key).toBe(false);
    }
  });

  it('redacts values under secret keys at any depth, and key-shaped strings anywhere', () => {
    const input = {
      model: 'gpt-4o',
      max_tokens: 50,
      api_key: OPENAI_KEY,
      headers: { Authorization: `Bearer ${OPENAI_KEY}`, 'content-type': 'application/json' },
      credentials: { password: 'hunter2', nested: [{ token: { anything: 1 } }] },
      messages: [{ role: 'user', content: `my key is ${VIRTUAL_KEY}, and I like sk-learn` }],
      empty_secret: '',
    };
    expect(redactValue(input)).toEqual({
      model: 'gpt-4o',
      max_tokens: 50,
      api_key: REDACTED,
      headers: { Authorization: REDACTED, 'content-type': 'application/json' },
      credentials: { password: REDACTED, nested: [{ token: REDACTED }] },
      messages: [{ role: 'user', content: `my key is ${REDACTED}, and I like sk-learn` }],
      empty_secret: '',
    });
  });

  it('redacts bearer tokens and Google keys in free text', () => {
    expect(redactText('Authorization: Bearer abcdefghijklmnopqrstuvwxyz')).toBe(`Authorization: ${REDACTED}`);
    expect(redactText('key=AIzaSyA1234567890abcdefghijklmnopqrstu')).toBe(`key=${REDACTED}`);
    expect(redactText('risk-assessment-framework-for-tasks')).toBe('risk-assessment-framework-for-tasks');
  });

  it('redacts JSON text structurally, and unparsable text by pattern', () => {
    expect(redactJsonText(`{"api_key":"${OPENAI_KEY}","n":1}`)).toBe(`{"api_key":"${REDACTED}","n":1}`);
    // truncated JSON: the pair pattern still catches it
    expect(redactJsonText(`{"password": "hunter2", "messages": [{"content": "hi`)).toBe(
      `{"password": "${REDACTED}", "messages": [{"content": "hi`,
    );
    expect(redactJsonText(`data: {"x":"${VIRTUAL_KEY}"}\n\n`)).toBe(`data: {"x":"${REDACTED}"}\n\n`);
  });

  it('caps bodies at maxBytes of UTF-8 with a marker', () => {
    expect(truncateUtf8('abcdef', 10)).toBe('abcdef');
    expect(truncateUtf8('abcdef', 3)).toBe('abc…[truncated, 6 bytes total]');
    // never splits a multi-byte character
    expect(truncateUtf8('ééé', 3)).toBe('é…[truncated, 6 bytes total]');
    const body = JSON.stringify({ api_key: OPENAI_KEY, text: 'x'.repeat(1000) });
    const prepared = prepareBody(body, 100);
    expect(prepared.startsWith(`{"api_key":"${REDACTED}","text":"xxx`)).toBe(true);
    expect(prepared.endsWith(`…[truncated, ${Buffer.byteLength(JSON.stringify({ api_key: REDACTED, text: 'x'.repeat(1000) }))} bytes total]`)).toBe(true);
  });

  it('redacts the head of bodies too large to parse', () => {
    const huge = `{"api_key":"${OPENAI_KEY}","blob":"${'a'.repeat(2 * 1024 * 1024)}"}`;
    const prepared = prepareBody(huge, 64);
    expect(prepared.includes(OPENAI_KEY)).toBe(false);
    expect(prepared).toBe(`{"api_key":"${REDACTED}","blob":"${'a'.repeat(64 - 32)}…[truncated, ${huge.length} bytes total]`);
  });
});

describe('one list of credential shapes', () => {
  it('stored bodies mask the configured secrets and every key shape the log lines mask', async () => {
    const { registerSecrets } = await import('../../src/telemetry/secrets.js');
    const plain = 'configured-key-without-any-shape-42';
    registerSecrets([plain]);
    const text = `a ${plain} b xai-abcdefghijklmnop c ghp_abcdefghijklmnopqrstu d ya29.abcdefghijklmnopqr`;
    expect(redactText(text)).toBe(`a ${REDACTED} b ${REDACTED} c ${REDACTED} d ${REDACTED}`);
    expect(prepareBody(JSON.stringify({ note: `key ${plain}` }), 1000)).toBe(`{"note":"key ${REDACTED}"}`);
  });
});
