/**
 * The idle memory release: it collects only when the loop was idle over a sample and the RSS has grown
 * by GROWTH_BYTES since the last release, then once more at the next idle sample, and never while the
 * loop is busy. fullCollection() is V8's real full collection (a weakly held object is gone after it).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  GROWTH_BYTES, IDLE_UTILIZATION, IdleMemoryRelease, decideRelease, fullCollection, type ReleaseState,
} from '../../src/idle-memory-release.js';

const MB = 1024 * 1024;
const rest: ReleaseState = { baselineBytes: 40 * MB, secondDue: false };

describe('decideRelease', () => {
  it('does not collect while the loop is busy, however large the RSS', () => {
    const decision = decideRelease(rest, { utilization: 0.5, memoryBytes: 400 * MB });
    expect(decision).toEqual({ collect: false, state: rest });
  });

  it('does not collect when idle and the RSS grew less than GROWTH_BYTES', () => {
    expect(decideRelease(rest, { utilization: 0, memoryBytes: rest.baselineBytes + GROWTH_BYTES - 1 }).collect).toBe(false);
  });

  it('collects when idle after growth, then once more at the next idle sample, then stops', () => {
    const first = decideRelease(rest, { utilization: IDLE_UTILIZATION, memoryBytes: 130 * MB });
    expect(first).toEqual({ collect: true, state: { baselineBytes: 40 * MB, secondDue: true } });
    // A busy sample in between defers the second collection.
    const busy = decideRelease(first.state, { utilization: 0.3, memoryBytes: 130 * MB });
    expect(busy).toEqual({ collect: false, state: first.state });
    const second = decideRelease(busy.state, { utilization: 0.01, memoryBytes: 60 * MB });
    expect(second).toEqual({ collect: true, state: { baselineBytes: 40 * MB, secondDue: false } });
  });
});

describe('IdleMemoryRelease', () => {
  let release: IdleMemoryRelease | undefined;
  afterEach(() => release?.stop());

  it('after two collections takes the RSS of then as its new baseline', () => {
    let utilization = 0.8;
    let heap = 60 * MB;
    const collected: number[] = [];
    const reported: Array<[number, number]> = [];
    release = new IdleMemoryRelease({
      onCollect: ({ memoryBefore, memoryAfter, ms }) => { reported.push([memoryBefore, memoryAfter]); expect(ms).toBeGreaterThanOrEqual(0); },
      sampleMs: 3_600_000, utilization: () => utilization, memoryBytes: () => heap,
      collect: () => { collected.push(heap); heap = Math.max(36 * MB, heap / 2); },
    });
    heap = 200 * MB; // a burst of load
    release.tick();
    expect(collected).toEqual([]);
    utilization = 0.001; // the traffic stopped
    release.tick();
    release.tick();
    release.tick();
    expect(collected).toEqual([200 * MB, 100 * MB]);
    expect(release.collections).toBe(2);
    expect(reported).toEqual([[200 * MB, 100 * MB], [100 * MB, 50 * MB]]);
    // The baseline is now 50 MB: growth to 60 MB is not enough, to 50 + 16 MB is.
    heap = 60 * MB;
    release.tick();
    expect(release.collections).toBe(2);
    heap = 50 * MB + GROWTH_BYTES;
    release.tick();
    expect(release.collections).toBe(3);
  });
});

describe('fullCollection', () => {
  it('is V8 full collection: an object held only weakly is gone after it', async () => {
    const collect = fullCollection();
    expect(typeof collect).toBe('function');
    const weak = ((): WeakRef<object> => new WeakRef({ payload: new Array(1000).fill('garbage') }))();
    // A WeakRef's target lives at least until the end of the job that created the WeakRef.
    await new Promise((resolve) => setImmediate(resolve));
    collect!();
    expect(weak.deref()).toBeUndefined();
    // The flag was set only to take the function: contexts created afterwards have no `gc`.
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });
});
