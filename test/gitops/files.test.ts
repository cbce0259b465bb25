import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSyncDirFlag } from '../../server/sync-dirs.js';
import { Debouncer } from '../../gitops/debounce.js';
import {
  FolderError,
  isIgnoredName,
  nameForFolder,
  readManifests,
  revisionOf,
  watchIgnored,
} from '../../gitops/files.js';
import { mergeConditions } from '../../gitops/status.js';
import { waitFor } from './helpers.js';

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});
async function tmp() {
  const r = await mkdtemp(join(tmpdir(), 'tp-gitops-files-'));
  roots.push(r);
  return r;
}

describe('parseSyncDirFlag', () => {
  it('takes NAME=DIR, or names the sync after the folder', () => {
    expect(parseSyncDirFlag('prod=/srv/manifests')).toEqual({ name: 'prod', dir: '/srv/manifests' });
    expect(parseSyncDirFlag('/srv/My Manifests_v2/')).toEqual({ name: 'my-manifests-v2', dir: '/srv/My Manifests_v2' });
    expect(parseSyncDirFlag('rel/dir')).toEqual({ name: 'dir', dir: resolve('rel/dir') });
    // An "=" inside a path is part of the path.
    expect(parseSyncDirFlag('/srv/a=b')).toEqual({ name: 'a-b', dir: '/srv/a=b' });
    expect(() => parseSyncDirFlag('Prod=/srv/x')).toThrow(/DNS label/);
    expect(() => parseSyncDirFlag('')).toThrow(/needs a folder/);
  });

  it('makes any base name a DNS label', () => {
    expect(nameForFolder('/x/.gitops')).toBe('gitops');
    expect(nameForFolder('/x/___')).toBe('sync');
    expect(nameForFolder('/')).toBe('sync');
    expect(nameForFolder(`/x/${'a'.repeat(70)}`)).toHaveLength(63);
    expect(nameForFolder(`/x/${'a'.repeat(62)}-b`)).toBe('a'.repeat(62));
  });
});

describe('which files are manifests', () => {
  it('ignores dotfiles, swap, backup and temp files', () => {
    for (const n of [
      '.git',
      '.a.yaml',
      '.#a.yaml',
      'a.yaml.swp',
      'a.swx',
      'a.yaml~',
      '4913',
      'a.tmp',
      'a.yaml.bak',
      '#a.yaml#',
    ]) {
      expect(isIgnoredName(n), n).toBe(true);
    }
    for (const n of ['a.yaml', 'a.yml', 'a.json', 'dir', '4914']) expect(isIgnoredName(n), n).toBe(false);
  });

  it('tells chokidar to skip ignored paths and non-manifest files but not folders', () => {
    const ign = watchIgnored('/r');
    const file = { isFile: () => true } as any;
    const dirStat = { isFile: () => false } as any;
    expect(ign('/r')).toBe(false);
    expect(ign('/r/a.yaml', file)).toBe(false);
    expect(ign('/r/a.txt', file)).toBe(true);
    expect(ign('/r/sub', dirStat)).toBe(false);
    expect(ign('/r/.git')).toBe(true);
    expect(ign('/r/.git/x.yaml', file)).toBe(true);
    expect(ign('/r/sub/x.yaml~')).toBe(true);
  });

  it('reads manifests recursively, sorted, following links; the revision depends on paths and contents only', async () => {
    const r = await tmp();
    await mkdir(join(r, 'b/c'), { recursive: true });
    await mkdir(join(r, '.git'));
    await writeFile(join(r, 'b/c/z.yaml'), 'z');
    await writeFile(join(r, 'a.json'), '{}');
    await writeFile(join(r, 'b/m.YML'), 'm');
    await writeFile(join(r, 'b/readme.md'), 'no');
    await writeFile(join(r, '.git/x.yaml'), 'no');
    await symlink(join(r, 'b'), join(r, 'link')); // a link to a folder already read: read once
    await symlink(join(r, 'nowhere.yaml'), join(r, 'dangling.yaml'));
    const files = await readManifests(r);
    expect(files.map((f) => f.path)).toEqual(['a.json', 'b/c/z.yaml', 'b/m.YML']);
    const rev = revisionOf(files);
    expect(rev).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(revisionOf([...files])).toBe(rev);
    expect(revisionOf(files.map((f) => (f.path === 'a.json' ? { ...f, text: '{ }' } : f)))).not.toBe(rev);
    expect(revisionOf(files.map((f) => (f.path === 'a.json' ? { ...f, path: 'a2.json' } : f)))).not.toBe(rev);
    // Moving content between files is a different revision.
    expect(revisionOf([{ path: 'a', text: 'bc' }])).not.toBe(revisionOf([{ path: 'ab', text: 'c' }]));
  });

  it('reports a missing folder, and a file where a folder should be', async () => {
    const r = await tmp();
    await expect(readManifests(join(r, 'nope'))).rejects.toMatchObject({ reason: 'FolderNotFound' });
    await writeFile(join(r, 'file'), '');
    const err = await readManifests(join(r, 'file')).catch((e) => e);
    expect(err).toBeInstanceOf(FolderError);
    expect(err.reason).toBe('FolderNotFound');
  });
});

