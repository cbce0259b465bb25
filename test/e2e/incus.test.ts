// End to end against the real Incus and the real Caddy, through `tidepool serve` (the built
// binary): the Workspace and Port lifecycle as a user sees it through Caddy, drift done behind
// Tidepool's back, isolation between workspaces, and a kill -9 in the middle of creating.
// Every instance carries a Tidepool id written into the data directory before serve starts;
// afterAll force-deletes by those ids and ends every serve and Caddy pid started here (a Caddy
// left alive by a kill -9 of its serve included, by the pid that serve logged).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceName } from '../../drivers/runtime/incus/names.js';
import { cleanEnv } from '../cli/helpers.js';
import {
  BRIDGE_PREFIX,
  deleteByTidepoolId,
  deleteVolumesByTidepoolId,
  requireOrSkip,
  until,
} from '../incus/helpers.js';
import {
  Api,
  caddyPids,
  condition,
  freePorts,
  freshGet,
  inside,
  instancesOf,
  incus,
  isOurCaddy,
  isReady,
  port,
  presetId,
  startIncusServe,
  started,
  stopServe,
  viaCaddy,
  workspace,
  type IncusServe,
  type Obj,
} from './incus-helpers.js';

const run = await requireOrSkip('test/e2e/incus');
const ids: string[] = [];
let scratch: string;
let env: NodeJS.ProcessEnv;
let serve: IncusServe;
let api: Api;
let ID: string;

/** Resolves with the Workspace once it is Ready for its current spec. */
const ready = (a: Api, name: string, timeoutMs = 60_000) =>
  until(
    `workspace ${name} Ready`,
    async () => {
      const o = await a.get('workspaces', name);
      return isReady(o) ? o : undefined;
    },
    timeoutMs,
    100,
  );

/** Resolves once GET <path> through Caddy answers `status` (and, when given, a body containing `text`). */
const throughCaddy = (path: string, status: number, text?: string, timeoutMs = 30_000, s: IncusServe = serve) =>
  until(
    `${path} through Caddy to answer ${status}${text ? ` with "${text}"` : ''}`,
    async () => {
      const r = await viaCaddy(s, path);
      return r?.status === status && (text === undefined || r.body.includes(text)) ? r : undefined;
    },
    timeoutMs,
    100,
  );

const instance = async (id: string, name: string) => (await instancesOf(id)).find((i) => i.name === name);

beforeAll(async () => {
  if (!run) return;
  scratch = await mkdtemp(join(tmpdir(), 'tp-e2e-incus-'));
  // XDG_DATA_HOME keeps any default data directory away from the real home.
  env = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg'), TIDEPOOL_LOG_LEVEL: 'info' });
  const dataDir = join(scratch, 'main');
  ID = await presetId(dataDir, 'e2e');
  ids.push(ID);
  serve = await startIncusServe(dataDir, await freePorts(), env);
  api = new Api(serve.address);
}, 90_000);

