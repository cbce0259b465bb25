// ImageTemplates on the real Incus, through the controller in process (a real store, the Incus
// runtime, the memory proxy): a template adding a Debian package (python3-venv) and an npm
// package (semver) to the IDE image is built copy-on-write from it, and a workspace on it has
// both; a package that does not exist fails the next build, is named, and leaves the old image
// in use; a fixed spec builds again while the workspace keeps running on the old image, which
// then says an update waits until a rollout restart makes it again from the new one. Builds
// fetch their packages from the Debian mirror and the npm registry through the bridge's NAT
// (the build itself); everything else stays on the host and the bridge. afterAll deletes every
// instance, volume and image carrying this run's id.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type Controller } from '../../controller/index.js';
import { createMemoryProxy } from '../../drivers/proxy/memory/index.js';
import { createIncusRuntime, IncusClient, type IncusRuntime } from '../../drivers/runtime/incus/index.js';
import { IDE_IMAGE_ALIAS } from '../../drivers/runtime/images.js';
import { RESTARTED_AT_ANNOTATION, validateManifest, type Condition } from '../../specs/index.js';
import { Store, type Resource } from '../../store/index.js';
import {
  INCUS_SOCKET,
  PROFILE,
  deleteByTidepoolId,
  deleteVolumesByTidepoolId,
  requireOrSkip,
  runId,
  until,
} from './helpers.js';

const run = await requireOrSkip('test/incus/image-templates');
const ID = runId('t-tpl');
let dir: string;
let store: Store;
let runtime: IncusRuntime;
let controller: Controller;
const client = new IncusClient({ socketPath: INCUS_SOCKET });
const hasIde =
  run &&
  (await client.call('GET', `/1.0/images/aliases/${IDE_IMAGE_ALIAS}`).then(
    () => true,
    () => false,
  ));
if (run && !hasIde && process.env.TIDEPOOL_REQUIRE_INCUS)
  throw new Error(
    `test/incus/image-templates: Incus has no image ${IDE_IMAGE_ALIAS}; build it with scripts/setup-host.sh`,
  );

const manifest = (kind: string, name: string, spec: Record<string, unknown>) => {
  const r = validateManifest({ apiVersion: 'tidepool/v1', kind, metadata: { name }, spec });
  if (!r.object) throw new Error(JSON.stringify(r.causes));
  return r.object as Resource;
};
const cond = (o: Resource | undefined, type: string): Condition | undefined =>
  (o?.status as { conditions?: Condition[] } | undefined)?.conditions?.find((c) => c.type === type);
const template = () => store.get('ImageTemplate', 'py');
const phase = (p: string, gen: number, timeoutMs: number) =>
  until(
    `template py ${p} at generation ${gen}`,
    async () => {
      const t = template();
      return t?.status?.phase === p && t.status.observedGeneration === gen ? t : undefined;
    },
    timeoutMs,
    500,
  );
const wsCondition = (type: string, reason: string, timeoutMs = 240_000) =>
  until(
    `alice ${type} ${reason}`,
    async () => {
      const ws = store.get('Workspace', 'alice');
      return cond(ws, type)?.reason === reason && cond(ws, type)?.observedGeneration === ws?.metadata.generation
        ? ws
        : undefined;
    },
    timeoutMs,
    500,
  );
const setSpec = (spec: Record<string, unknown>) =>
  store.transaction((tx) => {
    const cur = tx.get('ImageTemplate', 'py')!;
    tx.update({ ...cur, spec: { ...cur.spec, ...spec } });
  });
const aliasExists = (alias: string) =>
  client.call('GET', `/1.0/images/aliases/${encodeURIComponent(alias)}`).then(
    () => true,
    () => false,
  );
const sh = (script: string) => runtime.exec!('alice', ['bash', '-lc', script], { uid: 1000, gid: 1000 });

