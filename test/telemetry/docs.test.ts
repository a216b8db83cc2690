/**
 * The metric reference and the Grafana dashboard stay true to the code:
 * every metric Heimdall registers is in docs/observability.md, and every
 * metric the dashboard queries exists.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/telemetry/metrics.js';

const doc = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8');
const dashboard = JSON.parse(readFileSync(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8')) as {
  __inputs: Array<{ name: string; pluginId: string }>;
  templating: { list: Array<{ name: string; query: { query: string } }> };
  panels: Array<{ id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { uid: string }; targets?: Array<{ expr: string; refId: string }> }>;
};

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

describe('docs/grafana-dashboard.json', () => {
  it('is an importable dashboard with a Prometheus data source input', () => {
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' })]);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
      if (panel.type === 'row') continue;
      expect(panel.datasource?.uid).toBe('${DS_PROMETHEUS}');
      expect(panel.targets?.length ?? 0).toBeGreaterThan(0);
    }
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['job', 'provider']);
  });

  it('queries only metrics Heimdall exports, and most of them', async () => {
    const names = await registered(true);
    const used = new Set<string>();
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    for (const variable of dashboard.templating.list) exprs.push(variable.query.query);
    for (const expr of exprs) {
      for (const [match] of expr.matchAll(/heimdall_[a-z0-9_]+/g)) {
        expect(names.has(match) || names.has(baseName(match)), `${match} (in ${expr}) is not a Heimdall metric`).toBe(true);
        used.add(names.has(match) ? match : baseName(match));
      }
    }
    const own = [...(await registered(false))];
    const missing = own.filter((name) => !used.has(name));
    expect(missing).toEqual([]);
  });
});
