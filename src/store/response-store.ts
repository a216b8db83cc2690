/**
 * Stored responses of the Responses API (table `stored_responses`, migration 4).
 *
 * Writes are synchronous, on the request path, unlike the request log: a client sends the next
 * turn (`previous_response_id`) as soon as it has read the answer, so the row must be readable by
 * the very next request, and it is written before the answer's last byte goes out. One prepared
 * INSERT in WAL mode with `synchronous = NORMAL` appends to the WAL without an fsync: measured on a
 * database file, about 0.3 ms for a 2 KB turn, 0.6 ms for 20 KB, 3 ms for 200 KB (a shared,
 * loaded 2-core machine), small next to a model's answer. A queue off the request path would need a
 * second, in-memory read path to give the same read-your-write guarantee.
 *
 * Each row holds its whole conversation (`input_items` includes the earlier turns), so a response
 * stays usable when earlier ones of its chain are deleted or expire; the cost is that a long chain
 * stores its early turns again in each later row. Stateless clients (`store: false`, as Codex
 * sends) write nothing. Every statement is prepared once.
 *
 * The items a stored response adds (its new input items and its output) are indexed by id in
 * `stored_response_items`, in the same transaction, so an `item_reference` resolves within the scope
 * (migration 5). A background response's row is written when it is accepted (`queued`) and updated
 * as it runs: only while it is still running, so a cancel written by another process wins.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

/** The states of a background response (OpenAI's), the running ones first. */
export type BackgroundStatus = 'queued' | 'in_progress' | 'completed' | 'incomplete' | 'failed' | 'cancelled';

/** A background response's state as the store has it. */
export interface BackgroundRow {
  status: BackgroundStatus;
  runner: string | null;
}

/** Where a response lives: here (a bridged provider) or at the provider that made it (pass-through). */
export type StoredResponseMode = 'stored' | 'provider';

export interface StoredResponse {
  id: string;
  /** The virtual key that made it; '' without virtual keys. */
  scope: string;
  mode: StoredResponseMode;
  provider: string;
  /** The provider's own model id. */
  model: string;
  /** Provider mode: the id of the provider key that holds it (null: any key of the provider). */
  keyId: string | null;
  createdAt: number;
  /** Stored mode: the response object as the caller got it. */
  response: Record<string, unknown> | null;
  /** Stored mode: the items it was produced from, the earlier turns' included, each with an id. */
  inputItems: Array<Record<string, unknown>> | null;
  /** Background responses only: their state, and the process that runs them (`<pid>/<boot id>`). */
  background?: BackgroundRow;
}

/** A row of stored_responses (SQLite, and Postgres in cluster mode). */
export interface StoredResponseRow {
  id: string;
  scope: string;
  mode: StoredResponseMode;
  provider: string;
  model: string;
  key_id: string | null;
  created_at: number;
  response: string | null;
  input_items: string | null;
  status: BackgroundStatus | null;
  runner: string | null;
}

/** Ids a request is about to read: responses (previous_response_id, a retrieve) and items (item_reference). */
export interface StoredResponseIds {
  responses: string[];
  items?: string[];
}

/** The items a stored response adds: looked up by id for `item_reference` (same scope only). */
type Item = Record<string, unknown>;

const RUNNING = "status IN ('queued', 'in_progress')";

export class ResponseStore {
  readonly #insert: Statement<StoredResponseRow>;
  readonly #select: Statement<{ id: string; scope: string }>;
  readonly #delete: Statement<{ id: string; scope: string }>;
  readonly #insertItem: Statement<{ scope: string; item_id: string; response_id: string; item: string }>;
  readonly #selectItem: Statement<{ scope: string; item_id: string }>;
  readonly #updateRunning: Statement<{ id: string; scope: string; status: BackgroundStatus; provider: string; model: string; response: string; input_items: string | null }>;
  readonly #status: Statement<{ id: string; scope: string }>;
  readonly #running: Statement<[]>;
  readonly #fail: Statement<{ id: string; response: string }>;
  readonly #writeItems: (scope: string, responseId: string, items: readonly Item[]) => void;
  readonly #putWithItems: (entry: StoredResponse, items: readonly Item[]) => void;
  readonly #finishWithItems: (entry: StoredResponse, items: readonly Item[]) => boolean;

