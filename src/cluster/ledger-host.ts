/**
 * The primary's side of the shared ledger, apart from node:cluster so that
 * tests can drive it with in-memory channels: one LocalLedger, the batches
 * workers send, and the periodic push of changed spend to the workers (the
 * leader writes it).
 */
import { LocalLedger, type Decision, type LimitSpec, type SpendAccount, type Ticket } from '../governance/ledger.js';
import { flatStates, type LedgerBatch, type LedgerPersist, type PrimaryMessage, type WireDecision } from './messages.js';

/** The specs a ticket holds tokens on (LocalLedger.admit: the limits that are not request counts). */
export function tokenLimitsOf(limits: readonly LimitSpec[]): LimitSpec[] {
  return limits.filter((spec) => spec.kind !== 'requests');
}

function toWire(id: number, decision: Decision, accounts: readonly SpendAccount[], limits: readonly LimitSpec[]): WireDecision {
  if (decision.ok) return [id, 1, flatStates(decision.limits.map((reading) => reading.state))];
  if (decision.kind === 'rate') return [id, 2, flatStates(decision.limits.map((reading) => reading.state)), limits.indexOf(decision.spec), decision.retryAfterMs];
  return [id, 3, accounts.indexOf(decision.account), decision.spendUsd, decision.reservedUsd];
}

export interface LedgerPeer {
  /** 0 is the leader; the lowest index alive writes. */
  index: number;
  send(message: PrimaryMessage): void;
}

export class LedgerHost {
  readonly ledger = new LocalLedger();
  /** Each worker's definitions (accounts and limit specs by number). */
  private readonly defs = new WeakMap<LedgerPeer, Map<number, SpendAccount[] | LimitSpec[]>>();

  constructor(private readonly now: () => number = Date.now) {}

  private definitions(peer: LedgerPeer, batch: LedgerBatch): Map<number, SpendAccount[] | LimitSpec[]> {
    let defs = this.defs.get(peer);
    if (defs === undefined || batch.reset === true) {
      defs = new Map();
      this.defs.set(peer, defs);
    }
    if (batch.defs !== undefined) for (const [id, value] of batch.defs) defs.set(id, value);
    return defs;
  }

  /** One worker's batch: applied in order (loads, settlements, sweeps, then admissions), answered at once. */
  handle(batch: LedgerBatch, peer: LedgerPeer): void {
    const ledger = this.ledger;
    const defs = this.definitions(peer, batch);
    if (batch.load !== undefined) ledger.load(batch.load);
    if (batch.loadCounters !== undefined) ledger.loadCounters(batch.loadCounters.rows, batch.loadCounters.now);
    if (batch.forget !== undefined) for (const [type, id] of batch.forget) ledger.forget(type, id);
    if (batch.settle !== undefined) {
      for (const [accountsId, limitsId, reservedUsd, reservedTokens, now, costUsd, tokens] of batch.settle) {
        const accounts = (defs.get(accountsId) ?? []) as SpendAccount[];
        const limits = (defs.get(limitsId) ?? []) as LimitSpec[];
        const ticket: Ticket = { accounts, reservedUsd, tokenLimits: tokenLimitsOf(limits), reservedTokens };
        ledger.settle(ticket, { now, costUsd, tokens });
      }
    }
    if (batch.sweep !== undefined) ledger.sweep(batch.sweep.now, batch.sweep.accounts);
    if (batch.admit !== undefined) {
      const decisions: WireDecision[] = [];
      for (const [id, accountsId, limitsId, now, estimateUsd, estimateTokens] of batch.admit) {
        const accounts = (defs.get(accountsId) ?? []) as SpendAccount[];
        const limits = (defs.get(limitsId) ?? []) as LimitSpec[];
        decisions.push(toWire(id, ledger.admit({ now, accounts, estimateUsd, limits, estimateTokens }), accounts, limits));
      }
      peer.send({ hd: 'decisions', decisions });
    }
    if (batch.sync !== undefined) {
      // A stopping worker writes everything changed so far (rows are totals: writing one twice is harmless).
      const rows = ledger.takeDirty();
      const counters = ledger.takeCounterChanges(this.now());
      peer.send({ hd: 'persist', rows, counters, write: true, sync: batch.sync });
    }
  }

  /** Changed spend rows and counters to every worker: the leader writes them, all keep them for reads. */
  push(peers: readonly LedgerPeer[]): void {
    const ledger = this.ledger;
    const rows = ledger.takeDirty();
    const counters = ledger.takeCounterChanges(this.now());
    if (rows.length === 0 && counters.put.length === 0 && counters.drop.length === 0) return;
    let leader: LedgerPeer | undefined;
    for (const peer of peers) if (leader === undefined || peer.index < leader.index) leader = peer;
    if (leader === undefined) {
      ledger.requeue(rows);
      ledger.requeueCounterChanges(counters);
      return;
    }
    for (const peer of peers) {
      const write = peer === leader;
      const message: LedgerPersist = { hd: 'persist', rows, counters: write ? counters : undefined, write };
      peer.send(message);
    }
  }
}
