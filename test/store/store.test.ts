import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store, StoreOpenError, parseSelector, type WatchEvent } from '../../store/index.js';
import { validateManifest } from '../../specs/index.js';

const ws = (name: string, spec: object = {}, labels?: Record<string, string>) =>
  validateManifest({
    apiVersion: 'tidepool/v1',
    kind: 'Workspace',
    metadata: { name, ...(labels ? { labels } : {}) },
    spec,
  }).object as any;
const port = (name: string, workspace: string, n: number) =>
  validateManifest({ apiVersion: 'tidepool/v1', kind: 'Port', metadata: { name }, spec: { workspace, port: n } })
    .object as any;

async function fresh() {
  const dir = await mkdtemp(join(tmpdir(), 'tp-store-'));
  const path = join(dir, 'store.json');
  return { path, store: await Store.open(path) };
}

describe('Store', () => {
  it('a status write is frozen, keeps the earlier object as it was, and copies the status it was given', async () => {
    const { path, store } = await fresh();
    const before = await store.create(ws('alice', {}, { team: 'web' }));
    const given = {
      phase: 'Running',
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Running', message: 'ok', lastTransitionTime: '2026-12-07T06:30:15Z' },
      ],
    };
    const after = await store.updateStatus('Workspace', 'alice', given as any);
    given.phase = 'Failed';
    given.conditions[0]!.status = 'False';
    expect(after.status).toMatchObject({ phase: 'Running', conditions: [{ status: 'True' }] });
    expect(before.status).toEqual({});
    expect(before.metadata.resourceVersion).not.toBe(after.metadata.resourceVersion);
    for (const o of [
      after,
      after.metadata,
      after.metadata.labels,
      after.spec,
      after.status,
      after.status!.conditions![0],
    ])
      expect(Object.isFrozen(o)).toBe(true);
    expect((await Store.open(path)).get('Workspace', 'alice')).toEqual(after);
  });

  it('sets server fields, bumps generation only on spec change, and persists', async () => {
    const { path, store } = await fresh();
    const a = await store.create(ws('alice'));
    expect(a.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.metadata.generation).toBe(1);
    expect(a.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const b = await store.update({ ...ws('alice', {}, { team: 'web' }) });
    expect(b.metadata.generation).toBe(1);
    expect(Number(b.metadata.resourceVersion)).toBeGreaterThan(Number(a.metadata.resourceVersion));
    const c = await store.update(ws('alice', { running: false }, { team: 'web' }));
    expect(c.metadata.generation).toBe(2);
    const same = await store.update(ws('alice', { running: false }, { team: 'web' }));
    expect(same.metadata.resourceVersion).toBe(c.metadata.resourceVersion);
    const reopened = await Store.open(path);
    expect(reopened.get('Workspace', 'alice')).toEqual(c);
    expect(reopened.resourceVersion).toBe(store.resourceVersion);
  });

  it('rejects a stale resourceVersion and an existing name', async () => {
    const { store } = await fresh();
    const a = await store.create(ws('alice'));
    await store.update({
      ...ws('alice', { running: false }),
      metadata: { name: 'alice', resourceVersion: a.metadata.resourceVersion },
    });
    await expect(
      store.update({
        ...ws('alice', { running: true }),
        metadata: { name: 'alice', resourceVersion: a.metadata.resourceVersion },
      }),
    ).rejects.toMatchObject({ reason: 'Conflict' });
    await expect(store.create(ws('alice'))).rejects.toMatchObject({ reason: 'AlreadyExists' });
  });

  it('keeps an object with finalizers until they are removed, then drops its Ports', async () => {
    const { store } = await fresh();
    await store.create({ ...ws('alice'), metadata: { name: 'alice', finalizers: ['tidepool/vm'] } });
    const p = await store.create(port('alice-3000', 'alice', 3000));
    expect(p.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Workspace', name: 'alice' });
    const d = await store.delete('Workspace', 'alice');
    expect(d.metadata.deletionTimestamp).toBeDefined();
    expect(store.get('Workspace', 'alice')).toBeDefined();
    const cur = store.get('Workspace', 'alice')!;
    await store.update({
      ...structuredClone(cur),
      metadata: { ...structuredClone(cur.metadata), finalizers: [] },
    } as any);
    expect(store.get('Workspace', 'alice')).toBeUndefined();
    expect(store.get('Port', 'alice-3000')).toBeUndefined();
  });

  it('allows at most 5 Ports per Workspace and one Port per workspace port', async () => {
    const { store } = await fresh();
    for (let i = 0; i < 5; i++) await store.create(port(`p${i}`, 'alice', 3000 + i));
    await expect(store.create(port('p5', 'alice', 4000))).rejects.toMatchObject({
      reason: 'Invalid',
      message: expect.stringMatching(/at most 5 Ports/),
    });
    await expect(store.create(port('dup', 'bob', 3000))).resolves.toBeDefined();
    await expect(store.create(port('dup2', 'bob', 3000))).rejects.toMatchObject({
      reason: 'Invalid',
      details: { causes: [{ field: 'spec.port' }] },
    });
  });

  it('replays watch history from a resourceVersion and answers 410 when it is gone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tp-store-'));
    const store = await Store.open(join(dir, 's.json'), { historySize: 3 });
    const first = await store.create(ws('a'));
    for (const n of ['b', 'c', 'd', 'e']) await store.create(ws(n));
    expect(() => store.watch({ resourceVersion: first.metadata.resourceVersion }, () => {})).toThrow(/too old/);
    const seen: WatchEvent[] = [];
    const stop = store.watch({ kind: 'Workspace', resourceVersion: String(Number(store.resourceVersion) - 2) }, (e) =>
      seen.push(e),
    );
    await store.delete('Workspace', 'e');
    stop();
    expect(seen.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED d', 'ADDED e', 'DELETED e']);
  });

  it('refuses to open a corrupt file and leaves it untouched', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tp-store-'));
    const path = join(dir, 'store.json');
    await writeFile(path, '{"format": "tidepool.store/v1", "objects": {');
    await expect(Store.open(path)).rejects.toBeInstanceOf(StoreOpenError);
    expect(await readFile(path, 'utf8')).toBe('{"format": "tidepool.store/v1", "objects": {');
  });

  it('parses kubectl label selectors', () => {
    const s = parseSelector('team=web,env in (dev, prod),!legacy,tier!=db');
    expect(s({ team: 'web', env: 'dev' })).toBe(true);
    expect(s({ team: 'web', env: 'qa' })).toBe(false);
    expect(s({ team: 'web', env: 'dev', legacy: 'y' })).toBe(false);
    expect(s({ team: 'web', env: 'dev', tier: 'db' })).toBe(false);
    expect(() => parseSelector('a in (b')).toThrow(/labelSelector/);
  });
});
