/**
 * Where the shared ledger keeps one request's counters in Redis, and the
 * arguments of its scripts (redis-scripts.ts). Every key of a request carries
 * one hash tag, its root entity (the customer, else the team, else the key),
 * so the admission and settlement scripts touch one Redis Cluster slot; every
 * key of a customer's teams and virtual keys shares that slot.
 *
 *   <prefix>{customer:c_1}:s:key:vk_1:1733529600000   spend of a budget window
 *   <prefix>{customer:c_1}:r:team:t_1                 reservations in flight (+ :h, their sum)
 *   <prefix>{customer:c_1}:c:key:vk_1:0:requests:s:60000   a rate-limit counter (+ :w log, :f in flight, :g its sum)
 *   <prefix>{customer:c_1}:q                          requests admitted, not yet settled
 */
import { budgetWindow } from '../governance/durations.js';
import type { LimitSpec, SpendAccount } from '../governance/ledger.js';

/** A budget window's figures stay readable this long after it ended (the API, late settlements). */
const KEEP_ENDED_WINDOW_MS = 7 * 86_400_000;

/** The hash tag of a request: its root level (accounts are ordered key, team, customer). */
export function hashTag(accounts: readonly SpendAccount[]): string {
  const root = accounts[accounts.length - 1];
  return root === undefined ? 'anonymous' : `${root.type}:${root.id}`;
}

export function spendKey(prefix: string, tag: string, account: SpendAccount, periodStart: number): string {
  return `${prefix}{${tag}}:s:${account.type}:${account.id}:${periodStart}`;
}

/** The reservations of a budget level in flight, and the hash that keeps their sum. */
export function reservationKeys(prefix: string, tag: string, account: SpendAccount): [string, string] {
  const base = `${prefix}{${tag}}:r:${account.type}:${account.id}`;
  return [base, `${base}:h`];
}

/** The counter keys of a limit: its algorithm and window are part of the name (changing either starts afresh). */
export function counterKeys(prefix: string, tag: string, spec: LimitSpec): [string, string, string, string] {
  const base = `${prefix}{${tag}}:c:${spec.id}:${spec.algorithm === 'sliding' ? 's' : 'b'}:${spec.windowMs}`;
  return [base, `${base}:w`, `${base}:f`, `${base}:g`];
}

export function admittedKey(prefix: string, tag: string): string {
  return `${prefix}{${tag}}:q`;
}

export function doneKey(prefix: string, tag: string, requestId: string): string {
  return `${prefix}{${tag}}:d:${requestId}`;
}

/** When a window's spend key may expire ('' never: a lifetime budget). */
export function spendExpiry(account: SpendAccount, now: number): { periodStart: number; expireAt: string } {
  const window = budgetWindow(account.period, now, account.anchor);
  return { periodStart: window.start, expireAt: Number.isFinite(window.end) ? String(window.end + KEEP_ENDED_WINDOW_MS) : '' };
}

function limitArgsOf(spec: LimitSpec): string[] {
  return [spec.kind === 'requests' ? 'r' : 't', spec.algorithm === 'sliding' ? 's' : 'b', String(spec.limit), String(spec.windowMs)];
}

/** A reserved amount as the scripts write it in a member ("<id>|<amount>"); admission and settlement must agree. */
export function amountText(value: number): string {
  return value > 0 && Number.isFinite(value) ? String(value) : '0';
}

export interface AdmitCall {
  keys: string[];
  args: string[];
}

/**
 * What a request's script calls need of its levels and limits that does not change from one request to
 * the next: the hash tag, the keys and the per-level arguments. Built once per accounts array and limits
 * array (the enforcer keeps one of each per virtual key, rebuilt on every configuration change, so nothing
 * goes stale) and budget window: a new window (a day, a month) builds it again.
 */
export interface Layout {
  prefix: string;
  tag: string;
  /** Q, then S R H per account (S of the window the layout was built in). */
  accountKeys: string[];
  /** C W F G per limit. */
  limitKeys: string[];
  /** The admission's keys: accountKeys then limitKeys. */
  admitKeys: string[];
  /** Per account: its limit in USD ('' none). */
  limitsUsd: string[];
  /** Per account: when its S may expire ('' never). */
  expiries: string[];
  /** Per limit: kind, algorithm, limit, window ms. */
  limitArgs: string[];
  /** Per account: the start of its budget window (the mirror's periodStart). */
  periodStarts: number[];
  /**
   * Per account, then per limit: the name of the level for what this instance knows of its headroom
   * (optimistic-admission.ts), with everything that makes it another counter (the limit, the window);
   * '' for an account without a limit.
   */
  levelKeys: string[];
  /** The layout holds while from <= now < until (the windows of every account). */
  from: number;
  until: number;
}

/** By limits array (the enforcer's own per key; an empty list is not always the same array, so all share one key). */
const layouts = new WeakMap<readonly SpendAccount[], WeakMap<readonly LimitSpec[], Layout>>();
const NO_LIMITS: readonly LimitSpec[] = [];

