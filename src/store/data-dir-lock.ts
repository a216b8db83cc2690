/**
 * One Heimdall per data dir. Two processes writing the same SQLite database
 * each keep their own spend counters and rate-limit state in memory, so each
 * would let a budget be spent once more, and each would overwrite the other's
 * persisted spend. `<data-dir>/heimdall.lock` names the process that holds the
 * directory (its PID, host and start time); a second process is refused with
 * an error that says who holds it.
 *
 * - A lock whose process is gone (a crash, kill -9) is taken over.
 * - The holder's own process may open the data dir again (a restart of the
 *   app inside one process, tests): the lock is counted, not refused.
 * - `heimdall --workers N`: the primary takes the lock; its workers (node:cluster
 *   children) accept a lock held by their parent, and take it in their
 *   parent's name when it has none, so the siblings accept it too.
 */
import cluster from 'node:cluster';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const LOCK_FILE = 'heimdall.lock';

interface LockContent {
  pid: number;
  host: string;
  started_at: string;
}

/** A second process tried to open a data dir that a live one holds. */
export class DataDirLockedError extends Error {
  constructor(readonly dataDir: string, readonly holder: LockContent) {
    super(
      `the data dir ${dataDir} is in use by another Heimdall process (pid ${holder.pid} on ${holder.host}, started ${holder.started_at}). ` +
        'Stop that process or start this one with another --data-dir (HEIMDALL_DATA_DIR); to serve one data dir from several processes use --workers N. ' +
        `If no such process runs (its PID was reused), delete ${path.join(dataDir, LOCK_FILE)}.`,
    );
    this.name = 'DataDirLockedError';
  }
}

/** Locks this process holds: lock file path -> how many opens share it. */
const held = new Map<string, number>();

/** True when a process with this PID runs (EPERM: it runs, under another user). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): LockContent | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockContent>;
    if (typeof parsed.pid !== 'number') return undefined;
    return { pid: parsed.pid, host: String(parsed.host ?? 'unknown'), started_at: String(parsed.started_at ?? 'unknown') };
  } catch {
    return undefined; // missing, or torn by a crash while it was written: not a holder
  }
}

/** Writes the lock only if no file is there (O_EXCL): two processes starting at once cannot both win. */
function tryCreate(file: string, pid: number): boolean {
  const content: LockContent = { pid, host: os.hostname(), started_at: new Date().toISOString() };
  try {
    fs.writeFileSync(file, `${JSON.stringify(content)}\n`, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** The PID the lock is taken in the name of: a cluster worker's is its primary's. */
function ownerPid(): number {
  return cluster.isWorker ? process.ppid : process.pid;
}

export interface DataDirLock {
  /** Lets the data dir go (the lock file is removed when this process's last user of it releases). */
  release(): void;
}

/** Takes the data dir for this process, or throws DataDirLockedError naming the live holder. */
export function lockDataDir(dataDir: string): DataDirLock {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(path.resolve(dataDir), LOCK_FILE);
  const owner = ownerPid();
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(file, owner)) return hold(file, owner);
    const holder = readLock(file);
    if (holder !== undefined && (holder.pid === process.pid || holder.pid === owner)) return hold(file, holder.pid);
    if (holder !== undefined && isAlive(holder.pid)) throw new DataDirLockedError(dataDir, holder);
    // The holder is gone (or the file is torn): take the stale lock over. Another starter may race
    // for it; O_EXCL on the next round decides.
    fs.rmSync(file, { force: true });
  }
  throw new Error(`could not take the lock ${file}: another process keeps replacing it`);
}

function hold(file: string, pid: number): DataDirLock {
  held.set(file, (held.get(file) ?? 0) + 1);
  let released = false;
  return {
    release(): void {
      if (released) return;
      released = true;
      const count = (held.get(file) ?? 1) - 1;
      if (count > 0) {
        held.set(file, count);
        return;
      }
      held.delete(file);
      // A worker leaves its primary's lock in place: the primary removes it when it stops.
      if (pid === process.pid && readLock(file)?.pid === process.pid) fs.rmSync(file, { force: true });
    },
  };
}
