/**
 * The real-clients section of docs/compatibility.md: rendered from the
 * conformance results, swapped in place between its markers, and kept as it
 * is by the surface x provider matrix generator.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { CLIENTS_BEGIN, CLIENTS_END, clientSectionOf, renderClientSection, withClientSection } from '../../scripts/gen-client-compatibility.mjs';

const cell = (client: string, model: string, check: string, status: string, extra: Record<string, unknown> = {}) => ({
  client, surface: 'OpenAI /v1/chat/completions', model, check, status, upstream: [], ms: 1000, ...extra,
});

const results = {
  node: 'v20.20.2',
  clients: { openai: '7.60.0' },
  timings: { install_ms: 90_000, run_ms: 120_000 },
  cells: [
    cell('openai 7', 'openai/gpt-4o-mini', 'text', 'passed'),
    cell('openai 7', 'openai/gpt-4o-mini', 'stream', 'passed'),
    cell('openai 7', 'anthropic/claude-sonnet-4-5', 'text', 'failed', { error: '400 bad' }),
    cell('openai 7', 'anthropic/claude-sonnet-4-5', 'stream', 'pending', { reason: 'not yet', error: '404 no route' }),
    cell('Claude Code 2.1 (claude -p)', '(default model)', 'reads a file', 'passed'),
  ],
};

describe('real-clients section', () => {
  const section: string = renderClientSection(results);

  it('summarises each client per model, lists failures and pending cells with their errors', () => {
    expect(section.startsWith(CLIENTS_BEGIN)).toBe(true);
    expect(section.trimEnd().endsWith(CLIENTS_END)).toBe(true);
    expect(section).toContain('| openai 7 | OpenAI /v1/chat/completions | ✅ 2/2 | ❌ 0/2 |');
    expect(section).toContain("| Claude Code 2.1 (claude -p), default model | OpenAI /v1/chat/completions | ✅ 1/1 (no model set: the client's own default) | |");
    expect(section).toContain('| stream | ✅ | ⏳ |');
    expect(section).toContain('- openai 7 → `anthropic/claude-sonnet-4-5`, text: 400 bad');
    expect(section).toContain('- not yet: openai 7 → `anthropic/claude-sonnet-4-5` (1 cells; seen: 404 no route)');
    expect(section).toContain('This run: 5 cells in 120 s, after 90 s to install the clients; the 1 coding-agent cells took 1 s of it.');
  });

  it('replaces the section in place, appends it to a doc without one, and the matrix generator keeps it', () => {
    const matrix = '# Compatibility matrix\n\nbody\n';
    const first = withClientSection(matrix, section);
    expect(first).toBe(`${matrix}\n${section}`);
    const again = withClientSection(first, section.replace('✅ 2/2', '❌ 1/2'));
    expect(again).toContain('❌ 1/2');
    expect(again.split(CLIENTS_BEGIN)).toHaveLength(2);
    expect(matrix + clientSectionOf(first)).toBe(first);
    expect(clientSectionOf(matrix)).toBe('');
  });
});
