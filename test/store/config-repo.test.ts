import crypto from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/gateway-error.js';
import { ConfigRepo } from '../../src/store/config-repo.js';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { REDACTED } from '../../src/store/redact.js';
import { SecretBox } from '../../src/store/secret-box.js';

const SECRET = 'sk-ant-api03-FakeFakeFakeFakeFakeFake-WXYZ';

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('ConfigRepo', () => {
  let db: SqliteDatabase;
  let repo: ConfigRepo;
  let now: number;

  beforeEach(() => {
    db = openDatabase('', { memory: true });
    now = 1000;
    repo = new ConfigRepo(db, new SecretBox(crypto.randomBytes(32)), { now: () => now });
  });
  afterEach(() => db.close());

  describe('providers', () => {
    it('creates, reads, lists, updates and deletes', () => {
      const created = repo.createProvider({ id: 'p1', name: 'anthropic', type: 'anthropic', options: { version: '2023-06-01' } });
      expect(created).toEqual({
        id: 'p1', name: 'anthropic', type: 'anthropic', base_url: null, enabled: true,
        options: { version: '2023-06-01' }, source: 'store', created_at: 1000, updated_at: 1000,
      });
      repo.createProvider({ id: 'p2', name: 'groq', type: 'openai-compatible', base_url: 'https://api.groq.com/openai/v1', source: 'env' });
      expect(repo.getProvider('p1')).toEqual(created);
      expect(repo.getProviderByName('groq')?.id).toBe('p2');
      expect(repo.listProviders().map((provider) => provider.name)).toEqual(['anthropic', 'groq']);

      now = 2000;
      const updated = repo.updateProvider('p1', { base_url: 'http://127.0.0.1:9999', enabled: false, name: undefined });
      expect(updated).toEqual({ ...created, base_url: 'http://127.0.0.1:9999', enabled: false, updated_at: 2000 });
      expect(repo.getProvider('p1')).toEqual(updated);
      expect(repo.updateProvider('missing', { enabled: true })).toBeUndefined();

      expect(repo.deleteProvider('p1')).toBe(true);
      expect(repo.deleteProvider('p1')).toBe(false);
      expect(repo.getProvider('p1')).toBeUndefined();
    });

    it('gives a random id when none is given', () => {
      const created = repo.createProvider({ name: 'openai', type: 'openai' });
      expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('refuses a duplicate name or id, naming the field', () => {
      repo.createProvider({ id: 'p1', name: 'openai', type: 'openai' });
      repo.createProvider({ id: 'p2', name: 'other', type: 'openai' });
      expect(errorOf(() => repo.createProvider({ id: 'p3', name: 'openai', type: 'openai' }))).toMatchObject({
        code: 'HD_ERR_REQUEST_INVALID_FIELD', param: 'name', message: 'A provider named "openai" already exists.',
      });
      expect(errorOf(() => repo.createProvider({ id: 'p1', name: 'new', type: 'openai' }))).toMatchObject({ param: 'id' });
      expect(errorOf(() => repo.updateProvider('p2', { name: 'openai' }))).toBeInstanceOf(GatewayError);
      expect(repo.getProvider('p2')?.name).toBe('other');
    });
  });

  describe('provider keys', () => {
    beforeEach(() => {
      repo.createProvider({ id: 'anthropic', name: 'anthropic', type: 'anthropic' });
    });

    it('encrypts secrets and returns only last4 unless withSecret', () => {
      const created = repo.createProviderKey({
        id: 'k1', provider_id: 'anthropic', name: 'main', secret: SECRET, weight: 2, models: ['claude-*'],
      });
      expect(created).toEqual({
        id: 'k1', provider_id: 'anthropic', name: 'main', last4: 'WXYZ', weight: 2, models: ['claude-*'],
        enabled: true, source: 'store', created_at: 1000, updated_at: 1000,
      });
      const stored = db.prepare('SELECT secret_encrypted FROM provider_keys').pluck().get() as string;
      expect(stored.startsWith('v1:')).toBe(true);
      expect(stored).not.toContain(SECRET);
      expect(repo.getProviderKey('k1')).toEqual(created);
      expect(repo.getProviderKey('k1', { withSecret: true })).toEqual({ ...created, secret: SECRET });
      expect(repo.listProviderKeys()).toEqual([created]);
      expect(repo.listProviderKeys('anthropic', { withSecret: true })).toEqual([{ ...created, secret: SECRET }]);
      expect(repo.listProviderKeys('other')).toEqual([]);
    });

    it('updates fields and re-encrypts a new secret', () => {
      repo.createProviderKey({ id: 'k1', provider_id: 'anthropic', name: 'main', secret: SECRET });
      now = 5000;
      expect(repo.updateProviderKey('k1', { weight: 0, enabled: false })).toMatchObject({
        weight: 0, enabled: false, last4: 'WXYZ', updated_at: 5000, created_at: 1000,
      });
      expect(repo.getProviderKey('k1', { withSecret: true })?.secret).toBe(SECRET);
      const updated = repo.updateProviderKey('k1', { secret: 'sk-ant-rotated-0000000000-ABCD', models: null });
      expect(updated).toMatchObject({ last4: 'ABCD', models: null, weight: 0 });
      expect(updated?.secret).toBeUndefined();
      expect(repo.getProviderKey('k1', { withSecret: true })?.secret).toBe('sk-ant-rotated-0000000000-ABCD');
      expect(repo.updateProviderKey('missing', { weight: 1 })).toBeUndefined();
    });

    it('refuses an unknown provider or a duplicate name, and goes with its provider', () => {
      repo.createProviderKey({ id: 'k1', provider_id: 'anthropic', name: 'main', secret: SECRET });
      expect(errorOf(() => repo.createProviderKey({ provider_id: 'nope', name: 'x', secret: SECRET }))).toMatchObject({
        param: 'provider_id', message: 'No provider has id "nope".',
      });
      expect(errorOf(() => repo.createProviderKey({ provider_id: 'anthropic', name: 'main', secret: SECRET }))).toMatchObject({
        param: 'name',
      });
      expect(repo.deleteProvider('anthropic')).toBe(true);
      expect(repo.getProviderKey('k1')).toBeUndefined();
    });

    it('deletes a key', () => {
      repo.createProviderKey({ id: 'k1', provider_id: 'anthropic', name: 'main', secret: SECRET });
      expect(repo.deleteProviderKey('k1')).toBe(true);
      expect(repo.deleteProviderKey('k1')).toBe(false);
    });
  });

  describe('routing', () => {
    it('stores model groups with deployments and fallbacks', () => {
      const group = repo.createModelGroup({
        id: 'g1',
        name: 'smart',
        deployments: [
          { provider: 'openai', model: 'gpt-4o', weight: 3 },
          { provider: 'azure', model: 'gpt-4o', weight: 1 },
        ],
        fallbacks: ['anthropic/claude-sonnet-4-5'],
      });
      expect(repo.getModelGroup('g1')).toEqual(group);
      expect(repo.getModelGroupByName('smart')).toEqual(group);
      expect(group).toMatchObject({ options: {}, enabled: true, source: 'store', created_at: 1000 });
      now = 3000;
      expect(repo.updateModelGroup('g1', { fallbacks: [] })).toEqual({ ...group, fallbacks: [], updated_at: 3000 });
      expect(errorOf(() => repo.createModelGroup({ name: 'smart' }))).toMatchObject({ param: 'name' });
      expect(repo.listModelGroups().map((row) => row.name)).toEqual(['smart']);
      expect(repo.deleteModelGroup('g1')).toBe(true);
      expect(repo.listModelGroups()).toEqual([]);
    });

    it('sets, retargets and deletes aliases', () => {
      expect(repo.setAlias('fast', 'groq/llama-3.3-70b')).toEqual({
        alias: 'fast', target: 'groq/llama-3.3-70b', source: 'store', created_at: 1000, updated_at: 1000,
      });
      now = 2000;
      expect(repo.setAlias('fast', 'openai/gpt-4o-mini', 'file')).toEqual({
        alias: 'fast', target: 'openai/gpt-4o-mini', source: 'file', created_at: 1000, updated_at: 2000,
      });
      repo.setAlias('best', 'smart');
      expect(repo.listAliases().map((row) => row.alias)).toEqual(['best', 'fast']);
      expect(repo.deleteAlias('fast')).toBe(true);
      expect(repo.getAlias('fast')).toBeUndefined();
    });
  });

  describe('settings', () => {
    it('gets and sets JSON values', () => {
      expect(repo.getSetting('logging')).toBeUndefined();
      repo.setSetting('logging', { bodies: true, max_body_bytes: 65536 });
      repo.setSetting('default_model', 'openai/gpt-4o-mini');
      repo.setSetting('enforce_keys', false);
      expect(repo.getSetting<{ bodies: boolean }>('logging')).toEqual({ bodies: true, max_body_bytes: 65536 });
      repo.setSetting('logging', { bodies: false });
      expect(repo.listSettings()).toEqual({
        default_model: 'openai/gpt-4o-mini', enforce_keys: false, logging: { bodies: false },
      });
      expect(repo.deleteSetting('enforce_keys')).toBe(true);
      expect(repo.getSetting('enforce_keys')).toBeUndefined();
      expect(() => repo.setSetting('x', undefined)).toThrow(GatewayError);
    });
  });

  describe('audit', () => {
    it('appends entries with secrets redacted in before and after', () => {
      const entry = repo.appendAudit({
        actor: 'admin',
        action: 'provider_key.update',
        target: 'k1',
        before: { name: 'main', secret: SECRET, last4: 'WXYZ' },
        after: { name: 'main', api_key: 'whatever', headers: { authorization: 'Bearer x' }, note: `pasted ${SECRET}` },
      });
      expect(entry).toEqual({
        id: 1, time: 1000, actor: 'admin', action: 'provider_key.update', target: 'k1', user_id: null, address: null,
        before: { name: 'main', secret: REDACTED, last4: 'WXYZ' },
        after: { name: 'main', api_key: REDACTED, headers: { authorization: REDACTED }, note: `pasted ${REDACTED}` },
      });
      const raw = db.prepare('SELECT before, after FROM audit_log').get() as { before: string; after: string };
      expect(raw.before + raw.after).not.toContain('FakeFake');
      expect(repo.listAudit().items).toEqual([entry]);
    });

    it('lists newest first with filters and cursor pagination', () => {
      for (let i = 1; i <= 7; i++) {
        now = i * 1000;
        repo.appendAudit({ actor: i % 2 ? 'admin' : 'config-file', action: i <= 4 ? 'provider.create' : 'settings.set', target: `t${i}` });
      }
      const page1 = repo.listAudit({ limit: 3 });
      expect(page1.items.map((entry) => entry.target)).toEqual(['t7', 't6', 't5']);
      const page2 = repo.listAudit({ limit: 3, cursor: page1.next_cursor });
      expect(page2.items.map((entry) => entry.target)).toEqual(['t4', 't3', 't2']);
      const page3 = repo.listAudit({ limit: 3, cursor: page2.next_cursor });
      expect(page3.items.map((entry) => entry.target)).toEqual(['t1']);
      expect(page3.next_cursor).toBeNull();
      expect(repo.listAudit({ actor: 'admin' }).items.map((entry) => entry.target)).toEqual(['t7', 't5', 't3', 't1']);
      expect(repo.listAudit({ action: 'provider.create', actor: 'config-file' }).items.map((entry) => entry.target))
        .toEqual(['t4', 't2']);
      expect(repo.listAudit({ target: 't3' }).items).toHaveLength(1);
      expect(repo.listAudit({ from: 2000, to: 4000 }).items.map((entry) => entry.target)).toEqual(['t3', 't2']);
      expect(repo.listAudit().items[0]).toMatchObject({ before: null, after: null });
      expect(errorOf(() => repo.listAudit({ cursor: '!!' }))).toMatchObject({ param: 'cursor' });
    });
  });

  it('runs a change and its audit entry in one transaction', () => {
    expect(() =>
      repo.transaction(() => {
        repo.createProvider({ id: 'p1', name: 'openai', type: 'openai' });
        repo.appendAudit({ actor: 'admin', action: 'provider.create', target: 'p1', after: repo.getProvider('p1') });
        throw new Error('validation failed later');
      }),
    ).toThrow('validation failed later');
    expect(repo.listProviders()).toEqual([]);
    expect(repo.listAudit().items).toEqual([]);

    repo.transaction(() => {
      repo.createProvider({ id: 'p1', name: 'openai', type: 'openai' });
      repo.appendAudit({ actor: 'admin', action: 'provider.create', target: 'p1' });
    });
    expect(repo.listProviders()).toHaveLength(1);
    expect(repo.listAudit().items).toHaveLength(1);
  });
});
