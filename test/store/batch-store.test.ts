/**
 * Batch jobs and their results' cost without a gateway: the store's records
 * (migration 8) and the one charge a batch gets, and the results reader fed a
 * batch's results split at every awkward byte boundary.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BatchResultsTap, type BatchTotals } from '../../src/api/batch-results.js';
import { batchStatesOf } from '../../src/api/batch-objects.js';
import { BatchStore } from '../../src/store/batch-store.js';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';

let db: SqliteDatabase | undefined;
afterEach(() => db?.close());

const OPENAI_BATCH = { id: 'batch_1', object: 'batch', endpoint: '/v1/chat/completions', status: 'in_progress', input_file_id: 'file-in', output_file_id: null, request_counts: { total: 3, completed: 1, failed: 0 }, created_at: 1_767_225_600 };

describe('BatchStore', () => {
  it('records a job, updates it from the provider\'s answers, and charges it once', () => {
    db = openDatabase('', { memory: true });
    let now = 1_000;
    const store = new BatchStore(db, { now: () => now });
    const [created] = batchStatesOf(Buffer.from(JSON.stringify(OPENAI_BATCH)));
    store.create({ provider: 'openai', api: 'openai', virtualKeyId: 'vk_1', models: ['openai/gpt-4o-mini'], requestId: 'req-create' }, created);
    expect(store.get('batch_1')).toMatchObject({ status: 'in_progress', created_at: 1_767_225_600_000, request_counts: { total: 3, completed: 1, failed: 0 }, models: ['openai/gpt-4o-mini'], updated_at: 1_000 });

    now = 2_000;
    const listed = Buffer.from(JSON.stringify({ object: 'list', data: [{ ...OPENAI_BATCH, status: 'completed', output_file_id: 'file-out', completed_at: 1_767_229_200, request_counts: { total: 3, completed: 3, failed: 0 } }, { ...OPENAI_BATCH, id: 'batch_elsewhere' }] }));
    expect(batchStatesOf(listed).map((state) => store.update(state))).toEqual([true, false]);
    expect(store.byOutputFile('file-out')).toMatchObject({ id: 'batch_1', status: 'completed', completed_at: 1_767_229_200_000, updated_at: 2_000 });
    expect(store.get('batch_elsewhere')).toBeUndefined();

    const charge = { requestId: 'req-results', costUsd: 0.25, inputTokens: 10, outputTokens: 20 };
    expect(store.claimCharge('batch_1', charge)).toBe(true);
    expect(store.claimCharge('batch_1', { ...charge, requestId: 'req-again', costUsd: 9 })).toBe(false);
    expect(store.get('batch_1')).toMatchObject({ cost_usd: 0.25, charged_request_id: 'req-results', charged_at: 2_000, input_tokens: 10, output_tokens: 20 });
  });

  it('reads an Anthropic message batch\'s counts and times', () => {
    const [state] = batchStatesOf(Buffer.from(JSON.stringify({
      id: 'msgbatch_1', type: 'message_batch', processing_status: 'ended', created_at: '2026-12-07T00:00:00Z', ended_at: '2026-12-07T01:00:00Z',
      request_counts: { processing: 0, succeeded: 5, errored: 1, canceled: 1, expired: 1 },
    })));
    expect(state).toEqual({ id: 'msgbatch_1', status: 'ended', total: 8, completed: 5, failed: 3, createdAt: Date.parse('2026-12-07T00:00:00Z'), completedAt: Date.parse('2026-12-07T01:00:00Z') });
  });
});

describe('BatchResultsTap', () => {
  const lines = [
    { custom_id: 'a', response: { status_code: 200, body: { model: 'm-1', usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } } }, error: null },
    { custom_id: 'b', response: { status_code: 200, body: { model: 'm-2', usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6, prompt_tokens_details: { cached_tokens: 2 } } } }, error: null },
    { custom_id: 'c', response: null, error: { code: 'server_error', message: 'é failed' } },
    { custom_id: 'd', result: { type: 'succeeded', message: { model: 'm-1', usage: { input_tokens: 3, output_tokens: 1, cache_read_input_tokens: 0 } } } },
  ];
  const bytes = Buffer.from(lines.map((line) => JSON.stringify(line)).join('\n'), 'utf8');
  const prices: Record<string, { input: number; cached_input?: number; output: number }> = { 'm-1': { input: 1, output: 2 }, 'm-2': { input: 10, cached_input: 1, output: 20 } };
  // m-1: (10 + 3) in x $1 + (5 + 1) out x $2; m-2: 2 fresh x $10 + 2 cached x $1 + 2 out x $20 (per million).
  const cost = (13 * 1 + 6 * 2 + 2 * 10 + 2 * 1 + 2 * 20) / 1e6;

  function read(chunks: Buffer[], complete = true): BatchTotals | undefined {
    let totals: BatchTotals | undefined;
    let calls = 0;
    const tap = new BatchResultsTap({ price: (model) => prices[model], fallbackModel: undefined, embeddings: false, done: (value) => { totals = value; calls++; } });
    for (const chunk of chunks) tap.push(chunk);
    tap.end(complete);
    tap.end(complete);
    expect(calls).toBe(1);
    return totals;
  }

  it('adds up every line\'s usage at its model\'s price, however the bytes are split', () => {
    for (let at = 0; at <= bytes.length; at++) {
      const totals = read([bytes.subarray(0, at), bytes.subarray(at)]);
      expect(totals?.costUsd).toBeCloseTo(cost, 15);
      expect(totals).toMatchObject({ inputTokens: 17, outputTokens: 8, answers: 3 });
    }
    const byteByByte = read([...bytes].map((byte) => Buffer.from([byte])));
    expect(byteByByte?.costUsd).toBeCloseTo(cost, 15);
  });

  it('a model without a price makes the cost unknown; a cut answer settles nothing', () => {
    const unknown = Buffer.from(JSON.stringify({ custom_id: 'x', response: { body: { model: 'm-unknown', usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } } } }));
    expect(read([bytes, Buffer.from('\n'), unknown])).toMatchObject({ costUsd: null, inputTokens: 18, outputTokens: 9 });
    expect(read([bytes], false)).toBeUndefined();
  });
});
