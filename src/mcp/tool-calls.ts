/**
 * One governed MCP tool call, the same for /mcp and the server-side tool loop:
 * the tool is looked up by its namespaced name, the caller's allow-lists are
 * checked, the call is admitted by the key's rate limits (rules whose model
 * pattern starts with "mcp/") and budgets (the tool's price per call), run
 * with the server's timeout, charged, logged (pino line and tool-call table,
 * arguments with secrets masked) and counted in the metrics.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { GatewayError } from '../errors/gateway-error.js';
import { formatResetDuration } from '../governance/durations.js';
import type { Governance } from '../governance/governance.js';
import type { Decision, LimitSpec, Ticket } from '../governance/ledger.js';
import { limitSpecs, type KeyState } from '../governance/registry.js';
import { redactValue } from '../store/redact.js';
import { redactText } from '../telemetry/secrets.js';
import { mayUseTool } from './access.js';
import type { McpHub, NamespacedTool } from './hub.js';
import type { CallStatus, McpMetrics } from './metrics.js';
import type { McpStore } from './store.js';
import { UpstreamUnavailableError } from './upstream.js';

/** Rate-limit rules that count tool calls name them "mcp/<server>__<tool>" ("mcp/*", "mcp/github__*"). */
export const TOOL_LIMIT_PREFIX = 'mcp/';

export interface ToolCaller {
  key: KeyState | undefined;
  origin: 'mcp' | 'loop';
  sessionId?: string;
  requestId?: string;
}

export interface ToolCallsLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

export interface ToolCallsDeps {
  hub: McpHub;
  governance: Governance | undefined;
  store: McpStore | undefined;
  metrics: McpMetrics;
  logger: ToolCallsLogger;
}

function priceOf(found: NamespacedTool): number {
  const config = found.server.config;
  return config.toolPrices[found.tool.name] ?? config.pricePerCall;
}

function resultBytes(result: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(result));
  } catch {
    return 0;
  }
}

function usd(value: number): string {
  return `$${value < 0.01 && value > 0 ? value.toPrecision(2) : value.toFixed(2)}`;
}

export class ToolCalls {
  constructor(private readonly deps: ToolCallsDeps) {}

  /** The tool, if it exists and the caller may use it; throws a coded error otherwise. */
  find(caller: ToolCaller, namespaced: string): NamespacedTool {
    const found = this.deps.hub.tool(namespaced);
    if (found === undefined) throw new GatewayError('HD_ERR_MCP_TOOL_NOT_FOUND', `No MCP tool is named "${namespaced}" (or its server is not connected).`, { param: 'name' });
    if (!mayUseTool(caller.key, found.server.name, namespaced)) {
      throw new GatewayError('HD_ERR_MCP_FORBIDDEN', `The virtual key "${caller.key!.record.name}" may not call the MCP tool "${namespaced}".`, { param: 'name' });
    }
    return found;
  }

  /**
   * Runs the call. Refusals and failures throw a GatewayError (not found 404, forbidden 403, rate
   * limit 429, budget 402, server down 503, timeout 504, upstream protocol error 502); a tool that
   * answers `isError: true` is a result, not a failure.
   */
  async call(caller: ToolCaller, namespaced: string, args: Record<string, unknown> | undefined, signal?: AbortSignal): Promise<CallToolResult> {
    const started = performance.now();
    let found: NamespacedTool | undefined;
    let ticket: Ticket | undefined;
    let costUsd = 0;
    let result: CallToolResult | undefined;
    let failure: GatewayError | undefined;
    try {
      found = this.find(caller, namespaced);
      const price = priceOf(found);
      ticket = await this.admit(caller, namespaced, price);
      try {
        result = await found.server.callTool(found.tool.name, args, this.deps.hub.toolTimeoutMs(found.server), signal);
      } catch (error) {
        throw this.classify(found, error);
      }
      costUsd = price;
      return result;
    } catch (error) {
      failure = error instanceof GatewayError ? error : new GatewayError('HD_ERR_MCP_UPSTREAM_ERROR', redactText(String((error as Error)?.message ?? error)), { cause: error });
      throw failure;
    } finally {
      if (ticket !== undefined) this.deps.governance?.ledger.settle(ticket, { now: this.deps.governance.now(), costUsd, tokens: 0 });
      this.record(caller, namespaced, found, args, performance.now() - started, result, failure, costUsd);
    }
  }