describe('Debouncer', () => {
  it('calls once after a burst, and at the latest maxWait after the first event', async () => {
    let calls = 0;
    const d = new Debouncer(() => calls++, 30, 10_000);
    for (let i = 0; i < 20; i++) d.trigger();
    expect(d.pending).toBe(true);
    await waitFor(() => calls === 1, 'one call');
    expect(d.pending).toBe(false);

    // Events every 10 ms forever would never be quiet for 50 ms: maxWait ends the wait.
    let capped = 0;
    const c = new Debouncer(() => capped++, 50, 150);
    const t = setInterval(() => c.trigger(), 10);
    c.trigger();
    try {
      await waitFor(() => capped >= 1, 'the max-wait call');
    } finally {
      clearInterval(t);
      c.cancel();
    }
  });
});

describe('conditions', () => {
  it('keeps lastTransitionTime while the status stays', () => {
    const a = mergeConditions(undefined, [{ type: 'Ready', status: 'True', reason: 'Applied', message: 'x' }], 't1');
    const b = mergeConditions(a, [{ type: 'Ready', status: 'True', reason: 'Applied', message: 'y' }], 't2');
    expect(b[0]).toMatchObject({ message: 'y', lastTransitionTime: 't1' });
    const c = mergeConditions(
      b,
      [
        { type: 'Ready', status: 'False', reason: 'BuildFailed', message: 'z' },
        { type: 'Stalled', status: 'True', reason: 'BuildFailed', message: 'z' },
      ],
      't3',
    );
    expect(c.map((x) => [x.type, x.lastTransitionTime])).toEqual([
      ['Ready', 't3'],
      ['Stalled', 't3'],
    ]);
  });
});

describe('startSyncs', () => {
  it('refuses two folders that would be one sync, before starting anything', async () => {
    const { startSyncs } = await import('../../server/sync-dirs.js');
    const { Store } = await import('../../store/index.js');
    const r = await tmp();
    const store = await Store.open(join(r, 'store.json'));
    await expect(startSyncs([join(r, 'a/manifests'), join(r, 'b/manifests')], { store })).rejects.toThrow(
      /two folders would be the sync "manifests"/,
    );
    expect(store.list('Sync').items).toEqual([]);
    const both = await startSyncs([join(r, 'a/manifests'), `other=${join(r, 'b/manifests')}`], { store });
    expect(both.syncs.map((s) => s.name)).toEqual(['manifests', 'other']);
    expect(
      store
        .list('Sync')
        .items.map((s) => s.metadata.name)
        .sort(),
    ).toEqual(['manifests', 'other']);
    await both.stop();
    await store.close();
  });
});
