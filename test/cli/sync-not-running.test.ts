// A Sync object goes with its folder: after a restart of the real `tidepool serve` without
// --sync-dir, the Sync object of the earlier run is kept but says it is not running (Ready
// False, reason NotRunning, as a suspended Flux Kustomization shows), and what it applied can
// be deleted without --force. With the flag again, the sync resumes and guards its objects.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { poll } from '../poll.js';
import { cleanEnv, startServe, tp, type Served } from './helpers.js';

const served: Served[] = [];
let scratch: string | undefined;

afterAll(async () => {
  for (const s of served) await s.proc.stop('SIGKILL').catch(() => undefined);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const workspace = (name: string) =>
  `apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: ${name}}\nspec: {running: false, resources: {cpu: 1, memory: 512Mi}}\n`;

describe('a Sync object after a restart without its --sync-dir', () => {
  it('says it is not running, and its objects can be deleted; with the flag again it runs', async () => {
    scratch = await mkdtemp(join(tmpdir(), 'tp-cli-sync-gone-'));
    const folder = join(scratch, 'team');
    await mkdir(folder);
    await writeFile(join(folder, 'gus.yaml'), workspace('gus'));
    await writeFile(join(folder, 'hal.yaml'), workspace('hal'));
    const dataDir = join(scratch, 'data');
    const base = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') });
    const serve = async (args: string[]) => {
      const s = await startServe(dataDir, base, ['--runtime', 'stub', '--proxy', 'memory', ...args]);
      served.push(s);
      const env = { ...base, TIDEPOOL_SERVER: s.address, TIDEPOOL_DATA_DIR: dataDir };
      return { s, run: (a: string[]) => tp(a, { env, timeoutMs: 30_000 }) };
    };
    const ready = (run: (a: string[]) => ReturnType<typeof tp>) => async () => {
      const r = await run(['get', 'sync', 'team', '-o', 'jsonpath={.status.conditions[0].reason}']);
      return r.stdout.trim() || undefined;
    };

    let { s, run } = await serve(['--sync-dir', `team=${folder}`]);
    await poll('team applied', async () => ((await ready(run)()) === 'Applied' ? true : undefined), 20_000, 200);
    const refused = await run(['delete', 'workspace', 'gus']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('is managed by sync "team"');
    await s.proc.stop('SIGTERM');

    ({ s, run } = await serve([]));
    const sync = JSON.parse((await run(['get', 'sync', 'team', '-o', 'json'])).stdout) as {
      status: { conditions: { type: string; status: string; reason: string; message: string }[]; inventory: unknown[] };
    };
    const readyCondition = sync.status.conditions.find((c) => c.type === 'Ready')!;
    expect(readyCondition).toMatchObject({ status: 'False', reason: 'NotRunning' });
    expect(readyCondition.message).toContain(`--sync-dir team=${folder}`);
    // Its history is kept: what it applied last.
    expect(sync.status.inventory).toHaveLength(2);
    const deleted = await run(['delete', 'workspace', 'gus']);
    expect(deleted.stderr).toBe('');
    expect(deleted.code).toBe(0);
    expect((await run(['get', 'workspace', 'gus'])).code).not.toBe(0);
    await s.proc.stop('SIGTERM');

    ({ s, run } = await serve(['--sync-dir', `team=${folder}`]));
    await poll('team applied again', async () => ((await ready(run)()) === 'Applied' ? true : undefined), 20_000, 200);
    expect((await run(['get', 'workspace', 'gus'])).code).toBe(0);
    const again = await run(['delete', 'workspace', 'hal']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('is managed by sync "team"');
    await s.proc.stop('SIGTERM');
  }, 120_000);
});
