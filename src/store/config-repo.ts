/**
 * Typed access to the configuration tables: providers, provider keys (secrets
 * encrypted with the secret box, read back as last4 unless asked), model
 * groups, aliases, settings and the audit log. Every statement is prepared once
 * per repo. Constraint violations become 400-style errors naming the field.
 */
import crypto from 'node:crypto';
import { invalidField } from '../errors/gateway-error.js';
import { AuditLog } from './audit-log.js';
import {
  constraint, defined, json, modelGroupFromRow, providerFromRow, type Row, type Statements,
} from './config-rows.js';
import type {
  AliasRecord, AuditEntry, AuditInput, AuditPage, ConfigSource, ListAuditParams, ModelGroupInput,
  ModelGroupPatch, ModelGroupRecord, ProviderInput, ProviderKeyInput, ProviderKeyPatch,
  ProviderKeyRecord, ProviderPatch, ProviderRecord, ReadOptions,
} from './config-types.js';
import type { SqliteDatabase } from './database.js';
import { last4, type SecretBox } from './secret-box.js';
import { SPEND_WATERMARK_SETTING } from './spend-watermark.js';

export class ConfigRepo {
  readonly #db: SqliteDatabase;
  readonly #box: SecretBox;
  readonly #now: () => number;
  readonly #audit: AuditLog;
  readonly #s: Statements;

