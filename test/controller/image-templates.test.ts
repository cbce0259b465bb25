// ImageTemplates through the controller with the stub runtime (its builds are in memory and
// fail on a package named "missing-*" or a setup line `false`): built, used by workspaces,
// rebuilt while the old image keeps serving, failures named, rollout restart, deletion.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RESTARTED_AT_ANNOTATION, validateManifest, type ImageTemplate } from '../../specs/index.js';
import { cond, harness, waitFor, workspace, type Harness } from './helpers.js';

function template(name: string, spec: Record<string, unknown>): ImageTemplate {
  const r = validateManifest({ apiVersion: 'tidepool/v1', kind: 'ImageTemplate', metadata: { name }, spec });
  if (!r.object) throw new Error(JSON.stringify(r.causes));
  return r.object as ImageTemplate;
}

describe('image templates', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness({ buildMs: 30 });
  });
  afterEach(async () => {
    await h.close();
  });

  const get = (name: string) => h.store.get('ImageTemplate', name);
  const phaseOf = (name: string, phase: string, gen?: number) =>
    waitFor(`${name} ${phase}`, () => {
      const t = get(name);
      return t?.status?.phase === phase && (gen === undefined || t.status.observedGeneration === gen) ? t : undefined;
    });
  const setTemplate = (name: string, spec: Record<string, unknown>) =>
    h.store.transaction((tx) => {
      const cur = tx.get('ImageTemplate', name)!;
      tx.update({ ...cur, spec: { ...cur.spec, ...spec } });
    });

  it('builds a template, and a workspace naming it waits for the image and is made from it', async () => {
    let release = () => {};
    h.runtime.images.gate = new Promise<void>((r) => {
      release = r;
    });
    await h.start();
    await h.store.transaction((tx) => {
      tx.create(template('py', { debianPackages: ['python3-venv'], npmPackages: ['typescript'] }));
      tx.create(workspace('alice', { image: 'py' }));
    });
    const pending = await waitFor('alice waits for the image', () => {
      const ws = h.ws('alice');
      return cond(ws, 'VMReady')?.reason === 'WaitingForImage' ? ws : undefined;
    });
    expect(cond(pending, 'VMReady')?.message).toMatch(/image template "py"/);
    expect(h.runtime.snapshot()).toEqual([]);
    release();
    const t = await phaseOf('py', 'Ready');
    expect(t.status!.image).toMatch(/^tidepool-tpl-py-g1-/);
    expect(cond(t, 'Built')).toMatchObject({ status: 'True', reason: 'Built' });
    expect(h.runtime.images.requests[0]).toMatchObject({
      template: 'py',
      base: 'default',
      debianPackages: ['python3-venv'],
      npmPackages: ['typescript'],
    });
    await h.ready('alice');
    expect(h.runtime.snapshot()).toEqual([
      expect.objectContaining({ name: 'alice', image: 'py', build: t.status!.image }),
    ]);
    const log = await readFile(join(h.dir, '.build-logs', 'py.log'), 'utf8');
    expect(log).toMatch(/install python3-venv/);
    expect(log).toMatch(/build succeeded/);
  });

  it('rebuilds on a spec change while the old image serves; a running workspace is told an update waits, and rollout restart takes it', async () => {
    await h.start();
    await h.store.transaction((tx) => {
      tx.create(template('py', { debianPackages: ['python3-venv'] }));
      tx.create(workspace('alice', { image: 'py' }));
    });
    const first = (await phaseOf('py', 'Ready')).status!.image!;
    await h.ready('alice');
    let release = () => {};
    h.runtime.images.gate = new Promise<void>((r) => {
      release = r;
    });
    await setTemplate('py', { debianPackages: ['python3-venv', 'jq'] });
    const building = await phaseOf('py', 'Building', 2);
    expect(building.status!.image).toBe(first);
    expect(cond(building, 'Built')?.message).toMatch(/previous image/);
    release();
    const second = (await phaseOf('py', 'Ready', 2)).status!.image!;
    expect(second).not.toBe(first);
    await waitFor('the previous image deleted', () => !h.runtime.images.built.has(first));
    const waiting = await waitFor('UpdateWaiting', () => {
      const ws = h.ws('alice');
      return cond(ws, 'ImageApplied')?.reason === 'UpdateWaiting' ? ws : undefined;
    });
    expect(cond(waiting, 'ImageApplied')?.message).toMatch(/rollout restart workspace alice/);
    expect(h.runtime.snapshot()[0]).toMatchObject({ build: first, state: 'Running' });
    await h.store.transaction((tx) => {
      const cur = tx.get('Workspace', 'alice')!;
      const annotations = { [RESTARTED_AT_ANNOTATION]: new Date(Date.now() + 1000).toISOString() };
      tx.update({ ...cur, metadata: { ...cur.metadata, annotations } });
    });
    await waitFor('alice on the new image', () => h.runtime.snapshot()[0]?.build === second);
    const ws = await h.ready('alice');
    expect(cond(ws, 'ImageApplied')).toMatchObject({ status: 'True', reason: 'Applied' });
  });

  it('a failing package or setup line is named, the old image stays in use, and a rollout restart builds again', async () => {
    await h.start();
    await h.store.transaction((tx) => tx.create(template('py', { npmPackages: ['typescript'] })));
    const first = (await phaseOf('py', 'Ready')).status!.image!;
    await setTemplate('py', { npmPackages: ['typescript', 'missing-thing'] });
    const failed = await phaseOf('py', 'Failed', 2);
    expect(failed.status!.image).toBe(first);
    expect(cond(failed, 'Built')).toMatchObject({ status: 'False', reason: 'BuildFailed' });
    expect(cond(failed, 'Built')?.message).toMatch(/npm package "missing-thing"/);
    expect(cond(failed, 'Built')?.message).toMatch(/previous image/);
    expect(cond(failed, 'Ready')?.status).toBe('True');

    await setTemplate('py', { npmPackages: ['typescript'], setup: 'echo one\nfalse\necho never' });
    const bad = await phaseOf('py', 'Failed', 3);
    expect(cond(bad, 'Built')?.message).toMatch(/the setup script \(line 2: false\)/);
    const builds = h.runtime.images.requests.length;
    await h.store.transaction((tx) => {
      const cur = tx.get('ImageTemplate', 'py')!;
      const annotations = { [RESTARTED_AT_ANNOTATION]: new Date().toISOString() };
      tx.update({ ...cur, metadata: { ...cur.metadata, annotations } });
    });
    await waitFor('built again', () => h.runtime.images.requests.length === builds + 1);
    await phaseOf('py', 'Failed', 3);
  });

  it('a template on another template waits for its base, and deleting a template deletes its images', async () => {
    await h.start();
    await h.store.transaction((tx) => {
      tx.create(template('node-tools', { base: 'py', npmPackages: ['eslint'] }));
      tx.create(template('py', { debianPackages: ['python3-venv'] }));
    });
    const py = await phaseOf('py', 'Ready');
    const tools = await phaseOf('node-tools', 'Ready');
    expect(h.runtime.images.requests.find((r) => r.template === 'node-tools')).toMatchObject({
      base: 'py',
      baseBuild: py.status!.image,
    });
    await h.store.transaction((tx) => void tx.delete('ImageTemplate', 'node-tools'));
    await waitFor('node-tools gone', () => !get('node-tools'));
    expect(h.runtime.images.built.has(tools.status!.image!)).toBe(false);
    expect(h.runtime.images.built.has(py.status!.image!)).toBe(true);
  });
});
