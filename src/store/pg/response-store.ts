/**
 * Stored responses in cluster mode: every instance keeps its own copy in its SQLite store (the
 * request path reads and writes there, synchronously, as in the embedded mode: response-store.ts),
 * and Postgres holds them for the cluster:
 *  - writes (put, a background response's new state, delete) are queued and sent to Postgres off the
 *    request path, in batches (one transaction: multi-row upserts, one DELETE), on the next turn of the
 *    event loop; while Postgres is unreachable they are kept (at most `maxPending` responses; past it
 *    the oldest are dropped and counted) and retried with backoff;
 *  - reads look in the local store first; on a miss, `hydrate()` (awaited by the routes before they
 *    read) copies the response, with its items, from Postgres into the local store. A response stored
 *    through one instance can so be continued (`previous_response_id`), retrieved or referenced
 *    (`item_reference`) through another. A miss in Postgres is asked again twice within ~0.3 s: the
 *    instance that stored it may still be sending it.
 */
import type pg from 'pg';
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from '../database.js';
import { ResponseStore, rowToStoredResponse, type StoredResponse, type StoredResponseIds, type StoredResponseRow } from '../response-store.js';
import { silentLogger, type StoreLogger } from '../store-logger.js';

type Item = Record<string, unknown>;

type Pending = { kind: 'put'; entry: StoredResponse; items: readonly Item[] } | { kind: 'delete'; id: string; scope: string };

export interface SharedResponseOptions {
  /** Responses waiting for Postgres at most. Default 10,000. */
  maxPending?: number;
  /** Backoff while Postgres is unreachable. Defaults 100 ms to 5 s. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Waits before asking Postgres again after a miss. Default [100, 200] ms. */
  missRetriesMs?: number[];
  logger?: StoreLogger;
}

const RESPONSE_COLUMNS = ['id', 'scope', 'mode', 'provider', 'model', 'key_id', 'created_at', 'response', 'input_items', 'status', 'runner'] as const;

function tuples(rows: number, width: number): string {
  return Array.from({ length: rows }, (_, row) => `(${Array.from({ length: width }, (_, column) => `$${row * width + column + 1}`).join(', ')})`).join(', ');
}

export class SharedResponseStore extends ResponseStore {
  readonly #pool: pg.Pool;
  readonly #logger: StoreLogger;
  readonly #maxPending: number;
  readonly #retryMinMs: number;
  readonly #retryMaxMs: number;
  readonly #missRetriesMs: number[];
  readonly #has: Statement<[string]>;
  readonly #hasItem: Statement<[string]>;
  /** Last write per response id, in order (a later write of the same id replaces the earlier one). */
  #pending = new Map<string, Pending>();
  #sending: Promise<void> | undefined;
  #scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined;
  #retryDelay = 0;
  #closed = false;
  /** Writes given up (the bound passed while Postgres was unreachable). */
  dropped = 0;

  constructor(db: SqliteDatabase, pool: pg.Pool, options: SharedResponseOptions = {}) {
    super(db);
    this.#pool = pool;
    this.#logger = options.logger ?? silentLogger;
    this.#maxPending = Math.max(1, options.maxPending ?? 10_000);
    this.#retryMinMs = Math.max(1, options.retryMinMs ?? 100);
    this.#retryMaxMs = Math.max(1, options.retryMaxMs ?? 5000);
    this.#missRetriesMs = options.missRetriesMs ?? [100, 200];
    this.#has = db.prepare<[string]>('SELECT 1 FROM stored_responses WHERE id = ?');
    this.#hasItem = db.prepare<[string]>('SELECT 1 FROM stored_response_items WHERE item_id = ?');
  }

  /** Writes not sent to Postgres yet. */
  get pending(): number {
    return this.#pending.size;
  }

  override put(entry: StoredResponse, items: readonly Item[] = []): void {
    super.put(entry, items);
    this.#queue({ kind: 'put', entry, items });
  }

