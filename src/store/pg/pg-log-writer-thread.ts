/**
 * The Postgres request-log writer thread (worker_threads), cluster mode. It receives records from
 * the event loop's thread (log-writer.ts), turns them into rows (redaction, body caps, JSON: the same
 * toRow as SQLite's writer), holds them in a bounded buffer and writes them in multi-row INSERTs of
 * `batchSize`. Today's and the next days' partitions are created at start and every hour, and any
 * day a batch needs on the spot.
 *
 * Postgres unreachable (down, restarting, out of disk): the rows stay in the buffer and the batch is
 * tried again with backoff (`retryMinMs` doubling to `retryMaxMs`, with jitter); past the buffer's
 * bound the oldest rows are dropped and counted. Nothing here ever reaches the request path.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type pg from 'pg';
import { toRow, type LogBodyOptions } from '../log-sink.js';
import type { RequestLogRecord } from '../log-types.js';
import { registerSecrets } from '../../telemetry/secrets.js';
import { createPgClient } from './connection.js';
import { INSERT_LOGS_SQL, RowBuffer, insertLogsParams, isDataError, isMissingPartition, rowValues, type RowValues } from './log-batch.js';
import {
  CONTROL_ACKED, CONTROL_CLOSED, COUNTER_AVAILABLE, COUNTER_BATCHES, COUNTER_BUFFERED, COUNTER_BUFFERED_BYTES,
  COUNTER_DROPPED, COUNTER_FAILED_BATCHES, COUNTER_RECEIVED, COUNTER_UNWRITTEN, COUNTER_WRITTEN,
  sharedViews, type PgThreadData, type PgThreadMessage, type ThreadLogMessage,
} from './log-protocol.js';
import { DAY_MS, daysAhead, ensurePartitions } from './partitions.js';

const PARTITIONS_EVERY_MS = 60 * 60 * 1000;
/** At most one "records dropped" warning per this period (with the count since the last one). */
const DROP_WARNING_EVERY_MS = 10_000;

const port = parentPort;
if (port === null) throw new Error('pg-log-writer-thread runs as a worker thread.');
const data = workerData as PgThreadData;
const { control, counters } = sharedViews(data.memory);

function log(level: ThreadLogMessage['level'], obj: object, msg: string): void {
  const message: ThreadLogMessage = { type: 'log', level, obj: { ...obj, thread: 'pg-request-log-writer' }, msg };
  port!.postMessage(message);
}

const buffer = new RowBuffer(data.bound.maxRecords, data.bound.maxBytes);
let bodies: LogBodyOptions = { enabled: false, maxBytes: 0 };
let client: pg.Client | undefined;
let connecting: Promise<pg.Client> | undefined;
let writing: Promise<void> | undefined;
let retryDelay = 0;
let retryAt = 0;
let partitionsAt = 0;
let closing = false;
let droppedSinceWarning = 0;
let lastDropWarning = 0;
let downSince = 0;

counters[COUNTER_AVAILABLE] = 1;

function publish(): void {
  counters[COUNTER_BUFFERED] = buffer.length;
  counters[COUNTER_BUFFERED_BYTES] = buffer.bytes;
}

function acknowledge(seq: number): void {
  Atomics.store(control, CONTROL_ACKED, seq);
  Atomics.notify(control, CONTROL_ACKED);
}

function countDropped(count: number, why: string): void {
  if (count <= 0) return;
  counters[COUNTER_DROPPED] += count;
  droppedSinceWarning += count;
  const now = Date.now();
  if (now - lastDropWarning >= DROP_WARNING_EVERY_MS) {
    log('warn', { dropped: droppedSinceWarning, buffered: buffer.length, max_records: buffer.maxRows, max_bytes: buffer.maxBytes }, `request log records dropped: ${why}`);
    droppedSinceWarning = 0;
    lastDropWarning = now;
  }
}

async function connection(): Promise<pg.Client> {
  if (client !== undefined) return client;
  connecting ??= (async () => {
    const fresh = createPgClient(data.connection, (error) => {
      log('warn', { err: error }, 'request log: Postgres connection lost');
      if (client === fresh) client = undefined;
      void fresh.end().catch(() => undefined);
    });
    try {
      await fresh.connect();
    } catch (error) {
      void fresh.end().catch(() => undefined);
      throw error;
    }
    client = fresh;
    return fresh;
  })().finally(() => {
    connecting = undefined;
  });
  return connecting;
}

function dropConnection(): void {
  const old = client;
  client = undefined;
  void old?.end().catch(() => undefined);
}

async function insert(db: pg.Client, rows: RowValues[]): Promise<void> {
  const params = insertLogsParams(rows);
  try {
    await db.query(INSERT_LOGS_SQL, params);
  } catch (error) {
    if (!isMissingPartition(error)) throw error;
    const days = new Set(rows.map((row) => Math.floor(Number(row[1]) / DAY_MS) * DAY_MS));
    const created = await ensurePartitions(db, days);
    if (created.length > 0) log('info', { partitions: created }, 'request log: partitions created');
    await db.query(INSERT_LOGS_SQL, params);
  }
}

