#!/usr/bin/env node
// The benchmark, one command (`npm run bench`). See bench/README.md.
//
// Starts the mock upstream, the bare proxy and the gateway (when dist/cli.js is built) as child processes on
// 127.0.0.1, then measures the same open-loop load sent direct to the mock, through the proxy and through
// the gateway, one after another in the same run. Markdown on stdout, progress on stderr, and the full
// results in bench/results/<timestamp>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuPercent, sampleSystem, sleep, stopAll } from './lib/proc.mjs';
import { ceilingTable, fixedRateTables, healthTable, overloadTable, soakTable } from './lib/report.mjs';
import { runCeiling, runFixed, runOverload, runSoak } from './lib/modes.mjs';
import { GATEWAY_CLI, PROFILES, REPO_DIR, UPSTREAMS, directTarget, gatewayProfile, startGateway, startMock, startPeer, startProxy } from './lib/targets.mjs';

const HELP = `node bench/run.mjs [options]

  --mode fixed|ceiling|soak|peer|overload
                                   what to run (default fixed)
  --targets direct,proxy,gateway,gateway-lean
                                   targets, measured in this order (--peer-cmd appends the peer);
                                   gateway-lean is a second gateway with the lean profile; gateway-base is
                                   a second gateway of another build (--base-cli), same profile and options:
                                   before/after pairs in one run
  --rates 500,1000,2000,5000       fixed/peer: rates in req/s
  --duration 10                    seconds measured per step
  --warmup 2                       seconds of discarded load before each step
  --latency-ms 0                   mock upstream latency before the response headers
  --stream                         streaming chat requests (also reports time to first byte)
  --chunks 10 --chunk-delay-ms 0   mock stream shape
  --upstream openai|anthropic      the mock's format (default openai); with anthropic, direct and proxy are
                                   sent Anthropic messages requests and the gateway OpenAI chat requests for
                                   an anthropic/ model: the translated path (OpenAI client → Anthropic)
  --timeout-ms 10000               per request; also the bounded drain after a step's last send
  --connections auto               generator connections per target (auto: 2x expected in flight)
  --client undici|raw              the generator's HTTP client: undici (default), or raw (node:net, the request's
                                   bytes built once, non-stream only: much less of the CPU the target shares)
  --preconnect                     (raw client) open all --connections before each step and send one GET
                                   /health on each, so the step's requests never wait to be accepted
  --max-requests N                 cap per step (default rate x duration)
  --retries 1 --max-other-cpu 25   re-run a step (fixed, ceiling) while other work on the machine used more
                                   than this % of a core during it; the quietest attempt is kept
  ceiling: --p99-ms 50 --start-rate 1000 --max-rate 50000 --max-steps 8 --precision 0.05
  soak:    --rate 1000 --minutes 10 --interval-s 60 (targets default: gateway, else proxy)
  overload: --overload-factor 2 [--ceiling-rate N] [--after-s 0] (targets default: proxy,gateway)
           each target at factor × its ceiling (--ceiling-rate, else a ceiling search first), after a warm-up
           at the ceiling; answered p50/p99, 503s and their latency, timeouts, the gateway's shed counts;
           --after-s: RSS again that many seconds after
  peer:    (any mode) --peer-cmd '<command>' --peer-url http://127.0.0.1:PORT/v1/chat/completions
           [--peer-header 'name: value']... [--peer-model gpt-4o-mini] [--peer-name peer] [--peer-ready-url URL]
           ({port} = a free port, {mockPort}, {mockUrl} are filled in the command, URL and headers)
  gateway: [--profile production|lean|default] [--workers 1] [--gateway-cli dist/cli.js] [--gateway-arg ARG]...
           [--gateway-header 'name: value']... [--gateway-env NAME=VALUE]...
           [--gateway-node-arg ARG]... (Node's own options for the gateway target only, not gateway-base:
           e.g. --gateway-node-arg=--max-semi-space-size=4 against the same build as gateway-base)
           production (the default): \`heimdall start\` as installed (log level info, a JSON line per request
           on stdout, written to a file; request logs in SQLite, bodies off as shipped; metrics) with
           bench/production.json, a virtual key with a budget and rate limits that every request is checked
           against (its secret made up per run); lean: the same with --log-level warn;
           default: no config file (zero config, no virtual key, log level info)
  --out bench/results              where the JSON goes
`;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      mode: { type: 'string', default: 'fixed' },
      targets: { type: 'string' },
      rates: { type: 'string', default: '500,1000,2000,5000' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      'latency-ms': { type: 'string', default: '0' },
      stream: { type: 'boolean', default: false },
      chunks: { type: 'string', default: '10' },
      'chunk-delay-ms': { type: 'string', default: '0' },
      upstream: { type: 'string', default: 'openai' },
      'timeout-ms': { type: 'string', default: '10000' },
      connections: { type: 'string', default: 'auto' },
      client: { type: 'string', default: 'undici' },
      preconnect: { type: 'boolean', default: false },
      'max-requests': { type: 'string' },
      retries: { type: 'string', default: '1' },
      'max-other-cpu': { type: 'string', default: '25' },
      'p99-ms': { type: 'string', default: '50' },
      'start-rate': { type: 'string', default: '1000' },
      'max-rate': { type: 'string', default: '50000' },
      'max-steps': { type: 'string', default: '8' },
      precision: { type: 'string', default: '0.05' },
      rate: { type: 'string', default: '1000' },
      minutes: { type: 'string', default: '10' },
      'interval-s': { type: 'string', default: '60' },
      'overload-factor': { type: 'string', default: '2' },
      'ceiling-rate': { type: 'string' },
      'after-s': { type: 'string', default: '0' },
      'peer-cmd': { type: 'string' },
      'peer-url': { type: 'string' },
      'peer-header': { type: 'string', multiple: true, default: [] },
      'peer-model': { type: 'string', default: 'gpt-4o-mini' },
      'peer-name': { type: 'string', default: 'peer' },
      'peer-ready-url': { type: 'string' },
      'gateway-cli': { type: 'string', default: GATEWAY_CLI },
      'base-cli': { type: 'string' },
      profile: { type: 'string', default: 'production' },
      workers: { type: 'string', default: '1' },
      'gateway-arg': { type: 'string', multiple: true, default: [] },
      'gateway-header': { type: 'string', multiple: true, default: [] },
      'gateway-env': { type: 'string', multiple: true, default: [] },
      'gateway-node-arg': { type: 'string', multiple: true, default: [] },
      out: { type: 'string', default: join(REPO_DIR, 'bench', 'results') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const mode = values.mode;
  if (!['fixed', 'ceiling', 'soak', 'peer', 'overload'].includes(mode)) throw new Error(`unknown --mode ${mode}`);
  if (mode === 'peer' && (!values['peer-cmd'] || !values['peer-url'])) throw new Error('--mode peer needs --peer-cmd and --peer-url');
  const defaultTargets = mode === 'soak' ? 'gateway' : mode === 'overload' ? 'proxy,gateway' : 'direct,proxy,gateway,gateway-lean';
  const targets = (values.targets ?? defaultTargets).split(',').map((name) => name.trim()).filter(Boolean);
  // A peer joins any mode when its command is given; peer mode is the fixed rates with a peer.
  if (values['peer-cmd'] && !targets.includes('peer')) targets.push('peer');
  if (targets.includes('peer') && (!values['peer-cmd'] || !values['peer-url'])) throw new Error('the peer target needs --peer-cmd and --peer-url');
  if (!(values.upstream in UPSTREAMS)) throw new Error(`unknown --upstream ${values.upstream} (${Object.keys(UPSTREAMS).join(', ')})`);
  const latencyMs = Number(values['latency-ms']);
  const chunks = Number(values.chunks);
  const chunkDelayMs = Number(values['chunk-delay-ms']);
  return {
    mode,
    targets,
    rates: values.rates.split(',').map(Number).filter((rate) => rate > 0),
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    latencyMs,
    stream: values.stream,
    chunks,
    chunkDelayMs,
    upstream: values.upstream,
    expectedLatencyMs: latencyMs + (values.stream ? chunks * chunkDelayMs : 0),
    timeoutMs: Number(values['timeout-ms']),
    connections: values.connections === 'auto' ? 0 : Number(values.connections),
    client: values.client,
    preconnect: values.preconnect,
    maxRequests: values['max-requests'] ? Number(values['max-requests']) : undefined,
    retries: Number(values.retries),
    maxOtherCpu: Number(values['max-other-cpu']),
    p99BoundMs: Number(values['p99-ms']),
    startRate: Number(values['start-rate']),
    maxRate: Number(values['max-rate']),
    maxSteps: Number(values['max-steps']),
    precision: Number(values.precision),
    rate: Number(values.rate),
    minutes: Number(values.minutes),
    intervalS: Number(values['interval-s']),
    overloadFactor: Number(values['overload-factor']),
    ceilingRate: values['ceiling-rate'] ? Number(values['ceiling-rate']) : undefined,
    afterS: Number(values['after-s']),
    peer: {
      command: values['peer-cmd'],
      url: values['peer-url'],
      headers: parseHeaders(values['peer-header']),
      model: values['peer-model'],
      name: values['peer-name'],
      readyUrl: values['peer-ready-url'],
    },
    gateway: gatewayOptions(values),
    baseCli: values['base-cli'],
    out: values.out,
  };
}

/** The gateway's command line, environment and headers for the chosen profile. */
function gatewayOptions(values) {
  const profile = values.profile;
  if (!PROFILES.includes(profile)) throw new Error(`unknown --profile ${profile} (${PROFILES.join(', ')})`);
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new Error('--workers takes a whole number of processes');
  const extraArgs = [...values['gateway-arg']];
  const extraEnv = Object.fromEntries(values['gateway-env'].map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  const chosen = gatewayProfile(profile);
  extraArgs.unshift(...chosen.extraArgs);
  Object.assign(extraEnv, chosen.extraEnv);
  if (workers > 1) extraArgs.push('--workers', String(workers));
  return { cli: values['gateway-cli'], profile, workers, extraArgs, extraEnv, nodeArgs: values['gateway-node-arg'], headers: { ...chosen.headers, ...parseHeaders(values['gateway-header']) } };
}

/** The second gateway target: the lean profile, with the same workers, CLI and extra options. */
function leanGatewayOptions(gateway) {
  const lean = gatewayProfile('lean');
  const extraArgs = [...lean.extraArgs, ...gateway.extraArgs.filter((arg, i, all) => arg !== '--config' && all[i - 1] !== '--config')];
  return { ...gateway, profile: 'lean', extraArgs, extraEnv: { ...gateway.extraEnv, ...lean.extraEnv }, headers: { ...gateway.headers, ...lean.headers } };
}

function parseHeaders(list) {
  /** @type {Record<string, string>} */
  const headers = {};
  for (const header of list) {
    const colon = header.indexOf(':');
    if (colon <= 0) throw new Error(`header "${header}" is not "name: value"`);
    headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
  }
  return headers;
}

const log = (line) => process.stderr.write(`${line}\n`);

async function startTargets(options, mock, notes, failures) {
  const auth = { authorization: 'Bearer bench-key' };
  const wanted = new Set(options.targets);
  const soakFallback = options.mode === 'soak' && wanted.has('gateway');
  const targets = [];
  for (const name of options.targets) {
    if (name === 'direct') targets.push(directTarget(mock, auth, options.upstream));
    else if (name === 'proxy') targets.push(await startProxy(mock, auth, { upstream: options.upstream }));
    else if (name === 'gateway' || name === 'gateway-lean' || name === 'gateway-base') {
      if (name === 'gateway-base' && !options.baseCli) throw new Error('the gateway-base target needs --base-cli');
      try {
        const settings = name === 'gateway' ? options.gateway : name === 'gateway-base' ? { ...options.gateway, cli: options.baseCli, nodeArgs: [] } : leanGatewayOptions(options.gateway);
        const gateway = await startGateway(mock, { ...settings, name, upstream: options.upstream, headers: { ...auth, ...settings.headers } });
        if (gateway) {
          const info = /** @type {any} */ (gateway.info);
          notes.push(`${name} (${settings.profile} profile) cold start: /health after ${info.coldStartHealthMs.toFixed(0)} ms, first chat completion served ${info.coldStartFirstRequestMs.toFixed(0)} ms after spawn.`);
          targets.push(gateway);
        } else {
          notes.push(`Gateway skipped: ${options.gateway.cli} does not exist (run \`npm run build\` first).`);
          log(`note: ${options.gateway.cli} not found; skipping the gateway target (run \`npm run build\`)`);
          if (soakFallback && !wanted.has('proxy')) targets.push(await startProxy(mock, auth, { upstream: options.upstream }));
        }
      } catch (error) {
        failures.push(`gateway failed to start: ${error.message}`);
        log(`error: gateway failed to start, skipping it: ${error.message}`);
      }
    } else if (name === 'peer') {
      try {
        const peer = await startPeer(mock, { ...options.peer, headers: { ...auth, ...options.peer.headers } });
        notes.push(`Peer \`${options.peer.name}\`: first chat completion served ${/** @type {any} */ (peer.info).coldStartFirstRequestMs.toFixed(0)} ms after spawn.`);
        targets.push(peer);
      } catch (error) {
        failures.push(`peer failed to start: ${error.message}`);
        log(`error: peer failed to start, skipping it: ${error.message}`);
      }
    } else throw new Error(`unknown target ${name} (direct, proxy, gateway, gateway-lean, gateway-base, peer)`);
  }
  return targets;
}

const PROFILE_SUMMARY = {
  production: 'production profile (`heimdall start` as installed: log level info, request logs in SQLite with bodies off, metrics; bench/production.json: a virtual key with budget and rate limits)',
  lean: 'the production profile with `--log-level warn`',
  default: 'default profile (zero config, log level info)',
};

function header(options) {
  const cpu = cpus();
  const shape =
    (options.stream ? `stream (${options.chunks} chunks, ${options.chunkDelayMs} ms apart)` : 'non-stream') +
    (options.upstream === 'anthropic' ? ', Anthropic upstream (the gateway translates OpenAI chat ↔ Anthropic messages; direct and proxy relay Anthropic messages)' : '');
  const plan =
    options.mode === 'soak'
      ? `${options.rate} req/s for ${options.minutes} min in ${options.intervalS} s intervals after ${options.warmupS} s warm-up`
      : options.mode === 'overload'
        ? `${options.overloadFactor}× each target's ceiling${options.ceilingRate ? ` (given: ${options.ceilingRate} req/s)` : ' (searched first, p99 ≤ ' + options.p99BoundMs + ' ms)'} for ${options.durationS} s after ${options.warmupS} s of warm-up at the ceiling, --timeout-ms ${options.timeoutMs}`
        : `${options.durationS} s per step after ${options.warmupS} s warm-up` +
        (options.mode === 'ceiling' ? `, pass = 100% success and p99 ≤ ${options.p99BoundMs} ms` : '');
  return (
    `## Heimdall benchmark — ${options.mode} mode, ${new Date().toISOString()}\n\n` +
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, Node ${process.version}. Mock latency ${options.latencyMs} ms, ${shape}. ` +
    `Gateway: ${PROFILE_SUMMARY[options.gateway.profile]}; gateway-lean (when measured): ${PROFILE_SUMMARY.lean}` +
    `${options.gateway.workers > 1 ? `, ${options.gateway.workers} workers` : ''}. ` +
    `${plan}; open loop, latency from the intended send time.`
  );
}

async function main() {
  const options = parseOptions();
  const startedAt = new Date();
  const notes = [];
  const failures = [];
  // Other work on the machine competes with every process the benchmark measures: say so up front.
  const idleBefore = sampleSystem();
  await sleep(1_000);
  const backgroundCpuPercent = cpuPercent(idleBefore, sampleSystem());
  if (backgroundCpuPercent > 15) {
    const warning = `Warning: the machine was already ${backgroundCpuPercent.toFixed(0)}% busy (of one core) before the benchmark started; figures will be noisy.`;
    notes.push(`**${warning}**`);
    log(warning);
  }
  const mock = await startMock(options);
  log(`mock upstream on ${mock.origin} (latency ${options.latencyMs} ms)`);
  const targets = await startTargets(options, mock, notes, failures);
  if (targets.length === 0) throw new Error('no target to measure');
  log(`targets: ${targets.map((target) => `${target.name} ${target.url}`).join(', ')}`);
  const runOptions = { ...options, mockProc: mock.proc };
  const results = { startedAt: startedAt.toISOString(), machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, backgroundCpuPercent }, options, notes, failures, targets: targets.map(({ name, url, model, info }) => ({ name, url, model, info })) };
  const sections = [header(options)];

  if (options.mode === 'fixed' || options.mode === 'peer') {
    const steps = await runFixed(targets, runOptions);
    Object.assign(results, { steps });
    sections.push(fixedRateTables(steps, { stream: options.stream }));
  } else if (options.mode === 'ceiling') {
    const ceilings = await runCeiling(targets, runOptions);
    Object.assign(results, { ceilings });
    sections.push(ceilingTable(ceilings, options.p99BoundMs));
  } else if (options.mode === 'overload') {
    const overloads = await runOverload(targets, runOptions);
    Object.assign(results, { overloads });
    const searched = overloads.filter((entry) => entry.search).map((entry) => entry.search);
    if (searched.length > 0) sections.push(ceilingTable(searched, options.p99BoundMs));
    sections.push(`Overload at ${options.overloadFactor}× the ceiling:\n\n${overloadTable(overloads)}`);
    const steps = overloads.map((entry) => entry.step).filter(Boolean);
    if (steps.length > 0) sections.push(`Generator and machine health during the overload steps (CPU % of one core):\n\n${healthTable(steps)}`);
  } else {
    const soaks = [];
    for (const target of targets) {
      const soak = await runSoak(target, runOptions);
      soaks.push(soak);
      sections.push(`Soak, ${target.name} at ${options.rate} req/s for ${options.minutes} min (${options.intervalS} s intervals):\n\n${soakTable(soak)}`);
    }
    Object.assign(results, { soaks });
  }
  if (notes.length > 0 || failures.length > 0) sections.push([...notes, ...failures.map((failure) => `**${failure.split('\n')[0]}**`)].join('\n\n'));

  mkdirSync(options.out, { recursive: true });
  const file = join(options.out, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  sections.push(`Results: \`${file}\``);
  process.stdout.write(`${sections.join('\n\n')}\n`);
  await stopAll();
  process.exit(failures.length > 0 ? 1 : 0);
}

main().catch(async (error) => {
  process.stderr.write(`bench failed: ${error?.stack ?? error}\n`);
  await stopAll();
  process.exit(1);
});
