/**
 * Retention of the request log in Postgres: by age, whole day partitions older than the limit are
 * dropped (and stored responses older than it deleted); by size, the oldest days go while the log is
 * over the cap, never today's; one instance at a time.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPgPool } from '../../src/store/pg/connection.js';
import { PgLogWriter } from '../../src/store/pg/log-writer.js';
import { DAY_MS, dayStart, listPartitions, partitionName } from '../../src/store/pg/partitions.js';
import { PgRetention } from '../../src/store/pg/retention.js';
import type { RetentionLimits } from '../../src/store/retention.js';
import { logRecord } from '../store/helpers.js';
import { freshSchema, testDatabaseUrl, type TestSchema } from '../support/pg-schema.js';
import type pg from 'pg';

const url = testDatabaseUrl('test/cluster/pg-retention.test.ts');
const NOW = Date.now();
const TODAY = dayStart(NOW);

describe.skipIf(url === undefined)('Postgres request log retention', () => {
  let schema: TestSchema;
  let pool: pg.Pool;

  beforeEach(async () => {
    schema = await freshSchema(url!, { migrate: true });
    pool = createPgPool(schema.settings());
    // 100 logs on each of the last 10 days (today included)
    const writer = new PgLogWriter({ connection: schema.settings(), autoFlush: false });
    for (let day = 0; day < 10; day++) {
      for (let index = 0; index < 100; index++) writer.enqueue(logRecord({ id: `d${day}-${index}`, time: TODAY - day * DAY_MS + index * 1000, request_body: 'x'.repeat(200) }));
    }
    writer.close(20_000);
    expect(writer.stats.written).toBe(1000);
    await pool.query(`INSERT INTO stored_responses (id, scope, mode, provider, model, created_at) VALUES
      ('resp_old', '', 'stored', 'openai', 'gpt-4o-mini', $1), ('resp_new', '', 'stored', 'openai', 'gpt-4o-mini', $2)`, [NOW - 8 * DAY_MS, NOW - DAY_MS]);
  });
  afterEach(async () => {
    await pool.end();
    await schema.drop();
  });

  const retention = (limits: RetentionLimits) => new PgRetention(pool, { limits: () => limits, now: () => NOW });
  const count = async () => Number((await pool.query('SELECT count(*) AS n FROM request_logs')).rows[0].n);

  it('by age: drops the day partitions wholly older than the limit, and older stored responses', async () => {
    const result = await retention({ maxAgeMs: 5 * DAY_MS, maxBytes: null }).run();
    expect(result.ran).toBe(true);
    // days 6..9 end before now - 5 days; day 5 straddles the cutoff and stays
    expect(result.droppedByAge).toEqual([9, 8, 7, 6].map((day) => partitionName(TODAY - day * DAY_MS)));
    expect(await count()).toBe(600);
    const names = (await listPartitions(pool)).map((partition) => partition.name);
    expect(names).toContain(partitionName(TODAY - 5 * DAY_MS));
    expect(names).toContain(partitionName(TODAY + 3 * DAY_MS)); // the days ahead stay
    expect(result.deletedResponses).toBe(1);
    expect((await pool.query('SELECT id FROM stored_responses')).rows).toEqual([{ id: 'resp_new' }]);
    // nothing more to do on a second run
    expect(await retention({ maxAgeMs: 5 * DAY_MS, maxBytes: null }).run()).toMatchObject({ droppedByAge: [], deletedResponses: 0 });
  });

  it('by size: drops the oldest days while over the cap, never today\'s', async () => {
    const partitions = await listPartitions(pool);
    const bytesOf = (day: number) => partitions.find((partition) => partition.day === TODAY - day * DAY_MS)!.bytes;
    // room for the last three days (and the empty days ahead) and half of the fourth
    const kept = partitions.filter((partition) => partition.day > TODAY - 3 * DAY_MS).reduce((sum, partition) => sum + partition.bytes, 0);
    const cap = kept + bytesOf(3) / 2;
    const result = await retention({ maxAgeMs: null, maxBytes: cap }).run();
    expect(result.droppedBySize).toEqual([9, 8, 7, 6, 5, 4, 3].map((day) => partitionName(TODAY - day * DAY_MS)));
    expect(result.bytes).toBeLessThanOrEqual(cap);
    expect(await count()).toBe(300);
    // a cap below one day: everything before today goes, today stays
    const tiny = await retention({ maxAgeMs: null, maxBytes: 1 }).run();
    expect(tiny.droppedBySize).toEqual([2, 1].map((day) => partitionName(TODAY - day * DAY_MS)));
    expect(await count()).toBe(100);
  });

  it('two instances running at once drop each partition once, without errors', async () => {
    const [first, second] = await Promise.all([
      retention({ maxAgeMs: 5 * DAY_MS, maxBytes: null }).run(),
      retention({ maxAgeMs: 5 * DAY_MS, maxBytes: null }).run(),
    ]);
    expect([first.droppedByAge.length + second.droppedByAge.length]).toEqual([4]);
    expect(await count()).toBe(600);
  });
});