function buildLayout(prefix: string, accounts: readonly SpendAccount[], limits: readonly LimitSpec[], now: number): Layout {
  const tag = hashTag(accounts);
  const accountKeys = [admittedKey(prefix, tag)];
  const limitsUsd: string[] = [];
  const expiries: string[] = [];
  const periodStarts: number[] = [];
  const levelKeys: string[] = [];
  let from = -Infinity;
  let until = Infinity;
  for (const account of accounts) {
    const window = budgetWindow(account.period, now, account.anchor);
    const { periodStart, expireAt } = spendExpiry(account, now);
    accountKeys.push(spendKey(prefix, tag, account, periodStart), ...reservationKeys(prefix, tag, account));
    limitsUsd.push(account.limitUsd === undefined ? '' : String(account.limitUsd));
    expiries.push(expireAt);
    periodStarts.push(periodStart);
    levelKeys.push(account.limitUsd === undefined ? '' : `${account.type}:${account.id}|${account.limitUsd}|${periodStart}`);
    from = Math.max(from, window.start);
    until = Math.min(until, window.end);
  }
  const limitKeys: string[] = [];
  const limitArgs: string[] = [];
  for (const spec of limits) {
    limitKeys.push(...counterKeys(prefix, tag, spec));
    const args = limitArgsOf(spec);
    limitArgs.push(...args);
    levelKeys.push(`${spec.id}|${args.join('|')}`);
  }
  return { prefix, tag, accountKeys, limitKeys, admitKeys: [...accountKeys, ...limitKeys], limitsUsd, expiries, limitArgs, periodStarts, levelKeys, from, until };
}

/** The layout of a request's levels and limits at `now`, from the cache when its windows still hold. */
export function layoutOf(prefix: string, accounts: readonly SpendAccount[], limits: readonly LimitSpec[], now: number): Layout {
  let byLimits = layouts.get(accounts);
  if (byLimits === undefined) {
    byLimits = new WeakMap();
    layouts.set(accounts, byLimits);
  }
  const limitsKey = limits.length === 0 ? NO_LIMITS : limits;
  let layout = byLimits.get(limitsKey);
  if (layout === undefined || now < layout.from || now >= layout.until || layout.prefix !== prefix) {
    layout = buildLayout(prefix, accounts, limits, now);
    byLimits.set(limitsKey, layout);
  }
  return layout;
}

/**
 * Admission. KEYS: Q, S R H per account, C W F G per limit. ARGV: request id, lease ms, reserved usd,
 * reserved tokens, account count, limit count, forced ('1' or ''), limit usd per account,
 * kind/algorithm/limit/window per limit.
 */
export function admitCall(
  prefix: string, requestId: string, leaseMs: number, now: number,
  accounts: readonly SpendAccount[], limits: readonly LimitSpec[], reservedUsd: string, reservedTokens: number, forced = false,
): AdmitCall {
  const layout = layoutOf(prefix, accounts, limits, now);
  const args = [requestId, String(leaseMs), reservedUsd, String(reservedTokens), String(accounts.length), String(limits.length), forced ? '1' : ''];
  for (const limitUsd of layout.limitsUsd) args.push(limitUsd);
  for (const arg of layout.limitArgs) args.push(arg);
  return { keys: layout.admitKeys, args };
}

export interface SettleArgs {
  requestId: string;
  /** Admitted by Redis ('r') or by the local fallback while Redis was away ('l'). */
  mode: 'r' | 'l';
  costUsd: number;
  tokens: number;
  reservedUsd: string;
  reservedTokens: number;
  doneTtlMs: number;
  admittedAt: number;
  now: number;
}

/** One settlement: its keys and arguments, as one item of a settlement batch (settleBatch). */
export function settleCall(prefix: string, accounts: readonly SpendAccount[], limits: readonly LimitSpec[], settle: SettleArgs): AdmitCall {
  const layout = layoutOf(prefix, accounts, limits, settle.now);
  const keys = [layout.accountKeys[0], doneKey(prefix, layout.tag, settle.requestId)];
  for (let i = 1; i < layout.accountKeys.length; i++) keys.push(layout.accountKeys[i]);
  for (const key of layout.limitKeys) keys.push(key);
  const args = [
    settle.requestId, settle.mode, amountText(settle.costUsd), String(Math.max(0, Math.round(settle.tokens))), settle.reservedUsd,
    String(Math.max(0, Math.ceil(settle.reservedTokens))), String(accounts.length), String(limits.length), String(settle.doneTtlMs), String(settle.admittedAt),
  ];
  for (const expiry of layout.expiries) args.push(expiry);
  for (const arg of layout.limitArgs) args.push(arg);
  return { keys, args };
}

/**
 * Several settlements of one hash tag as one script call (SETTLE_SCRIPT), or, with an admission of that
 * tag, the admission and the settlements it takes along (ADMIT_SCRIPT): the settlements' keys one after
 * another, then the admission's; the count of settlements, their arguments, then the admission's.
 */
export function settleBatch(calls: readonly AdmitCall[], admission?: AdmitCall): AdmitCall {
  const keys: string[] = [];
  const args = [String(calls.length)];
  for (const call of calls) {
    for (const key of call.keys) keys.push(key);
    for (const arg of call.args) args.push(arg);
  }
  if (admission !== undefined) {
    for (const key of admission.keys) keys.push(key);
    for (const arg of admission.args) args.push(arg);
  }
  return { keys, args };
}
