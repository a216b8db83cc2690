import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/gateway-error.js';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { LogQueries, type ListLogsParams } from '../../src/store/log-queries.js';
import type { RequestLogRecord } from '../../src/store/log-types.js';
import { LogWriter } from '../../src/store/log-writer.js';
import { logRecord } from './helpers.js';

const T0 = 1_700_000_000_000;
const MINUTE = 60_000;

describe('LogQueries', () => {
  let db: SqliteDatabase;
  let writer: LogWriter;
  let queries: LogQueries;

  const insert = (...records: RequestLogRecord[]) => {
    for (const record of records) writer.enqueue(record);
    writer.flush();
  };

  /** Every page of a listing, following next_cursor. */
  const allPages = (params: ListLogsParams) => {
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const page = queries.listLogs({ ...params, cursor });
      pages.push(page.items.map((item) => item.id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    return pages;
  };

  beforeEach(() => {
    db = openDatabase('', { memory: true });
    writer = new LogWriter(db, { autoFlush: false, bodies: { enabled: true } });
    queries = new LogQueries(db, { now: () => T0 + 60 * MINUTE });
  });
  afterEach(() => {
    writer.close();
    db.close();
  });

  describe('listLogs', () => {
    beforeEach(() => {
      insert(
        logRecord({ id: 'a', time: T0, provider: 'openai', model: 'gpt-4o', status: 200, latency_ms: 120, cost_usd: 0.02 }),
        logRecord({ id: 'b', time: T0 + MINUTE, provider: 'anthropic', model: 'claude-sonnet-4-5', status: 200, latency_ms: 900, cost_usd: 0.5 }),
        logRecord({
          id: 'c', time: T0 + 2 * MINUTE, provider: 'openai', model: 'gpt-4o', status: 429, latency_ms: 5,
          cost_usd: null, cost_known: false, error_code: 'rate_limit_exceeded', error_message: 'Rate limit hit (100% used)',
          virtual_key_id: 'vk-1',
        }),
        logRecord({
          id: 'd', time: T0 + 3 * MINUTE, provider: 'groq', model: 'llama-3.3-70b', status: 502, latency_ms: 3000,
          cost_usd: null, cost_known: false, error_message: 'upstream connection reset', virtual_key_id: 'vk-1',
        }),
        logRecord({ id: 'e', time: T0 + 3 * MINUTE, provider: 'openai', model: 'gpt-4o-mini', status: 200, latency_ms: 300, cost_usd: 0.001, virtual_key_id: 'vk-2' }),
      );
    });

    it('lists newest first, as summaries without bodies', () => {
      const page = queries.listLogs();
      expect(page.next_cursor).toBeNull();
      expect(page.items.map((item) => item.id)).toEqual(['e', 'd', 'c', 'b', 'a']);
      const first = page.items[0];
      expect(first).toEqual({
        id: 'e', time: T0 + 3 * MINUTE, surface: 'openai', route: '/v1/chat/completions', method: 'POST',
        virtual_key_id: 'vk-2', team_id: null, customer_id: null, provider: 'openai', model: 'gpt-4o-mini',
        requested_model: 'openai/gpt-4o-mini', status: 200, latency_ms: 300, upstream_ms: 95, ttft_ms: 40,
        overhead_us: 350, input_tokens: 10, output_tokens: 20, cached_tokens: 0, reasoning_tokens: null,
        cost_usd: 0.001, cost_known: true, stream: false, cache: null, error_code: null, error_message: null,
        attempt_count: 1,
      });
    });

    it('filters by time range, provider, model, status class and virtual key', () => {
      const ids = (params: ListLogsParams) => queries.listLogs(params).items.map((item) => item.id);
      expect(ids({ from: T0 + MINUTE, to: T0 + 3 * MINUTE })).toEqual(['c', 'b']);
      expect(ids({ provider: 'openai' })).toEqual(['e', 'c', 'a']);
      expect(ids({ model: 'gpt-4o' })).toEqual(['c', 'a']);
      expect(ids({ status_class: '2xx' })).toEqual(['e', 'b', 'a']);
      expect(ids({ status_class: '4xx' })).toEqual(['c']);
      expect(ids({ status_class: '5xx' })).toEqual(['d']);
      expect(ids({ virtual_key_id: 'vk-1' })).toEqual(['d', 'c']);
      expect(ids({ provider: 'openai', status_class: '2xx', from: T0 + MINUTE })).toEqual(['e']);
    });

    it('searches error messages, codes and models as text, and ids exactly', () => {
      const ids = (q: string) => queries.listLogs({ q }).items.map((item) => item.id);
      expect(ids('connection')).toEqual(['d']);
      expect(ids('RATE_LIMIT')).toEqual(['c']); // LIKE is case-insensitive for ASCII
      expect(ids('claude')).toEqual(['b']);
      expect(ids('llama')).toEqual(['d']);
      expect(ids('openai/gpt-4o-mini')).toEqual(['e', 'd', 'c', 'b', 'a']); // requested_model
      expect(ids('100%')).toEqual(['c']); // % is literal, not a wildcard
      expect(ids('1_0')).toEqual([]); // _ too
      expect(ids('a')).toContain('a');
    });

    it('sorts by latency and by cost, with unknown cost below every known cost', () => {
      const ids = (params: ListLogsParams) => queries.listLogs(params).items.map((item) => item.id);
      expect(ids({ sort: 'latency' })).toEqual(['d', 'b', 'e', 'a', 'c']);
      expect(ids({ sort: 'latency', order: 'asc' })).toEqual(['c', 'a', 'e', 'b', 'd']);
      expect(ids({ sort: 'cost' })).toEqual(['b', 'a', 'e', 'd', 'c']);
      expect(ids({ sort: 'cost', order: 'asc' })).toEqual(['c', 'd', 'e', 'a', 'b']);
      expect(ids({ sort: 'time', order: 'asc' })).toEqual(['a', 'b', 'c', 'd', 'e']);
    });

    it('paginates every sort with cursors, ties broken by id', () => {
      expect(allPages({ limit: 2 })).toEqual([['e', 'd'], ['c', 'b'], ['a']]);
      expect(allPages({ limit: 2, order: 'asc' })).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
      expect(allPages({ limit: 2, sort: 'latency' })).toEqual([['d', 'b'], ['e', 'a'], ['c']]);
      expect(allPages({ limit: 2, sort: 'cost' })).toEqual([['b', 'a'], ['e', 'd'], ['c']]);
      expect(allPages({ limit: 3, sort: 'cost', order: 'asc', provider: 'openai' })).toEqual([['c', 'e', 'a']]);
    });

    it('keeps pages stable while new logs arrive', () => {
      const first = queries.listLogs({ limit: 2 });
      expect(first.items.map((item) => item.id)).toEqual(['e', 'd']);
      insert(
        logRecord({ id: 'new-1', time: T0 + 10 * MINUTE }),
        logRecord({ id: 'new-2', time: T0 + 3 * MINUTE }), // same time as d and e, sorts before them
      );
      const second = queries.listLogs({ limit: 2, cursor: first.next_cursor });
      expect(second.items.map((item) => item.id)).toEqual(['c', 'b']);
      const third = queries.listLogs({ limit: 2, cursor: second.next_cursor });
      expect(third.items.map((item) => item.id)).toEqual(['a']);
      expect(third.next_cursor).toBeNull();
    });

    it('rejects a malformed cursor or one from another sort, naming the field', () => {
      const cursor = queries.listLogs({ limit: 1 }).next_cursor;
      expect(cursor).toEqual(expect.any(String));
      const failure = (params: ListLogsParams) => {
        try {
          queries.listLogs(params);
        } catch (error) {
          return error;
        }
        throw new Error('expected an error');
      };
      for (const params of [{ cursor: 'not-a-cursor' }, { cursor, sort: 'latency' as const }, { cursor, order: 'asc' as const }]) {
        const error = failure(params);
        expect(error).toBeInstanceOf(GatewayError);
        expect(error).toMatchObject({ code: 'HD_ERR_REQUEST_INVALID_FIELD', param: 'cursor', status: 400 });
      }
      expect(failure({ status_class: '6xx' as never })).toMatchObject({ param: 'status_class' });
      expect(failure({ sort: 'size' as never })).toMatchObject({ param: 'sort' });
    });
  });

  it('returns 50 by default and at most 500 per page', () => {
    insert(...Array.from({ length: 620 }, (_, i) => logRecord({ time: T0 + i })));
    expect(queries.listLogs().items).toHaveLength(50);
    const page = queries.listLogs({ limit: 10_000 });
    expect(page.items).toHaveLength(500);
    expect(queries.listLogs({ limit: 10_000, cursor: page.next_cursor }).items).toHaveLength(120);
    expect(queries.listLogs({ limit: 0 }).items).toHaveLength(1);
  });

  it('getLog returns one log with attempts, metadata and redacted bodies', () => {
    insert(logRecord({
      id: 'full',
      attempts: [
        { provider: 'groq', model: 'llama', key_id: 'k1', status: 503, error: 'overloaded', latency_ms: 12 },
        { provider: 'openai', model: 'gpt-4o-mini', status: 200, latency_ms: 95 },
      ],
      metadata: { user: 'u1' },
      request_body: '{"model":"gpt-4o-mini","api_key":"sk-abcdefghijklmnopqrstuvwxyz"}',
      response_body: '{"id":"chatcmpl-1"}',
    }));
    const log = queries.getLog('full');
    expect(log?.attempts).toEqual([
      { provider: 'groq', model: 'llama', key_id: 'k1', status: 503, error: 'overloaded', latency_ms: 12 },
      { provider: 'openai', model: 'gpt-4o-mini', status: 200, latency_ms: 95 },
    ]);
    expect(log?.metadata).toEqual({ user: 'u1' });
    expect(log?.request_body).toBe('{"model":"gpt-4o-mini","api_key":"[REDACTED]"}');
    expect(log?.response_body).toBe('{"id":"chatcmpl-1"}');
    expect(queries.getLog('missing')).toBeUndefined();
  });

  describe('logStats', () => {
    beforeEach(() => {
      // Minute 0: latencies 1..100 ms, all openai/gpt-4o, 10 of them errors.
      insert(...Array.from({ length: 100 }, (_, i) => logRecord({
        time: T0 + i * 100, latency_ms: i + 1, status: i < 10 ? 500 : 200, provider: 'openai', model: 'gpt-4o',
        input_tokens: 10, output_tokens: 5, cached_tokens: 2, cost_usd: 0.01, virtual_key_id: i % 2 ? 'vk-odd' : null,
      })));
      // Minute 2: 4 anthropic requests, one with unknown cost.
      insert(...[1000, 2000, 3000, 4000].map((latency, i) => logRecord({
        time: T0 + 2 * MINUTE + i, latency_ms: latency, provider: 'anthropic', model: 'claude-sonnet-4-5',
        input_tokens: 100, output_tokens: 50, cached_tokens: null, cost_usd: i === 0 ? null : 0.25, cost_known: i !== 0,
        virtual_key_id: 'vk-big',
      })));
      // Outside the range.
      insert(logRecord({ time: T0 - 1, latency_ms: 99_999 }), logRecord({ time: T0 + 3 * MINUTE, latency_ms: 99_999 }));
    });

    it('totals, percentiles, buckets (empty ones included) and top lists over a range', () => {
      const stats = queries.logStats({ from: T0, to: T0 + 3 * MINUTE, bucket_ms: MINUTE });
      expect(stats.from).toBe(T0);
      expect(stats.to).toBe(T0 + 3 * MINUTE);
      expect(stats.bucket_ms).toBe(MINUTE);
      expect(stats.totals).toEqual({
        requests: 104, errors: 10, input_tokens: 1400, output_tokens: 700, cached_tokens: 200,
        cost_usd: expect.closeTo(1.75, 9), unknown_cost_requests: 1, p50_ms: 52.5, p95_ms: expect.closeTo(98.85, 6), p99_ms: expect.closeTo(2970, 6),
      });
      expect(stats.buckets).toEqual([
        { start: T0, requests: 100, errors: 10, p50_ms: 50.5, p95_ms: expect.closeTo(95.05, 6), tokens: 1500, cost_usd: expect.closeTo(1, 9) },
        { start: T0 + MINUTE, requests: 0, errors: 0, p50_ms: null, p95_ms: null, tokens: 0, cost_usd: 0 },
        { start: T0 + 2 * MINUTE, requests: 4, errors: 0, p50_ms: 2500, p95_ms: expect.closeTo(3850, 6), tokens: 600, cost_usd: 0.75 },
      ]);
      expect(stats.top_models).toEqual([
        { provider: 'openai', model: 'gpt-4o', requests: 100, errors: 10, tokens: 1500, cost_usd: expect.closeTo(1, 9) },
        { provider: 'anthropic', model: 'claude-sonnet-4-5', requests: 4, errors: 0, tokens: 600, cost_usd: 0.75 },
      ]);
      expect(stats.top_providers.map((row) => [row.provider, row.requests])).toEqual([['openai', 100], ['anthropic', 4]]);
      expect(stats.top_keys).toEqual([
        { virtual_key_id: 'vk-odd', requests: 50, errors: 5, tokens: 750, cost_usd: expect.closeTo(0.5, 9) },
        { virtual_key_id: 'vk-big', requests: 4, errors: 0, tokens: 600, cost_usd: 0.75 },
      ]);
    });

    it('defaults to the last 24 hours in 60 buckets, and caps the bucket count', () => {
      const stats = queries.logStats();
      expect(stats.to).toBe(T0 + 60 * MINUTE);
      expect(stats.from).toBe(T0 + 60 * MINUTE - 24 * 60 * MINUTE);
      expect(stats.bucket_ms).toBe(24 * MINUTE);
      expect(stats.buckets).toHaveLength(60);
      expect(stats.totals.requests).toBe(106);
      const fine = queries.logStats({ from: T0, to: T0 + 3 * MINUTE, bucket_ms: 1 });
      expect(fine.bucket_ms).toBe(180);
      expect(fine.buckets).toHaveLength(1000);
      expect(fine.buckets.reduce((sum, bucket) => sum + bucket.requests, 0)).toBe(104);
    });

    it('answers an empty range with zeros and null percentiles', () => {
      const stats = queries.logStats({ from: T0 + 10 * MINUTE, to: T0 + 11 * MINUTE, bucket_ms: MINUTE });
      expect(stats.totals).toEqual({
        requests: 0, errors: 0, input_tokens: 0, output_tokens: 0, cached_tokens: 0, cost_usd: 0,
        unknown_cost_requests: 0, p50_ms: null, p95_ms: null, p99_ms: null,
      });
      expect(stats.buckets).toEqual([
        { start: T0 + 10 * MINUTE, requests: 0, errors: 0, p50_ms: null, p95_ms: null, tokens: 0, cost_usd: 0 },
      ]);
      expect(stats.top_models).toEqual([]);
    });

    it('rejects an empty or inverted range', () => {
      expect(() => queries.logStats({ from: T0, to: T0 })).toThrow(GatewayError);
      expect(() => queries.logStats({ from: T0, to: T0 - 1 })).toThrow('from must be before to.');
    });
  });
});
