/**
 * The capacity limit's controller, its inputs driven directly on a simulated
 * clock: arrivals, completions at a service rate, the loop's lateness (given,
 * or following the backlog as a saturated loop's does) and its utilization.
 * It sets a limit only on evidence of overload (the loop late and busy for
 * several windows, and the backlog growing or many requests held), never for
 * a pause, a burst being worked off, a closed-loop client with a few requests
 * outstanding, a neighbour taking the CPU (the loop idle, or kept off the CPU)
 * or a slow upstream. Once set it
 * steers the loop's delay to half the target: under twice what the process
 * serves it admits most of what it serves with the loop on time, falls while
 * the loop is late (never below a quarter of what the process served), rises
 * while on time, and lifts once nothing is refused.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { BUSY_CPU_SHARE, CALM_WINDOWS, CapacityLimit, LIFT_SHARE, LoopDelaySampler, DECREASE, STEEP_DECREASE, FLOOR_SHARE, FAST_INCREASE, IDLE_INCREASE, INCREASE, MAX_CUT, ONSET_ACCEPTS, ONSET_GROWTH, ONSET_HELD, ONSET_MS, SAMPLE_MS, SETPOINT_SHARE, WINDOW_MS, cpuLimitCores, processCpuShare } from '../../src/gateway/capacity-limit.js';

interface Load {
  /** New requests a second. */
  arrivalRate: number;
  /** Requests the process completes a second while it has a backlog. */
  serveRate: number;
  /** The loop's lateness at each 10 ms sample, or 'backlog': as late as the backlog takes to serve, over LOOP_TURNS turns. */
  lateMs: number | 'backlog';
}

/** A request waits about this many loop turns' worth of the backlog (read, upstream call, answer). */
const LOOP_TURNS = 4;

/** A simulated process: requests arrive, the admitted wait in a backlog served at `serveRate`. */
class Simulation {
  now = 0;
  admitted = 0;
  refused = 0;
  completed = 0;
  backlog = 0;
  /** The lateness observed so far (its mean: lateSum / samples). */
  lateSum = 0;
  samples = 0;
  private arrivalDebt = 0;
  private serveDebt = 0;
  constructor(readonly limit: CapacityLimit) {}

  run(ms: number, load: Load): { admitted: number; refused: number; completed: number } {
    const before = { admitted: this.admitted, refused: this.refused, completed: this.completed };
    for (let t = 0; t < ms; t += SAMPLE_MS) {
      this.arrivalDebt += (load.arrivalRate * SAMPLE_MS) / 1000;
      const count = Math.floor(this.arrivalDebt);
      for (let i = 0; i < count; i++) this.arrive(this.now + (i * SAMPLE_MS) / count);
      this.arrivalDebt -= count;
      this.serveDebt = Math.min(this.serveDebt + (load.serveRate * SAMPLE_MS) / 1000, this.backlog);
      while (this.serveDebt >= 1) {
        this.serveDebt -= 1;
        this.backlog--;
        this.completed++;
        this.limit.complete();
      }
      this.now += SAMPLE_MS;
      const lateMs = load.lateMs === 'backlog' ? (this.backlog * 1000) / load.serveRate / LOOP_TURNS : load.lateMs;
      this.lateSum += lateMs;
      this.samples++;
      this.limit.observe(lateMs, this.now);
    }
    return { admitted: this.admitted - before.admitted, refused: this.refused - before.refused, completed: this.completed - before.completed };
  }

  /** Requests arriving all at once (a burst), admitted or refused. */
  arrive(at = this.now): void {
    if (this.limit.hasCapacity(at)) {
      this.limit.take();
      this.admitted++;
      this.backlog++;
    } else {
      this.limit.refuse();
      this.refused++;
    }
  }
}

const settings = { targetDelayMs: 10, minRate: 10 };
/** Twice what the process serves arrives, and its loop runs late. */
const OVERLOAD: Load = { arrivalRate: 4000, serveRate: 2000, lateMs: 30 };
/** What the process serves arrives, on time. */
const AT_CAPACITY: Load = { arrivalRate: 2000, serveRate: 2000, lateMs: 1 };

/** Runs at capacity, then overloaded until the limit is set; returns the windows it took. */
function overloaded(sim: Simulation, load: Load = OVERLOAD): number {
  sim.run(1000, AT_CAPACITY);
  for (let windows = 1; windows <= 50; windows++) {
    sim.run(WINDOW_MS, load);
    if (sim.limit.rate !== Infinity) return windows;
  }
  throw new Error('no limit after 5 s of overload');
}

