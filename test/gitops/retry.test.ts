// A failing apply is retried through the controller's rate-limited queue, on the injected
// clock: 500 ms, then twice that, and a success resets the backoff. FakeClock moves time,
// so nothing here sleeps and no figure depends on the machine's speed.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../controller/queue/index.js';
import { defaultApply, type ApplyFn } from '../../gitops/apply.js';
import { cleanupAll, harness, workspaceYaml } from './helpers.js';

afterEach(cleanupAll);

/** Lets pending promise callbacks and file reads run (the clock is not moved). */
const flush = () => new Promise((r) => setTimeout(r, 50));

describe('sync: retries on the shared queue', () => {
  it('retries a failed apply after 500 ms, then 1000 ms, and reports Ready when it goes through', async () => {
    const clock = new FakeClock(Date.now());
    const real = await defaultApply();
    let calls = 0;
    let failUntil = 2;
    const apply: ApplyFn = async (store, docs, opts) => {
      calls++;
      if (calls <= failUntil) throw new Error('the store is busy');
      return real(store, docs, opts);
    };
    const h = await harness({ 'a.yaml': workspaceYaml('a') }, { clock, apply, intervalMs: 60_000 });
    expect(calls).toBe(1);
    expect(h.condition('Reconciling')).toMatchObject({ status: 'True', reason: 'ApplyFailed' });
    expect(h.condition('Ready')).toMatchObject({ status: 'False', reason: 'ApplyFailed' });
    expect(h.ws('a')).toBeUndefined();

    clock.advance(499);
    await flush();
    expect(calls).toBe(1);
    clock.advance(1);
    await vi.waitFor(() => expect(calls).toBe(2));
    await vi.waitFor(() => expect(h.events.filter((e) => e.reason === 'ApplyFailed')).toHaveLength(1));

    // The second failure doubles the wait.
    clock.advance(999);
    await flush();
    expect(calls).toBe(2);
    clock.advance(1);
    await vi.waitFor(() => expect(h.ws('a')).toBeDefined());
    await vi.waitFor(() => expect(h.condition('Ready')).toMatchObject({ status: 'True', reason: 'Applied' }));
    expect(calls).toBe(3);

    // Success forgot the failures: the next failure waits 500 ms again, not 2000.
    failUntil = 4;
    await h.sync.resync();
    expect(calls).toBe(4);
    expect(h.condition('Reconciling')).toMatchObject({ status: 'True', reason: 'ApplyFailed' });
    clock.advance(500);
    await vi.waitFor(() => expect(calls).toBe(5));
  });

  it('self-heals every intervalMs of the injected clock, not before', async () => {
    const clock = new FakeClock(Date.now());
    // The file sets running: the sync owns it, so its drift repair puts it back.
    const h = await harness({ 'a.yaml': workspaceYaml('a', { running: true }) }, { clock, intervalMs: 60_000 });
    const cur = h.ws('a')!;
    await h.store.update({ ...cur, spec: { ...cur.spec, running: false } });
    clock.advance(59_999);
    await flush();
    expect(h.ws('a')!.spec.running).toBe(false);
    clock.advance(1);
    await vi.waitFor(() => expect(h.ws('a')!.spec.running).toBe(true));
    await vi.waitFor(() => expect(h.events.some((e) => e.reason === 'DriftCorrected')).toBe(true));
    // And again one interval later.
    const again = h.ws('a')!;
    await h.store.update({ ...again, spec: { ...again.spec, running: false } });
    clock.advance(60_000);
    await vi.waitFor(() => expect(h.ws('a')!.spec.running).toBe(true));
  });
});
