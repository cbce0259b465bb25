// serve's readable log: pino JSON lines as a person reads them at a terminal.
import { describe, expect, it } from 'vitest';
import { formatLogLine } from '../../server/log-format.js';

describe('formatLogLine', () => {
  const line = JSON.stringify({
    level: 30,
    time: Date.parse('2026-12-01T09:23:27Z'),
    pid: 7,
    hostname: 'h',
    msg: 'Tidepool is up',
    address: 'http://127.0.0.1:7080',
    ready: true,
  });

  it('shows time, level, message and the other fields, without pino bookkeeping', () => {
    const out = formatLogLine(line, false);
    expect(out).toMatch(/^\d\d:\d\d:\d\d INFO {2}Tidepool is up {2}address=http:\/\/127\.0\.0\.1:7080 ready=true$/);
    expect(out).not.toContain('pid=');
    expect(out).not.toContain('hostname');
  });

  it('quotes values with spaces and objects as JSON, colors the level only when asked', () => {
    const out = formatLogLine(
      JSON.stringify({ level: 50, time: 0, msg: 'failed', err: { message: 'a b' }, why: 'no room here' }),
      false,
    );
    expect(out).toContain('ERROR failed');
    expect(out).toContain('err={"message":"a b"}');
    expect(out).toContain('why="no room here"');
    expect(formatLogLine(line, true)).toContain('\x1b[32mINFO \x1b[0m');
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(formatLogLine('plain text', false)).toBe('plain text');
  });
});
