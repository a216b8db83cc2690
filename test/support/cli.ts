/**
 * The real CLI (dist/cli.js) in a child process, for tests of what only a
 * process shows: signals, kill -9, two processes on one data dir. dist/ is
 * built when it is missing or older than src/.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist', 'cli.js');
const BUILD_INFO = join(ROOT, 'dist', '.tsbuildinfo');

/** The newest modification time of any file under `dir` (ms). */
export function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** Builds dist/ when it is missing or older than src/. A failing build fails the suite with tsc's output. */
export function ensureBuilt(): void {
  const fresh = existsSync(CLI) && existsSync(BUILD_INFO) && statSync(BUILD_INFO).mtimeMs >= newest(join(ROOT, 'src'));
  if (fresh) return;
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (build.status !== 0) {
    throw new Error(`the build (tsc -p tsconfig.build.json) failed; dist/cli.js cannot be tested:\n${build.stdout}${build.stderr}`);
  }
}

export interface Cli {
  child: ChildProcess;
  url: string;
  port: number;
  dataDir: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Every child started, and every data dir made, for the suite's cleanup. */
export const children: ChildProcess[] = [];
export const dirs: string[] = [];

/** After each test: SIGKILL to every child still running (by its PID, through its handle). */
export function killChildren(): void {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** After the suite: removes the data dirs made. */
export function removeDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface StartCliOptions {
  /** An existing data dir (a restart); a new temporary one otherwise. */
  dataDir?: string;
  /** More flags after the defaults (--config FILE, --log-level trace...). */
  args?: string[];
  logLevel?: string;
  /** How long to wait for the banner (ms). Default 10 s; more for what migrates and connects first (cluster mode). */
  bannerTimeoutMs?: number;
}

/** The child process of `heimdall start --port 0 ...`, its output captured, not waited for. */
export function spawnCli(env: Record<string, string>, options: StartCliOptions = {}): Omit<Cli, 'url' | 'port'> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'heimdall-cli-'));
  if (options.dataDir === undefined) dirs.push(dataDir);
  const args = [CLI, 'start', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--log-level', options.logLevel ?? 'info', ...(options.args ?? [])];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, dataDir, stdout: () => out, stderr: () => err, exited };
}

/** Starts `heimdall start --port 0` and waits for the banner's OpenAI API line. */
export async function startCli(env: Record<string, string>, options: StartCliOptions = {}): Promise<Cli> {
  const cli = spawnCli(env, options);
  const url = await new Promise<string>((resolve, reject) => {
    const waitMs = options.bannerTimeoutMs ?? 10_000;
    const timer = setTimeout(() => reject(new Error(`no banner within ${waitMs / 1000} s; stderr:\n${cli.stderr()}`)), waitMs);
    const check = (): void => {
      const match = /OpenAI API\s+(http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(cli.stderr());
      if (match) {
        clearTimeout(timer);
        cli.child.stderr!.off('data', check);
        resolve(match[1]);
      }
    };
    cli.child.stderr!.on('data', check);
    check();
    void cli.exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`the CLI exited (${code}) before its banner; stderr:\n${cli.stderr()}`));
    });
  });
  return { ...cli, url, port: Number(new URL(url).port) };
}

/** Resolves 'refused' when a new TCP connection is refused, 'accepted' when it opens. */
export function tryConnect(port: number): Promise<'refused' | 'accepted'> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('accepted');
    });
    socket.once('error', () => resolve('refused'));
  });
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
