/**
 * What every conformance file shares: one gateway on an ephemeral loopback
 * port in front of one mock upstream (every provider format), the upstream
 * models each client is run against, and the record of every cell, written
 * to test-results/conformance/<file>.json for scripts/gen-compatibility.mjs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, it } from 'vitest';
import { startGateway, type TestGateway } from '../test/support/gateway.js';
import type { MockUpstream } from '../test/support/mock-upstream/index.js';
import { startMockProviders } from '../test/support/mock-upstream/provider-env.js';

export { SCRIPT_MARKER } from '../test/support/mock-upstream/scripted-turn.js';

/** The upstream model families, as a client names them through the gateway. */
export const MODELS = [
  { id: 'openai/gpt-4o-mini', provider: 'openai', family: 'OpenAI chat' },
  { id: 'openai/gpt-5-mini', provider: 'openai', family: 'OpenAI reasoning' },
  { id: 'anthropic/claude-sonnet-4-5', provider: 'anthropic', family: 'Anthropic' },
  { id: 'gemini/gemini-2.5-flash', provider: 'gemini', family: 'Gemini 2.5' },
  { id: 'gemini/gemini-3-pro-preview', provider: 'gemini', family: 'Gemini 3' },
  { id: 'bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0', provider: 'bedrock', family: 'Bedrock (Converse)' },
] as const;

export type ModelEntry = (typeof MODELS)[number];

export interface CellResult {
  client: string;
  /** The gateway surface the client called. */
  surface: string;
  model: string;
  check: string;
  status: 'passed' | 'failed' | 'pending';
  /** Why a cell is pending (a known gap being closed elsewhere). */
  reason?: string;
  error?: string;
  /** The upstream routes the gateway called for this cell (method and path, in order, repeats folded). */
  upstream: string[];
  ms: number;
}

export interface Harness {
  gateway: TestGateway;
  mock: MockUpstream;
  url: string;
  close(): Promise<void>;
}

/** `config`: sections laid over the mock providers' configuration (the MCP cells add `mcp` and `governance`). */
export async function startHarness(config: Record<string, unknown> = {}): Promise<Harness> {
  const providers = await startMockProviders();
  const gateway = await startGateway({ env: providers.env, config: { ...(providers.config as object), ...config }, logLevel: 'warn' });
  return {
    gateway,
    mock: providers.mock,
    url: gateway.url,
    async close() {
      await gateway.close();
      await providers.mock.close();
    },
  };
}

/**
 * The harness of one test file: started before its cells, closed after them,
 * and the file's results written then.
 */
export function useHarness(file: string, config?: Record<string, unknown>): { recorder: CellRecorder; harness: () => Harness } {
  let harness: Harness | undefined;
  const recorder = new CellRecorder(file, () => harness);
  beforeAll(async () => {
    harness = await startHarness(config);
  });
  afterAll(async () => {
    recorder.write();
    await harness?.close();
  });
  const started = (): Harness => {
    if (harness === undefined) throw new Error('the harness did not start');
    return harness;
  };
  return { recorder, harness: started };
}

const RESULTS_DIR = fileURLToPath(new URL('../test-results/conformance/', import.meta.url));

/** The cells of one test file, recorded as they run. */
export class CellRecorder {
  readonly results: CellResult[] = [];

  constructor(
    private readonly file: string,
    private readonly harness: () => Harness | undefined,
  ) {}

  /**
   * One cell as one test. A pending cell is run too and recorded with its
   * real outcome; its failure shows as a skipped test, not a failed one.
   */
  cell(
    meta: Omit<CellResult, 'status' | 'error' | 'ms' | 'reason' | 'upstream'>,
    run: () => Promise<void>,
    pending?: string,
    timeout?: number,
  ): void {
    it(`${meta.client} → ${meta.model}: ${meta.check}`, async (context) => {
      const started = Date.now();
      const seen = this.harness()?.mock.requests.length ?? 0;
      const upstream = (): string[] => {
        const routes = (this.harness()?.mock.requests.slice(seen) ?? []).map((request) => `${request.method} ${request.path}`);
        return routes.filter((route, i) => route !== routes[i - 1]);
      };
      try {
        await run();
        this.results.push({ ...meta, status: 'passed', upstream: upstream(), ms: Date.now() - started });
      } catch (error) {
        const message = describeError(error);
        const status = pending ? 'pending' : 'failed';
        this.results.push({ ...meta, status, reason: pending, error: message, upstream: upstream(), ms: Date.now() - started });
        if (!pending) throw error;
        context.skip(`pending: ${pending}`);
      }
    }, timeout);
  }

