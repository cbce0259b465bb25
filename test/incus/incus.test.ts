// The Incus runtime driver against the real Incus that scripts/setup-host.sh sets up.
// Every instance carries this run's own Tidepool id and is force-deleted by that id in afterAll.
import { afterAll, describe, expect, it } from 'vitest';
import { execa as execaRaw } from 'execa';
import {
  createIncusRuntime,
  IncusClient,
  CONFIG_ID,
  CONFIG_WORKSPACE,
  type IncusRuntime,
} from '../../drivers/runtime/incus/index.js';
import { MINIMAL_IMAGE_ALIAS, withImages } from '../../drivers/runtime/images.js';
import { RuntimeError, type VM } from '../../drivers/runtime/types.js';
import {
  BRIDGE_PREFIX,
  INCUS_SOCKET,
  PROFILE,
  deleteByTidepoolId,
  httpGet,
  requireOrSkip,
  runId,
  until,
} from './helpers.js';

const run = await requireOrSkip('test/incus');
// The incus CLI reads YAML from a stdin that is not a terminal (create/launch): give it none.
const incus = (args: string[]) => execaRaw('incus', args, { stdin: 'ignore' });
const MiB = 2 ** 20;
const ID = runId('t-incus');
const OTHER_ID = `${ID}-other`;
const foreignNames: string[] = [];
const drivers: IncusRuntime[] = [];

function driver(id = ID, extra: Partial<Parameters<typeof createIncusRuntime>[0]> = {}): IncusRuntime {
  const d = createIncusRuntime({
    tidepoolId: id,
    socketPath: INCUS_SOCKET,
    profile: PROFILE,
    stopTimeoutSeconds: 10,
    ...extra,
  });
  drivers.push(d);
  return d;
}

const find = async (d: IncusRuntime, name: string): Promise<VM | undefined> =>
  (await d.list()).find((v) => v.name === name);
const runningWithIp = (d: IncusRuntime, name: string) =>
  until(`${name} Running with an IP`, async () => {
    const vm = await find(d, name);
    return vm?.state === 'Running' && vm.ip ? vm : undefined;
  });
const answers = (ip: string, port = 8080) =>
  until(`HTTP on ${ip}:${port}`, async () => {
    const r = await httpGet(ip, port);
    return r?.status === 200 ? r : undefined;
  });
/** Incus's own view of an instance (bypassing the driver). */
async function incusInstance(name: string): Promise<{ status: string; config: Record<string, string> } | undefined> {
  const c = new IncusClient({ socketPath: INCUS_SOCKET });
  try {
    return await c.call('GET', `/1.0/instances/${name}`);
  } catch (err) {
    if (err instanceof RuntimeError && err.code === 404) return undefined;
    throw err;
  } finally {
    await c.close();
  }
}
/** Runs `sh -c script` in an instance; exit code and output. */
async function inside(instance: string, script: string) {
  const r = await execaRaw('incus', ['exec', instance, '--', 'sh', '-c', script], {
    stdin: 'ignore',
    reject: false,
    all: true,
    timeout: 20_000,
  });
  return { code: r.exitCode, out: r.all ?? '' };
}

afterAll(async () => {
  for (const d of drivers) await d.close?.();
  if (!run) return;
  const gone = await deleteByTidepoolId(ID, foreignNames);
  await deleteByTidepoolId(OTHER_ID);
  if (gone.length) console.log(`test/incus: cleaned up ${gone.length} instance(s): ${gone.join(', ')}`);
}, 120_000);

