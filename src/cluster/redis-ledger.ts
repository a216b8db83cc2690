/**
 * The shared ledger of cluster mode: budgets and rate limits counted in Redis,
 * the same for every instance. admit() is one script call (check and reserve
 * every level); settle() queues the real cost, and the queue is written as one
 * script call per hash tag (charge, release the reservation, once per request
 * id): at once with redis.settle_batch_ms 0 (the default), else with the next
 * admission's round trip, or after settle_batch_ms when none comes first.
 * See redis-scripts.ts and docs/cluster.md.
 *
 * Redis unreachable (a command failed or took longer than redis.timeout_ms):
 * the instance stops asking it and pings it every PROBE_MS; meanwhile each
 * request is decided by its limits' fail modes. "closed" refuses it (503);
 * "open" admits it against a local LocalLedger seeded with the spend this
 * instance last saw, so during an outage N instances can together spend at
 * most N times what a budget had left, and admit at most N times a rate
 * limit per window. Settlements made meanwhile are kept (bounded) and written
 * when Redis is back; each carries its request id, so none is charged twice.
 * Nothing waits longer than the timeout.
 *
 * Far from every limit, a request does not wait for Redis at all: it is admitted from the headroom Redis
 * last reported, and its reservation follows without being awaited (optimistic-admission.ts, which
 * proves the bound: each instance has at most redis.optimistic_admissions such reservations unanswered).
 * Its settlement waits for that reply, so it is written in the mode its admission ended in: counted in
 * Redis, or, when the reservation failed, in the local fallback like any request admitted while Redis
 * was away.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { GatewayError } from '../errors/gateway-error.js';
import { budgetWindow } from '../governance/durations.js';
import {
  LocalLedger, type AccountState, type Admission, type CounterChanges, type Decision, type LimitReading, type LimitSpec,
  type SettleOutcome, type SpendAccount, type SpendLedger, type SpendRow, type Ticket,
} from '../governance/ledger.js';
import type { CounterState } from '../governance/rate-limiter.js';
import type { EntityType } from '../governance/types.js';
import type { RedisConfig } from './redis-config.js';
import { redisTarget } from './redis-config.js';
import { admitCall, amountText, layoutOf, reservationKeys, settleBatch, settleCall, spendExpiry, spendKey, type AdmitCall, type Layout } from './redis-keys.js';
import { ADMIT_SCRIPT, READ_SCRIPT, SEED_SCRIPT, SETTLE_SCRIPT } from './redis-scripts.js';
import { ScriptCall } from './redis-call.js';
import { Headroom, type Level } from './optimistic-admission.js';
import type { RedisLedgerStatus } from './cluster-view.js';

export interface RedisLedgerLogger {
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

/** How often an unreachable Redis is pinged. */
const PROBE_MS = 500;
/** How often the figures of budgets this instance shows are read back (the API, metrics). */
const REFRESH_MS = 5_000;
/** Settlements written per round trip when Redis is back. */
const REPLAY_BATCH = 200;
/** Settlements queued past this are written at once, without waiting for an admission or the timer. */
const SETTLE_BATCH_MAX = 100;
/** How long a locally admitted request's done marker lives (its settlement may be written twice within it). */
const DONE_TTL_MS = 86_400_000;
/** Retry-After of a request refused because a fail-closed limit cannot be checked. */
const UNAVAILABLE_RETRY_S = 1;

type ScriptReply = Array<string | number>;

/** The two calls on a request's path, encoded by the ledger (redis-call.ts). */
const ADMIT_CALL = new ScriptCall(ADMIT_SCRIPT);
const SETTLE_CALL = new ScriptCall(SETTLE_SCRIPT);

interface SharedCommands {
  heimdallSeed(numKeys: number, ...keysAndArgs: string[]): Promise<number>;
  heimdallRead(numKeys: number, ...keysAndArgs: string[]): Promise<string[]>;
}
type SharedRedis = Redis & SharedCommands;

interface TicketInfo {
  requestId: string;
  /** 'r': reserved in Redis; 'l': counted by the local fallback. */
  mode: 'r' | 'l';
  admittedAt: number;
  accounts: readonly SpendAccount[];
  limits: readonly LimitSpec[];
  reservedUsd: string;
  /** The fallback ledger that admitted it (mode 'l'). */
  local: LocalLedger | undefined;
  /** Admitted optimistically, its reservation not answered yet: a settlement waits for it (kept here). */
  reserving?: boolean;
  settlement?: SettleOutcome;
}