  /** Rate limits and budgets of the key (and its team and customer); the ticket reserves the price. */
  private async admit(caller: ToolCaller, namespaced: string, price: number): Promise<Ticket | undefined> {
    const key = caller.key;
    const governance = this.deps.governance;
    if (key === undefined || governance === undefined) return undefined;
    const counted = `${TOOL_LIMIT_PREFIX}${namespaced}`;
    const rules = key.limits.filter((limit) => limit.rule.model.startsWith(TOOL_LIMIT_PREFIX) && limit.rule.requests !== null);
    const limits: LimitSpec[] = limitSpecs(rules, [counted], counted).filter((spec) => spec.kind === 'requests');
    const now = governance.now();
    const decision: Decision = await governance.ledger.admit({ now, accounts: key.levels.map((level) => level.account), estimateUsd: price, limits, estimateTokens: 0 });
    if (decision.ok) return decision.ticket;
    if (decision.kind === 'rate') {
      governance.rejections.rate_limited++;
      return Promise.reject(new GatewayError(
        'HD_ERR_RATE_LIMITED',
        `Rate limit reached: the virtual key "${key.record.name}" may make ${decision.spec.limit} MCP tool calls per ${formatResetDuration(decision.spec.windowMs)}; retry in ${formatResetDuration(decision.retryAfterMs)}.`,
        { retryAfter: decision.retryAfterMs / 1000 },
      ));
    }
    const limit = decision.account.limitUsd ?? 0;
    governance.rejections.budget_exceeded++;
    return Promise.reject(new GatewayError(
      'HD_ERR_BUDGET_EXCEEDED',
      `Budget exceeded: the ${decision.account.type === 'key' ? `virtual key "${key.record.name}"` : `${decision.account.type} of the virtual key "${key.record.name}"`} may spend ${usd(limit)} and has spent ${usd(decision.spendUsd)}; the MCP tool "${namespaced}" costs ${usd(price)} a call.`,
    ));
  }

  private classify(found: NamespacedTool, error: unknown): GatewayError {
    if (error instanceof UpstreamUnavailableError) return new GatewayError('HD_ERR_MCP_SERVER_UNAVAILABLE', error.message);
    const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
    const message = redactText(error instanceof Error ? error.message : String(error));
    if (code === -32001) {
      return new GatewayError('HD_ERR_MCP_TOOL_TIMEOUT', `The MCP tool "${found.name}" did not answer within ${this.deps.hub.toolTimeoutMs(found.server)} ms.`);
    }
    if (code === -32000) return new GatewayError('HD_ERR_MCP_SERVER_UNAVAILABLE', `The MCP server "${found.server.name}" closed the connection during the call.`);
    return new GatewayError('HD_ERR_MCP_UPSTREAM_ERROR', `The MCP server "${found.server.name}" refused the call: ${message}`, { cause: error });
  }

  private record(
    caller: ToolCaller, namespaced: string, found: NamespacedTool | undefined, args: unknown, durationMs: number,
    result: CallToolResult | undefined, failure: GatewayError | undefined, costUsd: number,
  ): void {
    const server = found?.server.name ?? namespaced.split('__')[0] ?? '';
    const tool = found?.tool.name ?? namespaced;
    const bytes = result === undefined ? 0 : resultBytes(result);
    const isError = result?.isError === true;
    const status: CallStatus = failure === undefined ? (isError ? 'tool_error' : 'ok') : statusOf(failure);
    const masked = args === undefined ? undefined : redactValue(args);
    const reached = failure === undefined || status === 'timeout' || status === 'upstream_error';
    this.deps.metrics.observe(found === undefined ? 'unknown' : server, found === undefined ? 'unknown' : tool, status, reached ? durationMs / 1000 : undefined, costUsd);
    const line = {
      mcp_server: server, mcp_tool: tool, origin: caller.origin, session_id: caller.sessionId, request_id: caller.requestId,
      virtual_key_id: caller.key?.record.id, status, duration_ms: Math.round(durationMs * 10) / 10, result_bytes: bytes, cost_usd: costUsd,
      arguments: masked, error: failure?.message,
    };
    if (failure === undefined) this.deps.logger.info(line, 'mcp tool call');
    else this.deps.logger.warn(line, 'mcp tool call failed');
    this.deps.store?.enqueue({
      time: Date.now(),
      server,
      tool,
      origin: caller.origin,
      session_id: caller.sessionId ?? null,
      request_id: caller.requestId ?? null,
      virtual_key_id: caller.key?.record.id ?? null,
      team_id: caller.key?.team?.id ?? null,
      arguments: masked,
      duration_ms: Math.round(durationMs * 10) / 10,
      result_bytes: bytes,
      is_error: isError,
      error: failure === undefined ? null : `${failure.publicCode}: ${failure.message}`,
      cost_usd: failure === undefined ? costUsd : null,
    });
  }
}

function statusOf(error: GatewayError): CallStatus {
  switch (error.code) {
    case 'HD_ERR_MCP_TOOL_NOT_FOUND': return 'not_found';
    case 'HD_ERR_MCP_FORBIDDEN': return 'refused';
    case 'HD_ERR_RATE_LIMITED': return 'rate_limited';
    case 'HD_ERR_BUDGET_EXCEEDED': return 'budget';
    case 'HD_ERR_MCP_SERVER_UNAVAILABLE': return 'unavailable';
    case 'HD_ERR_MCP_TOOL_TIMEOUT': return 'timeout';
    default: return 'upstream_error';
  }
}
