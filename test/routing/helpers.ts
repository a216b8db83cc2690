/**
 * Helpers of the routing tests: a gateway whose finished requests are kept
 * (every attempt with provider, key, status, error), per-key faults on the
 * mock upstream's chat route, and a routing state built from a config.
 */
import { contextOf } from '../../src/plugins/request-view.js';
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import { loadConfig } from '../../src/config/load.js';
import type { KeyHealth } from '../../src/gateway/key-health.js';
import { GatewayState } from '../../src/gateway/provider-runtime.js';
import type { AttemptRecord, RequestContext } from '../../src/gateway/request-context.js';
import { startGateway, type TestGateway, type TestGatewayOptions } from '../support/gateway.js';
import { sleep, type MockContext } from '../support/mock-upstream/context.js';
import { DEFAULT_MODELS, type MockUpstream } from '../support/mock-upstream/index.js';
import { chatCompletions } from '../support/mock-upstream/openai-chat.js';
import { openaiErrorBody } from '../support/mock-upstream/openai-errors.js';

export interface RoutingGateway extends TestGateway {
  /** Finished requests, oldest first. */
  finished: RequestContext[];
  /** The attempts of the last finished request as [provider, key, status] (status null: no HTTP status). */
  lastAttempts(): Array<[string, string | undefined, number | null]>;
  /** Resolves once `count` requests have finished. */
  waitFinished(count: number, timeoutMs?: number): Promise<void>;
}

export async function startRoutingGateway(options: TestGatewayOptions): Promise<RoutingGateway> {
  const gateway = await startGateway({ logLevel: 'warn', ...options });
  const finished: RequestContext[] = [];
  gateway.app.gateway.lifecycle.use({ name: 'test-finished', afterResponse: (request) => finished.push(contextOf(request)) });
  return {
    ...gateway,
    finished,
    lastAttempts: () => attemptsOf(finished[finished.length - 1]),
    async waitFinished(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (finished.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} finished requests, got ${finished.length}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}

export function attemptsOf(ctx: RequestContext | undefined): Array<[string, string | undefined, number | null]> {
  return (ctx?.attempts ?? []).map((a: AttemptRecord) => [a.provider, a.key, a.status ?? null]);
}

/** The official SDK without its own retries, so every attempt seen is the gateway's. */
export function client(url: string, timeoutMs = 15_000): OpenAI {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey: 'client-key', maxRetries: 0, timeout: timeoutMs });
}

export interface KeyFault {
  /** Wait before answering (a slow key). */
  delayMs?: number;
  /** Hold the answer until this settles: a request kept in flight exactly as long as the test needs, no timing. */
  until?: Promise<unknown>;
  /** Send SSE headers, then nothing (a stream that hangs before its first byte). */
  hangAfterHeaders?: boolean;
  /** Apply to this many requests of the key, then forget the fault (default: every request). */
  times?: number;
  /** Answer this error status (a dead or rate-limited key). */
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/**
 * Replaces the mock's chat route with one that looks at the upstream key
 * (`Authorization: Bearer <key>`) and applies that key's fault, if any, before
 * the normal reply. Change `faults` at any time; queued behaviours still win.
 */
export function keyedChat(mock: MockUpstream): Map<string, KeyFault> {
  const faults = new Map<string, KeyFault>();
  // The OpenAI model list the health checks read (the mock's Gemini routes also claim GET /v1/models).
  mock.route('GET', /^\/v1\/models$/, (context: MockContext) =>
    context.json(200, { object: 'list', data: DEFAULT_MODELS.map((id) => ({ id, object: 'model', created: 0, owned_by: 'mock' })) }));
  mock.route('POST', /^\/v1\/chat\/completions$/, async (context: MockContext) => {
    const key = keyOf(context.request.headers.authorization);
    const fault = key === undefined ? undefined : faults.get(key);
    if (fault?.times !== undefined && --fault.times <= 0) faults.delete(key!);
    if (fault?.hangAfterHeaders === true) {
      context.response.writeHead(200, { 'content-type': 'text/event-stream' });
      context.response.flushHeaders();
      await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
      return;
    }
    if (fault?.until !== undefined) {
      await Promise.race([fault.until, new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }))]);
      if (context.signal.aborted) return;
    }
    if (fault?.delayMs !== undefined) {
      await sleep(fault.delayMs, context.signal);
      if (context.signal.aborted) return;
    }
    if (fault?.status !== undefined) return context.json(fault.status, fault.body ?? openaiErrorBody(fault.status), fault.headers);
    return chatCompletions(context);
  });
  return faults;
}

/** A latch: `promise` settles when `open()` is called (hold upstream answers with `KeyFault.until`). */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/**
 * Ends an open circuit's cool-down now, as if its clock had moved on by the time left:
 * tests use long cool-downs (no accidental expiry on a busy machine) and no real waits.
 */
export function endCooldown(health: KeyHealth): void {
  health.breaker.openUntil = performance.now();
}

export function keyOf(authorization: string | string[] | undefined): string | undefined {
  const value = Array.isArray(authorization) ? authorization[0] : authorization;
  return value?.startsWith('Bearer ') ? value.slice(7) : undefined;
}

/** How many requests of the mock used each key. */
export function countByKey(mock: MockUpstream): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const request of mock.requests) {
    const key = keyOf(request.headers.authorization) ?? 'none';
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export function routingState(config: unknown, env: Record<string, string> = {}): GatewayState {
  return new GatewayState(loadConfig({ config, env }));
}

export const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'one two three' }];
export const CONTENT = 'echo: one two three';

/** Reads an SDK stream to its end or its error. */
export async function drain(stream: AsyncIterable<OpenAI.Chat.ChatCompletionChunk>): Promise<{ text: string; error: unknown }> {
  let text = '';
  try {
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  } catch (error) {
    return { text, error };
  }
  return { text, error: undefined };
}
