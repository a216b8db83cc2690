/**
 * The conversation rules the Gemini API enforces on a generateContent body,
 * with its real error texts:
 *
 * - a turn of function responses answers every call of the model turn before
 *   it: as many functionResponse parts as functionCall parts;
 * - Gemini 3 models sign their function calls (`thoughtSignature` on the first
 *   functionCall part of each model turn) and refuse a conversation whose
 *   current turn (since the last user text) sends one of those calls back
 *   without its signature, or with another one (the two placeholder values
 *   Google documents for calls the model did not make are accepted).
 *
 * The mock signs a call with a value derived from the call itself, so a
 * signature that comes back changed is caught without keeping state.
 *
 * @see https://ai.google.dev/gemini-api/docs/thought-signatures
 * @see https://ai.google.dev/gemini-api/docs/function-calling
 */
import { isRecord } from './openai-common.js';

type Json = Record<string, unknown>;

/** The values Google documents for calls that were not made by the model (history from elsewhere): accepted unchecked. */
const DOCUMENTED_BYPASSES: ReadonlySet<string> = new Set(['skip_thought_signature_validator', 'context_engineering_is_the_way_to_go']);

/** Models that sign their function calls. */
export function signsFunctionCalls(model: string): boolean {
  return /^gemini-3/.test(model);
}

/** The signature the mock puts on a call (base64, as the API's are). */
export function thoughtSignatureFor(name: string, args: unknown): string {
  return Buffer.from(`heimdall-mock-thought:${name}:${JSON.stringify(args ?? {})}`).toString('base64');
}

function partsOf(content: Json): Json[] {
  return Array.isArray(content.parts) ? content.parts.filter(isRecord) : [];
}

/** The error message for a conversation the Gemini API refuses; undefined when it is accepted. */
export function geminiConversationRefusal(body: Json, model: string): string | undefined {
  const contents = Array.isArray(body.contents) ? body.contents.filter(isRecord) : [];
  for (let i = 0; i + 1 < contents.length; i++) {
    const calls = partsOf(contents[i]).filter((part) => isRecord(part.functionCall)).length;
    const responses = partsOf(contents[i + 1]).filter((part) => isRecord(part.functionResponse)).length;
    if (contents[i].role === 'model' && calls > 0 && responses > 0 && calls !== responses) {
      return 'Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.';
    }
  }
  if (!signsFunctionCalls(model)) return undefined;
  let start = 0;
  contents.forEach((content, i) => {
    if (content.role !== 'model' && partsOf(content).some((part) => typeof part.text === 'string')) start = i;
  });
  for (let i = start; i < contents.length; i++) {
    if (contents[i].role !== 'model') continue;
    const first = partsOf(contents[i]).find((part) => isRecord(part.functionCall));
    if (first === undefined) continue;
    const call = first.functionCall as Json;
    if (typeof first.thoughtSignature !== 'string') {
      return `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${String(call.name)}\` , position ${i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`;
    }
    const signature = first.thoughtSignature;
    if (!DOCUMENTED_BYPASSES.has(signature) && signature !== thoughtSignatureFor(String(call.name), call.args)) return 'Corrupted thought signature.';
  }
  return undefined;
}
