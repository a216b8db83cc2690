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
 * A response the gateway stored can be continued on a pass-through provider: its items are sent as
 * input (the provider's storage does not know the gateway's ids), without the items' ids and without
 * the reasoning items, whose sealed content only the gateway can read (a warning says so). The other
 * way is refused: the gateway does not have the items a provider keeps.
 *
 * `item_reference` items are resolved from the items of the scope's stored responses (by id), on
 * either kind of provider; a reference the store does not know is left to the decoder (bridged) or
 * to the provider (pass-through).
 */
import { GatewayError, invalidField } from '../errors/gateway-error.js';
import type { ResponsesRequestFacts } from '../formats/responses/index.js';
import type { RequestContext } from '../gateway/request-context.js';
import type { BackgroundStatus, ResponseStore, StoredResponse } from '../store/response-store.js';
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

function elsewhere(previous: StoredResponse): GatewayError {
  const message = `Previous response '${previous.id}' is kept by provider "${previous.provider}" (its own Responses storage) and cannot be continued on a provider without the Responses API; use a model of "${previous.provider}", or send the conversation as input items.`;
  return new GatewayError('HD_ERR_RESPONSES_PREVIOUS_ELSEWHERE', message, { param: 'previous_response_id' });
}

function hasReferences(input: unknown): boolean {
  if (!Array.isArray(input)) return false;
  for (const item of input) if (isRecord(item) && item.type === 'item_reference') return true;
  return false;
}

/**
 * Items of the gateway's store as a pass-through provider takes them: without their ids (the
 * provider does not know them) and without reasoning items (sealed for the gateway; another
 * provider's thinking). Returns how many reasoning items were left out.
 */
function forProvider(items: readonly Item[]): { items: Item[]; reasoning: number } {
  const out: Item[] = [];
  let reasoning = 0;
  for (const item of items) {
    if (!isRecord(item)) continue;
    if (item.type === 'reasoning') {
      reasoning++;
      continue;
    }
    const copy: Item = { ...item };
    delete copy.id;
    if (copy.type === 'message' && copy.role !== 'assistant') delete copy.status;
    out.push(copy);
  }
  return { items: out, reasoning };
}

/** What a background response's request tells its stored-response work (background-responses.ts). */
export interface BackgroundMark {
  /** The process running it, as the store records it. */
  readonly runner: string;
}

/** One request's stored-response work: the conversation it continues, and what it records. */
export class ResponseMemory {
  readonly scope: string;
  /** `store` is true unless false was sent (the Responses API's default). */
  readonly storing: boolean;
  readonly previous: StoredResponse | undefined;
  /** The items of the whole conversation, with ids (bridged, computed when decoding). */
  private items: Item[] | undefined;
  /** Of those, the ones this request added (indexed for `item_reference`). */
  private own: Item[] | undefined;
  /** The input holds `item_reference` items (resolved from the store). */
  private readonly references: boolean;
  private recorded = false;

  constructor(
    private readonly store: ResponseStore,
    private readonly ctx: RequestContext,
    private readonly body: JsonObject,
    private readonly now: () => number = Date.now,
    /** Set when the request runs a background response (background-responses.ts). */
    readonly background?: BackgroundMark,
  ) {
    this.scope = scopeOf(ctx);
    this.storing = body.store !== false;
    this.references = hasReferences(body.input);
    const previousId = body.previous_response_id;
    if (previousId !== undefined && previousId !== null) {
      if (typeof previousId !== 'string' || previousId === '') throw invalidField('previous_response_id', 'previous_response_id: expected a response id string.');
      const previous = store.get(previousId, this.scope);
      if (previous === undefined) throw previousNotFound(previousId);
      this.previous = previous;
    }
  }

  /** Nothing to do for this request: not stored, nothing to continue, no reference to resolve. */
  get idle(): boolean {
    return !this.storing && this.previous === undefined && !this.references;
  }

  /** The body the bridge decodes: the stored conversation before the new input, with ids, references resolved. */
  bridgedBody(responseId: string): JsonObject {
    const previous = this.previous;
    if (previous !== undefined && previous.mode !== 'stored') throw elsewhere(previous);
    if (this.body.input === undefined || this.body.input === null) throw invalidField('input', 'input: Field required.');
    const history = previous === undefined ? [] : [...(previous.inputItems ?? []), ...outputOf(previous)];
    const own = this.resolved(inputItems(this.body.input, responseId));
    this.own = own;
    this.items = [...history, ...own];
    const body: JsonObject = { ...this.body, input: this.items };
    delete body.previous_response_id;
    return body;
  }

