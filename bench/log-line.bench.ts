/**
 * The cost of one per-request log line at `info`, in-process, written to /dev/null through the
 * same asynchronous destination the gateway uses on stdout:
 *
 * - the former logger: pino `redact` with the 105 paths (39 wildcards) that used to guard every line;
 * - the logger now: the request line is built from fields that hold no secret (`safeLine`) and
 *   written as is; other lines go through one scrub walk (`scrubLogObject`);
 * - no logger work at all beyond pino with neither (the floor).
 *
 *   npx vitest bench --run bench/log-line.bench.ts
 */
import { pino, type Logger } from 'pino';
import { afterAll, bench, describe } from 'vitest';
import { createLogger, SECRET_FIELDS, SECRET_HEADERS, safeLine } from '../src/telemetry/logger.js';

/** The redact paths the logger had before lines were redacted by construction. */
const FORMER_REDACT_PATHS = [
  ...['headers', 'req.headers', 'res.headers', 'request.headers', 'response.headers', '*.headers', '*.*.headers']
    .flatMap((at) => SECRET_HEADERS.map((name) => `${at}["${name}"]`)),
  ...SECRET_FIELDS.flatMap((name) => (/^[A-Za-z_$][\w$]*$/.test(name) ? [name, `*.${name}`] : [`["${name}"]`, `*["${name}"]`])),
];

const destinations: Array<ReturnType<typeof pino.destination>> = [];
function devNull(): ReturnType<typeof pino.destination> {
  const destination = pino.destination({ dest: '/dev/null', sync: false });
  destinations.push(destination);
  return destination;
}

function pinoLogger(extra: Record<string, unknown>): Logger {
  return pino({
    level: 'info',
    base: { service: 'heimdall' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    ...extra,
  }, devNull());
}

const former = pinoLogger({ redact: { paths: FORMER_REDACT_PATHS, censor: '[redacted]' } });
const bare = pinoLogger({});
const current = createLogger({ level: 'info', destination: devNull() as unknown as NodeJS.WritableStream, format: 'json' });

/** The gateway's request line (src/gateway/gateway.ts), with typical values. */
function fields(i: number) {
  return {
    msg: 'request', request_id: `0193f0b2-7c1e-7a3b-9f00-${String(i).padStart(12, '0')}`, trace_id: undefined, method: 'POST',
    route: '/v1/chat/completions', surface: 'openai', model: 'openai/gpt-4o-mini', provider: 'openai', upstream_model: 'gpt-4o-mini',
    status: 200, stream: false, latency_ms: 1.23, overhead_ms: 0.061, ttft_ms: undefined, attempts: 1,
    input_tokens: 12, output_tokens: 9, cost_usd: 0.0000072, error: undefined,
  };
}

afterAll(() => {
  for (const destination of destinations) destination.end();
});

let i = 0;
describe('one per-request log line at info', () => {
  bench('before: pino redact, 105 paths (39 wildcards)', () => {
    former.info(fields(i++));
  });
  bench('now: safeLine (built from safe fields, no scrub)', () => {
    current.info(safeLine(fields(i++)));
  });
  bench('now: the same object not marked safe (scrubbed, as any other line)', () => {
    current.info(fields(i++));
  });
  bench('floor: pino, neither redact nor scrub', () => {
    bare.info(fields(i++));
  });
});
