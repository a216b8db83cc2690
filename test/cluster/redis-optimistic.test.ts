/**
 * Optimistic admission against a real Redis: far from every limit a request is
 * admitted without waiting (the decision comes back synchronously, not as a
 * Promise) and its reservation still reaches Redis; near a limit every request
 * waits for Redis again; hammered from three instances a limit is overshot by
 * at most K × 3; a settlement made before its reservation was answered is
 * charged once; Redis stalling with reservations unanswered sends them to the
 * local fallback without a hang, and the counters are whole once it answers;
 * K = 0 turns it off.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisLedger } from '../../src/cluster/redis-ledger.js';
import { redisSchema } from '../../src/cluster/redis-config.js';
import { reservationKeys } from '../../src/cluster/redis-keys.js';
import { GatewayError } from '../../src/errors/gateway-error.js';
import type { Admission, Decision, LimitSpec, SpendAccount, Ticket } from '../../src/governance/ledger.js';
import { privateRedis, testLedgers, testRedisUrl, uniquePrefix } from '../support/cluster-services.js';

const url = testRedisUrl('test/cluster/redis-optimistic.test.ts');
const prefix = uniquePrefix();
const K = 8;

const ledgers = testLedgers(prefix, { optimisticAdmissions: K });
const ledger = ledgers.ledger;

afterAll(() => ledgers.close(url));

const unique = (name: string): string => `${name}_${Math.random().toString(36).slice(2, 8)}`;

function accounts(limitUsd: number | undefined, extra: Partial<SpendAccount> = {}): SpendAccount[] {
  return [
    { type: 'key', id: unique('vk'), period: null, anchor: 0, limitUsd, ...extra },
    { type: 'team', id: unique('t'), period: null, anchor: 0, limitUsd: undefined },
  ];
}

const requestLimit = (levels: SpendAccount[], limit: number): LimitSpec => ({
  id: `key:${levels[0].id}:0:requests`, scope: 'key', kind: 'requests', limit, windowMs: 60_000, algorithm: 'sliding',
});

const admission = (levels: SpendAccount[], limits: LimitSpec[], estimateUsd: number, estimateTokens = 10): Admission => ({
  now: Date.now(), accounts: levels, estimateUsd, limits, estimateTokens,
});

const okTicket = (decision: Decision): Ticket => {
  if (!decision.ok) throw new Error(`refused: ${JSON.stringify(decision)}`);
  return decision.ticket;
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What Redis holds for the key level of `accounts(...)`: spend, requests, and the reservations in flight. */
async function keyLevel(redis: Redis, levels: SpendAccount[]): Promise<{ spend: number; requests: number; held: number; window: number }> {
  const tag = `team:${levels[1].id}`;
  const raw = await redis.hgetall(`${prefix}{${tag}}:s:key:${levels[0].id}:0`);
  const [, heldKey] = reservationKeys(prefix, tag, levels[0]);
  const held = Number(await redis.hget(heldKey, 'held') ?? 0);
  const window = await redis.zcard(`${prefix}{${tag}}:c:key:${levels[0].id}:0:requests:s:60000:w`);
  return { spend: Number(raw.spend ?? 0), requests: Number(raw.requests ?? 0), held: Math.abs(held) < 1e-9 ? 0 : held, window };
}

/**
 * Each instance admits `wave` requests at a time (not awaiting one before the next), waves until every
 * instance has seen `refusedWaves` waves refused whole. Returns the decisions.
 */
async function hammer(instances: RedisLedger[], make: () => Admission, wave: number, refusedWaves = 3): Promise<Decision[]> {
  const all: Decision[] = [];
  let refused = 0;
  for (let round = 0; round < 10_000 && refused < refusedWaves; round++) {
    const decisions = await Promise.all(instances.flatMap((instance) => Array.from({ length: wave }, () => instance.admit(make()))));
    all.push(...decisions);
    if (decisions.every((decision) => !decision.ok)) refused++;
  }
  return all;
}

