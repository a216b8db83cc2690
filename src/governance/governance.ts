/**
 * Governance as one service: the registry, the ledger, the price book and
 * the gateway hooks, the entity changes of the management API, the config
 * file's declarations, and two timers (unref'd): the batched writer (spend,
 * last-used times and rate-limit counters, one transaction per batch) and the
 * sweep that rolls budget windows over on time even while idle. Both are read
 * back at start, so spend and limits hold across a restart.
 *
 *   const governance = new Governance({ config: config.governance, db: store.db, audit });
 *   gateway.addHooks(governance.hooks);
 *   ...
 *   governance.close();   // last spend flush
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { SqliteDatabase } from '../store/database.js';
import type { AuditInput } from '../store/config-types.js';
import type { GatewayHooks } from '../gateway/gateway.js';
import type { RequestContext } from '../gateway/request-context.js';
import type { GovernanceConfig } from './config.js';
import { Enforcer, type EnforcerSettings, type Rejections } from './enforcer.js';
import { Entities } from './entities.js';
import { syncDeclared } from './file-sync.js';
import { LocalLedger, type CounterChanges, type SpendLedger, type SpendRow } from './ledger.js';
import { PriceBook } from './pricing.js';
import { ModelCatalog } from '../catalog/catalog.js';
import { Registry, type KeyState } from './registry.js';
import { GovernanceRepo } from './repo.js';
import { budgetWindow } from './durations.js';
import { UsageQueries } from './usage-query.js';

export interface GovernanceLogger {
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

export interface GovernanceMetrics {
  rateLimited?(scope: string, limit: string, virtualKeyId?: string): void;
  budgetExceeded?(scope: string, virtualKeyId?: string): void;
}

export interface GovernanceOptions {
  config: GovernanceConfig;
  /** The store's database; without one, governance lives in memory only (tests). */
  db?: SqliteDatabase;
  audit?: (entry: AuditInput) => void;
  now?: () => number;
  /** Another ledger (a multi-process one); default an in-process LocalLedger. */
  ledger?: SpendLedger;
  metrics?: GovernanceMetrics;
  logger?: GovernanceLogger;
  /** Start the flush and sweep timers (default true; tests call flush()/sweep()). */
  timers?: boolean;
  /** The model catalog prices come from (the gateway's, rebuilt on reload); default: the shipped one. */
  catalog?: () => ModelCatalog;
  /**
   * The request log's last sequence number (store/spend-watermark.ts): saved with each spend batch,
   * and spend is reconciled from the log rows above the saved one at start. Without it (--workers N)
   * no watermark is kept.
   */
  logSequence?: () => number;
}

/** Longest time between two sweeps (idle counters dropped, windows rolled). */
const MAX_SWEEP_MS = 60_000;
/** Periodic flushes that found the database busy in a row before one waits for the lock. */
const MAX_BUSY_FLUSHES = 5;

export class Governance {
  readonly registry = new Registry();
  readonly ledger: SpendLedger;
  readonly entities: Entities;
  readonly rejections: Rejections = { missing_key: 0, invalid_key: 0, disabled: 0, forbidden: 0, unpriced: 0, rate_limited: 0, budget_exceeded: 0, budget_in_flight: 0 };
  readonly usage: UsageQueries | undefined;
  /** The clock every decision reads; replaceable (tests, simulations). */
  clock: () => number;
  private readonly enforcer: Enforcer;
  private readonly repo: GovernanceRepo | undefined;
  private readonly logger: GovernanceLogger | undefined;
  private readonly logSequence: (() => number) | undefined;
  private readonly touched = new Map<string, number>();
  private config: GovernanceConfig;
  private book: PriceBook;
  private readonly catalogOf: () => ModelCatalog;
  private settingsValue: EnforcerSettings;
  private declared: string;
  private flushTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private busyFlushes = 0;