  override updateRunning(entry: StoredResponse, items: readonly Item[] = []): boolean {
    const changed = super.updateRunning(entry, items);
    if (changed) {
      const stored = super.get(entry.id, entry.scope);
      const earlier = this.#pending.get(entry.id);
      const allItems = earlier?.kind === 'put' ? [...earlier.items, ...items] : items;
      if (stored !== undefined) this.#queue({ kind: 'put', entry: stored, items: allItems });
    }
    return changed;
  }

  override delete(id: string, scope: string): boolean {
    const deleted = super.delete(id, scope);
    if (deleted) this.#queue({ kind: 'delete', id, scope });
    return deleted;
  }

  /** Copies the responses (and the responses holding the items) this instance does not have from Postgres. */
  override async hydrate(ids: StoredResponseIds): Promise<void> {
    let responses = ids.responses.filter((id) => this.#has.get(id) === undefined);
    let items = (ids.items ?? []).filter((id) => this.#hasItem.get(id) === undefined);
    for (let attempt = 0; responses.length + items.length > 0; attempt++) {
      try {
        await this.#copy(responses, items);
      } catch (error) {
        this.#logger.warn({ err: error }, 'stored responses: Postgres could not be read; answering from this instance only');
        return;
      }
      responses = responses.filter((id) => this.#has.get(id) === undefined);
      items = items.filter((id) => this.#hasItem.get(id) === undefined);
      if (attempt >= this.#missRetriesMs.length || responses.length + items.length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, this.#missRetriesMs[attempt]));
    }
  }

  /** Sends what is queued; resolves when Postgres has it (or the attempt failed: kept, retried). */
  async flush(): Promise<void> {
    if (this.#sending) await this.#sending;
    if (this.#pending.size > 0) await this.#send();
  }

  /** Sends what is queued within `budgetMs`; later writes stay local. Returns the writes not sent. */
  async close(budgetMs = 5000): Promise<number> {
    this.#closed = true;
    this.#unschedule();
    const deadline = Date.now() + budgetMs;
    while (this.#pending.size > 0 && Date.now() < deadline) {
      await Promise.race([this.flush(), new Promise((resolve) => setTimeout(resolve, Math.max(1, deadline - Date.now())).unref())]);
      if (this.#pending.size > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(100, Math.max(0, deadline - Date.now()))));
    }
    const left = this.#pending.size;
    if (left > 0) this.#logger.error({ unwritten: left }, 'stored responses not written to Postgres at close');
    return left;
  }

  #queue(write: Pending): void {
    if (this.#closed) return;
    const id = write.kind === 'put' ? write.entry.id : write.id;
    this.#pending.delete(id);
    this.#pending.set(id, write);
    if (this.#pending.size > this.#maxPending) {
      const oldest = this.#pending.keys().next().value as string;
      this.#pending.delete(oldest);
      if (this.dropped++ % 1000 === 0) this.#logger.warn({ dropped: this.dropped, max_pending: this.#maxPending }, 'stored responses dropped before reaching Postgres (too many waiting)');
    }
    this.#schedule(0);
  }

  #unschedule(): void {
    const scheduled = this.#scheduled;
    this.#scheduled = undefined;
    if (scheduled === undefined) return;
    if ('hasRef' in scheduled && 'refresh' in scheduled) clearTimeout(scheduled);
    else clearImmediate(scheduled as NodeJS.Immediate);
  }

  #schedule(delayMs: number): void {
    if (this.#scheduled !== undefined || this.#sending !== undefined || this.#closed) return;
    const run = () => {
      this.#scheduled = undefined;
      void this.#send();
    };
    if (delayMs === 0) {
      this.#scheduled = setImmediate(run);
    } else {
      this.#scheduled = setTimeout(run, delayMs);
      this.#scheduled.unref();
    }
  }

  #send(): Promise<void> {
    this.#sending ??= this.#write().finally(() => {
      this.#sending = undefined;
      if (this.#pending.size > 0) this.#schedule(this.#retryDelay);
    });
    return this.#sending;
  }

  async #write(): Promise<void> {
    const batch = [...this.#pending.values()].slice(0, 500);
    if (batch.length === 0) return;
    const puts = batch.filter((write): write is Extract<Pending, { kind: 'put' }> => write.kind === 'put');
    const deletes = batch.filter((write): write is Extract<Pending, { kind: 'delete' }> => write.kind === 'delete');
    let client: pg.PoolClient | undefined;
    try {
      client = await this.#pool.connect();
      await client.query('BEGIN');
      if (puts.length > 0) {
        const values = puts.flatMap(({ entry }) => [
          entry.id, entry.scope, entry.mode, entry.provider, entry.model, entry.keyId, entry.createdAt,
          entry.response === null ? null : JSON.stringify(entry.response),
          entry.inputItems === null ? null : JSON.stringify(entry.inputItems),
          entry.background?.status ?? null, entry.background?.runner ?? null,
        ]);
        await client.query(`INSERT INTO stored_responses (${RESPONSE_COLUMNS.join(', ')}) VALUES ${tuples(puts.length, RESPONSE_COLUMNS.length)}
          ON CONFLICT (id) DO UPDATE SET ${RESPONSE_COLUMNS.slice(1).map((column) => `${column} = EXCLUDED.${column}`).join(', ')}`, values);
        const itemRows = new Map<string, unknown[]>();
        for (const { entry, items } of puts) {
          for (const item of items) {
            if (typeof item.id === 'string' && item.id !== '') itemRows.set(`${entry.scope}\u0000${item.id}`, [entry.scope, item.id, entry.id, JSON.stringify(item)]);
          }
        }
        if (itemRows.size > 0) {
          await client.query(`INSERT INTO stored_response_items (scope, item_id, response_id, item) VALUES ${tuples(itemRows.size, 4)}
            ON CONFLICT (scope, item_id) DO UPDATE SET response_id = EXCLUDED.response_id, item = EXCLUDED.item`, [...itemRows.values()].flat());
        }
      }
      if (deletes.length > 0) {
        await client.query('DELETE FROM stored_responses WHERE (id, scope) IN (SELECT * FROM unnest($1::text[], $2::text[]))', [deletes.map((write) => write.id), deletes.map((write) => write.scope)]);
      }
      await client.query('COMMIT');
      // Sent: forget them, unless written again meanwhile (a newer write of the same id stays queued).
      for (const write of batch) {
        const id = write.kind === 'put' ? write.entry.id : write.id;
        if (this.#pending.get(id) === write) this.#pending.delete(id);
      }
      this.#retryDelay = 0;
    } catch (error) {
      await client?.query('ROLLBACK').catch(() => undefined);
      if (this.#retryDelay === 0) this.#logger.error({ err: error, pending: this.#pending.size }, 'stored responses: Postgres cannot take them; keeping them and retrying');
      this.#retryDelay = Math.min(this.#retryMaxMs, this.#retryDelay === 0 ? this.#retryMinMs : this.#retryDelay * 2);
    } finally {
      client?.release();
    }
  }

  async #copy(responses: string[], items: string[]): Promise<void> {
    const found = await this.#pool.query<StoredResponseRow>(`SELECT * FROM stored_responses WHERE id = ANY($1::text[])
      OR id IN (SELECT response_id FROM stored_response_items WHERE item_id = ANY($2::text[]))`, [responses, items]);
    if (found.rows.length === 0) return;
    const itemRows = await this.#pool.query<{ response_id: string; item: string }>(
      'SELECT response_id, item FROM stored_response_items WHERE response_id = ANY($1::text[])', [found.rows.map((row) => row.id)]);
    for (const row of found.rows) {
      const own = itemRows.rows.filter((item) => item.response_id === row.id).map((item) => JSON.parse(item.item) as Item);
      // Into the local store only (super): it is a copy of what Postgres has.
      super.put(rowToStoredResponse(row), own);
    }
  }
}
