import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Resource } from '../../store/index.js';
import { FINALIZER } from '../../controller/index.js';
import { cond, harness, port, waitFor, workspace, type Harness } from './helpers.js';

const withMeta = (o: Resource, meta: Partial<Resource['metadata']>): Resource => ({
  ...o,
  metadata: { ...o.metadata, ...meta },
});

describe('restart after a crash mid-reconcile', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness({ latencyMs: 5 });
  });
  afterEach(async () => {
    await h.close();
  });

  /**
   * The world a controller leaves when it dies between a runtime call and the store write
   * that should have followed it:
   *  - made: finalizer added, status "Creating", VM created (the status after it never written)
   *  - gone: being deleted, its VM already deleted, finalizer not yet removed
   *  - half: being deleted, routes still live, VM still there
   *  - fresh: just created, nothing done yet (its Port too)
   *  - orphan: a VM created for a Workspace that no longer exists (kept, stopped: never deleted unasked)
   */
  async function crashedWorld() {
    const GiB = 2 ** 30;
    await h.store.transaction((tx) => {
      tx.create(withMeta(workspace('made'), { finalizers: [FINALIZER] }));
      tx.create(port('made-3000', 'made', 3000));
      tx.create(withMeta(workspace('gone'), { finalizers: [FINALIZER] }));
      tx.create(withMeta(workspace('half'), { finalizers: [FINALIZER] }));
      tx.create(port('half-3000', 'half', 3000));
      tx.create(workspace('fresh'));
      tx.create(port('fresh-4000', 'fresh', 4000));
    });
    await h.store.updateStatus('Workspace', 'made', { phase: 'Creating' });
    await h.runtime.createBehindBack(
      { name: 'made', image: 'default', cpu: 2, memoryBytes: 4 * GiB, start: true },
      { notify: false },
    );
    await h.runtime.createBehindBack(
      { name: 'half', image: 'default', cpu: 2, memoryBytes: 4 * GiB, start: true },
      { notify: false },
    );
    await h.runtime.createBehindBack(
      { name: 'orphan', image: 'default', cpu: 2, memoryBytes: 4 * GiB, start: true },
      { notify: false },
    );
    const halfIp = h.runtime.snapshot().find((v) => v.name === 'half')!.ip!;
    await h.proxy.apply({
      workspaces: [{ name: 'half', upstream: `${halfIp}:8080` }],
      ports: [{ workspace: 'half', port: 3000, upstream: `${halfIp}:3000` }],
    });
    await h.store.delete('Workspace', 'gone');
    await h.store.delete('Workspace', 'half');
  }

  async function converged() {
    await h.ready('made');
    await h.ready('fresh');
    await waitFor('deleted workspaces gone', () => !h.ws('gone') && !h.ws('half'));
    await waitFor(
      'VMs match',
      () =>
        h.runtime
          .snapshot()
          .map((v) => `${v.name}:${v.state}`)
          .sort()
          .join() === 'fresh:Running,made:Running,orphan:Stopped',
    );
    await waitFor('ports Ready', () =>
      ['made-3000', 'fresh-4000'].every((p) => cond(h.store.get('Port', p), 'Ready')?.status === 'True'),
    );
    await waitFor('routes match', () => {
      const t = h.proxy.table();
      return (
        t?.workspaces.map((w) => w.name).join() === 'fresh,made' &&
        t.ports.map((p) => `${p.workspace}/${p.port}`).join() === 'fresh/4000,made/3000'
      );
    });
    expect(
      h.store
        .list('Port')
        .items.map((p) => p.metadata.name)
        .sort(),
    ).toEqual(['fresh-4000', 'made-3000']);
  }

  it('one new controller converges, keeps the orphan VM stopped, and loses no resource', async () => {
    await crashedWorld();
    await h.start();
    await converged();
    // "made" kept the VM the crashed controller created: no second create.
    expect(h.runtime.calls.create).toBe(1);
  });

  it('two controllers started at once on the same store converge too', async () => {
    await crashedWorld();
    await Promise.all([h.start({ workers: 3 }), h.start({ workers: 3 })]);
    await converged();
    expect(h.runtime.snapshot()).toHaveLength(3);
  });

  it('a controller stopped in the middle of converging and a new one started later finish the job', async () => {
    const first = await h.start();
    await h.store.transaction((tx) => {
      for (let i = 0; i < 10; i++) {
        tx.create(workspace(`w${i}`));
        tx.create(port(`w${i}-3000`, `w${i}`, 3000));
      }
    });
    await waitFor('some VMs created', () => h.runtime.snapshot().length >= 3);
    await first.stop();
    const before = h.runtime.snapshot().length;
    await h.start();
    for (let i = 0; i < 10; i++) await h.ready(`w${i}`);
    expect(h.runtime.snapshot()).toHaveLength(10);
    expect(h.runtime.calls.create).toBe(10);
    expect(before).toBeLessThanOrEqual(10);
  });
});
