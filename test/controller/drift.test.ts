import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Controller } from '../../controller/index.js';
import { cond, eventsFor, harness, port, waitFor, workspace, type Harness } from './helpers.js';

// Each case changes the world behind Tidepool's back, either with the runtime's or the
// proxy's change notification (as Incus events or a restarted Caddy would tell), or
// silently, so that only the periodic resync can find it.
describe('drift repair', () => {
  let h: Harness;
  let c: Controller;
  beforeEach(async () => {
    h = await harness();
    c = await h.start();
    await h.store.transaction((tx) => {
      tx.create(workspace('run'));
      tx.create(port('run-3000', 'run', 3000));
      tx.create(workspace('idle', { running: false }));
    });
    await h.ready('run');
    await waitFor('idle Stopped', () => h.ws('idle')?.status?.phase === 'Stopped');
    await waitFor('port route', () => h.proxy.table()?.ports.length === 1);
  });
  afterEach(async () => {
    await h.close();
  });

  for (const notify of [true, false]) {
    const how = notify ? 'reported by the runtime' : 'found by the resync';
    const resyncUnlessNotified = async () => {
      if (!notify) await c.resync();
    };

    it(`recreates a running VM deleted behind its back (${how})`, async () => {
      const before = h.runtime.calls.create;
      await h.runtime.deleteBehindBack('run', { notify });
      await resyncUnlessNotified();
      await waitFor(
        'recreated',
        () =>
          h.runtime.calls.create === before + 1 &&
          h.runtime.snapshot().find((v) => v.name === 'run')?.state === 'Running',
      );
      await h.ready('run');
      await waitFor('VMNotFound event', () =>
        eventsFor(h.store, 'run').some((e) => e.reason === 'VMNotFound' && e.type === 'Warning'),
      );
      await waitFor('port routed again', () => cond(h.store.get('Port', 'run-3000'), 'Ready')?.status === 'True');
    });

    it(`starts a VM stopped behind its back (${how})`, async () => {
      await h.runtime.stopBehindBack('run', { notify });
      await resyncUnlessNotified();
      await waitFor('started again', () => h.runtime.snapshot().find((v) => v.name === 'run')?.state === 'Running');
      await h.ready('run');
      await waitFor('Started event', () =>
        eventsFor(h.store, 'run').some((e) => e.reason === 'Started' && String(e.note).includes('outside Tidepool')),
      );
    });

    it(`stops a VM started behind its back (${how})`, async () => {
      await h.runtime.startBehindBack('idle', { notify });
      await resyncUnlessNotified();
      await waitFor('stopped again', () => h.runtime.snapshot().find((v) => v.name === 'idle')?.state === 'Stopped');
      expect(h.ws('idle')!.status!.phase).toBe('Stopped');
      expect(h.proxy.table()!.workspaces.map((w) => w.name)).toEqual(['run']);
    });

    it(`deletes a managed VM that no Workspace declares (${how})`, async () => {
      await h.runtime.createBehindBack(
        { name: 'ghost', image: 'default', cpu: 1, memoryBytes: 2 ** 30, start: true },
        { notify },
      );
      await resyncUnlessNotified();
      await waitFor('ghost deleted', () => !h.runtime.snapshot().some((v) => v.name === 'ghost'));
      expect(
        h.runtime
          .snapshot()
          .map((v) => v.name)
          .sort(),
      ).toEqual(['idle', 'run']);
      await waitFor('OrphanDeleted event', () => eventsFor(h.store, 'ghost').some((e) => e.reason === 'OrphanDeleted'));
    });
  }

  it('restores a route removed from the proxy, found by the resync', async () => {
    const routes = h.proxy.table();
    h.proxy.removeRoute('run');
    expect(h.proxy.table()!.workspaces).toEqual([]);
    const applies = h.proxy.calls.apply;
    await c.resync();
    await waitFor('route restored', () => h.proxy.table()!.workspaces.length === 1);
    expect(h.proxy.table()).toEqual(routes);
    expect(h.proxy.calls.apply).toBe(applies + 1);
  });

  it('restores a port route removed from the proxy, found by the resync', async () => {
    const routes = h.proxy.table();
    h.proxy.removeRoute('run', 3000);
    await c.resync();
    await waitFor('port route restored', () => h.proxy.table()!.ports.length === 1);
    expect(h.proxy.table()).toEqual(routes);
  });

  it('reloads the whole table into a proxy restarted empty (reported by the proxy)', async () => {
    const routes = h.proxy.table();
    h.proxy.reset();
    await waitFor('table back', () => h.proxy.table()?.workspaces.length === 1);
    expect(h.proxy.table()).toEqual(routes);
  });
});
