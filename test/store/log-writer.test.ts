import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { LogQueries } from '../../src/store/log-queries.js';
import { LogWriter, type LogWriterOptions } from '../../src/store/log-writer.js';
import { REDACTED } from '../../src/store/redact.js';
import { logRecord } from './helpers.js';

function count(db: SqliteDatabase): number {
  return (db.prepare('SELECT count(*) AS n FROM request_logs').get() as { n: number }).n;
}

describe('LogWriter', () => {
  let db: SqliteDatabase;
  let writer: LogWriter | undefined;
  let transactions: number;

  beforeEach(() => {
    db = openDatabase('', { memory: true });
    // Count transactions independently of the writer's own stats.
    transactions = 0;
    const transaction = db.transaction.bind(db);
    db.transaction = ((fn: (...args: never[]) => unknown) => {
      const wrapped = transaction(fn);
      return Object.assign((...args: never[]) => {
        transactions++;
        return wrapped(...args);
      }, wrapped);
    }) as typeof db.transaction;
  });
  afterEach(() => {
    writer?.close();
    writer = undefined;
    if (db.open) db.close();
  });

  const make = (options: LogWriterOptions = {}) => {
    writer = new LogWriter(db, { autoFlush: false, ...options });
    return writer;
  };

  it('writes N enqueued records as exactly N rows, one transaction per batch', () => {
    const logs = make({ batchSize: 500 });
    for (let i = 0; i < 1234; i++) logs.enqueue(logRecord());
    expect(count(db)).toBe(0); // enqueue never touches the database
    expect(logs.stats).toEqual({
      queued: 1234, written: 0, droppedBodies: 0, droppedRecords: 0, batches: 0, failedBatches: 0,
    });
    expect(logs.flush()).toBe(1234);
    expect(count(db)).toBe(1234);
    expect(transactions).toBe(3);
    expect(logs.stats).toEqual({
      queued: 0, written: 1234, droppedBodies: 0, droppedRecords: 0, batches: 3, failedBatches: 0,
    });
  });

  it('stores every field of a record', () => {
    const logs = make();
    const record = logRecord({
      id: 'full', virtual_key_id: 'vk1', team_id: 't1', customer_id: 'c1', reasoning_tokens: 5, stream: true,
      cache: 'miss', error_code: 'upstream_error', error_message: 'boom', metadata: { user: 'u1' },
      attempts: [
        { provider: 'groq', model: 'llama', key_id: 'k1', status: 503, error: 'overloaded', latency_ms: 12 },
        { provider: 'openai', model: 'gpt-4o-mini', status: 200, latency_ms: 95 },
      ],
    });
    logs.enqueue({ ...record });
    logs.flush();
    const { request_body: _q, response_body: _r, ...expected } = record;
    expect(new LogQueries(db).getLog('full')).toEqual({
      ...expected, request_body: null, response_body: null,
    });
  });

  it('flushes on the next turn when a batch is full, without waiting for the timer', async () => {
    const logs = make({ autoFlush: true, flushIntervalMs: 60_000, batchSize: 100 });
    for (let i = 0; i < 250; i++) logs.enqueue(logRecord());
    expect(count(db)).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(count(db)).toBeGreaterThanOrEqual(100);
    await vi.waitFor(() => expect(count(db)).toBe(250));
    expect(transactions).toBe(3);
  });

  it('flushes a partial batch on the timer', async () => {
    const logs = make({ autoFlush: true, flushIntervalMs: 10 });
    for (let i = 0; i < 3; i++) logs.enqueue(logRecord());
    await vi.waitFor(() => expect(count(db)).toBe(3), { timeout: 2000, interval: 5 });
    expect(logs.stats.batches).toBe(1);
  });

  it('sheds the oldest bodies first when queued bodies exceed their budget', () => {
    const logs = make({ maxQueuedBodyChars: 100, bodies: { enabled: true } });
    for (let i = 0; i < 5; i++) logs.enqueue(logRecord({ id: `b${i}`, request_body: `"${String(i).repeat(38)}"` }));
    expect(logs.stats).toMatchObject({ queued: 5, droppedBodies: 3, droppedRecords: 0 });
    logs.flush();
    const bodies = db.prepare('SELECT id, request_body FROM request_logs ORDER BY id').all();
    expect(bodies).toEqual([
      { id: 'b0', request_body: null },
      { id: 'b1', request_body: null },
      { id: 'b2', request_body: null },
      { id: 'b3', request_body: `"${'3'.repeat(38)}"` },
      { id: 'b4', request_body: `"${'4'.repeat(38)}"` },
    ]);
  });

  it('drops the oldest records when more than maxQueue are queued', () => {
    const logs = make({ maxQueue: 3 });
    for (let i = 0; i < 5; i++) logs.enqueue(logRecord({ id: `r${i}` }));
    expect(logs.stats).toMatchObject({ queued: 3, droppedRecords: 2, droppedBodies: 0 });
    logs.flush();
    expect(db.prepare('SELECT id FROM request_logs ORDER BY id').pluck().all()).toEqual(['r2', 'r3', 'r4']);
  });

  it('sheds bodies before records, and stays bounded under a flood', () => {
    const logs = make({ maxQueue: 1000, maxQueuedBodyChars: 10_000, bodies: { enabled: true } });
    for (let i = 0; i < 5000; i++) logs.enqueue(logRecord({ request_body: 'x'.repeat(100) }));
    const { queued, droppedBodies, droppedRecords } = logs.stats;
    expect(queued).toBe(1000);
    expect(droppedRecords).toBe(4000);
    expect(droppedBodies).toBe(4900); // all but the newest 100 bodies (10,000 chars) were shed
    logs.flush();
    expect(db.prepare('SELECT count(*) FROM request_logs WHERE request_body IS NOT NULL').pluck().get()).toBe(100);
  });

  it('drops bodies when they are disabled, and redacts and caps them when enabled', () => {
    const logs = make({ bodies: { enabled: false, maxBytes: 40 } });
    const body = JSON.stringify({ model: 'm', api_key: 'sk-abcdefghijklmnopqrstuvwxyz', note: 'y'.repeat(100) });
    logs.enqueue(logRecord({ id: 'off', request_body: body, response_body: '{"ok":true}' }));
    logs.setBodyOptions({ enabled: true });
    expect(logs.bodyOptions).toEqual({ enabled: true, maxBytes: 40 });
    logs.enqueue(logRecord({ id: 'on', request_body: body, response_body: '{"ok":true}' }));
    logs.flush();
    const rows = db.prepare('SELECT id, request_body, response_body FROM request_logs ORDER BY id').all();
    const redacted = JSON.stringify({ model: 'm', api_key: REDACTED, note: 'y'.repeat(100) });
    expect(rows).toEqual([
      { id: 'off', request_body: null, response_body: null },
      {
        id: 'on',
        request_body: `${redacted.slice(0, 40)}…[truncated, ${redacted.length} bytes total]`,
        response_body: '{"ok":true}',
      },
    ]);
  });

  it('never throws from enqueue; a bad record is dropped, not its batch', () => {
    const logs = make();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    logs.enqueue(logRecord({ id: 'good-1' }));
    expect(() => logs.enqueue(logRecord({ id: 'bad', metadata: circular }))).not.toThrow();
    expect(() => logs.enqueue(null as never)).not.toThrow();
    logs.enqueue(logRecord({ id: 'good-2' }));
    logs.flush();
    expect(db.prepare('SELECT id FROM request_logs ORDER BY id').pluck().all()).toEqual(['good-1', 'good-2']);
    expect(logs.stats.droppedRecords).toBe(2);
  });

  it('keeps both logs when a client reuses a request id', () => {
    const logs = make();
    logs.enqueue(logRecord({ id: 'same', status: 200 }));
    logs.enqueue(logRecord({ id: 'same', status: 500 }));
    logs.flush();
    logs.enqueue(logRecord({ id: 'same', status: 404 }));
    logs.flush();
    expect(db.prepare('SELECT id, status FROM request_logs ORDER BY id').all()).toEqual([
      { id: 'same', status: 200 }, { id: 'same~2', status: 500 }, { id: 'same~3', status: 404 },
    ]);
  });

  it('counts a batch that cannot be written and logs it', () => {
    const error = vi.fn();
    const logs = make({ logger: { info: vi.fn(), warn: vi.fn(), error } });
    logs.enqueue(logRecord());
    logs.enqueue(logRecord());
    db.close();
    expect(logs.flush()).toBe(0);
    expect(logs.stats).toMatchObject({ queued: 0, written: 0, failedBatches: 1, droppedRecords: 2 });
    expect(error).toHaveBeenCalledWith(expect.objectContaining({ records: 2 }), 'request log batch could not be written');
  });

  it('close() flushes synchronously; later records are counted as dropped', () => {
    const logs = make({ autoFlush: true, flushIntervalMs: 60_000 });
    for (let i = 0; i < 10; i++) logs.enqueue(logRecord());
    logs.close();
    expect(count(db)).toBe(10);
    logs.enqueue(logRecord());
    expect(logs.stats).toMatchObject({ queued: 0, written: 10, droppedRecords: 1 });
  });

  it('enqueues and writes 20,000 records quickly, losing none', async () => {
    const logs = make({ autoFlush: true });
    const records = Array.from({ length: 20_000 }, () => logRecord());
    let enqueueMs = 0;
    const start = performance.now();
    // Bursts of 500 requests finishing in the same event-loop turn, as under heavy load:
    // the writer writes at least one batch per turn, so it keeps up and drops nothing.
    for (let offset = 0; offset < records.length; offset += 500) {
      const burst = performance.now();
      for (const record of records.slice(offset, offset + 500)) logs.enqueue(record);
      enqueueMs += performance.now() - burst;
      await new Promise((resolve) => setImmediate(resolve));
    }
    logs.close();
    const done = performance.now();
    expect(count(db)).toBe(20_000);
    expect(logs.stats).toMatchObject({ written: 20_000, droppedRecords: 0, failedBatches: 0 });
    // 40 full batches, plus a partial one when the 200 ms timer happens to fire between bursts
    expect(logs.stats.batches).toBeGreaterThanOrEqual(40);
    expect(logs.stats.batches).toBeLessThanOrEqual(45);
    expect(transactions).toBe(logs.stats.batches);
    expect(enqueueMs).toBeLessThan(500);
    expect(done - start).toBeLessThan(5000);
  });
});
