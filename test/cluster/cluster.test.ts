// Tidepool's Incus driver against a real 3-member Incus cluster (the cluster lab,
// scripts/cluster-lab.sh), always through member m1: placement on a member, the home made
// beside its instance, a home copied across members, exec and events of an instance on
// another member, a failed create that is an error, a move with the home, a member that goes
// offline (paused) and comes back, and the egress guard's counter at 0 at the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import type { IncusRuntime } from '../../drivers/runtime/incus/index.js';
import type { VM } from '../../drivers/runtime/types.js';
import { poll } from '../poll.js';
import { lockLab, guardDrops, labClient, labGet, labOrSkip, labRuntime, type Lab } from './lab.js';

const lab = await labOrSkip('test/cluster');
const ID = `t-cluster-${process.pid}-${Date.now().toString(36)}`;
const MINIMAL = 'minimal';
let rt: IncusRuntime;
let dropsBefore = 0;
let release: (() => void) | undefined;
const made = new Set<string>();

const make = async (name: string, placement?: string, from?: string) => {
  made.add(name);
  await rt.homes!.ensure(name, from, { ...(placement ? { placement } : {}), cpu: 1, memoryBytes: 256 * 2 ** 20 });
  await rt.create({
    name,
    image: MINIMAL,
    cpu: 1,
    memoryBytes: 256 * 2 ** 20,
    start: true,
    home: true,
    ...(placement ? { placement } : {}),
  });
};
const running = (name: string) =>
  poll(
    `${name} running with an address`,
    async () => {
      const vm = await rt.get(name);
      return vm?.state === 'Running' && vm.ip ? vm : undefined;
    },
    60_000,
    250,
  ) as Promise<VM>;
const sh = async (name: string, script: string) => {
  const r = await rt.exec!(name, ['sh', '-c', script]);
  expect(r.exitCode, `${script}: ${r.stderr}`).toBe(0);
  return r.stdout.trim();
};

beforeAll(async () => {
  if (!lab) return;
  release = await lockLab();
  rt = labRuntime(lab, ID);
  dropsBefore = await guardDrops();
}, 600_000);

afterAll(async () => {
  if (!lab) return;
  // A member paused by a failed test is let go first, or nothing on it can be deleted.
  await execa('incus', ['start', lab.instanceOf('m3')], { reject: false, stdin: 'ignore' });
  for (const name of made) {
    await poll(
      `${name} deleted`,
      async () => {
        await rt.delete(name);
        await rt.homes!.delete(name);
        return true;
      },
      90_000,
      1000,
    ).catch((err: unknown) => console.warn(`cleanup of ${name}: ${(err as Error).message}`));
  }
  await rt?.close?.();
  release?.();
}, 180_000);

