/**
 * Strict mode (`routing.strict_params`): a parameter the target cannot take is
 * refused instead of dropped. The first warning becomes a 400 naming its
 * parameter, wherever it was found (a surface decoder, a provider codec).
 */
import { GatewayError } from '../errors/gateway-error.js';
import type { CodecWarning } from './types.js';

export function refuseWarnings(warnings: readonly CodecWarning[]): void {
  const first = warnings[0];
  if (first === undefined) return;
  throw new GatewayError('HD_ERR_REQUEST_UNSUPPORTED_PARAM', `${first.message} (strict mode)`, { param: first.param });
}

/**
 * Embedding fields every embedding codec reads, or that the gateway honours
 * itself (`encoding_format: 'base64'` is encoded from the floats on the way out).
 */
export const EMBEDDING_FIELDS: ReadonlySet<string> = new Set(['model', 'input', 'encoding_format', 'dimensions']);

/** A warning for every set field of `request` that `handled` does not name: dropped, never silently. */
export function unhandledFields(request: Readonly<Record<string, unknown>>, handled: ReadonlySet<string>, target: string): CodecWarning[] {
  const warnings: CodecWarning[] = [];
  for (const [key, value] of Object.entries(request)) {
    if (value === undefined || value === null || handled.has(key)) continue;
    warnings.push({ param: key, message: `${target} does not take '${key}'; it was dropped.` });
  }
  return warnings;
}
