/**
 * The shared ledger against a real Redis: several RedisLedgers (one per
 * instance, each its own connection) decide as one ledger would, a settlement
 * sent twice is charged once, one request's keys share a Redis Cluster slot,
 * settlements written in batches add up exactly (and are written at close),
 * and with Redis gone each limit follows its fail mode without a hang, the
 * counters whole again once it is back. The outage test stops a redis-server
 * of its own, never the shared one.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisLedger } from '../../src/cluster/redis-ledger.js';
import { ScriptCall } from '../../src/cluster/redis-call.js';
import { admitCall, reservationKeys, settleBatch, settleCall } from '../../src/cluster/redis-keys.js';
import { SETTLE_SCRIPT } from '../../src/cluster/redis-scripts.js';
import { GatewayError } from '../../src/errors/gateway-error.js';
import type { Admission, Decision, LimitSpec, SpendAccount, Ticket } from '../../src/governance/ledger.js';
import { privateRedis, testLedgers, testRedisUrl, uniquePrefix } from '../support/cluster-services.js';

/** The settlement script, sent the way the ledger sends it. */
const SETTLE = new ScriptCall(SETTLE_SCRIPT);

const url = testRedisUrl('test/cluster/redis-ledger.test.ts');
const prefix = uniquePrefix();
const ledgers = testLedgers(prefix, { settleBatchMs: 5 });
const ledger = ledgers.ledger;

afterAll(() => ledgers.close(url));