/** A batch Postgres refused for its data: each row on its own, the refused ones dropped. */
async function insertOneByOne(db: pg.Client, rows: RowValues[]): Promise<number> {
  let written = 0;
  for (const row of rows) {
    try {
      await insert(db, [row]);
      written++;
    } catch (error) {
      if (!isDataError(error)) throw error;
      log('warn', { err: error, id: row[0] }, 'request log record refused by Postgres');
      countDropped(1, 'refused by Postgres');
    }
  }
  return written;
}

async function writeHeld(deadline = Infinity): Promise<void> {
  while (buffer.length > 0 && Date.now() < deadline) {
    if (!closing && Date.now() < retryAt) return;
    const rows = buffer.peek(data.batchSize);
    try {
      const db = await connection();
      await ensureAhead(db);
      let written = rows.length;
      try {
        await insert(db, rows);
      } catch (error) {
        if (!isDataError(error)) throw error;
        counters[COUNTER_FAILED_BATCHES]++;
        written = await insertOneByOne(db, rows);
      }
      buffer.remove(rows.length);
      counters[COUNTER_WRITTEN] += written;
      counters[COUNTER_BATCHES]++;
      if (counters[COUNTER_AVAILABLE] === 0) log('info', { down_ms: Date.now() - downSince, buffered: buffer.length }, 'request log: Postgres is back; writing the buffered records');
      counters[COUNTER_AVAILABLE] = 1;
      retryDelay = 0;
    } catch (error) {
      counters[COUNTER_FAILED_BATCHES]++;
      dropConnection();
      if (counters[COUNTER_AVAILABLE] === 1) {
        downSince = Date.now();
        log('error', { err: error, buffered: buffer.length }, 'request log: Postgres cannot take the records; holding them and retrying');
      }
      counters[COUNTER_AVAILABLE] = 0;
      retryDelay = Math.min(data.retryMaxMs, retryDelay === 0 ? data.retryMinMs : retryDelay * 2);
      retryAt = Date.now() + retryDelay * (0.5 + Math.random() / 2);
      publish();
      if (closing) await new Promise((resolve) => setTimeout(resolve, Math.min(retryDelay, Math.max(0, deadline - Date.now()))));
      else return;
    } finally {
      publish();
    }
  }
}

/** One write pass at a time; `then` runs after it. */
function write(deadline?: number): Promise<void> {
  writing ??= writeHeld(deadline).finally(() => {
    writing = undefined;
  });
  return writing;
}

/** Today's and the next days' partitions, when due (at start, then every hour), whether or not there is anything to write. */
async function ensureAhead(db: pg.Client): Promise<void> {
  if (Date.now() < partitionsAt) return;
  const created = await ensurePartitions(db, daysAhead(Date.now()));
  if (created.length > 0) log('info', { partitions: created }, 'request log: partitions created');
  partitionsAt = Date.now() + PARTITIONS_EVERY_MS;
}

const timer = setInterval(() => {
  if (buffer.length > 0) {
    void write();
  } else if (Date.now() >= partitionsAt && Date.now() >= retryAt && writing === undefined) {
    writing = connection().then(ensureAhead).catch((error: unknown) => {
      retryAt = Date.now() + data.retryMaxMs;
      log('warn', { err: error }, 'request log: could not create the partitions ahead (tried again later, and with the next batch)');
    }).finally(() => {
      writing = undefined;
    });
  }
}, data.flushIntervalMs);

port.on('message', (message: PgThreadMessage) => {
  if (message.type === 'records') {
    if (message.secrets !== undefined) registerSecrets(message.secrets);
    bodies = message.bodies;
    let dropped = 0;
    for (const record of message.records) {
      try {
        dropped += buffer.push(rowValues(toRow(record as RequestLogRecord, bodies)));
      } catch (error) {
        // e.g. metadata that JSON cannot serialise: lose this record only
        log('warn', { err: error, id: record?.id }, 'request log record could not be serialised');
        countDropped(1, 'could not be serialised');
      }
    }
    countDropped(dropped, 'the buffer is full (Postgres has not taken them)');
    publish();
    counters[COUNTER_RECEIVED] += message.records.length;
    if (buffer.length >= data.batchSize && Date.now() >= retryAt) void write();
    return;
  }
  if (message.type === 'flush') {
    // One attempt now (even within the backoff), then acknowledge: the caller does not wait for an outage.
    retryAt = 0;
    void (writing ?? Promise.resolve()).then(() => write()).finally(() => acknowledge(message.seq));
    return;
  }
  closing = true;
  clearInterval(timer);
  const deadline = Date.now() + message.budgetMs;
  void (writing ?? Promise.resolve())
    .then(() => write(deadline))
    .catch(() => undefined)
    .finally(async () => {
      counters[COUNTER_UNWRITTEN] = buffer.length;
      if (buffer.length > 0) log('error', { unwritten: buffer.length }, 'request log: records not written to Postgres at close');
      await client?.end().catch(() => undefined);
      acknowledge(message.seq);
      Atomics.store(control, CONTROL_CLOSED, 1);
      Atomics.notify(control, CONTROL_CLOSED);
      port.close();
    });
});
