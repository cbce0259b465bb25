import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FINALIZER } from '../../controller/index.js';
import type { Workspace } from '../../specs/index.js';
import { cond, eventsFor, harness, port, waitFor, workspace, type Harness } from './helpers.js';

describe('workspace lifecycle', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('creates a VM and reports Running and Ready with ip, url, routes and port status', async () => {
    await h.start();
    await h.store.transaction((tx) => {
      tx.create(workspace('alice', { resources: { cpu: 2, memory: '1Gi' } }));
      tx.create(port('alice-3000', 'alice', 3000));
    });
    const ws = await h.ready('alice');
    expect(ws.metadata.finalizers).toContain(FINALIZER);
    expect(ws.status).toMatchObject({ phase: 'Running', url: '/workspace/alice/', observedGeneration: 1 });
    expect(ws.status!.ip).toMatch(/^127\.77\.\d+\.\d+$/);
    expect(ws.status!.lastStartedTime).toMatch(/Z$/);
    for (const t of ['VMReady', 'RouteReady', 'Ready'])
      expect(cond(ws, t)).toMatchObject({ status: 'True', observedGeneration: 1 });
    expect(h.runtime.snapshot()).toEqual([
      expect.objectContaining({ name: 'alice', state: 'Running', cpu: 2, memoryBytes: 2 ** 30, image: 'default' }),
    ]);
    await waitFor('port route', () => h.proxy.table()?.ports.length === 1);
    expect(h.proxy.table()).toEqual({
      workspaces: [{ name: 'alice', upstream: `${ws.status!.ip}:8080` }],
      ports: [{ workspace: 'alice', port: 3000, upstream: `${ws.status!.ip}:3000` }],
    });
    const p = await waitFor('port Ready', () => {
      const o = h.store.get('Port', 'alice-3000');
      return cond(o, 'Ready')?.status === 'True' ? o : undefined;
    });
    expect(p.status).toMatchObject({ url: '/workspace/alice/port/3000/', phase: 'Ready' });

    const evs = await waitFor('Created event', () => {
      const e = eventsFor(h.store, 'alice');
      return e.some((x) => x.reason === 'Created') ? e : undefined;
    });
    expect(evs[0]).toMatchObject({
      type: 'Normal',
      count: 1,
      reportingController: 'tidepool-controller',
      regarding: { kind: 'Workspace', name: 'alice', uid: ws.metadata.uid },
    });
    const log = await waitFor('events.jsonl', () => readFile(join(h.dir, '.logs', 'alice', 'events.jsonl'), 'utf8'));
    // The home is made first (its own volume), then the VM with it attached.
    expect(
      log
        .trim()
        .split('\n')
        .slice(0, 2)
        .map((l) => JSON.parse(l) as { reason: string })
        .map((e) => e.reason),
    ).toEqual(['HomeCreated', 'Created']);
  });

  it("a new workspace's create says ImageApplied and ResourcesApplied in its own status write", async () => {
    await h.start();
    const statuses: (Workspace['status'] | undefined)[] = [];
    const stop = h.store.watch({ kind: 'Workspace' }, (ev) => {
      if (ev.object.metadata.name === 'carol') statuses.push(ev.object.status);
    });
    try {
      await h.store.create(workspace('carol', { resources: { cpu: 2, memory: '1Gi' } }));
      // The watch is told after the write is durable: wait for it to have seen Ready, too.
      await waitFor('Ready seen by the watch', () =>
        statuses.some((s) => s?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')),
      );
    } finally {
      stop();
    }
    // The first status that says the VM runs (the create's own write) already says both:
    // no status write of their own follows on the next pass.
    const running = statuses.find((s) => s?.conditions?.some((c) => c.type === 'VMReady' && c.status === 'True'));
    expect(running?.conditions?.find((c) => c.type === 'ImageApplied')).toMatchObject({
      status: 'True',
      reason: 'Applied',
    });
    expect(running?.conditions?.find((c) => c.type === 'ResourcesApplied')).toMatchObject({
      status: 'True',
      reason: 'Applied',
      message: 'The instance has 2 vCPU, 1Gi, as spec.resources asks.',
    });
  });

  it('stops and starts the VM to match spec.running', async () => {
    await h.start();
    await h.store.transaction((tx) => {
      tx.create(workspace('bob'));
      tx.create(port('bob-8000', 'bob', 8000));
    });
    const first = await h.ready('bob');

    await h.setSpec('bob', { running: false });
    const stopped = await waitFor('bob Stopped', () => {
      const w = h.ws('bob');
      return w?.status?.phase === 'Stopped' ? w : undefined;
    });
    expect(cond(stopped, 'Ready')).toMatchObject({ status: 'False', reason: 'Stopped' });
    expect(cond(stopped, 'VMReady')).toMatchObject({ status: 'False', reason: 'Stopped' });
    expect(stopped.status!.ip).toBeUndefined();
    expect(stopped.status!.observedGeneration).toBe(2);
    expect(h.runtime.snapshot()[0]).toMatchObject({ name: 'bob', state: 'Stopped' });
    await waitFor(
      'routes dropped',
      () => h.proxy.table()?.workspaces.length === 0 && h.proxy.table()?.ports.length === 0,
    );
    await waitFor(
      'port WorkspaceStopped',
      () => cond(h.store.get('Port', 'bob-8000'), 'Ready')?.reason === 'WorkspaceStopped',
    );

    await h.setSpec('bob', { running: true });
    const again = await waitFor('bob Ready again', () => {
      const w = h.ws('bob');
      return w?.status?.observedGeneration === 3 && cond(w, 'Ready')?.status === 'True' ? w : undefined;
    });
    expect(h.runtime.snapshot()[0]).toMatchObject({ state: 'Running' });
    expect(Date.parse(again.status!.lastStartedTime!)).toBeGreaterThanOrEqual(
      Date.parse(first.status!.lastStartedTime!),
    );
    await waitFor('port Ready again', () => cond(h.store.get('Port', 'bob-8000'), 'Ready')?.status === 'True');
    // Events are gathered for a moment before they are written: wait for the last one.
    const reasons = await waitFor('Started event', () => {
      const r = eventsFor(h.store, 'bob').map((e) => e.reason);
      return r.includes('Started') ? r : undefined;
    });
    expect(reasons).toEqual(expect.arrayContaining(['Created', 'Stopped', 'Started']));
  });

  it('creates a workspace declared stopped without starting it', async () => {
    await h.start();
    await h.store.create(workspace('cold', { running: false }));
    await waitFor('cold Stopped', () => h.ws('cold')?.status?.phase === 'Stopped');
    expect(h.runtime.snapshot()).toEqual([expect.objectContaining({ name: 'cold', state: 'Stopped' })]);
    expect(h.runtime.calls.start).toBe(0);
  });

  it('deletes: routes first, then the VM, then the finalizer; the object and its ports go', async () => {
    await h.start();
    await h.store.transaction((tx) => {
      tx.create(workspace('carol'));
      tx.create(port('carol-3000', 'carol', 3000));
      tx.create(port('carol-3001', 'carol', 3001));
    });
    await h.ready('carol');
    await waitFor('port routes', () => h.proxy.table()?.ports.length === 2);
    const routedAtDelete: boolean[] = [];
    const realDelete = h.runtime.delete.bind(h.runtime);
    h.runtime.delete = async (name) => {
      routedAtDelete.push(
        !!h.proxy.table()?.workspaces.some((w) => w.name === name) ||
          !!h.proxy.table()?.ports.some((p) => p.workspace === name),
      );
      return realDelete(name);
    };
    await h.store.delete('Workspace', 'carol');
    await waitFor('carol gone', () => !h.ws('carol'));
    expect(h.runtime.snapshot()).toEqual([]);
    expect(routedAtDelete).toEqual([false]);
    expect(h.store.list('Port').items).toEqual([]);
    expect(h.proxy.table()).toEqual({ workspaces: [], ports: [] });
    await waitFor('Deleted event', () => eventsFor(h.store, 'carol').some((e) => e.reason === 'Deleted'));
  });

  it('reports a Port whose workspace does not exist, and routes it once it does', async () => {
    await h.start();
    await h.store.create(port('dave-3000', 'dave', 3000));
    await waitFor(
      'WorkspaceNotFound',
      () => cond(h.store.get('Port', 'dave-3000'), 'Ready')?.reason === 'WorkspaceNotFound',
    );
    await h.store.create(workspace('dave'));
    await h.ready('dave');
    await waitFor('port Ready', () => cond(h.store.get('Port', 'dave-3000'), 'Ready')?.status === 'True');
  });
});
