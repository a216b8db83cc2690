// `npm run build` (last step): bundles the CLI into dist/cli.js with esbuild, over tsc's per-file output.
// One file (plus chunks for the lazily imported parts) instead of ~400 modules to resolve, stat and
// compile: the gateway starts in about two thirds of the time (bench/README.md, cold start).
// dist/app.js and the rest stay as tsc emitted them (the package's `main`, for embedding).
// Native and optional pieces stay external: better-sqlite3 (a native addon), OpenTelemetry (loaded only
// when tracing or OTLP metrics are configured), pino-pretty (loaded only for a terminal), pg-native
// (node-postgres's optional native binding, never loaded).
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

// The chunks of an earlier bundle (content-hashed names) would otherwise pile up in the package.
for (const name of readdirSync(dist)) {
  if (/-[A-Z0-9]{8}\.js(\.map)?$/.test(name)) rmSync(join(dist, name));
}

await build({
  absWorkingDir: root,
  // The request-log writer thread is its own entry: ThreadedLogWriter starts ./log-writer-thread.js
  // next to the code that runs it (dist/ here, dist/store/ in tsc's per-file output).
  // The same for the Postgres request-log writer thread (cluster mode, src/store/pg/).
  entryPoints: [
    'src/cli.ts',
    { in: 'src/store/log-writer-thread.ts', out: 'log-writer-thread' },
    { in: 'src/store/pg/pg-log-writer-thread.ts', out: 'pg-log-writer-thread' },
  ],
  outdir: 'dist',
  entryNames: '[name]',
  chunkNames: '[name]-[hash]', // at dist/ like cli.js: their import.meta.url paths (../package.json) hold
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  // Identifiers stay readable in stack traces; whitespace and syntax are minified (less to parse).
  minifyWhitespace: true,
  minifySyntax: true,
  // pg-native: pg's optional native binding, required only by `pg.native`, which Heimdall never uses.
  external: ['better-sqlite3', '@opentelemetry/*', 'pino-pretty', 'pg-native'],
  // CommonJS dependencies inside an ESM bundle call require() for Node's built-ins.
  banner: { js: "import { createRequire as __heimdallCreateRequire } from 'node:module'; const require = __heimdallCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
