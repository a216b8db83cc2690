/**
 * Stored responses on POST /v1/responses (`store`, `previous_response_id`), per request:
 *
 * - bridged (a provider without the Responses API): with `store` (true unless `false` is sent) the
 *   response and the items it was produced from are kept in the gateway's store, scoped to the
 *   virtual key; `previous_response_id` puts the stored input items and the stored response's output
 *   items before the new input, and the whole is decoded as one conversation (a reasoning item's
 *   sealed `encrypted_content` brings the provider's thinking back, as on a stateless turn);
 * - pass-through (a provider with the Responses API): the provider keeps the response under its own
 *   id; the gateway records only which provider (and key) holds that id, for the same key, so the
 *   GET/DELETE routes can forward to it (stored-response-routes.ts) and another key cannot use it.
 *
 * A response kept by one kind cannot be continued on the other: the provider's storage does not
 * know the gateway's ids, and the gateway does not have the provider's items.
 */
import { GatewayError, invalidField } from '../errors/gateway-error.js';
import type { ResponsesRequestFacts } from '../formats/responses/index.js';
import type { RequestContext } from '../gateway/request-context.js';
import type { ResponseStore, StoredResponse } from '../store/response-store.js';
import type { JsonObject } from './validate.js';

type Item = Record<string, unknown>;

/** The scope of a key's stored responses: its virtual key, or one shared scope without virtual keys. */
export function scopeOf(ctx: RequestContext): string {
  return ctx.virtualKeyId ?? '';
}