  constructor(db: SqliteDatabase) {
    this.#insert = db.prepare(`INSERT OR REPLACE INTO stored_responses (id, scope, mode, provider, model, key_id, created_at, response, input_items, status, runner)
      VALUES (@id, @scope, @mode, @provider, @model, @key_id, @created_at, @response, @input_items, @status, @runner)`);
    this.#select = db.prepare('SELECT * FROM stored_responses WHERE id = @id AND scope = @scope');
    this.#delete = db.prepare('DELETE FROM stored_responses WHERE id = @id AND scope = @scope');
    this.#insertItem = db.prepare('INSERT OR REPLACE INTO stored_response_items (scope, item_id, response_id, item) VALUES (@scope, @item_id, @response_id, @item)');
    this.#selectItem = db.prepare('SELECT item FROM stored_response_items WHERE scope = @scope AND item_id = @item_id');
    this.#updateRunning = db.prepare(`UPDATE stored_responses SET status = @status, provider = @provider, model = @model, response = @response, input_items = COALESCE(@input_items, input_items)
      WHERE id = @id AND scope = @scope AND ${RUNNING}`);
    this.#status = db.prepare('SELECT status, runner FROM stored_responses WHERE id = @id AND scope = @scope');
    this.#running = db.prepare(`SELECT id, runner, response FROM stored_responses WHERE ${RUNNING}`);
    this.#fail = db.prepare(`UPDATE stored_responses SET status = 'failed', response = @response WHERE id = @id AND ${RUNNING}`);
    this.#writeItems = (scope, responseId, items) => {
      for (const item of items) {
        if (typeof item.id !== 'string' || item.id === '') continue;
        this.#insertItem.run({ scope, item_id: item.id, response_id: responseId, item: JSON.stringify(item) });
      }
    };
    this.#putWithItems = db.transaction((entry: StoredResponse, items: readonly Item[]) => {
      this.#insert.run(this.#row(entry));
      this.#writeItems(entry.scope, entry.id, items);
    });
    this.#finishWithItems = db.transaction((entry: StoredResponse, items: readonly Item[]) => {
      const changed = this.#updateRunning.run({
        id: entry.id,
        scope: entry.scope,
        status: entry.background?.status ?? 'completed',
        provider: entry.provider,
        model: entry.model,
        response: JSON.stringify(entry.response),
        input_items: entry.inputItems === null ? null : JSON.stringify(entry.inputItems),
      }).changes > 0;
      if (changed) this.#writeItems(entry.scope, entry.id, items);
      return changed;
    });
  }

  /** Keeps a response; `items` (what it added, each with an id) become resolvable by `item_reference`. */
  put(entry: StoredResponse, items: readonly Item[] = []): void {
    if (items.length === 0) this.#insert.run(this.#row(entry));
    else this.#putWithItems(entry, items);
  }

  /**
   * A background response's new state, written only while the stored row is still running (queued or
   * in progress): false when it had already ended (cancelled by another process, failed at a restart).
   */
  updateRunning(entry: StoredResponse, items: readonly Item[] = []): boolean {
    return this.#finishWithItems(entry, items);
  }

  /** A background response's state, or undefined (not stored in this scope, or not a background one). */
  backgroundOf(id: string, scope: string): BackgroundRow | undefined {
    const row = this.#status.get({ id, scope }) as { status: BackgroundStatus | null; runner: string | null } | undefined;
    return row === undefined || row.status === null ? undefined : { status: row.status, runner: row.runner };
  }

  /** A stored item of this scope by id (an `item_reference`), or undefined. */
  item(id: string, scope: string): Item | undefined {
    const row = this.#selectItem.get({ scope, item_id: id }) as { item: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.item) as Item);
  }

  /**
   * Marks failed every running background response whose runner `alive` says is gone (the process that
   * ran it stopped: a restart, a crash); returns how many. The response object gets `status: "failed"`
   * and an `error` saying why.
   */
  failAbandoned(alive: (runner: string | null) => boolean, error: { code: string; message: string }): number {
    let failed = 0;
    for (const row of this.#running.all() as Array<{ id: string; runner: string | null; response: string | null }>) {
      if (alive(row.runner)) continue;
      const response = row.response === null ? {} : (JSON.parse(row.response) as Item);
      failed += this.#fail.run({ id: row.id, response: JSON.stringify({ ...response, status: 'failed', error }) }).changes;
    }
    return failed;
  }

  #row(entry: StoredResponse): StoredResponseRow {
    return {
      id: entry.id,
      scope: entry.scope,
      mode: entry.mode,
      provider: entry.provider,
      model: entry.model,
      key_id: entry.keyId,
      created_at: entry.createdAt,
      response: entry.response === null ? null : JSON.stringify(entry.response),
      input_items: entry.inputItems === null ? null : JSON.stringify(entry.inputItems),
      status: entry.background?.status ?? null,
      runner: entry.background?.runner ?? null,
    };
  }

  /**
   * Makes these ids readable here before a request reads them. Nothing to do for one store (undefined);
   * in cluster mode, copies what another instance stored (pg/response-store.ts).
   */
  hydrate(_ids: StoredResponseIds): Promise<void> | undefined {
    return undefined;
  }

  /** The response, when it exists in this scope (another key's response is not found). */
  get(id: string, scope: string): StoredResponse | undefined {
    const row = this.#select.get({ id, scope }) as StoredResponseRow | undefined;
    return row === undefined ? undefined : rowToStoredResponse(row);
  }

  /** True when a response of this scope was deleted. */
  delete(id: string, scope: string): boolean {
    return this.#delete.run({ id, scope }).changes > 0;
  }
}

export function rowToStoredResponse(row: StoredResponseRow): StoredResponse {
  return {
    id: row.id,
    scope: row.scope,
    mode: row.mode,
    provider: row.provider,
    model: row.model,
    keyId: row.key_id,
    createdAt: Number(row.created_at),
    response: row.response === null ? null : (JSON.parse(row.response) as Record<string, unknown>),
    inputItems: row.input_items === null ? null : (JSON.parse(row.input_items) as Array<Record<string, unknown>>),
    background: row.status === null ? undefined : { status: row.status, runner: row.runner },
  };
}