  /** `item_reference` items replaced by the stored items they name (this scope only); unknown ones stay. */
  private resolved(items: Item[]): Item[] {
    if (!this.references) return items;
    return items.map((item) => (item.type === 'item_reference' && typeof item.id === 'string' ? this.store.item(item.id, this.scope) ?? item : item));
  }

  /**
   * The body a pass-through provider gets, when it differs from the caller's: a previous response the
   * gateway stored (bridged) is expanded into input items, and references to the gateway's items are
   * resolved (forProvider). Undefined: the caller's body goes as it is (the provider keeps the previous
   * response, or there is none).
   */
  passthroughBody(): JsonObject | undefined {
    const previous = this.previous;
    const expand = previous !== undefined && previous.mode === 'stored';
    if (!expand && !this.references) return undefined;
    const input = this.body.input;
    if (input === undefined || input === null) throw invalidField('input', 'input: Field required.');
    const own = typeof input === 'string' ? [{ role: 'user', content: input }] : Array.isArray(input) ? (input as Item[]) : [];
    // The gateway's items (the stored conversation, resolved references) as the provider takes them; the caller's as sent.
    const history = expand ? [...(previous.inputItems ?? []), ...outputOf(previous)] : [];
    const ours = forProvider(history);
    const items = ours.items;
    let reasoning = ours.reasoning;
    for (const item of own) {
      const found = this.references && isRecord(item) && item.type === 'item_reference' && typeof item.id === 'string' ? this.store.item(item.id, this.scope) : undefined;
      if (found === undefined) {
        items.push(item); // the caller's item, or a reference to the provider's own item
        continue;
      }
      const converted = forProvider([found]);
      reasoning += converted.reasoning;
      items.push(...converted.items);
    }
    if (!expand && reasoning === 0 && items.length === own.length && items.every((item, n) => item === own[n])) return undefined;
    if (reasoning > 0) {
      this.ctx.addWarnings([{ param: expand ? 'previous_response_id' : 'input', message: `${reasoning} reasoning item${reasoning === 1 ? '' : 's'} of a response the gateway stored (another provider's thinking, sealed for the gateway) could not go to this provider and ${reasoning === 1 ? 'was' : 'were'} left out.` }]);
    }
    const body: JsonObject = { ...this.body, input: items };
    delete body.previous_response_id;
    return body;
  }

  /** What the bridged response echoes, and sealed reasoning in stored output (restored on the next turn). */
  adjustFacts(facts: ResponsesRequestFacts): void {
    if (this.previous !== undefined) facts.echo.previous_response_id = this.previous.id;
    facts.echo.store = this.storing;
    if (this.background !== undefined) facts.echo.background = true;
    if (this.storing) facts.encryptedReasoning = true;
  }

  /** Keeps a finished bridged response, before the caller gets its end (the next turn may follow at once). */
  recordBridged(response: Item): void {
    if (!this.storing || this.recorded || typeof response.id !== 'string') return;
    this.recorded = true;
    const target = this.ctx.target;
    const output = outputItemsOf(response);
    const entry: StoredResponse = {
      id: response.id,
      scope: this.scope,
      mode: 'stored',
      provider: target?.provider.name ?? '',
      model: target?.model ?? String(response.model ?? ''),
      keyId: null,
      createdAt: this.now(),
      response,
      inputItems: this.items ?? inputItems(this.body.input, response.id),
    };
    const added = [...(this.own ?? entry.inputItems ?? []), ...output];
    if (this.background === undefined) {
      this.store.put(entry, added);
      return;
    }
    // A background response's row exists (queued); it is finished only if nothing ended it meanwhile (a cancel).
    entry.background = { status: backgroundStatusOf(response), runner: this.background.runner };
    this.store.updateRunning(entry, added);
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
  return stored.response === null ? [] : outputItemsOf(stored.response);
}

function outputItemsOf(response: Item): Item[] {
  const output = response.output;
  return Array.isArray(output) ? (output as Item[]).filter(isRecord) : [];
}

/** The status a finished response object ends in, as a background row records it. */
export function backgroundStatusOf(response: Item): BackgroundStatus {
  const status = response.status;
  return status === 'incomplete' || status === 'failed' || status === 'cancelled' ? status : 'completed';
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
