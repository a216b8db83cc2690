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

function limitArgs(spec: LimitSpec): string[] {
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

export function admitCall(
  prefix: string, requestId: string, leaseMs: number, now: number,
  accounts: readonly SpendAccount[], limits: readonly LimitSpec[], reservedUsd: string, reservedTokens: number,
): AdmitCall {
  const tag = hashTag(accounts);
  const keys = [admittedKey(prefix, tag)];
  const args = [requestId, String(leaseMs), reservedUsd, String(reservedTokens), String(accounts.length), String(limits.length)];
  for (const account of accounts) {
    keys.push(spendKey(prefix, tag, account, spendExpiry(account, now).periodStart), ...reservationKeys(prefix, tag, account));
    args.push(account.limitUsd === undefined ? '' : String(account.limitUsd));
  }
  for (const spec of limits) {
    keys.push(...counterKeys(prefix, tag, spec));
    args.push(...limitArgs(spec));
  }
  return { keys, args };
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

export function settleCall(prefix: string, accounts: readonly SpendAccount[], limits: readonly LimitSpec[], settle: SettleArgs): AdmitCall {
  const tag = hashTag(accounts);
  const keys = [admittedKey(prefix, tag), doneKey(prefix, tag, settle.requestId)];
  const args = [
    settle.requestId, settle.mode, amountText(settle.costUsd), String(Math.max(0, Math.round(settle.tokens))), settle.reservedUsd,
    String(Math.max(0, Math.ceil(settle.reservedTokens))), String(accounts.length), String(limits.length), String(settle.doneTtlMs), String(settle.admittedAt),
  ];
  for (const account of accounts) {
    const { periodStart, expireAt } = spendExpiry(account, settle.now);
    keys.push(spendKey(prefix, tag, account, periodStart), ...reservationKeys(prefix, tag, account));
    args.push(expireAt);
  }
  for (const spec of limits) {
    keys.push(...counterKeys(prefix, tag, spec));
    args.push(...limitArgs(spec));
  }
  return { keys, args };
}
