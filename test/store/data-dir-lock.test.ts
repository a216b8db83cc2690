/**
 * One Heimdall per data dir: a second process is refused with a clear error,
 * a lock left by a dead process is taken over, and `--workers N` shares the
 * primary's lock with its workers.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DataDirLockedError, LOCK_FILE } from '../../src/store/data-dir-lock.js';
import { Store } from '../../src/store/store.js';
import { children, ensureBuilt, killChildren, removeDirs, spawnCli, startCli } from '../support/cli.js';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'heimdall-lock-'));
  tempDirs.push(dir);
  return dir;
}

/** A live process that is not this one (a stand-in for another Heimdall), and a way to end it. */
async function otherProcess(): Promise<{ pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  await new Promise((resolve) => child.once('spawn', resolve));
  return {
    pid: child.pid!,
    stop: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    }),
  };
}

function writeLock(dir: string, pid: number): void {
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, host: 'test-host', started_at: '2026-01-01T00:00:00.000Z' }));
}

const storeOptions = { logs: { thread: false }, retention: false as const };

afterEach(killChildren);
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  removeDirs();
});

describe('the data dir lock (in process)', () => {
  it('a data dir held by another live process is refused, naming its pid and what to do', async () => {
    const dir = tempDir();
    const other = await otherProcess();
    writeLock(dir, other.pid);
    let error: unknown;
    try {
      Store.open({ dataDir: dir, ...storeOptions });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DataDirLockedError);
    expect((error as Error).message).toContain(`in use by another Heimdall process (pid ${other.pid} on test-host`);
    expect((error as Error).message).toContain('--data-dir');
    expect(existsSync(join(dir, 'heimdall.db'))).toBe(false); // refused before the database was touched
    // Once that process is gone, its lock is stale and taken over.
    await other.stop();
    const store = Store.open({ dataDir: dir, ...storeOptions });
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    store.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('a torn lock file (a crash while it was written) is taken over', () => {
    const dir = tempDir();
    writeFileSync(join(dir, LOCK_FILE), '{"pi');
    const store = Store.open({ dataDir: dir, ...storeOptions });
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    store.close();
  });

  it('the holding process may open its data dir again; the lock goes with the last close', () => {
    const dir = tempDir();
    const first = Store.open({ dataDir: dir, ...storeOptions });
    const second = Store.open({ dataDir: dir, ...storeOptions });
    first.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
    second.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });
});

describe('the data dir lock (real processes)', () => {
  beforeAll(() => ensureBuilt(), 180_000);

  it('a second heimdall on the same data dir exits 1 with the reason; the first keeps serving; after kill -9 a new one takes over', async () => {
    const first = await startCli({});
    const second = spawnCli({}, { dataDir: first.dataDir });
    const exit = await second.exited;
    expect(exit.code).toBe(1);
    expect(second.stderr()).toContain(`heimdall: the data dir ${first.dataDir} is in use by another Heimdall process (pid ${first.child.pid} `);
    expect((await fetch(`${first.url}/health`)).status).toBe(200);
    first.child.kill('SIGKILL');
    await first.exited;
    const third = await startCli({}, { dataDir: first.dataDir });
    expect((await fetch(`${third.url}/health`)).status).toBe(200);
    expect(JSON.parse(readFileSync(join(first.dataDir, LOCK_FILE), 'utf8')).pid).toBe(third.child.pid);
    third.child.kill('SIGTERM');
    expect((await third.exited).code).toBe(0);
    expect(existsSync(join(first.dataDir, LOCK_FILE))).toBe(false); // a clean stop lets the data dir go
  }, 60_000);

  it('--workers 2: the workers share their primary\'s lock; another process is still refused', async () => {
    const cluster = await startCli({}, { args: ['--workers', '2'] });
    expect((await fetch(`${cluster.url}/health`)).status).toBe(200);
    expect(JSON.parse(readFileSync(join(cluster.dataDir, LOCK_FILE), 'utf8')).pid).toBe(cluster.child.pid);
    // Both workers run: the second one's start is announced by the primary once all listen.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the workers did not all start; stderr:\n${cluster.stderr()}`)), 15_000);
      const check = (): void => {
        if (!cluster.stderr().includes('2 worker processes serving')) return;
        clearTimeout(timer);
        resolve();
      };
      cluster.child.stderr!.on('data', check);
      check();
    });
    expect(cluster.stderr()).not.toContain('in use by another Heimdall process');
    const intruder = spawnCli({}, { dataDir: cluster.dataDir });
    expect((await intruder.exited).code).toBe(1);
    expect(intruder.stderr()).toContain(`(pid ${cluster.child.pid} `);
    cluster.child.kill('SIGTERM');
    await cluster.exited;
  }, 60_000);
});
