/**
 * The examples of a Markdown document, for tests that check the docs are
 * true: code blocks by heading, JSON examples parsed, curl commands parsed
 * into requests, and a shape comparison that lists every difference between a
 * documented answer and a real one.
 */
import { readFileSync } from 'node:fs';

export interface DocBlock {
  /** The nearest heading above the block, without its #s. */
  heading: string;
  lang: string;
  text: string;
}

/** Every fenced code block of a file under docs/ (indented fences in list items included). */
export function docBlocks(file: string): DocBlock[] {
  const lines = readFileSync(new URL(`../../docs/${file}`, import.meta.url), 'utf8').split('\n');
  const blocks: DocBlock[] = [];
  let heading = '';
  let open: { lang: string; indent: number; lines: string[] } | undefined;
  for (const line of lines) {
    const fence = /^(\s*)```(\w*)\s*$/.exec(line);
    if (open === undefined) {
      const title = /^#{1,4} (.*)$/.exec(line);
      if (title !== null) heading = title[1].trim();
      if (fence !== null) open = { lang: fence[2], indent: fence[1].length, lines: [] };
      continue;
    }
    if (fence !== null) {
      blocks.push({ heading, lang: open.lang, text: open.lines.join('\n') });
      open = undefined;
      continue;
    }
    open.lines.push(line.slice(Math.min(open.indent, line.length - line.trimStart().length)));
  }
  return blocks;
}

/** The JSON blocks under a heading, each parsed (a block of one object per line gives several; a fragment is wrapped in {}). */
export function jsonExamples(blocks: readonly DocBlock[], heading: string): unknown[] {
  const found = blocks.filter((block) => block.heading === heading && block.lang === 'json');
  if (found.length === 0) throw new Error(`no JSON example under "${heading}"`);
  return found.flatMap((block) => {
    try {
      return [JSON.parse(block.text)];
    } catch {
      try {
        return [JSON.parse(`{${block.text}}`)];
      } catch {
        return block.text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as unknown);
      }
    }
  });
}

export interface CurlRequest {
  method: string;
  /** Path and query, e.g. "/api/usage?team=acme". */
  path: string;
  body: unknown;
  /** The comment after the command, if any. */
  comment: string;
}

/**
 * The curl commands of the bash blocks under a heading, one request each:
 * `curl -s [-X METHOD] [']localhost:8080/PATH['] [-H ...] [-d '{json}']`, with `\`
 * continuations and a trailing `# comment`. `-d` without `-X` is a POST.
 */
export function curlExamples(blocks: readonly DocBlock[], heading: string): CurlRequest[] {
  const found = blocks.filter((block) => block.heading === heading && block.lang === 'bash');
  const requests: CurlRequest[] = [];
  for (const block of found) {
    const joined = block.text.replace(/\\\n\s*/g, ' ');
    let command = '';
    let depth = 0;
    // Commands end at a newline outside a quoted -d body.
    for (const line of joined.split('\n')) {
      command = command === '' ? line : `${command}\n${line}`;
      depth = (command.match(/'/g) ?? []).length % 2;
      if (depth === 1) continue;
      const request = parseCurl(command);
      if (request !== undefined) requests.push(request);
      command = '';
    }
  }
  return requests;
}

function parseCurl(command: string): CurlRequest | undefined {
  const trimmed = command.trim();
  if (!trimmed.startsWith('curl ')) return undefined;
  let comment = '';
  let rest = trimmed;
  const hash = /\s#\s(.*)$/.exec(rest.replace(/'[^']*'/g, (quoted) => ' '.repeat(quoted.length)));
  if (hash !== null) {
    comment = hash[1];
    rest = rest.slice(0, hash.index);
  }
  const method = /-X\s+(\w+)/.exec(rest)?.[1];
  const url = /'?localhost:8080(\/[^\s']*)'?/.exec(rest)?.[1];
  if (url === undefined) throw new Error(`no localhost:8080 URL in: ${command}`);
  const data = /-d\s+'([\s\S]*)'/.exec(rest)?.[1];
  return { method: method ?? (data === undefined ? 'GET' : 'POST'), path: url, body: data === undefined ? undefined : JSON.parse(data), comment };
}

export interface ShapeOptions {
  /** Paths whose objects are maps with keys of their own (compared by value shape only). */
  records?: readonly string[];
  /** The documented answer is shortened: only its keys must be in the real one. */
  partial?: boolean;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Every difference between a documented JSON answer and a real one: a field
 * documented but missing, a field present but undocumented (unless partial),
 * a value of another type (null on either side is accepted: "not set now").
 * Arrays compare their first elements.
 */
export function shapeDiff(documented: unknown, actual: unknown, options: ShapeOptions = {}, path = ''): string[] {
  const at = path === '' ? '(root)' : path;
  if (documented === null || actual === null) return [];
  if (kind(documented) !== kind(actual)) return [`${at}: documented ${kind(documented)}, got ${kind(actual)}`];
  if (Array.isArray(documented) && Array.isArray(actual)) {
    if (documented.length === 0 || actual.length === 0) return [];
    return shapeDiff(documented[0], actual[0], options, `${path}[]`);
  }
  if (kind(documented) !== 'object') return [];
  const doc = documented as Record<string, unknown>;
  const real = actual as Record<string, unknown>;
  const isRecord = options.records?.includes(path.replace(/\[\]/g, '')) ?? false;
  const problems: string[] = [];
  if (isRecord) {
    const sample = Object.values(real)[0];
    const docSample = Object.values(doc)[0];
    return sample === undefined || docSample === undefined ? [] : shapeDiff(docSample, sample, options, `${path}.*`);
  }
  for (const key of Object.keys(doc)) {
    const child = path === '' ? key : `${path}.${key}`;
    if (!(key in real)) problems.push(`${child}: documented, missing`);
    else problems.push(...shapeDiff(doc[key], real[key], options, child));
  }
  if (options.partial !== true) {
    for (const key of Object.keys(real)) if (!(key in doc)) problems.push(`${path === '' ? key : `${path}.${key}`}: present, undocumented`);
  }
  return problems;
}
