// The idle decision and its signals, with an injected clock: no timers, no sleeping.
import { describe, expect, it } from 'vitest';
import { Activity } from '../../controller/idle/activity.js';
import { decideIdle } from '../../controller/idle/decision.js';

const MIN = 60_000;

describe('decideIdle', () => {
  it('is idle once the latest signal is a timeout old, and names that signal', () => {
    const seen = { start: 0, proxy: 5 * MIN, cpu: 2 * MIN };
    expect(decideIdle({ nowMs: 34 * MIN, timeoutMs: 30 * MIN, seen })).toEqual({
      idle: false,
      lastSignal: 'proxy',
      lastActiveMs: 5 * MIN,
      sleepAtMs: 35 * MIN,
    });
    expect(decideIdle({ nowMs: 35 * MIN, timeoutMs: 30 * MIN, seen })).toMatchObject({
      idle: true,
      lastSignal: 'proxy',
    });
  });

  it('never without a timeout, and never without any signal', () => {
    expect(decideIdle({ nowMs: 1e12, timeoutMs: 0, seen: { start: 0 } })).toEqual({
      idle: false,
      reason: 'NoTimeout',
    });
    expect(decideIdle({ nowMs: 1e12, timeoutMs: MIN, seen: {} })).toEqual({ idle: false, reason: 'NoSignal' });
  });

  it('a signal from the future (the clock stepped back) counts as now', () => {
    const v = decideIdle({ nowMs: 10 * MIN, timeoutMs: MIN, seen: { exec: 50 * MIN } });
    expect(v).toMatchObject({ idle: false, lastSignal: 'exec', lastActiveMs: 10 * MIN });
  });
});

describe('Activity', () => {
  const usage = (cpuSeconds: number, rx: number, tx = 0) => ({
    name: 'a',
    cpuSeconds,
    networkRxBytes: rx,
    networkTxBytes: tx,
  });

  it('CPU above the threshold between two samples is use; below it is not', () => {
    const a = new Activity({ cpuCores: 0.1, networkBytesPerSecond: 1e9 });
    a.sample(usage(0, 0), 0);
    a.sample(usage(1, 0), 30_000); // 1 s over 30 s: 0.033 cores
    expect(a.seen('a', 30_000).cpu).toBeUndefined();
    a.sample(usage(16, 0), 60_000); // 15 s over 30 s: 0.5 cores
    expect(a.seen('a', 60_000).cpu).toBe(60_000);
  });

  it('network traffic above the threshold is use; keep-alives below it are not', () => {
    const a = new Activity({ cpuCores: 100, networkBytesPerSecond: 2048 });
    a.sample(usage(0, 0, 0), 0);
    a.sample(usage(0, 3_000, 3_000), 30_000); // 200 B/s: an idle tab's keep-alives
    expect(a.seen('a', 30_000).network).toBeUndefined();
    a.sample(usage(0, 203_000, 103_000), 60_000); // 10 KB/s: typing, a terminal printing
    expect(a.seen('a', 60_000).network).toBe(60_000);
  });

  it('a counter that went back (a restart) is a new baseline, not use', () => {
    const a = new Activity({ cpuCores: 0.1, networkBytesPerSecond: 1 });
    a.sample(usage(500, 1e9), 0);
    a.sample(usage(0, 0), 30_000);
    expect(a.seen('a', 30_000)).toEqual({});
    a.sample(usage(0, 100), 60_000);
    expect(a.seen('a', 60_000).network).toBe(60_000);
  });

  it('an open exec session counts as use now, until it closes', () => {
    const a = new Activity();
    const one = a.execOpened('a', 1_000);
    const two = a.execOpened('a', 2_000);
    expect(a.seen('a', 99_000).exec).toBe(99_000);
    one(100_000);
    one(500_000); // closing twice counts once
    expect(a.seen('a', 200_000).exec).toBe(200_000);
    two(300_000);
    expect(a.seen('a', 900_000).exec).toBe(300_000);
  });
});