  constructor(options: GovernanceOptions) {
    this.clock = options.now ?? Date.now;
    const now = (): number => this.clock();
    this.logger = options.logger;
    this.logSequence = options.logSequence;
    this.ledger = options.ledger ?? new LocalLedger();
    this.repo = options.db === undefined ? undefined : new GovernanceRepo(options.db);
    this.usage = options.db === undefined ? undefined : new UsageQueries(options.db);
    this.config = options.config;
    const shipped = new ModelCatalog();
    this.catalogOf = options.catalog ?? (() => shipped);
    this.book = new PriceBook(options.config.pricing, this.catalogOf());
    this.settingsValue = { enforce: options.config.enforce, defaultMaxOutputTokens: options.config.defaultMaxOutputTokens };
    this.entities = new Entities({ registry: this.registry, ledger: this.ledger, repo: this.repo, audit: options.audit, now });
    this.enforcer = new Enforcer({
      registry: this.registry,
      ledger: this.ledger,
      now,
      settings: () => this.settingsValue,
      prices: () => this.prices,
      catalog: () => this.catalogOf(),
      metrics: options.metrics,
      rejections: this.rejections,
      touch: (id, time) => {
        this.touched.set(id, time);
        const record = this.registry.keys.get(id);
        if (record !== undefined) record.last_used_at = time;
      },
    });
    if (this.repo !== undefined) this.registry.load(this.repo.customers(), this.repo.teams(), this.repo.keys());
    this.declared = JSON.stringify([options.config.customers, options.config.teams, options.config.virtualKeys]);
    const changes = syncDeclared(options.config, this.registry, this.entities);
    if (changes > 0) this.logger?.info({ changes }, 'governance: applied the config file\'s keys, teams and customers');
    this.loadSpend();
    if (options.timers !== false) this.startTimers(options.config.flushIntervalMs);
  }

  now(): number {
    return this.clock();
  }

  get hooks(): GatewayHooks {
    return this.enforcer.hooks;
  }

  get settings(): EnforcerSettings {
    return this.settingsValue;
  }

  /** The price book over the current catalog (a reload builds a new catalog with its overrides). */
  get prices(): PriceBook {
    const catalog = this.catalogOf();
    if (this.book.catalog !== catalog) this.book = new PriceBook(this.config.pricing, catalog);
    return this.book;
  }

  /** The /v1/models guard and other routes outside the pipeline: same rules as `authenticate`. */
  checkKey(headers: IncomingHttpHeaders, queryKey: string | undefined): void {
    this.enforcer.resolve(headers, queryKey);
  }

  /** The key a request presents, resolved by the same rules (undefined: none, and none is required); for /mcp. */
  resolveKey(headers: IncomingHttpHeaders): KeyState | undefined {
    return this.enforcer.resolve(headers, undefined);
  }

  /** Cost of a finished request (also set on ctx.costUsd by the settle hook). */
  costOf(ctx: RequestContext): number | null {
    return this.enforcer.cost(ctx);
  }

  /** A new configuration (API edit or file change): switches, prices, declared entities. */
  applyConfig(config: GovernanceConfig): void {
    const previous = this.config;
    this.config = config;
    this.settingsValue = { enforce: config.enforce, defaultMaxOutputTokens: config.defaultMaxOutputTokens };
    if (JSON.stringify(previous.pricing) !== JSON.stringify(config.pricing)) this.book = new PriceBook(config.pricing, this.catalogOf());
    const declared = JSON.stringify([config.customers, config.teams, config.virtualKeys]);
    if (declared !== this.declared) {
      this.declared = declared;
      const changes = syncDeclared(config, this.registry, this.entities);
      if (changes > 0) this.logger?.info({ changes }, 'governance: applied the config file\'s keys, teams and customers');
    }
    if (previous.flushIntervalMs !== config.flushIntervalMs && this.flushTimer !== undefined) {
      this.stopTimers();
      this.startTimers(config.flushIntervalMs);
    }
  }

  /** Re-reads keys, teams and customers from the database (`--workers N`: another worker changed them). */
  reloadEntities(): void {
    if (this.repo !== undefined) this.registry.load(this.repo.customers(), this.repo.teams(), this.repo.keys());
  }

  /**
   * Seeds the ledger with the spend of every entity's current window: the saved spend, plus the
   * logged costs of requests the saved spend does not cover yet (the process stopped, or crashed,
   * before its last spend batch was written; see store/spend-watermark.ts).
   */
  private loadSpend(): void {
    if (this.repo === undefined) return;
    const now = this.now();
    const watermark = this.logSequence === undefined ? undefined : this.repo.spendWatermark();
    const rows: SpendRow[] = [];
    const reconciled: SpendRow[] = [];
    for (const account of this.registry.accounts()) {
      const window = budgetWindow(account.period, now, account.anchor);
      let row = this.repo.spend(account.type, account.id, window.start);
      if (watermark !== undefined) {
        const missing = this.repo.loggedSpendAfter(account.type, account.id, window.start, watermark);
        if (missing.requests > 0 || missing.spend_usd > 0) {
          row = {
            entity_type: account.type, entity_id: account.id, period_start: window.start, updated_at: now,
            spend_usd: (row?.spend_usd ?? 0) + missing.spend_usd,
            tokens: (row?.tokens ?? 0) + missing.tokens,
            requests: (row?.requests ?? 0) + missing.requests,
          };
          reconciled.push(row);
        }
      }
      if (row !== undefined) rows.push(row);
    }
    if (this.logSequence === undefined) this.repo.dropSpendWatermark();
    else if (watermark === undefined || reconciled.length > 0) {
      // The reconciled rows and the watermark that now covers the whole log, in one transaction.
      this.repo.writeSpend(reconciled, [], undefined, true, this.logSequence());
      if (reconciled.length > 0) {
        const usd = reconciled.filter((row) => row.entity_type === 'key').reduce((sum, row) => sum + row.spend_usd, 0);
        this.logger?.warn({ accounts: reconciled.length, key_spend_usd_after: usd }, 'governance: spend reconciled from the request log (the last spend batch before the stop was not written)');
      }
    }
    this.ledger.load(rows);
    this.ledger.loadCounters(this.repo.counters(now), now);
  }

