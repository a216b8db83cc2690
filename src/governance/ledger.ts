/**
 * The spend and rate-limit ledger behind one small interface. LocalLedger
 * keeps everything in this process's memory, which is right for one process.
 * A multi-process mode (node:cluster, `--workers N`) swaps in a ledger whose
 * admit() asks the primary process (that is why admit may return a Promise)
 * and whose settle() posts to it; the primary runs a LocalLedger and the
 * spend writer. Nothing here reads a clock or does I/O: time comes in.
 */
import { budgetWindow, type Window } from './durations.js';
import { LimitCounter, type Algorithm, type CounterSnapshot, type CounterState } from './rate-limiter.js';
import type { EntityType } from './types.js';

const ENTITY_TYPES: readonly EntityType[] = ['key', 'team', 'customer'];

export type { Algorithm, CounterSnapshot, CounterState } from './rate-limiter.js';

/** One budget level a request is charged to (key, team, customer). */
export interface SpendAccount {
  type: EntityType;
  id: string;
  /** Budget period (null: lifetime); windows are computed from it and `anchor`. */
  period: string | null;
  anchor: number;
  /** USD; undefined: spend is tracked but not limited. */
  limitUsd: number | undefined;
  /** Cluster mode: the budget's own choice while Redis is unreachable (undefined: the configured default). */
  failMode?: 'open' | 'closed';
}

/** One rate-limit counter a request goes through. */
export interface LimitSpec {
  /** Stable counter id, e.g. "key:vk_1:0:requests" or "team:t_1:1:tokens:openai/gpt-4o". */
  id: string;
  scope: EntityType;
  kind: 'requests' | 'tokens';
  limit: number;
  windowMs: number;
  algorithm: Algorithm;
  /** Cluster mode: the limit's own choice while Redis is unreachable (undefined: the configured default). */
  failMode?: 'open' | 'closed';
}

export interface Admission {
  now: number;
  accounts: readonly SpendAccount[];
  /** Upper bound of the request's cost (0 when unknown). */
  estimateUsd: number;
  limits: readonly LimitSpec[];
  /** Upper bound of the request's tokens. */
  estimateTokens: number;
}

export interface Ticket {
  accounts: readonly SpendAccount[];
  reservedUsd: number;
  tokenLimits: readonly LimitSpec[];
  reservedTokens: number;
}

export interface LimitReading {
  spec: LimitSpec;
  state: CounterState;
}

export type Decision =
  | { ok: true; ticket: Ticket; limits: LimitReading[] }
  /** `spendUsd` below the limit: only the reservations of calls in flight (`reservedUsd`) hold the rest. */
  | { ok: false; kind: 'budget'; account: SpendAccount; spendUsd: number; reservedUsd: number }
  | { ok: false; kind: 'rate'; spec: LimitSpec; retryAfterMs: number; limits: LimitReading[] };

export interface SettleOutcome {
  now: number;
  /** USD actually spent (0 when nothing is known to have been billed). */
  costUsd: number;
  tokens: number;
}

export interface AccountState {
  window: Window;
  spendUsd: number;
  reservedUsd: number;
  tokens: number;
  requests: number;
}

/** One row of the spend table. */
export interface SpendRow {
  entity_type: EntityType;
  entity_id: string;
  period_start: number;
  spend_usd: number;
  tokens: number;
  requests: number;
  updated_at: number;
}

/** One saved rate-limit counter (table rate_limit_counters), so limits hold across a restart. */
export interface CounterRow {
  /** The LimitSpec id. */
  id: string;
  algorithm: Algorithm;
  limit_value: number;
  window_ms: number;
  state: CounterSnapshot;
  /** When the counter is back to its full limit: the row is useless from then on. */
  expires_at: number;
  updated_at: number;
}

/** What the batched writer saves of the counters: the ones that counted something, the ones deleted. */
export interface CounterChanges {
  put: CounterRow[];
  drop: string[];
}

