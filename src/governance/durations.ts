/**
 * Durations ("30s", "5m", "1h", "7d", "2w") and budget windows. Calendar
 * periods are in UTC: a daily budget resets at 00:00 UTC, a weekly one on
 * Monday 00:00 UTC, a monthly one on the 1st at 00:00 UTC. A duration period
 * ("30m", "7d") counts whole steps from the entity's creation time.
 */

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^([1-9]\d{0,8})(s|m|h|d|w)$/;
const DAY_MS = 86_400_000;

export const CALENDAR_PERIODS = ['daily', 'weekly', 'monthly'] as const;
export type CalendarPeriod = (typeof CALENDAR_PERIODS)[number];

/** A duration in milliseconds, or undefined when the text is not one. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (match === null) return undefined;
  return Number(match[1]) * UNIT_MS[match[2]];
}

/** True for "daily" | "weekly" | "monthly" or a duration. */
export function isBudgetPeriod(text: string): boolean {
  return (CALENDAR_PERIODS as readonly string[]).includes(text) || parseDuration(text) !== undefined;
}

export interface Window {
  /** ms since the epoch; 0 for a budget that never resets. */
  start: number;
  /** ms since the epoch; Infinity for a budget that never resets. */
  end: number;
}

export const LIFETIME: Window = Object.freeze({ start: 0, end: Number.POSITIVE_INFINITY });

/** The budget window that holds `now`. `anchor` (creation time) aligns duration periods. */
export function budgetWindow(period: string | null | undefined, now: number, anchor: number): Window {
  if (period === null || period === undefined) return LIFETIME;
  const date = new Date(now);
  switch (period) {
    case 'daily': {
      const start = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
      return { start, end: start + DAY_MS };
    }
    case 'weekly': {
      const day = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
      const sinceMonday = (date.getUTCDay() + 6) % 7;
      const start = day - sinceMonday * DAY_MS;
      return { start, end: start + 7 * DAY_MS };
    }
    case 'monthly': {
      const start = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
      return { start, end: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) };
    }
    default: {
      const step = parseDuration(period);
      if (step === undefined) return LIFETIME;
      const base = Math.min(anchor, now);
      const start = base + Math.floor((now - base) / step) * step;
      return { start, end: start + step };
    }
  }
}

/** OpenAI's x-ratelimit-reset-* form: "1s", "6m0s", "1h2m3s", "250ms". */
export function formatResetDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total < 1000) return `${total}ms`;
  let seconds = Math.ceil(total / 1000);
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