describe.skipIf(!run)('Incus runtime driver (real Incus)', () => {
  it('create+start → Running with an IP on the bridge, HTTP :8080 answers; stop keeps it; start brings it back; delete removes it', async () => {
    const d = driver();
    const ws = 'life';
    await d.create({ name: ws, image: 'minimal', cpu: 1, memoryBytes: 256 * MiB, start: true });

    const vm = await runningWithIp(d, ws);
    expect(vm.ip!.startsWith(BRIDGE_PREFIX)).toBe(true);
    expect(vm).toMatchObject({ name: ws, state: 'Running', image: 'minimal', cpu: 1, memoryBytes: 256 * MiB });
    const page = await answers(vm.ip!);
    expect(page.body).toContain(`Tidepool workspace ${ws}`);
    const port3000 = await answers(vm.ip!, 3000);
    expect(port3000.body).toContain(`port 3000 of ${ws}`);
    // get(): the same VM, from that one instance alone.
    expect(await d.get(ws)).toEqual(vm);
    expect(await d.get('not-there')).toBeUndefined();

    // Marked as ours, with the workspace name in config, on our profile.
    const raw = await incusInstance(d.instanceName(ws));
    expect(raw?.config[CONFIG_ID]).toBe(ID);
    expect(raw?.config[CONFIG_WORKSPACE]).toBe(ws);

    // create again: AlreadyExists, not a crash and not a second instance.
    const dup = await d
      .create({ name: ws, image: 'minimal', cpu: 1, memoryBytes: 256 * MiB, start: true })
      .catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(RuntimeError);
    expect((dup as RuntimeError).reason).toBe('AlreadyExists');
    expect((dup as RuntimeError).code).toBe(409);

    await d.stop(ws);
    expect(await find(d, ws)).toMatchObject({ name: ws, state: 'Stopped' });
    expect(await d.get(ws)).toMatchObject({ name: ws, state: 'Stopped' });
    expect((await find(d, ws))?.ip).toBeUndefined();
    expect((await incusInstance(d.instanceName(ws)))?.status).toBe('Stopped'); // disk kept: the instance is still there
    await d.stop(ws); // stopping a stopped one is fine

    await d.start(ws);
    const back = await runningWithIp(d, ws);
    expect((await answers(back.ip!)).body).toContain(`Tidepool workspace ${ws}`);
    await d.start(ws); // starting a running one is fine

    await d.delete(ws); // running: stopped first, then deleted
    expect(await find(d, ws)).toBeUndefined();
    expect(await incusInstance(d.instanceName(ws))).toBeUndefined();
    await d.delete(ws); // missing is fine
  }, 90_000);

  it('creates stopped when asked, and names long workspaces within 63 characters', async () => {
    const d = driver();
    const long = `w${'x'.repeat(50)}-long-name-to-be-cut`.slice(0, 63);
    expect(long.length).toBe(63);
    await d.create({ name: long, image: 'minimal', cpu: 2, memoryBytes: 512 * MiB, start: false });
    const name = d.instanceName(long);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(await find(d, long)).toMatchObject({ name: long, state: 'Stopped', cpu: 2, memoryBytes: 512 * MiB });
    await d.delete(long);
    expect(await find(d, long)).toBeUndefined();
  }, 60_000);

  it("list() shows only this Tidepool's instances and never touches another's", async () => {
    const mine = driver();
    const theirs = driver(OTHER_ID);
    await mine.create({ name: 'shared', image: 'minimal', cpu: 1, memoryBytes: 128 * MiB, start: false });
    await theirs.create({ name: 'shared', image: 'minimal', cpu: 1, memoryBytes: 128 * MiB, start: false });
    expect(mine.instanceName('shared')).not.toBe(theirs.instanceName('shared'));

    // One made by hand: another id, but named exactly as my workspace "byhand" would be.
    const handName = mine.instanceName('byhand');
    foreignNames.push(handName);
    await incus([
      'create',
      MINIMAL_IMAGE_ALIAS,
      handName,
      '-p',
      PROFILE,
      '-c',
      `${CONFIG_ID}=someone-else`,
      '-c',
      `${CONFIG_WORKSPACE}=byhand`,
      '-q',
    ]);
    // And one with no Tidepool marks at all.
    const plain = `plain-${process.pid}`;
    foreignNames.push(plain);
    await incus(['create', MINIMAL_IMAGE_ALIAS, plain, '-p', PROFILE, '-q']);

    expect((await mine.list()).map((v) => v.name)).toEqual(['shared']);
    expect((await theirs.list()).map((v) => v.name)).toEqual(['shared']);

    // Deleting "byhand" through my driver must leave the hand-made instance alone.
    await mine.delete('byhand');
    expect(await incusInstance(handName)).toBeDefined();
    await expect(mine.start('byhand')).rejects.toMatchObject({ reason: 'NotFound' });
    // Creating "byhand" finds the name taken by someone else's instance: a clear conflict.
    await expect(
      mine.create({ name: 'byhand', image: 'minimal', cpu: 1, memoryBytes: 128 * MiB, start: false }),
    ).rejects.toMatchObject({ reason: 'NameConflict', message: expect.stringContaining('someone-else') });

    await mine.delete('shared');
    expect(await mine.list()).toEqual([]);
    expect((await theirs.list()).map((v) => v.name)).toEqual(['shared']); // theirs untouched
    await theirs.delete('shared');
    for (const n of [handName, plain]) {
      expect(await incusInstance(n)).toBeDefined();
      await incus(['delete', '--force', n]);
    }
  }, 90_000);

  it("subscribe() reports an `incus stop -f` done behind Tidepool's back", async () => {
    const d = driver();
    const ws = 'drift';
    await d.create({ name: ws, image: 'minimal', cpu: 1, memoryBytes: 128 * MiB, start: true });
    await runningWithIp(d, ws);
    const seen: string[] = [];
    const unsubscribe = d.subscribe!((name) => seen.push(name));
    try {
      await new Promise((r) => setTimeout(r, 300)); // let the websocket open
      const t0 = Date.now();
      await incus(['stop', '-f', d.instanceName(ws)]);
      await until('the stop event', async () => (seen.includes(ws) ? true : undefined), 10_000, 20);
      console.log(`test/incus: event for the forced stop arrived ${Date.now() - t0} ms after \`incus stop -f\` began`);
      expect((await find(d, ws))?.state).toBe('Stopped');

      // Events about instances that are not ours are not reported.
      const plain = `plainev-${process.pid}`;
      foreignNames.push(plain);
      seen.length = 0;
      await incus(['create', MINIMAL_IMAGE_ALIAS, plain, '-p', PROFILE, '-q']);
      await incus(['delete', '--force', plain]);
      await incus(['start', d.instanceName(ws)]);
      await until('the start event', async () => (seen.includes(ws) ? true : undefined), 10_000, 20);
      expect(seen.every((n) => n === ws)).toBe(true);
    } finally {
      unsubscribe();
    }
    await d.delete(ws);
  }, 60_000);

  it('two workspaces cannot reach each other, while the host reaches both', async () => {
    const d = driver();
    await Promise.all(
      ['iso-a', 'iso-b'].map((name) =>
        d.create({ name, image: 'minimal', cpu: 1, memoryBytes: 128 * MiB, start: true }),
      ),
    );
    const a = await runningWithIp(d, 'iso-a');
    const b = await runningWithIp(d, 'iso-b');
    expect((await answers(a.ip!)).body).toContain('iso-a');
    expect((await answers(b.ip!)).body).toContain('iso-b');

    const get = (ip: string) => `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} 8080`;
    // Control: nc inside the container works (its own server answers).
    const self = await inside(d.instanceName('iso-a'), get(a.ip!));
    expect(self.out).toContain('200 OK');
    // a → b and b → a time out.
    const ab = await inside(d.instanceName('iso-a'), get(b.ip!));
    const ba = await inside(d.instanceName('iso-b'), get(a.ip!));
    expect(ab.code).not.toBe(0);
    expect(ab.out).not.toContain('200 OK');
    expect(ab.out).toMatch(/timed out/);
    expect(ba.code).not.toBe(0);
    expect(ba.out).toMatch(/timed out/);

    await Promise.all(['iso-a', 'iso-b'].map((n) => d.delete(n)));
  }, 90_000);

  it("Incus's own error messages come back as RuntimeError", async () => {
    const d = driver(ID, { imageMap: withImages({ incus: { broken: { alias: 'tidepool-no-such-image' } } }) });
    const err = await d
      .create({ name: 'noimage', image: 'broken', cpu: 1, memoryBytes: 128 * MiB, start: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).reason).toBe('ImageNotFound');
    expect((err as RuntimeError).message).toContain('tidepool-no-such-image');
    expect(await find(d, 'noimage')).toBeUndefined();

    await expect(d.create({ name: 'x', image: 'nope', cpu: 1, memoryBytes: MiB, start: false })).rejects.toMatchObject({
      reason: 'UnknownImage',
    });
    await expect(d.stop('never-made')).rejects.toMatchObject({ reason: 'NotFound', code: 404 });

    // A profile Incus does not have: Incus's own words, its own code.
    const noProfile = driver(ID, { profile: 'tidepool-no-such-profile' });
    const perr = await noProfile
      .create({ name: 'noprofile', image: 'minimal', cpu: 1, memoryBytes: 128 * MiB, start: false })
      .catch((e: unknown) => e);
    expect(perr).toBeInstanceOf(RuntimeError);
    expect((perr as RuntimeError).message).toMatch(/profile/i);
    expect((perr as RuntimeError).code).toBeGreaterThanOrEqual(400);
  }, 60_000);
});

