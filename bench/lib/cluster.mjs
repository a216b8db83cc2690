// What the cluster-mode benchmarks share: their options, a Redis key prefix of the run's own, and its cleanup.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';

/**
 * --redis URL (required), --rate, --duration, --pairs (+ --warmup), --base DIR (a checkout whose dist/ is an
 * earlier build, run as a third step of each round: before/after in one run); exits 2 with the usage line
 * without --redis.
 */
export function clusterBenchOptions(script, defaults) {
  const { values } = parseArgs({
    options: {
      redis: { type: 'string' },
      rate: { type: 'string', default: '1000' },
      duration: { type: 'string', default: defaults.duration },
      warmup: { type: 'string', default: '2' },
      pairs: { type: 'string', default: '3' },
      base: { type: 'string' },
    },
  });
  if (values.redis === undefined) {
    process.stderr.write(`usage: node bench/${script} --redis redis://HOST:PORT [--rate 1000] [--duration ${defaults.duration}] [--pairs 3] [--base DIR]\n`);
    process.exit(2);
  }
  return values;
}

export const runPrefix = () => `heimdall-bench:${randomBytes(4).toString('hex')}:`;

/** Deletes every key under the prefix (SCAN, never KEYS). */
export async function dropKeys(url, prefix) {
  const redis = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}

/** The middle value (the upper one of an even count); NaN for none. */
export function median(list) {
  const sorted = list.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor(sorted.length / 2)];
}

/** The steps of round `round`: the embedded ledger, Redis, and Redis on the base build; each round in another order. */
export function roundOrder(round, withBase) {
  const names = withBase ? ['embedded', 'redis', 'redis-base'] : ['embedded', 'redis'];
  const shift = round % names.length;
  return [...names.slice(shift), ...names.slice(0, shift)];
}

export const fmt = (value, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