describe.skipIf(url === undefined)('optimistic admission on a real Redis', () => {
  it('far from every limit: admitted without waiting for Redis, and every reservation still reaches it', async () => {
    const one = await ledger(url!);
    const levels = accounts(1_000);
    const limits = [requestLimit(levels, 100_000)];
    // The first admission of a level waits: nothing is known of its headroom yet.
    const first = one.admit(admission(levels, limits, 0.125));
    expect(first).toBeInstanceOf(Promise);
    one.settle(okTicket(await first), { now: Date.now(), costUsd: 0.125, tokens: 5 });
    let synchronous = 0;
    for (let i = 0; i < 50; i++) {
      const decision = one.admit(admission(levels, limits, 0.125));
      if (!(decision instanceof Promise)) synchronous++;
      one.settle(okTicket(await decision), { now: Date.now(), costUsd: 0.125, tokens: 5 });
    }
    // At most K unanswered at once: then one waits (and every reply comes back meanwhile).
    expect(synchronous).toBeGreaterThanOrEqual(40);
    expect(one.status().optimistic_admissions).toBe(synchronous);
    expect(one.status().optimistic_over_limit).toBe(0);
    await one.close(2_000);
    const check = new Redis(url!);
    try {
      expect(await keyLevel(check, levels)).toEqual({ spend: 51 * 0.125, requests: 51, held: 0, window: 51 });
      expect(await check.zcard(`${prefix}{team:${levels[1].id}}:q`)).toBe(0);
    } finally {
      check.disconnect();
    }
  });

  it('near a limit every request waits for Redis: 100 per minute admits exactly 100, the last 33 (4 × K + 1) exact; headers from the local view', async () => {
    const one = await ledger(url!);
    const levels = accounts(undefined);
    const limits = [requestLimit(levels, 100)];
    const kinds: boolean[] = [];
    const remaining: number[] = [];
    for (let i = 0; i < 100; i++) {
      const decision = one.admit(admission(levels, limits, 0));
      kinds.push(decision instanceof Promise);
      const settled = await decision;
      expect(settled.ok).toBe(true);
      remaining.push(settled.ok ? settled.limits[0].state.remaining : -1);
    }
    // One instance alone: its local view is exact, optimistic or not.
    expect(remaining).toEqual(Array.from({ length: 100 }, (_, i) => 99 - i));
    expect(kinds.filter((awaited) => !awaited).length).toBeGreaterThan(40);
    // Optimistic only while headroom − pending − 1 > 4 × K × 1 instance: the last 33 wait.
    expect(kinds.slice(-33).every(Boolean)).toBe(true);
    expect(kinds[100 - 34]).toBe(false);
    const over = one.admit(admission(levels, limits, 0));
    expect(over).toBeInstanceOf(Promise);
    expect(await over).toMatchObject({ ok: false, kind: 'rate' });
  });

  it('a request limit of 300 per minute hammered from three instances admits at most 300 + K × 3, and Redis counted each', async () => {
    const instances = [await ledger(url!), await ledger(url!), await ledger(url!)];
    const levels = accounts(undefined);
    const limits = [requestLimit(levels, 300)];
    const decisions = await hammer(instances, () => admission(levels, limits, 0), 12);
    const admitted = decisions.filter((decision) => decision.ok).length;
    expect(admitted).toBeGreaterThanOrEqual(300);
    expect(admitted).toBeLessThanOrEqual(300 + K * 3);
    expect(instances.reduce((sum, instance) => sum + instance.status().optimistic_admissions, 0)).toBeGreaterThan(50);
    const check = new Redis(url!);
    try {
      expect((await keyLevel(check, levels)).window).toBe(admitted);
    } finally {
      check.disconnect();
    }
  });

  it('the worst case: three instances that last saw the limit far away, after a fourth used it up, admit exactly K × 3 over it, then none', async () => {
    const instances = [await ledger(url!), await ledger(url!), await ledger(url!)];
    const exact = await ledger(url!, { optimisticAdmissions: 0 });
    const levels = accounts(undefined);
    const limits = [requestLimit(levels, 300)];
    for (const instance of instances) expect((await instance.admit(admission(levels, limits, 0))).ok).toBe(true);
    let used = 3;
    while ((await exact.admit(admission(levels, limits, 0))).ok) used++;
    expect(used).toBe(300);
    // Each instance still believes in ~297 left: its first K go through (forced), the rest wait and are refused.
    const wave = instances.flatMap((instance) => Array.from({ length: 20 }, () => instance.admit(admission(levels, limits, 0))));
    expect(wave.filter((decision) => !(decision instanceof Promise))).toHaveLength(K * 3);
    const decisions = await Promise.all(wave);
    expect(decisions.filter((decision) => decision.ok)).toHaveLength(K * 3);
    await sleep(50);
    expect(instances.map((instance) => instance.status().optimistic_over_limit)).toEqual([K, K, K]);
    // Now they know: nothing more goes through.
    const after = await Promise.all(instances.flatMap((instance) => Array.from({ length: 20 }, () => instance.admit(admission(levels, limits, 0)))));
    expect(after.filter((decision) => decision.ok)).toHaveLength(0);
    const check = new Redis(url!);
    try {
      expect((await keyLevel(check, levels)).window).toBe(300 + K * 3);
    } finally {
      check.disconnect();
    }
  });

  it('a budget fitting 800 requests hammered from three instances (3 known) overspends by at most (K × 3 + 1) estimates; settled, it is charged exactly', async () => {
    const instances = [await ledger(url!), await ledger(url!), await ledger(url!)];
    for (const instance of instances) instance.setInstances(3);
    const levels = accounts(100);
    const cost = 0.125;
    const decisions = await hammer(instances, () => admission(levels, [], cost), 12);
    const tickets = decisions.map((decision, i) => ({ decision, i })).filter(({ decision }) => decision.ok);
    expect(tickets.length).toBeGreaterThanOrEqual(800);
    expect(tickets.length * cost).toBeLessThanOrEqual(100 + (K * 3 + 1) * cost);
    expect(instances.reduce((sum, instance) => sum + instance.status().optimistic_admissions, 0)).toBeGreaterThan(100);
    const check = new Redis(url!);
    try {
      // Every admitted request holds its estimate in Redis, optimistic or not.
      expect((await keyLevel(check, levels)).held).toBeCloseTo(tickets.length * cost, 9);
      // The decisions are in instance order per wave of 12: decision i came from instance floor(i / 12) % 3.
      for (const { decision, i } of tickets) instances[Math.floor(i / 12) % 3].settle(okTicket(decision), { now: Date.now(), costUsd: cost, tokens: 1 });
      await Promise.all(instances.map((instance) => instance.close(2_000)));
      expect(await keyLevel(check, levels)).toEqual({ spend: tickets.length * cost, requests: tickets.length, held: 0, window: 0 });
    } finally {
      check.disconnect();
    }
  });

  it('a settlement made before its reservation is answered follows it, and is charged once', async () => {
    const one = await ledger(url!);
    const levels = accounts(1_000);
    one.settle(okTicket(await one.admit(admission(levels, [], 0.5))), { now: Date.now(), costUsd: 0.125, tokens: 1 });
    await sleep(50);
    const decision = one.admit(admission(levels, [], 0.5));
    expect(decision).not.toBeInstanceOf(Promise);
    const ticket = okTicket(decision as Decision);
    // Settled at once, before the reservation's reply; then again (nothing: one ticket, one settlement).
    one.settle(ticket, { now: Date.now(), costUsd: 0.25, tokens: 3 });
    one.settle(ticket, { now: Date.now(), costUsd: 0.25, tokens: 3 });
    await sleep(200);
    const check = new Redis(url!);
    try {
      expect(await keyLevel(check, levels)).toEqual({ spend: 0.375, requests: 2, held: 0, window: 0 });
      expect(await check.zcard(`${prefix}{team:${levels[1].id}}:q`)).toBe(0);
    } finally {
      check.disconnect();
    }
  });

  it('Redis stalls with optimistic reservations unanswered: nothing waits, they count in the local fallback, and once Redis answers each is charged once', async () => {
    const server = await privateRedis();
    const admin = new Redis(server.url);
    try {
      const one = await ledger(server.url, { timeoutMs: 200 });
      const open = accounts(1_000);
      const closed = accounts(1_000, { failMode: 'closed' });
      const limitsOf = (levels: SpendAccount[]): LimitSpec[] => [requestLimit(levels, 1_000)];
      for (const levels of [open, closed]) {
        one.settle(okTicket(await one.admit(admission(levels, limitsOf(levels), 0.5))), { now: Date.now(), costUsd: 0.125, tokens: 1 });
      }
      await sleep(50);
      // Redis stops answering for 1.5 s, then runs what it was sent meanwhile (the reservations run, late).
      await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
      const started = Date.now();
      const tickets: Array<{ levels: SpendAccount[]; ticket: Ticket }> = [];
      for (const levels of [open, closed, open, closed]) {
        const decision = one.admit(admission(levels, limitsOf(levels), 0.5));
        expect(decision).not.toBeInstanceOf(Promise);
        tickets.push({ levels, ticket: okTicket(decision as Decision) });
      }
      expect(Date.now() - started).toBeLessThan(100);
      for (const { ticket } of tickets) one.settle(ticket, { now: Date.now(), costUsd: 0.25, tokens: 3 });
      // The reservations time out (200 ms): Redis counts as unreachable, the four count locally.
      await sleep(400);
      expect(one.status()).toMatchObject({ connected: false, optimistic_admissions: 4, fallback_admissions: 4, pending_settlements: 4 });
      // Meanwhile the fail-closed budget refuses, the fail-open one is counted locally; neither waits.
      await expect(Promise.resolve().then(() => one.admit(admission(closed, limitsOf(closed), 0.5)))).rejects.toBeInstanceOf(GatewayError);
      const during = await one.admit(admission(open, limitsOf(open), 0.5));
      one.settle(okTicket(during), { now: Date.now(), costUsd: 0.25, tokens: 3 });

      const deadline = Date.now() + 10_000;
      while (!one.status().connected && Date.now() < deadline) await sleep(100);
      expect(one.status()).toMatchObject({ connected: true, pending_settlements: 0 });
      // Each charged once: the late reservations were released by the settlements written when Redis was back.
      const check = new Redis(server.url);
      try {
        await sleep(100);
        expect(await keyLevel(check, open)).toEqual({ spend: 0.125 + 3 * 0.25, requests: 4, held: 0, window: 4 });
        expect(await keyLevel(check, closed)).toEqual({ spend: 0.125 + 2 * 0.25, requests: 3, held: 0, window: 3 });
      } finally {
        check.disconnect();
      }
    } finally {
      admin.disconnect();
      await server.dispose();
    }
  });

  it('K = 0 (or unset in code) turns it off: every admission waits for Redis; the config file\'s default is 8', async () => {
    for (const overrides of [{ optimisticAdmissions: 0 }, { optimisticAdmissions: undefined }]) {
      const one = await ledger(url!, overrides);
      const levels = accounts(1_000);
      for (let i = 0; i < 20; i++) {
        const decision = one.admit(admission(levels, [], 0.125));
        expect(decision).toBeInstanceOf(Promise);
        okTicket(await decision);
      }
      expect(one.status().optimistic_admissions).toBe(0);
    }
    expect(redisSchema.parse({}).optimistic_admissions).toBe(8);
    expect(redisSchema.parse({ optimistic_admissions: 0 }).optimistic_admissions).toBe(0);
    expect(redisSchema.safeParse({ optimistic_admissions: -1 }).success).toBe(false);
  });
});
