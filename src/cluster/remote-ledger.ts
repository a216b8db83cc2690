/**
 * The ledger of a worker in `--workers N` mode: every admission is decided by
 * the primary's LocalLedger, the one authoritative count of spend and rate
 * limits for all workers. Calls made in one event-loop turn travel as one
 * IPC message (a batch); the primary answers a batch with one message.
 * Settlements need no answer: they wait for the next message that goes
 * anyway (an admission's, usually in the same or the next turn), and at most
 * SETTLE_DELAY_MS, so a busy worker sends about one message per request
 * instead of two. Until it arrives, a settled request's reservation still
 * counts, as it did while the request ran.
 *
 * Reads the management API makes (account, limitState) are answered from the
 * latest figures the primary pushed (at most one push interval old). The
 * leader worker also writes the spend: takeDirty() returns the rows the
 * primary pushed to it, so the governance writer needs no change.
 */
import { budgetWindow } from '../governance/durations.js';
import type {
  AccountState, Admission, CounterChanges, CounterRow, Decision, SettleOutcome, SpendAccount, SpendLedger, SpendRow, Ticket,
} from '../governance/ledger.js';
import type { LimitSpec } from '../governance/ledger.js';
import type { CounterState } from '../governance/rate-limiter.js';
import type { EntityType } from '../governance/types.js';
import { tokenLimitsOf } from './ledger-host.js';
import { stateAt, type LedgerBatch, type LedgerDecisions, type LedgerPersist } from './messages.js';

export interface LedgerChannel {
  send(message: LedgerBatch): void;
}

interface Pending {
  admission: Admission;
  resolve(decision: Decision): void;
  reject(error: Error): void;
}

/** The longest a settlement waits for a message to travel with (ms). */
export const SETTLE_DELAY_MS = 20;

/** Definitions a worker keeps before it starts numbering afresh (the primary keeps a copy of each). */
const MAX_DEFS = 4096;

const rowKey = (type: EntityType, id: string): string => `${type}:${id}`;

export class RemoteLedger implements SpendLedger {
  private batch: LedgerBatch | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private scheduled = false;
  /** The timer that sends queued settlements when no admission carries them (SETTLE_DELAY_MS). */
  private settleTimer: NodeJS.Timeout | undefined;
  /** Spend rows as last pushed, for reads. */
  private readonly spend = new Map<string, SpendRow>();
  /** Counter readings as last answered, for reads. */
  private readonly readings = new Map<string, CounterState>();
  /** Rows and counter changes this (leader) worker is to write. */
  private toWrite: SpendRow[] = [];
  private countersToWrite: CounterChanges = { put: [], drop: [] };
  private closed = false;
  private syncs = new Map<number, () => void>();
  private defIds = new WeakMap<object, number>();
  private nextDef = 1;
  private defCount = 0;
  /** The admission arrays of each ticket handed out, so its settlement names the same definitions. */
  private readonly tickets = new WeakMap<Ticket, { accounts: readonly SpendAccount[]; limits: readonly LimitSpec[] }>();

  constructor(private readonly channel: LedgerChannel) {}

