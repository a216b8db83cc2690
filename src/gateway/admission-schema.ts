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
};

export function resolveOverload(limits: { max_in_flight: number; max_queue: number; queue_timeout_ms: number; max_event_loop_delay_ms: number }): OverloadSettings {
  return { maxInFlight: limits.max_in_flight, maxQueue: limits.max_queue, queueTimeoutMs: limits.queue_timeout_ms, maxEventLoopDelayMs: limits.max_event_loop_delay_ms };
}
