// Pure formatting helpers with kubectl's habits: ages, durations and aligned tables.

/**
 * kubectl's HumanDuration (k8s.io/apimachinery/pkg/util/duration): `5s`, `3m20s`, `45m`,
 * `2h10m`, `20h`, `4d2h`, `30d`, `2y5d`. Up to 2s in the future counts as now (clock skew).
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365;
    return dy === 0 ? `${Math.trunc(hours / 24 / 365)}y` : `${Math.trunc(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** The age of an RFC 3339 timestamp as kubectl prints it; `<unknown>` when missing or unparsable. */
export function age(timestamp: string | undefined, now: number = Date.now()): string {
  if (!timestamp) return '<unknown>';
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return '<unknown>';
  return humanDuration(now - t);
}

export { parseDuration } from '../specs/duration.js';

/**
 * Columns as kubectl's tabwriter lays them out: left-aligned, at least 3 spaces between
 * columns, every column but the last padded to at least 6 characters including the gap.
 */
export const TABLE_PADDING = 3;
export const TABLE_MIN_WIDTH = 6;

export function columnWidths(rows: readonly (readonly string[])[], min: readonly number[] = []): number[] {
  const widths = [...min];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length + TABLE_PADDING, TABLE_MIN_WIDTH);
    });
  }
  return widths;
}

export function renderRow(row: readonly string[], widths: readonly number[]): string {
  return row
    .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
    .join('')
    .trimEnd();
}

/** Renders a header and rows into aligned lines (no trailing newline). */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = columnWidths([header, ...rows]);
  return [header, ...rows].map((r) => renderRow(r, widths)).join('\n');
}
