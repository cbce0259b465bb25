// The warm pool on the real Incus, through `tidepool serve --warm-pool ide=2` (the built binary):
// the pool fills with started instances of the code-server image whose IDE is not running; a
// workspace applied then takes one and gets its own home, its resources and its IDE, the pool
// refills, a pool instance never holds any workspace's home, and a stop gives the instance its
// usual name (Incus renames only stopped instances). afterAll force-deletes the instances and
// volumes carrying this run's id and ends every serve and Caddy started here.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncusClient } from '../../drivers/runtime/incus/index.js';
import { CONFIG_WARM, CONFIG_WARM_READY, CONFIG_WORKSPACE, instanceName } from '../../drivers/runtime/incus/names.js';
import { cleanEnv } from '../cli/helpers.js';
import { INCUS_SOCKET, deleteByTidepoolId, deleteVolumesByTidepoolId, requireOrSkip, until } from '../incus/helpers.js';
import {
  Api,
  caddyPids,
  condition,
  freePorts,
  inside,
  instancesOf,
  incus,
  isOurCaddy,
  presetId,
  startIncusServe,
  started,
  stopServe,
  volumesOf,
  workspace,
  type IncusServe,
  type Obj,
} from './incus-helpers.js';

const IDE_ALIAS = 'tidepool-ide';
const run = await requireOrSkip('test/e2e/warm-pool');
const hasIde = run && (await incus(['image', 'show', IDE_ALIAS])).exitCode === 0;
if (run && !hasIde && process.env.TIDEPOOL_REQUIRE_INCUS)
  throw new Error(`test/e2e/warm-pool: Incus has no image ${IDE_ALIAS}; build it with scripts/setup-host.sh`);

let scratch: string;
let serve: IncusServe;
let api: Api;
let ID: string;

const ready = (name: string) =>
  until(
    `workspace ${name} Ready`,
    async () => {
      const o = await api.get('workspaces', name);
      return o &&
        (o.status?.observedGeneration ?? 0) >= (o.metadata.generation ?? 0) &&
        condition(o, 'Ready')?.status === 'True'
        ? o
        : undefined;
    },
    180_000,
    200,
  );

/** The disk devices of an instance (its own, not from profiles): name → source volume. */
async function disks(instance: string): Promise<Record<string, string>> {
  const client = new IncusClient({ socketPath: INCUS_SOCKET });
  try {
    const i = await client.call<{ devices?: Record<string, Record<string, string>> }>(
      'GET',
      `/1.0/instances/${instance}`,
    );
    const out: Record<string, string> = {};
    for (const [name, d] of Object.entries(i.devices ?? {})) if (d.type === 'disk') out[name] = d.source ?? '';
    return out;
  } finally {
    await client.close();
  }
}

/** The pool's instances once it holds `n` running ones, each marked ready to be taken. */
const poolOf = (n: number) =>
  until(
    `a warm pool of ${n}`,
    async () => {
      const pool = (await instancesOf(ID)).filter((i) => i.config[CONFIG_WARM]);
      const ready = pool.every((i) => i.status === 'Running' && i.config[CONFIG_WARM_READY] === 'true');
      return pool.length === n && ready ? pool : undefined;
    },
    180_000,
    250,
  );

beforeAll(async () => {
  if (!run || !hasIde) return;
  scratch = await mkdtemp(join(tmpdir(), 'tp-e2e-warm-'));
  const env = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg'), TIDEPOOL_LOG_LEVEL: 'info' });
  const dataDir = join(scratch, 'main');
  ID = await presetId(dataDir, 'warm');
  serve = await startIncusServe(dataDir, await freePorts(), env, 60_000, [
    '--image',
    `ide=${IDE_ALIAS}`,
    '--warm-pool',
    'ide=2',
  ]);
  api = new Api(serve.address);
}, 120_000);

