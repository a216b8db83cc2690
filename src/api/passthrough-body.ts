/**
 * A pass-through body is the caller's own text with the smallest edits: the
 * model value replaced, the `fallbacks` extension cut out, `stream_options`
 * added. The body was parsed once to check it; re-serialising the parsed
 * object cost a second full pass (and changed the caller's bytes), so the
 * edits are made on the text at the positions of the top-level members.
 * Anything unusual (a member missing or present twice, escaped key names)
 * returns undefined and the caller serialises the parsed object instead.
 */

/** Where one top-level member of a JSON object text is. */
export interface MemberRange {
  /** The opening quote of the key. */
  keyStart: number;
  valueStart: number;
  /** One past the value's last character. */
  valueEnd: number;
}

const QUOTE = 34;
const BACKSLASH = 92;

function isSpace(code: number): boolean {
  return code === 32 || code === 10 || code === 13 || code === 9;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** `i` at an opening quote: the index after the closing one, or -1. */
function skipString(text: string, i: number): number {
  let from = i + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return -1;
    let backslashes = 0;
    for (let b = quote - 1; text.charCodeAt(b) === BACKSLASH; b--) backslashes++;
    if ((backslashes & 1) === 0) return quote + 1;
    from = quote + 1;
  }
}

/** `i` at the start of a value: the index after it, or -1. */
function skipValue(text: string, i: number): number {
  const first = text.charCodeAt(i);
  if (first === QUOTE) return skipString(text, i);
  if (first === 123 /* { */ || first === 91 /* [ */) {
    let depth = 0;
    while (i < text.length) {
      const code = text.charCodeAt(i);
      if (code === QUOTE) {
        i = skipString(text, i);
        if (i === -1) return -1;
        continue;
      }
      if (code === 123 || code === 91) depth++;
      else if (code === 125 || code === 93) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  // number, true, false, null
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === 44 || code === 125 || code === 93 || isSpace(code)) return i;
    i++;
  }
  return i;
}

/**
 * The top-level members named in `wanted` of a JSON object text (valid JSON:
 * it was parsed before), scanning only as far as the last one wanted.
 * Undefined when a wanted key is escaped or the text is not an object.
 */
export function findMembers(text: string, wanted: readonly string[]): Map<string, MemberRange> | undefined {
  const found = new Map<string, MemberRange>();
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== 123) return undefined;
  i = skipSpace(text, i + 1);
  while (i < text.length && found.size < wanted.length) {
    if (text.charCodeAt(i) !== QUOTE) return found; // '}': the end of the object
    const keyStart = i;
    const keyEnd = skipString(text, i);
    if (keyEnd === -1) return undefined;
    const name = text.slice(keyStart + 1, keyEnd - 1);
    i = skipSpace(text, keyEnd);
    if (text.charCodeAt(i) !== 58 /* : */) return undefined;
    const valueStart = skipSpace(text, i + 1);
    const valueEnd = skipValue(text, valueStart);
    if (valueEnd === -1) return undefined;
    if (name.includes('\\')) {
      if (wanted.includes(JSON.parse(`"${name}"`) as string)) return undefined;
    } else if (wanted.includes(name)) {
      if (found.has(name)) return undefined; // a duplicate key: JSON.parse kept the last one
      found.set(name, { keyStart, valueStart, valueEnd });
    }
    i = skipSpace(text, valueEnd);
    if (text.charCodeAt(i) === 44 /* , */) i = skipSpace(text, i + 1);
  }
  return found;
}

/** Options of one pass-through body. */
export interface PassthroughEdits {
  model: string;
  /** Cut the top-level `fallbacks` member. */
  dropFallbacks: boolean;
  /** Add `"stream_options":{"include_usage":true}` (only when the body has no stream_options). */
  addUsage: boolean;
}

/** The members each kind of edit looks for. */
const WANTED_MODEL: readonly string[] = ['model'];
const WANTED_FALLBACKS: readonly string[] = ['model', 'fallbacks'];
const WANTED_USAGE: readonly string[] = ['model', 'stream_options'];
const WANTED_ALL: readonly string[] = ['model', 'fallbacks', 'stream_options'];

