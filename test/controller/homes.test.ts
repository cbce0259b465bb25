// The workspace reconciler's homes, sources and spec changes, against the stub runtime with
// in-memory homes: a home made before the VM and kept across stop/start and a new image, a
// copy from another workspace, a missing source as a condition, the git clone as dev (through
// an exec that plays git), resources applied live or refused without losing the VM, and a
// runtime without these capabilities saying so.
import { afterEach, describe, expect, it } from 'vitest';
import type { StubExec } from '../../drivers/runtime/stub/index.js';
import { cond, eventsFor, GiB, harness, waitFor, workspace, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.close());

const reasons = (name: string) => eventsFor(h.store, name).map((e) => e.reason as string);
const condOf = (name: string, type: string) => cond(h.ws(name), type);
/** Events are gathered before they are written: wait for them. */
const waitEvents = (name: string, ...want: string[]) =>
  waitFor(`${name} events ${want.join(', ')}`, () =>
    want.every((r) => reasons(name).includes(r)) ? reasons(name) : undefined,
  );
const waitCond = (name: string, type: string, reason: string) =>
  waitFor(`${name} ${type} ${reason}`, () => (condOf(name, type)?.reason === reason ? condOf(name, type) : undefined));

describe('homes', () => {
  it('makes the home before the VM, keeps it across stop/start and a new image, and deletes it only with the workspace', async () => {
    h = await harness();
    await h.start();
    await h.store.create(workspace('alice'));
    await h.ready('alice');
    expect(h.runtime.homeFiles.has('alice')).toBe(true);
    expect(condOf('alice', 'HomeReady')).toMatchObject({ status: 'True', reason: 'Kept' });
    expect(h.ws('alice')!.status!.instance).toBe('alice');
    h.runtime.homeFiles.get('alice')!.set('notes.txt', 'hello');

    await h.setSpec('alice', { running: false });
    await waitFor('stopped', () => h.ws('alice')?.status?.phase === 'Stopped');
    await h.setSpec('alice', { running: true });
    await h.ready('alice');
    expect(h.runtime.homeFiles.get('alice')!.get('notes.txt')).toBe('hello');

    const creates = h.runtime.calls.create;
    await h.setSpec('alice', { image: 'minimal' });
    await waitFor('recreated from minimal', () =>
      h.runtime.snapshot().find((v) => v.name === 'alice' && v.image === 'minimal' && v.state === 'Running'),
    );
    const w = await h.ready('alice');
    expect(h.runtime.calls.create).toBe(creates + 1);
    expect(h.runtime.homeFiles.get('alice')!.get('notes.txt')).toBe('hello');
    expect(cond(w, 'ImageApplied')).toMatchObject({ status: 'True', reason: 'Applied' });
    expect(await waitEvents('alice', 'Recreating', 'Recreated')).not.toContain('VMNotFound');

    await h.store.delete('Workspace', 'alice');
    await waitFor('workspace gone', () => !h.ws('alice'));
    expect(h.runtime.homeFiles.has('alice')).toBe(false);
    expect(h.runtime.snapshot()).toEqual([]);
  });

  it("a VM deleted behind Tidepool's back comes back with the same home", async () => {
    h = await harness();
    await h.start();
    await h.store.create(workspace('bob'));
    await h.ready('bob');
    h.runtime.homeFiles.get('bob')!.set('f', '1');
    await h.runtime.deleteBehindBack('bob');
    await waitFor('VM back', () => h.runtime.snapshot().some((v) => v.name === 'bob' && v.state === 'Running'));
    await h.ready('bob');
    expect(h.runtime.homeFiles.get('bob')!.get('f')).toBe('1');
    await waitEvents('bob', 'VMNotFound');
  });

  it('fromWorkspace starts the new home as a copy; later changes of either do not touch the other', async () => {
    h = await harness();
    await h.start();
    await h.store.create(workspace('src'));
    await h.ready('src');
    h.runtime.homeFiles.get('src')!.set('a.txt', 'from src');
    await h.store.create(workspace('dst', { source: { fromWorkspace: 'src' } }));
    await h.ready('dst');
    expect(h.runtime.homeFiles.get('dst')!.get('a.txt')).toBe('from src');
    h.runtime.homeFiles.get('dst')!.set('a.txt', 'changed');
    expect(h.runtime.homeFiles.get('src')!.get('a.txt')).toBe('from src');
    await waitEvents('dst', 'HomeCreated');
  });

  it('a missing fromWorkspace is a condition naming the field, nothing is made, and it goes on once the source exists', async () => {
    h = await harness();
    await h.start();
    await h.store.create(workspace('other'));
    await h.ready('other');
    await h.store.create(workspace('copy', { source: { fromWorkspace: 'nobody' } }));
    const c = await waitCond('copy', 'Ready', 'SourceNotFound');
    expect(c.status).toBe('False');
    expect(c.message).toContain('spec.source.fromWorkspace');
    expect(c.message).toContain('"nobody"');
    expect(condOf('copy', 'HomeReady')).toMatchObject({ status: 'False', reason: 'SourceNotFound' });
    expect(h.runtime.snapshot().map((v) => v.name)).toEqual(['other']);
    expect(h.runtime.homeFiles.has('copy')).toBe(false);
    expect(condOf('other', 'Ready')?.status).toBe('True');
    await waitEvents('copy', 'SourceNotFound');

    await h.store.create(workspace('nobody'));
    await h.ready('nobody');
    await h.start(); // a second controller: its first resync picks the waiting one up at once
    await h.ready('copy');
    // Its home was made as a copy once the source existed (the retry may already have done it
    // before the second controller: which one copies is a race this test does not pin).
    expect(h.runtime.homeFiles.has('copy')).toBe(true);
    expect(condOf('copy', 'HomeReady')?.status).toBe('True');
  });

  it('a runtime without homes says so, and refuses to apply a new image that would lose the disk', async () => {
    h = await harness({ homes: false });
    await h.start();
    await h.store.create(workspace('tart-like'));
    await h.ready('tart-like');
    expect(condOf('tart-like', 'HomeReady')).toMatchObject({ status: 'False', reason: 'NotSupported' });
    await h.setSpec('tart-like', { image: 'minimal' });
    const c = await waitCond('tart-like', 'ImageApplied', 'NotSupported');
    expect(c.message).toContain('spec.image "minimal" is not applied');
    expect(h.runtime.snapshot()).toEqual([
      expect.objectContaining({ name: 'tart-like', image: 'default', state: 'Running' }),
    ]);
    expect(condOf('tart-like', 'Ready')?.status).toBe('True');
  });

  it('an unknown image template on a running workspace is a condition; the VM keeps running', async () => {
    h = await harness({ images: ['default', 'minimal'] });
    await h.start();
    await h.store.create(workspace('img'));
    await h.ready('img');
    await h.setSpec('img', { image: 'nonesuch' });
    const c = await waitCond('img', 'ImageApplied', 'UnknownImage');
    expect(c.message).toContain('spec.image "nonesuch" cannot be used');
    expect(c.message).toContain('known: default, minimal');
    expect(h.runtime.snapshot()).toEqual([
      expect.objectContaining({ name: 'img', image: 'default', state: 'Running' }),
    ]);
    expect(condOf('img', 'Ready')?.status).toBe('True');
  });

  it('an unknown image template at creation is a condition naming spec.image; no VM is made', async () => {
    h = await harness({ images: ['default', 'minimal'] });
    await h.start();
    await h.store.create(workspace('nope', { image: 'nonesuch' }));
    const c = await waitCond('nope', 'Ready', 'UnknownImage');
    expect(c.message).toContain('spec.image "nonesuch"');
    expect(c.message).toContain('known: default, minimal');
    expect(h.runtime.snapshot()).toEqual([]);
  });
});

