// What the store accepts, it can load: every write is checked against what the loader checks
// (one function, store/stored-object.ts), whoever writes it — an update, a status write, an
// apply straight into the store (the sync's path), not only the REST API. A refused write is
// a 422 naming the field, nothing is stored, and the file opens again.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store, isStoreError } from '../../store/index.js';
import { applyDocuments } from '../../store/apply/index.js';

const workspace = (name: string) => ({
  apiVersion: 'tidepool/v1',
  kind: 'Workspace',
  metadata: { name },
  spec: { image: 'default', running: true, resources: { cpu: 2, memory: '4Gi' } },
});

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function open(): Promise<{ store: Store; path: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'tp-write-'));
  dirs.push(dir);
  const path = join(dir, 'store.json');
  return { store: await Store.open(path), path };
}

async function refusedField(p: Promise<unknown>): Promise<string | undefined> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isStoreError(err, 'Invalid')).toBe(true);
  return (err as { details?: { causes?: { field?: string }[] } }).details?.causes?.[0]?.field;
}

describe('a write the loader would refuse', () => {
  it('is refused with the field (an update with a manager of 129 characters), and nothing is stored', async () => {
    const { store, path } = await open();
    await store.create(workspace('a'));
    const next = structuredClone(store.get('Workspace', 'a')!);
    next.metadata.managedFields = [
      { manager: 'm'.repeat(129), operation: 'Update', time: '2026-01-01T00:00:00Z', fields: ['spec.running'] },
    ];
    next.spec.running = false;
    expect(await refusedField(store.update(next))).toBe('metadata.managedFields[0].manager');
    expect(store.get('Workspace', 'a')!.spec.running).toBe(true);
    await store.close();
    const again = await Store.open(path);
    expect(again.get('Workspace', 'a')!.spec.running).toBe(true);
    await again.close();
  });

  it('is refused when an apply straight into the store names a manager too long (the sync path)', async () => {
    const { store, path } = await open();
    const field = await refusedField(applyDocuments(store, [workspace('b')], { fieldManager: 'x'.repeat(200) }));
    expect(field).toBe('metadata.managedFields[0].manager');
    expect(store.get('Workspace', 'b')).toBeUndefined();
    await store.close();
    const again = await Store.open(path);
    expect(again.list('Workspace').items).toEqual([]);
    await again.close();
  });

  it('is refused for a status the loader would refuse', async () => {
    const { store } = await open();
    await store.create(workspace('c'));
    const bad = { phase: 'Running', conditions: [{ type: 'Ready', status: 'Maybe' }] };
    const field = await refusedField(store.updateStatus('Workspace', 'c', bad as never));
    expect(field).toMatch(/^status\.conditions\[0\]/);
    await store.close();
  });
});
