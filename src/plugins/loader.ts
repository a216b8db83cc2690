/**
 * Loads the configured plugins: each entry's module (a file, or an npm
 * package), its default export called with the entry's options, the result
 * checked, then the whole set handed to the lifecycle at once. A file is
 * imported again when it changed (its modification time is part of the
 * import URL), so an edited plugin applies on the next reload without a
 * restart. A set that does not load leaves the running one in place.
 */
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from '../telemetry/logger.js';
import type { PluginEntry } from './config-schema.js';
import type { Lifecycle, PluginSettings } from './lifecycle.js';
import { STAGES, type Plugin, type PluginContext, type PluginFactory } from './types.js';

/** What was asked for, and what came of it (GET /api/plugins, the dashboard). */
export interface PluginStatus {
  /** The entry's `path` or `package`. */
  source: string;
  enabled: boolean;
  /** The plugin's name once loaded. */
  name: string | undefined;
  loaded: boolean;
  error: string | undefined;
  stages: string[];
}

export class PluginLoadError extends Error {
  constructor(readonly source: string, message: string) {
    super(`plugin ${source}: ${message}`);
    this.name = 'PluginLoadError';
  }
}

function sourceOf(entry: PluginEntry): string {
  return entry.path ?? entry.package ?? '?';
}

/** The module URL to import: a file with its mtime (a changed file is imported anew), or a package. */
function moduleUrl(entry: PluginEntry, baseDir: string): string {
  if (entry.path !== undefined) {
    const file = isAbsolute(entry.path) ? entry.path : resolve(baseDir, entry.path);
    let stamp: number;
    try {
      stamp = statSync(file).mtimeMs;
    } catch {
      throw new PluginLoadError(entry.path, `no such file: ${file}`);
    }
    return `${pathToFileURL(file).href}?v=${stamp}`;
  }
  const name = entry.package!;
  try {
    return pathToFileURL(createRequire(join(baseDir, 'package.json')).resolve(name)).href;
  } catch {
    return name; // an ESM-only package, or one installed beside Heimdall: Node's own resolution
  }
}

function checkPlugin(value: unknown, source: string): Plugin {
  if (typeof value !== 'object' || value === null) throw new PluginLoadError(source, 'the default export must build an object (the plugin)');
  const plugin = value as Record<string, unknown>;
  if (typeof plugin.name !== 'string' || plugin.name === '') throw new PluginLoadError(source, 'the plugin has no "name"');
  for (const stage of [...STAGES, 'close']) {
    if (plugin[stage] !== undefined && typeof plugin[stage] !== 'function') throw new PluginLoadError(source, `"${stage}" must be a function`);
  }
  for (const list of ['after', 'before']) {
    const names = plugin[list];
    if (names !== undefined && (!Array.isArray(names) || names.some((name) => typeof name !== 'string'))) throw new PluginLoadError(source, `"${list}" must be a list of plugin names`);
  }
  return value as Plugin;
}

function pluginLogger(logger: Logger, name: string): PluginContext['logger'] {
  const child = logger.child({ plugin: name });
  return {
    info: (object, message) => child.info(object, message),
    warn: (object, message) => child.warn(object, message),
    error: (object, message) => child.error(object, message),
    debug: (object, message) => child.debug(object, message),
  };
}

/** Imports and builds one entry's plugin. */
export async function buildPlugin(entry: PluginEntry, baseDir: string, logger: Logger): Promise<Plugin> {
  const source = sourceOf(entry);
  let module: { default?: unknown };
  try {
    module = (await import(moduleUrl(entry, baseDir))) as { default?: unknown };
  } catch (error) {
    if (error instanceof PluginLoadError) throw error;
    throw new PluginLoadError(source, `cannot be imported: ${(error as Error).message}`);
  }
  const factory = module.default;
  if (typeof factory !== 'function') throw new PluginLoadError(source, 'its default export must be a function that builds the plugin from its options');
  let built: unknown;
  try {
    built = await (factory as PluginFactory)(entry.options ?? {}, { logger: pluginLogger(logger, source) });
  } catch (error) {
    throw new PluginLoadError(source, `its factory threw: ${(error as Error).message}`);
  }
  return checkPlugin(built, source);
}

export class PluginLoader {
  private statuses: PluginStatus[] = [];
  /** Loads run one after another: the last configuration wins. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly lifecycle: Lifecycle,
    private readonly logger: Logger,
  ) {}

  get status(): readonly PluginStatus[] {
    return this.statuses;
  }

  /** The folder relative paths and packages resolve from. */
  static baseDir(configPath: string | undefined): string {
    return configPath === undefined ? process.cwd() : dirname(resolve(configPath));
  }

  /** Builds every enabled entry (throws PluginLoadError on the first that fails); the caller owns the plugins. */
  async build(entries: readonly PluginEntry[], baseDir: string): Promise<Array<{ plugin: Plugin; settings: PluginSettings; entry: PluginEntry }>> {
    const built: Array<{ plugin: Plugin; settings: PluginSettings; entry: PluginEntry }> = [];
    try {
      for (const entry of entries) {
        if (!entry.enabled) continue;
        const plugin = await buildPlugin(entry, baseDir, this.logger);
        built.push({ plugin, settings: { failClosed: entry.fail_closed, timeoutMs: entry.timeout_ms }, entry });
      }
    } catch (error) {
      await Promise.all(built.map(({ plugin }) => Promise.resolve(plugin.close?.()).catch(() => undefined)));
      throw error;
    }
    return built;
  }

  /** Checks that `entries` load (each plugin built, ordered, then closed): the management API, before it saves. */
  async check(entries: readonly PluginEntry[], baseDir: string): Promise<void> {
    const built = await this.build(entries, baseDir);
    try {
      this.lifecycle.checkOrder(built.map(({ plugin }) => plugin));
    } catch (error) {
      throw new PluginLoadError('plugins', (error as Error).message);
    } finally {
      await Promise.all(built.map(({ plugin }) => Promise.resolve(plugin.close?.()).catch(() => undefined)));
    }
  }

  /** Loads `entries` and puts them on the lifecycle; throws when they do not load (the running set stays). */
  apply(entries: readonly PluginEntry[], baseDir: string): Promise<void> {
    const run = this.queue.then(() => this.load(entries, baseDir));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async load(entries: readonly PluginEntry[], baseDir: string): Promise<void> {
    const previous = this.lifecycle.configuredPlugins();
    let built: Awaited<ReturnType<PluginLoader['build']>>;
    try {
      built = await this.build(entries, baseDir);
      this.lifecycle.setConfigured(built);
    } catch (error) {
      const failed = error instanceof PluginLoadError ? error.source : undefined;
      this.statuses = entries.map((entry) => ({
        source: sourceOf(entry), enabled: entry.enabled, name: undefined, loaded: false,
        error: sourceOf(entry) === failed || failed === 'plugins' ? (error as Error).message : undefined, stages: [],
      }));
      throw error;
    }
    this.statuses = entries.map((entry) => {
      const found = built.find((item) => item.entry === entry);
      const plugin = found?.plugin as Record<string, unknown> | undefined;
      return {
        source: sourceOf(entry), enabled: entry.enabled, name: found?.plugin.name, loaded: found !== undefined, error: undefined,
        stages: plugin === undefined ? [] : STAGES.filter((stage) => typeof plugin[stage] === 'function'),
      };
    });
    await this.lifecycle.closeRemoved(previous);
    if (built.length > 0 || previous.length > 0) this.logger.info({ plugins: this.lifecycle.names() }, 'plugins loaded');
  }
}
