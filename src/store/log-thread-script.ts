/**
 * Where a writer thread's code is. Built (dist/, bundled or not): `<name>.js` next to the module
 * that asks. From the TypeScript sources (the tests), Node cannot run a .ts file in a thread: it is
 * bundled in memory with esbuild (a dev dependency) and started from a data: URL, its native or
 * CommonJS dependencies (better-sqlite3, pg) imported by their file URLs.
 */
import { existsSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ThreadLogMessage } from './log-thread-protocol.js';
import type { StoreLogger } from './store-logger.js';

const fromSources = new Map<string, URL>();

/** The request-log writer thread (log-writer-thread.ts). */
export function logThreadScript(): URL {
  return threadScript(import.meta.url, 'log-writer-thread', ['better-sqlite3']);
}

/**
 * The thread `name` beside the module `here` (its import.meta.url); `external` are the packages left
 * out of the in-memory bundle and imported from node_modules.
 */
export function threadScript(here: string, name: string, external: readonly string[]): URL {
  if (!here.endsWith('.ts')) {
    const built = new URL(`./${name}.js`, here);
    // Checked here: a thread that cannot load its code would only say so asynchronously.
    if (!existsSync(fileURLToPath(built))) throw new Error(`A writer thread's code is missing: ${built.href}`);
    return built;
  }
  const entry = new URL(`./${name}.ts`, here).href;
  let url = fromSources.get(entry);
  if (url === undefined) {
    url = bundleFromSources(here, entry, external);
    fromSources.set(entry, url);
  }
  return url;
}

function bundleFromSources(here: string, entry: string, external: readonly string[]): URL {
  const require = createRequire(here);
  const esbuild = require('esbuild') as typeof import('esbuild');
  const result = esbuild.buildSync({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: [...external],
    write: false,
    logLevel: 'silent',
  });
  let code = result.outputFiles[0].text;
  for (const name of external) {
    const file = JSON.stringify(pathToFileURL(require.resolve(name)).href);
    code = code.replace(new RegExp(`(from\\s*)"${name.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')}"`, 'g'), `$1${file}`);
  }
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

/**
 * Unrefs a writer thread, passes on what it logs, and calls `lost` once it fails or exits while it is
 * still `current()` (`what` names it in the store's log).
 */
export function superviseThread(thread: Worker, logger: StoreLogger, what: string, current: () => boolean, lost: () => void): void {
  thread.unref();
  thread.on('message', (message: ThreadLogMessage) => {
    if (message?.type === 'log') logger[message.level](message.obj, message.msg);
  });
  thread.on('error', (error) => {
    logger.error({ err: error }, `${what} failed`);
    if (current()) lost();
  });
  thread.on('exit', (code) => {
    if (current()) {
      logger.error({ code }, `${what} exited`);
      lost();
    }
  });
}
