// Timestamps arrive in UTC (RFC 3339); they are shown in the browser's locale and time zone.

/** Milliseconds since the epoch, or undefined for a missing or unparsable timestamp. */
export function parseTime(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * A compact age as kubectl shows it: 42s, 3m5s, 12m, 2h5m, 20h, 3d4h, 41d, 2y.
 * More precision while it matters, less as it grows; a future time (clock skew) is 0s.
 */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Date and time in the browser's locale and time zone (or the given ones), e.g. "3 Mar, 14:05:09". */
export function formatLocal(t: number, opts: { locale?: string; timeZone?: string } = {}): string {
  const key = `${opts.locale ?? ''}|${opts.timeZone ?? ''}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(opts.locale, {
      timeZone: opts.timeZone,
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(key, f);
  }
  return f.format(t);
}

/** The full date, time and zone name, for a tooltip. */
export function formatFull(t: number, opts: { locale?: string; timeZone?: string } = {}): string {
  return new Intl.DateTimeFormat(opts.locale, {
    timeZone: opts.timeZone,
    dateStyle: 'full',
    timeStyle: 'long',
  }).format(t);
}