describe('capacity limit: what is overload', () => {
  it('never limits while the loop keeps up, however many requests arrive', () => {
    const sim = new Simulation(new CapacityLimit(settings, 0));
    const { admitted, refused } = sim.run(2000, { arrivalRate: 20_000, serveRate: 20_000, lateMs: 2 });
    expect(refused).toBe(0);
    expect(admitted).toBe(40_000);
    expect(sim.limit.rate).toBe(Infinity);
  });

  it('a late, busy loop whose backlog grows sets the limit after three windows, at the completion rate', () => {
    const sim = new Simulation(new CapacityLimit(settings, 0));
    expect(overloaded(sim)).toBe(ONSET_MS / WINDOW_MS);
    expect(sim.limit.rate).toBeCloseTo(2000, -1);
    expect(sim.limit.servedRate).toBeCloseTo(2000, -1);
    expect(sim.limit.delayMs).toBe(30);
    // Twice what it serves keeps arriving: a little less than the limit is admitted, the rest refused at once.
    const late = sim.run(1000, { ...OVERLOAD, lateMs: 'backlog' });
    expect(late.admitted + late.refused).toBe(4000);
    expect(late.refused).toBeGreaterThan(1900);
    expect(late.admitted).toBeLessThan(2100);
    expect(sim.limit.refusedTotal).toBe(sim.refused);
  });

  it('clients with many connections, all busy (the backlog in their queues): many requests held and a late loop set the limit', () => {
    const limit = new CapacityLimit(settings, 0);
    const sim = new Simulation(limit);
    sim.run(1000, AT_CAPACITY);
    // 400 connections at once (the loop still on time), then one request per answer: as many arrive as complete.
    for (let i = 0; i < 400; i++) sim.arrive();
    sim.run(1000, AT_CAPACITY);
    expect(limit.inFlight).toBeGreaterThanOrEqual(400);
    expect(limit.rate).toBe(Infinity);
    // The loop late and busy: no growth, but 400 held (more than 50 ms of completions).
    sim.run(WINDOW_MS * 3, { arrivalRate: 2000, serveRate: 2000, lateMs: 30 });
    expect(limit.rate).toBeCloseTo(2000, -1);
  });

  it(`a closed-loop client with fewer than ${ONSET_HELD} requests outstanding never sets it, however late and busy the loop`, () => {
    const sim = new Simulation(new CapacityLimit(settings, 0));
    sim.run(1000, { arrivalRate: 500, serveRate: 500, lateMs: 0 });
    // The clients start (the loop on time), then send one request per answer while the loop is late.
    for (let i = 0; i < ONSET_HELD - 10; i++) sim.arrive();
    sim.run(1000, { arrivalRate: 500, serveRate: 500, lateMs: 0 });
    expect(sim.limit.inFlight).toBeGreaterThan(ONSET_HELD - 20);
    expect(sim.run(10_000, { arrivalRate: 500, serveRate: 500, lateMs: 40 }).refused).toBe(0);
    expect(sim.limit.rate).toBe(Infinity);
  });

  it('a pause (two late windows), then on time again: no limit', () => {
    const sim = new Simulation(new CapacityLimit(settings, 0));
    sim.run(1000, AT_CAPACITY);
    for (let i = 0; i < 10; i++) {
      sim.run(ONSET_MS - WINDOW_MS, { arrivalRate: 2000, serveRate: 500, lateMs: 80 });
      sim.run(WINDOW_MS * 3, { arrivalRate: 2000, serveRate: 6000, lateMs: 1 });
    }
    expect(sim.refused).toBe(0);
    expect(sim.limit.rate).toBe(Infinity);
  });

  it('a late loop whose backlog does not grow (a closed-loop client, a neighbour slowing it) sets no limit', () => {
    const sim = new Simulation(new CapacityLimit(settings, 0));
    // As many arrive as complete, the loop late (under twice the target) and busy, for 10 s.
    expect(sim.run(10_000, { arrivalRate: 300, serveRate: 300, lateMs: 19 }).refused).toBe(0);
    expect(sim.limit.rate).toBe(Infinity);
  });

  it('a burst being worked off (all arrived at once, then only completions) sets no limit', () => {
    const sim = new Simulation(new CapacityLimit(settings, 0));
    sim.run(1000, { arrivalRate: 20, serveRate: 20, lateMs: 0 });
    for (let i = 0; i < 2000; i++) sim.arrive();
    // Served at 500/s over 4 s with the loop late all along, next requests arriving slowly.
    expect(sim.run(4000, { arrivalRate: 20, serveRate: 500, lateMs: 60 }).refused).toBe(0);
    expect(sim.limit.rate).toBe(Infinity);
  });

  it('a late loop that waits for work (other processes take the CPU) sets no limit; a busy one does', () => {
    let utilization = 0.5;
    const limit = new CapacityLimit(settings, 0, () => utilization);
    const sim = new Simulation(limit);
    sim.run(3000, OVERLOAD);
    expect(limit.rate).toBe(Infinity);
    expect(limit.utilization).toBe(0.5);
    utilization = 0.97;
    sim.run(ONSET_MS, OVERLOAD);
    expect(limit.rate).toBeCloseTo(2000, -1);
  });

  it('a loop with work that other processes keep off the CPU (the process ran for under half the time) sets no limit; one that runs does', () => {
    let share = 0.3;
    const limit = new CapacityLimit(settings, 0, () => 1, () => share);
    const sim = new Simulation(limit);
    sim.run(3000, OVERLOAD);
    expect(limit.rate).toBe(Infinity);
    expect(limit.cpuShare).toBe(0.3);
    share = BUSY_CPU_SHARE;
    sim.run(ONSET_MS, OVERLOAD);
    expect(limit.rate).toBeCloseTo(2000, -1);
  });

  it('once set, a loop kept off the CPU by other processes never lowers the limit, and it rises fast while refusing', () => {
    let share = 1;
    const limit = new CapacityLimit(settings, 0, () => 1, () => share);
    const sim = new Simulation(limit);
    overloaded(sim);
    const set = limit.rate;
    expect(set).toBeLessThan(Infinity);
    share = 0.2;
    // Late all along, most refused: the limit does not chase the neighbours' lateness down.
    expect(sim.run(WINDOW_MS * 5, { ...OVERLOAD, lateMs: settings.targetDelayMs * 3 }).refused).toBeGreaterThan(0);
    expect(limit.rate).toBeGreaterThan(set * FAST_INCREASE ** 4);
  });

  it('restart() starts the loop utilization and the CPU share afresh, so the time off is not the first window', () => {
    const utilization = vi.fn(() => 1);
    const share = vi.fn(() => 1);
    const limit = new CapacityLimit(settings, 0, utilization, share);
    limit.restart(5000);
    expect(utilization).toHaveBeenCalledTimes(1);
    expect(share).toHaveBeenCalledTimes(1);
  });

  it('a closed-loop client with fewer requests outstanding than the onset growth never sets it, however late the loop', () => {
    const sim = new Simulation(new CapacityLimit(settings, 0));
    sim.run(1000, { arrivalRate: 0, serveRate: 100, lateMs: 80 });
    // ONSET_GROWTH - 1 requests sent at once (the clients start), then one more per answer, for 10 s.
    for (let i = 0; i < ONSET_GROWTH - 1; i++) sim.arrive();
    expect(sim.run(10_000, { arrivalRate: 100, serveRate: 100, lateMs: 80 }).refused).toBe(0);
    expect(sim.limit.rate).toBe(Infinity);
  });

  it('a backlog that grew, then stopped growing (the clients out of connections) while the loop stays late: a limit', () => {
    const sim = new Simulation(new CapacityLimit(settings, 0));
    sim.run(1000, AT_CAPACITY);
    sim.run(WINDOW_MS, { arrivalRate: 4000, serveRate: 2000, lateMs: 30 }); // 200 more arrived than completed
    expect(sim.limit.rate).toBe(Infinity);
    sim.run(WINDOW_MS * 2, { arrivalRate: 2000, serveRate: 2000, lateMs: 30 });
    expect(sim.limit.rate).toBeCloseTo(2000, -1);
  });

  it('with loop turns longer than the onset time (one sample a turn), one turn of arrivals is not a trend; two are', () => {
    const limit = new CapacityLimit(settings, 0);
    let now = 0;
    /** One 400 ms turn: the requests read in it, those completed, and the sampler's one late run at its end. */
    const turn = (arrived: number, completed: number): void => {
      for (let i = 0; i < arrived; i++) {
        if (limit.hasCapacity(now)) limit.take();
        else limit.refuse();
      }
      for (let i = 0; i < completed; i++) limit.complete();
      now += 400;
      limit.observe(390, now);
    };
    turn(500, 20); // a burst read at once
    turn(0, 200);
    turn(0, 200);
    expect(limit.rate).toBe(Infinity);
    turn(400, 300);
    turn(500, 300);
    expect(limit.rate).toBeCloseTo(750, -1); // 600 completed in 800 ms
  });

  it('a late loop with fewer arrivals than the minimum rate (a start-up) sets no limit', () => {
    const sim = new Simulation(new CapacityLimit(settings, 0));
    sim.run(2000, { arrivalRate: 0, serveRate: 0, lateMs: 50 });
    sim.run(3000, { arrivalRate: 5, serveRate: 1, lateMs: 50 });
    expect(sim.limit.rate).toBe(Infinity);
  });

  it('requests held by a slow upstream (admitted, none completed): no limit, with the loop on time or late for other reasons', () => {
    const sim = new Simulation(new CapacityLimit(settings, 0));
    expect(sim.run(5000, { arrivalRate: 1000, serveRate: 0, lateMs: 1 }).refused).toBe(0);
    expect(sim.run(5000, { arrivalRate: 50, serveRate: 0, lateMs: 60 }).refused).toBe(0);
    expect(sim.backlog).toBe(5250);
    expect(sim.limit.rate).toBe(Infinity);
  });
});

