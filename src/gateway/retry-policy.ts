/**
 * The retry decision and delay, one pure function (STYLE.md rule 5), after
 * openai-node: `x-should-retry` first, then 408/409/429/5xx and transport
 * failures; delay from retry-after-ms / Retry-After, else exponential backoff
 * from 0.5 s to 8 s with jitter. A retry that moves to another key (or
 * deployment) goes at once: the wait and a Retry-After belong to the key that
 * failed.
 */
import type { UpstreamFailure } from './upstream-failure.js';

export interface RetryInput {
  failure: Pick<UpstreamFailure, 'kind' | 'status' | 'retryAfterMs' | 'shouldRetry'>;
  /** Retries already made for this target (0 before the first retry). */
  retriesDone: number;
  maxRetries: number;
  /** Milliseconds left in the request's retry time budget. */
  timeLeftMs: number;
  /** A number in [0, 1) for jitter, passed in so the function stays pure. */
  random: number;
  /** Another key or deployment, not tried yet by this request, can take the retry. */
  otherKey?: boolean;
  /**
   * After a timeout: how long another attempt may wait for its first byte, and how much of the
   * time left to keep for the next tier (its first-byte wait; 0 when none follows). With a fallback
   * waiting, retrying a target that just hung only pays when a whole attempt fits and leaves the
   * fallback its chance.
   */
  attemptMs?: number;
  reserveMs?: number;
}

export type RetryDecision =
  | { retry: true; delayMs: number }
  | { retry: false; reason: 'not_retryable' | 'exhausted' | 'retry_after_too_long' | 'no_time' };

export const INITIAL_DELAY_MS = 500;
export const MAX_DELAY_MS = 8_000;

export function isRetryable(failure: RetryInput['failure']): boolean {
  if (failure.kind === 'aborted' || failure.kind === 'bad_response') return false;
  if (failure.shouldRetry !== undefined) return failure.shouldRetry;
  if (failure.kind === 'timeout' || failure.kind === 'network') return true;
  const status = failure.status ?? 0;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

export function decideRetry(input: RetryInput): RetryDecision {
  if (!isRetryable(input.failure)) return { retry: false, reason: 'not_retryable' };
  if (input.retriesDone >= input.maxRetries) return { retry: false, reason: 'exhausted' };
  // After a timeout, with a fallback tier waiting: the time another attempt needs (a whole first-byte
  // wait) and the next tier's share. Without one, the retry gets whatever time is left.
  const reserve = input.reserveMs ?? 0;
  const needed = input.failure.kind === 'timeout' && reserve > 0 ? (input.attemptMs ?? 0) + reserve : 0;
  if (input.otherKey === true) return input.timeLeftMs > needed ? { retry: true, delayMs: 0 } : { retry: false, reason: 'no_time' };
  const retryAfter = input.failure.retryAfterMs;
  if (retryAfter !== undefined) {
    // Waiting longer than the budget allows would only delay the same failure.
    if (retryAfter > input.timeLeftMs) return { retry: false, reason: 'retry_after_too_long' };
    return { retry: true, delayMs: retryAfter };
  }
  const base = Math.min(INITIAL_DELAY_MS * 2 ** input.retriesDone, MAX_DELAY_MS);
  const delayMs = Math.round(base * (1 - 0.25 * input.random));
  if (delayMs + needed > input.timeLeftMs) return { retry: false, reason: 'no_time' };
  return { retry: true, delayMs };
}
