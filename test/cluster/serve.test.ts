// `tidepool serve` against the cluster lab (through member m1, HTTPS with the lab's client
// certificate and the cluster certificate pinned) with its own Caddy on loopback: workspaces
// placed by spec.placement and reported by status.node, the NODE column of `get -o wide`, a
// placement change that moves a workspace with its home (the route follows without a proxy
// reload), `tidepool nodes`, and `tidepool drain` moving what it can and naming what it cannot.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { cleanEnv, tp } from '../cli/helpers.js';
import {
  Api,
  PASSWORD,
  USER,
  freePorts,
  isReady,
  presetId,
  startIncusServe,
  started,
  stopServe,
  viaCaddy,
  workspace,
  type IncusServe,
  type Obj,
} from '../e2e/incus-helpers.js';
import { poll } from '../poll.js';
import { lockLab, deleteLabLeftovers, guardDrops, labOrSkip, type Lab } from './lab.js';

const lab = await labOrSkip('test/cluster/serve');
let scratch = '';
let ID = '';
let serve: IncusServe;
let api: Api;
let cli: NodeJS.ProcessEnv;
let dropsBefore = 0;
let release: (() => void) | undefined;

const ready = (name: string, timeoutMs = 120_000) =>
  poll(
    `${name} Ready`,
    async () => {
      const o = await api.get('workspaces', name);
      return isReady(o) ? o : undefined;
    },
    timeoutMs,
    250,
  ) as Promise<Obj>;
const nodeOf = (o: Obj) => (o.status as { node?: string } | undefined)?.node;
const uncordonAll = async () => {
  for (const m of ['m1', 'm2', 'm3'])
    await execa('incus', ['exec', 'tplab-m1', '--', 'incus', 'cluster', 'set', m, 'scheduler.instance=all'], {
      reject: false,
      stdin: 'ignore',
    });
};

beforeAll(async () => {
  if (!lab) return;
  release = await lockLab();
  scratch = await mkdtemp(join(tmpdir(), 'tp-cluster-serve-'));
  const dataDir = join(scratch, 'data');
  ID = await presetId(dataDir, 'tpcl');
  dropsBefore = await guardDrops();
  const env = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg'), TIDEPOOL_LOG_LEVEL: 'info' });
  const l = lab as Lab;
  serve = await startIncusServe(dataDir, await freePorts(), env, 90_000, [
    '--incus-url',
    l.url,
    '--incus-cert',
    l.files.cert,
    '--incus-key',
    l.files.key,
    '--incus-server-cert',
    l.files.serverCert,
    '--image',
    'minimal=tidepool-minimal',
  ]);
  api = new Api(serve.address);
  cli = { ...env, TIDEPOOL_SERVER: serve.address, TIDEPOOL_USER: USER, TIDEPOOL_PASSWORD: PASSWORD };
}, 600_000);

afterAll(async () => {
  if (!lab) return;
  await uncordonAll();
  for (const name of ['pinned', 'movable']) await api?.delete('workspaces', name).catch(() => undefined);
  await poll(
    'the workspaces deleted',
    async () => !(await api.get('workspaces', 'pinned')) && !(await api.get('workspaces', 'movable')),
    120_000,
    500,
  ).catch((err: unknown) => console.warn(`${err}`));
  for (const s of started) await stopServe(s).catch((err: unknown) => console.error(`stopping serve: ${err}`));
  await deleteLabLeftovers(lab, ID);
  if (scratch) await rm(scratch, { recursive: true, force: true });
  release?.();
}, 240_000);

describe.runIf(lab)('tidepool serve on an Incus cluster', () => {
  it('places workspaces where spec.placement says and reports the member (status.node, get -o wide)', async () => {
    await api.apply([workspace('pinned', { placement: 'm2' }), workspace('movable', { placement: 'm2' })]);
    const [p, m] = [await ready('pinned'), await ready('movable')];
    expect(nodeOf(p)).toBe('m2');
    expect(nodeOf(m)).toBe('m2');
    const wide = await tp(['get', 'workspaces', '-o', 'wide'], { env: cli });
    expect(wide.stdout).toMatch(/NODE/);
    expect(wide.stdout).toMatch(/pinned\s.*\sm2\s/);
    const page = await poll('pinned through Caddy', () => viaCaddy(serve, '/workspace/pinned/'), 30_000, 250);
    expect(page.body).toContain('Tidepool workspace');
  }, 300_000);

  it('moves a workspace with its home when spec.placement changes; the route follows', async () => {
    const put = await tp(['exec', 'movable', '--', 'sh', '-c', 'echo moved-with-me > /home/dev/mark'], {
      env: cli,
      timeoutMs: 60_000,
    });
    expect(put.code, put.stderr).toBe(0);
    await api.patchSpec('movable', { placement: 'm3' });
    const moved = await poll(
      'movable Ready on m3',
      async () => {
        const o = await api.get('workspaces', 'movable');
        return isReady(o) && nodeOf(o!) === 'm3' ? o : undefined;
      },
      180_000,
      500,
    );
    expect(nodeOf(moved)).toBe('m3');
    const got = await tp(['exec', 'movable', '--', 'cat', '/home/dev/mark'], { env: cli, timeoutMs: 60_000 });
    expect(got.stdout.trim()).toBe('moved-with-me');
    const page = await poll(
      'movable through Caddy after the move',
      async () => {
        const r = await viaCaddy(serve, '/workspace/movable/');
        return r?.status === 200 ? r : undefined;
      },
      60_000,
      250,
    );
    expect(page.body).toContain('Tidepool workspace movable');
  }, 300_000);

  it('drains a member: moves what is not pinned there, and names what is', async () => {
    // movable goes back to m2 without a pin: the drain may move it.
    await api.patchSpec('movable', { placement: 'm2' });
    await poll(
      'movable on m2',
      async () =>
        nodeOf((await api.get('workspaces', 'movable'))!) === 'm2' && isReady(await api.get('workspaces', 'movable')),
      180_000,
      500,
    );
    await api.patchSpec('movable', { placement: null });
    const nodes = await tp(['nodes'], { env: cli });
    expect(nodes.stdout).toMatch(/m2\s+Online\s+Enabled\s+2/);
    const drain = await tp(['drain', 'm2', '--timeout', '4m'], { env: cli, timeoutMs: 300_000 });
    expect(drain.stdout).toContain('node/m2 cordoned');
    expect(drain.stdout).toMatch(/workspace\/movable moved to m[13]/);
    expect(drain.stderr).toContain('workspace/pinned cannot move: spec.placement pins it to m2');
    expect(drain.code).not.toBe(0);
    const after = await ready('movable', 120_000);
    expect(['m1', 'm3']).toContain(nodeOf(after));
    expect(nodeOf((await api.get('workspaces', 'pinned'))!)).toBe('m2');
    expect((await tp(['nodes'], { env: cli })).stdout).toMatch(/m2\s+Online\s+Disabled\s+1/);
    const back = await tp(['uncordon', 'm2'], { env: cli });
    expect(back.stdout).toContain('node/m2 uncordoned');
    expect((await tp(['nodes'], { env: cli })).stdout).toMatch(/m2\s+Online\s+Enabled/);
  }, 420_000);

  it('sent nothing off the machine (the guard counter is unchanged)', async () => {
    expect(await guardDrops()).toBe(dropsBefore);
  });
});
