/**
 * Capacity-based admission: while this process is overloaded, the rate of new
 * client requests it admits is steered so that its event loop runs on time
 * (an AIMD controller on the loop's measured delay, feeding a token bucket),
 * and the rest are refused at once.
 *
 * Overloaded means more arrives than the process serves, for long enough that
 * it is not a pause. The evidence, over 100 ms windows:
 * - the event loop runs late: the mean lateness of a 10 ms timer is above the
 *   target (`limits.capacity_target_delay_ms`), the loop had work for at
 *   least 90% of the window, and the process ran on a CPU for at least half
 *   of it (of what a container's CPU limit under one core allows). When the
 *   CPU is what runs out, requests wait in the kernel's socket buffers
 *   before the process reads them, where no count of requests
 *   in flight sees them; the loop runs late by about as long as a new request
 *   waits to be read. A loop that waits for work yet wakes up late, or one
 *   with work that the machine's other processes keep off the CPU (the loop
 *   counts as having work while it waits for a core), is short of CPU
 *   because of others, not of its own load: refusing its clients would not
 *   give it the CPU back.
 * - and requests pile up: over a run of such windows, none draining (as
 *   many arrived, admitted or refused, as completed, within 10%), either
 *   arrivals exceed completions by at least 32 requests and a quarter of the
 *   completions (an open-loop overload: the backlog grows), or at least
 *   `ONSET_HELD` requests are in flight, as many as the process completes in
 *   `ONSET_HELD_MS` (clients with many connections each, every one busy: the
 *   backlog is in their queues, not here, and stays as large as the
 *   connections), or the listen queue never emptied: a connection accepted
 *   in every loop turn (at least `ONSET_ACCEPTS`) since the run's last
 *   window that closed a quarter as many as it accepted or more (the
 *   connections kept open). libuv accepts one connection per loop turn, so
 *   a saturated process with turns of 100 ms takes ten new connections a
 *   second: clients that open hundreds at once (a keep-alive
 *   pool, each connection opened because the others are busy) wait with their
 *   first request in the kernel's accept queue, unread and uncounted, for
 *   seconds, while the few connections accepted keep the in-flight count low
 *   and arrivals equal to completions. One accept in every turn says that
 *   queue is not empty; connections kept open say the clients are adding
 *   work, not replacing a closed connection with the next (a client without
 *   keep-alive with a few requests outstanding). A burst being worked off, a
 *   garbage-collection pause or a neighbour's stall make the loop late while
 *   fewer requests arrive than complete; a client that sends its next request
 *   when the last one is answered grows the backlog by no more than it has
 *   outstanding; requests held by a slow upstream do not make the loop late.
 * The limit is set once such a run has lasted 300 ms (and two windows), and
 * never while fewer than the minimum rate arrive or complete (requests held
 * by a slow provider complete none, however late the loop is for other
 * reasons). A run that keeps the loop late after the backlog stopped growing
 * (the clients out of connections) still counts its growth.
 *
 * Once set, the limit starts at the completion rate measured over those
 * windows and is steered each window to keep the loop's delay at the
 * setpoint, half the target (a loop turn of about 15 ms: an admitted short
 * call, two or three turns, keeps a latency of tens of ms):
 * - above the setpoint with the loop busy: down by 10% (20% above twice the target), or to the
 *   rate the window completed if that is less (what the saturated process
 *   serves now; at most 30% down at once), unless the delay fell by a quarter
 *   since the last window (the backlog drains at this rate); never below a
 *   quarter of the completion rate measured when the limit was set (nor the
 *   minimum rate): refusals cost CPU too, and on a machine short of CPU the
 *   loop can stay late while it mostly refuses; the limit must not chase
 *   that down to nothing;
 * - at or under the setpoint and refusing: up by 3% (+1), by 10% under half
 *   the setpoint or while kept off the CPU, by 25% while the loop had idle
 *   time (late with idle time is other processes' doing, and never lowers
 *   the limit; with idle time the limit, not the process, holds what it
 *   serves);
 * - refusing nothing with room to spare (under half the setpoint, or idle
 *   time): up by 10% (+1), 25% with idle time. The process serves more than
 *   the limit now: the limit was set while its code was cold, or by a
 *   moment's stall;
 * - no refusal for `CALM_WINDOWS` and fewer than 80% of the limit arriving
 *   over them (the load fell well under it): no limit. A load near the limit
 *   with the loop busy near the setpoint keeps it, ready for the next rise,
 *   which would otherwise cost another onset's backlog.
 * Requests over the limit are refused at once (503, Retry-After), before their
 * body is read, with a response rendered once per limit value
 * (src/api/admission-gate.ts).
 *
 * Memory is fixed (a token bucket and a few counters); `hasCapacity()`,
 * `take()`, `refuse()`, `complete()`, `accepted()` and `closed()` allocate
 * nothing. Time is passed in, so the controller is tested without a clock;
 * `LoopDelaySampler` feeds it in the process.
 */

