/**
 * The codecs read the caller's request as the API documents it. A request of
 * another shape (a string where an array of tool calls belongs, a null content
 * part) makes a codec throw a TypeError (or a RangeError: a schema nested too
 * deep to convert); that is the caller's mistake, not the gateway's, so it is a
 * 400 in the caller's format, naming the part of the request that was being
 * translated. Specific checks (src/api/validate.ts, the surface validators)
 * name the exact field first where that is cheap; this is the guard behind them.
 */
import { GatewayError } from '../errors/gateway-error.js';

/** Runs a codec step over the caller's request; a TypeError or RangeError from its shape becomes a 400. */
export function translating<T>(what: string, step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) {
      throw new GatewayError(
        'HD_ERR_REQUEST_MALFORMED',
        `The request could not be read as ${what}: a field has the wrong type or shape (${error.message}). Check the request against the API reference.`,
        { cause: error },
      );
    }
    throw error;
  }
}
