/**
 * What the event loop's thread and the Postgres request-log writer thread share (log-writer.ts,
 * pg-log-writer-thread.ts): the messages, and shared memory through which the thread answers (the
 * last acknowledged sequence number, to wait on with Atomics, and its counters), so nothing comes
 * back per batch.
 */
import { sharedMemory } from '../log-thread-protocol.js';
import type { LogBodyOptions } from '../log-sink.js';
import type { RequestLogRecord } from '../log-types.js';
import type { PgConnectionSettings } from './connection.js';

export { CONTROL_ACKED, CONTROL_CLOSED, sharedViews, type SharedViews, type ThreadLogMessage } from '../log-thread-protocol.js';

/** Float64 slots, written by the thread only. */
export const COUNTER_WRITTEN = 0;
/** Records lost: the buffer's bound passed (oldest first), a record that could not be stored. */
export const COUNTER_DROPPED = 1;
export const COUNTER_BATCHES = 2;
/** Attempts that failed (each retried, or its records written one by one). */
export const COUNTER_FAILED_BATCHES = 3;
/** Records the thread holds, not written yet. */
export const COUNTER_BUFFERED = 4;
export const COUNTER_BUFFERED_BYTES = 5;
/** 1 while the last attempt to write succeeded (or none was needed), 0 while Postgres is unreachable. */
export const COUNTER_AVAILABLE = 6;
/** Records given up at close. */
export const COUNTER_UNWRITTEN = 7;
/** Records received from the event loop's thread (those posted and not received yet are on their way). */
export const COUNTER_RECEIVED = 8;
const COUNTER_SLOTS = 9;

export function pgSharedMemory(): SharedArrayBuffer {
  return sharedMemory(COUNTER_SLOTS);
}

export interface PgBufferBound {
  /** Most records held while Postgres cannot take them. */
  maxRecords: number;
  /** Most bytes (the rows' text, estimated) held while Postgres cannot take them. */
  maxBytes: number;
}

/** The thread's workerData. */
export interface PgThreadData {
  connection: PgConnectionSettings;
  memory: SharedArrayBuffer;
  bound: PgBufferBound;
  /** Rows per INSERT. */
  batchSize: number;
  flushIntervalMs: number;
  /** Backoff between attempts while Postgres is unreachable: from `retryMinMs`, doubling, to `retryMaxMs`. */
  retryMinMs: number;
  retryMaxMs: number;
}

/** Main -> thread. */
export type PgThreadMessage =
  | {
      type: 'records';
      records: RequestLogRecord[];
      bodies: LogBodyOptions;
      /** The configured secrets, when they changed since the last message (the thread redacts too). */
      secrets?: string[];
    }
  /** Write what is held now (one attempt if Postgres is down), then acknowledge `seq`. */
  | { type: 'flush'; seq: number }
  /** Write what is held, for at most `budgetMs`, count the rest, acknowledge and exit. */
  | { type: 'close'; seq: number; budgetMs: number };
