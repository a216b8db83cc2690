/**
 * Builds the dashboard (ui/ -> dist/ui) once for the tests that need it: only when
 * dist/ui is missing or older than ui/, and never twice at once (a lock directory,
 * since test files run in parallel workers).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { newest } from '../../support/cli.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
export const UI_DIR = join(root, 'dist', 'ui');
const INDEX = join(UI_DIR, 'index.html');
const LOCK = join(root, 'dist', '.ui-build.lock');

function upToDate(): boolean {
  return existsSync(INDEX) && statSync(INDEX).mtimeMs >= newest(join(root, 'ui'));
}

export async function ensureUiBuilt(): Promise<void> {
  if (upToDate()) return;
  mkdirSync(join(root, 'dist'), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another worker builds: wait for it (a lock older than 2 minutes is left over from a crash).
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 120_000) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('timed out waiting for another dashboard build');
      await sleep(200);
      if (upToDate()) return;
    }
  }
  try {
    if (upToDate()) return;
    const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
    // NODE_ENV=production: vitest sets it to "test", which would make Vite bundle React's development build.
    const result = spawnSync(process.execPath, [vite, 'build', '--config', 'ui/vite.config.ts', '--logLevel', 'warn'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_ENV: 'production' },
    });
    if (result.status !== 0) throw new Error(`the dashboard build failed:\n${result.stdout}\n${result.stderr}`);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
