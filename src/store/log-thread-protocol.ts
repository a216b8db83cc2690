/**
 * What the event loop's thread and the request-log writer thread share: the
 * messages (one per posted chunk of records) and the layout of the shared
 * memory through which the thread answers (an acknowledged sequence number to
 * wait on with Atomics, and its counters), so no message ever comes back per batch.
 */
import type { LogBodyOptions } from './log-sink.js';
import type { RequestLogRecord } from './log-types.js';

/** Int32 slots: the last sequence number whose records are all written (or dropped), and "closed". */
export const CONTROL_ACKED = 0;
export const CONTROL_CLOSED = 1;
const CONTROL_SLOTS = 2;

/** Float64 slots, written by the thread only. */
export const COUNTER_WRITTEN = 0;
export const COUNTER_DROPPED = 1;
export const COUNTER_BATCHES = 2;
export const COUNTER_FAILED_BATCHES = 3;
const COUNTER_SLOTS = 4;

const CONTROL_BYTES = 8 * Math.ceil((CONTROL_SLOTS * 4) / 8);

export interface SharedViews {
  control: Int32Array;
  counters: Float64Array;
}

/** The control slots and `counterSlots` counters (the Postgres writer thread has more: pg/log-protocol.ts). */
export function sharedMemory(counterSlots = COUNTER_SLOTS): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_BYTES + counterSlots * 8);
}

export function sharedViews(memory: SharedArrayBuffer): SharedViews {
  return {
    control: new Int32Array(memory, 0, CONTROL_SLOTS),
    counters: new Float64Array(memory, CONTROL_BYTES),
  };
}

/** The thread's workerData. */
export interface ThreadData {
  /** The database file (already created and migrated by the store). */
  file: string;
  busyTimeoutMs: number;
  memory: SharedArrayBuffer;
}

/** Main -> thread. `seq` grows by one per message. */
export type ThreadMessage =
  | {
      type: 'records';
      seq: number;
      records: RequestLogRecord[];
      /** Write everything received so far in one transaction, then acknowledge `seq`. */
      commit: boolean;
      bodies: LogBodyOptions;
      /** The configured secrets, when they changed since the last message (the thread redacts too). */
      secrets?: string[];
    }
  | { type: 'close'; seq: number };

/** Thread -> main: only what the thread has to say in the store's log. */
export interface ThreadLogMessage {
  type: 'log';
  level: 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}