export interface SpendLedger {
  admit(admission: Admission): Decision | Promise<Decision>;
  settle(ticket: Ticket, outcome: SettleOutcome): void;
  /** Current window of an account (a read for the API; rolls the window over when due). */
  account(account: SpendAccount, now: number): AccountState;
  limitState(spec: LimitSpec, now: number): CounterState;
  /** Seeds spend (at start, or when a budget's period changes). */
  load(rows: readonly SpendRow[]): void;
  /** Rows changed since the last call, for the batched writer. */
  takeDirty(): SpendRow[];
  /** Rows a failed write gave back; the next takeDirty() returns them (newer values win). */
  requeue(rows: readonly SpendRow[]): void;
  /** Counters changed since the last call (snapshots, taken off the request path by the writer). */
  takeCounterChanges(now: number): CounterChanges;
  /** Changes a failed write gave back; the next takeCounterChanges() returns them again. */
  requeueCounterChanges(changes: CounterChanges): void;
  /** Restores saved counters (at start); a counter already counting in memory is kept. */
  loadCounters(rows: readonly CounterRow[], now: number): void;
  /** Drops an entity's state (deleted). */
  forget(type: EntityType, id: string): void;
  /** Rolls windows over and drops idle counters; returns the accounts whose window reset. */
  sweep(now: number, accounts: readonly SpendAccount[]): SpendAccount[];
}

interface AccountEntry {
  periodStart: number;
  spend: number;
  reserved: number;
  tokens: number;
  requests: number;
  updatedAt: number;
  dirty: boolean;
  /** The window periodStart begins, and the period and anchor it was computed for (undefined: not computed yet). */
  window: Window | undefined;
  period: string | null;
  anchor: number;
}

/** An entry with its current window computed. */
type CurrentEntry = AccountEntry & { window: Window };

const NO_COUNTERS: readonly LimitCounter[] = [];

/** The state of each counter, with its spec. */
function read(specs: readonly LimitSpec[], counters: readonly LimitCounter[], now: number): LimitReading[] {
  const readings: LimitReading[] = [];
  for (let i = 0; i < specs.length; i++) readings.push({ spec: specs[i], state: counters[i].state(now) });
  return readings;
}

export class LocalLedger implements SpendLedger {
  /** Entries by entity type, then id: a lookup builds no key string (admit and settle look up every request). */
  private readonly keyAccounts = new Map<string, AccountEntry>();
  private readonly teamAccounts = new Map<string, AccountEntry>();
  private readonly customerAccounts = new Map<string, AccountEntry>();
  private readonly counters = new Map<string, LimitCounter>();
  /** Final rows of windows that ended before they were written. */
  private pending: SpendRow[] = [];
  /** Ids of counters deleted with their entity, whose saved rows must go too. */
  private droppedCounters = new Set<string>();

  private accountsOf(type: EntityType): Map<string, AccountEntry> {
    return type === 'key' ? this.keyAccounts : type === 'team' ? this.teamAccounts : this.customerAccounts;
  }

  private row(type: EntityType, id: string, entry: AccountEntry): SpendRow {
    return {
      entity_type: type, entity_id: id, period_start: entry.periodStart,
      spend_usd: entry.spend, tokens: entry.tokens, requests: entry.requests, updated_at: entry.updatedAt,
    };
  }

  /**
   * The entry of the account's current window (created or rolled over). The window is computed again only
   * when `now` leaves the one last computed, or the period or anchor changed (admit and settle call this
   * on every request).
   */
  private entry(account: SpendAccount, now: number): CurrentEntry {
    const accounts = this.accountsOf(account.type);
    let entry = accounts.get(account.id);
    const cached = entry?.window;
    if (
      entry !== undefined && cached !== undefined && entry.period === account.period && entry.anchor === account.anchor &&
      now >= account.anchor && now >= cached.start && now < cached.end
    ) return entry as CurrentEntry;
    const window = budgetWindow(account.period, now, account.anchor);
    if (entry === undefined) {
      entry = { periodStart: window.start, spend: 0, reserved: 0, tokens: 0, requests: 0, updatedAt: now, dirty: false, window, period: account.period, anchor: account.anchor };
      accounts.set(account.id, entry);
      return entry as CurrentEntry;
    }
    entry.window = window;
    entry.period = account.period;
    entry.anchor = account.anchor;
    if (entry.periodStart !== window.start) {
      if (entry.dirty) this.pending.push(this.row(account.type, account.id, entry));
      // In-flight reservations carry over: they settle into the window they finish in.
      entry.periodStart = window.start;
      entry.spend = 0;
      entry.tokens = 0;
      entry.requests = 0;
      entry.updatedAt = now;
      entry.dirty = false;
    }
    return entry as CurrentEntry;
  }

