/**
 * Where the request-log writer thread's code is. Built (dist/, bundled or not):
 * log-writer-thread.js next to this module. From the TypeScript sources (the
 * tests), Node cannot run the .ts file in a thread: it is bundled in memory with
 * esbuild (a dev dependency) and started from a data: URL, better-sqlite3
 * imported by its file URL.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

let fromSources: URL | undefined;

export function logThreadScript(): URL {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) {
    const built = new URL('./log-writer-thread.js', here);
    // Checked here: a thread that cannot load its code would only say so asynchronously.
    if (!existsSync(fileURLToPath(built))) throw new Error(`The request log writer thread's code is missing: ${built.href}`);
    return built;
  }
  fromSources ??= bundleFromSources(here);
  return fromSources;
}

function bundleFromSources(here: string): URL {
  const require = createRequire(here);
  const esbuild = require('esbuild') as typeof import('esbuild');
  const result = esbuild.buildSync({
    entryPoints: [fileURLToPath(new URL('./log-writer-thread.ts', here))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3'],
    write: false,
    logLevel: 'silent',
  });
  const sqlite = JSON.stringify(pathToFileURL(require.resolve('better-sqlite3')).href);
  const code = result.outputFiles[0].text.replace(/(from\s*)"better-sqlite3"/g, `$1${sqlite}`);
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
