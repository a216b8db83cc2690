/**
 * The model-matching rules of @pydantic/genai-prices data (`equals`,
 * `starts_with`, `ends_with`, `contains`, `regex`, `or`, `and`), compiled
 * once into a predicate over a lower-cased model name. String matches ignore
 * case, as the package's own lookup does.
 * @see https://github.com/pydantic/genai-prices/blob/main/prices/README.md
 */

export type MatchLogic =
  | { equals: string }
  | { starts_with: string }
  | { ends_with: string }
  | { contains: string }
  | { regex: string }
  | { or: MatchLogic[] }
  | { and: MatchLogic[] };

export type Matcher = (name: string) => boolean;

export function compileMatch(logic: MatchLogic): Matcher {
  if ('or' in logic) {
    const parts = logic.or.map(compileMatch);
    return (name) => parts.some((part) => part(name));
  }
  if ('and' in logic) {
    const parts = logic.and.map(compileMatch);
    return (name) => parts.every((part) => part(name));
  }
  if ('equals' in logic) {
    const value = logic.equals.toLowerCase();
    return (name) => name === value;
  }
  if ('starts_with' in logic) {
    const value = logic.starts_with.toLowerCase();
    return (name) => name.startsWith(value);
  }
  if ('ends_with' in logic) {
    const value = logic.ends_with.toLowerCase();
    return (name) => name.endsWith(value);
  }
  if ('contains' in logic) {
    const value = logic.contains.toLowerCase();
    return (name) => name.includes(value);
  }
  if ('regex' in logic) {
    const pattern = new RegExp(logic.regex);
    return (name) => pattern.test(name);
  }
  return () => false;
}
