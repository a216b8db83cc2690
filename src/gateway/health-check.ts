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
import { readBody, TOTAL_TIMEOUT, type UpstreamClient } from './upstream.js';
import { UpstreamFailure } from './upstream-failure.js';

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

function abortCheck(controller: AbortController): void {
  controller.abort(TOTAL_TIMEOUT);
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
    const controller = new AbortController();
    const timer = setTimeout(abortCheck, timeoutMs, controller);
    let status: number | undefined;
    let error: string | undefined;
    try {
      const endpoint = provider.endpoint('models', key, '', false);
      let headers = endpoint.headers;
      if (provider.definition.authorize !== undefined) {
        const context = { baseUrl: provider.baseUrl, apiKey: key.secret, model: '', stream: false, options: provider.options };
        headers = { ...headers, ...(await provider.definition.authorize({ method: 'GET', url: endpoint.url, headers, body: '', context })) };
      }
      const timeouts = {
        connectMs: Math.min(provider.timeouts.connectMs, timeoutMs),
        firstByteMs: timeoutMs,
        idleMs: timeoutMs,
        totalMs: timeoutMs,
      };
      const response = await this.host.upstream.request({ url: endpoint.url, method: 'GET', headers, timeouts, signal: controller.signal });
      status = response.status;
      await readBody(response.body, controller.signal);
      // The key and the server answer: anything but an auth refusal, a rate limit or a server error passes.
      if (status >= 500 || status === 401 || status === 403 || status === 408 || status === 429) error = `health check: HTTP ${status}`;
    } catch (caught) {
      error = caught instanceof UpstreamFailure ? `health check: ${caught.message}` : `health check: ${(caught as Error).message}`;
    } finally {
      clearTimeout(timer);
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