describe('Incus runtime driver without Incus', () => {
  it('a socket path that does not exist gives a RuntimeError with a clear message, and nothing crashes', async () => {
    const d = createIncusRuntime({
      tidepoolId: ID,
      socketPath: '/nonexistent/tidepool-test/incus.socket',
      eventsBackoffMs: [20, 50],
    });
    // Each outcome is caught at once: the calls fail at their own pace, and one that failed
    // before the loop reached it would otherwise be an unhandled rejection.
    const outcomes = [
      d.list(),
      d.create({ name: 'a', image: 'minimal', cpu: 1, memoryBytes: MiB, start: true }),
      d.start('a'),
      d.stop('a'),
      d.delete('a'),
    ].map((p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    for (const err of await Promise.all(outcomes)) {
      expect(err).toBeInstanceOf(RuntimeError);
      expect((err as RuntimeError).reason).toBe('RuntimeUnavailable');
      expect((err as RuntimeError).message).toContain('/nonexistent/tidepool-test/incus.socket');
      expect((err as RuntimeError).message).toMatch(/ENOENT|no such/i);
    }
    const logs: string[] = [];
    const d2 = createIncusRuntime({
      tidepoolId: ID,
      socketPath: '/nonexistent/tidepool-test/incus.socket',
      eventsBackoffMs: [20, 50],
      log: (m) => logs.push(m),
    });
    const unsubscribe = d2.subscribe!(() => undefined);
    await until('a reconnect attempt', async () => (logs.length >= 2 ? true : undefined), 5000, 20);
    unsubscribe();
    await d.close!();
    await d2.close!();
    expect(logs[0]).toMatch(/reconnecting/);
  });
});
