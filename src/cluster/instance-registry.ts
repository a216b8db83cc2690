/**
 * Which instances the cluster has: each one writes a heartbeat to Redis every
 * HEARTBEAT_MS (its address, version, uptime and load), kept HEARTBEAT_TTL_MS;
 * an instance that stops writing (killed, cut off) drops out of the list
 * after that. All keys share one hash tag, so listing them is one slot's
 * work in Redis Cluster too:
 *
 *   <prefix>{instances}:index          zset: instance id -> last heartbeat (ms)
 *   <prefix>{instances}:i:<id>         JSON heartbeat, expires after HEARTBEAT_TTL_MS
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import type { InstanceHeartbeat, InstanceLoad } from './cluster-view.js';

export const HEARTBEAT_MS = 5_000;
export const HEARTBEAT_TTL_MS = 15_000;

export interface InstanceRegistryOptions {
  /** Cluster mode's Redis; without it the list is this instance alone. */
  redis: Redis | undefined;
  prefix: string;
  version: string;
  /** Requests in flight on this instance. */
  inFlight(): number;
  /** Requests finished on this instance since start. */
  finished(): number;
  now?: () => number;
  /** Told after each heartbeat how many instances have a live one (optimistic admission's margin). */
  onCount?: (count: number) => void;
}

export class InstanceRegistry {
  readonly id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly startedAt: number;
  private address = '';
  private timer: NodeJS.Timeout | undefined;
  private lastCpu = process.cpuUsage();
  private lastAt: number;
  private lastFinished = 0;
  private readonly loop = monitorEventLoopDelay({ resolution: 20 });
  private readonly now: () => number;

  constructor(private readonly options: InstanceRegistryOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.lastAt = this.startedAt;
  }

  private get indexKey(): string {
    return `${this.options.prefix}{instances}:index`;
  }

  private instanceKey(id: string): string {
    return `${this.options.prefix}{instances}:i:${id}`;
  }

  /** Starts beating (the first at once); a failed beat is retried with the next. */
  start(address: string): void {
    this.address = address;
    this.loop.enable();
    if (this.options.redis === undefined) return;
    void this.beat();
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  private load(now: number): InstanceLoad {
    const cpu = process.cpuUsage(this.lastCpu);
    const elapsedMs = Math.max(1, now - this.lastAt);
    this.lastCpu = process.cpuUsage();
    this.lastAt = now;
    const finished = this.options.finished();
    const rate = ((finished - this.lastFinished) * 1000) / elapsedMs;
    this.lastFinished = finished;
    const p99 = this.loop.count > 0 ? this.loop.percentile(99) / 1e6 : 0;
    this.loop.reset();
    return {
      in_flight: this.options.inFlight(),
      requests_per_s: Math.round(rate * 10) / 10,
      cpu_percent: Math.round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 1000) / 10,
      rss_bytes: process.memoryUsage.rss(),
      event_loop_delay_p99_ms: Math.round(p99 * 10) / 10,
    };
  }

  heartbeat(): InstanceHeartbeat {
    const now = this.now();
    return {
      id: this.id, address: this.address, hostname: hostname(), pid: process.pid, version: this.options.version,
      started_at: this.startedAt, uptime_s: Math.round((now - this.startedAt) / 1000), load: this.load(now), last_heartbeat_at: now,
    };
  }

  async beat(): Promise<void> {
    const redis = this.options.redis;
    if (redis === undefined) return;
    const beat = this.heartbeat();
    try {
      const replies = await redis.multi()
        .set(this.instanceKey(this.id), JSON.stringify(beat), 'PX', HEARTBEAT_TTL_MS)
        .zadd(this.indexKey, beat.last_heartbeat_at, this.id)
        .zremrangebyscore(this.indexKey, '-inf', beat.last_heartbeat_at - HEARTBEAT_TTL_MS)
        .zcard(this.indexKey)
        .exec();
      const count = replies?.[3]?.[1];
      if (typeof count === 'number') this.options.onCount?.(count);
    } catch {
      // Redis unreachable: the shared ledger reports it; the next beat tries again.
    }
  }

  /** Every instance with a heartbeat younger than HEARTBEAT_TTL_MS, this one first. */
  async list(): Promise<InstanceHeartbeat[]> {
    const redis = this.options.redis;
    if (redis === undefined) return [this.heartbeat()];
    const ids = await redis.zrangebyscore(this.indexKey, this.now() - HEARTBEAT_TTL_MS, '+inf');
    if (ids.length === 0) return [];
    const values = await redis.mget(...ids.map((id) => this.instanceKey(id)));
    const beats: InstanceHeartbeat[] = [];
    for (const value of values) {
      if (value === null) continue;
      try {
        beats.push(JSON.parse(value) as InstanceHeartbeat);
      } catch {
        // Not ours: skipped.
      }
    }
    return beats.sort((a, b) => (a.id === this.id ? -1 : b.id === this.id ? 1 : a.address.localeCompare(b.address)));
  }

  /** Stops beating and leaves the list at once (a clean shutdown). */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.loop.disable();
    if (this.options.redis === undefined) return;
    try {
      await this.options.redis.multi().del(this.instanceKey(this.id)).zrem(this.indexKey, this.id).exec();
    } catch {
      // Gone from the list when its heartbeat expires.
    }
  }
}
