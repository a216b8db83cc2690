/**
 * The stored-response routes of the Responses API:
 *
 * | route | a response the gateway stored (bridged) | a pass-through provider's response |
 * | --- | --- | --- |
 * | `GET /v1/responses/{id}` | the response object | forwarded to the provider that keeps it |
 * | `DELETE /v1/responses/{id}` | `{id, object: "response", deleted: true}` | forwarded; the gateway's record goes too |
 * | `GET /v1/responses/{id}/input_items` | a list (`limit`, `order`, `after`) | forwarded |
 * | `POST /v1/responses/{id}/cancel` | a background one: cancelled (background-responses.ts); else 400 | forwarded |
 *
 * A background response the gateway runs shows its progress on GET (and `?stream=true` follows its
 * events, background-responses.ts); DELETE of a running one cancels it first.
 *
 * Every route authenticates like a model call (virtual key) and sees only the key's own
 * responses: another key's id, an unknown one, a deleted or expired one is a 404 in OpenAI's form.
 * A found response's model then goes through the `admit` hooks as a call to it would (the key's
 * model and provider allow-lists: 403; request rate limits: 429; settled at $0, as a token count),
 * so a key that may no longer use a model cannot read what it made with it either.
 * @see https://platform.openai.com/docs/api-reference/responses/get
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, invalidField } from '../errors/gateway-error.js';
import type { Gateway } from '../gateway/gateway.js';
import type { RequestContext } from '../gateway/request-context.js';
import type { Target } from '../gateway/router.js';
import { maskSecretsInBody } from '../gateway/secret-guard.js';
import { pickAvailableKey } from '../gateway/upstream-call.js';
import { resolveTarget } from '../gateway/router.js';
import { admitCount } from './count-tokens.js';
import { recordedCall } from './recorded-call.js';
import type { ResponseStore, StoredResponse } from '../store/response-store.js';
import { startContext } from './respond.js';
import { failRequest, sendFinalAnswer } from './surface-handler.js';
import { scopeOf } from './stored-responses.js';
import type { BackgroundResponses } from './background-responses.js';

type Action = 'retrieve' | 'delete' | 'input_items' | 'cancel';

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

function notFound(id: string): GatewayError {
  return new GatewayError('HD_ERR_RESPONSE_NOT_FOUND', `Response with id '${id}' not found.`);
}

function queryOf(request: FastifyRequest): Record<string, string | undefined> {
  return (request.query ?? {}) as Record<string, string | undefined>;
}

/** A page of a stored response's input items, as OpenAI lists them. */
export function listInputItems(items: ReadonlyArray<Record<string, unknown>>, query: Record<string, string | undefined>): Record<string, unknown> {
  let limit = DEFAULT_LIMIT;
  if (query.limit !== undefined) {
    limit = Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw invalidField('limit', `limit: expected an integer from 1 to ${MAX_LIMIT}.`);
  }
  const order = query.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw invalidField('order', "order: expected 'asc' or 'desc'.");
  let ordered = order === 'asc' ? [...items] : [...items].reverse();
  if (query.after !== undefined && query.after !== '') {
    const at = ordered.findIndex((item) => item.id === query.after);
    if (at === -1) throw invalidField('after', `after: no input item with id '${query.after}' in this response.`);
    ordered = ordered.slice(at + 1);
  }
  const data = ordered.slice(0, limit);
  return {
    object: 'list',
    data,
    first_id: data.length > 0 ? data[0].id ?? null : null,
    last_id: data.length > 0 ? data[data.length - 1].id ?? null : null,
    has_more: ordered.length > limit,
  };
}

/** The answer for a response the gateway stored itself; undefined when it has answered (a stream). */
function answerStored(store: ResponseStore, jobs: BackgroundResponses | undefined, found: StoredResponse, action: Action, request: FastifyRequest, reply: FastifyReply): unknown {
  const running = found.background !== undefined && (found.background.status === 'queued' || found.background.status === 'in_progress');
  switch (action) {
    case 'retrieve': {
      const query = queryOf(request);
      if (query.stream === 'true' && jobs !== undefined) {
        const after = query.starting_after === undefined ? -1 : Number(query.starting_after);
        if (!Number.isInteger(after) || after < -1) throw invalidField('starting_after', 'starting_after: expected a sequence number (an integer from 0).');
        jobs.streamStored(found, reply, after);
        return undefined;
      }
      return jobs?.local(found.id, found.scope) ?? found.response;
    }
    case 'delete':
      if (running && jobs !== undefined) jobs.cancel(found);
      store.delete(found.id, found.scope);
      return { id: found.id, object: 'response', deleted: true };
    case 'input_items':
      return listInputItems(found.inputItems ?? [], queryOf(request));
    case 'cancel':
      if (found.background === undefined || jobs === undefined) throw new GatewayError('HD_ERR_RESPONSE_NOT_CANCELLABLE', 'Only responses created with background=true can be cancelled');
      return jobs.cancel(found);
  }
}

