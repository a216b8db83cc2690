#!/usr/bin/env node
// Throughput of 1, 2 and 3 Heimdall instances behind one load balancer, on this machine, and where its
// cores go. See bench/README.md ("Cluster mode: 1, 2 and 3 instances").
//
//   node bench/cluster-scale.mjs --redis redis://127.0.0.1:6379 --database postgres://postgres@127.0.0.1:5432/postgres
//        [--instances 1,2,3] [--rates 400,800,1200,1600] [--duration 6] [--warmup 2] [--rounds 1] [--no-embedded]
//        [--quiet-load 0 --quiet-wait-s 300]
//
// Each configuration: the mock upstream, N gateways (dist/cli.js, production profile: a virtual key with a
// budget and rate limits, log level info, request logs) sharing one Postgres database of this run's own
// (created, migrated with `heimdall migrate`, and dropped at the end) and one Redis key prefix of its own
// (deleted at the end), behind bench/lib/balancer.mjs (round robin, keep-alive). `embedded` is one gateway
// without Redis or Postgres behind the same balancer: the reference. Each rate is one open-loop step sent
// to the balancer; the CPU of every process is read from /proc (Redis's from INFO cpu, Postgres's from the
// backends serving this run's database), so the table shows where the cores went. Bounded: every step
// sends at most rate × duration requests, and every process started is stopped by its PID. With
// --quiet-load L, each configuration first waits (at most --quiet-wait-s) for the 1-minute load average to
// fall to L or below: on a shared machine, other work decides most of what a step shows.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Redis } from 'ioredis';
import { chatRequestBody, createPool, runLoad } from './load.mjs';
import { dropKeys, fmt, runPrefix } from './lib/cluster.mjs';
import { cpuPercent, sampleProcess, sampleSystem, sleep, startProcess, stopAll, stopProcess, waitForReadyLine } from './lib/proc.mjs';
import { autoConnections } from './lib/step.mjs';
import { BENCH_DIR, GATEWAY_CLI, REPO_DIR, productionProfile, startGateway, startMock } from './lib/targets.mjs';

const P99_BOUND_MS = 50;
const log = (line) => process.stderr.write(`${line}\n`);

function options() {
  const { values } = parseArgs({
    options: {
      redis: { type: 'string' },
      database: { type: 'string' },
      instances: { type: 'string', default: '1,2,3' },
      rates: { type: 'string', default: '400,800,1200,1600' },
      duration: { type: 'string', default: '6' },
      warmup: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '1' },
      'timeout-ms': { type: 'string', default: '10000' },
      'no-embedded': { type: 'boolean', default: false },
      'quiet-load': { type: 'string', default: '0' },
      'quiet-wait-s': { type: 'string', default: '300' },
    },
  });
  if (values.redis === undefined || values.database === undefined) {
    log('usage: node bench/cluster-scale.mjs --redis redis://HOST:PORT --database postgres://USER@HOST:PORT/DB [--instances 1,2,3] [--rates 400,800,1200,1600] [--duration 6] [--warmup 2] [--rounds 1] [--no-embedded]');
    process.exit(2);
  }
  for (const url of [values.redis, values.database]) {
    if (new URL(url).hostname !== '127.0.0.1') throw new Error(`${url}: the benchmark only uses servers on 127.0.0.1`);
  }
  const list = (text) => text.split(',').map(Number).filter((value) => value > 0);
  return { ...values, instances: list(values.instances), rates: list(values.rates), durationS: Number(values.duration), warmupS: Number(values.warmup), rounds: Number(values.rounds), timeoutMs: Number(values['timeout-ms']), quietLoad: Number(values['quiet-load']), quietWaitS: Number(values['quiet-wait-s']) };
}

