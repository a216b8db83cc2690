// Cluster mode's request log in Postgres: insert throughput of the writer (worker thread, multi-row
// INSERTs into day partitions) and the time of the dashboard's queries over the rows written.
// Needs dist/ (npx tsc -p tsconfig.build.json) and a Postgres; works in a schema of its own, dropped at
// the end. Bounded: --rows (default 1,000,000, at most 10,000,000), then it stops.
//
//   node bench/pg-logs.mjs --db postgres://postgres@127.0.0.1:5432/test [--rows 1000000] [--days 10]
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migratePostgres } from '../dist/store/pg/migrate.js';
import { PgLogWriter } from '../dist/store/pg/log-writer.js';
import { PgLogQueries } from '../dist/store/pg/log-queries.js';
import { PgUsageQueries } from '../dist/store/pg/usage-queries.js';
import { createPgPool } from '../dist/store/pg/connection.js';

const { values } = parseArgs({ options: { db: { type: 'string' }, rows: { type: 'string', default: '1000000' }, days: { type: 'string', default: '10' } } });
const url = values.db ?? process.env.HEIMDALL_TEST_DATABASE_URL;
if (!url) throw new Error('--db postgres://... (or HEIMDALL_TEST_DATABASE_URL)');
const rows = Math.min(10_000_000, Math.max(1000, Number(values.rows)));
const days = Math.max(1, Math.min(60, Number(values.days)));
const schema = `hd_bench_${randomBytes(4).toString('hex')}`;
const settings = { connectionString: url, options: `-c search_path=${schema}` };
const DAY = 86_400_000;
const now = Date.now();

const admin = new pg.Client({ connectionString: url });
await admin.connect();
await admin.query(`CREATE SCHEMA ${schema}`);
const pool = createPgPool(settings);
try {
  // Every migration: the writer also keeps the request log's rollups (migration 12).
  await migratePostgres(pool);
  const providers = ['openai', 'anthropic', 'gemini', 'groq'];
  const models = ['gpt-4o-mini', 'claude-sonnet-4-5', 'gemini-2.5-flash', 'llama-3.1-8b'];
  const record = (index) => ({
    id: `bench-${index}`,
    time: now - Math.floor(Math.random() * days * DAY),
    surface: 'openai', route: '/v1/chat/completions', method: 'POST',
    virtual_key_id: `vk_${index % 50}`, team_id: `team_${index % 5}`, customer_id: `cus_${index % 3}`,
    provider: providers[index % 4], model: models[index % 4], requested_model: models[index % 4],
    status: index % 20 === 0 ? 500 : 200, latency_ms: 50 + (index % 1000), upstream_ms: 45, ttft_ms: 20, overhead_us: 300,
    input_tokens: 100 + (index % 50), output_tokens: 200, cached_tokens: 0, reasoning_tokens: 0,
    cost_usd: 0.0001 * (index % 7), cost_known: true, stream: index % 2 === 0,
    attempts: [{ provider: providers[index % 4], model: models[index % 4], status: 200, latency_ms: 45 }],
  });

  const writer = new PgLogWriter({ connection: settings });
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const started = performance.now();
  for (let index = 0; index < rows; index++) {
    writer.enqueue(record(index));
    if (index % 5000 === 4999) {
      // the producer waits when the writer holds 50,000: the figure is the writer's, nothing is dropped
      while (writer.stats.queued > 50_000) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  while (writer.stats.written + writer.stats.droppedRecords < rows) await new Promise((resolve) => setTimeout(resolve, 50));
  const seconds = (performance.now() - started) / 1000;
  loop.disable();
  writer.close(10_000);
  const stats = writer.stats;

  const size = (await pool.query(`SELECT sum(pg_total_relation_size(inhrelid)) AS bytes FROM pg_inherits WHERE inhparent = 'request_logs'::regclass`)).rows[0].bytes;
  await pool.query('ANALYZE request_logs');
  const queries = new PgLogQueries(pool);
  const usage = new PgUsageQueries(pool);
  const timed = async (name, run) => {
    const times = [];
    for (let round = 0; round < 5; round++) {
      const start = performance.now();
      await run();
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    return `| ${name} | ${times[2].toFixed(1)} | ${times[4].toFixed(1)} |`;
  };
  const page = await queries.listLogs({ limit: 50 });
  const lines = [
    await timed('logs list, first page (50, newest first)', () => queries.listLogs({ limit: 50 })),
    await timed('logs list, next page (cursor)', () => queries.listLogs({ limit: 50, cursor: page.next_cursor })),
    await timed('logs list, one key, 24 h', () => queries.listLogs({ limit: 50, virtual_key_id: 'vk_7', from: now - DAY })),
    await timed('logs list, 5xx only', () => queries.listLogs({ limit: 50, status_class: '5xx' })),
    await timed('logs list, slowest first', () => queries.listLogs({ limit: 50, sort: 'latency' })),
    await timed('one log by id', () => queries.getLog('bench-12345')),
    await timed('stats, last 24 h (dashboard)', () => queries.logStats({ to: now + 1000 })),
    await timed('usage, 7 days by model', () => usage.report({ period: '7d', group_by: 'model', now })),
    await timed('usage, 30 days by day, one key', () => usage.report({ period: '30d', group_by: 'day', key: 'vk_7', now })),
  ];
  console.log(`## Request log in Postgres: ${rows.toLocaleString('en')} rows over ${days} days\n`);
  console.log(`- insert: ${Math.round(stats.written / seconds).toLocaleString('en')} rows/s (${stats.written.toLocaleString('en')} written, ${stats.droppedRecords} dropped, ${stats.batches} batches, ${seconds.toFixed(1)} s)`);
  console.log(`- event loop delay while writing: p50 ${(loop.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms (the producer included)`);
  console.log(`- size: ${(Number(size) / 1024 / 1024).toFixed(0)} MiB (rows, indexes, TOAST)\n`);
  console.log('| query | median ms | slowest ms |\n| --- | --- | --- |');
  for (const line of lines) console.log(line);
} finally {
  await pool.end();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
}
