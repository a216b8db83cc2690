/**
 * Optimistic admission: what one instance knows of the headroom of every level (a budget, a rate limit)
 * its requests touched, so that a request far from every limit is admitted without waiting for Redis.
 *
 * Per level it keeps the headroom Redis last reported (the admission script's reply: limit − spend − held
 * for a budget, remaining for a rate limit) and the amounts this instance admitted optimistically since,
 * whose replies have not come back. A request is admitted optimistically when
 *   - fewer than K (redis.optimistic_admissions) optimistic admissions of this instance are unanswered, and
 *   - for every level with a limit that it touches, with `amount` what it takes of that level (its cost
 *     estimate for a budget, 1 for a request limit, its token estimate for a token limit):
 *       reported − pending − amount > MARGIN × K × instances × amount
 *     (and reported − pending > 0 for an amount of 0).
 * Its reservation is still sent to Redis, not awaited by the request, in a form that reserves even over a
 * limit (forced), so the shared counters stay complete; its reply updates the headroom. A limit small
 * against the margin (10 requests a minute, a budget that fits a few hundred requests) never passes the
 * test: those requests always take the exact path, one round trip awaited.
 *
 * The bound. Take one level L and one instance i, one connection to Redis, whose replies come back in the
 * order Redis ran the commands. Let t be any point in Redis's order of commands and s the last point
 * at or before t where L was not over its limit (usage ≤ limit). At every point a in (s, t] L is over its
 * limit, so a reply to a command run at a reports L's headroom as 0 or less, and an instance that has
 * received it does not admit optimistically on L (the test above needs headroom > 0) until a reply from a
 * later point reports headroom again, which none in (s, t] does (in-order replies; a reconnection clears
 * what the instance knew). Now let F be the last-sent of i's forced reservations on L that Redis ran in
 * (s, t]. When i sent F, none of its forced reservations on L run in (s, t] and sent before F had been
 * answered (their replies report L, from points in (s, t]: F would not have been optimistic), so all of
 * them, F too, were unanswered at once: at most K. Exact admissions in (s, t] are refused (L over its
 * limit) but for the one at s's heels that may take L over by the existing rule (a budget admits while
 * spend + held is below the limit; a token limit while its count is below it). Settlements release
 * their reservation and charge the real cost (at most the estimate). So at t:
 *     usage(L) ≤ limit + (one request, the exact path's rule) + Σ over instances of K × the largest estimate
 * i.e. a rate limit of requests admits at most limit + K × instances, and a budget or token limit
 * overshoots by at most (K × instances + 1) estimates of one request. docs/cluster.md states it.
 */

/** How far from its limit a level must be, in units of K × instances × the request's amount. */
export const MARGIN = 4;

/** What this instance knows of one level. */
export interface Level {
  /** Headroom at Redis's last reply about this level. */
  reported: number;
  /** This instance's optimistic admissions on this level since, not yet answered. */
  pending: number;
  /** When the reply came (levels not heard of for a while are dropped). */
  at: number;
}

/** How long a level's figure is kept without a reply about it. */
const FORGET_MS = 120_000;

export class Headroom {
  private readonly levels = new Map<string, Level>();
  /** Optimistic admissions of this instance whose reservation has not been answered. */
  unanswered = 0;
  /** Instances of the cluster (from their heartbeats); at least 1. */
  private instances = 1;

  /** K: at most this many unanswered optimistic admissions (0: none, every request waits for Redis). */
  constructor(readonly depth: number) {}

  setInstances(count: number): void {
    this.instances = Math.max(1, Math.floor(count));
  }

  /**
   * The levels of a request (keys as Layout.levelKeys, '' without a limit; amounts in the same order)
   * when it may be admitted optimistically, else undefined. The entries are the request's to hold.
   */
  far(keys: readonly string[], amounts: readonly number[]): Array<Level | undefined> | undefined {
    if (this.unanswered >= this.depth) return undefined;
    const factor = 1 + MARGIN * this.depth * this.instances;
    const levels: Array<Level | undefined> = [];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (key === '') {
        levels.push(undefined);
        continue;
      }
      const level = this.levels.get(key);
      if (level === undefined || !(level.reported - level.pending > amounts[i] * factor)) return undefined;
      levels.push(level);
    }
    return levels;
  }

  /** The request's amounts count as pending on its levels until its reservation is answered. */
  hold(levels: ReadonlyArray<Level | undefined>, amounts: readonly number[]): void {
    this.unanswered++;
    levels.forEach((level, i) => {
      if (level !== undefined) level.pending += amounts[i];
    });
  }

  /** The reservation was answered (or failed): its amounts are no longer pending. */
  release(levels: ReadonlyArray<Level | undefined>, amounts: readonly number[]): void {
    this.unanswered--;
    levels.forEach((level, i) => {
      if (level !== undefined) level.pending = Math.max(0, level.pending - amounts[i]);
    });
  }

  /** Redis's reply: the level's headroom after the command it answered. */
  report(key: string, headroom: number, now: number): void {
    if (key === '') return;
    const level = this.levels.get(key);
    if (level === undefined) this.levels.set(key, { reported: headroom, pending: 0, at: now });
    else {
      level.reported = headroom;
      level.at = now;
    }
  }

  /** What this instance knew goes (Redis unreachable): every request takes the exact path until Redis answers again. */
  clear(): void {
    this.levels.clear();
  }

  /** Drops levels not heard of for a while (their figure is stale, and an entity may be gone). */
  prune(now: number): void {
    for (const [key, level] of this.levels) if (level.pending === 0 && now - level.at > FORGET_MS) this.levels.delete(key);
  }
}
