/**
 * The metric reference and the Grafana dashboard stay true to the code:
 * every metric Heimdall registers is in docs/observability.md; the dashboard
 * is an importable Grafana dashboard (the fields an import needs, a data
 * source input, known panel types laid out without overlap) whose every
 * query names existing metrics with their real labels, takes rate() of
 * counters only and quantiles of histogram buckets by `le`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/telemetry/metrics.js';

const doc = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8');

interface Target { expr: string; refId: string; datasource?: { type: string; uid: string }; legendFormat?: string }
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
  collapsed?: boolean;
  panels?: Panel[];
}
interface Dashboard {
  __inputs: Array<{ name: string; type: string; pluginId: string }>;
  __requires: Array<{ type: string; id: string }>;
  id?: number | null;
  uid: string;
  title: string;
  schemaVersion: number;
  time: { from: string; to: string };
  annotations: { list: unknown[] };
  templating: { list: Array<{ name: string; type: string; datasource: { type: string; uid: string }; query: { query: string } }> };
  panels: Panel[];
}
const dashboard = JSON.parse(readFileSync(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8')) as Dashboard;

async function registered(processMetrics: boolean): Promise<Set<string>> {
  const metrics = new Metrics({ processMetrics, virtualKeyLabels: true });
  return new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
}

function baseName(name: string): string {
  return name.replace(/_(bucket|sum|count)$/, '');
}

describe('docs/observability.md', () => {
  it('lists every Heimdall metric in its reference table', async () => {
    for (const name of await registered(false)) expect(doc, `${name} is not documented`).toContain(`| \`${name}\` |`);
  });

  it('names only metrics that exist', async () => {
    const names = await registered(true);
    for (const [match] of doc.matchAll(/heimdall_[a-z0-9_]+/g)) {
      if (match.endsWith('_')) continue; // "heimdall_" prefix in prose
      expect(names.has(match) || names.has(baseName(match)) || names.has(match.replace(/_(p50|p90|p99|max|min|mean)_seconds$/, '_seconds')), `${match} does not exist`).toBe(true);
    }
  });
});

/** Every metric name with its type and label names, as the registry holds them. */
async function catalogue(): Promise<Map<string, { type: string; labels: Set<string> }>> {
  const metrics = new Metrics({ processMetrics: true, virtualKeyLabels: true });
  const out = new Map<string, { type: string; labels: Set<string> }>();
  for (const { name, type } of await metrics.registry.getMetricsAsJSON()) {
    const metric = metrics.registry.getSingleMetric(name) as unknown as { labelNames?: readonly string[] };
    out.set(name, { type: String(type), labels: new Set(metric.labelNames ?? []) });
  }
  return out;
}

/** Labels Prometheus itself adds to every scraped series. */
const TARGET_LABELS = ['job', 'instance'];

/** A sample name in a query -> its family and the labels a selector on it may use. */
function family(name: string, metrics: Map<string, { type: string; labels: Set<string> }>): { name: string; type: string; labels: Set<string>; part?: string } | undefined {
  const exact = metrics.get(name);
  if (exact !== undefined) return { name, ...exact, labels: new Set([...exact.labels, ...TARGET_LABELS]) };
  const match = /^(.*)_(bucket|sum|count)$/.exec(name);
  const base = match === null ? undefined : metrics.get(match[1]);
  if (match === null || base === undefined || base.type !== 'histogram') return undefined;
  const labels = new Set([...base.labels, ...TARGET_LABELS, ...(match[2] === 'bucket' ? ['le'] : [])]);
  return { name: match[1], type: base.type, labels, part: match[2] };
}

/** The text inside the parenthesis that opens at `open` (index of "("). */
function group(expr: string, open: number): string {
  let depth = 0;
  for (let i = open; i < expr.length; i++) {
    if (expr[i] === '(') depth++;
    else if (expr[i] === ')' && --depth === 0) return expr.slice(open + 1, i);
  }
  throw new Error(`unbalanced parenthesis in ${expr}`);
}