  write(): void {
    mkdirSync(RESULTS_DIR, { recursive: true });
    const name = basename(this.file).replace(/\.test\.ts$/, '');
    writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify({ file: `conformance/${basename(this.file)}`, cells: this.results }, null, 2)}\n`);
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const status = (error as { status?: unknown }).status;
    const prefix = status !== undefined && !error.message.startsWith(String(status)) ? `${String(status)} ` : '';
    const text = `${prefix}${error.message}`;
    return text.replace(/\s+/g, ' ').slice(0, 600);
  }
  return String(error).slice(0, 400);
}


/** Throws unless `actual` contains `expected`. */
export function expectContains(actual: unknown, expected: string, what = 'reply'): void {
  if (typeof actual !== 'string' || !actual.includes(expected)) {
    throw new Error(`${what}: expected to contain ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

export function expectEqual(actual: unknown, expected: unknown, what = 'value'): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/** The prompts every client sends, and what the scripted mock makes of them. */
export const TEXT_PROMPT = 'heimdall-script say hello';
export const TEXT_REPLY = `echo: ${TEXT_PROMPT}`;
export const TOOL_PROMPT = 'heimdall-script look up the secret';
export const TOOL_NAME = 'lookup_secret';
export const TOOL_DESCRIPTION = 'Looks up the secret stored under a key.';
export const TOOL_PARAMETERS = {
  type: 'object',
  properties: { key: { type: 'string', description: 'the key' } },
  required: ['key'],
  additionalProperties: false,
} as const;
/** What the tool returns for the key the mock asks for; only the tool can know it. */
export function lookupSecret(key: string): string {
  return `secret-${key}-7431`;
}
export const SECRET = lookupSecret('heimdall');
export const STRUCTURED_PROMPT = 'heimdall-script the weather as JSON';
export const WEATHER_SCHEMA = {
  type: 'object',
  properties: { city: { type: 'string' }, temperature: { type: 'number' } },
  required: ['city', 'temperature'],
  additionalProperties: false,
} as const;
export const WEATHER = { city: 'heimdall', temperature: 42 };

/** The final answer after the tool round trip must carry the tool's result. */
export function expectToolAnswer(text: unknown): void {
  expectContains(text, 'tool result:', 'final answer');
  expectContains(text, SECRET, 'final answer');
}

/** The checks every SDK and framework cell runs. */
export const CHECKS = ['text', 'stream', 'tool round trip', 'tool round trip (stream)', 'structured output'] as const;
export type Check = (typeof CHECKS)[number];

export interface ClientDriver {
  client: string;
  surface: string;
  /** Why a model's cells are pending, if they are. */
  pending?(model: ModelEntry): string | undefined;
  checks: Partial<Record<string, (model: string) => Promise<void>>>;
}

/** Makes a driver for a running harness. */
export type DriverFactory = (harness: Harness) => ClientDriver;

/** A harness that is never called: lets a factory name its checks before the gateway starts. */
const UNSTARTED: Harness = { url: 'http://127.0.0.1:9', gateway: undefined as never, mock: undefined as never, close: async () => {} };

/** Registers every check of every driver against every model; each cell makes its driver for the running harness. */
export function registerDrivers(recorder: CellRecorder, factories: readonly DriverFactory[], harness: () => Harness): void {
  for (const factory of factories) {
    const named = factory(UNSTARTED);
    for (const model of MODELS) {
      for (const check of Object.keys(named.checks)) {
        const meta = { client: named.client, surface: named.surface, model: model.id, check };
        recorder.cell(meta, () => factory(harness()).checks[check]!(model.id), named.pending?.(model));
      }
    }
  }
}
