/**
 * The `cache` section of the config file (docs/caching.md) and its resolved
 * form. src/config/schema.ts mounts the schema; src/config/load.ts resolves it.
 */
import { z } from 'zod';
import { parseDuration } from '../governance/durations.js';

const duration = z
  .string()
  .refine((value) => parseDuration(value) !== undefined, 'expected a duration like "30s", "10m", "1h", "7d"');

export const CACHE_SCOPES = ['virtual_key', 'team', 'customer', 'global'] as const;
export type CacheScope = (typeof CACHE_SCOPES)[number];

const threshold = z.number().gt(0).max(1);

const keyOverrideSchema = z
  .strictObject({
    enabled: z.boolean().optional().describe('Turn the cache off (or on) for this virtual key.'),
    ttl: duration.optional().describe('How long this key\'s new entries live.'),
    threshold: threshold.optional().describe('Semantic similarity this key\'s requests need to be served a near match.'),
  })
  .describe('Cache settings of one virtual key, over the section\'s.');

const semanticSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('On an exact miss, look for a stored answer to a question that means the same.'),
    embedding_model: z
      .string()
      .min(1)
      .default('openai/text-embedding-3-small')
      .describe('The embeddings model the conversation is embedded with, reached through Heimdall\'s own routing.'),
    dimensions: z
      .number()
      .int()
      .positive()
      .max(8192)
      .optional()
      .describe('Ask the embedding model for vectors of this size (OpenAI text-embedding-3 models); default: the model\'s own size.'),
    threshold: threshold.default(0.95).describe('Cosine similarity a stored entry needs to be a match (0-1].'),
    mode: z
      .enum(['serve', 'shadow'])
      .default('shadow')
      .describe('serve: matches are answered from the cache. shadow: matches are logged and counted, the request still goes upstream (pick a threshold from evidence first).'),
    history: z
      .enum(['digest', 'embed'])
      .default('digest')
      .describe('What comes before the last user turn: digest (it must be identical) or embed (its user turns are embedded with the last one).'),
    max_temperature: z
      .number()
      .min(0)
      .nullable()
      .default(1)
      .describe('Requests with a temperature above this are never answered by a near match (null: no bound).'),
  })
  .prefault({})
  .describe('Semantic cache: near matches by embedding similarity, with guards.');

export const cacheSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Answer repeated requests from the cache.'),
    ttl: duration.default('1h').describe('How long an entry lives ("30s", "10m", "1h", "7d").'),
    scope: z
      .enum(CACHE_SCOPES)
      .default('virtual_key')
      .describe('Who shares entries: virtual_key (each key its own), team, customer, or global (every caller).'),
    max_entries: z.number().int().positive().default(10_000).describe('Most entries kept; the least recently used go first.'),
    max_bytes: z
      .number()
      .int()
      .positive()
      .default(256 * 1024 * 1024)
      .describe('Most bytes of stored answers (and vectors); the least recently used go first.'),
    max_entry_bytes: z.number().int().positive().default(1024 * 1024).describe('A larger answer is not stored.'),
    semantic: semanticSchema,
    virtual_keys: z
      .record(z.string().min(1), keyOverrideSchema)
      .default({})
      .describe('Per virtual key (by name or id): enabled, ttl, threshold.'),
  })
  .describe('Response cache: exact and semantic (docs/caching.md).');

export type CacheFile = z.infer<typeof cacheSchema>;

export interface CacheKeyOverride {
  enabled?: boolean;
  ttlMs?: number;
  threshold?: number;
}

export interface CacheConfig {
  enabled: boolean;
  ttlMs: number;
  scope: CacheScope;
  maxEntries: number;
  maxBytes: number;
  maxEntryBytes: number;
  semantic: {
    enabled: boolean;
    embeddingModel: string;
    dimensions: number | undefined;
    threshold: number;
    mode: 'serve' | 'shadow';
    history: 'digest' | 'embed';
    maxTemperature: number | null;
  };
  /** By virtual key name or id. */
  virtualKeys: Readonly<Record<string, CacheKeyOverride>>;
}

export function resolveCache(file: CacheFile): CacheConfig {
  const virtualKeys: Record<string, CacheKeyOverride> = {};
  for (const [name, override] of Object.entries(file.virtual_keys)) {
    virtualKeys[name] = {
      enabled: override.enabled,
      ttlMs: override.ttl === undefined ? undefined : parseDuration(override.ttl),
      threshold: override.threshold,
    };
  }
  const semantic = file.semantic;
  return {
    enabled: file.enabled,
    ttlMs: parseDuration(file.ttl)!,
    scope: file.scope,
    maxEntries: file.max_entries,
    maxBytes: file.max_bytes,
    maxEntryBytes: file.max_entry_bytes,
    semantic: {
      enabled: semantic.enabled,
      embeddingModel: semantic.embedding_model,
      dimensions: semantic.dimensions,
      threshold: semantic.threshold,
      mode: semantic.mode,
      history: semantic.history,
      maxTemperature: semantic.max_temperature,
    },
    virtualKeys,
  };
}