/**
 * A saturated loop turn by turn, as the process runs it: each turn reads what it accepted before, serves
 * `served` requests (the closed-loop clients send as many again), accepts at most one connection
 * (libuv accepts one a turn) and sees `close` connections closed; the sampler runs once at its end,
 * `turnMs - SAMPLE_MS` late.
 */
class Turns {
  now = 0;
  constructor(readonly limit: CapacityLimit) {}

  run(turns: number, turn: { turnMs: number; served: number; accept: (index: number) => boolean; close?: (index: number) => number }): void {
    for (let i = 0; i < turns; i++) {
      if (turn.accept(i)) this.limit.accepted();
      for (let closed = turn.close?.(i) ?? 0; closed > 0; closed--) this.limit.closed();
      for (let j = 0; j < turn.served; j++) {
        this.limit.complete();
        if (this.limit.hasCapacity(this.now)) this.limit.take();
        else this.limit.refuse();
      }
      this.now += turn.turnMs;
      this.limit.observe(turn.turnMs - SAMPLE_MS, this.now);
    }
  }

  /** The requests the clients already have in flight here (read on the connections accepted so far, the loop on time). */
  hold(requests: number): void {
    for (let i = 0; i < requests; i++) this.limit.take();
    this.now += WINDOW_MS;
    this.limit.observe(0, this.now);
  }
}

