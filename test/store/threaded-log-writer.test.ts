/**
 * The request log written by a worker thread: N records in, N rows out; flush
 * and close wait for the thread's commit; a full queue sheds and counts; a
 * thread that dies loses only what it held (counted), and a thread that keeps
 * dying hands the writing back to the main thread.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { LogQueries } from '../../src/store/log-queries.js';
import { REDACTED } from '../../src/store/redact.js';
import { Store } from '../../src/store/store.js';
import { ThreadedLogWriter, type ThreadedLogWriterOptions } from '../../src/store/threaded-log-writer.js';
import { registerSecrets } from '../../src/telemetry/secrets.js';
import { logRecord, makeTempDir } from './helpers.js';

function count(db: SqliteDatabase): number {
  return (db.prepare('SELECT count(*) AS n FROM request_logs').get() as { n: number }).n;
}

describe('ThreadedLogWriter', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let db: SqliteDatabase;
  let writer: ThreadedLogWriter | undefined;

  beforeEach(() => {
    temp = makeTempDir();
    db = openDatabase(temp.dir);
  });
  afterEach(() => {
    writer?.close();
    writer = undefined;
    if (db.open) db.close();
    temp.cleanup();
  });

  const make = (options: ThreadedLogWriterOptions = {}) => {
    writer = new ThreadedLogWriter(db, { autoFlush: false, ...options });
    return writer;
  };

  it('writes N records enqueued from concurrent requests as exactly N rows, committed by the thread', async () => {
    const logs = make({ autoFlush: true, flushIntervalMs: 20, batchSize: 500, postEvery: 64 });
    // 40 "requests" finishing concurrently, 50 records each, interleaved over event-loop turns.
    await Promise.all(
      Array.from({ length: 40 }, async (_, worker) => {
        for (let i = 0; i < 50; i++) {
          logs.enqueue(logRecord({ id: `c-${worker}-${i}` }));
          if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      }),
    );
    expect(logs.threaded).toBe(true);
    await vi.waitFor(() => expect(count(db)).toBe(2000), { timeout: 5000, interval: 10 });
    expect(logs.stats).toMatchObject({ queued: 0, written: 2000, droppedRecords: 0, failedBatches: 0 });
    expect(logs.stats.batches).toBeGreaterThanOrEqual(4);
    expect(new Set(db.prepare('SELECT id FROM request_logs').pluck().all()).size).toBe(2000);
  });

  it('never touches the database from enqueue; flush() returns once the rows are readable here', () => {
    const logs = make({ flushIntervalMs: 60_000 });
    for (let i = 0; i < 1234; i++) logs.enqueue(logRecord());
    expect(count(db)).toBe(0);
    expect(logs.stats.queued).toBe(1234);
    expect(logs.flush()).toBe(1234);
    expect(count(db)).toBe(1234); // read on the main connection, right after the flush
    expect(logs.stats).toEqual({
      queued: 0, written: 1234, droppedBodies: 0, droppedRecords: 0, batches: 3, failedBatches: 0,
    });
  });

  it('stores every field, and redacts in the thread with the secrets this process knows', () => {
    registerSecrets(['mistral-plain-secret-0123']);
    const logs = make({ bodies: { enabled: true, maxBytes: 1000 } });
    const record = logRecord({
      id: 'full', virtual_key_id: 'vk1', team_id: 't1', customer_id: 'c1', reasoning_tokens: 5, stream: true,
      cache: 'miss', error_code: 'upstream_error', error_message: 'bad key mistral-plain-secret-0123', metadata: { user: 'u1' },
      request_body: '{"api_key":"sk-abcdefghijklmnopqrstuvwxyz","messages":[]}', response_body: '{"ok":true}',
      attempts: [{ provider: 'groq', model: 'llama', key_id: 'k1', status: 503, error: 'overloaded', latency_ms: 12 }],
    });
    logs.enqueue({ ...record, attempts: record.attempts.map((attempt) => ({ ...attempt })) });
    logs.flush();
    expect(new LogQueries(db).getLog('full')).toEqual({
      ...record,
      error_message: 'bad key [redacted]',
      request_body: `{"api_key":"${REDACTED}","messages":[]}`,
      response_body: '{"ok":true}',
    });
  });

  it('close() writes what is queued, closes the thread, and counts later records as dropped', () => {
    const logs = make({ autoFlush: true, flushIntervalMs: 60_000 });
    for (let i = 0; i < 10; i++) logs.enqueue(logRecord({ id: `s-${i}` }));
    logs.close();
    expect(count(db)).toBe(10);
    logs.enqueue(logRecord());
    expect(logs.stats).toMatchObject({ queued: 0, written: 10, droppedRecords: 1 });
  });

  it('Store.close() flushes through the thread; a reopened store reads every row', () => {
    db.close();
    const store = Store.open({ dataDir: temp.dir, env: {}, retention: false, logs: { flushIntervalMs: 60_000 } });
    for (let i = 0; i < 300; i++) store.logs.enqueue(logRecord({ id: `shutdown-${i}` }));
    expect(store.logs.stats.written).toBe(0);
    store.close();
    const reopened = Store.open({ dataDir: temp.dir, env: {}, retention: false });
    try {
      expect(reopened.logQueries.listLogs({ limit: 500 }).items).toHaveLength(300);
    } finally {
      reopened.close();
    }
    db = openDatabase(temp.dir);
  });

  it('a full queue sheds the oldest bodies, then the oldest records, and counts both', () => {
    const logs = make({ maxQueue: 3, maxQueuedBodyChars: 100, bodies: { enabled: true }, postEvery: 10 });
    for (let i = 0; i < 5; i++) logs.enqueue(logRecord({ id: `q${i}`, request_body: `"${String(i).repeat(38)}"` }));
    expect(logs.stats).toMatchObject({ queued: 3, droppedRecords: 2, droppedBodies: 3 });
    logs.flush();
    expect(db.prepare('SELECT id, request_body IS NOT NULL AS body FROM request_logs ORDER BY id').all()).toEqual([
      { id: 'q2', body: 0 }, { id: 'q3', body: 1 }, { id: 'q4', body: 1 },
    ]);
  });

  it('while the thread is held up, what it holds stays bounded and the queue sheds; every record is accounted for', async () => {
    const logs = make({ autoFlush: true, flushIntervalMs: 5, batchSize: 50, postEvery: 10, maxQueue: 100, busyTimeoutMs: 10_000 });
    // Another connection holds the write lock: the thread's transaction waits for it.
    db.exec('BEGIN IMMEDIATE');
    for (let turn = 0; turn < 50; turn++) {
      for (let i = 0; i < 20; i++) logs.enqueue(logRecord());
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const held = logs.stats;
    expect(held.written).toBe(0);
    expect(held.queued).toBeLessThanOrEqual(100 + 100); // the queue's bound plus the thread's
    expect(held.droppedRecords).toBeGreaterThan(0);
    db.exec('COMMIT');
    logs.flush();
    const { written, droppedRecords, queued } = logs.stats;
    expect(queued).toBe(0);
    expect(written + droppedRecords).toBe(1000);
    expect(count(db)).toBe(written);
  });
});

describe('ThreadedLogWriter when its thread fails', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let db: SqliteDatabase;
  beforeEach(() => {
    temp = makeTempDir();
    db = openDatabase(temp.dir);
  });
  afterEach(() => {
    if (db.open) db.close();
    temp.cleanup();
  });

  it('loses only what the dead thread held (counted), and after three deaths writes in the main thread', async () => {
    const error = vi.fn();
    const failing = new URL(`data:text/javascript,${encodeURIComponent('throw new Error("thread boom")')}`);
    const logs = new ThreadedLogWriter(db, {
      autoFlush: false, threadScript: failing, flushTimeoutMs: 200, logger: { info: vi.fn(), warn: vi.fn(), error },
    });
    try {
      let lost = 0;
      for (let death = 1; death <= 3; death++) {
        logs.enqueue(logRecord({ id: `lost-${death}` }));
        lost++;
        logs.flush(); // the thread dies meanwhile; flush gives up after flushTimeoutMs
        await vi.waitFor(() => expect(logs.stats.droppedRecords).toBe(lost), { timeout: 3000, interval: 10 });
      }
      expect(logs.threaded).toBe(false);
      expect(error).toHaveBeenCalledWith(expect.anything(), 'request log writer thread keeps failing; writing in the main thread');
      logs.enqueue(logRecord({ id: 'kept' }));
      expect(logs.flush()).toBe(1);
      expect(db.prepare('SELECT id FROM request_logs').pluck().all()).toEqual(['kept']);
      expect(logs.stats).toMatchObject({ queued: 0, written: 1, droppedRecords: 3 });
    } finally {
      logs.close();
    }
  });
});