import { readFileSync } from 'node:fs';

export interface CapacitySettings {
  /** The mean event-loop delay (ms) over which a window is late; 0: off (no limit ever). */
  targetDelayMs: number;
  /** The limit never goes below this many requests a second, and is never set while fewer arrive. */
  minRate: number;
}

/** One control step. */
export const WINDOW_MS = 100;
/** The sampling timer's period. */
export const SAMPLE_MS = 10;
/** Time (ms) in late windows in a row, none draining, before the limit is set. */
export const ONSET_MS = 300;
/**
 * Requests the backlog must have grown by over that run (arrivals less completions), and its least
 * share of the completions: a client with a few dozen requests outstanding that sends the next one as
 * the last is answered never grows it by more than it has outstanding.
 */
export const ONSET_GROWTH = 32;
export const ONSET_GROWTH_SHARE = 0.25;
/**
 * Or the requests in flight at the end of that run: at least this many, and at least what the process
 * completes in ONSET_HELD_MS (by Little's law, the mean admitted request has spent that long in the
 * process). Clients whose connections are all busy send as many as are answered: their backlog waits
 * in their own queues and never grows here, but every connection holds a request.
 */
export const ONSET_HELD = 128;
export const ONSET_HELD_MS = 50;
/**
 * Or, over that run since its last window that closed at least ONSET_CLOSE_SHARE as many connections
 * as it accepted, a connection accepted in every loop turn (as many accepts as the sampler's runs, one
 * less for the edges: while the loop is late the sampler runs once a turn, and libuv accepts one
 * connection a turn while its listen queue holds more), at least this many: the listen queue never
 * emptied and the clients keep what they opened. A client without keep-alive closes about as many as
 * it opens in every window; a client replacing its whole pool (hundreds closed in one turn, as many
 * opened) counts from the window after.
 */
export const ONSET_ACCEPTS = 4;
export const ONSET_CLOSE_SHARE = 0.25;
/**
 * The run must span at least this many windows: while the loop is saturated a window lasts one
 * loop turn, which can be longer than ONSET_MS, and one turn is not a trend.
 */
const MIN_RUN_WINDOWS = 2;
/** Windows without a refusal before the limit is lifted, if fewer than LIFT_SHARE of the limit arrived over them. */
export const CALM_WINDOWS = 10;
export const LIFT_SHARE = 0.8;
/** The share of a window the loop had work in, above which its lateness is its own load. */
export const BUSY_UTILIZATION = 0.9;
/**
 * And the least share of the window the process spent on a CPU (all its threads): a loop with work
 * that waits for a core, on a machine whose other processes take it, is not overloaded by its clients.
 */
export const BUSY_CPU_SHARE = 0.5;
/** Once set, the limit steers the loop's delay to this share of the target. */
export const SETPOINT_SHARE = 0.5;
/** The limit never falls below this share of the completion rate measured when it was set. */
export const FLOOR_SHARE = 0.25;
/** Per window above the setpoint; above twice the target. */
export const DECREASE = 0.9;
export const STEEP_DECREASE = 0.8;
/** The most one window cuts: to this share of the rate. */
export const MAX_CUT = 0.7;
/**
 * Per window at or under the setpoint while refusing; under half the setpoint, or kept off the CPU; with
 * idle time in the loop (the limit, not the process, holds what it serves).
 */
export const INCREASE = 1.03;
export const FAST_INCREASE = 1.1;
export const IDLE_INCREASE = 1.25;
/** The bucket holds this long's worth of the rate: a loop turn's arrivals, not a burst. */
const BUCKET_MS = 25;

/** The share of the time since its last call that the event loop had work (not waiting for I/O). */
export type Utilization = () => number;
/** The process's CPU time since its last call over the time passed (1: a whole core's worth). */
export type CpuShare = () => number;

export class CapacityLimit {
  /** Requests a second admitted now; Infinity: no limit. */
  rate = Infinity;
  /** The last window's mean event-loop delay, ms. */
  delayMs = 0;
  /** The last window's event-loop utilization (0-1). */
  utilization = 0;
  /** The last window's CPU time over its length (all threads; 1: a whole core). */
  cpuShare = 0;
  /** The completion rate measured over the late windows that set the limit (0 without a limit). */
  servedRate = 0;
  /** Requests refused by the limit since the start. */
  refusedTotal = 0;
  /** Admitted requests not completed yet. */
  inFlight = 0;
  /** The sign of a backlog that set the limit (the log line names it); undefined without a limit. */
  onset: 'growing' | 'held' | 'listen_queue' | undefined = undefined;

