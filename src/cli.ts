#!/usr/bin/env node
/** The `heimdall` command: parse flags, load configuration, start the server, stop on a signal. */
import cluster from 'node:cluster';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig, MAX_WORKERS, parseWorkerCount } from './config/load.js';
import { startServer } from './server.js';
import { VERSION } from './version.js';

interface StartFlags {
  port?: number;
  host?: string;
  config?: string;
  dataDir?: string;
  logLevel?: string;
  workers?: number;
}

function parseWorkers(value: string): number {
  const workers = parseWorkerCount(value);
  if (workers === undefined) throw new InvalidArgumentError(`a number of processes from 1 to ${MAX_WORKERS}`);
  return workers;
}

/** --workers N: the primary forks N workers and holds the shared ledger (src/cluster/primary.ts). */
async function startPrimary(workers: number, dataDir: string): Promise<void> {
  const { runPrimary } = await import('./cluster/primary.js');
  // The primary holds the data dir for its workers: a second `heimdall` on it is refused.
  const lock = (await import('./store/data-dir-lock.js')).lockDataDir(dataDir);
  process.once('exit', () => lock.release());
  const primary = runPrimary({ workers });
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    primary.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    await primary.ready;
  } catch (error) {
    process.stderr.write(`heimdall: ${(error as Error).message}\n`);
    await primary.stop();
    process.exit(1);
  }
  process.stderr.write(`heimdall: ${workers} worker processes serving (node:cluster; budgets and rate limits shared through this primary, pid ${process.pid})\n`);
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('a port number from 0 to 65535');
  return port;
}

async function start(flags: StartFlags): Promise<void> {
  let config;
  try {
    config = loadConfig({
      configPath: flags.config,
      overrides: { port: flags.port, host: flags.host, dataDir: flags.dataDir, logLevel: flags.logLevel },
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`heimdall: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // loadConfig refused a bad HEIMDALL_WORKERS, naming it.
  const workers = flags.workers ?? parseWorkerCount(process.env.HEIMDALL_WORKERS ?? '') ?? 1;
  if (workers > 1 && cluster.isPrimary) {
    await startPrimary(workers, config.server.dataDir);
    return;
  }
  const runtime = cluster.isWorker ? (await import('./cluster/worker.js')).startWorkerRuntime() : undefined;
  const server = await startServer(config, { cluster: runtime, quiet: runtime !== undefined && runtime.index > 0 });
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A worker drains once: the terminal's Ctrl+C and the primary's SIGTERM both reach it.
      if (runtime !== undefined) return;
      process.stderr.write(`heimdall: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    // Whatever a hook or the store does, the process ends: past the deadline it exits 1, saying so.
    setTimeout(() => {
      process.stderr.write(`heimdall: shutdown did not finish within ${server.shutdownDeadlineMs} ms; exiting without waiting further\n`);
      process.exit(1);
    }, server.shutdownDeadlineMs).unref();
    server.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`heimdall: shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

const program = new Command();
program
  .name('heimdall')
  .description('Heimdall: an LLM gateway speaking the OpenAI, Anthropic and Gemini APIs to 15+ providers.')
  .version(VERSION, '-v, --version', 'print the version')
  .argument('[command]', '"start" (the default): start the gateway; "users": manage users (heimdall users --help); "migrate": apply schema migrations and exit')
  .option('-p, --port <port>', 'port to listen on (env PORT, default 8080)', parsePort)
  .option('-H, --host <host>', 'address to bind (env HOST, default 127.0.0.1; 0.0.0.0 for all interfaces)')
  .option('-c, --config <file>', 'JSON config file (env HEIMDALL_CONFIG; optional, see config.example.json)')
  .option('-d, --data-dir <dir>', 'where the SQLite database is kept (env HEIMDALL_DATA_DIR, default ~/.heimdall)')
  .option('-l, --log-level <level>', 'fatal, error, warn, info, debug, trace or silent (env LOG_LEVEL, default info)')
  .option('-w, --workers <n>', 'worker processes sharing the port, budgets and rate limits (env HEIMDALL_WORKERS, default 1)', parseWorkers)
  .addHelpText(
    'after',
    `
Providers are enabled by their usual environment variables, e.g. OPENAI_API_KEY,
ANTHROPIC_API_KEY, GEMINI_API_KEY, MISTRAL_API_KEY, GROQ_API_KEY; <PROVIDER>_BASE_URL
overrides a base URL with the meaning it has in that provider's SDK.

Examples:
  OPENAI_API_KEY=sk-... heimdall
  heimdall start --port 9000 --config heimdall.json`,
  )
  .action(async (command: string | undefined, flags: StartFlags) => {
    if (command !== undefined && command !== 'start') {
      program.error(`heimdall: unknown command "${command}" (the commands are "start", "users" and "migrate"; see --help)`);
    }
    await start(flags);
  });

// `heimdall users ...` and `heimdall migrate` have their own commands (src/auth/users-cli.ts, src/store/pg/migrate-cli.ts); anything else starts the gateway.
const run = process.argv[2] === 'users'
  ? import('./auth/users-cli.js').then(({ runUsersCommand }) => runUsersCommand(process.argv))
  : process.argv[2] === 'migrate'
    ? import('./store/pg/migrate-cli.js').then(({ runMigrateCommand }) => runMigrateCommand(process.argv))
    : program.parseAsync(process.argv);
run.catch((error: unknown) => {
  process.stderr.write(`heimdall: ${(error as Error).message}\n`);
  process.exit(1);
});
