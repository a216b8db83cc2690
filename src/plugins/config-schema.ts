/**
 * The `plugins` section of the config file (docs/plugins.md): ES modules
 * whose default export builds a plugin from its options. src/config/schema.ts
 * mounts it; the management API (PUT /api/plugins) stores the same list.
 */
import { z } from 'zod';

export const pluginEntrySchema = z
  .strictObject({
    path: z.string().min(1).optional().describe('A module file (.mjs/.js), relative to the config file\'s folder (or the working directory without a config file).'),
    package: z.string().min(1).optional().describe('An installed npm package name (resolved from the config file\'s folder, then Heimdall\'s own node_modules).'),
    options: z.record(z.string(), z.unknown()).default({}).describe('Passed to the module\'s default export, which builds the plugin.'),
    enabled: z.boolean().default(true).describe('false keeps the entry but does not load it.'),
    fail_closed: z.boolean().optional().describe('A throw or timeout in this plugin fails the request (500) instead of being logged and skipped (default: what the plugin says, else false).'),
    timeout_ms: z.number().int().positive().optional().describe('Longest wait for one of the plugin\'s async stages (default 5000).'),
  })
  .refine((entry) => (entry.path === undefined) !== (entry.package === undefined), { message: 'give either "path" or "package"' })
  .describe('One plugin: a module file or an npm package, and its options.');

export const pluginsSchema = z
  .array(pluginEntrySchema)
  .default([])
  .describe('Plugins on the request lifecycle, after Heimdall\'s own; order among them follows each plugin\'s "after"/"before", then this list (docs/plugins.md). Applied on reload without a restart.');

export type PluginEntry = z.infer<typeof pluginEntrySchema>;
