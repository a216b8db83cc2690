/**
 * The config file schema (JSON, snake_case). It validates the file, fills the
 * defaults, and generates schema/config.schema.json for editor completion.
 * Every key is documented here with `.describe()`: the JSON Schema carries it.
 */
import { z } from 'zod';
import { governanceSchema } from '../governance/config-schema.js';
import { isNeverForwarded } from '../providers/forward-headers.js';
import { catalogSchema } from '../catalog/config-schema.js';
import { responsesSchema } from './responses-schema.js';
import { cacheSchema } from '../cache/config-schema.js';
import { pluginsSchema } from '../plugins/config-schema.js';
import { overloadLimitsShape } from '../gateway/admission-schema.js';
import { redisSchema } from '../cluster/redis-config.js';
import { databaseSchema } from '../store/pg/database-config.js';
import { authSchema } from '../auth/config-schema.js';
import { mcpSchema } from '../mcp/config-schema.js';

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
    total_ms: z.number().int().positive().optional().describe('Longest time for the whole request: every attempt, retry wait and fallback, stream included (504 when it runs out).'),
  })
  .describe('Upstream timeouts, in milliseconds.');

const concurrencySchema = z
  .strictObject({
    max_in_flight: z.number().int().positive().describe('Upstream calls to this provider at the same time, all keys together.'),
    max_queue: z.number().int().min(0).default(100).describe('Calls waiting for a free slot; when the queue is full the next call fails at once (429).'),
    queue_timeout_ms: z.number().int().positive().default(30_000).describe('Longest wait in the queue before the call fails (503).'),
  })
  .describe('Per-provider concurrency limit with a bounded queue (default: no limit).');

const healthCheckSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    interval_ms: z.number().int().min(1000).default(30_000).describe('Time between two checks of each key.'),
    timeout_ms: z.number().int().positive().default(5_000).describe('A check that takes longer fails.'),
  })
  .describe('Active health checks: each key lists the models (GET /models, spends no tokens) on an interval; the result feeds the circuit breaker and the health view.');

const deploymentSchema = z
  .strictObject({
    provider: z.string().min(1).describe('A configured provider name.'),
    model: z.string().min(1).describe("The provider's own model id (an Azure deployment's model name...)."),
    weight: z.number().min(0).default(1).describe('Share of the group traffic this deployment gets.'),
  })
  .describe('One (provider, model) serving a model group.');

export const modelGroupSchema = z
  .strictObject({
    deployments: z.array(deploymentSchema).min(1),
    fallbacks: z.array(z.string().min(1)).default([]).describe('Targets ("provider/model" or another group) tried in order when every deployment failed.'),
    enabled: z.boolean().default(true),
  })
  .describe('One public model name served by several deployments, chosen by weight.');

export const providerKeySchema = z
  .strictObject({
    id: z.string().min(1).optional().describe('Stable id of the key, for health state and the management API (default: the name, else "<provider>#<index>").'),
    name: z.string().min(1).optional().describe('A label for logs and the dashboard.'),
    api_key: secret.describe('The API key (or "env.NAME").'),
    weight: z.number().min(0).default(1).describe('Share of traffic this key gets among the eligible keys.'),
    models: z.array(z.string().min(1)).optional().describe('Only these models may use this key (default: all).'),
    enabled: z.boolean().default(true),
  })
  .describe('One API key of a provider.');

/** A header name, or a prefix ending in `*`; credentials, cookies and hop-by-hop headers are refused. */
const forwardedHeaderName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'+.^_`|~-]+\*?$/, 'a header name, or a prefix ending in "*"')
  .refine((name) => !isNeverForwarded(name.replace(/\*$/, '')), 'credentials, cookies, hop-by-hop and x-heimdall-* headers are never forwarded');