  constructor(db: SqliteDatabase, box: SecretBox, options: { now?: () => number } = {}) {
    this.#db = db;
    this.#box = box;
    this.#now = options.now ?? Date.now;
    this.#audit = new AuditLog(db, { now: this.#now });
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      listProviders: p('SELECT * FROM providers ORDER BY name'),
      getProvider: p('SELECT * FROM providers WHERE id = ?'),
      getProviderByName: p('SELECT * FROM providers WHERE name = ?'),
      putProvider: p(`INSERT INTO providers (id, name, type, base_url, enabled, options, source, created_at, updated_at)
        VALUES (@id, @name, @type, @base_url, @enabled, @options, @source, @created_at, @updated_at)
        ON CONFLICT (id) DO UPDATE SET name = excluded.name, type = excluded.type, base_url = excluded.base_url,
          enabled = excluded.enabled, options = excluded.options, source = excluded.source, updated_at = excluded.updated_at`),
      deleteProvider: p('DELETE FROM providers WHERE id = ?'),
      listKeys: p('SELECT * FROM provider_keys ORDER BY provider_id, name'),
      listKeysOf: p('SELECT * FROM provider_keys WHERE provider_id = ? ORDER BY name'),
      getKey: p('SELECT * FROM provider_keys WHERE id = ?'),
      putKey: p(`INSERT INTO provider_keys (id, provider_id, name, secret_encrypted, last4, weight, models, enabled,
          source, created_at, updated_at)
        VALUES (@id, @provider_id, @name, @secret_encrypted, @last4, @weight, @models, @enabled, @source, @created_at, @updated_at)
        ON CONFLICT (id) DO UPDATE SET name = excluded.name, secret_encrypted = excluded.secret_encrypted,
          last4 = excluded.last4, weight = excluded.weight, models = excluded.models, enabled = excluded.enabled,
          source = excluded.source, updated_at = excluded.updated_at`),
      deleteKey: p('DELETE FROM provider_keys WHERE id = ?'),
      listGroups: p('SELECT * FROM model_groups ORDER BY name'),
      getGroup: p('SELECT * FROM model_groups WHERE id = ?'),
      getGroupByName: p('SELECT * FROM model_groups WHERE name = ?'),
      putGroup: p(`INSERT INTO model_groups (id, name, deployments, fallbacks, options, enabled, source, created_at, updated_at)
        VALUES (@id, @name, @deployments, @fallbacks, @options, @enabled, @source, @created_at, @updated_at)
        ON CONFLICT (id) DO UPDATE SET name = excluded.name, deployments = excluded.deployments,
          fallbacks = excluded.fallbacks, options = excluded.options, enabled = excluded.enabled,
          source = excluded.source, updated_at = excluded.updated_at`),
      deleteGroup: p('DELETE FROM model_groups WHERE id = ?'),
      listAliases: p('SELECT * FROM aliases ORDER BY alias'),
      getAlias: p('SELECT * FROM aliases WHERE alias = ?'),
      putAlias: p(`INSERT INTO aliases (alias, target, source, created_at, updated_at)
        VALUES (@alias, @target, @source, @now, @now)
        ON CONFLICT (alias) DO UPDATE SET target = excluded.target, source = excluded.source, updated_at = excluded.updated_at`),
      deleteAlias: p('DELETE FROM aliases WHERE alias = ?'),
      // The spend watermark shares the table but is the ledger's state, not a setting (spend-watermark.ts).
      listSettings: p('SELECT key, value FROM settings WHERE key <> ? ORDER BY key').bind(SPEND_WATERMARK_SETTING),
      getSetting: p('SELECT value FROM settings WHERE key = ?'),
      putSetting: p(`INSERT INTO settings (key, value, updated_at) VALUES (@key, @value, @now)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
      deleteSetting: p('DELETE FROM settings WHERE key = ?'),
    };
  }

  /**
   * Runs fn in one transaction (e.g. a change and its audit entry); nested calls join the outer one.
   * BEGIN IMMEDIATE: the write lock is taken first (waiting for the request-log thread's commit, if
   * any), so a change that reads before it writes cannot fail with SQLITE_BUSY_SNAPSHOT when the log
   * thread commits in between.
   */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn).immediate();
  }

  // ── providers ─────────────────────────────────────────────────────────────

  listProviders(): ProviderRecord[] {
    return (this.#s.listProviders.all() as Row[]).map(providerFromRow);
  }

  getProvider(id: string): ProviderRecord | undefined {
    const row = this.#s.getProvider.get(id) as Row | undefined;
    return row ? providerFromRow(row) : undefined;
  }

  getProviderByName(name: string): ProviderRecord | undefined {
    const row = this.#s.getProviderByName.get(name) as Row | undefined;
    return row ? providerFromRow(row) : undefined;
  }

  createProvider(input: ProviderInput): ProviderRecord {
    const now = this.#now();
    const record: ProviderRecord = {
      id: input.id ?? crypto.randomUUID(),
      name: input.name,
      type: input.type,
      base_url: input.base_url ?? null,
      enabled: input.enabled ?? true,
      options: input.options ?? {},
      source: input.source ?? 'store',
      created_at: now,
      updated_at: now,
    };
    if (this.getProvider(record.id)) throw invalidField('id', `A provider with id "${record.id}" already exists.`);
    this.#writeProvider(record);
    return record;
  }

  updateProvider(id: string, patch: ProviderPatch): ProviderRecord | undefined {
    const current = this.getProvider(id);
    if (!current) return undefined;
    const record: ProviderRecord = { ...current, ...defined(patch), id, created_at: current.created_at, updated_at: this.#now() };
    this.#writeProvider(record);
    return record;
  }

  /** Deletes the provider and its keys. */
  deleteProvider(id: string): boolean {
    return this.#s.deleteProvider.run(id).changes > 0;
  }

  #writeProvider(record: ProviderRecord): void {
    constraint(
      () => this.#s.putProvider.run({
        ...record, enabled: record.enabled ? 1 : 0, options: JSON.stringify(record.options ?? {}),
      }),
      ['name', `A provider named "${record.name}" already exists.`],
    );
  }

  // ── provider keys ─────────────────────────────────────────────────────────

  listProviderKeys(providerId?: string, options: ReadOptions = {}): ProviderKeyRecord[] {
    const rows = (providerId === undefined ? this.#s.listKeys.all() : this.#s.listKeysOf.all(providerId)) as Row[];
    return rows.map((row) => this.#keyFromRow(row, options));
  }

  getProviderKey(id: string, options: ReadOptions = {}): ProviderKeyRecord | undefined {
    const row = this.#s.getKey.get(id) as Row | undefined;
    return row ? this.#keyFromRow(row, options) : undefined;
  }

  /** Returns the record without its secret. */
  createProviderKey(input: ProviderKeyInput): ProviderKeyRecord {
    const now = this.#now();
    const id = input.id ?? crypto.randomUUID();
    if (this.#s.getKey.get(id)) throw invalidField('id', `A provider key with id "${id}" already exists.`);
    const record: ProviderKeyRecord = {
      id,
      provider_id: input.provider_id,
      name: input.name,
      last4: last4(input.secret),
      weight: input.weight ?? 1,
      models: input.models ?? null,
      enabled: input.enabled ?? true,
      source: input.source ?? 'store',
      created_at: now,
      updated_at: now,
    };
    this.#writeKey(record, this.#box.encrypt(input.secret));
    return record;
  }

  /** A patch with `secret` re-encrypts it; returns the record without its secret. */
  updateProviderKey(id: string, patch: ProviderKeyPatch): ProviderKeyRecord | undefined {
    const row = this.#s.getKey.get(id) as Row | undefined;
    if (!row) return undefined;
    const { secret, ...rest } = defined(patch);
    const current = this.#keyFromRow(row, {});
    const record: ProviderKeyRecord = {
      ...current, ...rest, id, provider_id: current.provider_id, created_at: current.created_at, updated_at: this.#now(),
    };
    let sealed = row.secret_encrypted as string;
    if (secret !== undefined) {
      sealed = this.#box.encrypt(secret);
      record.last4 = last4(secret);
    }
    this.#writeKey(record, sealed);
    return record;
  }

  deleteProviderKey(id: string): boolean {
    return this.#s.deleteKey.run(id).changes > 0;
  }

  #writeKey(record: ProviderKeyRecord, sealed: string): void {
    constraint(
      () => this.#s.putKey.run({
        id: record.id,
        provider_id: record.provider_id,
        name: record.name,
        secret_encrypted: sealed,
        last4: record.last4,
        weight: record.weight,
        models: record.models === null ? null : JSON.stringify(record.models),
        enabled: record.enabled ? 1 : 0,
        source: record.source,
        created_at: record.created_at,
        updated_at: record.updated_at,
      }),
      ['name', `The provider already has a key named "${record.name}".`],
      ['provider_id', `No provider has id "${record.provider_id}".`],
    );
  }

  #keyFromRow(row: Row, options: ReadOptions): ProviderKeyRecord {
    const record: ProviderKeyRecord = {
      id: row.id as string,
      provider_id: row.provider_id as string,
      name: row.name as string,
      last4: row.last4 as string,
      weight: row.weight as number,
      models: json(row.models) as string[] | null,
      enabled: row.enabled === 1,
      source: row.source as ConfigSource,
      created_at: row.created_at as number,
      updated_at: row.updated_at as number,
    };
    if (options.withSecret) {
      try {
        record.secret = this.#box.decrypt(row.secret_encrypted as string);
      } catch (error) {
        throw new Error(`Provider key ${record.id}: ${(error as Error).message}`, { cause: error });
      }
    }
    return record;
  }

  // ── model groups and aliases ──────────────────────────────────────────────

  listModelGroups(): ModelGroupRecord[] {
    return (this.#s.listGroups.all() as Row[]).map(modelGroupFromRow);
  }

  getModelGroup(id: string): ModelGroupRecord | undefined {
    const row = this.#s.getGroup.get(id) as Row | undefined;
    return row ? modelGroupFromRow(row) : undefined;
  }

  getModelGroupByName(name: string): ModelGroupRecord | undefined {
    const row = this.#s.getGroupByName.get(name) as Row | undefined;
    return row ? modelGroupFromRow(row) : undefined;
  }

  createModelGroup(input: ModelGroupInput): ModelGroupRecord {
    const now = this.#now();
    const record: ModelGroupRecord = {
      id: input.id ?? crypto.randomUUID(),
      name: input.name,
      deployments: input.deployments ?? [],
      fallbacks: input.fallbacks ?? [],
      options: input.options ?? {},
      enabled: input.enabled ?? true,
      source: input.source ?? 'store',
      created_at: now,
      updated_at: now,
    };
    if (this.getModelGroup(record.id)) throw invalidField('id', `A model group with id "${record.id}" already exists.`);
    this.#writeGroup(record);
    return record;
  }

  updateModelGroup(id: string, patch: ModelGroupPatch): ModelGroupRecord | undefined {
    const current = this.getModelGroup(id);
    if (!current) return undefined;
    const record: ModelGroupRecord = { ...current, ...defined(patch), id, created_at: current.created_at, updated_at: this.#now() };
    this.#writeGroup(record);
    return record;
  }

  deleteModelGroup(id: string): boolean {
    return this.#s.deleteGroup.run(id).changes > 0;
  }

  #writeGroup(record: ModelGroupRecord): void {
    constraint(
      () => this.#s.putGroup.run({
        ...record,
        deployments: JSON.stringify(record.deployments),
        fallbacks: JSON.stringify(record.fallbacks),
        options: JSON.stringify(record.options),
        enabled: record.enabled ? 1 : 0,
      }),
      ['name', `A model group named "${record.name}" already exists.`],
    );
  }

  listAliases(): AliasRecord[] {
    return this.#s.listAliases.all() as AliasRecord[];
  }

  getAlias(alias: string): AliasRecord | undefined {
    return this.#s.getAlias.get(alias) as AliasRecord | undefined;
  }

  /** Creates or retargets an alias. */
  setAlias(alias: string, target: string, source: ConfigSource = 'store'): AliasRecord {
    this.#s.putAlias.run({ alias, target, source, now: this.#now() });
    return this.getAlias(alias) as AliasRecord;
  }

  deleteAlias(alias: string): boolean {
    return this.#s.deleteAlias.run(alias).changes > 0;
  }

  // ── settings ──────────────────────────────────────────────────────────────

  getSetting<T = unknown>(key: string): T | undefined {
    const row = this.#s.getSetting.get(key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  /** Stores any JSON value; undefined is refused (use deleteSetting). */
  setSetting(key: string, value: unknown): void {
    if (value === undefined) throw invalidField(key, `Setting "${key}" needs a value; delete it instead.`);
    this.#s.putSetting.run({ key, value: JSON.stringify(value), now: this.#now() });
  }

  deleteSetting(key: string): boolean {
    return this.#s.deleteSetting.run(key).changes > 0;
  }

  listSettings(): Record<string, unknown> {
    const settings: Record<string, unknown> = {};
    for (const row of this.#s.listSettings.all() as Array<{ key: string; value: string }>) {
      settings[row.key] = JSON.parse(row.value);
    }
    return settings;
  }

  // ── audit ─────────────────────────────────────────────────────────────────

  /** Appends an entry; secrets in before/after are redacted before they are written. */
  appendAudit(input: AuditInput): AuditEntry {
    return this.#audit.append(input);
  }

  listAudit(params: ListAuditParams = {}): AuditPage {
    return this.#audit.list(params);
  }
}
