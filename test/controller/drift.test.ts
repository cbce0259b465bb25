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

    it(`stops and keeps a managed VM that no Workspace declares, and reports it (${how})`, async () => {
      h.runtime.homeFiles.set('ghost', new Map());
      await h.runtime.createBehindBack(
        { name: 'ghost', image: 'default', cpu: 1, memoryBytes: 2 ** 30, start: true },
        { notify },
      );
      await resyncUnlessNotified();
      await waitFor('ghost stopped', () => h.runtime.snapshot().find((v) => v.name === 'ghost')?.state === 'Stopped');
      await waitFor('OrphanKept event', () =>
        eventsFor(h.store, 'ghost').some((e) => e.reason === 'OrphanKept' && e.type === 'Warning'),
      );
      expect(h.runtime.homeFiles.has('ghost')).toBe(true);
      expect(await c.orphans.list()).toEqual([{ name: 'ghost', instance: 'ghost', state: 'Stopped', home: true }]);
      expect(eventsFor(h.store, 'ghost').some((e) => e.reason === 'OrphanDeleted')).toBe(false);
    });
  }

  it('deletes an orphan only when asked, and refuses names that are not orphans', async () => {
    h.runtime.homeFiles.set('ghost', new Map());
    await h.runtime.createBehindBack(
      { name: 'ghost', image: 'default', cpu: 1, memoryBytes: 2 ** 30, start: true },
      { notify: true },
    );
    await waitFor('ghost stopped', () => h.runtime.snapshot().find((v) => v.name === 'ghost')?.state === 'Stopped');
    await c.resync();
    await c.idle();
    expect(h.runtime.snapshot().some((v) => v.name === 'ghost')).toBe(true);
    await expect(c.orphans.delete('run')).rejects.toThrow(/a Workspace of that name exists/);
    await expect(c.orphans.delete('nobody')).rejects.toThrow(/not found/);
    await c.orphans.delete('ghost');
    expect(h.runtime.snapshot().some((v) => v.name === 'ghost')).toBe(false);
    expect(h.runtime.homeFiles.has('ghost')).toBe(false);
    await waitFor('OrphanDeleted event', () => eventsFor(h.store, 'ghost').some((e) => e.reason === 'OrphanDeleted'));
    expect(await c.orphans.list()).toEqual([]);
  });

  it('keeps and reports a home left without VM or Workspace, and a Workspace of its name adopts it', async () => {
    h.runtime.homeFiles.set('lost', new Map([['notes.txt', 'work']]));
    await c.resync();
    await waitFor('OrphanKept event', () => eventsFor(h.store, 'lost').some((e) => e.reason === 'OrphanKept'));
    expect(await c.orphans.list()).toEqual([{ name: 'lost', instance: 'lost', home: true }]);
    await h.store.create(workspace('lost'));
    await h.ready('lost');
    expect(h.runtime.homeFiles.get('lost')?.get('notes.txt')).toBe('work');
    expect(await c.orphans.list()).toEqual([]);
  });

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
