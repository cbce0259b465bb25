// Namespaces end to end against the real Incus and the real Caddy, through `tidepool serve` (the
// built binary): a workspace `dev` in the default namespace and one in namespace team-a each get
// a container, a home volume and a route of their own; the default one keeps exactly today's
// instance name and URL (/workspace/dev/), the other is served at /ns/team-a/workspace/dev/ (and
// its Port under it on the preview origin) with no reload of Caddy. afterAll force-deletes every
// instance and volume carrying this run's Tidepool id and ends the serve and Caddy it started.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceName } from '../../drivers/runtime/incus/names.js';
import { cleanEnv } from '../cli/helpers.js';
import { deleteByTidepoolId, deleteVolumesByTidepoolId, requireOrSkip, until } from '../incus/helpers.js';
import {
  AUTH,
  Api,
  caddyPids,
  condition,
  freePorts,
  instancesOf,
  isOurCaddy,
  isReady,
  port,
  presetId,
  startIncusServe,
  started,
  stopServe,
  volumesOf,
  workspace,
  type IncusServe,
  type Obj,
} from './incus-helpers.js';

const run = await requireOrSkip('test/e2e/namespaces');
let scratch: string;
let serve: IncusServe;
let api: Api;
let ID = '';

/** GET through Caddy on `port` (the workspace or the preview origin); never throws. */
async function get(onPort: number, path: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${onPort}${path}`, {
      headers: { authorization: AUTH },
      redirect: 'manual',
      signal: AbortSignal.timeout(4000),
    });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}

const answers = (onPort: number, path: string, status: number, text?: string) =>
  until(
    `${path} to answer ${status}${text ? ` with "${text}"` : ''}`,
    async () => {
      const r = await get(onPort, path);
      return r?.status === status && (text === undefined || r.body.includes(text)) ? r : undefined;
    },
    60_000,
    200,
  );

/** Resolves with the object at `path` once it is Ready; a timeout names its conditions. */
async function readyAt(path: string): Promise<Obj> {
  let last: Obj | undefined;
  try {
    return await until(
      `${path} Ready`,
      async () => {
        const r = await api.call('GET', path);
        last = r.json as Obj;
        return r.status === 200 && isReady(last) ? last : undefined;
      },
      120_000,
      200,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; its status: ${JSON.stringify(last?.status)}`);
  }
}

beforeAll(async () => {
  if (!run) return;
  scratch = await mkdtemp(join(tmpdir(), 'tp-e2e-ns-'));
  const env = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg'), TIDEPOOL_LOG_LEVEL: 'info' });
  const dataDir = join(scratch, 'data');
  ID = await presetId(dataDir, 'ns');
  serve = await startIncusServe(dataDir, await freePorts(), env);
  api = new Api(serve.address);
}, 120_000);

afterAll(async () => {
  for (const s of started)
    await stopServe(s).catch((err: unknown) => console.error(`stopping serve ${s.proc.pid}: ${err}`));
  for (const s of started)
    for (const pid of caddyPids(s))
      if (await isOurCaddy(pid, s.dataDir)) console.error(`test/e2e/namespaces: Caddy ${pid} is still alive`);
  if (run && ID) {
    await deleteByTidepoolId(ID);
    await deleteVolumesByTidepoolId(ID);
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
}, 180_000);

describe.skipIf(!run)('namespaces on the real Incus and Caddy', () => {
  it('gives dev in two namespaces its own container, home and route; the default keeps its URL', async () => {
    await api.apply([workspace('dev')]);
    const yaml = [workspace('dev'), port('web', 'dev', 3000)].map((o) => JSON.stringify(o)).join('\n---\n');
    const applied = await api.call('POST', '/api/v1/namespaces/team-a/apply', yaml, 'application/yaml');
    expect(applied.status, JSON.stringify(applied.json)).toBe(200);

    const plain = await readyAt('/api/v1/workspaces/dev');
    const other = await readyAt('/api/v1/namespaces/team-a/workspaces/dev');
    expect(plain.status?.url).toBe('/workspace/dev/');
    expect(other.status?.url).toBe('/ns/team-a/workspace/dev/');

    // Two containers: the default one under exactly the name it had before namespaces.
    const plainInst = instanceName('dev', ID);
    const otherInst = instanceName('team-a/dev', ID);
    expect(plainInst).toBe(`dev-${plainInst.slice(-6)}`);
    expect(plain.status?.instance).toBe(plainInst);
    expect(other.status?.instance).toBe(otherInst);
    const seen = await instancesOf(ID);
    const byName = new Map(seen.map((i) => [i.name, i]));
    expect(byName.get(plainInst)).toMatchObject({ status: 'Running', ip: plain.status!.ip });
    expect(byName.get(otherInst)).toMatchObject({ status: 'Running', ip: other.status!.ip });
    expect(byName.get(otherInst)!.config).toMatchObject({ 'user.tidepool.workspace': 'team-a/dev' });
    expect(plain.status!.ip).not.toBe(other.status!.ip);
    // Two homes, the default one named as before.
    expect(await volumesOf(ID)).toEqual([`${plainInst}-home`, `${otherInst}-home`].sort());

    // Through the real Caddy: each path reaches its own container.
    const a = await answers(serve.workspacePort, '/workspace/dev/', 200, `instance ${plainInst}`);
    expect(a.body).not.toContain(otherInst);
    const b = await answers(serve.workspacePort, '/ns/team-a/workspace/dev/', 200, `instance ${otherInst}`);
    expect(b.body).not.toContain(plainInst);
    expect((await get(serve.workspacePort, '/ns/team-a/workspace/dev'))?.status).toBe(308);
    expect((await get(serve.workspacePort, '/ns/team-b/workspace/dev/'))?.status).toBe(404);
    // The Port, on the preview origin (and redirected there from the workspace origin).
    await until(
      'Port team-a/web Ready',
      async () => {
        const r = await api.call('GET', '/api/v1/namespaces/team-a/ports/web');
        return condition(r.json as Obj, 'Ready')?.status === 'True' ? true : undefined;
      },
      60_000,
    );
    await answers(serve.previewPort, '/ns/team-a/workspace/dev/port/3000/', 200, `instance ${otherInst}`);
    expect((await get(serve.workspacePort, '/ns/team-a/workspace/dev/port/3000/'))?.status).toBe(308);
    expect((await get(serve.previewPort, '/workspace/dev/port/3000/'))?.status).toBe(404);

    // Deleting team-a's dev takes its container, home and routes; the default one stays served.
    const del = await api.call('DELETE', '/api/v1/namespaces/team-a/workspaces/dev');
    expect(del.status).toBe(200);
    await until(
      'team-a/dev gone',
      async () =>
        (await api.call('GET', '/api/v1/namespaces/team-a/workspaces/dev')).status === 404 ? true : undefined,
      120_000,
    );
    expect((await instancesOf(ID)).map((i) => i.name)).toEqual([plainInst]);
    await answers(serve.workspacePort, '/ns/team-a/workspace/dev/', 404);
    await answers(serve.workspacePort, '/workspace/dev/', 200, `instance ${plainInst}`);
  }, 300_000);
});
