/**
 * The worker's ledger against the primary's, over a channel that copies
 * through JSON on a later turn (as node:cluster's IPC does): the same
 * decisions as a LocalLedger in one process, through the compact wire format.
 */
import { describe, expect, it } from 'vitest';
import { LedgerHost, type LedgerPeer } from '../../src/cluster/ledger-host.js';
import type { LedgerBatch, PrimaryMessage } from '../../src/cluster/messages.js';
import { RemoteLedger, SETTLE_DELAY_MS } from '../../src/cluster/remote-ledger.js';
import { LocalLedger, type Admission, type LimitSpec, type SpendAccount } from '../../src/governance/ledger.js';

const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function connect(host: LedgerHost, index = 0): { ledger: RemoteLedger; peer: LedgerPeer; messages: () => number } {
  let count = 0;
  let peer!: LedgerPeer;
  const ledger = new RemoteLedger({ send: (batch: LedgerBatch) => {
    count++;
    const message = copy(batch);
    setImmediate(() => host.handle(message, peer));
  } });
  peer = { index, send: (message: PrimaryMessage) => {
    const delivered = copy(message);
    setImmediate(() => {
      if (delivered.hd === 'decisions') ledger.onDecisions(delivered);
      else if (delivered.hd === 'persist') ledger.onPersist(delivered);
    });
  } };
  return { ledger, peer, messages: () => count };
}

const account: SpendAccount = { type: 'key', id: 'vk_1', period: null, anchor: 0, limitUsd: 1 };
const requests: LimitSpec = { id: 'key:vk_1:0:requests', scope: 'key', kind: 'requests', limit: 3, windowMs: 60_000, algorithm: 'sliding' };
const tokens: LimitSpec = { id: 'key:vk_1:0:tokens', scope: 'key', kind: 'tokens', limit: 1_000, windowMs: 60_000, algorithm: 'sliding' };

