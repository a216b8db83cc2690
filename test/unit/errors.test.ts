import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors/codes.js';
import { GatewayError } from '../../src/errors/gateway-error.js';
import { renderError, toGatewayError } from '../../src/errors/render.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

describe('error registry', () => {
  it('every code is documented in docs/errors.md with its status', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(doc, code).toContain(`| \`${code}\` | ${spec.status} |`);
    }
  });

  it('renders each surface format', () => {
    const error = new GatewayError('HD_ERR_REQUEST_INVALID_FIELD', "Missing required parameter: 'messages'.", { param: 'messages' });
    expect(renderError(error, 'openai')).toEqual({
      status: 400,
      headers: {},
      body: { error: { message: "Missing required parameter: 'messages'.", type: 'invalid_request_error', param: 'messages', code: 'invalid_value' } },
    });
    expect(renderError(error, 'anthropic').body).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: "Missing required parameter: 'messages'." } });
    expect(renderError(error, 'gemini').body).toEqual({ error: { code: 400, message: "Missing required parameter: 'messages'.", status: 'INVALID_ARGUMENT' } });
  });

  it('429 carries Retry-After; budget refusals say not to retry', () => {
    const limited = renderError(new GatewayError('HD_ERR_RATE_LIMITED', 'slow down', { retryAfter: 1.2 }), 'openai');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('2');
    const budget = renderError(new GatewayError('HD_ERR_BUDGET_EXCEEDED', 'over'), 'anthropic');
    expect(budget.status).toBe(402);
    expect(budget.headers['x-should-retry']).toBe('false');
  });

  it('unknown errors become a 500 without internals', () => {
    const rendered = renderError(toGatewayError(new Error('secret path /etc/x and sk-123')), 'openai');
    expect(rendered.status).toBe(500);
    expect(JSON.stringify(rendered.body)).not.toContain('/etc/x');
    expect(JSON.stringify(rendered.body)).not.toContain('sk-123');
  });
});
