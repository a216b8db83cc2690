// Packs the npm package, installs the tarball into an empty temp project, starts the
// installed `heimdall` bin on an ephemeral port and checks GET /health and the dashboard at /. Run by .ci/run.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'heimdall-pack-'));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] }).toString();

let child;
try {
  run('npm', ['pack', '--silent', '--pack-destination', dir], root);
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack produced no tarball');
  const listing = run('tar', ['-tzf', join(dir, tarball)], dir);
  for (const needed of ['package/dist/cli.js', 'package/dist/ui/index.html', 'package/schema/config.schema.json', 'package/config.example.json', 'package/README.md']) {
    if (!listing.includes(needed)) throw new Error(`the package lacks ${needed}`);
  }
  if (/package\/(src|test|bench)\//.test(listing)) throw new Error('the package ships sources or tests');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pack-smoke', private: true }));
  process.stdout.write(`installing ${tarball} into ${dir}\n`);
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `./${tarball}`], dir);

  const bin = join(dir, 'node_modules', '.bin', 'heimdall');
  child = spawn(bin, ['start', '--port', '0', '--data-dir', join(dir, 'data')], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, OPENAI_API_KEY: 'sk-pack-smoke', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no banner in 20 s:\n${text}`)), 20_000);
    child.stderr.on('data', (chunk) => {
      text += chunk;
      const match = text.match(/OpenAI API\s+(http:\/\/[^\s]+)\/v1/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`heimdall exited with ${code}:\n${text}`)));
  });
  const response = await fetch(`${url}/health`);
  const body = await response.json();
  if (response.status !== 200 || body.status !== 'ok' || !body.providers.includes('openai')) {
    throw new Error(`unexpected /health: ${response.status} ${JSON.stringify(body)}`);
  }
  // The dashboard ships inside the package: / is its index.html, and its script loads.
  const page = await fetch(`${url}/`);
  const html = await page.text();
  if (page.status !== 200 || !html.includes('<div id="root">')) throw new Error(`unexpected /: ${page.status} ${html.slice(0, 200)}`);
  const script = html.match(/src="(\/assets\/[^"]+\.js)"/);
  if (!script) throw new Error('the dashboard page names no script');
  const asset = await fetch(`${url}${script[1]}`);
  await asset.arrayBuffer();
  if (asset.status !== 200 || !String(asset.headers.get('cache-control')).includes('immutable')) {
    throw new Error(`unexpected ${script[1]}: ${asset.status} ${asset.headers.get('cache-control')}`);
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) throw new Error(`heimdall exited with ${code} after SIGTERM`);
  process.stdout.write(`pack smoke test passed: ${tarball} installed, started, /health and the dashboard ok, clean exit\n`);
} finally {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
