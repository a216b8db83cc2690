/** Append-only audit log of configuration changes; before/after are stored with secrets redacted. */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Statement } from 'better-sqlite3';
import { invalidField } from '../errors/gateway-error.js';
import type { AuditEntry, AuditInput, AuditPage, ListAuditParams } from './config-types.js';
import type { SqliteDatabase } from './database.js';
import { redactValue } from './redact.js';

/**
 * Who is acting in the current management API call: the admin API enters it for each request, so
 * every change made while answering it (whatever module writes the entry) carries the user and the
 * source address without each call site passing them.
 */
export const auditContext = new AsyncLocalStorage<{ userId: string | null; address: string | null }>();

interface AuditRow {
  id: number;
  time: number;
  actor: string;
  action: string;
  target: string | null;
  user_id: string | null;
  address: string | null;
  before: string | null;
  after: string | null;
}

function toJson(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(redactValue(value));
}

function fromJson(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}

export class AuditLog {
  readonly #append: Statement;
  readonly #list: Statement;
  readonly #now: () => number;

  constructor(db: SqliteDatabase, options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#append = db.prepare(`INSERT INTO audit_log (time, actor, action, target, user_id, address, before, after)
      VALUES (@time, @actor, @action, @target, @user_id, @address, @before, @after)`);
    // One statement for every filter combination: the audit log is small and read rarely.
    this.#list = db.prepare(`SELECT * FROM audit_log
      WHERE (@actor IS NULL OR actor = @actor) AND (@user_id IS NULL OR user_id = @user_id) AND (@action IS NULL OR action = @action)
        AND (@target IS NULL OR target = @target)
        AND (@from IS NULL OR time >= @from) AND (@to IS NULL OR time < @to)
        AND (@before_id IS NULL OR id < @before_id)
      ORDER BY id DESC LIMIT @limit`);
  }

  append(input: AuditInput): AuditEntry {
    const context = auditContext.getStore();
    const row = {
      time: Math.floor(input.time ?? this.#now()),
      actor: input.actor,
      action: input.action,
      target: input.target ?? null,
      user_id: input.user_id !== undefined ? input.user_id : (context?.userId ?? null),
      address: input.address !== undefined ? input.address : (context?.address ?? null),
      before: toJson(input.before),
      after: toJson(input.after),
    };
    const id = Number(this.#append.run(row).lastInsertRowid);
    return { id, ...row, before: fromJson(row.before), after: fromJson(row.after) };
  }

  list(params: ListAuditParams = {}): AuditPage {
    const limit = Math.min(500, Math.max(1, Math.floor(params.limit ?? 50)));
    let beforeId: number | null = null;
    if (params.cursor) {
      beforeId = Number.parseInt(Buffer.from(params.cursor, 'base64url').toString('utf8'), 10);
      if (!Number.isSafeInteger(beforeId)) throw invalidField('cursor', 'cursor is not a value returned as next_cursor.');
    }
    const rows = this.#list.all({
      actor: params.actor ?? null,
      user_id: params.user_id ?? null,
      action: params.action ?? null,
      target: params.target ?? null,
      from: params.from ?? null,
      to: params.to ?? null,
      before_id: beforeId,
      limit: limit + 1,
    }) as AuditRow[];
    const more = rows.length > limit;
    const items = (more ? rows.slice(0, limit) : rows).map((row) => ({
      ...row,
      before: fromJson(row.before),
      after: fromJson(row.after),
    }));
    const last = items[items.length - 1];
    return {
      items,
      next_cursor: more && last ? Buffer.from(String(last.id)).toString('base64url') : null,
    };
  }
}