interface Mirror {
  account: SpendAccount;
  periodStart: number;
  spend: number;
  tokens: number;
  requests: number;
  held: number;
  updatedAt: number;
  dirty: boolean;
}

/** A settlement not yet written: its script call, and what the mirror learns from the reply. */
interface Settlement {
  tag: string;
  call: AdmitCall;
  accounts: readonly SpendAccount[];
  periodStarts: readonly number[];
  now: number;
  costUsd: number;
  tokens: number;
}

/** A budget level as the registry has it, and the hash tag of its requests (redis-keys.ts). */
export interface Root {
  account: SpendAccount;
  tag: string;
}

const mirrorKey = (type: EntityType, id: string): string => `${type}:${id}`;

/** The ticket of an admitted request (as LocalLedger makes them: its settlement reads the same fields). */
function ticketOf(admission: Admission, reservedUsd: string): Ticket {
  return {
    accounts: admission.accounts, reservedUsd: Number(reservedUsd), tokenLimits: admission.limits.filter((spec) => spec.kind !== 'requests'),
    reservedTokens: Math.max(0, Math.ceil(admission.estimateTokens)),
  };
}

/** What a request takes of each of its levels (Layout.levelKeys' order): its cost estimate of a budget, 1 of a request limit, its tokens of a token limit. */
function amountsOf(admission: Admission, reservedUsd: number, reservedTokens: number): number[] {
  const amounts: number[] = [];
  for (let i = 0; i < admission.accounts.length; i++) amounts.push(reservedUsd);
  for (const spec of admission.limits) amounts.push(spec.kind === 'requests' ? 1 : reservedTokens);
  return amounts;
}

function byTag(settlements: readonly Settlement[]): Map<string, Settlement[]> {
  const groups = new Map<string, Settlement[]>();
  for (const settlement of settlements) {
    const group = groups.get(settlement.tag);
    if (group === undefined) groups.set(settlement.tag, [settlement]);
    else group.push(settlement);
  }
  return groups;
}

export class RedisLedger implements SpendLedger {
  readonly redis: SharedRedis;
  private readonly config: RedisConfig;
  private readonly logger: RedisLedgerLogger;
  private readonly instance = randomBytes(6).toString('base64url');
  private sequence = 0;
  private up = false;
  private probe: NodeJS.Timeout | undefined;
  private refresher: NodeJS.Timeout | undefined;
  private local: LocalLedger | undefined;
  private readonly tickets = new WeakMap<Ticket, TicketInfo>();
  private readonly mirror = new Map<string, Mirror>();
  private readonly readings = new Map<string, CounterState>();
  /** Settlements kept while Redis is unreachable, written when it is back. */
  private pending: Settlement[] = [];
  /** Settlements waiting for the next round trip, by hash tag (one script call each: one slot). */
  private queued = new Map<string, Settlement[]>();
  private queuedCount = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly writing = new Set<Promise<unknown>>();
  private seeds: SpendRow[] = [];
  private rootOf: ((type: EntityType, id: string) => Root | undefined) | undefined;
  private closed = false;
  private replaying = false;
  private readonly counts = { fallbackAdmissions: 0, refusedUnavailable: 0, droppedSettlements: 0, optimisticAdmissions: 0, optimisticOverLimit: 0 };
  /** What this instance knows of its levels' headroom (undefined: redis.optimistic_admissions 0, every admission awaited). */
  private readonly headroom: Headroom | undefined;

  constructor(config: RedisConfig, logger: RedisLedgerLogger) {
    this.config = config;
    this.logger = logger;
    const depth = config.optimisticAdmissions ?? 0;
    this.headroom = depth > 0 ? new Headroom(depth) : undefined;
    const redis = new Redis(config.url, {
      commandTimeout: config.timeoutMs,
      connectTimeout: config.connectTimeoutMs,
      // Never queue a command while disconnected: the fail mode decides at once.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      enableAutoPipelining: true,
      retryStrategy: (times) => Math.min(times * 100, 1_000),
      lazyConnect: true,
    });
    redis.defineCommand('heimdallSeed', { lua: SEED_SCRIPT });
    redis.defineCommand('heimdallRead', { lua: READ_SCRIPT });
    // Errors are reported through the state changes below; an unhandled 'error' event would crash the process.
    redis.on('error', () => undefined);
    this.redis = redis as SharedRedis;
  }