afterAll(async () => {
  for (const s of started)
    await stopServe(s).catch((err: unknown) => console.error(`stopping serve ${s.proc.pid}: ${err}`));
  for (const s of started) {
    for (const pid of caddyPids(s))
      if (await isOurCaddy(pid, s.dataDir)) console.error(`test/e2e/incus: Caddy ${pid} is still alive`);
  }
  if (run) {
    for (const id of ids) {
      const gone = await deleteByTidepoolId(id);
      if (gone.length)
        console.log(`test/e2e/incus: cleaned up ${gone.length} instance(s) of ${id}: ${gone.join(', ')}`);
      const homes = await deleteVolumesByTidepoolId(id);
      if (homes.length)
        console.log(`test/e2e/incus: cleaned up ${homes.length} home volume(s) of ${id}: ${homes.join(', ')}`);
    }
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
}, 180_000);

describe.skipIf(!run)('Tidepool on the real Incus and Caddy', () => {
  it('Workspace and Port: apply → running container with an IP, served through Caddy; stop → stopped, 503; start → back; delete → gone, 404', async () => {
    const ws = 'alpha';
    const inst = instanceName(ws, ID);
    await api.apply([workspace(ws), port('alpha-3000', ws, 3000)]);

    const o = await ready(api, ws);
    expect(o.status?.phase).toBe('Running');
    expect(o.status?.ip?.startsWith(BRIDGE_PREFIX)).toBe(true);
    expect(o.status?.url).toBe(`/workspace/${ws}/`);
    // Incus agrees: a running container, with that IP, our marks and the small resources asked for.
    const seen = await instance(ID, inst);
    expect(seen).toMatchObject({ name: inst, status: 'Running', ip: o.status!.ip });
    expect(seen!.config).toMatchObject({ 'user.tidepool.workspace': ws, 'limits.cpu': '1', 'limits.memory': '256MiB' });

    // Through the real Caddy: the container's own page (it names the workspace and the instance).
    const page = await throughCaddy(`/workspace/${ws}/`, 200, `Tidepool workspace ${ws}`);
    expect(page.body).toContain(`instance ${inst}`);
    // The Port on 3000, a second server of the same container.
    await until(
      'Port alpha-3000 Ready',
      async () => (condition(await api.get('ports', 'alpha-3000'), 'Ready')?.status === 'True' ? true : undefined),
      30_000,
    );
    const p3000 = await throughCaddy(`/workspace/${ws}/port/3000/`, 200, `port 3000 of ${ws}`);
    expect(p3000.body).toContain(`instance ${inst}`);
    // Caddy asks for the credentials, and knows nothing of other workspaces or ports.
    expect((await viaCaddy(serve, `/workspace/${ws}/`, false))?.status).toBe(401);
    expect((await viaCaddy(serve, '/workspace/nobody/'))?.status).toBe(404);
    expect((await viaCaddy(serve, `/workspace/${ws}/port/3001/`))?.status).toBe(404);

    // Stop: the container stops (its disk kept: the instance is still there), both routes go.
    await api.setRunning(ws, false);
    const stopped = await until(
      'phase Stopped',
      async () => {
        const x = await api.get('workspaces', ws);
        return x && (x.status?.observedGeneration ?? 0) >= x.metadata.generation! && x.status?.phase === 'Stopped'
          ? x
          : undefined;
      },
      60_000,
    );
    expect(condition(stopped, 'Ready')?.status).toBe('False');
    expect((await instance(ID, inst))?.status).toBe('Stopped');
    await throughCaddy(`/workspace/${ws}/`, 503, `Workspace "${ws}" exists but is not running`);
    await throughCaddy(`/workspace/${ws}/port/3000/`, 503, 'the workspace is not running');

    // Start: back, the same instance, served again.
    await api.setRunning(ws, true);
    const back = await ready(api, ws);
    expect(await instance(ID, inst)).toMatchObject({
      status: 'Running',
      ip: back.status!.ip,
      createdAt: seen!.createdAt,
    });
    await throughCaddy(`/workspace/${ws}/`, 200, `Tidepool workspace ${ws}`);
    await throughCaddy(`/workspace/${ws}/port/3000/`, 200, `port 3000 of ${ws}`);

    // Delete: the Workspace, its Port (owned by it) and the container go; so do the routes.
    await api.delete('workspaces', ws);
    await until(
      'the Workspace gone from the API',
      async () => ((await api.get('workspaces', ws)) ? undefined : true),
      60_000,
    );
    expect(await instance(ID, inst)).toBeUndefined();
    await until(
      'the Port gone with it',
      async () => ((await api.get('ports', 'alpha-3000')) ? undefined : true),
      30_000,
    );
    await throughCaddy(`/workspace/${ws}/`, 404);
    await throughCaddy(`/workspace/${ws}/port/3000/`, 404);
  }, 150_000);

  it("an `incus stop -f` and an `incus delete -f` behind Tidepool's back are repaired", async () => {
    const ws = 'drift';
    const inst = instanceName(ws, ID);
    await api.apply([workspace(ws)]);
    await ready(api, ws);
    await throughCaddy(`/workspace/${ws}/`, 200, `instance ${inst}`);
    const before = (await instance(ID, inst))!;

    // Back = Incus runs it again and Caddy serves its page again. The issue asks for 5 s; the
    // bound here is 20 s so that a loaded CI host does not fail the test on timing alone.
    const backWithin = async (what: string) => {
      // The page can answer while Incus still finishes the start operation of the previous
      // repair; Incus then refuses with "is busy running". Retry that refusal only (bounded).
      let t0 = Date.now();
      let r = await incus([...what.split(' '), inst]);
      for (let i = 0; i < 50 && r.exitCode !== 0 && /is busy running/.test(String(r.all)); i++) {
        await new Promise((res) => setTimeout(res, 200));
        t0 = Date.now();
        r = await incus([...what.split(' '), inst]);
      }
      expect(r.exitCode, r.all).toBe(0);
      const tGone = Date.now();
      await throughCaddy(`/workspace/${ws}/`, 200, `instance ${inst}`, 20_000);
      const ms = Date.now() - tGone;
      console.log(
        `test/e2e/incus: \`incus ${what}\` behind Tidepool's back: served through Caddy again ${ms} ms after it returned ` +
          `(${Date.now() - t0} ms after it began; the issue asks for 5000 ms)`,
      );
      return ms;
    };

    await backWithin('stop -f');
    const restarted = (await instance(ID, inst))!;
    expect(restarted.status).toBe('Running');
    expect(restarted.createdAt).toBe(before.createdAt); // started again, not recreated

    await backWithin('delete -f');
    const recreated = (await instance(ID, inst))!;
    expect(recreated.status).toBe('Running');
    expect(recreated.createdAt).not.toBe(before.createdAt); // a new instance
    expect(recreated.config['user.tidepool.workspace']).toBe(ws);
    // The status catches up with the new instance (its IP may differ from the old one).
    await until(
      'status with the new IP, Ready',
      async () => {
        const o = await api.get('workspaces', ws);
        return isReady(o) && o!.status?.ip === recreated.ip ? true : undefined;
      },
      20_000,
    );

    await api.delete('workspaces', ws);
    await until(`${inst} deleted`, async () => ((await instance(ID, inst)) ? undefined : true), 60_000);
  }, 120_000);

  it('two workspaces cannot reach each other, while Caddy reaches both', async () => {
    const names = ['iso-a', 'iso-b'];
    await api.apply(names.map((n) => workspace(n)));
    const [a, b] = await Promise.all(names.map((n) => ready(api, n)));
    const ipA = a!.status!.ip!,
      ipB = b!.status!.ip!;
    expect(ipA).not.toBe(ipB);
    // Caddy (on the host) reaches both containers.
    await throughCaddy('/workspace/iso-a/', 200, `instance ${instanceName('iso-a', ID)}`);
    await throughCaddy('/workspace/iso-b/', 200, `instance ${instanceName('iso-b', ID)}`);

    // busybox wget crashes in this image (images/minimal/README.md): a raw GET with nc instead.
    const get = (ip: string) => `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} 8080`;
    // Control: the client inside the container works (its own server answers).
    const self = await inside(instanceName('iso-a', ID), get(ipA));
    expect(self.out).toContain('200 OK');
    const [ab, ba] = await Promise.all([
      inside(instanceName('iso-a', ID), get(ipB)),
      inside(instanceName('iso-b', ID), get(ipA)),
    ]);
    for (const r of [ab, ba]) {
      expect(r.code).not.toBe(0);
      expect(r.out).not.toContain('200 OK');
      expect(r.out).toMatch(/timed out/);
    }

    await Promise.all(names.map((n) => api.delete('workspaces', n)));
    await until(
      'both instances deleted',
      async () =>
        (await instancesOf(ID)).some((i) => names.some((n) => i.name === instanceName(n, ID))) ? undefined : true,
      60_000,
    );
  }, 120_000);

  it('kill -9 in the middle of creating 10 workspaces; after a restart on the same data dir all 10 are Ready, with no extra instance', async () => {
    // Its own Tidepool (own data dir and id): "exactly 10 instances carrying this id" is then exact.
    const dataDir = join(scratch, 'crash');
    const id = await presetId(dataDir, 'e2ecrash');
    ids.push(id);
    const ports = await freePorts();
    const first = await startIncusServe(dataDir, ports, env);
    const a1 = new Api(first.address);
    const names = Array.from({ length: 10 }, (_, i) => `crash-${i}`);
    const expected = names.map((n) => instanceName(n, id)).sort();

    await a1.apply(names.map((n) => workspace(n)));
    // Kill as soon as Incus has the first of them: the rest are still to be made.
    const atKill = await until(
      'a first instance',
      async () => {
        const xs = await instancesOf(id);
        return xs.length ? xs : undefined;
      },
      60_000,
      20,
    );
    process.kill(first.proc.pid, 'SIGKILL');
    const exit = await first.proc.exited;
    expect(exit.signal).toBe('SIGKILL');
    // Its Caddy (and dnsmasq) are separate processes and outlive it, still serving the same
    // ports and names: the restarted serve adopts them rather than start a second Caddy beside
    // the first (Caddy binds with SO_REUSEPORT: two would split the requests between them).
    const caddies = caddyPids(first);
    expect(caddies.length).toBe(1);
    const orphan = caddies[0]!;
    const orphaned = await isOurCaddy(orphan, dataDir);
    const running = atKill.filter((i) => i.status === 'Running').length;
    console.log(
      `test/e2e/incus: killed serve ${first.proc.pid} (-9) with ${atKill.length} of 10 instances in Incus (${running} running); ` +
        `its Caddy ${orphan} ${orphaned ? 'outlived it' : 'was gone already'}`,
    );
    expect(atKill.length).toBeLessThan(10);

    const t0 = Date.now();
    const second = await startIncusServe(dataDir, ports, env);
    // The old Caddy was adopted: still the one Caddy that serves.
    expect(orphaned).toBe(true);
    expect(await isOurCaddy(orphan, dataDir)).toBe(true);
    expect(caddyPids(second)).toEqual([orphan]);
    const a2 = new Api(second.address);
    const all = await until(
      'all 10 Ready',
      async () => {
        const xs = await Promise.all(names.map((n) => a2.get('workspaces', n)));
        return xs.every(isReady) ? (xs as Obj[]) : undefined;
      },
      150_000,
      200,
    ).catch(async (err: Error) => {
      // What each one says, what Incus has, and what the controller logged: the failure explains itself.
      for (const n of names) {
        const o = await a2.get('workspaces', n).catch(() => undefined);
        console.error(
          `${n}: phase ${o?.status?.phase}; ${JSON.stringify(o?.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message]))}`,
        );
      }
      console.error(`Incus: ${JSON.stringify((await instancesOf(id)).map((i) => [i.name, i.status, i.ip]))}`);
      console.error(
        `serve log (warnings and errors):\n${second.proc.stdout
          .split('\n')
          .filter((l) => /"level":(40|50|60)/.test(l))
          .slice(-40)
          .join('\n')}`,
      );
      throw err;
    });
    console.log(`test/e2e/incus: all 10 Ready ${Date.now() - t0} ms after the restart began`);

    const check = async () => {
      const xs = await instancesOf(id);
      expect(xs.map((i) => i.name).sort()).toEqual(expected);
      for (const i of xs) expect(i.status).toBe('Running');
      return xs;
    };
    const xs = await check();
    // Each Workspace's status names the IP its one instance has, and Caddy serves each page.
    for (const o of all) {
      const inst = instanceName(o.metadata.name, id);
      expect(o.status?.ip).toBe(xs.find((i) => i.name === inst)?.ip);
      await throughCaddy(`/workspace/${o.metadata.name}/`, 200, `instance ${inst}`, 30_000, second);
    }
    // Every request, each on a new connection, is served: no second Caddy shares the port.
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => freshGet(second.workspacePort, `/workspace/${names[i % 10]}/`)),
    );
    expect(answers.filter((st) => st !== 200)).toEqual([]);
    // Still exactly those after a few resyncs (2 s period): nothing made late, nothing lost.
    await new Promise((r) => setTimeout(r, 5000));
    await check();
  }, 240_000);
});
