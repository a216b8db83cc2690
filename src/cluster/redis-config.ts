/**
 * The `redis` section of the config file (cluster mode's shared counters) and
 * its resolved form. HEIMDALL_REDIS_URL wins over `redis.url`; a URL may carry
 * a password, so it is never logged or returned whole (see `redisTarget`).
 */
import { z } from 'zod';

const failMode = z.enum(['open', 'closed']);

/** redis.optimistic_admissions (K) when the configuration does not say. */
export const DEFAULT_OPTIMISTIC_ADMISSIONS = 8;

export const redisSchema = z
  .strictObject({
    url: z
      .string()
      .min(1)
      .optional()
      .describe('redis://[user:password@]host:port[/db] or rediss:// (TLS), or "env.NAME". HEIMDALL_REDIS_URL wins. Set: budgets and rate limits are counted in Redis, shared by every instance (docs/cluster.md).'),
    key_prefix: z
      .string()
      .regex(/^[A-Za-z0-9:._-]*$/, 'letters, digits, ":", ".", "_", "-"')
      .default('heimdall:')
      .describe('Prefix of every Redis key Heimdall writes (several gateways can share one Redis with different prefixes); HEIMDALL_REDIS_KEY_PREFIX wins.'),
    timeout_ms: z
      .number()
      .int()
      .min(10)
      .max(10_000)
      .default(250)
      .describe('Longest wait for one Redis round trip; past it the request is decided by the fail mode of its limits.'),
    connect_timeout_ms: z.number().int().min(100).max(60_000).default(2_000).describe('Longest wait to open a connection to Redis.'),
    reservation_ttl_ms: z
      .number()
      .int()
      .min(1_000)
      .default(15 * 60_000)
      .describe('How long a request in flight holds its reserved cost and tokens; an instance that dies cannot release them, so they lapse after this.'),
    fail_mode: z
      .strictObject({
        budgets: failMode.default('open').describe('"open": while Redis is unreachable each instance keeps counting a budget on its own, from the spend it last saw; "closed": the request is refused (503).'),
        rate_limits: failMode.default('open').describe('"open": while Redis is unreachable each instance enforces the limit on its own counter; "closed": the request is refused (503).'),
      })
      .prefault({})
      .describe('What limits without their own fail_mode do while Redis is unreachable (a budget or a rate limit can set fail_mode itself).'),
    settle_batch_ms: z
      .number()
      .int()
      .min(0)
      .max(1_000)
      .default(0)
      .describe('Longest wait of a settlement (a finished request\'s real cost) before it is written: settlements travel with the next admission\'s round trip, batched, or after this many ms when none comes first (0: each at once). Until written, a finished request counts as in flight.'),
    optimistic_admissions: z
      .number()
      .int()
      .min(0)
      .max(64)
      .default(DEFAULT_OPTIMISTIC_ADMISSIONS)
      .describe('K: a request far from every limit (its headroom, as Redis last reported it, above 4 × K × instances × what the request takes) is admitted without waiting for Redis, its reservation sent behind it; at most K such reservations of an instance are unanswered at once, so a limit is overshot by at most K × instances requests (docs/cluster.md). Near a limit every request waits for Redis. 0: every request waits.'),
    max_pending_settlements: z
      .number()
      .int()
      .min(100)
      .default(100_000)
      .describe('Settlements kept in memory while Redis is unreachable, written when it is back; past this the oldest are dropped (and logged).'),
  })
  .describe('Cluster mode: budgets and rate limits shared by every instance through Redis (docs/cluster.md).');

export type RedisFile = z.infer<typeof redisSchema>;
export type FailMode = z.infer<typeof failMode>;

export interface RedisConfig {
  url: string;
  keyPrefix: string;
  timeoutMs: number;
  connectTimeoutMs: number;
  reservationTtlMs: number;
  failMode: { budgets: FailMode; rateLimits: FailMode };
  maxPendingSettlements: number;
  /** Longest wait of a queued settlement (0: written at once). */
  settleBatchMs: number;
  /** K of optimistic admission (0 or undefined: off; the config file's default is DEFAULT_OPTIMISTIC_ADMISSIONS). */
  optimisticAdmissions?: number;
}

/** The resolved section; undefined when no URL is set (the embedded, single-instance ledger). */
export function resolveRedis(
  file: RedisFile,
  env: NodeJS.ProcessEnv,
  resolveSecret: (value: string, path: string, env: NodeJS.ProcessEnv) => string,
): RedisConfig | undefined {
  const fromEnv = env.HEIMDALL_REDIS_URL;
  const url = fromEnv !== undefined && fromEnv !== '' ? fromEnv : file.url === undefined ? undefined : resolveSecret(file.url, 'redis.url', env);
  if (url === undefined) return undefined;
  return {
    url,
    keyPrefix: env.HEIMDALL_REDIS_KEY_PREFIX !== undefined && env.HEIMDALL_REDIS_KEY_PREFIX !== '' ? env.HEIMDALL_REDIS_KEY_PREFIX : file.key_prefix,
    timeoutMs: file.timeout_ms,
    connectTimeoutMs: file.connect_timeout_ms,
    reservationTtlMs: file.reservation_ttl_ms,
    failMode: { budgets: file.fail_mode.budgets, rateLimits: file.fail_mode.rate_limits },
    maxPendingSettlements: file.max_pending_settlements,
    settleBatchMs: file.settle_batch_ms,
    optimisticAdmissions: file.optimistic_admissions,
  };
}

/** host:port/db of a Redis URL, without user or password (for logs and the API). */
export function redisTarget(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

/** The `redis` section as GET /api/config shows it: the URL without user or password; null when cluster mode is off. */
export function redisView(config: RedisConfig | undefined): Record<string, unknown> | null {
  if (config === undefined) return null;
  return {
    url: redisTarget(config.url),
    key_prefix: config.keyPrefix,
    timeout_ms: config.timeoutMs,
    connect_timeout_ms: config.connectTimeoutMs,
    reservation_ttl_ms: config.reservationTtlMs,
    fail_mode: { budgets: config.failMode.budgets, rate_limits: config.failMode.rateLimits },
    max_pending_settlements: config.maxPendingSettlements,
    settle_batch_ms: config.settleBatchMs,
    optimistic_admissions: config.optimisticAdmissions ?? 0,
  };
}