  private counter(spec: LimitSpec, now: number): LimitCounter {
    let counter = this.counters.get(spec.id);
    if (counter === undefined || counter.limit !== spec.limit || counter.windowMs !== spec.windowMs || counter.algorithm !== spec.algorithm) {
      const replaced = counter;
      counter = new LimitCounter(spec.limit, spec.windowMs, spec.algorithm, now);
      if (replaced !== undefined) counter.inFlight = replaced.inFlight;
      this.counters.set(spec.id, counter);
    }
    return counter;
  }

  /** `forced`: counted even over a limit (a request admitted already by other means, see cluster/redis-ledger.ts). */
  admit(admission: Admission, forced = false): Decision {
    const { now, limits } = admission;
    for (const account of admission.accounts) {
      if (account.limitUsd === undefined || forced) continue;
      const entry = this.entry(account, now);
      if (entry.spend + entry.reserved >= account.limitUsd) {
        return { ok: false, kind: 'budget', account, spendUsd: entry.spend, reservedUsd: entry.reserved };
      }
    }
    // Each counter looked up once: it is checked, counted and read.
    const counters = limits.length === 0 ? NO_COUNTERS : limits.map((spec) => this.counter(spec, now));
    if (!forced) {
      let refused: LimitSpec | undefined;
      let refusedWaitMs = 0;
      for (let i = 0; i < limits.length; i++) {
        const waitMs = counters[i].waitMs(now);
        if (waitMs > 0 && (refused === undefined || waitMs > refusedWaitMs)) {
          refused = limits[i];
          refusedWaitMs = waitMs;
        }
      }
      if (refused !== undefined) {
        return { ok: false, kind: 'rate', spec: refused, retryAfterMs: refusedWaitMs, limits: read(limits, counters, now) };
      }
    }
    const reservedUsd = Math.max(0, admission.estimateUsd);
    for (const account of admission.accounts) this.entry(account, now).reserved += reservedUsd;
    const tokenLimits: LimitSpec[] = [];
    for (let i = 0; i < limits.length; i++) {
      const spec = limits[i];
      if (spec.kind === 'requests') counters[i].add(now, 1);
      else {
        counters[i].inFlight += admission.estimateTokens;
        tokenLimits.push(spec);
      }
    }
    const ticket: Ticket = { accounts: admission.accounts, reservedUsd, tokenLimits, reservedTokens: admission.estimateTokens };
    return { ok: true, ticket, limits: read(limits, counters, now) };
  }

  settle(ticket: Ticket, outcome: SettleOutcome): void {
    const { now } = outcome;
    const cost = Number.isFinite(outcome.costUsd) && outcome.costUsd > 0 ? outcome.costUsd : 0;
    const tokens = Number.isFinite(outcome.tokens) && outcome.tokens > 0 ? outcome.tokens : 0;
    for (const account of ticket.accounts) {
      const entry = this.entry(account, now);
      entry.reserved = Math.max(0, entry.reserved - ticket.reservedUsd);
      if (entry.reserved < 1e-12) entry.reserved = 0;
      entry.spend += cost;
      entry.tokens += tokens;
      entry.requests += 1;
      entry.updatedAt = now;
      entry.dirty = true;
    }
    for (const spec of ticket.tokenLimits) {
      const counter = this.counter(spec, now);
      counter.inFlight = Math.max(0, counter.inFlight - ticket.reservedTokens);
      counter.add(now, tokens);
    }
  }