describe.runIf(run && hasIde)('image templates on Incus', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tp-templates-'));
    store = await Store.open(join(dir, 'store.json'));
    runtime = createIncusRuntime({
      tidepoolId: ID,
      socketPath: INCUS_SOCKET,
      profile: PROFILE,
      stopTimeoutSeconds: 10,
    });
    controller = await startController({
      store,
      runtime,
      proxy: createMemoryProxy(),
      dataDir: dir,
      resyncPeriodMs: 5000,
    });
  });

  afterAll(async () => {
    await controller?.stop();
    await runtime?.close?.();
    await deleteByTidepoolId(ID);
    await deleteVolumesByTidepoolId(ID);
    // Every image this run built (an image property carries the Tidepool id).
    type Image = { fingerprint: string; properties?: Record<string, string> };
    const images = await client.call<Image[]>('GET', '/1.0/images?recursion=1');
    for (const i of images.filter((x) => x.properties?.['tidepool.id'] === ID))
      await client
        .call('DELETE', `/1.0/images/${i.fingerprint}`, undefined, { waitSeconds: 120 })
        .catch(() => undefined);
    await client.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 300_000);

  it('builds python3-venv and semver onto the IDE image, and a workspace on it has both', async () => {
    await store.transaction((tx) => {
      tx.create(manifest('ImageTemplate', 'py', { debianPackages: ['python3-venv'], npmPackages: ['semver'] }));
      tx.create(manifest('Workspace', 'alice', { image: 'py', resources: { cpu: 1, memory: '1Gi' } }));
    });
    const built = await phase('Ready', 1, 900_000);
    expect(built.status!.image).toMatch(/^tidepool-tpl-py-g1-/);
    expect(await aliasExists(built.status!.image!)).toBe(true);
    await wsCondition('Ready', 'Running');
    const venv = await sh('python3 -m venv /tmp/v && /tmp/v/bin/python -c "import sys; print(sys.prefix)"');
    expect(venv).toMatchObject({ exitCode: 0, stdout: '/tmp/v\n' });
    expect(await sh('semver 1.2.3')).toMatchObject({ exitCode: 0, stdout: '1.2.3\n' });
    // Nothing of the build stays in the image: not the host's CA, not the setup, not npm's cache.
    expect((await sh('ls /run/tidepool-build-ca.crt /root/.npm 2>&1; true')).stdout).not.toMatch(/^\/run/m);
    const log = await readFile(join(dir, '.build-logs', 'py.log'), 'utf8');
    expect(log).toMatch(/apt-get install/);
    expect(log).toMatch(/build succeeded/);
  }, 1_200_000);

  it('a package that does not exist fails the build, is named, and leaves the old image in use', async () => {
    const first = template()!.status!.image!;
    await setSpec({ debianPackages: ['python3-venv', 'no-such-package-tidepool'] });
    const failed = await phase('Failed', 2, 600_000);
    expect(cond(failed, 'Built')).toMatchObject({ status: 'False', reason: 'BuildFailed' });
    expect(cond(failed, 'Built')?.message).toMatch(/Debian package "no-such-package-tidepool"/);
    expect(failed.status!.image).toBe(first);
    expect(await aliasExists(first)).toBe(true);
    expect(cond(store.get('Workspace', 'alice'), 'Ready')?.status).toBe('True');
  }, 700_000);

  it('a fixed spec builds while the workspace keeps running; it waits for a rollout restart, then runs the new image with its home', async () => {
    const first = template()!.status!.image!;
    await sh('echo kept > ~/marker');
    await setSpec({ debianPackages: ['python3-venv'], setup: 'echo v2 > /etc/tidepool-v2\n' });
    const second = (await phase('Ready', 3, 900_000)).status!.image!;
    expect(second).not.toBe(first);
    // The previous image goes once the new one is in use (right after status says so).
    await until('the previous image deleted', async () => ((await aliasExists(first)) ? undefined : true), 60_000, 500);
    const waiting = await wsCondition('ImageApplied', 'UpdateWaiting');
    expect(cond(waiting, 'ImageApplied')?.message).toMatch(/rollout restart workspace alice/);
    expect((await runtime.get('alice'))?.build).toBe(first);
    await store.transaction((tx) => {
      const cur = tx.get('Workspace', 'alice')!;
      const annotations = { [RESTARTED_AT_ANNOTATION]: new Date().toISOString() };
      tx.update({ ...cur, metadata: { ...cur.metadata, annotations } });
    });
    await until(
      'alice made from the new image',
      async () => ((await runtime.get('alice'))?.build === second ? true : undefined),
      240_000,
      500,
    );
    await wsCondition('Ready', 'Running');
    expect(await sh('cat /etc/tidepool-v2 ~/marker')).toMatchObject({ exitCode: 0, stdout: 'v2\nkept\n' });
  }, 1_200_000);
});
