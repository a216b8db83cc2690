/** Number, time and money formatting shared by every page (the browser's locale). */

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

export const DASH = '—';

export function formatInteger(value: number | null | undefined): string {
  return value === null || value === undefined ? DASH : integer.format(value);
}

export function formatCompact(value: number | null | undefined): string {
  if (value === null || value === undefined) return DASH;
  return Math.abs(value) < 10_000 ? integer.format(value) : compact.format(value);
}

/** Milliseconds: "840 ms", "1.24 s", "2m 05s". */
export function formatMs(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  if (value < 1) return `${value.toFixed(2)} ms`;
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(value / 60_000);
  return `${minutes}m ${String(Math.round((value % 60_000) / 1000)).padStart(2, '0')}s`;
}

/** Microseconds (gateway overhead). */
export function formatUs(value: number | null | undefined): string {
  if (value === null || value === undefined) return DASH;
  if (value < 1000) return `${Math.round(value)} µs`;
  return formatMs(value / 1000);
}

/** US dollars; small amounts keep enough digits to be meaningful. null = unknown price. */
export function formatUsd(value: number | null | undefined, unknownLabel = 'unknown'): string {
  if (value === null || value === undefined) return unknownLabel;
  if (value === 0) return '$0';
  const abs = Math.abs(value);
  if (abs < 0.000001) return value < 0 ? '-<$0.000001' : '<$0.000001';
  // $100 and up: whole dollars; $1 and up, or whole cents: 2 decimals; down to a cent: 4 decimals
  // (so a column of amounts lines up: $0.0820, $0.0744); below a cent: 3 significant digits ($0.00412).
  const cents = Math.abs(abs * 100 - Math.round(abs * 100)) < 1e-9;
  const digits = abs >= 100 ? 0 : abs >= 1 || cents ? 2 : abs >= 0.01 ? 4 : 2 - Math.floor(Math.log10(abs));
  return `$${value.toFixed(digits)}`;
}

/** A bucket or window length: "15 s", "1 min", "30 min", "3 h", "1 day". */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)} h`;
  const days = Math.round(ms / 86_400_000);
  return days === 1 ? '1 day' : `${days} days`;
}

export function formatPercent(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return `${(value * 100).toFixed(digits)}%`;
}

export function formatBytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let amount = value;
  let unit = 0;
  while (amount >= 1024 && unit < units.length - 1) {
    amount /= 1024;
    unit += 1;
  }
  return `${amount >= 10 || unit === 0 ? Math.round(amount) : amount.toFixed(1)} ${units[unit]}`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const shortDate = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const hourMinute = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayOnly = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export function formatDate(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? DASH : dateOnly.format(ms);
}

export function formatDateTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? DASH : dateTime.format(ms);
}

/** Time of day when it is today, else a short date. */
export function formatWhen(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined) return DASH;
  return now - ms < 20 * 60 * 60 * 1000 && new Date(ms).getDate() === new Date(now).getDate() ? timeOnly.format(ms) : shortDate.format(ms);
}

/** A chart axis label fitting the span shown. */
export function formatAxisTime(ms: number, spanMs: number): string {
  if (spanMs <= 2 * 60 * 60 * 1000) return hourMinute.format(ms);
  if (spanMs <= 2 * 24 * 60 * 60 * 1000) return hourMinute.format(ms);
  return dayOnly.format(ms);
}

export function formatRelative(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined) return DASH;
  const seconds = Math.round((now - ms) / 1000);
  if (Math.abs(seconds) < 5) return 'just now';
  const future = seconds < 0;
  const abs = Math.abs(seconds);
  const text = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.round(abs / 60)}m` : abs < 86_400 ? `${Math.round(abs / 3600)}h` : `${Math.round(abs / 86_400)}d`;
  return future ? `in ${text}` : `${text} ago`;
}

/** Pretty-prints JSON text; returns the text unchanged when it is not JSON. */
export function prettyJson(text: string | null | undefined): string {
  if (text === null || text === undefined) return '';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** "a, b,c" -> ["a","b","c"]; empty -> null. */
export function parseList(text: string): string[] | null {
  const items = text
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return items.length === 0 ? null : items;
}

export function statusClass(status: number): 'ok' | 'warn' | 'error' {
  if (status >= 500 || status === 0) return 'error';
  if (status >= 400) return 'warn';
  return 'ok';
}
