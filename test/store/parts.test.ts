// The store's parts on their own: the watch hub, the write health, the Port index as the
// controller reads it, and the previous object a MODIFIED event carries.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { validateManifest, type Port } from '../../specs/index.js';
import { Store, type Resource, type WatchEvent } from '../../store/index.js';
import { WatchHub } from '../../store/watch-hub.js';
import { WriteHealth } from '../../store/write-health.js';

const obj = (kind: string, name: string, rv: number): Resource => ({
  apiVersion: 'tidepool/v1',
  kind,
  metadata: { name, resourceVersion: String(rv) },
});

describe('WatchHub', () => {
  it('broadcasts by kind, replays what is kept and answers 410 below it', () => {
    const hub = new WatchHub(2, 10);
    const all: string[] = [];
    const ports: string[] = [];
    hub.watch({}, (e) => all.push(e.object.metadata.name));
    hub.watch({ kind: 'Port' }, (e) => ports.push(e.object.metadata.name));
    hub.publish([
      { type: 'ADDED', object: obj('Workspace', 'a', 11) },
      { type: 'ADDED', object: obj('Port', 'p', 12) },
      { type: 'ADDED', object: obj('Workspace', 'b', 13) },
    ]);
    expect(all).toEqual(['a', 'p', 'b']);
    expect(ports).toEqual(['p']);
    const replayed: string[] = [];
    hub.watch({ resourceVersion: '11' }, (e) => replayed.push(e.object.metadata.name));
    expect(replayed).toEqual(['p', 'b']);
    expect(() => hub.watch({ resourceVersion: '10' }, () => {})).toThrow(/too old resource version: 10 \(11\)/);
  });
});

describe('WriteHealth', () => {
  it('probes while failing and is healthy again once a write lands', async () => {
    vi.useFakeTimers();
    try {
      const probe = vi.fn(async () => {});
      const health = new WriteHealth(1000, () => Date.parse('2026-06-01T12:00:00Z'), probe);
      expect(health.health()).toEqual({ writable: true });
      health.failed(new Error('ENOSPC'));
      expect(health.health()).toEqual({ writable: false, error: 'ENOSPC', since: '2026-06-01T12:00:00.000Z' });
      await vi.advanceTimersByTimeAsync(2500);
      expect(probe).toHaveBeenCalledTimes(2);
      health.recovered();
      await vi.advanceTimersByTimeAsync(2500);
      expect(probe).toHaveBeenCalledTimes(2);
      expect(health.failing).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});

const ws = (name: string) =>
  validateManifest({ apiVersion: 'tidepool/v1', kind: 'Workspace', metadata: { name }, spec: {} }).object as Resource;
const port = (name: string, workspace: string, n: number) =>
  validateManifest({
    apiVersion: 'tidepool/v1',
    kind: 'Port',
    metadata: { name },
    spec: { workspace, port: n },
  }).object as Resource;

describe('the Port index and previous objects', () => {
  it('lists the Ports of a workspace, follows a move, and tells watchers where a Port was', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tp-store-parts-'));
    const store = await Store.open(join(dir, 's.json'));
    await store.create(ws('a'));
    await store.create(port('p1', 'a', 3000));
    await store.create(port('p2', 'a', 3001));
    expect(
      store
        .portsOf('a')
        .map((p) => p.metadata.name)
        .sort(),
    ).toEqual(['p1', 'p2']);
    const seen: WatchEvent<Port>[] = [];
    const stop = store.watch({ kind: 'Port' }, (e) => seen.push(e));
    const cur = store.get('Port', 'p1')!;
    await store.update({ ...structuredClone(cur), spec: { workspace: 'b', port: 3000 } });
    stop();
    expect(store.portsOf('a').map((p) => p.metadata.name)).toEqual(['p2']);
    expect(store.portsOf('b').map((p) => p.metadata.name)).toEqual(['p1']);
    expect(seen.map((e) => [e.type, e.object.spec.workspace, e.previous?.spec.workspace])).toEqual([
      ['MODIFIED', 'b', 'a'],
    ]);
    await store.delete('Workspace', 'a');
    expect(store.portsOf('a')).toEqual([]);
    await store.close();
    const again = await Store.open(join(dir, 's.json'));
    expect(again.portsOf('b').map((p) => p.metadata.name)).toEqual(['p1']);
    await again.close();
  });
});