describe.runIf(lab)('an Incus cluster (3 members, through m1)', () => {
  it('places a workspace on the member asked, makes its home there, and reaches it from the host', async () => {
    const l = lab as Lab;
    await make('alpha', 'm3');
    const vm = await running('alpha');
    expect(vm.node).toBe('m3');
    expect(await rt.homes!.location!('alpha')).toBe('m3');
    expect(vm.ip!.startsWith(l.wsPrefix)).toBe(true);
    const page = await poll('the workspace answers from the host', () => labGet(l, vm.ip!), 30_000, 250);
    expect(page).toContain('Tidepool workspace');
  }, 120_000);

  it('runs exec on another member and hears its events through m1', async () => {
    expect(await sh('alpha', 'cat /proc/sys/kernel/hostname')).toMatch(/^alpha-/);
    await sh('alpha', 'echo kept-across-members > /home/dev/note');
    const heard: string[] = [];
    const off = rt.subscribe!((n) => heard.push(n));
    try {
      await rt.stop('alpha');
      await poll('an event about alpha (on m3) through m1', () => heard.includes('alpha'), 30_000, 100);
    } finally {
      off();
    }
    await rt.start('alpha');
    await running('alpha');
  }, 120_000);

  it('copies a home to a workspace on another member (fromWorkspace)', async () => {
    await make('beta', 'm2', 'alpha');
    expect(await rt.homes!.location!('beta')).toBe('m2');
    const vm = await running('beta');
    expect(vm.node).toBe('m2');
    expect(await sh('beta', 'cat /home/dev/note')).toBe('kept-across-members');
  }, 120_000);

  it('keeps workspaces on different members apart (port isolation across the flat L2); the host reaches both', async () => {
    const l = lab as Lab;
    const beta = await running('beta');
    expect(await labGet(l, beta.ip!)).toContain('Tidepool workspace');
    // From alpha (m3) to beta (m2): through m3's bridge, its uplink and the host's bridge, whose member ports are isolated.
    const r = await rt.exec!('alpha', ['sh', '-c', `echo | nc -w 3 ${beta.ip} 8080 >/dev/null 2>&1; echo $?`]);
    expect(r.stdout.trim()).not.toBe('0');
    // The same command does connect where isolation does not apply: alpha to itself.
    const self = await rt.exec!('alpha', ['sh', '-c', 'echo | nc -w 3 127.0.0.1 8080 >/dev/null 2>&1; echo $?']);
    expect(self.stdout.trim()).toBe('0');
  }, 60_000);

  it('without placement, puts the workspace on the member with the fewest instances', async () => {
    const client = labClient(lab as Lab);
    const all = await client.call<{ location: string }[]>('GET', '/1.0/instances?recursion=1');
    await client.close();
    const count = (m: string) => all.filter((i) => i.location === m).length;
    const least = [...(lab as Lab).members].sort((a, b) => count(a) - count(b) || a.localeCompare(b))[0];
    await make('gamma');
    expect((await running('gamma')).node).toBe(least);
    expect(await rt.homes!.location!('gamma')).toBe(least);
  }, 120_000);

  it('reports a create whose operation failed as an error, not as done', async () => {
    made.add('delta');
    // No home was made: the create fails on m2 with "Storage volume not found", and its /wait answers 404.
    await expect(
      rt.create({
        name: 'delta',
        image: MINIMAL,
        cpu: 1,
        memoryBytes: 256 * 2 ** 20,
        start: true,
        home: true,
        placement: 'm2',
      }),
    ).rejects.toThrow(/not found/i);
    expect(await rt.get('delta')).toBeUndefined();
  }, 60_000);

  it('refuses a placement that names no member, saying which members there are', async () => {
    const where = { placement: 'm9', cpu: 1, memoryBytes: 2 ** 28 };
    await expect(rt.homes!.ensure('epsilon', undefined, where)).rejects.toThrow(/no such cluster member.*m1, m2, m3/);
  });

  it('places a workspace only where it fits: a member without room says so, and so does a cluster without one', async () => {
    // Each member has this host's memory; 1 TiB fits on none of them.
    const huge = { cpu: 1, memoryBytes: 2 ** 40 };
    await expect(rt.homes!.ensure('zeta', undefined, { placement: 'm2', ...huge })).rejects.toThrow(
      /no room on cluster member m2 \(1TiB more than/,
    );
    await expect(rt.homes!.ensure('zeta', undefined, huge)).rejects.toThrow(
      /no cluster member has room for 1 vCPU and 1TiB \(m1: .*m2: .*m3: /,
    );
    expect(await rt.homes!.exists('zeta')).toBe(false);
  });

  it('starts a stopped workspace only where it is if that member has room, and says so when it has not', async () => {
    await make('eta', 'm2');
    await running('eta');
    await rt.stop('eta');
    // Its limit raised past what m2 holds while it was stopped (as a bigger spec.resources would).
    const client = labClient(lab as Lab);
    try {
      await client.call('PATCH', `/1.0/instances/${rt.instanceName('eta')}`, { config: { 'limits.memory': '1TiB' } });
    } finally {
      await client.close();
    }
    await expect(rt.start('eta')).rejects.toThrow(/no room on cluster member m2, where the workspace and its home are/);
    expect((await rt.get('eta'))?.state).toBe('Stopped');
  }, 180_000);

  it('moves a workspace with its home to another member; the file comes along', async () => {
    const l = lab as Lab;
    await rt.move!('beta', 'm1');
    const vm = await running('beta');
    expect(vm.node).toBe('m1');
    expect(await rt.homes!.location!('beta')).toBe('m1');
    expect(await sh('beta', 'cat /home/dev/note')).toBe('kept-across-members');
    expect(await poll('beta answers after the move', () => labGet(l, vm.ip!), 30_000, 250)).toContain('Tidepool');
  }, 180_000);

  it('reports a workspace on an offline member (not dropped), and sees it again when the member is back', async () => {
    const l = lab as Lab;
    await execa('incus', ['pause', l.instanceOf('m3')], { stdin: 'ignore' });
    try {
      const seen = await poll(
        'alpha listed as on an unreachable member',
        async () => (await rt.list()).find((v) => v.name === 'alpha' && v.nodeUnreachable),
        90_000,
        2000,
      );
      expect(seen.node).toBe('m3');
      expect(seen.message).toMatch(/member m3 does not answer/);
      // The others are still there as they were.
      expect((await rt.list()).find((v) => v.name === 'beta')?.state).toBe('Running');
    } finally {
      await execa('incus', ['start', l.instanceOf('m3')], { stdin: 'ignore' });
    }
    const back = await poll(
      'alpha running again once m3 is back',
      async () => (await rt.list()).find((v) => v.name === 'alpha' && v.state === 'Running' && !v.nodeUnreachable),
      120_000,
      2000,
    );
    expect(back.node).toBe('m3');
  }, 300_000);

  it("leaves the lab's egress guard counter where it was: nothing left the machine", async () => {
    expect(await guardDrops()).toBe(dropsBefore);
  });
});
