/**
 * The matrix's results: each case checked against its expectation, then all
 * of them written to test-results/compatibility-matrix.json, from which
 * scripts/gen-compatibility.mjs renders docs/compatibility.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Assembled } from './assembled.js';
import { KINDS, MODES, PROVIDER_FORMATS, PROVIDERS, SURFACE_FORMATS, SURFACES, type Expected, type MatrixCase } from './cases.js';

export const RESULTS_PATH = fileURLToPath(new URL('../../test-results/compatibility-matrix.json', import.meta.url));
const SCRIPT_PATH = fileURLToPath(new URL('../../scripts/gen-compatibility.mjs', import.meta.url));

export interface CaseResult extends MatrixCase {
  /** The provider speaks the surface's format: the caller's bytes went through as they were. */
  passthrough: boolean;
  passed: boolean;
  failures: string[];
}

/** Everything that differs from the expectation, in words; empty when the case passed. */
export function compare(got: Assembled, expected: Expected, finish: string): string[] {
  const failures = [...got.problems];
  if (got.text !== expected.text) failures.push(`text: expected ${JSON.stringify(expected.text)}, got ${JSON.stringify(got.text)}`);
  if (got.calls.length !== expected.calls.length) {
    failures.push(`tool calls: expected ${expected.calls.length}, got ${got.calls.length} (${got.calls.map((c) => c.name).join(', ')})`);
  } else {
    expected.calls.forEach((call, i) => {
      const actual = got.calls[i];
      if (actual.name !== call.name) failures.push(`tool call ${i}: expected name ${call.name}, got ${actual.name}`);
      if (actual.arguments !== call.arguments) failures.push(`tool call ${i}: expected arguments ${call.arguments}, got ${actual.arguments}`);
    });
  }
  if (got.finish !== finish) failures.push(`finish: expected ${finish}, got ${String(got.finish)}`);
  if (got.usage === undefined) failures.push('usage: missing');
  else {
    const inputOk = expected.inputExact ? got.usage.input === expected.inputTokens : got.usage.input >= expected.inputTokens;
    if (!inputOk) failures.push(`usage.input: expected ${expected.inputExact ? '' : '>= '}${expected.inputTokens}, got ${got.usage.input}`);
    if (got.usage.output !== expected.outputTokens) failures.push(`usage.output: expected ${expected.outputTokens}, got ${got.usage.output}`);
  }
  return failures;
}

export function isPassthrough(c: MatrixCase): boolean {
  return PROVIDER_FORMATS[c.provider] === SURFACE_FORMATS[c.surface];
}

/** Writes the results file and checks docs/compatibility.md against it; returns the script's complaint, if any. */
export function writeResultsAndCheckDoc(results: readonly CaseResult[]): string | undefined {
  const ordered = [...results].sort((a, b) => key(a).localeCompare(key(b)));
  const file = {
    description: 'Round-trip matrix results, written by test/matrix/matrix.test.ts; scripts/gen-compatibility.mjs renders docs/compatibility.md from them.',
    surfaces: SURFACES,
    providers: PROVIDERS,
    provider_formats: PROVIDER_FORMATS,
    kinds: KINDS,
    modes: MODES,
    cases: ordered,
  };
  mkdirSync(dirname(RESULTS_PATH), { recursive: true });
  writeFileSync(RESULTS_PATH, `${JSON.stringify(file, null, 2)}\n`);
  try {
    execFileSync(process.execPath, [SCRIPT_PATH, '--check', RESULTS_PATH], { encoding: 'utf8', stdio: 'pipe' });
    return undefined;
  } catch (error) {
    const failed = error as { stderr?: string; stdout?: string; message: string };
    return (failed.stderr || failed.stdout || failed.message).trim();
  }
}

function key(c: MatrixCase): string {
  return [SURFACES.indexOf(c.surface), PROVIDERS.indexOf(c.provider), KINDS.indexOf(c.kind), MODES.indexOf(c.mode)].join('.');
}