afterAll(async () => {
  for (const s of started)
    await stopServe(s).catch((err: unknown) => console.error(`stopping serve ${s.proc.pid}: ${err}`));
  for (const s of started)
    for (const pid of caddyPids(s))
      if (await isOurCaddy(pid, s.dataDir)) console.error(`test/e2e/warm-pool: Caddy ${pid} is still alive`);
  if (run && ID) {
    await deleteByTidepoolId(ID);
    await deleteVolumesByTidepoolId(ID);
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
}, 180_000);

describe.skipIf(!run || !hasIde)('the warm pool on the real Incus', () => {
  it('a workspace takes a pool instance with its own home, resources and IDE; the pool refills and never holds a home; a stop gives the usual name', async () => {
    const pool = await poolOf(2);
    for (const p of pool) {
      expect(await disks(p.name)).toEqual({});
      // The IDE is not running in a pool instance, once it has booted.
      const booted = await until(
        `${p.name} booted`,
        async () => {
          const s = (await inside(p.name, 'systemctl is-system-running')).out.trim();
          return s === 'running' || s === 'degraded';
        },
        60_000,
        200,
      );
      expect(booted).toBe(true);
      expect((await inside(p.name, 'systemctl is-active code-server')).out.trim()).toBe('inactive');
    }
    const poolNames = new Set(pool.map((p) => p.name));

    await api.apply([
      workspace('wa', { image: 'ide', resources: { cpu: 1, memory: '1Gi' } }),
      workspace('wb', { image: 'ide', resources: { cpu: 2, memory: '1536Mi' } }),
    ]);
    const [a, b] = [await ready('wa'), await ready('wb')];
    const seen = await instancesOf(ID);
    const check = async (o: Obj, cpu: string, memory: string) => {
      const ws = o.metadata.name;
      const i = seen.find((x) => x.config[CONFIG_WORKSPACE] === ws)!;
      expect(poolNames.has(i.name)).toBe(true);
      expect(o.status?.instance).toBe(i.name);
      expect(i.config['limits.cpu']).toBe(cpu);
      expect(i.config['limits.memory']).toBe(memory);
      expect(i.config[CONFIG_WARM]).toBeUndefined();
      expect(i.config[CONFIG_WARM_READY]).toBeUndefined();
      // Its own home, named as a cold create names it, and the IDE running as dev on it.
      expect(await disks(i.name)).toEqual({ home: `${instanceName(ws, ID)}-home` });
      expect((await inside(i.name, 'stat -c %U /home/dev && systemctl is-active code-server')).out.trim()).toBe(
        'dev\nactive',
      );
      expect((await inside(i.name, `curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/healthz`)).out).toBe(
        '200',
      );
    };
    await check(a, '1', '1GiB');
    await check(b, '2', '1536MiB');
    expect((await volumesOf(ID)).sort()).toEqual([`${instanceName('wa', ID)}-home`, `${instanceName('wb', ID)}-home`]);

    // Refilled with new instances, none of which has a home.
    const refilled = await poolOf(2);
    for (const p of refilled) {
      expect(poolNames.has(p.name)).toBe(false);
      expect(await disks(p.name)).toEqual({});
    }

    // Stopped, it gets the usual name; started again, it is the same workspace with the same home.
    await inside(a.status!.instance!, 'echo kept > /home/dev/notes.txt');
    await api.setRunning('wa', false);
    await until('wa Stopped', async () => (await api.get('workspaces', 'wa'))?.status?.phase === 'Stopped', 60_000);
    await api.setRunning('wa', true);
    const again = await ready('wa');
    expect(again.status?.instance).toBe(instanceName('wa', ID));
    expect((await inside(instanceName('wa', ID), 'cat /home/dev/notes.txt')).out.trim()).toBe('kept');

    await api.delete('workspaces', 'wa');
    await api.delete('workspaces', 'wb');
    await until('both deleted', async () => (await volumesOf(ID)).length === 0, 120_000);
    // The pool is no workspace's: never an orphan.
    const orphans = await api.call('GET', '/api/v1/orphans');
    expect(orphans.json?.items ?? []).toEqual([]);
  }, 600_000);
});