  private startTimers(flushIntervalMs: number): void {
    this.flushTimer = setInterval(() => this.flush(false), flushIntervalMs);
    this.flushTimer.unref();
    this.scheduleSweep();
  }

  private stopTimers(): void {
    if (this.flushTimer !== undefined) clearInterval(this.flushTimer);
    if (this.sweepTimer !== undefined) clearTimeout(this.sweepTimer);
    this.flushTimer = undefined;
    this.sweepTimer = undefined;
  }

  /** Sleeps until the next window ends (at most a minute), then sweeps. */
  private scheduleSweep(): void {
    if (this.closed) return;
    const now = this.now();
    let next = now + MAX_SWEEP_MS;
    for (const account of this.registry.accounts()) {
      if (account.period === null) continue;
      const end = budgetWindow(account.period, now, account.anchor).end;
      if (end < next) next = end;
    }
    this.sweepTimer = setTimeout(() => {
      this.sweep();
      this.scheduleSweep();
    }, Math.max(10, next - now + 5));
    this.sweepTimer.unref();
  }

  /**
   * Rolls every budget window that ended over (its spend row is written), drops idle
   * rate counters in memory and the saved counters that expired.
   */
  sweep(): void {
    const now = this.now();
    const reset = this.ledger.sweep(now, this.registry.accounts());
    if (reset.length > 0) {
      this.logger?.info({ budgets: reset.map((a) => `${a.type}:${a.id}`) }, 'governance: budget windows reset');
      this.flush();
    }
    try {
      this.repo?.deleteExpiredCounters(now);
    } catch (error) {
      this.logger?.warn({ err: error }, 'governance: deleting expired rate-limit counters failed; will retry');
    }
  }

  /**
   * Writes changed spend rows, last-used times and rate-limit counters in one transaction. The
   * periodic flush does not wait while the request-log writer thread holds the write lock (SQLite
   * would sleep on the event loop for it): the rows stay queued for the next second, and only after
   * MAX_BUSY_FLUSHES busy tries in a row does a flush wait. Any other flush (close, window resets,
   * an explicit call) waits.
   */
  flush(wait = true): void {
    if (this.repo === undefined) {
      this.ledger.takeDirty();
      this.touched.clear();
      return;
    }
    const rows = this.ledger.takeDirty();
    const touched = [...this.touched];
    this.touched.clear();
    const counters = this.ledger.takeCounterChanges(this.now());
    if (rows.length === 0 && touched.length === 0 && counters.put.length === 0 && counters.drop.length === 0) return;
    // Taken in the same step as the rows: they cover exactly the log records numbered up to it.
    const watermark = this.logSequence?.();
    try {
      if (!this.repo.writeSpend(rows, touched, counters, wait || this.busyFlushes >= MAX_BUSY_FLUSHES, watermark)) {
        this.busyFlushes++;
        this.requeue(rows, touched, counters);
        return;
      }
      this.busyFlushes = 0;
    } catch (error) {
      // Keep the rows for the next flush: spend must survive a passing SQLITE_BUSY.
      this.requeue(rows, touched, counters);
      this.logger?.error({ err: error }, 'governance: writing spend failed; will retry');
    }
  }

  /** What a flush took and did not write goes back for the next one. */
  private requeue(rows: readonly SpendRow[], touched: ReadonlyArray<[string, number]>, counters: CounterChanges): void {
    for (const [id, time] of touched) if (!this.touched.has(id)) this.touched.set(id, time);
    if (rows.length > 0) this.ledger.requeue(rows);
    this.ledger.requeueCounterChanges(counters);
  }

  /** Stops the timers and writes what is left. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    this.flush();
  }

  /** Every budget level, for metrics gauges and the API. */
  accounts() {
    return this.registry.accounts().map((account) => ({ account, state: this.ledger.account(account, this.now()) }));
  }
}
