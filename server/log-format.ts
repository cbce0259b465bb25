// serve's log for a person at a terminal: pino's JSON lines turned into
// `09:23:27 INFO  Tidepool is up  address=http://127.0.0.1:7080`, colored by level. JSON
// stays the format when the output is not a terminal (a service manager, a file, tests).
import { Writable } from 'node:stream';

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '90' },
  20: { name: 'DEBUG', color: '36' },
  30: { name: 'INFO ', color: '32' },
  40: { name: 'WARN ', color: '33' },
  50: { name: 'ERROR', color: '31' },
  60: { name: 'FATAL', color: '35' },
};
/** pino's own bookkeeping: not worth a person's attention on every line. */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'v']);

export function formatLogLine(line: string, color: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const lvl = LEVELS[Number(rec.level)] ?? { name: String(rec.level).padEnd(5), color: '0' };
  const time = typeof rec.time === 'number' ? new Date(rec.time).toTimeString().slice(0, 8) : '';
  const fields = Object.entries(rec)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  const level = color ? `\x1b[${lvl.color}m${lvl.name}\x1b[0m` : lvl.name;
  const msg = String(rec.msg ?? '');
  const rest = fields.length ? `  ${color ? `\x1b[2m${fields.join(' ')}\x1b[0m` : fields.join(' ')}` : '';
  return `${time} ${level} ${msg}${rest}`;
}

/** A destination for pino that writes readable lines to `out`. */
export function readableLog(out: NodeJS.WriteStream, color = out.isTTY && !process.env.NO_COLOR): Writable {
  let partial = '';
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) if (l) out.write(`${formatLogLine(l, color)}\n`);
      done();
    },
  });
}
