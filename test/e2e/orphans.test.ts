// A Workspace missing from the store must not cost its home, on the real Incus: a container
// and its home made by one `tidepool serve`, the Workspace then removed from the store files
// while serve is down (a store restored from an older backup looks just like this), and a new
// serve on the same data directory. The new serve stops the container and keeps it and its
// home, reports them (an OrphanKept event, GET /api/v1/orphans, `tidepool orphans`), and
// deletes them only when asked (`tidepool orphans delete`). afterAll force-deletes whatever
// carries this run's id and ends every serve and Caddy started here.
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceName } from '../../drivers/runtime/incus/names.js';
import { readStoreState } from '../../store/index.js';
import { cleanEnv, tp } from '../cli/helpers.js';
import { deleteByTidepoolId, deleteVolumesByTidepoolId, requireOrSkip, until } from '../incus/helpers.js';
import {
  Api,
  PASSWORD,
  USER,
  freePorts,
  inside,
  instancesOf,
  presetId,
  startIncusServe,
  started,
  stopServe,
  volumesOf,
  workspace,
  type IncusServe,
} from './incus-helpers.js';

const run = await requireOrSkip('test/e2e/orphans');

let scratch: string;
let ID: string;
let env: NodeJS.ProcessEnv;

const serveOn = async (dataDir: string) =>
  startIncusServe(dataDir, await freePorts(), env, 60_000, ['--image', 'minimal=tidepool-minimal']);

beforeAll(async () => {
  if (!run) return;
  scratch = await mkdtemp(join(tmpdir(), 'tp-e2e-orphans-'));
  env = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg'), TIDEPOOL_LOG_LEVEL: 'info' });
}, 30_000);

afterAll(async () => {
  for (const s of started)
    await stopServe(s).catch((err: unknown) => console.error(`stopping serve ${s.proc.pid}: ${err}`));
  if (run && ID) {
    await deleteByTidepoolId(ID);
    await deleteVolumesByTidepoolId(ID);
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
}, 120_000);

/** Rewrites the store files without `name` (and its Ports): one snapshot, no journal. */
async function dropFromStore(dataDir: string, name: string): Promise<void> {
  const path = join(dataDir, 'store.json');
  const state = await readStoreState(path);
  delete state.objects.Workspace?.[name];
  for (const [p, o] of Object.entries(state.objects.Port ?? {}))
    if ((o.spec as { workspace?: string }).workspace === name) delete state.objects.Port![p];
  delete state.objects.Event;
  await writeFile(path, JSON.stringify(state));
  await unlink(`${path}.journal`).catch(() => {});
}

describe.skipIf(!run)('a container and home whose Workspace is missing from the store', () => {
  it('are stopped and kept by the next serve, reported, and deleted only when asked', async () => {
    const dataDir = join(scratch, 'data');
    ID = await presetId(dataDir, 'orphans');
    const inst = instanceName('precious', ID);
    let serve: IncusServe = await serveOn(dataDir);
    let api = new Api(serve.address);
    await api.apply([workspace('precious')]);
    await until(
      'precious Running',
      async () => ((await api.get('workspaces', 'precious'))?.status?.phase === 'Running' ? true : undefined),
      120_000,
      200,
    );
    expect((await inside(inst, 'echo my-work > /home/dev/notes.txt')).code).toBe(0);
    // The workspace keeps running while serve is down (a plain SIGTERM leaves workspaces running).
    await stopServe(serve);
    await dropFromStore(dataDir, 'precious');

    serve = await serveOn(dataDir);
    api = new Api(serve.address);
    expect(await api.get('workspaces', 'precious')).toBeUndefined();
    // Stopped (it holds no capacity and serves nothing), not deleted.
    await until(
      'the orphan stopped',
      async () => ((await instancesOf(ID)).find((i) => i.name === inst)?.status === 'Stopped' ? true : undefined),
      60_000,
      250,
    );
    expect(await volumesOf(ID)).toEqual([`${inst}-home`]);
    const events = await until(
      'an OrphanKept event',
      async () => {
        const r = await api.call('GET', '/api/v1/events');
        const found = (r.json?.items ?? []).filter(
          (e: { reason?: string; regarding?: { name?: string } }) =>
            e.reason === 'OrphanKept' && e.regarding?.name === 'precious',
        );
        return found.length ? found : undefined;
      },
      30_000,
      250,
    );
    expect(events[0].type).toBe('Warning');
    expect(events[0].note).toContain('tidepool orphans delete precious');
    const listed = await api.call('GET', '/api/v1/orphans');
    expect(listed.status).toBe(200);
    expect(listed.json.items).toEqual([{ name: 'precious', instance: inst, state: 'Stopped', home: true }]);

    // Several resyncs later (2 s each) it is still there: nothing deletes it unasked.
    const cliEnv = { ...env, TIDEPOOL_SERVER: serve.address, TIDEPOOL_USER: USER, TIDEPOOL_PASSWORD: PASSWORD };
    await new Promise((r) => setTimeout(r, 5000));
    const table = await tp(['orphans'], { env: cliEnv });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`precious\\s+${inst}\\s+Stopped\\s+kept`));
    expect((await instancesOf(ID)).map((i) => i.name)).toEqual([inst]);
    expect(await volumesOf(ID)).toEqual([`${inst}-home`]);

    const refused = await tp(['orphans', 'delete', 'nothing-here'], { env: cliEnv });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('orphans "nothing-here" not found');

    const deleted = await tp(['orphans', 'delete', 'precious'], { env: cliEnv, timeoutMs: 120_000 });
    expect(deleted.stderr).toBe('');
    expect(deleted.stdout).toContain('orphan "precious" deleted');
    expect(await instancesOf(ID)).toEqual([]);
    expect(await volumesOf(ID)).toEqual([]);
    expect((await api.call('GET', '/api/v1/orphans')).json.items).toEqual([]);
  }, 300_000);
});