const SELECTOR = /\b(heimdall_[a-z0-9_]+)\s*(?:\{([^}]*)\})?/g;

/** Checks one PromQL expression; returns the metric families it reads. */
function checkQuery(expr: string, metrics: Map<string, { type: string; labels: Set<string> }>): string[] {
  const where = `in: ${expr}`;
  for (const [open, close] of [['(', ')'], ['{', '}'], ['[', ']']]) {
    expect(expr.split(open).length, `unbalanced ${open}${close} ${where}`).toBe(expr.split(close).length);
  }
  expect((expr.match(/"/g) ?? []).length % 2, `unbalanced quotes ${where}`).toBe(0);
  const used: string[] = [];
  for (const [, name, matchers] of expr.matchAll(SELECTOR)) {
    const f = family(name, metrics);
    expect(f, `${name} is not a Heimdall metric ${where}`).toBeDefined();
    used.push(f!.name);
    for (const [, label] of (matchers ?? '').matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*"/g)) {
      expect(f!.labels.has(label), `${name} has no label "${label}" ${where}`).toBe(true);
    }
  }
  // rate() and increase() of counters (or histogram parts) only, over a range.
  for (const match of expr.matchAll(/\b(rate|irate|increase)\s*\(/g)) {
    const inner = group(expr, match.index + match[0].length - 1);
    expect(inner, `${match[1]}() without a range ${where}`).toMatch(/\[[^\]]+\]\s*$/);
    for (const [, name] of inner.matchAll(SELECTOR)) {
      const f = family(name, metrics)!;
      expect(f.type === 'counter' || f.part !== undefined, `${match[1]}() of the ${f.type} ${name} ${where}`).toBe(true);
    }
  }
  // A gauge is read as it is: never through rate().
  for (const [, name] of expr.matchAll(SELECTOR)) {
    const f = family(name, metrics)!;
    if (f.type === 'gauge') expect(expr, `rate() of the gauge ${name}`).not.toMatch(new RegExp(`rate\\(\\s*${name}\\b`));
  }
  // histogram_quantile over buckets, aggregated by le.
  for (const match of expr.matchAll(/\bhistogram_quantile\s*\(/g)) {
    const inner = group(expr, match.index + match[0].length - 1);
    const names = [...inner.matchAll(SELECTOR)].map(([, name]) => name);
    expect(names.length, `histogram_quantile without a metric ${where}`).toBeGreaterThan(0);
    for (const name of names) expect(name, `histogram_quantile of a non-bucket series ${where}`).toMatch(/_bucket$/);
    const by = /\bby\s*\(([^)]*)\)/.exec(inner);
    expect(by?.[1].split(',').map((l) => l.trim()), `histogram_quantile not aggregated by le ${where}`).toContain('le');
  }
  // Aggregation labels exist on what is aggregated.
  for (const match of expr.matchAll(/\b(?:sum|max|min|avg|count|topk\s*\(\s*\d+\s*,\s*sum)\s+by\s*\(([^)]*)\)\s*\(/g)) {
    const inner = group(expr, match.index + match[0].length - 1);
    for (const label of match[1].split(',').map((l) => l.trim()).filter((l) => l !== '')) {
      for (const [, name] of inner.matchAll(SELECTOR)) {
        expect(family(name, metrics)!.labels.has(label), `"by (${label})" but ${name} has no such label ${where}`).toBe(true);
      }
    }
  }
  return used;
}

describe('docs/grafana-dashboard.json', () => {
  const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);

  it('has what a Grafana import needs: title, uid, schema version, time range, a Prometheus data source input', () => {
    expect(dashboard.title.length).toBeGreaterThan(0);
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dashboard.id ?? null).toBeNull(); // an id would overwrite another dashboard on import
    expect(Number.isInteger(dashboard.schemaVersion)).toBe(true);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.time).toEqual({ from: expect.any(String), to: expect.any(String) });
    expect(Array.isArray(dashboard.annotations.list)).toBe(true);
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    const requires = new Set(dashboard.__requires.map((r) => `${r.type}:${r.id}`));
    expect(requires.has('grafana:grafana')).toBe(true);
    expect(requires.has('datasource:prometheus')).toBe(true);
    for (const panel of panels) {
      if (panel.type !== 'row') expect(requires.has(`panel:${panel.type}`), `panel type ${panel.type} is not in __requires`).toBe(true);
    }
  });

  it('lays its panels out on the 24-column grid without overlap, each with a unique id', () => {
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const boxes = panels.map((p) => ({ title: p.title, ...p.gridPos }));
    for (const box of boxes) {
      for (const v of [box.x, box.y, box.w, box.h]) expect(Number.isInteger(v) && v >= 0).toBe(true);
      expect(box.w).toBeGreaterThan(0);
      expect(box.h).toBeGreaterThan(0);
      expect(box.x + box.w).toBeLessThanOrEqual(24);
    }
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i];
        const b = boxes[j];
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `"${a.title}" overlaps "${b.title}"`).toBe(false);
      }
    }
  });

  it('every panel queries the Prometheus input, with unique refIds', () => {
    for (const panel of panels) {
      if (panel.type === 'row') {
        expect(panel.targets ?? []).toEqual([]);
        continue;
      }
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
      const targets = panel.targets ?? [];
      expect(targets.length, panel.title).toBeGreaterThan(0);
      const refIds = targets.map((t) => t.refId);
      expect(new Set(refIds).size, panel.title).toBe(refIds.length);
      for (const target of targets) {
        expect(target.expr.trim().length, panel.title).toBeGreaterThan(0);
        if (target.datasource !== undefined) expect(target.datasource.uid).toBe('${DS_PROMETHEUS}');
      }
    }
    for (const variable of dashboard.templating.list) {
      expect(variable.datasource).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
    }
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['job', 'provider']);
  });

  it('queries only metrics Heimdall exports, by their real labels, counters through rate(), quantiles by le; and most metrics', async () => {
    const metrics = await catalogue();
    const used = new Set<string>();
    for (const target of panels.flatMap((p) => p.targets ?? [])) {
      for (const name of checkQuery(target.expr, metrics)) used.add(name);
    }
    for (const variable of dashboard.templating.list) {
      const query = /^label_values\((.*),\s*([a-zA-Z_]\w*)\)$/.exec(variable.query.query);
      expect(query, variable.query.query).not.toBeNull();
      for (const name of checkQuery(query![1], metrics)) {
        used.add(name);
        expect(family(name, metrics)!.labels.has(query![2]), `${name} has no label ${query![2]}`).toBe(true);
      }
    }
    // Every Heimdall metric is on the dashboard (process metrics are a choice of a few).
    const own = [...metrics.keys()].filter((name) => !/^heimdall_(process|nodejs)_/.test(name));
    expect(own.filter((name) => !used.has(name))).toEqual([]);
  });

  it('the checks above catch what they should', async () => {
    const metrics = await catalogue();
    const fails = (expr: string): boolean => {
      try {
        checkQuery(expr, metrics);
        return false;
      } catch {
        return true;
      }
    };
    expect(fails('sum(rate(heimdall_requests_total{job=~"$job"}[5m]))')).toBe(false);
    expect(fails('sum(rate(heimdall_request_total[5m]))')).toBe(true); // no such metric
    expect(fails('sum(rate(heimdall_requests_total{providr="x"}[5m]))')).toBe(true); // no such label
    expect(fails('rate(heimdall_in_flight_requests[5m])')).toBe(true); // rate of a gauge
    expect(fails('histogram_quantile(0.9, sum by (provider) (rate(heimdall_upstream_duration_seconds_bucket[5m])))')).toBe(true); // no le
    expect(fails('histogram_quantile(0.9, sum by (le) (rate(heimdall_upstream_duration_seconds_sum[5m])))')).toBe(true); // not buckets
    expect(fails('sum by (model) (rate(heimdall_upstream_errors_total[5m]))')).toBe(true); // no model label there
    expect(fails('sum(rate(heimdall_requests_total[5m])')).toBe(true); // unbalanced
  });
});
