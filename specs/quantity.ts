// Kubernetes resource quantities for memory: "512Mi", "4Gi", "1.5G", "1073741824".
const SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

export const QUANTITY_PATTERN = '^[0-9]+(\\.[0-9]+)?(k|K|M|G|T|Ki|Mi|Gi|Ti)?$';
const QUANTITY = new RegExp(QUANTITY_PATTERN);

/** Bytes of a quantity, or undefined when it is not one. */
export function parseQuantity(q: string): number | undefined {
  if (!QUANTITY.test(q)) return undefined;
  const m = /^([0-9.]+)(.*)$/.exec(q)!;
  const mult = SUFFIX[m[2]!];
  if (mult === undefined) return undefined;
  return Math.round(Number(m[1]) * mult);
}

/** "4Gi" for 4294967296: the largest binary unit that divides evenly. */
export function formatBytes(bytes: number): string {
  for (const unit of ['Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const mult = SUFFIX[unit]!;
    if (bytes >= mult && bytes % mult === 0) return `${bytes / mult}${unit}`;
  }
  return String(bytes);
}
