/**
 * The `governance` section of the config file, and the shapes the management
 * API validates (budgets, rate limits). src/config/schema.ts mounts it.
 */
import { z } from 'zod';
import { isBudgetPeriod, parseDuration } from './durations.js';

const NAME = /^[a-z0-9][a-z0-9._-]*$/;
const name = z.string().regex(NAME, 'lowercase letters, digits, ".", "_", "-"');

const price = z.number().min(0).finite();

/** Cluster mode: what a limit does while Redis is unreachable (default: the redis.fail_mode of its kind). */
const failMode = z
  .enum(['open', 'closed'])
  .optional()
  .describe('Cluster mode (Redis): "open" keeps counting on each instance while Redis is unreachable, "closed" refuses the request (503); default redis.fail_mode.');

const priceTier = {
  input: price.optional().describe('USD per million prompt tokens (not read from a cache).'),
  cached_input: price.optional().describe('USD per million prompt tokens read from a cache (default: input).'),
  cache_write: price.optional().describe('USD per million prompt tokens written to a cache (default: input).'),
  output: price.optional().describe('USD per million output tokens.'),
  reasoning: price.optional().describe('USD per million reasoning tokens, when priced apart from output (default: output).'),
  embedding: price.optional().describe('USD per million input tokens of an embeddings call (default: input).'),
};

export const modelPriceSchema = z
  .strictObject({
    ...priceTier,
    image: price.optional().describe('USD per image generated, for models priced per image (Imagen, DALL-E).'),
    audio_second: price.optional().describe('USD per second of audio transcribed or translated, for models priced by duration (Whisper).'),
    characters: price.optional().describe('USD per million characters spoken, for text-to-speech models priced by characters.'),
    long_context: z
      .strictObject({ threshold: z.number().int().positive().describe('Prompt size in tokens above which these prices apply.'), ...priceTier })
      .optional()
      .describe('Prices of a request whose prompt is larger than threshold tokens.'),
    batch: z
      .strictObject(priceTier)
      .optional()
      .describe("Prices of the model's requests in a provider's batch API (default: the provider's documented batch discount, see docs/catalog.md)."),
  })
  .describe('Prices of one model: USD per million tokens, and per image, second of audio or million characters where a model is priced so.');

export const budgetSchema = z
  .strictObject({
    max_usd: z.number().min(0).finite().describe('Spend allowed per period, USD.'),
    period: z
      .string()
      .refine(isBudgetPeriod, 'expected "daily", "weekly", "monthly" or a duration like "30m", "1h", "7d"')
      .nullable()
      .default(null)
      .describe('When the budget resets: "daily", "weekly", "monthly" (UTC) or a duration such as "30m", "1h", "7d"; null: never.'),
    refuse_unpriced: z
      .boolean()
      .default(false)
      .describe('Refuse (403) requests to models without a known price, whose cost could not be counted.'),
    fail_mode: failMode,
  })
  .describe('A spending limit in USD.');

export const rateLimitSchema = z
  .strictObject({
    model: z.string().min(1).default('*').describe('Which requests count: "*" or a model pattern such as "openai/*" or "gpt-4o".'),
    requests: z.number().int().positive().nullable().optional().describe('Requests per window.'),
    tokens: z.number().int().positive().nullable().optional().describe('Tokens (input + output) per window.'),
    window: z
      .string()
      .refine((value) => parseDuration(value) !== undefined, 'expected a duration like "1s", "1m", "1h", "1d"')
      .default('1m')
      .describe('Window length: "1s", "1m", "1h", "1d"...'),
    algorithm: z
      .enum(['sliding', 'token_bucket'])
      .default('sliding')
      .describe('"sliding": exact sliding window; "token_bucket": bursts up to the limit, refilled at limit per window.'),
    per_model: z.boolean().default(false).describe('A separate counter for each model the pattern matches.'),
    fail_mode: failMode,
  })
  .refine((value) => value.requests != null || value.tokens != null, 'set requests, tokens or both')
  .describe('A rate limit.');

const mcpAccessFields = {
  allowed_mcp_servers: z.array(z.string().min(1)).optional().describe('MCP servers (names, "*" wildcards) whose tools this may call through /mcp and the tool loop; default all.'),
  allowed_mcp_tools: z.array(z.string().min(1)).optional().describe('MCP tools this may call, by namespaced name ("github__create_issue", "github__*"); default all.'),
};

const entityFields = {
  description: z.string().max(1000).optional(),
  budget: budgetSchema.optional(),
  rate_limits: z.array(rateLimitSchema).max(32).optional(),
  metadata: z.record(z.string(), z.unknown()).optional().describe('Free-form labels returned by the API.'),
};

export const governanceSchema = z
  .strictObject({
    enforce: z
      .boolean()
      .default(false)
      .describe('Require a valid virtual key on every /v1, /anthropic and /genai call. Off: a presented virtual key is still checked and applied; a call without one passes.'),
    default_max_output_tokens: z
      .number()
      .int()
      .positive()
      .default(1024)
      .describe('Output tokens reserved for a request that sets no max_tokens, until completions of its model show their typical length (then that is reserved).'),
    flush_interval_ms: z.number().int().positive().default(1000).describe('How often spend, last-used times and rate-limit counters are written to the database (one transaction each time).'),
    pricing: z
      .record(z.string().min(3), modelPriceSchema)
      .default({})
      .describe('Price overrides by "provider/model" (or "provider/*"), USD per million tokens; they win over the shipped table.'),
    customers: z
      .record(name, z.strictObject(entityFields))
      .default({})
      .describe('Customers by name, with their own budgets and rate limits.'),
    teams: z
      .record(name, z.strictObject({ ...entityFields, ...mcpAccessFields, customer: name.optional().describe('The customer this team belongs to.') }))
      .default({})
      .describe('Teams by name, with their own budgets and rate limits.'),
    virtual_keys: z
      .record(
        name,
        z.strictObject({
          key: z
            .string()
            .min(1)
            .describe('The secret clients send, written as "env.NAME" (recommended) or inline; at least 16 characters once resolved.'),
          ...entityFields,
          team: name.optional().describe('The team this key belongs to.'),
          customer: name.optional().describe('The customer this key belongs to (default: its team\'s).'),
          allowed_providers: z.array(z.string().min(1)).optional().describe('Provider names this key may use ("*" wildcards); default all.'),
          allowed_models: z.array(z.string().min(1)).optional().describe('Models this key may use: "provider/model", a model name or alias, "openai/*"; default all.'),
          ...mcpAccessFields,
          expires_at: z.string().datetime({ offset: true }).optional().describe('ISO 8601 time after which the key is refused.'),
        }),
      )
      .default({})
      .describe('Virtual keys by name; created at start and kept in sync with this file.'),
  })
  .describe('Virtual keys, teams, customers, budgets, rate limits and prices (docs/governance.md).');

export type GovernanceFile = z.infer<typeof governanceSchema>;
export type BudgetInput = z.input<typeof budgetSchema>;
export type RateLimitInput = z.input<typeof rateLimitSchema>;