  /** Connects (bounded by connect_timeout_ms); without Redis the instance starts in its fail modes. */
  async start(): Promise<void> {
    try {
      await this.redis.connect();
      await this.redis.ping();
      this.up = true;
      this.logger.info({ redis: redisTarget(this.config.url) }, 'cluster: shared budgets and rate limits in Redis');
    } catch (error) {
      this.goDown(error);
    }
    this.refresher = setInterval(() => void this.refresh(), REFRESH_MS);
    this.refresher.unref();
    this.flushSeeds();
  }

  /** How a budget level and its hash tag are found for the accounts a request did not bring (seeding, reads). */
  bindRoots(rootOf: (type: EntityType, id: string) => Root | undefined): void {
    this.rootOf = rootOf;
    this.flushSeeds();
  }

  status(): RedisLedgerStatus {
    return {
      target: redisTarget(this.config.url), connected: this.up, fallback_admissions: this.counts.fallbackAdmissions,
      refused_unavailable: this.counts.refusedUnavailable, pending_settlements: this.pending.length, dropped_settlements: this.counts.droppedSettlements,
      optimistic_admissions: this.counts.optimisticAdmissions, optimistic_over_limit: this.counts.optimisticOverLimit,
    };
  }

  /** How many instances the cluster has (their heartbeats): the margin of optimistic admission grows with it. */
  setInstances(count: number): void {
    this.headroom?.setInstances(count);
  }

  private nextId(): string {
    this.sequence = (this.sequence + 1) % Number.MAX_SAFE_INTEGER;
    return `${this.instance}.${this.sequence.toString(36)}`;
  }

  private goDown(error: unknown): void {
    if (this.closed) return;
    if (this.probe !== undefined) return;
    this.logger.warn({ redis: redisTarget(this.config.url), err: { message: (error as Error)?.message } }, 'cluster: Redis unreachable; budgets and rate limits follow their fail modes until it is back');
    this.up = false;
    this.local = undefined;
    this.headroom?.clear();
    // What waited for the next round trip waits for Redis now.
    for (const settlements of this.queued.values()) for (const settlement of settlements) this.keep(settlement);
    this.queued.clear();
    this.queuedCount = 0;
    this.probe = setInterval(() => void this.check(), PROBE_MS);
    this.probe.unref();
  }

