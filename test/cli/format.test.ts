import { describe, expect, it } from 'vitest';
import { age, humanDuration, parseDuration, renderTable } from '../../cli/format.js';

const S = 1000,
  M = 60 * S,
  H = 60 * M,
  D = 24 * H;

describe('humanDuration (kubectl ages)', () => {
  it.each([
    [0, '0s'],
    [5 * S, '5s'],
    [119 * S, '119s'],
    [2 * M, '2m'],
    [3 * M + 20 * S, '3m20s'],
    [9 * M + 59 * S, '9m59s'],
    [10 * M + 30 * S, '10m'],
    [179 * M, '179m'],
    [3 * H, '3h'],
    [2 * H + 10 * M, '130m'],
    [3 * H + 10 * M, '3h10m'],
    [7 * H + 59 * M, '7h59m'],
    [8 * H + 30 * M, '8h'],
    [47 * H, '47h'],
    [2 * D, '2d'],
    [4 * D + 2 * H, '4d2h'],
    [8 * D, '8d'],
    [400 * D, '400d'],
    [730 * D, '2y'],
    [735 * D, '2y5d'],
    [8 * 365 * D, '8y'],
  ])('%i ms → %s', (ms, want) => {
    expect(humanDuration(ms)).toBe(want);
  });

  it('tolerates a little clock skew and flags more', () => {
    expect(humanDuration(-1500)).toBe('0s');
    expect(humanDuration(-5000)).toBe('<invalid>');
  });

  it('age of a timestamp, and of a missing one', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(age('2026-01-01T11:57:00Z', now)).toBe('3m');
    expect(age('2025-12-28T12:00:00Z', now)).toBe('4d');
    expect(age(undefined, now)).toBe('<unknown>');
    expect(age('yesterday', now)).toBe('<unknown>');
  });
});

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['2h', 7_200_000],
    ['1.5m', 90_000],
    ['45', 45_000],
    ['0', 0],
  ])('%s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it.each(['', 's', '10x', '1m 30s', '-5s', 'abc'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('renderTable', () => {
  it('aligns columns with at least three spaces, minimum width six, last column unpadded', () => {
    const out = renderTable(
      ['NAME', 'PHASE', 'IP'],
      [
        ['alice', 'Running', '10.0.0.2'],
        ['bob', 'Stopped', '<none>'],
      ],
    );
    expect(out.split('\n')).toEqual(['NAME    PHASE     IP', 'alice   Running   10.0.0.2', 'bob     Stopped   <none>']);
  });

  it('pads short columns to the minimum width', () => {
    expect(renderTable(['A', 'B'], [['x', 'y']]).split('\n')).toEqual(['A     B', 'x     y']);
  });

  it('never leaves trailing spaces', () => {
    const out = renderTable(['NAME', 'URL'], [['a', '']]);
    for (const l of out.split('\n')) expect(l).toBe(l.trimEnd());
  });
});
