/**
 * The config file schema (JSON, snake_case). It validates the file, fills the
 * defaults, and generates schema/config.schema.json for editor completion.
 * Every key is documented here with `.describe()`: the JSON Schema carries it.
 */
import { z } from 'zod';

/** A secret written inline or as `"env.NAME"` (read from the environment at load). */
const secret = z
  .string()
  .min(1)
  .describe('A secret, written inline or as "env.NAME" to read it from the environment variable NAME.');

const timeouts = z
  .strictObject({
    connect_ms: z.number().int().positive().optional().describe('TCP/TLS connect timeout.'),
    first_byte_ms: z.number().int().positive().optional().describe('Time allowed until the response headers arrive.'),
    idle_ms: z.number().int().positive().optional().describe('Longest pause allowed between two chunks of a response body (stream events).'),
    total_ms: z.number().int().positive().optional().describe('Longest time for a whole upstream call, stream included.'),
  })
  .describe('Upstream timeouts, in milliseconds.');

export const providerKeySchema = z
  .strictObject({
    name: z.string().min(1).optional().describe('A label for logs and the dashboard.'),
    api_key: secret.describe('The API key (or "env.NAME").'),
    weight: z.number().min(0).default(1).describe('Share of traffic this key gets among the eligible keys.'),
    models: z.array(z.string().min(1)).optional().describe('Only these models may use this key (default: all).'),
    enabled: z.boolean().default(true),
  })
  .describe('One API key of a provider.');

export const providerSchema = z
  .strictObject({
    type: z
      .string()
      .min(1)
      .optional()
      .describe('Which provider definition this entry uses (e.g. "openai", "anthropic", "openai-compatible"). Defaults to the entry name.'),
    enabled: z.boolean().default(true),
    base_url: z.string().url().optional().describe('Overrides the provider base URL (same meaning as the official SDK).'),
    api_key: secret.optional().describe('A single API key. Use "keys" for several weighted keys.'),
    keys: z.array(providerKeySchema).optional().describe('Several keys, chosen by weight.'),
    models: z
      .array(z.string().min(1))
      .optional()
      .describe('Models this provider serves, listed in GET /v1/models and used to route bare model names.'),
    embedding_models: z.array(z.string().min(1)).optional(),
    headers: z.record(z.string(), z.string()).optional().describe('Extra headers sent with every upstream call.'),
    timeouts: timeouts.optional(),
    max_retries: z.number().int().min(0).max(10).optional().describe('Retries on retryable failures (default 2).'),
    options: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Provider-specific settings (Azure api_version and deployments, Bedrock region, Vertex project, ...).'),
  })
  .describe('A provider entry, keyed by the name used in "provider/model".');

export const configSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path or URL of this JSON Schema, for editors.'),
    server: z
      .strictObject({
        port: z.number().int().min(0).max(65535).default(8080),
        host: z.string().min(1).default('127.0.0.1'),
        data_dir: z.string().min(1).optional().describe('Where the SQLite database lives (default ~/.heimdall).'),
        log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        shutdown_timeout_ms: z
          .number()
          .int()
          .positive()
          .default(10_000)
          .describe('On SIGINT/SIGTERM, how long in-flight requests and streams may take to finish.'),
      })
      .prefault({}),
    limits: z
      .strictObject({
        max_body_bytes: z
          .number()
          .int()
          .positive()
          .default(20 * 1024 * 1024)
          .describe('Largest accepted request body, in bytes (413 above it).'),
      })
      .prefault({}),
    timeouts: timeouts
      .prefault({})
      .describe('Default upstream timeouts for every provider (each provider may override).'),
    providers: z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_", "-"'), providerSchema).default({}),
    routing: z
      .strictObject({
        default_provider: z.string().optional().describe('Provider for a bare model name no provider lists.'),
        default_model: z.string().optional().describe('Model used when a request names none.'),
        aliases: z
          .record(z.string(), z.string())
          .default({})
          .describe('Public model names mapped to "provider/model".'),
        fallbacks: z
          .record(z.string(), z.array(z.string()))
          .default({})
          .describe('For a model, the targets tried in order when it fails.'),
        strict_params: z
          .boolean()
          .default(false)
          .describe('Refuse (400) a parameter the target provider cannot take, instead of dropping it with a warning.'),
      })
      .prefault({}),
  })
  .describe('Heimdall configuration file.');

export type ConfigFile = z.infer<typeof configSchema>;
export type ConfigFileInput = z.input<typeof configSchema>;
export type ProviderEntry = z.infer<typeof providerSchema>;
export type TimeoutsConfig = z.infer<typeof timeouts>;

/** The JSON Schema shipped as schema/config.schema.json. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: 'input', target: 'draft-7' }) as Record<string, unknown>;
}