  private async check(): Promise<void> {
    if (this.closed || this.replaying) return;
    try {
      if (this.redis.status === 'wait') await this.redis.connect();
      await this.redis.ping();
    } catch {
      return;
    }
    // Back: what was settled meanwhile is written first, so the shared figures are whole again.
    this.replaying = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.slice(0, REPLAY_BATCH);
        await Promise.all([...byTag(batch).values()].map((settlements) => this.sendSettlements(settlements, false)));
        this.pending.splice(0, batch.length);
      }
    } catch {
      this.replaying = false;
      return;
    }
    this.replaying = false;
    clearInterval(this.probe);
    this.probe = undefined;
    this.up = true;
    this.local = undefined;
    this.logger.info({ redis: redisTarget(this.config.url) }, 'cluster: Redis reachable again; shared budgets and rate limits resumed');
    this.flushSeeds();
  }

  admit(admission: Admission): Decision | Promise<Decision> {
    const requestId = this.nextId();
    if (!this.up) return this.admitLocally(admission, requestId);
    const reservedUsd = amountText(admission.estimateUsd);
    const reservedTokens = Math.max(0, Math.ceil(admission.estimateTokens));
    const layout = layoutOf(this.config.keyPrefix, admission.accounts, admission.limits, admission.now);
    const amounts = this.headroom === undefined ? undefined : amountsOf(admission, Number(reservedUsd), reservedTokens);
    const levels = amounts === undefined || this.redis.status !== 'ready' ? undefined : this.headroom!.far(layout.levelKeys, amounts);
    const call = admitCall(this.config.keyPrefix, requestId, this.config.reservationTtlMs, admission.now, admission.accounts, admission.limits, reservedUsd, reservedTokens, levels !== undefined);
    // Settlements waiting go first: those of this hash tag inside the admission's script call (released
    // before its check), the others in the same write (the connection corked).
    const taken = this.queuedCount > 0 ? this.take(layout.tag) : undefined;
    const sent = settleBatch(taken?.map((settlement) => settlement.call) ?? [], call);
    const stream = this.queuedCount > 0 ? this.cork() : undefined;
    if (this.queuedCount > 0) this.flush();
    const request = ADMIT_CALL.run<[ScriptReply, ScriptReply[]]>(this.redis, sent.keys, sent.args);
    stream?.uncork();
    if (levels !== undefined) return this.admitOptimistically(admission, requestId, reservedUsd, layout, levels, amounts!, request, taken);
    const result = request.then(
      ([reply, settled]) => {
        if (taken !== undefined) this.learn(taken, settled);
        this.report(admission, layout, reply);
        return this.decide(admission, requestId, reservedUsd, reply, layout.periodStarts);
      },
      (error: unknown) => {
        if (taken !== undefined) for (const settlement of taken) this.keep(settlement);
        this.goDown(error);
        return this.admitLocally(admission, requestId);
      },
    );
    if (taken !== undefined) {
      this.writing.add(result);
      void result.finally(() => this.writing.delete(result));
    }
    return result;
  }

  /**
   * Admitted now, from the headroom last reported; the forced reservation on its way is not awaited. Its
   * reply updates the headroom; its failure counts the request in the local fallback (it runs already:
   * a fail-closed limit cannot refuse it any more).
   */
  private admitOptimistically(
    admission: Admission, requestId: string, reservedUsd: string, layout: Layout, levels: Array<Level | undefined>, amounts: number[],
    request: Promise<[ScriptReply, ScriptReply[]]>, taken: Settlement[] | undefined,
  ): Decision {
    const { accounts, limits, now } = admission;
    const headroom = this.headroom!;
    headroom.hold(levels, amounts);
    this.counts.optimisticAdmissions++;
    const ticket = ticketOf(admission, reservedUsd);
    const info: TicketInfo = { requestId, mode: 'r', admittedAt: now, accounts, limits, reservedUsd, local: undefined, reserving: true };
    this.tickets.set(ticket, info);
    // The rate-limit headers: the local view (the last reply, less what this instance admitted since).
    const readings: LimitReading[] = limits.map((spec, j) => {
      const level = levels[accounts.length + j]!;
      const last = this.readings.get(spec.id);
      const state: CounterState = {
        limit: spec.limit, remaining: Math.max(0, Math.floor(level.reported - level.pending)),
        resetMs: spec.kind === 'requests' && spec.algorithm === 'sliding' ? spec.windowMs : last?.resetMs ?? 0,
      };
      return { spec, state };
    });
    const answered = request.then(
      ([reply, settled]) => {
        headroom.release(levels, amounts);
        if (taken !== undefined) this.learn(taken, settled);
        this.report(admission, layout, reply);
        if (Number(reply[0]) === 4) this.counts.optimisticOverLimit++;
        this.readReply(admission, reply, layout.periodStarts);
      },
      (error: unknown) => {
        headroom.release(levels, amounts);
        if (taken !== undefined) for (const settlement of taken) this.keep(settlement);
        this.goDown(error);
        this.counts.fallbackAdmissions++;
        info.mode = 'l';
        info.local = this.localLedger(now);
        info.local.admit(admission, true);
      },
    ).catch(this.unexpected).then(() => {
      info.reserving = false;
      if (info.settlement !== undefined) this.settleNow(ticket, info, info.settlement);
    }).catch(this.unexpected);
    this.writing.add(answered);
    void answered.finally(() => this.writing.delete(answered));
    return { ok: true, ticket, limits: readings };
  }

  /** Work after a request was answered (no caller to throw to) never ends the process: what failed is logged. */
  private readonly unexpected = (error: unknown): void => {
    this.logger.error({ err: { message: (error as Error)?.message } }, 'cluster: the answer to an optimistic admission could not be applied');
  };

  /** What an admission's reply says of the headroom of each level it read. */
  private report(admission: Admission, layout: Layout, reply: ScriptReply): void {
    const headroom = this.headroom;
    if (headroom === undefined) return;
    const { accounts, limits, now } = admission;
    const outcome = Number(reply[0]);
    const keys = layout.levelKeys;
    if (outcome === 3) {
      const index = Number(reply[1]);
      headroom.report(keys[index], (accounts[index].limitUsd ?? 0) - Number(reply[2]) - Number(reply[3]), now);
      return;
    }
    if (outcome !== 2) {
      accounts.forEach((account, i) => {
        if (account.limitUsd !== undefined) headroom.report(keys[i], account.limitUsd - Number(reply[1 + i]) - Number(reply[1 + accounts.length + i]), now);
      });
    }
    const offset = outcome === 2 ? 3 : 1 + accounts.length * 2;
    for (let j = 0; j < limits.length; j++) headroom.report(keys[accounts.length + j], Number(reply[offset + j * 2]), now);
  }

  /** The limits' last readings, and the mirror (admitted: outcome 1 or 4), take what an admission's reply read (outcome 1, 2 or 4). */
  private readReply(admission: Admission, reply: ScriptReply, periodStarts: readonly number[]): void {
    const { accounts, limits, now } = admission;
    const rate = Number(reply[0]) === 2;
    const offset = rate ? 3 : 1 + accounts.length * 2;
    limits.forEach((spec, j) => this.readings.set(spec.id, { limit: spec.limit, remaining: Number(reply[offset + j * 2]), resetMs: Number(reply[offset + j * 2 + 1]) }));
    if (!rate) accounts.forEach((account, i) => this.observe(account, now, Number(reply[1 + i]), Number(reply[1 + accounts.length + i]), periodStarts[i]));
  }

  /** Takes the settlements of one hash tag off the queue. */
  private take(tag: string): Settlement[] | undefined {
    const taken = this.queued.get(tag);
    if (taken === undefined) return undefined;
    this.queued.delete(tag);
    this.queuedCount -= taken.length;
    return taken;
  }

  private decide(admission: Admission, requestId: string, reservedUsd: string, reply: ScriptReply, periodStarts: readonly number[]): Decision {
    const { accounts, limits, now } = admission;
    const outcome = Number(reply[0]);
    if (outcome === 3) {
      const index = Number(reply[1]);
      const spendUsd = Number(reply[2]);
      this.observe(accounts[index], now, spendUsd, Number(reply[3]), periodStarts[index]);
      return { ok: false, kind: 'budget', account: accounts[index], spendUsd, reservedUsd: Number(reply[3]) };
    }
    this.readReply(admission, reply, periodStarts);
    const readings: LimitReading[] = limits.map((spec) => ({ spec, state: this.readings.get(spec.id)! }));
    if (outcome === 2) return { ok: false, kind: 'rate', spec: limits[Number(reply[1])], retryAfterMs: Number(reply[2]), limits: readings };
    const ticket = ticketOf(admission, reservedUsd);
    this.tickets.set(ticket, { requestId, mode: 'r', admittedAt: now, accounts, limits, reservedUsd, local: undefined });
    return { ok: true, ticket, limits: readings };
  }

  /** Redis unreachable: fail-closed limits refuse; the others count on this instance. */
  private admitLocally(admission: Admission, requestId: string): Decision {
    const closed = admission.accounts.some((account) => account.limitUsd !== undefined && (account.failMode ?? this.config.failMode.budgets) === 'closed')
      || admission.limits.some((spec) => (spec.failMode ?? this.config.failMode.rateLimits) === 'closed');
    if (closed) {
      this.counts.refusedUnavailable++;
      throw new GatewayError('HD_ERR_LIMITS_UNAVAILABLE', 'The shared budgets and rate limits cannot be checked right now (Redis is unreachable), and a limit of this key refuses requests meanwhile. Retry shortly.', { retryAfter: UNAVAILABLE_RETRY_S });
    }
    this.counts.fallbackAdmissions++;
    const local = this.localLedger(admission.now);
    const decision = local.admit(admission);
    if (decision.ok) {
      this.tickets.set(decision.ticket, {
        requestId, mode: 'l', admittedAt: admission.now, accounts: admission.accounts, limits: admission.limits,
        reservedUsd: amountText(decision.ticket.reservedUsd), local,
      });
    }
    return decision;
  }

  /** The fallback ledger, seeded with the spend this instance last saw (made once per outage). */
  private localLedger(now: number): LocalLedger {
    if (this.local !== undefined) return this.local;
    const local = new LocalLedger();
    const rows: SpendRow[] = [];
    for (const [key, entry] of this.mirror) {
      const colon = key.indexOf(':');
      if (entry.periodStart !== spendExpiry(entry.account, now).periodStart) continue;
      rows.push({
        entity_type: key.slice(0, colon) as EntityType, entity_id: key.slice(colon + 1), period_start: entry.periodStart,
        spend_usd: entry.spend + entry.held, tokens: entry.tokens, requests: entry.requests, updated_at: now,
      });
    }
    local.load(rows);
    this.local = local;
    return local;
  }

  settle(ticket: Ticket, outcome: SettleOutcome): void {
    const info = this.tickets.get(ticket);
    if (info === undefined) return;
    this.tickets.delete(ticket);
    // Admitted optimistically and not answered yet: written once the reservation is (in the mode it ends in).
    if (info.reserving === true) info.settlement = outcome;
    else this.settleNow(ticket, info, outcome);
  }

  private settleNow(ticket: Ticket, info: TicketInfo, outcome: SettleOutcome): void {
    if (info.local !== undefined && info.local === this.local) info.local.settle(ticket, outcome);
    const cost = Number.isFinite(outcome.costUsd) && outcome.costUsd > 0 ? outcome.costUsd : 0;
    for (const account of info.accounts) {
      const entry = this.mirror.get(mirrorKey(account.type, account.id));
      if (entry !== undefined) entry.held = Math.max(0, entry.held - ticket.reservedUsd);
    }
    const tokens = Number.isFinite(outcome.tokens) ? outcome.tokens : 0;
    const call = settleCall(this.config.keyPrefix, info.accounts, info.limits, {
      requestId: info.requestId, mode: info.mode, costUsd: cost, tokens,
      reservedUsd: info.reservedUsd, reservedTokens: ticket.reservedTokens, doneTtlMs: DONE_TTL_MS, admittedAt: info.admittedAt, now: outcome.now,
    });
    const layout = layoutOf(this.config.keyPrefix, info.accounts, info.limits, outcome.now);
    const settlement: Settlement = {
      tag: layout.tag, call, accounts: info.accounts, periodStarts: layout.periodStarts, now: outcome.now, costUsd: cost, tokens,
    };
    if (!this.up) {
      this.keep(settlement);
      return;
    }
    if (this.config.settleBatchMs === 0 && this.queuedCount === 0) {
      this.write([settlement]);
      return;
    }
    const queue = this.queued.get(settlement.tag);
    if (queue === undefined) this.queued.set(settlement.tag, [settlement]);
    else queue.push(settlement);
    this.queuedCount++;
    if (this.queuedCount >= SETTLE_BATCH_MAX || this.config.settleBatchMs === 0) this.flush();
    else if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => this.flush(), this.config.settleBatchMs);
      this.flushTimer.unref();
    }
  }

  /** Writes every queued settlement: one script call per hash tag, all in one write. */
  private flush(): void {
    if (this.flushTimer !== undefined) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    if (this.queuedCount === 0) return;
    const queued = this.queued;
    this.queued = new Map();
    this.queuedCount = 0;
    const stream = queued.size > 1 ? this.cork() : undefined;
    for (const settlements of queued.values()) this.write(settlements);
    stream?.uncork();
  }

  /** Holds the connection's writes until uncork(): the calls written meanwhile leave in one write. */
  private cork(): { uncork(): void } | undefined {
    const stream = this.redis.stream;
    if (stream === undefined || !stream.writable) return undefined;
    stream.cork();
    return stream;
  }

  /** Sends settlements of one hash tag; on failure they are kept for the replay and Redis counts as down. */
  private write(settlements: readonly Settlement[]): void {
    const write = this.sendSettlements(settlements, true).catch((error: unknown) => {
      for (const settlement of settlements) this.keep(settlement);
      this.goDown(error);
    });
    this.writing.add(write);
    void write.finally(() => this.writing.delete(write));
  }

  /**
   * One script call for settlements of one hash tag. `learn`: the mirror takes the spend each reply reads
   * back (a replay does not: keep() counted those settlements in the mirror already).
   */
  private async sendSettlements(settlements: readonly Settlement[], learn: boolean): Promise<void> {
    const batch = settleBatch(settlements.map((settlement) => settlement.call));
    const replies = await SETTLE_CALL.run<ScriptReply[]>(this.redis, batch.keys, batch.args);
    if (learn) this.learn(settlements, replies);
  }

  /** The mirror takes the spend that the replies to settlements read back. */
  private learn(settlements: readonly Settlement[], replies: readonly ScriptReply[]): void {
    settlements.forEach((settlement, n) => {
      const reply = replies[n];
      if (reply === undefined || Number(reply[0]) !== 1) return;
      settlement.accounts.forEach((account, i) => this.setSpend(account, settlement.now, Number(reply[1 + i]), settlement.costUsd, settlement.tokens, settlement.periodStarts[i]));
    });
  }

  /** A settlement to write when Redis is back (bounded: past the cap the oldest goes, counted and logged). */
  private keep(settlement: Settlement): void {
    for (const [i, account] of settlement.accounts.entries()) this.add(account, settlement.now, settlement.costUsd, settlement.tokens, settlement.periodStarts[i]);
    this.pending.push(settlement);
    if (this.pending.length > this.config.maxPendingSettlements) {
      this.pending.shift();
      if (this.counts.droppedSettlements++ % 1000 === 0) {
        this.logger.error({ dropped: this.counts.droppedSettlements }, 'cluster: Redis unreachable too long; settlements beyond redis.max_pending_settlements are dropped (their spend is in the request logs)');
      }
    }
  }

  private entry(account: SpendAccount, now: number, periodStart = budgetWindow(account.period, now, account.anchor).start): Mirror {
    const key = mirrorKey(account.type, account.id);
    let entry = this.mirror.get(key);
    if (entry === undefined || entry.periodStart !== periodStart) {
      entry = { account, periodStart, spend: 0, tokens: 0, requests: 0, held: entry?.held ?? 0, updatedAt: now, dirty: false };
      this.mirror.set(key, entry);
    }
    entry.account = account;
    return entry;
  }

  private observe(account: SpendAccount, now: number, spend: number, held: number, periodStart?: number): void {
    const entry = this.entry(account, now, periodStart);
    entry.spend = spend;
    entry.held = held;
  }

  private setSpend(account: SpendAccount, now: number, spend: number, cost: number, tokens: number, periodStart?: number): void {
    const entry = this.entry(account, now, periodStart);
    entry.spend = Math.max(entry.spend + cost, spend);
    entry.tokens += Math.max(0, tokens);
    entry.requests += 1;
    entry.updatedAt = now;
    entry.dirty = true;
  }

  private add(account: SpendAccount, now: number, cost: number, tokens: number, periodStart?: number): void {
    this.setSpend(account, now, 0, cost, tokens, periodStart);
  }

  /** Reads back every budget level this instance knows, so the API shows what the whole cluster spent. */
  private async refresh(): Promise<void> {
    if (!this.up || this.rootOf === undefined) return;
    const now = Date.now();
    const entries = [...this.mirror.values()];
    await Promise.all(entries.map(async (entry) => {
      const root = this.rootOf!(entry.account.type, entry.account.id);
      if (root === undefined) return;
      const periodStart = spendExpiry(root.account, now).periodStart;
      try {
        const [spend, tokens, requests, held] = await this.redis.heimdallRead(3,
          spendKey(this.config.keyPrefix, root.tag, root.account, periodStart), ...reservationKeys(this.config.keyPrefix, root.tag, root.account));
        const current = this.entry(root.account, now);
        const changed = current.spend !== Number(spend) || current.requests !== Number(requests);
        current.spend = Number(spend);
        current.tokens = Number(tokens);
        current.requests = Number(requests);
        current.held = Number(held);
        if (changed) {
          current.updatedAt = now;
          current.dirty = true;
        }
      } catch {
        // The next round tries again; an outage shows in the admissions.
      }
    }));
  }

  /** Spend saved in the store seeds Redis where it has nothing for that window (a new or emptied Redis). */
  private flushSeeds(): void {
    if (!this.up || this.rootOf === undefined || this.seeds.length === 0) return;
    const rows = this.seeds;
    this.seeds = [];
    const now = Date.now();
    for (const row of rows) {
      const root = this.rootOf(row.entity_type, row.entity_id);
      if (root === undefined) continue;
      const { periodStart, expireAt } = spendExpiry(root.account, now);
      if (periodStart !== row.period_start) continue;
      this.redis.heimdallSeed(1, spendKey(this.config.keyPrefix, root.tag, root.account, row.period_start), String(row.spend_usd), String(row.tokens), String(row.requests), expireAt)
        .catch(() => this.seeds.push(row));
    }
  }

  account(account: SpendAccount, now: number): AccountState {
    const window = budgetWindow(account.period, now, account.anchor);
    const entry = this.mirror.get(mirrorKey(account.type, account.id));
    if (entry === undefined) this.entry(account, now); // read back by the next refresh
    if (entry === undefined || entry.periodStart !== window.start) return { window, spendUsd: 0, reservedUsd: entry?.held ?? 0, tokens: 0, requests: 0 };
    entry.account = account;
    return { window, spendUsd: entry.spend, reservedUsd: entry.held, tokens: entry.tokens, requests: entry.requests };
  }

  limitState(spec: LimitSpec, _now: number): CounterState {
    return this.readings.get(spec.id) ?? { limit: spec.limit, remaining: spec.limit, resetMs: 0 };
  }

  /** Spend from the store (start, a budget's period changed): shown at once, and seeded where Redis has none. */
  load(rows: readonly SpendRow[]): void {
    for (const row of rows) {
      const key = mirrorKey(row.entity_type, row.entity_id);
      const entry = this.mirror.get(key);
      if (entry !== undefined && entry.periodStart === row.period_start && entry.spend >= row.spend_usd) continue;
      const account: SpendAccount = entry?.account ?? { type: row.entity_type, id: row.entity_id, period: null, anchor: 0, limitUsd: undefined };
      this.mirror.set(key, {
        account, periodStart: row.period_start, spend: row.spend_usd, tokens: row.tokens, requests: row.requests,
        held: entry?.held ?? 0, updatedAt: row.updated_at, dirty: false,
      });
      this.seeds.push(row);
    }
    queueMicrotask(() => this.flushSeeds());
  }

  /** The figures last read from Redis, for this instance's copy in its store. */
  takeDirty(): SpendRow[] {
    const rows: SpendRow[] = [];
    for (const [key, entry] of this.mirror) {
      if (!entry.dirty) continue;
      entry.dirty = false;
      const colon = key.indexOf(':');
      rows.push({
        entity_type: key.slice(0, colon) as EntityType, entity_id: key.slice(colon + 1), period_start: entry.periodStart,
        spend_usd: entry.spend, tokens: entry.tokens, requests: entry.requests, updated_at: entry.updatedAt,
      });
    }
    return rows;
  }

  requeue(rows: readonly SpendRow[]): void {
    for (const row of rows) {
      const entry = this.mirror.get(mirrorKey(row.entity_type, row.entity_id));
      if (entry !== undefined && entry.periodStart === row.period_start) entry.dirty = true;
    }
  }

  /** Rate-limit counters live in Redis (its own persistence keeps them across restarts): nothing to save here. */
  takeCounterChanges(_now: number): CounterChanges {
    return { put: [], drop: [] };
  }

  requeueCounterChanges(_changes: CounterChanges): void {}

  loadCounters(): void {}

  forget(type: EntityType, id: string): void {
    this.mirror.delete(mirrorKey(type, id));
    this.local?.forget(type, id);
  }

  /** Windows roll over by key name in Redis; this learns every level to show (the API reads them). */
  sweep(now: number, accounts: readonly SpendAccount[]): SpendAccount[] {
    for (const account of accounts) this.entry(account, now);
    this.local?.sweep(now, accounts);
    this.headroom?.prune(now);
    return [];
  }

  /**
   * Waits for settlements on their way (bounded), then closes the connection. Reservations on their way
   * are waited for too: a settlement waiting for one is written once it is answered.
   */
  async close(timeoutMs = 2_000): Promise<void> {
    if (this.closed) return;
    const deadline = Date.now() + timeoutMs;
    this.flush();
    while (this.writing.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.writing]),
        new Promise((resolve) => (timer = setTimeout(resolve, deadline - Date.now()))),
      ]);
      clearTimeout(timer);
      this.flush();
    }
    this.closed = true;
    if (this.probe !== undefined) clearInterval(this.probe);
    if (this.refresher !== undefined) clearInterval(this.refresher);
    if (this.pending.length > 0) {
      this.logger.error({ settlements: this.pending.length }, 'cluster: Redis unreachable at shutdown; settlements not written to the shared counters (their spend is in the request logs)');
    }
    this.redis.disconnect();
  }
}