/**
 * The caller's body text with the edits made, or undefined when the text
 * cannot be edited safely (the caller then serialises the parsed body).
 */
export function editPassthroughBody(text: string, edits: PassthroughEdits): string | undefined {
  const wanted = edits.dropFallbacks ? (edits.addUsage ? WANTED_ALL : WANTED_FALLBACKS) : edits.addUsage ? WANTED_USAGE : WANTED_MODEL;
  const members = findMembers(text, wanted);
  if (members === undefined) return undefined;
  const model = members.get('model');
  if (model === undefined) return undefined;
  // A second top-level "model" (a duplicate key): JSON.parse kept the last one; do not guess.
  if (text.indexOf('"model"', model.valueEnd) !== -1 && hasLaterTopLevel(text, model.valueEnd, 'model')) return undefined;
  if (edits.addUsage && members.has('stream_options')) return undefined;
  const fallbacks = members.get('fallbacks');
  if (edits.dropFallbacks && fallbacks === undefined) return undefined;
  if (fallbacks !== undefined && text.indexOf('"fallbacks"', fallbacks.valueEnd) !== -1 && hasLaterTopLevel(text, fallbacks.valueEnd, 'fallbacks')) return undefined;

  type Edit = { start: number; end: number; text: string };
  const list: Edit[] = [];
  if (!writtenAsIs(text, model, edits.model)) {
    const encodedModel = JSON.stringify(edits.model);
    if (text.slice(model.valueStart, model.valueEnd) !== encodedModel) list.push({ start: model.valueStart, end: model.valueEnd, text: encodedModel });
  }
  if (fallbacks !== undefined) list.push(memberCut(text, fallbacks));
  if (edits.addUsage) {
    const close = text.lastIndexOf('}');
    list.push({ start: close, end: close, text: ',"stream_options":{"include_usage":true}' });
  }
  if (list.length === 0) return text;
  list.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const edit of list) {
    out += text.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  return out + text.slice(at);
}

/**
 * True when the member's value is `value` between quotes, as it is: with no backslash and no lone
 * surrogate in it, that is what JSON.stringify writes (a string in valid JSON text holds no raw
 * quote or control character), so the common case is compared in place without encoding `value`.
 * False says nothing: the caller compares the encoded value.
 */
function writtenAsIs(text: string, member: MemberRange, value: string): boolean {
  const { valueStart, valueEnd } = member;
  return valueEnd - valueStart === value.length + 2 && text.charCodeAt(valueStart) === QUOTE && text.startsWith(value, valueStart + 1) &&
    !value.includes('\\') && (value as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** The range that removes a member and one comma next to it. */
function memberCut(text: string, member: MemberRange): { start: number; end: number; text: string } {
  const after = skipSpace(text, member.valueEnd);
  if (text.charCodeAt(after) === 44) return { start: member.keyStart, end: skipSpace(text, after + 1), text: '' };
  // The last member: take the comma before it.
  let before = member.keyStart - 1;
  while (before > 0 && isSpace(text.charCodeAt(before))) before--;
  if (text.charCodeAt(before) === 44) return { start: before, end: member.valueEnd, text: '' };
  return { start: member.keyStart, end: member.valueEnd, text: '' };
}

/** True when a top-level member `key` follows position `from` (a duplicate). */
function hasLaterTopLevel(text: string, from: number, key: string): boolean {
  let i = skipSpace(text, from);
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === 44) {
      i = skipSpace(text, i + 1);
      continue;
    }
    if (code !== QUOTE) return false;
    const keyEnd = skipString(text, i);
    if (keyEnd === -1) return true;
    const name = text.slice(i + 1, keyEnd - 1);
    if (name === key || (name.includes('\\') && JSON.parse(`"${name}"`) === key)) return true;
    i = skipSpace(text, keyEnd);
    const valueEnd = skipValue(text, skipSpace(text, i + 1));
    if (valueEnd === -1) return true;
    i = skipSpace(text, valueEnd);
  }
  return false;
}