  private tokens = 0;
  private refilledAt = 0;
  private windowStart: number;
  private lateSum = 0;
  private lateCount = 0;
  // This window's counts.
  private completed = 0;
  private arrived = 0;
  private refused = 0;
  private accepts = 0;
  private closes = 0;
  // The current run of late windows.
  private runWindows = 0;
  private runMs = 0;
  private runArrived = 0;
  private runCompleted = 0;
  // Its windows since the last that closed connections (the listen-queue sign).
  private queueSamples = 0;
  private queueAccepts = 0;
  private previousDelay = 0;
  // The current run of windows without a refusal.
  private calm = 0;
  private calmArrived = 0;
  private calmMs = 0;

  constructor(
    public settings: CapacitySettings,
    now: number,
    private readonly loopUtilization: Utilization = () => 1,
    private readonly processCpuShare: CpuShare = () => 1,
  ) {
    this.windowStart = now;
  }

  get enabled(): boolean {
    return this.settings.targetDelayMs > 0;
  }

  configure(settings: CapacitySettings): void {
    this.settings = settings;
    if (!this.enabled) this.lift();
    else if (Number.isFinite(this.rate)) this.rate = Math.max(this.rate, settings.minRate);
  }

  /** True while a new request may enter (the bucket has a token, or there is no limit). Takes nothing. */
  hasCapacity(now: number): boolean {
    if (this.rate === Infinity) return true;
    this.refill(now);
    return this.tokens >= 1;
  }

  /** An admitted request takes its token (the bucket may go into debt for a request that waited in the queue). */
  take(): void {
    this.arrived++;
    this.inFlight++;
    if (this.rate !== Infinity) this.tokens -= 1;
  }

  /** A request refused by the limit (it arrived too). */
  refuse(): void {
    this.arrived++;
    this.refused++;
    this.refusedTotal++;
  }

  /** An admitted request finished (its last byte, or its client gone). */
  complete(): void {
    this.completed++;
    if (this.inFlight > 0) this.inFlight--;
  }

  /** The server accepted a client connection (its 'connection' event). */
  accepted(): void {
    this.accepts++;
  }

  /** A client connection closed. */
  closed(): void {
    this.closes++;
  }

  /**
   * Starts a new window at `now` with nothing counted: the sampler was stopped (the limit off), and what
   * arrived, completed, was accepted or closed meanwhile, and the time since the last window, are not
   * this window's.
   */
  restart(now: number): void {
    // Both measures count from their last call: start them afresh too.
    this.loopUtilization();
    this.processCpuShare();
    this.startWindow(now);
    this.endRun();
    this.previousDelay = 0;
  }

  /** One sample of the loop's lateness; closes the window when it is over. */
  observe(lateMs: number, now: number): void {
    this.lateSum += lateMs;
    this.lateCount++;
    if (now - this.windowStart >= WINDOW_MS) this.closeWindow(now);
  }

  private refill(now: number): void {
    const burst = Math.max(1, (this.rate * BUCKET_MS) / 1000);
    this.tokens = Math.min(burst, this.tokens + ((now - this.refilledAt) * this.rate) / 1000);
    this.refilledAt = now;
  }

  private closeWindow(now: number): void {
    const elapsed = now - this.windowStart;
    const delay = this.lateCount > 0 ? this.lateSum / this.lateCount : 0;
    this.delayMs = delay;
    this.utilization = this.loopUtilization();
    this.cpuShare = this.processCpuShare();
    if (this.enabled) this.step(now, elapsed, delay);
    this.previousDelay = delay;
    this.startWindow(now);
  }

  /** A new window from `now`, nothing counted in it yet. */
  private startWindow(now: number): void {
    this.windowStart = now;
    this.lateSum = 0;
    this.lateCount = 0;
    this.completed = 0;
    this.arrived = 0;
    this.refused = 0;
    this.accepts = 0;
    this.closes = 0;
  }

  /** No run of windows without a refusal (a refusal broke it, or it was judged). */
  private endCalm(): void {
    this.calm = 0;
    this.calmArrived = 0;
    this.calmMs = 0;
  }

  /** No run of late windows (none yet, or the last window broke it). */
  private endRun(): void {
    this.runWindows = 0;
    this.runMs = 0;
    this.runArrived = 0;
    this.runCompleted = 0;
    this.queueSamples = 0;
    this.queueAccepts = 0;
  }