/** Turns of 120 ms, 60 requests served in each (500 a second): a process saturated by costly requests. */
const SATURATED = { turnMs: 120, served: 60 };

describe('capacity limit: a backlog in the listen queue (one connection accepted per loop turn)', () => {
  it(`a connection accepted in every turn and kept open, few in flight, as many arriving as completing: the limit is set after ${ONSET_ACCEPTS} turns, at the completion rate`, () => {
    const limit = new CapacityLimit(settings, 0);
    const turns = new Turns(limit);
    turns.hold(60);
    turns.run(ONSET_ACCEPTS - 1, { ...SATURATED, accept: () => true });
    // Late and busy for 360 ms, arrivals equal to completions, 60 in flight: neither growth nor many held.
    expect(limit.inFlight).toBe(60);
    expect(limit.rate).toBe(Infinity);
    turns.run(1, { ...SATURATED, accept: () => true });
    expect(limit.onset).toBe('listen_queue');
    expect(limit.rate).toBeCloseTo(500, 0);
    // Refusals from the next turn on: the bucket starts empty and refills at the rate (60 a 120 ms turn).
    turns.run(10, { ...SATURATED, accept: () => true });
    expect(limit.refusedTotal).toBeGreaterThan(0);
  });

  it('a client without keep-alive (each closed connection replaced by a new one), a few requests outstanding: no limit, however long', () => {
    const limit = new CapacityLimit(settings, 0);
    const turns = new Turns(limit);
    turns.hold(8);
    turns.run(200, { turnMs: 120, served: 8, accept: () => true, close: () => 1 });
    expect(limit.refusedTotal).toBe(0);
    expect(limit.rate).toBe(Infinity);
  });

  it('a client replacing its whole pool (hundreds closed in one turn, as many opened, waiting): the limit is set from the window after', () => {
    const limit = new CapacityLimit(settings, 0);
    const turns = new Turns(limit);
    turns.hold(60);
    turns.run(2, { ...SATURATED, accept: () => true });
    // The old pool's 500 connections close in one turn while the new pool's wait to be accepted.
    turns.run(1, { ...SATURATED, accept: () => true, close: () => 500 });
    turns.run(ONSET_ACCEPTS - 1, { ...SATURATED, accept: () => true });
    expect(limit.rate).toBe(Infinity);
    turns.run(1, { ...SATURATED, accept: () => true });
    expect(limit.onset).toBe('listen_queue');
  });

  it('connections accepted in only some turns (the listen queue empties between them): no limit', () => {
    const limit = new CapacityLimit(settings, 0);
    const turns = new Turns(limit);
    turns.hold(60);
    turns.run(200, { ...SATURATED, accept: (i) => i % 2 === 0 });
    turns.run(200, { ...SATURATED, accept: (i) => i % 3 === 0 });
    expect(limit.refusedTotal).toBe(0);
    expect(limit.rate).toBe(Infinity);
  });

  it('a connection in every turn while the loop is on time, or late while it waits for work: no limit', () => {
    let utilization = 1;
    const limit = new CapacityLimit(settings, 0, () => utilization);
    const turns = new Turns(limit);
    turns.hold(60);
    // Turns of 15 ms: 5 ms late, under the target.
    turns.run(400, { turnMs: 15, served: 8, accept: () => true });
    expect(limit.rate).toBe(Infinity);
    // Late, but the loop had idle time: other processes take the CPU.
    utilization = 0.6;
    turns.run(100, { ...SATURATED, accept: () => true });
    expect(limit.rate).toBe(Infinity);
    expect(limit.refusedTotal).toBe(0);
  });

  it('turned off and on again: what was counted while it was off (its sampler stopped) sets nothing', () => {
    const limit = new CapacityLimit(settings, 0);
    limit.configure({ targetDelayMs: 0, minRate: 10 });
    // Off for 10 s: 500 connections accepted, 50,000 requests taken and completed, no window closed.
    for (let i = 0; i < 500; i++) limit.accepted();
    for (let i = 0; i < 50_000; i++) {
      limit.take();
      limit.complete();
    }
    limit.configure(settings);
    limit.restart(10_000);
    const turns = new Turns(limit);
    turns.now = 10_000;
    // Saturated again, but the listen queue empties between accepts and few requests are in flight.
    turns.run(50, { ...SATURATED, accept: (i) => i % 2 === 0 });
    expect(limit.rate).toBe(Infinity);
    expect(limit.refusedTotal).toBe(0);
  });

  it('the loop sampler starts the window afresh each time it starts, not when it is already running', () => {
    const limit = new CapacityLimit(settings, 0);
    const restart = vi.spyOn(limit, 'restart');
    const sampler = new LoopDelaySampler(limit);
    try {
      const before = performance.now();
      sampler.start();
      expect(restart).toHaveBeenCalledTimes(1);
      expect(restart.mock.calls[0][0]).toBeGreaterThanOrEqual(before);
      sampler.start();
      expect(restart).toHaveBeenCalledTimes(1);
      sampler.stop();
      sampler.start();
      expect(restart).toHaveBeenCalledTimes(2);
    } finally {
      sampler.stop();
    }
  });

  it('a pause (one long turn) while connections are accepted: no limit', () => {
    const limit = new CapacityLimit(settings, 0);
    const turns = new Turns(limit);
    turns.hold(60);
    for (let i = 0; i < 10; i++) {
      turns.run(1, { turnMs: 400, served: 60, accept: () => true });
      turns.run(20, { turnMs: 12, served: 6, accept: () => i % 3 === 0 });
    }
    expect(limit.rate).toBe(Infinity);
  });
});

