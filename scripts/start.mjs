// `npm start`: build when dist/ (or dist/ui) is missing or older than src/ (or ui/), then run the CLI with the given arguments.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const cli = join(root, 'dist', 'cli.js');
if (!existsSync(cli) || newest(join(root, 'src')) > statSync(cli).mtimeMs) {
  process.stderr.write('heimdall: building...\n');
  const build = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
// The dashboard (ui/ -> dist/ui): rebuilt when missing or older than its sources.
const uiIndex = join(root, 'dist', 'ui', 'index.html');
if (existsSync(join(root, 'ui')) && (!existsSync(uiIndex) || newest(join(root, 'ui')) > statSync(uiIndex).mtimeMs)) {
  process.stderr.write('heimdall: building the dashboard...\n');
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  const build = spawnSync(process.execPath, [vite, 'build', '--config', 'ui/vite.config.ts', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
await import(cli);
