/**
 * /api/plugins: the plugins on the request lifecycle.
 *
 * - GET: every plugin in the order it runs (Heimdall's own included, `builtin: true`) with its
 *   stages, the configured list (config file, or what PUT saved) and each entry's load status.
 * - PUT `{ "plugins": [...] }`: replaces the configured list (the config file's `plugins` shape).
 *   Each module is loaded and built first: one that does not load is a 400 naming it, and nothing
 *   is saved. Saved in the store (audited), applied to the next request without a restart.
 * - DELETE: drops the saved list; the config file's applies again.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { invalidField } from '../../errors/gateway-error.js';
import { PLUGINS_SETTING as SETTING } from '../../config/store-patch.js';
import { pluginsSchema } from '../../plugins/config-schema.js';
import { PluginLoadError } from '../../plugins/loader.js';
import { parseBody } from './http.js';

const putBody = z.strictObject({ plugins: pluginsSchema });

export function registerPluginRoutes(api: FastifyInstance): void {
  const service = api.configService;
  const repo = api.store.config;
  const plugins = api.plugins;

  const view = () => ({
    data: api.gateway.lifecycle.describe().map((plugin) => ({
      name: plugin.name, builtin: plugin.builtin, stages: plugin.stages, fail_closed: plugin.failClosed, timeout_ms: plugin.timeoutMs,
    })),
    configured: service.config.plugins,
    source: repo.getSetting(SETTING) === undefined ? 'config_file' : 'store',
    status: plugins.loader.status.map((status) => ({ source: status.source, enabled: status.enabled, name: status.name ?? null, loaded: status.loaded, error: status.error ?? null })),
  });

  api.get('/plugins', async () => view());

  api.put('/plugins', async (request) => {
    const { plugins: entries } = parseBody(putBody, request.body);
    try {
      await plugins.loader.check(entries, plugins.baseDir());
    } catch (error) {
      if (error instanceof PluginLoadError) throw invalidField('plugins', error.message);
      throw error;
    }
    service.change({ actor: request.adminActor, action: 'plugins.update', target: SETTING }, () => repo.setSetting(SETTING, entries), (snapshot) => snapshot.config.plugins);
    await plugins.settled();
    return view();
  });

  api.delete('/plugins', async (request) => {
    service.change({ actor: request.adminActor, action: 'plugins.reset', target: SETTING }, () => repo.deleteSetting(SETTING), (snapshot) => snapshot.config.plugins);
    await plugins.settled();
    return view();
  });
}
