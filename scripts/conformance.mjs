// The real-clients conformance suite: `npm run conformance`.
//
//   npm run conformance                  # every cell: SDKs, frameworks and the coding agents
//   npm run conformance -- --no-agents   # SDK and framework cells only (what CI runs on every change)
//   npm run conformance -- --no-doc      # do not rewrite docs/compatibility.md
//
// 1. Installs the pinned clients with `npm ci` in conformance/ (its own package.json and lock; never the root
//    node_modules), again only when conformance/package-lock.json changed.
// 2. Typechecks conformance/ against the installed clients, then runs conformance/*.test.ts with vitest: each file starts the gateway and the mock upstream on loopback ports.
// 3. Merges the cells into test-results/conformance.json and renders the "Real clients" section of
//    docs/compatibility.md from it (scripts/gen-client-compatibility.mjs).
// Exits 1 when a cell that is not pending failed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeClientSection } from './gen-client-compatibility.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIR = join(ROOT, 'conformance');
const STAMP = join(DIR, 'node_modules', '.heimdall-lock-sha256');
const PARTS = join(ROOT, 'test-results', 'conformance');
export const RESULTS = join(ROOT, 'test-results', 'conformance.json');
/** The results of each test file, in the order the doc lists them. */
const FILE_ORDER = ['sdks.json', 'frameworks.json', 'agents.json', 'mcp.json'];

const argv = process.argv.slice(2);
const agents = !argv.includes('--no-agents');
const doc = !argv.includes('--no-doc');

function lockHash() {
  return createHash('sha256').update(readFileSync(join(DIR, 'package-lock.json'))).digest('hex');
}

/** `npm ci` in conformance/ unless the installed tree is from this lock; returns the time it took (0 when skipped). */
function install() {
  const hash = lockHash();
  if (existsSync(STAMP) && readFileSync(STAMP, 'utf8') === hash) return 0;
  console.log('== conformance: npm ci (pinned clients, in conformance/node_modules)');
  const started = Date.now();
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: DIR, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`npm ci in conformance/ failed (exit ${result.status})`);
  writeFileSync(STAMP, hash);
  return Date.now() - started;
}

/** The installed version of each client package, read from its package.json. */
function clientVersions() {
  const manifest = JSON.parse(readFileSync(join(DIR, 'package.json'), 'utf8'));
  const require = createRequire(join(DIR, 'package.json'));
  return Object.fromEntries(Object.keys(manifest.dependencies).sort().map((name) => {
    try {
      return [name, JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version];
    } catch {
      return [name, manifest.dependencies[name]];
    }
  }));
}

function run() {
  const installMs = install();
  console.log('== conformance: typecheck (conformance/tsconfig.json, against the installed clients)');
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(DIR, 'tsconfig.json')], { cwd: ROOT, stdio: 'inherit' });
  if (tsc.status !== 0) return 1;
  rmSync(PARTS, { recursive: true, force: true });
  const vitest = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const files = agents ? [] : ['conformance/sdks.test.ts', 'conformance/frameworks.test.ts'];
  console.log(`== conformance: ${agents ? 'every cell' : 'SDK and framework cells'}`);
  const started = Date.now();
  const result = spawnSync(process.execPath, [vitest, 'run', '--config', 'conformance/vitest.config.ts', ...files], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, CONFORMANCE_AGENTS: agents ? '1' : '0' },
  });
  const runMs = Date.now() - started;
  const cells = existsSync(PARTS)
    ? FILE_ORDER.filter((name) => existsSync(join(PARTS, name)))
      .flatMap((name) => JSON.parse(readFileSync(join(PARTS, name), 'utf8')).cells)
    : [];
  const results = {
    description: 'Real clients through the gateway to every upstream model family, written by scripts/conformance.mjs; scripts/gen-client-compatibility.mjs renders the "Real clients" section of docs/compatibility.md from it.',
    node: process.version,
    agents,
    clients: clientVersions(),
    timings: { install_ms: installMs, run_ms: runMs },
    cells,
  };
  mkdirSync(join(ROOT, 'test-results'), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  const count = (status) => cells.filter((cell) => cell.status === status).length;
  console.log(`== conformance: ${count('passed')} passed, ${count('failed')} failed, ${count('pending')} pending; run ${Math.round(runMs / 1000)} s${installMs ? `, install ${Math.round(installMs / 1000)} s` : ''}`);
  console.log(`== conformance: results in ${RESULTS}`);
  if (doc && agents) writeClientSection(results);
  return result.status === 0 && count('failed') === 0 ? 0 : 1;
}

process.exitCode = run();
