/**
 * The real `heimdall` process: the banner's one-time setup token creates the first admin, and
 * `heimdall users add|list|hash` writes to the data dir a running gateway reads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, dirs, ensureBuilt, killChildren, removeDirs, startCli } from '../support/cli.js';

const PASSWORD = 'a password long enough';

beforeAll(() => ensureBuilt(), 180_000);
afterEach(() => killChildren());
afterAll(() => removeDirs());

function users(dataDir: string, args: string[], input?: string) {
  return spawnSync(process.execPath, [CLI, 'users', ...args, '--data-dir', dataDir], {
    cwd: ROOT, input, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: dataDir }, timeout: 30_000,
  });
}

async function login(url: string, username: string, password: string): Promise<number> {
  const response = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  return response.status;
}

describe('heimdall and its users command', () => {
  it('prints a setup token at first start that makes the first admin once; users add writes to the running gateway\'s store', async () => {
    const cli = await startCli({});
    const match = /Setup token\s+(hds_[\w-]+)/.exec(cli.stderr());
    expect(match, cli.stderr()).not.toBeNull();
    const setup = await fetch(`${cli.url}/api/auth/setup`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ setup_token: match![1], username: 'root', password: PASSWORD }),
    });
    expect(setup.status).toBe(201);
    expect(String(setup.headers.get('set-cookie'))).toContain('HttpOnly');

    const added = users(cli.dataDir, ['add', 'bob', '--role', 'viewer', '--password-stdin'], `${PASSWORD}\n`);
    expect(added.stderr).toBe('');
    expect(added.status).toBe(0);
    expect(added.stdout).toMatch(/^created viewer "bob" \(usr_[\w-]+\)\n$/);
    expect(await login(cli.url, 'bob', PASSWORD)).toBe(200);

    const again = users(cli.dataDir, ['add', 'bob', '--password-stdin'], `${PASSWORD}\n`);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('a user named "bob" exists already');
    const weak = users(cli.dataDir, ['add', 'carol', '--password-stdin'], 'short\n');
    expect(weak.status).toBe(1);
    expect(weak.stderr).toContain('at least 10 characters');
    const member = users(cli.dataDir, ['add', 'dan', '--role', 'member', '--password-stdin'], `${PASSWORD}\n`);
    expect(member.status).toBe(1);
    expect(member.stderr).toContain('a member needs --team');

    const list = users(cli.dataDir, ['list']);
    expect(list.stdout).toBe('root\tadmin\tsetup\nbob\tviewer\tcli\n');
  }, 60_000);

  it('users hash prints an scrypt hash that auth.users[].password accepts', async () => {
    const hashed = spawnSync(process.execPath, [CLI, 'users', 'hash', '--password-stdin'], { cwd: ROOT, input: `${PASSWORD}\n`, encoding: 'utf8', timeout: 30_000 });
    expect(hashed.status).toBe(0);
    const hash = hashed.stdout.trim();
    expect(hash).toMatch(/^scrypt\$16\$8\$1\$[\w-]+\$[\w-]{43}$/);
    const dir = mkdtempSync(join(tmpdir(), 'heimdall-hash-'));
    dirs.push(dir);
    const config = join(dir, 'heimdall.json');
    writeFileSync(config, JSON.stringify({ auth: { users: [{ username: 'ops', password: hash, role: 'operator' }] } }));
    const cli = await startCli({}, { dataDir: dir, args: ['--config', config] });
    expect(cli.stderr()).not.toContain('Setup token');
    expect(await login(cli.url, 'ops', PASSWORD)).toBe(200);
    expect(await login(cli.url, 'ops', 'wrong password!')).toBe(401);
  }, 60_000);
});
