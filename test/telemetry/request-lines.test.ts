/**
 * The per-request log lines on stdout: under load the lines of one window are written together
 * (one write instead of one per request), a line after a quiet window goes out at once, any other line
 * takes the waiting ones with it in order, and nothing waiting is lost at a flush or at process exit.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { isoTime, loggerOptions, logRequestLine, numberText, REQUEST_LINE_WINDOW_MS, REQUEST_LINES_MAX_CHARS, RequestLineBatcher, safeLine } from '../../src/telemetry/logger.js';
import { ensureBuilt, ROOT } from '../support/cli.js';

/** A stream that keeps each write apart. */
function recorder(): { write(line: string): boolean; flush(cb?: () => void): void; writes: string[]; flushes: number } {
  const sink = {
    writes: [] as string[],
    flushes: 0,
    write(line: string): boolean {
      sink.writes.push(line);
      return true;
    },
    flush(cb?: () => void): void {
      sink.flushes++;
      cb?.();
    },
  };
  return sink;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ids = (text: string) => text.trim().split('\n').map((line) => (JSON.parse(line) as { request_id?: string; msg: string }).request_id ?? (JSON.parse(line) as { msg: string }).msg);

describe('request lines', () => {
  it('the first goes out at once, the rest of its window together when the window ends', async () => {
    const sink = recorder();
    const logger = pino({ base: undefined }, new RequestLineBatcher(sink));
    logRequestLine(logger, safeLine({ msg: 'request', request_id: 'r1' }));
    expect(sink.writes.map(ids)).toEqual([['r1']]);
    logRequestLine(logger, safeLine({ msg: 'request', request_id: 'r2' }));
    logRequestLine(logger, safeLine({ msg: 'request', request_id: 'r3' }));
    expect(sink.writes).toHaveLength(1);
    await sleep(REQUEST_LINE_WINDOW_MS * 3);
    expect(sink.writes.map(ids)).toEqual([['r1'], ['r2', 'r3']]);
    // A window without a line ends the batching: the next line is written at once.
    await sleep(REQUEST_LINE_WINDOW_MS * 3);
    logRequestLine(logger, safeLine({ msg: 'request', request_id: 'r4' }));
    expect(sink.writes.map(ids)).toEqual([['r1'], ['r2', 'r3'], ['r4']]);
  });

  it('any other line is written at once, after the request lines that wait, in order', () => {
    const sink = recorder();
    const logger = pino({ base: undefined }, new RequestLineBatcher(sink));
    logRequestLine(logger, safeLine({ msg: 'request', request_id: 'r1' }));
    logRequestLine(logger, safeLine({ msg: 'request', request_id: 'r2' }));
    logger.warn('something else');
    logger.info('and another');
    expect(sink.writes.map(ids)).toEqual([['r1'], ['r2', 'something else'], ['and another']]);
  });

  it('a flush writes what waits; so does a full window (REQUEST_LINES_MAX_CHARS of waiting lines)', () => {
    const sink = recorder();
    const logger = pino({ base: undefined }, new RequestLineBatcher(sink));
    logRequestLine(logger, safeLine({ msg: 'request', request_id: 'r0' }));
    logRequestLine(logger, safeLine({ msg: 'request', request_id: 'r1' }));
    logger.flush();
    expect(sink.writes.map(ids)).toEqual([['r0'], ['r1']]);
    expect(sink.flushes).toBe(1);
    // 1,000-character lines: the window's lines go out once the cap is reached, without waiting for its end.
    const long = 'x'.repeat(1000);
    const count = Math.ceil(REQUEST_LINES_MAX_CHARS / 1000) + 2;
    for (let i = 2; i < 2 + count; i++) logRequestLine(logger, safeLine({ msg: 'request', request_id: `r${i}`, error: long }));
    const before = sink.writes.length;
    expect(before).toBe(3);
    expect(sink.writes[2].length).toBeGreaterThanOrEqual(REQUEST_LINES_MAX_CHARS);
    expect(sink.writes[2].length).toBeLessThan(REQUEST_LINES_MAX_CHARS + 1100);
    logger.flush();
    expect(sink.writes).toHaveLength(4);
    expect(sink.writes.slice(2).flatMap(ids)).toEqual(Array.from({ length: count }, (_, i) => `r${i + 2}`));
  });

  it('another destination writes each line at once', () => {
    const writes: string[] = [];
    const logger = pino({ base: undefined }, { write: (line: string) => writes.push(line) });
    logRequestLine(logger, safeLine({ msg: 'request', request_id: 'r1' }));
    logRequestLine(logger, safeLine({ msg: 'request', request_id: 'r2' }));
    expect(writes.map(ids)).toEqual([['r1'], ['r2']]);
  });

  it('a line is put together exactly as pino writes the same fields', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2026, 11, 7, 15, 30, 1, 5));
    const batched = recorder();
    const plain: string[] = [];
    const fast = pino(loggerOptions('info'), new RequestLineBatcher(batched));
    const slow = pino(loggerOptions('info'), { write: (line: string) => plain.push(line) });
    const fields = {
      msg: 'request', request_id: 'r-1', quote: 'say "hi" \\ there', control: 'a\nb\tc', unicode: 'gpt-编码 é \u2028', long: 'y'.repeat(150), lone: '\ud800',
      count: 3, fraction: 0.000123, huge: 1e21, nan: Number.NaN, infinite: Number.POSITIVE_INFINITY, none: null, yes: true, no: false, missing: undefined, empty: '',
    };
    logRequestLine(fast, safeLine(fields));
    slow.info(safeLine({ ...fields }));
    logRequestLine(fast.child({ worker: 2 }), safeLine({ msg: 'request', status: 200 }));
    slow.child({ worker: 2 }).info(safeLine({ msg: 'request', status: 200 }));
    fast.flush();
    expect(batched.writes.join('')).toBe(plain.join(''));
    expect(JSON.parse(plain[0])).toMatchObject({ level: 'info', time: '2026-12-07T15:30:01.005Z', service: 'heimdall', quote: 'say "hi" \\ there', nan: null });
    // Below the level nothing is written.
    const quiet = recorder();
    logRequestLine(pino(loggerOptions('warn'), new RequestLineBatcher(quiet)), safeLine({ msg: 'request' }));
    expect(quiet.writes).toEqual([]);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('a number is written as String() writes it', () => {
    const values = [0, -0, 1, 7, -1.5, 0.001, 0.01, 0.1, 0.5, 0.999, 1.005, 2.675, 4.35, 10.1, 10.01, 10.001, 12.34, 999999.999, 1e6, 1e6 + 0.5,
      0.0001, 0.000123, 1e-7, 5e-324, 0.1 + 0.2, 123.456789, 1e21, 2 ** 53, Number.MAX_VALUE];
    for (let k = 0; k < 20_000; k++) {
      values.push(k / 1000, k / 100, Math.round(Math.random() * 1e9) / 1000, Math.round(Math.random() * 1e8) / 100, Math.random() * 1000, Math.round(Math.random() * 1e6) / 1e6);
    }
    for (const value of values) expect(numberText(value)).toBe(String(value));
  });

  it('the time is pino\'s ISO time, to the millisecond', () => {
    for (const now of [Date.UTC(2026, 11, 7, 15, 30, 0, 0), Date.UTC(2026, 11, 7, 15, 30, 0, 7), Date.UTC(2026, 11, 7, 15, 30, 0, 42), Date.UTC(2026, 11, 7, 15, 30, 59, 999), Date.UTC(2027, 0, 1, 0, 0, 0, 123)]) {
      expect(isoTime(now)).toBe(`,"time":"${new Date(now).toISOString()}"`);
    }
  });
});

