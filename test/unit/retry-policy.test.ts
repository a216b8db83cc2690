import { describe, expect, it } from 'vitest';
import { decideRetry, isRetryable } from '../../src/gateway/retry-policy.js';
import { parseRetryAfter } from '../../src/gateway/upstream-failure.js';

const http = (status: number, extra: Partial<{ retryAfterMs: number; shouldRetry: boolean }> = {}) => ({ kind: 'http' as const, status, ...extra, retryAfterMs: extra.retryAfterMs, shouldRetry: extra.shouldRetry });

describe('retry policy', () => {
  it('retries 408, 409, 429, 5xx and transport failures; not other 4xx or aborts', () => {
    for (const status of [408, 409, 429, 500, 502, 503, 504]) expect(isRetryable(http(status)), String(status)).toBe(true);
    for (const status of [400, 401, 403, 404, 413, 422]) expect(isRetryable(http(status)), String(status)).toBe(false);
    expect(isRetryable({ kind: 'network', status: undefined, retryAfterMs: undefined, shouldRetry: undefined })).toBe(true);
    expect(isRetryable({ kind: 'timeout', status: undefined, retryAfterMs: undefined, shouldRetry: undefined })).toBe(true);
    expect(isRetryable({ kind: 'aborted', status: undefined, retryAfterMs: undefined, shouldRetry: undefined })).toBe(false);
  });

  it('x-should-retry wins over the status', () => {
    expect(isRetryable(http(500, { shouldRetry: false }))).toBe(false);
    expect(isRetryable(http(400, { shouldRetry: true }))).toBe(true);
  });

  it('backs off exponentially from 0.5 s to 8 s with up to 25% jitter', () => {
    const delays = [0, 1, 2, 3, 4, 5].map((retriesDone) => decideRetry({ failure: http(500), retriesDone, maxRetries: 10, timeLeftMs: 1e9, random: 0 }));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 8000].map((delayMs) => ({ retry: true, delayMs })));
    expect(decideRetry({ failure: http(500), retriesDone: 0, maxRetries: 2, timeLeftMs: 1e9, random: 0.999 })).toEqual({ retry: true, delayMs: 375 });
  });

  it('stops after maxRetries', () => {
    expect(decideRetry({ failure: http(503), retriesDone: 2, maxRetries: 2, timeLeftMs: 1e9, random: 0 })).toEqual({ retry: false, reason: 'exhausted' });
  });

  it('waits exactly Retry-After, and fails fast when it exceeds the time left', () => {
    expect(decideRetry({ failure: http(429, { retryAfterMs: 1200 }), retriesDone: 0, maxRetries: 2, timeLeftMs: 5000, random: 0.5 })).toEqual({ retry: true, delayMs: 1200 });
    expect(decideRetry({ failure: http(429, { retryAfterMs: 60_000 }), retriesDone: 0, maxRetries: 2, timeLeftMs: 5000, random: 0 })).toEqual({ retry: false, reason: 'retry_after_too_long' });
    expect(decideRetry({ failure: http(500), retriesDone: 3, maxRetries: 5, timeLeftMs: 100, random: 0 })).toEqual({ retry: false, reason: 'no_time' });
  });

  it('after a timeout with a fallback waiting, retries the same target only when a whole first-byte wait fits and leaves the fallback its own', () => {
    const timeout = { kind: 'timeout' as const, status: undefined, retryAfterMs: undefined, shouldRetry: undefined };
    // 1 s first-byte waits, 2 s left: a retry (0.5 s + 1 s) fits; with no tier after it, only the wait must fit...
    expect(decideRetry({ failure: timeout, retriesDone: 0, maxRetries: 2, timeLeftMs: 2000, random: 0, attemptMs: 1000, reserveMs: 0 })).toEqual({ retry: true, delayMs: 500 });
    expect(decideRetry({ failure: timeout, retriesDone: 0, maxRetries: 2, timeLeftMs: 600, random: 0, attemptMs: 1000, reserveMs: 0 })).toEqual({ retry: true, delayMs: 500 });
    // ...but not when a fallback needs its 1 s too: the fallback gets the time instead.
    expect(decideRetry({ failure: timeout, retriesDone: 0, maxRetries: 2, timeLeftMs: 2000, random: 0, attemptMs: 1000, reserveMs: 1000 })).toEqual({ retry: false, reason: 'no_time' });
    expect(decideRetry({ failure: timeout, retriesDone: 0, maxRetries: 2, timeLeftMs: 1900, random: 0, otherKey: true, attemptMs: 1000, reserveMs: 1000 })).toEqual({ retry: false, reason: 'no_time' });
    // Other failures answer fast: only the backoff has to fit.
    expect(decideRetry({ failure: http(503), retriesDone: 0, maxRetries: 2, timeLeftMs: 600, random: 0, attemptMs: 1000, reserveMs: 1000 })).toEqual({ retry: true, delayMs: 500 });
  });

  it('reads retry-after-ms, then retry-after seconds or HTTP date', () => {
    expect(parseRetryAfter({ 'retry-after-ms': '250', 'retry-after': '9' }, 0)).toBe(250);
    expect(parseRetryAfter({ 'retry-after': '2' }, 0)).toBe(2000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }, now)).toBe(3000);
    expect(parseRetryAfter({}, 0)).toBeUndefined();
    expect(parseRetryAfter({ 'retry-after': 'soon' }, 0)).toBeUndefined();
  });
});
