// Cluster mode's request log at volume: the dashboard's and the usage API's queries over up to
// 10,000,000 rows, read from every row (before the rollups) and from the rollups (after), A B A B in
// the same run; and the cost of keeping the rollups to the writer's statement (rows/s of the INSERT
// alone and of the INSERT with the rollups, interleaved). Needs dist/ (npx tsc -p tsconfig.build.json)
// and a Postgres; works in a schema of its own, dropped at the end. Bounded by --rows (at most 10M).
//
//   node bench/pg-rollups.mjs --db postgres://postgres@127.0.0.1:5432/postgres [--rows 10000000] [--days 30] [--runs 5] [--histogram] [--keep]
//
// --histogram: the overview's stats only, with exact percentiles read from every row's latency
// (before) and with percentiles from the latency histogram (after); the writer's statement with the
// rollups without and with the histogram's upsert. --keep: leave the schema (to EXPLAIN a query), and say its name.
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createPgPool } from '../dist/store/pg/connection.js';
import { migratePostgres } from '../dist/store/pg/migrate.js';
import { ensurePartitions, DAY_MS } from '../dist/store/pg/partitions.js';
import { rollupUpserts } from '../dist/store/pg/request-log-rollups.js';
import { INSERT_LOGS_ONLY_SQL, INSERT_LOGS_SQL, insertLogsParams } from '../dist/store/pg/log-batch.js';
import { ROLLUP_SOURCE_COLUMNS } from '../dist/store/pg/request-log-rollups.js';
import { LOG_COLUMNS } from '../dist/store/log-row.js';
import { PgLogQueries } from '../dist/store/pg/log-queries.js';
import { PgUsageQueries } from '../dist/store/pg/usage-queries.js';

