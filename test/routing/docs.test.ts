/**
 * docs/routing.md's one-minute setup is true: the config file it shows, with
 * the three SDK keys it asks for, plans the primary and its two fallbacks in
 * order; its curl body sets the very same chain; the header count it quotes
 * is what that chain gives when the primary keeps failing.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planRequest } from '../../src/gateway/router.js';
import { routingState } from './helpers.js';

const doc = readFileSync(new URL('../../docs/routing.md', import.meta.url), 'utf8');
const quickStart = doc.slice(doc.indexOf('## A primary with two fallbacks'), doc.indexOf('## How a request is routed'));

function blocks(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1].replace(/^ {3}/gm, ''));
}

describe('docs/routing.md, a primary with two fallbacks', () => {
  const env = { OPENAI_API_KEY: 'sk-doc-1', ANTHROPIC_API_KEY: 'sk-ant-doc-1', GROQ_API_KEY: 'gsk_doc_1' };

  it('the config file plans openai, then anthropic, then groq', () => {
    const [file] = blocks(quickStart, 'json');
    expect(quickStart).toContain('export OPENAI_API_KEY=... ANTHROPIC_API_KEY=... GROQ_API_KEY=...');
    const plan = planRequest(routingState(JSON.parse(file), env), 'openai/gpt-4o', undefined, 'chat');
    expect(plan.targets.map((t) => t.label)).toEqual(['openai/gpt-4o', 'anthropic/claude-sonnet-4-5', 'groq/llama-3.3-70b-versatile']);
    expect(plan.tierStarts).toEqual([0, 1, 2, 3]);
  });

  it('the curl call sets the same chain as the file', () => {
    const [file] = blocks(quickStart, 'json');
    const patch = /-d '(\{"fallbacks".*\})'/.exec(quickStart);
    expect(patch).not.toBeNull();
    expect(JSON.parse(patch![1])).toEqual(JSON.parse(file).routing);
    expect(quickStart).toMatch(/curl -X PATCH http:\/\/127\.0\.0\.1:8080\/api\/routing -H 'content-type: application\/json'/);
  });

  it('x-heimdall-attempts: 1 + 2 retries of the primary, then the first fallback', () => {
    expect(quickStart).toContain('up to 2 retries');
    expect(quickStart).toContain('x-heimdall-attempts: 4');
  });
});
