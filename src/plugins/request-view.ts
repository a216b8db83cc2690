/**
 * One request as plugins see it (PluginRequest): a thin view over the
 * gateway's RequestContext, made once per request on first use. Built-in
 * plugins reach the context itself through `contextOf`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestContext } from '../gateway/request-context.js';
import type { ChatRequest, EmbeddingRequest } from '../formats/openai/types.js';
import type { PluginOperation, PluginRequest, PluginSurface, PluginTarget, PluginVirtualKey } from './types.js';

const NO_HEADERS: IncomingHttpHeaders = Object.freeze({}) as IncomingHttpHeaders;

export class RequestView implements PluginRequest {
  constructor(readonly context: RequestContext) {}

  get id(): string {
    return this.context.id;
  }

  get surface(): PluginSurface {
    return this.context.surface;
  }

  get route(): string {
    return this.context.route;
  }

  get headers(): IncomingHttpHeaders {
    return this.context.headers ?? NO_HEADERS;
  }

  get operation(): PluginOperation | undefined {
    return this.context.input?.operation;
  }

  get model(): string | undefined {
    return this.context.input?.model ?? this.context.requestedModel;
  }

  get stream(): boolean {
    return this.context.input?.stream ?? this.context.stream;
  }

  get virtualKey(): PluginVirtualKey | undefined {
    const ctx = this.context;
    return ctx.virtualKeyId === undefined ? undefined : { id: ctx.virtualKeyId, teamId: ctx.teamId, customerId: ctx.customerId };
  }

  get target(): PluginTarget | undefined {
    const target = this.context.target;
    return target === undefined ? undefined : { provider: target.provider.name, model: target.model, label: target.label };
  }

  get attempts(): number {
    return this.context.attempts.length;
  }

  canonical(): ChatRequest | EmbeddingRequest | undefined {
    const input = this.context.input;
    // A native pass-through or media call forwards the caller's bytes: it has no canonical request.
    if (input === undefined || input.raw !== undefined) return undefined;
    return input.canonical();
  }

  get state(): Map<string, unknown> {
    return this.context.hookState;
  }

  setResponseHeader(name: string, value: string): void {
    const ctx = this.context;
    (ctx.responseHeaders ??= {})[name.toLowerCase()] = value;
  }

  get cache(): 'hit' | 'miss' | 'none' {
    return this.context.cache;
  }

  set cache(value: 'hit' | 'miss' | 'none') {
    this.context.cache = value;
  }
}

/** The view of `ctx`, made on first use. */
export function viewOf(ctx: RequestContext): RequestView {
  return (ctx.pluginView ??= new RequestView(ctx)) as RequestView;
}

/** The gateway's context behind a view (built-in plugins). */
export function contextOf(request: PluginRequest): RequestContext {
  return (request as RequestView).context;
}