  private step(now: number, elapsed: number, delay: number): void {
    const { targetDelayMs, minRate } = this.settings;
    const busy = this.utilization >= BUSY_UTILIZATION && this.cpuShare >= BUSY_CPU_SHARE;
    const late = delay > targetDelayMs && busy;
    // A run of late windows that do not drain (as many arrived as completed, within 10%).
    if (late && this.arrived >= this.completed * 0.9) {
      this.runWindows++;
      this.runMs += elapsed;
      this.runArrived += this.arrived;
      this.runCompleted += this.completed;
      if (this.closes > 0 && this.closes >= this.accepts * ONSET_CLOSE_SHARE) {
        this.queueSamples = 0;
        this.queueAccepts = 0;
      } else {
        this.queueSamples += this.lateCount;
        this.queueAccepts += this.accepts;
      }
    } else this.endRun();
    if (this.rate === Infinity) {
      if (late) this.setOnEvidence(now, minRate);
      return;
    }
    if (this.refused > 0) {
      this.endCalm();
    } else {
      this.calm++;
      this.calmArrived += this.arrived;
      this.calmMs += elapsed;
      if (this.calm >= CALM_WINDOWS) {
        // Lifted once the load is well under the limit; near it, the limit stays to catch the next rise.
        if ((this.calmArrived * 1000) / this.calmMs <= this.rate * LIFT_SHARE) {
          this.lift();
          return;
        }
        this.endCalm();
      }
    }
    const setpoint = targetDelayMs * SETPOINT_SHARE;
    if (delay > setpoint && busy) {
      // A delay falling fast: the backlog drains at this rate; let it.
      if (delay < this.previousDelay * 0.75) return;
      const floor = Math.max(minRate, this.servedRate * FLOOR_SHARE);
      const factor = delay > 2 * targetDelayMs ? STEEP_DECREASE : DECREASE;
      // Down by the factor, or to what this saturated window completed if that is less (by at most MAX_CUT).
      const served = (this.completed * 1000) / elapsed;
      const next = Math.max(this.rate * MAX_CUT, Math.min(this.rate * factor, served));
      if (this.rate > floor) this.rate = Math.max(floor, next);
    } else if (this.refused > 0) {
      // Late with idle time, or kept off the CPU, is other processes' doing: refusing more would not help.
      this.rate = this.rate * this.increase(busy, delay < setpoint / 2) + 1;
    } else if (!busy || delay < setpoint / 2) {
      // Nothing refused and room to spare (idle time, or the loop well on time): the process serves more
      // than the limit now (a limit set while its code was still cold, or by a moment's stall), and a
      // load just under the limit would keep it, refusing its bursts. Raised until the load is well
      // under it, then lifted.
      this.rate = this.rate * this.increase(busy, delay < setpoint / 2) + 1;
    }
  }

  /**
   * The factor a window raises the limit by: fastest while the loop had idle time (the limit holds back a
   * process with room), fast while it was well on time or kept off the CPU, else slowly.
   */
  private increase(busy: boolean, onTime: boolean): number {
    if (this.utilization < BUSY_UTILIZATION) return IDLE_INCREASE;
    return !busy || onTime ? FAST_INCREASE : INCREASE;
  }

  /**
   * Sets the limit when the run of late windows is evidence of overload, not of a pause (see the
   * file's comment), at the completion rate over that run. At least the minimum rate arrived and
   * completed: a process whose requests wait for a provider completes none of them however many
   * arrive, and its late loop is not their doing.
   */
  private setOnEvidence(now: number, minRate: number): void {
    if (this.runWindows < MIN_RUN_WINDOWS || this.runMs < ONSET_MS) return;
    const completedRate = (this.runCompleted * 1000) / this.runMs;
    if ((this.runArrived * 1000) / this.runMs < minRate || completedRate < minRate) return;
    const growth = this.runArrived - this.runCompleted;
    const grows = growth >= Math.max(ONSET_GROWTH, this.runCompleted * ONSET_GROWTH_SHARE);
    const held = this.inFlight >= Math.max(ONSET_HELD, (completedRate * ONSET_HELD_MS) / 1000);
    const queued = this.queueAccepts >= Math.max(ONSET_ACCEPTS, this.queueSamples - 1);
    if (grows || held || queued) this.set(now, completedRate, grows ? 'growing' : held ? 'held' : 'listen_queue');
  }

