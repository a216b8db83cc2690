/**
 * Which part of a time range the rollups answer (request-log-rollups.ts) and which part is read from
 * the rows: the rollups hold whole hours and minutes, so the edges of a range, and a minute cut by a
 * bucket's edge, come from request_logs. Pure: numbers in, ranges out.
 */
import { HOUR_MS, MINUTE_MS } from './request-log-rollups.js';

/** [start, end) in ms. */
export type Interval = [start: number, end: number];

export interface HourPlan {
  /** Whole hours [from, to) read from request_log_rollups (empty when from === to). */
  hours: Interval;
  /** The rest of the range, read from request_logs: before and after the hours (either may be empty). */
  raw: [Interval, Interval];
}

/** The whole hours of [from, to) and its edges. */
export function hourPlan(from: number, to: number): HourPlan {
  const first = Math.ceil(from / HOUR_MS) * HOUR_MS;
  const last = Math.floor(to / HOUR_MS) * HOUR_MS;
  if (last <= first) return { hours: [to, to], raw: [[from, to], [to, to]] };
  return { hours: [first, last], raw: [[from, first], [last, to]] };
}

export interface SeriesPlan {
  /** The width of the rollup rows read: a minute or an hour. */
  width: number;
  /** Rollup rows whose start is in [from, to) and not in `skip` are read (each lies in one bucket). */
  units: Interval;
  skip: number[];
  /** Read from request_logs instead, in order, not overlapping. */
  raw: Interval[];
}

/** At most this many units cut by a bucket edge are read from the rows; past it the whole range is. */
const MAX_CUT_UNITS = 1000;

/**
 * The rollup rows of request_log_series that fill the buckets of [from, to) (width `bucket`, from
 * `from`), and the rows to read instead. When from and the bucket width are whole hours (or minutes),
 * every unit lies in one bucket and only the end of the range after the last whole unit is raw.
 * Otherwise minutes are read, except those cut by a bucket edge, which are read from the rows.
 * `widths`: the rollup's units, largest first (request_log_latency has hours only); the last one is
 * the unit read when the range is not aligned.
 */
export function seriesPlan(from: number, to: number, bucket: number, widths: readonly number[] = [HOUR_MS, MINUTE_MS]): SeriesPlan {
  for (const width of widths) {
    if (from % width !== 0 || bucket % width !== 0) continue;
    const last = Math.floor(to / width) * width;
    if (last <= from) return { width, units: [from, from], skip: [], raw: [[from, to]] };
    return { width, units: [from, last], skip: [], raw: last < to ? [[last, to]] : [] };
  }
  const unit = widths[widths.length - 1];
  const first = Math.ceil(from / unit) * unit;
  const last = Math.floor(to / unit) * unit;
  const everything: SeriesPlan = { width: unit, units: [from, from], skip: [], raw: [[from, to]] };
  if (last <= first || bucket < 2 * unit) return everything;
  const skip: number[] = [];
  for (let edge = from + bucket; edge < last; edge += bucket) {
    if (edge % unit === 0 || edge < first) continue;
    skip.push(Math.floor(edge / unit) * unit);
    if (skip.length > MAX_CUT_UNITS) return everything;
  }
  const raw: Interval[] = [];
  const add = (start: number, end: number) => {
    if (start >= end) return;
    const previous = raw[raw.length - 1];
    if (previous !== undefined && previous[1] === start) previous[1] = end;
    else raw.push([start, end]);
  };
  add(from, first);
  for (const start of skip) add(start, start + unit);
  add(last, to);
  return { width: unit, units: [first, last], skip, raw };
}
