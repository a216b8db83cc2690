/**
 * The `catalog` section of the config file: per-model facts that win over the
 * shipped catalog (docs/catalog.md). src/config/schema.ts mounts it.
 */
import { z } from 'zod';
import { modelPriceSchema } from '../governance/config-schema.js';

const tokens = z.number().int().positive();

export const catalogOverrideSchema = z
  .strictObject({
    context_window: tokens.optional().describe('Prompt and output tokens the model holds.'),
    max_output_tokens: tokens.optional().describe('Largest output the model produces; a request asking for more is lowered to it with a warning.'),
    reasoning: z.boolean().optional().describe('A reasoning model; false drops the thinking parameters of a translated request, true keeps them.'),
    responses_only: z.boolean().optional().describe('Served by the OpenAI Responses API only: chat, Anthropic and Gemini calls to it go to /v1/responses.'),
    price: modelPriceSchema.optional().describe('Prices of the model (governance.pricing, when it names the model too, wins).'),
  })
  .describe('Facts of one model, each optional; the rest comes from the catalog.');

export const catalogSchema = z
  .strictObject({
    overrides: z
      .record(z.string().regex(/^[^/]+\/.+$/, 'a "provider/model" name'), catalogOverrideSchema)
      .default({})
      .describe('Per-model facts by "provider/model" (the provider\'s configured name or its type), over the shipped catalog.'),
  })
  .describe('The model catalog: limits, parameter rules and prices per model (docs/catalog.md).');
