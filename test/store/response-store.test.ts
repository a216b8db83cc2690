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

  it('indexes the items a response adds by id, per scope; they go with the response, retention included', async () => {
    const reasoning = { id: 'rs_1', type: 'reasoning', summary: [], encrypted_content: 'sealed' };
    store.put(entry('resp_1'), [reasoning, { type: 'message' /* no id: not indexed */ }]);
    expect(store.item('rs_1', 'vk_a')).toEqual(reasoning);
    expect(store.item('rs_1', 'vk_b')).toBeUndefined();
    store.delete('resp_1', 'vk_a');
    expect(store.item('rs_1', 'vk_a')).toBeUndefined();
    store.put(entry('old', { createdAt: NOW - 40 * DAY }), [{ ...reasoning, id: 'rs_old' }]);
    await new LogRetention(db, { stepDelayMs: 0, now: () => NOW }).run();
    expect(store.item('rs_old', 'vk_a')).toBeUndefined();
  });

  it('a background response is updated only while it runs: a cancel written first wins', () => {
    const running = entry('resp_bg', { background: { status: 'queued', runner: '1/a' }, response: { id: 'resp_bg', status: 'queued' } });
    store.put(running);
    expect(store.backgroundOf('resp_bg', 'vk_a')).toEqual({ status: 'queued', runner: '1/a' });
    expect(store.updateRunning({ ...running, response: { id: 'resp_bg', status: 'in_progress' }, inputItems: null, background: { status: 'in_progress', runner: '1/a' } })).toBe(true);
    expect(store.get('resp_bg', 'vk_a')?.inputItems).toEqual(running.inputItems); // kept when not given
    expect(store.updateRunning({ ...running, response: { id: 'resp_bg', status: 'cancelled' }, inputItems: null, background: { status: 'cancelled', runner: '1/a' } })).toBe(true);
    expect(store.updateRunning({ ...running, response: { id: 'resp_bg', status: 'completed' }, background: { status: 'completed', runner: '1/a' } }, [{ id: 'msg_late' }])).toBe(false);
    expect(store.get('resp_bg', 'vk_a')).toMatchObject({ response: { status: 'cancelled' }, background: { status: 'cancelled' } });
    expect(store.item('msg_late', 'vk_a')).toBeUndefined();
  });

  it('marks failed the running background responses whose runner is gone, and no others', () => {
    store.put(entry('gone', { background: { status: 'in_progress', runner: 'dead/1' }, response: { id: 'gone', status: 'in_progress', output: [] } }));
    store.put(entry('alive', { background: { status: 'queued', runner: 'live/1' }, response: { id: 'alive', status: 'queued' } }));
    store.put(entry('done', { background: { status: 'completed', runner: 'dead/1' }, response: { id: 'done', status: 'completed' } }));
    const failed = store.failAbandoned((runner) => runner === 'live/1', { code: 'server_error', message: 'stopped' });
    expect(failed).toBe(1);
    expect(store.get('gone', 'vk_a')).toMatchObject({ response: { status: 'failed', error: { code: 'server_error', message: 'stopped' }, output: [] }, background: { status: 'failed' } });
    expect(store.get('alive', 'vk_a')?.background?.status).toBe('queued');
    expect(store.get('done', 'vk_a')?.background?.status).toBe('completed');
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
