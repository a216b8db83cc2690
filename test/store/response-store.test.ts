import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { ResponseStore, type StoredResponse } from '../../src/store/response-store.js';
import { LogRetention } from '../../src/store/retention.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = 1_700_000_000_000;

function entry(id: string, fields: Partial<StoredResponse> = {}): StoredResponse {
  return {
    id, scope: 'vk_a', mode: 'stored', provider: 'anthropic', model: 'claude-sonnet-4-5', keyId: null, createdAt: NOW,
    response: { id, object: 'response', output: [{ id: `msg_${id}`, type: 'message' }] },
    inputItems: [{ id: `in_${id}`, type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }],
    ...fields,
  };
}

describe('ResponseStore', () => {
  let db: SqliteDatabase;
  let store: ResponseStore;

  beforeEach(() => {
    db = openDatabase('', { memory: true });
    store = new ResponseStore(db);
  });
  afterEach(() => db.close());

  it('keeps a response with its input items and reads it back in its scope only', () => {
    store.put(entry('resp_1'));
    expect(store.get('resp_1', 'vk_a')).toEqual(entry('resp_1'));
    expect(store.get('resp_1', 'vk_b')).toBeUndefined();
    expect(store.get('resp_1', '')).toBeUndefined();
    expect(store.delete('resp_1', 'vk_b')).toBe(false);
    expect(store.delete('resp_1', 'vk_a')).toBe(true);
    expect(store.get('resp_1', 'vk_a')).toBeUndefined();
  });

  it('a provider-mode row holds only where the response lives', () => {
    store.put(entry('resp_mock_1', { mode: 'provider', provider: 'openai', model: 'gpt-4o-mini', keyId: 'key_1', response: null, inputItems: null }));
    expect(store.get('resp_mock_1', 'vk_a')).toMatchObject({ mode: 'provider', provider: 'openai', keyId: 'key_1', response: null, inputItems: null });
  });

  it('expires with the request logs\' retention (by age)', async () => {
    store.put(entry('old', { createdAt: NOW - 40 * DAY }));
    store.put(entry('new', { createdAt: NOW - DAY }));
    const retention = new LogRetention(db, { stepDelayMs: 0, now: () => NOW });
    const result = await retention.run();
    expect(result.deletedByAge).toBe(1);
    expect(store.get('old', 'vk_a')).toBeUndefined();
    expect(store.get('new', 'vk_a')).toBeDefined();
  });

  it('a small insert is cheap enough for the request path', () => {
    const big = entry('x', { inputItems: Array.from({ length: 20 }, (_, i) => ({ id: `in_${i}`, type: 'message', role: 'user', content: [{ type: 'input_text', text: 'w '.repeat(100) }] })) });
    const started = performance.now();
    for (let i = 0; i < 200; i++) store.put({ ...big, id: `resp_${i}` });
    const perInsertMs = (performance.now() - started) / 200;
    // A generous bound (a file database measured about 0.3 ms for a 2 KB turn), so a loaded machine does not flake.
    expect(perInsertMs).toBeLessThan(5);
  });
});
