/**
 * The `responses` section of the config file: the Responses API's background mode
 * (docs/responses.md). A live setting (PATCH /api/settings, a reloaded file): read per request.
 */
import { z } from 'zod';

export const responsesSchema = z
  .strictObject({
    background: z
      .strictObject({
        max_jobs: z
          .number()
          .int()
          .min(0)
          .default(64)
          .describe('Background responses (`background: true` to a bridged provider) running at once in this process; one more is answered 429. 0: background mode off (answered 400).'),
      })
      .prefault({})
      .describe('Background responses run by the gateway for providers without the Responses API.'),
  })
  .describe('The Responses API bridge (POST /v1/responses).');

export type ResponsesFileSection = z.output<typeof responsesSchema>;

/** The section as the gateway reads it. */
export interface ResponsesSettings {
  background: { maxJobs: number };
}

export function resolveResponses(section: ResponsesFileSection): ResponsesSettings {
  return { background: { maxJobs: section.background.max_jobs } };
}
