/**
 * The cache's pure parts, fixture in, value out: the request key and the guards' facts, negation,
 * the request controls, the stream replay, the vector index; and the embedded store, through the
 * store contract and across a reopen of its file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readControls } from '../../src/cache/controls.js';
import { failedGuard, ineligible, isNegated, semanticFacts } from '../../src/cache/guards.js';
import { LocalCacheStore } from '../../src/cache/local-store.js';
import { replayChunks } from '../../src/cache/replay.js';
import { requestFacts } from '../../src/cache/request-key.js';
import { VectorIndex } from '../../src/cache/vector-index.js';
import type { ChatCompletion, ChatRequest } from '../../src/formats/openai/types.js';
import { entry, semantic, storeContract, unit } from './store-contract.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function request(content: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content }], ...extra };
}

describe('request key', () => {
  it('hashes what changes the answer, not what labels the call, whatever the key order', () => {
    const base = requestFacts('chat', 'openai/gpt-4o-mini', request('hi', { temperature: 0 }));
    expect(requestFacts('chat', 'openai/gpt-4o-mini', { temperature: 0, messages: [{ content: 'hi', role: 'user' }], model: 'x', stream: true, user: 'u', metadata: { a: 1 } }).exactKey).toBe(base.exactKey);
    expect(requestFacts('chat', 'openai/gpt-4o', request('hi', { temperature: 0 })).exactKey).not.toBe(base.exactKey);
    expect(requestFacts('chat', 'openai/gpt-4o-mini', request('hi', { temperature: 0.5 })).exactKey).not.toBe(base.exactKey);
    expect(requestFacts('chat', 'openai/gpt-4o-mini', request('hi', { temperature: 0, seed: 1 })).exactKey).not.toBe(base.exactKey);
    expect(requestFacts('chat', 'openai/gpt-4o-mini', request('hi', { temperature: 0, some_new_field: true })).exactKey).not.toBe(base.exactKey);
  });

  it('takes the last user turn, the system prompt, the history and tool results apart', () => {
    const facts = requestFacts('chat', 'm', {
      model: 'm',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: [{ type: 'text', text: 'second' }] },
      ],
    });
    expect(facts.lastUserText).toBe('second');
    expect(facts.userTexts).toEqual(['first', 'second']);
    expect(facts.hasToolResults).toBe(false);
    const other = requestFacts('chat', 'm', { model: 'm', messages: [{ role: 'system', content: 'be long' }, { role: 'user', content: 'second' }] });
    expect(other.systemDigest).not.toBe(facts.systemDigest);
    expect(other.historyDigest).not.toBe(facts.historyDigest);
    const image = requestFacts('chat', 'm', { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:' } }] }] });
    expect(image.lastUserText).toBeUndefined();
    expect(ineligible(image, 1)).toBe('not_text');
    const tools = requestFacts('chat', 'm', { model: 'm', messages: [{ role: 'user', content: 'q' }, { role: 'tool', tool_call_id: 'c', content: 'r' }, { role: 'user', content: 'q' }] });
    expect(ineligible(tools, 1)).toBe('tool_results');
    expect(ineligible(requestFacts('chat', 'm', request('q', { temperature: 1.2 })), 1)).toBe('temperature');
    expect(ineligible(requestFacts('chat', 'm', request('q', { temperature: 1.2 })), null)).toBeUndefined();
  });
});

describe('guards', () => {
  it('negation: an odd count of markers, contractions included', () => {
    expect(isNegated('Is ibuprofen safe?')).toBe(false);
    expect(isNegated('Is ibuprofen not safe?')).toBe(true);
    expect(isNegated("Isn't ibuprofen safe?")).toBe(true);
    expect(isNegated('Why doesn\u2019t it work?')).toBe(true);
    expect(isNegated('It is not that it is not safe')).toBe(false);
    expect(isNegated('Pasta without cheese')).toBe(true);
    expect(isNegated('Notable nodes')).toBe(false);
  });

  it('reports the first guard a stored entry fails', () => {
    const asked = semanticFacts(requestFacts('chat', 'm', request('q')), 'q');
    expect(failedGuard(asked, asked, 'digest')).toBeUndefined();
    expect(failedGuard({ ...asked, model: 'n' }, asked, 'digest')).toBe('model');
    expect(failedGuard({ ...asked, shapeDigest: 'x' }, asked, 'digest')).toBe('tools');
    expect(failedGuard({ ...asked, paramsDigest: 'x' }, asked, 'digest')).toBe('params');
    expect(failedGuard({ ...asked, systemDigest: 'x' }, asked, 'digest')).toBe('system_prompt');
    expect(failedGuard({ ...asked, historyDigest: 'x' }, asked, 'digest')).toBe('history');
    expect(failedGuard({ ...asked, historyDigest: 'x' }, asked, 'embed')).toBeUndefined();
    expect(failedGuard({ ...asked, negated: true }, asked, 'digest')).toBe('negation');
  });
});

describe('request controls', () => {
  it('headers win over the body field; TTLs in seconds or durations; bad values name their place', () => {
    expect(readControls({}, undefined)).toEqual({ mode: 'default', ttlMs: undefined, threshold: undefined });
    expect(readControls({ 'x-heimdall-cache': 'Bypass' }, 'only').mode).toBe('bypass');
    expect(readControls({}, { mode: 'refresh', ttl: '10m', threshold: 0.9 })).toEqual({ mode: 'refresh', ttlMs: 600_000, threshold: 0.9 });
    expect(readControls({ 'x-heimdall-cache-ttl': '30' }, { ttl: '1h' }).ttlMs).toBe(30_000);
    expect(readControls({ 'x-heimdall-cache-ttl': '30d' }, undefined).ttlMs).toBe(7 * 86_400_000);
    expect(() => readControls({ 'x-heimdall-cache-threshold': '0' }, undefined)).toThrow(/x-heimdall-cache-threshold/);
    expect(() => readControls({}, 42)).toThrow(/heimdall_cache/);
    expect(() => readControls({}, { ttl: 'soon' })).toThrow(/heimdall_cache\.ttl/);
  });
});

describe('stream replay', () => {
  it('cuts text and tool arguments into pieces that add up to the answer, usage last', () => {
    const text = 'A cached answer long enough to be cut into several pieces, each of a few words, at spaces where it can be.';
    const answer: ChatCompletion = {
      id: 'chatcmpl-1', object: 'chat.completion', created: 7, model: 'gpt-4o-mini',
      choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: text, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: JSON.stringify({ q: 'x'.repeat(200) }) } }] } }],
      usage: { prompt_tokens: 3, completion_tokens: 40, total_tokens: 43 },
    };
    const chunks = replayChunks(answer);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant' });
    const contents = chunks.map((chunk) => chunk.choices[0]?.delta.content).filter((piece): piece is string => piece !== undefined);
    expect(contents.length).toBeGreaterThan(2);
    expect(contents.join('')).toBe(text);
    expect(contents.slice(0, -1).every((piece) => piece.endsWith(' '))).toBe(true);
    const args = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []).map((call) => call.function?.arguments ?? '').join('');
    expect(args).toBe(answer.choices[0].message.tool_calls![0].function.arguments);
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: answer.usage, id: 'chatcmpl-1', created: 7 });
  });
});

describe('vector index', () => {
  it('finds the k nearest, keeps rows dense when one is removed, and replaces a vector by id', () => {
    const index = new VectorIndex(3, 1);
    index.add('a', unit([1, 0, 0]));
    index.add('b', unit([0, 1, 0]));
    index.add('c', unit([0.7, 0.7, 0]));
    expect(index.search(unit([1, 0.1, 0]), 2).map((n) => n.id)).toEqual(['a', 'c']);
    expect(index.remove('a')).toBe(true);
    expect(index.size).toBe(2);
    expect(index.search(unit([1, 0, 0]), 1)[0].id).toBe('c');
    index.add('b', unit([1, 0, 0]));
    expect(index.size).toBe(2);
    expect(index.search(unit([1, 0, 0]), 1)[0]).toEqual({ id: 'b', similarity: 1 });
    expect(index.search(unit([0, 0, 1]), 5, 0.5)).toEqual([]);
  });
});

storeContract('LocalCacheStore in memory', ({ maxEntries, maxBytes }) => new LocalCacheStore({ dataDir: undefined, maxEntries, maxBytes }));
storeContract('LocalCacheStore on a file', ({ maxEntries, maxBytes }) => {
  const dir = mkdtempSync(join(tmpdir(), 'heimdall-cache-'));
  dirs.push(dir);
  return new LocalCacheStore({ dataDir: dir, maxEntries, maxBytes });
});

describe('LocalCacheStore file', () => {
  it('reads its entries back after a reopen, in LRU order, vectors and hit counts included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'heimdall-cache-'));
    dirs.push(dir);
    const now = Date.now();
    const first = new LocalCacheStore({ dataDir: dir, maxEntries: 10, maxBytes: 1_000_000 });
    first.put(semantic('a', 'p', [1, 0], { expiresAt: now + 60_000, usedAt: now }), now);
    first.put(entry('b', { expiresAt: now + 60_000, usedAt: now }), now);
    first.put(entry('gone', { expiresAt: now + 60_000 }), now);
    first.delete({ id: 'gone' });
    first.touch(first.get('a', now)!, now + 5);
    first.close();
    const second = new LocalCacheStore({ dataDir: dir, maxEntries: 10, maxBytes: 1_000_000 });
    expect(second.stats()).toMatchObject({ entries: 2, semantic_entries: 1 });
    expect(second.get('gone', now)).toBeUndefined();
    expect(second.get('a', now)?.hits).toBe(1);
    expect(second.nearest('p', unit([1, 0]), 1, 0.9, now)[0].entry.id).toBe('a');
    // "b" was used least recently: the first to go when the bounds shrink.
    second.setBounds(1, 1_000_000);
    expect(second.get('b', now)).toBeUndefined();
    second.close();
  });
});
