/**
 * Fault injection: what the mock does with the next matching request instead
 * of (or on top of) its normal reply. Every kind works on every route.
 *
 * - error:        reply `status` with `body` (default: an OpenAI error JSON for that status) and `headers`
 *                 (e.g. `{ 'retry-after': '1' }`). An object body is sent as JSON, a string or bytes verbatim.
 * - delay:        wait `ms` before sending anything, then reply normally.
 * - hang:         never answer; the request stays open until the client (or `close()`) goes away.
 * - reset:        destroy the socket at once with a TCP RST (the client sees ECONNRESET / "other side closed").
 * - stream-break: send the first `afterChunks` stream events (`[DONE]` counts as one) and destroy the socket.
 *                 On a non-streaming JSON reply: send the headers and the first half of the body, then destroy.
 * - stream-error: send the first `afterChunks` stream events, then the route's error event
 *                 (OpenAI chat/completions: `data: {"error":{...}}`; `error` overrides the default fields), then end.
 * - slow-stream:  wait `chunkDelayMs` before every stream event after the first.
 * - chop:         write a streamed reply's bytes in pieces whose sizes cycle through `sizes` (default
 *                 CHOP_SIZES: 1, 2, 3, 5, 7, 11, 13 bytes), one write and one event-loop turn each, so the
 *                 reader sees cuts inside UTF-8 sequences, CRLFs, field names, JSON and binary frame headers.
 * - raw:          reply exactly `status`, `headers` and `body` (invalid JSON, an HTML 502 page, ...).
 * - respond:      reply `body` as JSON with `status` (default 200) and `headers`.
 *
 * The stream kinds (and chop) only change streamed replies (and stream-break also JSON replies); on other replies
 * they are ignored.
 */

export type Headers = Record<string, string>;

export type Behavior =
  | { kind: 'error'; status: number; body?: unknown; headers?: Headers }
  | { kind: 'delay'; ms: number }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'stream-break'; afterChunks: number }
  | { kind: 'stream-error'; afterChunks: number; error?: Record<string, unknown> }
  | { kind: 'slow-stream'; chunkDelayMs: number }
  | { kind: 'chop'; sizes?: readonly number[] }
  | { kind: 'raw'; status: number; headers?: Headers; body: string | Uint8Array }
  | { kind: 'respond'; body: unknown; status?: number; headers?: Headers };

/** Piece sizes of the `chop` behaviour: small primes, so cuts drift across every boundary. */
export const CHOP_SIZES: readonly number[] = Object.freeze([1, 2, 3, 5, 7, 11, 13]);

export interface EnqueueOptions {
  /** Only requests whose path (without query) equals this string or matches this RegExp. Default: any. */
  path?: string | RegExp;
  /** How many matching requests get the behaviour. Default 1; `Infinity` for all of them. */
  times?: number;
}

interface QueuedBehavior {
  behavior: Behavior;
  path: string | RegExp | undefined;
  remaining: number;
}

/** FIFO of behaviours: a request takes the first entry whose path filter matches it. */
export class BehaviorQueue {
  private entries: QueuedBehavior[] = [];

  enqueue(behavior: Behavior, options: EnqueueOptions = {}): void {
    const times = options.times ?? 1;
    if (!(times > 0)) throw new RangeError(`mock upstream: times must be positive, got ${times}`);
    this.entries.push({ behavior, path: options.path, remaining: times });
  }

  take(path: string): Behavior | undefined {
    const index = this.entries.findIndex((entry) => matchesPath(entry.path, path));
    if (index === -1) return undefined;
    const entry = this.entries[index];
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.entries.splice(index, 1);
    return entry.behavior;
  }

  get size(): number {
    return this.entries.length;
  }

  clear(): void {
    this.entries = [];
  }
}

function matchesPath(filter: string | RegExp | undefined, path: string): boolean {
  if (filter === undefined) return true;
  if (typeof filter === 'string') return filter === path;
  filter.lastIndex = 0;
  return filter.test(path);
}