/** The provider's URL for a stored response: its Responses endpoint, then `/{id}` and the action's path. */
function responseUrl(endpointUrl: string, id: string, action: Action): string {
  const [path, query] = endpointUrl.split('?', 2);
  const suffix = action === 'input_items' ? '/input_items' : action === 'cancel' ? '/cancel' : '';
  return `${path}/${encodeURIComponent(id)}${suffix}${query === undefined ? '' : `?${query}`}`;
}

/** Forwards the call to the provider that keeps the response, with the key that made it when it is still configured. */
async function forward(gateway: Gateway, store: ResponseStore, ctx: RequestContext, found: StoredResponse, action: Action, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const provider = gateway.state.providers.get(found.provider);
  if (provider === undefined) {
    throw new GatewayError('HD_ERR_UPSTREAM_UNAVAILABLE', `Response '${found.id}' is kept by provider "${found.provider}", which is not configured any more.`);
  }
  const routing = gateway.state.routing;
  const key = provider.keys.find((k) => k.id === found.keyId) ?? pickAvailableKey(provider, found.model, routing.breaker);
  const target: Target = { provider, model: found.model, label: `${provider.name}/${found.model}`, weight: 1, keyWeight: key?.weight ?? 0, tier: 0 };
  ctx.target = target;
  ctx.requestedModel = target.label;
  const base = provider.endpoint('responses', key, found.model, false);
  const url = responseUrl(base.url, found.id, action);
  const method = action === 'delete' ? 'DELETE' : action === 'cancel' ? 'POST' : 'GET';
  // A GET's query (input_items paging, retrieve's `include`) goes along as the caller wrote it.
  const search = request.url.indexOf('?');
  const query = method === 'GET' && search !== -1 ? request.url.slice(search + 1) : '';
  const endpoint = { ...base, url: query === '' ? url : `${url}${url.includes('?') ? '&' : '?'}${query}` };
  const answer = await recordedCall(gateway, ctx, target, key, { endpoint, method, body: method === 'POST' ? '{}' : undefined });
  // Gone at the provider: the gateway's record of it goes too.
  if (action === 'delete' && (answer.status < 300 || answer.status === 404)) store.delete(found.id, found.scope);
  await sendFinalAnswer(reply, ctx, answer.status, maskSecretsInBody(answer.raw), gateway.lifecycle);
}

/** The `admit` hooks for the stored response's model, as for a call to it (access, request rate limits; $0). */
async function admitStored(gateway: Gateway, ctx: RequestContext, found: StoredResponse): Promise<void> {
  const label = `${found.provider}/${found.model}`;
  if (!gateway.state.providers.has(found.provider)) {
    ctx.requestedModel = label;
    throw new GatewayError('HD_ERR_UPSTREAM_UNAVAILABLE', `Response '${found.id}' was made by provider "${found.provider}", which is not configured any more; its model's access rules cannot be checked.`);
  }
  const target = resolveTarget(gateway.state, label, 'responses');
  await admitCount(gateway, ctx, { model: label, body: () => '' }, target, 'openai');
}

export function registerStoredResponseRoutes(app: FastifyInstance, gateway: Gateway, store: ResponseStore, jobs: BackgroundResponses | undefined): void {
  const handler = (action: Action) => async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const ctx = startContext(gateway, request, reply, 'openai');
    try {
      const received = gateway.lifecycle.runReceived(ctx);
      if (received !== undefined) await received;
      const id = (request.params as { id: string }).id;
      await store.hydrate({ responses: [id] }); // cluster mode: stored through another instance (nothing to wait for otherwise)
      const found = store.get(id, scopeOf(ctx));
      if (found === undefined) throw notFound(id);
      await admitStored(gateway, ctx, found);
      if (found.mode === 'provider') {
        await forward(gateway, store, ctx, found, action, request, reply);
        return;
      }
      const body = answerStored(store, jobs, found, action, request, reply);
      if (body === undefined) {
        ctx.status = 200;
        return; // streamed
      }
      await sendFinalAnswer(reply, ctx, 200, JSON.stringify(body), gateway.lifecycle);
    } catch (error) {
      await failRequest(reply, ctx, error, 'openai', gateway.lifecycle);
    }
  };
  const config = { surface: 'openai' as const };
  app.get('/v1/responses/:id', { config }, handler('retrieve'));
  app.delete('/v1/responses/:id', { config }, handler('delete'));
  app.get('/v1/responses/:id/input_items', { config }, handler('input_items'));
  app.post('/v1/responses/:id/cancel', { config }, handler('cancel'));
}
