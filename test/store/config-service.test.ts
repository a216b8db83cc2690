/**
 * ConfigService without HTTP: the store patch laid over the file, changes in
 * one transaction with their audit entry (rolled back when the result does
 * not load), onChange listeners, config-file text, and the patch renderer.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigService } from '../../src/config/effective.js';
import { loadConfig, type ResolvedConfig } from '../../src/config/load.js';
import { baseKeyEntries, deepMerge, providerRowOptions, readProviderEntry, renderStorePatch } from '../../src/config/store-patch.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import { GatewayError } from '../../src/errors/gateway-error.js';
import { Store } from '../../src/store/store.js';

interface LogEntry { level: string; obj: Record<string, unknown>; msg: string }

function setup(raw: unknown, env: Record<string, string> = {}) {
  const store = Store.open({ memory: true, env: {}, retention: false, logs: { autoFlush: false } });
  const reloads: ResolvedConfig[] = [];
  const gateway = { reload: (config: ResolvedConfig) => reloads.push(config) } as unknown as Gateway;
  const lines: LogEntry[] = [];
  const logger = {
    info: (obj: object, msg: string) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
    warn: (obj: object, msg: string) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
    error: (obj: object, msg: string) => lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
  };
  const initial = loadConfig({ config: raw, env, overrides: { dataDir: '/tmp/unused-heimdall', port: 0 } });
  const service = new ConfigService(initial, { store, gateway, logger });
  return { store, service, reloads, lines };
}

describe('deepMerge and the provider row format', () => {
  it('objects merge, arrays and scalars replace, undefined changes nothing', () => {
    expect(deepMerge({ a: { b: 1, c: [1, 2] }, d: 'x' }, { a: { c: [3], e: true }, d: undefined })).toEqual({ a: { b: 1, c: [3], e: true }, d: 'x' });
    expect(deepMerge(undefined, { a: 1 })).toEqual({ a: 1 });
    expect(deepMerge({ a: 1 }, undefined)).toEqual({ a: 1 });
  });

  it('headers and options are sealed; the rest stays readable', () => {
    const store = Store.open({ memory: true, env: {}, retention: false, logs: { autoFlush: false } });
    try {
      const entry = { type: 'openai', models: ['m'], headers: { authorization: 'Bearer hdr-123456789' }, options: { secret_access_key: 'aws-000' } };
      const options = providerRowOptions(entry, store.secrets);
      expect(options.entry).toEqual({ type: 'openai', models: ['m'] });
      expect(JSON.stringify(options)).not.toContain('hdr-123456789');
      expect(JSON.stringify(options)).not.toContain('aws-000');
      const row = store.config.createProvider({ name: 'p', type: 'openai', options });
      expect(readProviderEntry(row, store.secrets)).toEqual(entry);
    } finally {
      store.close();
    }
  });

  it('base keys: the file keys, its api_key, or the SDK variable as an env reference', () => {
    expect(baseKeyEntries('openai', { keys: [{ name: 'a', api_key: 'x' }] }, {})).toEqual([{ name: 'a', api_key: 'x' }]);
    expect(baseKeyEntries('openai', { api_key: 'env.MINE' }, {})).toEqual([{ id: 'openai#0', name: 'default', api_key: 'env.MINE' }]);
    expect(baseKeyEntries('openai', undefined, { OPENAI_API_KEY: 'sk-1' })).toEqual([{ id: 'openai#0', name: 'default', api_key: 'env.OPENAI_API_KEY' }]);
    expect(baseKeyEntries('gemini', undefined, { GOOGLE_API_KEY: 'g' })).toEqual([{ id: 'gemini#0', name: 'default', api_key: 'env.GOOGLE_API_KEY' }]);
    expect(baseKeyEntries('my-openai', { type: 'openai' }, { OPENAI_API_KEY: 'sk-1' })).toEqual([]);
  });
});

describe('ConfigService', () => {
  let ctx: ReturnType<typeof setup>;
  afterEach(() => ctx.store.close());

  describe('over a config file', () => {
    beforeEach(() => {
      ctx = setup({ providers: { openai: { api_key: 'sk-file-000000000000' } }, routing: { aliases: { a: 'openai/x' } } }, { GROQ_API_KEY: 'gsk_env_000000000000000000' });
    });

    it('starts with the file and env, reloads the gateway once, and knows the sources', () => {
      expect(ctx.reloads).toHaveLength(1);
      const config = ctx.service.config;
      expect(config.providers.map((p) => [p.name, p.source])).toEqual([['openai', 'file'], ['groq', 'env']]);
      expect(config.sources).toMatchObject({ 'providers.openai': 'file', 'providers.groq': 'env', 'routing.aliases.a': 'file', logging: 'default' });
    });

    it('change(): rows, rebuild, audit in one transaction; listeners hear it', () => {
      const heard: Array<[string | undefined, string | undefined]> = [];
      ctx.service.onChange((config, previous) => heard.push([config.routing.aliases.b, previous.routing.aliases.b]));
      const result = ctx.service.change({ actor: 'test', action: 'alias.set', target: 'b' }, () => {
        ctx.store.config.setAlias('b', 'groq/y');
        return 'done';
      }, (snapshot) => snapshot.config.routing.aliases.b ?? null);
      expect(result).toBe('done');
      expect(ctx.reloads).toHaveLength(2);
      expect(ctx.reloads[1].routing.aliases).toEqual({ a: 'openai/x', b: 'groq/y' });
      expect(heard).toEqual([['groq/y', undefined]]);
      expect(ctx.store.config.listAudit().items[0]).toMatchObject({ actor: 'test', action: 'alias.set', target: 'b', before: null, after: 'groq/y' });
      expect(ctx.service.config.sources['routing.aliases.b']).toBe('store');
    });

    it('a change that does not load is rolled back and named: no row, no audit, no reload', () => {
      let error: unknown;
      try {
        ctx.service.change({ actor: 'test', action: 'settings.update' }, () => {
          ctx.store.config.setSetting('logging', { retention_days: -1 });
        }, undefined);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).param).toBe('logging.retention_days');
      expect((error as GatewayError).message).toMatch(/^logging\.retention_days: /);
      expect(ctx.store.config.getSetting('logging')).toBeUndefined();
      expect(ctx.store.config.listAudit().items).toEqual([]);
      expect(ctx.reloads).toHaveLength(1);
    });

    it('a listener that throws is logged, and the change still applies', () => {
      ctx.service.onChange(() => {
        throw new Error('listener broke');
      });
      ctx.service.change({ actor: 'test', action: 'alias.set' }, () => ctx.store.config.setAlias('c', 'openai/z'));
      expect(ctx.service.config.routing.aliases.c).toBe('openai/z');
      expect(ctx.lines.some((line) => line.level === 'error' && line.msg === 'configuration change listener failed')).toBe(true);
    });

    it('reloadFileText(): applies good text, keeps the config on bad text, never logs the text', () => {
      expect(ctx.service.reloadFileText(JSON.stringify({ providers: { openai: { api_key: 'sk-file-111111111111' } }, routing: { aliases: { a: 'openai/new' } } }))).toBe(true);
      expect(ctx.service.config.routing.aliases.a).toBe('openai/new');
      const kept = ctx.service.config;
      expect(ctx.service.reloadFileText('{"providers": {"openai": {"api_key": "sk-leaky-secret-999999999"')).toBe(false);
      expect(ctx.service.reloadFileText(JSON.stringify({ server: { prot: 1 } }))).toBe(false);
      expect(ctx.service.config).toBe(kept);
      const errors = ctx.lines.filter((line) => line.level === 'error');
      expect(errors.map((line) => line.msg)).toEqual([
        'config file change rejected: the file is not valid JSON; the running configuration stays',
        'config file change rejected; the running configuration stays',
      ]);
      expect(String(errors[1].obj.error)).toContain('server.prot: unknown key');
      expect(JSON.stringify(ctx.lines)).not.toContain('sk-leaky-secret');
    });
  });

  it('store rows that no longer load do not stop the start: the file config runs, with an error line', () => {
    const store = Store.open({ memory: true, env: {}, retention: false, logs: { autoFlush: false } });
    store.config.setSetting('logging', { retention_days: 'many' });
    const lines: string[] = [];
    const logger = { info() {}, warn() {}, error: (_obj: object, msg: string) => lines.push(msg) };
    const gateway = { reload() {} } as unknown as Gateway;
    const service = new ConfigService(loadConfig({ config: {}, env: {}, overrides: { dataDir: '/tmp/unused-heimdall' } }), { store, gateway, logger });
    ctx = { store, service, reloads: [], lines: [] };
    expect(service.config.logging.retentionDays).toBe(30);
    expect(lines[0]).toMatch(/^the configuration saved in the store does not load/);
  });

  it('renderStorePatch: store keys follow the file/env keys of their provider', () => {
    ctx = setup({}, { OPENAI_API_KEY: 'sk-env-00000000000000' });
    const row = ctx.store.config.createProvider({ name: 'openai', type: 'openai', options: providerRowOptions({}, ctx.store.secrets) });
    const key = ctx.store.config.createProviderKey({ provider_id: row.id, name: 'extra', secret: 'sk-store-0000000000', weight: 2 });
    const { patch, origins } = renderStorePatch(ctx.store, {}, { OPENAI_API_KEY: 'sk-env-00000000000000' });
    expect(patch).toEqual({
      providers: {
        openai: {
          keys: [
            { id: 'openai#0', name: 'default', api_key: 'env.OPENAI_API_KEY' },
            { id: key.id, name: 'extra', api_key: 'sk-store-0000000000', weight: 2, enabled: true },
          ],
        },
      },
    });
    expect([...origins.keyIds]).toEqual([key.id]);
  });
});
