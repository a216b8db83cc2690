import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/gateway/request-id.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7 request ids', () => {
  it('is a version 7, variant 10 UUID carrying the millisecond time', () => {
    const now = Date.UTC(2026, 10, 29, 12, 0, 0, 123);
    const id = uuidv7(now);
    expect(id).toMatch(V7);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(now);
  });

  it('sorts by time and does not repeat', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => uuidv7(1_700_000_000_000 + Math.floor(i / 10)));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 10; i < ids.length; i += 10) expect(ids[i - 10].slice(0, 13) < ids[i].slice(0, 13)).toBe(true);
    for (const id of ids) expect(id).toMatch(V7);
  });
});

describe('uuidv7 request ids: the time part per millisecond', () => {
  it('carries the time it is given, also when the times go back and forth', () => {
    const a = Date.UTC(2026, 0, 1, 0, 0, 0, 1);
    const b = Date.UTC(2031, 5, 30, 23, 59, 59, 999);
    const ids = [uuidv7(a), uuidv7(a), uuidv7(b), uuidv7(a), uuidv7(b)];
    const times = ids.map((id) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16));
    expect(times).toEqual([a, a, b, a, b]);
    for (const id of ids) expect(id).toMatch(V7);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('draws fresh random bits for every id of one millisecond, across refills of the pool', () => {
    const ids = Array.from({ length: 3000 }, () => uuidv7(1_800_000_000_000));
    expect(new Set(ids.map((id) => id.slice(14))).size).toBe(ids.length);
    // Every hexadecimal digit of the random part varies (the version and variant bits aside).
    for (const position of [15, 16, 17, 20, 21, 22, 24, 30, 35]) expect(new Set(ids.map((id) => id[position])).size).toBe(16);
    expect(new Set(ids.map((id) => id[19])).size).toBe(4);
    expect(ids.every((id) => id.length === 36)).toBe(true);
  });
});
