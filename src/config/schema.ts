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

/** Metrics, traces and logs (docs/observability.md). The OTEL_* environment variables win over these. */
const telemetrySchema = z
  .strictObject({
    service_name: z.string().min(1).optional().describe('service.name of traces and OTLP metrics (env OTEL_SERVICE_NAME; default "heimdall").'),
    resource_attributes: z
      .record(z.string(), z.string())
      .optional()
      .describe('Extra OpenTelemetry resource attributes, e.g. {"deployment.environment.name": "prod"} (env OTEL_RESOURCE_ATTRIBUTES adds to them).'),
    otlp: z
      .strictObject({
        endpoint: z.string().url().optional().describe('OTLP/HTTP base URL of a collector, e.g. http://127.0.0.1:4318; /v1/traces and /v1/metrics are appended (env OTEL_EXPORTER_OTLP_ENDPOINT). Setting it turns tracing on.'),
        headers: z.record(z.string(), secret).optional().describe('Headers sent with every export, e.g. a tracing vendor\'s key (env OTEL_EXPORTER_OTLP_HEADERS).'),
      })
      .optional(),
    tracing: z
      .strictObject({
        enabled: z.boolean().optional().describe('OpenTelemetry tracing; default: on when an OTLP endpoint is set. Off costs nothing: the SDK is not even loaded.'),
        endpoint: z.string().url().optional().describe('Full OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces (env OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).'),
        sample_ratio: z.number().min(0).max(1).default(1).describe("Share of new traces recorded; a caller's traceparent decision is always followed (env OTEL_TRACES_SAMPLER/_ARG)."),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        process_metrics: z.boolean().default(true).describe('Node process metrics in GET /metrics: memory, CPU, event loop lag, GC.'),
        virtual_key_labels: z
          .boolean()
          .default(false)
          .describe('Add a virtual_key label to the request, token, cost and rejection metrics (one series per key: mind the cardinality).'),
        otlp_export: z.boolean().default(false).describe('Also push the metrics over OTLP/HTTP (env OTEL_METRICS_EXPORTER=otlp).'),
        otlp_endpoint: z.string().url().optional().describe('Full OTLP/HTTP metrics URL (env OTEL_EXPORTER_OTLP_METRICS_ENDPOINT); setting it turns the export on.'),
        otlp_interval_ms: z.number().int().positive().default(60_000).describe('How often metrics are pushed over OTLP (env OTEL_METRIC_EXPORT_INTERVAL).'),
      })
      .prefault({}),
    log_format: z
      .enum(['auto', 'json', 'pretty'])
      .default('auto')
      .describe('Log lines: pretty in a terminal and JSON otherwise ("auto"), or always one of them (env LOG_FORMAT).'),
  })
  .describe('Metrics, traces and logs.');

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
    telemetry: telemetrySchema.prefault({}),
    logging: z
      .strictObject({
        bodies: z
          .boolean()
          .default(false)
          .describe('Keep request and response bodies in the request logs (secrets redacted, each capped at max_body_bytes).'),
        max_body_bytes: z.number().int().min(0).max(16 * 1024 * 1024).default(64 * 1024).describe('Cap per logged body, in bytes.'),
        retention_days: z.number().min(0).default(30).describe('Request logs older than this many days are deleted; 0 keeps them.'),
        max_db_bytes: z
          .number()
          .int()
          .min(0)
          .default(1024 * 1024 * 1024)
          .describe('When the database grows past this many bytes, the oldest request logs are deleted; 0: no cap.'),
      })
      .prefault({})
      .describe('Request logs kept in the database (GET /api/logs). Can be changed live through PATCH /api/settings.'),
    admin: z
      .strictObject({
        token: secret
          .optional()
          .describe('Token for the management API and the dashboard (Bearer header or login); HEIMDALL_ADMIN_TOKEN wins over it. Without a token, /api answers loopback clients only.'),
        session_ttl_hours: z.number().positive().max(24 * 365).default(24).describe('How long a dashboard login (session cookie) lasts.'),
      })
      .prefault({})
      .describe('Access to the management API and the dashboard.'),
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
