import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cond, harness, port, waitFor, workspace, type Harness } from './helpers.js';

describe('resync of a converged set', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('makes exactly one runtime list call, no proxy apply and no store write', async () => {
    const c = await h.start();
    await h.store.transaction((tx) => {
      for (let i = 0; i < 20; i++) {
        tx.create(workspace(`ws${i}`, { running: i % 4 !== 0 }));
        for (let p = 0; p < 2; p++) tx.create(port(`ws${i}-${3000 + p}`, `ws${i}`, 3000 + p));
      }
    });
    await waitFor('all converged', () =>
      h.store
        .list('Workspace')
        .items.every((w) => (w.spec.running ? cond(w, 'Ready')?.status === 'True' : w.status?.phase === 'Stopped')),
    );
    await c.idle();
    const lists = h.runtime.calls.list,
      applies = h.proxy.calls.apply,
      reads = h.proxy.calls.read;
    const rv = h.store.resourceVersion;

    await c.resync();
    await c.idle();
    expect(h.runtime.calls.list - lists).toBe(1);
    expect(h.proxy.calls.apply - applies).toBe(0);
    expect(h.proxy.calls.read - reads).toBe(1);
    expect(h.store.resourceVersion).toBe(rv);
    expect(h.runtime.calls.create + h.runtime.calls.start + h.runtime.calls.stop + h.runtime.calls.delete).toBe(20);
  });

  it('runs the resync by itself every resyncPeriodMs', async () => {
    await h.start({ resyncPeriodMs: 50 });
    const lists = h.runtime.calls.list;
    await waitFor('three periodic resyncs', () => h.runtime.calls.list >= lists + 3);
  });
});
