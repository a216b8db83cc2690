/**
 * Wires the configured plugins into the app (one line in app.ts): loaded at
 * start (a plugin that does not load stops start-up, like a bad config file),
 * loaded again on every configuration change that touches `plugins` (config
 * file, PUT /api/plugins; one that does not load leaves the running set), and
 * closed with the app.
 */
import type { FastifyInstance } from 'fastify';
import type { ResolvedConfig } from '../config/load.js';
import type { Gateway } from '../gateway/gateway.js';
import type { Logger } from '../telemetry/logger.js';
import { PluginLoader } from './loader.js';

declare module 'fastify' {
  interface FastifyInstance {
    plugins: PluginService;
  }
}

export interface PluginService {
  readonly loader: PluginLoader;
  /** Resolves when the last configuration change's plugins are loaded (or failed to). */
  settled(): Promise<void>;
  /** The folder the running configuration's relative plugin paths resolve from. */
  baseDir(): string;
}

export async function registerPlugins(app: FastifyInstance, config: ResolvedConfig, gateway: Gateway, logger: Logger): Promise<PluginService> {
  const loader = new PluginLoader(gateway.lifecycle, logger);
  const running = (): ResolvedConfig => (app.hasDecorator('configService') ? app.configService.config : config);
  const baseDir = (): string => PluginLoader.baseDir(running().configPath);
  await loader.apply(running().plugins, baseDir());
  let pending: Promise<void> = Promise.resolve();
  if (app.hasDecorator('configService')) {
    app.configService.onChange((next, previous) => {
      if (JSON.stringify(next.plugins) === JSON.stringify(previous.plugins)) return;
      pending = loader.apply(next.plugins, PluginLoader.baseDir(next.configPath)).catch((error: unknown) => {
        logger.error({ error: (error as Error).message }, 'plugins change rejected: they do not load; the running plugins stay');
      });
    });
  }
  const service: PluginService = { loader, settled: () => pending, baseDir };
  app.decorate('plugins', service);
  app.addHook('onClose', async () => gateway.lifecycle.close());
  return service;
}
