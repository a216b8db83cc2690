/**
 * Which part of a range the rollups answer and which is read from the rows (src/store/pg/rollup-plan.ts):
 * every millisecond of the range is covered once, and no rollup unit crosses a bucket's edge.
 */
import { describe, expect, it } from 'vitest';
import { hourPlan, seriesPlan, type SeriesPlan } from '../../src/store/pg/rollup-plan.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T = Date.UTC(2026, 10, 20);

/** Every unit and raw interval of the plan, checked: disjoint, covering [from, to), units inside one bucket. */
function check(plan: SeriesPlan, from: number, to: number, bucket: number): { units: number; raw: number } {
  const pieces: Array<[number, number]> = [...plan.raw];
  for (let unit = plan.units[0]; unit < plan.units[1]; unit += plan.width) {
    if (plan.skip.includes(unit)) continue;
    pieces.push([unit, unit + plan.width]);
    expect(Math.floor((unit - from) / bucket)).toBe(Math.floor((unit + plan.width - 1 - from) / bucket));
  }
  pieces.sort((a, b) => a[0] - b[0]);
  let at = from;
  for (const [start, end] of pieces) {
    expect(start).toBe(at);
    expect(end).toBeGreaterThan(start);
    at = end;
  }
  expect(at).toBe(to);
  return { units: pieces.length - plan.raw.length, raw: plan.raw.reduce((sum, [start, end]) => sum + end - start, 0) };
}

describe('rollup plans', () => {
  it('whole hours from the hourly rollups, the edges from the rows', () => {
    expect(hourPlan(T + 5, T + 3 * HOUR + 7)).toEqual({ hours: [T + HOUR, T + 3 * HOUR], raw: [[T + 5, T + HOUR], [T + 3 * HOUR, T + 3 * HOUR + 7]] });
    expect(hourPlan(T, T + 2 * HOUR)).toEqual({ hours: [T, T + 2 * HOUR], raw: [[T, T], [T + 2 * HOUR, T + 2 * HOUR]] });
    expect(hourPlan(T + 5, T + HOUR - 1)).toEqual({ hours: [T + HOUR - 1, T + HOUR - 1], raw: [[T + 5, T + HOUR - 1], [T + HOUR - 1, T + HOUR - 1]] });
  });

  it('the dashboard: aligned ranges read hours or minutes and no rows', () => {
    expect(seriesPlan(T - 30 * 24 * HOUR, T, 12 * HOUR)).toMatchObject({ width: HOUR, raw: [] });
    expect(seriesPlan(T - 24 * HOUR + 30 * MINUTE, T + 30 * MINUTE, 30 * MINUTE)).toMatchObject({ width: MINUTE, raw: [] });
    expect(check(seriesPlan(T - 24 * HOUR + 30 * MINUTE, T + 30 * MINUTE, 30 * MINUTE), T - 24 * HOUR + 30 * MINUTE, T + 30 * MINUTE, 30 * MINUTE))
      .toEqual({ units: 24 * 60, raw: 0 });
  });

  it.each([
    [T + 12_345, T + 24 * HOUR + 12_345, 24 * MINUTE],
    [T + 17, T + 3 * 24 * HOUR + 17, 7 * MINUTE + 1],
    [T - 5 * HOUR + 999, T + 999, 90_000],
    [T + MINUTE, T + 5 * HOUR + 123, 2 * HOUR],
    [T + 1, T + 2 * HOUR, 45_000],
    [T + 1, T + 50_000, MINUTE],
  ])('covers [%i, %i) in buckets of %i ms exactly once', (from, to, bucket) => {
    const { units, raw } = check(seriesPlan(from, to, bucket), from, to, bucket);
    // Rows only where a unit would cross an edge: at most two minutes per bucket edge and the range's ends.
    if (bucket >= 2 * MINUTE) {
      expect(raw).toBeLessThanOrEqual((Math.ceil((to - from) / bucket) + 2) * MINUTE);
      expect(units).toBeGreaterThan(0);
    }
  });

  it.each([
    [T - 7 * 24 * HOUR, T + 2 * HOUR + 5, 3 * HOUR],
    [T + 12_345, T + 7 * 24 * HOUR + 12_345, 3 * HOUR - 7],
    [T - 12 * 24 * HOUR - 5, T + 999, 4 * 60 * MINUTE + 17],
    [T + 17, T + 3 * 24 * HOUR + 17, 7 * MINUTE + 1],
  ])('hours only (the latency histogram): [%i, %i) in buckets of %i ms, each ms once', (from, to, bucket) => {
    const plan = seriesPlan(from, to, bucket, [HOUR]);
    expect(plan.width).toBe(HOUR);
    const { units, raw } = check(plan, from, to, bucket);
    // Rows only where an hour would cross an edge: at most two hours per bucket edge and the range's ends.
    if (bucket >= 2 * HOUR) {
      expect(raw).toBeLessThanOrEqual((Math.ceil((to - from) / bucket) + 2) * HOUR);
      expect(units).toBeGreaterThan(0);
    } else expect(raw).toBe(to - from);
  });
});
