/**
 * The request-log writer thread (worker_threads): owns the database's write
 * connection for the request log. It receives chunks of records, writes them
 * one transaction per commit the main thread asks for, and acknowledges through
 * shared memory (log-thread-protocol.ts). The WAL checkpoints that SQLite runs
 * after a commit run here too, off the event loop. Started by ThreadedLogWriter.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openWriteConnection } from './database.js';
import { LogSink, type LogBodyOptions } from './log-sink.js';
import {
  CONTROL_ACKED, CONTROL_CLOSED, COUNTER_BATCHES, COUNTER_DROPPED, COUNTER_FAILED_BATCHES, COUNTER_WRITTEN,
  sharedViews, type ThreadData, type ThreadLogMessage, type ThreadMessage,
} from './log-thread-protocol.js';
import type { RequestLogRecord } from './log-types.js';
import type { StoreLogger } from './store-logger.js';
import { registerSecrets } from '../telemetry/secrets.js';

/** Passive checkpoints also run on a clock, for WAL frames that other connections wrote. */
const CHECKPOINT_EVERY_MS = 30_000;

const port = parentPort;
if (port === null) throw new Error('log-writer-thread runs as a worker thread.');
const data = workerData as ThreadData;
const { control, counters } = sharedViews(data.memory);

function log(level: ThreadLogMessage['level'], obj: object, msg: string): void {
  const message: ThreadLogMessage = { type: 'log', level, obj: { ...obj, thread: 'request-log-writer' }, msg };
  port!.postMessage(message);
}
const logger: StoreLogger = {
  info: (obj, msg) => log('info', obj, msg),
  warn: (obj, msg) => log('warn', obj, msg),
  error: (obj, msg) => log('error', obj, msg),
};

const db = openWriteConnection(data.file, data.busyTimeoutMs);
const sink = new LogSink(db, logger);
let pending: RequestLogRecord[] = [];
let bodies: LogBodyOptions = { enabled: false, maxBytes: 0 };

function acknowledge(seq: number): void {
  Atomics.store(control, CONTROL_ACKED, seq);
  Atomics.notify(control, CONTROL_ACKED);
}

function commit(): void {
  if (pending.length === 0) return;
  const records = pending;
  pending = [];
  const result = sink.write(records, bodies);
  counters[COUNTER_WRITTEN] += result.written;
  counters[COUNTER_DROPPED] += result.dropped;
  if (result.committed) counters[COUNTER_BATCHES]++;
  if (result.failed) counters[COUNTER_FAILED_BATCHES]++;
}

const checkpoints = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    logger.warn({ err: error }, 'request log: WAL checkpoint failed');
  }
}, CHECKPOINT_EVERY_MS);
checkpoints.unref();

port.on('message', (message: ThreadMessage) => {
  if (message.type === 'close') {
    commit();
    clearInterval(checkpoints);
    try {
      db.close();
    } catch (error) {
      logger.error({ err: error }, 'request log: closing the writer connection failed');
    }
    acknowledge(message.seq);
    Atomics.store(control, CONTROL_CLOSED, 1);
    Atomics.notify(control, CONTROL_CLOSED);
    port.close();
    return;
  }
  if (message.secrets !== undefined) registerSecrets(message.secrets);
  bodies = message.bodies;
  for (const record of message.records) pending.push(record);
  if (message.commit) {
    commit();
    acknowledge(message.seq);
  }
});
