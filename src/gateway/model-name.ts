/**
 * A model name is data: it is matched against access lists, priced, logged,
 * and put into upstream URLs (Gemini, Vertex, Bedrock, Azure deployments).
 * Providers encode it where it enters a URL; this check refuses what no
 * encoding makes safe: a `.` or `..` path segment (a URL parser resolves it,
 * whatever the escaping, so `gemini-2.5-flash/../gemini-2.5-pro` would reach
 * another model than the one access was checked on) and control characters
 * (which no header, log line or URL should carry).
 */
import { invalidField } from '../errors/gateway-error.js';

/** C0 and C1 controls, DEL, and the Unicode line and paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** A `.` or `..` segment between slashes (or backslashes, which URL parsers read as slashes). */
const DOT_SEGMENT = /(^|[/\\])\.{1,2}([/\\]|$)/;

/** Why `name` may not be used as a model name, or undefined when it may. */
export function modelNameProblem(name: string): string | undefined {
  if (CONTROL.test(name)) return 'contains a control character';
  if (DOT_SEGMENT.test(name)) return 'contains a "." or ".." path segment';
  return undefined;
}

/** Throws a 400 naming `param` when `name` is not a usable model name. */
export function checkModelName(name: string, param = 'model'): void {
  const problem = modelNameProblem(name);
  if (problem !== undefined) {
    throw invalidField(param, `Invalid '${param}': the model name ${problem}; a model name is a plain id such as "openai/gpt-4o-mini".`);
  }
}