const { values } = parseArgs({ options: {
  db: { type: 'string' }, rows: { type: 'string', default: '10000000' }, days: { type: 'string', default: '30' },
  runs: { type: 'string', default: '5' }, 'writer-batches': { type: 'string', default: '40' }, histogram: { type: 'boolean', default: false },
  keep: { type: 'boolean', default: false },
} });
const histogramOnly = values.histogram;
const url = values.db ?? process.env.HEIMDALL_TEST_DATABASE_URL;
if (!url) throw new Error('--db postgres://... (or HEIMDALL_TEST_DATABASE_URL)');
const rows = Math.min(10_000_000, Math.max(10_000, Number(values.rows)));
const days = Math.max(1, Math.min(60, Number(values.days)));
const runs = Math.max(3, Math.min(15, Number(values.runs)));
const writerBatches = Math.max(4, Math.min(400, Number(values['writer-batches'])));
const schema = `hd_bench_${randomBytes(4).toString('hex')}`;
const settings = { connectionString: url, options: `-c search_path=${schema}`, statementTimeoutMs: 600_000 };
const HOUR = 3_600_000;
const MINUTE = 60_000;
const now = Date.now();
const load = () => loadavg().map((value) => value.toFixed(1)).join(' ');
const log = (line) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line} (load ${load()})\n`);
const seconds = (start) => (performance.now() - start) / 1000;

const admin = new pg.Client({ connectionString: url });
await admin.connect();
await admin.query(`CREATE SCHEMA ${schema}`);
const pool = createPgPool(settings);
try {
  await migratePostgres(pool);
  const client = await pool.connect();
  const dayList = [];
  for (let day = Math.floor((now - days * DAY_MS) / DAY_MS) * DAY_MS; day <= now + DAY_MS; day += DAY_MS) dayList.push(day);
  await ensurePartitions(client, dayList);

  // Filled without indexes (then built), as a restore would: the figure of interest is the queries'.
  const indexes = (await client.query(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'request_logs' AND indexname <> 'request_logs_pkey'`, [schema])).rows;
  for (const index of indexes) await client.query(`DROP INDEX ${index.indexname}`);
  await client.query('ALTER TABLE request_logs DROP CONSTRAINT request_logs_pkey');
  // In time order, as the writer inserts (an hour's rows lie together in its day's partition).
  // ~200 keys (skewed: a few do most requests), each in one of 20 teams and 50 customers and using 3
  // of 20 models from 10 providers; 2% 5xx, 1% 429; model_19 has no price.
  let start = performance.now();
  const chunk = 500_000;
  for (let first = 0; first < rows; first += chunk) {
    await client.query(`INSERT INTO request_logs (id, time, surface, route, method, virtual_key_id, team_id, customer_id, provider, model,
        requested_model, status, latency_ms, upstream_ms, ttft_ms, overhead_us, input_tokens, output_tokens, cached_tokens, reasoning_tokens,
        cost_usd, cost_known, stream)
      SELECT 'bench-' || g, t, 'openai', '/v1/chat/completions', 'POST', 'vk_' || k, 'team_' || (k % 20), 'cus_' || (k % 50),
        'provider_' || (m % 10), 'model_' || m, 'model_' || m, CASE WHEN r < 0.02 THEN 500 WHEN r < 0.03 THEN 429 ELSE 200 END,
        latency, latency * 0.9, latency * 0.3, 300, input, output, input / 4, 0,
        CASE WHEN m = 19 THEN NULL ELSE (input * 0.000001 + output * 0.000004) * (1 + m % 5) END, CASE WHEN m = 19 THEN 0 ELSE 1 END, (g % 2)::smallint
      FROM (SELECT g, $1::bigint - $2::bigint + floor((g + random()) * $2::bigint / $5::bigint)::bigint AS t, floor(power(random(), 2) * 200)::int AS k, random() AS r,
          random() AS pick, 40 + power(random(), 3) * 8000 AS latency, (50 + random() * 2000)::bigint AS input, (10 + random() * 800)::bigint AS output
        FROM generate_series($3::bigint, $4::bigint) AS g) AS s
      CROSS JOIN LATERAL (SELECT (k * 7 + floor(pick * 3)::int) % 20 AS m) AS models`, [now, days * DAY_MS, first, Math.min(rows, first + chunk) - 1, rows]);
    log(`filled ${Math.min(rows, first + chunk).toLocaleString('en')}`);
  }
  const fillSeconds = seconds(start);
  start = performance.now();
  await client.query('ALTER TABLE request_logs ADD PRIMARY KEY (id, time)');
  // pg_indexes says ON ONLY for a partitioned table's index: made on the parent alone; without it, on every partition.
  for (const index of indexes) await client.query(index.indexdef.replace(' ON ONLY ', ' ON '));
  const indexSeconds = seconds(start);
  log('indexes built');
  start = performance.now();
  await client.query('VACUUM ANALYZE request_logs');
  const vacuumSeconds = seconds(start);
  // The rollups, day by day, with the writer's statements over each day's rows.
  start = performance.now();
  for (const day of dayList) {
    const source = `(SELECT * FROM request_logs WHERE time >= ${day} AND time < ${day + DAY_MS}) AS day_rows`;
    const upserts = rollupUpserts(source);
    await client.query(upserts.rollups);
    await client.query(upserts.series);
    await client.query(upserts.latency);
  }
  await client.query('VACUUM ANALYZE request_log_rollups');
  await client.query('VACUUM ANALYZE request_log_series');
  await client.query('VACUUM ANALYZE request_log_latency');
  const rollupSeconds = seconds(start);
  log('rollups built');
  const size = async (table) => Number((await client.query(`SELECT sum(pg_total_relation_size(c.oid)) AS bytes FROM pg_class c
      WHERE c.oid = $1::regclass OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = $1::regclass)`, [table])).rows[0].bytes);
  const count = async (table) => Number((await client.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
  const sizes = {
    logs: await size('request_logs'), rollups: await size('request_log_rollups'), series: await size('request_log_series'),
    rollupRows: await count('request_log_rollups'), seriesRows: await count('request_log_series'),
    latency: await size('request_log_latency'), latencyRows: await count('request_log_latency'),
  };
  client.release();

  const before = histogramOnly
    ? { logs: new PgLogQueries(pool, { histogram: false }) }
    : { logs: new PgLogQueries(pool, { rollups: false }), usage: new PgUsageQueries(pool, { rollups: false }) };
  const after = { logs: new PgLogQueries(pool), usage: new PgUsageQueries(pool) };
  const aligned = (span, bucket) => {
    const to = Math.ceil(now / bucket) * bucket;
    return { from: to - span, to, bucket_ms: bucket, top: 8 };
  };
  const page = await after.logs.listLogs({ limit: 50 });
  const allQueries = [
    ['stats, dashboard 1 h (1 min buckets)', (q) => q.logs.logStats(aligned(HOUR, MINUTE))],
    ['stats, dashboard 24 h (30 min buckets)', (q) => q.logs.logStats(aligned(DAY_MS, 30 * MINUTE))],
    ['stats, dashboard 7 d (3 h buckets)', (q) => q.logs.logStats(aligned(7 * DAY_MS, 3 * HOUR))],
    ['stats, dashboard 30 d (12 h buckets)', (q) => q.logs.logStats(aligned(30 * DAY_MS, 12 * HOUR))],
    ['stats, live tile (last minute)', (q) => q.logs.logStats({ from: now - MINUTE, to: now, bucket_ms: MINUTE, top: 1 })],
    ['stats, API default (24 h to now, 24 min buckets)', (q) => q.logs.logStats({ to: now })],
    ['stats, one team, 24 h', (q) => q.logs.logStats({ ...aligned(DAY_MS, 30 * MINUTE), team_id: 'team_3' })],
    ['usage, today by model', (q) => q.usage.report({ period: 'today', group_by: 'model', now })],
    ['usage, 7 d by model', (q) => q.usage.report({ period: '7d', group_by: 'model', now })],
    ['usage, 30 d by key', (q) => q.usage.report({ period: '30d', group_by: 'key', now })],
    ['usage, 30 d by day', (q) => q.usage.report({ period: '30d', group_by: 'day', now })],
    ['usage, 30 d by day, one key (key page)', (q) => q.usage.report({ period: '30d', group_by: 'day', key: 'vk_7', now })],
    ['usage, 30 d by model, one team', (q) => q.usage.report({ period: '30d', group_by: 'model', team: 'team_3', now })],
    ['usage, month by customer', (q) => q.usage.report({ period: 'month', group_by: 'customer', now })],
    ['logs list, first page', (q) => q.logs.listLogs({ limit: 50 })],
    ['logs list, next page (cursor)', (q) => q.logs.listLogs({ limit: 50, cursor: page.next_cursor })],
    ['logs list, one key, 24 h', (q) => q.logs.listLogs({ limit: 50, virtual_key_id: 'vk_150', from: now - DAY_MS })],
    ['logs list, one team', (q) => q.logs.listLogs({ limit: 50, team_id: 'team_3' })],
    ['logs list, 5xx only', (q) => q.logs.listLogs({ limit: 50, status_class: '5xx' })],
    ['logs list, slowest first', (q) => q.logs.listLogs({ limit: 50, sort: 'latency' })],
    ['logs list, costliest first, one model', (q) => q.logs.listLogs({ limit: 50, sort: 'cost', model: 'model_4' })],
    ['one log by id', (q) => q.logs.getLog('bench-12345')],
  ];
  const queries = histogramOnly ? allQueries.filter(([name]) => name.startsWith('stats, ')) : allQueries;
  const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
  const timeOne = async (run, side) => {
    const begin = performance.now();
    await run(side);
    return performance.now() - begin;
  };
  const lines = [];
  for (const [name, run] of queries) {
    const times = { before: [], after: [] };
    // A B A B: the first of each is the cold run (the first time this query reads its pages).
    for (let round = 0; round < runs; round++) {
      times.before.push(await timeOne(run, before));
      times.after.push(await timeOne(run, after));
      // A query of several seconds is timed three times, not more (the bench is bounded).
      if (round >= 2 && times.before[0] > 5000) break;
    }
    const same = name.startsWith('logs list') || name.startsWith('one log');
    const format = (ms) => (ms >= 100 ? Math.round(ms).toLocaleString('en') : ms.toFixed(1));
    const row = `| ${name} | ${format(times.before[0])} | ${format(median(times.before.slice(1)))} | ${same ? 'same query' : `${format(times.after[0])} | ${format(median(times.after.slice(1)))}`} |`;
    lines.push(same ? row.replace('same query |', 'same query | |') : row);
    log(row);
  }

  // The writer's statement, 500 rows a batch into today's partition, without and with the rollups
  // (--histogram: the rollups without and with the histogram), interleaved.
  const writer = await pool.connect();
  let serial = 0;
  const batch = () => insertLogsParams(Array.from({ length: 500 }, () => {
    serial++;
    const key = Math.floor(Math.random() ** 2 * 200);
    const model = (key * 7 + Math.floor(Math.random() * 3)) % 20;
    const row = {
      id: `writer-${serial}`, time: Date.now() - Math.floor(Math.random() * 1000), surface: 'openai', route: '/v1/chat/completions', method: 'POST',
      virtual_key_id: `vk_${key}`, team_id: `team_${key % 20}`, customer_id: `cus_${key % 50}`, provider: `provider_${model % 10}`,
      model: `model_${model}`, requested_model: `model_${model}`, status: 200, latency_ms: 40 + Math.random() ** 3 * 8000, upstream_ms: 280, ttft_ms: 90, overhead_us: 300,
      input_tokens: 800, output_tokens: 200, cached_tokens: 0, reasoning_tokens: 0, cost_usd: 0.0016, cost_known: 1, stream: 0, cache: null,
      attempts: '[]', error_code: null, error_message: null, metadata: null, request_body: null, response_body: null,
    };
    return LOG_COLUMNS.map((column) => row[column]);
  }));
  const upserts = rollupUpserts('inserted');
  const withoutHistogram = `WITH inserted AS (${INSERT_LOGS_ONLY_SQL} RETURNING ${ROLLUP_SOURCE_COLUMNS}), rollups AS (${upserts.rollups}) ${upserts.series}`;
  const rate = { without: [], with: [] };
  for (let round = 0; round < 4; round++) {
    for (const [side, sql] of [['without', histogramOnly ? withoutHistogram : INSERT_LOGS_ONLY_SQL], ['with', INSERT_LOGS_SQL]]) {
      const batches = Array.from({ length: writerBatches / 4 }, batch);
      const begin = performance.now();
      for (const params of batches) await writer.query(sql, params);
      rate[side].push((batches.length * 500) / seconds(begin));
    }
  }
  writer.release();

  console.log(`## ${rows.toLocaleString('en')} rows over ${days} days (load average at the end: ${load()})\n`);
  console.log(`- filled in ${fillSeconds.toFixed(0)} s (INSERT ... SELECT generate_series, no indexes), indexes built in ${indexSeconds.toFixed(0)} s, VACUUM ANALYZE ${vacuumSeconds.toFixed(0)} s`);
  console.log(`- rollups built with the writer's statements, day by day, in ${rollupSeconds.toFixed(0)} s: ${sizes.rollupRows.toLocaleString('en')} hourly rows (${(sizes.rollups / 2 ** 20).toFixed(0)} MiB), ${sizes.seriesRows.toLocaleString('en')} series rows (${(sizes.series / 2 ** 20).toFixed(0)} MiB), ${sizes.latencyRows.toLocaleString('en')} latency histogram rows (${(sizes.latency / 2 ** 20).toFixed(0)} MiB); request_logs ${(sizes.logs / 2 ** 20).toFixed(0)} MiB`);
  const fmt = (list) => list.map((value) => Math.round(value).toLocaleString('en')).join(', ');
  const [without, withThem] = histogramOnly ? ['rollups without the latency histogram', 'with it'] : ['without rollups', 'with rollups'];
  console.log(`- writer statement, 500-row batches, rows/s per round: ${without} ${fmt(rate.without)} (median ${Math.round(median(rate.without)).toLocaleString('en')}); ${withThem} ${fmt(rate.with)} (median ${Math.round(median(rate.with)).toLocaleString('en')})\n`);
  console.log(`| query (ms) | before: first | before: median of the rest | after: first | after: median of the rest |\n| --- | --- | --- | --- | --- |`);
  for (const line of lines) console.log(line);
} finally {
  await pool.end();
  if (values.keep) process.stderr.write(`schema ${schema} kept: drop it with DROP SCHEMA ${schema} CASCADE\n`);
  else await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
}