describe('request lines at process exit', () => {
  beforeAll(() => ensureBuilt(), 180_000);

  /** A process that logs `count` request lines in one window to stdout, then ends as `how` says. */
  function run(how: 'exit' | 'drained' | 'flush'): string[] {
    const logger = JSON.stringify(join(ROOT, 'dist', 'telemetry', 'logger.js'));
    const script = `
      const { createLogger, logRequestLine, safeLine } = await import(${logger});
      const log = createLogger({ level: 'info', format: 'json' });
      for (let i = 0; i < 50; i++) logRequestLine(log, safeLine({ msg: 'request', request_id: 'r' + i }));
      if (${JSON.stringify(how)} === 'exit') process.exit(0);
      if (${JSON.stringify(how)} === 'flush') { log.flush(); setTimeout(() => process.exit(0), 200); }
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(child.status).toBe(0);
    return child.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { request_id: string }).request_id);
  }

  const all = Array.from({ length: 50 }, (_, i) => `r${i}`);

  it.each(['drained', 'flush'] as const)('every line is written, in order (%s)', (how) => {
    expect(run(how)).toEqual(all);
  });

  it('every line is written at process.exit (the first may land last: its write was still in flight, as with pino alone)', () => {
    const written = run('exit');
    expect(written.toSorted()).toEqual(all.toSorted());
    expect(written.filter((id) => id !== 'r0')).toEqual(all.slice(1));
  });
});
