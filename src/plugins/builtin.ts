/**
 * The built-in plugins every gateway runs: `metrics` and `access-log`.
 * Governance (src/governance/plugin.ts), the request log (src/store/wiring.ts)
 * and tracing (src/telemetry/telemetry.ts) register theirs where they are set up.
 */
import type { Gateway } from '../gateway/gateway.js';
import { accessLogPlugin } from './access-log.js';
import { metricsPlugin } from './metrics.js';

export function registerCorePlugins(gateway: Gateway): void {
  gateway.lifecycle.use(metricsPlugin(gateway.metrics));
  gateway.lifecycle.use(accessLogPlugin(gateway.logger));
}