/** CRC16/XMODEM of the hash tag, mod 16384: the Redis Cluster slot of a key. */
function slot(key: string): number {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  const hashed = open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

const unique = (name: string): string => `${name}_${Math.random().toString(36).slice(2, 8)}`;

function accounts(limitUsd: number | undefined, extra: Partial<SpendAccount> = {}): SpendAccount[] {
  return [
    { type: 'key', id: unique('vk'), period: null, anchor: 0, limitUsd, ...extra },
    { type: 'team', id: unique('t'), period: 'daily', anchor: 0, limitUsd: undefined },
  ];
}

const admission = (levels: SpendAccount[], limits: LimitSpec[], estimateUsd: number, estimateTokens = 10): Admission => ({
  now: Date.now(), accounts: levels, estimateUsd, limits, estimateTokens,
});

const okTicket = (decision: Decision): Ticket => {
  if (!decision.ok) throw new Error(`refused: ${JSON.stringify(decision)}`);
  return decision.ticket;
};

describe.skipIf(url === undefined)('RedisLedger on a real Redis', () => {
  it('keeps every key of one request in one Redis Cluster slot: the root level\'s hash tag', () => {
    const levels: SpendAccount[] = [
      { type: 'key', id: 'vk_1', period: 'daily', anchor: 0, limitUsd: 1 },
      { type: 'team', id: 't_1', period: null, anchor: 0, limitUsd: 5 },
      { type: 'customer', id: 'c_1', period: 'monthly', anchor: 0, limitUsd: 50 },
    ];
    const limits: LimitSpec[] = [
      { id: 'key:vk_1:0:requests', scope: 'key', kind: 'requests', limit: 5, windowMs: 60_000, algorithm: 'sliding' },
      { id: 'team:t_1:0:tokens', scope: 'team', kind: 'tokens', limit: 500, windowMs: 60_000, algorithm: 'token_bucket' },
    ];
    const admit = admitCall('p:', 'r1', 1000, Date.now(), levels, limits, '0.1', 10);
    const settle = settleCall('p:', levels, limits, {
      requestId: 'r1', mode: 'l', costUsd: 0.1, tokens: 10, reservedUsd: '0.1', reservedTokens: 10, doneTtlMs: 1000, admittedAt: Date.now(), now: Date.now(),
    });
    const keys = [...admit.keys, ...settle.keys];
    expect(keys.length).toBe(1 + 3 * 3 + 2 * 4 + 2 + 3 * 3 + 2 * 4);
    expect(new Set(keys.map(slot)).size).toBe(1);
    expect(keys.every((key) => key.includes('{customer:c_1}'))).toBe(true);
  });

  it('three instances and one budget that fits 10 requests: 200 concurrent admissions, spend over the budget by at most one request', async () => {
    const instances = [await ledger(url!), await ledger(url!), await ledger(url!)];
    // Binary-exact amounts: 10 × 0.125 is exactly 1.25 (0.1 would sum to just under 1.0 and let an 11th in).
    const levels = accounts(1.25);
    const cost = 0.125;
    const decisions = await Promise.all(Array.from({ length: 200 }, (_, i) => instances[i % 3].admit(admission(levels, [], cost))));
    const admitted = decisions.filter((decision) => decision.ok);
    // Reserved at their estimate: exactly 10 fit; the rest are held off by the reservations in flight.
    expect(admitted).toHaveLength(10);
    expect(decisions.filter((d) => !d.ok && d.kind === 'budget' && d.spendUsd === 0)).toHaveLength(190);
    decisions.forEach((decision, i) => {
      if (decision.ok) instances[i % 3].settle(decision.ticket, { now: Date.now(), costUsd: cost, tokens: 20 });
    });
    await Promise.all(instances.map((instance) => instance.close(2_000)));
    const check = await ledger(url!);
    const after = await check.admit(admission(levels, [], cost));
    expect(after).toMatchObject({ ok: false, kind: 'budget', reservedUsd: 0 });
    expect(!after.ok && after.kind === 'budget' && after.spendUsd).toBe(1.25);
  });

  it('a rate limit of 7 per minute admits exactly 7 of 40 concurrent requests over three instances; the refusals carry a wait', async () => {
    const instances = [await ledger(url!), await ledger(url!), await ledger(url!)];
    const levels = accounts(undefined);
    const spec: LimitSpec = { id: `key:${levels[0].id}:0:requests`, scope: 'key', kind: 'requests', limit: 7, windowMs: 60_000, algorithm: 'sliding' };
    const decisions = await Promise.all(Array.from({ length: 40 }, (_, i) => instances[i % 3].admit(admission(levels, [spec], 0))));
    expect(decisions.filter((decision) => decision.ok)).toHaveLength(7);
    const refused = decisions.find((decision) => !decision.ok);
    expect(refused).toMatchObject({ ok: false, kind: 'rate', spec: { id: spec.id } });
    const wait = refused!.ok === false && refused!.kind === 'rate' ? refused!.retryAfterMs : 0;
    expect(wait).toBeGreaterThan(50_000);
    expect(wait).toBeLessThanOrEqual(60_000);
    // The refusal reads the window's reset too: when its newest request leaves it.
    const reset = refused!.ok === false && refused!.kind === 'rate' ? refused!.limits[0].state.resetMs : 0;
    expect(reset).toBeGreaterThan(50_000);
    expect(reset).toBeLessThanOrEqual(60_000);
    const last = decisions.filter((decision) => decision.ok).map((decision) => decision.ok ? decision.limits[0].state.remaining : -1);
    expect(Math.min(...last)).toBe(0);
  });

  it('a token limit counts the real tokens at settlement and holds the estimate while in flight (token bucket too)', async () => {
    const one = await ledger(url!);
    for (const algorithm of ['sliding', 'token_bucket'] as const) {
      const levels = accounts(undefined);
      const spec: LimitSpec = { id: `key:${levels[0].id}:0:tokens`, scope: 'key', kind: 'tokens', limit: 1_000, windowMs: 3_600_000, algorithm };
      const first = okTicket(await one.admit(admission(levels, [spec], 0, 600)));
      // 600 in flight: one more estimate of 600 still fits under 1000 (a request is admitted while below the limit).
      const second = okTicket(await one.admit(admission(levels, [spec], 0, 600)));
      const third = await one.admit(admission(levels, [spec], 0, 10));
      expect(third).toMatchObject({ ok: false, kind: 'rate' });
      one.settle(first, { now: Date.now(), costUsd: 0, tokens: 100 });
      one.settle(second, { now: Date.now(), costUsd: 0, tokens: 100 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const fourth = await one.admit(admission(levels, [spec], 0, 10));
      expect(fourth.ok).toBe(true);
      expect(fourth.ok && fourth.limits[0].state.remaining).toBe(1_000 - 200 - 10);
    }
  });

  it('a settlement written twice (a retry after a timeout) is charged once', async () => {
    const one = await ledger(url!);
    const levels = accounts(0.5);
    const ticket = okTicket(await one.admit(admission(levels, [], 0.5)));
    one.settle(ticket, { now: Date.now(), costUsd: 0.25, tokens: 5 });
    one.settle(ticket, { now: Date.now(), costUsd: 0.25, tokens: 5 }); // the same ticket again: nothing
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The same script call replayed by hand, as a retry would send it.
    const call = settleCall(prefix, levels, [], {
      requestId: 'never-admitted', mode: 'l', costUsd: 0.25, tokens: 5, reservedUsd: '0', reservedTokens: 0, doneTtlMs: 60_000, admittedAt: Date.now(), now: Date.now(),
    });
    const batch = settleBatch([call]);
    const [first] = await SETTLE.run<Array<Array<string | number>>>(one.redis, batch.keys, batch.args);
    const [again] = await SETTLE.run<Array<Array<string | number>>>(one.redis, batch.keys, batch.args);
    expect(Number(first[0])).toBe(1);
    expect(Number(again[0])).toBe(0);
    const state = await one.admit(admission(levels, [], 20));
    expect(state).toMatchObject({ ok: false, kind: 'budget' });
    expect(!state.ok && state.kind === 'budget' && state.spendUsd).toBeCloseTo(0.5, 9);
  });
});

/** The spend, tokens and requests Redis holds for a key level of `accounts(...)` (a lifetime window: period start 0). */
async function keySpend(one: RedisLedger, levels: SpendAccount[]): Promise<{ spend: number; requests: number; tokens: number }> {
  const raw = await one.redis.hgetall(`${prefix}{team:${levels[1].id}}:s:key:${levels[0].id}:0`);
  return { spend: Number(raw.spend ?? 0), requests: Number(raw.requests ?? 0), tokens: Number(raw.tokens ?? 0) };
}

describe.skipIf(url === undefined)('settlements in batches', () => {
  it('three instances settle 90 requests in batches: the shared spend is exact, and closing writes what is queued', async () => {
    // The longest wait there is: only the flush at close (or an admission) writes these batches.
    const instances = [await ledger(url!, { settleBatchMs: 1_000 }), await ledger(url!, { settleBatchMs: 1_000 }), await ledger(url!, { settleBatchMs: 1_000 })];
    const levels = accounts(100);
    const tickets = await Promise.all(Array.from({ length: 90 }, async (_, i) => ({ i, ticket: okTicket(await instances[i % 3].admit(admission(levels, [], 0.5))) })));
    // Binary-exact costs: 0.125 × 90 = 11.25 and 7 tokens each.
    for (const { i, ticket } of tickets) instances[i % 3].settle(ticket, { now: Date.now(), costUsd: 0.125, tokens: 7 });
    await Promise.all(instances.map((instance) => instance.close(2_000)));
    const check = await ledger(url!);
    expect(await keySpend(check, levels)).toEqual({ spend: 11.25, requests: 90, tokens: 630 });
    // Every reservation released: nothing held.
    const after = await check.admit(admission(levels, [], 0));
    expect(after.ok).toBe(true);
  });

  it('a queued settlement is written before the next admission is checked (one round trip, settlement first)', async () => {
    const one = await ledger(url!, { settleBatchMs: 1_000 });
    const levels = accounts(1.0);
    const ticket = okTicket(await one.admit(admission(levels, [], 0.25)));
    one.settle(ticket, { now: Date.now(), costUsd: 1.0, tokens: 1 });
    // Queued for up to a second, yet the next admission already sees the real cost, not the reservation.
    const next = await one.admit(admission(levels, [], 0.25));
    expect(next).toMatchObject({ ok: false, kind: 'budget', spendUsd: 1, reservedUsd: 0 });
  });

  it('a batch that carries a settlement twice, or is sent again (a retry after a timeout), charges each request once', async () => {
    const one = await ledger(url!);
    const levels = accounts(10);
    const limits: LimitSpec[] = [{ id: `key:${levels[0].id}:0:tokens`, scope: 'key', kind: 'tokens', limit: 1_000, windowMs: 60_000, algorithm: 'sliding' }];
    const calls = ['a', 'b'].map((requestId) => settleCall(prefix, levels, limits, {
      requestId: `batch-${requestId}`, mode: 'l', costUsd: 0.5, tokens: 40, reservedUsd: '0', reservedTokens: 0, doneTtlMs: 60_000, admittedAt: Date.now(), now: Date.now(),
    }));
    const batch = settleBatch([calls[0], calls[1], calls[0]]);
    const first = await SETTLE.run<Array<Array<string | number>>>(one.redis, batch.keys, batch.args);
    const again = await SETTLE.run<Array<Array<string | number>>>(one.redis, batch.keys, batch.args);
    expect(first.map((reply) => Number(reply[0]))).toEqual([1, 1, 0]);
    expect(again.map((reply) => Number(reply[0]))).toEqual([0, 0, 0]);
    expect(await keySpend(one, levels)).toEqual({ spend: 1, requests: 2, tokens: 80 });
    const state = await one.admit(admission(levels, limits, 0, 1));
    expect(state.ok && state.limits[0].state.remaining).toBe(1_000 - 80 - 1);
  });

  it('a batch that times out (Redis paused with settlements queued) is kept, sent again once Redis answers, and charged once', async () => {
    const server = await privateRedis();
    const admin = new Redis(server.url);
    try {
      const one = await ledger(server.url, { timeoutMs: 200, settleBatchMs: 1_000 });
      const levels = accounts(100);
      const tickets: Ticket[] = [];
      for (let i = 0; i < 5; i++) tickets.push(okTicket(await one.admit(admission(levels, [], 0.5))));
      for (const ticket of tickets) one.settle(ticket, { now: Date.now(), costUsd: 0.25, tokens: 3 });
      // Redis stops answering for 1.5 s and then runs what it was sent meanwhile: the batch did run, late.
      await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
      // The admission takes the queued batch along; both time out: the batch is kept, the admission decided locally.
      const during = await one.admit(admission(levels, [], 0.5));
      expect(during.ok).toBe(true);
      expect(one.status()).toMatchObject({ connected: false, pending_settlements: 5 });
      one.settle(okTicket(during), { now: Date.now(), costUsd: 0.25, tokens: 3 });

      const deadline = Date.now() + 10_000;
      while (!one.status().connected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(one.status()).toMatchObject({ connected: true, pending_settlements: 0 });
      // Five written late by the paused batch (their replay charged nothing), one written when Redis was back.
      expect(await keySpend(one, levels)).toEqual({ spend: 1.5, requests: 6, tokens: 18 });
      const [, , , held] = await one.redis.heimdallRead(3, `${prefix}{team:${levels[1].id}}:s:key:${levels[0].id}:0`, ...reservationKeys(prefix, `team:${levels[1].id}`, levels[0]));
      expect(Number(held)).toBe(0);
    } finally {
      admin.disconnect();
      await server.dispose();
    }
  });
});

describe.skipIf(url === undefined)('Redis unreachable (a private redis-server, stopped by its PID)', () => {
  it('fail-open counts locally from the spend last seen, fail-closed refuses with 503, nothing hangs, and the spend is whole once Redis is back', async () => {
    const server = await privateRedis();
    try {
      const one = await ledger(server.url, { timeoutMs: 200 });
      const open = accounts(1.0);
      const closed = accounts(1.0, { failMode: 'closed' });
      // Before the outage: 0.3 spent on each.
      for (const levels of [open, closed]) {
        for (let i = 0; i < 3; i++) one.settle(okTicket(await one.admit(admission(levels, [], 0.1))), { now: Date.now(), costUsd: 0.1, tokens: 1 });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      await server.stop();

      const started = Date.now();
      const during: Decision[] = [];
      let refusedClosed = 0;
      for (let i = 0; i < 12; i++) {
        during.push(await one.admit(admission(open, [], 0.1)));
        try {
          await one.admit(admission(closed, [], 0.1));
        } catch (error) {
          expect(error).toBeInstanceOf(GatewayError);
          expect((error as GatewayError).status).toBe(503);
          expect((error as GatewayError).code).toBe('HD_ERR_LIMITS_UNAVAILABLE');
          refusedClosed++;
        }
      }
      // No hang: 24 decisions, the first waited at most the timeout, the others none.
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(refusedClosed).toBe(12);
      // Seeded with the 0.3 seen: 7 more fit in the budget of 1.0 on this instance.
      const admitted = during.filter((decision) => decision.ok);
      expect(admitted).toHaveLength(7);
      for (const decision of admitted) one.settle(okTicket(decision), { now: Date.now(), costUsd: 0.1, tokens: 1 });
      expect(one.status()).toMatchObject({ connected: false, pending_settlements: 7, refused_unavailable: 12, fallback_admissions: 12 });

      await server.start(); // empty: no persistence, the outage lost everything Redis held
      const deadline = Date.now() + 10_000;
      while (!one.status().connected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(one.status()).toMatchObject({ connected: true, pending_settlements: 0 });
      // The 7 settled during the outage were written under their request ids.
      const after = await one.admit(admission(open, [], 0.1));
      expect(after.ok).toBe(true);
      const raw = await keySpend(one, open);
      expect(raw.spend).toBeCloseTo(0.7, 9);
      expect(raw.requests).toBe(7);
    } finally {
      await server.dispose();
    }
  });
});
