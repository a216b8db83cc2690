/**
 * Reading the Prometheus text format in tests: parse a scrape into samples,
 * look one up by name and labels, and take the difference of two scrapes.
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */
import { request } from 'undici';

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  text: string;
  samples: PromSample[];
  /** `# TYPE` of each metric family. */
  types: Map<string, string>;
  /** `# HELP` of each metric family. */
  help: Map<string, string>;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const pattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const match of text.matchAll(pattern)) {
    labels[match[1]] = match[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  }
  return labels;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN' || text === 'Nan') return NaN;
  return Number(text);
}

export function parseProm(text: string): Scrape {
  const samples: PromSample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      types.set(name, type);
      continue;
    }
    if (line.startsWith('# HELP ')) {
      const rest = line.slice(7);
      const space = rest.indexOf(' ');
      help.set(rest.slice(0, space), rest.slice(space + 1));
      continue;
    }
    if (line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const close = line.lastIndexOf('}');
    let name: string;
    let labels: Record<string, string> = {};
    let rest: string;
    if (brace !== -1 && close > brace) {
      name = line.slice(0, brace);
      labels = parseLabels(line.slice(brace + 1, close));
      rest = line.slice(close + 1).trim();
    } else {
      const space = line.indexOf(' ');
      name = line.slice(0, space);
      rest = line.slice(space + 1).trim();
    }
    samples.push({ name, labels, value: parseValue(rest.split(' ')[0]) });
  }
  return { text, samples, types, help };
}

function matches(sample: PromSample, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(labels)) if (sample.labels[key] !== value) return false;
  return true;
}

/** The sum of every sample of `name` whose labels include `labels` (0 when none). */
export function value(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const sample of scrape.samples) if (sample.name === name && matches(sample, labels)) total += sample.value;
  return total;
}

/** Samples of `name` whose labels include `labels`. */
export function samplesOf(scrape: Scrape, name: string, labels: Record<string, string> = {}): PromSample[] {
  return scrape.samples.filter((sample) => sample.name === name && matches(sample, labels));
}

/** How much a sample moved between two scrapes. */
export function delta(before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}): number {
  return value(after, name, labels) - value(before, name, labels);
}

/** GET /metrics of a running gateway, parsed. */
export async function scrape(baseUrl: string): Promise<Scrape & { contentType: string }> {
  const response = await request(`${baseUrl}/metrics`);
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`GET /metrics: ${response.statusCode} ${text}`);
  return { ...parseProm(text), contentType: String(response.headers['content-type']) };
}
