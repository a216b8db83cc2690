import type { OpenAIErrorBody } from '../../../src/formats/openai/types.js';

/**
 * OpenAI error bodies as api.openai.com sends them.
 * @see https://platform.openai.com/docs/guides/error-codes
 */
export function openaiErrorBody(
  status: number,
  message?: string,
  fields: Partial<Omit<OpenAIErrorBody['error'], 'message'>> = {},
): OpenAIErrorBody {
  const defaults = defaultsForStatus(status);
  return {
    error: {
      message: message ?? `Mock upstream error (HTTP ${status})`,
      type: fields.type ?? defaults.type,
      param: fields.param ?? null,
      code: fields.code !== undefined ? fields.code : defaults.code,
    },
  };
}

function defaultsForStatus(status: number): { type: string; code: string | null } {
  if (status === 401) return { type: 'invalid_request_error', code: 'invalid_api_key' };
  if (status === 403) return { type: 'permission_error', code: null };
  if (status === 404) return { type: 'invalid_request_error', code: 'not_found' };
  if (status === 429) return { type: 'requests', code: 'rate_limit_exceeded' };
  if (status >= 500) return { type: 'server_error', code: null };
  return { type: 'invalid_request_error', code: null };
}