function isRecord(value: unknown): value is Item {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The id prefix OpenAI gives an item of this type. */
function idPrefix(item: Item): string {
  switch (item.type) {
    case 'function_call_output': return 'fco';
    case 'custom_tool_call_output': return 'ctco';
    case 'function_call': return 'fc';
    case 'reasoning': return 'rs';
    default: return 'msg';
  }
}

/**
 * The caller's `input` as items with ids, as `input_items` lists them: text becomes a user message
 * with an `input_text` part, a message's text content a part, and an item without an id gets one
 * derived from the response's (`msg_<suffix>_in<n>`). Unknown items are kept as they are.
 */
export function inputItems(input: unknown, responseId: string): Item[] {
  const suffix = responseId.startsWith('resp_') ? responseId.slice(5) : responseId;
  const items: unknown[] = typeof input === 'string' ? [{ role: 'user', content: input }] : Array.isArray(input) ? input : [];
  return items.map((raw, n) => {
    if (!isRecord(raw)) return raw as Item;
    const item: Item = { ...raw };
    const isMessage = item.type === undefined || item.type === 'message';
    if (isMessage && typeof item.role === 'string') {
      item.type = 'message';
      if (typeof item.content === 'string') {
        item.content = [{ type: item.role === 'assistant' ? 'output_text' : 'input_text', text: item.content }];
      }
    }
    if (typeof item.id !== 'string' || item.id === '') item.id = `${idPrefix(item)}_${suffix}_in${n}`;
    return item;
  });
}

function previousNotFound(id: string): GatewayError {
  return new GatewayError('HD_ERR_RESPONSES_PREVIOUS_NOT_FOUND', `Previous response with id '${id}' not found.`, { param: 'previous_response_id' });
}

function elsewhere(previous: StoredResponse, here: 'bridged' | 'pass-through'): GatewayError {
  const message = previous.mode === 'provider'
    ? `Previous response '${previous.id}' is kept by provider "${previous.provider}" (its own Responses storage) and cannot be continued on a provider without the Responses API; use a model of "${previous.provider}", or send the conversation as input items.`
    : `Previous response '${previous.id}' is kept by the gateway (a bridged provider) and cannot be continued by a ${here} provider with its own Responses storage; use a bridged model, or send the conversation as input items.`;
  return new GatewayError('HD_ERR_RESPONSES_PREVIOUS_ELSEWHERE', message, { param: 'previous_response_id' });
}

/** One request's stored-response work: the conversation it continues, and what it records. */
export class ResponseMemory {
  readonly scope: string;
  /** `store` is true unless false was sent (the Responses API's default). */
  readonly storing: boolean;
  readonly previous: StoredResponse | undefined;
  /** The items of the whole conversation, with ids (bridged, computed when decoding). */
  private items: Item[] | undefined;
  private recorded = false;

  constructor(
    private readonly store: ResponseStore,
    private readonly ctx: RequestContext,
    private readonly body: JsonObject,
    private readonly now: () => number = Date.now,
  ) {
    this.scope = scopeOf(ctx);
    this.storing = body.store !== false;
    const previousId = body.previous_response_id;
    if (previousId !== undefined && previousId !== null) {
      if (typeof previousId !== 'string' || previousId === '') throw invalidField('previous_response_id', 'previous_response_id: expected a response id string.');
      const previous = store.get(previousId, this.scope);
      if (previous === undefined) throw previousNotFound(previousId);
      this.previous = previous;
    }
  }

  /** Nothing to do for this request: not stored and nothing to continue. */
  get idle(): boolean {
    return !this.storing && this.previous === undefined;
  }

  /** The body the bridge decodes: the stored conversation before the new input, with ids. */
  bridgedBody(responseId: string): JsonObject {
    const previous = this.previous;
    if (previous !== undefined && previous.mode !== 'stored') throw elsewhere(previous, 'bridged');
    if (this.body.input === undefined || this.body.input === null) throw invalidField('input', 'input: Field required.');
    const history = previous === undefined ? [] : [...(previous.inputItems ?? []), ...outputOf(previous)];
    this.items = [...history, ...inputItems(this.body.input, responseId)];
    const body: JsonObject = { ...this.body, input: this.items };
    delete body.previous_response_id;
    return body;
  }

  /** A pass-through request may only continue a response its provider keeps. */
  checkPassthrough(): void {
    if (this.previous !== undefined && this.previous.mode === 'stored') throw elsewhere(this.previous, 'pass-through');
  }

  /** What the bridged response echoes, and sealed reasoning in stored output (restored on the next turn). */
  adjustFacts(facts: ResponsesRequestFacts): void {
    if (this.previous !== undefined) facts.echo.previous_response_id = this.previous.id;
    facts.echo.store = this.storing;
    if (this.storing) facts.encryptedReasoning = true;
  }

  /** Keeps a finished bridged response, before the caller gets its end (the next turn may follow at once). */
  recordBridged(response: Item): void {
    if (!this.storing || this.recorded || typeof response.id !== 'string') return;
    this.recorded = true;
    const target = this.ctx.target;
    this.store.put({
      id: response.id,
      scope: this.scope,
      mode: 'stored',
      provider: target?.provider.name ?? '',
      model: target?.model ?? String(response.model ?? ''),
      keyId: null,
      createdAt: this.now(),
      response,
      inputItems: this.items ?? inputItems(this.body.input, response.id),
    });
  }

  /** Records which provider (and key) keeps a pass-through response's id. */
  recordProvider(id: string): void {
    if (!this.storing || this.recorded) return;
    const target = this.ctx.target;
    if (target === undefined) return;
    this.recorded = true;
    const attempt = this.ctx.attempts[this.ctx.attempts.length - 1];
    this.store.put({
      id,
      scope: this.scope,
      mode: 'provider',
      provider: target.provider.name,
      model: target.model,
      keyId: attempt?.key_id ?? null,
      createdAt: this.now(),
      response: null,
      inputItems: null,
    });
  }
}

/** A stored response's output items (what the model said), as they go back in as input. */
function outputOf(stored: StoredResponse): Item[] {
  const output = stored.response?.output;
  return Array.isArray(output) ? (output as Item[]) : [];
}

const ID_KEY = /"id"\s*:\s*"([^"\\]+)"/;

/** The id of a pass-through response body: its first key, read without parsing the whole body. */
export function responseIdOfBody(raw: Buffer): string | undefined {
  const head = ID_KEY.exec(raw.subarray(0, 200).toString('latin1'));
  if (head !== null && head[1].startsWith('resp')) return head[1];
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as unknown;
    return isRecord(parsed) && typeof parsed.id === 'string' ? parsed.id : undefined;
  } catch {
    return undefined;
  }
}
