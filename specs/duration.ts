// Durations as flags and kubectl's --timeout take them; shared by the CLI and the serve flag table.

/**
 * Go-style durations as kubectl's --timeout takes them: `30s`, `1m30s`, `500ms`, `2h`.
 * A bare number is seconds. Returns milliseconds, or undefined when it does not parse.
 */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * unit[m[2]!]!;
    at = re.lastIndex;
  }
  if (at === 0 || at !== s.length) return undefined;
  return total;
}
