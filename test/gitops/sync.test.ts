import { mkdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyDocuments } from '../../store/apply/index.js';
import { kindByName, validateManifest, validateStatus } from '../../specs/index.js';
import { applysetFor, SYNC_ANNOTATION, SYNC_FILE_ANNOTATION } from '../../gitops/index.js';
import { cleanupAll, harness, portYaml, waitFor, workspaceYaml } from './helpers.js';

afterEach(cleanupAll);

const ten = () =>
  Object.fromEntries(
    Array.from({ length: 10 }, (_, i) => [`ws-${String(i).padStart(2, '0')}.yaml`, workspaceYaml(`ws-${i}`)]),
  );

describe('sync: applying a folder', () => {
  it('applies every manifest at start, stamps ownership, and reports Ready with revision and inventory', async () => {
    const h = await harness({
      'alice.yaml': `${workspaceYaml('alice', { resources: { cpu: 4 } })}---\n${portYaml('alice-3000', 'alice', 3000)}`,
      'team/bob.yml': workspaceYaml('bob', { running: false }),
      'carol.json': JSON.stringify({
        apiVersion: 'tidepool/v1',
        kind: 'Workspace',
        metadata: { name: 'carol' },
        spec: {},
      }),
    });
    // startSync resolves after the first apply: no waiting needed.
    expect(h.ws('alice')?.spec.resources.cpu).toBe(4);
    expect(h.ws('bob')?.spec.running).toBe(false);
    expect(h.ws('carol')?.spec.image).toBe('default');
    expect(h.store.get('Port', 'alice-3000')?.spec.port).toBe(3000);
    expect(h.ws('alice')?.metadata.annotations).toMatchObject({
      [SYNC_ANNOTATION]: 'manifests',
      'tidepool/applyset': applysetFor('manifests'),
    });

    const sync = h.store.get('Sync', 'manifests')!;
    expect(sync.spec).toEqual({ path: h.dir, intervalSeconds: 60, allowEmptyPrune: false });
    const st = h.status();
    expect(st.lastAppliedRevision).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(st.lastAttemptedRevision).toBe(st.lastAppliedRevision);
    expect(st.lastAppliedTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(st.inventory).toEqual([
      { kind: 'Port', name: 'alice-3000' },
      { kind: 'Workspace', name: 'alice' },
      { kind: 'Workspace', name: 'bob' },
      { kind: 'Workspace', name: 'carol' },
    ]);
    expect(st.errors).toBeUndefined();
    expect(h.condition('Ready')).toMatchObject({ status: 'True', reason: 'Applied' });
    expect(h.condition('Stalled')).toMatchObject({ status: 'False' });
    expect(h.condition('Reconciling')).toMatchObject({ status: 'False' });
    // What the sync writes is a valid Sync status (what GET /api/v1/syncs serves).
    expect(validateStatus(kindByName('Sync')!, st)).toEqual([]);
    expect(h.events.filter((e) => e.reason === 'Applied')).toHaveLength(1);
    expect(h.events[0]).toMatchObject({ regarding: { kind: 'Sync', name: 'manifests' }, type: 'Normal' });
    expect(h.events[0]!.note).toMatch(/4 created/);
  });

  it('records on every object the file it came from, relative to the folder, and follows a move', async () => {
    const h = await harness({
      'alice.yaml': `${workspaceYaml('alice')}---\n${portYaml('alice-3000', 'alice', 3000)}`,
      'team/bob.yml': workspaceYaml('bob', {}, { [SYNC_FILE_ANNOTATION]: 'a lie', note: 'kept' }),
    });
    expect(SYNC_FILE_ANNOTATION).toBe('tidepool/sync-file');
    expect(h.ws('alice')!.metadata.annotations).toMatchObject({
      [SYNC_ANNOTATION]: 'manifests',
      [SYNC_FILE_ANNOTATION]: 'alice.yaml',
    });
    expect(h.store.get('Port', 'alice-3000')!.metadata.annotations![SYNC_FILE_ANNOTATION]).toBe('alice.yaml');
    // The sync says where an object came from: a value written in the file does not win.
    expect(h.ws('bob')!.metadata.annotations).toMatchObject({ [SYNC_FILE_ANNOTATION]: 'team/bob.yml', note: 'kept' });

    const uid = h.ws('alice')!.metadata.uid;
    await mkdir(join(h.dir, 'moved'));
    await rename(join(h.dir, 'alice.yaml'), join(h.dir, 'moved', 'alice.yml'));
    await waitFor(
      () => h.ws('alice')!.metadata.annotations![SYNC_FILE_ANNOTATION] === 'moved/alice.yml',
      'the new file recorded',
    );
    expect(h.ws('alice')!.metadata.uid).toBe(uid);
    // Objects applied any other way carry no file.
    await applyDocuments(h.store, [{ name: 'cli.yaml', text: workspaceYaml('by-cli') }]);
    expect(h.ws('by-cli')!.metadata.annotations?.[SYNC_FILE_ANNOTATION]).toBeUndefined();
  });

  it('follows files being created, edited, renamed and deleted', async () => {
    const h = await harness({ 'alice.yaml': workspaceYaml('alice') });
    const aliceUid = h.ws('alice')!.metadata.uid;

    await h.write('bob.yaml', workspaceYaml('bob'));
    await waitFor(() => h.ws('bob'), 'bob created');

    await h.write('alice.yaml', workspaceYaml('alice', { running: false }));
    await waitFor(() => h.ws('alice')?.spec.running === false, 'alice edited');
    expect(h.ws('alice')!.metadata.uid).toBe(aliceUid);
    expect(h.ws('alice')!.metadata.generation).toBe(2);

    // A rename moves the declaration: the object is neither pruned nor made again.
    const before = h.status().lastAppliedRevision;
    await mkdir(join(h.dir, 'moved'));
    await rename(join(h.dir, 'alice.yaml'), join(h.dir, 'moved', 'alice.yml'));
    await waitFor(() => h.status().lastAppliedRevision !== before, 'the rename applied');
    await h.sync.resync(); // events are recorded after the status
    expect(h.ws('alice')!.metadata.uid).toBe(aliceUid);
    expect(h.events.some((e) => e.reason === 'Pruned')).toBe(false);

    await unlink(join(h.dir, 'bob.yaml'));
    // The status is written just after the apply: wait for both.
    await waitFor(() => !h.ws('bob') && h.status().inventory?.length === 1, 'bob pruned');
    expect(h.ws('alice')!.metadata.uid).toBe(aliceUid);
    expect(h.status().inventory).toEqual([{ kind: 'Workspace', name: 'alice' }]);
    await h.sync.resync(); // events are recorded after the status: let that run finish
    const pruned = h.events.filter((e) => e.reason === 'Pruned');
    expect(pruned).toHaveLength(1);
    expect(pruned[0]!.note).toMatch(/Workspace\/bob/);
  });

  it('reads folders recursively and ignores dotfiles, dot-folders, swap, backup and temp files', async () => {
    const h = await harness({ 'a/b/c/deep.yaml': workspaceYaml('deep') });
    expect(h.ws('deep')).toBeDefined();
    const first = h.status().lastAppliedRevision;
    await h.write('.hidden.yaml', workspaceYaml('hidden'));
    await h.write('.git/objects.yaml', workspaceYaml('in-git'));
    await h.write('.#lock.yaml', workspaceYaml('lock'));
    await h.write('x.yaml.swp', workspaceYaml('swap'));
    await h.write('x.yaml~', workspaceYaml('backup'));
    await h.write('x.yaml.tmp', workspaceYaml('temp'));
    await h.write('4913', workspaceYaml('vim-probe'));
    await h.write('notes.txt', workspaceYaml('text'));
    await h.write('#x.yaml#', workspaceYaml('autosave'));
    // A real change after the noise: when it lands, the noise has long been seen.
    await h.write('real.yaml', workspaceYaml('real'));
    await waitFor(() => h.ws('real'), 'real applied');
    await h.sync.resync(); // the status is written just after the apply
    for (const n of ['hidden', 'in-git', 'lock', 'swap', 'backup', 'temp', 'vim-probe', 'text', 'autosave'])
      expect(h.ws(n), n).toBeUndefined();
    expect(h.status().lastAppliedRevision).not.toBe(first);
    expect(h.status().inventory).toEqual([
      { kind: 'Workspace', name: 'deep' },
      { kind: 'Workspace', name: 'real' },
    ]);
  });
});

describe('sync: one revision per change', () => {
  it('an atomic save (write a temp file, rename it over) is one revision', async () => {
    const h = await harness({ 'alice.yaml': workspaceYaml('alice'), 'bob.yaml': workspaceYaml('bob') });
    const start = h.revisions.length;
    await writeFile(join(h.dir, '.alice.yaml.tmp-1234'), workspaceYaml('alice', { resources: { cpu: 8 } }));
    await rename(join(h.dir, '.alice.yaml.tmp-1234'), join(h.dir, 'alice.yaml'));
    await waitFor(() => h.ws('alice')?.spec.resources.cpu === 8, 'the save applied');
    await h.sync.resync(); // anything still pending in the watcher has run by now
    expect(h.revisions.slice(start)).toHaveLength(1);
  });

  it("vim's save (probe file, backup by rename, write, remove backup) is one revision and never prunes the file's object", async () => {
    const h = await harness({ 'alice.yaml': workspaceYaml('alice'), 'bob.yaml': workspaceYaml('bob') });
    const uid = h.ws('alice')!.metadata.uid;
    const start = h.revisions.length;
    const f = join(h.dir, 'alice.yaml');
    await writeFile(join(h.dir, '4913'), '');
    await unlink(join(h.dir, '4913'));
    await rename(f, `${f}~`);
    await writeFile(f, workspaceYaml('alice', { running: false }));
    await unlink(`${f}~`);
    await waitFor(() => h.ws('alice')?.spec.running === false, 'the save applied');
    await h.sync.resync();
    expect(h.ws('alice')!.metadata.uid).toBe(uid);
    expect(h.revisions.slice(start)).toHaveLength(1);
    expect(h.events.some((e) => e.reason === 'Pruned')).toBe(false);
  });

  it('a burst of 50 writes is one revision', async () => {
    // A burst is writes closer together than the debounce period; 1 s keeps this so on a
    // loaded test machine (50 writes take ~30 ms on an idle one).
    const h = await harness({ 'seed.yaml': workspaceYaml('seed') }, { debounceMs: 1000 });
    const start = h.revisions.length;
    const appliedBefore = h.events.filter((e) => e.reason === 'Applied').length;
    for (let i = 0; i < 50; i++) await h.write(`burst-${i}.yaml`, workspaceYaml(`burst-${i}`));
    await waitFor(() => h.store.list('Workspace').items.length === 51, 'all 50 applied');
    await h.sync.resync();
    expect(h.revisions.slice(start)).toHaveLength(1);
    expect(h.events.filter((e) => e.reason === 'Applied').length - appliedBefore).toBe(1);
    expect(h.status().inventory).toHaveLength(51);
  });
});

describe('sync: folders that keep changing', () => {
  it('a renamed sub-folder is still watched', async () => {
    const h = await harness({ 'team/a.yaml': workspaceYaml('a') });
    const uid = h.ws('a')!.metadata.uid;
    const before = h.status().lastAppliedRevision;
    await rename(join(h.dir, 'team'), join(h.dir, 'squad'));
    await waitFor(() => h.status().lastAppliedRevision !== before, 'the move applied');
    expect(h.ws('a')!.metadata.uid).toBe(uid);
    await h.write('squad/a.yaml', workspaceYaml('a', { running: false }));
    await waitFor(() => h.ws('a')?.spec.running === false, 'an edit in the moved folder applied');
  });

  it('a manifest rewritten without pause is still applied now and then (max wait)', async () => {
    const h = await harness({ 'busy.yaml': workspaceYaml('busy') }, { debounceMs: 100, maxWaitMs: 300 });
    const before = h.status().lastAppliedRevision;
    const deadline = Date.now() + 10_000;
    let i = 0;
    // Writes every ~10 ms never leave the 100 ms quiet period the debounce waits for.
    while (h.status().lastAppliedRevision === before && Date.now() < deadline) {
      await h.write('busy.yaml', workspaceYaml('busy', { resources: { cpu: 1 + (i++ % 8) } }));
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(h.status().lastAppliedRevision).not.toBe(before);
  });
});

describe('sync: git at work', () => {
  it('applies nothing while git holds index.lock, and applies once it is released', async () => {
    const h = await harness({
      '.git/HEAD': 'ref: refs/heads/main\n',
      'alice.yaml': workspaceYaml('alice'),
      'bob.yaml': workspaceYaml('bob'),
    });
    expect(h.ws('alice')).toBeDefined();
    await writeFile(join(h.dir, '.git/index.lock'), '');
    await h.write('alice.yaml', workspaceYaml('alice', { running: false }));
    await unlink(join(h.dir, 'bob.yaml'));
    // Several debounce periods: a checkout in progress must not be applied half done.
    await new Promise((r) => setTimeout(r, 800));
    expect(h.ws('alice')!.spec.running).toBe(true);
    expect(h.ws('bob')).toBeDefined();
    await unlink(join(h.dir, '.git/index.lock'));
    await waitFor(() => h.ws('alice')?.spec.running === false && !h.ws('bob'), 'applied after the lock went');
  });

  it('a stale index.lock delays a change by gitLockWaitMs at most', async () => {
    const h = await harness(
      { '.git/HEAD': 'ref: refs/heads/main\n', 'alice.yaml': workspaceYaml('alice') },
      { gitLockWaitMs: 400 },
    );
    await writeFile(join(h.dir, '.git/index.lock'), '');
    await h.write('alice.yaml', workspaceYaml('alice', { running: false }));
    await waitFor(() => h.ws('alice')?.spec.running === false, 'applied despite the stale lock');
  });
});

describe('sync: a revision is all or nothing', () => {
  it('invalid YAML in one of ten files applies nothing and prunes nothing, then the fix applies everything', async () => {
    const h = await harness(ten(), { pruneSettleMs: 0 });
    const good = h.status().lastAppliedRevision;
    expect(h.store.list('Workspace').items).toHaveLength(10);

    // One change set: an edit, a deletion, a new file, and one broken file.
    await h.write('ws-01.yaml', workspaceYaml('ws-1', { running: false }));
    await unlink(join(h.dir, 'ws-02.yaml'));
    await h.write('ws-10.yaml', workspaceYaml('ws-10'));
    await h.write(
      'ws-07.yaml',
      'apiVersion: tidepool/v1\nkind: Workspace\nmetadata:\n  name: ws-7\nspec: {running: true\n',
    );
    await waitFor(() => h.condition('Stalled')?.status === 'True', 'Stalled');

    const st = h.status();
    expect(h.condition('Ready')).toMatchObject({ status: 'False', reason: 'BuildFailed' });
    expect(h.condition('Stalled')).toMatchObject({ status: 'True', reason: 'BuildFailed' });
    expect(h.condition('Stalled')!.message).toMatch(/ws-07\.yaml:\d+:\d+/);
    expect(st.lastAppliedRevision).toBe(good);
    expect(st.lastAttemptedRevision).not.toBe(good);
    expect(st.errors!.length).toBeGreaterThan(0);
    expect(st.errors![0]).toMatchObject({ file: 'ws-07.yaml', line: expect.any(Number), column: expect.any(Number) });
    expect(st.errors![0]!.line).toBeGreaterThanOrEqual(5);
    expect(validateStatus(kindByName('Sync')!, st)).toEqual([]);
    // Nothing applied, nothing pruned: the previous revision is in force.
    expect(h.ws('ws-1')!.spec.running).toBe(true);
    expect(h.ws('ws-2')).toBeDefined();
    expect(h.ws('ws-10')).toBeUndefined();
    expect(h.status().inventory).toHaveLength(10);
    await h.sync.resync(); // events are recorded after the status: let that run finish
    const warnings = h.events.filter((e) => e.type === 'Warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ reason: 'BuildFailed' });
    expect(warnings[0]!.note).toMatch(/ws-07\.yaml/);

    // The same broken revision seen again (self-heal) is not reported again.
    await h.sync.resync();
    await h.sync.resync();
    expect(h.events.filter((e) => e.type === 'Warning')).toHaveLength(1);

    await h.write('ws-07.yaml', workspaceYaml('ws-7', { running: true }));
    await waitFor(() => h.condition('Ready')?.status === 'True', 'Ready again');
    expect(h.ws('ws-1')!.spec.running).toBe(false);
    expect(h.ws('ws-2')).toBeUndefined();
    expect(h.ws('ws-10')).toBeDefined();
    expect(h.status().errors).toBeUndefined();
    expect(h.status().lastAppliedRevision).toBe(h.status().lastAttemptedRevision);
    expect(h.condition('Stalled')).toMatchObject({ status: 'False' });
  });

  it('every broken file is reported; fixing one leaves the other reported', async () => {
    const h = await harness(ten());
    await h.write('ws-02.yaml', 'kind: Workspace\nmetadata: {name: ws-2\n');
    await h.write('ws-08.yaml', `${workspaceYaml('ws-8')}spec: {}\n`); // a duplicate key
    await waitFor(() => h.status().errors?.length === 2, 'two errors');
    expect(h.status().errors!.map((e) => [e.file, e.reason])).toEqual([
      ['ws-02.yaml', 'InvalidSyntax'],
      ['ws-08.yaml', 'DuplicateKey'],
    ]);
    expect(h.status().errors![1]!.line).toBe(6);
    // Document indices count across the folder, as `tidepool apply -f` of all files would.
    expect(h.status().errors![1]!.document).toBeGreaterThan(h.status().errors![0]!.document!);

    await h.write('ws-02.yaml', workspaceYaml('ws-2', { running: false }));
    await waitFor(() => h.status().errors?.length === 1, 'one error left');
    expect(h.status().errors![0]).toMatchObject({ file: 'ws-08.yaml', line: 6 });
    expect(h.ws('ws-2')!.spec.running).toBe(true);
    await h.write('ws-08.yaml', workspaceYaml('ws-8'));
    await waitFor(() => h.condition('Ready')?.status === 'True', 'Ready');
    expect(h.ws('ws-2')!.spec.running).toBe(false);
  });

  it('a schema violation is ValidationFailed with file, line, column and field path', async () => {
    const h = await harness(ten());
    await h.write('ws-03.yaml', workspaceYaml('ws-3', { resources: { cpu: 500 } }));
    await waitFor(() => h.condition('Stalled')?.status === 'True', 'Stalled');
    expect(h.condition('Stalled')!.reason).toBe('ValidationFailed');
    expect(h.status().errors).toEqual([
      expect.objectContaining({ file: 'ws-03.yaml', field: 'spec.resources.cpu', line: 5, column: expect.any(Number) }),
    ]);
    expect(h.ws('ws-3')!.spec.resources.cpu).toBe(2);
  });

  it('a rule the store enforces across objects (at most 5 Ports per Workspace) is ValidationFailed with the file', async () => {
    const h = await harness({ 'alice.yaml': workspaceYaml('alice') });
    const ports = Array.from({ length: 6 }, (_, i) => portYaml(`alice-${3000 + i}`, 'alice', 3000 + i)).join('---\n');
    await h.write('ports.yaml', ports);
    await waitFor(() => h.condition('Stalled')?.status === 'True', 'Stalled');
    expect(h.condition('Stalled')!.reason).toBe('ValidationFailed');
    expect(h.status().errors![0]).toMatchObject({
      file: 'ports.yaml',
      reason: 'FieldValueTooMany',
      line: expect.any(Number),
    });
    expect(h.store.list('Port').items).toEqual([]);
  });

  it('the same object declared in two files is refused, naming both', async () => {
    const h = await harness(ten());
    await h.write('copy.yaml', workspaceYaml('ws-4', { running: false }));
    await waitFor(() => h.condition('Stalled')?.status === 'True', 'Stalled');
    const errors = h.status().errors!;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ reason: 'FieldValueDuplicate', field: 'metadata.name' });
    expect(`${errors[0]!.file} ${errors[0]!.message}`).toMatch(/copy\.yaml/);
    expect(`${errors[0]!.file} ${errors[0]!.message}`).toMatch(/ws-04\.yaml/);
    expect(h.ws('ws-4')!.spec.running).toBe(true);
  });
});

describe('sync: prune by inventory', () => {
  it('a folder emptied of files prunes nothing without permission', async () => {
    const h = await harness(ten(), { pruneSettleMs: 0 });
    for (const f of Object.keys(ten())) await unlink(join(h.dir, f));
    await waitFor(() => h.condition('Stalled')?.status === 'True', 'Stalled');
    expect(h.condition('Stalled')).toMatchObject({ reason: 'EmptyFolder' });
    expect(h.condition('Stalled')!.message).toMatch(/allowEmptyPrune/);
    expect(h.store.list('Workspace').items).toHaveLength(10);
    expect(h.status().inventory).toHaveLength(10);
    expect(h.events.some((e) => e.reason === 'Pruned')).toBe(false);
    // Putting one file back is a normal revision again: the other nine are pruned.
    await h.write('ws-05.yaml', workspaceYaml('ws-5'));
    await waitFor(() => h.condition('Ready')?.status === 'True', 'Ready');
    expect(h.store.list('Workspace').items.map((w) => w.metadata.name)).toEqual(['ws-5']);
  });

  it('with allowEmptyPrune an empty folder prunes everything the sync applied', async () => {
    const h = await harness(ten(), { allowEmptyPrune: true, pruneSettleMs: 0 });
    expect(h.store.get('Sync', 'manifests')!.spec.allowEmptyPrune).toBe(true);
    for (const f of Object.keys(ten())) await unlink(join(h.dir, f));
    await waitFor(
      () => h.store.list('Workspace').items.length === 0 && h.status().inventory?.length === 0,
      'all pruned',
    );
    expect(h.condition('Ready')).toMatchObject({ status: 'True' });
    expect(h.status().inventory).toEqual([]);
  });

  it('objects made any other way are never pruned, nor are those marked tidepool/prune: disabled', async () => {
    const h = await harness({
      'a.yaml': workspaceYaml('a'),
      'keep.yaml': workspaceYaml('keep', {}, { 'tidepool/prune': 'disabled' }),
      'later.yaml': workspaceYaml('later'),
    });
    // Through the store, as POST /api/v1/workspaces does.
    await h.store.create(
      validateManifest({ apiVersion: 'tidepool/v1', kind: 'Workspace', metadata: { name: 'by-api' }, spec: {} })
        .object as any,
    );
    // As `tidepool apply -f` does: no applyset, and another applyset with prune.
    await applyDocuments(h.store, [{ name: 'cli.yaml', text: workspaceYaml('by-cli') }]);
    await applyDocuments(h.store, [{ name: 'other.yaml', text: workspaceYaml('by-other-set') }], {
      applyset: 'other',
      prune: true,
    });
    // Marked through the API after the sync applied it: the annotation survives self-heal.
    const later = h.ws('later')!;
    await h.store.update({
      ...later,
      metadata: { ...later.metadata, annotations: { ...later.metadata.annotations, 'tidepool/prune': 'disabled' } },
    });
    await h.sync.resync();
    expect(h.ws('later')!.metadata.annotations!['tidepool/prune']).toBe('disabled');

    await unlink(join(h.dir, 'keep.yaml'));
    await unlink(join(h.dir, 'later.yaml'));
    await h.write('b.yaml', workspaceYaml('b'));
    await waitFor(() => h.ws('b'), 'b applied');
    await unlink(join(h.dir, 'a.yaml'));
    await waitFor(() => !h.ws('a'), 'a pruned');
    expect(
      h.store
        .list('Workspace')
        .items.map((w) => w.metadata.name)
        .sort(),
    ).toEqual(['b', 'by-api', 'by-cli', 'by-other-set', 'keep', 'later']);
  });

  it('two syncs never prune each other', async () => {
    const one = await harness({ 'x.yaml': workspaceYaml('x') }, { name: 'one' });
    const two = await harness({ 'y.yaml': workspaceYaml('y') }, { name: 'two', store: one.store });
    await two.write('z.yaml', workspaceYaml('z'));
    await waitFor(() => one.store.get('Workspace', 'z'), 'z applied');
    await unlink(join(two.dir, 'y.yaml'));
    await waitFor(() => !one.store.get('Workspace', 'y'), 'y pruned');
    expect(one.store.get('Workspace', 'x')).toBeDefined();
    expect(one.store.get('Workspace', 'x')!.metadata.annotations![SYNC_ANNOTATION]).toBe('one');
    expect(one.store.get('Workspace', 'z')!.metadata.annotations![SYNC_ANNOTATION]).toBe('two');
    expect(
      one.store
        .list('Sync')
        .items.map((s) => s.metadata.name)
        .sort(),
    ).toEqual(['one', 'two']);

    // An object both folders declare is refused by the second, not taken from the first.
    await two.write('x.yaml', workspaceYaml('x', { running: false }));
    await waitFor(() => two.condition('Stalled')?.reason === 'OwnershipConflict', 'OwnershipConflict');
    expect(two.status().errors![0]).toMatchObject({
      file: 'x.yaml',
      field: 'metadata.name',
      line: 4,
      reason: 'OwnedByAnotherSync',
    });
    expect(two.status().errors![0]!.message).toMatch(/belongs to the sync "one"/);
    await one.sync.resync();
    expect(one.store.get('Workspace', 'x')!.spec.running).toBe(true);
    expect(one.store.get('Workspace', 'x')!.metadata.annotations![SYNC_ANNOTATION]).toBe('one');
    expect(one.condition('Ready')?.status).toBe('True');
  });
});

describe('sync: self-heal and folder trouble', () => {
  it('puts back a change to a field its file sets at the next interval, and only those fields', async () => {
    const h = await harness(
      { 'alice.yaml': workspaceYaml('alice', { resources: { cpu: 2, memory: '4Gi' } }) },
      { intervalMs: 300 },
    );
    const cur = h.ws('alice')!;
    const edited = await h.store.update({
      ...cur,
      metadata: { ...cur.metadata, labels: { added: 'yes' } },
      spec: { ...cur.spec, running: false, resources: { cpu: 3, memory: '4Gi' } },
    });
    expect(edited.spec.running).toBe(false);
    await waitFor(() => h.ws('alice')!.spec.resources.cpu === 2, 'self-heal');
    // The file sets neither spec.running nor a label: what was set by hand stays (field ownership).
    expect(h.ws('alice')!.spec.running).toBe(false);
    expect(h.ws('alice')!.metadata.labels).toEqual({ added: 'yes' });
    expect(h.ws('alice')!.metadata.uid).toBe(cur.metadata.uid);
    // The event is recorded just after the apply.
    await waitFor(
      () => h.events.some((e) => e.reason === 'DriftCorrected' && /Workspace\/alice/.test(e.note)),
      'a DriftCorrected event',
    );
    // A deleted object is made again too.
    await h.store.delete('Workspace', 'alice');
    await waitFor(() => h.ws('alice'), 'alice made again');
  });

  it('a folder deleted while watched stalls the sync (objects kept) and recovers when it comes back', async () => {
    const h = await harness(ten());
    const uids = new Map(h.store.list('Workspace').items.map((w) => [w.metadata.name, w.metadata.uid]));
    await rm(h.dir, { recursive: true, force: true });
    await waitFor(() => h.condition('Stalled')?.reason === 'FolderNotFound', 'FolderNotFound');
    expect(h.condition('Ready')).toMatchObject({ status: 'False', reason: 'FolderNotFound' });
    expect(h.status().errors![0]).toMatchObject({ reason: 'FolderNotFound' });
    expect(h.store.list('Workspace').items).toHaveLength(10);
    await waitFor(
      () => h.events.some((e) => e.type === 'Warning' && e.reason === 'FolderNotFound'),
      'a FolderNotFound event',
    );

    await mkdir(h.dir);
    await h.write('ws-00.yaml', workspaceYaml('ws-0', { running: false }));
    await h.write('new.yaml', workspaceYaml('new'));
    for (let i = 1; i < 10; i++) await h.write(`ws-${String(i).padStart(2, '0')}.yaml`, workspaceYaml(`ws-${i}`));
    await waitFor(() => h.condition('Ready')?.status === 'True' && h.ws('new'), 'recovered');
    expect(h.ws('ws-0')!.spec.running).toBe(false);
    expect(h.status().errors).toBeUndefined();
    // The refilled folder was read once complete: nothing was pruned and made again meanwhile.
    for (const [n, uid] of uids) expect(h.ws(n)?.metadata.uid, n).toBe(uid);
    // And the new folder is watched.
    await h.write('after.yaml', workspaceYaml('after'));
    await waitFor(() => h.ws('after'), 'a change in the new folder applied');
  });

  it('a folder missing at start is an error on the Sync, and is synced once it appears', async () => {
    const h = await harness({}, { startWithoutFolder: true });
    expect(h.condition('Stalled')).toMatchObject({ status: 'True', reason: 'FolderNotFound' });
    expect(h.condition('Stalled')!.message).toContain(h.dir);
    await mkdir(h.dir);
    await h.write('alice.yaml', workspaceYaml('alice'));
    await waitFor(() => h.ws('alice') && h.condition('Ready')?.status === 'True', 'synced');
  });

  it('a path that is a file, not a folder, is FolderNotFound', async () => {
    const h = await harness({}, { startWithoutFolder: true });
    await writeFile(h.dir, 'not a folder');
    await h.sync.resync();
    expect(h.condition('Stalled')).toMatchObject({ status: 'True', reason: 'FolderNotFound' });
    expect(h.condition('Stalled')!.message).toMatch(/not a directory/);
  });

  it('refuses a second sync of the same name on one store, and an invalid name', async () => {
    const h = await harness({ 'a.yaml': workspaceYaml('a') });
    const { startSync } = await import('../../gitops/index.js');
    await expect(startSync({ store: h.store, name: 'manifests', dir: h.dir })).rejects.toThrow(/already running/);
    await expect(startSync({ store: h.store, name: 'Bad_Name', dir: h.dir })).rejects.toThrow(/DNS label/);
  });
});