describe('capacity limit: the rate', () => {
  it('under twice what the process serves, admits most of what it serves with the loop near the setpoint', () => {
    const limit = new CapacityLimit(settings, 0);
    const sim = new Simulation(limit);
    overloaded(sim, { ...OVERLOAD, lateMs: 'backlog' });
    sim.run(1000, { ...OVERLOAD, lateMs: 'backlog' }); // the backlog of the onset worked off
    const before = sim.samples;
    const lateBefore = sim.lateSum;
    const steady = sim.run(5000, { ...OVERLOAD, lateMs: 'backlog' });
    expect(steady.admitted + steady.refused).toBe(20_000);
    // Most of what it serves (2,000 a second) is admitted; the loop's mean delay stays under the target.
    expect(steady.admitted).toBeGreaterThan(0.85 * 2000 * 5);
    expect(steady.admitted).toBeLessThan(1.05 * 2000 * 5);
    expect((sim.lateSum - lateBefore) / (sim.samples - before)).toBeLessThan(settings.targetDelayMs * SETPOINT_SHARE * 1.5);
    expect(sim.backlog).toBeLessThan(100);
  });

  it('late: down by 10% a window, or to what the window completed (at most 30% at once), never below a quarter of what it served', () => {
    const limit = new CapacityLimit(settings, 0);
    const sim = new Simulation(limit);
    overloaded(sim);
    const start = limit.rate;
    sim.run(WINDOW_MS, OVERLOAD); // above twice the target, completing 2000/s
    expect(limit.rate).toBeCloseTo(start * STEEP_DECREASE, 6);
    let last = limit.rate;
    sim.run(WINDOW_MS, { ...OVERLOAD, serveRate: 200 }); // a window that completed 200/s: 30% down at most
    expect(limit.rate).toBeCloseTo(last * MAX_CUT, 6);
    last = limit.rate;
    sim.run(WINDOW_MS, { ...OVERLOAD, lateMs: 8 }); // the delay falling fast: held
    expect(limit.rate).toBe(last);
    sim.run(WINDOW_MS, { ...OVERLOAD, lateMs: 8 }); // above the setpoint, under the target: 10% down
    expect(limit.rate).toBeCloseTo(last * DECREASE, 6);
    // Late for 20 s however little is admitted (refusals alone keep it late): it stops at its floor.
    sim.run(20_000, { ...OVERLOAD, lateMs: 50 });
    expect(limit.servedRate).toBe(start);
    expect(limit.rate).toBeCloseTo(FLOOR_SHARE * start, 6);
  });

  it('holds while the delay falls fast (the backlog drains at this rate)', () => {
    const limit = new CapacityLimit(settings, 0);
    const sim = new Simulation(limit);
    overloaded(sim);
    const start = limit.rate;
    for (const lateMs of [20, 14, 10, 7]) sim.run(WINDOW_MS, { ...OVERLOAD, lateMs });
    expect(limit.rate).toBe(start);
  });

  it('rises while the loop is at or under the setpoint and the limit refuses, faster with idle time', () => {
    let utilization = 1;
    const limit = new CapacityLimit(settings, 0, () => utilization);
    const sim = new Simulation(limit);
    overloaded(sim);
    const low = limit.rate;
    const onTime = { arrivalRate: 10_000, serveRate: 10_000, lateMs: settings.targetDelayMs * SETPOINT_SHARE };
    expect(sim.run(WINDOW_MS * 5, onTime).refused).toBeGreaterThan(0);
    expect(limit.rate).toBeGreaterThan(low * INCREASE ** 5);
    expect(limit.rate).toBeLessThan(low * INCREASE ** 5 + 10);
    // Well on time, busy: 10% a window.
    let before = limit.rate;
    sim.run(WINDOW_MS * 2, { ...onTime, lateMs: 1 });
    expect(limit.rate).toBeGreaterThan(before * FAST_INCREASE ** 2);
    expect(limit.rate).toBeLessThan(before * FAST_INCREASE ** 2 + 10);
    // With idle time in the loop (the limit, not the process, holds what it serves): 25% a window.
    utilization = 0.5;
    before = limit.rate;
    expect(sim.run(WINDOW_MS * 2, { ...onTime, lateMs: 1 }).refused).toBeGreaterThan(0);
    expect(limit.rate).toBeGreaterThan(before * IDLE_INCREASE ** 2);
    expect(limit.rate).toBeLessThan(before * IDLE_INCREASE ** 2 + 10);
  });

  it('recovers as soon as the load drops: lifted after a second without a refusal, late or not', () => {
    let utilization = 1;
    const limit = new CapacityLimit(settings, 0, () => utilization);
    const sim = new Simulation(limit);
    overloaded(sim);
    sim.run(500, OVERLOAD);
    expect(limit.rate).toBeLessThan(Infinity);
    // Less than the limit's floor arrives (the loop still late from the neighbours, with idle time): after the bucket's first token, nothing is refused, and the limit goes.
    utilization = 0.5;
    expect(limit.rate).toBeGreaterThanOrEqual(FLOOR_SHARE * 2000);
    const low = { arrivalRate: 300, serveRate: 2000, lateMs: 30 };
    sim.run(WINDOW_MS, low);
    expect(limit.rate).toBeLessThan(Infinity);
    expect(sim.run(CALM_WINDOWS * WINDOW_MS, low).refused).toBe(0);
    expect(limit.rate).toBe(Infinity);
    expect(sim.run(1000, { arrivalRate: 5000, serveRate: 5000, lateMs: 1 }).refused).toBe(0);
  });

  it(`a load near the limit, none refused, the loop busy near the setpoint, keeps it (over ${LIFT_SHARE * 100}% of it arriving); a load well under it lifts it`, () => {
    const limit = new CapacityLimit(settings, 0);
    const sim = new Simulation(limit);
    overloaded(sim);
    const rate = limit.rate;
    // 90% of the limit, the loop busy and at the setpoint (no room to spare): after the bucket's first tokens, nothing refused for 3 s, and the limit stays.
    const near = { arrivalRate: 0.9 * rate, serveRate: 2 * rate, lateMs: settings.targetDelayMs * SETPOINT_SHARE };
    sim.run(WINDOW_MS, near);
    const kept = limit.rate;
    expect(sim.run(3000, near).refused).toBe(0);
    expect(limit.rate).toBe(kept);
    // 70% of it: lifted after CALM_WINDOWS.
    sim.run(CALM_WINDOWS * WINDOW_MS, { arrivalRate: 0.7 * rate, serveRate: 2 * rate, lateMs: 1 });
    expect(limit.rate).toBe(Infinity);
  });

  it('a load near the limit with room to spare (the loop well on time, or idle time; a limit set while the code was cold): raised 10% a window, then lifted', () => {
    for (const room of ['on time', 'idle'] as const) {
      let utilization = 1;
      const limit = new CapacityLimit(settings, 0, () => utilization);
      const sim = new Simulation(limit);
      overloaded(sim);
      const rate = limit.rate;
      // The process now serves three times the limit; the load stays at 95% of it.
      if (room === 'idle') utilization = 0.6;
      const near = { arrivalRate: 0.95 * rate, serveRate: 3 * rate, lateMs: room === 'on time' ? 1 : settings.targetDelayMs * SETPOINT_SHARE };
      sim.run(WINDOW_MS, near);
      const first = limit.rate;
      sim.run(WINDOW_MS, near);
      expect(limit.rate).toBeCloseTo(first * (room === 'idle' ? IDLE_INCREASE : FAST_INCREASE) + 1, 6);
      // Nothing refused after the first window, and lifted within two seconds.
      expect(sim.run(2000, near).refused).toBe(0);
      expect(limit.rate).toBe(Infinity);
    }
  });

  it('a load near the limit with the loop busy between half the setpoint and the setpoint, none refused: not raised', () => {
    const limit = new CapacityLimit(settings, 0);
    const sim = new Simulation(limit);
    overloaded(sim);
    const near = { arrivalRate: 0.9 * limit.rate, serveRate: 2 * limit.rate, lateMs: settings.targetDelayMs * SETPOINT_SHARE * 0.75 };
    sim.run(WINDOW_MS, near);
    const kept = limit.rate;
    sim.run(1000, near);
    expect(limit.rate).toBe(kept);
  });

  it('a burst is admitted up to 25 ms of the rate, then at the rate', () => {
    const limit = new CapacityLimit(settings, 0);
    const sim = new Simulation(limit);
    overloaded(sim);
    const rate = limit.rate;
    const now = sim.now + 1000;
    let admitted = 0;
    for (let i = 0; i < 500; i++) {
      if (limit.hasCapacity(now)) {
        limit.take();
        admitted++;
      }
    }
    expect(admitted).toBe(Math.floor(rate * 0.025));
    expect(limit.hasCapacity(now + 1000 / rate)).toBe(true);
  });

  it('never below the minimum rate', () => {
    const limit = new CapacityLimit({ targetDelayMs: 10, minRate: 50 }, 0);
    const sim = new Simulation(limit);
    sim.run(1000, { arrivalRate: 60, serveRate: 60, lateMs: 0 });
    for (let i = 0; i < 20 && limit.rate === Infinity; i++) sim.run(WINDOW_MS, { arrivalRate: 200, serveRate: 60, lateMs: 50 });
    expect(limit.rate).toBeGreaterThan(50);
    sim.run(5000, { arrivalRate: 200, serveRate: 60, lateMs: 50 });
    expect(limit.rate).toBe(50);
  });

  it('off (target 0): never limits, and turning it off lifts a limit at once', () => {
    const off = new Simulation(new CapacityLimit({ targetDelayMs: 0, minRate: 10 }, 0));
    expect(off.run(2000, { arrivalRate: 5000, serveRate: 100, lateMs: 500 }).refused).toBe(0);
    const limit = new CapacityLimit(settings, 0);
    const sim = new Simulation(limit);
    overloaded(sim);
    expect(limit.rate).toBeLessThan(Infinity);
    limit.configure({ targetDelayMs: 0, minRate: 10 });
    expect(limit.rate).toBe(Infinity);
    limit.configure(settings);
    expect(limit.hasCapacity(sim.now)).toBe(true);
  });
});

