/**
 * Active health checks that spend no tokens: on an interval, each key of a
 * provider with `health_check` lists the provider's models (GET .../models
 * with the key's auth). The result feeds the same per-key health state the
 * requests feed: a failure counts against the key's breaker, a pass lets an
 * open circuit probe at once instead of after its full cool-down.
 *
 * Timers are unref'd and follow reloads (`sync`); a check never overlaps
 * the previous one of the same provider.
 */
import { performance } from 'node:perf_hooks';
import type { ResolvedConfig } from '../config/load.js';
import type { Logger } from '../telemetry/logger.js';
import type { GatewayState, KeyRuntime, ProviderRuntime } from './provider-runtime.js';
import { keyVerdict } from './failure-class.js';
import type { UpstreamClient } from './upstream.js';
import { callUpstream } from './upstream-call.js';

export interface CheckResult {
  provider: string;
  key: string;
  ok: boolean;
  status?: number;
  error?: string;
  latency_ms: number;
}

interface Schedule {
  timer: NodeJS.Timeout;
  intervalMs: number;
  running: boolean;
}

export interface HealthCheckHost {
  readonly state: GatewayState;
  readonly upstream: UpstreamClient;
  readonly logger: Logger;
}

export class HealthChecker {
  private readonly schedules = new Map<string, Schedule>();
  private closed = false;

  constructor(private readonly host: HealthCheckHost) {}

  /** Starts, changes or stops the timers to match the providers of `state`. */
  sync(state: GatewayState): void {
    if (this.closed) return;
    const wanted = new Map<string, number>();
    for (const provider of state.providers.values()) {
      if (provider.healthCheck === undefined) continue;
      if (!provider.supports('models')) {
        this.host.logger.warn({ provider: provider.name }, 'health_check is set but the provider has no model listing to check with; skipped');
        continue;
      }
      wanted.set(provider.name, provider.healthCheck.intervalMs);
    }
    for (const [name, schedule] of this.schedules) {
      if (wanted.get(name) !== schedule.intervalMs) {
        clearInterval(schedule.timer);
        this.schedules.delete(name);
      }
    }
    for (const [name, intervalMs] of wanted) {
      if (this.schedules.has(name)) continue;
      const schedule: Schedule = { timer: setInterval(() => void this.tick(name, schedule), intervalMs), intervalMs, running: false };
      schedule.timer.unref();
      this.schedules.set(name, schedule);
    }
  }

  private async tick(name: string, schedule: Schedule): Promise<void> {
    if (schedule.running) return;
    const provider = this.host.state.providers.get(name);
    if (provider === undefined) return;
    schedule.running = true;
    try {
      await this.checkProvider(provider);
    } catch (error) {
      this.host.logger.error({ err: error, provider: name }, 'health check failed unexpectedly');
    } finally {
      schedule.running = false;
    }
  }

  /** Checks every key of the provider now (also what the timer does). */
  async checkProvider(provider: ProviderRuntime): Promise<CheckResult[]> {
    const results: CheckResult[] = [];
    for (const key of provider.keys) results.push(await this.checkKey(provider, key));
    return results;
  }

  /** One check of one key: GET the model list with the key's auth, bounded by the check timeout. */
  async checkKey(provider: ProviderRuntime, key: KeyRuntime): Promise<CheckResult> {
    const routing: ResolvedConfig['routing'] = this.host.state.routing;
    const timeoutMs = provider.healthCheck?.timeoutMs ?? 5000;
    const started = performance.now();
    let status: number | undefined;
    let error: string | undefined;
    try {
      // The same builder and classification as every upstream call (upstream-call.ts); a check takes no
      // concurrency slot and gives its verdict through onCheck below (a check is not a request).
      const answer = await callUpstream({ upstream: this.host.upstream, routing }, {
        provider, key, endpoint: provider.endpoint('models', key, '', false), method: 'GET', model: '', timeoutMs,
      });
      status = answer.status;
      // The key and the server answer: anything but an auth refusal, a rate limit or a server error passes.
      if (answer.failure !== undefined && keyVerdict(answer.failure) === 'failure') error = `health check: HTTP ${status}`;
    } catch (caught) {
      error = `health check: ${(caught as Error).message}`;
    }
    const ok = error === undefined;
    key.health.onCheck(performance.now(), ok, error, routing.breaker, routing.adaptive);
    return { provider: provider.name, key: key.name, ok, status, error, latency_ms: Math.round(performance.now() - started) };
  }

  close(): void {
    this.closed = true;
    for (const schedule of this.schedules.values()) clearInterval(schedule.timer);
    this.schedules.clear();
  }
}
