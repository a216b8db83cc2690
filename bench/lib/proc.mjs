// Child processes for the benchmark: spawn, wait until ready, sample CPU/RSS from /proc, and kill
// every process we started (by its PID and the PIDs of its descendants) on exit, error and SIGINT.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';

/** @typedef {{ name: string, child: import('node:child_process').ChildProcess, pid: number, output: string[], exited: boolean, exitCode: number|null }} Managed */

/** @type {Set<Managed>} */
const managed = new Set();
/** @type {Set<string>} */
const tempDirs = new Set();
let handlersInstalled = false;

// USER_HZ: the unit of utime/stime in /proc/<pid>/stat. 100 on every Linux this runs on.
const CLOCK_TICKS_PER_SECOND = 100;
const OUTPUT_LINES_KEPT = 40;

/** Registers a temp directory to remove at exit. */
export function removeAtExit(dir) {
  tempDirs.add(dir);
}

/**
 * Starts a child process. `command` is an argv array (spawned directly, so the PID is the program's)
 * or a string (run through /bin/sh -c, for a peer's command line).
 * @returns {Managed}
 */
export function startProcess(name, command, { env, cwd, stdoutFile } = {}) {
  installExitHandlers();
  const [file, args] = typeof command === 'string' ? ['/bin/sh', ['-c', command]] : [command[0], command.slice(1)];
  // A gateway's log goes to a file, as a service manager would keep it: reading it through a pipe here
  // would put its cost on the load generator's process.
  const stdoutFd = stdoutFile === undefined ? undefined : openSync(stdoutFile, 'a');
  const child = spawn(file, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['pipe', stdoutFd ?? 'pipe', 'pipe'],
  });
  if (stdoutFd !== undefined) closeSync(stdoutFd);
  /** @type {Managed} */
  const proc = { name, child, pid: child.pid ?? -1, output: [], exited: false, exitCode: null };
  const keep = (chunk) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.length === 0) continue;
      proc.output.push(line);
      if (proc.output.length > OUTPUT_LINES_KEPT) proc.output.shift();
    }
  };
  child.stdout?.on('data', keep);
  child.stderr.on('data', keep);
  child.stdin.on('error', () => {});
  child.on('error', (error) => {
    proc.output.push(`spawn error: ${error.message}`);
    proc.exited = true;
  });
  child.on('exit', (code, signal) => {
    proc.exited = true;
    proc.exitCode = code ?? (signal ? 128 : null);
    managed.delete(proc);
  });
  managed.add(proc);
  return proc;
}

