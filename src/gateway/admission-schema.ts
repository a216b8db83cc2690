/**
 * The overload keys of the `limits` config section (src/gateway/admission.ts).
 * The default in-flight limit is about one second of what one process serves
 * of short calls (3,000-4,000 a second on two cores, bench/README.md), and a
 * few tens of MB of requests held at ~7 KB each: with an upstream answering in
 * about a second it never refuses what the process can serve, and past it
 * requests only wait longer (and hold memory) without adding throughput.
 */
import { z } from 'zod';
import type { OverloadSettings } from './admission.js';

export const DEFAULT_MAX_IN_FLIGHT = 4096;
/**
 * The capacity limit's target in `heimdall start` (the library's is 0, off: src/config/load.ts).
 * A healthy process's loop runs well under 1 ms late on average (a 100 ms window's mean; a
 * garbage-collection pause of 50 ms in one window moves it by 5 ms). Once set, the limit keeps the
 * delay at half the target: a loop turn of about 15 ms, and a short call, which needs two or three
 * turns, keeps a latency of tens of ms. A late loop alone never sets the limit (capacity-limit.ts):
 * requests must also pile up, so a loop made late by other processes, a pause or a burst being
 * worked off refuses nothing.
 */
export const DEFAULT_CAPACITY_TARGET_DELAY_MS = 10;
export const DEFAULT_CAPACITY_MIN_RATE = 10;

export const overloadLimitsShape = {
  max_in_flight: z
    .number()
    .int()
    .min(0)
    .default(DEFAULT_MAX_IN_FLIGHT)
    .describe('Client requests in flight at once in this process (a stream until its end); one more waits in the queue or is refused with 503 and Retry-After. /api, /health and /metrics are never counted. 0: no limit.'),
  max_queue: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Requests that may wait for a slot once max_in_flight is reached; one more is refused with 503 at once. 0: no queue.'),
  queue_timeout_ms: z
    .number()
    .int()
    .positive()
    .default(1000)
    .describe('Longest wait in that queue, in ms; then 503 with Retry-After.'),
  max_event_loop_delay_ms: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Refuse new client requests with 503 while the event loop runs later than this (ms, the worst of the last second): the CPU is saturated and requests queue before they are read. 0: off.'),
  capacity_target_delay_ms: z
    .number()
    .min(0)
    .default(DEFAULT_CAPACITY_TARGET_DELAY_MS)
    .describe('Capacity limit: while the event loop runs later than this on average (ms, over 100 ms), busy, and requests pile up (more arrive than complete, or many are held), the rate of new client requests this process admits is steered to keep the loop\'s delay at half of this; requests over it get 503 with Retry-After at once. The wait for a provider never counts. Default 10 in the server (heimdall start), 0 in the library (createGateway). 0: off.'),
  capacity_min_rate: z
    .number()
    .int()
    .positive()
    .default(DEFAULT_CAPACITY_MIN_RATE)
    .describe('The capacity limit never admits fewer new requests a second than this.'),
};

export function resolveOverload(limits: {
  max_in_flight: number;
  max_queue: number;
  queue_timeout_ms: number;
  max_event_loop_delay_ms: number;
  capacity_target_delay_ms: number;
  capacity_min_rate: number;
}): OverloadSettings {
  return {
    maxInFlight: limits.max_in_flight,
    maxQueue: limits.max_queue,
    queueTimeoutMs: limits.queue_timeout_ms,
    maxEventLoopDelayMs: limits.max_event_loop_delay_ms,
    capacity: { targetDelayMs: limits.capacity_target_delay_ms, minRate: limits.capacity_min_rate },
  };
}
