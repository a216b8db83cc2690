import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { databasePath, openDatabase, openWriteConnection, type SqliteDatabase } from '../../src/store/database.js';
import type { RequestLogRecord } from '../../src/store/log-types.js';
import { LogWriter } from '../../src/store/log-writer.js';

/** A fresh temp dir and its cleanup; call cleanup in afterEach. */
export function makeTempDir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-store-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A database in a temp dir with the gateway's two connections: the main one, and the one the request-log
 * thread writes through (here a LogWriter flushed by hand). The log connection's busy timeout is 0 by
 * default: a test runs both on one thread, where waiting for the other's lock could only time out.
 */
export function mainAndLogConnections(busyTimeoutMs = 0): { main: SqliteDatabase; logs: LogWriter; close: () => void } {
  const temp = makeTempDir();
  const main = openDatabase(temp.dir);
  const logConnection = openWriteConnection(databasePath(temp.dir), busyTimeoutMs);
  const logs = new LogWriter(logConnection, { autoFlush: false });
  return {
    main,
    logs,
    close: () => {
      logs.close();
      logConnection.close();
      main.close();
      temp.cleanup();
    },
  };
}

let counter = 0;

/** A plausible log record; override what a test cares about. */
export function logRecord(overrides: Partial<RequestLogRecord> = {}): RequestLogRecord {
  counter++;
  return {
    id: `req-${String(counter).padStart(8, '0')}`,
    time: 1_700_000_000_000,
    surface: 'openai',
    route: '/v1/chat/completions',
    method: 'POST',
    provider: 'openai',
    model: 'gpt-4o-mini',
    requested_model: 'openai/gpt-4o-mini',
    status: 200,
    latency_ms: 100,
    upstream_ms: 95,
    ttft_ms: 40,
    overhead_us: 350,
    input_tokens: 10,
    output_tokens: 20,
    cached_tokens: 0,
    cost_usd: 0.001,
    cost_known: true,
    stream: false,
    attempts: [{ provider: 'openai', model: 'gpt-4o-mini', status: 200, latency_ms: 95 }],
    ...overrides,
  };
}
