/**
 * Wildcard patterns for allowed providers and models and for rate-limit
 * scopes: `*` matches any run of characters (slashes included), everything
 * else is literal. "openai/*", "*", "claude-*" and a leading-star pattern for a model on any provider are all valid.
 */

export interface PatternSet {
  readonly patterns: readonly string[];
  matches(value: string): boolean;
}

function escape(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

export function compilePattern(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map(escape).join('.*')}$`);
}

/** A compiled set; an exact pattern is a Set lookup, wildcards a RegExp each. */
export function compilePatterns(patterns: readonly string[]): PatternSet {
  const exact = new Set<string>();
  const wild: RegExp[] = [];
  let any = false;
  for (const pattern of patterns) {
    if (pattern === '*') any = true;
    else if (pattern.includes('*')) wild.push(compilePattern(pattern));
    else exact.add(pattern);
  }
  return {
    patterns,
    matches(value: string): boolean {
      if (any || exact.has(value)) return true;
      for (const regexp of wild) if (regexp.test(value)) return true;
      return false;
    },
  };
}
