/** Pure decisions: what a failure says about a key, which failures go to named fallbacks, retries to another key. */
import { describe, expect, it } from 'vitest';
import { isContentPolicyError, isContextWindowError, isKeyRejected, keyVerdict } from '../../src/gateway/failure-class.js';
import { decideRetry } from '../../src/gateway/retry-policy.js';
import { UpstreamFailure } from '../../src/gateway/upstream-failure.js';

const http = (status: number, message = 'x', code?: string) => new UpstreamFailure('http', message, status, undefined, undefined, undefined, code);

describe('key verdicts', () => {
  it('5xx, 429, 408, auth refusals and transport failures count against the key; other 4xx prove it works', () => {
    for (const status of [500, 502, 503, 504, 429, 408, 401, 403]) expect(keyVerdict(http(status)), String(status)).toBe('failure');
    for (const status of [400, 404, 413, 422]) expect(keyVerdict(http(status)), String(status)).toBe('success');
    expect(keyVerdict(http(409))).toBe('neutral');
    expect(keyVerdict(new UpstreamFailure('timeout', 't'))).toBe('failure');
    expect(keyVerdict(new UpstreamFailure('network', 'n'))).toBe('failure');
    expect(keyVerdict(new UpstreamFailure('bad_response', 'b'))).toBe('failure');
    expect(keyVerdict(new UpstreamFailure('aborted', 'a'))).toBe('neutral');
    expect(isKeyRejected(http(401))).toBe(true);
    expect(isKeyRejected(http(403))).toBe(true);
    expect(isKeyRejected(http(400))).toBe(false);
  });
});

describe('named fallback triggers', () => {
  it('context window: by code or by each provider\'s wording, on client errors only', () => {
    expect(isContextWindowError(http(400, "This model's maximum context length is 128000 tokens.", 'context_length_exceeded'))).toBe(true);
    expect(isContextWindowError(http(400, 'prompt is too long: 210000 tokens > 200000 maximum', 'invalid_request_error'))).toBe(true);
    expect(isContextWindowError(http(400, 'The input token count (1048577) exceeds the maximum number of tokens allowed (1048576).'))).toBe(true);
    expect(isContextWindowError(http(400, 'Input is too long for requested model.'))).toBe(true);
    expect(isContextWindowError(http(400, 'Invalid value for temperature'))).toBe(false);
    expect(isContextWindowError(http(500, 'context length exceeded'))).toBe(false);
  });

  it('content policy: by code or wording', () => {
    expect(isContentPolicyError(http(400, 'Your request was rejected as a result of our safety system.', 'content_policy_violation'))).toBe(true);
    expect(isContentPolicyError(http(400, "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", 'content_filter'))).toBe(true);
    expect(isContentPolicyError(http(400, 'bad input'))).toBe(false);
    expect(isContentPolicyError(http(429, 'content policy'))).toBe(false);
  });
});

describe('retry to another key', () => {
  it('goes at once, even when the failed key said Retry-After, within the retry count and the time left', () => {
    const limited = new UpstreamFailure('http', 'slow down', 429, 30_000);
    expect(decideRetry({ failure: limited, retriesDone: 0, maxRetries: 2, timeLeftMs: 5000, random: 0.5, otherKey: true })).toEqual({ retry: true, delayMs: 0 });
    expect(decideRetry({ failure: limited, retriesDone: 0, maxRetries: 2, timeLeftMs: 5000, random: 0.5, otherKey: false })).toEqual({ retry: false, reason: 'retry_after_too_long' });
    expect(decideRetry({ failure: limited, retriesDone: 2, maxRetries: 2, timeLeftMs: 5000, random: 0.5, otherKey: true })).toEqual({ retry: false, reason: 'exhausted' });
    expect(decideRetry({ failure: http(500), retriesDone: 0, maxRetries: 2, timeLeftMs: 0, random: 0.5, otherKey: true })).toEqual({ retry: false, reason: 'no_time' });
    expect(decideRetry({ failure: http(400), retriesDone: 0, maxRetries: 2, timeLeftMs: 5000, random: 0.5, otherKey: true })).toEqual({ retry: false, reason: 'not_retryable' });
  });
});