describe('capacity limit: a container CPU limit under one core', () => {
  /** A cgroup tree (files relative to the root) and the process's /proc/self/cgroup text. */
  function cgroups(self: string, files: Record<string, string>): number | undefined {
    const dir = mkdtempSync(join(tmpdir(), 'heimdall-cgroup-'));
    try {
      for (const [file, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, 'fs', file)), { recursive: true });
        writeFileSync(join(dir, 'fs', file), text);
      }
      writeFileSync(join(dir, 'self'), self);
      return cpuLimitCores(join(dir, 'fs'), join(dir, 'self'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('cgroup v2: the lowest cpu.max along the path; none, or "max": no limit', () => {
    const self = '0::/kubepods/pod1/app\n';
    expect(cgroups(self, { 'cpu.max': 'max 100000\n', 'kubepods/pod1/cpu.max': '50000 100000\n', 'kubepods/pod1/app/cpu.max': 'max 100000\n' })).toBe(0.5);
    expect(cgroups(self, { 'kubepods/cpu.max': '25000 100000\n', 'kubepods/pod1/cpu.max': '150000 100000\n' })).toBe(0.25);
    expect(cgroups(self, { 'kubepods/pod1/app/cpu.max': 'max 100000\n' })).toBeUndefined();
    expect(cgroups('0::/\n', {})).toBeUndefined();
    // In a container with its own cgroup namespace the path is "/" and the limit is at the root.
    expect(cgroups('0::/\n', { 'cpu.max': '200000 100000\n' })).toBe(2);
  });

  it('cgroup v1: cfs_quota_us over cfs_period_us in the cpu hierarchy (-1: no limit), at the path or a parent', () => {
    expect(cgroups('4:cpu,cpuacct:/docker/abc\n2:memory:/docker/abc\n', { 'cpu,cpuacct/cpu.cfs_quota_us': '30000\n', 'cpu,cpuacct/cpu.cfs_period_us': '100000\n' })).toBe(0.3);
    expect(cgroups('1:cpu:/\n', { 'cpu/cpu.cfs_quota_us': '-1\n', 'cpu/cpu.cfs_period_us': '100000\n' })).toBeUndefined();
    expect(cgroups('1:cpu:/a/b\n', { 'cpu/a/b/cpu.cfs_quota_us': '-1\n', 'cpu/a/b/cpu.cfs_period_us': '100000\n', 'cpu/a/cpu.cfs_quota_us': '75000\n', 'cpu/a/cpu.cfs_period_us': '100000\n' })).toBe(0.75);
  });

  it('no /proc/self/cgroup (not Linux): no limit', () => {
    expect(cpuLimitCores('/nonexistent', '/nonexistent/cgroup')).toBeUndefined();
  });

  it('the CPU share is of what the process may use: doubled under a half-core limit, unchanged at one core or more', () => {
    const half = processCpuShare(0.5);
    const whole = processCpuShare(undefined);
    const two = processCpuShare(2);
    const until = performance.now() + 30;
    while (performance.now() < until);
    const [h, w, t] = [half(), whole(), two()];
    expect(w).toBeGreaterThan(0.3);
    expect(h / w).toBeGreaterThan(1.8);
    expect(h / w).toBeLessThan(2.2);
    expect(t / w).toBeGreaterThan(0.9);
    expect(t / w).toBeLessThan(1.1);
  });
});
