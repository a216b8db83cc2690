/**
 * The capacity limit's controller, driven by a simulated clock: it stays off
 * while the loop keeps up (and after one late window: a burst), starts at 90%
 * of the admitted or completed rate when the loop runs late for two windows,
 * falls while it stays late (every other window), admits through a token
 * bucket at its rate, rises while on time and refusing, and lifts after a
 * second on time without refusals. Never below the minimum rate.
 */
import { describe, expect, it } from 'vitest';
import { CapacityLimit, SAMPLE_MS, WINDOW_MS } from '../../src/gateway/capacity-limit.js';

/** A simulated process: requests arriving at `arrivalRate`, the loop `lateMs` late at each 10 ms sample. */
class Simulation {
  now = 0;
  admitted = 0;
  refused = 0;
  private arrivalDebt = 0;
  constructor(readonly limit: CapacityLimit) {}

  /** Runs `ms` of time; every admitted request completes at once (a short call). */
  run(ms: number, arrivalRate: number, lateMs: number): { admitted: number; refused: number } {
    const before = { admitted: this.admitted, refused: this.refused };
    for (let t = 0; t < ms; t += SAMPLE_MS) {
      this.arrivalDebt += (arrivalRate * SAMPLE_MS) / 1000;
      for (let step = 0; this.arrivalDebt >= 1; step++) {
        this.arrivalDebt -= 1;
        const at = this.now + (step * SAMPLE_MS) / Math.max(1, (arrivalRate * SAMPLE_MS) / 1000);
        if (this.limit.hasCapacity(at)) {
          this.limit.take();
          this.limit.complete();
          this.admitted++;
        } else {
          this.limit.refuse();
          this.refused++;
        }
      }
      this.now += SAMPLE_MS;
      this.limit.observe(lateMs, this.now);
    }
    return { admitted: this.admitted - before.admitted, refused: this.refused - before.refused };
  }
}

const settings = { targetDelayMs: 10, minRate: 10 };

/** Two late windows: the limit starts. */
const LATE = 2 * WINDOW_MS;

