// The store file is validated at start with the API's schemas: a bad object or counter
// refuses the start naming the file, the object and the field, and nothing is touched.
// Leftovers of an interrupted write are cleaned.
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store, StoreOpenError } from '../../store/index.js';

const good = (name: string, rv: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'tidepool/v1',
  kind: 'Workspace',
  metadata: { name, uid: `uid-${name}`, generation: 1, resourceVersion: rv, creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { image: 'default', running: true, resources: { cpu: 2, memory: '4Gi' }, ...spec },
  status: {},
});

async function storeWith(objects: Record<string, Record<string, unknown>>, resourceVersion = 10) {
  const dir = await mkdtemp(join(tmpdir(), 'tp-load-'));
  const path = join(dir, 'store.json');
  const text = JSON.stringify({ format: 'tidepool.store/v1', resourceVersion, objects });
  await writeFile(path, text);
  return { dir, path, text };
}

async function refused(objects: Record<string, Record<string, unknown>>, resourceVersion?: number): Promise<string> {
  const { dir, path, text } = await storeWith(objects, resourceVersion);
  const before = await readdir(dir);
  const err = await Store.open(path).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err).toBeInstanceOf(StoreOpenError);
  expect(err!.message).toContain(path);
  expect(await readFile(path, 'utf8')).toBe(text);
  expect(await readdir(dir)).toEqual(before);
  return err!.message;
}

describe('loading the store file', () => {
  it('refuses an object stored as null, naming it', async () => {
    const msg = await refused({ Workspace: { a: good('a', '1'), b: null } });
    expect(msg).toContain('Workspace "b"');
    expect(msg).toContain('expected an object, got null');
  });

  it('refuses cpu: "lots", naming the object and the field', async () => {
    const msg = await refused({ Workspace: { a: good('a', '1', { resources: { cpu: 'lots', memory: '4Gi' } }) } });
    expect(msg).toContain('Workspace "a"');
    expect(msg).toContain('spec.resources.cpu');
  });

  it('refuses an unknown field and a memory out of range', async () => {
    expect(await refused({ Workspace: { a: { ...good('a', '1'), extra: true } } })).toMatch(/Workspace "a".*extra/);
    expect(await refused({ Workspace: { a: good('a', '1', { resources: { cpu: 2, memory: '1Ki' } }) } })).toContain(
      'spec.resources.memory',
    );
  });

  it("refuses a counter lower than an object's resourceVersion (versions would repeat)", async () => {
    const msg = await refused({ Workspace: { a: good('a', '12') } }, 10);
    expect(msg).toContain('resourceVersion 10 is lower than that of Workspace "a" (12)');
  });

  it('refuses a resourceVersion that is not decimal, an object under the wrong name, an unknown kind', async () => {
    expect(await refused({ Workspace: { a: good('a', '0x1') } })).toContain('metadata.resourceVersion');
    expect(await refused({ Workspace: { b: good('a', '1') } })).toContain('metadata.name');
    expect(await refused({ Gizmo: { a: { ...good('a', '1'), kind: 'Gizmo' } } })).toContain('unknown kind "Gizmo"');
  });

  it('loads a good file, removes an interrupted snapshot write and a half journal line', async () => {
    const { dir, path } = await storeWith({ Workspace: { a: good('a', '1') } }, 1);
    await writeFile(join(dir, '.store.json.tmp'), '{"format": "tidepool.sto');
    // One whole journal line, then half of one (a kill during an append: never acknowledged).
    const line = JSON.stringify({ rv: 2, put: [good('b', '2')] });
    await writeFile(`${path}.journal`, `${line}\n{"rv":3,"put":[{"apiVers`);
    const store = await Store.open(path);
    expect(
      store
        .list('Workspace')
        .items.map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['a', 'b']);
    expect(store.resourceVersion).toBe('2');
    expect(await readdir(dir)).not.toContain('.store.json.tmp');
    expect(await readFile(`${path}.journal`, 'utf8')).toBe(`${line}\n`);
    await store.close();
  });

  it('refuses a journal line that is not JSON in the middle, naming the line', async () => {
    const { path } = await storeWith({}, 0);
    await writeFile(`${path}.journal`, `not json\n${JSON.stringify({ rv: 1, put: [good('a', '1')] })}\n`);
    const err = await Store.open(path).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(StoreOpenError);
    expect(err!.message).toContain(`${path}.journal, line 1`);
  });
});

describe('a store file written before Events had their own', () => {
  it('moves its Events to the Events file at start, and keeps them', async () => {
    const ev = {
      apiVersion: 'tidepool/v1',
      kind: 'Event',
      metadata: {
        name: 'e1',
        uid: 'u-e1',
        generation: 1,
        resourceVersion: '2',
        creationTimestamp: '2026-01-01T00:00:00Z',
      },
      regarding: { kind: 'Workspace', name: 'a' },
      reason: 'Created',
      note: 'made',
      type: 'Normal',
      count: 1,
      firstTimestamp: '2026-01-01T00:00:00Z',
      lastTimestamp: '2026-01-01T00:00:00Z',
    };
    const { path } = await storeWith({ Workspace: { a: good('a', '1') }, Event: { e1: ev } }, 2);
    const store = await Store.open(path, { eventTtlMs: 1e12 });
    expect(store.list('Event').items.map((e) => e.metadata.name)).toEqual(['e1']);
    await store.close();
    expect(Object.keys(JSON.parse(await readFile(path, 'utf8')).objects)).toEqual(['Workspace']);
    expect(
      Object.keys(JSON.parse(await readFile(path.replace(/\.json$/, '.events.json'), 'utf8')).objects.Event),
    ).toEqual(['e1']);
    const again = await Store.open(path, { eventTtlMs: 1e12 });
    expect(again.list('Event').items.map((e) => e.metadata.name)).toEqual(['e1']);
    expect(again.resourceVersion).toBe('2');
    await again.close();
  });
});

describe('the journal', () => {
  it('folds into a new snapshot in the background and loads back the same state', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tp-journal-'));
    const path = join(dir, 'store.json');
    const store = await Store.open(path, { journal: { compactBytes: 8 * 1024, sync: false } });
    for (let i = 0; i < 60; i++) {
      const o = good(`w${i}`, '');
      await store.create({ ...o, metadata: { name: o.metadata.name, labels: { n: String(i) } } } as never);
    }
    for (let i = 0; i < 60; i += 2) await store.delete('Workspace', `w${i}`);
    await store.close();
    const snap = JSON.parse(await readFile(path, 'utf8'));
    // The snapshot has moved on from the empty one written at creation.
    expect(snap.resourceVersion).toBeGreaterThan(0);
    const again = await Store.open(path);
    expect(
      again
        .list('Workspace')
        .items.map((o) => o.metadata.name)
        .sort(),
    ).toEqual(Array.from({ length: 30 }, (_, i) => `w${2 * i + 1}`).sort());
    expect(again.resourceVersion).toBe('90');
    await again.close();
  });
});