  /**
   * At shutdown, after the last request settled: sends what is queued and takes every changed row
   * from the primary for this worker's last write (governance's close flushes them). Bounded wait.
   */
  finalSync(timeoutMs = 2_000): Promise<void> {
    if (this.closed) return Promise.resolve();
    const id = this.nextId++;
    this.outgoing.sync = id;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.syncs.delete(id);
        resolve();
      }, timeoutMs);
      this.syncs.set(id, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The batch to add to, sent at the end of this turn. */
  private get outgoing(): LedgerBatch {
    const batch = this.pendingBatch;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
    return batch;
  }

  /** The batch to add to, sent with the next message or within SETTLE_DELAY_MS (settlements). */
  private get pendingBatch(): LedgerBatch {
    if (this.batch === undefined) this.batch = { hd: 'ledger' };
    return this.batch;
  }

  /** Sends what is queued, as one message. */
  readonly flush = (): void => {
    this.scheduled = false;
    if (this.settleTimer !== undefined) {
      clearTimeout(this.settleTimer);
      this.settleTimer = undefined;
    }
    const batch = this.batch;
    this.batch = undefined;
    if (batch === undefined) return;
    try {
      this.channel.send(batch);
    } catch (error) {
      for (const [id] of batch.admit ?? []) this.fail(id, error as Error);
    }
  };

  private fail(id: number, error: Error): void {
    const pending = this.pending.get(id);
    if (pending === undefined) return;
    this.pending.delete(id);
    pending.reject(error);
  }

  /**
   * The number of an accounts or limits array: the enforcer hands the same arrays for every request of
   * a key (cached per key), so each travels once; the primary keeps them by number.
   */
  private def(value: SpendAccount[] | LimitSpec[], batch: LedgerBatch): number {
    let id = this.defIds.get(value);
    if (id !== undefined) return id;
    id = this.nextDef++;
    this.defCount++;
    this.defIds.set(value, id);
    (batch.defs ??= []).push([id, value]);
    return id;
  }

  /**
   * The batch to add to (`now`: sent at the end of this turn; otherwise within SETTLE_DELAY_MS); past
   * MAX_DEFS definitions, what is queued goes now and numbering starts again.
   */
  private batchFor(now: boolean): LedgerBatch {
    if (this.defCount + 2 > MAX_DEFS) {
      // Arrays that are not reused (another caller): start again rather than grow the primary's copy forever.
      this.flush();
      this.defIds = new WeakMap();
      this.defCount = 0;
      this.pendingBatch.reset = true;
    }
    if (now) return this.outgoing;
    if (!this.scheduled && this.settleTimer === undefined) this.settleTimer = setTimeout(this.flush, SETTLE_DELAY_MS);
    return this.pendingBatch;
  }

  admit(admission: Admission): Promise<Decision> {
    if (this.closed) return Promise.reject(new Error('the cluster primary is gone'));
    const id = this.nextId++;
    const batch = this.batchFor(true);
    const accounts = this.def(admission.accounts as SpendAccount[], batch);
    const limits = this.def(admission.limits as LimitSpec[], batch);
    (batch.admit ??= []).push([id, accounts, limits, admission.now, admission.estimateUsd, admission.estimateTokens]);
    return new Promise<Decision>((resolve, reject) => {
      this.pending.set(id, { admission, resolve, reject });
    });
  }

  settle(ticket: Ticket, outcome: SettleOutcome): void {
    if (this.closed) return;
    const batch = this.batchFor(false);
    const source = this.tickets.get(ticket);
    const accounts = this.def((source?.accounts ?? ticket.accounts) as SpendAccount[], batch);
    const limits = this.def((source?.limits ?? ticket.tokenLimits) as LimitSpec[], batch);
    (batch.settle ??= []).push([accounts, limits, ticket.reservedUsd, ticket.reservedTokens, outcome.now, outcome.costUsd, outcome.tokens]);
  }

  /** The primary's answers to a batch: each decision rebuilt against the admission it answers. */
  onDecisions(message: LedgerDecisions): void {
    for (const wire of message.decisions) {
      const id = wire[0];
      const pending = this.pending.get(id);
      if (pending === undefined) continue;
      this.pending.delete(id);
      const { accounts, limits } = pending.admission;
      let decision: Decision;
      if (wire[1] === 3) {
        decision = { ok: false, kind: 'budget', account: accounts[wire[2]], spendUsd: wire[3], reservedUsd: wire[4] };
      } else {
        const states = wire[2];
        const readings = limits.map((spec, i) => ({ spec, state: stateAt(states, i) }));
        for (const reading of readings) this.readings.set(reading.spec.id, reading.state);
        if (wire[1] === 2) {
          decision = { ok: false, kind: 'rate', spec: limits[wire[3]], retryAfterMs: wire[4], limits: readings };
        } else {
          // As LocalLedger.admit builds it: the estimate reserved, tokens held on the token limits.
          const ticket: Ticket = {
            accounts,
            reservedUsd: Math.max(0, pending.admission.estimateUsd),
            tokenLimits: tokenLimitsOf(limits),
            reservedTokens: pending.admission.estimateTokens,
          };
          this.tickets.set(ticket, { accounts, limits });
          decision = { ok: true, ticket, limits: readings };
        }
      }
      pending.resolve(decision);
    }
  }

  /** Spend pushed by the primary: kept for reads, and queued for writing on the leader. */
  onPersist(message: LedgerPersist): void {
    for (const row of message.rows) this.spend.set(rowKey(row.entity_type, row.entity_id), row);
    if (message.write) {
      if (message.rows.length > 0) this.toWrite.push(...message.rows);
      if (message.counters !== undefined) {
        this.countersToWrite.put.push(...message.counters.put);
        this.countersToWrite.drop.push(...message.counters.drop);
      }
    }
    if (message.sync !== undefined) {
      this.syncs.get(message.sync)?.();
      this.syncs.delete(message.sync);
    }
  }

  /** The primary went away: pending admissions fail (the request gets a 5xx) and nothing more is sent. */
  close(): void {
    this.closed = true;
    if (this.settleTimer !== undefined) clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
    for (const id of [...this.pending.keys()]) this.fail(id, new Error('the cluster primary is gone'));
    for (const done of this.syncs.values()) done();
    this.syncs.clear();
  }

  account(account: SpendAccount, now: number): AccountState {
    const window = budgetWindow(account.period, now, account.anchor);
    const row = this.spend.get(rowKey(account.type, account.id));
    if (row === undefined || row.period_start !== window.start) return { window, spendUsd: 0, reservedUsd: 0, tokens: 0, requests: 0 };
    return { window, spendUsd: row.spend_usd, reservedUsd: 0, tokens: row.tokens, requests: row.requests };
  }

  limitState(spec: LimitSpec, _now: number): CounterState {
    return this.readings.get(spec.id) ?? { limit: spec.limit, remaining: spec.limit, resetMs: 0 };
  }

  load(rows: readonly SpendRow[]): void {
    if (rows.length === 0) return;
    for (const row of rows) if (!this.spend.has(rowKey(row.entity_type, row.entity_id))) this.spend.set(rowKey(row.entity_type, row.entity_id), row);
    (this.outgoing.load ??= []).push(...rows);
  }

  loadCounters(rows: readonly CounterRow[], now: number): void {
    if (rows.length === 0) return;
    const batch = this.outgoing;
    if (batch.loadCounters === undefined) batch.loadCounters = { rows: [...rows], now };
    else batch.loadCounters.rows.push(...rows);
  }

  takeDirty(): SpendRow[] {
    const rows = this.toWrite;
    this.toWrite = [];
    return rows;
  }

  requeue(rows: readonly SpendRow[]): void {
    this.toWrite.unshift(...rows);
  }

  takeCounterChanges(_now: number): CounterChanges {
    const changes = this.countersToWrite;
    this.countersToWrite = { put: [], drop: [] };
    return changes;
  }

  requeueCounterChanges(changes: CounterChanges): void {
    this.countersToWrite.put.unshift(...changes.put);
    this.countersToWrite.drop.unshift(...changes.drop);
  }

  forget(type: EntityType, id: string): void {
    this.spend.delete(rowKey(type, id));
    (this.outgoing.forget ??= []).push([type, id]);
  }

  /** Windows roll over in the primary (their final rows come back through the writer); nothing resets here. */
  sweep(now: number, accounts: readonly SpendAccount[]): SpendAccount[] {
    this.outgoing.sweep = { now, accounts: [...accounts] };
    return [];
  }
}
