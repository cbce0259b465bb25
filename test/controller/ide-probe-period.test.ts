// How often a starting workspace's IDE port is probed once its IP is known: every 25 ms for one
// workspace, slower as more wait (the host's probes stay near 40 a second), never slower than
// the runtime poll, and a workspace past its IDE timeout is not counted as waiting.
import { describe, expect, it } from 'vitest';
import { IDE_PROBE_MS, POLL_MS, ideProbeMs, pollMs, type Context } from '../../controller/reconcilers/context.js';

function ctxWith(now: number, since: number[], ideTimeoutMs = 60_000): Context {
  return {
    clock: { now: () => now },
    ideWaitSince: new Map(since.map((t, i) => [`ws${i}`, t])),
    ideTimeoutMs,
  } as unknown as Context;
}

describe('ideProbeMs', () => {
  it('probes one waiting workspace every IDE_PROBE_MS, where the runtime poll would wait longer', () => {
    const ctx = ctxWith(10_000, [9_000]);
    expect(pollMs(ctx, 9_000)).toBe(125);
    expect(ideProbeMs(ctx, pollMs(ctx, 9_000))).toBe(IDE_PROBE_MS);
  });

  it('spreads the probes of several waiting workspaces, up to the runtime poll', () => {
    const now = 100_000;
    const three = ctxWith(now, [now - 4000, now - 4000, now - 4000]);
    expect(ideProbeMs(three, pollMs(three, now - 4000))).toBe(3 * IDE_PROBE_MS);
    const many = ctxWith(
      now,
      Array.from({ length: 40 }, () => now - 4000),
    );
    expect(ideProbeMs(many, pollMs(many, now - 4000))).toBe(POLL_MS);
  });

  it('never probes later than the runtime poll of a workspace that just started waiting', () => {
    const now = 100_000;
    const ctx = ctxWith(
      now,
      Array.from({ length: 10 }, () => now - 10),
    );
    expect(ideProbeMs(ctx, pollMs(ctx, now - 10))).toBe(pollMs(ctx, now - 10));
  });

  it('does not count a workspace whose IDE is past its timeout', () => {
    const now = 100_000;
    const ctx = ctxWith(now, [now - 5000, now - 120_000, now - 130_000], 60_000);
    expect(ideProbeMs(ctx, pollMs(ctx, now - 5000))).toBe(IDE_PROBE_MS);
  });
});