/** Resolves with the port once the child prints `READY <port>` on stdout. */
export function waitForReadyLine(proc, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => finish(new Error(`${proc.name}: no READY line within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk) => {
      buffered += chunk.toString('utf8');
      const match = /^READY (\d+)$/m.exec(buffered);
      if (match) finish(null, Number(match[1]));
    };
    const onExit = () => finish(new Error(`${proc.name} exited before it was ready:\n${proc.output.join('\n')}`));
    function finish(error, port) {
      clearTimeout(timer);
      proc.child.stdout.off('data', onData);
      proc.child.off('exit', onExit);
      if (error) reject(error);
      else resolve(port);
    }
    proc.child.stdout.on('data', onData);
    proc.child.once('exit', onExit);
  });
}

/** One GET on loopback without keep-alive; resolves with the status and body, or null on a connection error. */
export function httpGet(url, timeoutMs = 2_000) {
  return new Promise((resolve) => {
    const request = http.get(url, { agent: false, timeout: timeoutMs }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', () => resolve(null));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', () => resolve(null));
  });
}

/** Polls `url` until it answers 200 (or, with `anyStatus`, any HTTP status). Returns ms waited. */
export async function waitForHttp(url, proc, { timeoutMs = 20_000, anyStatus = false } = {}) {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (proc?.exited) throw new Error(`${proc.name} exited (code ${proc.exitCode}) before it was ready:\n${proc.output.join('\n')}`);
    const reply = await httpGet(url, 1_000);
    if (reply && (reply.status === 200 || (anyStatus && reply.status > 0))) return performance.now() - started;
    await sleep(25);
  }
  throw new Error(`${proc?.name ?? url}: not ready within ${timeoutMs} ms${proc ? `:\n${proc.output.join('\n')}` : ''}`);
}

/** Resolves once something accepts TCP connections on host:port. */
export async function waitForPort(host, port, proc, timeoutMs = 20_000) {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (proc?.exited) throw new Error(`${proc.name} exited (code ${proc.exitCode}) before it was ready:\n${proc.output.join('\n')}`);
    const open = await new Promise((resolve) => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return performance.now() - started;
    await sleep(50);
  }
  throw new Error(`${proc?.name ?? `${host}:${port}`}: port ${port} not open within ${timeoutMs} ms`);
}

/** A port that was free a moment ago on 127.0.0.1 (for programs that cannot listen on port 0 and report it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** PIDs of `pid` and all its descendants (children first would not matter; we signal each by PID). */
export function processTree(pid) {
  /** @type {Map<number, number[]>} */
  const children = new Map();
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return [pid];
  }
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    const list = children.get(stat.ppid);
    if (list) list.push(stat.pid);
    else children.set(stat.ppid, [stat.pid]);
  }
  const tree = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = /** @type {number} */ (queue.shift());
    tree.push(current);
    for (const child of children.get(current) ?? []) queue.push(child);
  }
  return tree;
}

function readStat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces; fields are counted after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

function readRssKb(pid) {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds used so far and resident memory of a process and its descendants. */
export function sampleProcess(pid) {
  let ticks = 0;
  let rssKb = 0;
  for (const member of processTree(pid)) {
    ticks += readStat(member)?.ticks ?? 0;
    rssKb += readRssKb(member);
  }
  return { cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND, rssMb: rssKb / 1024, at: performance.now() };
}

/** CPU seconds the whole machine has spent busy (all cores), from the first line of /proc/stat. */
export function sampleSystem() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy is everything but idle and iowait.
    const busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7];
    return { cpuSeconds: busy / CLOCK_TICKS_PER_SECOND, rssMb: 0, at: performance.now() };
  } catch {
    return { cpuSeconds: NaN, rssMb: 0, at: performance.now() };
  }
}

/** CPU % (100 = one core) between two samples. */
export function cpuPercent(before, after) {
  const wallSeconds = (after.at - before.at) / 1000;
  return wallSeconds > 0 ? ((after.cpuSeconds - before.cpuSeconds) / wallSeconds) * 100 : 0;
}

function signalTree(pid, signal) {
  for (const member of processTree(pid)) {
    try {
      process.kill(member, signal);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM the process and its descendants, then SIGKILL whatever is left after `graceMs`. */
export async function stopProcess(proc, graceMs = 3_000) {
  if (proc.exited) return;
  const exited = new Promise((resolve) => proc.child.once('exit', resolve));
  signalTree(proc.pid, 'SIGTERM');
  const timedOut = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)]);
  // Descendants of a shell-launched peer may outlive the shell; reap them too.
  signalTree(proc.pid, 'SIGKILL');
  if (timedOut) await Promise.race([exited, sleep(500)]);
}

export async function stopAll() {
  await Promise.all([...managed].map((proc) => stopProcess(proc)));
  removeTempDirs();
}

function killAllSync() {
  for (const proc of managed) if (!proc.exited) signalTree(proc.pid, 'SIGKILL');
  removeTempDirs();
}

function removeTempDirs() {
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  tempDirs.clear();
}

function installExitHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping child processes\n`);
      stopAll().finally(() => process.exit(130));
      setTimeout(() => process.exit(130), 5_000).unref();
    });
  }
  process.on('uncaughtException', (error) => {
    process.stderr.write(`fatal: ${error?.stack ?? error}\n`);
    killAllSync();
    process.exit(1);
  });
}