describe('spec.resources', () => {
  it('applies a change live (same VM, no restart) and records it as an event', async () => {
    h = await harness();
    await h.start();
    await h.store.create(workspace('res', { resources: { cpu: 1, memory: '1Gi' } }));
    await h.ready('res');
    const { create, start, stop } = h.runtime.calls;
    await h.setSpec('res', { resources: { cpu: 2, memory: '2Gi' } });
    await waitFor('applied', () =>
      h.runtime.snapshot().find((v) => v.name === 'res' && v.memoryBytes === 2 * GiB && v.cpu === 2),
    );
    await waitCond('res', 'ResourcesApplied', 'Applied');
    expect(h.runtime.calls).toMatchObject({ create, start, stop });
    await waitEvents('res', 'ResourcesUpdated');
    expect(eventsFor(h.store, 'res').find((e) => e.reason === 'ResourcesUpdated')!.note).toContain(
      'spec.resources.cpu and spec.resources.memory (1 vCPU, 1Gi → 2 vCPU, 2Gi) live, without a restart',
    );
    expect(condOf('res', 'Ready')?.status).toBe('True');
  });

  it('a change over the host budget is a condition naming the field; the workspace keeps running as it was', async () => {
    h = await harness();
    await h.start({ capacity: { memoryBudgetBytes: 4 * GiB, cpuBudget: 100, maxRunning: 10 } });
    await h.store.create(workspace('big', { resources: { cpu: 1, memory: '1Gi' } }));
    await h.ready('big');
    await h.setSpec('big', { resources: { cpu: 1, memory: '8Gi' } });
    const c = await waitCond('big', 'ResourcesApplied', 'InsufficientCapacity');
    expect(c.message).toContain('spec.resources.memory');
    expect(h.runtime.snapshot()).toEqual([
      expect.objectContaining({ name: 'big', memoryBytes: GiB, state: 'Running' }),
    ]);
    expect(condOf('big', 'Ready')?.status).toBe('True');
    await waitEvents('big', 'ResourcesRefused');
  });

  it('a change the runtime refuses is a condition with its words, not retried until the spec changes', async () => {
    h = await harness();
    await h.start();
    await h.store.create(workspace('ref', { resources: { cpu: 1, memory: '1Gi' } }));
    await h.ready('ref');
    h.runtime.fail('update', 1, 'cannot lower the memory limit below current usage');
    await h.setSpec('ref', { resources: { cpu: 1, memory: '512Mi' } });
    const c = await waitCond('ref', 'ResourcesApplied', 'Refused');
    expect(c.message).toContain('spec.resources.memory');
    expect(c.message).toContain('cannot lower the memory limit below current usage');
    const tries = h.runtime.calls.update;
    const ctl = await h.start();
    await ctl.resync();
    await ctl.idle();
    expect(h.runtime.calls.update).toBe(tries);
    expect(h.runtime.snapshot()[0]).toMatchObject({ state: 'Running', memoryBytes: GiB });
    await h.setSpec('ref', { resources: { cpu: 1, memory: '768Mi' } });
    await waitFor('applied after a new spec', () => h.runtime.snapshot()[0]?.memoryBytes === 768 * 2 ** 20);
  });

  it('a runtime that applies only at the next start says the change waits for it', async () => {
    h = await harness({ liveResources: 'nextStart' });
    await h.start();
    await h.store.create(workspace('later', { resources: { cpu: 1, memory: '1Gi' } }));
    await h.ready('later');
    await h.setSpec('later', { resources: { cpu: 2, memory: '1Gi' } });
    const c = await waitCond('later', 'ResourcesApplied', 'WaitingForRestart');
    expect(c.message).toContain('spec.resources.cpu');
    expect(c.message).toContain('next start');
    await h.setSpec('later', { running: false });
    await waitFor('stopped', () => h.ws('later')?.status?.phase === 'Stopped');
    await h.setSpec('later', { running: true });
    await waitCond('later', 'ResourcesApplied', 'Applied');
    expect(h.runtime.snapshot()[0]).toMatchObject({ cpu: 2 });
  });

  it('a runtime without the capability says the change is not applied', async () => {
    h = await harness({ liveResources: false });
    await h.start();
    await h.store.create(workspace('fixed', { resources: { cpu: 1, memory: '1Gi' } }));
    await h.ready('fixed');
    await h.setSpec('fixed', { resources: { cpu: 1, memory: '2Gi' } });
    const c = await waitCond('fixed', 'ResourcesApplied', 'NotSupported');
    expect(c.message).toContain('spec.resources.memory');
    expect(condOf('fixed', 'Ready')?.status).toBe('True');
  });
});