describe('capacity limit', () => {
  it('never limits while the loop keeps up, however many requests arrive', () => {
    const sim = new Simulation(new CapacityLimit(settings, 0));
    const { admitted, refused } = sim.run(2000, 20_000, 2);
    expect(refused).toBe(0);
    expect(admitted).toBe(40_000);
    expect(sim.limit.rate).toBe(Infinity);
  });

  it('a late loop sets the limit to 90% of the completed rate, and requests over it are refused', () => {
    const sim = new Simulation(new CapacityLimit(settings, 0));
    sim.run(3000, 2000, 1); // the completed-rate average settles at 2,000/s
    expect(sim.limit.servedRate).toBeCloseTo(2000, -1);
    sim.run(WINDOW_MS, 2000, 30);
    expect(sim.limit.rate).toBe(Infinity); // one late window: a burst, not a saturated CPU
    sim.run(WINDOW_MS, 2000, 30);
    expect(sim.limit.rate).toBeCloseTo(1800, -1);
    expect(sim.limit.delayMs).toBe(30);
    // Four times the limit arrives while the loop stays late: about the limit is admitted, the rest refused.
    const late = sim.run(1000, 8000, 30);
    expect(late.admitted + late.refused).toBe(8000);
    expect(late.admitted).toBeLessThan(1800);
    expect(late.refused).toBeGreaterThan(6000);
    expect(sim.limit.refusedTotal).toBe(sim.refused);
  });

  it('falls by 10% every other window while the loop stays late, never below the minimum rate', () => {
    const limit = new CapacityLimit(settings, 0);
    const sim = new Simulation(limit);
    sim.run(1000, 1000, 0);
    sim.run(LATE, 1000, 50);
    const start = limit.rate;
    sim.run(WINDOW_MS, 1000, 50); // held
    expect(limit.rate).toBe(start);
    sim.run(WINDOW_MS, 1000, 50);
    expect(limit.rate).toBeCloseTo(start * 0.9, 6);
    sim.run(20_000, 1000, 50);
    expect(limit.rate).toBe(10);
  });

  it('rises while the loop is on time and the limit refuses, and is lifted after a second without refusals', () => {
    const limit = new CapacityLimit(settings, 0);
    const sim = new Simulation(limit);
    sim.run(1000, 1000, 0);
    sim.run(LATE, 1000, 50);
    const low = limit.rate;
    expect(low).toBeLessThan(1000);
    // On time (above half the target), more arrives than the limit: it rises by 5% a window until nothing is refused.
    const rising = sim.run(WINDOW_MS * 5, 1000, 6);
    expect(rising.refused).toBeGreaterThan(0);
    expect(limit.rate).toBeGreaterThan(1000);
    expect(limit.rate).toBeLessThan(Infinity);
    sim.run(3000, 1000, 1);
    expect(limit.rate).toBe(Infinity);
    expect(sim.run(1000, 5000, 1).refused).toBe(0);
  });

  it('a mean delay just over the target is late; at the target it is on time', () => {
    const limit = new CapacityLimit(settings, 0);
    const sim = new Simulation(limit);
    sim.run(3000, 500, 0);
    sim.run(LATE, 500, 11);
    expect(limit.rate).toBeCloseTo(450, -1);
    sim.run(WINDOW_MS, 500, 10); // exactly the target: on time, so it rises by 5%
    expect(limit.rate).toBeGreaterThan(450 * 1.04);
    expect(limit.rate).toBeLessThan(450 * 1.1);
  });

  it('a burst is admitted up to half a window of the rate, then at the rate', () => {
    const limit = new CapacityLimit(settings, 0);
    const sim = new Simulation(limit);
    sim.run(1000, 1000, 0);
    sim.run(LATE, 1000, 50);
    const rate = limit.rate; // 900/s: a burst of 45
    const now = sim.now + 1000;
    let admitted = 0;
    for (let i = 0; i < 500; i++) {
      if (limit.hasCapacity(now)) {
        limit.take();
        admitted++;
      }
    }
    expect(admitted).toBe(Math.floor(rate * 0.05));
    expect(limit.hasCapacity(now + 1000 / rate)).toBe(true);
  });

  it('off (target 0): never limits, and turning it off lifts a limit at once', () => {
    const off = new Simulation(new CapacityLimit({ targetDelayMs: 0, minRate: 10 }, 0));
    expect(off.run(2000, 5000, 500).refused).toBe(0);
    const limit = new CapacityLimit(settings, 0);
    const sim = new Simulation(limit);
    sim.run(1000, 1000, 0);
    sim.run(LATE, 1000, 50);
    expect(limit.rate).toBeLessThan(Infinity);
    limit.configure({ targetDelayMs: 0, minRate: 10 });
    expect(limit.rate).toBe(Infinity);
    limit.configure(settings);
    limit.configure({ targetDelayMs: 10, minRate: 10 });
    expect(limit.hasCapacity(sim.now)).toBe(true);
  });

  it('a late loop with no requests arriving (a start-up) sets no limit', () => {
    const limit = new CapacityLimit(settings, 0);
    const sim = new Simulation(limit);
    sim.run(2000, 0, 50);
    expect(limit.rate).toBe(Infinity);
    sim.run(2000, 2, 50); // under the minimum rate
    expect(limit.rate).toBe(Infinity);
  });

  it('requests admitted but not yet completed (a slow upstream) count: the limit starts at the admitted rate', () => {
    const limit = new CapacityLimit(settings, 0);
    let now = 0;
    for (let window = 0; window < 32; window++) {
      for (let i = 0; i < 100; i++) { // 1,000/s admitted, none completed
        expect(limit.hasCapacity(now)).toBe(true);
        limit.take();
      }
      now += WINDOW_MS;
      limit.observe(window < 30 ? 0 : 40, now);
    }
    expect(limit.servedRate).toBe(0);
    expect(limit.rate).toBeCloseTo(900, -1);
  });

  it('far under the target it recovers fast: from the minimum to 1,000/s in under 3 s', () => {
    const limit = new CapacityLimit(settings, 0);
    const sim = new Simulation(limit);
    sim.run(1000, 1000, 0);
    sim.run(20_000, 1000, 50);
    expect(limit.rate).toBe(10);
    sim.run(2500, 1000, 1);
    expect(limit.rate).toBeGreaterThan(1000);
  });
});

describe('capacity limit, with the loop idle part of the time', () => {
  it('a late loop that waits for work (other processes take the CPU) sets no limit; a busy one does', () => {
    let utilization = 0.5;
    const limit = new CapacityLimit(settings, 0, () => utilization);
    const sim = new Simulation(limit);
    sim.run(3000, 1000, 80);
    expect(limit.rate).toBe(Infinity);
    expect(limit.utilization).toBe(0.5);
    utilization = 0.97;
    sim.run(LATE, 1000, 80);
    expect(limit.rate).toBeCloseTo(900, -1);
  });
});

describe('capacity limit, soon after a start', () => {
  it('starts at the last window\'s rate when the averages have not caught up yet (a cold process late from its first requests)', () => {
    const limit = new CapacityLimit(settings, 0);
    const sim = new Simulation(limit);
    sim.run(2 * WINDOW_MS, 1000, 50); // late from the first window on
    expect(limit.rate).toBeGreaterThan(850);
    expect(limit.rate).toBeLessThan(1000);
  });
});
