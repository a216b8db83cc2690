/**
 * What a failed attempt says about the key that made it, and which failures
 * move a request on to a named fallback (context window, content policy).
 * Read from the classified UpstreamFailure, so every provider format counts
 * the same way once its codec decoded the error.
 */
import type { UpstreamFailure } from './upstream-failure.js';

/**
 * - failure: the key or its provider is at fault (5xx, 429, 408, timeouts, transport errors,
 *   an undecodable answer, a rejected key); it counts against the key's breaker and weight.
 * - success: the key works, the request was wrong (other 4xx).
 * - neutral: says nothing about the key (the caller went away, 409 conflicts).
 */
export type KeyVerdict = 'success' | 'failure' | 'neutral';

export function keyVerdict(failure: Pick<UpstreamFailure, 'kind' | 'status'>): KeyVerdict {
  switch (failure.kind) {
    case 'aborted':
      return 'neutral';
    case 'http': {
      const status = failure.status ?? 0;
      if (status >= 500 || status === 429 || status === 408 || status === 401 || status === 403) return 'failure';
      return status === 409 ? 'neutral' : 'success';
    }
    default:
      return 'failure';
  }
}

/** The provider refused this key (revoked, wrong, no access): another key may work. */
export function isKeyRejected(failure: Pick<UpstreamFailure, 'kind' | 'status'>): boolean {
  return failure.kind === 'http' && (failure.status === 401 || failure.status === 403);
}

type ErrorFacts = Pick<UpstreamFailure, 'kind' | 'status' | 'upstreamCode' | 'upstreamType' | 'message'>;

function clientError(failure: ErrorFacts): boolean {
  const status = failure.status ?? 0;
  return failure.kind === 'http' && status >= 400 && status < 500 && status !== 401 && status !== 403 && status !== 429;
}

/**
 * The prompt does not fit the model's context window.
 * @see https://platform.openai.com/docs/guides/error-codes (code `context_length_exceeded`)
 * @see https://docs.anthropic.com/en/api/errors ("prompt is too long: N tokens > M maximum")
 * @see https://ai.google.dev/gemini-api/docs/troubleshooting ("The input token count (N) exceeds the maximum number of tokens allowed")
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html (ValidationException "Input is too long for requested model")
 * @see https://docs.mistral.ai/api/ ("too large for model with N maximum context length")
 */
const CONTEXT_CODES = new Set(['context_length_exceeded', 'context_window_exceeded', 'string_too_long_for_context']);
const CONTEXT_TEXT = /context length|context window|context_length|prompt is too long|input is too long|too many (input )?tokens|input token count.*exceeds|maximum (context|number of tokens)|reduce the length of the (messages|prompt)/i;

export function isContextWindowError(failure: ErrorFacts): boolean {
  if (!clientError(failure)) return false;
  if (failure.upstreamCode !== undefined && CONTEXT_CODES.has(failure.upstreamCode)) return true;
  return CONTEXT_TEXT.test(failure.message);
}

/**
 * The provider refused the request under its content policy.
 * @see https://platform.openai.com/docs/guides/error-codes (code `content_policy_violation`)
 * @see https://learn.microsoft.com/en-us/azure/ai-services/openai/concepts/content-filter (code `content_filter`, ResponsibleAIPolicyViolation)
 * @see https://ai.google.dev/gemini-api/docs/safety-settings (blocked for SAFETY / PROHIBITED_CONTENT)
 */
const POLICY_CODES = new Set(['content_policy_violation', 'content_filter', 'ResponsibleAIPolicyViolation', 'moderation_blocked', 'safety']);
const POLICY_TEXT = /content (management )?policy|content filter|content_filter|responsible ?ai|flagged by (our|the) (moderation|safety)|safety (system|filter|settings)|prohibited content/i;

export function isContentPolicyError(failure: ErrorFacts): boolean {
  if (!clientError(failure)) return false;
  if (failure.upstreamCode !== undefined && POLICY_CODES.has(failure.upstreamCode)) return true;
  return POLICY_TEXT.test(failure.message);
}