  account(account: SpendAccount, now: number): AccountState {
    const entry = this.entry(account, now);
    return { window: entry.window, spendUsd: entry.spend, reservedUsd: entry.reserved, tokens: entry.tokens, requests: entry.requests };
  }

  limitState(spec: LimitSpec, now: number): CounterState {
    const counter = this.counters.get(spec.id);
    if (counter === undefined || counter.limit !== spec.limit || counter.windowMs !== spec.windowMs || counter.algorithm !== spec.algorithm) {
      return { limit: spec.limit, remaining: spec.limit, resetMs: 0 };
    }
    return counter.state(now);
  }

  load(rows: readonly SpendRow[]): void {
    for (const row of rows) {
      const accounts = this.accountsOf(row.entity_type);
      const entry = accounts.get(row.entity_id);
      if (entry !== undefined && entry.periodStart === row.period_start && entry.dirty) continue; // memory is newer
      if (entry !== undefined && entry.dirty) this.pending.push(this.row(row.entity_type, row.entity_id, entry));
      accounts.set(row.entity_id, {
        periodStart: row.period_start,
        spend: row.spend_usd,
        reserved: entry?.reserved ?? 0,
        tokens: row.tokens,
        requests: row.requests,
        updatedAt: row.updated_at,
        dirty: false,
        window: undefined, // the next use computes it
        period: null,
        anchor: Number.NaN,
      });
    }
  }

  takeDirty(): SpendRow[] {
    const rows = this.pending;
    this.pending = [];
    for (const type of ENTITY_TYPES) {
      for (const [id, entry] of this.accountsOf(type)) {
        if (!entry.dirty) continue;
        entry.dirty = false;
        rows.push(this.row(type, id, entry));
      }
    }
    return rows;
  }

  requeue(rows: readonly SpendRow[]): void {
    for (const row of rows) {
      const entry = this.accountsOf(row.entity_type).get(row.entity_id);
      if (entry !== undefined && entry.periodStart === row.period_start) entry.dirty = true;
      else this.pending.push(row);
    }
  }

  forget(type: EntityType, id: string): void {
    this.accountsOf(type).delete(id);
    const prefix = `${type}:${id}:`;
    for (const key of this.counters.keys()) {
      if (!key.startsWith(prefix)) continue;
      this.counters.delete(key);
      this.droppedCounters.add(key);
    }
  }

  takeCounterChanges(now: number): CounterChanges {
    const put: CounterRow[] = [];
    for (const [id, counter] of this.counters) {
      if (!counter.dirty) continue;
      counter.dirty = false;
      put.push({
        id, algorithm: counter.algorithm, limit_value: counter.limit, window_ms: counter.windowMs,
        state: counter.snapshot(now), expires_at: counter.fullAt(now), updated_at: now,
      });
    }
    const drop = [...this.droppedCounters];
    this.droppedCounters.clear();
    return { put, drop };
  }

  requeueCounterChanges(changes: CounterChanges): void {
    for (const row of changes.put) {
      const counter = this.counters.get(row.id);
      if (counter !== undefined) counter.dirty = true;
    }
    for (const id of changes.drop) if (!this.counters.has(id)) this.droppedCounters.add(id);
  }

  loadCounters(rows: readonly CounterRow[], now: number): void {
    for (const row of rows) {
      if (row.expires_at <= now || this.counters.has(row.id)) continue;
      const counter = LimitCounter.restore(row.limit_value, row.window_ms, row.state, now);
      if (counter !== undefined && counter.algorithm === row.algorithm) this.counters.set(row.id, counter);
    }
  }

  sweep(now: number, accounts: readonly SpendAccount[]): SpendAccount[] {
    const reset: SpendAccount[] = [];
    for (const account of accounts) {
      const entry = this.accountsOf(account.type).get(account.id);
      if (entry === undefined) continue;
      const before = entry.periodStart;
      if (this.entry(account, now).periodStart !== before) reset.push(account);
    }
    for (const [id, counter] of this.counters) if (counter.idle(now)) this.counters.delete(id);
    return reset;
  }
}
