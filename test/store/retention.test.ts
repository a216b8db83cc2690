import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { LogWriter } from '../../src/store/log-writer.js';
import { DEFAULT_MAX_AGE_MS, DEFAULT_MAX_BYTES, LogRetention } from '../../src/store/retention.js';
import { logRecord } from './helpers.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = 1_700_000_000_000;

describe('LogRetention', () => {
  let db: SqliteDatabase;
  let writer: LogWriter;
  let retention: LogRetention | undefined;

  const ids = () => db.prepare('SELECT id FROM request_logs ORDER BY time, id').pluck().all() as string[];
  const count = () => db.prepare('SELECT count(*) FROM request_logs').pluck().get() as number;

  beforeEach(() => {
    db = openDatabase('', { memory: true });
    writer = new LogWriter(db, { autoFlush: false, batchSize: 5000, bodies: { enabled: true, maxBytes: 1 << 20 } });
  });
  afterEach(() => {
    retention?.stop();
    retention = undefined;
    writer.close();
    db.close();
  });

  it('defaults to 30 days and 1 GiB', () => {
    retention = new LogRetention(db);
    expect(retention.limits).toEqual({ maxAgeMs: 30 * DAY, maxBytes: 1024 ** 3 });
    expect(DEFAULT_MAX_AGE_MS).toBe(30 * DAY);
    expect(DEFAULT_MAX_BYTES).toBe(1024 ** 3);
  });

  it('deletes logs older than maxAgeMs in steps of batchRows, by the injected clock', async () => {
    for (let i = 0; i < 2500; i++) writer.enqueue(logRecord({ id: `old-${i}`, time: NOW - 40 * DAY + i }));
    for (let i = 0; i < 10; i++) writer.enqueue(logRecord({ id: `new-${i}`, time: NOW - DAY + i }));
    writer.flush();
    let now = NOW;
    retention = new LogRetention(db, { batchRows: 1000, stepDelayMs: 0, now: () => now });

    expect(retention.step()).toEqual({ deleted: 1000, reason: 'age' });
    expect(count()).toBe(1510);
    expect(await retention.run()).toEqual({ deletedByAge: 1500, deletedBySize: 0, steps: 2 });
    expect(ids()).toEqual(Array.from({ length: 10 }, (_, i) => `new-${i}`));
    expect(retention.step()).toEqual({ deleted: 0, reason: null });

    now = NOW + 30 * DAY - DAY + 5; // new-0..new-4 are now older than 30 days
    expect(await retention.run()).toEqual({ deletedByAge: 5, deletedBySize: 0, steps: 1 });
    expect(ids()).toEqual(['new-5', 'new-6', 'new-7', 'new-8', 'new-9']);
  });

  it('deletes the oldest logs while the database is over maxBytes', async () => {
    retention = new LogRetention(db, { batchRows: 25, stepDelayMs: 0, now: () => NOW });
    const empty = retention.usedBytes();
    for (let i = 0; i < 400; i++) {
      writer.enqueue(logRecord({ id: `r${String(i).padStart(3, '0')}`, time: NOW - 1000 + i, request_body: 'x'.repeat(4000) }));
    }
    writer.flush();
    const full = retention.usedBytes();
    expect(full - empty).toBeGreaterThan(400 * 4000);
    const maxBytes = empty + Math.floor((full - empty) / 2);
    retention.setLimits({ maxBytes });

    const result = await retention.run();
    expect(result.deletedByAge).toBe(0);
    expect(result.deletedBySize).toBe(400 - count());
    expect(result.steps).toBe(result.deletedBySize / 25);
    expect(count()).toBeGreaterThan(150);
    expect(count()).toBeLessThan(225);
    expect(retention.usedBytes()).toBeLessThanOrEqual(maxBytes);
    // the survivors are the newest
    const survivors = ids();
    expect(survivors[survivors.length - 1]).toBe('r399');
    expect(survivors[0]).toBe(`r${String(400 - survivors.length).padStart(3, '0')}`);
  });

  it('keeps everything when both limits are off', async () => {
    for (let i = 0; i < 10; i++) writer.enqueue(logRecord({ time: 0 }));
    writer.flush();
    retention = new LogRetention(db, { maxAgeMs: null, maxBytes: null, stepDelayMs: 0, now: () => NOW });
    expect(await retention.run()).toEqual({ deletedByAge: 0, deletedBySize: 0, steps: 0 });
    expect(count()).toBe(10);
  });

  it('runs one pass at a time, and in the background once started', async () => {
    for (let i = 0; i < 30; i++) writer.enqueue(logRecord({ time: NOW - 60 * DAY }));
    writer.flush();
    retention = new LogRetention(db, { batchRows: 10, stepDelayMs: 1, now: () => NOW });
    const first = retention.run();
    expect(retention.run()).toBe(first);
    expect(await first).toEqual({ deletedByAge: 30, deletedBySize: 0, steps: 3 });

    for (let i = 0; i < 30; i++) writer.enqueue(logRecord({ time: NOW - 60 * DAY }));
    writer.flush();
    retention.start();
    await vi.waitFor(() => expect(count()).toBe(0), { timeout: 2000, interval: 5 });
    retention.stop();
  });

  it('stops a run in progress after its current step', async () => {
    for (let i = 0; i < 50; i++) writer.enqueue(logRecord({ time: NOW - 60 * DAY }));
    writer.flush();
    retention = new LogRetention(db, { batchRows: 10, stepDelayMs: 5, now: () => NOW });
    const running = retention.run();
    retention.stop();
    expect(await running).toEqual({ deletedByAge: 10, deletedBySize: 0, steps: 1 });
    expect(count()).toBe(40);
  });
});