  private set(now: number, measured: number, onset: CapacityLimit['onset']): void {
    this.onset = onset;
    this.rate = Math.max(this.settings.minRate, measured);
    this.servedRate = measured;
    // The bucket starts empty: what is in flight already is the next turns' work.
    this.tokens = 0;
    this.refilledAt = now;
    this.endCalm();
  }

  private lift(): void {
    this.rate = Infinity;
    this.onset = undefined;
    this.endCalm();
    this.servedRate = 0;
  }
}

/** The event loop's utilization since the previous call (performance.eventLoopUtilization). */
export function eventLoopUtilization(): Utilization {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    return utilization;
  };
}

/**
 * The process's CPU time (user and system, all threads) over the wall time since the previous call, as
 * a share of what it may use: of one core, or of `cores` when a container's CPU limit caps it under one
 * (a process limited to half a core is saturated at half a core's time).
 */
export function processCpuShare(cores: number | undefined = cpuLimitCores()): CpuShare {
  const scale = cores !== undefined && cores > 0 && cores < 1 ? 1 / cores : 1;
  let last = process.cpuUsage();
  let lastAt = performance.now();
  return () => {
    const cpu = process.cpuUsage();
    const at = performance.now();
    const wallUs = (at - lastAt) * 1000;
    const share = wallUs > 0 ? ((cpu.user - last.user + cpu.system - last.system) / wallUs) * scale : 1;
    last = cpu;
    lastAt = at;
    return share;
  };
}

/**
 * The CPU the process's cgroups allow it, in cores (a container's CPU limit: the quota over the period,
 * the lowest of its cgroup and their parents'), or undefined without a limit. Reads cgroup v2's
 * `cpu.max` and v1's `cpu.cfs_quota_us` and `cpu.cfs_period_us` along the paths in `/proc/self/cgroup`.
 */
export function cpuLimitCores(root = '/sys/fs/cgroup', self = '/proc/self/cgroup'): number | undefined {
  let text: string;
  try {
    text = readFileSync(self, 'utf8');
  } catch {
    return undefined;
  }
  let cores = Infinity;
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (controllers === '') {
      cores = Math.min(cores, alongPath(path, (dir) => quotaV2(`${root}${dir}/cpu.max`)));
    } else if (controllers.split(',').includes('cpu')) {
      for (const mount of new Set([`${root}/cpu`, `${root}/${controllers}`])) {
        cores = Math.min(cores, alongPath(path, (dir) => quotaV1(`${mount}${dir}`)));
      }
    }
  }
  return Number.isFinite(cores) ? cores : undefined;
}

/** The lowest limit of a cgroup and its parents (their files, where present). */
function alongPath(path: string, limitAt: (dir: string) => number): number {
  let lowest = Infinity;
  let dir = path.startsWith('/') ? path.replace(/\/+$/, '') : '';
  for (;;) {
    lowest = Math.min(lowest, limitAt(dir));
    if (dir === '') return lowest;
    dir = dir.slice(0, dir.lastIndexOf('/'));
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** `cpu.max`: "<quota> <period>" in µs, or "max <period>" without a limit. */
function quotaV2(file: string): number {
  const [quota, period] = (readText(file) ?? '').split(' ');
  const cores = Number(quota) / Number(period);
  return quota !== 'max' && cores > 0 && Number.isFinite(cores) ? cores : Infinity;
}

/** `cpu.cfs_quota_us` (-1 without a limit) over `cpu.cfs_period_us`. */
function quotaV1(dir: string): number {
  const cores = Number(readText(`${dir}/cpu.cfs_quota_us`)) / Number(readText(`${dir}/cpu.cfs_period_us`));
  return cores > 0 && Number.isFinite(cores) ? cores : Infinity;
}

/**
 * A 10 ms timer that reports how late each of its runs is: while the loop is
 * busy, the timer runs once per loop turn, so its lateness is about a turn's
 * length less 10 ms, the wait a newly arrived request has before it is read.
 */
export class LoopDelaySampler {
  private timer: NodeJS.Timeout | undefined;
  private last = 0;

  constructor(
    private readonly limit: CapacityLimit,
    /** Called when the limit is set or lifted (not on each adjustment). */
    private readonly onChange: (limited: boolean) => void = () => undefined,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.last = performance.now();
    this.limit.restart(this.last);
    this.timer = setInterval(this.tick, SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private readonly tick = (): void => {
    const now = performance.now();
    const limited = this.limit.rate !== Infinity;
    this.limit.observe(Math.max(0, now - this.last - SAMPLE_MS), now);
    this.last = now;
    if (limited !== (this.limit.rate !== Infinity)) this.onChange(!limited);
  };
}
