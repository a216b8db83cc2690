/**
 * The upstream request of a media call translated for its provider (src/api/media.ts): the encoded
 * body (its warnings noted, or refused under `routing.strict_params`), and the provider's whole
 * answer decoded back into the caller's form.
 */
import type { Usage } from '../formats/openai/types.js';
import type { CodecWarning } from '../formats/types.js';
import { refuseWarnings } from '../formats/warnings.js';
import type { Gateway } from '../gateway/gateway.js';
import type { KeyRuntime } from '../gateway/provider-runtime.js';
import type { RawRequestParts } from '../gateway/raw-attempt.js';
import type { RequestContext } from '../gateway/request-context.js';
import type { Target } from '../gateway/router.js';
import type { MediaOperation } from '../providers/types.js';

/** A decoded answer: a JSON value, or bytes of `contentType` (audio, text). */
export interface TranslatedAnswer {
  body: unknown;
  usage: Usage | undefined;
  contentType?: string;
}

export function translatedParts(
  gateway: Gateway,
  ctx: RequestContext,
  target: Target,
  key: KeyRuntime,
  operation: MediaOperation,
  encoded: { body: unknown; warnings: CodecWarning[] },
  decode: (answer: unknown) => TranslatedAnswer,
): RawRequestParts {
  if (gateway.state.routing.strictParams) refuseWarnings(encoded.warnings);
  ctx.addWarnings(encoded.warnings);
  const endpoint = target.provider.endpoint(operation, key, target.model, false);
  return {
    url: endpoint.url,
    headers: { ...endpoint.headers },
    body: Buffer.from(JSON.stringify(encoded.body), 'utf8'),
    decode(answer: Buffer) {
      const decoded = decode(JSON.parse(answer.toString('utf8')) as unknown);
      const body = Buffer.isBuffer(decoded.body) ? decoded.body : Buffer.from(JSON.stringify(decoded.body), 'utf8');
      return { body, usage: decoded.usage, contentType: decoded.contentType };
    },
  };
}