export const forwardHeadersSchema = z
  .strictObject({
    allow: z.array(forwardedHeaderName).optional().describe('Caller headers forwarded besides the wire format\'s protocol headers (e.g. "openai-organization", "x-custom-*").'),
    deny: z.array(z.string().regex(/^([A-Za-z0-9!#$%&'+.^_`|~-]+\*?|\*)$/, 'a header name, a prefix ending in "*", or "*"')).optional().describe('Caller headers never forwarded, defaults included (e.g. "anthropic-version", "*" for none).'),
  })
  .describe('Which of the caller\'s request headers reach this provider when the caller speaks its wire format (docs/providers.md).');

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
    max_retries: z.number().int().min(0).max(10).optional().describe('Retries on retryable failures (default routing.retry.max_retries, 2).'),
    retry_budget_ms: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Time from the first attempt on this provider within which a retry may still start, waits included (default routing.retry.budget_ms). A Retry-After past it fails fast with the upstream 429.'),
    concurrency: concurrencySchema.optional(),
    health_check: healthCheckSchema.optional(),
    options: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Provider-specific settings (Azure api_version and deployments, Bedrock region, Vertex project, ...).'),
    forward_headers: forwardHeadersSchema.optional(),
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
        allowed_hosts: z
          .array(z.string().min(1))
          .optional()
          .describe('Host header names accepted besides the listen address (DNS-rebinding defence; "*" accepts any). Default: loopback names when listening on loopback, any host otherwise.'),
        cors: z
          .strictObject({
            origins: z.array(z.string().min(1)).default([]).describe('Web page origins allowed to call the gateway from a browser ("https://app.example.com"; "*" for any).'),
            methods: z.array(z.string().min(1)).default(['GET', 'POST', 'DELETE', 'OPTIONS']).describe('Methods a preflight allows.'),
            headers: z.array(z.string().min(1)).optional().describe('Request headers a preflight allows (default: those the browser asks for).'),
            credentials: z.boolean().default(false).describe('Allow cookies and HTTP authentication on cross-origin requests (never with "*").'),
            max_age_seconds: z.number().int().min(0).default(600).describe('How long a browser may cache a preflight answer.'),
          })
          .optional()
          .describe('Browser access from other origins (CORS). Off by default: cross-origin browser requests are refused.'),
        headers_timeout_ms: z
          .number()
          .int()
          .positive()
          .default(10_000)
          .describe('How long a client may take to send the request line and headers; then 408 and the connection is closed.'),
        request_timeout_ms: z
          .number()
          .int()
          .positive()
          .default(60_000)
          .describe('How long a client may take to send a whole request (headers and body); then 408 and the connection is closed. Answers (streams included) are not limited by it.'),
        keep_alive_timeout_ms: z
          .number()
          .int()
          .positive()
          .default(65_000)
          .describe('How long an idle keep-alive connection (no request in progress) stays open.'),
        max_connections_per_client: z
          .number()
          .int()
          .min(0)
          .default(512)
          .describe('Open connections allowed from one client address; one more is answered 429 and closed. 0: no cap.'),
        websocket: z
          .strictObject({
            enabled: z.boolean().default(true).describe('Serve the Responses API WebSocket mode (a WebSocket handshake on GET /v1/responses, as Codex uses). Off: the handshake is answered 426 and clients fall back to HTTP.'),
            idle_timeout_ms: z
              .number()
              .int()
              .positive()
              .default(300_000)
              .describe('A Responses WebSocket with no response running and no message from the client for this long is closed (code 1000).'),
            max_connections: z
              .number()
              .int()
              .min(0)
              .default(256)
              .describe('Responses WebSockets open at once on this gateway; one more handshake is answered 429. 0: no cap.'),
          })
          .prefault({})
          .describe('The Responses API WebSocket mode (applied at start).'),
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
        ...overloadLimitsShape,
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
        model_groups: z
          .record(z.string().min(1), modelGroupSchema)
          .default({})
          .describe('Public model names served by several weighted (provider, model) deployments.'),
        context_window_fallbacks: z
          .record(z.string(), z.array(z.string().min(1)))
          .default({})
          .describe('For a model, the targets tried when the provider refuses the prompt as too long for its context window.'),
        content_policy_fallbacks: z
          .record(z.string(), z.array(z.string().min(1)))
          .default({})
          .describe("For a model, the targets tried when the provider refuses the request under its content policy."),
        retry: z
          .strictObject({
            max_retries: z.number().int().min(0).max(10).default(2).describe('Retries of a target on retryable failures (429, 5xx, timeouts, connection errors); each provider may override it.'),
            budget_ms: z.number().int().positive().default(60_000).describe('A retry may start only this long after the first attempt on a target, waits included; each provider may override it (retry_budget_ms).'),
          })
          .prefault({})
          .describe('Default retry bounds of every provider.'),
        circuit_breaker: z
          .strictObject({
            enabled: z.boolean().default(true),
            failure_threshold: z.number().int().positive().default(5).describe('Failures in a row that open the circuit of a key.'),
            cooldown_ms: z.number().int().positive().default(30_000).describe('The longest an open key is skipped before one probe request may try it.'),
            probe_interval_ms: z.number().int().min(0).default(1_000).describe('The first probe of an open key comes this soon; each failed probe doubles the wait, up to cooldown_ms. 0: always wait cooldown_ms.'),
            error_rate_threshold: z.number().gt(0).max(1).default(0.5).describe('Error rate over window_ms that also opens the circuit.'),
            min_requests: z.number().int().positive().default(20).describe('Results needed in the window before the error rate counts.'),
            window_ms: z.number().int().positive().default(60_000),
          })
          .prefault({})
          .describe('Per-key circuit breaker: closed, open after repeated failures, half-open with a single probe, closed again.'),
        adaptive: z
          .strictObject({
            enabled: z.boolean().default(true),
            half_life_ms: z.number().int().positive().default(30_000).describe('How fast the error-rate and latency averages forget.'),
            min_share: z.number().min(0).max(1).default(0.05).describe('Lowest factor on a degraded key\'s weight, so its recovery is measured.'),
          })
          .prefault({})
          .describe("Adaptive balancing: each key's weight follows its recent error rate and latency."),
      })
      .prefault({}),
    telemetry: telemetrySchema.prefault({}),
    governance: governanceSchema.prefault({}),
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
    catalog: catalogSchema.prefault({}),
    responses: responsesSchema.prefault({}),
    cache: cacheSchema.prefault({}),
    plugins: pluginsSchema,
    redis: redisSchema.prefault({}),
    database: databaseSchema.prefault({}),
    auth: authSchema.prefault({}),
    mcp: mcpSchema.prefault({}),
  })
  .describe('Heimdall configuration file.');

export type ConfigFile = z.infer<typeof configSchema>;
export type ConfigFileInput = z.input<typeof configSchema>;
export type ProviderEntry = z.infer<typeof providerSchema>;
export type TimeoutsConfig = z.infer<typeof timeouts>;
export type ModelGroupEntry = z.infer<typeof modelGroupSchema>;

/** The JSON Schema shipped as schema/config.schema.json. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: 'input', target: 'draft-7' }) as Record<string, unknown>;
}
