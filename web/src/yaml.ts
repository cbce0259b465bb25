// A small YAML writer for the objects the API returns (plain JSON): the workspace page shows an
// object as YAML, read-only, in the form `tidepool apply` takes. The yaml package would be most
// of the page's weight for this one job.

const PLAIN = /^[A-Za-z0-9_./][A-Za-z0-9_./ @+-]*$/;
const LOOKS_TYPED =
  /^(true|false|null|yes|no|on|off|~|[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?|0x[0-9a-fA-F]+|\.inf|\.nan)$/i;

function scalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = String(v);
  if (s !== '' && PLAIN.test(s) && !LOOKS_TYPED.test(s) && !s.endsWith(' ') && !s.includes(' #') && !s.includes(': '))
    return s;
  return JSON.stringify(s);
}

function key(k: string): string {
  return PLAIN.test(k) && !LOOKS_TYPED.test(k) && !k.includes(' ') ? k : JSON.stringify(k);
}

function isEmpty(v: unknown): boolean {
  return (
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0)
  );
}

function lines(v: unknown, indent: string): string[] {
  if (Array.isArray(v)) {
    return v.flatMap((item) => {
      if (typeof item === 'object' && item !== null && !isEmpty(item)) {
        const [first, ...rest] = lines(item, `${indent}  `);
        return [`${indent}- ${first!.trimStart()}`, ...rest];
      }
      return [`${indent}- ${isEmpty(item) ? (Array.isArray(item) ? '[]' : '{}') : scalar(item)}`];
    });
  }
  if (typeof v === 'object' && v !== null) {
    return Object.entries(v).flatMap(([k, val]) => {
      if (val === undefined) return [];
      if (isEmpty(val)) return [`${indent}${key(k)}: ${Array.isArray(val) ? '[]' : '{}'}`];
      if (typeof val === 'object' && val !== null)
        return [`${indent}${key(k)}:`, ...lines(val, Array.isArray(val) ? indent : `${indent}  `)];
      return [`${indent}${key(k)}: ${scalar(val)}`];
    });
  }
  return [`${indent}${scalar(v)}`];
}

/** YAML text of a JSON value, ending in a newline. */
export function toYaml(v: unknown): string {
  return `${lines(v, '').join('\n')}\n`;
}