describe('RemoteLedger over the wire', () => {
  it('decides as a LocalLedger does: admissions batched per turn, settlements charged, readings kept', async () => {
    const host = new LedgerHost();
    const { ledger, messages } = connect(host);
    const local = new LocalLedger();
    const accounts = [account];
    const limits = [requests, tokens];
    const admission = (now: number): Admission => ({ now, accounts, estimateUsd: 0.2, limits, estimateTokens: 100 });
    // Four at once: one IPC message; the fourth is over the request limit of 3.
    const remote = await Promise.all([1, 2, 3, 4].map((i) => ledger.admit(admission(1000 + i))));
    const direct = [1, 2, 3, 4].map((i) => local.admit(admission(1000 + i)));
    expect(messages()).toBe(1);
    expect(remote.map((d) => d.ok)).toEqual(direct.map((d) => d.ok));
    expect(remote[3]).toMatchObject({ ok: false, kind: 'rate', spec: { id: requests.id } });
    expect(remote[3].ok === false && remote[3].kind === 'rate' && remote[3].retryAfterMs).toBe(direct[3].ok === false && direct[3].kind === 'rate' && direct[3].retryAfterMs);
    const first = remote[0];
    if (!first.ok) throw new Error('admitted');
    expect(first.ticket).toEqual(direct[0].ok ? direct[0].ticket : undefined);
    expect(first.limits.map((r) => r.state)).toEqual(direct[0].ok ? direct[0].limits.map((r) => r.state) : []);
    ledger.settle(first.ticket, { now: 2000, costUsd: 0.05, tokens: 40 });
    // A settlement alone waits for a message to ride with, at most SETTLE_DELAY_MS.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(messages()).toBe(1);
    expect(host.ledger.account(account, 2000).spendUsd).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_DELAY_MS + 5));
    await new Promise((resolve) => setImmediate(resolve));
    expect(messages()).toBe(2);
    const state = host.ledger.account(account, 2000);
    expect(state.spendUsd).toBeCloseTo(0.05, 12);
    expect(state.reservedUsd).toBeCloseTo(0.4, 12); // two admitted, not settled
    expect(ledger.limitState(requests, 2000).remaining).toBe(0);
  });

  it('settlements ride with the next admission: one message per request, charged before it is decided', async () => {
    const host = new LedgerHost();
    const { ledger, messages } = connect(host);
    const accounts = [{ ...account, id: 'vk_3', limitUsd: 0.5 }];
    const limits = [{ ...tokens, id: 'key:vk_3:0:tokens', limit: 250 }];
    const admission = (now: number): Admission => ({ now, accounts, estimateUsd: 0.2, limits, estimateTokens: 100 });
    let decision = await ledger.admit(admission(1));
    for (let i = 2; i <= 6; i++) {
      if (!decision.ok) throw new Error(`request ${i - 1} refused`);
      // Settled below its reservation: the next admission fits only once this settlement is applied
      // (0.2 USD and 100 tokens reserved by each of 5 requests would pass both limits).
      ledger.settle(decision.ticket, { now: i, costUsd: 0.01, tokens: 10 });
      // A turn later (a response ends in one turn, the next request arrives in another).
      await new Promise((resolve) => setImmediate(resolve));
      decision = await ledger.admit(admission(i));
    }
    expect(decision.ok).toBe(true);
    expect(messages()).toBe(6);
    const state = host.ledger.account(accounts[0], 10);
    expect(state.spendUsd).toBeCloseTo(0.05, 12);
    expect(state.reservedUsd).toBeCloseTo(0.2, 12);
    expect(host.ledger.limitState(limits[0], 10).remaining).toBe(250 - 50 - 100);
    ledger.close();
  });

  it('decisions carry the counter states of every limit, in order', async () => {
    const host = new LedgerHost();
    const { ledger } = connect(host);
    const limits = [{ ...requests, id: 'r4', limit: 7 }, { ...tokens, id: 't4', limit: 500 }];
    const decision = await ledger.admit({ now: 5, accounts: [], estimateUsd: 0, limits, estimateTokens: 120 });
    const direct = new LocalLedger().admit({ now: 5, accounts: [], estimateUsd: 0, limits, estimateTokens: 120 });
    if (!decision.ok || !direct.ok) throw new Error('admitted');
    expect(decision.limits.map((reading) => [reading.spec.id, reading.state])).toEqual(direct.limits.map((reading) => [reading.spec.id, reading.state]));
    expect(decision.limits[0].state).toMatchObject({ limit: 7, remaining: 6 });
    expect(decision.limits[1].state).toMatchObject({ limit: 500, remaining: 380 });
  });

  it('a budget refusal names the account; definitions start again past the cap', async () => {
    const host = new LedgerHost();
    const { ledger } = connect(host);
    const tiny: SpendAccount = { ...account, id: 'vk_2', limitUsd: 0.1 };
    const ok = await ledger.admit({ now: 1, accounts: [tiny], estimateUsd: 0.2, limits: [], estimateTokens: 0 });
    expect(ok.ok).toBe(true);
    const refused = await ledger.admit({ now: 2, accounts: [tiny], estimateUsd: 0.2, limits: [], estimateTokens: 0 });
    expect(refused).toMatchObject({ ok: false, kind: 'budget', account: { id: 'vk_2' } });
    // Fresh arrays every time (nothing reused): more definitions than the cap, decisions still right.
    const many = await Promise.all(Array.from({ length: 2500 }, (_, i) => ledger.admit({
      now: 10 + i, accounts: [{ ...account, id: `vk_m${i % 5}` }], estimateUsd: 0, limits: [{ ...requests, id: `m${i % 5}`, limit: 1000 }], estimateTokens: 0,
    })));
    expect(many.every((decision) => decision.ok)).toBe(true);
    expect(host.ledger.limitState({ ...requests, id: "m0", limit: 1000 }, 3000).remaining).toBe(500);
  });
});
