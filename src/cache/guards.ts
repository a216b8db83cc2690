/**
 * The guards of a semantic match. A near match is served only when the
 * stored request and the new one agree on everything an embedding cannot
 * see: the model asked, tools and response format, the other parameters,
 * the system prompt, the conversation before the last turn (history:
 * digest), and the polarity of the question (embeddings put "is X safe?"
 * and "is X not safe?" side by side). Requests with tool results, or a
 * temperature above the bound, are never looked up at all (eligibility).
 */
import type { RequestFacts } from './request-key.js';

export const GUARDS = ['model', 'tools', 'params', 'system_prompt', 'history', 'negation'] as const;
export type Guard = (typeof GUARDS)[number];

/** Why a request takes no part in semantic matching (counted, and said in the log). */
export type Ineligible = 'tool_results' | 'temperature' | 'not_text';

/** What a stored entry keeps to be compared by the guards. */
export interface SemanticFacts {
  model: string;
  shapeDigest: string;
  paramsDigest: string;
  systemDigest: string;
  historyDigest: string;
  /** Odd number of negations in the embedded text. */
  negated: boolean;
  /** The embedded text (shown in the shadow-mode review). */
  text: string;
}

/**
 * Negation markers, English. Contractions are caught by "n't"; "no" and
 * "without" count as markers too. A count, not a parse: two negations cancel.
 */
const NEGATIONS = new Set([
  'not', 'no', 'never', 'none', 'nobody', 'nothing', 'neither', 'nor', 'nowhere', 'without', 'cannot', 'cant', 'dont', 'doesnt',
  'didnt', 'isnt', 'arent', 'wasnt', 'werent', 'wont', 'wouldnt', 'shouldnt', 'couldnt', 'hasnt', 'havent', 'hadnt', 'mustnt',
  'neednt', 'aint', 'non',
]);

/** True when the text holds an odd number of negation markers. */
export function isNegated(text: string): boolean {
  let count = 0;
  const words = text.toLowerCase().replace(/[\u2019`]/g, "'").split(/[^a-z']+/);
  for (const word of words) {
    if (word === '') continue;
    if (word.endsWith("n't") || NEGATIONS.has(word.replace(/'/g, ''))) count++;
  }
  return count % 2 === 1;
}

/** The text a request is embedded with: its last user turn, or every user turn (history: embed). */
export function embeddingText(facts: RequestFacts, history: 'digest' | 'embed'): string | undefined {
  if (facts.lastUserText === undefined) return undefined;
  return history === 'embed' ? facts.userTexts.join('\n') : facts.lastUserText;
}

/** Why `facts` may not be matched semantically, or undefined when it may. */
export function ineligible(facts: RequestFacts, maxTemperature: number | null): Ineligible | undefined {
  if (facts.hasToolResults) return 'tool_results';
  if (maxTemperature !== null && facts.temperature !== undefined && facts.temperature > maxTemperature) return 'temperature';
  // No user turn, or one that is not text only (an image): nothing to embed.
  if (facts.lastUserText === undefined || facts.lastUserText.trim() === '') return 'not_text';
  return undefined;
}

export function semanticFacts(facts: RequestFacts, text: string): SemanticFacts {
  return {
    model: facts.model,
    shapeDigest: facts.shapeDigest,
    paramsDigest: facts.paramsDigest,
    systemDigest: facts.systemDigest,
    historyDigest: facts.historyDigest,
    negated: isNegated(text),
    text,
  };
}

/** The first guard a stored entry fails against a new request, or undefined when all hold. */
export function failedGuard(stored: SemanticFacts, asked: SemanticFacts, history: 'digest' | 'embed'): Guard | undefined {
  if (stored.model !== asked.model) return 'model';
  if (stored.shapeDigest !== asked.shapeDigest) return 'tools';
  if (stored.paramsDigest !== asked.paramsDigest) return 'params';
  if (stored.systemDigest !== asked.systemDigest) return 'system_prompt';
  if (history === 'digest' && stored.historyDigest !== asked.historyDigest) return 'history';
  if (stored.negated !== asked.negated) return 'negation';
  return undefined;
}
