/**
 * Prometheus metrics of the MCP gateway, on the gateway's registry (GET /metrics):
 * tool calls by server, tool and outcome, their duration, the USD charged for
 * them, and whether each upstream server is connected.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BoundedLabel } from '../telemetry/metric-families.js';
import type { McpHub } from './hub.js';

/** Outcome label of a tool call. */
export type CallStatus = 'ok' | 'tool_error' | 'refused' | 'rate_limited' | 'budget' | 'unavailable' | 'timeout' | 'upstream_error' | 'not_found';

export class McpMetrics {
  private readonly calls: Counter<'server' | 'tool' | 'status'>;
  private readonly duration: Histogram<'server'>;
  private readonly cost: Counter<'server'>;
  /** Tool names come from upstream servers: bounded. */
  private readonly toolLabel = new BoundedLabel(500);

  constructor(registry: Registry, hub: McpHub) {
    this.calls = new Counter({ name: 'heimdall_mcp_tool_calls_total', help: 'MCP tool calls through Heimdall by upstream server, tool and outcome.', labelNames: ['server', 'tool', 'status'], registers: [registry] });
    this.duration = new Histogram({
      name: 'heimdall_mcp_tool_call_duration_seconds', help: 'Duration of MCP tool calls (the upstream server\'s time included).', labelNames: ['server'],
      buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [registry],
    });
    this.cost = new Counter({ name: 'heimdall_mcp_tool_cost_usd_total', help: 'USD charged for MCP tool calls (price_per_call, tool_prices).', labelNames: ['server'], registers: [registry] });
    new Gauge({
      name: 'heimdall_mcp_server_up', help: '1 when the upstream MCP server is connected, 0 otherwise.', labelNames: ['server'], registers: [registry],
      collect() {
        this.reset();
        for (const server of hub.servers()) this.set({ server: server.name }, server.status === 'ready' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'heimdall_mcp_server_restarts', help: 'Reconnections (stdio: process restarts) of each upstream MCP server since start.', labelNames: ['server'], registers: [registry],
      collect() {
        this.reset();
        for (const server of hub.servers()) this.set({ server: server.name }, server.health().restarts);
      },
    });
  }

  observe(server: string, tool: string, status: CallStatus, seconds: number | undefined, costUsd: number): void {
    this.calls.inc({ server, tool: this.toolLabel.value(tool), status });
    if (seconds !== undefined) this.duration.observe({ server }, seconds);
    if (costUsd > 0) this.cost.inc({ server }, costUsd);
  }
}
