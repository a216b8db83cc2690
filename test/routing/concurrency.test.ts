/** The per-provider concurrency limiter: slots, a bounded FIFO queue, queue timeout, live limit changes. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GatewayError } from '../../src/errors/gateway-error.js';
import { ConcurrencyLimiter, ConcurrencyRegistry } from '../../src/gateway/concurrency.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('concurrency limiter', () => {
  it('takes free slots at once, queues in order, fails at once when the queue is full', async () => {
    const limiter = new ConcurrencyLimiter('p', { maxInFlight: 2, maxQueue: 2, queueTimeoutMs: 10_000 });
    expect(limiter.tryAcquire()).toBe(true);
    await limiter.acquire();
    expect(limiter.inFlight).toBe(2);
    const order: string[] = [];
    const first = limiter.acquire().then(() => order.push('first'));
    const second = limiter.acquire().then(() => order.push('second'));
    expect(limiter.queued).toBe(2);
    expect(limiter.full()).toBe(true);
    const refused = await limiter.acquire().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(GatewayError);
    expect((refused as GatewayError).code).toBe('HD_ERR_QUEUE_FULL');
    expect((refused as GatewayError).status).toBe(429);
    expect((refused as GatewayError).retryAfter).toBe(1);
    limiter.release();
    await first;
    expect(order).toEqual(['first']);
    limiter.release();
    await second;
    expect(order).toEqual(['first', 'second']);
    expect(limiter.inFlight).toBe(2);
    expect(limiter.queued).toBe(0);
    // A newcomer never jumps a queue: tryAcquire fails while someone waits.
    limiter.release();
    expect(limiter.tryAcquire()).toBe(true);
  });

  it('a waiter gives up after the queue timeout (503) and leaves the queue', async () => {
    vi.useFakeTimers();
    const limiter = new ConcurrencyLimiter('p', { maxInFlight: 1, maxQueue: 5, queueTimeoutMs: 250 });
    expect(limiter.tryAcquire()).toBe(true);
    const waiting = limiter.acquire().catch((error: unknown) => error);
    expect(limiter.queued).toBe(1);
    await vi.advanceTimersByTimeAsync(260);
    const error = (await waiting) as GatewayError;
    expect(error.code).toBe('HD_ERR_QUEUE_TIMEOUT');
    expect(error.status).toBe(503);
    expect(limiter.queued).toBe(0);
    limiter.release();
    expect(limiter.inFlight).toBe(0);
  });

  it('a larger limit on reload lets waiters in; the registry keeps one limiter per provider', async () => {
    const registry = new ConcurrencyRegistry();
    const limiter = registry.configure('p', { maxInFlight: 1, maxQueue: 5, queueTimeoutMs: 10_000 });
    expect(limiter.tryAcquire()).toBe(true);
    const waiting = limiter.acquire();
    expect(registry.configure('p', { maxInFlight: 2, maxQueue: 5, queueTimeoutMs: 10_000 })).toBe(limiter);
    await waiting;
    expect(limiter.inFlight).toBe(2);
    const unlimited = registry.configure('q', undefined);
    for (let i = 0; i < 1000; i++) expect(unlimited.tryAcquire()).toBe(true);
    expect(unlimited.full()).toBe(false);
    expect(registry.snapshot()).toEqual([
      { provider: 'p', max_in_flight: 2, in_flight: 2, queued: 0, max_queue: 5 },
      { provider: 'q', max_in_flight: null, in_flight: 1000, queued: 0, max_queue: 0 },
    ]);
    registry.retain(new Set(['q']));
    expect(registry.get('p')).toBeUndefined();
  });
});
