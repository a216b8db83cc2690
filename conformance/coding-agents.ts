/**
 * The coding agents as drivers: Claude Code (`claude -p`), Codex
 * (`codex exec`) and Gemini CLI (`gemini -p`), each run non-interactively in
 * a temporary HOME against the gateway only. Each cell asks the agent to
 * read a file through its own tool; the mock (scripted-turn.ts) calls the
 * agent's read or shell tool, then answers with the tool's result, so the
 * file's content reaches the final answer only through a real tool round trip.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expectContains, type Harness } from './harness.js';

const require = createRequire(import.meta.url);

/** The file's content: only a tool that read the file can put it in the answer. */
export const FILE_CONTENT = 'heimdall-file-content-58213';
export const FILE_NAME = 'notes.txt';

export interface AgentRun {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface Workspace {
  /** The temporary directory that holds the others. */
  root: string;
  home: string;
  /** TMPDIR of the agent: what it writes there (error reports) goes with the workspace. */
  tmp: string;
  cwd: string;
  file: string;
  prompt: string;
  dispose(): void;
}

export function makeWorkspace(): Workspace {
  const root = mkdtempSync(join(tmpdir(), 'heimdall-conformance-'));
  const home = join(root, 'home');
  const cwd = join(root, 'work');
  const tmp = join(root, 'tmp');
  mkdirSync(home, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  mkdirSync(cwd, { recursive: true });
  const file = join(cwd, FILE_NAME);
  writeFileSync(file, `${FILE_CONTENT}\n`);
  return {
    root,
    home,
    tmp,
    cwd,
    file,
    prompt: `heimdall-script read:${file} and tell me what the file says`,
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * The environment every agent runs with: nothing from the caller's but PATH,
 * a temporary HOME, and every proxy pointing at a closed loopback port so that
 * a request to anywhere but 127.0.0.1 fails at once instead of leaving the machine.
 */
export function baseEnv(workspace: Workspace): Record<string, string> {
  const closed = 'http://127.0.0.1:9';
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: workspace.home,
    XDG_CONFIG_HOME: join(workspace.home, '.config'),
    XDG_CACHE_HOME: join(workspace.home, '.cache'),
    TMPDIR: workspace.tmp,
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    CI: '1',
    NO_COLOR: '1',
    HTTP_PROXY: closed,
    HTTPS_PROXY: closed,
    http_proxy: closed,
    https_proxy: closed,
    NO_PROXY: '127.0.0.1,localhost,::1',
    no_proxy: '127.0.0.1,localhost,::1',
  };
}

/** Runs a command with a time limit; on timeout its whole process group is ended. */
export function runAgent(command: string, args: string[], options: { cwd: string; env: Record<string, string>; timeoutMs: number }): Promise<AgentRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** What an agent printed, cut to the lines that say what went wrong (stack frames left out). */
export function summarizeOutput(text: string): string {
  const lines = text.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('at '));
  const telling = lines.filter((line) => /error|refused|invalid|denied|not supported|\b[45]\d\d\b/i.test(line));
  const chosen = (telling.length > 0 ? telling.slice(0, 3) : lines.slice(-3)).join(' | ');
  return chosen.length > 500 ? `${chosen.slice(0, 500)}...` : chosen;
}

/** Passes when the agent exited 0 and its answer carries the file's content; machine paths are left out of the error. */
export function expectFileAnswer(run: AgentRun, workspace: Workspace): void {
  const local = (text: string): string => summarizeOutput(text).split(workspace.root).join('<workspace>').split(process.cwd()).join('.');
  const output = `stdout: ${local(run.stdout)}; stderr: ${local(run.stderr)}`;
  if (run.timedOut) throw new Error(`timed out; ${output}`);
  if (run.code !== 0) throw new Error(`exit code ${String(run.code)}; ${output}`);
  expectContains(run.stdout, FILE_CONTENT, `final answer (${output})`);
}

const AGENT_TIMEOUT_MS = 90_000;

/** Claude Code's native binary, from its platform package (the wrapper's postinstall only copies it). */
export function claudeBinary(): string {
  const main = require.resolve('@anthropic-ai/claude-code/package.json');
  return join(dirname(main), 'cli-wrapper.cjs');
}

/** `claude -p` with ANTHROPIC_BASE_URL on the gateway; `model` undefined keeps Claude Code's default model. */
export async function runClaudeCode(harness: Harness, workspace: Workspace, model: string | undefined): Promise<AgentRun> {
  const env = { ...baseEnv(workspace), ...claudeEnv(harness, workspace, model) };
  const args = [claudeBinary(), '-p', workspace.prompt, '--allowedTools', 'Read', '--max-turns', '4', '--output-format', 'text'];
  return runAgent(process.execPath, args, { cwd: workspace.cwd, env, timeoutMs: AGENT_TIMEOUT_MS });
}

/** Claude Code's environment on the gateway, updates and telemetry off. */
export function claudeEnv(harness: Harness, workspace: Workspace, model: string | undefined): Record<string, string> {
  const env: Record<string, string> = {
    ANTHROPIC_BASE_URL: `${harness.url}/anthropic`,
    ANTHROPIC_API_KEY: 'conformance',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_UPDATES: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_GROWTHBOOK: '1',
    DISABLE_INSTALLATION_CHECKS: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY: '1',
    CLAUDE_CONFIG_DIR: join(workspace.home, '.claude'),
  };
  if (model !== undefined) {
    env.ANTHROPIC_MODEL = model;
    env.ANTHROPIC_SMALL_FAST_MODEL = model;
    env.ANTHROPIC_DEFAULT_HAIKU_MODEL = model;
  }
  return env;
}

/**
 * `codex exec` with a custom model provider (Responses API) whose base_url is the gateway's /v1;
 * `websocket`: the provider says it supports the Responses WebSocket mode, so Codex holds one socket
 * for the session instead of a POST per turn.
 */
export async function runCodex(harness: Harness, workspace: Workspace, model: string, websocket = false): Promise<AgentRun> {
  const codexHome = join(workspace.home, '.codex');
  mkdirSync(codexHome, { recursive: true });
  writeFileSync(join(codexHome, 'config.toml'), [
    `model = "${model}"`,
    'model_provider = "heimdall"',
    'check_for_update_on_startup = false',
    '',
    '[model_providers.heimdall]',
    'name = "Heimdall"',
    `base_url = "${harness.url}/v1"`,
    'env_key = "HEIMDALL_API_KEY"',
    'wire_api = "responses"',
    ...(websocket ? ['supports_websockets = true'] : []),
    'request_max_retries = 0',
    'stream_max_retries = 0',
    '',
    '[analytics]',
    'enabled = false',
    '',
  ].join('\n'));
  const env = { ...baseEnv(workspace), CODEX_HOME: codexHome, HEIMDALL_API_KEY: 'conformance' };
  const binary = join(dirname(require.resolve('@openai/codex/package.json')), 'bin', 'codex.js');
  const args = [binary, 'exec', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', '--color', 'never', '-C', workspace.cwd, workspace.prompt];
  return runAgent(process.execPath, args, { cwd: workspace.cwd, env, timeoutMs: AGENT_TIMEOUT_MS });
}

/** `gemini -p` with GOOGLE_GEMINI_BASE_URL on the gateway's /genai. */
export async function runGeminiCli(harness: Harness, workspace: Workspace, model: string): Promise<AgentRun> {
  const settingsDir = join(workspace.home, '.gemini');
  mkdirSync(settingsDir, { recursive: true });
  writeFileSync(join(settingsDir, 'settings.json'), JSON.stringify({
    general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
    privacy: { usageStatisticsEnabled: false },
    telemetry: { enabled: false },
    security: { auth: { selectedType: 'gemini-api-key' } },
  }, null, 2));
  const env = {
    ...baseEnv(workspace),
    GEMINI_API_KEY: 'conformance',
    GOOGLE_GEMINI_BASE_URL: `${harness.url}/genai`,
    GEMINI_CLI_TRUST_WORKSPACE: 'true',
    GEMINI_TELEMETRY_ENABLED: 'false',
    GEMINI_CLI_NO_RELAUNCH: 'true',
  };
  const binary = join(dirname(require.resolve('@google/gemini-cli/package.json')), 'bundle', 'gemini.js');
  const args = [binary, '-p', workspace.prompt, '-m', model, '--approval-mode', 'yolo'];
  return runAgent(process.execPath, args, { cwd: workspace.cwd, env, timeoutMs: AGENT_TIMEOUT_MS });
}
