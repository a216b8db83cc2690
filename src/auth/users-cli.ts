/**
 * `heimdall users ...`: accounts from the command line, straight into the data dir's database
 * (a running gateway sees them at once: it reads users from the same file).
 *
 *   heimdall users add alice --role admin            (asks for the password; --password-stdin to pipe it)
 *   heimdall users add bob --role member --team research
 *   heimdall users list
 *   heimdall users hash                              (prints an scrypt hash for auth.users[].password)
 */
import { createInterface } from 'node:readline';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig } from '../config/load.js';
import { AuditLog } from '../store/audit-log.js';
import { AuthStore, ROLES, type Role } from '../store/auth-store.js';
import { openDatabase, type SqliteDatabase } from '../store/database.js';
import { hashPassword, passwordProblem } from './password.js';

interface Common {
  config?: string;
  dataDir?: string;
}

/** The first line of stdin (a pipe), or a prompt without echo on a terminal. */
async function readPassword(fromStdin: boolean, prompt: string): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) text += String(chunk);
    return text.split(/\r?\n/)[0];
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const output = rl as unknown as { _writeToOutput(value: string): void };
  let muted = false;
  output._writeToOutput = (value: string) => {
    if (!muted || value.includes('\n')) process.stderr.write(muted ? '\n' : value);
  };
  const answer = await new Promise<string>((resolve) => {
    rl.question(prompt, resolve);
    muted = true;
  });
  rl.close();
  return answer;
}

function open(options: Common): SqliteDatabase {
  const config = loadConfig({ configPath: options.config, overrides: { dataDir: options.dataDir } });
  return openDatabase(config.server.dataDir);
}

function parseRole(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) throw new InvalidArgumentError(`one of ${ROLES.join(', ')}`);
  return value as Role;
}

export function usersCommand(): Command {
  const users = new Command('users').description('manage dashboard and management API users (docs/auth.md)');
  const common = (command: Command): Command => command
    .option('-c, --config <file>', 'JSON config file (env HEIMDALL_CONFIG): where the data dir is')
    .option('-d, --data-dir <dir>', 'the data dir (env HEIMDALL_DATA_DIR, default ~/.heimdall)');

  common(users.command('add <username>'))
    .description('create a user (the password is asked for, or read from stdin)')
    .addOption(new Option('-r, --role <role>', `${ROLES.join(', ')}`).argParser(parseRole).default('admin'))
    .option('-t, --team <team>', 'a member\'s team (name or id)')
    .option('--view-bodies', 'let a viewer or member read logged request bodies')
    .option('--password-stdin', 'read the password from the first line of stdin')
    .action(async (username: string, options: Common & { role: Role; team?: string; viewBodies?: boolean; passwordStdin?: boolean }) => {
      if (!/^[\w.@+-]{1,100}$/.test(username)) throw new Error('the username may have letters, digits and . _ @ + - only (1 to 100)');
      const password = await readPassword(options.passwordStdin === true, `Password for ${username}: `);
      const problem = passwordProblem(password);
      if (problem !== undefined) throw new Error(`the password needs ${problem}`);
      const db = open(options);
      try {
        const store = new AuthStore(db);
        if (store.getUserByName(username) !== undefined) throw new Error(`a user named "${username}" exists already`);
        let teamId: string | null = null;
        if (options.team !== undefined) {
          const team = db.prepare('SELECT id FROM teams WHERE id = ? OR name = ?').get(options.team, options.team) as { id: string } | undefined;
          if (team === undefined) throw new Error(`no team has the id or name "${options.team}"`);
          teamId = team.id;
        } else if (options.role === 'member') {
          throw new Error('a member needs --team');
        }
        const user = store.createUser({ username, role: options.role, team_id: teamId, view_bodies: options.viewBodies === true, password_hash: await hashPassword(password), source: 'cli' });
        new AuditLog(db).append({ actor: 'cli', action: 'user.create', target: username, user_id: null, address: null, after: { role: user.role, team_id: user.team_id } });
        process.stdout.write(`created ${user.role} "${user.username}" (${user.id})\n`);
      } finally {
        db.close();
      }
    });

  common(users.command('list'))
    .description('list the users')
    .action((options: Common) => {
      const db = open(options);
      try {
        for (const user of new AuthStore(db).listUsers()) {
          const flags = [user.team_id === null ? '' : `team ${user.team_id}`, user.disabled ? 'disabled' : '', user.external_id === null ? '' : 'sso'].filter(Boolean);
          process.stdout.write(`${user.username}\t${user.role}\t${user.source}${flags.length > 0 ? `\t${flags.join(', ')}` : ''}\n`);
        }
      } finally {
        db.close();
      }
    });

  users.command('hash')
    .description('print the scrypt hash of a password, for auth.users[].password in the config file')
    .option('--password-stdin', 'read the password from the first line of stdin')
    .action(async (options: { passwordStdin?: boolean }) => {
      const password = await readPassword(options.passwordStdin === true, 'Password: ');
      const problem = passwordProblem(password);
      if (problem !== undefined) throw new Error(`the password needs ${problem}`);
      process.stdout.write(`${await hashPassword(password)}\n`);
    });
  return users;
}

/** Runs `heimdall users ...`; errors are one line on stderr and exit code 1. */
export async function runUsersCommand(argv: string[]): Promise<void> {
  const program = new Command('heimdall').exitOverride();
  program.addCommand(usersCommand());
  try {
    await program.parseAsync(argv);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.help' || code === 'commander.version') return;
    if (code?.startsWith('commander.')) process.exit(1);
    process.stderr.write(`heimdall users: ${error instanceof ConfigError ? error.message : (error as Error).message}\n`);
    process.exit(1);
  }
}