/** An exec that plays the clone script: it "clones" a known URL into the home map, fails like git otherwise. */
function fakeGit(repos: Record<string, Record<string, string>>, seen: { argv: string[]; uid?: number }[]): StubExec {
  return (_name, argv, opts, home) => {
    // Only the clone is played; anything else (the look for a devcontainer.json) finds nothing.
    if (argv[3] !== 'tidepool-clone') return { exitCode: 3, stdout: '', stderr: '' };
    seen.push({ argv, ...(opts.uid !== undefined ? { uid: opts.uid } : {}) });
    const [url, ref] = argv.slice(-2) as [string, string];
    if ([...home!.keys()].some((k) => k.startsWith('project/') && k !== 'project/'))
      return { exitCode: 0, stdout: 'tidepool: ~/project is there already\n', stderr: '' };
    const repo = repos[url];
    home!.set('project/', '');
    if (!repo) return { exitCode: 92, stdout: '', stderr: `fatal: repository '${url}' not found\n` };
    if (ref && ref !== 'main')
      return { exitCode: 93, stdout: '', stderr: `error: pathspec '${ref}' did not match any file(s) known to git\n` };
    for (const [f, c] of Object.entries(repo)) home!.set(`project/${f}`, c);
    return { exitCode: 0, stdout: '', stderr: '' };
  };
}

