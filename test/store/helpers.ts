import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RequestLogRecord } from '../../src/store/log-types.js';

/** A fresh temp dir and its cleanup; call cleanup in afterEach. */
export function makeTempDir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-store-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
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
