/**
 * Gives memory back to the system when the process goes quiet after load.
 *
 * Under load V8 lets garbage pile up in the old generation until its next full collection and grows the
 * young generation to its maximum (16 MiB per semi-space). Once the traffic stops, nothing allocates, so
 * no collection runs and the heap keeps its peak size: a gateway that served a burst or an overload kept
 * 200+ MB of RSS for as long as it stayed quiet, of which about 30 MB was live (bench/README.md,
 * "RSS at rest, under load and after an overload").
 *
 * Every SAMPLE_MS this looks at the event loop's utilization over the sample and at the process's RSS. When
 * the loop was idle and the RSS has grown by GROWTH_BYTES since the last release (or since the start),
 * it runs a full collection, and one more at the next idle sample: the first frees the garbage (swept
 * concurrently), the second returns the emptied pages and shrinks the young generation. A collection
 * costs tens of milliseconds of a loop that was idle; nothing runs while requests keep it busy.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { eventLoopUtilization } from './gateway/capacity-limit.js';

/** How often the loop and the RSS are sampled. */
export const SAMPLE_MS = 5_000;
/** A sample whose event-loop utilization is at most this is idle (about 40 requests/s of this gateway). */
export const IDLE_UTILIZATION = 0.02;
/**
 * RSS growth since the last release that is worth a collection. RSS, not V8's heap size: once the old
 * generation stopped piling up per-request garbage, a load left the heap's size nearly unchanged while
 * the young generation's pages, touched under load, kept the RSS 40–50 MB above rest.
 */
export const GROWTH_BYTES = 16 * 1024 * 1024;

export interface MemorySample {
  /** The event loop's utilization over the sample, 0..1. */
  utilization: number;
  /** The process's resident memory (RSS), bytes. */
  memoryBytes: number;
}

/** What the release decides from one sample; `baselineBytes` is the RSS after the last release. */
export interface ReleaseState {
  baselineBytes: number;
  /** The first collection ran at the previous sample; the second is due at the next idle one. */
  secondDue: boolean;
}

/** Pure: whether to collect now, and the state after. Busy samples never collect. */
export function decideRelease(state: ReleaseState, sample: MemorySample): { collect: boolean; state: ReleaseState } {
  if (sample.utilization > IDLE_UTILIZATION) return { collect: false, state };
  if (state.secondDue) return { collect: true, state: { baselineBytes: state.baselineBytes, secondDue: false } };
  if (sample.memoryBytes - state.baselineBytes < GROWTH_BYTES) return { collect: false, state };
  return { collect: true, state: { baselineBytes: state.baselineBytes, secondDue: true } };
}

/**
 * V8's full collection: `globalThis.gc` when Node runs with --expose-gc, else the same function taken from
 * a fresh context with the flag set for that moment (V8 installs `gc` in contexts created while it is on).
 * Undefined where the runtime refuses.
 */
export function fullCollection(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as () => void;
  try {
    setFlagsFromString('--expose-gc');
    const collect: unknown = runInNewContext('gc');
    setFlagsFromString('--no-expose-gc');
    return typeof collect === 'function' ? (collect as () => void) : undefined;
  } catch {
    return undefined;
  }
}

export interface IdleMemoryReleaseOptions {
  sampleMs?: number;
  /** The loop's utilization since the previous call. Default: performance.eventLoopUtilization. */
  utilization?: () => number;
  /** Default: process.memoryUsage.rss(). */
  memoryBytes?: () => number;
  /** Default: fullCollection(), taken at the first release. */
  collect?: () => void;
  /** After each collection: the RSS before and after (bytes) and how long the collection took (ms). */
  onCollect?: (info: { memoryBefore: number; memoryAfter: number; ms: number }) => void;
}

/** Samples on an unref'd timer; `stop()` at shutdown. `collections` counts the full collections it ran. */
export class IdleMemoryRelease {
  collections = 0;
  #state: ReleaseState;
  readonly #utilization: () => number;
  readonly #memoryBytes: () => number;
  #collect: (() => void) | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #onCollect: IdleMemoryReleaseOptions['onCollect'];

  constructor(options: IdleMemoryReleaseOptions = {}) {
    this.#utilization = options.utilization ?? eventLoopUtilization();
    this.#memoryBytes = options.memoryBytes ?? (() => process.memoryUsage.rss());
    this.#collect = options.collect;
    this.#onCollect = options.onCollect;
    this.#state = { baselineBytes: this.#memoryBytes(), secondDue: false };
    this.#timer = setInterval(() => this.tick(), options.sampleMs ?? SAMPLE_MS);
    this.#timer.unref();
  }

  /** One sample (the timer's; tests call it directly). */
  tick(): void {
    const decision = decideRelease(this.#state, { utilization: this.#utilization(), memoryBytes: this.#memoryBytes() });
    this.#state = decision.state;
    if (!decision.collect) return;
    // Taken at the first release, not at start: a process that is never loaded never creates the context.
    this.#collect ??= fullCollection();
    if (this.#collect === undefined) return this.stop();
    const memoryBefore = this.#memoryBytes();
    const start = performance.now();
    this.#collect();
    const ms = performance.now() - start;
    this.collections++;
    const memoryAfter = this.#memoryBytes();
    if (!this.#state.secondDue) this.#state = { baselineBytes: memoryAfter, secondDue: false };
    this.#onCollect?.({ memoryBefore, memoryAfter, ms });
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