describe('spec.source.git', () => {
  const repos = { 'https://git.example/app.git': { 'README.md': '# app' } };

  it('clones as dev before Ready, once (not again after a new image)', async () => {
    const seen: { argv: string[]; uid?: number }[] = [];
    h = await harness({ exec: fakeGit(repos, seen) });
    await h.start();
    await h.store.create(workspace('g', { source: { git: { url: 'https://git.example/app.git', ref: 'main' } } }));
    const w = await h.ready('g');
    expect(cond(w, 'SourceReady')).toMatchObject({ status: 'True', reason: 'Cloned' });
    expect(h.runtime.homeFiles.get('g')!.get('project/README.md')).toBe('# app');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.uid).toBe(1000);
    expect(seen[0]!.argv.slice(-2)).toEqual(['https://git.example/app.git', 'main']);
    await waitEvents('g', 'Cloning', 'Cloned');
    await h.setSpec('g', { image: 'minimal' });
    await waitFor('recreated', () => h.runtime.snapshot().find((v) => v.image === 'minimal'));
    await h.ready('g');
    expect(seen).toHaveLength(1);
  });

  it("a bad URL or an unknown ref is a condition and an event carrying git's words; the workspace still starts", async () => {
    const seen: { argv: string[] }[] = [];
    h = await harness({ exec: fakeGit(repos, seen) });
    await h.start();
    await h.store.create(workspace('badurl', { source: { git: { url: 'https://git.example/nope.git' } } }));
    await h.store.create(workspace('badref', { source: { git: { url: 'https://git.example/app.git', ref: 'v9' } } }));
    for (const [name, words] of [
      ['badurl', "fatal: repository 'https://git.example/nope.git' not found"],
      ['badref', "error: pathspec 'v9' did not match"],
    ] as const) {
      const w = await h.ready(name);
      const c = cond(w, 'SourceReady');
      expect(c).toMatchObject({ status: 'False', reason: 'CloneFailed' });
      expect(c!.message).toContain(words);
      expect(c!.message).toContain(name === 'badref' ? 'spec.source.git.ref' : 'spec.source.git.url');
      await waitEvents(name, 'CloneFailed');
      const ev = eventsFor(h.store, name).find((e) => e.reason === 'CloneFailed');
      expect(ev?.note).toContain(words);
      expect(h.runtime.homeFiles.get(name)!.has('project/')).toBe(true);
    }
  });

  it('a runtime that cannot exec says the repository is not cloned, and the workspace starts', async () => {
    h = await harness();
    await h.start();
    await h.store.create(workspace('noexec', { source: { git: { url: 'https://git.example/app.git' } } }));
    const w = await h.ready('noexec');
    expect(cond(w, 'SourceReady')).toMatchObject({ status: 'False', reason: 'NotSupported' });
  });

  it('a source added to a workspace that exists already is not read (only at creation)', async () => {
    const seen: { argv: string[] }[] = [];
    h = await harness({ exec: fakeGit(repos, seen) });
    await h.start();
    await h.store.create(workspace('late'));
    await h.ready('late');
    await h.setSpec('late', { source: { git: { url: 'https://git.example/app.git' } } });
    const ctl = await h.start();
    await ctl.idle();
    expect(seen).toHaveLength(0);
    expect(condOf('late', 'SourceReady')).toBeUndefined();
  });
});

describe('status fields of other writers', () => {
  it("a lastAccessTime written while a reconcile is in flight is kept by that reconcile's status write", async () => {
    h = await harness({ latencyMs: 150 });
    await h.start();
    await h.store.create(workspace('seen', { resources: { cpu: 1, memory: '1Gi' } }));
    await h.ready('seen', 20_000);
    const updates = h.runtime.calls.update;
    await h.setSpec('seen', { resources: { cpu: 2, memory: '1Gi' } });
    // The update takes 150 ms in the stub: write the access time meanwhile, as the access-log writer does.
    await waitFor('update in flight', () => h.runtime.calls.update > updates);
    const stamp = '2030-01-02T03:04:05Z';
    await h.store.updateStatus('Workspace', 'seen', {
      ...structuredClone(h.ws('seen')!.status),
      lastAccessTime: stamp,
    });
    await waitCond('seen', 'ResourcesApplied', 'Applied');
    await waitFor('cpu applied', () => h.runtime.snapshot()[0]?.cpu === 2);
    expect((h.ws('seen')!.status as { lastAccessTime?: string }).lastAccessTime).toBe(stamp);
  });
});