/** A Postgres database of this run's own (created here, dropped at the end). */
async function createDatabase(serverUrl) {
  const name = `heimdall_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
}

async function dropDatabase(serverUrl, name) {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/**
 * Interrupted (Ctrl+C, SIGTERM: bench/lib/proc.mjs stops the children and exits without running `finally`),
 * the run's database and Redis keys are removed on the way out, synchronously, by a child process.
 */
function cleanUpAtExit(serverUrl, redisUrl, prefix) {
  let database;
  const onExit = () => {
    const code = `import { dropKeys } from './bench/lib/cluster.mjs';
import pg from 'pg';
const [serverUrl, redisUrl, prefix, database] = process.argv.slice(1);
await dropKeys(redisUrl, prefix);
if (database) { const admin = new pg.Client({ connectionString: serverUrl }); await admin.connect(); await admin.query(\`DROP DATABASE IF EXISTS \${database} WITH (FORCE)\`); await admin.end(); }`;
    spawnSync(process.execPath, ['--input-type=module', '-e', code, serverUrl, redisUrl, prefix, database ?? ''], { cwd: REPO_DIR, stdio: 'inherit', timeout: 20_000 });
  };
  process.on('exit', onExit);
  return {
    database(name) {
      database = name;
    },
    /** Cleaned up already: nothing to do at exit. */
    done() {
      process.off('exit', onExit);
    },
  };
}

/** The CPU seconds the Postgres backends serving `database` have used, and the server's background processes. */
async function postgresCpu(admin, database) {
  const { rows } = await admin.query(`SELECT pid, datname, backend_type FROM pg_stat_activity WHERE datname = $1 OR backend_type <> 'client backend'`, [database]);
  const sum = (list) => list.reduce((total, row) => total + sampleProcess(row.pid).cpuSeconds, 0);
  return {
    backends: sum(rows.filter((row) => row.datname === database && row.backend_type === 'client backend')),
    background: sum(rows.filter((row) => row.backend_type !== 'client backend')),
    pids: rows.map((row) => row.pid),
  };
}

async function redisCpu(redis) {
  const info = await redis.info('cpu');
  const read = (name) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return read('used_cpu_sys') + read('used_cpu_user');
}

/** Waits (bounded) until the 1-minute load average is at most `limit`; 0: does not wait. */
async function quietMachine(limit, waitS) {
  if (!(limit > 0)) return;
  const deadline = Date.now() + waitS * 1000;
  while (loadavg()[0] > limit && Date.now() < deadline) await sleep(5_000);
  if (loadavg()[0] > limit) log(`load average still ${loadavg()[0].toFixed(2)} after ${waitS} s; measuring anyway`);
}

async function startBalancer(instances) {
  const args = [process.execPath, join(BENCH_DIR, 'lib', 'balancer.mjs'), '--port', '0'];
  for (const instance of instances) args.push('--backend', `http://127.0.0.1:${instance.info.port}`);
  const proc = startProcess('balancer', args);
  const port = await waitForReadyLine(proc);
  return { proc, url: `http://127.0.0.1:${port}/v1/chat/completions` };
}

/** N gateways on one database and one Redis prefix (cluster), or one gateway on its own (embedded). */
async function startConfiguration(mock, run, mode, count) {
  const profile = productionProfile();
  const env = { ...profile.extraEnv, HEIMDALL_BENCH_VIRTUAL_KEY: run.virtualKey };
  const headers = { authorization: `Bearer ${run.virtualKey}` };
  if (mode === 'cluster') {
    Object.assign(env, { HEIMDALL_DATABASE_URL: run.databaseUrl, HEIMDALL_REDIS_URL: run.redisUrl, HEIMDALL_REDIS_KEY_PREFIX: run.prefix, HEIMDALL_ENCRYPTION_KEY: run.encryptionKey });
  }
  const instances = [];
  // One after another: the first seeds the shared configuration, the others load it.
  for (let index = 0; index < count; index++) {
    instances.push(await startGateway(mock, { name: `${mode}-${index + 1}`, headers, extraArgs: profile.extraArgs, extraEnv: env }));
  }
  const balancer = await startBalancer(instances);
  return { mode, count, instances, balancer, headers };
}

async function stopConfiguration(configuration) {
  await stopProcess(configuration.balancer.proc);
  await Promise.all(configuration.instances.map((instance) => stopProcess(instance.proc, 8_000)));
}

async function measure(configuration, rate, run, settings) {
  const load = { url: configuration.balancer.url, rate, timeoutMs: settings.timeoutMs, headers: configuration.headers, body: chatRequestBody({ model: 'openai/gpt-4o-mini' }) };
  const connections = autoConnections(rate, 5);
  let pool = createPool(load.url, { connections, timeoutMs: settings.timeoutMs });
  try {
    if (settings.warmupS > 0) {
      const warmup = await runLoad({ ...load, pool, durationS: settings.warmupS });
      if (warmup.abandoned > 0) {
        await pool.destroy();
        pool = createPool(load.url, { connections, timeoutMs: settings.timeoutMs });
      }
    }
    const pids = { instances: configuration.instances.map((instance) => instance.proc.pid), balancer: configuration.balancer.proc.pid, mock: run.mock.proc.pid };
    const sample = async () => ({
      instances: pids.instances.map((pid) => sampleProcess(pid)),
      balancer: sampleProcess(pids.balancer),
      mock: sampleProcess(pids.mock),
      redis: configuration.mode === 'cluster' ? await redisCpu(run.redis) : Number.NaN,
      postgres: configuration.mode === 'cluster' ? await postgresCpu(run.admin, run.databaseName) : undefined,
      system: sampleSystem(),
      at: performance.now(),
    });
    const loadBefore = loadavg()[0];
    const before = await sample();
    const result = await runLoad({ ...load, pool, durationS: settings.durationS, maxRequests: Math.ceil(rate * settings.durationS) });
    const after = await sample();
    const wallS = (after.at - before.at) / 1000;
    const share = (seconds) => (seconds / wallS) * 100;
    const instanceCpu = before.instances.map((sampled, index) => cpuPercent(sampled, after.instances[index]));
    const cpu = {
      instances: instanceCpu,
      instancesTotal: instanceCpu.reduce((a, b) => a + b, 0),
      balancer: cpuPercent(before.balancer, after.balancer),
      mock: cpuPercent(before.mock, after.mock),
      redis: share(after.redis - before.redis),
      postgresBackends: after.postgres === undefined ? Number.NaN : share(after.postgres.backends - before.postgres.backends),
      postgresBackground: after.postgres === undefined ? Number.NaN : Math.max(0, share(after.postgres.background - before.postgres.background)),
      generator: result.generatorCpuPercent,
      system: cpuPercent(before.system, after.system),
    };
    const accounted = cpu.instancesTotal + cpu.balancer + cpu.mock + cpu.generator + (Number.isFinite(cpu.redis) ? cpu.redis : 0) +
      (Number.isFinite(cpu.postgresBackends) ? cpu.postgresBackends + cpu.postgresBackground : 0);
    cpu.other = Math.max(0, cpu.system - accounted);
    const pass = result.successRate === 1 && result.latency.p99 <= P99_BOUND_MS * 1000;
    const step = { configuration: configuration.mode === 'embedded' ? 'embedded' : `cluster ×${configuration.count}`, mode: configuration.mode, count: configuration.count, rate, pass, result, cpu, load1: [loadBefore, loadavg()[0]] };
    log(`${step.configuration.padEnd(12)} ${String(rate).padStart(5)} req/s: ${(result.successRate * 100).toFixed(2)}% ok, ${result.achievedRate.toFixed(0)} ok/s, p50 ${fmt(result.latency.p50 / 1000, 2)} p99 ${fmt(result.latency.p99 / 1000, 2)} ms, ` +
      `CPU instances ${fmt(cpu.instancesTotal)}% balancer ${fmt(cpu.balancer)}% redis ${fmt(cpu.redis)}% pg ${fmt(cpu.postgresBackends)}+${fmt(cpu.postgresBackground)}% mock ${fmt(cpu.mock)}% generator ${fmt(cpu.generator)}% other ${fmt(cpu.other)}%, load ${step.load1.map((value) => value.toFixed(2)).join('→')} ${pass ? 'pass' : 'FAIL'}`);
    return step;
  } finally {
    await pool.destroy();
    await sleep(300);
  }
}

function report(steps, settings) {
  const lines = [
    `${cpus().length} cores; ${settings.durationS} s per step after ${settings.warmupS} s warm-up; pass = 100% ok and p99 ≤ ${P99_BOUND_MS} ms; CPU in % of one core over the step; load = 1-minute load average before → after the step`,
    '',
    '| configuration | rate req/s | ok % | ok/s | p50 ms | p99 ms | instances CPU % (each) | balancer | Redis | Postgres backends + background | mock | generator | other | load | |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const step of steps) {
    const { result, cpu } = step;
    lines.push(`| ${step.configuration} | ${step.rate} | ${fmt(result.successRate * 100, 2)} | ${fmt(result.achievedRate)} | ${fmt(result.latency.p50 / 1000, 2)} | ${fmt(result.latency.p99 / 1000, 2)} | ${fmt(cpu.instancesTotal)} (${cpu.instances.map((value) => fmt(value)).join(' + ')}) | ${fmt(cpu.balancer)} | ${fmt(cpu.redis)} | ${fmt(cpu.postgresBackends)} + ${fmt(cpu.postgresBackground)} | ${fmt(cpu.mock)} | ${fmt(cpu.generator)} | ${fmt(cpu.other)} | ${step.load1.map((value) => value.toFixed(2)).join(' → ')} | ${step.pass ? 'pass' : 'fail'} |`);
  }
  // CPU time per request answered: comparable across rates and less at the mercy of other work than latency.
  lines.push('', 'CPU per request answered, µs (CPU % of one core × 10,000 / answers per second):', '',
    '| configuration | rate req/s | instances | balancer | Redis | Postgres backends | mock | generator |', '| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const step of steps) {
    const perRequest = (percent) => fmt((percent * 10_000) / step.result.achievedRate);
    const { cpu } = step;
    lines.push(`| ${step.configuration} | ${step.rate} | ${perRequest(cpu.instancesTotal)} | ${perRequest(cpu.balancer)} | ${perRequest(cpu.redis)} | ${perRequest(cpu.postgresBackends)} | ${perRequest(cpu.mock)} | ${perRequest(cpu.generator)} |`);
  }
  lines.push('', '| configuration | highest rate passed (of those run) |', '| --- | --- |');
  const names = [...new Set(steps.map((step) => step.configuration))];
  for (const name of names) {
    const passed = steps.filter((step) => step.configuration === name && step.pass).map((step) => step.rate);
    lines.push(`| ${name} | ${passed.length === 0 ? 'none' : Math.max(...passed)} |`);
  }
  return lines.join('\n');
}

async function main() {
  const settings = options();
  const run = {
    prefix: runPrefix(),
    redisUrl: settings.redis,
    virtualKey: `hk-bench-${randomBytes(16).toString('hex')}`,
    encryptionKey: randomBytes(32).toString('base64'),
  };
  const steps = [];
  let database;
  const atExit = cleanUpAtExit(settings.database, settings.redis, run.prefix);
  try {
    database = await createDatabase(settings.database);
    atExit.database(database.name);
    log(`database ${database.name}, Redis key prefix ${run.prefix} (both removed at the end)`);
    Object.assign(run, { databaseUrl: database.url, databaseName: database.name });
    const migrate = spawnSync(process.execPath, [GATEWAY_CLI, 'migrate'], { cwd: REPO_DIR, env: { ...process.env, HEIMDALL_DATABASE_URL: database.url }, encoding: 'utf8', timeout: 60_000 });
    if (migrate.status !== 0) throw new Error(`heimdall migrate failed: ${migrate.stderr}`);
    run.admin = new pg.Client({ connectionString: settings.database });
    await run.admin.connect();
    run.redis = new Redis(settings.redis);
    run.mock = await startMock({ latencyMs: 0, chunks: 10, chunkDelayMs: 0 });
    const plan = [];
    for (let round = 0; round < settings.rounds; round++) {
      if (!settings['no-embedded']) plan.push(['embedded', 1]);
      for (const count of settings.instances) plan.push(['cluster', count]);
    }
    for (const [mode, count] of plan) {
      await quietMachine(settings.quietLoad, settings.quietWaitS);
      log(`starting ${mode} ×${count} (load average ${loadavg().map((value) => value.toFixed(2)).join(' ')})`);
      const configuration = await startConfiguration(run.mock, run, mode, count);
      try {
        for (const rate of settings.rates) steps.push(await measure(configuration, rate, run, settings));
      } finally {
        await stopConfiguration(configuration);
      }
    }
  } finally {
    await stopAll();
    await run.admin?.end().catch(() => undefined);
    run.redis?.disconnect();
    await dropKeys(settings.redis, run.prefix).catch((error) => log(`could not delete the Redis keys under ${run.prefix}: ${error.message}`));
    if (database !== undefined) await dropDatabase(settings.database, database.name).catch((error) => log(`could not drop database ${database.name}: ${error.message}`));
    atExit.done();
  }
  process.stdout.write(`${report(steps, settings)}\n`);
}

main().catch((error) => {
  log(`${error?.stack ?? error}`);
  process.exitCode = 1;
});
