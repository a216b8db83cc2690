/**
 * /api/settings: the live settings sections (logging, limits, timeouts, and
 * any later section such as governance switches), read and patched with JSON
 * merge patch semantics (null reverts a field to the config file or the
 * default). Each section is validated by its own part of the config schema.
 * /api/config: the whole effective configuration, secrets masked, with sources.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { isObject, settingsSections, type JsonObject } from '../../config/store-patch.js';
import { invalidField } from '../../errors/gateway-error.js';
import { mergePatch, parseBody } from './http.js';
import { MANAGED_ELSEWHERE, configView, settingsView } from './views.js';

const ELSEWHERE: Record<string, string> = {
  server: 'server settings apply at start: change them in the config file or the command line, and restart',
  providers: 'providers are managed at /api/providers',
  routing: 'routing is managed at /api/routing',
  admin: 'the admin token is set by HEIMDALL_ADMIN_TOKEN or admin.token in the config file',
  plugins: 'plugins are managed at /api/plugins',
  database: 'the cluster database is set by HEIMDALL_DATABASE_URL or database.url in the config file, at start',
  telemetry: 'telemetry settings come from the config file and the OTEL_* environment: telemetry.tracing.sample_ratio applies when the file changes, the rest at the next start',
};

export function registerSettingsRoutes(api: FastifyInstance): void {
  const service = api.configService;
  const repo = api.store.config;
  const sections = settingsSections();
  const body = z.record(z.string(), z.unknown());

  api.get('/settings', async () => settingsView(service.snapshot));

  api.patch('/settings', async (request) => {
    const patch = parseBody(body, request.body);
    for (const [section, value] of Object.entries(patch)) {
      if (!sections.includes(section)) {
        const hint = ELSEWHERE[section] ?? `settings sections are ${sections.join(', ')}`;
        throw invalidField(section, `${section}: not a live setting (${hint}).`);
      }
      if (value !== null && !isObject(value)) throw invalidField(section, `${section}: expected an object of fields (or null to drop every stored change).`);
      for (const field of Object.keys(isObject(value) ? value : {})) {
        const where = MANAGED_ELSEWHERE[section]?.[field];
        if (where !== undefined) throw invalidField(`${section}.${field}`, `${section}.${field}: not a setting; it is managed at ${where}.`);
      }
    }
    service.change({ actor: request.adminActor, action: 'settings.update', target: Object.keys(patch).join(',') }, () => {
      for (const [section, value] of Object.entries(patch)) {
        const next = value === null ? {} : (mergePatch(repo.getSetting(section) ?? {}, value) as JsonObject);
        if (Object.keys(next).length === 0) repo.deleteSetting(section);
        else repo.setSetting(section, next);
      }
    }, (snapshot) => {
      const view = settingsView(snapshot);
      return Object.fromEntries(Object.keys(patch).map((section) => [section, view[section]]));
    });
    return settingsView(service.snapshot);
  });

  api.get('/config', async () => configView(service.snapshot));
}
