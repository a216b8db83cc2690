// Packs the npm package, installs the tarball into an empty temp project, starts the
// installed `heimdall` bin on an ephemeral port and checks GET /health, the dashboard at /, and one chat
// completion through a mock OpenAI upstream that the request log (its writer thread) records. Run by .ci/run.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'heimdall-pack-'));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] }).toString();

// A minimal OpenAI-compatible upstream on loopback for the one chat completion.
const upstream = createServer((req, res) => {
  let text = '';
  req.on('data', (chunk) => (text += chunk));
  req.on('end', () => {
    if (JSON.parse(text || '{}').stream === true) {
      const chunk = (delta, finish) => `data: ${JSON.stringify({ id: 'chatcmpl-smoke', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(chunk({ role: 'assistant', content: 'po' }, null) + chunk({ content: 'ng' }, null) + chunk({}, 'stop') + 'data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({
      id: 'chatcmpl-smoke', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'pong' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    }));
  });
});
await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const upstreamUrl = `http://127.0.0.1:${upstream.address().port}/v1`;

let child;
try {
  run('npm', ['pack', '--silent', '--pack-destination', dir], root);
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack produced no tarball');
  const listing = run('tar', ['-tzf', join(dir, tarball)], dir);
  for (const needed of ['package/dist/cli.js', 'package/dist/log-writer-thread.js', 'package/dist/ui/index.html', 'package/schema/config.schema.json', 'package/config.example.json', 'package/README.md']) {
    if (!listing.includes(needed)) throw new Error(`the package lacks ${needed}`);
  }
  if (/package\/(src|test|bench)\//.test(listing)) throw new Error('the package ships sources or tests');
  // Source maps (8.6 MB, mostly the bundled dependencies' sources) and tsc's build info are for development.
  if (/\.map$|\.tsbuildinfo$/m.test(listing)) throw new Error('the package ships source maps or .tsbuildinfo');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pack-smoke', private: true }));
  process.stdout.write(`installing ${tarball} into ${dir}\n`);
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `./${tarball}`], dir);

  const bin = join(dir, 'node_modules', '.bin', 'heimdall');
  child = spawn(bin, ['start', '--port', '0', '--data-dir', join(dir, 'data')], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, OPENAI_API_KEY: 'sk-pack-smoke', OPENAI_BASE_URL: upstreamUrl, LOG_LEVEL: 'warn' },
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
  // A chat completion through the installed package, and its row in the request log (written by the
  // log writer thread shipped as dist/log-writer-thread.js; /api/logs reads what was committed).
  const chat = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'pack-smoke-1' },
    body: JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] }),
  });
  const answer = await chat.json();
  if (chat.status !== 200 || answer.choices?.[0]?.message?.content !== 'pong') {
    throw new Error(`unexpected chat completion: ${chat.status} ${JSON.stringify(answer)}`);
  }
  let row;
  for (let i = 0; i < 50 && !row; i++) {
    const logs = await fetch(`${url}/api/logs/pack-smoke-1`);
    if (logs.status === 200) row = await logs.json();
    else await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!row) throw new Error('the chat completion has no request log row');
  if (row.status !== 200 || row.provider !== 'openai' || row.input_tokens !== 3 || row.output_tokens !== 1) {
    throw new Error(`unexpected request log row: ${JSON.stringify(row)}`);
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) throw new Error(`heimdall exited with ${code} after SIGTERM`);
  await libraryCheck(dir, upstreamUrl);
  process.stdout.write(`pack smoke test passed: ${tarball} installed, started, /health, the dashboard and a logged chat ok, clean exit; the library and its types from the installed package\n`);
} finally {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  upstream.close();
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The installed package as a library: `import { createGateway } from 'heimdall-gateway'` in a
 * program of the fresh folder (a chat completion, a stream, a plugin from a file, close), and the
 * same program type-checked against the package's declarations.
 */
async function libraryCheck(folder, upstreamBase) {
  writeFileSync(join(folder, 'upper.mjs'), `export default () => ({ name: 'upper', streamEvent: (_request, chunk) => ({ ...chunk, choices: chunk.choices.map((c) => ({ ...c, delta: { ...c.delta, content: c.delta.content?.toUpperCase() } })) }) });\n`);
  const program = `import { createGateway, definePlugin, refuse, type ChatCompletionChunk, type Plugin } from 'heimdall-gateway';
const audit: Plugin = definePlugin(() => ({ name: 'audit', received(request) { if (request.headers['x-block'] !== undefined) throw refuse('blocked', 451); } }))({}, { logger: console as never }) as Plugin;
const gw = await createGateway({ plugins: [{ path: './upper.mjs' }] }, { env: { OPENAI_API_KEY: 'sk-pack-smoke', OPENAI_BASE_URL: '${upstreamBase}' }, dataDir: './lib-data' });
gw.plugins.use(audit);
const completion = await gw.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] });
if (completion.choices[0].message.content !== 'pong') throw new Error('library chat: ' + JSON.stringify(completion));
let text = '';
for await (const chunk of await gw.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }], stream: true })) text += (chunk as ChatCompletionChunk).choices[0]?.delta.content ?? '';
if (text !== 'PONG') throw new Error('library stream: ' + text);
const refused = await gw.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [] }, { headers: { 'x-block': '1' } }).then(() => 0, (error: { status: number }) => error.status);
if (refused !== 451) throw new Error('library refusal: ' + refused);
await gw.close();
console.log('library ok');
`;
  writeFileSync(join(folder, 'library.mts'), program);
  writeFileSync(join(folder, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, typeRoots: [join(root, 'node_modules', '@types')], types: ['node'] },
    files: ['library.mts'],
  }));
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', folder], folder);
  // Run it: tsc's own transpile to plain JavaScript, then node.
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--skipLibCheck', '--typeRoots', join(root, 'node_modules', '@types'), '--types', 'node', 'library.mts'], folder);
  // Not execFileSync: the mock upstream answering the program lives in this process's event loop.
  const out = await new Promise((resolve, reject) => {
    execFile(process.execPath, ['library.mjs'], { cwd: folder, timeout: 60_000 }, (error, stdout, stderr) => (error ? reject(new Error(`library program: ${error.message}\n${stderr}`)) : resolve(stdout)));
  });
  if (!out.includes('library ok')) throw new Error(`library program: ${out}`);
}
